"""finance.risk on categories never seen in training: each scored record says which column and value (predict, explain,
the streamed CLI), missing values are not unseen, and evaluate counts the rows."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from core import stream
from core.cli import main
from finance._cards import damaged_card
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants
from core.artifacts import write_card

UNSEEN = "was not in the training data; scored"
NEVER_MISSING = "a missing value, and none was missing in the training data; scored"


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=30, early_stopping_rounds=5, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


def with_purpose(frame, seed: int = 0):
    """A second categorical feature, so one row can hold two unseen values."""
    purposes = np.random.default_rng(seed).choice(["car", "home", "education"], frame.height)
    return frame.with_columns(purpose=pl.Series(purposes))


@pytest.fixture(scope="module")
def gbm_model():
    return RiskScorer().fit(with_purpose(synthetic_applicants(300, seed=0)), config=fast(family="gbm"))


@pytest.fixture(scope="module")
def saved_gbm(gbm_model, tmp_path_factory):
    return gbm_model.save(tmp_path_factory.mktemp("risk") / "model")


def applicant(**changes):
    return {"utilisation": 0.4, "income": 20000.0, "housing": "own", "purpose": "car", **changes}


def test_each_record_names_the_unseen_column_and_value(gbm_model):
    rows = [applicant(purpose="crypto"), applicant(), applicant(purpose=None), applicant(purpose=" NA "),
            applicant(purpose="crypto", housing="castle"), applicant(purpose=" home ")]
    records = gbm_model.predict(rows)
    assert records[1]["warnings"] == []  # known
    # missing and a null word are not unseen, but purpose was never missing in training: said as such
    assert records[2]["warnings"] == records[3]["warnings"] == [f"purpose: {NEVER_MISSING} as missing, as an unseen category is"]
    assert records[0]["warnings"] == ["purpose: 'crypto' was not in the training data; scored as missing"]
    assert records[4]["warnings"] == ["housing: 'castle' was not in the training data; scored as missing",
                                      "purpose: 'crypto' was not in the training data; scored as missing"]
    assert records[5]["warnings"] == []  # stripped as in training
    assert records[0]["pd"] == records[2]["pd"]  # what the warning says: LightGBM scores it as missing
    json.dumps(records)
    table = gbm_model.predict_table(rows)
    assert table.columns == ["pd", "score", "risk_band", "warnings"] and table["warnings"].dtype == pl.List(pl.String)
    assert gbm_model.explain(rows[0])["warnings"] == records[0]["warnings"]
    assert gbm_model.explain(rows[1])["warnings"] == []


def test_clean_table_gets_empty_warnings(gbm_model):
    frame = with_purpose(synthetic_applicants(200, seed=4), seed=4).drop("default")
    table = gbm_model.predict_table(frame)
    assert table["warnings"].dtype == pl.List(pl.String) and table["warnings"].list.len().sum() == 0
    assert gbm_model.predict_frame(frame, rows_per_chunk=64).schema["warnings"] == pl.List(pl.String)
    scored = gbm_model.predict_frame(frame.with_columns(pl.when(pl.int_range(pl.len()) == 150).then(pl.lit("crypto"))
                                                        .otherwise(pl.col("purpose")).alias("purpose")), rows_per_chunk=64)
    assert scored["warnings"].list.len().to_list() == [int(i == 150) for i in range(200)]


@pytest.mark.parametrize("family, way", [("scorecard", "with a neutral weight of evidence (0)"),
                                         ("logistic", "as none of the training categories")])
def test_the_warning_says_how_the_family_scored_it(family, way):
    model = RiskScorer().fit(synthetic_applicants(300, seed=0), config=fast(family=family))
    record = model.predict([{"utilisation": 0.3, "income": None, "housing": "castle"}])[0]
    assert record["warnings"] == [f"housing: 'castle' {UNSEEN} {way}"]


def test_streamed_predict_warns_in_every_batch_and_keeps_one_parquet_schema(saved_gbm, monkeypatch, tmp_path):
    monkeypatch.setattr(stream, "STREAM_ROWS", 100)  # 500 rows: 5 batches; the unseen values only in the later ones
    frame = with_purpose(synthetic_applicants(500, seed=7), seed=7).drop("default")
    row = pl.int_range(pl.len())
    frame = frame.with_columns(pl.when(row == 250).then(pl.lit("crypto")).when(row == 260).then(None)
                               .otherwise(pl.col("purpose")).alias("purpose"),
                               pl.when(row.is_in([250, 420])).then(pl.lit("castle")).otherwise(pl.col("housing")).alias("housing"))
    source = tmp_path / "applicants.parquet"
    frame.write_parquet(source, row_group_size=50)
    expected = {251: ["housing: 'castle' was not in the training data; scored as missing",
                      "purpose: 'crypto' was not in the training data; scored as missing"],
                261: [f"purpose: {NEVER_MISSING} as missing, as an unseen category is"],
                421: ["housing: 'castle' was not in the training data; scored as missing"]}
    out = tmp_path / "scores.jsonl"
    assert main(["predict", "finance.risk", "--model", str(saved_gbm), "--input", str(source), "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["row"]: r["warnings"] for r in records if r["warnings"]} == expected and len(records) == 500
    table = tmp_path / "scores.parquet"
    assert main(["predict", "finance.risk", "--model", str(saved_gbm), "--input", str(source), "--output", str(table)]) == 0
    written = pl.read_parquet(table)
    assert written["warnings"].dtype == pl.List(pl.String)
    assert {r: w for r, w in zip(written["row"], written["warnings"].to_list()) if w} == expected


def test_evaluate_counts_the_rows_with_unseen_categories(gbm_model):
    data = with_purpose(synthetic_applicants(300, seed=5), seed=5)
    clean = gbm_model.evaluate(data)
    assert clean["unseen_category_rows"] == 0 and "warning" not in clean
    row = pl.int_range(pl.len())
    shifted = data.with_columns(pl.when(row < 30).then(pl.lit("crypto")).when(row < 40).then(None)
                                .otherwise(pl.col("purpose")).alias("purpose"),
                                pl.when(row % 50 == 0).then(pl.lit("castle")).otherwise(pl.col("housing")).alias("housing"))
    card = gbm_model.evaluate(shifted)
    assert card["unseen_category_rows"] == 30 + 5  # rows 0, 50, ..., 250: one of them (0) also has crypto
    table = {r["feature"]: r for r in card["psi_table"]}
    assert table["purpose"]["unseen_rows"] == 30 and table["housing"]["unseen_rows"] == 6
    assert table["income"]["unseen_rows"] is None
    assert card["warning"].startswith("35 of 300 rows hold a category not seen in training")
    assert "purpose: 'crypto' in 30 rows" in card["warning"] and "housing: 'castle' in 6 rows" in card["warning"]
    drift = gbm_model.drift(shifted.drop("default"))
    assert drift["unseen_category_rows"] == 35 and drift["unseen_warning"] == card["warning"]
    json.dumps(card)


def test_per_column_conversions_equal_the_per_value_rules():
    """The column-wise categorical cleaning and LightGBM codes give what the per-value Python rules gave."""
    from finance._risk_data import NULL_WORDS, _categorical_series, feature_arrays
    from finance._risk_models import gbm_matrix

    rng = np.random.default_rng(0)
    words = ["own", "Rent", "NA", "na", "N/A", "nan", "None", "?", "", "#n/a", "castle", "mort gage"]
    pads = ["", " ", "\t", "\x1c", "\xa0", "\u3000", "\n "]
    raw = [None if rng.uniform() < 0.1 else str(rng.choice(pads) + rng.choice(words) + rng.choice(pads)) for _ in range(2000)]
    expected = [None if v is None or v.strip().lower() in NULL_WORDS else v.strip() for v in raw]
    assert _categorical_series(pl.Series("h", raw, dtype=pl.String)).to_list() == expected
    assert _categorical_series(pl.Series("h", raw, dtype=pl.String).cast(pl.Categorical)).to_list() == expected

    schema = [{"name": "h", "kind": "categorical", "categories": ["own", "Rent", "mort gage"]}]
    arrays = feature_arrays(pl.DataFrame({"h": pl.Series(raw, dtype=pl.String)}), schema)
    assert arrays["h"].dtype == object and arrays["h"].tolist() == expected
    index = {c: float(i) for i, c in enumerate(schema[0]["categories"])}
    codes = [np.nan if v is None else index.get(v, np.nan) for v in expected]
    np.testing.assert_array_equal(gbm_matrix(arrays, schema)[:, 0], codes)


def test_a_table_whose_first_value_is_missing(gbm_model):
    records = gbm_model.predict([applicant(purpose=None, housing=None), applicant(purpose="crypto")])
    assert records[0]["warnings"] == [f"{name}: {NEVER_MISSING} as missing, as an unseen category is"
                                      for name in ("housing", "purpose")]
    assert records[1]["warnings"] == [f"purpose: 'crypto' {UNSEEN} as missing"]


def test_a_long_unseen_value_is_quoted_shortened(gbm_model):
    long = "x" * 100_000  # a free-text cell: the warning used to quote all of it, per row and in the card
    warning = gbm_model.predict([applicant(purpose=long)])[0]["warnings"][0]
    assert warning.startswith("purpose: '" + "x" * 57 + "...'") and len(warning) < 200
    frame = pl.DataFrame([applicant(purpose=long), applicant()]).with_columns(default=pl.Series([1, 0]))
    card = gbm_model.evaluate(frame)
    few = gbm_model.drift(frame)["psi_warning"]  # 2 rows: PSI left without a verdict, a sentence of its own
    assert "not seen in training" in card["warning"] and len(card["warning"].replace(few, "")) < 400


def test_a_boolean_column_is_quoted_and_matched_as_the_data_writes_it():
    """A true/false column scored into a categorical feature: the warning quoted '1' / '0', and a CSV's true never
    matched the "true" the model was trained on."""
    data = synthetic_applicants(300, seed=0)
    flags = np.random.default_rng(0).choice(["true", "false", "unknown"], data.height)
    model = RiskScorer().fit(data.with_columns(flag=pl.Series(flags)), config=fast(family="logistic"))  # uses every column
    scored = data.drop("default").head(2).with_columns(flag=pl.Series([True, None]))
    assert [r["warnings"] for r in model.predict(scored)] == [[], [f"flag: {NEVER_MISSING} as none of the training categories"]]
    other = RiskScorer().fit(data.with_columns(flag=pl.Series(np.where(flags == "true", "yes", "no"))),
                             config=fast(family="logistic"))
    assert other.predict(scored.with_columns(flag=pl.Series([True, False])))[1]["warnings"] == [
        f"flag: 'false' {UNSEEN} as none of the training categories"]
    assert "flag: 'true' in 1 rows" in other.drift(scored)["unseen_warning"]


def test_no_warning_for_a_column_the_model_does_not_use():
    """`branch` is "south" in 3 of 300 rows: LightGBM cannot split on it (20 rows per leaf) and the scorecard bins it
    into one group, so its value cannot move their scores; the logistic model weighs it. A blend warns as its
    members that use the column score it."""
    import copy

    from finance._risk_models import BlendFamily

    data = synthetic_applicants(300, seed=0).with_columns(
        branch=pl.Series(["south" if i % 100 == 7 else "north" for i in range(300)]))
    unseen = {"utilisation": 0.3, "income": 1e4, "housing": "castle", "branch": "west"}
    models = {family: RiskScorer().fit(data, config=fast(family=family)) for family in ("gbm", "scorecard", "logistic")}
    for family in ("gbm", "scorecard"):
        model = models[family]
        west, north = model.predict([unseen, {**unseen, "branch": "north"}])
        assert west["pd"] == north["pd"] and "branch" not in model.family_.used_features()
        assert [w.split(":")[0] for w in west["warnings"]] == ["housing"]
        assert model.explain(unseen)["warnings"] == west["warnings"]
    assert [w.split(":")[0] for w in models["logistic"].predict([unseen])[0]["warnings"]] == ["housing", "branch"]
    blend = copy.copy(models["gbm"])
    blend.family_ = BlendFamily({"gbm": models["gbm"].family_, "logistic": models["logistic"].family_},
                                {"gbm": 0.5, "logistic": 0.5})
    assert blend.predict([unseen])[0]["warnings"] == [
        f"housing: 'castle' {UNSEEN} as missing (gbm), as none of the training categories (logistic)",
        f"branch: 'west' {UNSEEN} as none of the training categories"]


def test_evaluate_counts_unseen_categories_only_in_columns_the_model_uses():
    """evaluate's and drift's "N rows hold a category not seen in training" counted `branch`, which the GBM never
    splits on, while predict (rightly) warned of none of those rows: the count and sentence follow predict's rule; the
    PSI table still says per column how many rows hold one."""
    data = synthetic_applicants(300, seed=0).with_columns(
        branch=pl.Series(["south" if i % 100 == 7 else "north" for i in range(300)]))
    row = pl.int_range(pl.len())
    shifted = data.with_columns(pl.when(row < 20).then(pl.lit("west")).otherwise(pl.col("branch")).alias("branch"),
                                pl.when(row % 50 == 1).then(pl.lit("castle")).otherwise(pl.col("housing")).alias("housing"))
    for family, rows, named in (("gbm", 6, ["housing"]), ("logistic", 20 + 5, ["branch", "housing"])):
        model = RiskScorer().fit(data, config=fast(family=family))
        warned = [w.split(":")[0] for r in model.predict(shifted.drop("default")) for w in r["warnings"]]
        card = model.evaluate(shifted)
        assert card["unseen_category_rows"] == rows == len({i for i, r in enumerate(model.predict(shifted.drop("default")))
                                                            if r["warnings"]}), family
        assert card["warning"].startswith(f"{rows} of 300 rows hold a category not seen in training")
        assert sorted(set(warned)) == named and ("branch: 'west'" in card["warning"]) == ("branch" in named)
        assert {r["feature"]: r["unseen_rows"] for r in card["psi_table"] if r["unseen_rows"]} == {"branch": 20, "housing": 6}
        assert model.drift(shifted.drop("default"))["unseen_warning"] == card["warning"]


def test_a_table_scored_three_times_keeps_every_round(gbm_model):
    table = pl.DataFrame([applicant(), applicant(purpose="crypto")])
    once = gbm_model.predict_frame(table)
    thrice = gbm_model.predict_frame(gbm_model.predict_frame(once))  # a download scored again used to fail
    assert [c for c in thrice.columns if c.endswith("pd")] == ["pd", "pred_pd", "pred2_pd"]
    assert thrice["pred2_pd"].to_list() == once["pd"].to_list()


@pytest.mark.parametrize("edit, field", [
    (lambda c: c.update(family="scorecard"), "family"),  # the weight files beside it are LightGBM's
    (lambda c: c["scale"].update(pdo=0), "scale pdo"),  # every applicant scored 600 before
    (lambda c: c["features"][0].update(kind="categorical", categories=None), "features"),
])
def test_a_hand_edited_risk_card_is_refused_naming_the_field(saved_gbm, tmp_path, edit, field):
    import shutil

    from core.errors import UnsafeArtifactError

    edited = shutil.copytree(saved_gbm, tmp_path / "edited")
    card = json.loads((edited / "card.json").read_text())
    edit(card)
    write_card(edited, card)
    with pytest.raises(UnsafeArtifactError, match=f"card.json's {field}") as refused:
        RiskScorer.load(edited)
    advice = str(damaged_card(edited, "")).split("card.json's ")[1]  # the wording forecast's card check shares
    assert str(refused.value).startswith(f"{edited}: card.json's {field}") and str(refused.value).endswith(advice)
    assert RiskScorer.load(saved_gbm).predict([applicant()])  # the saved card itself passes


def _swap_labels(card):
    card["label_map"].update(positive=card["label_map"]["negative"], negative=card["label_map"]["positive"])


def _rename_category(card):
    housing = next(f for f in card["features"] if f["name"] == "housing")
    housing["categories"] = [c.upper() for c in housing["categories"]]


EDITS = {"label_map swapped": (_swap_labels, "target and label_map"),
         "last feature dropped": (lambda c: c["features"].pop(), "features"),
         "feature renamed": (lambda c: c["features"][0].update(name="renamed"), "features"),
         "category renamed": (_rename_category, "features")}


@pytest.fixture(scope="module")
def saved_families(tmp_path_factory):
    data = with_purpose(synthetic_applicants(300, seed=0))
    folder = tmp_path_factory.mktemp("families")
    return {family: RiskScorer().fit(data, config=fast(family=family)).save(folder / family)
            for family in ("gbm", "scorecard", "logistic", "forest")}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("family", ["gbm", "scorecard", "logistic", "forest"])
@pytest.mark.parametrize("with_encoding", [True, False])
def test_a_card_that_disagrees_with_its_weights_is_refused(saved_families, tmp_path, family, edit, with_encoding):
    """The card's labels and features against the hashed files beside it: encoding.json (new folders), and without it
    (folders saved before it) what the family's own weight files record."""
    import shutil

    from core.errors import UnsafeArtifactError

    edited = shutil.copytree(saved_families[family], tmp_path / "edited")
    card = json.loads((edited / "card.json").read_text())
    if not with_encoding:  # a folder saved before encoding.json: it loads as before
        del card["files"]["encoding.json"]
        (edited / "encoding.json").unlink()
        write_card(edited, card)
        assert RiskScorer.load(edited).predict([applicant()]) == RiskScorer.load(saved_families[family]).predict([applicant()])
    change, field = EDITS[edit]
    change(card)
    write_card(edited, card)
    undetectable = not with_encoding and (edit == "label_map swapped"  # nothing but encoding.json records the labels
                                    or (edit == "category renamed" and family == "gbm")  # model.txt holds codes only
                                    or (edit == "last feature dropped" and family == "scorecard"
                                        and "purpose" not in {v["name"] for v in json.loads(
                                            (edited / "scorecard.json").read_text())["variables"]}))
    if undetectable:  # an old folder: no weight file says it, it loads as before
        RiskScorer.load(edited)
        return
    with pytest.raises(UnsafeArtifactError, match=f"card.json's {field}( \\(.*\\))? do not match the weights in"):
        RiskScorer.load(edited)


@pytest.fixture(scope="module")
def saved_blend(tmp_path_factory):
    model = RiskScorer().fit(with_purpose(synthetic_applicants(300, seed=0)), config=fast(family="blend"))
    return model.save(tmp_path_factory.mktemp("blend") / "model")


def _edited_blend(saved, folder, change, encoding="new"):
    """A copy of the saved blend with `change(card["blend"])` applied; encoding "new" keeps encoding.json, "today" drops
    its blend entry (folders saved earlier today), "none" drops the file (folders saved before it)."""
    import shutil

    from core.artifacts import file_sha256

    edited = shutil.copytree(saved, folder)
    card = json.loads((edited / "card.json").read_text())
    if encoding == "today":
        recorded = json.loads((edited / "encoding.json").read_text())
        del recorded["blend"]
        (edited / "encoding.json").write_text(json.dumps(recorded))
        card["files"]["encoding.json"] = file_sha256(edited / "encoding.json")
    elif encoding == "none":
        del card["files"]["encoding.json"]
        (edited / "encoding.json").unlink()
    change(card["blend"])
    write_card(edited, card)
    return edited


def _two_members(blend):
    """Two families the blend weighs with different shares (the first the larger)."""
    used = sorted((f for f, s in blend["shares"].items() if s > 0), key=lambda f: -blend["shares"][f])
    return used[0], next(f for f in blend["shares"] if blend["shares"][f] != blend["shares"][used[0]])


def _swap_effective(blend):
    a, b = _two_members(blend)
    blend["effective"][a], blend["effective"][b] = blend["effective"][b], blend["effective"][a]


def _consistent_swap(blend):
    """Share moved between two members and the effective weights recomputed from them: consistent in the card alone."""
    a, b = [f for f, s in blend["shares"].items() if s > 0][:2]
    blend["shares"][a], blend["shares"][b] = blend["shares"][a] / 2, blend["shares"][b] + blend["shares"][a] / 2
    blend["effective"] = {f: s / blend["scales"][f] for f, s in blend["shares"].items()}


def _first_negative(blend):
    a, b = _two_members(blend)
    blend["shares"][a], blend["shares"][b] = -0.5, blend["shares"][b] + blend["shares"][a] + 0.5


BLEND_EDITS = {"effective gbm 5.0": lambda b: b["effective"].update(gbm=5.0),
               "effective swapped": _swap_effective,
               "shares all on gbm": lambda b: b.update(shares={f: float(f == "gbm") for f in b["shares"]}),
               "negative share": _first_negative,
               "family dropped from shares": lambda b: b["shares"].pop(_two_members(b)[1]),
               "shares not summing to 1": lambda b: b["shares"].update(gbm=b["shares"]["gbm"] + 0.5)}


@pytest.mark.parametrize("encoding", ["new", "today", "none"])
@pytest.mark.parametrize("edit", sorted(BLEND_EDITS))
def test_an_edited_blend_record_is_refused_for_every_folder(saved_blend, tmp_path, edit, encoding):
    """blend.effective edited (gbm 5.0, two families swapped) loaded and changed every PD; blend.shares edited alone
    (all on gbm, negative, a family dropped) loaded and was ignored. Checked against each other in every folder."""
    from core.errors import UnsafeArtifactError

    if encoding != "new":  # an unedited copy loads and scores as the saved folder
        unedited = _edited_blend(saved_blend, tmp_path / "unedited", lambda b: None, encoding)
        assert RiskScorer.load(unedited).predict([applicant()]) == RiskScorer.load(saved_blend).predict([applicant()])
    edited = _edited_blend(saved_blend, tmp_path / "edited", BLEND_EDITS[edit], encoding)
    with pytest.raises(UnsafeArtifactError, match="card.json's blend (shares|effective weights)"):
        RiskScorer.load(edited)


@pytest.mark.parametrize("encoding", ["new", "today", "none"])
def test_a_blend_edited_consistently_is_refused_where_encoding_json_records_it(saved_blend, tmp_path, encoding):
    """Shares swapped with the effective weights recomputed to match: only encoding.json (saved since it records the
    blend) can tell; folders without that record load as before."""
    from core.errors import UnsafeArtifactError

    assert json.loads((saved_blend / "encoding.json").read_text())["blend"]["effective"] == json.loads(
        (saved_blend / "card.json").read_text())["blend"]["effective"]
    edited = _edited_blend(saved_blend, tmp_path / "edited", _consistent_swap, encoding)
    if encoding != "new":
        RiskScorer.load(edited)
        return
    with pytest.raises(UnsafeArtifactError, match="card.json's blend shares, scales and effective weights do not match "
                                                  "the weights in encoding.json"):
        RiskScorer.load(edited)


def _without_calibrator(folder):
    card = json.loads((folder / "card.json").read_text())
    del card["files"]["calibrator.json"]
    (folder / "calibrator.json").unlink()
    write_card(folder, card)


CALIBRATION_EDITS = {  # (family, the edit, the calibrator beside it as the refusal names it)
    "none beside a fitted calibrator": ("gbm", lambda c: c["calibration"].update(method="none"), "calibrator.json (platt)"),
    "another method": ("gbm", lambda c: c["calibration"].update(method="isotonic"), "calibrator.json (platt)"),
    "a method with words after it": ("gbm", lambda c: c["calibration"].update(method="platt (edited)"), "calibrator.json (platt)"),
    "the record dropped": ("gbm", lambda c: c.pop("calibration"), "calibrator.json (platt)"),
    "a method for the scorecard": ("scorecard", lambda c: c["calibration"].update(method="platt"), "calibrator.json (none)"),
    "a method without its file": ("gbm", _without_calibrator, "no calibrator.json"),
}


@pytest.mark.parametrize("edit", sorted(CALIBRATION_EDITS))
def test_a_calibration_method_the_folder_does_not_hold_is_refused(saved_families, tmp_path, edit):
    """calibration.method against calibrator.json: set to none beside a Platt calibrator, to isotonic, or to platt with
    no calibrator.json, the card loaded and its method was ignored."""
    import shutil

    from core.errors import UnsafeArtifactError

    family, change, beside = CALIBRATION_EDITS[edit]
    edited = shutil.copytree(saved_families[family], tmp_path / "edited")
    if change is _without_calibrator:
        change(edited)
    else:
        card = json.loads((edited / "card.json").read_text())
        change(card)
        write_card(edited, card)
    with pytest.raises(UnsafeArtifactError, match="card.json's calibration.method") as refused:
        RiskScorer.load(edited)
    advice = str(damaged_card(edited, "")).split("card.json's ")[1]
    assert str(refused.value).endswith(f"does not match the calibrator beside it ({beside}){advice}")


def test_a_scorecard_without_a_calibrator_file_agrees_with_its_card(saved_families, tmp_path):
    """The scorecard's card says "none (logistic scorecard PD)": a folder without calibrator.json holds just that."""
    import shutil

    edited = shutil.copytree(saved_families["scorecard"], tmp_path / "edited")
    _without_calibrator(edited)
    assert RiskScorer.load(edited).predict([applicant()]) == RiskScorer.load(saved_families["scorecard"]).predict([applicant()])


def test_every_saved_calibration_loads_as_saved(saved_families, saved_blend, gbm_model, tmp_path):
    """What save writes (platt, the scorecard's none, isotonic) loads and scores as the model that saved it."""
    import copy

    from finance._risk_models import Calibrator, _fit_isotonic

    isotonic = copy.copy(gbm_model)
    margin = np.linspace(-3, 3, 200)
    defaults = (np.random.default_rng(0).uniform(size=200) < 1 / (1 + np.exp(-margin))).astype(int)
    isotonic.calibrator_ = Calibrator(_fit_isotonic(margin, defaults))
    isotonic.card_ = {**gbm_model.card_, "calibration": {**gbm_model.card_["calibration"], "method": "isotonic"}}
    folders = {**saved_families, "blend": saved_blend, "isotonic": isotonic.save(tmp_path / "isotonic")}
    methods = {}
    for name, folder in folders.items():
        loaded = RiskScorer.load(folder)
        methods[name] = loaded.card["calibration"]["method"]
        assert loaded.calibrator_.state == json.loads((folder / "calibrator.json").read_text())
    assert methods["scorecard"].startswith("none") and methods["gbm"] == "platt" and methods["isotonic"] == "isotonic"
    assert RiskScorer.load(folders["isotonic"]).predict([applicant()]) == isotonic.predict([applicant()])


# -- a missing value in a column never missing in training ----------------------------------------------------------------
@pytest.mark.parametrize("family, numeric, categorical", [
    ("scorecard", "with a neutral weight of evidence (0)", "with a neutral weight of evidence (0)"),
    ("gbm", "as the value 0 (LightGBM's rule for a column with no missing values in training)",
     "as missing, as an unseen category is"),
    ("logistic", "with the training median", "as none of the training categories")])
def test_a_missing_value_never_missing_in_training_gets_a_record_warning(family, numeric, categorical):
    """A missing duration (never missing in training) was scored with a neutral WoE without a word, while an unseen
    category in the same file got a record warning; a column with missing training values (its own Missing bin) still
    gets none."""
    model = RiskScorer().fit(synthetic_applicants(300, seed=0), config=fast(family=family))
    rates = {f["name"]: f["missing_rate"] for f in model.schema_}
    assert rates["utilisation"] == rates["housing"] == 0 < rates["income"]
    used = model.family_.used_features()
    records = model.predict([{"utilisation": None, "income": 20000.0, "housing": None},
                             {"utilisation": 0.3, "income": None, "housing": "own"}])
    expected = ([f"housing: {NEVER_MISSING} {categorical}"] if "housing" in used else [])
    expected = ([f"utilisation: {NEVER_MISSING} {numeric}"] if "utilisation" in used else []) + expected
    assert expected and records[0]["warnings"] == expected
    assert records[1]["warnings"] == []  # income was missing in training: scored by its own Missing bin / flag
