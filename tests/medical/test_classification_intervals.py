"""A proportion every image gets right has a Wilson interval, not none and not [1, 1]."""

from __future__ import annotations

import dataclasses

import numpy as np

from medical.classification import MedicalClassifier
from tests.medical._fixtures import write_image_folder

TINY = MedicalClassifier.Config(architecture="test_resnet", pretrained=False, image_size=32, epochs=1, batch_size=4,
                                max_steps=2)


def test_every_image_right_gives_sensitivity_specificity_and_accuracy_the_wilson_interval(tmp_path):
    """bootstrap_ci gives None when every resample scores alike; 3 lesion + 2 normal images all right had sensitivity
    ci95 None (before that, [1, 1]: a 3-image result said to be certain)."""
    folder = write_image_folder(tmp_path, per_class=3)
    (folder / "normal" / sorted(p.name for p in (folder / "normal").iterdir())[0]).unlink()  # 3 abnormal + 2 normal
    data = MedicalClassifier.read_data(folder)
    assert sorted(data.labels) == ["abnormal"] * 3 + ["normal"] * 2
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    p_abnormal = np.array([0.9 if label == "abnormal" else 0.1 for label in data.labels])
    model.predict_proba = lambda inputs, batch_size=None: np.stack([p_abnormal, 1 - p_abnormal], 1)[: len(inputs)]
    metrics = model.evaluate(data)["metrics"]
    assert metrics["sensitivity"]["value"] == metrics["specificity"]["value"] == metrics["accuracy"]["value"] == 1.0
    low, high = metrics["sensitivity"]["ci95"]  # Wilson over the 3 positives
    assert abs(low - 0.44) < 0.01 and high == 1.0
    assert [round(v, 2) for v in metrics["specificity"]["ci95"]] == [0.34, 1.0]  # over the 2 negatives
    assert [round(v, 2) for v in metrics["accuracy"]["ci95"]] == [0.57, 1.0]  # over the 5 images


def test_a_proportion_over_one_image_keeps_no_interval(tmp_path):
    folder = write_image_folder(tmp_path, per_class=3)
    for path in sorted((folder / "normal").iterdir())[1:]:
        path.unlink()  # 3 abnormal + 1 normal: specificity over 1 image has no interval
    data = MedicalClassifier.read_data(folder)
    model = MedicalClassifier.from_config(dataclasses.replace(TINY), ["abnormal", "normal"], device="cpu")
    p_abnormal = np.array([0.9 if label == "abnormal" else 0.1 for label in data.labels])
    model.predict_proba = lambda inputs, batch_size=None: np.stack([p_abnormal, 1 - p_abnormal], 1)[: len(inputs)]
    metrics = model.evaluate(data)["metrics"]
    assert metrics["specificity"]["ci95"] is None and metrics["sensitivity"]["ci95"] is not None


def test_a_trained_cards_metrics_keep_their_bootstrap_intervals(tmp_path):
    """fit kept only each metric's value, so the saved card and `train --json` gave ci95 null for the out-of-fold
    AUC too, though the metric card computed it."""
    import json

    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    for label in ("abnormal", "normal"):  # random pictures, no class signal: metrics short of perfect, with a spread
        (folder / label).mkdir(parents=True)
        for k in range(8):
            coarse = rng.integers(0, 256, (4, 4), dtype=np.uint8)
            Image.fromarray(np.kron(coarse, np.ones((16, 16), dtype=np.uint8))).save(folder / label / f"{k}.png")
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, MedicalClassifier.Config(image_size=32))
    card = model.card
    assert card["held_out"]["out_of_fold_n"] == 16
    for name in ("auc", "accuracy", "sensitivity", "specificity"):
        entry = card["metrics"][name]
        low, high = entry["ci95"]
        assert 0 <= low <= entry["value"] <= high <= 1, (name, entry)
    saved = json.loads((model.save(tmp_path / "m") / "card.json").read_text())
    assert saved["metrics"]["auc"]["ci95"] == card["metrics"]["auc"]["ci95"]
