"""finance.risk on what the user brings: every predict record carries its input's id, and evaluate reads which target
value means default when the data codes it otherwise than the model (positive_label)."""

from __future__ import annotations

import polars as pl
import pytest

from core.protocols import identify_inputs, predict_records
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=30, early_stopping_rounds=5, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


@pytest.fixture(scope="module")
def data():
    return synthetic_applicants(300, seed=0)


@pytest.fixture(scope="module")
def model(data):
    return RiskScorer().fit(data, config=fast(family="gbm"))


SCORES = ["pd", "score", "risk_band", "warnings"]


def test_every_record_starts_with_its_inputs_id(model, data):
    frame = data.drop("default").head(3)
    rows = frame.to_dicts()
    scores = model.predict_table(frame).to_dicts()
    assert model.predict(rows) == [{"index": i + 1, **s} for i, s in enumerate(scores)]
    assert model.predict(frame) == [{"row": i + 1, **s} for i, s in enumerate(scores)]
    assert model.predict(frame.lazy()) == model.predict(frame.to_pandas()) == model.predict(frame)
    named = frame.with_columns(ID=pl.Series(["k1", "k2", "k3"]))
    assert [r["id"] for r in model.predict(named)] == ["k1", "k2", "k3"]
    assert [r["id"] for r in model.predict([{**r, "id": 70 + i} for i, r in enumerate(rows)])] == [70, 71, 72]
    assert model.predict(rows[0]) == model.predict(rows[:1]) == [{"index": 1, **scores[0]}]  # one dict: a list of one
    assert model.predict({"id": "k9", **rows[0]})[0]["id"] == "k9"
    assert [r["row"] for r in model.predict({k: [v] * 2 for k, v in rows[0].items()})] == [1, 2]  # a dict of columns
    assert model.predict([]) == model.predict(()) == model.predict(frame.head(0)) == []  # as every task answers


def test_the_callers_ids_win_over_the_batchs_own(model, data):
    frame = data.drop("default").head(5).with_columns(applicant=pl.Series([f"a{i}" for i in range(5)]),
                                                       id=pl.Series(range(100, 105)))
    scores = model.predict_table(frame).to_dicts()
    by_applicant = list(predict_records(model, identify_inputs(frame, "applicant"), chunk=2))  # batches of 2 rows
    assert by_applicant == [{"id": f"a{i}", **s} for i, s in enumerate(scores)]
    numbered = list(predict_records(model, identify_inputs(frame.drop("id")), chunk=2))
    assert numbered == [{"row": i + 1, **s} for i, s in enumerate(scores)]  # not each batch's own 1, 2


def test_evaluate_reads_the_datas_own_default_flag_when_told_which_value_it_is(data, tmp_path):
    from core.cli import main
    from core.errors import InputError

    named = data.with_columns(default=pl.when(pl.col("default") == 1).then(pl.lit("bad")).otherwise(pl.lit("good")))
    named_model = RiskScorer().fit(named, config=fast(family="gbm"))  # like the embedded default: knows bad and good
    assert named_model.card["label_map"]["positive"] == "bad"
    expected = named_model.evaluate(named)["metrics"]
    with pytest.raises(InputError, match=r"holds 0, 1; this model knows only bad \(default\) and good.*"
                                         r"--option positive_label=VALUE.*VALUE one of 0, 1"):
        named_model.evaluate(data)
    assert named_model.evaluate(data, positive_label=1)["metrics"] == expected
    inverted = named_model.evaluate(data.with_columns(default=1 - pl.col("default")), positive_label=0)
    assert inverted["metrics"] == expected and inverted["positive_label"] == "0"
    with pytest.raises(InputError, match="positive_label 'yes' is not a value of 'default'"):
        named_model.evaluate(data, positive_label="yes")

    path = tmp_path / "flags.csv"
    data.write_csv(path)
    assert named_model.evaluate(RiskScorer.read_data(path, positive_label=1))["metrics"] == expected
    saved = named_model.save(tmp_path / "model")
    assert main(["evaluate", "finance.risk", "--model", str(saved), "--data", str(path), "--json"]) == 2
    assert main(["evaluate", "finance.risk", "--model", str(saved), "--data", str(path), "--json",
                 "--option", "positive_label=1"]) == 0


def test_a_true_false_target_reads_as_true_false_and_takes_any_spelling(data, tmp_path):
    from core.cli import main
    from core.errors import InputError
    from finance._risk_data import encode_target, label_map_for

    flags = data.with_columns(default=pl.col("default") == 1)  # a Boolean column, as a CSV's true/false reads
    path = tmp_path / "flags.csv"
    flags.write_csv(path)
    assert RiskScorer.read_data(path).frame["default"].dtype == pl.Boolean
    assert RiskScorer.check_data(path)["label_map"]["positive"] == "true"  # was '1' of '0, 1'
    for spelling in ("true", "True", "TRUE", True, 1):
        assert label_map_for(flags["default"], spelling)["positive"] == "true"
    assert label_map_for(flags["default"], "False")["positive"] == "false"
    with pytest.raises(InputError, match=r"positive_label 'maybe' is not a value of 'default' \(false, true\)"):
        label_map_for(flags["default"], "maybe")
    model = RiskScorer().fit(RiskScorer.read_data(path, positive_label="True"), config=fast(family="gbm"))
    assert {k: model.card["label_map"][k] for k in ("positive", "negative")} == {"positive": "true", "negative": "false"}
    expected = model.evaluate(flags)["metrics"]
    assert model.evaluate(data)["metrics"] == expected  # 1/0 data on a true/false model: the same flag
    with pytest.raises(InputError, match="positive_label 'false' contradicts the model: it was trained to treat 'true' as "
                                         "default"):  # the same values, swapped: scored against the opposite target
        model.evaluate(flags.with_columns(default=~pl.col("default")), positive_label="false")
    old = {"positive": "1", "negative": "0"}  # a model saved before, trained on the same column read as 1/0
    assert encode_target(flags["default"], old).tolist() == data["default"].to_list()
    saved = model.save(tmp_path / "model")
    assert main(["evaluate", "finance.risk", "--model", str(saved), "--data", str(path), "--json",
                 "--option", "positive_label=true"]) == 0
    assert main(["check-data", "finance.risk", str(path), "--option", "positive_label=TRUE"]) == 0


def test_evaluate_records_positive_label_as_resolved_and_refuses_one_contradicting_the_model(data, tmp_path):
    """positive_label=True was recorded as typed; a model trained with yes as default scored AUC 0.22 in silence
    against positive_label=no on the same yes/no target."""
    from core.cli import main
    from core.errors import InputError

    flags = data.with_columns(default=pl.col("default") == 1)
    flag_model = RiskScorer().fit(flags, config=fast(family="gbm"))
    for given in (True, "True", "TRUE", 1):
        assert flag_model.evaluate(flags, positive_label=given)["positive_label"] == "true"
    words = data.with_columns(default=pl.when(pl.col("default") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")))
    model = RiskScorer().fit(words, config=fast(family="gbm", positive_label="yes"))
    assert model.card["label_map"]["positive"] == "yes"
    assert model.evaluate(words, positive_label="yes")["positive_label"] == "yes"
    with pytest.raises(InputError, match="positive_label 'no' contradicts the model: it was trained to treat 'yes' as "
                                         "default and 'no' as not"):
        model.evaluate(words, positive_label="no")
    path = tmp_path / "words.csv"
    words.write_csv(path)
    saved = model.save(tmp_path / "model")
    assert main(["evaluate", "finance.risk", "--model", str(saved), "--data", str(path), "--json",
                 "--option", "positive_label=no"]) == 2
    with pytest.raises(InputError, match="positive_label '0' contradicts"):  # 1/0 data on a true/false model
        flag_model.evaluate(data, positive_label=0)


def test_positive_label_matches_the_targets_value_whatever_its_case_and_true_false_names_1_0(model, data, tmp_path):
    """positive_label=YES on yes/no data was refused (nlp.sentiment took it), and positive_label=true (text) on a 0/1
    target was refused though Python True was read as 1."""
    from core.cli import main
    from core.errors import InputError
    from finance._risk_data import label_map_for

    words = data.with_columns(default=pl.when(pl.col("default") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")))
    for given in ("YES", "Yes", "yes"):
        assert label_map_for(words["default"], given)["positive"] == "yes"
    assert label_map_for(words["default"], "NO")["positive"] == "no"
    expected = model.evaluate(data)["metrics"]
    for given in ("true", "TRUE", True, 1, "1"):
        result = model.evaluate(data, positive_label=given)
        assert result["positive_label"] == "1" and result["metrics"] == expected
    with pytest.raises(InputError, match="positive_label '0' contradicts the model"):  # false is 0, not the model's 1
        model.evaluate(data, positive_label="false")
    with pytest.raises(InputError, match=r"positive_label 'maybe' is not a value of 'default' \(0, 1\)"):
        model.evaluate(data, positive_label="maybe")
    path = tmp_path / "words.csv"
    words.write_csv(path)
    assert main(["check-data", "finance.risk", str(path), "--option", "positive_label=YES"]) == 0
    flags = tmp_path / "flags.csv"
    data.write_csv(flags)
    assert main(["evaluate", "finance.risk", "--model", str(model.save(tmp_path / "model")), "--data", str(flags),
                 "--json", "--option", "positive_label=true"]) == 0


def test_a_row_that_is_not_a_dict_is_counted_from_one_as_ids_are(model, data):
    rows = data.drop("default").head(2).to_dicts()
    with pytest.raises(Exception, match="row 2 is a list; each applicant must be a dict"):
        model.predict([rows[0], list(rows[1].values())])
