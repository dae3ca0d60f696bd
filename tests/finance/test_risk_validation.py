"""finance.risk checks from a credit model-validation review: calibration under class weighting, the monotone
constraint and its column names, duplicate groups, explanation points, label guesses and reason texts."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=60, early_stopping_rounds=10, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


def _imbalanced(n: int, seed: int) -> pl.DataFrame:
    """About 3% defaults: class_weight auto turns to balanced."""
    rng = np.random.default_rng(seed)
    utilisation, late = rng.uniform(0, 1.2, n), rng.poisson(0.3, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = -4.2 + 1.5 * (utilisation - 0.6) + 0.6 * late + np.where(region == "south", 0.4, 0.0)
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"utilisation": utilisation, "late": late.astype(float), "region": region, "default": default})


@pytest.mark.parametrize("family", ["logistic", "blend"])
def test_balanced_class_weight_keeps_held_out_pd_at_the_default_rate(family):
    """The calibrator is fitted on CV margins: they must carry the final model's prior shift, else PDs were 4-25x low."""
    train, test = _imbalanced(3000, seed=1), _imbalanced(3000, seed=2)
    config = fast(family=family) if family == "logistic" else fast(family=family, gbm_trials=1, max_rounds=40)
    model = RiskScorer().fit(train, config=config)
    assert model.card["training"]["class_weight"] == "balanced"
    pd_ = np.asarray([r["pd"] for r in model.predict(test.drop("default"))])
    observed = float(test["default"].mean())
    assert 0.6 * observed < pd_.mean() < 1.5 * observed, (pd_.mean(), observed)


@pytest.mark.parametrize("entry, message", [
    ("NOPE:+1", "'NOPE', which is not a feature column"),
    ("Utilisation:+1", "did you mean 'utilisation'"),
    ("housing:+1", "'housing', a categorical column"),
])
def test_monotone_naming_no_numeric_feature_is_refused(entry, message):
    """A typo, another case or a categorical column trained silently as if the constraint held."""
    with pytest.raises(InputError, match=message) as error:
        RiskScorer().fit(synthetic_applicants(200, seed=1), config=fast(family="scorecard", monotone=(entry,)))
    assert "numeric columns: utilisation, income" in str(error.value)


def _limits(n: int, seed: int) -> pl.DataFrame:
    """A limit and three bills: risk lives in the bill / limit share, which the ratio features (BILL_AMTk_per_LIMIT_BAL)
    capture: at a fixed bill PD falls as the limit grows."""
    rng = np.random.default_rng(seed)
    limit = rng.uniform(10_000, 200_000, n).round(0)
    bills = {f"BILL_AMT{k}": (limit * rng.uniform(0.05, 1.0, n)).round(0) for k in (1, 2, 3)}
    share = bills["BILL_AMT1"] / limit
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-2.5 + 4.0 * share)))).astype(int)
    return pl.DataFrame({"LIMIT_BAL": limit, **bills, "default": default})


@pytest.mark.parametrize("family", ["gbm", "auto"])
def test_monotone_constraint_holds_for_the_pd_as_its_column_sweeps(family):
    """LIMIT_BAL:+1 must hold for PD as LIMIT_BAL alone moves; unconstrained ratio features built from LIMIT_BAL (and the
    logistic and forest families) let PD fall with it."""
    data = _limits(1500, seed=4)
    model = RiskScorer().fit(data, config=fast(family=family, monotone=("LIMIT_BAL:+1",), max_rounds=80))
    grid = np.linspace(10_000, 200_000, 30)
    for applicant in data.drop("default").head(15).to_dicts():
        pds = [r["pd"] for r in model.predict([{**applicant, "LIMIT_BAL": float(v)} for v in grid])]
        assert all(b >= a - 1e-12 for a, b in zip(pds, pds[1:])), (applicant, pds)
    card = model.card
    assert not [f["name"] for f in card["features"] if "LIMIT_BAL" in f.get("derived", {}).get("columns", [])]
    assert "BILL_AMT1_per_LIMIT_BAL" in card["monotone"]["derived_features_not_built"]
    if family == "auto":
        assert card["monotone"]["families_left_out"] == ["logistic", "forest"]
        assert set(card["selection"]["families"]) <= {"gbm", "scorecard"}


def test_monotone_with_a_family_that_cannot_honour_it_is_refused():
    with pytest.raises(InputError, match="family=logistic cannot honour monotone"):
        RiskScorer().fit(synthetic_applicants(200, seed=1), config=fast(family="logistic", monotone=("utilisation:+1",)))


def test_a_target_written_as_floats_gives_the_same_duplicate_groups_folds_and_model():
    """1/0 and 1.0/0.0 are one label; hashing the raw target column gave repeated rows other group ids and folds."""
    data = synthetic_applicants(200, seed=5)
    data = pl.concat([data, data.head(60)])  # repeated rows: the folds are grouped
    floats = data.with_columns(pl.col("default").cast(pl.Float64))
    config = fast(family="logistic")
    one, two = RiskScorer()._prepare(data, config), RiskScorer()._prepare(floats, config)
    assert np.array_equal(one.groups, two.groups)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one.folds, two.folds, strict=True))
    rows = data.drop("default").head(20)
    first, second = RiskScorer().fit(data, config=config), RiskScorer().fit(floats, config=config)
    assert [r["pd"] for r in first.predict(rows)] == [r["pd"] for r in second.predict(rows)]


@pytest.mark.parametrize("family", ["gbm", "logistic"])
def test_explanation_points_are_on_the_calibrated_scale(family):
    """The points were on the family's raw log-odds: a 'calibration' step linear in them held up to a third of the
    feature effect. Scaled by the calibrator, they account for the score; the average applicant's base is calibrated."""
    from finance.risk import score_from_pd

    data = synthetic_applicants(400, seed=1)
    model = RiskScorer().fit(data, config=fast(family=family))
    model.calibrator_.state.update(method="platt", slope=1.4, intercept=0.7)  # a calibrator far from the identity
    explained = model.explain(data.drop("default").head(40))
    for e in explained:
        assert abs(e["calibration_points"]) <= 0.5 + 0.05 * len(e["contributions"])  # rounding only
        total = e["base_points"] + sum(c["points"] for c in e["contributions"]) + e["calibration_points"]
        assert abs(total - e["score"]) < 0.05  # the score shown, exactly (to the points' two decimals)
    log_odds, bias = model._log_odds_by_feature(model._arrays(data.drop("default").head(1)))
    assert explained[0]["base_points"] == pytest.approx(float(score_from_pd(1 / (1 + np.exp(-(1.4 * bias[0] + 0.7))))), abs=0.01)


def _worded(words: tuple[str, str], name: str) -> pl.DataFrame:
    data = synthetic_applicants(200, seed=1)
    return data.with_columns(pl.when(pl.col("default") == 1).then(pl.lit(words[0])).otherwise(pl.lit(words[1])).alias(name)
                             ).drop("default" if name != "default" else [])


def test_a_default_class_guessed_from_yes_is_warned_about_with_the_override(tmp_path):
    """`repaid` yes/no: yes was taken as default with no warning, so the model gave the probability of repaying."""
    data = _worded(("yes", "no"), "repaid")
    with pytest.warns(UserWarning, match=r"'yes' was taken as the default .*--option positive_label=no"):
        model = RiskScorer().fit((data, "repaid"), config=fast(family="scorecard"))
    assert "positive_label=no" in model.card["warning"]
    path = tmp_path / "repaid.csv"
    data.write_csv(path)
    assert "positive_label=no" in RiskScorer.check_data(path, target="repaid")["warning"]


@pytest.mark.parametrize("words", [("bad", "good"), ("Charged Off", "Fully Paid")])
def test_a_clear_default_word_is_not_warned_about(words, tmp_path):
    path = tmp_path / "status.csv"
    _worded(words, "status").write_csv(path)
    assert "positive_label" not in (RiskScorer.check_data(path, target="status").get("warning") or "")


def test_reasons_for_an_integer_code_column_name_the_code_not_low_or_high():
    """SEX 1/2 read "sex low (1)", an instalment-rate class 3 "typical (3)" as an adverse reason; amounts keep high/low."""
    data = synthetic_applicants(400, seed=2)
    rng = np.random.default_rng(0)
    sex = np.where(data["default"].to_numpy() == 1, rng.choice([1, 2], data.height, p=[0.8, 0.2]),
                   rng.choice([1, 2], data.height, p=[0.3, 0.7]))
    model = RiskScorer().fit(data.with_columns(pl.Series("sex", sex)), config=fast(family="logistic"))
    reasons = [r for e in model.explain([{"utilisation": 0.5, "income": 20000.0, "housing": "own", "sex": 1}])
               for r in e["reasons"]]
    texts = {r["feature"]: r["text"] for r in reasons}
    assert texts["sex"].startswith("sex = 1:"), texts
    by_name = {f["name"]: f for f in model.schema_}
    assert RiskScorer._qualifier(by_name["income"], 20000.0).startswith(("low", "high", "typical"))


def test_iv_table_labels_a_thin_others_bin_and_does_not_select_a_one_bin_variable():
    """German 'purpose': the one applicant of A48 showed as its own bin '[A48]' (1 applicant, 0 defaults) though bins
    hold 5+ of each; 'foreign' in one bin (IV 0) was listed as selected."""
    data = synthetic_applicants(400, seed=1)
    purpose = np.where(np.arange(data.height) % 2 == 0, "car", "furniture").astype(object)
    purpose[7] = "boat"  # one applicant: under the 1% cutoff
    foreign = np.where(np.arange(data.height) % 25 == 0, "no", "yes")  # 4%: too few defaults for a bin of its own
    model = RiskScorer().fit(data.with_columns(pl.Series("purpose", purpose.tolist()), pl.Series("foreign", foreign)),
                             config=fast(family="scorecard"))
    table = {row["variable"]: row for row in model.card["information_value"]}
    others = [b for b in table["purpose"]["bins"] if "boat" in b["bin"]]
    assert others and others[0]["bin"].startswith("others: ") and "fewer than 5" in others[0]["note"]
    assert len([b for b in table["foreign"]["bins"] if b["count"]]) == 1 and table["foreign"]["selected"] is False
    assert table["utilisation"]["selected"] is True


def test_evaluate_warns_when_the_pds_miss_the_default_rate_of_the_data():
    """Calibration in the large, as a validator checks it: scored on applicants whose default rate is a tenth of the
    training data's, the card warns that the PDs are not calibrated for this data (AUC alone would not show it); on
    data like the training data it says nothing."""
    data = synthetic_applicants(600, seed=3)
    model = RiskScorer().fit(data.head(300), config=fast(family="logistic"))
    rest = data.tail(300)
    assert "not calibrated" not in (model.evaluate(rest).get("warning") or "")
    defaults, others = rest.filter(pl.col("default") == 1), rest.filter(pl.col("default") == 0)
    shifted = pl.concat([others, defaults.head(max(2, others.height // 50))])
    card = model.evaluate(shifted)
    assert "the PDs are not calibrated for this data" in card["warning"]
    assert card["metrics"]["mean_pd"]["value"] > 3 * card["metrics"]["default_rate"]["value"]


@pytest.mark.parametrize("name", ["default", "is_delinquent", "charged_off", "BadLoan"])
def test_a_bad_outcome_target_name_with_yes_no_is_not_warned_about(name, tmp_path):
    """`default` yes/no warned 'guessed from the word yes alone' on every check-data and train: the name says what yes means."""
    path = tmp_path / "yesno.csv"
    _worded(("yes", "no"), name).write_csv(path)
    report = RiskScorer.check_data(path, target=name)
    assert report["label_map"]["positive"] == "yes"
    assert "positive_label" not in (report.get("warning") or "")


@pytest.mark.parametrize("name, words", [("repaid", (1, 0)), ("paid_on_time", ("true", "false")),
                                         ("performing", ("yes", "no")), ("good", ("Y", "N")), ("non_default", (2, 1))])
def test_a_good_outcome_target_name_is_warned_about_whatever_the_coding(name, words, tmp_path):
    """`repaid` 1/0 (1 = repaid) took 1 as default silently ('0/1 flag'), so the model gave the probability of repaying."""
    path = tmp_path / "good.csv"
    _worded(words, name).write_csv(path)
    report = RiskScorer.check_data(path, target=name)
    first, other = (str(w) for w in words)
    assert report["label_map"]["positive"] == first
    assert f"{first!r} was taken as the default (bad) outcome" in report["warning"]
    assert f"reads as the good outcome" in report["warning"]
    assert f"--option positive_label={other}," in report["warning"]
    settled = RiskScorer.check_data(path, target=name, positive_label=other)  # the advice taken: no warning, flipped
    assert "positive_label" not in (settled.get("warning") or "")
    assert settled["default_rate"] == pytest.approx(1 - report["default_rate"])


def test_a_good_outcome_name_with_a_clear_bad_value_is_not_warned_about(tmp_path):
    path = tmp_path / "loan.csv"
    _worded(("Charged Off", "Fully Paid"), "loan_paid").write_csv(path)
    assert "positive_label" not in (RiskScorer.check_data(path, target="loan_paid").get("warning") or "")


def test_positive_label_0_read_with_the_data_is_used_by_fit(tmp_path):
    """read_data(path, positive_label=0) was dropped by fit (`0 or None`): 1 was guessed as default again."""
    path = tmp_path / "repaid.csv"
    _worded((1, 0), "repaid").write_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no label warning: positive_label said which value is default
        model = RiskScorer().fit(RiskScorer.read_data(path, target="repaid", positive_label=0), config=fast(family="scorecard"))
    assert model.card["label_map"]["positive"] == "0"
    assert "positive_label" not in (model.card.get("warning") or "")


def test_reasons_leave_out_characteristics_worth_under_half_a_point():
    """German credit showed 'foreign worker is A201: -0 points' (-0.33) in a top-4 reason slot: no material effect."""
    data = synthetic_applicants(400, seed=3)
    rng = np.random.default_rng(3)
    noise = pl.Series("branch", rng.choice(["a", "b", "c"], data.height))  # unrelated to default: tiny points
    model = RiskScorer().fit(data.with_columns(noise, pl.Series("tenure", rng.uniform(0, 10, data.height))),
                             config=fast(family="logistic"))
    explained = model.explain(data.with_columns(noise, pl.Series("tenure", rng.uniform(0, 10, data.height))
                                                ).drop("default").head(80), top=10)
    small = [c for e in explained for c in e["contributions"] if -0.5 <= c["points"] < 0]
    assert small  # the case exists in this data
    reasons = [r for e in explained for r in e["reasons"]]
    assert reasons and all(r["points"] < -0.5 and "-0 points" not in r["text"] for r in reasons), reasons
    for e in explained:  # every adverse characteristic over the threshold is still a reason, worst first
        assert [r["feature"] for r in e["reasons"]] == [c["feature"] for c in e["contributions"] if c["points"] < -0.5]
    assert "0.5 points" in model.card["scale"]["reasons"]
