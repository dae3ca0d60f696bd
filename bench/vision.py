"""Vision benchmark: predictor throughput vs timm's plain eval loops (same model, same process), a short
BCCD fine-tune of a torchvision detector scored on the other half, and the classification default's accuracy.

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


def bccd_finetune(epochs: int = 4) -> dict:
    """fasterrcnn_mobilenet_v3_large_320_fpn from scratch (no weights exist offline) on half of BCCD_subset."""
    from vision._detection_data import DetectionData
    from vision.detection import Detector, DetectorConfig

    if not DATA.is_dir():
        return {"skipped": f"{DATA} not present"}
    data = Detector.read_data(DATA)
    half = len(data) // 2
    train = DetectionData(data.samples[:half], data.class_names, data.format, data.root, data.notes)
    test = DetectionData(data.samples[half:], data.class_names, data.format, data.root, data.notes)
    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", data.class_names, device="cpu")
    started = time.perf_counter()
    model.fit(train, DetectorConfig(epochs=epochs, batch_size=4, lr=1e-3, patience=None, progress_bar=False))
    seconds = time.perf_counter() - started
    card = model.evaluate(test, resamples=20)
    return {"model": "fasterrcnn_mobilenet_v3_large_320_fpn, weights=None, weights_backbone=None",
            "train_images": len(train), "test_images": len(test), "epochs": epochs, "train_seconds": round(seconds, 1),
            "map": card["metrics"]["map"], "map_50": card["metrics"]["map_50"], "recall": card["metrics"]["recall"],
            "per_class_ap": card["per_class_ap"]}


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
    summary["bccd_detection"] = bccd_finetune()
    summary["classification_default"] = classification_default()
    out = ROOT / "bench" / "results" / "vision.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
