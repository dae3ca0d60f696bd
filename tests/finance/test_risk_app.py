"""The Finance page (risk section) runs under AppTest with a tiny model put where the embedded default is cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.finance.contract_cases import synthetic_applicants, tiny_config

APP = str(Path(__file__).resolve().parents[2] / "apps" / "finance.py")


@pytest.fixture()
def tiny_default(tmp_path, monkeypatch):
    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    RiskScorer().fit(synthetic_applicants(200), config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)


def test_risk_page_scores_one_applicant(tiny_default):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception, app.exception
    app.button[0].click().run()  # the form's "Score applicant"
    assert not app.exception, app.exception
    labels = [m.label for m in app.metric]
    assert "Probability of default" in labels and "Score" in labels


def test_risk_page_shows_the_scorecard_information_values(tmp_path, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    config = RiskScorer.Config(family="scorecard", cv_folds=2, cv_repeats=1, scorecard_min_bin_events=0)
    model = RiskScorer().fit(synthetic_applicants(300), config=config)
    model.save(cache_dir("finance.risk") / DEFAULT_NAME)
    st.cache_resource.clear()  # not the model an earlier test's page loaded
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception, app.exception
    shown = next(e for e in app.expander if e.label.startswith("Information value"))
    table, bins = (d.value for d in shown.dataframe)
    assert list(table["variable"]) == [v["variable"] for v in model.card["information_value"]]
    assert len(bins) == len(model.card["information_value"][0]["bins"])


@pytest.mark.parametrize("broken", [False, True])
def test_forecast_section_dispatches_and_is_guarded(tiny_default, monkeypatch, broken):
    import sys
    import types

    from streamlit.testing.v1 import AppTest

    stub = types.ModuleType("apps.finance_forecast")

    def render():
        import streamlit as st

        if broken:
            raise RuntimeError("forecast page failed")
        st.write("forecast stub")
    stub.render = render
    monkeypatch.setitem(sys.modules, "apps.finance_forecast", stub)
    import apps  # `from apps import finance_forecast` reads the package attribute once another test imported the page

    monkeypatch.setattr(apps, "finance_forecast", stub, raising=False)
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.radio(key="finance-section").set_value("Forecasting").run()
    assert not app.exception, app.exception
    if broken:
        assert app.error
    else:
        assert any("forecast stub" in m.value for m in app.markdown)
