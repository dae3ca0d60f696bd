"""finance.risk acceptance points: both families, no-pickle persistence, reason codes, metrics, data handling, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.errors import InputError, StorageError
from finance.risk import RiskData, RiskScorer, pd_from_score, score_from_pd
from tests.finance.contract_cases import synthetic_applicants

SHARED = Path(os.environ.get("VERTICALS_SHARED", Path(__file__).resolve().parents[2].parent / "shared")) / "data" / "finance.risk"
TAIWAN = SHARED / "taiwan_default_of_credit_card_clients" / "UCI_Credit_Card_even.csv"
GERMAN = SHARED / "statlog_german_credit" / "german_even.data"


def fast(**changes):
    base = dict(cv_folds=2, cv_repeats=1, gbm_trials=3, max_rounds=60, early_stopping_rounds=10, learning_rate=0.1)
    return RiskScorer.Config(**{**base, **changes})


@pytest.fixture(scope="module")
def data():
    return synthetic_applicants(400, seed=1)


@pytest.fixture(scope="module")
def auto_model(data):
    return RiskScorer().fit(data, config=fast())


def test_auto_selection_records_every_candidate(auto_model):
    card = auto_model.card
    assert {"gbm", "scorecard", "logistic", "forest"} <= set(card["selection"]["cv_auc"]) <= {"gbm", "scorecard", "logistic",
                                                                                                "forest", "blend"}
    assert card["family"] == max(card["selection"]["cv_auc"], key=card["selection"]["cv_auc"].get)
    assert card["metrics"]["auc"]["value"] > 0.6
    assert [f["name"] for f in card["features"]] == ["utilisation", "income", "housing"]
    assert {f["kind"] for f in card["features"]} == {"numeric", "categorical"}
    income = card["features"][1]
    assert income["min"] > 0 and income["max"] > income["min"] and income["missing_rate"] > 0


@pytest.mark.parametrize("family", ["gbm", "scorecard", "logistic", "forest"])
def test_forced_family_saves_without_pickle_and_round_trips(family, data, tmp_path):
    model = RiskScorer().fit(data, config=fast(family=family))
    assert model.card["family"] == family and list(model.card["selection"]["cv_auc"]) == [family]
    saved = model.save(tmp_path / family)
    names = {p.name for p in saved.iterdir()}
    assert {"card.json", "calibrator.json"} <= names
    assert ("model.txt" in names) == (family == "gbm") and ("scorecard.json" in names) == (family == "scorecard")
    assert ("logistic.json" in names) == (family == "logistic")
    assert ({"forest.json", "forest.safetensors"} <= names) == (family == "forest")
    assert not [p for p in saved.rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib", ".npy", ".npz"}]
    rows = data.head(20)
    again = RiskScorer.load(saved)
    assert again.predict(rows) == model.predict(rows)
    if family == "gbm":
        import lightgbm

        booster = lightgbm.Booster(model_file=str(saved / "model.txt"))  # usable without Verticals
        assert booster.num_feature() == 3
        assert model.card["calibration"]["method"] in {"platt", "isotonic"}


def test_blend_round_trip(data, tmp_path):
    model = RiskScorer().fit(data, config=fast(family="blend"))
    assert model.card["family"] == "blend"
    shares = model.card["blend"]["shares"]
    assert set(shares) == {"gbm", "scorecard", "logistic", "forest"} and sum(shares.values()) == pytest.approx(1.0)
    saved = model.save(tmp_path / "blend")
    files = {"gbm": "model.txt", "scorecard": "scorecard.json", "logistic": "logistic.json", "forest": "forest.safetensors"}
    assert all((saved / files[f]).is_file() == (share > 0) for f, share in shares.items())
    assert RiskScorer.load(saved).predict(data.head(5)) == model.predict(data.head(5))
    explained = model.explain(data.drop("default").row(1, named=True))
    total = explained["base_points"] + sum(c["points"] for c in explained["contributions"]) + explained["calibration_points"]
    assert abs(total - explained["score"]) < 1.0


def test_scorecard_tables_reproduce_optbinning(data):
    from finance._risk_data import build_schema, encode_target, feature_arrays, label_map_for
    from finance._risk_models import _scorecard_frame, fit_scorecard

    y = encode_target(data["default"], label_map_for(data["default"]))
    schema, _ = build_schema(data, "default")
    arrays = feature_arrays(data, schema)
    family, scorecard = fit_scorecard(arrays, y, schema, RiskScorer.Config(), return_optbinning=True)
    ours = 1 / (1 + np.exp(-family.margin(arrays)))
    theirs = scorecard.predict_proba(_scorecard_frame(arrays, schema))[:, 1]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_explain_gives_reason_codes_that_add_up(auto_model, data):
    row = data.drop("default").row(0, named=True)
    explained = auto_model.explain(row)
    total = explained["base_points"] + sum(c["points"] for c in explained["contributions"]) + explained["calibration_points"]
    assert abs(total - explained["score"]) < 1.0
    assert all(r["points"] < 0 and "points" in r["text"] for r in explained["reasons"])
    assert explained["reasons"] == sorted(explained["reasons"], key=lambda r: r["points"])
    assert isinstance(auto_model.explain([row, row]), list)
    from apps.plots import figure
    from finance.risk import score_waterfall

    spec = score_waterfall(explained, shown=2)  # the page's waterfall: two characteristics, the rest summed, the score
    assert spec["measures"][0] == "absolute" and spec["measures"][-1] == "total" and spec["values"][-1] == explained["score"]
    assert abs(sum(spec["values"][:-1]) - explained["score"]) < 1.0 and figure("waterfall", spec) is not None


def test_scale_is_pdo_based():
    assert round(float(score_from_pd(np.array([1 / 51]))[0])) == 600
    doubled = 1 / (1 + 100)  # odds 100:1 -> +20 points
    assert round(float(score_from_pd(np.array([doubled]))[0])) == 620
    np.testing.assert_allclose(pd_from_score(score_from_pd(np.array([0.1, 0.3]))), [0.1, 0.3])


def test_evaluate_card_has_metrics_curves_and_psi(auto_model, data):
    card = auto_model.evaluate(data)
    assert {"auc", "gini", "ks", "brier", "psi_score"} <= set(card["metrics"])
    assert card["metrics"]["auc"]["ci95"] is not None
    assert abs(card["metrics"]["gini"]["value"] - (2 * card["metrics"]["auc"]["value"] - 1)) < 1e-12
    assert len(card["calibration_curve"]["predicted_pd"]) == len(card["calibration_curve"]["observed_default_rate"])
    assert card["ks_curve"]["cumulative_bad"][-1] == pytest.approx(1.0)
    assert card["metrics"]["psi_score"]["value"] < 0.01  # same data as training
    shifted = data.with_columns((pl.col("utilisation") * 0.2).alias("utilisation"))
    table = {r["feature"]: r for r in auto_model.evaluate(shifted)["psi_table"]}
    assert table["utilisation"]["psi"] > 0.25 and table["utilisation"]["status"] == "shifted"
    json.dumps(card)


def test_predict_frame_streams_lazy_csv_with_nan_literal_and_extra_columns(auto_model, data, tmp_path):
    path = tmp_path / "applicants.csv"
    frame = data.with_columns(pl.col("income").cast(pl.String).fill_null("nan"), pl.lit("x").alias("note"))
    frame.write_csv(path)
    assert "nan" in path.read_text()
    scored = auto_model.predict_frame(pl.scan_csv(path), rows_per_chunk=150)
    assert scored.height == data.height and {"pd", "score", "risk_band", "note"} <= set(scored.columns)
    direct = auto_model.predict(data)
    assert scored["pd"].to_list() == [r["pd"] for r in direct]


def test_missing_columns_and_unseen_categories(auto_model):
    with pytest.raises(InputError, match="lacks feature column"):
        auto_model.predict([{"utilisation": 0.3, "housing": "own"}])
    record = auto_model.predict([{"utilisation": 0.3, "income": None, "housing": "castle"}])[0]
    assert 0 < record["pd"] < 1


def test_uci_data_file_by_position_with_one_two_target(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(120):
        status = rng.choice(["A11", "A12", "A14"])
        amount = int(rng.integers(500, 9000))
        bad = rng.uniform() < (0.5 if status == "A11" else 0.15) + amount / 40000
        lines.append(f"{status} {amount} {rng.integers(18, 70)} {2 if bad else 1}")
    path = tmp_path / "mini.data"
    path.write_text("\n".join(lines) + "\n")
    data = RiskScorer.read_data(path, target=-1)
    assert data.target == "3"
    model = RiskScorer().fit(data, config=fast(family="scorecard"))
    assert model.card["label_map"]["positive"] == "2" and "UCI" in model.card["label_map"]["rule"]
    card = model.evaluate(RiskScorer.read_data(path, target="3"))
    assert card["n"] == 120
    untargeted = RiskScorer.read_data(path)  # `verticals evaluate` without --target: the model's own target column
    assert untargeted.target is None and model.evaluate(untargeted)["metrics"] == card["metrics"]
    with pytest.raises(InputError, match="pass --target"):  # training has no model to ask
        RiskScorer().fit(untargeted, config=fast(family="scorecard"))
    with pytest.raises(InputError, match="pass --target"):
        RiskScorer.check_data(path)


def test_time_split_and_identifier_dropping(tmp_path):
    data = synthetic_applicants(300, seed=2, with_time=True).with_row_index("id")
    model = RiskScorer().fit(data, config=fast(family="gbm", time_column="application_date"))
    assert model.card["selection"]["split"] == "time"
    assert {d["column"] for d in model.card["dropped"]} == {"id", "application_date"}
    # Forward chaining: every test block lies after its training rows.
    order = np.arange(300)
    for train, test in RiskScorer._folds(np.zeros(300), order, fast(cv_folds=3)):
        assert train.max() < test.min()


def test_monotone_constraint_holds(data):
    model = RiskScorer().fit(data, config=fast(family="gbm", monotone=("utilisation:+1",)))
    grid = [{"utilisation": u, "income": 20000.0, "housing": "own"} for u in np.linspace(0, 1, 25)]
    pds = [r["pd"] for r in model.predict(grid)]
    assert all(b >= a - 1e-12 for a, b in zip(pds, pds[1:]))


def test_imbalance_auto_balances_rare_defaults():
    data = synthetic_applicants(600, seed=3)
    rare = pl.concat([data.filter(pl.col("default") == 0), data.filter(pl.col("default") == 1).head(12)])
    model = RiskScorer().fit(rare, config=fast(family="gbm"))
    assert model.card["training"]["class_weight"] == "balanced"
    assert abs(model.card["metrics"]["mean_pd"] - model.card["training"]["default_rate"]) < 0.05  # calibrated back


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.drop("default"), "target"),
    (lambda d: d.with_columns(pl.lit(1).alias("default")), "constant"),
    (lambda d: d.with_columns(pl.Series("default", [float("nan")] + [float(v) for v in d["default"].to_list()[1:]])), "missing"),
    (lambda d: d.with_columns(pl.Series("default", [float("inf")] + [float(v) for v in d["default"].to_list()[1:]])), "infinite"),
    (lambda d: d.with_columns(pl.Series("default", (d["default"] + pl.Series(np.arange(d.height) % 3)).to_list())), "distinct"),
    (lambda d: d.with_columns(pl.Series("income", ["lots"] * 3 + [str(v) for v in d["income"].to_list()[3:]])), "non-numeric"),
    (lambda d: d.with_columns(pl.Series("utilisation", [float("-inf")] + d["utilisation"].to_list()[1:])), "infinite"),
])
def test_bad_training_data_is_an_input_error(data, mutate, message):
    with pytest.raises(InputError, match=message):
        RiskScorer().fit(mutate(data), config=fast(family="scorecard"))


def test_bad_options_and_targets(tmp_path):
    path = tmp_path / "t.csv"
    synthetic_applicants(50).write_csv(path)
    with pytest.raises(InputError, match="out of range"):
        RiskScorer.read_data(path, target=9)
    with pytest.raises(InputError, match="not in the table"):
        RiskScorer.read_data(path, target="nope")
    with pytest.raises(InputError, match="unknown option"):
        RiskScorer.read_data(path, target="default", colour="red")
    report = RiskScorer.check_data(path, target="default")
    assert report["ok"] and report["label_map"]["positive"] == "1"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, timeout=900,
                          cwd=Path(__file__).resolve().parents[2])


@pytest.mark.slow
@pytest.mark.skipif(not GERMAN.exists(), reason="shared data not present")
@pytest.mark.parametrize("path, target", [(GERMAN, "-1"), (TAIWAN, "default.payment.next.month")])
def test_cli_train_then_evaluate_shared_files(path, target, tmp_path):
    """The acceptance's commands on the files as published: train on a seeded stratified half, evaluate the other
    half without --target (the model knows its target, also for the headerless German file)."""
    from sklearn.model_selection import train_test_split

    header, *rows = path.read_text().splitlines() if path.suffix == ".csv" else [None, *path.read_text().splitlines()]
    labels = [row.replace(",", " ").split()[-1] for row in rows]
    halves = train_test_split(np.arange(len(rows)), test_size=0.5, stratify=labels, random_state=0)
    files = []
    for name, index in zip("AB", halves):
        files.append(tmp_path / f"{name}{path.suffix}")
        files[-1].write_text("\n".join(([header] if header else []) + [rows[i] for i in index]) + "\n")
    out = tmp_path / "model"
    trained = _cli("train", "finance.risk", "--data", str(files[0]), "--target", target, "--out", str(out))
    assert trained.returncode == 0, trained.stderr[-2000:]
    evaluated = _cli("evaluate", "finance.risk", "--model", str(out), "--data", str(files[1]), "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    card = json.loads(evaluated.stdout)
    assert card["metrics"]["auc"]["value"] > (0.74 if path == GERMAN else 0.77)  # bench: 0.775 / 0.789 on this split
    assert {"ROC curve", "Calibration", "Default rate by risk band"} <= set(card["plots"])


@pytest.mark.slow
def test_embedded_default_trains_from_credit_data():
    model = RiskScorer.load()
    assert model.card["label_map"]["positive"] == "bad"
    assert model.card["metrics"]["auc"]["value"] > 0.8


# -- the logistic family, repeated CV, LightGBM names and sequence summaries ----------------------------------------------
def _frame_arrays(data, summaries=False):
    from finance._risk_data import build_schema, encode_target, feature_arrays, label_map_for

    y = encode_target(data["default"], label_map_for(data["default"]))
    schema, _ = build_schema(data, "default", summaries=summaries)
    return schema, feature_arrays(data, schema), y


def test_logistic_family_json_state_terms_and_reload(data, tmp_path):
    from finance._risk_models import LogisticFamily, fit_logistic, logistic_path

    schema, arrays, y = _frame_arrays(data)
    family = fit_logistic(arrays, y, schema, c=0.1)
    matrix, bias = family.contributions(arrays)
    assert matrix.shape == (data.height, 3)
    np.testing.assert_allclose(family.margin(arrays), bias + matrix.sum(axis=1))
    np.testing.assert_allclose(matrix.mean(axis=0), 0.0, atol=1e-9)  # terms are centred on the training average
    housing = family.state["features"][2]
    assert {c["value"] for c in housing["columns"] if c["type"] == "equals"} == {"rent", "own", "mortgage"}
    assert any(c["type"] == "missing" for c in family.state["features"][1]["columns"])  # income has gaps
    rent = next(c for c in housing["columns"] if c.get("value") == "rent")
    assert rent["coefficient"] > 0  # the simulation adds default risk for renters
    family.save(tmp_path)
    again = LogisticFamily.load(tmp_path)
    assert np.array_equal(again.margin(arrays), family.margin(arrays))  # bit-identical from JSON
    unseen = {"utilisation": np.array([0.5]), "income": np.array([np.nan]), "housing": np.array(["castle"], dtype=object)}
    assert np.isfinite(again.margin(unseen)).all()
    path = logistic_path(arrays, y, arrays, schema, cs=(0.001, 1.0))
    assert path.shape == (2, data.height) and np.abs(path[0]).max() < np.abs(path[1]).max()  # stronger L2: smaller log-odds


@pytest.mark.parametrize("class_weight", ["none", "balanced"])
def test_forest_walks_like_scikit_learn_and_explains_its_margin(data, class_weight, tmp_path):
    """The saved node arrays reproduce ExtraTreesClassifier's probabilities; the path terms add up to the margin."""
    from finance._risk_models import (ForestFamily, _extra_trees, _forest_columns, _forest_margin, _logistic_raw,
                                      fit_forest, forest_path)

    schema, arrays, y = _frame_arrays(data)
    family = fit_forest(arrays, y, schema, leaf=5, class_weight=class_weight)
    x = _logistic_raw(arrays, _forest_columns(arrays, schema))[0]
    expected = _extra_trees(5, class_weight, 0, 1).fit(x, y).predict_proba(x)[:, 1]
    np.testing.assert_allclose(family.margin(arrays), _forest_margin(expected, class_weight, float(y.mean())), atol=1e-9)
    walked = family._shares(arrays, terms=False)[0]  # the numpy walk (explanations) = the compiled trees (scoring)
    np.testing.assert_allclose(_forest_margin(walked, class_weight, float(y.mean())), family.margin(arrays), atol=1e-9)
    assert family._sklearn_trees() is not None
    family.chunk_rows = 7  # rows walked in several chunks give the same result
    matrix, bias = family.contributions(arrays)
    assert matrix.shape == (data.height, 3)
    np.testing.assert_allclose(bias + matrix.sum(axis=1), family.margin(arrays), atol=1e-9)
    rent = arrays["housing"] == "rent"
    assert matrix[rent, 2].mean() > matrix[~rent, 2].mean()  # the simulation adds default risk for renters
    family.save(tmp_path)
    again = ForestFamily.load(tmp_path)
    assert np.array_equal(again.margin(arrays), family.margin(arrays))
    unseen = {"utilisation": np.array([0.5]), "income": np.array([np.nan]), "housing": np.array(["castle"], dtype=object)}
    assert np.isfinite(again.margin(unseen)).all()
    path = forest_path(arrays, y, arrays, schema, leaves=(1, 50))
    assert path.shape == (2, data.height) and np.abs(path[0]).mean() > np.abs(path[1]).mean()  # small leaves: surer


def test_forest_leaf_sizes_bound_the_saved_size():
    from finance._risk_models import FOREST_MAX_ROWS, forest_leaves

    assert forest_leaves(400) == (3, 10, 30) and forest_leaves(15_000) == (8, 10, 30) and forest_leaves(200_000) == (100,)
    assert RiskScorer._families(RiskScorer.Config(), FOREST_MAX_ROWS) == ["gbm", "scorecard", "logistic", "forest"]
    assert RiskScorer._families(RiskScorer.Config(), FOREST_MAX_ROWS + 1) == ["gbm", "scorecard", "logistic"]
    assert RiskScorer._families(RiskScorer.Config(family="forest"), 10 ** 7) == ["forest"]


def test_auto_without_the_forest_above_its_row_limit(data, monkeypatch):
    import finance.risk

    monkeypatch.setattr(finance.risk, "FOREST_MAX_ROWS", data.height - 1)
    model = RiskScorer().fit(data, config=fast())
    assert "forest" not in model.card["selection"]["cv_auc"] and "forest" not in model.card["selection"]["families"]
    assert model.card["family"] != "forest" and "forest" not in ((model.card.get("blend") or {}).get("shares") or {})


def test_repeated_cv_card_shows_every_family_with_spread(data):
    model = RiskScorer().fit(data, config=fast(cv_folds=3, cv_repeats=2, gbm_trials=4))
    selection = model.card["selection"]
    assert selection["repeats"] == 2 and selection["folds_per_repeat"] == 3 and selection["folds"] == 6
    for family in ("gbm", "scorecard", "logistic", "forest"):
        assert 0.5 < selection["cv_auc"][family] <= 1 and selection["cv_auc_std"][family] > 0
        assert len(selection["fold_auc"][family]) == 6
        assert selection["cv_auc"][family] == pytest.approx(np.mean(selection["fold_auc"][family]), abs=1e-4)
    search = selection["search"]
    assert search["gbm"]["trials"] == 4 and 1 <= len(search["gbm"]["finalists"]) <= 3
    assert search["logistic"]["chosen_c"] in search["logistic"]["c_grid"]
    assert search["forest"]["chosen_min_rows_per_leaf"] in search["forest"]["min_rows_per_leaf_grid"]
    assert model.card["gbm"] is None or model.card["gbm"]["params"] == search["gbm"]["chosen"]
    assert RiskScorer._repeats(250, None, RiskScorer.Config()) == 4 and RiskScorer._repeats(15000, None, RiskScorer.Config()) == 1


def test_model_txt_carries_real_feature_names(data, tmp_path):
    import lightgbm

    frame = data.rename({"income": "monthly income (EUR)"})
    model = RiskScorer().fit(frame, config=fast(family="gbm"))
    saved = model.save(tmp_path / "gbm")
    booster = lightgbm.Booster(model_file=str(saved / "model.txt"))
    assert booster.feature_name() == ["utilisation", "monthly_income_EUR", "housing"]
    assert model.card["gbm"]["feature_names"] == booster.feature_name()
    assert RiskScorer.load(saved).predict(frame.head(4)) == model.predict(frame.head(4))


def test_sequence_summaries_are_derived_from_raw_columns():
    rng = np.random.default_rng(4)
    n = 300
    delays = rng.integers(-1, 4, size=(n, 4))
    logit = -1.5 + 0.8 * delays.max(axis=1)
    frame = pl.DataFrame({**{f"PAY_{i}": delays[:, i] for i in range(4)}, "age": rng.integers(20, 70, n),
                          "default": (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)})
    schema, arrays, _ = _frame_arrays(frame, summaries=True)
    derived = {f["name"]: f for f in schema if "derived" in f}
    assert {"PAY_max", "PAY_mean", "PAY_positive_count"} <= set(derived)
    np.testing.assert_array_equal(arrays["PAY_max"], delays.max(axis=1))
    model = RiskScorer().fit(frame, config=fast(family="logistic"))
    assert "PAY_max" in [f["name"] for f in model.card["features"]]
    row = frame.drop("default").row(0, named=True)  # raw columns only: the summaries are computed on the fly
    assert model.predict([row])[0]["pd"] == model.predict(frame.head(1))[0]["pd"]
    assert "PAY_max" in {c["feature"] for c in model.explain(row)["contributions"]}
    plain = RiskScorer().fit(frame, config=fast(family="logistic", sequence_summaries=False))
    assert not [f for f in plain.card["features"] if "derived" in f]


def test_resume_reuses_the_cross_validation_of_the_same_run_only(data, tmp_path):
    first = RiskScorer().fit(data, config=fast(), run_dir=tmp_path / "run")
    assert first.card["training"]["reused_cv_fits"] == 0
    stored = sorted((tmp_path / "run" / "cv").rglob("*.npz"))
    assert stored and all(np.load(p, allow_pickle=False).files for p in stored)  # plain arrays, no pickle
    resumed = RiskScorer().fit(data, config=fast(), run_dir=tmp_path / "run", resume=True)
    assert resumed.card["training"]["reused_cv_fits"] == len(stored)
    assert resumed.card["selection"]["cv_auc"] == first.card["selection"]["cv_auc"]
    assert resumed.predict(data.head(5)) == first.predict(data.head(5))
    other = RiskScorer().fit(data.head(300), config=fast(), run_dir=tmp_path / "run", resume=True)  # other data: nothing reused
    assert other.card["training"]["reused_cv_fits"] == 0
    fresh = RiskScorer().fit(data, config=fast(), run_dir=tmp_path / "run")  # no resume: recomputed, not read
    assert fresh.card["training"]["reused_cv_fits"] == 0


def test_a_full_disk_while_keeping_a_fold_is_a_one_line_error_and_leaves_no_partial_file(tmp_path, monkeypatch):
    """The cross-validation cache writes through core.artifacts.atomic_write_bytes: a full disk (ENOSPC) is a
    StorageError (exit 1) naming the file, and no half-written `.partial` / temp file stays in the run folder."""
    import errno

    from finance.risk import _FoldCache

    cache = _FoldCache(tmp_path / "run", "abc", resume=False)
    real_fdopen = os.fdopen

    def full(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)

        def refuse(data):
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = refuse
        return handle

    monkeypatch.setattr(os, "fdopen", full)
    with pytest.raises(StorageError, match="No space left on device"):
        cache.get("logistic-fold1", lambda: {"p": np.arange(3.0)})
    assert [p.name for p in (tmp_path / "run").rglob("*") if p.is_file()] == []


def test_interrupted_fit_resumes_from_the_folds_it_finished(data, tmp_path):
    def stop_at_gbm(record):
        if "gbm" in record["stage"]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        RiskScorer().fit(data, config=fast(), run_dir=tmp_path / "run", callbacks=[stop_at_gbm])
    assert not list((tmp_path / "run" / "cv").rglob("forest-*.npz"))  # the forest comes after the gbm: not reached
    resumed = RiskScorer().fit(data, config=fast(), run_dir=tmp_path / "run", resume=True)
    assert resumed.card["training"]["reused_cv_fits"] >= 4  # the logistic and scorecard folds, and the first gbm fit
    assert resumed.predict(data.head(5)) == RiskScorer().fit(data, config=fast()).predict(data.head(5))


def test_blend_takes_the_most_even_shares_within_one_standard_error():
    from finance.risk import _simplex, _within_one_se

    grid = _simplex(3, 6)
    assert grid[0].tolist() == pytest.approx([1 / 3] * 3) and len(grid) == 28
    table = np.tile([0.70, 0.72, 0.74, 0.76], (len(grid), 1))  # every mix scores the same: the even one is kept
    table[5] += [0.012, -0.008, 0.006, -0.006]  # better on average, but not fold by fold: noise
    assert _within_one_se(table, 4) == 0
    table[5] += 0.01  # better on every fold: chosen
    assert _within_one_se(table, 4) == 5


def test_evaluate_card_plots_render(auto_model, data):
    from apps.plots import figure

    plots = auto_model.evaluate(data)["plots"]
    assert {"ROC curve", "Precision-recall curve", "Calibration", "Default rate by risk band"} <= set(plots)
    assert any(title.startswith("KS") for title in plots)
    bands = plots["Default rate by risk band"]
    assert all(0 <= v <= 1 for v in bands["values"]) and sum(int(label.split("n = ")[1].rstrip(")")) for label in
                                                              bands["labels"]) == data.height
    for title, spec in plots.items():
        assert figure(title, spec) is not None, title


def test_isotonic_calibration_keeps_the_ranking_of_the_margins():
    from sklearn.metrics import roc_auc_score

    from finance._risk_models import _fit_isotonic, Calibrator

    rng = np.random.default_rng(0)
    margin = rng.normal(size=3000)
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-margin))).astype(int)
    pd = Calibrator(_fit_isotonic(margin, y))(margin)
    assert len(np.unique(pd)) == len(margin)  # no ties from the isotonic steps
    assert roc_auc_score(y, pd) == pytest.approx(roc_auc_score(y, margin), abs=1e-9)
    assert abs(pd.mean() - y.mean()) < 1e-3  # still calibrated


def test_the_blend_is_chosen_unless_a_single_family_beats_it_by_more_than_noise():
    from types import SimpleNamespace

    from finance.risk import _Search

    prepared = SimpleNamespace(candidates=["gbm", "scorecard", "logistic", "forest", "blend"], per_repeat=3)
    blend = np.array([0.760, 0.740, 0.750, 0.755, 0.745, 0.750])  # two repeats of three folds

    def choose(forest: np.ndarray) -> str:
        fold_auc = {"gbm": blend - 0.02, "scorecard": blend - 0.03, "logistic": blend - 0.01, "forest": forest, "blend": blend}
        search = _Search(oof={}, fold_auc={k: np.asarray(v, dtype=float) for k, v in fold_auc.items()})
        return RiskScorer()._choose(prepared, search)[0]

    noisy = blend + np.array([0.02, -0.01, 0.015, -0.012, 0.018, -0.008])  # higher on average, by less than its spread
    assert noisy.mean() > blend.mean() and choose(noisy) == "blend"
    assert choose(blend + 0.03) == "forest"  # a clear, fold-by-fold lead: the single family


def test_a_saved_german_shaped_model_loads_with_its_described_feature_names(tmp_path):
    """Headerless German credit columns (0..19, A<i><code> values) are named in model.txt with their descriptions
    (`0_checking_account_status`); a change to the load check compared model.txt with encoding.json's features, which
    carry no description, and refused every such folder as damaged."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    numeric = {2, 5, 8, 11, 13, 16, 18}
    columns = {}
    for attribute in range(1, 21):
        if attribute in numeric:
            columns[str(attribute - 1)] = rng.integers(1, 60, 240).tolist()
        else:
            columns[str(attribute - 1)] = [f"A{attribute}{code}" for code in rng.integers(1, 4, 240)]
    frame = pl.DataFrame(columns).with_columns(pl.Series("20", rng.integers(1, 3, 240)))
    model = RiskScorer().fit(RiskData(frame, "20"), config=fast(family="gbm"))
    assert model.card["features"][0].get("description") == "checking account status"
    loaded = RiskScorer.load(model.save(tmp_path / "m"))
    assert loaded.predict(frame.head(3)) == model.predict(frame.head(3))
