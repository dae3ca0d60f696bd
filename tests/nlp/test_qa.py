"""nlp.qa: SQuAD reading, stride over long contexts, SQuAD v2 no-answer, the retrieval baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


@pytest.mark.parametrize("data, named", [
    ([1, 2], "example 1 is not an object"),
    (["abc"], "example 1 is not an object \\(got 'abc'\\)"),
    ([{"id": "x", "question": "Who?", "context": "Bob did it.", "answers": {"text": ["Bob"], "answer_start": [0, 4]}}],
     "'x'.*one offset per answer text"),
    ({"data": [{"paragraphs": [{"context": "Bob did it.", "qas": [
        {"id": "q9", "question": "Who?", "answers": [{"text": "Bob", "answer_start": None}]}]}]}]}, "'q9'.*answer_start.*None"),
    ({"data": [{"paragraphs": [{"context": "Bob did it.", "qas": [
        {"id": "q9", "question": "Who?", "answers": [{"text": "Bob", "answer_start": "zero"}]}]}]}]}, "'q9'.*answer_start.*'zero'"),
])
def test_read_squad_names_the_example_and_field_of_malformed_data(data, named):
    with pytest.raises(InputError, match=named):
        read_squad(data)


def test_blank_squad_question_is_an_error_record_in_predict_and_refused_in_evaluate(tmp_path, extractive):
    from core.protocols import predict_records

    data = squad_dict()
    data["data"][0]["paragraphs"][0]["qas"].append({"id": "q7", "question": "  ", "answers": [{"text": "Paris", "answer_start": 0}]})
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    records = list(predict_records(extractive, QAModel.read_inputs(path)))
    assert [r["id"] for r in records] == ["q1", "q7", "q2"]
    assert records[1] == {"id": "q7", "error": "empty question"} and "answer" in records[0] and "answer" in records[2]
    with pytest.raises(InputError, match="'q7' has an empty 'question'"):
        QAModel.read_data(path)
    with pytest.raises(InputError, match="'q7' has an empty 'question'"):
        extractive.evaluate(data)


def test_question_longer_than_the_window_keeps_its_first_tokens(extractive):
    long_question = "Where " + "is the capital " * 60 + "?"
    records = extractive.predict([("Where is Paris?", "Paris is the capital of France."),
                                  (long_question, "Paris is the capital of France.")])
    assert all(r["answer"] == "Paris is the capital of France."[r["start"]:r["end"]] for r in records)
    data = squad_dict()
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = long_question
    assert extractive.evaluate(data)["n"] == 2
    features = extractive._features(read_squad(data))
    assert features and all(len(row["input_ids"]) == 32 for row in features)
    assert extractive.save_card()["preprocessing"]["max_query_length"] == 64


def test_fit_finds_answers_given_without_offsets_and_names_one_not_in_its_context():
    model, tokenizer = tiny_qa()
    qa = QAModel.from_model(model, tokenizer, device="cpu")
    config = QAModel.Config(epochs=1, max_steps=1, batch_size=2, max_length=32, stride=8)
    rows = [{"id": f"d{i}", "question": "Who won the game?", "context": "Paris won the game.",
             "answers": {"text": ["Paris"], "answer_start": []}} for i in range(2)]
    assert read_squad(rows)[0]["answer_starts"] == [-1]
    assert qa.fit(rows, config).max_length == 32 and qa._features(read_squad(rows))[0]["start_positions"] > 0
    rows[1]["answers"] = {"text": ["London"], "answer_start": []}
    with pytest.raises(InputError, match="'d1'.*not in its context"):
        qa.fit(rows, config)
    with pytest.raises(InputError, match="'d1'.*not in its context"):
        QAModel.validate_training_data(read_squad(rows))


def test_window_settings_outside_the_encoder_are_named():
    from core.config import resolve_config

    with pytest.raises(InputError, match="'stride' must be >= 1 and <= 44.*got 64"):
        resolve_config(QAModel.Config, overrides={"max_length": "64", "stride": "64"})
    with pytest.raises(InputError, match="'max_query_length' must be >= 1"):
        QAModel.Config(max_query_length=0)
    model, tokenizer = tiny_qa()  # 128 position embeddings
    qa = QAModel.from_model(model, tokenizer, device="cpu")
    with pytest.raises(InputError, match="'max_length' must be .*<= 128.*got 1000"):
        qa.fit(squad_dict(), QAModel.Config(epochs=1, max_steps=1, max_length=1000))
    qa.max_length = 1000
    with pytest.raises(InputError, match="'max_length' must be .*<= 128"):
        qa.predict([("Where is Paris?", "Paris is the capital of France.")])


def test_a_folder_whose_card_does_not_match_its_weights_is_refused(tmp_path, extractive):
    import json

    from core.errors import UnsafeArtifactError

    saved = extractive.save(tmp_path / "qa")
    assert QAModel.load(saved, device="cpu").kind == "extractive"
    card = json.loads((saved / "card.json").read_text())
    for kind in ("retrieval", "classifier"):  # another kind's card on these weights
        (saved / "card.json").write_text(json.dumps({**card, "kind": kind}))
        with pytest.raises(UnsafeArtifactError, match="does not match"):
            QAModel.load(saved, device="cpu")


def test_predict_records_carry_their_input_id(extractive, tmp_path):
    """DESIGN.md: every predict record carries its input's id (a dict's "id", else its position from 1); the CLI's
    own ids (rows, SQuAD ids) still win over a batch's positions."""
    from core.protocols import predict_records

    context = "Paris is the capital of France."
    records = extractive.predict([{"question": "Where is Paris?", "context": context},
                                  {"id": "q7", "question": "Where is Paris?", "context": context}])
    assert [list(r)[0] for r in records] == ["index", "id"] and (records[0]["index"], records[1]["id"]) == (1, "q7")
    assert extractive.predict({"question": "Where is Paris?", "context": context})[0]["index"] == 1
    assert extractive.predict([]) == []
    path = tmp_path / "questions.csv"
    path.write_text(f"question,context\nWhere is Paris?,{context}\n,{context}\n")
    rows = list(predict_records(extractive, QAModel.read_inputs(path)))
    assert [list(r)[0] for r in rows] == ["row", "row"] and "index" not in rows[0] and rows[1] == {"row": 2, "error": "empty question"}


def test_a_json_list_of_questions_is_parsed_once(tmp_path, monkeypatch):
    """read_inputs parsed a .json list twice: once to see it was not SQuAD, then again as a table."""
    from core.data import text

    parsed = []
    read_json = text.read_json
    monkeypatch.setattr(text, "read_json", lambda *args, **kwargs: parsed.append(args[0]) or read_json(*args, **kwargs))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"id": "q7", "question": "Who?", "context": "Ann wrote it."},
                                  {"id": "q8", "question": "", "context": "Tom wrote it."}]))
    items = QAModel.read_inputs(listed)
    assert len(parsed) == 1 and list(items) == [{"question": "Who?", "context": "Ann wrote it."},
                                                {"question": "", "context": "Tom wrote it."}]
    assert items.ids == [{"id": "q7"}, {"id": "q8"}] and items.errors == {1: "empty question"}
    for bad in ([], ["Who?"], [[1, 2]]):
        listed.write_text(json.dumps(bad))
        with pytest.raises(InputError, match="list.json must hold SQuAD JSON .* or a non-empty JSON list"):
            QAModel.read_inputs(listed)
    listed.write_text(json.dumps([{"question": "Who?"}]))
    with pytest.raises(InputError, match="context"):
        QAModel.read_inputs(listed)


def test_predict_given_read_inputs_with_a_blank_question_gives_its_error_record(extractive, tmp_path):
    """`model.predict(QAModel.read_inputs(path))` raised on a blank question; the CLI gave it an error record in its
    place, and so does predict now."""
    context = "Paris is the capital of France."
    path = tmp_path / "questions.csv"
    path.write_text(f"id,question,context\nq1,Where is Paris?,{context}\nq2,,{context}\n")
    records = extractive.predict(QAModel.read_inputs(path))
    alone = {k: v for k, v in extractive.predict([{"question": "Where is Paris?", "context": context}])[0].items()
             if k != "index"}
    assert records == [{"id": "q1", **alone}, {"id": "q2", "error": "empty question"}]


def test_a_numpy_id_is_given_back_as_a_python_value_json_can_write(extractive):
    context = "Paris is the capital of France."
    records = extractive.predict([{"id": np.int64(3), "question": "Where is Paris?", "context": context},
                                  {"id": np.str_("q7"), "question": "Where is Paris?", "context": context}])
    assert [type(r["id"]) for r in records] == [int, str] and records[0]["id"] == 3
    json.dumps(records)  # was "Object of type int64 is not JSON serializable"


def test_squad_scores_are_the_official_v2_script_s():
    from nlp.qa import squad_scores

    # the official evaluate-v2.0.py: normalised exact match, token F1, best over the answers; no answer: 1 if both empty
    assert squad_scores(["Denver Broncos", "The Broncos"], "the Broncos!") == (100.0, 100.0)
    assert squad_scores(["Denver Broncos"], "Broncos") == (0.0, pytest.approx(200 / 3))
    assert squad_scores(["Santa Clara, California"], "Levi's Stadium") == (0.0, 0.0)
    assert squad_scores([], "") == (100.0, 100.0) and squad_scores([], "Paris") == (0.0, 0.0)
    assert squad_scores(["the"], "") == (100.0, 100.0)  # an answer that normalises to nothing counts as none (as there)


def test_null_threshold_abstains_below_it_and_evaluate_splits_has_and_no_answer(tmp_path):
    from core.cli import known_option_keys

    model = QAModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    assert model.null_threshold is None  # off by default: on answerable-only data abstaining only costs F1
    questions = [{"question": "Where is Paris?", "context": "Paris is the capital of France."},
                 {"question": "Who won the game?", "context": "Paris is the capital of France."}]
    kept = model.predict(questions)
    assert [r["no_answer"] for r in kept] == [False, False] and all(r["answer"] for r in kept)
    assert model.predict(questions, null_threshold=0) == kept
    abstained = model.predict(questions, null_threshold=1)
    assert [(r["answer"], r["start"], r["end"], r["no_answer"]) for r in abstained] == [("", -1, -1, True)] * 2
    assert [r["score"] for r in abstained] == [r["score"] for r in kept]  # the score the rejected span had
    middle = sorted(r["score"] for r in kept)
    if middle[0] < middle[1]:
        split = model.predict(questions, null_threshold=(middle[0] + middle[1]) / 2)
        assert sorted(r["no_answer"] for r in split) == [False, True]
    with pytest.raises(InputError, match="null_threshold must be a number from 0 to 1"):
        model.predict(questions, null_threshold=1.5)

    always = model.evaluate(squad_dict(version_2=True), null_threshold=1)  # two answerable questions, one not
    metrics = always["metrics"]
    assert metrics["no_answer_exact_match"]["value"] == metrics["no_answer_f1"]["value"] == 100.0
    assert metrics["has_answer_exact_match"]["value"] == metrics["has_answer_f1"]["value"] == 0.0
    assert metrics["f1"]["value"] == pytest.approx(100 / 3) and always["questions"] == {"has_answer": 2, "no_answer": 1}
    assert always["abstained"] == 3 and always["null_threshold"] == 1
    never = model.evaluate(squad_dict(version_2=True))
    assert never["metrics"]["no_answer_f1"]["value"] == 0.0 and never["abstained"] == 0
    assert "has_answer_f1" not in model.evaluate(squad_dict())["metrics"]  # v1.1 data: nothing to split

    model.null_threshold = 1  # the model's own threshold travels in its card
    loaded = QAModel.load(model.save(tmp_path / "saved"), device="cpu")
    assert loaded.null_threshold == 1 and all(r["no_answer"] for r in loaded.predict(questions))
    assert loaded.predict(questions, null_threshold=0) == kept  # 0 turns it off for one call
    assert "null_threshold" in known_option_keys(QAModel, "predict") and "null_threshold" in known_option_keys(QAModel, "evaluate")
    model.null_threshold = None  # saved as null: stays off when loaded
    assert QAModel.load(model.save(tmp_path / "off"), device="cpu").null_threshold is None
    card = json.loads((tmp_path / "off" / "card.json").read_text())
    assert card["preprocessing"]["null_threshold"] is None


# The choice set RETRIEVAL_NULL_THRESHOLD was chosen on: paragraphs written for it, on topics outside the XQuAD subset
# that measures the model; SQuAD 2.0 form (answers [] = unanswerable).
CHOICE_PARAGRAPHS = [
    ("Honey bees live in colonies of up to 60,000 workers. A single queen lays all the eggs, up to 2,000 a day in "
     "summer. Workers collect nectar from flowers and turn it into honey, which the colony eats during the winter.",
     [("How many workers can a honey bee colony hold?", "up to 60,000"), ("Who lays the eggs in a colony?", "A single queen"),
      ("What do workers turn nectar into?", "honey")],
     ["What colour are the queen's wings?"]),
    ("The Amazon River flows through Peru, Colombia and Brazil before it reaches the Atlantic Ocean. It carries more "
     "water than any other river, about a fifth of all the fresh water that rivers pour into the oceans.",
     [("Which ocean does the Amazon reach?", "the Atlantic Ocean"),
      ("Which countries does the Amazon flow through?", "Peru, Colombia and Brazil"),
      ("How much of the rivers' fresh water does the Amazon carry?", "about a fifth")],
     ["Who was the first European to sail up the Amazon?"]),
    ("Chess is played on a board of 64 squares. Each player starts with sixteen pieces, and the game ends when a king "
     "is checkmated. The first official world champion was Wilhelm Steinitz, who won the title in 1886.",
     [("How many squares does a chess board have?", "64"),
      ("Who was the first official world chess champion?", "Wilhelm Steinitz"), ("When did Steinitz win the title?", "1886")],
     ["Who was the world champion in 1950?"]),
    ("Coffee plants grow best in the tropics, between the Tropic of Cancer and the Tropic of Capricorn. Brazil has "
     "been the largest producer for more than 150 years. The two main species are arabica and robusta.",
     [("Which country is the largest coffee producer?", "Brazil"),
      ("What are the two main species of coffee?", "arabica and robusta"), ("Where do coffee plants grow best?", "in the tropics")],
     ["How much caffeine is in a cup of arabica?"]),
    ("Mount Vesuvius erupted in the year 79, burying the Roman towns of Pompeii and Herculaneum under ash. The volcano "
     "last erupted in 1944, during the Second World War, and about three million people live near it today.",
     [("When did Vesuvius bury Pompeii?", "79"), ("Which towns were buried under ash?", "Pompeii and Herculaneum"),
      ("When did Vesuvius last erupt?", "1944")],
     ["How tall is Mount Vesuvius?"]),
    ("The violin has four strings tuned in fifths. Antonio Stradivari made about 1,100 instruments in his workshop in "
     "Cremona, and around 650 of them survive. A violin's bow is usually strung with horsehair.",
     [("How many strings does a violin have?", "four"), ("Where was Stradivari's workshop?", "Cremona"),
      ("What is a violin's bow strung with?", "horsehair")],
     ["Who taught Stradivari to make violins?"]),
]


def choice_set() -> list[dict]:
    """36 questions: 18 answerable, 6 unanswerable about their own paragraph, 12 asked of the next paragraph."""
    examples = []
    for p, (context, answerable, unanswerable) in enumerate(CHOICE_PARAGRAPHS):
        other = CHOICE_PARAGRAPHS[(p + 1) % len(CHOICE_PARAGRAPHS)][0]
        examples += [{"id": f"p{p}a{q}", "question": question, "context": context, "answers": [answer]}
                     for q, (question, answer) in enumerate(answerable)]
        examples += [{"id": f"p{p}u{q}", "question": question, "context": context, "answers": []}
                     for q, question in enumerate(unanswerable)]
        examples += [{"id": f"p{p}o{q}", "question": question, "context": other, "answers": []}
                     for q, (question, _) in enumerate(answerable[:2])]
    return examples


def test_the_choice_set_is_well_formed():
    examples = read_squad(choice_set())
    assert len(examples) == 36 and sum(bool(e["answers"]) for e in examples) == 18
    assert all(e["answers"][0] in e["context"] for e in examples if e["answers"])


@pytest.mark.slow  # the packaged MiniLM: about a minute on 2 busy cores
def test_the_retrieval_default_s_null_threshold_is_the_best_on_its_choice_set():
    from nlp.qa import RETRIEVAL_NULL_THRESHOLD, squad_scores

    model = QAModel.load(None, device="cpu")
    examples = choice_set()
    spans = model.predict([{"question": e["question"], "context": e["context"]} for e in examples], null_threshold=0)
    grid = [round(0.05 * i, 2) for i in range(20)]
    f1 = [np.mean([squad_scores(e["answers"], "" if p["score"] < t else p["answer"])[1] for e, p in zip(examples, spans)])
          for t in grid]
    assert grid[int(np.argmax(f1))] == RETRIEVAL_NULL_THRESHOLD  # argmax: the lowest of equal bests
    card = model.evaluate(choice_set(), null_threshold=RETRIEVAL_NULL_THRESHOLD)
    assert card["metrics"]["f1"]["value"] == pytest.approx(max(f1)) and card["questions"] == {"has_answer": 18, "no_answer": 18}


def test_evaluate_splits_has_and_no_answer_by_the_official_rule_any_gold_answer_at_all(tmp_path):
    # the official SQuAD v2 script: has-answer is bool(qa["answers"]); an answer "the" normalises to "" yet counts
    data = squad_dict(version_2=True)
    context = data["data"][0]["paragraphs"][0]["context"]
    data["data"][0]["paragraphs"][0]["qas"].append(
        {"id": "q4", "question": "Which article?", "answers": [{"text": "the", "answer_start": context.index("the")}]})
    model = QAModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    card = model.evaluate(data, null_threshold=1)
    assert card["questions"] == {"has_answer": 3, "no_answer": 1}
    assert card["metrics"]["no_answer_exact_match"]["value"] == 100.0  # only q3, where abstaining is right


def test_the_card_counts_the_questions_trained_on_apart_from_those_held_out():
    """trained_on said "20 user-supplied SQuAD-format questions" when 2 of them were held out for validation and
    never trained on: the card now gives the questions trained on, those held out, and the total."""
    model, tokenizer = tiny_qa()
    qa = QAModel.from_model(model, tokenizer, device="cpu")
    config = QAModel.Config(epochs=1, max_steps=1, batch_size=2, max_length=32, stride=8)
    rows = [{"id": f"d{i}", "question": "Who won the game?", "context": f"Paris won the game {i}.",
             "answers": {"text": ["Paris"], "answer_start": [0]}} for i in range(20)]
    card = qa.fit(rows, config).card
    assert card["trained_on"] == ("18 user-supplied SQuAD-format questions (of 20 given; the other 2 were held out for "
                                  "validation, not trained on)")
    assert card["training"] == {"rows": 18, "validation_rows": 2}
    card = qa.fit(rows[:18], config, validation_data=rows[18:]).card
    assert card["trained_on"] == ("18 user-supplied SQuAD-format questions (and 2 other questions given for "
                                  "validation, not trained on)")
    assert qa.fit(rows[:5], config).card["training"] == {"rows": 5, "validation_rows": 0}


def _hf_squad_rows() -> list[dict]:
    """What Hugging Face `datasets` exports for SQuAD v2 (`to_json` / `to_parquet`): one flat row per question."""
    context = "Marie Curie was born in Warsaw in 1867. She won two Nobel Prizes."
    return [{"id": "q1", "title": "Curie", "context": context, "question": "Where was Curie born?",
             "answers": {"text": ["Warsaw", "in Warsaw"], "answer_start": [24, 21]}},
            {"id": "q2", "title": "Curie", "context": context, "question": "When did she die?",
             "answers": {"text": [], "answer_start": []}}]


def _nested(rows: list[dict]) -> dict:
    qas = [{"id": r["id"], "question": r["question"], "is_impossible": not r["answers"]["text"],
            "answers": [{"text": t, "answer_start": s} for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]}
           for r in rows]
    return {"version": "v2.0", "data": [{"title": "Curie", "paragraphs": [{"context": rows[0]["context"], "qas": qas}]}]}


def test_hf_datasets_squad_export_reads_as_the_nested_squad_json(tmp_path):
    import polars as pl

    rows = _hf_squad_rows()
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "squad.jsonl").write_text(lines)
    (tmp_path / "squad_lines.json").write_text(lines)  # datasets' to_json default: JSON lines under a .json name
    pl.DataFrame(rows).write_parquet(tmp_path / "squad.parquet")
    (tmp_path / "nested.json").write_text(json.dumps(_nested(rows)))
    expected = [{k: e[k] for k in ("id", "question", "context", "answers", "answer_starts", "is_impossible")}
                for e in QAModel.read_data(tmp_path / "nested.json")]
    assert expected[0]["answers"] == ["Warsaw", "in Warsaw"] and expected[1]["is_impossible"]
    for name in ("squad.jsonl", "squad_lines.json", "squad.parquet"):
        examples = QAModel.read_data(tmp_path / name)
        assert [{k: e[k] for k in expected[0]} for e in examples] == expected, name
        assert QAModel.check_data(tmp_path / name)["n"] == 2
    inputs = QAModel.read_inputs(tmp_path / "squad_lines.json")
    assert [i["question"] for i in inputs] == [r["question"] for r in rows]
    (tmp_path / "broken.jsonl").write_text(lines + "{oops\n")
    with pytest.raises(InputError, match="line 3 is not valid JSON"):
        QAModel.read_data(tmp_path / "broken.jsonl")
