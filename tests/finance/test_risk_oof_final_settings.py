"""finance.risk's calibrator and card metrics rest on out-of-fold log-odds made at the final model's settings (one
procedure for every fold), not on the cross-fitted ones, whose setting changes from fold to fold."""

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from finance.risk import RiskScorer, _Search

SHARED = Path(os.environ.get("VERTICALS_SHARED", Path(__file__).resolve().parents[2].parent / "shared")) / "data" / "finance.risk"
GERMAN = SHARED / "statlog_german_credit" / "german_even.data"


class _Folds:
    """The few fields of `_Prepared` that `_cv_grid` reads."""

    def __init__(self, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]):
        self.y, self.folds, self.repeats, self.per_repeat = y, folds, 1, len(folds)

    def fold_auc(self, margin: np.ndarray, test: np.ndarray) -> float:
        return float(roc_auc_score(self.y[test], margin))


class _NoCache:
    def get(self, key, compute):
        return compute()


def test_grid_families_keep_every_fold_at_the_final_setting_beside_the_cross_fitted_ones():
    """Two settings whose log-odds differ 100-fold in scale, each best on a different fold: the cross-fitted margin
    mixes the scales (its pooled AUC falls well below its fold AUCs); the final-setting margin does not."""
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    signal = y + rng.normal(0, 1.0, n)
    order = rng.permutation(n)
    folds = [(np.setdiff1d(order, test), np.sort(test)) for test in np.array_split(order, 3)]
    prepared = _Folds(y, folds)
    noisy = signal + rng.normal(0, 1.5, n)

    def path(train, test):  # setting 0: small scale, strong on fold 0; setting 1: large scale, strong elsewhere
        k = next(i for i, (_, t) in enumerate(folds) if np.array_equal(t, test))
        return np.vstack([0.01 * (signal if k == 0 else noisy)[test], 1.0 * (noisy if k == 0 else signal)[test]])

    search = _Search(oof={"logistic": np.full((1, n), np.nan)})
    table = RiskScorer._cv_grid(prepared, search, lambda *a, **k: None, _NoCache(), "logistic", path)
    best = int(np.argmax(table.mean(axis=1)))
    assert best == 1
    final = search.final_oof["logistic"][0]
    assert np.isfinite(final).all()
    for _, test in folds:  # every fold at the final (best over all folds) setting
        assert np.allclose(final[test], path(None, test)[best])
    mixed, coherent = roc_auc_score(y, search.oof["logistic"][0]), roc_auc_score(y, final)
    assert coherent > mixed + 0.03
    assert coherent == pytest.approx(np.mean([roc_auc_score(y[t], final[t]) for _, t in folds]), abs=0.03)


@pytest.mark.slow
@pytest.mark.skipif(not GERMAN.exists(), reason="shared data not present")
def test_three_fold_blend_card_metrics_and_pds_match_its_cross_validated_auc(tmp_path):
    """German credit at cv_folds=3 (the tester's case): the blend's card AUC was 0.63 against a CV AUC of 0.77, and
    its Platt slope 0.15 squeezed every training PD into 0.25-0.46."""
    config = RiskScorer.Config(cv_folds=3, gbm_trials=2, cv_repeats=1, family="blend", num_threads=1)
    data = RiskScorer.read_data(str(GERMAN), target="-1")
    model = RiskScorer(config).fit(data, config)
    card = model.card_
    assert card["family"] == "blend"
    assert card["metrics"]["auc"]["value"] > card["selection"]["cv_auc"]["blend"] - 0.03
    assert model.calibrator_.state["method"] == "platt" and model.calibrator_.state["slope"] > 0.7
    pds = np.array([record["pd"] for record in model.predict(data.frame.drop(data.target).to_dicts())])
    assert pds.max() - pds.min() > 0.6
