"""Contract case for finance.risk: a tiny LightGBM scorer on synthetic applicants (built in the test, offline)."""

from __future__ import annotations

import numpy as np

from tests.common import ContractCase


def synthetic_applicants(n: int = 300, seed: int = 0, with_time: bool = False):
    """Applicants with a numeric, a partly-missing numeric and a categorical feature, plus a 0/1 `default` target."""
    import polars as pl

    rng = np.random.default_rng(seed)
    utilisation = rng.uniform(0, 1, n)
    income = rng.lognormal(10, 0.5, n)
    housing = rng.choice(["rent", "own", "mortgage"], n)
    logit = -1.5 + 3.0 * utilisation - 0.5 * (np.log(income) - 10) + np.where(housing == "rent", 0.7, 0.0)
    default = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    income_with_gaps = [None if i % 17 == 0 else float(v) for i, v in enumerate(income)]
    columns = {"utilisation": utilisation, "income": income_with_gaps, "housing": housing, "default": default}
    if with_time:
        columns["application_date"] = pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 1, 1) + pl.duration(days=n - 1), eager=True)
    return pl.DataFrame(columns)


def tiny_config():
    from finance.risk import RiskScorer

    return RiskScorer.Config(family="gbm", cv_folds=0, max_rounds=5, early_stopping_rounds=2)


def _risk_case(tmp_path) -> ContractCase:
    import polars as pl

    from finance.risk import RiskScorer

    data = synthetic_applicants()
    model = RiskScorer().fit(data, config=tiny_config())
    rows = data.drop("default").head(3).to_dicts()
    good = {"utilisation": 0.5, "income": 20000.0, "housing": "own"}
    return ContractCase(
        model=model,
        predict_inputs=rows,
        fit_data=data,
        fit_config=tiny_config(),
        eval_data=data,
        bad_inputs=[
            [{**good, "utilisation": "lots"}],  # non-numeric junk in a numeric feature
            [{"income": 1.0, "housing": "own"}],  # a feature column missing
            [{**good, "income": float("inf")}],  # infinity is not a value
            ["not a row"],
        ],  # no rows are no records (predict([]) == [], as every task answers), not a bad input
        bad_fit_data=[
            data.drop("default"),  # no target
            data.with_columns(pl.lit(0).alias("default")),  # constant target
            data.with_columns(pl.Series("default", [None] + data["default"].to_list()[1:], dtype=pl.Float64)),  # NaN target
            data.with_columns(pl.Series("income", ["12k"] + [str(v) for v in data["income"].to_list()[1:]])),  # junk
            data.with_columns(pl.Series("utilisation", [float("inf")] + data["utilisation"].to_list()[1:])),  # inf
        ],
    )


CASES = {"finance.risk": _risk_case}
