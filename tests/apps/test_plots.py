"""The Evaluate tab draws every plot spec a metric card carries (apps/plots.py over core.evaluate's specs)."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apps.plots import figure
from core.evaluate import bars_plot, confusion_plot, metric_card, score_plots


def card_with_plots() -> dict:
    truth = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.7, 0.6])
    plots = {"Confusion matrix": confusion_plot(["neg", "pos"], [[3, 1], [1, 3]]),
             "WER by utterance": bars_plot(["a.wav", "b.wav"], [0.5, 0.0], "WER", worst_first=True),
             **score_plots(truth, scores, positive="pos")}
    return metric_card("demo", "m", len(truth), {"accuracy": 0.75}, plots=plots)


def test_every_spec_kind_becomes_a_figure():
    card = card_with_plots()
    assert set(card["plots"]) == {"Confusion matrix", "WER by utterance", "Precision-recall curve", "ROC curve", "Calibration"}
    for title, spec in card["plots"].items():
        fig = figure(title, spec)
        assert fig is not None and fig.layout.title.text == title and len(fig.data) >= 1
    assert figure("future", {"kind": "violin"}) is None  # an unknown kind is skipped, not an error


def test_confusion_spec_checks_its_shape():
    with pytest.raises(ValueError, match="shape"):
        confusion_plot(["a", "b", "c"], [[1, 2], [3, 4]])


def _page(card: dict) -> None:
    from apps.common import metric_card_view

    metric_card_view(card, "test")


def test_metric_card_view_draws_the_plots():
    at = AppTest.from_function(_page, kwargs={"card": card_with_plots()}, default_timeout=60).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 5


def test_metric_card_view_shows_the_cards_warning():
    card = {**card_with_plots(), "warning": "the model does not know any of the data's labels"}
    at = AppTest.from_function(_page, kwargs={"card": card}, default_timeout=60).run()
    assert not at.exception and [w.value for w in at.warning] == [card["warning"]]


def test_a_card_drawn_twice_on_one_page_draws_both(home):
    """finance.risk: a labelled table scored on Predict and the same table evaluated on the Evaluate tab both draw the
    card's plots (one chart key per place, not per task and title: StreamlitDuplicateElementKey before)."""
    from tests.apps.test_bad_uploads import _preimport, _upload

    _preimport("finance", "finance.risk")
    from pathlib import Path

    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    RiskScorer().fit(frame, config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)
    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "apps" / "finance.py"), default_timeout=120).run()
    app.radio(key="risk-input").set_value("Upload a table").run()
    data = frame.write_csv().encode()
    _upload(app, "risk-upload", "applicants.csv", data, "text/csv")
    predicted = len(app.get("plotly_chart"))
    assert not app.exception and predicted > 0
    _upload(app, "finance.risk-evaluate-upload", "applicants.csv", data, "text/csv")
    app.button(key="finance.risk-evaluate-run").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.get("plotly_chart")) == 2 * predicted
    app.run()  # the Evaluate card stays on screen on the next rerun, beside Predict's
    assert not app.exception and len(app.get("plotly_chart")) == 2 * predicted
