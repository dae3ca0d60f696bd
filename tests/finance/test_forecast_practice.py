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


# -- one bad series among others ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk, tiny_config

    return Forecaster(tiny_config()).fit(random_walk(120, seed=1))


def _long_table(*parts):
    import polars as pl

    return pl.concat(list(parts))


def test_a_short_series_in_a_long_table_is_an_error_record_and_the_others_are_forecast(fitted):
    """One new 3-point SKU made predict raise for the whole table: nothing was forecast for the others."""
    from tests.finance.contract_cases_forecast import as_input, random_walk

    table = _long_table(random_walk(60, seed=2, series_id="s0"), random_walk(3, seed=3, series_id="tiny"),
                        random_walk(50, seed=4, series_id="s2"))
    records = fitted.predict(table)
    assert [r["id"] for r in records] == ["s0", "tiny", "s2"]
    assert "forecast" in records[0] and "forecast" in records[2]
    assert set(records[1]) == {"id", "error"} and "'tiny' has 3 rows" in records[1]["error"]
    listed = fitted.predict([as_input(random_walk(60, seed=2, series_id="a")), {"id": "new", "values": [1.0, 2.0, 3.0]}])
    assert "forecast" in listed[0] and listed[1]["id"] == "new" and "has 3 rows" in listed[1]["error"]


def test_a_non_positive_series_among_others_is_an_error_record_naming_it_and_its_date(fitted):
    """Finding 6 too: the error named only `input 4`, a position, not the series nor where its first value <= 0 is."""
    import polars as pl

    from tests.finance.contract_cases_forecast import random_walk

    zero = random_walk(60, seed=5, series_id="zero").with_columns(
        pl.when(pl.int_range(pl.len()) >= 40).then(0.0).otherwise(pl.col("value")).alias("value"))
    records = fitted.predict(_long_table(random_walk(60, seed=2, series_id="s0"), zero))
    assert "forecast" in records[0]
    assert records[1]["id"] == "zero"
    assert "series 'zero' holds values <= 0 (the first on 2020-02-26: 0)" in records[1]["error"]


def test_when_every_series_fails_the_first_error_is_raised(fitted):
    from core.errors import InputError

    with pytest.raises(InputError, match="'b' has 2 rows"):
        fitted.predict([{"id": "b", "values": [1.0, 2.0]}, {"id": "c", "values": [1.0]}])


def test_the_cli_writes_the_others_forecasts_and_an_error_line_for_the_short_series(fitted, tmp_path):
    import json

    from core.cli import main
    from tests.finance.contract_cases_forecast import random_walk

    model = fitted.save(tmp_path / "model")
    table = _long_table(random_walk(60, seed=2, series_id="s0"), random_walk(5, seed=3, series_id="tiny"))
    table.write_csv(tmp_path / "long.csv")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "finance.forecast", "--model", str(model), "--input", str(tmp_path / "long.csv"),
                 "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["s0", "tiny"] and "forecast" in records[0] and "error" in records[1]



def _with_hole(series_id: str, seed: int):
    """A 60-point series with an empty value cell at its 11th row."""
    import polars as pl

    from tests.finance.contract_cases_forecast import random_walk

    walk = random_walk(60, seed=seed, series_id=series_id)
    return walk.with_columns(pl.when(pl.int_range(pl.len()) == 10).then(None).otherwise(pl.col("value")).alias("value"))


def _with_repeated_date(series_id: str, seed: int):
    import polars as pl

    from tests.finance.contract_cases_forecast import random_walk

    walk = random_walk(60, seed=seed, series_id=series_id)
    return walk.with_columns(pl.when(pl.int_range(pl.len()) == 20).then(pl.col("date").shift(1)).otherwise(pl.col("date"))
                             .alias("date"))


def test_a_series_with_a_hole_or_a_repeated_date_is_an_error_record_and_the_others_are_forecast(fitted):
    """Review finding 4: one empty value cell or one duplicated date in one series of a long table raised for the
    whole table (the checks ran before the table was split), so no series was forecast."""
    from tests.finance.contract_cases_forecast import random_walk

    table = _long_table(random_walk(60, seed=2, series_id="s0"), _with_hole("hole", 3), _with_repeated_date("dup", 4),
                        random_walk(50, seed=5, series_id="s3"))
    records = fitted.predict(table)
    assert [r["id"] for r in records] == ["s0", "hole", "dup", "s3"]
    assert "forecast" in records[0] and "forecast" in records[3]
    assert set(records[1]) == {"id", "error"} and set(records[2]) == {"id", "error"}
    assert records[1]["error"].startswith("input 1: value column 'value' has a missing, NaN or infinite value at row 71 ")
    assert "series 'hole'" in records[1]["error"]
    assert records[2]["error"].startswith("input 1: date 2020-01-28 is duplicated (row 141, series 'dup')")
    assert fitted.predict(table.filter(table["id"] != "hole"))[0]["forecast"] == records[0]["forecast"]


def test_a_table_whose_every_series_fails_raises_the_first_error(fitted):
    from core.errors import InputError

    with pytest.raises(InputError, match=r"^input 1: value column 'value' has a missing.* at row 11 .*series 'hole'"):
        fitted.predict(_long_table(_with_hole("hole", 3), _with_repeated_date("dup", 4)))


def test_the_cli_writes_the_others_forecasts_and_an_error_line_for_a_series_with_a_hole(fitted, tmp_path):
    import json

    from core.cli import main
    from tests.finance.contract_cases_forecast import random_walk

    model = fitted.save(tmp_path / "model")
    _long_table(random_walk(60, seed=2, series_id="s0"), _with_hole("hole", 3), _with_repeated_date("dup", 4)).write_csv(
        tmp_path / "long.csv")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "finance.forecast", "--model", str(model), "--input", str(tmp_path / "long.csv"),
                 "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["s0", "hole", "dup"] and "forecast" in records[0]
    assert records[1]["error"].startswith("long.csv: value column 'value' has a missing, NaN or infinite value at row 71 ")
    assert records[2]["error"].startswith("long.csv: date 2020-01-28 is duplicated (row 141, series 'dup')")


def test_a_word_in_one_series_values_is_that_series_error_record_on_the_cli(fitted, tmp_path):
    """One 'abc' among 180 prices refused the whole file (the table reader refuses a few odd values in a column of
    numbers) though README promises an error record for that series and forecasts for the others."""
    import json

    from core.cli import main
    from tests.finance.contract_cases_forecast import random_walk

    model = fitted.save(tmp_path / "model")
    table = _long_table(random_walk(90, seed=2, series_id="s0"), random_walk(90, seed=5, series_id="bad"))
    lines = table.write_csv().splitlines()
    lines[150] = ",".join(lines[150].split(",")[:-1] + ["abc"])
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "finance.forecast", "--model", str(model), "--input", str(tmp_path / "long.csv"),
                 "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["s0", "bad"] and "forecast" in records[0]
    assert "non-numeric text (e.g. 'abc' at row 150, series 'bad')" in records[1]["error"]


def test_training_data_with_a_hole_in_one_series_are_still_refused_whole(tmp_path):
    """Training is all or nothing: a series left out silently would change the model."""
    from core.errors import InputError
    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk

    _long_table(random_walk(60, seed=2, series_id="s0"), _with_hole("hole", 3)).write_csv(tmp_path / "long.csv")
    with pytest.raises(InputError, match=r"^long.csv: value column 'value' has a missing.* at row 71 "):
        Forecaster.read_data(tmp_path / "long.csv")


def test_a_text_cell_in_a_pandas_value_column_is_named_with_its_row_and_value(fitted):
    """Review finding 5: an object column with one 'n/a' among floats was "expected a table with date and value
    columns, got DataFrame", although it is one."""
    from core.errors import InputError
    from tests.finance.contract_cases_forecast import random_walk

    good = random_walk(60, seed=2, series_id="s0").to_pandas()
    text = random_walk(60, seed=3, series_id="text").to_pandas()
    text["value"] = text["value"].astype(object)
    text.iloc[30, 2] = "n/a"
    with pytest.raises(InputError, match=r"^input 1: value column 'value' holds non-numeric text \(e\.g\. 'n/a' at row 31, "
                                         r"series 'text'\)"):
        fitted.predict(text)
    import pandas as pd

    records = fitted.predict(pd.concat([good, text], ignore_index=True))
    assert "forecast" in records[0] and "'n/a' at row 91" in records[1]["error"]
    assert records[0]["forecast"] == fitted.predict(good)[0]["forecast"]  # the numbers read as text are the same

# -- the minimum history comes from the candidates in use ---------------------------------------------------------------
def _monthly48():
    import polars as pl

    rng = np.random.default_rng(0)
    dates = pl.date_range(pl.date(2016, 1, 1), pl.date(2019, 12, 1), "1mo", eager=True).dt.month_end()
    return pl.DataFrame({"id": ["m48"] * 48, "date": dates, "value": 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 48)))})


def test_four_years_of_monthly_data_train_without_nbeats_and_the_card_says_so(tmp_path):
    """48 monthly points were refused (at least 61 needed) because of N-BEATS' 40-point window, even when N-BEATS was
    not a candidate."""
    import json

    from finance.forecast import Forecaster, ForecastConfig

    statistical = Forecaster(ForecastConfig(candidates=("naive", "drift", "auto_ets"), season_length=12)).fit(_monthly48())
    assert statistical._active() == ("naive", "drift", "auto_ets")
    assert not any("left out" in said for said in statistical.info_.get("warnings", []))
    assert statistical.predict([{"id": "new", "values": list(np.linspace(100, 110, 30))}])[0]["forecast"]
    with pytest.warns(UserWarning, match=r"nbeats left out: series 'm48' has 48 rows.*needs 61 \(set by N-BEATS"):
        default = Forecaster(ForecastConfig(season_length=12, epochs=1, max_steps=2)).fit(_monthly48())
    assert "nbeats" not in default._active() and "lightgbm" in default._active() and default.nbeats_ is None
    saved = default.save(tmp_path / "m48")
    card = json.loads((saved / "card.json").read_text())
    assert "nbeats" not in card["candidates"] and "nbeats left out" in card["warning"]
    assert Forecaster.load(saved).predict([{"values": _monthly48()["value"].to_list()}])[0]["forecast"]
    assert "nbeats left out" in Forecaster.load(saved).card["warning"]  # a page shows the loaded model's warning


def test_too_short_to_train_says_what_sets_the_minimum_and_how_to_lower_it():
    from core.errors import InputError
    from finance.forecast import Forecaster, ForecastConfig

    with pytest.raises(InputError, match=r"'m48' has 15 rows; training needs at least 26: 6 of history .*set by the "
                                         r"horizon \(5\) \+ 1\) plus 2 x horizon \+ 10 = 20 .*to need less: lower --set horizon="):
        Forecaster(ForecastConfig(candidates=("naive", "drift"))).fit(_monthly48().head(15))


def test_four_years_of_monthly_data_evaluate_with_the_candidates_that_fit():
    """48 monthly points trained (N-BEATS left out) but evaluate refused them (at least 81 needed, from N-BEATS'
    window): the backtest's fit now leaves out what training on that history leaves out, and the card says so."""
    from finance.forecast import Forecaster, ForecastConfig

    with pytest.warns(UserWarning, match=r"nbeats, seasonal_naive left out: series 'm48' has 26 rows"):
        card = Forecaster(ForecastConfig(season_length=12, epochs=1, max_steps=2)).evaluate(_monthly48())
    assert card["test_size"] == 22 and "leaves out seasonal_naive, nbeats" in card["warning"]
    assert "nbeats" not in card["candidates"] and "lightgbm" in card["candidates"]
    assert card["metrics"]["mae"]["value"] > 0


SHORT_CONFIGS = {  # LightGBM's own 10 rows set the minimum (horizon 1), the history floor does, seasonal naive helps
    "horizon 1": dict(horizon=1),
    "lightgbm horizon 2": dict(horizon=2, candidates=("drift", "lightgbm")),
    "monthly season": dict(horizon=3, season_length=12),
}


@pytest.mark.parametrize("name", sorted(SHORT_CONFIGS))
@pytest.mark.parametrize("step", ["fit", "evaluate"])
def test_a_refusal_for_short_history_names_the_real_minimum(name, step):
    """Evaluate asked for N-BEATS' window with N-BEATS left out, and LightGBM's own minimum (10 training rows before the
    selection window) was a bare 'too little history' after a minimum that fit did not meet: each refusal's number now
    is the fewest points that train (or evaluate), one fewer is refused with that number."""
    import re
    import warnings

    from core.errors import InputError
    from finance.forecast import Forecaster, ForecastConfig

    model = Forecaster(ForecastConfig(epochs=1, max_steps=2, max_fit_points=50, **SHORT_CONFIGS[name]))
    with pytest.raises(InputError, match="needs at least") as refused:
        getattr(model, step)(_monthly48().head(16))
    needed = int(re.search(r"needs at least (\d+)", str(refused.value)).group(1))
    assert "too little history" not in str(refused.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        getattr(Forecaster(model.config), step)(_monthly48().head(needed))
    with pytest.raises(InputError, match=f"needs at least {needed}[:;]"):
        getattr(Forecaster(model.config), step)(_monthly48().head(needed - 1))


# -- a constant series ----------------------------------------------------------------------------------------------------
def test_a_constant_history_is_forecast_exactly_constant_by_every_candidate(fitted):
    """LightGBM's learnt drift moved a 42.0 history to 42.04 at h5 (it alone gave 42.02...42.25, with weight)."""
    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk, tiny_config

    model = Forecaster(tiny_config(lgbm_estimators=50)).fit(random_walk(300, seed=7))
    model.weights_ = {"naive": [0.5] * 3, "lightgbm": [0.5] * 3}  # LightGBM weighs, as it did in the report
    dates = [str(d) for d in random_walk(60, seed=1)["date"].to_list()]
    [record] = model.predict([{"id": "flat", "values": [42.0] * 60, "dates": dates}])
    assert record["forecast"] == [42.0] * 3
    explained = model.explain({"values": [42.0] * 60, "dates": dates})
    assert explained["candidates"]["lightgbm"] == [42.0] * 3 and explained["candidates"]["nbeats"] == [42.0] * 3


# -- a short series among long ones ---------------------------------------------------------------------------------------
def test_a_short_series_does_not_shrink_the_backtest_of_the_others():
    """The shortest series set the selection window for all: one 75-point series cut 1,492 origins to 39 and changed
    every other series' weights and intervals."""
    import polars as pl

    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk, tiny_config

    config = tiny_config(candidates=("drift",), selection_size=100)
    long = pl.concat([random_walk(400, seed=1, series_id="a"), random_walk(400, seed=2, series_id="b")])
    alone = Forecaster(config).fit(long)
    short = random_walk(60, seed=3, series_id="new")
    both = Forecaster(config).fit(pl.concat([long, short]))
    assert alone.selection_["origins"] == 2 * (100 - 3 + 1)  # selection_size 100, horizon 3: 98 origins each
    # the short series adds its own: half its 60 - 4 points beyond the minimum history (horizon + 1 for naive and
    # drift) = 28, less the horizon, + 1
    assert both.selection_["origins"] == alone.selection_["origins"] + 26


# -- intervals on a short backtest ---------------------------------------------------------------------------------------
def test_intervals_never_narrow_with_the_horizon_and_a_thin_backtest_is_warned_about(tmp_path):
    """On ~35 origins the 80% quantiles came out [1.71, 2.48, 3.60, 3.46, 3.26]: narrower at h5 than at h3 for a random
    walk, and the 95% one was the largest error, without a word in the train output or the card. (Seed 4's raw
    quantiles dip at both levels: 80% [1.91, 3.17, 3.2, 3.25, 3.1].)"""
    import json
    import warnings

    import polars as pl

    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk, tiny_config

    config = tiny_config(candidates=("drift",), horizon=5, selection_size=40)
    with pytest.warns(UserWarning, match=r"rest on 36 backtest errors per horizon, too few for the 80%, 95% levels"):
        model = Forecaster(config).fit(random_walk(200, seed=4))
    for quantiles in model.quantiles_.values():
        assert quantiles == sorted(quantiles)
    card = json.loads((model.save(tmp_path / "m") / "card.json").read_text())
    assert "too few for the 80%, 95% levels" in card["warning"]
    [record] = model.predict([{"values": random_walk(120, seed=9)["value"].to_list()}])
    assert np.all(np.diff(np.subtract(record["upper_95"], record["lower_95"])) >= -1e-9)
    with warnings.catch_warnings():  # enough errors (2 x 96 origins): no warning
        warnings.simplefilter("error", UserWarning)
        Forecaster(tiny_config(candidates=("drift",), horizon=5, selection_size=100)).fit(
            pl.concat([random_walk(300, seed=s, series_id=f"s{s}") for s in range(2)]))
