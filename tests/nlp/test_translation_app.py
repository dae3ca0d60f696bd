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


@pytest.mark.skipif(shutil.which("apertium") is None or ("spa", "eng") not in _apertium.installed_pairs(),
                    reason="Debian apertium + apertium-eng-spa not installed")
def test_evaluate_scores_the_language_pair_chosen_on_the_page():
    """With Spanish -> English chosen, Evaluate scored English -> Spanish (the model's own pair), unlike the CLI."""
    import json

    rows = [{"translation": {"en": e, "es": s}} for e, s in
            [("Hello.", "Hola."), ("The house is big.", "La casa es grande."), ("I have a dog.", "Tengo un perro.")]]
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    app.session_state["translation-pair"] = ("es", "en")
    app.run()
    app.file_uploader(key="nlp.translation-evaluate-upload").set_value(("tr.jsonl", data, "application/octet-stream")).run()
    app.button(key="nlp.translation-evaluate-run").click().run()
    assert not app.exception and not app.error
    cards = [c.value for c in app.caption if "·" in c.value]
    assert cards and "spa" in cards[-1] and cards[-1].index("spa") < cards[-1].index("eng"), cards
