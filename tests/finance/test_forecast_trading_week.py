"""A daily series that trades on five weekdays other than Monday-Friday (Sunday-Thursday: Tel Aviv, Tadawul, or
Tokyo-midnight closes stored in UTC) continues on its own trading weekdays, as pandas' CustomBusinessDay with that
weekmask does, and the record and card say which week was inferred."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from finance._forecast_data import future_dates, infer_frequency, irregularity, trading_weekmask
from finance.forecast import Forecaster
from tests.finance.contract_cases_forecast import random_walk, tiny_config


def _sun_thu(length: int, seed: int = 0) -> pl.DataFrame:
    """A Monday-Friday random walk with every date moved back one day: Sunday-Thursday."""
    frame = random_walk(length, seed=seed)
    return frame.with_columns(pl.col("date") - pl.duration(days=1))


def _next_sessions(last: str, horizon: int) -> list[str]:
    from pandas.tseries.offsets import CustomBusinessDay

    dates = pd.date_range(pd.Timestamp(last) + pd.Timedelta(days=1), periods=horizon,
                          freq=CustomBusinessDay(weekmask="Sun Mon Tue Wed Thu"))
    return [str(d.date()) for d in dates]


def test_the_weekmask_is_learnt_from_the_history():
    dates = _sun_thu(120)["date"].to_numpy().astype("datetime64[D]")
    assert trading_weekmask(dates) == "1111001"
    assert infer_frequency(dates) == "business-daily"
    assert future_dates(dates, 5) == _next_sessions(str(dates[-1]), 5)
    assert irregularity(dates) is None  # Friday-Saturday are no gaps
    monday_friday = random_walk(120)["date"].to_numpy().astype("datetime64[D]")
    assert trading_weekmask(monday_friday) == "1111100"
    every_day = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-04-01"))
    assert trading_weekmask(every_day) is None and infer_frequency(every_day) == "daily"


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(tiny_config()).fit(_sun_thu(120, seed=1))


def test_sunday_thursday_forecasts_fall_on_its_sessions_and_say_so(fitted):
    series = _sun_thu(60, seed=2)
    last = str(series["date"][-1])
    [record] = fitted.predict([{"id": "tase", "values": series["value"].to_list(),
                                "dates": [str(d) for d in series["date"].to_list()]}])
    assert record["dates"] == _next_sessions(last, len(record["dates"]))
    assert not {pd.Timestamp(d).day_name() for d in record["dates"]} & {"Friday", "Saturday"}
    assert record["frequency"] == "business-daily" and record["trading_week"] == "Sun Mon Tue Wed Thu"
    assert record["warnings"] == []
    assert fitted.card["trading_week"] == "Sun Mon Tue Wed Thu"


def test_tokyo_closes_stored_in_utc_continue_on_their_utc_weekdays(fitted):
    series = random_walk(63, seed=3)  # ends on a Friday
    stamps = (series["date"].cast(pl.Datetime("us")).dt.replace_time_zone("Asia/Tokyo")
              .dt.convert_time_zone("UTC"))  # Monday 00:00 in Tokyo is Sunday 15:00 UTC
    [record] = fitted.predict(pl.DataFrame({"date": stamps, "value": series["value"]}))
    last = str(stamps[-1].date())
    assert pd.Timestamp(last).day_name() == "Thursday"  # so the next session is Sunday, not Friday
    assert record["dates"] == _next_sessions(last, len(record["dates"]))
