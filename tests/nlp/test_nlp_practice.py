"""nlp in practice: what a tester found when using translation, sentiment and QA the way people do."""

from __future__ import annotations

import shutil
import unicodedata
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
    given = tiny.evaluate(Translator.read_data(tmp_path / "x.en", source="en"))["warning"]  # most lines unlike it:
    assert "not English (en) as given (--source en" in given  # the user's word is kept, with a warning
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


# -- QA train: whole paragraphs are held out, and the card reports how the held-out questions scored ----------------
def _qa_rows(contexts: int, per_context: int) -> list[dict]:
    rows = []
    for c in range(contexts):
        context = f"Team {c} won the game {c} in the city of Paris{c}."
        for q in range(per_context):
            answer = ["Paris", "Team", "game"][q % 3] + ("" if q % 3 else str(c))
            rows.append({"id": f"c{c}q{q}", "question": f"Question {q} about game {c}?", "context": context,
                         "answers": {"text": [answer], "answer_start": [context.index(answer)]}})
    return rows


def test_qa_fit_holds_out_whole_paragraphs_and_reports_their_scores(monkeypatch):
    """74 XQuAD questions on 6 paragraphs: all 7 held-out questions shared a paragraph with training questions, and
    the trained card's metrics were {}."""
    from nlp.qa import QAModel
    from tests.nlp.tiny import tiny_qa

    seen = []
    features = QAModel._features
    monkeypatch.setattr(QAModel, "_features", lambda self, examples: seen.append(examples) or features(self, examples))
    model, tokenizer = tiny_qa()
    qa = QAModel.from_model(model, tokenizer, device="cpu")
    config = QAModel.Config(epochs=1, max_steps=1, batch_size=2, max_length=32, stride=8)
    card = qa.fit(_qa_rows(10, 3), config).card
    trained, held_out = seen[0], seen[1]
    assert len(held_out) == 3 and not {e["context"] for e in held_out} & {e["context"] for e in trained}
    assert set(card["metrics"]) == {"val_exact_match", "val_f1", "val_rows"} and card["metrics"]["val_rows"] == 3
    assert 0 <= card["metrics"]["val_f1"] <= 100 and "metrics_note" not in card
    alone = qa.fit(_qa_rows(1, 12), config).card  # one paragraph: nothing can be held out apart from the rest
    assert alone["metrics"] == {} and alone["training"]["validation_rows"] == 0
    assert alone["metrics_note"].startswith("not measured: all the questions share one context")


# -- QA: the same text in NFD or NFC gives the same answer; offsets stay the user's own text's ------------------------
def test_qa_answers_a_decomposed_context_as_the_composed_one_with_offsets_into_it():
    """"When was the café opened?" answered 'José García in 1854' (0.82) on the NFC context but abstained (0.69)
    at null_threshold=0.7 on the same context in NFD, as macOS pastes it: "café" never matched "cafe\\u0301"."""
    from nlp.qa import QAModel

    model = QAModel.load()
    context = "Café culture arrived early. The café was opened by José García in 1854 in Lisbon."
    question = "When was the café opened?"
    composed = model.predict([{"question": question, "context": context}], null_threshold=0.7)[0]
    assert not composed["no_answer"]
    for form in ("NFD", "NFKD"):
        for asked in (question, unicodedata.normalize(form, question)):
            given = unicodedata.normalize(form, context)
            record = model.predict([{"question": asked, "context": given}], null_threshold=0.7)[0]
            assert record["score"] == composed["score"] and not record["no_answer"]
            assert given[record["start"]:record["end"]] == record["answer"]
            assert unicodedata.normalize("NFC", record["answer"]) == composed["answer"]
            start, end = record["sentence"]
            assert unicodedata.normalize("NFC", given[start:end]) == context[slice(*composed["sentence"])]


def test_qa_offsets_into_a_decomposed_context_never_split_a_letter_from_its_marks():
    from nlp.qa import _Composed

    original = "Se\u0301oul \u1100\u1161\u11a8 and Zu\u0308rich in 1999 (cafe\u0301)."
    form = _Composed(original)
    assert form.text == "Séoul \uac01 and Zürich in 1999 (café)."
    for start in range(len(form.text) + 1):
        for end in range(start, len(form.text) + 1):
            mapped = form.original_record({"answer": "", "start": start, "end": end}, original)
            assert unicodedata.normalize("NFC", mapped["answer"]) == form.text[start:end]
    assert form.original_record({"answer": "", "start": -1, "end": -1}, original)["start"] == -1  # no answer: as is


def test_qa_extractive_reader_gives_offsets_into_a_decomposed_context():
    from nlp.qa import QAModel
    from tests.nlp.tiny import tiny_qa

    model, tokenizer = tiny_qa()
    reader = QAModel.from_model(model, tokenizer, device="cpu", max_length=32, stride=8)
    context = unicodedata.normalize("NFD", "Zürich and Genève are cities. " * 6)
    for record in reader.predict([{"question": "Where is Zürich?", "context": context}]):
        assert record["no_answer"] or context[record["start"]:record["end"]] == record["answer"]
