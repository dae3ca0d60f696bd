"""Reliability figures: every task's operations and CLI commands over the generated bad-input corpus.

Prints inputs tried and outcomes per task (correct / InputError / other — other must be 0), and a summary line.
Run: .venv/bin/python bench/reliability.py [task ...]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _kill_resume() -> dict:
    """Run the kill -9 / resume fault tests (tests/test_faults.py, 3 seeds) and count the runs that matched."""
    import re
    import subprocess

    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "slow", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "test_faults.py"), "-k", "kill9"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    passed = re.search(r"(\d+) passed", done.stdout)
    failed = re.search(r"(\d+) failed", done.stdout)
    matched, mismatched = int(passed.group(1)) if passed else 0, int(failed.group(1)) if failed else 0
    return {"runs": matched + mismatched, "matched": matched}


def main(tasks: list[str] | None = None) -> dict:
    from tests.corpus.harness import run_task, summarise
    from tests.corpus.make_corpus import make_corpus
    from tests.test_contract import CASES

    work = Path(tempfile.mkdtemp(prefix="reliability-"))
    os.environ["VERTICALS_HOME"] = str(work / "home")
    corpus = make_corpus(work / "corpus")
    records = []
    for task in tasks or sorted(CASES):
        case_dir = work / task
        case_dir.mkdir()
        records += run_task(task, CASES[task](case_dir), corpus, case_dir)
    summary = summarise(records)
    kill_resume = _kill_resume()
    total = {key: sum(s[key] for s in summary.values()) for key in ("tried", "correct", "input_error", "other")}
    result = {"corpus_entries": len(corpus), "per_task": summary, "total": total, "kill_resume": kill_resume,
              "other_samples": [f"{r['task']} {r['operation']} {r['input']}: {r['detail'][:300]}" for r in records if r["outcome"] == "other"]}
    out = ROOT / "bench" / "results" / "reliability.json"
    out.write_text(json.dumps(result, indent=2))
    for task, counts in summary.items():
        print(f"{task:<24} tried {counts['tried']:>4}  correct {counts['correct']:>4}  InputError {counts['input_error']:>4}  other {counts['other']:>3}")
    print(f"kill -9 + `verticals train --resume`: {kill_resume['runs']} runs, {kill_resume['matched']} matched the uninterrupted run")
    print(f"summary: {total['tried']} inputs tried over {len(summary)} tasks; {total['other']} outcomes other than a result or "
          f"InputError; kill-resume {kill_resume['matched']}/{kill_resume['runs']} matched")
    return result


if __name__ == "__main__":
    main(sys.argv[1:] or None)
