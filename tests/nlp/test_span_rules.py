"""nlp._span_rules: words, sentences and answer spans in any script."""

from __future__ import annotations

import pytest

from nlp._span_rules import best_span, content_words

CONTEXT = "Café owner Zoë Çelik went to Zürich in 2019. Later she moved to São Paulo."


@pytest.mark.parametrize("question, sentence, answer", [
    ("Who is the café owner?", 0, "Zoë Çelik"),
    ("Where did Zoë go?", 0, "Zürich"),
    ("Where did she move later?", 1, "São Paulo"),
])
def test_answer_spans_keep_accented_letters(question, sentence, answer):
    spans = [(0, 44), (45, len(CONTEXT))]
    start, end, _ = best_span(question, CONTEXT, *spans[sentence])
    assert CONTEXT[start:end] == answer


def test_content_words_are_whole_words_in_any_script():
    assert content_words("Where did Zoë go to São Paulo?") == {"zoë", "go", "são", "paulo"}
    assert content_words("Wo liegt Zürich?") >= {"zürich"}
    assert "sa\u0303o" in content_words("Sa\u0303o Paulo")  # decomposed accent stays inside the word
