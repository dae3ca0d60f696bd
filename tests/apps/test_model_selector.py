"""The Model selector every task page uses (apps.common.task_page): a hub id box that takes no server paths, and a
saved model deleted meanwhile is named, not silently swapped for the default."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.artifacts import models_dir, save_model_dir  # noqa: E402

KEY = "sel"


def _page():
    import streamlit as st

    from apps import common

    common.task_page("nlp.sentiment", "sel", lambda model: st.text(f"loaded {model}"), load=lambda source: source or "embedded",
                     about=lambda model: None, evaluate=lambda model: None, retrain=lambda: None)


def _loaded(app) -> list[str]:
    return [t.value for t in app.text if t.value.startswith("loaded ")]


def _with_hub(text: str):
    app = AppTest.from_function(_page, default_timeout=30)
    app.session_state[f"{KEY}-model"] = "Hub id (needs cache or internet)"
    app.session_state[f"{KEY}-hub"] = text
    return app.run()


@pytest.mark.parametrize("text", ["../../etc", "/etc", "~", "..", "tests", "a/../../b", "C:\\models\\x"])
def test_hub_box_refuses_server_paths(home, text):
    app = _with_hub(text)
    assert not app.exception and not _loaded(app)
    errors = [e.value for e in app.error]
    assert errors and ("is a path, not a hub id" in errors[0] or "is not a hub id" in errors[0]), errors


def test_hub_box_refuses_a_folder_outside_the_registry(home, tmp_path):
    folder = save_model_dir(tmp_path / "elsewhere" / "model", {"task": "nlp.sentiment"})
    app = _with_hub(str(folder))
    assert not _loaded(app) and "is a path, not a hub id" in app.error[0].value


def test_hub_box_blank_asks_for_an_id_instead_of_loading_the_default(home):
    app = _with_hub("   ")
    assert not _loaded(app) and "no hub id given" in app.error[0].value


def test_hub_box_takes_hub_ids_and_registry_models(home):
    assert _loaded(_with_hub("distilbert/distilbert-base-uncased-finetuned-sst-2-english")) == [
        "loaded distilbert/distilbert-base-uncased-finetuned-sst-2-english"]
    saved = save_model_dir(models_dir() / "mine", {"task": "nlp.sentiment"})
    assert _loaded(_with_hub(str(saved))) == [f"loaded {saved.resolve()}"]


def test_a_saved_model_deleted_meanwhile_is_named(home):
    save_model_dir(models_dir() / "mine", {"task": "nlp.sentiment"})
    app = AppTest.from_function(_page, default_timeout=30).run()
    app.selectbox(key=f"{KEY}-model").set_value("Saved: mine").run()
    assert _loaded(app) == [f"loaded {models_dir() / 'mine'}"]
    shutil.rmtree(models_dir() / "mine")
    app.run()
    assert not app.exception and _loaded(app) == ["loaded embedded"]
    assert any("mine no longer exists" in w.value for w in app.warning), [w.value for w in app.warning]


@pytest.mark.parametrize("text", ["[x](http://evil)", "**bold**", "$x^2$ `code`"])
def test_an_error_quoting_a_typed_value_shows_it_as_typed(home, text):
    """show_error escapes the message for Markdown: a typed link, bold or LaTeX is no live link, bold or formula."""
    from apps.common import escape_markdown

    app = _with_hub(text)
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and f"{text!r} is not a hub id" in _plain(errors[0]), errors
    assert escape_markdown(repr(text)) in errors[0] and text not in errors[0], errors  # every Markdown mark escaped


def _plain(markdown: str) -> str:
    """Markdown as it reads on screen: its escapes dropped."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def test_a_deleted_saved_model_is_named_as_on_disk(home):
    """A folder the CLI named **x**: the warning names it as it is, not in bold."""
    save_model_dir(models_dir() / "**x**", {"task": "nlp.sentiment"})
    app = AppTest.from_function(_page, default_timeout=30).run()
    app.selectbox(key=f"{KEY}-model").set_value("Saved: **x**").run()
    shutil.rmtree(models_dir() / "**x**")
    app.run()
    warnings = [w.value for w in app.warning if "no longer exists" in w.value]
    assert warnings and warnings[0].startswith(r"The saved model \*\*x\*\* no longer exists"), warnings
