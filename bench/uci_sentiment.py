"""The sentiment default on UCI's "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015: amazon_cells, imdb and
yelp, 1,000 review sentences each, `sentence<TAB>0|1`, quote marks inside the text), the way issue 17's acceptance
runs it: `verticals evaluate nlp.sentiment --data FILE --json` on each file as published (no header) and on the three
pooled with a header line added. Each file must read as 1,000 rows (a quote-aware reader reads imdb as 748).

The files are not in the repository or the shared data (research use; get them from the UCI repository, dataset 331).
Nothing was tuned on them: they only measure.

Run: .venv/bin/python bench/uci_sentiment.py FOLDER   (FOLDER holds the three *_labelled.txt files;
writes bench/results/uci_sentiment.json)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "uci_sentiment.json"
FILES = ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt")
GOAL = 0.85  # pooled accuracy, issue 17


def evaluate(path: Path) -> dict:
    verticals = str(Path(sys.executable).parent / "verticals")
    report = json.loads(subprocess.run([verticals, "evaluate", "nlp.sentiment", "--data", str(path), "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    metrics = report["metrics"]
    return {"rows": report["n"], "accuracy": round(metrics["accuracy"]["value"], 4),
            "accuracy_ci95": [round(v, 4) for v in metrics["accuracy"]["ci95"]], "auc": round(metrics["auc"]["value"], 4)}


def main(folder: Path) -> dict:
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder} lacks {', '.join(missing)}: download UCI dataset 331 and unzip it there")
    result: dict = {"files": {}}
    for name in FILES:
        result["files"][name] = evaluate(folder / name)
        print(name, result["files"][name], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        pooled = Path(tmp) / "pooled.tsv"
        # bytes as they are: the published files may be cp1252 (imdb's dashes), which the reader detects
        # (and a file without a final newline does not run into the next file's first line)
        parts = [(folder / name).read_bytes() for name in FILES]
        pooled.write_bytes(b"sentence\tlabel\n" + b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts))
        result["pooled_with_header"] = evaluate(pooled)
    result["goal_pooled_accuracy"] = GOAL
    result["pass"] = result["pooled_with_header"]["accuracy"] >= GOAL and all(
        entry["rows"] == 1000 for entry in result["files"].values())
    print("pooled", result["pooled_with_header"], "pass" if result["pass"] else "FAIL")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
