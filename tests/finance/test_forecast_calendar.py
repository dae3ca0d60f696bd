"""finance.forecast: the data's frequency against the model's, irregular and intraday series, exchange holidays in the
business-day continuation (holidays package; synthetic dates only)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance._forecast_data import calendar_holidays, infer_calendar, infer_frequency, irregularity, prepare_frame
from finance.forecast import Forecaster
from tests.finance.contract_cases_forecast import random_walk, tiny_config

pytest.importorskip("holidays")


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(tiny_config()).fit(random_walk(120, seed=1))  # business days, no holiday missing


def _weekdays(first: str, last: str) -> np.ndarray:
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    return days[((days.view("int64") - 4) % 7) < 5]


def _trading_days(first: str, last: str, exchange: str) -> np.ndarray:
    """The weekdays exchange `exchange` is open, from the holidays package's own calendar."""
    days = _weekdays(first, last)
    return np.setdiff1d(days, calendar_holidays(exchange, days[0], days[-1]))


def _input(dates: np.ndarray, seed: int = 0) -> dict:
    values = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, len(dates))))
    return {"id": "s", "values": values.tolist(), "dates": [str(d) for d in dates]}


@pytest.mark.parametrize("step, expected", [
    ("1d", "daily"), ("1w", "weekly"), ("1mo", "monthly"), ("3mo", "quarterly"), ("6mo", "half-yearly"), ("1y", "yearly"),
])
def test_the_data_frequency_is_named_from_its_median_step(step, expected):
    dates = pl.date_range(pl.date(2000, 1, 31), pl.date(2020, 1, 31), step, eager=True).to_numpy().astype("datetime64[D]")
    assert infer_frequency(dates) == expected
    assert infer_frequency(_weekdays("2024-01-01", "2024-03-01")) == "business-daily"


def test_the_card_records_the_frequency_and_predict_warns_on_another(fitted, tmp_path):
    assert fitted.card["frequency"] == "business-daily" and fitted.card["calendar"] == "none"
    saved = json.loads((fitted.save(tmp_path / "model") / "card.json").read_text())
    assert saved["frequency"] == "business-daily" and saved["info"]["frequency"] == "business-daily"
    [same] = fitted.predict([_input(_weekdays("2024-01-01", "2024-04-01"))])
    assert same["frequency"] == "business-daily" and same["warnings"] == []
    monthly = pl.date_range(pl.date(2015, 1, 1), pl.date(2020, 1, 1), "1mo", eager=True).dt.month_end()
    with pytest.warns(UserWarning, match="monthly data, but this model was fitted on business-daily data"):
        [record] = fitted.predict([_input(monthly.to_numpy().astype("datetime64[D]"))])
    assert record["frequency"] == "monthly" and record["calendar"] is None
    [warning] = record["warnings"]
    assert "3 months here" in warning and "verticals train finance.forecast" in warning and "season_length=12" in warning


def test_a_card_saved_before_the_frequency_was_recorded_is_estimated_from_its_span(fitted):
    old = Forecaster(fitted.config)
    old.weights_, old.quantiles_, old.transform_ = fitted.weights_, fitted.quantiles_, fitted.transform_
    old.lightgbm_, old.nbeats_ = fitted.lightgbm_, fitted.nbeats_
    old.info_ = {k: v for k, v in fitted.info_.items() if k not in ("frequency", "calendar")}
    assert old.fitted_frequency == "business-daily"
    weekly = pl.date_range(pl.date(2018, 1, 1), pl.date(2020, 1, 1), "1w", eager=True).to_numpy().astype("datetime64[D]")
    with pytest.warns(UserWarning, match="weekly data"):
        [record] = old.predict([_input(weekly)])
    assert "weekly data" in record["warnings"][0]


def test_evaluate_names_the_frequency_and_warns_when_it_is_not_the_models(fitted):
    monthly = pl.date_range(pl.date(2010, 1, 1), pl.date(2015, 12, 1), "1mo", eager=True).dt.month_end()
    frame = pl.DataFrame({"date": monthly, "value": _input(monthly.to_numpy().astype("datetime64[D]"))["values"]})
    card = fitted.evaluate(frame)
    assert card["frequency"] == "monthly" and card["model_frequency"] == "business-daily"
    assert "monthly data, but this model was fitted on business-daily data" in card["warning"]
    assert "refits the method on these data" in card["warning"]


def test_an_irregular_series_is_said_to_be(fitted):
    days = _weekdays("2023-01-02", "2023-06-30")
    gapped = np.r_[days[:60], days[100:]]  # 40 business days missing
    [record] = fitted.predict([_input(gapped)])
    [warning] = record["warnings"]
    assert warning.startswith("irregular series: a gap of 59 days after 2023-03-24") and "resample" in warning
    [regular] = fitted.predict([_input(days)])
    assert regular["warnings"] == []


def test_intraday_data_are_refused_as_such_not_as_a_duplicated_date():
    stamps = pl.datetime_range(pl.datetime(2024, 1, 2, 9), pl.datetime(2024, 1, 4, 16), "1h", eager=True)
    frame = pl.DataFrame({"timestamp": stamps, "close": np.linspace(1, 2, len(stamps))})
    with pytest.raises(InputError, match="intraday data, a step of about 1 hours.*one value per day"):
        prepare_frame(frame)
    text = frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M"))
    with pytest.raises(InputError, match="intraday"):
        prepare_frame(text)
    twice = pl.DataFrame({"date": ["2024-01-02", "2024-01-02"], "value": [1.0, 2.0]})
    with pytest.raises(InputError, match="duplicated"):
        prepare_frame(twice)


def test_business_days_skip_the_exchange_holidays_the_history_is_missing(fitted):
    history = _trading_days("2022-01-03", "2024-12-20", "NYSE")
    assert infer_calendar(history) == "NYSE"
    [record] = fitted.predict([_input(history)])
    assert record["calendar"] == "NYSE"
    assert record["dates"] == ["2024-12-23", "2024-12-24", "2024-12-26"]  # not 25 Dec
    [plain] = fitted.predict([_input(history)], calendar="none")
    assert plain["calendar"] == "none" and plain["dates"] == ["2024-12-23", "2024-12-24", "2024-12-25"]
    year_end = _trading_days("2022-01-03", "2024-12-30", "NYSE")
    assert fitted.predict([_input(year_end)])[0]["dates"] == ["2024-12-31", "2025-01-02", "2025-01-03"]  # not 1 Jan


def test_the_calendar_whose_holidays_fit_best_is_chosen():
    ecb = _trading_days("2022-01-03", "2024-12-20", "ECB")
    assert infer_calendar(ecb) == "ECB"  # Easter Monday and 1 May missing, MLK day traded: not NYSE
    assert infer_calendar(_weekdays("2022-01-03", "2024-12-20")) is None  # every weekday traded: no calendar
    monthly = pl.date_range(pl.date(2015, 1, 1), pl.date(2020, 1, 1), "1mo", eager=True).to_numpy().astype("datetime64[D]")
    assert infer_calendar(monthly) is None


def test_a_chosen_calendar_is_used_and_a_bad_one_refused(fitted):
    history = _weekdays("2024-10-01", "2024-12-20")  # no holiday missing: auto says none
    assert fitted.predict([_input(history)])[0]["calendar"] == "none"
    [record] = fitted.predict([_input(history)], calendar="nyse")
    assert record["calendar"] == "NYSE" and "2024-12-25" not in record["dates"]
    with pytest.raises(InputError, match="calendar 'MARS' is not an exchange calendar"):
        fitted.predict([_input(history)], calendar="MARS")


def test_a_short_history_falls_back_to_the_calendar_the_model_was_fitted_on(fitted):
    days = _trading_days("2023-06-01", "2024-06-28", "NYSE")
    nyse = Forecaster(tiny_config()).fit(pl.DataFrame({"date": days, "value": _input(days)["values"]}))
    assert nyse.card["calendar"] == "NYSE"
    short = _trading_days("2024-11-01", "2024-12-20", "NYSE")  # Thanksgiving only: too little to tell
    assert infer_calendar(short) is None
    assert nyse.predict([_input(short)])[0]["calendar"] == "NYSE"
    assert fitted.predict([_input(short)])[0]["calendar"] == "none"


def test_the_cli_takes_the_calendar_option(fitted, tmp_path, capsys):
    from core.cli import main

    folder = fitted.save(tmp_path / "model")
    history = _trading_days("2022-01-03", "2024-12-20", "NYSE")
    path = tmp_path / "prices.csv"
    pl.DataFrame({"date": history, "value": _input(history)["values"]}).write_csv(path)
    for option, expected in (("calendar=none", "2024-12-25"), ("calendar=NYSE", "2024-12-26")):
        out = tmp_path / f"{option}.jsonl"
        assert main(["predict", "finance.forecast", "--input", str(path), "--model", str(folder), "--option", option,
                     "--output", str(out)]) == 0
        record = json.loads(out.read_text().splitlines()[0])
        assert record["dates"][-1] == expected


def test_check_data_and_fit_say_the_frequency_calendar_and_irregularity(tmp_path):
    days = _trading_days("2022-01-03", "2024-12-20", "NYSE")
    gapped = np.r_[days[:300], days[340:]]
    frame = pl.concat([pl.DataFrame({"id": "regular", "date": days, "value": _input(days)["values"]}),
                       pl.DataFrame({"id": "gapped", "date": gapped, "value": _input(gapped)["values"]})])
    path = tmp_path / "long.csv"
    frame.write_csv(path)
    report = Forecaster.check_data(path)
    regular, irregular = report["series"]
    assert (regular["frequency"], regular["calendar"], "warning" in regular) == ("business-daily", "NYSE", False)
    assert irregular["warning"].startswith("irregular series: a gap of")
    with pytest.warns(UserWarning, match="series 'gapped': irregular series"):
        Forecaster(tiny_config(max_train_points=600)).fit(frame)


@pytest.mark.parametrize("freq, expected", [
    ("BME", ["2024-07-31", "2024-08-30", "2024-09-30"]),
    ("BMS", ["2024-08-01", "2024-09-02", "2024-10-01"]),
    ("BQE", ["2024-09-30", "2024-12-31", "2025-03-31"]),
])
def test_business_month_ends_and_starts_stay_on_the_calendar(fitted, freq, expected):
    pd = pytest.importorskip("pandas")
    start = "2014-01-31" if freq != "BQE" else "1993-03-31"
    dates = pd.date_range(start, periods=126, freq=freq).values.astype("datetime64[D]")
    assert str(dates[-1]) in ("2024-06-28", "2024-07-01")
    with pytest.warns(UserWarning, match="but this model was fitted on business-daily"):
        [record] = fitted.predict([_input(dates)])
    assert record["dates"] == expected


def test_a_chosen_calendar_rolls_business_month_ends_over_its_holidays(fitted):
    pd = pytest.importorskip("pandas")
    dates = pd.date_range("2014-01-31", "2024-02-29", freq="BME").values.astype("datetime64[D]")
    with pytest.warns(UserWarning, match="monthly data"):
        plain = fitted.predict([_input(dates)])[0]
        nyse = fitted.predict([_input(dates)], calendar="NYSE")[0]
    assert plain["dates"][0] == "2024-03-29" and nyse["dates"][0] == "2024-03-28"  # Good Friday, 29 March 2024
    assert nyse["calendar"] == "NYSE"


def test_one_weekend_session_keeps_a_series_business_daily_on_its_calendar(fitted):
    days = _trading_days("2021-01-04", "2024-07-02", "NYSE")[-880:]
    days = np.sort(np.r_[days, np.datetime64("2024-06-15")])  # one Saturday session
    assert infer_frequency(days) == "business-daily" and infer_calendar(days) == "NYSE"
    [record] = fitted.predict([_input(days)])
    assert record["calendar"] == "NYSE" and record["dates"] == ["2024-07-03", "2024-07-05", "2024-07-08"]
    assert fitted.predict([_input(days)], calendar="NYSE")[0]["dates"] == ["2024-07-03", "2024-07-05", "2024-07-08"]
    saturday = np.r_[days[:-1][days[:-1] < np.datetime64("2024-06-15")], np.datetime64("2024-06-15")]
    assert fitted.predict([_input(saturday)])[0]["dates"][0] == "2024-06-17"  # the Monday after a Saturday session


def test_a_chosen_calendar_that_cannot_apply_is_warned_about_not_dropped(fitted):
    weekly = pl.date_range(pl.date(2018, 1, 1), pl.date(2020, 1, 1), "1w", eager=True).to_numpy().astype("datetime64[D]")
    with pytest.warns(UserWarning, match="calendar=NYSE is not used.*weekly data"):
        [record] = fitted.predict([_input(weekly)], calendar="NYSE")
    assert record["calendar"] is None and any("calendar=NYSE is not used" in w for w in record["warnings"])


def test_gaps_of_two_steps_or_more_are_reported_and_holidays_are_not(tmp_path):
    pd = pytest.importorskip("pandas")
    months = pd.date_range("2014-01-31", periods=60, freq="ME").values.astype("datetime64[D]")
    weeks = pd.date_range("2014-01-05", periods=100, freq="W").values.astype("datetime64[D]")
    gapped_months, gapped_weeks = np.r_[months[:30], months[34:]], np.r_[weeks[:30], weeks[33:]]
    assert "4 months missing" in irregularity(gapped_months) and "after 2016-06-30" in irregularity(gapped_months)
    assert irregularity(gapped_weeks).startswith("irregular series: a gap of 28 days after 2014-07-27 (3 weeks missing")
    assert irregularity(months) is None and irregularity(np.r_[months[:30], months[31:]]) is None  # one step: not said
    days = _trading_days("2022-01-03", "2024-12-20", "NYSE")
    assert irregularity(days) is None  # holidays and long weekends are no gaps
    assert "5 business days missing" in irregularity(np.r_[days[:300], days[305:]])
    assert irregularity(np.r_[days[:300], days[304:]]) is None
    frame = pl.DataFrame({"date": gapped_months, "value": _input(gapped_months)["values"]})
    path = tmp_path / "monthly.csv"
    frame.write_csv(path)
    [row] = Forecaster.check_data(path)["series"]
    assert row["frequency"] == "monthly" and "4 months missing" in row["warning"]


def test_yyyymmdd_integer_dates_are_read_as_dates(tmp_path):
    from core.data.tables import reader_options

    days = _trading_days("2021-01-04", "2024-07-02", "NYSE")
    numbers = [int(str(d).replace("-", "")) for d in days]
    path = tmp_path / "prices.csv"
    pl.DataFrame({"date": numbers, "value": _input(days)["values"]}).write_csv(path)
    [row] = Forecaster.check_data(path)["series"]
    assert (row["first"], row["last"], row["frequency"], row["calendar"]) == ("2021-01-04", "2024-07-02", "business-daily", "NYSE")
    text = prepare_frame(pl.DataFrame({"date": [str(n) for n in numbers[:5]], "value": [1.0] * 5}))
    assert text["date"].dtype == pl.Date and str(text["date"][0]) == "2021-01-04"
    index = prepare_frame(pl.DataFrame({"date": list(range(5)), "value": [1.0] * 5}))  # a time index stays one
    assert index["date"].dtype == pl.Int64
    not_dates = prepare_frame(pl.DataFrame({"date": [20211399, 20211400], "value": [1.0, 2.0]}))
    assert not_dates["date"].dtype == pl.Int64
    with reader_options(date_format="%Y%m%d"):
        assert prepare_frame(pl.DataFrame({"date": numbers[:3], "value": [1.0] * 3}))["date"].dtype == pl.Date


def test_the_exchanges_own_closures_are_no_gap(fitted, tmp_path):
    days = _weekdays("2021-01-04", "2023-12-29")  # Shanghai: weekdays less Spring Festival and Golden Week (5 each)
    closed = calendar_holidays("XSHG", days[0], days[-1])
    weeks = [d for d in closed if str(d)[5:7] in ("01", "02", "10")]
    weeks = np.array([d for d in weeks if np.sum(np.abs((np.array(weeks) - d).astype(int)) <= 7) >= 4], dtype="datetime64[D]")
    dates = np.setdiff1d(days, weeks)
    assert "5 business days missing" in irregularity(dates)  # weekdays only: 5 missing is a gap
    assert irregularity(dates, calendar_holidays("XSHG", dates[0], dates[-1])) is None
    [record] = fitted.predict([_input(dates)], calendar="XSHG")
    assert record["calendar"] == "XSHG" and not [w for w in record["warnings"] if "irregular" in w]
    full = _trading_days("2021-01-04", "2023-12-29", "XSHG")  # every XSHG closure missing: inferred, and no gap
    assert infer_calendar(full) == "XSHG"
    [record] = fitted.predict([_input(full)])
    assert record["calendar"] == "XSHG" and not [w for w in record["warnings"] if "irregular" in w]
    path = tmp_path / "shanghai.csv"
    pl.DataFrame({"date": [str(d) for d in full], "value": _input(full)["values"]}).write_csv(path)
    [row] = Forecaster.check_data(path)["series"]
    assert row["calendar"] == "XSHG" and "warning" not in row


def test_an_invalid_yyyymmdd_date_among_valid_ones_is_named(tmp_path):
    days = _trading_days("2019-01-02", "2021-12-31", "NYSE")
    numbers = [int(str(d).replace("-", "")) for d in days]
    values = _input(days)["values"]
    middle = numbers[:30] + [20190231] + numbers[31:]
    with pytest.raises(InputError, match=r"row 31: 20190231 is not a date \(YYYYMMDD\); correct or drop it"):
        prepare_frame(pl.DataFrame({"date": middle, "value": values}))
    last = numbers[:-1] + [20211232]
    path = tmp_path / "prices.csv"
    pl.DataFrame({"date": last, "value": values}).write_csv(path)
    with pytest.raises(InputError, match=rf"row {len(numbers)}: 20211232 is not a date"):
        Forecaster.check_data(path)
    as_text = prepare_frame(pl.DataFrame({"date": [str(n) for n in numbers], "value": values}))
    assert as_text["date"].dtype == pl.Date
