"""finance.risk checks from a credit model-validation review: calibration under class weighting, the monotone
constraint and its column names, duplicate groups, explanation points, label guesses and reason texts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=60, early_stopping_rounds=10, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


def _imbalanced(n: int, seed: int) -> pl.DataFrame:
    """About 3% defaults: class_weight auto turns to balanced."""
    rng = np.random.default_rng(seed)
    utilisation, late = rng.uniform(0, 1.2, n), rng.poisson(0.3, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = -4.2 + 1.5 * (utilisation - 0.6) + 0.6 * late + np.where(region == "south", 0.4, 0.0)
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"utilisation": utilisation, "late": late.astype(float), "region": region, "default": default})


@pytest.mark.parametrize("family", ["logistic", "blend"])
def test_balanced_class_weight_keeps_held_out_pd_at_the_default_rate(family):
    """The calibrator is fitted on CV margins: they must carry the final model's prior shift, else PDs were 4-25x low."""
    train, test = _imbalanced(3000, seed=1), _imbalanced(3000, seed=2)
    config = fast(family=family) if family == "logistic" else fast(family=family, gbm_trials=1, max_rounds=40)
    model = RiskScorer().fit(train, config=config)
    assert model.card["training"]["class_weight"] == "balanced"
    pd_ = np.asarray([r["pd"] for r in model.predict(test.drop("default"))])
    observed = float(test["default"].mean())
    assert 0.6 * observed < pd_.mean() < 1.5 * observed, (pd_.mean(), observed)
