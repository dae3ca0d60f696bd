"""AppTest of the Translation section (apps/nlp_translation.py run on its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.artifacts import models_dir
from nlp import _apertium

PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "nlp_translation.py")


def _texts(app) -> str:
    return " ".join(str(m.value) for m in [*app.markdown, *app.caption, *app.error, *app.text])


def test_page_runs_with_a_saved_tiny_model():
    from tests.nlp.contract_cases_translation import tiny_translator

    name = "tiny-translation-apptest"
    tiny_translator().save(models_dir() / name)
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    app.selectbox(key="translation-model").set_value(f"Saved: {name}").run()
    assert not app.exception
    app.button(key="translation-run").click().run()
    assert not app.exception and not app.error
    assert "English (en)" in _texts(app) and "Spanish (es)" in _texts(app)
    assert app.get("download_button")


@pytest.mark.skipif(shutil.which("apertium") is None or ("eng", "spa") not in _apertium.installed_pairs(),
                    reason="Debian apertium + apertium-eng-spa not installed")
def test_page_translates_with_apertium():
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception
    app.text_area(key="translation-text").set_value("Hello.").run()
    app.button(key="translation-run").click().run()
    assert not app.exception and not app.error
    assert "Hola." in _texts(app)
