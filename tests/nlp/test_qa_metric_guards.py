"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

from nlp.qa import squad_scores


def test_article_a_is_dropped_as_in_squad_script():  # kills N1
    # official SQuAD v1.1/v2.0 normalize_answer: re.sub(r'\b(a|an|the)\b', ' ', text)
    assert squad_scores(["dog"], "a dog") == (100.0, 100.0)


def test_apostrophe_is_punctuation():  # kills N4
    assert squad_scores(["Dont stop"], "Don't stop") == (100.0, 100.0)
