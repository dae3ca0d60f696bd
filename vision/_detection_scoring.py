"""Detection mAP: pycocotools' COCOeval (through torchmetrics) with each kind of ignore region scored by its own
protocol: a COCO crowd region as COCO does (matched by intersection over the detection's area), a VOC difficult
object as the VOC devkit does (matched by ordinary IoU against every object; a detection whose best match is one is
ignored)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["CROWD", "DIFFICULT", "mean_average_precision", "per_class_scores"]

CROWD = 1  # the `iscrowd` value of a COCO crowd region in a target
DIFFICULT = 2  # the `iscrowd` value of a VOC difficult object in a target (passed through torchmetrics untouched)
# COCOeval's Params: IoU .5:.05:.95 and recall 0:.01:1, as float64 numpy builds them (pycocotools' setDetParams)
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True).tolist()
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True).tolist()


def mean_average_precision(preds: list[dict], targets: list[dict], class_metrics: bool = False,
                           capture: list | None = None) -> dict[str, Any]:
    """torchmetrics' MeanAveragePrecision (pycocotools backend) over `preds` and `targets`, whose `iscrowd` is 0 for
    an object, `CROWD` for a crowd region and `DIFFICULT` for a VOC difficult object; `capture` (a list) receives
    the COCOeval object once it has accumulated (without `class_metrics`: one pass over every class)."""
    from torchmetrics.detection import MeanAveragePrecision
    from torchmetrics.detection.helpers import CocoBackend

    class Backend(CocoBackend):
        @property
        def cocoeval(self) -> object:
            evaluator = _difficult_aware_cocoeval()
            if capture is None:
                return evaluator

            def build(*args, **kwargs):
                instance = evaluator(*args, **kwargs)
                capture.append(instance)
                return instance
            return build

    # pycocotools' own float64 thresholds: torchmetrics' defaults come from a float32 linspace (0.55000001, recall
    # 0.2000000030), so a recall of exactly 1/5 fell below its recall threshold and a class's AP moved off COCOeval's
    metric = MeanAveragePrecision(iou_type="bbox", class_metrics=class_metrics, backend="pycocotools",
                                  iou_thresholds=COCO_IOU_THRESHOLDS, rec_thresholds=COCO_RECALL_THRESHOLDS)
    metric._coco_backend = Backend("pycocotools")
    metric.update(preds, targets)
    return metric.compute()


def per_class_scores(preds: list[dict], targets: list[dict], classes: int) -> dict[str, np.ndarray]:
    """Per-class AP@[.5:.95] (`map`), AP@.5 (`map_50`) and recall with 100 detections per image (`mar_100`), each a
    (classes,) array indexed by label id, NaN for a class with no ground-truth box here (COCO's -1): one COCOeval pass,
    read from its accumulated precision and recall as `COCOeval.summarize` reads them (all areas). The mean of a row
    over its defined classes is what `mean_average_precision` reports."""
    scores = {key: np.full(classes, np.nan) for key in ("map", "map_50", "mar_100")}
    captured: list[Any] = []
    mean_average_precision(preds, targets, capture=captured)
    if not captured:  # no prediction or no target at all: nothing was scored
        return scores
    evaluated = captured[0]
    precision, recall = evaluated.eval["precision"], evaluated.eval["recall"]  # (T, R, K, A, M), (T, K, A, M)
    thresholds, max_dets = np.asarray(evaluated.params.iouThrs), list(evaluated.params.maxDets)
    at_50 = int(np.argmin(np.abs(thresholds - 0.5)))
    last = max_dets.index(max(max_dets))
    for k, class_id in enumerate(evaluated.params.catIds):
        if not 0 <= int(class_id) < classes:
            continue
        every = precision[:, :, k, 0, last]
        scores["map"][int(class_id)] = every[every > -1].mean() if (every > -1).any() else np.nan
        half = precision[at_50, :, k, 0, last]
        scores["map_50"][int(class_id)] = half[half > -1].mean() if (half > -1).any() else np.nan
        found = recall[:, k, 0, last]
        scores["mar_100"][int(class_id)] = found[found > -1].mean() if (found > -1).any() else np.nan
    return scores


@functools.cache
def _difficult_aware_cocoeval() -> type:
    from pycocotools.cocoeval import COCOeval

    class DifficultAwareCOCOeval(COCOeval):
        """COCOeval whose ground truths with `iscrowd` DIFFICULT are VOC difficult objects; without any, it is
        COCOeval itself."""

        def __init__(self, cocoGt=None, cocoDt=None, iouType="segm"):  # noqa: N803 (pycocotools' names)
            for annotation in (cocoGt.anns.values() if cocoGt is not None else ()):
                if annotation.get("iscrowd") == DIFFICULT:  # an object for IoU (not a crowd region), flagged apart
                    annotation["iscrowd"], annotation["difficult"] = 0, 1
            super().__init__(cocoGt, cocoDt, iouType)

        def evaluateImg(self, imgId, catId, aRng, maxDet):  # noqa: N802, N803
            # torchmetrics keeps useCats on (per-class matching), the only mode the VOC rule is written for here
            if not any(g.get("difficult") for g in self._gts[imgId, catId]):
                return super().evaluateImg(imgId, catId, aRng, maxDet)
            return _evaluate_with_difficult(self, imgId, catId, aRng, maxDet)

    return DifficultAwareCOCOeval


def _evaluate_with_difficult(coco_eval: Any, image_id: Any, category_id: Any, area_range: list[float],
                             max_detections: int) -> dict[str, Any]:
    """pycocotools' `COCOeval.evaluateImg` for an image and class with difficult objects. At each IoU threshold a
    detection whose best ordinary-IoU match among all objects (difficult ones included, crowd regions not) reaches the
    threshold and is a difficult object is ignored, as in the VOC devkit; every other detection is matched as
    COCOeval matches it, against the objects and crowd regions (difficult ones left out)."""
    params = coco_eval.params
    truths, detections = coco_eval._gts[image_id, category_id], coco_eval._dts[image_id, category_id]
    for truth in truths:
        truth["_ignore"] = int(bool(truth["ignore"] or truth.get("difficult")
                                    or truth["area"] < area_range[0] or truth["area"] > area_range[1]))
    truth_order = np.argsort([g["_ignore"] for g in truths], kind="mergesort")  # ignored last, as COCOeval
    truths = [truths[i] for i in truth_order]
    detection_order = np.argsort([-d["score"] for d in detections], kind="mergesort")
    detections = [detections[i] for i in detection_order[:max_detections]]
    crowd = np.array([bool(g["iscrowd"]) for g in truths])
    difficult = np.array([bool(g.get("difficult")) for g in truths])
    ious = coco_eval.ious[image_id, category_id]
    ious = ious[:, truth_order] if len(ious) else ious  # (D, G); crowd columns are over the detection's area
    n_thresholds, n_truths, n_detections = len(params.iouThrs), len(truths), len(detections)
    truth_matches = np.zeros((n_thresholds, n_truths))
    detection_matches = np.zeros((n_thresholds, n_detections))
    truth_ignored = np.array([g["_ignore"] for g in truths])
    detection_ignored = np.zeros((n_thresholds, n_detections))
    if len(ious):
        ordinary = np.where(crowd[None, :], -1.0, ious)
        best, best_iou = ordinary.argmax(axis=1), ordinary.max(axis=1)
        for t_index, threshold in enumerate(params.iouThrs):
            least = min(threshold, 1 - 1e-10)
            for d_index, detection in enumerate(detections):
                if difficult[best[d_index]] and best_iou[d_index] >= least:
                    detection_ignored[t_index, d_index] = 1  # VOC: on a difficult object, neither hit nor miss
                    continue
                iou, match = least, -1
                for g_index in range(n_truths):  # COCOeval's matching, difficult objects left out
                    if difficult[g_index] or truth_matches[t_index, g_index] > 0 and not crowd[g_index]:
                        continue
                    if match > -1 and truth_ignored[match] == 0 and truth_ignored[g_index] == 1:
                        break
                    if ious[d_index, g_index] < iou:
                        continue
                    iou, match = ious[d_index, g_index], g_index
                if match == -1:
                    continue
                detection_ignored[t_index, d_index] = truth_ignored[match]
                detection_matches[t_index, d_index] = truths[match]["id"]
                truth_matches[t_index, match] = detection["id"]
    outside = np.array([d["area"] < area_range[0] or d["area"] > area_range[1] for d in detections]).reshape(1, -1)
    detection_ignored = np.logical_or(detection_ignored, np.logical_and(detection_matches == 0,
                                                                        np.repeat(outside, n_thresholds, 0)))
    return {"image_id": image_id, "category_id": category_id, "aRng": area_range, "maxDet": max_detections,
            "dtIds": [d["id"] for d in detections], "gtIds": [g["id"] for g in truths],
            "dtMatches": detection_matches, "gtMatches": truth_matches, "dtScores": [d["score"] for d in detections],
            "gtIgnore": truth_ignored, "dtIgnore": detection_ignored}
