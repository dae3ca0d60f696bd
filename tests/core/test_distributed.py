"""Batch scoring through dask partitions (`verticals predict ... --option engine=dask`) on a 2-worker LocalCluster:
the output equals the local predict path row for row, ids included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.errors import InputError
from tests._dask import cluster  # noqa: F401 - the module's 2-worker LocalCluster fixture


@pytest.fixture(scope="module")
def risk_parts(tmp_path_factory):
    """A small gbm risk model and 3 Parquet parts of applicants to score (one with a missing value)."""
    import polars as pl

    from finance.risk import RiskScorer

    root = tmp_path_factory.mktemp("risk")
    rng = np.random.default_rng(0)
    n = 300
    frame = pl.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "kind": rng.choice(["a", "b"], size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(2 * frame["x1"].to_numpy())))).astype(int)
    RiskScorer().fit(frame.with_columns(default=pl.Series(y)),
                     config=RiskScorer.Config(family="gbm", gbm_trials=1, cv_folds=2)).save(root / "M")
    (root / "parts" / "2026").mkdir(parents=True)
    frame = frame.with_columns(pl.when(pl.int_range(n) == 5).then(None).otherwise(pl.col("x2")).alias("x2"))
    for i, (start, stop) in enumerate([(0, 100), (100, 220), (220, 300)]):
        (frame.slice(start, stop - start)).write_parquet(root / "parts" / ("2026" if i == 2 else "") / f"part-{i}.parquet")
    return root


def _local_records(model_dir: Path, root: Path) -> list[dict]:
    """What the local predict path gives, part by part, with each record's part name."""
    from core import registry
    from core.distributed import list_parts
    from core.protocols import identify_inputs, predict_records

    cls = registry.task_class("finance.risk")
    model = registry.load("finance.risk", str(model_dir), device="cpu")
    records = []
    base, files = list_parts(root)
    for file in files:
        for record in predict_records(model, identify_inputs(cls.read_inputs(file))):
            records.append({"file": file.relative_to(base).as_posix(), **record})
    return records


def test_dask_predict_of_parts_equals_local_predict(risk_parts, cluster, tmp_path, capsys):  # noqa: F811
    import polars as pl

    expected = _local_records(risk_parts / "M", risk_parts / "parts")
    assert [r["file"] for r in expected[:1] + expected[-1:]] == ["2026/part-2.parquet", "part-1.parquet"]  # by relative name
    common = ["predict", "finance.risk", "--model", str(risk_parts / "M"), "--option", "engine=dask",
              "--option", f"scheduler={cluster}"]
    assert main([*common, "--input", str(risk_parts / "parts"), "--output", str(tmp_path / "out.parquet")]) == 0
    # the Parquet file has the local path's schema: an error column (empty here) beside the records' fields
    assert pl.read_parquet(tmp_path / "out.parquet").to_dicts() == [{**r, "error": None} for r in expected]
    assert main([*common, "--input", str(risk_parts / "parts" / "**" / "*.parquet"), "--output", str(tmp_path / "o.jsonl")]) == 0
    assert [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()] == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temporary parts removed
    assert main([*common, "--input", str(risk_parts / "parts" / "part-0.parquet"), "--option", "partition_size=30"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{k: v for k, v in r.items() if k != "file"} for r in expected if r["file"] == "part-0.parquet"]
    assert [r["row"] for r in rows] == list(range(1, 101))


@pytest.mark.slow  # each worker process imports torch and timm: ~45 s on a loaded 2-core machine
def test_dask_predict_of_an_image_folder_equals_local_predict(cluster, tmp_path):  # noqa: F811
    """A file-list task: the folder's images are cut into partitions of `partition_size`; ids are the paths."""
    from core.protocols import identify_inputs, predict_records
    from tests.vision._fixtures import image_folder
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.save(tmp_path / "M")
    images = image_folder(tmp_path / "images", per_class=4)
    local = ImageClassifier.load(tmp_path / "M", device="cpu")
    expected = list(predict_records(local, identify_inputs(ImageClassifier.read_inputs(images))))
    assert main(["predict", "vision.classification", "--model", str(tmp_path / "M"), "--input", str(images),
                 "--output", str(tmp_path / "out.jsonl"), "--device", "cpu", "--option", "engine=dask",
                 "--option", f"scheduler={cluster}", "--option", "partition_size=3"]) == 0
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["path"] for r in got] == [r["path"] for r in expected] and len(got) == 8
    for mine, theirs in zip(got, expected):
        assert mine["label"] == theirs["label"] and mine["score"] == pytest.approx(theirs["score"], abs=1e-5)


def test_dask_predict_bad_input(tmp_path, capsys):
    from core.distributed import predict_with_dask

    assert main(["predict", "finance.risk", "--input", str(tmp_path / "none" / "*.parquet"), "--option", "engine=dask"]) == 2
    assert "no files match" in capsys.readouterr().err
    with pytest.raises(InputError, match="partition_size must be >= 1"):
        predict_with_dask("finance.risk", tmp_path, options={"partition_size": "-1"})


def test_parts_with_other_columns_are_refused_before_any_worker_starts(tmp_path, capsys):
    """A part that lacks a column, or adds one (an `id` column in one export only), used to be scored: its records
    carried `id` where the others carried `row`. Now exit 2 naming the part and the columns, before a cluster starts."""
    import polars as pl

    parts = tmp_path / "parts"
    parts.mkdir()
    pl.DataFrame({"x1": [0.1, 0.2], "kind": ["a", "b"]}).write_parquet(parts / "a.parquet")
    pl.DataFrame({"kind": ["b", "a"], "x1": [0.3, 0.4]}).write_parquet(parts / "b.parquet")  # same columns, other order
    pl.DataFrame({"id": ["u", "v"], "x1": [0.5, 0.6]}).write_parquet(parts / "c.parquet")
    assert main(["predict", "finance.risk", "--input", str(parts), "--option", "engine=dask"]) == 2
    assert "c.parquet lacks kind; adds id, compared with a.parquet" in capsys.readouterr().err


def test_ids_over_parts_are_checked_as_the_local_path_checks_them():
    from core.distributed import _check_part_ids

    _check_part_ids({0: ["a", "b"], 1: ["c"]}, None)
    with pytest.raises(InputError, match="rows 1 and 3: .* repeats 'x'"):  # a part's ids against the earlier parts'
        _check_part_ids({1: ["x"], 0: ["x", "y"]}, None)
    with pytest.raises(InputError, match="row 3: --id column 'key' is empty"):
        _check_part_ids({0: ["a", "b"], 1: [None]}, "key")


def test_parquet_parts_are_written_with_the_local_schema(tmp_path):
    import polars as pl

    from core.distributed import _combine, _write_part

    part = _write_part(tmp_path, 0, [{"row": 1, "pd": 0.1, "warnings": []}], parquet=True)
    _combine([part], tmp_path / "out.parquet", parquet=True)
    table = pl.read_parquet(tmp_path / "out.parquet")
    assert table.schema["warnings"] == pl.List(pl.String) and table.schema["error"] == pl.String  # as local predict writes
