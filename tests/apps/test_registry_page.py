"""AppTest of the model registry page: lists, compares, promotes, deletes (after a confirmation), and acts only on
the model the user chose, even when the list changed under it meanwhile."""

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.artifacts import delete_model, models_dir, promote_model, promoted_defaults, save_model_dir

PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "registry.py")


def _save(*names: str) -> None:
    """Saved finance.risk cards, the first oldest (the page lists the newest first)."""
    for day, name in enumerate(names, start=1):
        save_model_dir(models_dir() / name, {"task": "finance.risk", "created": f"2026-01-{day:02d}T00:00:00+00:00",
                                             "metrics": {"auc": {"value": 0.7, "ci95": None}}})


def _plain(markdown: str) -> str:
    """Markdown as it reads on screen: its escapes dropped (model names are escaped, apps.common.escape_markdown)."""
    return re.sub(r"\\(.)", r"\1", markdown)


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
    assert (models_dir() / "risk-b").exists(), "deleted without asking"
    assert any("risk-b" in _plain(w.value) and "(it is the dashboard default" in _plain(w.value) for w in app.warning)
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert not (models_dir() / "risk-b").exists() and "finance.risk" not in promoted_defaults()
    assert (models_dir() / "risk-a").exists()


def test_delete_can_be_called_off(tmp_path, monkeypatch):
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    _save("alpha", "beta")
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.selectbox(key="manage").set_value("alpha").run()
    app.button(key="delete").click().run()
    app.button(key="delete-cancel").click().run()
    assert not app.exception and (models_dir() / "alpha").exists() and not app.warning
    assert not [b for b in app.button if b.key == "delete-confirm"]


def test_delete_and_promote_never_fall_back_to_another_model(tmp_path, monkeypatch):
    """The chosen model is deleted elsewhere (another tab, the CLI): Delete and Promote say so and touch nothing."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    _save("alpha", "beta", "gamma")
    for action in ("delete", "promote"):
        _save("beta")
        app = AppTest.from_file(PAGE, default_timeout=60).run()
        app.selectbox(key="manage").set_value("beta").run()
        delete_model(models_dir() / "beta")  # from another tab
        app.button(key=action).click().run()
        assert not app.exception
        assert any("beta no longer exists" in _plain(e.value) for e in app.error), [e.value for e in app.error]
        assert (models_dir() / "alpha").exists() and (models_dir() / "gamma").exists()
        assert "finance.risk" not in promoted_defaults()
        assert not [b for b in app.button if b.key == "delete-confirm"]


def test_delete_confirmation_is_about_the_chosen_model_when_a_new_one_appears(tmp_path, monkeypatch):
    """A training finishes while the user confirms: the new, newest model is not the one deleted."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    _save("alpha", "beta")
    promote_model("finance.risk", models_dir() / "alpha")
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.selectbox(key="manage").set_value("alpha").run()
    app.button(key="delete").click().run()
    save_model_dir(models_dir() / "fresh", {"task": "finance.risk", "created": "2026-02-01T00:00:00+00:00"})
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert not (models_dir() / "alpha").exists()
    assert (models_dir() / "beta").exists() and (models_dir() / "fresh").exists()


def test_model_names_show_as_they_are_on_disk(tmp_path, monkeypatch):
    """Folders the CLI made, named **x** or [a](b): the page's messages and buttons show the names, not bold or links."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    bold, link = "**x**", "[a](b)"
    _save(bold, link, "beta")
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.selectbox(key="manage").set_value(bold).run()
    app.button(key="promote").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == [r"\*\*x\*\* is now the default for finance.risk"]
    app.selectbox(key="manage").set_value(link).run()
    app.button(key="delete").click().run()
    assert [w.value for w in app.warning if w.value.startswith("Delete")] == [
        r"Delete \[a\]\(b\) for good? Its folder is removed from the registry and cannot be restored."]
    assert [b.label for b in app.button if b.key == "delete-confirm"] == [r"Yes, delete \[a\]\(b\)"]
    delete_model(models_dir() / link)  # from another tab
    app.button(key="delete").click().run()
    assert not app.exception
    assert [_plain(e.value) for e in app.error][0].startswith(f"{link} no longer exists")
    assert all("[a](b)" not in e.value for e in app.error)


def test_compare_keeps_the_metric_names_whatever_the_models_are_called(tmp_path, monkeypatch):
    """A model named 'metric' overwrote the metric-name column of the Compare table (and a model compared with itself
    relied on a trailing space)."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    for name, auc in (("metric", 0.7), ("risk-v2", 0.8)):
        save_model_dir(models_dir() / name, {"task": "finance.risk", "metrics": {"auc": {"value": auc, "ci95": None},
                                                                                 "ks": {"value": auc / 2, "ci95": None}}})
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.selectbox(key="cmp-a").set_value("metric").run()
    app.selectbox(key="cmp-b").set_value("risk-v2").run()
    assert not app.exception
    table = app.dataframe[1].value
    assert list(table.columns) == ["metric", "A: metric", "B: risk-v2"]
    assert list(table["metric"]) == ["auc", "ks"] and list(table["A: metric"]) == [0.7, 0.35]
    app.selectbox(key="cmp-b").set_value("metric").run()
    assert not app.exception and list(app.dataframe[1].value.columns) == ["metric", "A: metric", "B: metric"]
