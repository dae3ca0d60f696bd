"""Copies of an image (the same pixels under two names) stay in one fold of the probe's cross-validation."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
from PIL import Image

from medical.classification import MedicalClassifier


def _noise_folder(root, per_class: int = 8, copies: bool = False):
    """Two classes of random coarse patterns: each image unlike the others, yet nothing tells the classes apart, so
    honest out-of-fold scores sit near chance."""
    rng = np.random.default_rng(0)
    for label in ("abnormal", "normal"):
        (root / label).mkdir(parents=True)
        for k in range(per_class):
            path = root / label / f"{label}_{k}.png"
            coarse = rng.integers(0, 256, (4, 4), dtype=np.uint8)
            Image.fromarray(np.kron(coarse, np.ones((16, 16), dtype=np.uint8))).save(path)
            if copies:
                shutil.copyfile(path, root / label / f"{label}_{k}_copy.png")
    return root


def _fit(folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MedicalClassifier.for_training(None, device="cpu").fit(folder, MedicalClassifier.Config(image_size=32))
    return model.card, [str(w.message) for w in caught]


def test_copies_no_longer_inflate_the_probes_out_of_fold_metrics(tmp_path):
    """Every image listed twice: a copy in another fold let the probe score its copy (accuracy 0.625 -> 0.78, AUC
    0.625 -> 0.81 on patterns with no class signal); now the copies share a fold and the scores stay as once each."""
    once, _ = _fit(_noise_folder(tmp_path / "once"))
    twice, said = _fit(_noise_folder(tmp_path / "twice", copies=True))
    assert once["held_out"]["out_of_fold_n"] == 16 and twice["held_out"]["out_of_fold_n"] == 32
    for name in ("accuracy", "auc"):
        assert twice["metrics"][name] <= once["metrics"][name] + 0.05, (name, once["metrics"][name], twice["metrics"][name])
    assert once["duplicate_images"] == 0 and "copies" not in (once.get("warning") or "")
    assert twice["duplicate_images"] == 16
    assert "16 of the 32 images are copies of others" in twice["warning"]
    assert any("16 of the 32 images are copies of others" in message for message in said)
    validation = twice["held_out"]["validation"]
    assert validation["groups"] == 16 and validation["grouped_by"].endswith("copies of one image together")
