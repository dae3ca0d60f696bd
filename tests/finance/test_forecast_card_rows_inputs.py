"""finance.forecast: the card's training section says what fit() trained on; predict takes a long table; Excel serial
dates in a date column are read as dates (with a warning)."""

from __future__ import annotations

import json
import warnings

import polars as pl
import pytest

from finance.forecast import Forecaster
from tests.finance.contract_cases_forecast import random_walk, tiny_config

FAST = dict(candidates=("drift", "lightgbm"))  # no N-BEATS: these tests are about the data and the card


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(tiny_config(**FAST)).fit(random_walk(120, seed=1))


def test_python_fit_and_save_records_rows_and_seconds(tmp_path):
    model = Forecaster(tiny_config(**FAST, max_train_points=90)).fit(random_walk(120, seed=1))
    card = json.loads((model.save(tmp_path / "m") / "card.json").read_text())
    training = card["training"]
    assert training["rows"] == 90 == card["info"]["series"][0]["length"]  # the last max_train_points, not the 120 given
    assert training["validation_rows"] == 0  # refit_global: the global models train on the whole history
    assert training["seconds"] is not None and training["seconds"] >= 0
    reloaded = Forecaster.load(tmp_path / "m").save(tmp_path / "again")
    assert json.loads((reloaded / "card.json").read_text())["training"]["rows"] == 90


def test_without_refit_the_selection_window_is_held_out(tmp_path):
    model = Forecaster(tiny_config(**FAST, refit_global=False)).fit(random_walk(120, seed=1))
    training = json.loads((model.save(tmp_path / "m") / "card.json").read_text())["training"]
    assert training["validation_rows"] > 0 and training["rows"] + training["validation_rows"] == 120


def test_verticals_train_card_counts_the_points_fitted(tmp_path):
    from core.jobs import run_training

    data = tmp_path / "walk.csv"
    random_walk(150, seed=3).drop("id").write_csv(data)
    overrides = {"horizon": 3, "window": 8, "selection_size": 20, "lgbm_estimators": 5, "lgbm_min_child_samples": 5,
                 "max_fit_points": 200, "candidates": "drift,lightgbm", "max_train_points": 100}
    card = run_training("finance.forecast", data, tmp_path / "out", overrides=overrides)
    assert card["training"]["rows"] == 100 and card["training"]["validation_rows"] == 0


def test_predict_forecasts_each_series_of_a_long_table(fitted):
    long = pl.concat([random_walk(60, seed=2, series_id="a"), random_walk(60, seed=3, series_id="b")])
    records = fitted.predict(long)
    assert [r["id"] for r in records] == ["a", "b"]
    one_by_one = fitted.predict([long.filter(pl.col("id") == "a"), long.filter(pl.col("id") == "b")])
    assert [r["forecast"] for r in records] == [r["forecast"] for r in one_by_one]


def test_predict_numbers_inputs_after_a_long_table_by_their_place(fitted):
    long = pl.concat([random_walk(60, seed=2, series_id="a"), random_walk(60, seed=3, series_id="b")])
    records = fitted.predict([long, random_walk(60, seed=4).drop("id")])
    assert [r["id"] for r in records] == ["a", "b", "series_2"]


def test_explain_still_takes_one_series(fitted):
    from core.errors import InputError

    long = pl.concat([random_walk(60, seed=2, series_id="a"), random_walk(60, seed=3, series_id="b")])
    with pytest.raises(InputError, match="2 series"):
        fitted.explain(long)


def test_excel_serial_dates_in_a_date_column_are_dates(tmp_path):
    values = random_walk(40, seed=5)["value"].to_list()
    path = tmp_path / "serial.csv"
    pl.DataFrame({"date": [45292 + i for i in range(40)], "value": values}).write_csv(path)
    with pytest.warns(UserWarning, match="Excel serial dates"):
        frame = Forecaster.read_data(path)
    assert frame["date"].dtype == pl.Date and str(frame["date"][0]) == "2024-01-01"


def test_integers_outside_the_excel_range_or_column_stay_a_step_index(tmp_path):
    values = random_walk(40, seed=5)["value"].to_list()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = tmp_path / "index.csv"
        pl.DataFrame({"date": list(range(40)), "value": values}).write_csv(small)
        assert Forecaster.read_data(small)["date"].dtype == pl.Int64
        named = tmp_path / "step.csv"
        pl.DataFrame({"step": [45292 + i for i in range(40)], "value": values}).write_csv(named)
        assert Forecaster.read_data(named, time="step")["date"].dtype == pl.Int64
        gaps = tmp_path / "gaps.csv"  # steps of more than a year: not a calendar
        pl.DataFrame({"date": [20000 + 400 * i for i in range(40)], "value": values}).write_csv(gaps)
        assert Forecaster.read_data(gaps)["date"].dtype == pl.Int64
