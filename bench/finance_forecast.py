"""Benchmark of finance.forecast on the shared tickers: relative MAE (vs naive) of our method and of every
candidate, 80% interval coverage, backtest and scoring time.

Protocol (per ticker file, `../shared/data/finance.forecast/us_stocks_etfs_daily/*/*.us.txt`, column Close):
`Forecaster().evaluate()` — the method is fitted on everything before the last 250 points (candidate weights
and conformal interval widths from a 750-origin inner backtest at the end of that history, LightGBM and N-BEATS
trained before it, then retrained on the whole history), then forecasts from each of the 246 origins of the
last 250 points, horizon 5. AutoETS/AutoARIMA re-select every 50 origins and are forward-filtered in between
(that keeps a ticker to ~30 s on a busy 2-core machine). Across tickers we report the geometric mean of relative
MAE at h5 and of its mean over h1-5. Run: `.venv/bin/python bench/finance_forecast.py`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "finance.forecast" / "us_stocks_etfs_daily"
RESULT = ROOT / "bench" / "results" / "finance_forecast.json"
GOALS = {"relative_mae_h5": 0.98, "relative_mae_mean": 1.00, "coverage_80": (0.77, 0.83)}


def _geometric_mean(values: list[float]) -> float:
    return float(math.exp(sum(math.log(v) for v in values) / len(values))) if values else float("nan")


def main() -> dict:
    """Run the benchmark over every shared ticker; return (and write) the JSON summary."""
    from finance.forecast import Forecaster

    files = sorted(DATA.glob("*/*.us.txt"))
    if not files:
        return {"task": "finance.forecast", "skipped": f"no ticker files under {DATA}"}
    per_ticker = {}
    for file in files:
        data = Forecaster.read_data(file, time="Date", value="Close")
        started = time.time()
        card = Forecaster().evaluate(data)
        seconds = time.time() - started
        metrics = card["metrics"]
        row = {
            "ours": {"relative_mae_h5": metrics["relative_mae_h5"]["value"],
                     "relative_mae_mean": _mean([metrics[f"relative_mae_h{h}"]["value"] for h in range(1, 6)])},
            "coverage_80": metrics["coverage_80"]["value"],
            "coverage_95": metrics["coverage_95"]["value"],
            "candidates": {name: {"relative_mae_h5": t["relative_mae_h5"],
                                  "relative_mae_mean": _mean([t[f"relative_mae_h{h}"] for h in range(1, 6)])}
                           for name, t in card["candidates"].items()},
            "weights_h5": {name: w[-1] for name, w in card["weights"].items()},
            "evaluate_seconds": round(seconds, 1),
        }
        per_ticker[file.name.split(".")[0]] = row
        print(f"{file.name}: ours h5 {row['ours']['relative_mae_h5']:.4f} mean {row['ours']['relative_mae_mean']:.4f} "
              f"cov80 {row['coverage_80']:.3f} ({seconds:.0f}s)", file=sys.stderr)
    names = list(next(iter(per_ticker.values()))["candidates"])
    summary = {
        "ours": {key: round(_geometric_mean([t["ours"][key] for t in per_ticker.values()]), 4)
                 for key in ("relative_mae_h5", "relative_mae_mean")},
        "candidates": {name: {key: round(_geometric_mean([t["candidates"][name][key] for t in per_ticker.values()]), 4)
                              for key in ("relative_mae_h5", "relative_mae_mean")} for name in names},
        "coverage_80": round(_mean([t["coverage_80"] for t in per_ticker.values()]), 4),
        "coverage_95": round(_mean([t["coverage_95"] for t in per_ticker.values()]), 4),
        "evaluate_seconds_per_ticker": round(_mean([t["evaluate_seconds"] for t in per_ticker.values()]), 1),
    }
    summary["goals_met"] = {
        "relative_mae_h5<=0.98": summary["ours"]["relative_mae_h5"] <= GOALS["relative_mae_h5"],
        "relative_mae_mean<=1.00": summary["ours"]["relative_mae_mean"] <= GOALS["relative_mae_mean"],
        "coverage_80_in_0.77-0.83": GOALS["coverage_80"][0] <= summary["coverage_80"] <= GOALS["coverage_80"][1],
    }
    summary["scoring"] = _scoring_speed(Forecaster, files[0])
    result = {"task": "finance.forecast", "protocol": __doc__.split("Protocol")[1].split("Run:")[0].strip(),
              "tickers": sorted(per_ticker), "summary": summary, "per_ticker": per_ticker}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2))
    return result


def _scoring_speed(cls, file: Path) -> dict:
    """Series forecast per second by a model fitted on the first ticker (predict on its last 500 points)."""
    data = cls.read_data(file, time="Date", value="Close")
    model = cls().fit(data)
    series = {"values": data["value"].to_list()[-500:], "dates": [str(d) for d in data["date"].to_list()[-500:]]}
    model.predict([series])  # warm-up (numba compilation of statsforecast)
    started = time.time()
    repeats = 5
    model.predict([series] * repeats)
    seconds = time.time() - started
    return {"series_per_second": round(repeats / seconds, 2), "fit_seconds": model.info_.get("fit_seconds")}


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else float("nan")


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
