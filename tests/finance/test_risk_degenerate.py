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


def test_copies_of_a_row_stay_in_one_fold_and_distinct_rows_keep_the_stratified_folds(data):
    from sklearn.model_selection import RepeatedStratifiedKFold

    from finance.risk import duplicate_groups

    doubled = pl.concat([data, data])
    model = RiskScorer()
    prepared = model._prepare(doubled, fast(cv_repeats=2))
    assert prepared.duplicate_rows == data.height and len(np.unique(prepared.groups)) == data.height
    for train, test in prepared.folds:
        assert not set(prepared.groups[train]) & set(prepared.groups[test])
        assert 0.5 * prepared.y.mean() < prepared.y[test].mean() < 1.5 * prepared.y.mean()  # still stratified
    inner, valid = RiskScorer._inner_split(prepared.folds[0][0], prepared.y, None, prepared.config, prepared.groups)
    assert not set(prepared.groups[inner]) & set(prepared.groups[valid])
    assert duplicate_groups(data, prepared.schema, prepared.y[:data.height]) == (None, 0)
    plain = model._prepare(data, fast(cv_folds=3, cv_repeats=2))  # no repeats: the folds are exactly as before
    index = np.arange(data.height)
    expected = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0).split(index, plain.y)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(plain.folds, expected, strict=True))


def test_duplicated_rows_do_not_inflate_the_cv_auc_and_are_counted_in_card_and_check_data(data, tmp_path):
    config = fast(family="gbm", cv_repeats=1)
    base = RiskScorer().fit(data, config=config).card["metrics"]["auc"]["value"]
    with pytest.warns(UserWarning, match=f"{4 * data.height} of the {5 * data.height} rows repeat another row"):
        card = RiskScorer().fit(pl.concat([data] * 5), config=config).card
    assert card["training"]["duplicate_rows"] == 4 * data.height and "repeat another row" in card["warning"]
    assert card["metrics"]["auc"]["value"] < base + 0.05  # every row five times: was 0.99 against 0.73
    path = tmp_path / "twice.csv"
    pl.concat([data, data]).write_csv(path)
    report = RiskScorer.check_data(path, target="default")
    assert report["duplicate_rows"] == data.height and f"{data.height} of the {2 * data.height} rows" in report["warning"]
    assert RiskScorer.check_data(tmp_path / "twice.csv", target="default")["ok"]
