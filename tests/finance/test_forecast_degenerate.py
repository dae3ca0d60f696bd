"""finance.forecast on degenerate series: constant histories (zero-width intervals, no MASE scale), huge last values."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from finance.forecast import Forecaster, _inside
from tests.finance.contract_cases_forecast import random_walk, tiny_config


@pytest.mark.parametrize("level", [42.0, 17.3])
def test_a_constant_series_forecast_exactly_is_covered_and_has_no_mase(level):
    constant = random_walk(120, seed=3).with_columns(pl.lit(level).alias("value"))
    card = Forecaster(tiny_config()).evaluate(constant)
    assert card["metrics"]["mae_h1"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert card["metrics"]["coverage_80_h1"]["value"] == 1.0 and card["metrics"]["coverage_95"]["value"] == 1.0
    assert card["metrics"]["mase"]["value"] is None and card["metrics"]["mase_h1"]["value"] is None
    assert any("MASE" in note and "'demo'" in note for note in card["notes"])
    json.dumps(card, allow_nan=False)


def test_a_bound_equal_up_to_float_error_counts_as_inside_and_a_real_miss_does_not():
    actual = np.array([42.0, 42.0, 42.1, 41.9])
    bound = np.array([42.00000000000001, 41.99999999999999, 42.0, 42.0])
    np.testing.assert_array_equal(_inside(actual, bound, bound), [True, True, False, False])


def test_mase_keeps_series_that_have_a_scale():
    card = Forecaster(tiny_config()).evaluate(random_walk(120, seed=3))
    assert card["metrics"]["mase"]["value"] > 0
    assert not any("MASE" in note for note in card.get("notes", []))


def test_a_forecast_that_overflows_is_null_with_a_record_warning_never_infinity():
    import warnings

    model = Forecaster(tiny_config(transform="log", candidates=("drift",))).fit(random_walk(120, seed=1))  # naive: fast
    history = random_walk(120, seed=2)
    values = history["value"].to_list()
    values[-1] = 1e300  # finite, but its log-scale forecast exp()s beyond float64
    series = {"id": "huge", "values": values, "dates": [str(d) for d in history["date"].to_list()]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow warning
        with pytest.warns(UserWarning, match="too large for a float"):
            record, normal = model.predict([series, {**series, "id": "ok", "values": history["value"].to_list()}])
    assert record["forecast"] == [None] * model.config.horizon and record["upper_80"] == [None] * model.config.horizon
    last_date = str(history["date"][-1])
    assert any("'huge'" in w and "1e+300" in w and last_date in w for w in record["warnings"])
    json.dumps(record, allow_nan=False)
    assert all(v is not None for v in normal["forecast"]) and not any("too large" in w for w in normal["warnings"])
