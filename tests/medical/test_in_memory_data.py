"""medical fit / evaluate on data in memory (lists of pairs, pandas / polars tables), predict's batch_size, and the
segmentation card's training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from PIL import Image

from core.errors import InputError
from medical.classification import MedicalClassifier
from medical.segmentation import Segmenter
from tests.medical._fixtures import disc_pair, write_image_folder, write_pairs

CLASSIFIER = MedicalClassifier.Config(architecture="test_resnet", pretrained=False, image_size=32, epochs=1,
                                      batch_size=4, max_steps=2)
SEGMENTER = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=8,
                             batch_size=4, max_steps=2)


def classifier():
    return MedicalClassifier.from_config(CLASSIFIER, ["abnormal", "normal"], device="cpu")


def segmenter():
    return Segmenter.from_config(SEGMENTER, ["background", "disc"], device="cpu")


def labelled_files(tmp_path):
    folder = write_image_folder(tmp_path / "images", per_class=3, size=24)
    return [(file, file.parent.name) for file in sorted(folder.rglob("*.png"))]


def test_classification_evaluate_and_fit_take_pairs_and_tables_as_the_folder(tmp_path, monkeypatch):
    """A list of (image, label) pairs or a pandas / polars table of path,label gave a raw TypeError from pathlib."""
    files = labelled_files(tmp_path)
    model = classifier()
    expected = model.evaluate(tmp_path / "images")
    monkeypatch.chdir(tmp_path)  # a table's relative paths resolve against the current folder
    relative = [str(file.relative_to(tmp_path)) for file, _ in files]
    table = {"path": relative, "label": [label for _, label in files]}
    inputs = {
        "pairs of paths": [(str(file), label) for file, label in files],
        "polars": pl.DataFrame(table),
        "pandas": pd.DataFrame(table),
        "lazy polars": pl.DataFrame(table).lazy(),
    }
    for name, data in inputs.items():
        card = model.evaluate(data)
        assert card["n"] == len(files), name
        assert card["metrics"]["accuracy"]["value"] == expected["metrics"]["accuracy"]["value"], name
    # arrays, PIL images and encoded bytes, as predict takes them
    in_memory = [(np.asarray(Image.open(file)), label) for file, label in files[:2]]
    in_memory += [(Image.open(files[2][0]), files[2][1]), (files[3][0].read_bytes(), files[3][1])]
    in_memory += [(str(file), label) for file, label in files[4:]]
    assert model.evaluate(in_memory)["n"] == len(files)
    trained = MedicalClassifier.for_training(None, device="cpu").fit(pl.DataFrame(table), CLASSIFIER)
    assert sorted(trained.label_names_) == ["abnormal", "normal"] and trained.card_["training_data_hash"]
    assert MedicalClassifier.for_training(None, device="cpu").fit(in_memory, CLASSIFIER).card_["training"]["rows"] > 0


def test_classification_refuses_other_data_with_what_it_takes(tmp_path, monkeypatch):
    files = labelled_files(tmp_path)
    model = classifier()
    monkeypatch.chdir(tmp_path)
    for wrong in ({"a.png": "normal"}, 3, [("a.png",)], [("x", "y", "z")], ["images/normal/normal_0.png"]):
        with pytest.raises(InputError, match="list of \\(image, label\\) pairs"):
            model.evaluate(wrong)
    with pytest.raises(InputError, match="columns 'path' and 'label'"):
        model.evaluate(pl.DataFrame({"file": [str(files[0][0])], "class": ["normal"]}))
    with pytest.raises(InputError, match="does not exist"):
        model.evaluate(pl.DataFrame({"path": ["missing.png"], "label": ["normal"]}))
    with pytest.raises(InputError, match="empty"):
        model.evaluate(pd.DataFrame({"path": [str(files[0][0])], "label": [None]}))
    with pytest.raises(InputError, match="class name"):
        model.evaluate([(str(files[0][0]), ["normal"])])
    with pytest.raises(InputError):
        MedicalClassifier.for_training(None, device="cpu").fit({"path": [], "label": []}, CLASSIFIER)


def test_segmentation_evaluate_and_fit_take_pairs_and_tables_as_the_folder(tmp_path, monkeypatch):
    """A list of (image, mask) pairs or a table of image,mask gave a raw TypeError from pathlib."""
    root = write_pairs(tmp_path / "pairs", count=3)
    model = segmenter()
    expected = model.evaluate(root)
    images, masks = sorted((root / "images").iterdir()), sorted((root / "masks").iterdir())
    monkeypatch.chdir(tmp_path)
    table = {"image": [str(p.relative_to(tmp_path)) for p in images], "mask": [str(p.relative_to(tmp_path)) for p in masks]}
    inputs = {
        "pairs of paths": [(str(i), str(m)) for i, m in zip(images, masks)],
        "polars": pl.DataFrame(table),
        "pandas": pd.DataFrame(table),
        "arrays, 0/1 masks": [(np.asarray(Image.open(i)), (np.asarray(Image.open(m)) > 0).astype(np.int64))
                              for i, m in zip(images, masks)],
        "PIL image and bytes, integer mask": [(Image.open(images[0]), np.asarray(Image.open(masks[0])).astype(int)),
                                             (images[1].read_bytes(), masks[1]), (images[2], masks[2])],
    }
    for name, data in inputs.items():
        card = model.evaluate(data)
        assert card["n"] == 3, name
        assert card["metrics"]["dice"]["value"] == pytest.approx(expected["metrics"]["dice"]["value"]), name
    fitted = segmenter().fit(inputs["arrays, 0/1 masks"], SEGMENTER)
    assert fitted.card_["training_data_hash"] and fitted.card_["training"]["rows"] >= 1
    segmenter().fit(pd.DataFrame(table), SEGMENTER)


def test_segmentation_refuses_other_data_with_what_it_takes(tmp_path):
    image, mask = disc_pair(0, 24)
    model = segmenter()
    for wrong in ({"image": "a.png"}, 3, [(image,)], [image]):
        with pytest.raises(InputError, match="list of \\(image, mask\\) pairs"):
            model.evaluate(wrong)
    with pytest.raises(InputError, match="columns 'image' and 'mask'"):
        model.evaluate(pl.DataFrame({"path": ["a.png"], "label": ["b.png"]}))
    with pytest.raises(InputError, match="mask shape"):
        model.evaluate([(image, mask[:10])])
    with pytest.raises(InputError, match="a mask is a file path or a numpy array"):
        model.evaluate([(image, [[0, 1]])])
    with pytest.raises(InputError, match="does not exist"):
        Segmenter().fit([(image, str(tmp_path / "missing.png"))], SEGMENTER)


@pytest.mark.parametrize("task", ["classification", "segmentation"])
def test_predict_refuses_a_batch_size_that_is_not_a_whole_number_from_1(task):
    """medical.classification took 0 and gave a TypeError on '8'; segmentation read 0 as the default and passed -1 on
    to MONAI (UnboundLocalError)."""
    model = classifier() if task == "classification" else segmenter()
    image = disc_pair(0, 24)[0]
    for bad in (0, -1, "8", 1.5, True):
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            model.predict([image], batch_size=bad)
    assert len(model.predict([image, image], batch_size=1)) == 2


def test_segmentation_card_training_rows_are_the_items_trained_on_and_validation_rows_those_held_out(tmp_path):
    """The card said rows=5 (every item) with no validation_rows while held_out.validation said 4 trained, 1 held out."""
    from medical.segmentation import SegmentationData

    model = segmenter().fit(Segmenter.read_data(write_pairs(tmp_path / "pairs", count=5)), SEGMENTER)
    validation = model.card["held_out"]["validation"]
    assert (validation["train_groups"], validation["validation_groups"]) == (4, 1)
    assert model.card["training"] == {"rows": 4, "validation_rows": 1}
    model.save(tmp_path / "saved")
    from core.artifacts import read_card

    assert read_card(tmp_path / "saved")["training"]["rows"] == 4
    # one item only: validated on the training data, nothing held out
    one = SegmentationData.from_arrays([disc_pair(0, 24)[0]], [disc_pair(0, 24)[1]], ["background", "disc"])
    assert segmenter().fit(one, SEGMENTER).card["training"] == {"rows": 1, "validation_rows": 0}

