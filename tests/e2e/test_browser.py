"""End-to-end in a real headless Chromium (Debian `chromium`, driven by Playwright): every page renders without an
error, and a screenshot of each lands in bench/results/screens/. Run with `make test-e2e` (marked slow)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "bench" / "results" / "screens"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = ["Home", "NLP", "Vision", "Speech", "Finance", "Medical", "Models"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import urllib.request

    port = _free_port()
    home = tmp_path_factory.mktemp("home")
    # Embedded defaults train on first use; share the user's cache of them (a real user's dashboard has it too),
    # while models and jobs written by the test stay in the temp home.
    shared = Path(os.environ.get("VERTICALS_E2E_DEFAULTS") or Path.home() / ".cache" / "verticals" / "defaults")
    shared.mkdir(parents=True, exist_ok=True)
    (home / "defaults").symlink_to(shared, target_is_directory=True)
    env = {**os.environ, "VERTICALS_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "apps" / "main.py"), "--server.port", str(port),
                                "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the dashboard did not start")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


def _settle(page, timeout_s: float = 900) -> None:
    """Wait until the script run is over: no status widget, no spinner (a default may be training on first use)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=120_000)
    deadline = time.time() + timeout_s
    time.sleep(1.5)
    busy = "[data-testid='stStatusWidget'], [data-testid='stSpinner'], [data-testid='stSkeleton']"
    while time.time() < deadline and page.locator(busy).count():
        time.sleep(1.0)
    time.sleep(1.0)


def test_every_page_renders(server, browser):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    _settle(page)
    available = [name for name in PAGES if page.locator("[data-testid='stSidebarNav'] a", has_text=name).count()]
    assert "Home" in available
    for name in available:
        page.locator("[data-testid='stSidebarNav'] a", has_text=name).first.click()
        _settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, f"{name} shows an exception"
        assert "Traceback" not in page.content()
        page.screenshot(path=str(SCREENS / f"{name.lower()}.png"), full_page=True)
    page.close()
