"""AppTest of the model registry page: lists, compares, promotes, deletes."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.artifacts import models_dir, promoted_defaults, save_model_dir

PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "registry.py")


def test_registry_page_lists_and_promotes(tmp_path, monkeypatch):
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    for name, auc in (("risk-a", 0.7), ("risk-b", 0.8)):
        save_model_dir(models_dir() / name, {"task": "finance.risk", "metrics": {"auc": {"value": auc, "ci95": None}}})
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception
    assert set(app.dataframe[0].value["name"]) == {"risk-a", "risk-b"}
    app.selectbox(key="manage").set_value("risk-b").run()
    app.button(key="promote").click().run()
    assert not app.exception
    assert Path(promoted_defaults()["finance.risk"]).name == "risk-b"
    app.button(key="delete").click().run()
    assert not (models_dir() / "risk-b").exists() and "finance.risk" not in promoted_defaults()
