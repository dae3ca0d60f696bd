"""Detection data laid out as other tools write them (Roboflow exports, Ultralytics data.yaml with path:, .txt image
lists, names with gaps, pose labels, COCO's own annotations/ folder) are read as those tools read them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from tests.vision._fixtures import png_bytes
from vision._detection_data import convert_detection_data, declared_split, read_detection_data

BOX = "0 0.5 0.5 0.4 0.5\n"


def _yolo_split(folder: Path, stems, line: str = BOX) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    for stem in stems:
        (folder / "images" / f"{stem}.png").write_bytes(png_bytes(64, 48, seed=ord(stem[0])))
        (folder / "labels" / f"{stem}.txt").write_text(line)


def test_roboflow_export_labels_and_split_are_read(tmp_path):
    # Roboflow's YOLOv5/v8 export: train/images + train/labels, valid/..., data.yaml saying ../train/images
    _yolo_split(tmp_path / "train", ["a", "b", "c"])
    _yolo_split(tmp_path / "valid", ["d", "e"])
    (tmp_path / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\nnc: 1\nnames: ['thing']\n")
    data = read_detection_data(tmp_path)
    assert sum(len(s.labels) for s in data.samples) == 5
    train, val, _ = declared_split(data)
    assert len(train) == 3 and len(val) == 2


def test_data_yaml_path_subfolder_labels_are_read(tmp_path):
    _yolo_split(tmp_path / "data" / "x", ["a", "b"])  # data/x/images, data/x/labels
    (tmp_path / "data" / "images").mkdir()
    (tmp_path / "data" / "x" / "images").rename(tmp_path / "data" / "images" / "train")
    (tmp_path / "data" / "labels").mkdir()
    (tmp_path / "data" / "x" / "labels").rename(tmp_path / "data" / "labels" / "train")
    (tmp_path / "data.yaml").write_text("path: data\ntrain: images/train\nval: images/train\nnames: ['thing']\n")
    data = read_detection_data(tmp_path)
    assert len(data) == 2 and sum(len(s.labels) for s in data.samples) == 2


def test_yolo_images_without_a_single_label_file_are_refused(tmp_path):
    _yolo_split(tmp_path / "train", ["a", "b"])
    for label in (tmp_path / "train" / "labels").iterdir():
        label.unlink()
    (tmp_path / "train" / "labels").rmdir()
    (tmp_path / "data.yaml").write_text("train: train/images\nval: train/images\nnames: ['thing']\n")
    with pytest.raises(InputError, match="none of the 2 images has a YOLO label file.*train/labels/a.txt"):
        read_detection_data(tmp_path)


def test_fit_refuses_training_images_without_boxes(tmp_path):
    from vision.detection import Detector

    _yolo_split(tmp_path, ["a", "b", "c", "d"], line="")  # empty label files: background only
    (tmp_path / "data.yaml").write_text("names: ['thing']\n")
    with pytest.raises(InputError, match="hold no boxes"):
        Detector(backend="torchvision").fit(tmp_path)


def test_txt_image_lists_are_read_as_splits(tmp_path):
    _yolo_split(tmp_path, ["a", "b", "c", "d", "e", "f"])
    (tmp_path / "train.txt").write_text("./images/a.png\n./images/b.png\n./images/c.png\n./images/d.png\n")
    (tmp_path / "val.txt").write_text(f"{tmp_path / 'images' / 'e.png'}\nimages/f.png\n")
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: train.txt\nval: val.txt\nnames: ['thing']\n")
    data = read_detection_data(tmp_path)
    splits = {s.image.stem: s.split for s in data.samples}
    assert splits == {"a": "train", "b": "train", "c": "train", "d": "train", "e": "val", "f": "val"}
    assert {s.image.stem for s in read_detection_data(tmp_path, split="val").samples} == {"e", "f"}


def test_lists_of_folders_are_read_as_splits(tmp_path):
    _yolo_split(tmp_path / "part1", ["a", "b"])
    _yolo_split(tmp_path / "part2", ["c"])
    _yolo_split(tmp_path / "holdout", ["d"])
    (tmp_path / "data.yaml").write_text("train: [part1/images, part2/images]\nval: [holdout/images]\nnames: ['thing']\n")
    splits = {s.image.stem: s.split for s in read_detection_data(tmp_path).samples}
    assert splits == {"a": "train", "b": "train", "c": "train", "d": "val"}


def test_names_dict_with_a_gap_keeps_each_ids_name(tmp_path):
    _yolo_split(tmp_path, ["a"], line="3 0.5 0.5 0.4 0.5\n")
    (tmp_path / "data.yaml").write_text("names: {0: cat, 1: dog, 3: bird}\n")
    assert read_detection_data(tmp_path).samples[0].labels == ["bird"]
    (tmp_path / "labels" / "a.txt").write_text("2 0.5 0.5 0.4 0.5\n")
    with pytest.raises(InputError, match=r"unknown class id 2 \(data.yaml names ids 0, 1, 3\)"):
        read_detection_data(tmp_path)


def test_names_dict_with_a_gap_reads_its_named_id(tmp_path):
    _yolo_split(tmp_path, ["a"], line="2 0.5 0.5 0.4 0.5\n")
    (tmp_path / "data.yaml").write_text("names: {0: cat, 2: dog}\n")
    assert read_detection_data(tmp_path).samples[0].labels == ["dog"]


def test_pose_labels_read_their_box_not_a_polygon(tmp_path):
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    Image.new("RGB", (100, 100)).save(tmp_path / "images" / "a.png")
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2 0.42 0.42 0.58 0.42 0.58 0.58 0.42 0.58\n")
    (tmp_path / "data.yaml").write_text("kpt_shape: [4, 2]\nnames: ['person']\n")
    data = read_detection_data(tmp_path)
    assert data.samples[0].boxes.tolist()[0] == pytest.approx([40.0, 40.0, 60.0, 60.0])


def test_data_yaml_outside_the_dataset_follows_path(tmp_path):
    _yolo_split(tmp_path / "datasets" / "mini", [])
    (tmp_path / "datasets" / "mini" / "images" / "train").mkdir()
    (tmp_path / "datasets" / "mini" / "labels" / "train").mkdir()
    for stem in ("a", "b"):
        (tmp_path / "datasets" / "mini" / "images" / "train" / f"{stem}.png").write_bytes(png_bytes(64, 48))
        (tmp_path / "datasets" / "mini" / "labels" / "train" / f"{stem}.txt").write_text(BOX)
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "mini.yaml").write_text("path: ../datasets/mini\ntrain: images/train\nval: images/train\n"
                                                "names: ['thing']\n")
    data = read_detection_data(tmp_path / "cfg" / "mini.yaml")
    assert len(data) == 2 and sum(len(s.labels) for s in data.samples) == 2


def _coco_2017(root: Path) -> Path:
    """annotations/{captions,instances,person_keypoints}_{train,val}2017.json beside train2017/ and val2017/."""
    (root / "annotations").mkdir(parents=True)
    for split, ids in (("train2017", [1, 2]), ("val2017", [3])):
        (root / split).mkdir()
        images = []
        for i in ids:
            (root / split / f"{i:012d}.png").write_bytes(png_bytes(64, 48, seed=i))
            images.append({"id": i, "file_name": f"{i:012d}.png", "width": 64, "height": 48})
        categories = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]
        instances = {"images": images, "categories": categories,
                     "annotations": [{"id": n, "image_id": i, "category_id": 18, "bbox": [10, 10, 30, 20], "area": 600,
                                      "iscrowd": 0} for n, i in enumerate(ids, 1)]}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(instances))
        (root / "annotations" / f"captions_{split}.json").write_text(
            json.dumps({"images": images, "annotations": [{"id": 1, "image_id": ids[0], "caption": "a dog"}]}))
        (root / "annotations" / f"person_keypoints_{split}.json").write_text(
            json.dumps(dict(instances, categories=[categories[0]], annotations=[])))
    return root


@pytest.mark.parametrize("where", ["", "annotations"])
def test_coco_download_layout_reads_the_instances_files(tmp_path, where):
    root = _coco_2017(tmp_path / "coco")
    data = read_detection_data(root / where if where else root)
    assert len(data) == 3 and sum(len(s.labels) for s in data.samples) == 3
    assert {s.image.stem: s.split for s in data.samples} == {"000000000001": "train", "000000000002": "train",
                                                             "000000000003": "val"}
    assert [s.image.stem for s in read_detection_data(root, split="val").samples] == ["000000000003"]


@pytest.mark.parametrize("to", ["coco", "yolo", "voc"])
def test_convert_keeps_the_declared_split(tmp_path, to):
    import numpy as np

    from vision._detection_data import DetectionData, DetectionSample

    splits = {"a": "train", "b": "train", "c": "val", "d": "test", "e": "both"}
    samples = []
    for stem, split in splits.items():
        (tmp_path / f"{stem}.png").write_bytes(png_bytes(64, 48, seed=ord(stem)))
        samples.append(DetectionSample(tmp_path / f"{stem}.png", 64, 48, np.asarray([[8, 8, 40, 30]], dtype=np.float32),
                                       ["cat"], split=split))
    out = convert_detection_data(DetectionData(samples, ["cat"], "voc", tmp_path), tmp_path / "out", to)
    back = read_detection_data(out, format=to)
    train, val, both = declared_split(back)
    assert sorted(back.samples[i].image.stem for i in train) == ["a", "b", "e"]
    assert sorted(back.samples[i].image.stem for i in val) == ["c"]
    assert [p.stem for p in both] == ["e"]
    assert "d" not in {back.samples[i].image.stem for i in train + val}  # the test image is never trained on
    if to != "coco":  # COCO's folder reads train + val; its test file is read on request
        assert {s.image.stem: s.split for s in back.samples}["d"] == "test"
    assert [s.image.stem for s in read_detection_data(out, format=to, split="test").samples] == ["d"]


def test_fit_reports_an_undefined_validation_map_as_null(tmp_path):
    # validation images without boxes: pycocotools' mAP is -1 ("undefined"), which must not reach the card as a value
    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig

    _yolo_split(tmp_path / "train", ["a", "b", "c", "d"])
    _yolo_split(tmp_path / "valid", ["e", "f"], line="")
    (tmp_path / "data.yaml").write_text("train: train/images\nval: valid/images\nnames: ['thing']\n")
    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", pretrained=False, image_size=64, fpn_channels=16,
                                 representation_size=32)
    model.fresh_ = True
    config = DetectorConfig(time_budget_s=2.0, epochs=10_000, batch_size=2, image_size=64, progress_bar=False, threads=1)
    with pytest.warns(UserWarning, match="validation mAP is undefined"):
        model.fit(tmp_path, config)
    metrics = model.info["metrics"]
    assert metrics["best_val_map"] is None and metrics["history"]
    assert all(record["val_map"] is None for record in metrics["history"])
    assert "validation mAP is undefined" in model.info["warning"]


def test_label_files_paired_with_no_image_are_noted(tmp_path):
    _yolo_split(tmp_path, ["a", "b"])
    (tmp_path / "labels" / "orphan.txt").write_text(BOX)
    (tmp_path / "labels" / "classes.txt").write_text("thing\n")  # LabelImg's class list: not a label file
    (tmp_path / "data.yaml").write_text("names: ['thing']\n")
    notes = read_detection_data(tmp_path).notes
    assert any(note.startswith("1 label file(s) pair with no image") and "labels/orphan.txt" in note for note in notes)


def test_roboflow_export_without_data_yaml_is_read_with_its_split(tmp_path):
    _yolo_split(tmp_path / "train", ["a", "b", "c"])
    _yolo_split(tmp_path / "valid", ["d"])
    data = read_detection_data(tmp_path)
    assert data.format == "yolo" and sum(len(s.labels) for s in data.samples) == 4
    assert {s.image.stem: s.split for s in data.samples} == {"a": "train", "b": "train", "c": "train", "d": "val"}
