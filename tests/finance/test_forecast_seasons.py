"""finance.forecast's seasonal candidates (a statsforecast user's view): `--set season_length=12` on monthly data
reaches AutoETS and AutoARIMA as `AutoETS(season_length=12)` does, while daily prices keep them non-seasonal."""

from __future__ import annotations

import numpy as np
import pytest


def _monthly_season(months: int = 96):
    """100 + 20 sin(2 pi t / 12) on month ends: a pure monthly season, no noise (the tester's monthly_season.csv)."""
    import polars as pl

    dates = pl.date_range(pl.date(2010, 1, 1), pl.date(2030, 1, 1), "1mo", eager=True).dt.month_end()[:months]
    t = np.arange(months)
    return pl.DataFrame({"id": ["season"] * months, "date": dates, "value": 100 + 20 * np.sin(2 * np.pi * t / 12)})


@pytest.mark.parametrize("name", ["auto_ets", "auto_arima"])
def test_season_length_reaches_auto_ets_and_auto_arima_on_monthly_data(name):
    """auto_ets gave exactly the naive forecast (MAE 14.1, statsforecast's AutoETS(season_length=12) 0.0) and auto_arima
    13.6 on a pure monthly season: both were fitted with season_length=1 whatever --set season_length said."""
    from finance.forecast import Forecaster, ForecastConfig

    data = _monthly_season()
    history, truth = data.head(84), data["value"].to_numpy()[84:]
    model = Forecaster(ForecastConfig(candidates=("naive", name), season_length=12, horizon=12)).fit(history)
    explained = model.explain({"id": "season", "values": history["value"].to_list(),
                               "dates": [str(d) for d in history["date"]]})
    candidate = np.asarray(explained["candidates"][name])
    assert np.mean(np.abs(candidate - truth)) < 0.5  # near exact (statsforecast: 0.000); non-seasonal: about 14
    assert np.mean(np.abs(np.asarray(explained["candidates"]["naive"]) - truth)) > 10
    assert model.card["seasons"] == {name: 12}  # the card says which candidates are seasonal


def test_daily_prices_keep_the_statistical_candidates_non_seasonal():
    """The default's data (business-daily prices): season_length (5 trading days) is seasonal naive's only, as before."""
    from finance.forecast import Forecaster, ForecastConfig
    from tests.finance.contract_cases_forecast import random_walk

    model = Forecaster(ForecastConfig(candidates=("naive", "seasonal_naive", "auto_ets"), horizon=2)).fit(
        random_walk(120, seed=1))
    assert model.fitted_frequency == "business-daily"
    assert model.card["seasons"] == {"seasonal_naive": 5, "auto_ets": 1}


def test_a_blend_worse_than_its_best_member_is_noted_in_the_card_with_the_fix():
    """On a noise-free monthly season seasonal naive is exact over the selection window, yet the skill weights kept a
    non-seasonal AutoARIMA at a third: the blend's own relative MAE (0.17) was worse than its best member's (0.0), and
    nothing said so. The weights are unchanged; the card's selection.note and a fit warning point to selection=best."""
    import dataclasses

    from finance._forecast_data import Series
    from finance.forecast import Forecaster, ForecastConfig

    values = _monthly_season()["value"].to_numpy()
    undated = Series("season", values, None)  # no dates: AutoARIMA stays non-seasonal, as every statistical one did
    config = ForecastConfig(candidates=("naive", "seasonal_naive", "auto_arima"), season_length=12, horizon=12)
    with pytest.warns(UserWarning, match=r"relative MAE of 0\.1\d\d .* worse than its best member seasonal_naive's 0\.000 alone.*selection=best"):
        model = Forecaster(config).fit(undated)
    assert model.weights_["auto_arima"][0] > 0.2  # the weighting itself is as before
    assert "--set selection=best" in model.card["selection"]["note"]
    assert model.card["selection"]["note"] in model.card["warning"]
    best = Forecaster(dataclasses.replace(config, selection="best")).fit(undated)
    assert "note" not in best.card["selection"]


def test_a_seasonal_fit_on_few_points_says_nothing_from_numpy():
    """A seasonal AutoETS on a short monthly history (48 points, evaluated) printed statsforecast's `RuntimeWarning:
    divide by zero` (its sigma2, which the mean forecast does not read) on the user's terminal."""
    import warnings

    from finance._forecast_models import local_forecast

    z = np.log(100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.02, 48))))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecasts = local_forecast("auto_ets", z, np.arange(12, 47), 1, season_length=12, refit_every=1)
    assert np.all(np.isfinite(forecasts))
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_monthly_data_without_season_length_keep_the_statistical_candidates_non_seasonal():
    """Since season_length reached AutoETS / AutoARIMA on non-daily data, monthly data trained without --set
    season_length fitted them with the trading-week default (a 5-month season), silently. They are now non-seasonal
    there (as before), and fit warns that --set season_length=12 gives them the monthly period."""
    from finance.forecast import Forecaster, ForecastConfig

    config = ForecastConfig(candidates=("naive", "seasonal_naive", "auto_ets", "auto_arima"), horizon=3)
    with pytest.warns(UserWarning, match=r"auto_ets and auto_arima are fitted non-seasonal .*--set season_length=12"):
        model = Forecaster(config).fit(_monthly_season(72))
    assert model.fitted_frequency == "monthly"
    assert model.card["seasons"] == {"seasonal_naive": 5, "auto_ets": 1, "auto_arima": 1}


def test_an_explicit_season_length_of_5_reaches_auto_ets_and_auto_arima_on_weekly_data(tmp_path):
    """`--set season_length=5` on weekly data with a 5-week cycle was ignored by AutoETS / AutoARIMA (the value equals
    the field's old default, so it read as not set) and the warning said it "was left at its default". Now whether
    it was set decides: an explicit 5 reaches them, no warning; unset stays non-seasonal, warned, and a saved model
    reads back as it was fitted (the card writes an unset season_length as seasonal naive's 5)."""
    import warnings

    import polars as pl
    from core.config import resolve_config
    from finance.forecast import Forecaster, ForecastConfig

    weeks = 120
    dates = pl.date_range(pl.date(2015, 1, 4), pl.date(2030, 1, 1), "1w", eager=True)[:weeks]
    t = np.arange(weeks)
    data = pl.DataFrame({"id": ["w"] * weeks, "date": dates, "value": 100 + 20 * np.sin(2 * np.pi * t / 5)})
    candidates = ("naive", "seasonal_naive", "auto_ets", "auto_arima")
    config = resolve_config(ForecastConfig, ForecastConfig(candidates=candidates, horizon=3),
                            overrides={"season_length": "5"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn of: the period was given
        model = Forecaster(config).fit(data)
    assert model.fitted_frequency == "weekly"
    assert model.card["seasons"] == {"seasonal_naive": 5, "auto_ets": 5, "auto_arima": 5}
    assert Forecaster.load(model.save(tmp_path / "set"))._seasons() == model.card["seasons"]
    with pytest.warns(UserWarning, match=r"non-seasonal on these weekly data: season_length was not set"):
        unset = Forecaster(ForecastConfig(candidates=candidates, horizon=3)).fit(data)
    assert unset.card["seasons"] == {"seasonal_naive": 5, "auto_ets": 1, "auto_arima": 1}
    assert unset.card["config"]["season_length"] == 5
    loaded = Forecaster.load(unset.save(tmp_path / "unset"))
    assert loaded.config.season_length is None and loaded._seasons() == unset.card["seasons"]
