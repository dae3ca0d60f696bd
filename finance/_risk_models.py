"""The two credit-risk families (LightGBM, WoE scorecard) and the PD calibrators, all stored without pickle.

The scorecard is fitted with optbinning (`BinningProcess` + `Scorecard`), exported to JSON tables (bins, WoE,
coefficients, points) and scored from those tables, so a saved scorecard needs only numpy to run.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from core.errors import InputError

__all__ = ["gbm_matrix", "fit_gbm", "GBMFamily", "fit_scorecard", "ScorecardFamily", "fit_calibrator", "Calibrator",
           "logit", "sigmoid"]


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities (clipped away from 0 and 1).

    >>> float(logit(np.array([0.5]))[0])
    0.0
    """
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Inverse of `logit`.

    >>> float(sigmoid(np.array([0.0]))[0])
    0.5
    """
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


# ----------------------------------------------------------------------------------------------- LightGBM
def gbm_matrix(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]) -> np.ndarray:
    """(N, F) float matrix: numeric as is, categoricals as their index in the training categories (unseen/missing = NaN)."""
    columns = []
    for feature in schema:
        values = arrays[feature["name"]]
        if feature["kind"] == "numeric":
            columns.append(values.astype(float))
        else:
            index = {c: float(i) for i, c in enumerate(feature["categories"])}
            columns.append(np.fromiter((index.get(v, np.nan) if v is not None else np.nan for v in values), dtype=float,
                                       count=len(values)))
    return np.column_stack(columns) if columns else np.empty((0, 0))


def gbm_params(config: Any, schema: list[dict[str, Any]], scale_pos_weight: float) -> dict[str, Any]:
    """Explicit LightGBM parameters (nothing left to library defaults that matters)."""
    monotone = _monotone_map(config.monotone)
    return {
        "objective": "binary", "metric": "auc", "learning_rate": config.learning_rate, "num_leaves": config.num_leaves,
        "max_depth": -1, "min_data_in_leaf": config.min_child_samples, "min_sum_hessian_in_leaf": 1e-3,
        "feature_fraction": config.feature_fraction, "bagging_fraction": config.bagging_fraction, "bagging_freq": 1,
        "lambda_l1": 0.0, "lambda_l2": config.l2_regularisation, "min_gain_to_split": 0.0, "max_bin": 255,
        "max_cat_to_onehot": 8, "cat_smooth": 10.0, "cat_l2": 10.0, "min_data_per_group": 20,
        "scale_pos_weight": scale_pos_weight, "monotone_constraints": [monotone.get(f["name"], 0) if f["kind"] == "numeric" else 0
                                                                     for f in schema],
        "monotone_constraints_method": "advanced", "num_threads": config.num_threads, "seed": config.seed,
        "deterministic": True, "force_row_wise": True, "verbosity": -1,
    }


def _monotone_map(entries: tuple[str, ...]) -> dict[str, int]:
    """{"feature": +1/-1} from "feature:+1" / "feature:-1" entries (+1: PD rises with the feature)."""
    result = {}
    for entry in entries:
        name, sep, sign = str(entry).rpartition(":")
        if not sep or sign.strip() not in {"+1", "1", "-1", "+", "-"}:
            raise InputError(f"monotone entry {entry!r} must look like 'feature:+1' (PD rises with it) or 'feature:-1'")
        result[name.strip()] = -1 if sign.strip().startswith("-") else 1
    return result


def fit_gbm(x: np.ndarray, y: np.ndarray, schema: list[dict[str, Any]], config: Any, valid: tuple[np.ndarray, np.ndarray] | None,
            rounds: int | None = None):
    """Train a LightGBM booster; with `valid`, stop early on its AUC. Returns (booster, best_iteration)."""
    import lightgbm as lgb

    positives = max(int(y.sum()), 1)
    weight = (len(y) - positives) / positives if config.class_weight == "balanced" else 1.0
    params = gbm_params(config, schema, weight)
    categorical = [i for i, f in enumerate(schema) if f["kind"] == "categorical"]
    names = [f"f{i}" for i in range(len(schema))]
    train = lgb.Dataset(x, label=y, feature_name=names, categorical_feature=categorical or "auto", free_raw_data=True,
                        params={"verbosity": -1, "max_bin": 255})
    if valid is not None and rounds is None:
        valid_set = lgb.Dataset(valid[0], label=valid[1], reference=train)
        booster = lgb.train(params, train, num_boost_round=config.max_rounds, valid_sets=[valid_set],
                            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
        best = max(int(booster.best_iteration or booster.current_iteration()), 1)
    else:
        booster = lgb.train(params, train, num_boost_round=max(int(rounds or config.max_rounds), 1))
        best = booster.current_iteration()
    # Round-trip through the text format so a fitted and a reloaded model predict bit-identically.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return booster, best


class GBMFamily:
    """A LightGBM booster over the schema's features; thread-safe raw scores and per-feature log-odds contributions."""

    name = "gbm"

    def __init__(self, booster, schema: list[dict[str, Any]]):
        self.booster = booster
        self.schema = schema
        self._lock = threading.Lock()

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Raw log-odds of default, (N,)."""
        x = gbm_matrix(arrays, self.schema)
        with self._lock:
            return np.asarray(self.booster.predict(x, raw_score=True, num_threads=1), dtype=float)

    def contributions(self, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, F) log-odds contributions per feature and (N,) bias (SHAP values from `pred_contrib`)."""
        x = gbm_matrix(arrays, self.schema)
        with self._lock:
            contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1), dtype=float)
        return contrib[:, :-1], contrib[:, -1]

    def save(self, folder) -> None:
        self.booster.save_model(str(folder / "model.txt"))

    @classmethod
    def load(cls, folder, schema):
        import lightgbm as lgb

        return cls(lgb.Booster(model_file=str(folder / "model.txt")), schema)


# ------------------------------------------------------------------------------------------------ Scorecard
def _scorecard_frame(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]):
    import pandas as pd

    data = {}
    for feature in schema:
        values = arrays[feature["name"]]
        if feature["kind"] == "numeric":
            data[feature["name"]] = values.astype(float)
        else:
            data[feature["name"]] = np.asarray([np.nan if v is None else v for v in values], dtype=object)
    return pd.DataFrame(data)


def fit_scorecard(arrays: dict[str, np.ndarray], y: np.ndarray, schema: list[dict[str, Any]], config: Any,
                  return_optbinning: bool = False):
    """Fit optbinning's BinningProcess + Scorecard (WoE logistic regression) and export it to JSON tables."""
    import warnings

    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    names = [f["name"] for f in schema]
    categorical = [f["name"] for f in schema if f["kind"] == "categorical"]
    monotone = _monotone_map(config.monotone)
    fit_params = {name: {"monotonic_trend": "ascending" if sign > 0 else "descending"}
                  for name, sign in monotone.items() if name in names and name not in categorical}
    process = BinningProcess(names, categorical_variables=categorical or None, max_n_prebins=20, min_prebin_size=0.05,
                             binning_fit_params=fit_params or None, n_jobs=1)
    estimator = LogisticRegression(C=config.scorecard_c, max_iter=2000,
                                   class_weight="balanced" if config.class_weight == "balanced" else None)
    scorecard = Scorecard(binning_process=process, estimator=estimator, scaling_method="pdo_odds",
                          scaling_method_params={"pdo": config.pdo, "odds": config.base_odds, "scorecard_points": config.base_score})
    frame = _scorecard_frame(arrays, schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scorecard.fit(frame, y, metric_missing="empirical")
        except (ValueError, TypeError) as error:
            raise InputError(f"the scorecard could not be fitted on this data: {error}") from error
        tables = _export_tables(scorecard, schema)
        points = scorecard.table(style="summary")
    intercept = float(np.ravel(scorecard.estimator_.intercept_)[0])
    if config.class_weight == "balanced":  # undo the prior shift of class weighting so PDs stay calibrated
        positives = max(float(y.mean()), 1e-9)
        intercept += float(np.log(positives / (1 - positives)))
    summary = [{"variable": str(r.Variable), "bin": str(r.Bin), "points": float(r.Points)} for r in points.itertuples()]
    family = ScorecardFamily({"intercept": intercept, "variables": tables, "optbinning_points": summary})
    return (family, scorecard) if return_optbinning else family


def _export_tables(scorecard, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per selected variable: splits or category groups with the WoE optbinning's own transform gives each bin."""
    coefficients = dict(zip(scorecard.binning_process_.get_support(names=True), np.ravel(scorecard.estimator_.coef_)))
    kinds = {f["name"]: f for f in schema}
    tables = []
    for name, coefficient in coefficients.items():
        binned = scorecard.binning_process_.get_binned_variable(name)
        if kinds[name]["kind"] == "numeric":
            splits = np.asarray(binned.splits, dtype=float)
            if len(splits):
                inner = [(a + b) / 2 for a, b in zip(splits[:-1], splits[1:])]
                probes = np.asarray([splits[0] - 1.0, *inner, splits[-1] + 1.0, np.nan])
            else:
                probes = np.asarray([0.0, np.nan])
            woe = binned.transform(probes, metric="woe", metric_missing="empirical")
            tables.append({"name": name, "kind": "numeric", "coefficient": float(coefficient), "splits": splits.tolist(),
                           "woe": [float(w) for w in woe[:-1]], "missing_woe": float(woe[-1])})
        else:
            groups = [[str(c) for c in group] for group in binned.splits]
            probes = np.asarray([g[0] for g in groups] + ["\x00unseen\x00", np.nan], dtype=object)
            woe = binned.transform(probes, metric="woe", metric_missing="empirical")
            tables.append({"name": name, "kind": "categorical", "coefficient": float(coefficient), "groups": groups,
                           "woe": [float(w) for w in woe[:-2]], "unseen_woe": float(woe[-2]), "missing_woe": float(woe[-1])})
    return tables


class ScorecardFamily:
    """A WoE logistic scorecard scored from its JSON tables: logit(PD) = intercept + sum coefficient * WoE(bin)."""

    name = "scorecard"

    def __init__(self, tables: dict[str, Any]):
        self.tables = tables
        self._lookups = [self._lookup(v) for v in tables["variables"]]

    @staticmethod
    def _lookup(variable: dict[str, Any]):
        if variable["kind"] == "numeric":
            splits, woe = np.asarray(variable["splits"], dtype=float), np.asarray(variable["woe"], dtype=float)

            def numeric(values: np.ndarray) -> np.ndarray:
                values = values.astype(float)
                missing = np.isnan(values)
                result = woe[np.searchsorted(splits, np.where(missing, 0.0, values), side="right")]
                return np.where(missing, variable["missing_woe"], result)
            return numeric
        mapping = {c: w for group, w in zip(variable["groups"], variable["woe"]) for c in group}

        def categorical(values: np.ndarray) -> np.ndarray:
            return np.fromiter((variable["missing_woe"] if v is None else mapping.get(v, variable["unseen_woe"]) for v in values),
                               dtype=float, count=len(values))
        return categorical

    def terms(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """(N, V) coefficient * WoE per scorecard variable."""
        n = len(next(iter(arrays.values())))
        columns = [v["coefficient"] * lookup(arrays[v["name"]]) for v, lookup in zip(self.tables["variables"], self._lookups)]
        return np.column_stack(columns) if columns else np.zeros((n, 0))

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.tables["intercept"] + self.terms(arrays).sum(axis=1)

    def save(self, folder) -> None:
        import json

        (folder / "scorecard.json").write_text(json.dumps(self.tables, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder, schema):
        import json

        return cls(json.loads((folder / "scorecard.json").read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------------------ Calibration
class Calibrator:
    """Maps raw log-odds to a calibrated PD: Platt (a * margin + b) or isotonic (interpolated thresholds); JSON state."""

    def __init__(self, state: dict[str, Any]):
        self.state = state

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=float)
        if self.state["method"] == "platt":
            return sigmoid(self.state["slope"] * margin + self.state["intercept"])
        if self.state["method"] == "isotonic":
            pd = np.interp(margin, self.state["x"], self.state["y"])
            return np.clip(pd, 1e-6, 1 - 1e-6)
        return sigmoid(margin)


def _fit_platt(margin: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
    return {"method": "platt", "slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}


def _fit_isotonic(margin: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
    return {"method": "isotonic", "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist()}


def fit_calibrator(margin: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[Calibrator, dict[str, float]]:
    """Choose isotonic or Platt by 2-fold cross-validated Brier score on held-out margins, then fit it on all of them."""
    from sklearn.metrics import brier_score_loss
    from sklearn.model_selection import StratifiedKFold

    scores = {"platt": [], "isotonic": []}
    if min(int(y.sum()), int(len(y) - y.sum())) >= 2:
        for train, test in StratifiedKFold(2, shuffle=True, random_state=seed).split(margin, y):
            for name, fit in (("platt", _fit_platt), ("isotonic", _fit_isotonic)):
                scores[name].append(brier_score_loss(y[test], Calibrator(fit(margin[train], y[train]))(margin[test])))
    brier = {name: float(np.mean(v)) if v else float("nan") for name, v in scores.items()}
    # Isotonic needs data: below ~1,000 held-out rows its steps overfit, Platt's two parameters do not.
    use_isotonic = len(y) >= 1000 and brier["isotonic"] < brier["platt"]
    state = (_fit_isotonic if use_isotonic else _fit_platt)(margin, y)
    return Calibrator(state), brier


class BlendFamily:
    """Equal-weight average of the GBM and scorecard log-odds (both fitted on all rows), calibrated afterwards."""

    name = "blend"

    def __init__(self, gbm: GBMFamily, scorecard: ScorecardFamily, weight: float = 0.5):
        self.gbm, self.scorecard, self.weight = gbm, scorecard, weight

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.weight * self.gbm.margin(arrays) + (1 - self.weight) * self.scorecard.margin(arrays)

    def save(self, folder) -> None:
        self.gbm.save(folder)
        self.scorecard.save(folder)

    @classmethod
    def load(cls, folder, schema, weight: float = 0.5):
        return cls(GBMFamily.load(folder, schema), ScorecardFamily.load(folder, schema), weight)
