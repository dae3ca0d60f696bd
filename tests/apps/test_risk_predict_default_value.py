"""The Finance page's risk Predict tab, scoring an uploaded table that holds the target: it evaluates against it, so a
target coded another way than the model's labels (0/1 for a bad/good model) needs the 'Value that means default' box
there too, and the refusal names the box on this tab, not the Evaluate tab's."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")

from tests.apps.test_bad_uploads import _plain, _upload  # noqa: E402
from tests.apps.test_positive_label import _box, risk_page  # noqa: E402, F401  (risk_page: the fixture)

LABEL = "Value that means default"


def _predict_upload(app, frame, name="scored.csv"):
    app.radio(key="risk-input").set_value("Upload a table").run()
    return _upload(app, "risk-upload", name, frame.write_csv().encode(), "text/csv")


def test_predict_takes_the_value_that_means_default(risk_page):
    app, frame = risk_page
    _predict_upload(app, frame)
    assert not app.exception, app.exception
    box = _box(app, LABEL)
    assert box is not None and box.options[0].startswith("automatic") and sorted(box.options[1:]) == ["0", "1"]
    assert box.key.startswith("finance.risk-predict-positive-")  # not the Evaluate tab's widget
    errors = [_plain(e.value) for e in app.error]
    assert errors and "under 'Value that means default' on this tab, one of 0, 1" in errors[0], errors
    assert not [e for e in errors if "Evaluate tab" in e or "--option" in e or "read_data()" in e], errors
    _box(app, LABEL).set_value(1).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any("n = 200" in c.value for c in app.caption), [c.value for c in app.caption]
    assert sum(box.label == LABEL for box in app.selectbox) == 1  # the Evaluate tab draws none before an upload


def test_predict_with_the_model_s_labels_or_without_the_target_offers_no_box(risk_page):
    import polars as pl

    app, frame = risk_page
    coded = frame.with_columns(pl.when(pl.col("default") == 1).then(pl.lit("bad")).otherwise(pl.lit("good"))
                               .alias("default"))
    _predict_upload(app, coded)
    assert _box(app, LABEL) is None and not app.error, [e.value for e in app.error]  # bad/good: the model's own labels
    assert any("n = 200" in c.value for c in app.caption)
    _predict_upload(app, frame.drop("default"), "applicants.csv")
    assert _box(app, LABEL) is None and not app.error and not app.exception


def test_predict_with_three_target_values_says_to_recode_on_this_tab(risk_page):
    """positive_label reads two values: a 0/1/2 target gets no box, and the refusal says to recode the data."""
    import polars as pl

    app, frame = risk_page
    _predict_upload(app, frame.with_columns(pl.Series("default", ([0, 1, 2] * frame.height)[:frame.height])))
    assert _box(app, LABEL) is None and not app.exception
    errors = [_plain(e.value) for e in app.error]
    assert any("recode it as two" in e and e.endswith("under 'Value that means default' on this tab")
               for e in errors), errors
