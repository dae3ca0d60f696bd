"""The forecasting section runs under AppTest with a tiny model put where the embedded default is cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.finance.contract_cases_forecast import random_walk, tiny_config

APP = str(Path(__file__).resolve().parents[2] / "apps" / "finance_forecast.py")


@pytest.fixture()
def tiny_default(tmp_path, monkeypatch):
    from core.artifacts import cache_dir
    from finance.forecast import DEFAULT_NAME, Forecaster

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    Forecaster(tiny_config()).fit(random_walk(120, seed=1)).save(cache_dir(DEFAULT_NAME) / "model")


def test_forecast_page_draws_forecast_and_backtest(tiny_default):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=180).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert len(app.get("plotly_chart")) >= 1
    assert any("calendar NYSE" in c.value for c in app.caption)  # the bundled S&P 500 closes skip NYSE holidays
    assert any("trading week Mon Tue Wed Thu Fri" in c.value for c in app.caption)  # the week the history trades
    # the forecast table shows significant digits (a 9e-10 price and its bounds read 0.0000000008 / 0.0000000009)
    assert '"%.6g"' in str(app.dataframe[0].proto) or "%.6g" in str(app.dataframe[0].proto)
    app.selectbox(key="forecast-calendar").set_value("none").run()
    assert not app.exception and not any("calendar NYSE" in c.value for c in app.caption)
    next(b for b in app.button if b.label == "Run backtest").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert any("Relative MAE" in m.label for m in app.metric)


def test_the_backtest_table_and_tiles_show_an_undefined_relative_mae_as_n_a():
    """A series flat over the backtest has no relative MAE (None in the card); the page's round() and :.3f crashed."""
    import polars as pl

    from apps.finance_forecast import candidate_table, shown
    from finance.forecast import Forecaster

    config = tiny_config()
    flat = random_walk(120, seed=4, series_id="flat")
    start = 120 - config.test_size - 1
    flat = flat.with_columns(pl.when(pl.int_range(pl.len()) >= start).then(flat["value"][start])
                             .otherwise(pl.col("value")).alias("value"))
    card = Forecaster(config).evaluate(flat)
    assert card["metrics"]["relative_mae"]["value"] is None
    assert candidate_table(card).row(0, named=True)["mean"] is None
    assert shown(card["metrics"]["relative_mae"]["value"], ".3f") == "n/a" and shown(0.5, ".1%") == "50.0%"
