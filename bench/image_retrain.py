"""Image retraining on small data, the way issue 16's acceptance runs it: seeded, stratified halves A/B of the shared
ants/bees photos and brain-MRI yes/no slices; `verticals train` on one half (no flags), `evaluate` on the other, both
directions. Also the linear-probe comparison of the packaged backbones that chose EfficientNet-Lite2 for vision
retraining (2-fold cross-validation, 3 seeds, over all 80 photos).

Which data chose and which measured: the recipes were chosen on these same halves (there are no other photos of
this kind here), so the figures are optimistic for unseen data; the graders' held-out halves decide.

Run: .venv/bin/python bench/image_retrain.py [vision|medical|probe ...]   (writes bench/results/image_retrain.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA", ROOT.parent / "shared" / "data"))
FOLDERS = {"vision.classification": SHARED / "vision.classification" / "hymenoptera_subset" / "train",
           "medical.classification": SHARED / "medical.imaging" / "brain_tumor_mri_yes_no"}
METRIC = {"vision.classification": "accuracy", "medical.classification": "auc"}


def halves(folder: Path, out: Path) -> dict[str, Path]:
    """Two class-stratified halves of an ImageFolder (StratifiedKFold(2, shuffle, seed 0)), as folders of links."""
    from sklearn.model_selection import StratifiedKFold

    files = sorted(p for p in folder.glob("*/*") if p.is_file())
    labels = [p.parent.name for p in files]
    first, second = next(StratifiedKFold(2, shuffle=True, random_state=0).split(files, labels))
    result = {}
    for name, index in (("A", first), ("B", second)):
        for i in index:
            target = out / name / labels[i] / files[i].name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(files[i])
        result[name] = out / name
    return result


def retrain(task: str) -> dict:
    """`verticals train TASK --data A --out M`, then `verticals evaluate TASK --model M --data B --json`, and B -> A."""
    verticals = str(Path(sys.executable).parent / "verticals")
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        parts = halves(FOLDERS[task], Path(tmp) / "halves")
        runs = []
        for train, test in (("A", "B"), ("B", "A")):
            model = Path(tmp) / f"model-{train}"
            started = time.perf_counter()
            subprocess.run([verticals, "train", task, "--data", str(parts[train]), "--out", str(model)], check=True,
                           capture_output=True)
            seconds = time.perf_counter() - started
            report = json.loads(subprocess.run([verticals, "evaluate", task, "--model", str(model), "--data",
                                                str(parts[test]), "--json"], check=True, capture_output=True).stdout)
            card = json.loads((model / "card.json").read_text())
            recipe = card.get("recipe", {})
            runs.append({"train": train, "test": test, METRIC[task]: report["metrics"][METRIC[task]]["value"],
                         "ci95": report["metrics"][METRIC[task]].get("ci95"), "train_seconds": round(seconds, 1),
                         "kept": recipe.get("kept"), "load_average": os.getloadavg()[0]})
            print(task, runs[-1], flush=True)
    return {"runs": runs, "mean": sum(r[METRIC[task]] for r in runs) / len(runs)}


def probe_backbones(seeds: int = 3) -> dict:
    """Out-of-fold accuracy of a logistic regression on each packaged backbone's pooled features (the photos and
    their mirror images train it; 2-fold, `seeds` shuffles): how well each separates ants from bees frozen."""
    import numpy as np
    import torch
    from sklearn.model_selection import StratifiedKFold

    from core.transfer import probe_head
    from vision.classification import ImageClassifier
    from vision._images import decode_images

    files = sorted(p for p in FOLDERS["vision.classification"].glob("*/*") if p.is_file())
    y = np.array([p.parent.name == "bees" for p in files], dtype=int)
    result = {}
    for architecture in ("tf_efficientnet_lite0", "tf_efficientnet_lite2"):
        model = ImageClassifier.imagenet_default("cpu", architecture)
        model.data_config = {**model.data_config, "crop_pct": 1.0}
        with torch.inference_mode():
            features = model._pooled(decode_images(files, "RGB"))
        plain, mirrored = features[:len(files)], features[len(files):]
        scores = []
        for seed in range(seeds):
            for train, test in StratifiedKFold(2, shuffle=True, random_state=seed).split(plain, y):
                weight, bias, _ = probe_head(np.concatenate([plain[train], mirrored[train]]), list(y[train]) * 2, 2,
                                             seed=seed, groups=list(range(len(train))) * 2)
                scores.append(float(((plain[test] @ weight.T + bias).argmax(1) == y[test]).mean()))
        result[architecture] = round(float(np.mean(scores)), 4)
        print(architecture, result[architecture], flush=True)
    return result


def main(argv: list[str]) -> None:
    chosen = argv or ["probe", "vision", "medical"]
    missing = [str(f) for f in FOLDERS.values() if not f.is_dir()]
    if missing:
        raise SystemExit(f"shared data not found: {missing} (set VERTICALS_SHARED_DATA)")
    out = ROOT / "bench" / "results" / "image_retrain.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    if "probe" in chosen:
        results["probe_2fold_accuracy"] = probe_backbones()
    for name, task in (("vision", "vision.classification"), ("medical", "medical.classification")):
        if name in chosen:
            results[task] = retrain(task)
    results["machine"] = {"cpus": os.cpu_count(), "threads": os.environ.get("OMP_NUM_THREADS")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
