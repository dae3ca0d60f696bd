"""Vision benchmark: the default classifier's throughput vs timm's plain eval loops (same model, same process), the
COCO-80 detection default's mAP on the COCO128 subset, a time-budgeted BCCD detector fine-tune scored on the other
half, and the classification default's quality.

Run: .venv/bin/python bench/vision.py   (writes bench/results/vision.json)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "vision.detection" / "BCCD_subset"
SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA", ROOT.parent / "shared" / "data"))  # a worktree may sit elsewhere
HYMENOPTERA = SHARED / "vision.classification" / "hymenoptera_subset" / "train"
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _photo_files(limit: int = 64) -> tuple[list[Path], str]:
    """JPEG photos for the throughput run: the shared hymenoptera half when present, else sklearn's sample photos
    cut into tiles and written as JPEG (both loops decode the same files)."""
    if HYMENOPTERA.is_dir():
        files = _images(HYMENOPTERA)[:limit]
        return files, f"{len(files)} hymenoptera JPEGs (shared data)"
    import tempfile

    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder = Path(tempfile.mkdtemp(prefix="bench-vision-"))
    files = []
    for k, image in enumerate(load_sample_images().images):
        for top in range(0, image.shape[0] - 300, 60):
            for left in range(0, image.shape[1] - 400, 80):
                path = folder / f"{k}-{top}-{left}.jpg"
                Image.fromarray(image[top:top + 300, left:left + 400]).save(path, quality=90)
                files.append(path)
    return files[:limit], f"{len(files[:limit])} JPEG tiles (400x300) of scikit-learn's sample photos"


def throughput(batch_size: int = 32, repeats: int = 3) -> dict:
    """Images/s from JPEG files to probabilities: the default classifier's predict() vs timm's own loops on the
    same weights (decode, timm eval transform per image, torch.no_grad, NCHW), per image and batched."""
    import timm
    import torch
    from PIL import Image

    from vision.classification import ImageClassifier

    files, described = _photo_files()
    ours = ImageClassifier.load(device="cpu")
    reference = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000)
    reference.load_state_dict(ours.network.state_dict())
    reference = reference.to(memory_format=torch.contiguous_format).eval()
    transform = timm.data.create_transform(**timm.data.resolve_data_config(model=reference))

    def per_image():
        with torch.no_grad():
            return torch.cat([reference(transform(Image.open(f).convert("RGB")).unsqueeze(0)).softmax(-1) for f in files])

    def batched():
        with torch.no_grad():
            out = []
            for start in range(0, len(files), batch_size):
                images = [Image.open(f).convert("RGB") for f in files[start:start + batch_size]]
                out.append(reference(torch.stack([transform(im) for im in images])).softmax(-1))
            return torch.cat(out)

    def predictor():
        return ours.predict_proba(files, batch_size=batch_size)

    agreement = float((batched().argmax(1).numpy() == predictor().argmax(1)).mean())  # also the warm-up
    best = {"per_image": float("inf"), "batched": float("inf"), "ours": float("inf")}
    for _ in range(repeats):  # interleaved, best of `repeats`: other load on the machine hits all three alike
        for name, fn in (("batched", batched), ("ours", predictor), ("per_image", per_image)):
            best[name] = min(best[name], _timed(fn))
    rates = {name: len(files) / seconds for name, seconds in best.items()}
    return {"model": "the default: tf_efficientnet_lite0, ImageNet-1k weights (224x224)", "images": described,
            "batch_size": batch_size, "threads": THREADS, "top1_agreement_with_timm": round(agreement, 4),
            "ours_images_per_s": round(rates["ours"], 2),
            "timm_per_image_loop_images_per_s": round(rates["per_image"], 2),
            "timm_batched_loop_images_per_s": round(rates["batched"], 2),
            "ratio_vs_per_image_loop": round(rates["ours"] / rates["per_image"], 3),
            "ratio_vs_batched_loop": round(rates["ours"] / rates["batched"], 3),
            "goal_ratio_vs_batched_loop": 1.3,
            "how": "batch norm folded into the convolutions of an inference copy, one uint8 batch normalised once, "
                   "channels-last, torch.inference_mode"}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bccd_finetune(time_budget_s: float = 540.0) -> dict:
    """The product's detector fine-tune (EfficientNet-Lite0 Faster R-CNN, default recipe, time-budgeted) on one half of
    BCCD_subset (even positions of the sorted ids), scored on the other half (odd positions); loadavg recorded."""
    from vision._detection_data import DetectionData
    from vision.detection import Detector, DetectorConfig

    if not DATA.is_dir():
        return {"skipped": f"{DATA} not present"}
    data = Detector.read_data(DATA)
    samples = sorted(data.samples, key=lambda s: s.image.name)
    train = DetectionData(samples[0::2], data.class_names, data.format, data.root, data.notes)
    test = DetectionData(samples[1::2], data.class_names, data.format, data.root, data.notes)
    model = Detector.for_training(None, device="cpu")
    load_start = os.getloadavg()
    started = time.perf_counter()
    model.fit(train, DetectorConfig(time_budget_s=time_budget_s, progress_bar=False))
    seconds = time.perf_counter() - started
    load_end = os.getloadavg()
    card = model.evaluate(test, resamples=20)
    return {"model": f"{model.architecture} (ImageNet EfficientNet-Lite0 body + FPN), default recipe",
            "train_images": len(train), "test_images": len(test), "time_budget_s": time_budget_s,
            "train_seconds": round(seconds, 1), "steps": model.info["metrics"]["steps"],
            "loadavg_start": [round(v, 2) for v in load_start], "loadavg_end": [round(v, 2) for v in load_end],
            "map": card["metrics"]["map"], "map_50": card["metrics"]["map_50"], "recall": card["metrics"]["recall"],
            "per_class_ap": card["per_class_ap"]}


def detection_default_coco() -> dict:
    """The COCO-80 yolov3-tiny default on the developers' COCO128 subset (YOLO layout), as `verticals evaluate` scores it."""
    from vision.detection import Detector

    folder = DATA.parent / "coco128_subset"
    if not folder.is_dir():
        return {"skipped": f"{folder} not present"}
    model = Detector.load(device="cpu")
    started = time.perf_counter()
    card = model.evaluate(folder, resamples=20)
    return {"model": model.name, "images": card["n"], "seconds": round(time.perf_counter() - started, 1),
            "map": card["metrics"]["map"], "map_50": card["metrics"]["map_50"], "recall": card["metrics"]["recall"]}


def classification_default() -> dict:
    """The default's load time, and its quality on the shared hymenoptera half (ImageNet has the classes 'ant' and
    'bee'): 1,000-way top-1 / top-5 naming the right one, and the card's linear probe."""
    import numpy as np

    from vision.classification import ImageClassifier

    started = time.perf_counter()
    model = ImageClassifier.load(device="cpu")
    result = {"model": model.name, "load_seconds": round(time.perf_counter() - started, 2),
              "source": model.card.get("source"), "published": model.card.get("quality_note")}
    if not HYMENOPTERA.is_dir():
        return {**result, "hymenoptera": f"skipped: {HYMENOPTERA} not present"}
    files = _images(HYMENOPTERA)
    truth = [{"ants": "ant", "bees": "bee"}[f.parent.name] for f in files]
    records = model.predict(files, top_k=5)
    top1 = float(np.mean([r["label"] == t for r, t in zip(records, truth)]))
    top5 = float(np.mean([t in [k["label"] for k in r["top_k"]] for r, t in zip(records, truth)]))
    card = model.evaluate(HYMENOPTERA)
    return {**result, "hymenoptera": {"images": len(files), "top1_names_ant_or_bee_correctly": round(top1, 4),
                                      "top5_contains_it": round(top5, 4),
                                      "linear_probe_accuracy": card["metrics"]["linear_probe_accuracy"]}}


def main() -> dict:
    from core.device import set_threads

    set_threads(THREADS)
    summary = {"threads": THREADS, "throughput": throughput()}
    summary["detection_default_coco128"] = detection_default_coco()
    summary["bccd_detection"] = bccd_finetune()
    summary["classification_default"] = classification_default()
    out = ROOT / "bench" / "results" / "vision.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
