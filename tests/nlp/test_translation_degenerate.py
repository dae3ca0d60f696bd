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


def test_evaluate_warns_as_predict_does_when_the_source_lines_look_unlike_the_assumed_language():
    model = tiny_translator()
    model.assumed_source_ = True  # as the default, loaded without a source language
    card = model.evaluate(pl.DataFrame({"source": SPANISH, "target": SPANISH}))
    assert card["warning"] == WARNING
    assert "warning" not in model.evaluate(pl.DataFrame({"source": ENGLISH, "target": SPANISH}))
    stated = pl.DataFrame({"source": SPANISH, "target": SPANISH, "source_lang": ["en"] * 4, "target_lang": ["es"] * 4})
    assert "warning" not in model.evaluate(stated)  # the data's own word on its language holds
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
