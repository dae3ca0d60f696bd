"""finance.risk's scorecard as a credit team reads it: monotone bins with enough defaults, rare categories grouped,
the information-value table in the card."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from core.errors import InputError
from finance._risk_data import build_schema, encode_target, feature_arrays, label_map_for
from finance._risk_models import _scorecard_frame, fit_scorecard
from finance.risk import RiskScorer

OLD_BINNING = dict(scorecard_trend="auto", scorecard_min_bin_events=0, scorecard_cat_cutoff=0.0)  # optbinning's own


def _fit(frame: pl.DataFrame, **config):
    y = encode_target(frame["default"], label_map_for(frame["default"]))
    schema, _ = build_schema(frame, "default")
    arrays = feature_arrays(frame, schema)
    family, optbinning = fit_scorecard(arrays, y, schema, RiskScorer.Config(**config), return_optbinning=True)
    return family, optbinning, arrays, schema


def _spiky(seed: int = 0, n: int = 800) -> pl.DataFrame:
    """Risk rising with x, but a narrow band of x (4-5) holding almost no defaults: optbinning's "auto" trend gives it
    a bin of its own with a single default, a WoE spike."""
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(0, 10, n), rng.normal(size=n)
    logit = -2.2 + 0.25 * x + 0.8 * z + np.where((x > 4.0) & (x < 5.0), -2.5, 0.0)
    return pl.DataFrame({"x": x, "z": z, "default": (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)})


def _bins(family, variable: str) -> list[dict]:
    table = next(v for v in family.tables["information_value"] if v["variable"] == variable)
    return [b for b in table["bins"] if b["bin"] not in ("Special", "Missing")]


def test_scorecard_bins_are_monotone_and_hold_enough_defaults_by_default():
    frame = _spiky()
    family, *_ = _fit(frame)
    bins = _bins(family, "x")
    steps = np.diff([b["woe"] for b in bins])
    assert (steps >= 0).all() or (steps <= 0).all()
    assert min(b["defaults"] for b in bins) >= 5 and min(b["count"] - b["defaults"] for b in bins) >= 5
    x = next(v for v in family.tables["variables"] if v["name"] == "x")  # the scored table has the same trend
    assert (np.diff(x["woe"]) >= 0).all() or (np.diff(x["woe"]) <= 0).all()

    old, *_ = _fit(frame, **OLD_BINNING)  # what optbinning's defaults give: the spike the tester saw
    old_bins = _bins(old, "x")
    assert min(b["defaults"] for b in old_bins) < 5
    old_steps = np.diff([b["woe"] for b in old_bins])
    assert (old_steps > 0).any() and (old_steps < 0).any()


def _branches(n: int = 2000) -> pl.DataFrame:
    """Three common regions and 300 rare branch codes (30% of rows, about 2 rows each)."""
    rng = np.random.default_rng(0)
    common = rng.choice(["north", "south", "east"], n, p=[0.4, 0.35, 0.25])
    rare = np.array([f"b{i:03d}" for i in rng.integers(0, 300, n)])
    branch = np.where(rng.uniform(size=n) < 0.3, rare, common)
    x = rng.normal(size=n)
    logit = -1.2 + 0.9 * x + np.where(branch == "north", 0.6, 0.0) + np.where(np.char.startswith(branch, "b"), 0.5, 0.0)
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"x": x, "branch": branch, "default": default})


def test_rare_categories_are_grouped_into_one_bin_and_scored_as_optbinning_scores_them():
    frame = _branches()
    family, optbinning, arrays, schema = _fit(frame)
    branch = next(v for v in family.tables["variables"] if v["name"] == "branch")
    assert sorted(len(g) for g in branch["groups"])[:3] == [1, 1, 1]  # north, south and east keep bins of their own
    others = max(branch["groups"], key=len)
    assert len(others) > 200 and all(c.startswith("b") for c in others)
    ours = 1 / (1 + np.exp(-family.margin(arrays)))
    theirs = optbinning.predict_proba(_scorecard_frame(arrays, schema))[:, 1]
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    assert family.margin({"x": np.array([0.0]), "branch": np.array([others[5]], dtype=object)})[0] == pytest.approx(
        family.margin({"x": np.array([0.0]), "branch": np.array([others[-1]], dtype=object)})[0])

    old, *_ = _fit(frame, **OLD_BINNING)  # no grouping: rare codes are binned by their own (noisy) default rates
    old_branch = next(v for v in old.tables["variables"] if v["name"] == "branch")
    assert all(any(c.startswith("b") for c in g) for g in old_branch["groups"])
    unset = _fit(frame, scorecard_cat_cutoff=0.0)[0]
    assert max(len(g) for g in next(v for v in unset.tables["variables"] if v["name"] == "branch")["groups"]) < 200


def test_card_lists_information_values_with_bin_tables_and_survives_save(tmp_path):
    frame = _branches()
    model = RiskScorer().fit(frame, config=RiskScorer.Config(family="scorecard", cv_folds=2, cv_repeats=1))
    table = model.card["information_value"]
    assert [v["variable"] for v in table] == sorted(["x", "branch"], key=lambda n: -next(v["iv"] for v in table
                                                                                           if v["variable"] == n))
    assert table[0]["iv"] >= table[1]["iv"] > 0 and all(0 <= v["gini"] <= 1 for v in table)
    for variable in table:
        assert {"variable", "description", "iv", "gini", "selected", "bins"} <= set(variable)
        assert sum(b["count"] for b in variable["bins"]) == frame.height
        assert sum(b["defaults"] for b in variable["bins"]) == int(frame["default"].sum())
        assert variable["iv"] == pytest.approx(sum(b["iv"] for b in variable["bins"]), abs=1e-3)
        assert set(variable["bins"][0]) == {"bin", "count", "defaults", "event_rate", "woe", "iv"}
    text = json.dumps(table, allow_nan=False)  # JSON-safe, and small although branch has 300 codes
    assert len(text) < 5000 and "more]" in text
    saved = model.save(tmp_path / "scorecard")
    assert RiskScorer.load(saved).card["information_value"] == table


def test_bad_scorecard_settings_are_input_errors():
    frame = _spiky(n=200)
    for setting in ({"scorecard_trend": "upwards"}, {"scorecard_cat_cutoff": 1.5}, {"scorecard_min_bin_events": -1}):
        with pytest.raises(InputError, match="scorecard_"):
            RiskScorer().fit(frame, config=RiskScorer.Config(family="logistic", cv_folds=2, cv_repeats=1, **setting))
