"""Text in Unicode NFD (decomposed accents: PDF extraction, Mac file names) reads as the same text in NFC: translation
input (nlp.translation, nlp._apertium) and QA answers, their offsets and their scores (nlp.qa)."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pytest

from core.errors import InputError
from nlp import _apertium
from nlp.qa import QAModel, _answer_span, squad_scores

SPANISH = ["El café está abierto.", "La canción es muy bonita."]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_apertium_engine_reads_its_input_in_nfc(monkeypatch):
    """'está' in NFD went to Apertium as 'esta' + a stray accent and came back 'thiś'."""
    seen = []
    monkeypatch.setattr(_apertium, "require_apertium", lambda: "apertium")
    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)
    monkeypatch.setattr(_apertium.ApertiumEngine, "_one_by_one",
                        lambda self, units, text_format="txt": seen.extend(units) or list(units))
    out = _apertium.ApertiumEngine("spa-eng").translate([nfd(SPANISH[0]), SPANISH[0], nfd(SPANISH[1])])
    assert seen == sorted(SPANISH)  # one unit each: the two forms of one sentence are one text
    assert len(out) == 3 and out[0] == out[1]


def test_seq2seq_translation_reads_its_input_in_nfc(monkeypatch):
    from nlp.translation import Translator

    model = Translator()
    model.name_ = "fake"
    seen = []
    monkeypatch.setattr(model, "_check_pair", lambda *pair: None)
    monkeypatch.setattr(model, "_generate", lambda texts, *rest: seen.extend(texts) or [(t, {}) for t in texts])
    model._translations([nfd(SPANISH[0])], "es", "en")
    assert seen == [SPANISH[0]]


HAS_SPA_ENG = shutil.which("apertium") is not None and ("spa", "eng") in _apertium.installed_pairs()


@pytest.mark.skipif(not HAS_SPA_ENG, reason="Debian apertium + apertium-eng-spa not installed")
def test_nfd_spanish_translates_as_its_nfc_form():
    from nlp.translation import Translator

    model = Translator.load(source_lang="es", target_lang="en")
    records = model.predict([*SPANISH, *map(nfd, SPANISH)])
    assert [r["translation"] for r in records[2:]] == [r["translation"] for r in records[:2]]
    assert records[2]["source"] == nfd(SPANISH[0])  # each record keeps its input as given


CONTEXT = "Der Vertrag wurde von Jürgen Müller in Köln unterschrieben."


def test_squad_scores_read_both_answers_in_nfc():
    assert squad_scores([nfd("Jürgen Müller")], "Jürgen Müller") == (100.0, 100.0)
    assert squad_scores(["Jürgen Müller"], nfd("Jürgen Müller")) == (100.0, 100.0)


def test_answer_span_checks_the_text_at_its_offset_and_finds_it_otherwise():
    """An NFD answer on an NFC context took start + len(text): 'Jürgen Müller i'."""
    at = CONTEXT.index("Jürgen")
    for context, answer in ((CONTEXT, nfd("Jürgen Müller")), (nfd(CONTEXT), "Jürgen Müller")):
        start, end = _answer_span({"context": context, "answers": [answer], "answer_starts": [at]})
        assert unicodedata.normalize("NFC", context[start:end]) == "Jürgen Müller"
    start, end = _answer_span({"context": CONTEXT, "answers": ["Köln"], "answer_starts": [3]})  # a wrong offset
    assert CONTEXT[start:end] == "Köln"
    twice = "Köln, nicht Köln."
    assert _answer_span({"context": twice, "answers": ["Köln"], "answer_starts": [11]}) == (12, 16)  # the nearest
    assert _answer_span({"context": CONTEXT, "answers": ["Berlin"], "answer_starts": [3]}) is None


def _squad(tmp_path, answers):
    qas = [{"id": f"q{i}", "question": "Wer?", "answers": [{"text": text, "answer_start": start}]}
           for i, (text, start) in enumerate(answers)]
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": CONTEXT, "qas": qas}]}]}), encoding="utf-8")
    return path


def test_check_data_names_answers_not_at_their_offset_and_refuses_one_found_nowhere(tmp_path):
    """check-data said ok for answers whose text is not at answer_start, NFD or plainly wrong."""
    path = _squad(tmp_path, [(nfd("Jürgen Müller"), CONTEXT.index("Jürgen")), ("Köln", 5), ("Vertrag", 4)])
    with pytest.warns(UserWarning, match=r"2 answer\(s\) are not at their answer_start"):
        report = QAModel.check_data(path)
    assert report["ok"] and "'q0'" in report["warning"] and "'q1'" in report["warning"] and "'q2'" not in report["warning"]
    with pytest.raises(InputError, match="'q0'.*neither at its answer_start 5"):
        QAModel.check_data(_squad(tmp_path, [("Berlin", 5)]))


def test_sentiment_check_data_refuses_labels_written_two_ways_and_warns_of_case(tmp_path, capsys):
    """check-data said ok: True for labels 'gut' and 'gut<U+200B>' (train refused them); case variants are said too."""
    from core.cli import main

    twins = tmp_path / "twins.csv"
    twins.write_text("text,label\ngood film,gut\nbad film,schlecht\nnice,gut\u200b\n", encoding="utf-8")
    assert main(["check-data", "nlp.sentiment", str(twins)]) == 2
    assert "invisible characters (U+200B)" in capsys.readouterr().err
    cased = tmp_path / "cased.csv"
    cased.write_text("text,label\ngood film,gut\nbad film,schlecht\nok,Gut\n", encoding="utf-8")
    assert main(["check-data", "nlp.sentiment", str(cased), "--json"]) == 0
    assert "differ only in case" in capsys.readouterr().out
