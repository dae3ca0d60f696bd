"""Scale benchmark, streaming part: `verticals predict` over inputs far larger than one batch, peak memory and time.

- finance.risk: a gbm model trained with `verticals train ... --set family=gbm`, then `verticals predict` over an
  8,000,000-row Parquet file (`--output out.parquet`), against LightGBM's own `Booster.predict` on the model's
  `model.txt` over the same rows read with polars (both run as child processes, started the same way; peak RSS of each
  child from GNU time, wall time of each child, load average before and after).
- vision.classification: `verticals predict` over folders of 200 and 2,000 small JPEGs: peak RSS of each run.

Run: .venv/bin/python bench/scale.py [--rows 8000000] [--images 200,2000] [--skip-images] [--skip-risk] [--csv 500000,2000000]
Writes bench/results/scale.json (the "streaming" key; other keys of that file are kept). Scratch files go to
$VERTICALS_SCALE_DIR (default: a temp folder). The Taiwan credit file of the shared data is used for training when
present, else a synthetic table with the same columns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA") or next(  # a worktree sits one level deeper than the repo
    (p / "shared" / "data" for p in (ROOT.parent, ROOT.parents[1]) if (p / "shared" / "data").is_dir()), ROOT / "shared"))
TAIWAN = SHARED / "finance.risk" / "taiwan_default_of_credit_card_clients" / "UCI_Credit_Card_even.csv"
TARGET = "default.payment.next.month"
RESULTS = ROOT / "bench" / "results" / "scale.json"
RSS_LIMIT_MB = 1024
RATIO_LIMIT = 1.25

# The reference: LightGBM's own Booster.predict over the rows read with polars (no Verticals code involved).
REFERENCE = r"""
import json, sys, time
import numpy as np, polars as pl, lightgbm as lgb
model, data, features, summaries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
started = time.perf_counter()
booster = lgb.Booster(model_file=model)
frame = pl.read_parquet(data, columns=sorted({c for c in features if c in pl.read_parquet_schema(data)}))
read = time.perf_counter()
columns = []
for name in features:
    if name in summaries:  # a row summary the model was trained with (mean / max / ... of a column sequence)
        stat, sources = summaries[name]
        block = frame.select(sources).to_numpy().astype(float)
        with np.errstate(all="ignore"):
            import warnings; warnings.simplefilter("ignore")
            columns.append(np.where(np.isnan(block).all(1), np.nan, (block > 0).sum(1).astype(float)) if stat == "positive_count"
                           else {"mean": np.nanmean, "max": np.nanmax, "min": np.nanmin, "std": np.nanstd}[stat](block, axis=1))
    else:
        columns.append(frame[name].cast(pl.Float64).to_numpy())
x = np.column_stack(columns)
del frame, columns
prepared = time.perf_counter()
pd = booster.predict(x)
done = time.perf_counter()
print(json.dumps({"rows": len(pd), "read_s": read - started, "prepare_s": prepared - read, "predict_s": done - prepared,
                  "mean_pd": float(pd.mean())}))
"""


def _loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def _measure(command: list[str], **kwargs) -> dict:
    """Run a child process: its wall time, output, and the load average before and after."""
    load_before = _loadavg()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}... failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return {"wall_s": round(wall, 2), "stdout": stdout.decode(), "stderr": stderr.decode(),
            "loadavg_before": load_before, "loadavg_after": _loadavg()}


def _timed(command: list[str], **kwargs) -> dict:
    """`_measure` under GNU time: adds the child's peak RSS (MB) and CPU seconds."""
    report = Path(tempfile.mkstemp(prefix="scale-time-", suffix=".txt")[1])
    result = _measure(["/usr/bin/time", "-v", "-o", str(report), *command], **kwargs)
    fields = dict(line.strip().rsplit(": ", 1) for line in report.read_text().splitlines() if ": " in line)
    report.unlink()
    result["peak_rss_mb"] = round(int(fields["Maximum resident set size (kbytes)"]) / 1024, 1)
    result["cpu_s"] = round(float(fields["User time (seconds)"]) + float(fields["System time (seconds)"]), 2)
    return result


def _cli(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "core.cli", *arguments]


def _environment() -> dict:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "HF_HUB_OFFLINE": "1"}


# -- finance.risk ---------------------------------------------------------------------------------------------------
def _training_table(folder: Path) -> tuple[Path, str]:
    if TAIWAN.is_file():
        return TAIWAN, f"shared Taiwan credit file ({TAIWAN.name}, even rows)"
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    n = 15_000
    pay = rng.integers(-2, 6, size=(n, 6))
    limit = rng.choice([20_000, 50_000, 100_000, 200_000, 500_000], n)
    bills = (limit[:, None] * rng.uniform(0, 1, (n, 6))).round()
    paid = (bills * rng.uniform(0, 0.3, (n, 6))).round()
    logit = -1.6 + 0.6 * pay[:, 0] + 0.2 * pay[:, 1] - 0.000002 * limit
    columns = {"ID": np.arange(1, n + 1), "LIMIT_BAL": limit, "SEX": rng.integers(1, 3, n), "EDUCATION": rng.integers(1, 5, n),
               "MARRIAGE": rng.integers(1, 4, n), "AGE": rng.integers(21, 75, n)}
    columns.update({f"PAY_{i}": pay[:, j] for j, i in enumerate((0, 2, 3, 4, 5, 6))})
    columns.update({f"BILL_AMT{j + 1}": bills[:, j] for j in range(6)})
    columns.update({f"PAY_AMT{j + 1}": paid[:, j] for j in range(6)})
    columns[TARGET] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    path = folder / "synthetic_credit.csv"
    pl.DataFrame(columns).write_csv(path)
    return path, "synthetic table with the Taiwan file's columns (shared data absent)"


def _big_parquet(source: Path, path: Path, rows: int, chunk: int = 500_000) -> None:
    """`rows` applicants resampled from the training table's rows, amounts perturbed, a unique ID each."""
    import numpy as np
    import polars as pl
    import pyarrow.parquet as pq

    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    base = pl.read_csv(source, null_values=["nan", "NA", ""], infer_schema_length=None).drop(TARGET)
    amounts = [c for c in base.columns if c.startswith(("BILL_AMT", "PAY_AMT", "LIMIT_BAL"))]
    rng = np.random.default_rng(1)
    temp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        sample = base[rng.integers(0, base.height, n)]
        noise = {c: (pl.col(c).cast(pl.Float64) * pl.Series(rng.lognormal(0, 0.1, n))).round(0) for c in amounts}
        sample = sample.with_columns(ID=pl.int_range(start + 1, start + n + 1, eager=True), **noise)
        table = sample.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(temp, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=131_072)
    writer.close()
    temp.replace(path)


def risk(folder: Path, rows: int, summaries: bool = True) -> dict:
    """Train a gbm model, build the big file, stream-score it, run the LightGBM reference; PASS/FAIL per limit.

    `summaries=False` trains with `--set sequence_summaries=false`: the booster then reads the file's columns as they
    are, so the reference does nothing but read and `Booster.predict`.
    """
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    table, chosen = _training_table(folder)
    model = folder / ("risk-gbm" if summaries else "risk-gbm-raw")
    if not (model / "card.json").is_file():
        _measure(_cli("train", "finance.risk", "--data", str(table), "--target", TARGET, "--out", str(model),
                      "--set", "family=gbm", "--set", f"sequence_summaries={str(summaries).lower()}", "--json"),
                 cwd=ROOT, env=_environment())
    card = json.loads((model / "card.json").read_text())
    schema = card["features"]
    features = [f["name"] for f in schema]
    summaries = {f["name"]: [f["derived"]["stat"], f["derived"]["columns"]] for f in schema if "derived" in f}
    big = folder / f"applicants_{rows}.parquet"
    _big_parquet(table, big, rows)
    out = folder / f"scores_{model.name}.parquet"
    ours = _timed(_cli("predict", "finance.risk", "--model", str(model), "--input", str(big), "--output", str(out)),
                  cwd=ROOT, env=_environment())
    scored = pl.scan_parquet(out).select(pl.len(), pl.col("id").n_unique().alias("ids"), pl.col("pd").mean()).collect().row(0)
    reference = _timed([sys.executable, "-c", REFERENCE, str(model / "model.txt"), str(big), json.dumps(features),
                        json.dumps(summaries)], cwd=folder, env=_environment())
    inner = json.loads(reference["stdout"])
    ratio = ours["wall_s"] / reference["wall_s"]
    keep = ("wall_s", "cpu_s", "peak_rss_mb", "loadavg_before", "loadavg_after")
    return {
        "training_data": chosen, "model_family": card.get("family"), "features": len(features),
        "derived_features": len(summaries), "trees": _trees(model / "model.txt"), "rows": rows,
        "input_bytes": big.stat().st_size,
        "verticals_predict": {**{k: ours[k] for k in keep}, "records_written": scored[0], "distinct_ids": scored[1],
                              "mean_pd": scored[2]},
        "lightgbm_reference": {**{k: reference[k] for k in keep}, "read_s": round(inner["read_s"], 2),
                               "prepare_s": round(inner["prepare_s"], 2), "predict_s": round(inner["predict_s"], 2),
                               "mean_raw_pd": inner["mean_pd"]},
        "wall_ratio": round(ratio, 3),
        "rss_pass": ours["peak_rss_mb"] <= RSS_LIMIT_MB,
        "ratio_pass": ratio <= RATIO_LIMIT,
    }


def risk_csv(folder: Path, counts: list[int], source_rows: int) -> dict:
    """Peak RSS of `verticals predict finance.risk` over CSV files of each row count (first rows of the big file)."""
    import polars as pl

    model, big = folder / "risk-gbm", folder / f"applicants_{source_rows}.parquet"
    runs = {}
    for count in counts:
        path = folder / f"applicants_{count}.csv"
        if not path.is_file():
            pl.scan_parquet(big).head(count).sink_csv(path)
        result = _timed(_cli("predict", "finance.risk", "--model", str(model), "--input", str(path), "--output",
                             str(folder / "scores_csv.parquet")), cwd=ROOT, env=_environment())
        runs[str(count)] = {"csv_bytes": path.stat().st_size,
                            **{k: result[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "loadavg_before", "loadavg_after")}}
    small, large = runs[str(min(counts))]["peak_rss_mb"], runs[str(max(counts))]["peak_rss_mb"]
    return {"runs": runs, "rss_growth": round(large / small - 1, 4)}


def _trees(model_txt: Path) -> int:
    return sum(1 for line in model_txt.read_text().splitlines() if line.startswith("Tree="))


# -- vision.classification --------------------------------------------------------------------------------------------
def _jpegs(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == count:
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    for index in range(count):
        base = rng.integers(0, 255, size=(1, 1, 3))
        pixels = np.clip(base + rng.normal(0, 40, size=(96, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:05d}.jpg", quality=85)


def images(folder: Path, counts: list[int]) -> dict:
    """Peak RSS of `verticals predict vision.classification` over folders of each size (the default model)."""
    subprocess.run(_cli("prepare", "vision.classification"), cwd=ROOT, env=_environment(), check=True,
                   capture_output=True)  # the default is built/cached before anything is measured
    runs = {}
    for count in counts:
        source = folder / f"images_{count}"
        _jpegs(source, count)
        out = folder / f"images_{count}.jsonl"
        result = _timed(_cli("predict", "vision.classification", "--input", str(source), "--output", str(out),
                             "--device", "cpu"), cwd=ROOT, env=_environment())
        lines = out.read_text().count("\n")
        runs[str(count)] = {k: result[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "loadavg_before", "loadavg_after")}
        runs[str(count)]["records"] = lines
    small, large = runs[str(min(counts))]["peak_rss_mb"], runs[str(max(counts))]["peak_rss_mb"]
    growth = large / small - 1
    return {"model": "embedded default (EfficientNet-Lite0)", "image_size": "96x96 JPEG", "runs": runs,
            "rss_growth": round(growth, 4), "rss_growth_pass": growth < 0.10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_000_000)
    parser.add_argument("--images", default="200,2000")
    parser.add_argument("--skip-risk", action="store_true")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-dask", action="store_true", help="skip the dask vs single-process training of finance.risk")
    parser.add_argument("--csv", default="", help="also CSV inputs of these row counts, e.g. 500000,2000000 (needs --rows' file)")
    args = parser.parse_args()
    folder = Path(os.environ.get("VERTICALS_SCALE_DIR") or tempfile.mkdtemp(prefix="verticals-scale-"))
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    streaming = results.get("streaming", {})
    streaming["machine"] = {"cpus": os.cpu_count(), "note": "shared machine: wall times are inflated by other load; "
                                                            "see loadavg_before/after of each run"}
    if not args.skip_risk:
        streaming["finance.risk"] = risk(folder, args.rows)  # the default recipe: row summaries of PAY_*, BILL_AMT*...
        print(json.dumps(streaming["finance.risk"], indent=1))
        streaming["finance.risk_raw_columns"] = risk(folder, args.rows, summaries=False)
        print(json.dumps(streaming["finance.risk_raw_columns"], indent=1))
    if args.csv:
        streaming["finance.risk_csv"] = risk_csv(folder, [int(c) for c in args.csv.split(",")], args.rows)
        print(json.dumps(streaming["finance.risk_csv"], indent=1))
    if not args.skip_images:
        streaming["vision.classification"] = images(folder, [int(c) for c in args.images.split(",")])
        print(json.dumps(streaming["vision.classification"], indent=1))
    results["streaming"] = streaming
    if not args.skip_dask:  # engine=dask training vs one process on the same Taiwan rows (bench/_scale_dask.py)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import _scale_dask

        _scale_dask.run(results)
        print(json.dumps(results.get("dask_training"), indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
