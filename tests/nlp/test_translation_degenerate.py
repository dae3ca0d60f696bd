"""nlp.translation evaluate on data whose source lines are not in the language the model assumed."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from nlp import _apertium
from tests.nlp.contract_cases_translation import tiny_translator

HAS_APERTIUM = shutil.which("apertium") is not None and ("eng", "spa") in _apertium.installed_pairs()
SPANISH = ["La casa es roja.", "El gato es negro y duerme en la cama.", "Me gustan los perros.",
           "Hola."]
ENGLISH = ["The house is red.", "The cat is black and sleeps on the bed.", "I like dogs.",
           "Hello."]
WARNING = ("4 of the 4 source lines checked: the text looks like Spanish (es), not English (en) as assumed (no source "
           "language was given); pass --source es --target en (source_lang, target_lang in Python)")

GIVEN_WARNING = ("4 of the 4 source lines checked: the text looks like Spanish (es), not English (en) as given (--source "
                 "en, or the data's source_lang column); check --source (or whether two line-aligned files are swapped); "
                 "if it is Spanish, pass --source es --target en (source_lang, target_lang in Python)")


def test_evaluate_warns_as_predict_does_when_the_source_lines_look_unlike_the_assumed_language():
    model = tiny_translator()
    model.assumed_source_ = True  # as the default, loaded without a source language
    card = model.evaluate(pl.DataFrame({"source": SPANISH, "target": SPANISH}))
    assert card["warning"] == WARNING
    assert "warning" not in model.evaluate(pl.DataFrame({"source": ENGLISH, "target": SPANISH}))
    stated = pl.DataFrame({"source": SPANISH, "target": SPANISH, "source_lang": ["en"] * 4, "target_lang": ["es"] * 4})
    assert model.evaluate(stated)["warning"] == GIVEN_WARNING  # the data's own word holds, but is doubted
    model.assumed_source_ = False
    assert "warning" not in model.evaluate(pl.DataFrame({"source": SPANISH, "target": SPANISH}))


@pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-eng-spa not installed")
def test_the_cli_evaluate_of_the_default_says_so_and_not_when_the_source_is_given(tmp_path, capsys):
    from core.cli import main

    data = tmp_path / "same.tsv"
    data.write_text("source\ttarget\n" + "".join(f"{s}\t{s}\n" for s in SPANISH), encoding="utf-8")
    assert main(["evaluate", "nlp.translation", "--data", str(data), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["warning"] == WARNING and f"warning: {WARNING}" in err
    assert main(["evaluate", "nlp.translation", "--data", str(data), "--source", "es", "--target", "en", "--json"]) == 0
    assert "warning" not in json.loads(capsys.readouterr().out)


def test_evaluate_warns_when_most_source_lines_look_unlike_the_language_given():
    """A corp.en holding Spanish, evaluated with --source en: BLEU 1.5 and no word of why; the lines are still scored
    as en, with a warning. A stray Spanish line among English ones given as en is left alone."""
    model = tiny_translator()
    given = {"source_lang": ["en"] * 4, "target_lang": ["es"] * 4}
    card = model.evaluate(pl.DataFrame({"source": SPANISH, "target": SPANISH, **given}))
    assert card["warning"] == GIVEN_WARNING and card["source_lang"] == "en"
    assert "warning" not in model.evaluate(pl.DataFrame({"source": ENGLISH, "target": SPANISH, **given}))
    stray = pl.DataFrame({"source": ENGLISH[:3] + SPANISH[:1], "target": SPANISH, **given})
    assert "warning" not in model.evaluate(stray)


@pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-eng-spa not installed")
def test_the_cli_evaluate_of_swapped_files_warns_with_source_given(tmp_path, capsys):
    from core.cli import main

    (tmp_path / "corp.en").write_text("".join(f"{s}\n" for s in SPANISH), encoding="utf-8")
    (tmp_path / "corp.es").write_text("".join(f"{s}\n" for s in ENGLISH), encoding="utf-8")
    assert main(["evaluate", "nlp.translation", "--data", str(tmp_path / "corp.en"), "--source", "en", "--target", "es",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["warning"] == GIVEN_WARNING and f"warning: {GIVEN_WARNING}" in err
