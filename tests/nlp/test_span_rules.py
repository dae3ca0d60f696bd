"""nlp._span_rules: words, sentences and answer spans in any script."""

from __future__ import annotations

import pytest

from nlp._span_rules import best_span, content_words, split_sentences

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


@pytest.mark.parametrize("text, sentences", [
    ("Er kam spät. Über den Berg ging er. 東京は大きい。北京も大きい。",
     ["Er kam spät.", "Über den Berg ging er.", "東京は大きい。", "北京も大きい。"]),
    ("Он пришёл. Потом ушёл.", ["Он пришёл.", "Потом ушёл."]),
    ("次だ！ 最後？", ["次だ！", "最後？"]),
    ("See e.g. the dog. Then 3.5 km! \"Yes,\" he said.", ["See e.g. the dog.", "Then 3.5 km!", "\"Yes,\" he said."]),
])
def test_sentences_split_before_capitals_of_any_script_and_after_cjk_stops(text, sentences):
    assert [text[start:end] for start, end in split_sentences(text)] == sentences


@pytest.mark.parametrize("question, context, answer", [
    # XQuAD's own sentences, where the date answer took the words towards the question's ("1886, Robert")
    ("When did the partnership between Tesla, Lane and Vail form?",
     "After leaving Edison's company Tesla partnered with two businessmen in 1886, Robert Lane and Benjamin Vail, who "
     "agreed to finance an electric lighting company in Tesla's name.", "1886"),
    ("In which year did the gallery devoted to Chinese art open?",
     "The T. T. Tsui Gallery of Chinese art opened in 1991, displaying a representative collection.", "1991"),
    ("When did Denmark join the EU?",
     "More member states have joined, from the UK, Ireland, Denmark and Norway in 1972, Greece in 1979.", "1972"),
])
def test_a_date_answer_takes_no_word_beyond_the_date(question, context, answer):
    start, end, _ = best_span(question, context, 0, len(context))
    assert context[start:end] == answer


def test_words_keep_their_combining_marks_and_joiners_in_any_script():
    """Python's \\w leaves out Indic vowel signs and viramas: 'हिन्दी' read as 'ह', 'न', 'द', and an answer ended in
    'म' for 'में'; Persian ZWNJ ('کتاب\u200cها', books) split a word in two."""
    assert content_words("हिन्दी भाषा में") == {"हिन्दी", "भाषा", "में"}
    assert content_words("کتاب\u200cها را") == {"کتاب\u200cها", "را"}
    assert content_words("\U0001f468\u200d\U0001f469 family") == {"family"}  # an emoji's joiner joins no word
    context = "पुल का निर्माण इसाम्बर्ड ब्रुनेल ने किया था। यह 1864 में खुला।"
    for question in ("When did the bridge open?", "Who built it?"):
        for sentence in split_sentences(context):
            start, end, _ = best_span(question, context, *sentence)
            assert context[start - 1:start] in ("", " ") and context[end:end + 1] in ("", " ", "।"), context[start:end]
