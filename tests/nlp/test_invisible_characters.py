"""Invisible format characters inside words (soft hyphen, zero-width space, word joiner, BOM, ZWNJ/ZWJ in Latin text),
as text copied from web pages and PDFs holds them: QA answers the same span as for the plain text, with offsets into
the text given (nlp.qa, nlp._invisible); translation reads the plain words (nlp._apertium)."""

from __future__ import annotations

import shutil

import pytest

from nlp import _apertium
from nlp._invisible import readable_indices, without_invisible
from nlp._span_rules import split_sentences
from nlp.qa import QAModel, _answer_span, _Composed, _normal_places, squad_scores

QUESTION = "Who designed the bridge?"
CONTEXT = ("The town grew quickly in the nineteenth century. The bridge was designed by Isambard Kingdom Brunel in "
           "1831. It opened to traffic in 1864.")
VARIANTS = {
    "soft hyphens": CONTEXT.replace("designed", "de\u00adsigned").replace("Isambard", "Isam\u00adbard")
    .replace("Brunel", "Bru\u00adnel"),
    "zero-width space": CONTEXT.replace("Isambard", "Isam\u200bbard"),
    "word joiner": CONTEXT.replace("Kingdom", "King\u2060dom"),
    "byte order mark": CONTEXT.replace("Brunel", "Bru\ufeffnel"),
    "zero-width joiner": CONTEXT.replace("Kingdom", "King\u200ddom"),
}


@pytest.fixture(scope="module")
def qa():
    return QAModel.load(None, device="cpu")


def test_format_characters_inside_words_do_not_cut_the_default_qa_answer(qa):
    """'Isam' (soft hyphen, zero-width space) and 'Isambard King' (word joiner) came back for 'Isambard Kingdom
    Brunel'."""
    plain = qa.predict([{"question": QUESTION, "context": CONTEXT}])[0]
    assert plain["answer"] == "Isambard Kingdom Brunel"
    records = qa.predict([{"question": QUESTION, "context": context} for context in VARIANTS.values()])
    for (name, context), record in zip(VARIANTS.items(), records):
        assert record["answer"] == context[record["start"]:record["end"]], name  # offsets into the text given
        assert without_invisible(record["answer"]) == "Isambard Kingdom Brunel", name
        assert record["start"] == context.index("Isam"), name
        assert record["score"] == plain["score"], name


def test_a_question_with_format_characters_reads_as_the_plain_question(qa):
    """'How ma\u200bny' was no 'how many' question: 'Kingdom Brunel and has 3' came back for '3'."""
    context = "The bridge was designed by Isambard Kingdom Brunel and has 3 spans. It opened to traffic in 1864."
    plain, hidden = qa.predict([{"question": question, "context": context} for question in
                                ("How many spans does the bridge have?", "How ma\u200bny spans does the bridge have?")])
    assert plain["answer"] == hidden["answer"] == "3"
    assert hidden["score"] == plain["score"]


def test_answers_never_start_or_end_on_a_format_character():
    text = "Isam\u200bbard"
    form = _Composed(text)
    assert form.text == "Isambard"
    assert form.original_record({"answer": "Isam", "start": 0, "end": 4}, text)["answer"] == "Isam"
    assert form.original_record({"answer": "bard", "start": 4, "end": 8}, text) == {"answer": "bard", "start": 5,
                                                                                  "end": 9}
    nfd = "Sa\u0303o\u00ad Paulo and Zu\u0308\u200brich"  # NFD and a soft hyphen at a word's end (a layout mark)
    form = _Composed(nfd)
    assert form.text == "São Paulo and Zürich"
    at = form.text.index("Zürich")
    assert form.original_record({"answer": "Zürich", "start": at, "end": at + 6}, nfd)["answer"] == "Zu\u0308\u200brich"


@pytest.mark.parametrize("text, kept", [
    ("a\u200bb", "ab"),  # Latin: a line-break opportunity inside a word
    ("ภาษา\u200bไทย", "ภาษา\u200bไทย"),  # Thai is written without spaces: the zero-width space is its word break
    ("می\u200cخواهم", "می\u200cخواهم"),  # Persian ZWNJ is spelling
    ("क्\u200dष", "क्\u200dष"),  # Devanagari ZWJ asks for a half form
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f468\u200d\U0001f469\u200d\U0001f467"),  # an emoji family
    ("Auf\u200clage", "Auflage"),  # German ZWNJ only stops the fl ligature
    ("end.\u200b Next \ufeffword", "end.\u200b Next \ufeffword"),  # not inside a word
    ("18\u206031", "1831"),
])
def test_only_format_characters_that_spell_nothing_are_read_past(text, kept):
    assert without_invisible(text) == kept
    assert "".join(text[i] for i in readable_indices(text)) == kept


def test_apertium_engine_reads_words_without_their_format_characters(monkeypatch):
    """'beau\u200btiful' went to Apertium as two words and came back 'pretendiente \u200btiful'."""
    seen = []
    monkeypatch.setattr(_apertium, "require_apertium", lambda: "apertium")
    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)
    monkeypatch.setattr(_apertium.ApertiumEngine, "_one_by_one",
                        lambda self, units, text_format="txt": seen.extend(units) or list(units))
    out = _apertium.ApertiumEngine("eng-spa").translate(["The house is beau\u200btiful.", "The house is beautiful.",
                                                         "The house is beau\u00adti\u2060ful."])
    assert seen == ["The house is beautiful."]  # one unit: the three are one text
    assert out[0] == out[1] == out[2]


HAS_ENG_SPA = shutil.which("apertium") is not None and ("eng", "spa") in _apertium.installed_pairs()


@pytest.mark.skipif(not HAS_ENG_SPA, reason="Debian apertium + apertium-eng-spa not installed")
def test_format_characters_inside_words_translate_as_the_plain_text():
    from nlp.translation import Translator

    model = Translator.load(source_lang="en", target_lang="es")
    records = model.predict(["The house is beautiful.", "The house is beau\u200btiful.",
                             "The house is beau\u2060tiful.", "The house is beau\u00adtiful."])
    assert [r["translation"] for r in records[1:]] == [records[0]["translation"]] * 3
    questions = model.predict(["Is it ready? Is it good?", "Is it ready?\u200b Is it good?"])
    assert questions[1]["translation"] == questions[0]["translation"]
    assert records[1]["source"] == "The house is beau\u200btiful."  # each record keeps its input as given


def test_seq2seq_translation_reads_words_without_their_format_characters(monkeypatch):
    from nlp.translation import Translator

    model = Translator()
    model.name_ = "fake"
    seen = []
    monkeypatch.setattr(model, "_check_pair", lambda *pair: None)
    monkeypatch.setattr(model, "_generate", lambda texts, *rest: seen.extend(texts) or [(t, {}) for t in texts])
    model._translations(["The house is beau\u200btiful.", "Ein Auf\u200clage.", "See e.g. \u200bthis."], "en", "es")
    assert seen == ["The house is beautiful.", "Ein Auflage.", "See e.g. this."]  # one sentence: not split at 'e.g.'



def test_qa_sentences_end_before_and_after_invisible_characters():
    """A zero-width space or BOM after '. ' hid the capital behind it: 'It rained. \u200bThe bridge fell.' was one
    sentence; one between '.' and the space ended none."""
    text = "It rained. \u200bThe bridge fell.\u200b It was rebuilt. \ufeffIt opened. See e.g. \u200bthis one."
    assert [text[start:end] for start, end in split_sentences(text)] == [
        "It rained.", "\u200bThe bridge fell.", "It was rebuilt.", "\ufeffIt opened.", "See e.g. \u200bthis one."]


def test_apertium_engine_reads_no_layout_marks_between_sentences(monkeypatch):
    """'Is it ready?\u200b Is it good?' came back '¿Es a punto?\u200b Es bien?': the second question lost its '¿'."""
    seen = []
    monkeypatch.setattr(_apertium, "require_apertium", lambda: "apertium")
    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)
    monkeypatch.setattr(_apertium.ApertiumEngine, "_one_by_one",
                        lambda self, units, text_format="txt": seen.extend(units) or list(units))
    _apertium.ApertiumEngine("eng-spa").translate(["\ufeffIs it ready?\u200b Is it good?", "Is it ready? \u200bIs it?",
                                                   "A \U0001f468\u200d\U0001f469 family."])
    assert seen == ["A \U0001f468\u200d\U0001f469 family.", "Is it ready? Is it good?", "Is it ready? Is it?"]


def test_squad_scores_read_answers_without_invisible_characters():
    """The answer now keeps the soft hyphen of its context; scored against the plain gold it was exact match 0."""
    assert squad_scores(["Isambard Kingdom Brunel"], "Isam\u00adbard Kingdom Brunel") == (100.0, 100.0)
    assert squad_scores(["Isam\u200bbard"], "Isambard") == (100.0, 100.0)
    assert squad_scores(["Isambard"], "Isam") == (0.0, 0.0)


def test_a_plain_gold_answer_is_located_in_a_context_with_invisible_characters():
    """'Isambard Kingdom Brunel' was found nowhere in 'Isam\u00adbard Kingdom Brunel': training refused the question."""
    context = VARIANTS["soft hyphens"]
    start, end = _answer_span({"context": context, "answers": ["Isambard Kingdom Brunel"], "answer_starts": [77]})
    assert context[start:end] == "Isam\u00adbard Kingdom Bru\u00adnel"
    assert _normal_places("Un cafe\u0301 noir.", "cafe") == []  # 'café' does not read as 'cafe'
    assert _normal_places("Un cafe\u0301 noir.", "café") == [(3, 8)]


def test_language_guess_reads_words_without_their_invisible_characters():
    """'De\u00adspite' and 'wo\u200bnderful' were read as 'de' (a Spanish/French function word) + 'spite' and 'wo' +
    'nderful', no English words."""
    from nlp._language import not_english, words

    assert words("I lo\u200bved it, de\u00adspite the wait.") == ["i", "loved", "it", "despite", "the", "wait"]
    text = "De\u00adspite everything, wo\u200bnderful acting and lovely music."
    assert not_english(text) == not_english(without_invisible(text))
