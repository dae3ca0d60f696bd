"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score
from finance.risk import risk_metrics


def _data():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(300, int), np.ones(100, int)]
    p = np.clip(np.r_[rng.beta(2, 5, 300), rng.beta(4, 3, 100)], 1e-6, 1 - 1e-6)
    return y, p


def test_ks_is_two_sample_defaults_vs_nondefaults():  # kills F1
    y, p = _data()
    m = risk_metrics(y, p, resamples=50)
    assert abs(m["ks"]["value"] - ks_2samp(p[y == 1], p[y == 0]).statistic) < 1e-12


def test_gini_ci_is_mapped_from_auc_ci():  # kills F2
    y, p = _data()
    m = risk_metrics(y, p, resamples=50)
    lo, hi = m["gini"]["ci95"]
    assert lo <= m["gini"]["value"] <= hi
    assert abs(m["gini"]["value"] - (2 * roc_auc_score(y, p) - 1)) < 1e-12


def test_calibration_warning_needs_both_z_and_ratio():  # kills F5
    from finance.risk import calibration_in_the_large_warning as w
    # 10,000 rows, default rate 10%, mean PD 12%: z = -6.2 but ratio 1.2 (inside 0.67-1.5): no warning per the docstring
    assert w([0] * 9000 + [1] * 1000, [0.12] * 10000) is None
    # 100 rows, 5 defaults, PD 2%: ratio 0.4 but z = 2.1: too few rows to call it miscalibrated
    assert w([0] * 95 + [1] * 5, [0.02] * 100) is None


def test_brier_is_of_the_pd():  # kills F6
    from sklearn.metrics import brier_score_loss
    y, p = _data()
    m = risk_metrics(y, p, resamples=50)
    assert abs(m["brier"]["value"] - brier_score_loss(y, p)) < 1e-12
