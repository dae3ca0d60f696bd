"""finance.risk with engine=dask: table parts, lightgbm.dask on a 2-worker LocalCluster, the same model folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests._dask import cluster  # noqa: F401 - the module's 2-worker LocalCluster fixture

ROOT = Path(__file__).resolve().parents[2]


def _frame(n: int = 1200, seed: int = 0):
    import polars as pl

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], size=n)
    logit = 1.5 * x1 - x2 + (kind == "a") - 1
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"x1": x1, "x2": x2, "kind": kind, "default": y})


def _parts(folder: Path, frame, count: int = 4, suffix: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-frame.height // count)
    for i in range(count):
        piece = frame.slice(i * step, step)
        piece.write_parquet(folder / f"part-{i}.parquet") if suffix == "parquet" else piece.write_csv(folder / f"part-{i}.csv")
    return folder


def test_parts_errors_say_how_to_fix(tmp_path):
    from finance.risk import RiskScorer

    with pytest.raises(InputError, match="no files match"):
        RiskScorer.training_data(str(tmp_path / "nothing" / "*.parquet"))
    folder = _parts(tmp_path / "p", _frame(40))
    _frame(10).drop("x2").write_parquet(folder / "part-9.parquet")
    with pytest.raises(InputError, match="do not share one schema: part-9.parquet lacks x2"):
        RiskScorer.training_data(str(folder / "*.parquet"))
    (folder / "part-9.parquet").unlink()
    with pytest.raises(InputError, match="target column 'bad' is not in the table"):
        RiskScorer.training_data(str(folder), target="bad")
    _frame(10).write_csv(folder / "part-8.csv")
    with pytest.raises(InputError, match="mixes table formats"):
        RiskScorer.training_data(str(folder))


def test_parts_data_hash_is_stable_whatever_the_listing_order(tmp_path):
    from core.jobs import _data_hash

    frame = _frame(60)
    first = _parts(tmp_path / "a", frame, 3)
    second = tmp_path / "b"
    second.mkdir()
    for name in ("part-2.parquet", "part-0.parquet", "part-1.parquet"):  # created in another order
        (second / name).write_bytes((first / name).read_bytes())
    assert _data_hash(first) == _data_hash(second) == _data_hash(str(first / "*.parquet"))
    (second / "part-1.parquet").write_bytes((first / "part-0.parquet").read_bytes())
    assert _data_hash(second) != _data_hash(first)


def test_local_engine_reads_a_folder_of_parts(tmp_path):
    from core.jobs import run_training

    folder = _parts(tmp_path / "parts", _frame(400), 2, suffix="csv")
    card = run_training("finance.risk", str(folder), tmp_path / "M", overrides={"family": "logistic", "cv_folds": "2"})
    assert card["training"]["rows"] == 400 and card["family"] == "logistic"
    from finance.risk import RiskScorer

    report = RiskScorer.check_data(str(folder / "*.csv"))
    assert (report["n"], report["parts"], report["label_map"]["positive"]) == (400, 2, "1")
    assert sum(report["target_counts"].values()) == 400


def test_parts_target_counts_are_keyed_as_the_in_memory_path_writes_the_values(tmp_path):
    """A true/false target's counts came out as "True"/"False" beside a label_map of true/false."""
    import polars as pl

    from finance.risk import RiskScorer

    frame = _frame(40).with_columns(default=pl.col("default") == 1)
    report = RiskScorer.check_data(str(_parts(tmp_path / "flags", frame, 2)))
    assert set(report["target_counts"]) == {"true", "false"} and report["label_map"]["positive"] == "true"
    assert report["target_counts"]["true"] == int(frame["default"].sum())
    floats = _frame(40).with_columns(pl.col("default").cast(pl.Float64))  # 1.0 / 0.0, as a NaN-holding column reads
    assert set(RiskScorer.check_data(str(_parts(tmp_path / "floats", floats, 2)))["target_counts"]) == {"0", "1"}


@pytest.mark.slow  # ~10 s alone, 25 s on a loaded 2-core machine (LightGBM's network set-up between the workers)
def test_dask_gbm_trains_on_all_rows_and_saves_the_local_format(tmp_path, cluster):  # noqa: F811
    """engine=dask on 4 parts: the card says dask, 2 workers, all rows; the folder loads and predicts without dask."""
    from core.jobs import run_training
    from finance.risk import RiskScorer

    frame = _frame()
    folder = _parts(tmp_path / "parts", frame)
    settings = {"family": "gbm", "gbm_trials": "1", "cv_folds": "2"}
    card = run_training("finance.risk", str(folder / "*.parquet"), tmp_path / "M_dask",
                        overrides={**settings, "engine": "dask", "scheduler": cluster})
    training = card["training"]
    assert training["engine"] == "dask" and training["workers"] == 2 and training["scheduler"] == cluster
    assert training["rows"] == 1200 and training["parts"] == 4 and "lightgbm.DaskLGBMClassifier" in training["note"]
    assert card["family"] == "gbm" and card["gbm"]["trained_on"].startswith("all 1,200 rows")
    assert sorted(p.name for p in (tmp_path / "M_dask").iterdir()) == ["calibrator.json", "card.json", "encoding.json", "model.txt"]
    local = RiskScorer().fit(frame, config=RiskScorer.Config(family="gbm", gbm_trials=1, cv_folds=2))
    # the saved folder needs neither dask nor distributed to load and predict
    code = ("import sys, json; from finance.risk import load; m = load(sys.argv[1]); "
            "r = m.predict([{'x1': 1.0, 'x2': -1.0, 'kind': 'a'}]); "
            "assert not any(k.split('.')[0] in ('dask', 'distributed') for k in sys.modules); print(json.dumps(r))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "M_dask")], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)[0]["pd"] > 0.5
    dask_model = RiskScorer.load(tmp_path / "M_dask")
    test = _frame(2000, seed=1)
    from sklearn.metrics import roc_auc_score

    auc = {name: roc_auc_score(test["default"].to_numpy(), [r["pd"] for r in model.predict(test.drop("default"))])
           for name, model in (("dask", dask_model), ("local", local))}
    assert abs(auc["dask"] - auc["local"]) < 0.01, auc


def test_dask_other_families_are_fitted_on_a_sample_the_card_says_so(tmp_path, cluster):  # noqa: F811
    from core.jobs import run_training

    folder = _parts(tmp_path / "parts", _frame())
    card = run_training("finance.risk", str(folder), tmp_path / "M",
                        overrides={"family": "logistic", "cv_folds": "2", "engine": "dask", "scheduler": cluster,
                                   "sample_rows": "600", "seed": "3"})
    training = card["training"]
    assert card["family"] == "logistic" and training["rows"] == 1200 and training["sample_seed"] == 3
    assert 450 < training["sample_rows"] < 750 and f"{training['sample_rows']:,} rows sampled from 1,200" in training["note"]


def test_unreachable_scheduler_is_an_input_error(tmp_path, monkeypatch):
    import core.distributed
    from core.jobs import run_training

    monkeypatch.setattr(core.distributed, "CONNECT_TIMEOUT_S", 1)
    folder = _parts(tmp_path / "parts", _frame(100), 2)
    with pytest.raises(InputError, match="cannot reach the dask scheduler at tcp://127.0.0.1:9"):
        run_training("finance.risk", str(folder), tmp_path / "M", overrides={"engine": "dask", "scheduler": "tcp://127.0.0.1:9"})
    with pytest.raises(InputError, match="engine must be local or dask"):
        run_training("finance.risk", str(folder), tmp_path / "M", overrides={"engine": "spark"})
