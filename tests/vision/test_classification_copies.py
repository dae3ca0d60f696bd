"""Copies of an image (the same bytes under two names, or listed twice) must not flatter what vision.classification
measures: the linear probe keeps them in one fold, the cards count them, and a copy shared by train/ and val/ is
warned about. Also: the small-class warning names the metrics that rest on few images, and check-data lists every
unreadable image at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes, truncated_png


@pytest.fixture(scope="module")
def tiny():
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    return model


def _fake_features(monkeypatch, model, items):
    """predict_proba returning right answers and, per image file, features of pure noise (nothing to learn)."""
    rng = np.random.default_rng(3)
    noise = {Path(path).read_bytes(): rng.normal(size=16) for path, _ in items}
    names = sorted(model.label_names)

    def predict_proba(images, batch_size=None, features=False):
        labels = {str(path): label for path, label in items}
        probabilities = np.array([np.eye(2)[names.index(labels[str(image)])] for image in images], dtype=np.float32)
        pooled = np.stack([noise[Path(image).read_bytes()] for image in images])
        return (probabilities, pooled) if features else probabilities

    monkeypatch.setattr(model, "predict_proba", predict_proba)


def test_copied_images_do_not_inflate_the_linear_probe(tiny, tmp_path, monkeypatch):
    """tester_metrics finding 2: each row listed twice took linear_probe_accuracy from 0.50 to 1.00 (StratifiedKFold
    put an image and its copy in different folds, so the probe was scored on images it was fitted on)."""
    data = image_folder(tmp_path / "data", per_class=5)
    distinct = [(path, path.parent.name) for path in sorted(data.rglob("*.png"))]
    copies = tmp_path / "copies"
    copies.mkdir()
    copied = []
    for path, label in distinct:  # the same bytes under another name: found by content, not by path
        twin = copies / f"{label}_{path.name}"
        shutil.copyfile(path, twin)
        copied.append((twin, label))
    _fake_features(monkeypatch, tiny, distinct + copied)
    alone = tiny.evaluate(distinct)
    doubled = tiny.evaluate(distinct + copied)
    assert alone["metrics"]["linear_probe_accuracy"]["value"] <= 0.5  # noise features: nothing to learn...
    probe = doubled["metrics"]["linear_probe_accuracy"]
    assert probe["value"] <= 0.5  # ...with copies neither (it read 1.0: each image scored by a fit on its copy)
    assert alone["duplicate_images"] == 0 and doubled["duplicate_images"] == 10
    assert doubled["linear_probe"]["distinct_images"] == 10 and doubled["linear_probe"]["images"] == 20
    # each copied image scored once: the value is a share of 10 images, as the distinct set's is
    assert probe["value"] * 10 == pytest.approx(round(probe["value"] * 10))
    assert "10 of the 20 images are copies or near copies of others (10 byte-identical, 0 near copies" in doubled["warning"]
    assert doubled["near_duplicate_images"] == 0
    assert "warning" not in alone


def test_training_keeps_an_image_and_its_copies_in_one_probe_fold(tmp_path, monkeypatch):
    """fit's probe grouped an image with its mirror image only: a byte-identical copy could be scored in another fold."""
    from tests.vision._fixtures import probe_groups_spy, tiny_pretrained_classifier
    from vision.classification import ClassifierConfig

    data = image_folder(tmp_path / "data", per_class=4)
    for path in sorted(data.rglob("0.png")):
        shutil.copyfile(path, path.parent / "0_copy.png")
    seen = probe_groups_spy(monkeypatch)
    model = tiny_pretrained_classifier()
    model.fit(data, ClassifierConfig(fine_tune=False, progress_bar=False))
    groups = seen["groups"]
    assert len(groups) == 2 * 10 and len(set(groups)) == 8  # 10 images, 8 distinct; mirrors in their image's group
    assert model.info["trained_on"]["duplicate_images"] == 2


def test_the_same_image_in_train_and_val_is_warned_about(tiny, tmp_path):
    """check-data, evaluate and fit said nothing when val/ held a copy of a train/ image (detection warns for a path)."""
    from vision.classification import ImageClassifier

    root = tmp_path / "data"
    image_folder(root / "train", per_class=5)
    image_folder(root / "val", per_class=5)
    for index in range(5):  # val's images differ from train's...
        for c, label in enumerate(("cat", "dog")):
            (root / "val" / label / f"{index}.png").write_bytes(png_bytes(seed=500 + c * 10 + index))
    shutil.copyfile(root / "train" / "dog" / "3.png", root / "val" / "dog" / "leaked.png")  # ...but one
    report = ImageClassifier.check_data(root)
    assert "1 image(s) of the data's val/test split are byte-identical to images of its train split" in report["warning"]
    assert "val/dog/leaked.png" in report["warning"] and report["duplicate_images"] == 1
    card = tiny.evaluate(root)
    assert card["n"] == 11 and "byte-identical to images of its train split" in card["warning"]
    (root / "val" / "dog" / "leaked.png").unlink()
    assert "warning" not in ImageClassifier.check_data(root)


def test_a_small_class_warning_names_the_metrics_that_rest_on_it(tiny, tmp_path):
    """tester_metrics finding 5: the warning said per_class_recall 'has no 95% interval', a field that never has one,
    and did not name accuracy, macro-F1 or the probe."""
    thin = image_folder(tmp_path / "thin", per_class=6)
    for extra in sorted((thin / "dog").iterdir())[2:]:
        extra.unlink()
    warning = tiny.evaluate(thin)["warning"]
    assert "only 2 of the 8 images are of class dog" in warning
    assert "accuracy, macro-F1 and linear_probe_accuracy" in warning and "per_class_recall" not in warning


def test_check_data_lists_every_unreadable_image(tmp_path, capsys):
    """check-data stopped at the first unreadable image: fixing a folder took one run per bad file."""
    from core.cli import main
    from vision.classification import ImageClassifier

    data = image_folder(tmp_path / "data", per_class=3)
    (data / "cat" / "broken.png").write_bytes(truncated_png())
    (data / "dog" / "notes.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"2 of the 8 images cannot be read \(replace or remove them") as raised:
        ImageClassifier.check_data(data)
    assert "cat/broken.png" in str(raised.value) and "dog/notes.png" in str(raised.value)
    assert main(["check-data", "vision.classification", str(data)]) == 2
    from vision.classification import UNREADABLE_SHOWN  # the cap: then how many more
    for index in range(UNREADABLE_SHOWN + 3):
        (data / "dog" / f"bad{index:02d}.png").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"25 of the 31 images cannot be read") as raised:
        ImageClassifier.check_data(data)
    message = str(raised.value)
    assert f"({UNREADABLE_SHOWN}) dog/" in message and f"({UNREADABLE_SHOWN + 1})" not in message
    assert message.endswith(" and 5 more")
