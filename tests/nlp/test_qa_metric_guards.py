"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

from nlp.qa import squad_scores


def test_article_a_is_dropped_as_in_squad_script():  # kills N1
    # official SQuAD v1.1/v2.0 normalize_answer: re.sub(r'\b(a|an|the)\b', ' ', text)
    assert squad_scores(["dog"], "a dog") == (100.0, 100.0)


def test_apostrophe_is_punctuation():  # kills N4
    assert squad_scores(["Dont stop"], "Don't stop") == (100.0, 100.0)


def test_a_one_row_hugging_face_squad_export_reads_as_one_question(tmp_path):
    """A one-row `to_json` export is one object on one line; two rows read, one was 'not SQuAD JSON'."""
    import json

    from nlp.qa import read_squad

    row = {"id": "q1", "title": "t", "context": "Paris is in France.", "question": "Where is Paris?",
           "answers": {"text": ["France"], "answer_start": [12]}}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(row) + "\n")
    assert [e["answers"] for e in read_squad(path)] == [["France"]]
