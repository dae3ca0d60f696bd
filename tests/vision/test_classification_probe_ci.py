"""fit's card metrics carry 95% intervals (tester_A finding 2: `probe_cv_accuracy` had `ci95: null`, though the README
promises every metric card bootstrap 95% CIs): the probe's out-of-fold accuracy gets a bootstrap interval that
resamples whole images (an image, its mirror image and its copies together), validation accuracies Wilson's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.vision._fixtures import image_folder, png_bytes


def test_the_out_of_fold_interval_resamples_images_not_rows():
    from vision.classification import _cv_accuracy_with_ci

    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, 30).tolist()
    oof = rng.random((30, 2))
    alone = _cv_accuracy_with_ci(oof, targets, list(range(30)))
    # each image with two more rows of its own (its mirror image, a copy) scoring alike: the same images, the same
    # accuracy, the same interval (resampling rows would count them as 90 independent images: a narrower one)
    tripled = _cv_accuracy_with_ci(np.tile(oof, (3, 1)), targets * 3, list(range(30)) * 3)
    assert tripled["value"] == alone["value"] and tripled["ci95"] == alone["ci95"]
    low, high = alone["ci95"]
    assert low < alone["value"] < high and high - low > 0.2  # 30 images: a wide interval
    assert _cv_accuracy_with_ci(None, targets, list(range(30))) is None


@pytest.fixture()
def probe_model():
    from core.device import seed_everything
    from vision.classification import ImageClassifier

    seed_everything(1)
    model = ImageClassifier.from_timm("test_resnet", ["x", "y"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.info["pretrained"] = True  # the probe-only recipe, as from the ImageNet start
    return model


def test_probe_cv_accuracy_has_a_bootstrap_interval(tmp_path, probe_model):
    from vision.classification import ClassifierConfig

    probe_model.fit(image_folder(tmp_path / "data", per_class=6), ClassifierConfig(fine_tune=False, progress_bar=False))
    metric = probe_model.card["metrics"]["probe_cv_accuracy"]
    assert metric["value"] == probe_model.info["recipe"]["probe"]["cv_accuracy"]
    low, high = metric["ci95"]
    assert 0.0 <= low <= metric["value"] <= high <= 1.0 and high > low


def test_validation_accuracies_have_an_interval(tmp_path, probe_model):
    from vision.classification import ClassifierConfig

    root = tmp_path / "data"
    image_folder(root / "train", per_class=4)
    image_folder(root / "val", per_class=3)
    for c, label in enumerate(("cat", "dog")):  # val images of their own
        for index in range(3):
            (root / "val" / label / f"{index}.png").write_bytes(png_bytes(seed=700 + c * 10 + index))
    probe_model.fit(root, ClassifierConfig(fine_tune=False, progress_bar=False))  # monitor: val_loss
    metrics = probe_model.card["metrics"]
    for name in ("best_val_loss", "probe_val_loss"):
        low, high = metrics[name]["ci95"]
        assert 0.0 <= low < metrics[name]["value"] < high  # 6 validation images
    probe_model.fit(root, ClassifierConfig(fine_tune=False, progress_bar=False, monitor="val_accuracy",
                                           monitor_mode="max"))
    metrics = probe_model.card["metrics"]
    for name in ("best_val_accuracy", "probe_val_accuracy"):
        low, high = metrics[name]["ci95"]
        assert 0.0 <= low <= metrics[name]["value"] <= high <= 1.0 and high - low > 0.2  # 6 validation images
