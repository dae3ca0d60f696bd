"""Evaluate tabs with labels coded another way than the model's (finance.risk and nlp.sentiment `positive_label`): a
select box offers the data's label values after 'automatic', the choice reaches the package, and the package's
refusal names that box instead of a command-line option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"


def _plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _box(app, label: str):
    return next((box for box in app.selectbox if box.label == label), None)


@pytest.fixture()
def risk_page(home):
    """The Finance page with a tiny risk model as its default, trained on a bad/good target."""
    _preimport("finance", "finance.risk")
    import polars as pl

    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    coded = frame.with_columns(pl.when(pl.col("default") == 1).then(pl.lit("bad")).otherwise(pl.lit("good")).alias("default"))
    RiskScorer().fit(coded, config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=120).run()
    assert not app.exception, app.exception
    return app, frame


def test_risk_evaluate_takes_the_value_that_means_default(risk_page):
    app, frame = risk_page
    _upload(app, "finance.risk-evaluate-upload", "scored.csv", frame.write_csv().encode(), "text/csv")
    box = _box(app, "Value that means default")
    assert box is not None and box.options[0].startswith("automatic") and sorted(box.options[1:]) == ["0", "1"]
    app.button(key="finance.risk-evaluate-run").click().run()
    errors = [_plain(e.value) for e in app.error]
    assert errors and "under 'Value that means default' on the Evaluate tab, one of 0, 1" in errors[0], errors
    assert not [e for e in errors if "--option" in e or "read_data()" in e]
    _box(app, "Value that means default").set_value(1).run()
    app.button(key="finance.risk-evaluate-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any("n = 200" in c.value for c in app.caption), [c.value for c in app.caption]


def test_risk_evaluate_with_the_model_s_own_labels_reads_them_automatically(risk_page):
    app, frame = risk_page
    import polars as pl

    coded = frame.with_columns(pl.when(pl.col("default") == 1).then(pl.lit("bad")).otherwise(pl.lit("good")).alias("default"))
    _upload(app, "finance.risk-evaluate-upload", "scored.csv", coded.write_csv().encode(), "text/csv")
    assert _box(app, "Value that means default") is None  # bad/good: the model's own labels say which is default
    app.button(key="finance.risk-evaluate-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]


class YesNoSentiment:
    """Stands in for a sentiment model labelled negative/positive: evaluates with the package's own label reading."""

    card = {"task": "nlp.sentiment", "labels": ["negative", "positive"]}
    labels_ = ["negative", "positive"]

    def __init__(self):
        self.evaluated = []

    def evaluate(self, data):
        from nlp._textdata import label_indices

        label_indices(data["label"].to_list(), self.labels_)  # refuses yes/no, as SentimentModel.evaluate does
        self.evaluated.append(data)
        return {"task": "nlp.sentiment", "model": "fake", "n": data.height, "metrics": {}}


def test_sentiment_evaluate_takes_the_value_that_means_positive(home, monkeypatch):
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    model = YesNoSentiment()
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60).run()
    content = b"text,label\nGreat phone,yes\nBroke in a week,no\nFine for the price,yes\n"
    _upload(app, "nlp.sentiment-evaluate-upload", "survey.csv", content, "text/csv")
    box = _box(app, "Value that means positive")
    assert box is not None and box.options[0].startswith("automatic") and box.options[1:] == ["yes", "no"]
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    errors = [_plain(e.value) for e in app.error]
    assert errors and "Say it: choose yes or no under 'Value that means positive' on the Evaluate tab" in errors[0], errors
    assert not [e for e in errors if "--option" in e or "read_data()" in e] and not model.evaluated
    _box(app, "Value that means positive").set_value("yes").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert model.evaluated[-1]["label"].to_list() == ["positive", "negative", "positive"]


def test_risk_evaluate_offers_no_default_value_for_three_target_values(risk_page):
    """positive_label reads two values only: a target of 0/1/2 gets no 'Value that means default' box (any choice
    failed), and what the run says names no positive_label."""
    app, frame = risk_page
    import polars as pl

    three = frame.with_columns(pl.Series("default", ([0, 1, 2] * frame.height)[:frame.height]))
    _upload(app, "finance.risk-evaluate-upload", "three.csv", three.write_csv().encode(), "text/csv")
    assert _box(app, "Value that means default") is None
    app.button(key="finance.risk-evaluate-run").click().run()
    assert not app.exception
    assert not [e for e in app.error if "positive_label" in e.value or "--option" in e.value], [e.value for e in app.error]
    assert any("recode it as two" in _plain(e.value) for e in app.error), [e.value for e in app.error]


def test_sentiment_evaluate_offers_a_positive_value_for_exactly_two_values(home, monkeypatch):
    """Three or more label values: no 'Value that means positive' box (any choice was refused); Yes/yes/no counts as
    two values, as positive_label reads them case-insensitively."""
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    model = YesNoSentiment()
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60).run()
    _upload(app, "nlp.sentiment-evaluate-upload", "three.csv", b"text,label\nGreat,pos\nBroke,neg\nmeh,neutral\n", "text/csv")
    assert not app.exception and _box(app, "Value that means positive") is None
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert app.error and not [e for e in app.error if "positive_label" in e.value], [e.value for e in app.error]
    assert any("retrain on your labels on the Retrain tab" in _plain(e.value) for e in app.error), [e.value for e in app.error]
    assert not [e for e in app.error if "fit()" in _plain(e.value)]
    _upload(app, "nlp.sentiment-evaluate-upload", "cased.csv", b"text,label\nGreat,Yes\nBroke,no\nFine,yes\n", "text/csv")
    box = _box(app, "Value that means positive")
    assert box is not None and box.options[1:] == ["Yes", "no"]
    box.set_value("Yes").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert model.evaluated[-1]["label"].to_list() == ["positive", "negative", "positive"]
    # labelled with the model's own names: they say which is which, and choosing 'negative' would be refused
    _upload(app, "nlp.sentiment-evaluate-upload", "own.csv", b"text,label\nGreat,Positive\nBroke,negative\n", "text/csv")
    assert _box(app, "Value that means positive") is None
