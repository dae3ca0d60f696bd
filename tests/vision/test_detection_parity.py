"""Detection scores equal pycocotools' COCOeval on the same detections, class by class.

On COCO128 with the default yolov3-tiny, `dog`'s AP was 0.2937 in the card against COCOeval's 0.2967: torchmetrics
hands COCOeval thresholds from a float32 linspace (recall 0.2000000030 for 0.2), so a class whose recall reached
exactly 1/5 read the precision of the next recall step. And `evaluate` ranked detections by `predict`'s 5-decimal
scores, which tie near-equal low scores that the model itself ranks apart."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch


def _cocoeval(truths: list[list[list[float]]], detections: list[list[tuple[float, list[float]]]]):
    """Plain pycocotools COCOeval (one class) over per-image xyxy truths and (score, xyxy) detections."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset = {"images": [{"id": i, "width": 200, "height": 200} for i in range(len(truths))],
               "categories": [{"id": 0}], "annotations": []}
    for i, boxes in enumerate(truths):
        for x1, y1, x2, y2 in boxes:
            dataset["annotations"].append({"id": len(dataset["annotations"]) + 1, "image_id": i, "category_id": 0,
                                           "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                           "iscrowd": 0})
    results = [{"image_id": i, "category_id": 0, "score": score, "bbox": [x1, y1, x2 - x1, y2 - y1]}
               for i, found in enumerate(detections) for score, (x1, y1, x2, y2) in found]
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        evaluated = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluated.evaluate()
        evaluated.accumulate()
        evaluated.summarize()
    return evaluated


def test_per_class_ap_equals_cocoeval_when_recall_reaches_exactly_one_fifth():
    """Five objects, one per image: a hit, a miss ranked next, then the other hits. Recall 1/5 is reached at
    precision 1; under float32 thresholds (0.2000000030) COCOeval read recall 0.2 at the next step's 2/3."""
    from vision._detection_scoring import mean_average_precision, per_class_scores

    truths = [[[10.0, 10.0, 60.0, 60.0]] for _ in range(5)]
    detections = [[(0.9, [10.0, 10.0, 60.0, 60.0])], [(0.8, [120.0, 120.0, 170.0, 170.0]), (0.7, [10.0, 10.0, 60.0, 60.0])],
                  [(0.6, [10.0, 10.0, 60.0, 60.0])], [(0.5, [12.0, 10.0, 60.0, 60.0])], [(0.4, [10.0, 30.0, 60.0, 60.0])]]
    preds = [{"boxes": torch.tensor([b for _, b in found], dtype=torch.float32).reshape(-1, 4),
              "scores": torch.tensor([s for s, _ in found], dtype=torch.float32),
              "labels": torch.zeros(len(found), dtype=torch.int64)} for found in detections]
    targets = [{"boxes": torch.tensor(b, dtype=torch.float32), "labels": torch.zeros(len(b), dtype=torch.int64),
                "iscrowd": torch.zeros(len(b), dtype=torch.int64)} for b in truths]
    reference = _cocoeval(truths, detections)
    precision = reference.eval["precision"][:, :, 0, 0, -1]
    expected_ap = float(precision[precision > -1].mean())
    full = mean_average_precision(preds, targets, class_metrics=True)
    for key, stat in (("map", 0), ("map_50", 1), ("map_75", 2), ("mar_100", 8)):
        assert float(full[key]) == pytest.approx(reference.stats[stat], abs=1e-6), key
    assert float(full["map_per_class"].reshape(-1)[0]) == pytest.approx(expected_ap, abs=1e-6)
    assert per_class_scores(preds, targets, 1)["map"][0] == pytest.approx(expected_ap, abs=1e-6)


class _FixedDetections(torch.nn.Module):
    """A torchvision-style detector giving fixed outputs, chosen by the image's width."""

    def __init__(self, outputs: dict[int, dict[str, torch.Tensor]]):
        super().__init__()
        self.outputs = outputs

    def forward(self, images):
        return [self.outputs[int(image.shape[-1])] for image in images]


def test_evaluate_ranks_the_models_own_scores_not_their_rounding(tmp_path):
    """In the second image a miss scores 0.00390223 and a hit 0.00390216: the model ranks the miss first (AP@.5 below
    1), but rounded to 5 decimals both were 0.0039 and the tie kept the hit first (AP@.5 1.0). Records from `predict`
    keep 5 decimals."""
    from PIL import Image

    from vision._detection_data import DetectionData, DetectionSample
    from vision.detection import Detector

    hit, miss = [10.0, 10.0, 60.0, 60.0], [120.0, 120.0, 170.0, 170.0]
    high, low_miss, low_hit = 0.9, 0.003902226686477661, 0.003902156138792634
    paths, samples = [], []
    for width in (200, 201):
        path = tmp_path / f"{width}.png"
        Image.fromarray(np.zeros((200, width, 3), np.uint8)).save(path)
        paths.append(path)
        samples.append(DetectionSample(path, width, 200, np.asarray([hit], np.float32), ["cell"]))
    network = _FixedDetections({
        200: {"boxes": torch.tensor([hit]), "scores": torch.tensor([high]), "labels": torch.tensor([1])},
        201: {"boxes": torch.tensor([hit, miss]), "scores": torch.tensor([low_hit, low_miss]),
              "labels": torch.tensor([1, 1])}})
    model = Detector("torchvision", network, ["__background__", "cell"], "fixed", name="fixed", device="cpu")
    model._to_device()
    card = model.evaluate(DetectionData(samples, ["cell"], "coco", tmp_path), resamples=2)
    reference = _cocoeval([[hit], [hit]], [[(high, hit)], [(low_hit, hit), (low_miss, miss)]])
    assert reference.stats[1] < 0.99  # the model's own ranking puts the miss above the second hit
    assert card["metrics"]["map_50"]["value"] == pytest.approx(reference.stats[1], abs=1e-6)
    assert card["metrics"]["map"]["value"] == pytest.approx(reference.stats[0], abs=1e-6)
    records = model.predict(paths, score_threshold=0.001)
    assert [d["score"] for d in records[1]["detections"]] == [0.0039, 0.0039]  # written records: 5 decimals
