"""Detection predict takes Ultralytics' options: `iou` (NMS IoU), `max_det` (boxes kept per image) and `classes` (the
class names to keep, chosen before NMS and the cap), from Python and as `--option iou=0.45 max_det=100
classes=person,car`; a bad value is an InputError saying what is accepted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import InputError

IMAGE = np.zeros((200, 400, 3), np.uint8)
# (x1, y1, x2, y2), COCO class id, score: three persons (B overlaps A at IoU 0.92, C at 0.6), a dog and a car
BOXES = [((10, 20, 110, 120), 0, 0.9), ((12, 22, 112, 118), 0, 0.6), ((35, 20, 135, 120), 0, 0.5),
         ((200, 20, 300, 120), 16, 0.7), ((300, 50, 390, 190), 2, 0.3)]


class _Net:
    """cv2.dnn's Net giving fixed YOLO rows for the 200x400 image (boxes encoded as the letterboxed network would)."""

    def __init__(self):
        from vision._darknet import letterbox

        _, scale, pad_x, pad_y = letterbox(IMAGE, 416)
        rows = []
        for (x1, y1, x2, y2), class_id, score in BOXES:
            values = np.zeros(85, np.float32)
            lx1, ly1, lx2, ly2 = x1 * scale + pad_x, y1 * scale + pad_y, x2 * scale + pad_x, y2 * scale + pad_y
            values[:4] = [(lx1 + lx2) / 2 / 416, (ly1 + ly2) / 2 / 416, (lx2 - lx1) / 416, (ly2 - ly1) / 416]
            values[4], values[5 + class_id] = score, score
            rows.append(values)
        self.rows = np.stack(rows)[None]

    def setInput(self, blob):  # noqa: N802 (OpenCV's name)
        pass

    def forward(self, names):
        return [self.rows]


def _yolo():
    import threading

    from vision._darknet import COCO80_NAMES, DarknetYolo
    from vision.detection import Detector

    yolo = DarknetYolo.__new__(DarknetYolo)  # the real decoding and NMS on fixed network output
    yolo.input_size, yolo.nms_iou, yolo.max_detections = 416, 0.45, 100
    yolo.net, yolo.output_names, yolo._lock, yolo.label_names = _Net(), ["out"], threading.Lock(), list(COCO80_NAMES)
    model = Detector("darknet", yolo, list(COCO80_NAMES), "yolov3-tiny", {}, "yolov3-tiny-coco80", score_threshold=0.25,
                     device="cpu")
    model._to_device()
    return model


def _found(model, **options):
    return [(d["label"], d["score"]) for d in model.predict([IMAGE], **options)[0]["detections"]]


def test_yolo_iou_max_det_and_classes_are_honoured_exactly():
    model = _yolo()
    person, person_b, person_c, dog, car = [("person", .9), ("person", .6), ("person", .5), ("dog", .7), ("car", .3)]
    assert _found(model) == [person, dog, car]  # NMS IoU 0.45: B (0.92) and C (0.6) suppressed by A
    assert _found(model, iou=0.7) == [person, dog, person_c, car]  # C (IoU 0.6) now kept, B not
    assert _found(model, iou=0.95) == [person, dog, person_b, person_c, car]
    assert _found(model, max_det=2) == [person, dog]
    assert _found(model, iou=0.95, max_det=4) == [person, dog, person_b, person_c]
    assert _found(model, classes="person,car") == [person, car]
    assert _found(model, classes=["car"], max_det=1) == [car]  # chosen before the cap, as Ultralytics' classes
    assert _found(model, classes=" dog , car ") == [dog, car]
    assert model.network.nms_iou == 0.45 and model.network.max_detections == 100  # the model's own settings kept
    assert _found(model) == [person, dog, car]


@pytest.mark.parametrize("options, message", [
    ({"iou": 0}, "iou must be a number above 0 and at most 1"),
    ({"iou": 1.5}, "iou must be a number above 0 and at most 1"),
    ({"iou": True}, "iou must be a number above 0 and at most 1"),
    ({"iou": "0.5"}, "iou must be a number above 0 and at most 1"),
    ({"max_det": 0}, "max_det must be a whole number >= 1"),
    ({"max_det": 2.5}, "max_det must be a whole number >= 1"),
    ({"classes": ""}, "classes must name the classes to keep"),
    ({"classes": [1, 2]}, "classes must name the classes to keep"),
    ({"classes": "person,unicorn,Car"}, "classes names 'unicorn', 'Car', which this model does not detect; it detects: "
                                        "person, bicycle, car,"),
])
def test_bad_predict_options_are_input_errors_saying_what_is_accepted(options, message):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        _yolo().predict([IMAGE], **options)


def test_a_model_without_nms_refuses_iou_and_keeps_max_det_and_classes():
    from vision.detection import Detector

    haar = Detector.load("haar")
    with pytest.raises(InputError, match="iou sets the IoU of NMS, which this model does not run"):
        haar.predict([IMAGE], iou=0.5)
    with pytest.raises(InputError, match="it detects: face, person, cat_face, license_plate"):
        haar.predict([IMAGE], classes="dog")
    assert haar.predict([IMAGE], max_det=1, classes="face")[0]["detections"] == []


class _Heads:
    nms_thresh, detections_per_img = 0.5, 100


class _TorchvisionLike(torch.nn.Module):
    """A Faster R-CNN-like network: its roi_heads hold nms_thresh and detections_per_img; its output, 5 boxes of
    labels 1 (a), 2 (b), 1, 2, 1 by falling score, is cut at detections_per_img as torchvision cuts it."""

    def __init__(self):
        super().__init__()
        self.roi_heads = _Heads()
        self.seen = []

    def forward(self, images):
        heads = self.roi_heads
        self.seen.append((heads.nms_thresh, heads.detections_per_img))
        keep = slice(0, heads.detections_per_img)
        return [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 5)[keep],
                 "scores": torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])[keep],
                 "labels": torch.tensor([1, 2, 1, 2, 1])[keep]} for _ in images]


def test_a_torchvision_detector_runs_with_the_given_nms_iou_and_cap_and_keeps_its_own_after():
    from vision.detection import Detector

    network = _TorchvisionLike()
    model = Detector("torchvision", network, ["__background__", "a", "b"], "fixed", name="fixed", device="cpu")
    model._to_device()
    labels = lambda **options: [d["label"] for d in model.predict([IMAGE], score_threshold=0.0, **options)[0]["detections"]]  # noqa: E731
    assert labels() == ["a", "b", "a", "b", "a"] and network.seen[-1] == (0.5, 100)
    assert labels(iou=0.3, max_det=2) == ["a", "b"] and network.seen[-1] == (0.3, 2)
    assert labels(classes="b", max_det=1) == ["b"]  # every box asked for, the class chosen, then the cap
    assert network.seen[-1][1] > 5
    assert (network.roi_heads.nms_thresh, network.roi_heads.detections_per_img) == (0.5, 100)  # put back


def test_cli_options_are_read_as_the_keywords_types():
    from core.protocols import predict_options

    options = predict_options(_yolo(), {"iou": "0.45", "max_det": "100", "classes": "person,car", "column": "path"})
    assert options == {"iou": 0.45, "max_det": 100, "classes": "person,car"}
    with pytest.raises(InputError, match="max_det"):
        predict_options(_yolo(), {"max_det": "2.5"})


def test_nms_settings_name_the_models_own_iou_and_cap():
    """The Vision page starts its IoU slider and box cap from these (it started at yolov3-tiny's 0.45 for every model)."""
    from vision.detection import Detector

    assert Detector.load().nms_settings() == {"iou": 0.45, "max_det": 100}
    assert Detector.load("haar").nms_settings() == {"iou": None, "max_det": None}
