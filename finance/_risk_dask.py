"""finance.risk on data beyond one machine: a folder or glob of Parquet/CSV parts, LightGBM trained through `lightgbm.dask`.

The recipe is the local engine's: the family, LightGBM settings, rounds, calibrator and feature schema are chosen by the
local `RiskScorer.fit` on a seeded sample of the parts (all rows when they number at most `sample_rows`); a gbm choice is
then retrained on every row by `lightgbm.DaskLGBMClassifier` with those settings, each part turned into features on its
worker by the local code (`feature_arrays`, `gbm_matrix`). Other families stay fitted on the sample, and the card says so.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError

__all__ = ["RiskParts", "read_parts", "check_parts", "routed_fit", "ENGINES"]

ENGINES = ("local", "dask")
LABEL = "__default__"  # the 0/1 target column of a prepared part (no feature name can take it: see lightgbm_feature_names)
READ_OPTIONS = {"target", "time", "id", "separator", "positive_label"}


@dataclass
class RiskParts:
    """Labelled applicants left on disk as table parts (a folder or glob), read part by part by the training engine."""

    path: str
    files: list[str]
    columns: list[str]
    target: str
    time_column: str | None = None
    id_columns: tuple[str, ...] = field(default_factory=tuple)
    positive_label: str | None = None
    separator: str | None = None


def read_parts(path: str | Path, **options: Any) -> RiskParts:
    """List the parts of a folder or glob, check they share one set of columns and hold the target; reads no rows.

    >>> import tempfile, polars as pl; d = Path(tempfile.mkdtemp())
    >>> for i in range(2): pl.DataFrame({"x": [i, 2], "default": [0, 1]}).write_parquet(d / f"p{i}.parquet")
    >>> parts = read_parts(d / "*.parquet"); len(parts.files), parts.target
    (2, 'default')
    """
    from core.distributed import list_parts, shared_columns
    from finance._risk_data import resolve_target

    unknown = set(options) - READ_OPTIONS - {"column", "source", "value"}
    if unknown:
        raise InputError(f"unknown option(s) for finance.risk: {', '.join(sorted(unknown))}; known: {', '.join(sorted(READ_OPTIONS))}")
    root, files = list_parts(path)
    separator = options.get("separator")
    columns = shared_columns(root, files, separator)
    target = resolve_target(columns, options.get("target"))
    time_column = options.get("time")
    if time_column is not None and time_column not in columns:
        raise InputError(f"time column {time_column!r} is not in the parts; they have: {', '.join(columns[:30])}")
    ids = tuple(c.strip() for c in str(options.get("id") or "").split(",") if c.strip())
    return RiskParts(str(path), [str(f) for f in files], columns, target, time_column, ids, options.get("positive_label"),
                     separator)


def check_parts(path: str | Path, **options: Any) -> dict[str, Any]:
    """`check-data` for table parts: the files, their shared columns, the target and the rows, read part by part.

    >>> import tempfile, polars as pl; d = Path(tempfile.mkdtemp())
    >>> for i in range(2): pl.DataFrame({"x": [i, 2], "default": [0, 1]}).write_parquet(d / f"p{i}.parquet")
    >>> report = check_parts(d); report["parts"], report["n"], report["target"]
    (2, 4, 'default')
    """
    import polars as pl

    from finance._risk_data import _target_strings, label_map_for

    parts = read_parts(path, **options)
    rows, values = 0, {}
    for file in parts.files:
        frame = _read_part(file, parts.separator).select(parts.target)
        rows += frame.height
        counted = frame.group_by(parts.target).len(name="__rows")
        # each value as the in-memory path writes it (true/false, 1 not 1.0, text stripped; NA words missing)
        for value, count in zip(_target_strings(counted[parts.target]), counted["__rows"].to_list()):
            values[value] = values.get(value, 0) + count
    if values.get(None):
        raise InputError(f"target column {parts.target!r} has {values[None]} missing value(s); drop those rows or fill them")
    top = max(values.values(), default=1)  # a stand-in column with the values in their proportions (at most 1,000 rows)
    label_map = label_map_for(pl.Series(parts.target, [v for v, c in values.items() for _ in range(max(1, round(1000 * c / top)))],
                                        dtype=pl.String), parts.positive_label)
    return {"task": "finance.risk", "path": str(path), "ok": True, "n": rows, "parts": len(parts.files),
            "target": parts.target, "label_map": label_map, "target_counts": dict(sorted(values.items())),
            "columns": parts.columns}


# ------------------------------------------------------------------------------------------------ worker functions
def _read_part(file: str, separator: str | None):
    from core.data import read_table

    return read_table(file, separator=separator)


def _rows_of(source: Any, separator: str | None) -> int:
    import polars as pl

    if isinstance(source, pl.DataFrame):
        return source.height
    from core.data.tables import scan_table

    return int(scan_table(source, separator).select(pl.len()).collect().item())


def _sample_of(source: Any, separator: str | None, fraction: float, seed: int):
    """A part's rows kept with probability `fraction` (all of them at 1), seeded per part: the same sample every run."""
    import polars as pl

    frame = source if isinstance(source, pl.DataFrame) else _read_part(source, separator)
    if fraction >= 1.0:
        return frame
    keep = np.random.default_rng(seed).random(frame.height) < fraction
    return frame.filter(pl.Series(keep))


def _prepared(source: Any, separator: str | None, schema: list[dict[str, Any]], label_map: dict[str, str], target: str):
    """A part as LightGBM's float matrix (named columns, categoricals as category index) plus the 0/1 target."""
    import pandas as pd
    import polars as pl

    from finance._risk_data import encode_target, feature_arrays
    from finance._risk_models import gbm_matrix, lightgbm_feature_names

    frame = source if isinstance(source, pl.DataFrame) else _read_part(source, separator)
    if target not in frame.columns:
        raise InputError(f"a part lacks the target column {target!r}; write every part with the same columns")
    x = gbm_matrix(feature_arrays(frame, schema), schema)
    prepared = pd.DataFrame(x, columns=lightgbm_feature_names(schema))
    prepared[LABEL] = encode_target(frame[target], label_map).astype("int64")
    return prepared


def _quiet_lightgbm() -> None:
    """Route LightGBM's messages (its Dask port search and network set-up print to stdout) to a logger: warnings only."""
    import logging

    import lightgbm as lgb

    logger = logging.getLogger("lightgbm")
    logger.setLevel(logging.WARNING)
    lgb.register_logger(logger)


def _meta(schema: list[dict[str, Any]]):
    import pandas as pd

    from finance._risk_models import lightgbm_feature_names

    meta = pd.DataFrame({name: pd.Series([], dtype="float64") for name in lightgbm_feature_names(schema)})
    meta[LABEL] = pd.Series([], dtype="int64")
    return meta


# ------------------------------------------------------------------------------------------------ fitting
def routed_fit(scorer: Any, data: Any, config: Any, **fit_options: Any) -> Any:
    """`RiskScorer.fit` for engine=dask or data left as parts; None when the local engine takes `data` as it is."""
    import polars as pl

    config = config or scorer.config or scorer.Config()
    engine = getattr(config, "engine", "local")
    if engine not in ENGINES:
        raise InputError(f"engine must be local or dask, got {engine!r}")
    if engine == "local":
        if not isinstance(data, RiskParts):
            return None
        from finance._risk_data import RiskData

        frame = pl.concat([_read_part(f, data.separator) for f in data.files], how="diagonal_relaxed")
        return scorer.fit(RiskData(frame, data.target, data.time_column, data.id_columns, data.positive_label),
                          config=config, **fit_options)
    return _fit_dask(scorer, data, config, **fit_options)


def _sources(scorer: Any, data: Any, workers: int) -> tuple[list[Any], RiskParts]:
    """Part files (or, for an in-memory table, `workers` slices of it) and the data's description."""
    from finance._risk_data import RiskData, as_polars

    if isinstance(data, RiskParts):
        return list(data.files), data
    if isinstance(data, (str, Path)):
        from core.distributed import is_parts

        if is_parts(data):
            parts = read_parts(data, target=scorer.card_.get("target"))
            return list(parts.files), parts
        data = scorer.read_data(data)
    data = scorer._labelled(data, training=True) if not isinstance(data, RiskData) else data
    frame = as_polars(data.frame)
    step = -(-frame.height // max(workers, 1))
    slices = [frame.slice(start, step) for start in range(0, frame.height, step)]
    return slices, RiskParts("(in-memory table)", [], frame.columns, data.target, data.time_column, tuple(data.id_columns),
                             data.positive_label)


def _fit_dask(scorer: Any, data: Any, config: Any, **fit_options: Any) -> Any:
    import polars as pl

    from core.distributed import dask_client, hash_parts
    from finance._risk_data import RiskData

    started = time.perf_counter()
    workers, sample_rows = int(config.workers), int(config.sample_rows)
    if workers < 1 or sample_rows < 100:
        raise InputError(f"workers must be >= 1 and sample_rows >= 100 (got {workers}, {sample_rows})")
    sources, parts = _sources(scorer, data, workers)
    local_config = dataclasses.replace(config, engine="local")
    with dask_client(config.scheduler, workers, processes=True) as client:
        n_workers = len(client.scheduler_info().get("workers", {})) or workers
        rows = sum(client.gather(client.map(_rows_of, sources, separator=parts.separator, pure=False)))
        if rows == 0:
            raise InputError(f"{parts.path}: the parts hold no rows")
        fraction = min(1.0, sample_rows / rows)
        seeds = [config.seed * 100_003 + i for i in range(len(sources))]
        pieces = client.gather(client.map(_sample_of, sources, [parts.separator] * len(sources), [fraction] * len(sources),
                                          seeds, pure=False))
        sample = pl.concat([p for p in pieces if p.height], how="diagonal_relaxed")
        for piece in pieces:
            if parts.target not in piece.columns:
                raise InputError(f"a part of {parts.path} lacks the target column {parts.target!r}")
        # The local engine chooses everything on the sample (all rows when they fit): family, settings, rounds, calibrator.
        chosen = type(scorer)().fit(RiskData(sample, parts.target, parts.time_column, parts.id_columns, parts.positive_label),
                                    config=local_config, **fit_options)
        card = dict(chosen.card_)
        training = dict(card.get("training") or {})
        full = None
        if card.get("family") == "gbm":
            full = _train_dask_gbm(client, chosen, sources, parts)
        scheduler = config.scheduler or f"LocalCluster ({n_workers} worker processes on this machine)"
    scorer.family_, scorer.calibrator_, scorer.schema_, scorer.config = (
        full["family"] if full else chosen.family_), chosen.calibrator_, chosen.schema_, dataclasses.replace(chosen.config, engine="dask")
    data_hash = hash_parts(parts.path) if isinstance(data, RiskParts) or parts.files else training.get("data_hash")
    training.update({"engine": "dask", "workers": n_workers, "scheduler": scheduler, "rows": int(rows),
                     "sample_rows": int(sample.height), "sample_seed": int(config.seed), "sample_fraction": round(fraction, 6),
                     "parts": len(sources), "data_hash": data_hash, "seconds": round(time.perf_counter() - started, 2)})
    if full:
        training.update({"defaults": full["defaults"], "default_rate": full["defaults"] / rows,
                         "dask_seconds": full["seconds"],
                         "note": f"family, LightGBM settings, rounds and calibrator chosen by the local engine on "
                                 f"{sample.height:,} sampled rows; the booster retrained on all {rows:,} rows with "
                                 f"lightgbm.DaskLGBMClassifier on {n_workers} workers"})
        card["gbm"] = {**(card.get("gbm") or {}), "trained_on": f"all {rows:,} rows (lightgbm.dask)"}
    else:
        training["note"] = (f"the {card.get('family')} family was fitted by the local engine on {sample.height:,} rows "
                            f"sampled from {rows:,} (seed {config.seed}); only LightGBM trains through lightgbm.dask")
    card["training"] = training
    card["config"] = {**(card.get("config") or {}), "engine": "dask"}
    card["metrics_note"] = f"{card.get('metrics_note', 'out-of-fold')} (on the {sample.height:,}-row sample)"
    scorer.card_ = card
    return scorer


def _train_dask_gbm(client: Any, chosen: Any, sources: list[Any], parts: RiskParts) -> dict[str, Any]:
    """Retrain the chosen LightGBM settings on every row with `lightgbm.DaskLGBMClassifier`."""
    import dask.dataframe as dd
    import lightgbm as lgb

    from finance._risk_models import GBM_SPACE, GBMFamily, gbm_params, lightgbm_feature_names

    started = time.perf_counter()
    schema, booster = chosen.schema_, chosen.family_.booster
    loaded = booster.params
    # The trial the local search chose, read back from the booster in LightGBM's own parameter names.
    names = {"learning_rate": "learning_rate", "num_leaves": "num_leaves", "min_child_samples": "min_data_in_leaf",
             "l2_regularisation": "lambda_l2", "feature_fraction": "feature_fraction"}
    tuned = dataclasses.replace(chosen.config, **{k: type(getattr(chosen.config, k))(loaded[names[k]]) for k in GBM_SPACE})
    params = gbm_params(tuned, schema, float(loaded.get("scale_pos_weight", 1.0)))
    rounds = int(booster.current_iteration())
    sklearn_names = {"min_data_in_leaf": "min_child_samples", "min_sum_hessian_in_leaf": "min_child_weight",
                     "feature_fraction": "colsample_bytree", "bagging_fraction": "subsample", "bagging_freq": "subsample_freq",
                     "lambda_l1": "reg_alpha", "lambda_l2": "reg_lambda", "min_gain_to_split": "min_split_gain",
                     "seed": "random_state", "num_threads": "n_jobs"}
    arguments = {sklearn_names.get(k, k): v for k, v in params.items() if k not in {"metric", "num_threads"}}  # dask: 1 per worker thread
    client.run(_quiet_lightgbm)  # LightGBM's network set-up prints to stdout; --json keeps stdout to one object
    _quiet_lightgbm()
    prepared = dd.from_map(_prepared, sources, separator=parts.separator, schema=schema, label_map=chosen.card_["label_map"],
                           target=parts.target, meta=_meta(schema), enforce_metadata=False)
    prepared = prepared.persist()
    feature_names = lightgbm_feature_names(schema)
    categorical = [i for i, f in enumerate(schema) if f["kind"] == "categorical"]
    model = lgb.DaskLGBMClassifier(client=client, n_estimators=rounds, **arguments)
    try:
        model.fit(prepared[feature_names], prepared[LABEL], categorical_feature=categorical or "auto")
    except InputError:
        raise
    except Exception as error:  # a worker could not bind LightGBM's ports, or lost a part
        raise InputError(f"lightgbm.dask training failed on the cluster ({type(error).__name__}: {error}); check that "
                         "every worker reaches the others (LightGBM opens ports from 12400) and can read the parts") from error
    defaults = int(prepared[LABEL].sum().compute())
    # Round-trip through the text format, as the local engine does, so fitted and reloaded models predict alike.
    full = lgb.Booster(model_str=model.booster_.model_to_string())
    return {"family": GBMFamily(full, schema), "defaults": defaults, "seconds": round(time.perf_counter() - started, 2)}
