"""End-to-end in a real headless Chromium (Debian `chromium`, driven by Playwright): every page renders without an
error, and a screenshot of each lands in bench/results/screens/. Run with `make test-e2e` (marked slow)."""

from __future__ import annotations

from tests.e2e.support import MARKS, SCREENS, settle

PAGES = ["Home", "NLP", "Vision", "Speech", "Finance", "Medical", "Models"]

pytestmark = MARKS


def test_every_page_renders(server, browser):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    settle(page)
    available = [name for name in PAGES if page.locator("[data-testid='stSidebarNav'] a", has_text=name).count()]
    assert "Home" in available
    for name in available:
        page.locator("[data-testid='stSidebarNav'] a", has_text=name).first.click()
        settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, f"{name} shows an exception"
        assert "Traceback" not in page.content()
        page.screenshot(path=str(SCREENS / f"{name.lower()}.png"), full_page=True)
    page.close()
