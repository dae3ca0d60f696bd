"""A true/false feature (polars reads it as Boolean, the schema keeps it numeric 1/0) scores the same from Python
dicts holding bools (what json.loads gives), from true/false text in any case, and from the frame itself."""

import json

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


@pytest.fixture(scope="module")
def bool_model_and_rows():
    frame = synthetic_applicants(300, seed=3)
    rng = np.random.default_rng(3)
    frame = frame.with_columns(has_phone=pl.Series(rng.random(frame.height) < 0.4))
    config = RiskScorer.Config(family="logistic", cv_folds=2, cv_repeats=1)
    model = RiskScorer(config).fit(frame, config=config)
    assert {f["name"]: f["kind"] for f in model.schema_}["has_phone"] == "numeric"
    return model, frame.drop("default").head(6)


def test_json_loads_rows_with_bools_score_as_the_frame_does(bool_model_and_rows):
    model, features = bool_model_and_rows
    expected = [r["pd"] for r in model.predict(features)]
    rows = json.loads(features.write_json())  # "has_phone": true / false
    assert {type(r["has_phone"]) for r in rows} == {bool}
    assert [r["pd"] for r in model.predict(rows)] == expected
    one = model.predict(rows[0])  # one dict: a list of one record
    assert [r["pd"] for r in one] == expected[:1]
    explained = model.explain(rows[0])
    explained = explained[0] if isinstance(explained, list) else explained
    assert explained["score"] == one[0]["score"]


@pytest.mark.parametrize("true, false", [("true", "false"), ("TRUE", "FALSE"), ("True", "False"), (1, 0)])
def test_true_false_text_reads_one_zero(bool_model_and_rows, true, false):
    model, features = bool_model_and_rows
    expected = [r["pd"] for r in model.predict(features)]
    rows = [{**r, "has_phone": true if r["has_phone"] else false} for r in features.to_dicts()]
    assert [r["pd"] for r in model.predict(rows)] == expected


def test_other_text_in_a_true_false_column_is_still_refused(bool_model_and_rows):
    model, features = bool_model_and_rows
    rows = [{**features.to_dicts()[0], "has_phone": "maybe"}]
    with pytest.raises(InputError, match="must be numeric"):
        model.predict(rows)
