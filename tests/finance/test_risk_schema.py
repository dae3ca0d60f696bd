"""finance.risk's feature scan: what it leaves out of the features and says so (leaks, identifiers, dates)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(family="logistic", cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=5, early_stopping_rounds=2)
    return RiskScorer.Config(**{**base, **changes})


def dropped_reasons(card_or_report) -> dict[str, str]:
    return {d["column"]: d["reason"] for d in card_or_report["dropped"]}


def test_a_copy_of_the_target_is_dropped_as_a_leak_with_a_warning_unless_kept(tmp_path):
    data = synthetic_applicants(300, seed=1)
    data = data.with_columns(pl.col("default").alias("outcome_copy"),
                             pl.when(pl.col("default") == 1).then(pl.lit("bad")).otherwise(pl.lit("good")).alias("status_text"))
    with pytest.warns(UserWarning, match="outcome_copy"):
        card = RiskScorer().fit(data, config=fast()).card_
    reasons = dropped_reasons(card)
    assert {"outcome_copy", "status_text"} <= set(reasons)
    assert "likely a leak; keep it with --set keep=outcome_copy" in reasons["outcome_copy"]
    assert "single-feature AUC 1.000" in reasons["outcome_copy"]
    assert "outcome_copy" in card["warning"] and card["training"]["warning"] == card["warning"]
    assert {f["name"] for f in card["features"]} == {"utilisation", "income", "housing"}
    assert card["metrics"]["auc"]["value"] < 0.95  # the honest features only

    kept = RiskScorer().fit(data, config=fast(keep=("outcome_copy",))).card_
    assert "outcome_copy" in {f["name"] for f in kept["features"]}

    path = tmp_path / "applicants.csv"
    data.write_csv(path)
    report = RiskScorer.check_data(path, target="default")
    assert {"outcome_copy", "status_text"} <= set(dropped_reasons(report)) and "outcome_copy" in report["warning"]


def test_honest_features_raise_no_leak_warning():
    data = synthetic_applicants(300, seed=2)
    card = RiskScorer().fit(data, config=fast()).card_
    assert "warning" not in card and not card["dropped"]


def test_a_unique_integer_numbering_the_rows_is_dropped_as_an_identifier_but_a_unique_float_stays():
    from finance._risk_data import build_schema

    data = synthetic_applicants(300, seed=3).sort("default")  # a file sorted by outcome: the numbering leaks it
    rng = np.random.default_rng(0)
    data = data.with_columns(pl.Series("application_no", np.arange(500001, 500301)),  # no id-like name needed...
                             pl.Series("serial", np.arange(10, 3010, 10)),  # ...when the numbers count up evenly
                             pl.Series("loan_ref", rng.permutation(10**6)[:300]),  # any unique integer named like an id
                             pl.Series("balance", rng.uniform(0, 1e4, 300)),  # unique per row but a float: a feature
                             pl.Series("age", rng.integers(18, 80, 300)))  # integers that repeat: a feature
    schema, dropped = build_schema(data, "default")
    reasons = {d["column"]: d["reason"] for d in dropped}
    for name in ("application_no", "serial", "loan_ref"):
        assert reasons[name] == "identifier-like (unique integer per row)"
    assert {"balance", "age", "income", "utilisation"} <= {f["name"] for f in schema}


def test_keep_overrides_every_drop_rule_including_the_identifier_names():
    """`keep` keeps a column whatever rule would drop it (ID, customer_id, a numbered row, a date, id-like text)."""
    from core.errors import InputError
    from finance._risk_data import build_schema

    data = synthetic_applicants(300, seed=5, with_time=True)
    rng = np.random.default_rng(0)
    data = data.with_columns(pl.Series("ID", rng.permutation(300) + 1), pl.Series("customer_id", np.arange(300)),
                             pl.Series("app_no", rng.permutation(10**6)[:300]),
                             pl.Series("id", [f"c{i:04d}" for i in rng.permutation(300)]))
    kept = ("ID", "customer_id", "app_no", "application_date", "id")
    _, dropped = build_schema(data, "default")
    assert set(kept) <= {d["column"] for d in dropped}
    schema, dropped = build_schema(data, "default", keep=kept)
    assert set(kept) <= {f["name"] for f in schema} and not dropped

    card = RiskScorer().fit(data.drop("application_date", "id"), config=fast(keep=("ID",))).card_
    assert "ID" in {f["name"] for f in card["features"]} and "ID" not in dropped_reasons(card)
    assert "customer_id" in dropped_reasons(card)

    # a keep that cannot be honoured is refused, saying why, never silently ignored
    flat = data.with_columns(pl.lit(1.0).alias("flat"), pl.lit(None, dtype=pl.Float64).alias("empty"))
    for keep, words in ((("Id",), "'Id', not a column"), (("default",), "the target"), (("flat",), "constant"),
                        (("empty",), "all values missing")):
        with pytest.raises(InputError, match=words):
            build_schema(flat, "default", keep=keep)
    with pytest.raises(InputError, match="both kept"):
        build_schema(data, "default", drop=("ID",), keep=("ID",))


def test_date_columns_typed_or_written_as_text_are_not_features(tmp_path):
    from finance._risk_data import build_schema

    data = synthetic_applicants(300, seed=4, with_time=True)  # application_date: a polars Date
    data = data.with_columns(pl.col("application_date").cast(pl.Datetime).alias("decided_at"),
                             pl.col("application_date").dt.strftime("%Y-%m-%d").alias("date_text"),
                             pl.col("application_date").dt.strftime("%d/%m/%Y").alias("date_dmy"))
    schema, dropped = build_schema(data, "default")
    reasons = {d["column"]: d["reason"] for d in dropped}
    for name in ("application_date", "decided_at", "date_text", "date_dmy"):
        assert reasons[name] == "a date: not a feature (pass it as --time for a time-ordered split)"
    assert {f["name"] for f in schema} == {"utilisation", "income", "housing"}

    path = tmp_path / "applicants.csv"  # read back from a file, and given as --time: the split's clock, no feature
    data.write_csv(path)
    report = RiskScorer.check_data(path, target="default", time="date_text")
    assert {d["column"] for d in report["dropped"]} >= {"application_date", "decided_at", "date_dmy"}
    card = RiskScorer().fit(RiskScorer.read_data(path, target="default", time="date_text"), config=fast()).card_
    assert card["time_column"] == "date_text" and card["selection"]["split"] == "time"
    assert {f["name"] for f in card["features"]} == {"utilisation", "income", "housing"}
