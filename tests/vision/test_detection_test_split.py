"""A dataset's test split in COCO folders (instances_test.json) and `--option split=NAME` for a split the data lacks:
the test file is read with its split (never trained on), kept through conversion, scored by evaluate split=test, and a
missing split is refused by check-data as evaluate refuses it (no silent fallback to every image)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError
from tests.vision._fixtures import png_bytes


def _yolo_train_val_test(root: Path, counts=(("train", 4), ("val", 2), ("test", 3))) -> Path:
    for kind, n in counts:
        (root / "images" / kind).mkdir(parents=True)
        (root / "labels" / kind).mkdir(parents=True)
        for i in range(n):
            (root / "images" / kind / f"{kind}{i}.png").write_bytes(png_bytes(64, 48, seed=i + 10 * len(kind)))
            (root / "labels" / kind / f"{kind}{i}.txt").write_text("0 0.5 0.5 0.4 0.5\n" * (1 + i % 2))
    (root / "data.yaml").write_text("path: .\n" + "".join(f"{kind}: images/{kind}\n" for kind, _ in counts)
                                    + "names: [cell]\n")
    return root


def test_coco_folder_with_train_and_test_files_reads_both_and_never_trains_on_test(tmp_path):
    from vision.detection import Detector, _data_split

    yolo = Detector.read_data(_yolo_train_val_test(tmp_path / "yolo", (("train", 4), ("test", 3))))
    coco = Detector.convert(yolo, tmp_path / "coco", to="coco")
    (coco / "instances_val.json").unlink(missing_ok=True)  # instances_train.json + instances_test.json only
    assert sorted(p.name for p in coco.glob("*.json")) == ["instances_test.json", "instances_train.json"]
    data = Detector.read_data(coco)
    assert sorted(s.split for s in data.samples) == ["test"] * 3 + ["train"] * 4
    train, val, _, _ = _data_split(data, 0.25, 0)
    assert {data.samples[i].split for i in train + val} == {"train"}  # the test images are never trained on
    assert Detector.check_data(coco)["images"] == 7


def test_convert_to_coco_keeps_the_test_split(tmp_path):
    from vision.detection import Detector

    source = Detector.read_data(_yolo_train_val_test(tmp_path / "yolo"))
    assert len(source) == 9
    boxes = sum(len(s.labels) for s in source.samples)
    again = Detector.read_data(Detector.convert(source, tmp_path / "coco", to="coco"))
    assert len(again) == 9 and sum(len(s.labels) for s in again.samples) == boxes
    assert sorted((s.image.name, s.split) for s in again.samples) == sorted((s.image.name, s.split) for s in source.samples)
    # and a chain through COCO keeps it too
    voc = Detector.read_data(Detector.convert(again, tmp_path / "voc", to="voc"))
    assert sorted(s.split for s in voc.samples).count("test") == 3


def test_evaluate_split_test_scores_the_coco_test_file(tmp_path):
    from vision.detection import Detector

    coco = Detector.convert(Detector.read_data(_yolo_train_val_test(tmp_path / "yolo")), tmp_path / "coco", to="coco")
    model = Detector.load("haar")
    assert model.evaluate(coco, resamples=2, split="test")["n"] == 3
    assert model.evaluate(Detector.read_data(coco, split="test"), resamples=2)["n"] == 3
    assert model.evaluate(coco, resamples=2)["n"] == 2  # default: the val split
    assert model.evaluate(coco, resamples=2, split="train")["n"] == 4


def test_a_split_the_data_lacks_is_refused_in_check_data(tmp_path):
    from vision.detection import Detector

    yolo = _yolo_train_val_test(tmp_path / "yolo", (("train", 4), ("val", 2)))
    with pytest.raises(InputError, match="no test images.*train 4, val 2.*split=all"):
        Detector.check_data(yolo, split="test")
    assert Detector.check_data(yolo, split="val")["images"] == 2
    assert Detector.check_data(yolo, split="all")["images"] == 6
    coco = Detector.convert(Detector.read_data(yolo), tmp_path / "coco", to="coco")
    with pytest.raises(InputError, match="no test annotation file.*instances_train.json.*split=all"):
        Detector.check_data(coco, split="test")
    with pytest.raises(InputError, match="split=test.*split=all"):
        Detector.check_data(coco / "instances_train.json", split="test")
    assert Detector.check_data(coco, split="val")["images"] == 2


def test_check_data_counts_the_test_split_and_convert_writes_no_empty_split_file(tmp_path):
    from vision.detection import Detector

    yolo = _yolo_train_val_test(tmp_path / "yolo", (("train", 4), ("test", 3)))
    assert Detector.check_data(yolo)["splits"] == {"train": 4, "val": 0, "test": 3}
    coco = Detector.convert(Detector.read_data(yolo), tmp_path / "coco", to="coco")
    assert sorted(p.name for p in coco.glob("*.json")) == ["instances_test.json", "instances_train.json"]
    assert Detector.check_data(coco)["splits"] == {"train": 4, "val": 0, "test": 3}
