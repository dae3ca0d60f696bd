"""evaluate on data that declares its own train/val split scores the val split (not the training images), says so in
the card, and takes `split=` (train, val, all) for detection and classification alike."""

from __future__ import annotations

import pytest

from core.errors import InputError
from tests.vision._fixtures import image_folder
from tests.vision.test_detection import _yolo_with_split


def test_detection_evaluate_scores_the_declared_val_split_and_says_so(tmp_path):
    from vision.detection import Detector

    data = _yolo_with_split(tmp_path / "y")
    model = Detector.load("haar")
    card = model.evaluate(data, resamples=2)
    assert card["n"] == 2
    assert any("val split: 2 of 6" in note and "split=all" in note for note in card["data_notes"])
    every = model.evaluate(data, resamples=2, split="all")
    assert every["n"] == 6 and any("split=all" in note and "train split included" in note for note in every["data_notes"])
    assert model.evaluate(data, resamples=2, split="train")["n"] == 4
    # what the CLI does: read_data(**options) then evaluate(data, **options it declares)
    assert model.evaluate(Detector.read_data(data, split="all"), resamples=2)["n"] == 6
    assert model.evaluate(Detector.read_data(data, split="val"), resamples=2)["n"] == 2
    with pytest.raises(InputError, match="split=all"):
        model.evaluate(data, resamples=2, split="test")


def test_classification_evaluate_scores_the_val_folder_and_takes_split(tmp_path):
    from core.cli import known_option_keys
    from vision.classification import ImageClassifier

    root = tmp_path / "tv"
    image_folder(root / "train", per_class=3)
    image_folder(root / "val", per_class=1)
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    card = model.evaluate(root)
    assert card["n"] == 2 and "val split: 2 of 8" in card["data_notes"][0]
    assert model.evaluate(root, split="all")["n"] == 8
    assert model.evaluate(root, split="train")["n"] == 6
    assert "split" in known_option_keys(ImageClassifier, "evaluate")  # --option split= is accepted, not refused
    assert len(ImageClassifier.read_data(root, split="val")) == 2
    assert model.evaluate(ImageClassifier.read_data(root, split="all"), split="all")["n"] == 8
    flat = image_folder(tmp_path / "flat")  # no split declared: every image, no note
    card = model.evaluate(flat)
    assert card["n"] == 6 and "data_notes" not in card
    with pytest.raises(InputError, match="declares no split"):
        model.evaluate(ImageClassifier.read_data(flat, split="val"))


def test_classification_manifest_split_column(tmp_path):
    from vision.classification import ImageClassifier

    image_folder(tmp_path / "img", per_class=2)
    rows = ["path,label,split"] + [f"img/{c}/{i}.png,{c},{'val' if i == 1 else 'train'}" for c in ("cat", "dog")
                                   for i in range(2)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    items = ImageClassifier.read_data(tmp_path / "m.csv")
    assert [item[2] for item in items] == ["train", "val", "train", "val"]
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    assert model.evaluate(tmp_path / "m.csv")["n"] == 2
