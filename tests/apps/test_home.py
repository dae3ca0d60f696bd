"""AppTest of the dashboard shell: navigation and the home page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APPS = Path(__file__).resolve().parents[2] / "apps"


def test_home_page_lists_every_task():
    app = AppTest.from_file(str(APPS / "home.py"), default_timeout=60).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert "finance.risk" in set(table["task"]) and len(table) == 10


def test_main_navigation_runs_home():
    app = AppTest.from_file(str(APPS / "main.py"), default_timeout=60).run()
    assert not app.exception
    assert any("Verticals" in t.value for t in app.title)
