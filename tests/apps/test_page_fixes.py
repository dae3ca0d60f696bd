"""Page fixes after the dashboard test of the day's changes: error records in place on the QA and translation pages,
training warnings on the page, and CLI syntax in forecast messages put into the page's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402
from tests.apps.test_translation_file_language import _ok  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
CONTEXT = "The Amazon rainforest covers much of the Amazon basin. The region includes nine nations."


# --- Extractive QA: an empty question is an error record in its place ------------------------------------------------


class FakeQA:
    """Answers every question with 'nine' (CONTEXT[76:80]); an empty question gets an error record in its place, as
    nlp.qa's predict gives it (errors_in_place)."""

    card = {"task": "nlp.qa"}
    kind = "trained"

    def predict(self, items, **options):
        return [{"index": i + 1, "error": f"QA input {i + 1} has an empty or missing 'question'"}
                if not item["question"].strip() else
                {"index": i + 1, "answer": "nine", "score": 0.9, "start": 76, "end": 80}
                for i, item in enumerate(items)]


def _ask(monkeypatch, questions: list[str]) -> AppTest:
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    monkeypatch.setattr(common, "load_model", lambda task, source: FakeQA())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    app.session_state["nlp-task"] = "Extractive QA"
    app.run()
    table = "question,context\n" + "\n".join(f'"{q}","{CONTEXT}"' for q in questions)
    _upload(app, "nlp-qa-upload", "q.csv", table.encode(), "text/csv")
    app.button(key="nlp-qa-run").click().run()
    _ok(app)
    return app


@pytest.mark.parametrize("questions", [["", "How many nations?", "What covers the basin?"],
                                       ["How many nations?", "", "What covers the basin?"]], ids=["first", "middle"])
def test_a_qa_upload_with_an_empty_question_shows_it_in_place(home, monkeypatch, questions):
    """The page raised KeyError: 'answer' (first["answer"], r["answer"]) on the error record nlp.qa now gives."""
    app = _ask(monkeypatch, questions)
    assert any(m.value.startswith("**Answer:** nine") for m in app.markdown)  # the first answered item's
    assert [w.value for w in app.warning] == ["1 of 3 questions could not be answered (their 'error' column says why, "
                                              "e.g. an empty question); the others were."]
    table = app.dataframe[0].value
    empty = questions.index("")
    assert table["answer"].tolist()[empty] is None
    assert "empty or missing 'question'" in table["error"].tolist()[empty]
    assert [a for i, a in enumerate(table["answer"].tolist()) if i != empty] == ["nine", "nine"]


# --- Training warnings: with the succeeded job, and in the loaded model's part ---------------------------------------

RISK_WARNING = ("target 'repaid': 'yes' was taken as the default (bad) outcome and 'no' as non-default, guessed from "
                "the word 'yes' alone; if 'yes' is the good outcome (e.g. repaid), pass --option positive_label=no, "
                "else --option positive_label=yes to say so")
RISK_WARNING_SHOWN = ("Training warning: target 'repaid': 'yes' was taken as the default (bad) outcome and 'no' as "
                      "non-default, guessed from the word 'yes' alone; if 'yes' is the good outcome (e.g. repaid), "
                      "retrain with positive_label=no in 'Config overrides' on the Retrain tab (else "
                      "positive_label=yes) to say so")
FORECAST_WARNING = ("the interval widths rest on 11 backtest errors per horizon, too few for the 80%, 95% levels (at "
                    "least 50 wanted): a quantile is then one of the few largest errors, so coverage is rough; give "
                    "longer history or raise selection_size")


def _retrain_panel():
    from apps import common

    common.retrain_tab("finance.risk", suffixes={".csv"}, one_file="table")


def test_a_succeeded_job_shows_its_model_s_training_warning(home, monkeypatch):
    """The panel said only 'Saved to the model registry as ...': a model guessing that 'yes' means default was deployed
    without a word."""
    from core import jobs
    from core.artifacts import models_dir, save_model_dir

    saved = save_model_dir(models_dir() / "finance-risk-1", {"task": "finance.risk", "warning": RISK_WARNING})
    monkeypatch.setattr(jobs, "list_jobs", lambda: [jobs.Job(id="job-1", task="finance.risk", status="succeeded",
                                                             spec={}, created="", out=str(saved))])
    app = AppTest.from_function(_retrain_panel, default_timeout=30).run()
    _ok(app)
    assert [s.value for s in app.success] == ["Saved to the model registry as finance\\-risk\\-1"]
    assert _shown(app) == [RISK_WARNING_SHOWN]


def test_a_succeeded_job_without_a_warning_shows_none(home, monkeypatch):
    from core import jobs
    from core.artifacts import models_dir, save_model_dir

    saved = save_model_dir(models_dir() / "finance-risk-2", {"task": "finance.risk"})
    monkeypatch.setattr(jobs, "list_jobs", lambda: [jobs.Job(id="job-2", task="finance.risk", status="succeeded",
                                                             spec={}, created="", out=str(saved))])
    app = AppTest.from_function(_retrain_panel, default_timeout=30).run()
    _ok(app)
    assert app.success and not app.warning


class CardOnly:
    """A loaded model: only its card."""

    def __init__(self, card: dict):
        self.card = card


def _model_part(task: str, card: dict) -> None:
    """task_page for `task` with a model of `card` (the about part drawn empty): what it shows about the model."""
    from apps import common
    from tests.apps.test_page_fixes import CardOnly

    common.task_page(task, "warn", lambda model: None, load=lambda source: CardOnly(card),
                     about=lambda model: None, evaluate=lambda model: None, retrain=lambda: None)


def _shown(app) -> list[str]:
    """The page's warnings, without the Markdown escapes st.warning's text carries."""
    return [re.sub(r"\\(.)", r"\1", w.value) for w in app.warning]


def test_a_loaded_risk_model_shows_its_card_s_training_warning(home):
    app = AppTest.from_function(_model_part, default_timeout=30,
                                args=("finance.risk", {"task": "finance.risk", "warning": RISK_WARNING})).run()
    _ok(app)
    assert _shown(app) == [RISK_WARNING_SHOWN]


def test_a_forecast_model_shows_the_warnings_its_card_info_holds(home):
    """finance.forecast's `card` property has its training warnings only in `info` (card.json's `warning` joins them)."""
    card = {"task": "finance.forecast", "info": {"warnings": [FORECAST_WARNING]}}
    app = AppTest.from_function(_model_part, default_timeout=30, args=("finance.forecast", card)).run()
    _ok(app)
    assert _shown(app) == [f"Training warning: {FORECAST_WARNING}"]


def test_a_saved_forecast_model_shows_the_warning_its_card_json_carries(home):
    """finance.forecast's loaded `card` leaves out the `warning` its card.json has: read from the saved folder."""
    from apps.common import SAVED
    from core.artifacts import models_dir, save_model_dir

    save_model_dir(models_dir() / "fc-short", {"task": "finance.forecast", "warning": FORECAST_WARNING})
    app = AppTest.from_function(_model_part, default_timeout=30, args=("finance.forecast", {"task": "finance.forecast"}))
    app.session_state["warn-model"] = f"{SAVED}fc-short"
    app.run()
    _ok(app)
    assert _shown(app) == [f"Training warning: {FORECAST_WARNING}"]


# --- Translation: an empty cell is an error record in its place, on the page and in the download ----------------------


class EmptyCellTranslator:
    """predict as nlp.translation gives it for a table read by read_inputs: an error record for an empty cell."""

    card = {"task": "nlp.translation"}
    source_lang, target_lang = "en", "es"

    def __init__(self):
        from nlp.translation import Translator

        self.frame_inputs = Translator.frame_inputs.__get__(self)

    def language_pairs(self):
        return [("en", "es")]

    def translate(self, sentences, source, target):  # as the package's: '' for an empty text
        return [f"[es] {s}" if s else "" for s in sentences]

    def predict(self, sentences, source_lang=None, target_lang=None):
        errors = getattr(sentences, "errors", {})
        return [{**sentences.ids[i], "error": errors[i]} if i in errors else
                {**sentences.ids[i], "source": s, "translation": f"[es] {s}", "source_lang": source_lang,
                 "target_lang": target_lang} for i, s in enumerate(sentences)]


def test_an_empty_cell_is_translated_as_an_error_record_not_a_blank(home, monkeypatch):
    """The page called translate(), which gives '' for an empty cell: shown and downloaded as a blank translation,
    where the CLI gives {"row": 2, "error": "empty text"}."""
    import json

    import streamlit

    from apps import common

    offered, real = {}, streamlit.download_button

    def download_button(label, data, *args, **kwargs):
        offered[kwargs.get("key")] = data
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", download_button)
    _preimport("nlp", "nlp.sentiment", "nlp.qa", "nlp.translation")
    monkeypatch.setattr(common, "load_model", lambda task, source: EmptyCellTranslator())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    app.session_state["nlp-task"] = "Translation"
    app.session_state["translation-input-mode"] = "Upload a file"
    app.run()
    _upload(app, "translation-file", "s.csv", b'text\nThe house is small.\n""\nI like green tea.\n', "text/csv")
    app.button(key="translation-run").click().run()
    _ok(app)
    assert [w.value for w in app.warning] == ["1 of 3 sentences could not be translated (each says why in its place, "
                                              "e.g. an empty cell); the others were."]
    assert "Not translated: empty text" in [c.value for c in app.caption]
    assert [t.value for t in app.text if t.value.startswith("[es]")] == ["[es] The house is small.",
                                                                          "[es] I like green tea."]
    records = [json.loads(line) for line in offered["translation-download"].splitlines()]
    assert records[1] == {"row": 2, "error": "empty text"}
    assert [r.get("translation") for r in records] == ["[es] The house is small.", None, "[es] I like green tea."]


# --- Forecast messages in the page's words ------------------------------------------------------------------------------

NBEATS_NEEDS = ("series 'newsku' has 20 rows; this model needs at least 41 (set by N-BEATS' input window (window=40) "
                "+ 1); give more history, or retrain the model to need less: leave nbeats out of --set candidates= or "
                "lower --set window=")


@pytest.mark.parametrize("message, shown", [
    (NBEATS_NEEDS, NBEATS_NEEDS.replace("--set candidates= or lower --set window=",
                                        "candidates= or lower window= in 'Config overrides' on the Retrain tab")),
    ("retrain the model to need less: lower --set horizon=",
     "retrain the model to need less: lower horizon= in 'Config overrides' on the Retrain tab"),
    ("retrain with --set max_length=N; or", "retrain with max_length=N in 'Config overrides' on the Retrain tab; or"),
])
def test_a_set_key_without_a_value_is_put_in_page_words(message, shown):
    """`--set key=` with no value kept its CLI flag: the pattern wanted a value after '='."""
    from apps.common import page_message

    assert page_message(message) == shown


def test_a_whole_train_command_with_set_values_is_put_in_page_words():
    """The monthly-data warning read 'retrain it on data of this frequency (verticals train finance.forecast --data
    FILE --out DIR season_length=12 in 'Config overrides' on the Retrain tab)': half a command, half page advice."""
    from apps.common import page_message
    from finance._forecast_data import frequency_mismatch

    shown = page_message(frequency_mismatch("monthly", "business-daily", 5))
    assert shown.endswith("retrain it on data of this frequency (on the Retrain tab, with season_length=12 in "
                          "'Config overrides')"), shown
    assert "verticals" not in shown and "--" not in shown
    assert page_message("retrain it: verticals train finance.forecast --data FILE --out DIR --set season_length=12 "
                        "--set horizon=3") == ("retrain it: on the Retrain tab, with season_length=12, horizon=3 in "
                                               "'Config overrides'")
    assert page_message("(verticals train finance.forecast --data FILE --out DIR)") == "(the Retrain tab)"


class ShortSeriesForecaster:
    """Refuses every series as too short, as finance.forecast does: by its place in the list ('input 1')."""

    card = {"task": "finance.forecast", "model": "fake", "weights": {}, "info": {}}

    class config:  # noqa: N801 - read as model.config.<field>
        test_size, horizon = 5, 2

    def predict(self, series, **options):
        from core.errors import InputError

        raise InputError(f"input 1: series '{series[0]['id']}' has 3 rows; this model needs at least 41 (set by "
                         "N-BEATS' input window (window=40) + 1); give more history, or retrain the model to need less: "
                         "leave nbeats out of --set candidates= or lower --set window=")


def test_a_too_short_forecast_series_is_named_and_its_fix_in_page_words(home, monkeypatch):
    """The page passes one series at a time, so the package's 'input 1' named the third series of an upload."""
    from apps import common

    _preimport("finance", "finance.forecast", "finance.risk")
    monkeypatch.setattr(common, "load_model", lambda task, source: ShortSeriesForecaster())
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=60)
    app.session_state["finance-section"] = "Forecasting"
    app.session_state["forecast-mode"] = "Upload a file"
    app.run()
    _upload(app, "forecast-upload", "multi.csv",
            b"id,date,value\nspy,2024-01-01,1\nspy,2024-01-02,2\nspy,2024-01-03,3\n"
            b"newsku,2024-01-01,1\nnewsku,2024-01-02,2\nnewsku,2024-01-03,3\n", "text/csv")
    picker = next(s for s in app.selectbox if "newsku" in [str(o) for o in s.options])
    picker.set_value("newsku").run()
    assert not app.exception, [e.message for e in app.exception]
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in app.error]
    assert errors == ["series 'newsku' has 3 rows; this model needs at least 41 (set by N-BEATS' input window "
                      "(window=40) + 1); give more history, or retrain the model to need less: leave nbeats out of "
                      "candidates= or lower window= in 'Config overrides' on the Retrain tab"], errors


# --- Vision: the Grad-CAM overlay lies where the model looked ---------------------------------------------------------
def test_the_grad_cam_overlay_covers_the_centre_crop_only():
    """The page stretched explain()'s map of timm's centre crop over the whole image: on a 900x300 picture heat fell
    on the left third, which the model never saw. The overlay now places the map in `crop_box` (outlined) only."""
    def page():
        import numpy as np
        import streamlit as st
        from PIL import Image

        from apps.vision import _overlay

        image = Image.new("RGB", (900, 300), (100, 100, 100))
        cam = {"heatmap": [[1.0] * 4] * 4, "crop_box": [300.0, 0.0, 600.0, 300.0], "image_size": [900, 300], "label": "x"}
        out = np.asarray(_overlay(image, cam)).astype(int)
        scale = out.shape[1] / 900
        st.session_state["left"] = out[150, round(100 * scale)].tolist()
        st.session_state["middle"] = out[150, round(450 * scale)].tolist()
        st.session_state["right"] = out[150, round(800 * scale)].tolist()

    app = AppTest.from_function(page, default_timeout=60).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.session_state["left"] == [100, 100, 100] == app.session_state["right"]  # outside the crop: untouched
    assert app.session_state["middle"][0] > 180 and app.session_state["middle"][1] < 60  # inside: red


def test_the_packages_warnings_during_a_page_action_are_shown_on_the_page(monkeypatch):
    """No page caught Python warnings: forecast's non-seasonal ETS warning reached only the server's stderr."""
    import warnings

    from apps import common
    from finance import forecast

    shown = []
    monkeypatch.setattr(common.st, "warning", lambda text, **kwargs: shown.append(str(text)))

    def action():
        warnings.warn("auto_ets is fitted non-seasonal", UserWarning)  # raised in a package of ours, as fit does
        return {"metrics": {}, "warning": "interval rests on 6 errors"}

    monkeypatch.setattr(forecast, "_page_test_action", action, raising=False)
    assert common.run_safely(forecast._page_test_action)["warning"] == "interval rests on 6 errors"
    assert [text for text in shown if "seasonal" in text] and not [t for t in shown if "rests on" in t]


def test_the_metric_table_gives_a_metrics_unit_and_the_cases_it_is_over(monkeypatch):
    from apps import common

    frames = []
    monkeypatch.setattr(common.st, "dataframe", lambda frame, **kwargs: frames.append(frame))
    monkeypatch.setattr(common.st, "caption", lambda *a, **k: None)
    common.metric_card_view({"task": "medical.segmentation", "model": "m", "n": 3, "metrics": {
        "hd95": {"value": 27.6, "ci95": None, "unit": "mm", "cases": 2, "better": "lower"}}}, "t")
    row = frames[0].row(0, named=True)
    assert row["unit"] == "mm" and row["cases"] == "2 of 3"
