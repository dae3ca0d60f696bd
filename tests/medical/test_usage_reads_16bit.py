"""The cards' `usage` snippets read a picture as predict does: a 16-bit grey PNG (X-ray, microscopy, EM) keeps its
range (PIL's .convert("L") clipped it at 255, so the snippet saw a nearly flat image and predicted otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medical.classification import MedicalClassifier
from medical.segmentation import Segmenter
from tests.common import PRODUCT_PACKAGES, run_usage


def _sixteen_bit_pngs(folder: Path, count: int = 3, size: int = 40) -> list[str]:
    """Grey 16-bit PNGs whose values span 0..60000 (nearly all above 255), each with a bright disc."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[:size, :size]
    paths = []
    for index in range(count):
        disc = (rows - 12 - 6 * index) ** 2 + (columns - 20) ** 2 < 64
        pixels = 20000 + rng.integers(0, 8000, (size, size)) + 30000 * disc
        path = folder / f"grey16_{index}.png"
        Image.fromarray(pixels.astype(np.uint16)).save(path)
        assert Image.open(path).mode == "I;16"
        paths.append(str(path))
    return paths


def test_classification_usage_equals_predict_on_16_bit_png(tmp_path):
    config = MedicalClassifier.Config(architecture="test_resnet", pretrained=False, image_size=32, epochs=1,
                                      batch_size=4, max_steps=2)
    model = MedicalClassifier.from_config(config, ["abnormal", "normal"], device="cpu")
    saved = model.save(tmp_path / "m")
    images = _sixteen_bit_pngs(tmp_path / "images")
    plain = run_usage(saved, images=images)
    ours = model.predict(images)
    for row, record in zip(plain, ours):
        assert row["probabilities"] == pytest.approx(record["probabilities"], abs=1e-5)
        assert row["label"] == record["label"]


def _segmentation_usage(folder: Path, images: list[str]) -> list[np.ndarray]:
    """The saved card's `usage` run in a fresh Python importing no product package; its label maps."""
    usage = json.loads((folder / "card.json").read_text())["usage"]
    script = "\n".join(["import json, pathlib, sys", f"folder = {str(folder)!r}", f"images = {images!r}", usage,
                        f"product = [m for m in sys.modules if m.split('.')[0] in {PRODUCT_PACKAGES!r}]",
                        "assert not product, product",
                        "print(json.dumps([p.astype(int).tolist() for p in predictions]))"])
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=folder.parent,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return [np.asarray(p) for p in json.loads(result.stdout.strip().splitlines()[-1])]


def test_segmentation_usage_equals_predict_on_16_bit_png(tmp_path):
    from medical._shared import decode_run_length

    config = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=8,
                              batch_size=4, max_steps=2)
    model = Segmenter.from_config(config, ["background", "disc"], device="cpu")
    saved = model.save(tmp_path / "m")
    images = _sixteen_bit_pngs(tmp_path / "images")
    plain = _segmentation_usage(saved, images)
    for labels, record in zip(plain, Segmenter.load(saved, device="cpu").predict(images)):
        ours = decode_run_length(record["mask_rle"], record["shape"])
        assert labels.shape == ours.shape
        np.testing.assert_array_equal(labels, ours)
