"""finance.forecast for the cross-task contract test: a tiny forecaster on a synthetic random walk."""

from __future__ import annotations

import numpy as np

from tests.common import ContractCase

TINY = dict(horizon=3, window=8, hidden=8, blocks=1, selection_size=20, test_size=20, lgbm_estimators=5,
            lgbm_min_child_samples=5, epochs=1, max_steps=2, batch_size=16, max_fit_points=200, refit_every=10,
            scale_window=30)


def tiny_config(**changes):
    """A config that fits in about a second."""
    from finance.forecast import ForecastConfig

    return ForecastConfig(**{**TINY, **changes})


def random_walk(length: int = 120, seed: int = 0, series_id: str = "demo", start: float = 100.0):
    """A positive random walk with drift on business days, as the canonical `id, date, value` frame."""
    import polars as pl

    rng = np.random.default_rng(seed)
    values = start * np.exp(np.cumsum(rng.normal(0.0005, 0.01, length)))
    dates = np.busday_offset(np.datetime64("2020-01-01"), np.arange(length), roll="forward")
    return pl.DataFrame({"id": [series_id] * length, "date": dates, "value": values}).with_columns(pl.col("date").cast(pl.Date))


def as_input(frame) -> dict:
    """A predict() input from a canonical frame."""
    return {"id": frame["id"][0], "values": frame["value"].to_list(), "dates": [str(d) for d in frame["date"].to_list()]}


def _factory(tmp_path):
    import polars as pl

    from finance.forecast import Forecaster

    train = random_walk(120, seed=1)
    model = Forecaster(tiny_config()).fit(train)
    series = random_walk(60, seed=2)
    short = as_input(series.head(5))
    with_nan = as_input(series)
    with_nan["values"][10] = float("nan")
    junk = as_input(series)
    junk["values"][3] = "abc"
    duplicated = as_input(series)
    duplicated["dates"][5] = duplicated["dates"][4]
    disordered = as_input(series)
    disordered["dates"][5], disordered["dates"][6] = disordered["dates"][6], disordered["dates"][5]
    bad_fit = [
        train.with_columns(pl.when(pl.int_range(pl.len()) == 7).then(float("inf")).otherwise(pl.col("value")).alias("value")),
        train.head(4),
        train.drop("value"),
        pl.concat([train.slice(50), train.slice(0, 50)]),
    ]
    return ContractCase(
        model=model,
        predict_inputs=[as_input(series), series["value"].to_list()],
        fit_data=train,
        fit_config=tiny_config(),
        eval_data=random_walk(80, seed=3),
        bad_inputs=[short, with_nan, junk, duplicated, disordered, "not a series"],
        bad_fit_data=bad_fit,
    )


CASES = {"finance.forecast": _factory}
