"""finance.forecast: fit/predict/save/load, no look-ahead, bad input, metrics card, candidate weighting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance._cards import damaged_card
from finance.forecast import Forecaster, _conformal_quantile
from finance._forecast_models import build_features, local_forecast
from tests.finance.contract_cases_forecast import as_input, random_walk, tiny_config
from core.artifacts import write_card

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "finance.forecast" / "us_stocks_etfs_daily"


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(tiny_config()).fit(random_walk(120, seed=1))


def test_predict_shapes_intervals_and_dates(fitted):
    series = random_walk(60, seed=2)
    [record] = fitted.predict([as_input(series)])
    assert len(record["forecast"]) == 3 and len(record["dates"]) == 3
    assert record["dates"][0] > str(series["date"][-1])
    for h in range(3):
        assert record["lower_95"][h] <= record["lower_80"][h] <= record["forecast"][h] <= record["upper_80"][h] <= record["upper_95"][h]
    assert abs(sum(w[0] for w in record["weights"].values()) - 1) < 1e-4
    json.dumps(record)


def test_save_load_round_trip_without_pickle(fitted, tmp_path):
    import lightgbm as lgb
    from safetensors.torch import load_file

    saved = fitted.save(tmp_path / "model")
    names = sorted(p.name for p in saved.iterdir())
    assert "card.json" in names and "nbeats.safetensors" in names and "lightgbm_h1.txt" in names
    assert lgb.Booster(model_file=str(saved / "lightgbm_h1.txt")).num_trees() > 0  # usable without Verticals
    assert load_file(str(saved / "nbeats.safetensors"))
    card = json.loads((saved / "card.json").read_text())
    assert card["task"] == "finance.forecast" and card["weights"] and card["quantiles"]["80"]
    series = as_input(random_walk(60, seed=4))
    assert Forecaster.load(saved).predict([series]) == fitted.predict([series])


@pytest.mark.parametrize("candidates", [None, ("drift", "lightgbm"), ("drift",)])
def test_the_card_usage_names_only_the_files_the_folder_holds(fitted, tmp_path, candidates):
    """The usage described nbeats.safetensors and nbeats_arguments in a folder that had neither (no N-BEATS member)."""
    model = fitted if candidates is None else Forecaster(tiny_config(candidates=candidates)).fit(random_walk(120, seed=1))
    saved = model.save(tmp_path / "model")
    card = json.loads((saved / "card.json").read_text())
    names = {p.name for p in saved.iterdir()}
    has_nbeats, has_lightgbm = "nbeats.safetensors" in names, "lightgbm_h1.txt" in names
    assert has_nbeats == (candidates is None) and has_lightgbm == (candidates != ("drift",))
    assert ("nbeats.safetensors" in card["usage"]) == ("nbeats_arguments" in card["usage"]) == has_nbeats
    assert ("nbeats_arguments" in card) == has_nbeats
    assert ("lightgbm_h<k>.txt" in card["usage"]) == has_lightgbm
    assert "method.json" in card["usage"] and all(member in card["usage"] for member in card["weights"])


def test_no_future_value_reaches_a_past_prediction(fitted):
    """Candidates, features and the full backtest only read values up to each origin."""
    base = random_walk(100, seed=5)
    z = np.log(base["value"].to_numpy())
    dates = base["date"].to_numpy().astype("datetime64[D]")
    cut = 70
    changed = z.copy()
    changed[cut + 1:] += np.random.default_rng(0).normal(0, 1, len(z) - cut - 1)  # future scrambled
    origins = np.arange(20, cut + 1)
    original = fitted._candidate_forecasts(z, dates, origins)
    scrambled = fitted._candidate_forecasts(changed, dates, origins)
    for name in original:
        np.testing.assert_array_equal(original[name], scrambled[name], err_msg=name)
    np.testing.assert_array_equal(build_features(z, dates, 5).to_numpy()[: cut + 1],
                                  build_features(changed, dates, 5).to_numpy()[: cut + 1])
    np.testing.assert_array_equal(fitted._scales(z, origins), fitted._scales(changed, origins))
    # Whole method: scrambling values after an origin inside the backtest window leaves earlier rows untouched.
    frame = random_walk(90, seed=6)
    late = 80
    noisy = frame.with_columns(pl.when(pl.int_range(pl.len()) > late).then(pl.col("value") * 1.5)
                               .otherwise(pl.col("value")).alias("value"))
    first, _ = fitted.backtest(frame)
    second, _ = fitted.backtest(noisy)
    keep = pl.col("origin") <= late
    left, right = first.filter(keep).drop("actual"), second.filter(keep).drop("actual")
    assert left.height > 0 and left.equals(right)


def test_scrambling_the_past_does_change_forecasts(fitted):
    """Guard against a vacuous leakage test: the inputs do matter."""
    z = np.log(random_walk(100, seed=5)["value"].to_numpy())
    other = z.copy()
    other[58] += 0.5
    a = fitted._candidate_forecasts(z, None, np.array([60]))
    b = fitted._candidate_forecasts(other, None, np.array([60]))
    assert not np.allclose(a["nbeats"], b["nbeats"]) and not np.allclose(a["auto_arima"], b["auto_arima"])


def test_local_baselines_by_hand():
    z = np.arange(10.0)
    np.testing.assert_array_equal(local_forecast("naive", z, [4], 2), [[4, 4]])
    np.testing.assert_array_equal(local_forecast("seasonal_naive", z, [6], 3, season_length=2), [[5, 6, 5]])
    np.testing.assert_array_equal(local_forecast("drift", z, [9], 1), [[10]])


def test_worse_than_naive_candidates_get_no_weight():
    model = Forecaster(tiny_config(horizon=2, selection="skill", candidates=("naive", "drift", "lightgbm")))
    errors = {"naive": np.ones((10, 2)), "drift": np.full((10, 2), 0.9), "lightgbm": np.full((10, 2), 1.2)}
    relative = model._set_weights(errors)
    assert "lightgbm" not in model.weights_ and relative["lightgbm"][0] == pytest.approx(1.2)
    assert model.weights_ == {"drift": [1.0, 1.0]}  # skill weighting: only candidates beating naive
    inverse = Forecaster(tiny_config(horizon=2, selection="inverse_mae", candidates=("naive", "drift", "lightgbm")))
    inverse._set_weights(errors)
    assert inverse.weights_["drift"][0] > inverse.weights_["naive"][0] > 0
    best = Forecaster(tiny_config(horizon=2, selection="best"))
    best._set_weights(errors)
    assert best.weights_ == {"drift": [1.0, 1.0]}


def test_conformal_quantile():
    assert _conformal_quantile(np.arange(1.0, 101.0), 0.8) == 81.0


@pytest.mark.parametrize("edit, field", [
    (lambda c: c["weights"].update({next(iter(c["weights"])): [0.5] * 3}), "weights"),  # forecasts ~10x too big before
    (lambda c: c["quantiles"].update({"80": [-1.0] * 3}), "quantiles"),  # lower bounds above upper ones before
    (lambda c: c["quantiles"].update({"95": [0.0] * 3}), "quantiles"),  # 95% narrower than 80%
    (lambda c: c.update(transform="sqrt"), "transform"),
    (lambda c: c.update(lightgbm_files=["../outside.txt"] + c["lightgbm_files"][1:]), "lightgbm_files"),
])
def test_a_hand_edited_card_is_refused_naming_the_field(fitted, tmp_path, edit, field):
    from core.errors import UnsafeArtifactError

    saved = fitted.save(tmp_path / "model")
    card = json.loads((saved / "card.json").read_text())
    edit(card)
    write_card(saved, card)
    (tmp_path / "outside.txt").write_text((saved / "lightgbm_h1.txt").read_text())  # a valid model, out of the folder
    with pytest.raises(UnsafeArtifactError, match=f"card.json's {field}") as refused:
        Forecaster.load(saved)
    advice = str(damaged_card(saved, "")).split("card.json's ")[1]  # the wording risk's card check shares
    assert str(refused.value).startswith(f"{saved}: card.json's {field}") and str(refused.value).endswith(advice)


def test_evaluate_card_carries_per_horizon_metrics(fitted):
    card = fitted.evaluate(random_walk(80, seed=3))
    for h in (1, 2, 3):
        for name in ("mae", "relative_mae", "mase", "smape", "coverage_80", "width_80"):
            assert f"{name}_h{h}" in card["metrics"], name
    assert card["metrics"]["mae_h1"]["ci95"] is not None
    assert [row["horizon"] for row in card["per_horizon"]] == [1, 2, 3]
    assert set(card["candidates"]) >= {"naive", "drift", "auto_arima", "lightgbm", "nbeats"}
    assert card["candidates"]["naive"]["relative_mae_h1"] == 1.0
    assert "pooled" in card["definitions"]["relative_mae"] and "sum |actual - forecast|" in card["definitions"]["relative_mae"]
    assert "origin" in card["definitions"]["ci95"]
    bars = next(spec for title, spec in card["plots"].items() if title.startswith("Relative MAE by horizon"))
    assert bars["labels"] == ["h1", "h2", "h3"] and bars["values"][0] == pytest.approx(card["per_horizon"][0]["relative_mae"], abs=1e-4)
    curve = next(spec for title, spec in card["plots"].items() if title.startswith("Backtest"))
    assert len(curve["x"]) == len(curve["y"]) == len(curve["lines"]["forecast (h1)"]) == len(curve["band"]["lower"])
    assert all(lo <= hi for lo, hi in zip(curve["band"]["lower"], curve["band"]["upper"]))
    json.dumps(card, allow_nan=False)


def test_forecast_plot_joins_history_forecast_and_interval(fitted):
    from apps.plots import figure
    from finance.forecast import forecast_plot

    series = random_walk(60, seed=4)
    history = {"id": "s", "values": series["value"].to_list()}
    record = fitted.predict([history])[0]
    spec = forecast_plot(history, record, points=40)
    assert len(spec["x"]) == 40 + record["horizon"] and spec["y"][-1] is None
    assert spec["lines"]["forecast"][-record["horizon"]:] == pytest.approx(record["forecast"], abs=1e-4)
    assert spec["band"]["upper"][-1] == pytest.approx(record["upper_95"][-1], abs=1e-4)
    assert figure("Forecast", spec) is not None


def test_long_format_and_file_reading(tmp_path):
    long = pl.concat([random_walk(90, seed=7, series_id="a"), random_walk(90, seed=8, series_id="b", start=5.0)])
    path = tmp_path / "long.csv"
    long.write_csv(path)
    data = Forecaster.read_data(path)
    assert data["id"].unique(maintain_order=True).to_list() == ["a", "b"]
    model = Forecaster(tiny_config()).fit(data)
    assert [r["id"] for r in model.predict(Forecaster.read_inputs(path))] == ["a", "b"]
    parquet = tmp_path / "one.parquet"
    random_walk(90).rename({"date": "Day", "value": "Price"}).drop("id").write_parquet(parquet)
    assert Forecaster.read_data(parquet, time="Day", value="Price").height == 90
    report = Forecaster.check_data(path)
    assert report["ok"] and len(report["series"]) == 2


BAD_FILES = {
    "out_of_order": "Date,Close\n2020-01-02,1\n2020-01-01,2\n2020-01-03,3\n",
    "duplicated": "Date,Close\n2020-01-01,1\n2020-01-01,2\n2020-01-03,3\n",
    "nan": "Date,Close\n2020-01-01,1\n2020-01-02,nan\n2020-01-03,3\n",
    "inf": "Date,Close\n2020-01-01,1\n2020-01-02,inf\n2020-01-03,3\n",
    "junk_value": "Date,Close\n2020-01-01,1\n2020-01-02,12x\n2020-01-03,3\n",
    "junk_date": "Date,Close\n2020-01-01,1\nyesterday,2\n2020-01-03,3\n",
    "missing_column": "Day,Close\n2020-01-01,1\n2020-01-02,2\n",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_input_error(case, tmp_path):
    path = tmp_path / f"{case}.csv"
    path.write_text(BAD_FILES[case])
    with pytest.raises(InputError):
        Forecaster.read_data(path, time="Date", value="Close")


def test_fewer_rows_than_the_horizon_and_bad_options(fitted, tmp_path):
    with pytest.raises(InputError, match="rows"):
        Forecaster(tiny_config()).fit(random_walk(3))
    with pytest.raises(InputError, match="at least"):
        fitted.evaluate(random_walk(30))
    with pytest.raises(InputError, match="unknown option"):
        Forecaster.read_data(tmp_path / "x.csv", colour="red")
    with pytest.raises(InputError, match="<= 0"):
        fitted.predict([[-1.0] * 20])
    with pytest.raises(InputError):
        Forecaster(tiny_config(candidates=("oracle",))).fit(random_walk(120))


def test_explain_decomposes_the_forecast(fitted):
    explanation = fitted.explain(as_input(random_walk(60, seed=2)))
    assert set(explanation["contributions"]) == set(fitted.weights_)
    assert explanation["units"] == "log-return"


def test_unnamed_series_number_from_1_as_their_errors_do(fitted):
    walk = random_walk(60, seed=2)
    values = walk["value"].to_list()
    records = fitted.predict([values, {"values": values, "id": "mine"}, {"values": values}, walk.drop("id"), walk])
    assert [r["id"] for r in records] == ["series_1", "mine", "series_3", "series_4", "demo"]
    assert fitted.predict(walk.drop("id"))[0]["id"] == "series_1"  # one table alone is input 1
    assert fitted.predict({"values": values})[0]["id"] == "series_1"
    short = fitted.predict([values, [1.0, 2.0]])[1]  # a series that cannot be forecast among others: an error record
    assert short["id"] == "series_2" and short["error"].startswith("input 2: series 'series_2'")  # counted alike
    with pytest.raises(InputError, match="input 1: .*'series_1'"):  # alone, it is raised
        fitted.predict([[1.0, 2.0]])
    assert fitted.predict([]) == []


def test_predict_frame_with_list_column(fitted):
    frame = pl.DataFrame({"values": [random_walk(40, seed=s)["value"].to_list() for s in range(2)]})
    scored = fitted.predict_frame(frame)
    assert scored.height == 2 and "forecast" in scored.columns


def test_default_series_ships_in_a_package():
    frame = __import__("finance.forecast", fromlist=["default_series"]).default_series()
    assert frame.height > 16000 and frame["date"].is_sorted()


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared ticker data absent")
def test_evaluate_a_shared_ticker_like_the_cli():
    data = Forecaster.read_data(SHARED / "Stocks" / "aapl.us.txt", time="Date", value="Close")
    card = Forecaster().evaluate(data)
    assert card["n"] == 246 and card["test_size"] == 250
    for h in range(1, 6):
        assert {f"mae_h{h}", f"relative_mae_h{h}", f"mase_h{h}", f"coverage_80_h{h}"} <= set(card["metrics"])


@pytest.mark.slow
def test_embedded_default_builds_and_predicts():
    model = Forecaster.load()
    [record] = model.predict([as_input(random_walk(200, seed=9))])
    assert len(record["forecast"]) == 5


def test_evaluate_on_a_short_series_shrinks_the_window_and_says_so():
    fitted = Forecaster(tiny_config(test_size=60))  # evaluate backtests the config: no fit needed
    c = fitted.config
    base = fitted._min_history() + 2 * c.horizon + 10
    floor = max(2 * c.horizon, 20)
    card = fitted.evaluate(random_walk(base + floor + 5, seed=3))
    assert card["test_size"] == floor + 5 < c.test_size
    assert f"last {floor + 5} points instead of test_size {c.test_size}" in card["warning"]
    assert f"last {floor + 5} points" in card["protocol"]
    # too short to fit N-BEATS before the smallest window: the backtest's fit leaves it out, as training does
    thin = fitted.evaluate(random_walk(base + floor - 1, seed=3))
    assert "leaves out nbeats" in thin["warning"] and "nbeats" not in thin["candidates"]
    lean = fitted._min_history([n for n in fitted._active() if n != "nbeats"]) + 2 * c.horizon + 10
    with pytest.raises(InputError, match=f"evaluating needs at least {lean + floor}: {lean} to fit .* give more history"):
        fitted.evaluate(random_walk(lean + floor - 1, seed=3))
    full = fitted.evaluate(random_walk(base + c.test_size, seed=3))
    assert full["test_size"] == c.test_size and "warning" not in full


def test_predict_from_a_file_asks_for_the_history_the_model_needs(fitted, tmp_path):
    needed = fitted._min_history()
    for rows in (1, needed - 1):
        path = tmp_path / f"short{rows}.csv"
        path.write_text("time,value\n" + "".join(f"{k},{10 + k}\n" for k in range(rows)))
        inputs = Forecaster.read_inputs(path)
        with pytest.raises(InputError, match=f"needs at least {needed} \\(set by N-BEATS. input window \\(window=8\\) \\+ 1\\); give more history, or retrain"):
            fitted.predict(inputs)


def test_predict_frame_numbers_unnamed_series_over_the_whole_table_not_per_chunk(fitted):
    """Rows without an id were `series_N` counted within each 4,096-row chunk: two rows could both be series_1."""
    values = [random_walk(30, seed=s)["value"].to_list() for s in range(5)]
    frame = pl.DataFrame({"values": values, "id": [None, "b", None, None, None]})
    scored = fitted.predict_frame(frame, rows_per_chunk=2)
    assert scored.columns[:2] == ["values", "id"] and "__verticals_row__" not in scored.columns
    # the records' ids beside the table's (an id the row already has is not repeated)
    assert scored["pred_id"].to_list() == ["series_1", None, "series_3", "series_4", "series_5"]
    assert scored["forecast"].to_list() == fitted.predict_frame(frame)["forecast"].to_list()
    lazy = fitted.predict_frame(frame.drop("id").lazy(), rows_per_chunk=2)
    assert lazy["id"].to_list() == [f"series_{n}" for n in range(1, 6)]
    assert fitted.predict_frame(frame.drop("id").to_pandas(), rows_per_chunk=3)["id"].to_list() == lazy["id"].to_list()
    short = pl.DataFrame({"values": values[:3] + [[1.0]]})
    errors = fitted.predict_frame(short, rows_per_chunk=2)["error"].to_list()  # the error counts alike, in chunk 2
    assert errors[:3] == [None] * 3 and errors[3].startswith("input 4: series 'series_4'")
    with pytest.raises(InputError, match="input 4"):  # a chunk of it alone: raised
        fitted.predict_frame(short, rows_per_chunk=1)


def _edited(saved, folder, change, method=True):
    """A copy of `saved` with `change(card)` applied; method=False drops method.json (folders saved before it)."""
    import shutil

    edited = shutil.copytree(saved, folder)
    card = json.loads((edited / "card.json").read_text())
    if not method:  # as saved then: card format 1, without the digest
        del card["files"]["method.json"]
        (edited / "method.json").unlink()
        card = {**{k: v for k, v in card.items() if k != "card_sha256"}, "format_version": 1}
    change(card)
    if method:
        write_card(edited, card)  # re-sealed: the task's own checks are what is tested
    else:
        (edited / "card.json").write_text(json.dumps(card))
    return edited


def _swap_weights(card):
    a, b = [name for name, w in card["weights"].items()][:2]
    card["weights"][a], card["weights"][b] = card["weights"][b], card["weights"][a]


FORECAST_EDITS = {  # edit: (change, field refused with method.json, field refused without it or None: loads as before)
    "nbeats window 20": (lambda c: c["nbeats_arguments"].update(window=20), "nbeats_arguments", "nbeats_arguments"),
    "nbeats horizon 4": (lambda c: c["nbeats_arguments"].update(horizon=4), "nbeats_arguments", "nbeats_arguments"),
    "lightgbm_files reversed": (lambda c: c["lightgbm_files"].reverse(), "lightgbm_files", "lightgbm_files"),
    "weights swapped": (_swap_weights, "weights", None),
    "transform log to none": (lambda c: c.update(transform="none" if c["transform"] == "log" else "log"), "transform", None),
}


@pytest.fixture(scope="module")
def saved_forecaster(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("forecast") / "model")


@pytest.mark.parametrize("method", [True, False])
@pytest.mark.parametrize("edit", sorted(FORECAST_EDITS))
def test_a_card_that_disagrees_with_its_weights_is_refused(saved_forecaster, tmp_path, edit, method):
    """nbeats_arguments window 20 (or horizon) raised torch's raw 'Error(s) in loading state_dict for NBeatsNet';
    swapped weights, reversed lightgbm_files and transform log -> none loaded and changed every forecast. method.json
    (new folders) records them; without it the LightGBM file names and N-BEATS' tensors still tell some."""
    from core.errors import UnsafeArtifactError

    card = json.loads((saved_forecaster / "card.json").read_text())
    assert "nbeats_arguments" in card and card["lightgbm_files"] and len(card["weights"]) >= 2
    change, field, old_field = FORECAST_EDITS[edit]
    if not method:  # an unedited folder saved before method.json loads and forecasts as before
        unedited = _edited(saved_forecaster, tmp_path / "unedited", lambda c: None, method=False)
        series = as_input(random_walk(60, seed=2))
        assert Forecaster.load(unedited).predict([series]) == Forecaster.load(saved_forecaster).predict([series])
    edited = _edited(saved_forecaster, tmp_path / "edited", change, method)
    expected = field if method else old_field
    if expected is None:
        Forecaster.load(edited)
        return
    with pytest.raises(UnsafeArtifactError, match=f"card.json's {expected}"):
        Forecaster.load(edited)


def test_a_damaged_nbeats_card_exits_2_on_the_cli(saved_forecaster, tmp_path, capsys):
    from core.cli import main

    edited = _edited(saved_forecaster, tmp_path / "edited", lambda c: c["nbeats_arguments"].update(window=20), method=False)
    path = tmp_path / "series.csv"
    random_walk(60, seed=2).write_csv(path)
    assert main(["predict", "finance.forecast", "--model", str(edited), str(path)]) == 2
    assert "Error(s) in loading state_dict" not in capsys.readouterr().err


def _backtest_frame(origins: int, horizon: int, errors: np.ndarray, series_ids=("a",)) -> pl.DataFrame:
    """A backtest-shaped frame: one row per series, origin and horizon, forecast = actual + errors (same order)."""
    rows = [(s, o, h) for s in series_ids for o in range(origins) for h in range(1, horizon + 1)]
    actual = np.full(len(rows), 100.0)
    return pl.DataFrame({"id": [r[0] for r in rows], "origin": [r[1] for r in rows], "horizon": [r[2] for r in rows],
                         "actual": actual, "forecast": actual + errors, "candidate_naive": actual + 1.0,
                         "mase_scale": np.ones(len(rows)), "lower_80": actual - 1.0, "upper_80": actual + 1.0})


def test_overall_ci_resamples_whole_origins_so_correlated_horizons_widen_it():
    from core.evaluate import bootstrap_ci
    from finance.forecast import _forecast_metrics, _metric_by_origin, _origin_blocks

    origins, horizon = 60, 10
    shared = np.random.default_rng(0).normal(0.0, 1.0, origins)  # one error per origin, the same at every horizon
    frame = _backtest_frame(origins, horizon, np.repeat(shared, horizon))
    card = _forecast_metrics(frame, (80,))
    low, high = card["mae"]["ci95"]
    row_low, row_high = bootstrap_ci(lambda a, f: float(np.mean(np.abs(a - f))), frame["actual"].to_numpy(),
                                     frame["forecast"].to_numpy(), resamples=200)
    assert high - low > 2 * (row_high - row_low)  # ~sqrt(10) wider: 60 independent origins, not 600 rows
    # every resample holds whole origins: each (series, origin) drawn comes with all its horizons
    blocks = _origin_blocks(frame)
    assert len(blocks) == origins and all(len(b) == horizon for b in blocks)
    units = (frame["origin"].to_numpy(), frame["horizon"].to_numpy())

    def whole(origin: np.ndarray, step: np.ndarray) -> float:
        counts = np.bincount(origin, minlength=origins)
        for o in np.flatnonzero(counts):
            assert sorted(step[origin == o].tolist()) == sorted(list(range(1, horizon + 1)) * (counts[o] // horizon))
        assert np.all(counts % horizon == 0)
        return 0.0

    _metric_by_origin(whole, blocks, *units, resamples=20)
    # per horizon, one row per origin: the same units
    assert all(len(b) == 1 for b in _origin_blocks(frame.filter(pl.col("horizon") == 2)))


def _with_values(frame: pl.DataFrame, start: int, stop: int, value: float) -> pl.DataFrame:
    values = frame["value"].to_numpy().copy()
    values[start:stop] = value
    return frame.with_columns(pl.Series("value", values))


def test_zeros_in_the_evaluation_window_evaluate_with_transform_auto():
    data = _with_values(random_walk(120, seed=3), 104, 108, 0.0)  # positive history, zeros in the window
    card = Forecaster(tiny_config()).evaluate(data)  # transform=auto: none, as fit(data) would choose
    assert card["transform"] == "none"
    assert card["metrics"]["mae"]["value"] >= 0
    json.dumps(card, allow_nan=False)
    # zeros only among the last actuals (never an origin) need no log: transform=log evaluates too
    tail = _with_values(random_walk(120, seed=3), 118, 120, 0.0)
    frame, method = Forecaster(tiny_config(transform="log")).backtest(tail, test_size=20)
    assert method.transform_ == "log" and (frame["actual"] == 0.0).sum() > 0
    assert np.all(np.isfinite(frame["forecast"].to_numpy()))
    with pytest.raises(InputError, match=r"inside the backtest window.*transform=none"):
        Forecaster(tiny_config(transform="log")).evaluate(data)


def test_relative_mae_is_none_for_a_series_the_naive_forecast_gets_exactly_right():
    config = tiny_config()
    flat = random_walk(120, seed=4, series_id="flat")
    start = 120 - config.test_size - 1  # the first backtest origin: from it on the series is constant
    flat = _with_values(flat, start, 120, float(flat["value"][start]))
    card = Forecaster(config).evaluate(pl.concat([random_walk(120, seed=3), flat]))
    rows = {row["id"]: row for row in card["per_series"]}
    assert rows["flat"]["naive_mae"] == pytest.approx(0.0, abs=1e-9) and rows["flat"]["relative_mae"] is None
    assert rows["demo"]["relative_mae"] == pytest.approx(rows["demo"]["mae"] / rows["demo"]["naive_mae"])
    assert any("'flat'" in note and "undefined" in note for note in card["notes"])
    # the pooled figure stays defined: both series' errors over the demo series' naive errors (equal row counts)
    pooled = (rows["demo"]["mae"] + rows["flat"]["mae"]) / (rows["demo"]["naive_mae"] + rows["flat"]["naive_mae"])
    assert card["metrics"]["relative_mae"]["value"] == pytest.approx(pooled, rel=1e-6) and pooled < 100
    # only the flat series: no ratio at all, said so, instead of |e| / 1e-12
    alone = Forecaster(config).evaluate(flat)
    assert alone["metrics"]["relative_mae"]["value"] is None and alone["metrics"]["relative_mae_h1"]["value"] is None
    assert alone["candidates"]["drift"]["relative_mae_mean"] is None and alone["notes"]
    json.dumps(alone, allow_nan=False)


def test_a_series_flat_over_the_selection_window_gets_no_absurd_ratio_and_naive_weights():
    """fit divided by max(naive MAE, 1e-12): a series flat over the selection window put ratios like 1e11 in the card."""
    config = tiny_config()
    flat = random_walk(120, seed=4, series_id="flat")
    flat = _with_values(flat, 60, 120, float(flat["value"][60]))
    model = Forecaster(config).fit(flat)
    relative = model.selection_["relative_mae"]
    assert all(v is None or v < 1e6 for values in relative.values() for v in values)
    assert relative["naive"] == [None] * config.horizon  # undefined, not 0/1e-12
    json.dumps(model.selection_, allow_nan=False)
    assert model.predict(flat)[0]["forecast"] == pytest.approx([float(flat["value"][-1])] * config.horizon, rel=1e-6)


@pytest.mark.parametrize("dates, expected", [
    (pl.date_range(pl.date(2010, 1, 1), pl.date(2017, 11, 1), "1mo", eager=True).dt.month_end(),  # month ends
     ["2017-12-31", "2018-01-31", "2018-02-28"]),
    (pl.date_range(pl.date(2010, 1, 1), pl.date(2017, 11, 1), "1mo", eager=True),  # month starts
     ["2017-12-01", "2018-01-01", "2018-02-01"]),
    (pl.date_range(pl.date(2010, 3, 1), pl.date(2017, 9, 1), "3mo", eager=True).dt.month_end(),  # quarter ends
     ["2017-12-31", "2018-03-31", "2018-06-30"]),
    (pl.date_range(pl.date(2000, 12, 1), pl.date(2017, 12, 1), "1y", eager=True).dt.month_end(),  # year ends
     ["2018-12-31", "2019-12-31", "2020-12-31"]),
])
def test_monthly_and_quarterly_forecast_dates_stay_on_the_calendar(fitted, dates, expected):
    values = np.linspace(100, 120, len(dates)).tolist()
    with pytest.warns(UserWarning, match="data, but this model was fitted on business-daily data"):
        [record] = fitted.predict([{"id": "monthly", "values": values, "dates": [str(d) for d in dates]}])
    assert record["dates"] == expected


TRAIN_RECORD = {  # what `verticals train` leaves in a card's training (core.jobs completes it after save), resumed too
    "rows": 120, "validation_rows": 0, "data_hash": "ab" * 32, "seconds": 61.5,
    "config": {"seed": 0, "horizon": 3, "window": 8, "candidates": ["drift", "lightgbm"]}, "base_model": "models/older",
    "resumed": {"interrupted_runs": 1, "from_step": 2, "seconds_before": 30.0, "seconds_this_run": 31.5}}


def test_load_then_save_keeps_the_cards_whole_training_record(saved_forecaster, tmp_path):
    """Load + save (the README's way to seal an old card) wrote training.config as {} and dropped base_model: save_card
    rebuilt training from the fit's own info. The loaded card's record is written back whole; a refit starts a new one."""
    trained = _edited(saved_forecaster, tmp_path / "trained", lambda card: card.update(training=dict(TRAIN_RECORD)))
    model = Forecaster.load(trained)
    resaved = json.loads((model.save(tmp_path / "resaved") / "card.json").read_text())
    assert resaved["training"] == TRAIN_RECORD
    assert json.loads((Forecaster.load(tmp_path / "resaved").save(tmp_path / "again") / "card.json").read_text())[
        "training"] == TRAIN_RECORD
    refit = model.fit(random_walk(120, seed=2))
    fresh = json.loads((refit.save(tmp_path / "refit") / "card.json").read_text())["training"]
    assert fresh["rows"] == 120 and fresh["config"] == {} and fresh["base_model"] is None and "resumed" not in fresh
    assert fresh["data_hash"] != TRAIN_RECORD["data_hash"]
