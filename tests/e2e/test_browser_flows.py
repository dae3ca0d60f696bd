"""End-to-end user flows in a real headless Chromium (Debian `chromium`, driven by Playwright): a prediction on every
page (sentiment and translation on NLP, Haar detection on Vision, a transcript on Speech, one applicant and a forecast on
Finance, segmentation and classification on Medical, the speech -> translation -> sentiment chain on Home), the Evaluate
tab with its plotly charts (sentiment on an uploaded CSV, vision classification on an uploaded ImageFolder zip), then a
tiny risk model retrained from an uploaded CSV as a background job, watched until it finishes and found on the Models
page. Screenshots go to bench/results/screens/flow_*.png."""

from __future__ import annotations

import os
import re
import time
import zipfile

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


def _choose(page, key: str, option: str) -> None:
    """Pick `option` of the radio with `key`."""
    page.locator(f"{_keyed(key)} label", has_text=option).first.click()
    settle(page)


def _press(page, key: str, timeout_s: float = 120) -> None:
    """Click the button with `key` once it is drawn (the page may still be loading a model)."""
    button = page.locator(f"{_keyed(key)} button").first
    button.wait_for(timeout=timeout_s * 1000)
    button.click()
    settle(page)


def _wait_for(page, result, where: str, timeout_s: float = 300):
    """Wait until `result` is visible; fail at once with the page's message if an error box or exception shows."""
    errors = page.locator("[data-testid='stAlertContentError'], [data-testid='stException']")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if result.count() and result.first.is_visible():
            return result.first
        if errors.count():
            pytest.fail(f"{where}: {errors.first.inner_text()[:500]}")
        time.sleep(1.0)
    pytest.fail(f"{where}: no result after {timeout_s:.0f} s")


def _shoot(page, name: str, element=None) -> None:
    if element is not None:
        element.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / name), full_page=True)


def _images_loaded(page, timeout_s: float = 60) -> None:
    """Every drawn image (overlays, boxes) has really loaded in the browser."""
    page.wait_for_function("() => { const all = [...document.querySelectorAll(\"[data-testid='stImage'] img\")];"
                           " return all.length > 0 && all.every(i => i.complete && i.naturalWidth > 0); }",
                           timeout=timeout_s * 1000)


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


def test_nlp_sentiment_and_translation(page):
    _open(page, "NLP")
    _clean(page, "NLP")
    attributions = page.locator(f"{_keyed('nlp-sentiment-explain')} label").first
    attributions.wait_for(timeout=300_000)  # the MiniLM default may still be loading
    attributions.click()  # word attributions are opt-in (slow on a long review); the flow shows them
    settle(page)
    _press(page, "nlp-sentiment-run", timeout_s=300)
    caption = _wait_for(page, page.get_by_text(re.compile(r"predicted (negative|positive), \d\.\d\d")), "NLP sentiment")
    # one label per sample text, in the dataframe's accessibility grid (the cells themselves are drawn on a canvas)
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']")
    cells.first.wait_for(state="attached", timeout=30_000)
    labels = [t.strip() for t in cells.all_inner_texts() if t.strip() in {"negative", "positive"}]
    assert len(labels) >= 4, cells.all_inner_texts()
    _clean(page, "NLP after sentiment")
    _shoot(page, "flow_nlp_predict.png", caption)
    _choose(page, "nlp-task", "Translation")
    _press(page, "translation-run")
    # Apertium eng->spa of the sample sentences (the source side is only in the text area, not in page text)
    spanish = _wait_for(page, page.get_by_text(re.compile(r"\b(tren|café|biblioteca)\b", re.IGNORECASE)), "NLP translation")
    assert page.locator("[data-testid='stMarkdownContainer']", has_text=re.compile(r"^Spanish \(es\)$")).count(), "no Spanish column"
    _clean(page, "NLP after translation")
    _shoot(page, "flow_nlp_translate.png", spanish)


def test_speech_transcribes_the_bundled_sample(page):
    _open(page, "Speech")
    _clean(page, "Speech")
    _press(page, "speech-run", timeout_s=180)  # drawn once espeak-ng has synthesised the sample
    heading = _wait_for(page, page.get_by_role("heading", name="Transcript"), "Speech transcription")
    words = page.locator("[data-testid='stMarkdownContainer'] span[title*='confidence']")
    transcript = " ".join(words.all_inner_texts()).strip() if words.count() else ""
    if not transcript:  # a backend without word confidences writes the text plainly, right under the heading
        text = page.locator("[data-testid='stMain']").inner_text()
        transcript = text.split("Transcript", 1)[1].strip().split("\n", 1)[0].strip()
    assert transcript and transcript != "(no speech recognised)", transcript
    assert re.search(r"quick|brown|fox|lazy|dog", transcript, re.IGNORECASE), transcript
    _clean(page, "Speech after transcription")
    _shoot(page, "flow_speech_predict.png", heading)


def test_finance_forecasts_a_bundled_series(page):
    _open(page, "Finance")
    _choose(page, "finance-section", "Forecasting")
    chart = _wait_for(page, page.locator("[data-testid='stPlotlyChart']"), "Finance forecast")
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stPlotlyChart'] .scatterlayer .trace\")]"
                           ".length >= 3", timeout=60_000)  # history, interval band(s) and forecast are drawn
    legend = chart.inner_text()
    assert "forecast" in legend and "history" in legend, legend
    _clean(page, "Finance forecast")
    _shoot(page, "flow_forecast_predict.png", chart)


def test_medical_segments_and_classifies_a_bundled_sample(page):
    _open(page, "Medical")
    _clean(page, "Medical")
    _press(page, "medical-segment", timeout_s=300)
    table = _wait_for(page, page.get_by_role("heading", name=re.compile("Volume per label|Area per label")), "Medical segmentation")
    _images_loaded(page)
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    _clean(page, "Medical after segmentation")
    _shoot(page, "flow_medical_predict.png", table)
    _choose(page, "medical-task", "Classification")
    metric = _wait_for(page, page.locator("[data-testid='stMetric']", has_text="Prediction"), "Medical classification")
    value = metric.locator("[data-testid='stMetricValue']").inner_text().strip()
    assert value in {"lesion", "no_lesion"}, value
    _images_loaded(page)
    _clean(page, "Medical after classification")
    _shoot(page, "flow_medical_classify.png", metric)


def test_home_chain_speech_translation_sentiment(page):
    _clean(page, "Home")
    _press(page, "chain-run")
    metric = _wait_for(page, page.locator("[data-testid='stMetric']", has_text="Sentiment"), "Home chain", timeout_s=420)
    assert metric.locator("[data-testid='stMetricValue']").inner_text().strip() in {"negative", "positive"}
    def column(label: str) -> str:
        metric_ = page.locator("[data-testid='stMetric']", has_text=label)
        return page.locator("[data-testid='stColumn']", has=metric_).last.inner_text()

    transcript, spanish = column("Transcript"), column("Spanish")
    assert re.search(r"loved|film|acting", transcript, re.IGNORECASE), transcript
    assert re.search(r"pel[ií]cula|maravillos|realmente", spanish, re.IGNORECASE), spanish
    _clean(page, "Home after the chain")
    _shoot(page, "flow_home_predict.png", metric)


POSITIVE_TEXTS = ["I loved this film, it was wonderful", "What a great and happy day", "The food was excellent and delicious",
                  "Fantastic service, I am very pleased", "A brilliant, beautiful and moving story", "Best purchase ever, I love it"]
NEGATIVE_TEXTS = ["I hated this film, it was awful", "What a terrible and sad day", "The food was disgusting and cold",
                  "Horrible service, I am very angry", "A boring, ugly and painful story", "Worst purchase ever, I hate it"]


def _evaluate(page, task: str, upload, caption: re.Pattern, titles: list[str], where: str, timeout_s: float = 180):
    """Open the Evaluate tab, upload `upload`, press Evaluate and wait for the card (`caption`) and the plotly charts
    titled `titles`; returns the card's caption."""
    page.get_by_role("tab", name="Evaluate").click()
    page.locator(f"{_keyed(f'{task}-evaluate-upload')} input[type='file']").set_input_files(str(upload))
    # the uploaded file's chip (stFileChip in current Streamlit, stFileUploaderFile in older ones) shows once it reached the server
    page.locator(f"{_keyed(f'{task}-evaluate-upload')} :is([data-testid='stFileChip'], [data-testid='stFileUploaderFile'])",
                 has_text=upload.name).first.wait_for(timeout=60_000)
    _press(page, f"{task}-evaluate-run", timeout_s=timeout_s)  # the button exists only while a file is uploaded
    heading = _wait_for(page, page.get_by_text(caption), where, timeout_s=timeout_s)
    # plotly writes each figure's title into its SVG (text.gtitle) once the chart is really drawn
    page.wait_for_function(
        "titles => { const shown = [...document.querySelectorAll(\"[data-testid='stPlotlyChart'] .gtitle\")]"
        ".map(t => t.textContent.trim()); return titles.every(t => shown.includes(t)); }", arg=titles, timeout=60_000)
    _clean(page, where)
    return heading


def _shoot_card(page, name: str, heading) -> None:
    """Screenshot with the card's caption at the top of the view, so its table and charts are in the picture."""
    heading.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)  # off the charts, so no plotly toolbar hovers over them
    time.sleep(0.5)
    _shoot(page, name)


def _metric_rows(page) -> set[str]:
    """Metric names in the card's table (st.dataframe draws on a canvas; its accessibility grid mirrors the cells)."""
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']")
    cells.first.wait_for(state="attached", timeout=30_000)
    return {text.strip() for text in cells.all_inner_texts()}


def test_nlp_evaluate_tab_draws_the_card_and_its_plots(page, tmp_path):
    import polars as pl

    csv = tmp_path / "labelled.csv"
    pl.DataFrame({"text": POSITIVE_TEXTS + NEGATIVE_TEXTS,
                  "label": ["positive"] * len(POSITIVE_TEXTS) + ["negative"] * len(NEGATIVE_TEXTS)}).write_csv(csv)
    _open(page, "NLP")
    _clean(page, "NLP")
    titles = ["Confusion matrix", "Precision-recall curve", "ROC curve", "Calibration"]
    heading = _evaluate(page, "nlp.sentiment", csv, re.compile(r"^nlp\.sentiment · .+ · n = 12$"), titles, "NLP evaluate",
                        timeout_s=300)  # the MiniLM default may still be loading
    rows = _metric_rows(page)
    assert {"accuracy", "macro_f1", "auc"} <= rows, rows
    _shoot_card(page, "flow_nlp_evaluate.png", heading)


def _fashion_like(label: str, variant: int):
    """A 28x28 greyscale drawing in Fashion-MNIST's style (light garment on black): trousers are two legs, bags a box with
    a handle; `variant` shifts and resizes the shape a little."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    grow, shade = variant % 2, 170 + 20 * variant
    if label == "Trouser":
        draw.rectangle([8 - grow, 2, 19 + grow, 7], fill=shade)  # waistband
        draw.rectangle([8 - grow, 7, 12, 26], fill=shade)  # left leg
        draw.rectangle([15, 7, 19 + grow, 26], fill=shade)  # right leg
    else:
        draw.arc([9, 2 + variant, 18, 14 + variant], 180, 360, fill=shade, width=2)  # handle
        draw.rectangle([4 - grow, 9 + variant, 23 + grow, 24], fill=shade)  # body
    return image


def test_vision_evaluate_tab_draws_the_card_and_its_plots(page, tmp_path):
    archive = tmp_path / "fashion_folder.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for label in ("Trouser", "Bag"):
            for variant in range(4):
                image = tmp_path / f"{label}-{variant}.png"
                _fashion_like(label, variant).save(image)
                bundle.write(image, f"{label}/{variant}.png")  # one folder per class at the zip's root (ImageFolder)
    _open(page, "Vision")
    _clean(page, "Vision")
    heading = _evaluate(page, "vision.classification", archive, re.compile(r"^vision\.classification · .+ · n = 8$"),
                        ["Confusion matrix", "Recall per class"], "Vision evaluate")
    rows = _metric_rows(page)
    assert {"accuracy", "macro_f1"} <= rows, rows
    _shoot_card(page, "flow_vision_evaluate.png", heading)


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
