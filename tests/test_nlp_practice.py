"""nlp in practice: what a tester found when using translation, sentiment and QA the way people do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import InputError
from nlp import _apertium
from nlp.translation import NamedSentence, Translator
from tests.nlp.contract_cases_translation import tiny_translator

HAS_APERTIUM = shutil.which("apertium") is not None and ("eng", "spa") in _apertium.installed_pairs()
SPANISH = ["La casa es roja y el perro es negro.", "El gato es negro y duerme en la cama.",
           "Me gustan los perros y los gatos.", "El perro come en la casa de mi madre."]
ENGLISH = ["The house is red and the dog is black.", "The cat is black and sleeps on the bed.",
           "I like dogs and cats.", "The dog eats in my mother's house."]


@pytest.fixture(scope="module")
def tiny():
    return tiny_translator()


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- translation: a language named by a file's suffix is checked against its lines too --------------------------------
def test_swapped_line_aligned_files_are_warned_about_in_evaluate(tiny, tmp_path):
    """x.en holding Spanish and x.es English (a common mix-up) scored BLEU 1.6 with no warning: only lines of no
    stated language were checked, and a suffix counted as stated."""
    _lines(tmp_path / "x.en", SPANISH), _lines(tmp_path / "x.es", ENGLISH)
    card = tiny.evaluate(Translator.read_data(tmp_path / "x.en"))
    assert card["warning"] == (
        "4 of the 4 source lines checked: the text looks like Spanish (es), not English (en) as the name of x.en says "
        "(name.<language>); rename the line-aligned files so each one's suffix names the language of its lines (are "
        "the two swapped?)")
    assert "warning" in tiny.evaluate(tmp_path / "x.en")  # a path given to evaluate itself too
    assert "warning" not in tiny.evaluate(Translator.read_data(tmp_path / "x.en", source="en"))  # the user's word holds
    _lines(tmp_path / "y.en", ENGLISH), _lines(tmp_path / "y.es", SPANISH)
    assert "warning" not in tiny.evaluate(Translator.read_data(tmp_path / "y.en"))  # no false alarm


def test_predict_warns_when_a_file_named_for_a_language_holds_another(tiny, tmp_path):
    warning = ("the text looks like Spanish (es), not English (en) as its file's name says (name.<language>); pass "
               "--source es --target en (source_lang, target_lang in Python)")
    records = tiny.predict(Translator.read_inputs(_lines(tmp_path / "x.en", SPANISH)))
    assert all(warning in record.get("warnings", []) for record in records)
    records = tiny.predict([NamedSentence(text, "en") for text in ENGLISH])
    assert all(warning not in record.get("warnings", []) for record in records)
    stated = tiny.predict(Translator.read_inputs(tmp_path / "x.en", source="en", target="es"))
    assert all(warning not in record.get("warnings", []) for record in stated)


@pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-eng-spa not installed")
def test_the_cli_says_so_for_swapped_files(tmp_path, capsys):
    from core.cli import main

    _lines(tmp_path / "x.en", SPANISH), _lines(tmp_path / "x.es", ENGLISH)
    assert main(["evaluate", "nlp.translation", "--data", str(tmp_path / "x.en"), "--json"]) == 0
    assert "warning: 4 of the 4 source lines checked: the text looks like Spanish (es)" in capsys.readouterr().err
    assert main(["predict", "nlp.translation", "--input", str(tmp_path / "x.en")]) == 0
    assert capsys.readouterr().out.count("as its file's name says") == 4


# -- Python predict: one bad item among others is an error record in its place, as the CLI gives ---------------------
def test_translation_predict_gives_an_empty_sentence_an_error_record_and_translates_the_rest(tiny):
    alone = tiny.predict(["I like cats.", "The dog runs."])
    records = tiny.predict(["I like cats.", "", "The dog runs.", None])
    assert records[1] == {"index": 2, "error": "input 2 is empty; give a sentence to translate"}
    assert records[3] == {"index": 4, "error": "input 4 is NoneType, not text; pass sentences as strings"}
    assert [records[0], records[2]] == [alone[0], {**alone[1], "index": 3}]
    keyed = tiny.predict([{"id": "a", "source": "I like cats."}, {"id": "b", "source": " "}])
    assert keyed[0]["id"] == "a" and keyed[1] == {"id": "b", "error": "input 2 is empty; give a sentence to translate"}
    with pytest.raises(InputError, match="input 1 is empty"):  # every input refused: raised, as before
        tiny.predict(["", " "])


def test_sentiment_predict_gives_an_empty_text_an_error_record_and_scores_the_rest():
    from nlp.sentiment import SentimentModel

    model = SentimentModel.load()
    alone = model.predict(["Great film.", "Awful film."])
    records = model.predict(["Great film.", "", "Awful film."])
    assert records == [alone[0], {"index": 2, "error": "text 2 is empty; pass non-empty strings"},
                       {**alone[1], "index": 3}]
    with pytest.raises(InputError, match="text 1 is empty"):
        model.predict([""])


def test_qa_predict_gives_an_empty_question_an_error_record_and_answers_the_rest():
    from nlp.qa import QAModel

    model = QAModel.load()
    good = {"question": "Where is Paris?", "context": "Paris is the capital of France."}
    alone = model.predict([good])
    records = model.predict([good, {"id": "q2", "question": "", "context": "Some text."}, ("Where is Paris?", " ")])
    assert records[0] == alone[0]
    assert records[1] == {"id": "q2", "error": "QA input 2 has an empty or missing 'question'"}
    assert records[2] == {"index": 3, "error": "QA input 3 has an empty or missing 'context'"}
    with pytest.raises(InputError, match="QA input 1 has an empty"):
        model.predict([{"question": " ", "context": "x"}])
