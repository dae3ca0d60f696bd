"""finance.risk on degenerate data: duplicated rows, all-empty columns, values beyond float32, tiny evaluation sets."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=2, max_rounds=40, early_stopping_rounds=10, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


@pytest.fixture(scope="module")
def data():
    return synthetic_applicants(300, seed=3)


@pytest.fixture(scope="module")
def model(data):
    return RiskScorer().fit(data, config=fast(family="logistic"))


def test_evaluate_on_one_class_says_why_auc_gini_and_ks_are_missing(model, data):
    card = model.evaluate(data.filter(pl.col("default") == 0).head(20))
    assert not {"auc", "gini", "ks"} & set(card["metrics"])
    assert "one class only" in card["warning"] and "AUC, Gini and KS" in card["warning"]


def test_evaluate_with_one_default_has_no_interval_for_auc_gini_ks_and_warns(model, data):
    few = pl.concat([data.filter(pl.col("default") == 1).head(1), data.filter(pl.col("default") == 0).head(4)])
    card = model.evaluate(few)
    assert all(card["metrics"][name]["ci95"] is None for name in ("auc", "gini", "ks"))
    assert card["metrics"]["brier"]["value"] is not None
    assert "only 1 of the 5 rows is of class default" in card["warning"]
    assert "warning" not in model.evaluate(data)  # enough of both classes: no warning, intervals kept
    assert model.evaluate(data)["metrics"]["auc"]["ci95"] is not None


def test_an_all_empty_column_is_left_out_and_named_in_the_warning(data, tmp_path):
    empty = data.with_columns(pl.lit(None, dtype=pl.String).alias("notes"))
    with pytest.warns(UserWarning, match="notes hold no values"):
        model = RiskScorer().fit(empty, config=fast(family="scorecard"))
    assert {"column": "notes", "reason": "all values missing"} in model.card["dropped"]
    assert "notes" not in [f["name"] for f in model.card["features"]]
    assert "notes hold no values" in model.card["warning"] and "notes" in model.card["training"]["warning"]
    path = tmp_path / "empty.csv"
    empty.write_csv(path)  # read back, the column is all empty cells
    report = RiskScorer.check_data(path, target="default")
    assert {"column": "notes", "reason": "all values missing"} in report["dropped"] and "notes" in report["warning"]


def test_training_refuses_a_value_beyond_float32_naming_column_and_row(data):
    from core.errors import InputError

    huge = data.with_columns(pl.Series("income", [None, None, 1e300] + data["income"].to_list()[3:], dtype=pl.Float64))
    with pytest.raises(InputError, match=r"column 'income' holds 1e\+300 in row 3 .*float32"):
        RiskScorer().fit(huge, config=fast(family="scorecard"))
    infinite = data.with_columns(pl.Series("utilisation", [0.5, float("inf")] + data["utilisation"].to_list()[2:]))
    with pytest.raises(InputError, match=r"column 'utilisation' holds infinite values .*row 2"):
        RiskScorer().fit(infinite, config=fast(family="scorecard"))


def test_predict_warns_per_record_of_a_value_float32_cannot_hold_or_far_outside_training(model, data):
    rows = data.drop("default").head(3).to_dicts()
    rows[0]["income"], rows[1]["utilisation"] = 1e300, 50.0
    records = model.predict(rows)
    assert any("income: 1e+300 is beyond what float32 holds" in w for w in records[0]["warnings"])
    assert any("utilisation: 50 is far outside the training range" in w for w in records[1]["warnings"])
    assert records[2]["warnings"] == []
    assert model.explain(rows[0])["warnings"] == records[0]["warnings"]
    normal = model.predict(data.drop("default"))
    assert all(r["warnings"] == [] for r in normal)  # the training data itself: never far outside its own range
