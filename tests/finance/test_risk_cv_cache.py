"""finance.risk --resume: cross-validation results kept in a run folder are reused only by the same data, config, folds,
recipe code and library versions; results kept by another recipe (an older Verticals) are recomputed, with a note."""

from __future__ import annotations

import importlib.metadata
import json
import shutil

import pytest

from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def fast(**changes):
    base = dict(family="logistic", cv_folds=2, cv_repeats=1)
    return RiskScorer.Config(**{**base, **changes})


@pytest.fixture(scope="module")
def data():
    return synthetic_applicants(300, seed=4)


@pytest.fixture(scope="module")
def plain(data):
    return RiskScorer().fit(data, config=fast())


def _kept_run(data, tmp_path):
    run = tmp_path / "run"
    first = RiskScorer().fit(data, config=fast(), run_dir=run)
    stored = sorted((run / "cv").rglob("*.npz"))
    assert stored and first.card["training"]["reused_cv_fits"] == 0 and "cv_cache_note" not in first.card["training"]
    return run, stored


def test_same_recipe_resumes_from_the_kept_folds(data, tmp_path):
    run, stored = _kept_run(data, tmp_path)
    key = json.loads(next((run / "cv").glob("*/key.json")).read_text())
    assert {"data_hash", "config", "folds", "code", "libraries"} <= set(key) and key["libraries"]["lightgbm"]
    resumed = RiskScorer().fit(data, config=fast(), run_dir=run, resume=True)
    assert resumed.card["training"]["reused_cv_fits"] == len(stored) and "cv_cache_note" not in resumed.card["training"]


def test_folds_kept_under_other_library_versions_are_recomputed_with_a_note(data, plain, tmp_path, monkeypatch):
    run, _ = _kept_run(data, tmp_path)
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == "scikit-learn" else real(name))
    with pytest.warns(UserWarning, match="not reused, recomputed"):
        resumed = RiskScorer().fit(data, config=fast(), run_dir=run, resume=True)
    assert resumed.card["training"]["reused_cv_fits"] == 0
    assert "-> 99.0" in resumed.card["training"]["cv_cache_note"] and "scikit-learn" in resumed.card["training"]["cv_cache_note"]
    assert resumed.card["selection"]["cv_auc"] == plain.card["selection"]["cv_auc"]


def test_folds_kept_by_other_recipe_code_are_recomputed(data, plain, tmp_path, monkeypatch):
    import finance.risk as risk

    run, _ = _kept_run(data, tmp_path)
    recipe = risk._cv_recipe()
    monkeypatch.setattr(risk, "_cv_recipe", lambda: {**recipe, "code": "changed"})  # e.g. the class weighting fixed
    with pytest.warns(UserWarning):
        resumed = RiskScorer().fit(data, config=fast(), run_dir=run, resume=True)
    assert resumed.card["training"]["reused_cv_fits"] == 0
    assert "another version of the risk recipe (its code)" in resumed.card["training"]["cv_cache_note"]


def test_folds_kept_by_an_older_verticals_without_a_key_are_recomputed(data, plain, tmp_path):
    run, _ = _kept_run(data, tmp_path)
    kept = next((run / "cv").iterdir())
    (kept / "key.json").unlink()  # what an older Verticals left: the folds under its own digest, no key
    shutil.move(kept, run / "cv" / "0123456789abcdef")
    with pytest.warns(UserWarning):
        resumed = RiskScorer().fit(data, config=fast(), run_dir=run, resume=True)
    assert resumed.card["training"]["reused_cv_fits"] == 0
    assert "older version of Verticals" in resumed.card["training"]["cv_cache_note"]
    assert resumed.predict(data.head(5)) == plain.predict(data.head(5))
