"""Candidate forecasters for finance.forecast, all on the transformed scale z (log prices or raw values).

Every candidate answers `forecast(z, dates, origins) -> (len(origins), horizon)` where the row for origin t
uses z[: t + 1] only: local ones (naive, seasonal naive, drift, AutoETS, AutoARIMA) refit on the visible
history, global ones (LightGBM, N-BEATS-style MLP) were trained beforehand and read causal features.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from core.errors import InputError
from finance._lightgbm_text import check_model_text

__all__ = ["LOCAL", "GLOBAL", "ALL_CANDIDATES", "local_forecast", "build_features", "LightGBMCandidate",
           "NBeatsCandidate", "NBeatsNet"]

LOCAL = ("naive", "seasonal_naive", "drift", "auto_ets", "auto_arima")
GLOBAL = ("lightgbm", "nbeats")
ALL_CANDIDATES = LOCAL + GLOBAL


# -- local candidates ------------------------------------------------------------------------------------
def local_forecast(name: str, z: np.ndarray, origins: Sequence[int], horizon: int, season_length: int = 5,
                   max_fit_points: int = 1000, refit_every: int = 250) -> np.ndarray:
    """Forecasts of a local method at each origin (row i uses z[: origins[i] + 1]). `season_length` is the seasonal
    period of the method asked for: seasonal naive's, or AutoETS' / AutoARIMA's (1: non-seasonal).

    >>> local_forecast("drift", np.arange(5.0), [2, 4], 2)
    array([[3., 4.],
           [5., 6.]])
    """
    origins = np.asarray(origins, dtype=int)
    steps = np.arange(1, horizon + 1)
    last = z[origins]
    if name == "naive":
        return np.repeat(last[:, None], horizon, axis=1)
    if name == "seasonal_naive":
        m = max(1, season_length)
        back = steps - m * np.ceil(steps / m).astype(int)  # offsets <= 0 within the last season
        index = np.clip(origins[:, None] + back[None, :], 0, None)
        return z[index]
    if name == "drift":
        slope = np.where(origins > 0, (last - z[0]) / np.maximum(origins, 1), 0.0)
        return last[:, None] + slope[:, None] * steps[None, :]
    if name in ("auto_ets", "auto_arima"):
        return _statsforecast(name, z, origins, horizon, max(1, season_length), max_fit_points, refit_every)
    raise InputError(f"unknown candidate {name!r}; choose from {', '.join(ALL_CANDIDATES)}")


def _statsforecast(name: str, z: np.ndarray, origins: np.ndarray, horizon: int, season_length: int, max_fit_points: int,
                   refit_every: int) -> np.ndarray:
    """AutoETS / AutoARIMA (statsforecast) with this seasonal period, refitted every `refit_every` origins."""
    from statsforecast.models import AutoARIMA, AutoETS

    out = np.empty((len(origins), horizon))
    model = None
    fitted_at = None
    for row, origin in enumerate(origins):
        start = max(0, origin + 1 - max_fit_points)
        visible = z[start:origin + 1]
        try:  # a seasonal fit on few points divides by 0 in statsforecast's sigma2 (unused: the mean is read)
            with np.errstate(divide="ignore", invalid="ignore"):
                if model is None or origin - fitted_at >= refit_every:
                    family = AutoETS if name == "auto_ets" else AutoARIMA
                    model = family(season_length=season_length).fit(visible)
                    fitted_at = origin
                    out[row] = model.predict(h=horizon)["mean"]
                else:
                    out[row] = model.forward(visible, h=horizon)["mean"]
        except Exception:  # statsforecast fails on degenerate (constant, too short) windows: fall back to naive
            model = None
            out[row] = visible[-1]
        if not np.all(np.isfinite(out[row])):
            out[row] = visible[-1]
    return out


# -- LightGBM over polars features -------------------------------------------------------------------------
def build_features(z: np.ndarray, dates: np.ndarray | None, lags: int):
    """Causal features at every index t (only z[: t + 1] enters row t): lagged returns, rolling stats, calendar.

    >>> build_features(np.log(np.arange(1.0, 30.0)), None, 3).width
    13
    """
    import polars as pl

    frame = pl.DataFrame({"z": z})
    if dates is not None:
        frame = frame.with_columns(pl.Series("date", dates.astype("datetime64[D]")).cast(pl.Date))
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("date"))
    returns = pl.col("z").diff()
    expressions = [returns.shift(k).alias(f"return_lag{k}") for k in range(lags)]
    for window in (5, 20, 60):
        expressions += [
            returns.rolling_mean(window).alias(f"return_mean{window}"),
            returns.rolling_std(window).alias(f"return_std{window}"),
        ]
    expressions += [
        (pl.col("z") - pl.col("z").rolling_mean(20)).alias("level_vs_mean20"),
        (pl.col("z") - pl.col("z").rolling_mean(60)).alias("level_vs_mean60"),
        pl.col("date").dt.weekday().cast(pl.Float64).alias("weekday"),
        pl.col("date").dt.month().cast(pl.Float64).alias("month"),
    ]
    return frame.select(expressions)


class LightGBMCandidate:
    """Global direct multi-horizon LightGBM: one booster per horizon predicting z[t+h] - z[t]."""

    min_rows: ClassVar[int] = 10  # training rows (points with a return and a target) it takes at the least

    def __init__(self, horizon: int, lags: int, n_estimators: int, learning_rate: float, num_leaves: int,
                 min_child_samples: int, seed: int = 0):
        self.horizon, self.lags = horizon, lags
        self.n_estimators, self.learning_rate = n_estimators, learning_rate
        self.num_leaves, self.min_child_samples, self.seed = num_leaves, min_child_samples, seed
        self.boosters_: list[Any] | None = None
        self._lock = threading.Lock()

    def _params(self) -> dict[str, Any]:
        return {"objective": "l1", "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples, "feature_fraction": 0.8, "bagging_fraction": 0.8,
                "bagging_freq": 1, "lambda_l2": 1.0, "num_threads": 1, "seed": self.seed, "deterministic": True,
                "verbosity": -1}

    def fit(self, pieces: Sequence[tuple[np.ndarray, np.ndarray | None, int]]) -> "LightGBMCandidate":
        """Train on (z, dates, end) pieces: targets never reach past index `end` of each series."""
        import lightgbm as lgb
        import polars as pl

        frames, targets = [], []
        for z, dates, end in pieces:
            features = build_features(z[: end + 1], None if dates is None else dates[: end + 1], self.lags)
            frames.append(features)
            shifted = np.full((end + 1, self.horizon), np.nan)
            for h in range(1, self.horizon + 1):
                shifted[: end + 1 - h, h - 1] = z[h: end + 1] - z[: end + 1 - h]
            targets.append(shifted)
        table = pl.concat(frames).to_numpy().astype(float)
        target = np.concatenate(targets)
        names = frames[0].columns
        boosters = []
        for h in range(self.horizon):
            keep = np.isfinite(target[:, h]) & np.isfinite(table[:, 0])
            if keep.sum() < self.min_rows:
                raise InputError("too little history to train the LightGBM candidate; give a longer series")
            data = lgb.Dataset(table[keep], target[keep, h], feature_name=list(names), free_raw_data=True)
            boosters.append(lgb.train(self._params(), data, num_boost_round=self.n_estimators))
        self.boosters_ = boosters
        return self

    def forecast(self, z: np.ndarray, dates: np.ndarray | None, origins: Sequence[int]) -> np.ndarray:
        features = build_features(z, dates, self.lags).to_numpy().astype(float)[np.asarray(origins, dtype=int)]
        with self._lock:  # Booster.predict shares C++ state between threads
            deltas = np.column_stack([b.predict(features, num_threads=1) for b in self.boosters_])
        return z[np.asarray(origins, dtype=int)][:, None] + deltas

    def model_strings(self) -> list[str]:
        return [b.model_to_string() for b in self.boosters_]

    def load_strings(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> "LightGBMCandidate":
        """Boosters from saved model texts, each checked first (`sources` name them in a refusal: the saved files)."""
        import lightgbm as lgb

        sources = sources or [f"LightGBM model for horizon step {h}" for h in range(1, len(texts) + 1)]
        for text, source in zip(texts, sources, strict=True):
            check_model_text(text, source)  # a forged tree could otherwise hang or crash LightGBM
        self.boosters_ = [lgb.Booster(model_str=text) for text in texts]
        return self


# -- torch N-BEATS-style window model ------------------------------------------------------------------------
def _torch_module():
    import torch

    class NBeatsNet(torch.nn.Module):
        """N-BEATS generic stack: blocks of an MLP emitting a backcast (removed from the input) and a forecast."""

        def __init__(self, window: int, horizon: int, hidden: int = 64, blocks: int = 2, layers: int = 2):
            super().__init__()
            self.window, self.horizon = window, horizon
            self.blocks = torch.nn.ModuleList()
            for _ in range(blocks):
                stack, width = [], window
                for _ in range(layers):
                    stack += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
                    width = hidden
                self.blocks.append(torch.nn.ModuleDict({
                    "body": torch.nn.Sequential(*stack),
                    "backcast": torch.nn.Linear(hidden, window),
                    "forecast": torch.nn.Linear(hidden, horizon),
                }))

        def forward(self, x):  # x: (B, window) scaled returns -> (B, horizon) scaled cumulative returns
            residual, total = x, 0.0
            for block in self.blocks:
                hidden = block["body"](residual)
                residual = residual - block["backcast"](hidden)
                total = total + block["forecast"](hidden)
            return total

    return NBeatsNet


def NBeatsNet(*args, **kwargs):
    """Build the N-BEATS-style torch network (torch imported on call).

    >>> NBeatsNet(window=8, horizon=2, hidden=4, blocks=1)(__import__("torch").zeros(3, 8)).shape
    torch.Size([3, 2])
    """
    return _torch_module()(*args, **kwargs)


def windows(z: np.ndarray, origins: Sequence[int], window: int, horizon: int | None = None):
    """Scaled return windows ending at each origin (+ scaled cumulative targets when `horizon` is given)."""
    returns = np.diff(z, prepend=z[0])
    origins = np.asarray(origins, dtype=int)
    index = origins[:, None] + np.arange(-window + 1, 1)[None, :]
    x = returns[np.clip(index, 0, None)]
    scale = np.mean(np.abs(x), axis=1) + 1e-8
    x = x / scale[:, None]
    if horizon is None:
        return x.astype(np.float32), scale
    y = np.stack([z[origins + h] - z[origins] for h in range(1, horizon + 1)], axis=1) / scale[:, None]
    return x.astype(np.float32), y.astype(np.float32), scale


class NBeatsCandidate:
    """Global N-BEATS-style MLP on scaled return windows, trained with core.train.Trainer (L1 loss)."""

    min_windows: ClassVar[int] = 4  # input windows (with their targets) it trains on at the least

    def __init__(self, horizon: int, window: int, hidden: int, blocks: int):
        self.horizon, self.window, self.hidden, self.blocks = horizon, window, hidden, blocks
        self.net_ = None

    def arguments(self) -> dict[str, int]:
        return {"window": self.window, "horizon": self.horizon, "hidden": self.hidden, "blocks": self.blocks}

    def fit(self, pieces: Sequence[tuple[np.ndarray, np.ndarray | None, int]], train_config, run_dir=None,
            resume: bool = False, callbacks: Sequence[Callable] = ()) -> "NBeatsCandidate":
        """Train on windows whose targets end at or before each piece's `end` index (last 10% validate)."""
        import torch

        from core.train import Trainer

        xs, ys = [], []
        for z, _dates, end in pieces:
            origins = np.arange(self.window, end - self.horizon + 1)
            if len(origins):
                x, y, _ = windows(z, origins, self.window, self.horizon)
                xs.append(x)
                ys.append(y)
        if not xs or sum(len(x) for x in xs) < self.min_windows:
            raise InputError(f"too little history to train the N-BEATS candidate; give more than "
                             f"{self.window + self.horizon + 4} points")
        split = [max(1, int(len(x) * 0.9)) for x in xs]  # chronological split per series
        train = [(torch.from_numpy(x[i]), torch.from_numpy(y[i])) for x, y, s in zip(xs, ys, split) for i in range(s)]
        val = [(torch.from_numpy(x[i]), torch.from_numpy(y[i])) for x, y, s in zip(xs, ys, split) for i in range(s, len(x))]
        torch.manual_seed(train_config.seed)
        net = NBeatsNet(**self.arguments())

        def loss_fn(model, batch):
            inputs, targets = batch
            return torch.nn.functional.l1_loss(model(inputs), targets)

        Trainer(net, train, config=train_config, loss_fn=loss_fn, val_data=val or None, run_dir=run_dir,
                callbacks=callbacks, device="cpu").fit(resume=resume)
        self.net_ = net.eval()
        return self

    def forecast(self, z: np.ndarray, dates: np.ndarray | None, origins: Sequence[int]) -> np.ndarray:
        import torch

        origins = np.asarray(origins, dtype=int)
        x, scale = windows(z, origins, self.window)
        with torch.inference_mode():
            out = self.net_(torch.from_numpy(x)).double().numpy()
        return z[origins][:, None] + out * scale[:, None]

    def state(self) -> dict[str, Any]:
        return self.net_.state_dict()

    def load_state(self, tensors: dict[str, Any]) -> "NBeatsCandidate":
        net = NBeatsNet(**self.arguments())
        net.load_state_dict(tensors)
        self.net_ = net.eval()
        return self

