"""Vision media findings: a stray class id in a COCO-folder YOLO set, a broken image named alike by train and check-data."""

from __future__ import annotations

import pytest

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes


def coco_split_yolo(root, lines):
    """YOLO labels in COCO's own split folders (images/train2017, labels/train2017), no data.yaml."""
    for sub in ("images", "labels"):
        (root / sub / "train2017").mkdir(parents=True)
    for i, text in enumerate(lines):
        (root / "images" / "train2017" / f"{i}.png").write_bytes(png_bytes(32, 32, seed=i))
        (root / "labels" / "train2017" / f"{i}.txt").write_text(text)
    return root


def test_a_class_id_beyond_coco_in_coco_folders_is_refused_by_line(tmp_path, capsys):
    """One line '95 ...' among COCO labels (no data.yaml) renamed every class to its number ('person' -> '0') with
    ok: True, and mAP fell to 0: the line is now refused, named with its file, line and id, as -1 is."""
    from core.cli import main
    from vision._detection_data import read_detection_data

    root = coco_split_yolo(tmp_path / "coco", ["0 0.5 0.5 0.2 0.2\n2 0.3 0.3 0.1 0.1\n", "0 0.5 0.5 0.2 0.2\n95 0.5 0.5 0.2 0.2\n"])
    expected = r"labels/train2017/1\.txt line 2: class id 95, but COCO has ids 0\.\.79.*add a data\.yaml naming your classes"
    with pytest.raises(InputError, match=expected):
        read_detection_data(root)
    assert main(["check-data", "vision.detection", str(root)]) == 2
    printed = capsys.readouterr()
    assert "labels/train2017/1.txt line 2: class id 95, but COCO has ids 0..79" in printed.err and "ok" not in printed.out
    # naming the classes keeps the data readable; ids within COCO's 80 still read as COCO's names
    (root / "data.yaml").write_text("names: {" + ", ".join(f"{i}: c{i}" for i in range(96)) + "}\n")
    assert read_detection_data(root).samples[1].labels == ["c0", "c95"]
    (root / "data.yaml").unlink()
    (root / "labels" / "train2017" / "1.txt").write_text("79 0.5 0.5 0.2 0.2\n")
    assert read_detection_data(root).samples[1].labels == ["toothbrush"]


def test_train_names_a_broken_image_by_its_class_folder_as_check_data_does(tmp_path):
    """ants/photo.jpg fine, bees/photo.jpg broken: check-data said 'bees/photo.jpg is not a readable image', train
    (given the items the CLI reads) only 'photo.jpg', which names neither. Both now say 'bees/photo.jpg'."""
    from vision.classification import ClassifierConfig, ImageClassifier

    data = image_folder(tmp_path / "data", classes=("ants", "bees"), per_class=3)
    (data / "ants" / "photo.png").write_bytes(png_bytes(24, 20, seed=7))
    (data / "bees" / "photo.png").write_bytes(b"not an image at all")
    with pytest.raises(InputError) as checked:
        ImageClassifier.check_data(data)
    assert "bees/photo.png is not a readable image" in str(checked.value)
    model = ImageClassifier.from_timm("test_resnet", ["ants", "bees"], device="cpu")
    config = ClassifierConfig(epochs=1, max_steps=1, progress_bar=False)
    for given in (ImageClassifier.read_data(data), data):  # the CLI passes read_data's items; Python users a path
        with pytest.raises(InputError) as trained:
            model.fit(given, config, run_dir=tmp_path / "run")
        assert "bees/photo.png is not a readable image" in str(trained.value)  # check-data lists every such file
    assert not (tmp_path / "run").exists()
    # train/ and val/ split folders: named from the data folder, as check-data names them
    split = tmp_path / "split"
    image_folder(split / "train", classes=("ants", "bees"), per_class=3)
    image_folder(split / "val", classes=("ants", "bees"), per_class=2)
    (split / "val" / "bees" / "photo.png").write_bytes(b"not an image at all")
    with pytest.raises(InputError) as checked:
        ImageClassifier.check_data(split)
    assert "val/bees/photo.png is not a readable image" in str(checked.value)
    with pytest.raises(InputError) as trained:
        model.fit(ImageClassifier.read_data(split), config, run_dir=tmp_path / "run")
    assert "val/bees/photo.png is not a readable image" in str(trained.value)
