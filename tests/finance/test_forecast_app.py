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
    next(b for b in app.button if b.label == "Run backtest").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert any("Relative MAE" in m.label for m in app.metric)
