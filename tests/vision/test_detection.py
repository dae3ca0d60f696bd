"""Vision detection: readers, conversion, Haar default and the acceptance points beyond the contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests.vision._fixtures import png_bytes, yolo_folder

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "vision.detection"


def test_convert_round_trip_keeps_boxes(tmp_path):
    from vision.detection import Detector

    source = Detector.read_data(yolo_folder(tmp_path / "yolo", n=2))
    for fmt in ("coco", "voc", "yolo"):
        out = Detector.convert(source, tmp_path / fmt, to=fmt)
        again = Detector.read_data(out / "annotations.json" if fmt == "coco" else out)
        assert again.format == fmt and len(again) == 2
        np.testing.assert_allclose(again.samples[0].boxes, source.samples[0].boxes, atol=0.6)
        assert again.samples[0].labels == ["thing"]


def test_bad_annotations_are_input_errors(tmp_path):
    from vision.detection import Detector

    with pytest.raises(InputError, match="outside"):
        Detector.read_data(yolo_folder(tmp_path / "a", lines="0 1.2 0.5 0.5 0.5\n"))
    with pytest.raises(InputError, match="unknown class id"):
        Detector.read_data(yolo_folder(tmp_path / "b", lines="7 0.5 0.5 0.1 0.1\n"))
    coco = tmp_path / "c"
    coco.mkdir()
    (coco / "x.png").write_bytes(png_bytes(32, 32))
    (coco / "ann.json").write_text(json.dumps({"images": [{"id": 1, "file_name": "x.png"}], "categories": [{"id": 1, "name": "a"}],
                                               "annotations": [{"id": 1, "image_id": 1, "category_id": 9, "bbox": [1, 1, 5, 5]}]}))
    with pytest.raises(InputError, match="unknown category_id"):
        Detector.read_data(coco / "ann.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        Detector.read_data(tmp_path / "empty")


def test_check_data_report_and_convert_option(tmp_path):
    from vision.detection import Detector

    report = Detector.check_data(yolo_folder(tmp_path / "y", n=2), convert_to="coco", out=str(tmp_path / "as_coco"))
    assert report["boxes"] == 2 and report["classes"] == {"thing": 2}
    assert (tmp_path / "as_coco" / "annotations.json").is_file()


def test_haar_default_contract(tmp_path):
    from vision.detection import Detector

    model = Detector.load()
    records = model.predict([np.full((80, 80, 3), 255, np.uint8)])
    assert records[0]["detections"] == [] and records[0]["width"] == 80
    with pytest.raises(InputError, match="nothing in common"):
        model.evaluate(yolo_folder(tmp_path / "y", n=1))
    with pytest.raises(InputError, match="cannot be trained"):
        model.fit(yolo_folder(tmp_path / "z", n=1))
    saved = model.save(tmp_path / "haar")
    assert Detector.load(saved).backend == "haar"


def test_for_training_default_is_trainable():
    from vision.detection import DEFAULT_TRAINABLE, Detector

    model = Detector.for_training(None, device="cpu")
    assert model.backend == "torchvision" and model.architecture == DEFAULT_TRAINABLE


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coco128_subset", "BCCD_subset"])
def test_shared_data_reads(name):
    if not (SHARED / name).is_dir():
        pytest.skip("shared data not present")
    from vision.detection import Detector

    report = Detector.check_data(SHARED / name)
    assert report["images"] >= 40 and report["boxes"] > 100


def test_yolo_without_data_yaml_in_coco_split_uses_coco_names(tmp_path):
    from vision._detection_data import read_detection_data

    for root, split in ((tmp_path / "coco", "train2017"), (tmp_path / "plain", "train")):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        (root / "images" / split / "a.png").write_bytes(png_bytes(32, 32))
        (root / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n2 0.3 0.3 0.1 0.1\n")
    coco = read_detection_data(tmp_path / "coco")
    assert coco.samples[0].labels == ["person", "car"] and len(coco.class_names) == 80
    plain = read_detection_data(tmp_path / "plain")
    assert plain.samples[0].labels == ["0", "2"]
    assert read_detection_data(tmp_path / "plain", names="coco80").samples[0].labels == ["person", "car"]
