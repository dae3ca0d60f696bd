"""Fixtures of the browser tests: a dashboard server on a free port and a headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.support import CHROMIUM, ROOT


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
