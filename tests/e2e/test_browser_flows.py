"""End-to-end user flows in a real headless Chromium (Debian `chromium`, driven by Playwright): score one applicant on
the Finance page, run the Haar detector on a bundled Vision sample, retrain a tiny risk model from an uploaded CSV as a
background job, watch it finish and find it on the Models page. Screenshots go to bench/results/screens/flow_*.png."""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.e2e.support import MARKS, SCREENS, settle

pytestmark = MARKS


@pytest.fixture()
def page(server, browser):
    SCREENS.mkdir(parents=True, exist_ok=True)
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.goto(server)
    settle(tab)
    yield tab
    tab.close()


def _open(page, name: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=name).first.click()
    settle(page)


def _keyed(key: str) -> str:
    """CSS selector of the container Streamlit gives a widget with `key` (class `st-key-<key>`, other characters as '-')."""
    return f".st-key-{re.sub(r'[^a-zA-Z0-9_-]', '-', key)}"


def _fill(page, key: str, value: str) -> None:
    field = page.locator(f"{_keyed(key)} input").first
    field.fill(value)
    field.press("Enter")
    settle(page)


def _clean(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"{where} shows an exception"
    assert "Traceback" not in page.content(), f"{where} shows a traceback"


def test_finance_scores_one_applicant(page):
    _open(page, "Finance")
    _clean(page, "Finance")
    page.get_by_role("button", name="Score applicant").click()
    page.get_by_text("Probability of default").first.wait_for(timeout=120_000)
    settle(page)
    _clean(page, "Finance after scoring")
    metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
    assert any(re.fullmatch(r"\d+(\.\d+)?%", m.strip()) for m in metrics), metrics  # the PD
    assert any(re.fullmatch(r"-?\d+(\.\d+)?", m.strip()) for m in metrics), metrics  # the score
    page.screenshot(path=str(SCREENS / "flow_finance_predict.png"), full_page=True)


def test_vision_detects_on_a_bundled_sample(page):
    _open(page, "Vision")
    page.locator(f"{_keyed('vision-task')} label", has_text="Detection").first.click()
    settle(page)
    _clean(page, "Vision detection")
    caption = page.get_by_text(re.compile(r"\d+ detection\(s\)")).first
    caption.wait_for(timeout=180_000)
    # the image with the boxes drawn on it really loads in the browser
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                           ".some(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
    page.locator("[data-testid='stImage'] img").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / "flow_vision_detect.png"), full_page=True)


def test_finance_retrain_job_lands_in_the_registry(page, tmp_path):
    from tests.finance.contract_cases import synthetic_applicants

    csv = tmp_path / "applicants.csv"
    synthetic_applicants(300).write_csv(csv)
    name = f"e2e-risk-{os.getpid()}"
    _open(page, "Finance")
    page.get_by_role("tab", name="Retrain").click()
    time.sleep(1.0)
    _fill(page, "risk-train-target", "default")
    _fill(page, "finance.risk-train-name", name)
    _fill(page, "finance.risk-train-overrides", "family=gbm,cv_folds=0,max_rounds=5,early_stopping_rounds=2")
    page.locator(f"{_keyed('finance.risk-train-upload')} input[type='file']").set_input_files(str(csv))
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=60_000)
    start.click()
    settle(page)
    page.get_by_text(re.compile(r"\w+ · (queued|running|succeeded)")).first.scroll_into_view_if_needed(timeout=60_000)
    page.screenshot(path=str(SCREENS / "flow_retrain_started.png"), full_page=True)
    deadline = time.time() + 300
    text = ""
    while time.time() < deadline:
        text = page.locator("[data-testid='stMain']").inner_text()
        if "Saved to the model registry" in text or "failed" in text or "cancelled" in text:
            break
        time.sleep(2.0)
    page.get_by_text(re.compile("Saved to the model registry|failed|cancelled")).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / "flow_retrain_finished.png"), full_page=True)
    assert "Saved to the model registry" in text, text[-2000:]
    assert name in text
    _clean(page, "Finance retrain")
    _open(page, "Models")
    _clean(page, "Models")
    # st.dataframe draws on a canvas; its cells are mirrored in an accessibility grid, and the Manage selectbox shows text.
    page.locator("[data-testid='stDataFrame'] [role='gridcell']", has_text=name).first.wait_for(state="attached", timeout=60_000)
    manage = page.locator(_keyed("manage"))
    shown = manage.inner_text() + " " + " ".join(field.input_value() for field in manage.locator("input").all())
    assert name in shown, shown
    page.screenshot(path=str(SCREENS / "flow_models.png"), full_page=True)
