"""Shared pieces of the browser tests: paths, the Chromium check and waiting for a Streamlit run to settle."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "bench" / "results" / "screens"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MARKS = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]


def settle(page, timeout_s: float = 900) -> None:
    """Wait until the script run is over: no status widget, no spinner (a default may be training on first use)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=120_000)
    deadline = time.time() + timeout_s
    time.sleep(1.5)
    busy = "[data-testid='stStatusWidget'], [data-testid='stSpinner'], [data-testid='stSkeleton']"
    while time.time() < deadline and page.locator(busy).count():
        time.sleep(1.0)
    time.sleep(1.0)
