"""What a careless user does on the pages (a dashboard tester's findings): switch series under a backtest card, paste
a paragraph as a hub id, type a hub id that is not cached, paste a line holding only a zero-width space, press
Analyse on a long review, press "Start training" twice. Each gets a page answer, never a traceback, a CLI flag or a
stale result."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
HUB = "Hub id (needs cache or internet)"


def _use(monkeypatch, model) -> None:
    from apps import common

    monkeypatch.setattr(common, "load_model", lambda task, source: model)


def _plain(markdown: str) -> str:
    """Text as the user reads it (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


# --- Finance › Forecasting: a backtest card belongs to the series that made it ---------------------------------------


class FakeForecaster:
    card = {"task": "finance.forecast", "model": "fake", "weights": {}, "info": {}}

    class config:  # noqa: N801 - read as model.config.<field>
        test_size, horizon = 5, 2

    def predict(self, series, calendar=None):
        last = series[0]["values"][-1]
        return [{"id": series[0]["id"], "horizon": 2, "dates": None, "forecast": [last, last],
                 "lower_80": [last - 1, last - 1], "upper_80": [last + 1, last + 1], "warnings": []}]

    def explain(self, series):
        return {"naive": 1.0}

    def evaluate(self, frame):
        metric = {"value": 0.56, "ci95": None}
        return {"task": "finance.forecast", "model": "fake", "n": frame.height, "horizon": 2,
                "metrics": {"relative_mae": metric, "relative_mae_h1": metric, "relative_mae_h2": metric,
                            "mase": {"value": 1.688, "ci95": None}},
                "candidates": {}, "weights": {}}


def _series(values) -> bytes:
    return ("date,value\n" + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{v}\n"
                                     for i, v in enumerate(values))).encode()


def _backtest_shown(app) -> bool:
    return any("Backtest" in header.value for header in app.subheader)


def test_a_backtest_card_is_drawn_only_for_the_series_that_made_it(home, monkeypatch):
    _preimport("finance", "finance.forecast", "finance.risk")
    _use(monkeypatch, FakeForecaster())
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=60)
    app.session_state["finance-section"] = "Forecasting"
    app.session_state["forecast-mode"] = "Upload a file"
    app.run()
    _upload(app, "forecast-upload", "A_series.csv", _series(100 + i % 7 for i in range(60)), "text/csv")
    app.button(key="forecast-backtest").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert _backtest_shown(app) and any(m.value == "1.688" for m in app.metric)
    app.run()  # a rerun of the same series keeps it
    assert _backtest_shown(app)
    _upload(app, "forecast-upload", "B_other.csv", _series(5000 - 3 * i for i in range(40)), "text/csv")
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert not _backtest_shown(app) and not app.metric, "series A's backtest card is drawn under series B"


# --- Model › Hub id: a pasted paragraph is not a hub id ---------------------------------------------------------------


def _model_page(task: str, error=None):
    """The page scaffold for `task` with a loader that loads nothing (or shows `error`, as a failed load does)."""

    def page(task, error):
        from apps import common

        def load(source):
            if error is not None and source is not None:
                return common.run_safely(lambda: (_ for _ in ()).throw(error))
            return None

        common.task_page(task, "t", lambda model: None, load=load)

    return AppTest.from_function(page, kwargs={"task": task, "error": error}, default_timeout=60).run()


@pytest.mark.parametrize("typed", ["a" * 300, "org/" + "b" * 300, "c" * 10_000])
def test_a_hub_id_too_long_for_a_file_name_is_one_line_error(home, typed):
    app = _model_page("vision.classification")
    app.selectbox(key="t-model").set_value(HUB).run()
    app.text_input(key="t-hub").set_value(typed).run()
    assert not app.exception, [e.message[:200] for e in app.exception]
    assert len(app.error) == 1 and "is not a hub id" in _plain(app.error[0].value), [e.value for e in app.error]
    assert len(app.error[0].value) < 400 and "Errno" not in app.error[0].value


# --- Model › Hub id: "not found" in the page's words -------------------------------------------------------------------


@pytest.mark.parametrize("task, tail", [
    ("vision.classification", " (LocalEntryNotFoundError: An error happened while trying to locate the file on the Hub "
                              "and we cannot find the requested files in the local cache. Please check your connection)"),
    ("nlp.sentiment", ""),
])
def test_a_hub_model_not_cached_offline_says_what_to_choose_on_the_page(home, monkeypatch, task, tail):
    from core.errors import ModelNotFoundError
    from core.registry import missing_model_message

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cli = missing_model_message(task, "someorg/somemodel") + tail
    assert "save()" in cli and "HF_HUB_OFFLINE" in cli  # the CLI's and Python's wording, unchanged
    app = _model_page(task, ModelNotFoundError(cli))
    app.selectbox(key="t-model").set_value(HUB).run()
    app.text_input(key="t-hub").set_value("someorg/somemodel").run()
    assert not app.exception, [e.message for e in app.exception]
    message = _plain(app.error[0].value)
    assert "someorg/somemodel" in message and "not cached on this machine" in message and "offline" in message, message
    assert "Embedded default" in message and "under Model" in message, message
    for cli_word in ("save()", "HF_HUB_OFFLINE", "Error", "local directory", "verticals ", "--"):
        assert cli_word not in message, (cli_word, message)


def test_the_embedded_default_caption_names_no_command(home):
    app = _model_page("nlp.sentiment")
    captions = [c.value for c in app.caption if c.value.startswith("Embedded default")]
    assert captions and "SST-2" in captions[0] and "verticals prepare" not in captions[0], captions


# --- Extractive QA: the default's measured quality is on the page ------------------------------------------------------


def test_the_qa_default_caption_says_its_measured_quality(home):
    app = _model_page("nlp.qa")
    caption = _plain(next(c.value for c in app.caption if c.value.startswith("Embedded default")))
    assert "XQuAD" in caption and "exact match 21.1" in caption and "F1 33.1" in caption, caption


# --- Sentiment › Predict: invisible-only lines, attributions on demand ------------------------------------------------


class CheckingSentiment:
    """Scores like the real model's entry checks: a text that is blank (zero-width characters included) is refused."""

    card = {"task": "nlp.sentiment"}

    def __init__(self):
        self.explained = []

    def predict(self, texts):
        from nlp._encoder import clean_texts

        return [{"label": "positive", "score": 0.9, "warnings": []} for _ in clean_texts(texts)]

    def explain(self, text):
        self.explained.append(text)
        return [{"label": "positive", "score": 0.9, "warnings": [],
                 "tokens": [{"token": "fine", "weight": 0.5}, {"token": "unread", "weight": 0.0}],
                 "note": "the model reads the first 1 of 2 words (128 tokens); the words after them carry no weight"}]


def _sentiment_page(monkeypatch, model):
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    _use(monkeypatch, model)
    return AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60).run()


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060", " \u200b\u00a0"])
def test_a_line_of_invisible_characters_is_blank_not_a_failed_batch(home, monkeypatch, invisible):
    app = _sentiment_page(monkeypatch, CheckingSentiment())
    app.text_area(key="nlp-sentiment-text").set_value(f"A wonderful film.\n{invisible}\nThe plot is a mess.")
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.dataframe[0].value["text"].tolist() == ["A wonderful film.", "The plot is a mess."]


def test_word_attributions_run_only_when_asked(home, monkeypatch):
    model = CheckingSentiment()
    app = _sentiment_page(monkeypatch, model)
    assert app.checkbox(key="nlp-sentiment-explain").value is False
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and not app.error and app.dataframe, [e.value for e in app.error]
    assert model.explained == [] and not any("Word attributions" in c.value for c in app.caption)
    app.checkbox(key="nlp-sentiment-explain").check().run()
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and len(model.explained) == 1
    captions = [_plain(c.value) for c in app.caption]
    assert any("Word attributions" in c for c in captions) and any("reads the first 1 of 2 words" in c for c in captions)
    assert any("fine" in m.value and "<span" in m.value for m in app.markdown)


# --- Retrain: a double click starts one job --------------------------------------------------------------------------

RISK = "finance.risk"
CSV = b"a,b,Status\n1,2,good\n3,4,bad\n"


@pytest.fixture()
def started(tmp_path, monkeypatch):
    """start_job records what it was asked; get_job answers the status `statuses` holds for each job."""
    from core import jobs

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    calls, ids, statuses = [], itertools.count(), {}

    def start_job(task, data, out=None, base=None, overrides=None, options=None, name=None, replace=False):
        job = jobs.Job(id=f"job-{next(ids)}", task=task, status="queued", spec={}, created="")
        calls.append(name)
        statuses[job.id] = "queued"
        return job

    def get_job(job_id):
        return jobs.Job(id=job_id, task=RISK, status=statuses[job_id], spec={}, created="")

    monkeypatch.setattr(jobs, "start_job", start_job)
    monkeypatch.setattr(jobs, "get_job", get_job)
    monkeypatch.setattr(jobs, "list_jobs", lambda: [])
    return calls, statuses


def _retrain_page():
    from apps import common

    common.retrain_tab("finance.risk")


def test_a_second_click_while_the_same_training_runs_starts_nothing(started):
    calls, statuses = started
    app = AppTest.from_function(_retrain_page, default_timeout=60).run()
    app.file_uploader(key=f"{RISK}-train-upload").set_value(("train.csv", CSV, "text/csv")).run()
    app.button(key=f"{RISK}-train-start").click().run()
    app.button(key=f"{RISK}-train-start").click().run()
    assert not app.exception and len(calls) == 1, calls
    said = " ".join(_plain(i.value) for i in app.info)
    assert "already queued" in said and "job-0" in said and "train.csv" in said, said
    statuses["job-0"] = "running"
    app.button(key=f"{RISK}-train-start").click().run()
    assert len(calls) == 1 and "already running" in " ".join(_plain(i.value) for i in app.info)
    app.text_input(key=f"{RISK}-train-name").set_value("other").run()  # other settings: another training
    app.button(key=f"{RISK}-train-start").click().run()
    assert calls == [calls[0], "other"], calls
    statuses["job-1"] = "succeeded"  # the job is done: the same click trains again
    app.button(key=f"{RISK}-train-start").click().run()
    assert len(calls) == 3 and not app.exception, calls


# --- Finance › Risk: PSI on a handful of rows is not called a shift on the page -------------------------------------
def test_the_psi_view_shows_too_few_rows_and_its_warning():
    """The drift view showed only the PSI table: the 'too few rows to judge' warning finance.risk now gives never
    reached the page, and the score's PSI had no status beside it."""
    def page():
        from apps.finance import show_psi

        show_psi([{"feature": "Income", "psi": 7.18, "status": "too few rows"}], 5.67, "too few rows",
                 "only 3 rows: too few to judge the population stability of the score; judge drift on at least 184 rows")

    app = AppTest.from_function(page, default_timeout=30).run()
    assert not app.exception, [e.message for e in app.exception]
    assert sum("only 3 rows: too few to judge" in _plain(w.value) for w in app.warning) == 1
    assert app.metric[0].value == "5.670 (too few rows)"
