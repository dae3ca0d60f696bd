"""finance.forecast records keep significant digits, not decimals: a series priced around 1e-7 (a meme coin, a price
quoted in BTC) forecasts as the same series at 1 does, scaled, with intervals that stay apart."""

import json

import numpy as np
import pytest

from finance.forecast import Forecaster
from tests.finance.contract_cases_forecast import as_input, random_walk, tiny_config


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(tiny_config()).fit(random_walk(120, seed=1))


@pytest.mark.parametrize("unit", [1e-7, 1e-9, 1e-12])
def test_a_tiny_price_forecasts_as_the_same_series_scaled(fitted, unit):
    assert fitted.transform_ == "log"
    series = as_input(random_walk(60, seed=2))
    [plain] = fitted.predict([series])
    [tiny] = fitted.predict([{**series, "values": [v * unit for v in series["values"]]}])
    json.dumps(tiny)
    keys = ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    for key in keys:
        assert all(v > 0 for v in tiny[key])
        np.testing.assert_allclose(np.array(tiny[key]) / unit, plain[key], rtol=1e-4)
    for h in range(len(tiny["forecast"])):  # the bounds stay apart (they collapsed onto one rounded value)
        assert tiny["lower_95"][h] < tiny["lower_80"][h] < tiny["forecast"][h] < tiny["upper_80"][h] < tiny["upper_95"][h]
