"""Loading a saved vision model and saving it again (the README's way to seal an older card) keeps the card's training
record and the rest of what it said; the classifier's load kept only a few old key names, so the `training` block
(data_hash, rows, seconds, config, validation_rows) came back empty."""

from __future__ import annotations

import json

from core.artifacts import write_card

TRAINING = {"data_hash": "ab" * 32, "rows": 16, "validation_rows": 4, "seconds": 38.2,
            "config": {"seed": 0, "epochs": 10}, "base_model": "tf_efficientnet_lite2.imagenet1k"}


def _add_training_record(folder):
    """What core.jobs does after `verticals train` saves a model: the card's training block filled in, resealed."""
    card = json.loads((folder / "card.json").read_text())
    card["training"] = {**card.get("training", {}), **TRAINING}
    card["trained_on"] = {"examples": 20, "train": 16, "val": 4}
    card["training_set_metrics"] = {"n": 16, "note": "fit", "metrics": {"accuracy": 1.0}}
    card["warning"] = "a warning the card gave"
    write_card(folder, {k: v for k, v in card.items() if k != "card_sha256"})
    return json.loads((folder / "card.json").read_text())


def _kept(before, after):
    for key in ("training", "trained_on", "training_set_metrics", "warning", "metrics", "description", "label_names"):
        assert after.get(key) == before.get(key), key
    assert after["card_sha256"] != before["card_sha256"] or after == before


def test_classifier_load_then_save_keeps_the_card(tmp_path):
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.info = {**model.info, "metrics": {"best_val_accuracy": 0.9}, "train_seconds": 38.2, "recipe": {"kept": "probe"}}
    first = model.save(tmp_path / "first")
    before = _add_training_record(first)
    again = ImageClassifier.load(first, device="cpu")
    after = json.loads((again.save(tmp_path / "second") / "card.json").read_text())
    _kept(before, after)
    assert after["training"]["config"] == {"seed": 0, "epochs": 10} and after["recipe"] == {"kept": "probe"}
    assert ImageClassifier.load(tmp_path / "second", device="cpu").label_names == ["cat", "dog"]


def test_detector_load_then_save_keeps_the_card(tmp_path):
    from vision import _lite_detector as lite
    from vision.detection import Detector

    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", pretrained=False, image_size=64,
                                 fpn_channels=16, representation_size=32)
    first = model.save(tmp_path / "first")
    before = _add_training_record(first)
    again = Detector.load(first, device="cpu")
    after = json.loads((again.save(tmp_path / "second") / "card.json").read_text())
    _kept(before, after)
    assert after["score_threshold"] == before["score_threshold"] and after["model_args"] == before["model_args"]
