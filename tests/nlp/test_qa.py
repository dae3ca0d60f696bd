"""nlp.qa: SQuAD reading, stride over long contexts, SQuAD v2 no-answer, the retrieval baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from nlp.qa import QAModel, read_squad
from tests.nlp.tiny import squad_dict, tiny_encoder_dir, tiny_qa

XQUAD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nlp.qa" / "xquad_en_subset_a.json"


@pytest.fixture(scope="module")
def extractive():
    model, tokenizer = tiny_qa()
    return QAModel.from_model(model, tokenizer, device="cpu", max_length=32, stride=8)


def test_read_squad_file_and_malformed(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(squad_dict(version_2=True)))
    examples = QAModel.read_data(path)
    assert len(examples) == 3 and examples[1]["is_impossible"] and examples[0]["answers"] == ["France"]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_squad(tmp_path / "bad.json")
    with pytest.raises(InputError, match="answers"):
        read_squad({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": "x"}]}]}]})


def test_long_context_uses_stride_windows(extractive):
    context = " ".join(["Paris is the capital of France."] * 30)
    record = extractive.predict([{"question": "Where is Paris?", "context": context}])[0]
    assert 0 <= record["start"] <= record["end"] <= len(context)
    assert context[record["start"]:record["end"]] == record["answer"]


def test_squad_v2_no_answer_and_scoring(extractive):
    model, tokenizer = tiny_qa()
    abstainer = QAModel.from_model(model, tokenizer, device="cpu", max_length=32, stride=8, allow_no_answer=True,
                                   no_answer_margin=-1e9)
    record = abstainer.predict([("Who won?", "Paris is the capital of France.")])[0]
    assert record["answer"] == "" and record["no_answer"]
    card = abstainer.evaluate(squad_dict(version_2=True))
    # Only the unanswerable question is right when the model always abstains.
    assert card["metrics"]["exact_match"]["value"] == pytest.approx(100 / 3)
    assert card["plots"]["F1 per question"]["values"] == [0.0, 0.0, 100.0]  # lowest first
    assert card["worst_questions"][0]["prediction"] == "" and len(card["worst_questions"]) == 3


def test_retrieval_baseline_rules_and_fit_converts(tmp_path):
    model = QAModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    context = "Paris is the capital of France. The Super Bowl was played in 2016 in Santa Clara."
    record = model.predict([{"question": "In what year was the Super Bowl played?", "context": context}])[0]
    assert record["answer"] == "2016"
    saved = model.save(tmp_path / "retrieval")
    assert QAModel.load(saved, device="cpu").predict([("When was the Super Bowl played?", context)])[0]["answer"] == "2016"
    model.fit(squad_dict(), QAModel.Config(epochs=1, max_steps=1, batch_size=2, max_length=64, stride=16))
    assert model.kind == "extractive"


@pytest.mark.slow
@pytest.mark.skipif(not XQUAD.is_file(), reason="shared XQuAD file not present")
def test_embedded_baseline_on_xquad():
    model = QAModel.load(None, device="cpu")
    card = model.evaluate(QAModel.read_data(XQUAD))
    assert card["metrics"]["f1"]["value"] > 10


def test_table_inputs_with_a_blank_question_give_an_error_record_in_place(tmp_path):
    from core.protocols import predict_records

    class Echo:
        def predict(self, items, batch_size=None):
            assert all(item["question"].strip() and item["context"].strip() for item in items)
            return [{"answer": item["context"].split()[0]} for item in items]

    path = tmp_path / "questions.csv"
    path.write_text("id,question,context\nq1,Who?,Tom wrote it.\nq2,,Ann wrote it.\nq3,When?,\nq4,Who?,Ann wrote it.\n")
    records = list(predict_records(Echo(), QAModel.read_inputs(path)))
    assert records == [{"id": "q1", "answer": "Tom"}, {"id": "q2", "error": "empty question"},
                       {"id": "q3", "error": "empty context"}, {"id": "q4", "answer": "Ann"}]


def test_json_inputs_carry_squad_ids_or_rows_like_jsonl(tmp_path):
    """SQuAD JSON keeps each question's own id; a JSON list of records reads like JSONL: its id column, else `row`
    (1-based), and a blank question is an error record in place."""
    import json

    from core.protocols import predict_records

    class Echo:
        def predict(self, items, batch_size=None):
            return [{"answer": item["context"].split()[0]} for item in items]

    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Tom wrote it.", "qas": [
        {"id": "abc", "question": "Who?", "answers": []}, {"id": "def", "question": "What?", "answers": []}]}]}]}))
    assert list(predict_records(Echo(), QAModel.read_inputs(squad))) == [{"id": "abc", "answer": "Tom"},
                                                                          {"id": "def", "answer": "Tom"}]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"question": "Who?", "context": "Tom wrote it."},
                                  {"question": " ", "context": "Ann wrote it."}]))
    assert list(predict_records(Echo(), QAModel.read_inputs(listed))) == [{"row": 1, "answer": "Tom"},
                                                                           {"row": 2, "error": "empty question"}]
    listed.write_text(json.dumps([{"id": "q7", "question": "Who?", "context": "Ann wrote it."}]))
    assert list(predict_records(Echo(), QAModel.read_inputs(listed))) == [{"id": "q7", "answer": "Ann"}]
