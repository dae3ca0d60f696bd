"""Vision benchmark: predictor throughput vs timm's plain eval loops (same model, same process), the COCO-80 detection
default's mAP on the COCO128 subset, a time-budgeted BCCD detector fine-tune scored on the other half, and the
classification default's accuracy.

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
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


def throughput(n_images: int = 32, repeats: int = 2) -> dict:
    """Images/s of ImageClassifier.predict vs a per-image timm loop and a batched timm loop (no_grad, NCHW)."""
    import numpy as np
    import timm
    import torch

    from vision.classification import ImageClassifier

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (200, 200, 3), dtype=np.uint8) for _ in range(n_images)]
    from PIL import Image

    pil_images = [Image.fromarray(a) for a in images]
    ours = ImageClassifier.from_timm("test_resnet", [str(i) for i in range(10)], device="cpu")
    reference = timm.create_model("test_resnet", pretrained=False, num_classes=10)
    reference.load_state_dict(ours.network.state_dict())
    reference = reference.to(memory_format=torch.contiguous_format).eval()
    transform = timm.data.create_transform(**timm.data.resolve_data_config(model=reference))

    def per_image():
        with torch.no_grad():
            return [reference(transform(image).unsqueeze(0)).softmax(-1) for image in pil_images]

    def batched():
        with torch.no_grad():
            out = []
            for start in range(0, n_images, 32):
                out.append(reference(torch.stack([transform(im) for im in pil_images[start:start + 32]])).softmax(-1))
            return out

    def predictor():
        return ours.predict(pil_images, batch_size=32)

    timings = {}
    for name, fn in (("per_image", per_image), ("batched", batched), ("ours", predictor)):
        fn()  # warm-up
        best = min(_timed(fn) for _ in range(repeats))
        timings[name] = n_images / best
    return {"model": "timm test_resnet (random init, 160x160 input)", "images": n_images, "threads": THREADS,
            "ours_images_per_s": round(timings["ours"], 2),
            "timm_per_image_loop_images_per_s": round(timings["per_image"], 2),
            "timm_batched_loop_images_per_s": round(timings["batched"], 2),
            "ratio_vs_per_image_loop": round(timings["ours"] / timings["per_image"], 3),
            "ratio_vs_batched_loop": round(timings["ours"] / timings["batched"], 3)}


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
    """Test accuracy of the embedded default (trained on first use if not cached)."""
    from vision.classification import ImageClassifier

    started = time.perf_counter()
    model = ImageClassifier.load(device="cpu")
    return {"model": model.name, "test_accuracy": model.info.get("metrics", {}).get("test_accuracy"),
            "trained_on": model.info.get("trained_on"), "load_or_train_seconds": round(time.perf_counter() - started, 1)}


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
