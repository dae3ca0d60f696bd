"""The credit-risk families (LightGBM, WoE scorecard, regularised logistic, extremely randomised trees), their blend
and the PD calibrators, all stored without pickle.

The scorecard is fitted with optbinning (`BinningProcess` + `Scorecard`), exported to JSON tables (bins, WoE,
coefficients, points) and scored from those tables, so a saved scorecard needs only numpy to run. The logistic
model is stored the same way: its input columns (one-hot codes, signed-log numbers, missing flags), their
standardisation and coefficients as JSON. The forest (scikit-learn `ExtraTreesClassifier`) is stored as its node
arrays in safetensors (children, split column, threshold, default share per node) and walked in numpy.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

import numpy as np

from core.errors import InputError
from finance._lightgbm_text import read_model_text
from finance._risk_data import categorical_frame

__all__ = ["gbm_matrix", "fit_gbm", "check_monotone", "MONOTONE_FAMILIES", "gbm_trials", "lightgbm_feature_names", "GBMFamily", "fit_scorecard", "ScorecardFamily",
           "logistic_path", "fit_logistic", "LogisticFamily", "forest_leaves", "forest_path", "fit_forest", "ForestFamily",
           "BlendFamily", "fit_calibrator", "Calibrator", "logit", "sigmoid"]

LOGISTIC_CS = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 1.0)  # inverse L2 strengths tried, weakest penalty last
TIE_BREAK = 1e-4  # isotonic PD mixed with this share of sigmoid(margin): strictly rising, so calibration ties no one
CODE_LIMIT = 12  # a numeric column with at most this many distinct values also gets one 0/1 column per value
PARALLEL_ROWS = 50_000  # scoring batches at least this large use every core (one thread keeps small calls cheap)
FOREST_TREES = 300  # trees of the extremely randomised forest
FOREST_LEAVES = (3, 10, 30)  # minimum rows per leaf tried (cross-fitted like C), raised to rows / FOREST_LEAF_ROWS
FOREST_LEAF_ROWS = 2000  # so a tree has at most about this many leaves: the saved forest stays a few MB at any size
FOREST_MAX_ROWS = 200_000  # above this many rows the forest family is left out (LightGBM's ground; minutes to fit)
# The LightGBM search space: each trial draws one value per parameter (trial 0 is the Config's own values).
GBM_SPACE = {"learning_rate": (0.03, 0.05, 0.1), "num_leaves": (4, 7, 15, 31), "min_child_samples": (10, 20, 50, 100),
             "l2_regularisation": (0.0, 1.0, 5.0, 20.0), "feature_fraction": (0.5, 0.7, 0.9)}


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
    import polars as pl

    codes = categorical_frame(arrays, schema).select([  # one select: category -> its index, anything else null -> NaN
        pl.col(f["name"]).replace_strict(f["categories"], range(len(f["categories"])), default=None, return_dtype=pl.Float64)
        for f in schema if f["kind"] == "categorical"])
    columns = [arrays[f["name"]].astype(float) if f["kind"] == "numeric" else codes[f["name"]].to_numpy().astype(float)
               for f in schema]
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


MONOTONE_FAMILIES = ("gbm", "scorecard")  # the families that honour `monotone` (and so their blend); logistic and forest can not


def check_monotone(entries: tuple[str, ...], schema: list[dict[str, Any]], dropped: list[dict[str, str]] = ()
                   ) -> dict[str, int]:
    """`_monotone_map` of `entries`, each name checked against the features: a name that is no feature (a typo, another
    case, a column left out and why) or names a categorical one is an InputError naming it and the numeric columns a
    constraint can take. A constraint never applied used to train silently as if it held.

    >>> schema = [{"name": "age", "kind": "numeric"}, {"name": "job", "kind": "categorical"}]
    >>> check_monotone(("age:-1",), schema)
    {'age': -1}
    >>> check_monotone(("Age:+1",), schema)
    Traceback (most recent call last):
    core.errors.InputError: monotone names 'Age', which is not a feature column (did you mean 'age'? names are case-sensitive); a constraint takes one of the numeric columns: age
    """
    monotone = _monotone_map(entries)
    kinds = {f["name"]: f["kind"] for f in schema}
    numeric = [f["name"] for f in schema if f["kind"] == "numeric" and "derived" not in f]
    valid = f"a constraint takes one of the numeric columns: {', '.join(numeric[:40]) or 'none'}{' ...' if len(numeric) > 40 else ''}"
    reasons = {d["column"]: d["reason"] for d in dropped}
    for name in monotone:
        if kinds.get(name) == "numeric":
            continue
        if name in kinds:
            raise InputError(f"monotone names {name!r}, a categorical column: its values have no order to be monotone in; "
                             f"remove it from monotone ({valid})")
        if name in reasons:
            raise InputError(f"monotone names {name!r}, which was left out of the features ({reasons[name]}); "
                             f"remove it from monotone ({valid})")
        similar = [n for n in kinds if n.lower() == name.lower()]
        hint = f" (did you mean {similar[0]!r}? names are case-sensitive)" if similar else ""
        raise InputError(f"monotone names {name!r}, which is not a feature column{hint}; {valid}")
    return monotone


def lightgbm_feature_names(schema: list[dict[str, Any]]) -> list[str]:
    """Column names LightGBM accepts (no JSON punctuation or spaces), unique; bare column numbers get their description.

    >>> lightgbm_feature_names([{"name": "PAY_0", "description": "x"}, {"name": "debt: total", "description": "y"},
    ...                         {"name": "4", "description": "credit amount"}])
    ['PAY_0', 'debt_total', '4_credit_amount']
    """
    names: list[str] = []
    for i, feature in enumerate(schema):
        text = str(feature["name"])
        if text.isdigit():  # headerless files: "4" alone says nothing in model.txt
            text = f"{text}_{feature.get('description', '')}"
        name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("_") or f"f{i}"
        base, k = name, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


def gbm_trials(config: Any, count: int) -> list[Any]:
    """`count` LightGBM settings: the config itself, then seeded draws from `GBM_SPACE` (no repeats).

    >>> from types import SimpleNamespace as C
    >>> trials = gbm_trials(C(learning_rate=0.03, num_leaves=15, min_child_samples=20, l2_regularisation=5.0,
    ...                       feature_fraction=0.7, seed=0), 5)
    >>> len(trials), trials[0].learning_rate, len({tuple(vars(t).items()) for t in trials})
    (5, 0.03, 5)
    """
    rng = np.random.default_rng(config.seed)
    trials, seen = [config], {tuple(getattr(config, k) for k in GBM_SPACE)}
    for _ in range(200 * count):
        if len(trials) >= count:
            break
        draw = {k: type(v[0])(v[rng.integers(len(v))]) for k, v in GBM_SPACE.items()}
        key = tuple(draw.values())
        if key not in seen:
            seen.add(key)
            trials.append(_replace(config, **draw))
    return trials


def _replace(config: Any, **changes: Any) -> Any:
    if dataclasses.is_dataclass(config):
        return dataclasses.replace(config, **changes)
    return type(config)(**{**vars(config), **changes})


def fit_gbm(x: np.ndarray, y: np.ndarray, schema: list[dict[str, Any]], config: Any, valid: tuple[np.ndarray, np.ndarray] | None,
            rounds: int | None = None):
    """Train a LightGBM booster; with `valid`, stop early on its AUC. Returns (booster, best_iteration)."""
    import lightgbm as lgb

    positives = max(int(y.sum()), 1)
    weight = (len(y) - positives) / positives if config.class_weight == "balanced" else 1.0
    params = gbm_params(config, schema, weight)
    categorical = [i for i, f in enumerate(schema) if f["kind"] == "categorical"]
    names = lightgbm_feature_names(schema)
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
        threads = 0 if len(x) >= PARALLEL_ROWS else 1  # 0: LightGBM's default, every core (large streamed batches)
        with self._lock:
            return np.asarray(self.booster.predict(x, raw_score=True, num_threads=threads), dtype=float)

    def contributions(self, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, F) log-odds contributions per feature and (N,) bias (SHAP values from `pred_contrib`)."""
        x = gbm_matrix(arrays, self.schema)
        with self._lock:
            contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1), dtype=float)
        return contrib[:, :-1], contrib[:, -1]

    def used_features(self) -> set[str]:
        """The features some tree splits on: no other feature can move a score."""
        with self._lock:
            splits = self.booster.feature_importance("split")
        return {f["name"] for f, count in zip(self.schema, splits) if count}

    def save(self, folder) -> None:
        self.booster.save_model(str(folder / "model.txt"))

    @classmethod
    def load(cls, folder, schema):
        import lightgbm as lgb

        # the checked text itself is what LightGBM reads (a forged tree could otherwise hang or crash it)
        return cls(lgb.Booster(model_str=read_model_text(folder / "model.txt")), schema)


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


SCORECARD_TRENDS = ("auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "concave", "convex", "peak",
                    "valley", "peak_heuristic", "valley_heuristic", "none")  # optbinning's monotonic_trend values
IV_VARIABLES = 30  # variables the card's information-value table lists (highest IV first); the rest by name and IV only
IV_BINS = 25  # bins listed per variable (the rest summed in one "... more bins" row)
IV_CATEGORIES = 8  # categories named per categorical bin (a group of 300 rare codes lists 8, then how many more)


def scorecard_binning_params(schema: list[dict[str, Any]], config: Any) -> dict[str, dict[str, Any]]:
    """optbinning `OptimalBinning` settings per variable: the WoE trend of numeric bins (`scorecard_trend`, a user's
    `monotone` entry overriding it for its feature), the fewest defaults and non-defaults a bin may hold
    (`scorecard_min_bin_events`) and the share below which categories are grouped into one "others" bin
    (`scorecard_cat_cutoff`); settings left at optbinning's defaults are not passed.

    >>> from types import SimpleNamespace as C
    >>> schema = [{"name": "age", "kind": "numeric"}, {"name": "debt", "kind": "numeric"}, {"name": "job", "kind": "x"}]
    >>> params = scorecard_binning_params(schema, C(monotone=("age:-1",), scorecard_trend="auto_asc_desc",
    ...                                             scorecard_min_bin_events=5, scorecard_cat_cutoff=0.01))
    >>> params["age"]["monotonic_trend"], params["debt"]["monotonic_trend"], params["job"]
    ('descending', 'auto_asc_desc', {'min_bin_n_event': 5, 'min_bin_n_nonevent': 5, 'cat_cutoff': 0.01})
    """
    trend = str(getattr(config, "scorecard_trend", "auto"))
    if trend not in SCORECARD_TRENDS:
        raise InputError(f"scorecard_trend must be one of {', '.join(SCORECARD_TRENDS)}, got {trend!r}")
    # their ranges (events >= 0, 0 <= cutoff < 1) are checked with every config field's (core.config.FIELD_RANGES)
    events = int(getattr(config, "scorecard_min_bin_events", 0) or 0)
    cutoff = float(getattr(config, "scorecard_cat_cutoff", 0.0) or 0.0)
    monotone = _monotone_map(config.monotone)
    params: dict[str, dict[str, Any]] = {}
    for feature in schema:
        entry: dict[str, Any] = {}
        if events:
            entry.update(min_bin_n_event=events, min_bin_n_nonevent=events)
        if feature["kind"] == "numeric":
            sign = monotone.get(feature["name"])
            chosen = trend if sign is None else ("ascending" if sign > 0 else "descending")
            if chosen != "auto":  # optbinning's own default
                entry["monotonic_trend"] = chosen
        elif cutoff > 0:
            entry["cat_cutoff"] = cutoff
        if entry:
            params[feature["name"]] = entry
    return params


def _iv_number(value: Any, digits: int = 4) -> float | None:
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


def _iv_bin_label(label: Any) -> str:
    """A bin's label as text: an interval as optbinning prints it, a category group as its first categories."""
    if isinstance(label, (list, tuple, np.ndarray)):
        values = [str(v) for v in label]
        return "[" + ", ".join(values[:IV_CATEGORIES]) + (f", ... {len(values) - IV_CATEGORIES} more" if
                                                          len(values) > IV_CATEGORIES else "") + "]"
    return str(label)


def information_values(process, schema: list[dict[str, Any]], min_events: int = 0) -> list[dict[str, Any]]:
    """Each binned variable's information value, Gini and bin table (bin, count, defaults, event rate, WoE, IV), from
    optbinning's `binning_table.build()`, highest IV first: JSON-safe and small (IV_VARIABLES tables of IV_BINS bins).

    Selected says whether the scorecard keeps the variable and it can move a score: optbinning drops variables its
    selection criteria reject, and a variable binned into one bin (IV 0) scores every value alike. The bin of rare
    categories (each under `scorecard_cat_cutoff`, grouped by optbinning outside the event minimum) is labelled
    "others: ..." and, holding fewer than `min_events` defaults or non-defaults, carries a note saying so.
    """
    import warnings

    selected = set(process.get_support(names=True))
    rows = []
    for feature in schema:
        name = feature["name"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            binned = process.get_binned_variable(name)
            table = binned.binning_table
            frame = table.build(show_digits=4)
        others = getattr(binned, "_cat_others", None)
        others = {str(c) for c in others} if others is not None else set()
        bins = []
        for record in frame.iloc[:-1].itertuples(index=False):  # the last row is optbinning's totals
            values = dict(zip(frame.columns, record))
            label = values["Bin"]
            grouped = bool(others) and isinstance(label, (list, tuple, np.ndarray)) and {str(v) for v in label} == others
            entry = {"bin": ("others: " if grouped else "") + _iv_bin_label(label), "count": int(values["Count"]),
                     "defaults": int(values["Event"]), "event_rate": _iv_number(values["Event rate"]),
                     "woe": _iv_number(values["WoE"]), "iv": _iv_number(values["IV"], 5)}
            if grouped and min_events and min(entry["defaults"], entry["count"] - entry["defaults"]) < min_events:
                entry["note"] = (f"rare categories grouped; fewer than {min_events} defaults or non-defaults, "
                                 "so its WoE rests on too few applicants to be reliable")
            bins.append(entry)
        bins = [b for b in bins if b["count"] or b["bin"] not in ("Special", "Missing")]  # empty: no such values
        moves = len({b["woe"] for b in bins if b["count"]}) > 1  # one bin (or one WoE): no score difference
        if len(bins) > IV_BINS:
            rest = bins[IV_BINS - 1:]
            bins = bins[:IV_BINS - 1] + [{"bin": f"... {len(rest)} more bins", "count": sum(b["count"] for b in rest),
                                          "defaults": sum(b["defaults"] for b in rest), "event_rate": None, "woe": None,
                                          "iv": _iv_number(sum(b["iv"] or 0.0 for b in rest), 5)}]
        rows.append({"variable": name, "description": feature.get("description", name), "iv": _iv_number(table.iv),
                     "gini": _iv_number(table.gini), "selected": name in selected and moves, "bins": bins})
    rows.sort(key=lambda r: -(r["iv"] or 0.0))
    for row in rows[IV_VARIABLES:]:
        row.pop("bins")
    return rows


def fit_scorecard(arrays: dict[str, np.ndarray], y: np.ndarray, schema: list[dict[str, Any]], config: Any,
                  return_optbinning: bool = False):
    """Fit optbinning's BinningProcess + Scorecard (WoE logistic regression) and export it to JSON tables.

    A `monotone` column's bins follow its trend, but the regression can still give its WoE a reversed coefficient
    (columns that move together), which turns PD the other way: such a column is left out and the scorecard refitted
    (PD then flat in it), the tables naming it under `monotone_left_out`.
    """
    monotone = _monotone_map(config.monotone)
    left_out: list[str] = []
    while True:
        family, scorecard = _fit_scorecard([f for f in schema if f["name"] not in left_out], arrays, y, config)
        # optbinning's WoE falls as the default rate rises, so a coefficient above 0 turns the trend round
        turned = [v["name"] for v in family.tables["variables"] if v["name"] in monotone and v["coefficient"] > 0]
        if not turned:
            break
        left_out += turned
    if left_out:
        family.tables["monotone_left_out"] = left_out
    return (family, scorecard) if return_optbinning else family


def _fit_scorecard(schema: list[dict[str, Any]], arrays: dict[str, np.ndarray], y: np.ndarray, config: Any):
    import warnings

    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    schema = [f for f in schema if "derived" not in f]  # original columns only: binning already shapes each one
    names = [f["name"] for f in schema]
    categorical = [f["name"] for f in schema if f["kind"] == "categorical"]
    process = BinningProcess(names, categorical_variables=categorical or None, max_n_prebins=20, min_prebin_size=0.05,
                             binning_fit_params=scorecard_binning_params(schema, config) or None, n_jobs=1)
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
    family = ScorecardFamily({"intercept": intercept, "variables": tables, "optbinning_points": summary,
                              "information_value": information_values(scorecard.binning_process_, schema,
                                                                      int(getattr(config, "scorecard_min_bin_events", 0) or 0))})
    return family, scorecard


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
            groups = [[str(c) for c in group] for group in binned.splits]  # with cat_cutoff: rare ones the last group
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

    def used_features(self) -> set[str]:
        """The variables whose value can move a score: a coefficient, and WoE that differs between bins (or for unseen
        and missing values); a variable binned into one group scores every value alike."""
        return {str(v["name"]) for v in self.tables["variables"]
                if v["coefficient"] and len({*v["woe"], v.get("unseen_woe", v["missing_woe"]), v["missing_woe"]}) > 1}

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
        if self.state["method"] == "isotonic":  # + a tiny rising term, so the steps' flat parts keep the margin's order
            share = self.state.get("tie_break", 0.0)
            pd = (1 - share) * np.interp(margin, self.state["x"], self.state["y"]) + share * sigmoid(margin)
            return np.clip(pd, 1e-6, 1 - 1e-6)
        return sigmoid(margin)


def _fit_platt(margin: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y)
    return {"method": "platt", "slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}


def _fit_isotonic(margin: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
    return {"method": "isotonic", "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist(), "tie_break": TIE_BREAK}


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


# ------------------------------------------------------------------------------------------------ Logistic
def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _logistic_columns(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The input columns (unfitted) per feature, from training rows: codes, signed-log number, missing flag, categories."""
    features = []
    for feature in schema:
        values = arrays[feature["name"]]
        columns: list[dict[str, Any]] = []
        entry: dict[str, Any] = {"name": feature["name"], "kind": feature["kind"], "columns": columns}
        if feature["kind"] == "numeric":
            values = values.astype(float)
            missing = np.isnan(values)
            present = values[~missing]
            entry["fill"] = float(np.median(_signed_log(present))) if len(present) else 0.0
            columns.append({"type": "signed_log"})
            codes = np.unique(present)
            if 2 < len(codes) <= CODE_LIMIT:
                columns.extend({"type": "equals", "value": float(c)} for c in codes)
            if missing.any():
                columns.append({"type": "missing"})
        else:
            present = {v for v in values if v is not None}
            columns.extend({"type": "equals", "value": c} for c in feature["categories"] if c in present)
            if any(v is None for v in values):
                columns.append({"type": "missing"})
        features.append(entry)
    return features


def _logistic_raw(arrays: dict[str, np.ndarray], features: list[dict[str, Any]]) -> tuple[np.ndarray, list[int]]:
    """(N, P) unstandardised input matrix and the feature index of each column."""
    n = len(next(iter(arrays.values())))
    columns, owner = [], []
    for index, feature in enumerate(features):
        values = arrays[feature["name"]]
        if feature["kind"] == "numeric":
            values = values.astype(float)
            missing = np.isnan(values)
            for column in feature["columns"]:
                if column["type"] == "signed_log":
                    columns.append(np.where(missing, feature["fill"], _signed_log(np.where(missing, 0.0, values))))
                elif column["type"] == "equals":
                    columns.append((values == column["value"]).astype(float))
                else:
                    columns.append(missing.astype(float))
                owner.append(index)
        else:
            known = {column["value"]: i for i, column in enumerate(feature["columns"]) if column["type"] == "equals"}
            codes = np.fromiter((-2 if v is None else known.get(v, -1) for v in values), dtype=int, count=n)
            for i, column in enumerate(feature["columns"]):
                columns.append((codes == (i if column["type"] == "equals" else -2)).astype(float))
                owner.append(index)
    return (np.column_stack(columns) if columns else np.zeros((n, 0))), owner


def _standardise(raw: np.ndarray, features: list[dict[str, Any]]) -> None:
    """Store each column's training mean and scale (standard deviation, 1 for constant columns) in `features`."""
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale < 1e-12] = 1.0
    columns = [c for f in features for c in f["columns"]]
    for column, m, s in zip(columns, mean, scale):
        column["mean"], column["scale"] = float(m), float(s)


def _standardised(raw: np.ndarray, features: list[dict[str, Any]]) -> np.ndarray:
    columns = [c for f in features for c in f["columns"]]
    mean = np.asarray([c["mean"] for c in columns], dtype=float)
    scale = np.asarray([c["scale"] for c in columns], dtype=float)
    return (raw - mean) / scale


def _logistic_model(c: float, class_weight: str):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=1000, tol=1e-5, solver="lbfgs", warm_start=True,
                              class_weight="balanced" if class_weight == "balanced" else None)


def logistic_path(train: dict[str, np.ndarray], y: np.ndarray, test: dict[str, np.ndarray], schema: list[dict[str, Any]],
                  class_weight: str = "none", cs: tuple[float, ...] = LOGISTIC_CS, num_threads: int = 1) -> np.ndarray:
    """(len(cs), N_test) log-odds of default on `test` for each inverse L2 strength, fitted on `train` (warm-started).

    >>> rng = np.random.default_rng(0); x = rng.normal(size=200); y = (rng.uniform(size=200) < 1 / (1 + np.exp(-2 * x))).astype(int)
    >>> schema = [{"name": "x", "kind": "numeric"}]
    >>> margins = logistic_path({"x": x}, y, {"x": np.array([-1.0, 1.0])}, schema, cs=(0.01, 1.0))
    >>> margins.shape, bool(margins[1, 1] > margins[1, 0])
    ((2, 2), True)
    """
    from threadpoolctl import threadpool_limits

    features = _logistic_columns(train, schema)
    raw, _ = _logistic_raw(train, features)
    _standardise(raw, features)
    x_train = _standardised(raw, features)
    x_test = _standardised(_logistic_raw(test, features)[0], features)
    model = _logistic_model(cs[0], class_weight)
    margins = np.zeros((len(cs), x_test.shape[0]))
    with threadpool_limits(num_threads):
        for row, c in enumerate(sorted(cs)):
            model.set_params(C=c)
            model.fit(x_train, y)
            margins[list(cs).index(c)] = model.decision_function(x_test)
    # the same prior shift `fit_logistic` gives the final model: the calibrator is fitted on these margins and then
    # applied to the final model's, so both must be on one scale (without it the shift was applied twice: PDs 10x low)
    return margins + _balanced_shift(y, class_weight)


def _balanced_shift(y: np.ndarray, class_weight: str) -> float:
    """The log-odds that undo class weighting's prior shift (0 without balanced weights): log(p / (1 - p)) of the
    training default rate p, added to the intercept of a model fitted with balanced weights."""
    if class_weight != "balanced":
        return 0.0
    positives = max(float(np.mean(y)), 1e-9)
    return float(np.log(positives / (1 - positives)))


def fit_logistic(arrays: dict[str, np.ndarray], y: np.ndarray, schema: list[dict[str, Any]], c: float,
                 class_weight: str = "none", num_threads: int = 1) -> "LogisticFamily":
    """An L2 logistic regression on standardised one-hot codes, signed-log numbers and missing flags, as JSON state."""
    from threadpoolctl import threadpool_limits

    features = _logistic_columns(arrays, schema)
    raw, _ = _logistic_raw(arrays, features)
    _standardise(raw, features)
    with threadpool_limits(num_threads):
        model = _logistic_model(c, class_weight).fit(_standardised(raw, features), y)
    intercept = float(model.intercept_[0]) + _balanced_shift(y, class_weight)  # as for the scorecard, and as CV's margins
    for column, coefficient in zip((c for f in features for c in f["columns"]), model.coef_[0]):
        column["coefficient"] = float(coefficient)
    return LogisticFamily({"intercept": intercept, "c": float(c), "features": features,
                           "formula": "logit(PD) = intercept + sum over columns of coefficient * (x - mean) / scale; "
                                      "signed_log x = sign(v) * log(1 + |v|) (missing: fill); equals x = 1 if v == value; "
                                      "missing x = 1 if v is missing"})


class LogisticFamily:
    """A regularised logistic regression scored from its JSON state; per-feature terms are centred on the training mean."""

    name = "logistic"

    def __init__(self, state: dict[str, Any]):
        self.state = state
        columns = [c for f in state["features"] for c in f["columns"]]
        self._coefficient = np.asarray([c["coefficient"] for c in columns], dtype=float)

    def contributions(self, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, F) log-odds per feature (coefficient * standardised input, 0 at the training mean) and (N,) intercept."""
        features = self.state["features"]
        raw, owner = _logistic_raw(arrays, features)
        terms = _standardised(raw, features) * self._coefficient
        matrix = np.zeros((raw.shape[0], len(features)))
        np.add.at(matrix.T, np.asarray(owner, dtype=int), terms.T)
        return matrix, np.full(raw.shape[0], self.state["intercept"])

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        matrix, bias = self.contributions(arrays)
        return bias + matrix.sum(axis=1)

    def used_features(self) -> set[str]:
        """The features with a nonzero coefficient on one of their input columns."""
        return {f["name"] for f in self.state["features"] if any(c["coefficient"] for c in f["columns"])}

    def save(self, folder) -> None:
        import json

        (folder / "logistic.json").write_text(json.dumps(self.state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder, schema=None):
        import json

        return cls(json.loads((folder / "logistic.json").read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------------------ Forest
def forest_leaves(rows: int) -> tuple[int, ...]:
    """The minimum-rows-per-leaf values tried for `rows` training rows (never so small that trees grow past about
    FOREST_LEAF_ROWS leaves).

    >>> forest_leaves(400), forest_leaves(12_000), forest_leaves(100_000)
    ((3, 10, 30), (6, 10, 30), (50,))
    """
    floor = -(-int(rows) // FOREST_LEAF_ROWS)
    return tuple(sorted({max(leaf, floor) for leaf in FOREST_LEAVES}))


def _forest_columns(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The logistic model's input columns without the 0/1 codes of numbers: trees split the number itself."""
    return [{**f, "columns": [c for c in f["columns"] if not (f["kind"] == "numeric" and c["type"] == "equals")]}
            for f in _logistic_columns(arrays, schema)]


def _extra_trees(leaf: int, class_weight: str, seed: int, num_threads: int):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=FOREST_TREES, min_samples_leaf=int(leaf), max_features="sqrt",
                                class_weight="balanced" if class_weight == "balanced" else None, n_jobs=num_threads,
                                random_state=seed)


def forest_path(train: dict[str, np.ndarray], y: np.ndarray, test: dict[str, np.ndarray], schema: list[dict[str, Any]],
                leaves: tuple[int, ...], class_weight: str = "none", seed: int = 0, num_threads: int = 1) -> np.ndarray:
    """(len(leaves), N_test) log-odds of default on `test`, one forest per minimum leaf size, fitted on `train`."""
    features = _forest_columns(train, schema)
    x_train, x_test = _logistic_raw(train, features)[0], _logistic_raw(test, features)[0]
    return np.stack([_forest_margin(_extra_trees(leaf, class_weight, seed, num_threads).fit(x_train, y).predict_proba(x_test)[:, 1],
                                    class_weight, float(y.mean())) for leaf in leaves])


def _forest_margin(p: np.ndarray, class_weight: str, prior: float) -> np.ndarray:
    """Log-odds of the forest's mean leaf share (clipped to [0.001, 0.999]); balanced weights shift back to the prior."""
    margin = logit(np.clip(p, 1e-3, 1 - 1e-3))
    if class_weight == "balanced":
        margin = margin + float(np.log(max(prior, 1e-9) / max(1 - prior, 1e-9)))
    return margin


def fit_forest(arrays: dict[str, np.ndarray], y: np.ndarray, schema: list[dict[str, Any]], leaf: int,
               class_weight: str = "none", seed: int = 0, num_threads: int = 1) -> "ForestFamily":
    """Extremely randomised trees (scikit-learn) on signed-log numbers, one-hot categories and missing flags, kept as
    node arrays."""
    features = _forest_columns(arrays, schema)
    model = _extra_trees(leaf, class_weight, seed, num_threads).fit(_logistic_raw(arrays, features)[0], y)
    trees = [estimator.tree_ for estimator in model.estimators_]
    offsets = np.cumsum([0] + [t.node_count for t in trees[:-1]])
    left = np.concatenate([np.where(t.children_left >= 0, t.children_left + o, -1) for t, o in zip(trees, offsets)])
    right = np.concatenate([np.where(t.children_right >= 0, t.children_right + o, -1) for t, o in zip(trees, offsets)])
    value = np.concatenate([t.value[:, 0, 1] / np.maximum(t.value[:, 0, :].sum(axis=1), 1e-12) for t in trees])
    nodes = {"left": left.astype(np.int32), "right": right.astype(np.int32), "roots": offsets.astype(np.int32),
             "column": np.concatenate([np.maximum(t.feature, 0) for t in trees]).astype(np.int32),
             "threshold": np.concatenate([t.threshold for t in trees]).astype(np.float64), "share": value.astype(np.float64)}
    state = {"features": features, "leaf": int(leaf), "trees": len(trees), "class_weight": class_weight,
             "prior": float(y.mean()), "max_depth": int(max(t.max_depth for t in trees)),
             "formula": "PD share = mean over trees of the default share in the leaf the row reaches (a row goes left "
                        "when its column value <= threshold, compared in float32 as scikit-learn does); "
                        "logit = log-odds of that share clipped to [0.001, 0.999]"}
    return ForestFamily(state, nodes)


class ForestFamily:
    """Extremely randomised trees walked in numpy from their node arrays (no scikit-learn object is stored); per-feature
    terms by the path decomposition (each split's change in default share goes to its feature), in log-odds."""

    name = "forest"
    chunk_rows = 4096  # rows walked at once (rows x trees node indices in memory)

    def __init__(self, state: dict[str, Any], nodes: dict[str, np.ndarray]):
        self.state, self.nodes = state, nodes
        self._owner = np.asarray([i for i, f in enumerate(state["features"]) for _ in f["columns"]], dtype=int)
        self._compiled: list[Any] | None = None

    def _sklearn_trees(self) -> list[Any] | None:
        """scikit-learn's compiled trees rebuilt from the node arrays (about 6x faster scoring than the numpy walk);
        None where this scikit-learn's node layout is not the one expected (the numpy walk scores then)."""
        if self._compiled is None:
            try:
                from sklearn.tree._tree import NODE_DTYPE, Tree

                nodes, columns = self.nodes, len(self._owner)
                bounds = [*nodes["roots"].tolist(), len(nodes["left"])]
                trees = []
                for start, end in zip(bounds[:-1], bounds[1:]):
                    left, right = nodes["left"][start:end], nodes["right"][start:end]
                    split = left >= 0
                    table = np.zeros(end - start, dtype=NODE_DTYPE)
                    table["left_child"], table["right_child"] = np.where(split, left - start, -1), np.where(split, right - start, -1)
                    table["feature"] = np.where(split, nodes["column"][start:end], -2)
                    table["threshold"] = np.where(split, nodes["threshold"][start:end], -2.0)
                    share = nodes["share"][start:end]
                    tree = Tree(columns, np.asarray([2], dtype=np.intp), 1)
                    tree.__setstate__({"max_depth": int(self.state["max_depth"]), "node_count": end - start, "nodes": table,
                                       "values": np.ascontiguousarray(np.stack([1 - share, share], axis=1)[:, None, :])})
                    trees.append(tree)
                self._compiled = trees
            except (ImportError, ValueError, TypeError, KeyError):  # another layout: keep to the numpy walk
                self._compiled = []
        return self._compiled or None

    def _walk(self, x: np.ndarray, terms: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(N,) mean default share and, with `terms`, (N, columns) its path decomposition (bias = the roots' mean share)."""
        nodes = self.nodes
        left, right, column, threshold, share = (nodes[k] for k in ("left", "right", "column", "threshold", "share"))
        x = x.astype(np.float32).astype(np.float64)  # scikit-learn compares float32 inputs with float64 thresholds
        node = np.tile(nodes["roots"].astype(np.int64), (len(x), 1))
        parts = np.zeros((len(x), x.shape[1])) if terms else None
        for _ in range(int(self.state["max_depth"]) + 1):
            rows, trees = np.nonzero(left[node] >= 0)
            if not len(rows):
                break
            current = node[rows, trees]
            features = column[current]
            following = np.where(x[rows, features] <= threshold[current], left[current], right[current])
            if terms:
                np.add.at(parts, (rows, features), share[following] - share[current])
            node[rows, trees] = following
        return share[node].mean(axis=1), (parts / node.shape[1] if terms else None)

    def _shares(self, arrays: dict[str, np.ndarray], terms: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = _logistic_raw(arrays, self.state["features"])[0]
        walked = [self._walk(x[start:start + self.chunk_rows], terms) for start in range(0, len(x), self.chunk_rows)]
        if not walked:
            return np.zeros(0), (np.zeros((0, x.shape[1])) if terms else None)
        return np.concatenate([w[0] for w in walked]), (np.concatenate([w[1] for w in walked]) if terms else None)

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        trees = self._sklearn_trees()
        if trees is None:
            share = self._shares(arrays, terms=False)[0]
        else:
            x = np.ascontiguousarray(_logistic_raw(arrays, self.state["features"])[0], dtype=np.float32)
            share = sum(tree.predict(x)[:, 1] for tree in trees) / len(trees) if len(x) else np.zeros(0)
        return _forest_margin(share, self.state["class_weight"], self.state["prior"])

    def used_features(self) -> set[str]:
        """The features one of whose input columns some tree splits on."""
        columns = np.unique(self.nodes["column"][self.nodes["left"] >= 0])
        return {self.state["features"][i]["name"] for i in np.unique(self._owner[columns])}

    def contributions(self, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N, F) log-odds per feature and (N,) bias: the share decomposition, rescaled so terms + bias = margin."""
        share, parts = self._shares(arrays, terms=True)
        base = float(self.nodes["share"][self.nodes["roots"]].mean())
        margin = _forest_margin(share, self.state["class_weight"], self.state["prior"])
        bias = float(_forest_margin(np.asarray([base]), self.state["class_weight"], self.state["prior"])[0])
        moved = share - base
        still = np.abs(moved) <= 1e-9  # at the base share: the slope of the logit there
        slope = np.where(still, 1.0 / max(base * (1 - base), 1e-3), (margin - bias) / np.where(still, 1.0, moved))
        matrix = np.zeros((len(share), len(self.state["features"])))
        np.add.at(matrix.T, self._owner, (parts * slope[:, None]).T)
        return matrix, np.full(len(share), bias)

    def save(self, folder) -> None:
        import json

        from safetensors.numpy import save_file

        save_file({k: np.ascontiguousarray(v) for k, v in self.nodes.items()}, str(folder / "forest.safetensors"))
        (folder / "forest.json").write_text(json.dumps(self.state, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder, schema=None):
        import json

        from safetensors.numpy import load_file

        return cls(json.loads((folder / "forest.json").read_text(encoding="utf-8")), load_file(str(folder / "forest.safetensors")))


# ------------------------------------------------------------------------------------------------ Blend
class BlendFamily:
    """A weighted sum of the member families' log-odds (each fitted on all rows), calibrated afterwards.

    `weights` are the effective multipliers of each member's raw log-odds (the chosen share / its out-of-fold spread).
    """

    name = "blend"

    def __init__(self, members: dict[str, Any], weights: dict[str, float]):
        self.members = {k: v for k, v in members.items() if weights.get(k, 0.0) != 0.0}
        self.weights = {k: float(weights[k]) for k in self.members}

    @property
    def gbm(self):
        return self.members.get("gbm")

    @property
    def scorecard(self):
        return self.members.get("scorecard")

    def margin(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return sum(self.weights[k] * family.margin(arrays) for k, family in self.members.items())

    def used_features(self) -> set[str]:
        """The features some member uses."""
        return set().union(*(family.used_features() for family in self.members.values()))

    def save(self, folder) -> None:
        for family in self.members.values():
            family.save(folder)

    @classmethod
    def load(cls, folder, schema, weights: dict[str, float]):
        loaders = {"gbm": GBMFamily.load, "scorecard": ScorecardFamily.load, "logistic": LogisticFamily.load,
                   "forest": ForestFamily.load}
        return cls({k: loaders[k](folder, schema) for k, w in weights.items() if w}, weights)
