"""finance.risk's card usage, run as a user outside this product would: a fresh Python with numpy and lightgbm."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from finance.risk import RiskScorer
from tests.common import run_usage
from tests.finance.contract_cases import synthetic_applicants


def with_sequences(n: int, seed: int) -> pl.DataFrame:
    """Applicants with two monthly sequences (PAY_0, PAY_2 .. PAY_5 and BILL_AMT1 .. BILL_AMT4), gaps included."""
    rng = np.random.default_rng(seed)
    data = synthetic_applicants(n, seed=seed)
    late = rng.integers(-2, 4, (n, 5)).astype(float)
    bills = rng.normal(1000, 800, (n, 4))
    late[rng.random((n, 5)) < 0.1] = np.nan
    bills[rng.random((n, 4)) < 0.1] = np.nan
    late[::23] = np.nan  # rows with every cell of a sequence missing
    bills[::31, :3] = np.nan  # a single cell left: std 0
    risk = np.nan_to_num(late).clip(0).sum(axis=1)
    default = (rng.random(n) < 1 / (1 + np.exp(2 - 0.6 * risk))).astype(int)
    sequences = {name: late[:, i] for i, name in enumerate(("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5"))}
    sequences.update({f"BILL_AMT{i + 1}": bills[:, i] for i in range(4)})
    return data.with_columns(pl.Series("default", default), *[pl.Series(k, v).fill_nan(None) for k, v in sequences.items()])


@pytest.mark.parametrize("rows", [400, 1500])  # small: Platt calibration; 1500 rows can choose isotonic
def test_the_gbm_usage_snippet_gives_predicts_pd_outside_the_product(tmp_path, rows):
    """The usage fed 'rows as encoding.json lists the features', but PAY_std and the other row summaries are made by
    this product and their formula (ddof, missing cells, source columns) was given only in words."""
    data = with_sequences(rows, seed=rows)
    config = RiskScorer.Config(family="gbm", cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=20, early_stopping_rounds=5)
    model = RiskScorer().fit(data, config=config)
    folder = model.save(tmp_path / "model")
    encoding = json.loads((folder / "encoding.json").read_text())
    derived = {f["name"]: f["derived"] for f in encoding["features"] if "derived" in f}
    assert {"PAY_std", "PAY_positive_count", "BILL_AMT_mean"} <= set(derived)
    assert derived["PAY_std"] == {"stat": "std", "columns": ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5"], "axis": 1,
                                  "numpy": "nanstd", "ddof": 0, "missing": derived["PAY_std"]["missing"]}
    assert "every source cell is missing gives NaN" in derived["PAY_std"]["missing"]
    assert "count_greater_than_0" == derived["PAY_positive_count"]["numpy"]

    test = with_sequences(300, seed=rows + 1).drop("default")
    pd = np.array(run_usage(folder, data=test.to_dict(as_series=False)))  # {column: values}, None = missing
    expected = np.array([r["pd"] for r in RiskScorer.load(folder).predict(test)])
    assert np.max(np.abs(pd - expected)) < 1e-6


def test_a_folder_saved_before_the_recipes_were_recorded_still_loads(tmp_path):
    """encoding.json of older folders lists derived features without their recipe; they load and predict as before,
    and a recipe edited in encoding.json is refused."""
    from core.artifacts import file_sha256, write_card
    from core.errors import UnsafeArtifactError

    data = with_sequences(300, seed=3)
    model = RiskScorer().fit(data, config=RiskScorer.Config(family="gbm", cv_folds=0, max_rounds=5, early_stopping_rounds=2))
    test = data.drop("default").head(20)
    for edit in ("older", "ddof 1"):
        folder = model.save(tmp_path / edit.replace(" ", "_"))
        encoding = json.loads((folder / "encoding.json").read_text())
        for feature in encoding["features"]:
            if edit == "older":
                feature.pop("derived", None)
            elif feature["name"] == "PAY_std":
                feature["derived"]["ddof"] = 1
        (folder / "encoding.json").write_text(json.dumps(encoding, indent=1))
        card = json.loads((folder / "card.json").read_text())
        card["files"]["encoding.json"] = file_sha256(folder / "encoding.json")
        write_card(folder, card)
        if edit == "older":
            assert RiskScorer.load(folder).predict(test) == model.predict(test)
        else:
            with pytest.raises(UnsafeArtifactError, match="features do not match the weights in encoding.json"):
                RiskScorer.load(folder)
