"""train and evaluate read a data's split the same way (tester_review38 findings 2-6): one split vocabulary
(`vision._splits.split_kind`: training/validation/dev...), a declared test split never trained on, VOC's test.txt read as
a split, an unknown split value named in a warning, and a Wilson interval for accuracy when every image is right."""

from __future__ import annotations

import warnings

import pytest

from tests.vision._fixtures import image_folder
from tests.vision.test_detection import _voc_with_split


def _items(words):
    return [(f"im{i}.png", "ab"[i % 2], word) for i, word in enumerate(words)]


def test_fit_split_reads_training_and_validation_as_evaluate_does():
    from vision._splits import evaluation_rows
    from vision.classification import _split

    items = _items(["training"] * 14 + ["validation"] * 6)
    train, val = _split(items, 0.2, 0)
    assert train == list(range(14)) and val == list(range(14, 20))
    assert evaluation_rows([item[2] for item in items])[0] == val  # evaluate scores what fit held out


def test_dev_is_a_validation_split_and_an_unknown_split_value_is_named(tmp_path):
    import pandas as pd

    from vision.classification import _split, _split_column

    frame = pd.DataFrame({"split": ["train"] * 6 + ["dev"] * 2 + ["holdout"]})
    with pytest.warns(UserWarning, match="'holdout'"):
        splits = _split_column(frame, 9)
    assert splits[6:8] == ["dev", "dev"] and splits[8] is None
    items = [(f"im{i}.png", "ab"[i % 2], split) for i, split in enumerate(splits[:8])]
    assert _split(items, 0.2, 0) == (list(range(6)), [6, 7])
    image_folder(tmp_path / "img", per_class=2)
    rows = ["path,label,split"] + [f"img/{c}/{i}.png,{c},{'dev' if i == 1 else 'train'}" for c in ("cat", "dog")
                                   for i in range(2)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    from vision.classification import ImageClassifier

    assert len(ImageClassifier.read_data(tmp_path / "m.csv", split="val")) == 2


def test_split_never_trains_on_a_declared_test_split():
    from vision.classification import _split

    items = _items(["train"] * 16 + ["test"] * 8)
    train, val = _split(items, 0.2, 0)
    assert not (set(train) | set(val)) & set(range(16, 24))


def test_fit_leaves_the_test_folder_out_and_says_so(tmp_path):
    from core.device import seed_everything
    from vision.classification import ClassifierConfig, ImageClassifier

    seed_everything(1)
    root = tmp_path / "tt"
    image_folder(root / "train", per_class=6)
    image_folder(root / "test", per_class=2)
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.info["pretrained"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(root, ClassifierConfig(fine_tune=False, progress_bar=False))
    trained_on = model.info["trained_on"]
    assert trained_on["examples"] == 12 and trained_on["train"] + trained_on["val"] <= 12
    assert trained_on["test_left_out"] == 4 and model.info["training"]["rows"] <= 12
    assert "the data's test split (4 images) was left out of training" in model.info["data_notes"][0]


def test_detection_reads_voc_test_txt_and_never_trains_on_it(tmp_path):
    from vision.detection import Detector, _data_split

    root = _voc_with_split(tmp_path / "voc", [f"a{i}" for i in range(4)], [])
    (root / "ImageSets" / "Main" / "val.txt").unlink()
    (root / "ImageSets" / "Main" / "test.txt").write_text("a4\na5\n")
    data = Detector.read_data(root)
    assert sorted(str(s.split) for s in data.samples) == ["test", "test", "train", "train", "train", "train"]
    test = {i for i, s in enumerate(data.samples) if s.split == "test"}
    train, val, how, _ = _data_split(data, 0.2, 0)
    assert not (set(train) | set(val)) & test
    assert "the data's test split (2 images) was left out of training" in how
    scored = Detector._evaluation_split(data, None)
    assert len(scored.samples) == 2 and all(s.split == "test" for s in scored.samples)


def test_evaluate_accuracy_all_right_gets_the_wilson_interval(tmp_path, monkeypatch):
    import numpy as np

    from vision.classification import ImageClassifier

    data = image_folder(tmp_path / "d", per_class=2)
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    original = ImageClassifier.predict_proba

    def perfect(self, inputs, batch_size=None, features=False):  # every image right: no spread to bootstrap
        probabilities, pooled = original(self, inputs, batch_size, features=True)
        right = np.array([[1.0, 0.0] if "cat" in str(path) else [0.0, 1.0] for path in inputs], dtype=np.float32)
        return (right, pooled) if features else right

    monkeypatch.setattr(ImageClassifier, "predict_proba", perfect)
    card = model.evaluate(data)
    assert card["metrics"]["accuracy"]["value"] == 1.0
    low, high = card["metrics"]["accuracy"]["ci95"]
    assert round(low, 2) == 0.51 and high == 1.0  # Wilson, 4 of 4 (core.evaluate.proportion_ci)
