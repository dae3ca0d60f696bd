"""finance.forecast in practice (a demand/price forecaster's report): calendar dates of 29th/30th-dated monthly data,
one bad series in a long table, short monthly histories, constant series, short series in the backtest, intervals."""

from __future__ import annotations

import numpy as np
import pytest

from finance._forecast_data import future_dates


def _monthly_on(day: int, months: int = 60, start: int = 2015) -> np.ndarray:
    """Monthly dates on `day` of each month, clipped to the month's last day (28/29 February)."""
    firsts = np.datetime64(f"{start}-01", "M") + np.arange(months)
    lengths = ((firsts + 1).astype("datetime64[D]") - firsts.astype("datetime64[D]")).astype(int)
    return firsts.astype("datetime64[D]") + np.minimum(day, lengths) - 1


@pytest.mark.parametrize("day, expected", [
    (30, ["2020-01-30", "2020-02-29", "2020-03-30", "2020-04-30", "2020-05-30", "2020-06-30", "2020-07-30",
          "2020-08-30", "2020-09-30", "2020-10-30", "2020-11-30", "2020-12-30"]),
    (29, ["2020-01-29", "2020-02-29", "2020-03-29", "2020-04-29", "2020-05-29", "2020-06-29", "2020-07-29",
          "2020-08-29", "2020-09-29", "2020-10-29", "2020-11-29", "2020-12-29"]),
])
def test_monthly_data_on_the_29th_or_30th_continue_on_that_day_of_the_month(day, expected):
    """The history holds a clipped February (28th), which made the calendar step give up: the dates then stepped by
    30 or 31 days and drifted (2020-12-24 for the 30th, 2021-01-04 for the 29th at h12)."""
    dates = _monthly_on(day)
    assert str(dates[-1]) == f"2019-12-{day}"
    assert future_dates(dates, 12) == expected
