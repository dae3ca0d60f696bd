"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

import numpy as np
from finance.forecast import _mase, _relative_mae
from finance._forecast_data import series_scale


def test_mase_scales_each_row_by_its_own_series_scale():  # kills F7
    # two series, scales 1 and 10: mean(|10-0|/1, |2-1|/10) = 5.05 (Hyndman & Koehler's MASE, per-series scale)
    assert abs(_mase(np.array([10.0, 2.0]), np.array([0.0, 1.0]), np.array([1.0, 10.0])) - 5.05) < 1e-12


def test_relative_mae_pooled_value():  # kills F9
    a, f, n = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0]), np.array([0.0, 1.0, 2.0])
    assert abs(_relative_mae(a, f, n) - 1.5 / 3.0) < 1e-12


def test_series_scale_is_mean_absolute_change():  # kills F10
    assert series_scale(np.array([0.0, 1.0, 2.0, 12.0])) == 4.0


def test_card_mase_is_of_our_forecast_not_naive():  # kills F11
    import polars as pl
    from finance.forecast import _forecast_metrics
    part = pl.DataFrame({"id": ["a"] * 4, "origin": [0, 0, 1, 1], "actual": [10.0, 12.0, 11.0, 13.0],
                         "forecast": [10.0, 12.0, 11.0, 13.0], "candidate_naive": [9.0, 9.0, 12.0, 12.0],
                         "mase_scale": [2.0] * 4, "lower_80": [9.0] * 4, "upper_80": [14.0] * 4})
    m = _forecast_metrics(part, (80,), resamples=20)
    assert m["mase"]["value"] == 0.0  # a perfect forecast has MASE 0
    assert m["mae"]["value"] == 0.0
