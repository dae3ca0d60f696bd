"""A zero-width space, word joiner, BOM or soft hyphen beside a space (web text's '&#8203;') is a layout mark, not a
word break: 'Mary\u200b Shelley' gave 'Mary' where 'Mary Shelley' gave 'Mary Shelley' (tester R2, finding 5). QA reads
past it, and the answer's offsets stay in the text given (nlp.qa._Composed)."""

from __future__ import annotations

import pytest

from nlp.qa import QAModel, _answer_span, _Composed, squad_scores

QUESTION = "Who wrote the book?"
PLAIN = "The book was written by Mary Shelley in 1818."
MARKED = {
    "zero-width space after": PLAIN.replace("Mary ", "Mary\u200b "),
    "zero-width space before": PLAIN.replace(" Shelley", " \u200bShelley"),
    "word joiner": PLAIN.replace("Mary ", "Mary\u2060 "),
    "byte order mark": PLAIN.replace("Mary ", "Mary\ufeff "),
    "soft hyphen": PLAIN.replace("Mary ", "Mary\u00ad "),
    "two of them": PLAIN.replace("Mary Shelley", "Mary\u200b \u2060Shelley"),
}


@pytest.fixture(scope="module")
def qa():
    return QAModel.load(None, device="cpu")


def test_a_layout_mark_beside_a_space_does_not_cut_the_default_qa_answer(qa):
    plain = qa.predict([{"question": QUESTION, "context": PLAIN}])[0]
    assert plain["answer"] == "Mary Shelley"
    records = qa.predict([{"question": QUESTION, "context": context} for context in MARKED.values()])
    for (name, context), record in zip(MARKED.items(), records):
        assert record["answer"] == context[record["start"]:record["end"]], name  # offsets into the text given
        assert record["start"] == context.index("Mary") and record["end"] == context.index("Shelley") + 7, name
        assert record["score"] == plain["score"], name


def test_a_mark_outside_the_answer_is_left_out_of_it():
    context = "By Mary \u200bShelley\u200b, 1818."
    form = _Composed(context)
    assert form.text == "By Mary Shelley, 1818."
    at = form.text.index("Shelley")
    assert form.original_record({"answer": "Shelley", "start": at, "end": at + 7}, context) == {
        "answer": "Shelley", "start": context.index("Shelley"), "end": context.index("Shelley") + 7}


def test_a_plain_gold_answer_is_found_across_a_layout_mark_and_scores_exact():
    context = MARKED["zero-width space after"]
    start, end = _answer_span({"context": context, "answers": ["Mary Shelley"], "answer_starts": [-1]})
    assert context[start:end] == "Mary\u200b Shelley"
    assert squad_scores(["Mary Shelley"], "Mary\u200b Shelley") == (100.0, 100.0)
    assert squad_scores(["Mary\ufeff Shelley"], "Mary Shelley") == (100.0, 100.0)
