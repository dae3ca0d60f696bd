"""finance.risk and finance.forecast predict took any batch_size (0, -1, "8") without a word; core's rule holds now."""

import numpy as np
import polars as pl
import pytest

from core.errors import InputError


@pytest.mark.parametrize("bad", [0, -1, "8", 2.5])
def test_risk_and_forecast_refuse_a_batch_size_that_is_not_a_whole_number_of_at_least_one(bad):
    from finance.forecast import Forecaster
    from finance.risk import RiskScorer

    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"income": rng.normal(size=200), "default": rng.integers(0, 2, 200)})
    risk = RiskScorer().fit(frame, config={"family": "logistic", "cv_folds": 2, "cv_repeats": 1})
    with pytest.raises(InputError, match="batch_size"):
        risk.predict([{"income": 1.0}], batch_size=bad)
    assert len(risk.predict([{"income": 1.0}], batch_size=3)) == 1
    import datetime

    days = pl.date_range(datetime.date(2024, 1, 1), datetime.date(2024, 3, 30), eager=True)
    series = pl.DataFrame({"date": days, "value": np.sin(np.arange(len(days)) / 5.0) + 5})
    forecast = Forecaster().fit(series, config={"candidates": ("naive", "drift"), "horizon": 2, "selection_size": 20, "test_size": 10})
    with pytest.raises(InputError, match="batch_size"):
        forecast.predict([[1.0, 2.0, 3.0, 4.0]], batch_size=bad)

