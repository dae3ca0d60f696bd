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
        out = Detector.convert(source, tmp_path / f"converted_{fmt}", to=fmt)  # never over its own source folder
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
    card = model.evaluate(yolo_folder(tmp_path / "y", n=2))  # no class in common: scored as is, every AP 0, and why
    assert card["metrics"]["map"]["value"] == 0.0 and card["metrics"]["recall"]["value"] == 0.0
    assert card["classes_unknown_to_model"] == ["thing"] and "none in common" in card["warning"]
    assert card["plots"]["AP per class"]["labels"] == ["thing"]
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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coco128_subset", "BCCD_subset"])
def test_cli_evaluates_shared_data_as_it_is(name, capsys):
    """The acceptance commands: `verticals evaluate vision.detection --data ... --json` exits 0 with one card."""
    if not (SHARED / name).is_dir():
        pytest.skip("shared data not present")
    import json

    from core.cli import main

    assert main(["evaluate", "vision.detection", "--data", str(SHARED / name), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["n"] >= 40 and 0.0 <= card["metrics"]["map"]["value"] <= 1.0 and "AP per class" in card["plots"]


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


@pytest.fixture()
def tiny_detr_dir(tmp_path):
    """A random-init DETR (tiny ResNet backbone, d_model 32, one encoder/decoder layer) saved with save_pretrained."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    backbone = transformers.ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                         layer_type="basic", out_features=["stage2"])
    config = transformers.DetrConfig(backbone_config=backbone, d_model=32, encoder_layers=1, decoder_layers=1,
                                     encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
                                     decoder_attention_heads=2, num_queries=5, id2label={0: "thing", 1: "other"},
                                     label2id={"thing": 0, "other": 1})
    folder = tmp_path / "detr"
    transformers.DetrForObjectDetection(config).save_pretrained(folder)
    transformers.DetrImageProcessor(size={"shortest_edge": 48, "longest_edge": 64}).save_pretrained(folder)
    return folder


def test_detr_predicts_fits_and_round_trips(tiny_detr_dir, tmp_path):
    from vision.detection import Detector, DetectorConfig

    model = Detector.load(tiny_detr_dir, device="cpu")
    assert model.backend == "transformers" and model.label_names == ["thing", "other"]
    image = png_bytes(64, 48, seed=3)
    record = model.predict([image], score_threshold=0.0)[0]
    assert record["width"] == 64 and record["detections"]
    assert all(d["label"] in {"thing", "other"} and len(d["box"]) == 4 for d in record["detections"])
    # one training step on YOLO data with a class set of its own: a fresh class head, the rest kept
    data = yolo_folder(tmp_path / "yolo", n=3, names=("cell",))
    before = {k: v.clone() for k, v in model.network.state_dict().items()}
    model.fit(data, DetectorConfig(epochs=1, max_steps=1, batch_size=2, progress_bar=False, amp="off"))
    assert model.label_names == ["cell"] and model.network.config.id2label == {0: "cell"}
    after = model.network.state_dict()
    assert any(not (after[k] == v).all() for k, v in before.items() if k in after and after[k].shape == v.shape)
    predictions = model.predict([image], score_threshold=0.0)
    saved = model.save(tmp_path / "saved")
    assert {"card.json", "config.json", "model.safetensors", "preprocessor_config.json"} <= {p.name for p in saved.iterdir()}
    again = Detector.load(saved, device="cpu")
    assert again.backend == "transformers" and again.label_names == ["cell"]
    assert again.predict([image], score_threshold=0.0) == predictions
    card = again.evaluate(data)
    assert {"map", "map_50", "recall"} <= set(card["metrics"]) and "AP per class" in card["plots"]
    from transformers import AutoModelForObjectDetection

    assert AutoModelForObjectDetection.from_pretrained(saved).config.id2label == {0: "cell"}  # usable without Verticals


def test_detection_card_plots_are_well_formed(tmp_path):
    from vision.detection import Detector

    data = yolo_folder(tmp_path / "yolo", n=2, names=("thing", "other"), lines="0 0.5 0.5 0.4 0.5\n1 0.2 0.2 0.1 0.1\n")
    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", ["thing", "other"], device="cpu",
                                 min_size=96, max_size=96, box_detections_per_img=20)
    card = model.evaluate(data, resamples=2)
    json.dumps(card)
    ap, recall = card["plots"]["AP per class"], card["plots"]["Recall per class"]
    for spec in (ap, recall):
        assert spec["kind"] == "bars" and spec["labels"] == ["other", "thing"]
        assert len(spec["values"]) == 2 and all(v is None or 0.0 <= v <= 1.0 for v in spec["values"])
    assert ap["value_label"] == "AP@[.5:.95]" and set(card["per_class_ap"]) == {"other", "thing"}
