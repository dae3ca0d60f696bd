"""Image classification on timm. Default: the ImageNet-1k EfficientNet-Lite0 that ships offline (1,000 classes,
top-k, Grad-CAM). Retraining starts from its larger sibling EfficientNet-Lite2 (ImageNet weights, also offline): a
logistic-regression head on frozen features (the linear probe); with 100+ images per class, then the later layers
fine-tuned with frozen batch-norm statistics, early stopping, best weights kept."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import timm
import torch
import torch.nn.functional as F

from core.artifacts import hash_files, read_card
from core.config import config_to_dict
from core.data import list_image_folder, read_table
from core.data.images import manifest_items
from core.data.labels import check_label_spellings, normal_form
from core.data.paths import require_path
from core.data.tables import is_empty_cell, is_table, require_columns
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError
from core.evaluate import (MIN_PER_CLASS_TO_RANK, bars_plot, class_balance_warning, confusion_plot, joined_warnings,
                           metric_card, metric_with_ci, with_proportion_ci)
from core.protocols import TaskModel, check_batch_size, iter_batches, predict_in_place, predict_records, with_ids
from core.registry import missing_model_message, resolve_source
from core.train import TrainConfig, Trainer
from vision._cards import card_mismatch, card_record, check_label_names, check_preprocessing, match_preprocessing
from vision._images import (ACCEPTED, BATCH_UNIT, USAGE_READER, content_keys, decode_images, frame_image_column,
                            frame_items, identified_images, image_list, read_image_inputs, unreadable_images)
from vision._splits import ALL, evaluation_rows, split_kind

__all__ = ["ImageClassifier", "ClassifierConfig", "load", "fashion_mnist_sample", "heatmap_in_image"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DEFAULT_NAME = "tf_efficientnet_lite0.imagenet1k"
RETRAIN_BASE = "tf_efficientnet_lite2.imagenet1k"  # where `verticals train` starts when no --model is given
IMAGENET_ALIASES = {DEFAULT_NAME, "tf_efficientnet_lite0", "tf_efficientnet_lite0.in1k",  # the packaged weights, offline
                    RETRAIN_BASE, "tf_efficientnet_lite2", "tf_efficientnet_lite2.in1k"}
# Measured here (bench/vision.py `classification_default`, 2026-11-30) on the developers' half of hymenoptera (80
# ImageNet-derived photos, 40 ants + 40 bees): how often the 1,000-way default names "ant" / "bee" correctly, and the
# out-of-fold accuracy of a logistic regression on its features (what retraining the head can reach).
DEFAULT_MEASURED = {"hymenoptera_80_top1_names_ant_or_bee": 0.80, "hymenoptera_80_top5_contains_it": 0.9625,
                    "hymenoptera_80_linear_probe_accuracy": 0.9375}
MEASURED_NOTE = ("hymenoptera_80_*: measured with bench/vision.py on 80 hymenoptera photos (the developers' shared data); "
                 "imagenet_top1_published: the published ImageNet-1k top-1 of EfficientNet-Lite0, not measured here")
CARD_WRITES = ("task", "model", "label_names", "preprocessing", "usage")  # what save_card builds from the model itself
SPLIT_COLUMN = "split"  # a manifest's optional column naming each image's split (train / val / test)
CONFUSION_PLOT_MAX_LABELS = 40  # a larger matrix stays in the card's `confusion_matrix` but is not drawn
VALIDATION_METRICS = ("val_accuracy", "val_loss")  # what fit's validation pass returns; `monitor` names one
UNREADABLE_SHOWN = 20  # check-data names this many unreadable images, then says how many more
PROBE_MAX_IMAGES = 2000  # the linear probe runs on a stratified sample of at most this many images
PROBE_NOTE = ("linear_probe_accuracy: a logistic regression fitted on this model's pooled penultimate features with "
              "stratified k-fold cross-validation (out-of-fold predictions). It measures how separable the data's own "
              "classes are in this model's features; it is not the model's accuracy, and estimates what retraining "
              "the head on this data could reach.")
RECIPE = ("LP-FT: (1) linear probe: a logistic regression (C by cross-validated log-loss, balanced class weights) on "
          "the frozen network's pooled features of the training images and their mirror images, folded into a new "
          "head; with fewer than `fine_tune_min_per_class` images in some class the probe, fitted on every image, is "
          "the model (on 40 photos per class fine-tuning lowered held-out accuracy); else (2) fine-tuning of the later "
          "layers (stem and the first `frozen_blocks` stages frozen, batch-norm statistics frozen) with AdamW, warmup + cosine, light augmentation (random resized crop of 50-100%, flip, "
          "colour jitter), early stopping on the validation split's `monitor`; the best weights are kept, and the probe-only "
          "network is kept instead when fine-tuning never beats it on validation")


@dataclass(frozen=True)
class ClassifierConfig(TrainConfig):
    """Retraining hyperparameters (the core TrainConfig plus the transfer recipe); defaults suit ~40 images/class."""

    defaults = {
        "batch_size": 8,
        "lr": 0.0001,
        "weight_decay": 0.01,
        "patience": 2,  # evaluations without improvement; on ~40 images/class the best epoch comes early
        "validation_fraction": 0.2,  # used when the data has no val/ split
    }

    image_size: int | None = None  # None keeps the model's input size
    augment: bool = True  # random resized crop (scale 0.5-1), flip, colour jitter 0.2 (timm's training transform)
    class_weight: str = "balanced"  # balanced | none: "balanced" weights in the loss (and the probe) for imbalanced classes
    label_smoothing: float = 0.1
    head_init: str = "probe"  # probe: logistic regression on frozen features | random: timm's fresh head
    fine_tune: bool = True  # False stops after the probe (the head alone)
    fine_tune_min_per_class: int = 100  # fewer training images in some class: the probe alone, fitted on every image
    frozen_blocks: int = 3  # EfficientNet stages (after the stem) kept frozen while fine-tuning
    top_k: int = 5


class _ImageDataset(torch.utils.data.Dataset):
    """Decoded PIL images + label indices, transformed on access."""

    def __init__(self, images: list, targets: list[int], transform):
        self.images, self.targets, self.transform = images, targets, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), torch.tensor(self.targets[index])


class ImageClassifier(TaskModel):
    """A timm network with its label names and preprocessing (from its pretrained config).

    >>> model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"])  # doctest: +SKIP
    >>> model.predict([np.zeros((32, 32, 3), np.uint8)])[0]["label"] in {"cat", "dog"}  # doctest: +SKIP
    True
    """

    task: ClassVar[str] = "vision.classification"
    data_options: ClassVar[tuple[str, ...]] = ("path_column", "label_column", "split")
    data_flags: ClassVar[tuple[str, ...]] = ("target", "column")  # label and path columns of a CSV
    input_flags: ClassVar[tuple[str, ...]] = ("column", "id")  # the path and id columns of a table
    libraries: ClassVar[tuple[str, ...]] = ("timm", "torchvision")
    Config: ClassVar[type] = ClassifierConfig
    default_batch_size: ClassVar[int] = 64

    def __init__(self, network=None, label_names: list[str] | None = None, data_config: dict | None = None,
                 name: str = "", info: dict | None = None, device: str = "auto"):
        self.network = network
        self.label_names = label_names
        self.data_config = data_config
        self.name = name
        self.info = info or {}
        self.device = device
        self._lock = threading.Lock()
        self._fused = None

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_timm(cls, architecture: str, label_names: list[str], pretrained: bool = False, device: str = "auto",
                  **model_args: Any) -> "ImageClassifier":
        """A new timm network with a head for `label_names` (random init unless `pretrained`)."""
        network = timm.create_model(architecture, pretrained=pretrained, num_classes=len(label_names), **model_args)
        info = {"description": f"timm {architecture}, {'pretrained backbone' if pretrained else 'random init'}",
                "pretrained": pretrained}
        return cls._ready(network, list(label_names), None, architecture, info, device)

    @classmethod
    def _ready(cls, network, label_names, data_config, name, info, device) -> "ImageClassifier":
        config = dict(data_config or timm.data.resolve_model_data_config(network))
        model = cls(network, [str(label) for label in label_names], config, name, info, device)
        model._to_device()
        return model

    def _to_device(self) -> None:
        self.device_ = pick_device(self.device)
        self.network.to(self.device_).eval()
        self.network.to(memory_format=torch.channels_last)
        self._fused = None  # the inference copy is rebuilt from the current weights on next use

    def _inference_network(self):
        """An eval copy with batch norm folded into the convolutions (same outputs, fewer passes); the network
        itself when folding does not apply. Training, Grad-CAM and save() use the network itself."""
        with self._lock:
            fused = getattr(self, "_fused", None)
            if fused is None or fused[0] is not self.network:
                from vision._inference import fuse_batch_norm

                copy = fuse_batch_norm(self.network)
                copy = copy.to(memory_format=torch.channels_last) if copy is not None else self.network
                self._fused = fused = (self.network, copy)
            return fused[1]

    # load() is core.TaskModel's: the ImageNet default (also under its timm names), a folder, or a timm / hub name
    builtins: ClassVar[tuple[str, ...]] = tuple(sorted(IMAGENET_ALIASES))

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "ImageClassifier":
        return cls.imagenet_default(device)

    @classmethod
    def load_builtin(cls, name: str, device: str = "auto", **options: Any) -> "ImageClassifier":
        return cls.imagenet_default(device, "tf_efficientnet_lite2" if "lite2" in name else "tf_efficientnet_lite0")

    @classmethod
    def imagenet_default(cls, device: str = "auto", architecture: str = "tf_efficientnet_lite0") -> "ImageClassifier":
        """The embedded default: ImageNet-1k EfficientNet-Lite0 from its pinned PyPI package (no training, no download);
        `architecture="tf_efficientnet_lite2"`: its larger sibling, where retraining starts."""
        from core.backbones import BACKBONES, efficientnet_lite, imagenet_class_names

        source = BACKBONES[architecture]
        network = efficientnet_lite(architecture, num_classes=1000, pretrained=True)
        variant = "Lite0" if architecture.endswith("lite0") else "Lite2"
        info = {
            "description": (f"EfficientNet-{variant} trained on ImageNet-1k (1,000 everyday object classes), run by timm "
                            f"{architecture}; photos of other kinds (medical, documents, satellite) are out of "
                            "domain: retrain it on your labels (verticals train vision.classification)"),
            "source": dict(source),
            "trained_on": {"dataset": "ImageNet-1k (ILSVRC-2012)", "classes": 1000},
            "metrics": {"imagenet_top1_published": 0.75, **DEFAULT_MEASURED} if variant == "Lite0"
            else {"imagenet_top1_published": 0.776},
            "quality_note": f"{source['published_quality']}. {MEASURED_NOTE}" if variant == "Lite0" else source["published_quality"],
        }
        return cls._ready(network, imagenet_class_names(), None, f"{architecture}.imagenet1k", info, device)

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "ImageClassifier":
        """Start from `base` (none: the ImageNet EfficientNet-Lite2 that ships offline); a timm name whose weights are
        not available offline starts from random init."""
        if base is None:
            model = cls.imagenet_default(device, "tf_efficientnet_lite2")
            # the short side resized to 260 and cropped square, without ImageNet's 0.89 centre zoom: on the ants/bees
            # halves the probe scored 1.0 / 1.0 this way against 0.925 / 0.95 with the zoom (bench/image_retrain.py)
            model.data_config = {**model.data_config, "crop_pct": 1.0}
            return model
        kind, value = resolve_source(cls.task, base)
        if kind == "hub" and value not in IMAGENET_ALIASES:
            try:
                return cls.load_hub(value, device)
            except ModelNotFoundError:
                if value.split(":")[-1].split(".")[0] not in timm.list_models():
                    raise
                warnings.warn(f"pretrained weights for {value} are not available offline; training it from random init")
                from core.device import seed_everything

                seed_everything(0)  # random init is reproducible: the same command gives the same starting weights
                return cls.from_timm(value.split(".")[0], ["0", "1"], device=device)
        return cls.load(base, device=device)

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "ImageClassifier":
        """A folder written by save(); its card must agree with its network (label_names: one distinct name per
        output; preprocessing: input_size, mean and std it can be fed with, interpolation / crop_pct / crop_mode timm
        takes, each as config.json's pretrained_cfg says), else `UnsafeArtifactError`."""
        card = read_card(path, task=cls.task)
        try:
            network = timm.create_model("local-dir:" + str(Path(path).resolve()), pretrained=True)
        except Exception as error:  # timm raises several error types on a broken folder
            raise InputError(f"{path} holds no loadable timm model (config.json + model.safetensors): {error}") from error
        check_label_names(Path(path), card.get("label_names"), network.num_classes)
        config = _timm_config(Path(path))
        _check_timm_label_names(Path(path), card["label_names"], config)
        first = next((m for m in network.modules() if isinstance(m, torch.nn.Conv2d)), None)
        channels = first.in_channels if first is not None else None
        preprocessing = card.get("preprocessing")
        check_preprocessing(Path(path), preprocessing, channels)
        if preprocessing is not None:  # what runs is what config.json (hashed, read by timm alone) says
            preprocessing = match_preprocessing(Path(path), preprocessing, config.get("pretrained_cfg"))
            check_preprocessing(Path(path), preprocessing, channels)
        info = card_record(card, CARD_WRITES)  # the training record, metrics... written back by save()
        info["pretrained"] = True  # a saved model is a trained start: retraining runs LP-FT's probe and freezing first
        return cls._ready(network, card["label_names"], preprocessing, card.get("model", Path(path).name), info, device)

    @classmethod
    def load_hub(cls, name: str, device: str = "auto", **options: Any) -> "ImageClassifier":
        reference = name if name.startswith(("hf-hub:", "local-dir:")) else ("hf-hub:" + name if "/" in name else name)
        try:
            network = timm.create_model(reference, pretrained=True)
        except Exception as error:  # offline, unknown name, or weights not cached
            raise ModelNotFoundError(f"{missing_model_message(cls.task, name)} ({type(error).__name__}: {error})") from error
        labels = network.pretrained_cfg.get("label_names")
        if not labels:
            try:
                from timm.data import ImageNetInfo, infer_imagenet_subset

                subset = infer_imagenet_subset(network)
                info = ImageNetInfo(subset) if subset else None
                labels = [info.index_to_description(i) for i in range(network.num_classes)] if info else None
            except Exception:  # label metadata is optional
                labels = None
        labels = _distinct(labels) if labels else [str(i) for i in range(network.num_classes)]
        return cls._ready(network, labels, None, name, {"description": f"timm {name} (pretrained)"}, device)

    # -- data -------------------------------------------------------------------------------------
    @classmethod
    def data_digest(cls, data: Any) -> str | None:
        """What a manifest names, for the training-data hash: the images' bytes (hash_files) with each image's label
        and split (core.jobs adds it to the manifest's own hash, so `--resume` sees a swapped image)."""
        import hashlib

        if not isinstance(data, list) or not all(isinstance(item, tuple) and isinstance(item[0], (str, Path)) for item in data):
            return None
        digest = hashlib.sha256(hash_files([item[0] for item in data]).encode())
        digest.update(json.dumps([[str(x) if x is not None else None for x in item[1:]] for item in data]).encode())
        return digest.hexdigest()

    @classmethod
    def read_data(cls, path: str | Path, **options: Any) -> list[tuple[Path, str, str | None]]:
        """Labelled images as (path, label, split): an ImageFolder tree (optional train/val split folders), a CSV of
        path,label (an optional `split` column: train / val / test per row), or a pandas / polars table with those
        columns (paths relative to the current folder); `column` / `target` name others. `split` keeps one split's
        images (val, train, test; "all" or none: every image)."""
        path_column = options.get("column") or options.get("path_column", "path")
        label_column = options.get("target") or options.get("label_column", "label")
        if is_table(path):
            items = frame_items(path, path_column, label_column)
            splits = _split_column(path, len(items))
            return _only_split([(file, label, split) for (file, label), split in zip(items, splits)], options.get("split"))
        path = require_path(path, "ImageFolder or CSV of path,label")
        if path.is_dir():
            return _only_split(list_image_folder(path), options.get("split"))
        frame = read_table(path, text_columns=[path_column, label_column])  # as read_image_manifest reads it
        require_columns(frame, [path_column, label_column], path.name)
        items = manifest_items(frame, path, path_column, label_column)
        if not items:
            raise InputError(f"{path.name} lists no images")
        splits = _split_column(frame, len(items))
        return _only_split([(file, label, split) for (file, label), split in zip(items, splits)], options.get("split"))

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> Any:
        """Images to classify: an image file, a folder of images, or a table with a path column (`column`), its rows
        named by their id column (`id`) or row (`vision._images.read_image_inputs`)."""
        return read_image_inputs(path, options.get("column"), options.get("id"))

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Decode every image and report counts per class, the copies (`duplicate_images`: images that are copies or
        near copies of an earlier one, `near_duplicate_images` of them not byte-identical: resized, re-encoded, found by
        perceptual hash) and a `warning` when the same image is in the train and the val/test split; InputError
        listing every image that does not decode (the first `UNREADABLE_SHOWN`, then how many more)."""
        items = cls.read_data(path, **options)
        problems = unreadable_images([item[0] for item in items], root=_data_root(path))
        if problems:
            listed = [f"({number}) {problem}" for number, problem in enumerate(problems[:UNREADABLE_SHOWN], 1)]
            more = [f"and {len(problems) - UNREADABLE_SHOWN} more"] if len(problems) > UNREADABLE_SHOWN else []
            raise InputError(f"{len(problems)} of the {len(items)} images cannot be read (replace or remove "
                             f"{'it' if len(problems) == 1 else 'them'}, then check again): " + " ".join(listed + more))
        keys = content_keys([item[0] for item in items])
        near_keys, byte_copies, near_copies = _copy_keys([item[0] for item in items], root=_data_root(path))
        counts: dict[str, int] = {}
        for _, label, _ in items:
            counts[label] = counts.get(label, 0) + 1
        if len(counts) < 2:  # what train refuses, check-data refuses too
            raise InputError(f"the data has only one class ({next(iter(counts))}); classification needs at least two")
        splits = sorted({split for _, _, split in items if split})
        report = {"task": cls.task, "path": str(path), "ok": True, "n": len(items), "classes": counts,
                  "splits": splits or None, "imbalance_ratio": round(max(counts.values()) / min(counts.values()), 3),
                  "duplicate_images": byte_copies + near_copies, "near_duplicate_images": near_copies}
        copies = (_copies_note(byte_copies, near_copies, len(items), len(set(near_keys))) + ": the linear probe keeps "
                  "the copies of an image in one fold" if byte_copies + near_copies else None)
        warning = joined_warnings(copies, _copies_across_splits(items, keys))
        if warning:
            report["warning"] = warning
        return report

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[str]:
        """Image paths from a table column (`path`, `image` or `file` unless `columns` names it)."""
        return frame_image_column(batch, columns)

    def _items(self, data: Any) -> list[tuple[Any, str, str | None]]:
        if isinstance(data, (str, Path)) or is_table(data):
            return self.read_data(data)
        wrong = InputError("labelled data must be a folder, a CSV path, a table with path and label columns, or a list "
                           "of (image, label) pairs")
        if data is None or isinstance(data, (dict, bytes)) or not hasattr(data, "__iter__"):
            raise wrong
        items = []
        for entry in data:  # a string would split into characters: ("p", "a") from "path"
            if not isinstance(entry, (tuple, list)) or len(entry) not in (2, 3):
                raise wrong
            items.append((entry[0], str(entry[1]), entry[2] if len(entry) > 2 else None))
        if not items:
            raise InputError("no labelled images given")
        return items

    # -- inference ----------------------------------------------------------------------------------
    @property
    def image_mode(self) -> str:
        return "L" if self.data_config["input_size"][0] == 1 else "RGB"

    def _transform(self, training: bool = False, augment: bool = True):
        config = {k: v for k, v in self.data_config.items() if k in ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")}
        if training and augment:
            return timm.data.create_transform(**config, is_training=True, scale=(0.5, 1.0), hflip=0.5, color_jitter=0.2,
                                              auto_augment=None, re_prob=0.0)
        return timm.data.create_transform(**config, is_training=False)

    def _tensors(self, images: list) -> torch.Tensor:
        """A normalised (B, C, H, W) batch, channels-last: timm's eval transform, done once per batch in uint8."""
        from vision._inference import BatchPreprocessor

        key = repr(sorted((k, str(v)) for k, v in self.data_config.items()))
        cached = getattr(self, "_preprocessor", None)
        if cached is None or cached[0] != key:
            self._preprocessor = cached = (key, BatchPreprocessor(self.data_config))
        return cached[1](images)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device_, non_blocking=True).contiguous(memory_format=torch.channels_last)
        network = self._inference_network()
        with torch.inference_mode():
            return network(batch).float().softmax(dim=-1).cpu()

    def _forward_with_features(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(probabilities (B, classes), pooled penultimate features (B, D)) from one pass through the network."""
        batch = batch.to(self.device_, non_blocking=True).contiguous(memory_format=torch.channels_last)
        network = self._inference_network()
        with torch.inference_mode():
            features = network.forward_features(batch)
            pooled = network.forward_head(features, pre_logits=True)
            logits = network.forward_head(features)
        return logits.float().softmax(dim=-1).cpu(), pooled.float().flatten(1).cpu()

    def predict_proba(self, inputs: Any, batch_size: int | None = None, features: bool = False):
        """Class probabilities, shape (N, classes), columns in `label_names` order; with `features`, also the
        pooled penultimate features (N, D) from the same forward pass."""
        self._require_fitted("network")
        batch_size = check_batch_size(batch_size, self.default_batch_size, BATCH_UNIT)
        inputs = image_list(inputs)
        if not inputs:
            raise InputError(f"no images given; pass {ACCEPTED}")
        outputs, pooled = [], []
        for chunk in iter_batches(inputs, batch_size):
            batch = self._tensors(decode_images(chunk, self.image_mode))
            if features:
                probabilities, chunk_features = self._forward_with_features(batch)
                pooled.append(chunk_features)
            else:
                probabilities = self._forward(batch)
            outputs.append(probabilities)
        probabilities = torch.cat(outputs).numpy()
        return (probabilities, torch.cat(pooled).numpy()) if features else probabilities

    def predict(self, inputs: Any, batch_size: int | None = None, top_k: int = 5) -> list[dict[str, Any]]:
        """Top-k labels with scores per image, its id first (`path`, a file object's name, else `index` from 1): one
        record for one image (a path, bytes, a binary file object, PIL image, (H, W) or (H, W, C) array), one per image
        for a list of them or an (N, H, W, C) array; no images, no records.

        >>> ImageClassifier.load().predict([np.zeros((28, 28), np.uint8)])[0]["label"]  # doctest: +SKIP
        'Bag'
        """
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k must be a whole number >= 1 (the labels listed per image), got {top_k!r}")
        self._require_fitted("network")
        batch_size = check_batch_size(batch_size, self.default_batch_size, BATCH_UNIT)
        images = identified_images(inputs)  # ids count images (an (N, H, W, C) array is N); a file object is read once
        if not images:
            return []
        if images.errors:  # a table's rows without an image (read_image_inputs): error records in their places
            return list(predict_records(self, images, batch_size, top_k=top_k))
        try:
            probabilities = self.predict_proba(list(images), batch_size)
        except InputError:
            if len(images) < 2:
                raise
            return predict_in_place(self, images, batch_size, top_k=top_k)  # an error record in the bad image's place
        k = min(top_k, len(self.label_names))
        records = []
        for row in probabilities:
            order = np.argsort(-row, kind="stable")[:k]
            top = [{"label": self.label_names[i], "score": round(float(row[i]), 6)} for i in order]
            records.append({"label": top[0]["label"], "score": top[0]["score"], "top_k": top})
        return with_ids(images, records)

    def explain(self, inputs: Any, target: str | None = None) -> dict[str, Any]:
        """Grad-CAM of one image for `target` or the top class: `heatmap` (a list of rows in [0, 1]) covers what the
        network saw, the model's input (timm's eval resize and centre crop of the image), not the whole image;
        `crop_box` [x1, y1, x2, y2] says where that input lies in the image's own pixels (it can reach past an edge
        where the crop was padded) and `image_size` [width, height] is the image's size. `heatmap_in_image(record)`
        places the map on the image: (height, width), 0 outside the crop."""
        self._require_fitted("network")
        images = image_list(inputs)
        if len(images) != 1:
            raise InputError(f"explain takes one image (Grad-CAM of it), got {len(images)}; call it once per image")
        image = decode_images(images, self.image_mode)[0]
        tensor = self._tensors([image]).to(self.device_)
        box = eval_crop_box(self._preprocessor[1].geometry, image)
        with self._lock, torch.enable_grad():
            features = self.network.forward_features(tensor)
            if features.ndim != 4:
                raise InputError(f"Grad-CAM needs a convolutional network; {self.name} yields {features.ndim}-D features")
            features.retain_grad()
            logits = self.network.forward_head(features)
            if target is None:
                index = int(logits.argmax(dim=-1))
            elif target in self.label_names:
                index = self.label_names.index(target)
            else:
                raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(self.label_names)}")
            self.network.zero_grad(set_to_none=True)
            logits[0, index].backward()
            weights = features.grad.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
            cam = F.relu((weights * features).sum(dim=1, keepdim=True)).detach()  # (1, 1, h, w)
            self.network.zero_grad(set_to_none=True)
        cam = F.interpolate(cam, size=tuple(tensor.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
        cam = cam - cam.min()
        cam = cam / cam.max() if float(cam.max()) > 0 else cam
        probability = float(logits.detach().float().softmax(-1)[0, index])
        return {"label": self.label_names[index], "score": round(probability, 6),
                "heatmap": np.round(cam.cpu().numpy(), 4).tolist(),
                "crop_box": [round(v, 2) for v in box], "image_size": [image.width, image.height]}

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, data: Any, batch_size: int | None = None, split: str | None = None) -> dict[str, Any]:
        """Accuracy, top-5 accuracy, macro-F1 (with bootstrap CIs), per-class recall, the confusion matrix, and a
        linear probe on the model's features (`linear_probe_accuracy`). Macro-F1 is sklearn's default: the mean over
        the classes in the truth or the predictions, so a class the model predicts that the data lacks counts as 0.

        Data that declares its own split (an ImageFolder's train/ and val/ folders, a manifest's `split` column) is
        scored on its val images (else its test images), as timm's validate scores the validation set; `split`
        names another ("train", "test") or "all" for every image. The card's `data_notes` say which was scored.

        Images of classes the model does not know count as errors; they are listed under
        `labels_unknown_to_model`, and when no class overlaps the card carries a `warning` on how to retrain.
        """
        from sklearn.metrics import f1_score
        from torchmetrics.functional.classification import multiclass_confusion_matrix, multiclass_recall

        batch_size = check_batch_size(batch_size, self.default_batch_size, BATCH_UNIT)
        own = {normal_form(name): name for name in self.label_names}  # a model trained on a Mac's (NFD) folder names
        items = [(image, own.get(normal_form(label), label), *rest) for image, label, *rest in self._items(data)]
        rows, split_note = evaluation_rows([item[2] for item in items], split)
        # the same image in train/ and val/: a model trained on train/ has seen what it is scored on
        leak = _copies_across_splits(items) if len(rows) < len(items) else None
        items = [items[i] for i in rows]
        # copies and near copies of one image: one group for the linear probe
        keys, byte_copies, near_copies = _copy_keys([item[0] for item in items], root=_data_root(data, items))
        data_labels = sorted({label for _, label, _ in items})
        unknown = [label for label in data_labels if label not in self.label_names]
        if len(unknown) == len(data_labels) and len(data_labels) < 2:
            raise InputError(
                f"the data holds one class ({data_labels[0]}) that the model does not know ({_short(self.label_names)}): "
                "there is nothing to score; give labelled images of at least two classes")
        space = list(self.label_names) + unknown  # unknown classes get columns the model never predicts
        probabilities, features = self.predict_proba([item[0] for item in items], batch_size, features=True)
        scores = np.zeros((len(items), len(space)), dtype=np.float32)
        scores[:, : len(self.label_names)] = probabilities
        targets = np.array([space.index(label) for _, label, _ in items])
        present = [space.index(label) for label in data_labels]
        classes = len(space)

        # in float64 (torchmetrics' float32 gave accuracy 0.800000011920929 for 0.8)
        def accuracy(y, s):
            return float(np.mean(s.argmax(1) == y))

        def top5(y, s):
            return float(np.mean((np.argsort(-s, axis=1, kind="stable")[:, :5] == y[:, None]).any(1)))

        def macro_f1(y, s):  # sklearn's default: the mean over the classes in the truth or the predictions
            return float(f1_score(y, s.argmax(1), average="macro", zero_division=0))

        metrics = {"accuracy": metric_with_ci(accuracy, targets, scores), "macro_f1": metric_with_ci(macro_f1, targets, scores)}
        if len(self.label_names) >= 5:
            metrics["top5_accuracy"] = metric_with_ci(top5, targets, scores)
        for name in ("accuracy", "top5_accuracy"):  # every image alike (all right): no spread to bootstrap; Wilson's
            if name in metrics:
                with_proportion_ci(metrics[name], len(targets))
        extra: dict[str, Any] = {}
        truth = [label for _, label, _ in items]
        probe = _linear_probe(features, truth, groups=keys)
        if probe is not None:
            metrics["linear_probe_accuracy"] = probe.pop("metric")
            extra["linear_probe"] = probe
        recall = multiclass_recall(torch.from_numpy(scores), torch.from_numpy(targets), classes, average=None)
        matrix = multiclass_confusion_matrix(torch.from_numpy(scores), torch.from_numpy(targets), classes)
        shown = sorted(set(present) | set(scores.argmax(1).tolist()))
        shown_labels, shown_matrix = [space[i] for i in shown], matrix[shown][:, shown].numpy()
        extra.update({"per_class_recall": {space[i]: round(float(recall[i]), 4) for i in present},
                      "confusion_matrix": {"labels": shown_labels, "rows_true_columns_predicted": shown_matrix.tolist()}})
        plots = {}
        if len(shown) <= CONFUSION_PLOT_MAX_LABELS:
            plots["Confusion matrix"] = confusion_plot(shown_labels, shown_matrix)
        plots["Recall per class"] = bars_plot(
            [space[i] for i in present], [float(recall[i]) for i in present], "recall",
            note="share of each class's images predicted as that class" + ("; unknown classes score 0" if unknown else ""),
            worst_first=False if len(present) > 50 else None)
        if unknown:
            extra["labels_unknown_to_model"] = unknown
        if len(unknown) == len(data_labels):
            extra["warning"] = (
                f"the model does not know any of the data's labels ({_short(data_labels)}); it predicts only its own "
                f"({_short(self.label_names)}), so accuracy and macro-F1 are 0 by construction. Retrain it on this data: "
                "verticals train vision.classification --data DIR --out OUT, then evaluate with --model OUT"
                + (f". linear_probe_accuracy ({metrics['linear_probe_accuracy']['value']:.3f}) estimates what retraining "
                   "the head could reach" if "linear_probe_accuracy" in metrics else ""))
        elif unknown:
            extra["warning"] = (f"the model does not know {len(unknown)} of the data's {len(data_labels)} labels "
                                f"({_short(unknown)}); their images count as errors. Retrain to add them: verticals train "
                                "vision.classification --data DIR --out OUT, then evaluate with --model OUT")
        # one class: no linear probe (it needs two); a class of 1-4 images: the metrics that rest on those few
        balance = (class_balance_warning(truth, "linear_probe_accuracy", "images") if len(data_labels) == 1
                   else _small_class_warning(truth, keys, "linear_probe_accuracy" in metrics))
        extra["duplicate_images"], extra["near_duplicate_images"] = byte_copies + near_copies, near_copies
        copies = (_copies_note(byte_copies, near_copies, len(items), len(set(keys))) + ": accuracy and macro-F1 "
                  "count every copy; the linear probe keeps the copies of an image in one fold and counts them once, so "
                  "it is never scored on a copy of an image it was fitted on" if byte_copies + near_copies else None)
        warning = joined_warnings(extra.get("warning"), balance, copies, leak)
        if warning:
            extra["warning"] = warning
        if split_note:
            extra["data_notes"] = [split_note]
        return metric_card(self.task, self.name, len(items), metrics, plots=plots, **extra)

    # -- training -------------------------------------------------------------------------------------
    def fit(self, data: Any, config: ClassifierConfig | None = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "ImageClassifier":
        """Retrain on labelled images with the LP-FT recipe (`RECIPE`); train/val split taken from the data when none is given."""
        from core.transfer import (FrozenNormNetwork, freeze_early_layers, near_copy_keys, plan_probe, probe_head,
                                   set_head, too_few_to_measure)

        self._require_fitted("network")
        config = config or ClassifierConfig()
        if config.head_init not in {"probe", "random"}:
            raise InputError(f"head_init must be 'probe' or 'random', got {config.head_init!r}")
        if config.monitor not in VALIDATION_METRICS:
            raise InputError(f"monitor must be one of {sorted(VALIDATION_METRICS)}, got {config.monitor!r}")
        started = time.perf_counter()
        every = self._items(data)
        # the data's test split is never trained on (evaluate scores it as held out), unless it is all the data holds
        test = [i for i, item in enumerate(every) if split_kind(item[2]) == "test"]
        if len(test) == len(every):
            test = []
        test_rows = set(test)
        items = [item for i, item in enumerate(every) if i not in test_rows]
        test_note = (f"the data's test split ({len(test)} images) was left out of training: evaluate scores it as "
                     "held out" if test else None)
        labels = sorted({label for _, label, _ in items})
        if len(labels) < 2:
            raise InputError(f"the data has only one class ({labels[0]}); classification needs at least two")
        # 'ant' and 'ant ' (a folder name may end in a space) refused; 'ant' and 'Ant' trained apart, with a warning
        spelling_warning = check_label_spellings(labels, "the class labels")
        if spelling_warning:
            warnings.warn(spelling_warning)
        # every file checked before training, a bad one named by its class folder
        images = decode_images([item[0] for item in items], self.image_mode, root=_data_root(data, items))
        # copies of one image share a key: one fold in the probe's CV; a copy in the left-out test split is a leak
        every_keys = content_keys([item[0] for item in every])
        leak = _copies_across_splits(every, every_keys)
        keys = [key for i, key in enumerate(every_keys) if i not in test_rows]
        # near copies (resized, re-encoded) join their image's group too: else the probe's folds split them
        near_keys = near_copy_keys(images, keys)
        byte_copies = len(keys) - len(set(keys))
        near_copies = len(near_keys) - len(set(near_keys)) - byte_copies
        keys = near_keys
        copies = (_copies_note(byte_copies, near_copies, len(items), len(set(keys))) + ": the linear probe keeps the "
                  "copies of an image in one fold, so probe_cv_accuracy is never scored on a copy of an image it was "
                  "fitted on" if byte_copies + near_copies else None)
        if copies:
            warnings.warn(copies)
        if leak:
            warnings.warn(leak)
        train_index, val_index = _split(items, config.validation_fraction, config.seed, groups=keys)
        pretrained = bool(self.info.get("pretrained", True))  # random-init networks skip the probe and freezing
        plan = plan_probe([item[1] for item in items], [item[2] for item in items], train_index, val_index,
                          pretrained=pretrained, head_init=config.head_init, fine_tune=config.fine_tune,
                          fine_tune_min_per_class=config.fine_tune_min_per_class)
        probe_only, smallest, train_index, val_index = plan.probe_only, plan.smallest_class, plan.train_index, plan.val_index
        held_out = val_index != train_index
        cross_validated = plan.cross_validated  # the card reports the probe's out-of-fold accuracy
        source = self.info.get("source") if isinstance(self.info.get("source"), dict) else {}
        base = {"model": self.name, **{k: source[k] for k in ("what", "package", "version", "sha256", "licence") if k in source}}
        if labels != self.label_names:
            self.network.reset_classifier(len(labels))
            self.label_names = labels
        if config.image_size:
            self.data_config = {**self.data_config, "input_size": (self.data_config["input_size"][0], config.image_size, config.image_size),
                                "crop_pct": 1.0}
        targets = [labels.index(item[1]) for item in items]
        train_targets = [targets[i] for i in train_index]
        train_set = _ImageDataset([images[i] for i in train_index], train_targets,
                                  self._transform(training=True, augment=config.augment))
        val_set = _ImageDataset([images[i] for i in val_index], [targets[i] for i in val_index], self._transform())
        weight = None
        if config.class_weight not in {"balanced", "none"}:
            raise InputError(f"class_weight must be 'balanced' or 'none', got {config.class_weight!r}")
        if config.class_weight == "balanced":
            from sklearn.utils.class_weight import compute_class_weight

            present = np.unique(train_targets)
            balanced = compute_class_weight("balanced", classes=present, y=train_targets)
            weight = torch.ones(len(labels))
            weight[present] = torch.tensor(balanced, dtype=torch.float32)

        # (1) the linear probe: a head fitted on frozen features of the training images and their mirror images
        self._to_device()
        probe_info, probe_oof = None, None
        if config.head_init == "probe" and pretrained:
            features = self._pooled([images[i] for i in train_index])
            # an image, its mirror image and its copies and near copies: one group, so one fold
            groups = _group_ids([keys[i] for i in train_index])
            head_weight, head_bias, probe_info = probe_head(features, train_targets * 2, len(labels),
                                                            balanced=config.class_weight == "balanced", seed=config.seed,
                                                            groups=groups * 2, keep_oof=True)
            probe_oof = _cv_accuracy_with_ci(probe_info.pop("oof"), train_targets * 2, groups * 2)
            set_head(self.network, head_weight, head_bias)
            self._fused = None
        probe_state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}

        def loss_fn(model, batch):
            inputs, y = batch
            logits = model(inputs.contiguous(memory_format=torch.channels_last))
            return F.cross_entropy(logits.float(), y, weight=None if weight is None else weight.to(logits.device),
                                   label_smoothing=config.label_smoothing)

        def validation_rows(model) -> dict[str, np.ndarray]:
            """Per validation image: its loss and whether it was right, (N,) each."""
            loader = torch.utils.data.DataLoader(val_set, batch_size=32)
            device = next(model.parameters()).device
            losses, rights = [np.zeros(0)], [np.zeros(0)]
            for inputs, y in loader:
                logits = model(inputs.to(device).contiguous(memory_format=torch.channels_last)).float()
                losses.append(F.cross_entropy(logits, y.to(device), reduction="none").cpu().numpy())
                rights.append((logits.argmax(-1).cpu() == y).numpy().astype(np.float64))
            return {"val_loss": np.concatenate(losses), "val_accuracy": np.concatenate(rights)}

        def eval_fn(model):
            rows = validation_rows(model)
            return {name: float(values.sum()) / max(1, len(values)) for name, values in rows.items()}

        # (2) fine-tuning of the later layers, batch-norm statistics frozen; the best weights are kept
        probe_metrics, probe_rows, tuned_rows = {}, None, None
        if not cross_validated:  # nothing held out and nothing to compare against: no validation pass
            with torch.inference_mode():
                probe_rows = validation_rows(self.network.eval())
            probe_metrics = {name: float(values.sum()) / max(1, len(values)) for name, values in probe_rows.items()}
        result, kept, frozen = None, "probe" if probe_info else "initial", []
        if (config.fine_tune and not probe_only) or not pretrained:
            frozen = freeze_early_layers(self.network, config.frozen_blocks) if pretrained else []
            trainer_config = config.trainer_config()
            wrapped = (FrozenNormNetwork(self.network) if pretrained else self.network).train()
            try:
                result = Trainer(wrapped, train_set, config=trainer_config, loss_fn=loss_fn, val_data=val_set,
                                 eval_fn=eval_fn, run_dir=run_dir, callbacks=callbacks, device=self.device).fit(resume=resume)
            finally:
                for parameter in self.network.parameters():
                    parameter.requires_grad_(True)
            if result.best_metric is not None:  # the best weights, loaded back by the Trainer: their rows, for the CI
                with torch.inference_mode():
                    tuned_rows = validation_rows(self.network.eval())
            better = result.best_metric is not None and (
                result.best_metric < probe_metrics[config.monitor] if config.monitor_mode == "min"
                else result.best_metric > probe_metrics[config.monitor])
            if better or not pretrained:
                kept = "fine-tuned" if pretrained else "trained"
            else:  # fine-tuning never beat the starting point on validation: keep the starting point
                self.network.load_state_dict(probe_state)
        self._to_device()
        out_of_fold = cross_validated and bool(probe_info) and probe_info.get("cv_accuracy") is not None
        # probe_head's folds: the fewest distinct images (copies counted once) of a class, at most 5
        folds = min(5, min(len({keys[i] for i in train_index if items[i][1] == label}) for label in labels)) \
            if out_of_fold else None
        # else, with nothing held out, it could only be scored on the images it trained on: not a measure (as medical)
        on_training = not out_of_fold and set(val_index) <= set(train_index)
        training_set, warning = None, None
        if cross_validated:
            metrics = {"probe_cv_accuracy": probe_oof} if out_of_fold and probe_oof else {}
        else:
            metrics = {"best_" + config.monitor: round(float(result.best_metric), 4) if result and result.best_metric is not None
                       else round(probe_metrics[config.monitor], 4),
                       "probe_" + config.monitor: round(probe_metrics[config.monitor], 4),
                       "steps": result.steps if result else 0, "stopped_early": bool(result and result.stopped_early)}
            # bootstrap 95% intervals over the validation images, from the rows of the weights each figure scored
            for name, rows in (("best_" + config.monitor, tuned_rows if tuned_rows is not None else probe_rows),
                               ("probe_" + config.monitor, probe_rows)):
                interval = metric_with_ci(lambda values: float(np.mean(values)), rows[config.monitor])["ci95"]
                metrics[name] = {"value": metrics[name], "ci95": interval}
                if config.monitor == "val_accuracy":  # every image alike (all right): no spread; Wilson's
                    with_proportion_ci(metrics[name], len(rows[config.monitor]))
        if on_training:
            with torch.inference_mode():
                fitted = {k: round(float(v), 4) for k, v in eval_fn(self.network.eval()).items()}
            training_set = {"n": len(val_index), "note": "how the model fits the images it trained on, not how it does "
                                                         "on new ones", "metrics": {"accuracy": fitted["val_accuracy"],
                                                                                    "loss": fitted["val_loss"]}}
            metrics = {k: v for k, v in metrics.items() if k in {"steps", "stopped_early"}}  # how it ran, not how well
            warning = too_few_to_measure([item[1] for item in items], 10)
            warnings.warn(warning)
        files = [Path(item[0]) for item in items if isinstance(item[0], (str, Path))]
        architecture = self.network.pretrained_cfg.get("architecture", self.name)
        self.name = f"{architecture} retrained ({_short(labels, 3)})"
        self.info = {
            "description": f"timm {architecture} retrained on {len(items)} images of {len(labels)} classes ({_short(labels)})",
            "base_model": base,
            # nothing held out (val 0): the probe's figure is cross-validated over the training images, in these folds
            "trained_on": {"examples": len(items), "train": len(train_index), "val": len(val_index) if held_out else 0,
                           **({"cross_validated_folds": folds} if out_of_fold else {}), "classes": labels,
                           "duplicate_images": byte_copies + near_copies, "near_duplicate_images": near_copies,
                           **({"test_left_out": len(test)} if test else {})},
            **({"data_notes": [test_note]} if test_note else {}),
            "training_data_hash": hash_files(files) if len(files) == len(items) else None,
            # training.rows: the images the weights saw, those held out apart (core.jobs keeps this count)
            "training": {"rows": len(train_index), "validation_rows": len(val_index) if held_out else 0},
            "recipe": {"summary": RECIPE if pretrained else "random init: all layers trained, early stopping on validation",
                       "head_init": config.head_init, "probe": probe_info,
                       "fine_tune": config.fine_tune and not probe_only, "smallest_class": smallest,
                       "frozen": frozen, "kept": kept,
                       "probe_val": {k: round(v, 4) for k, v in probe_metrics.items()} if held_out else None},
            "metrics": metrics,
            "metrics_note": ("no image was held out: the probe was fitted on every image, and probe_cv_accuracy is "
                             f"its cross-validated (out-of-fold, {folds} folds) accuracy") if out_of_fold else
            ("not measured: no image was held out and too few to cross-validate; training_set_metrics only says how it "
             "fits the images it trained on") if on_training else None,
            "training_set_metrics": training_set,
            **({"warning": joined_warnings(spelling_warning, warning, copies, leak)}
               if spelling_warning or warning or copies or leak else {}),
            "train_seconds": round(time.perf_counter() - started, 1),
            "config": config_to_dict(config),
        }
        return self

    def _pooled(self, images: list, chunk: int = 32) -> np.ndarray:
        """Pooled penultimate features of decoded images, then of their mirror images: (2N, D)."""
        plain, mirrored = [], []
        for part in iter_batches(images, chunk):
            batch = self._tensors(list(part))
            plain.append(self._forward_with_features(batch)[1])
            mirrored.append(self._forward_with_features(batch.flip(-1))[1])
        return torch.cat(plain + mirrored).numpy()

    # -- persistence ---------------------------------------------------------------------------------
    # save() is core.TaskModel's: card.json plus timm's hub layout (config.json + model.safetensors)
    def save(self, path: str | Path) -> Path:
        with self._lock:  # the network moves to the CPU while it is written
            return super().save(path)

    def save_card(self) -> dict[str, Any]:
        self._require_fitted("network")
        return {"task": self.task, "model": self.name, "label_names": self.label_names,
                "preprocessing": _plain(self.data_config), **self.info, "usage": USAGE}

    def write_weights(self, folder: Path) -> None:
        from timm.models import save_for_hf

        network = self.network.to("cpu").to(memory_format=torch.contiguous_format)
        network.pretrained_cfg = {**network.pretrained_cfg, **_plain(self.data_config), "label_names": self.label_names}
        try:
            save_for_hf(network, str(folder), model_config={"label_names": self.label_names},
                        safe_serialization=True, data_config=_plain(self.data_config))
        finally:
            self._to_device()

    @property
    def card(self) -> dict[str, Any]:
        """What this model is, what it was trained on and how well it measured."""
        return {"task": self.task, "model": self.name, "label_names": self.label_names,
                "input_size": list(self.data_config["input_size"]), **self.info}


# how to open a saved folder with timm alone (the card's `usage`): the same probabilities as predict_proba
USAGE = """\
# folder: the saved model folder (str or pathlib.Path); images: a list of image file paths
import timm, torch
""" + USAGE_READER + """
model = timm.create_model("local-dir:" + str(folder), pretrained=True).eval()  # pretrained=False: random weights
config = timm.data.resolve_data_config({}, model=model)
transform = timm.data.create_transform(**config)
labels = model.pretrained_cfg["label_names"]
mode = "L" if config["input_size"][0] == 1 else "RGB"
with torch.no_grad():
    batch = torch.stack([transform(read_image(path, mode)) for path in images])
    probabilities = model(batch).softmax(-1)
predictions = [{"label": labels[int(row.argmax())], "score": float(row.max()),
                "scores": dict(zip(labels, row.tolist()))} for row in probabilities]
"""


def _timm_config(path: Path) -> dict[str, Any]:
    """timm's config.json in a saved folder, or {} when it holds no mapping (timm has just read it: nothing to compare)."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def _check_timm_label_names(path: Path, labels: list[str], config: dict[str, Any] | None = None) -> None:
    """The card's label_names against those timm's config.json beside them names (save() writes both): a card whose
    labels were renamed, the count kept, would otherwise load and mislabel every prediction."""
    config = _timm_config(path) if config is None else config
    pretrained = config.get("pretrained_cfg") if isinstance(config.get("pretrained_cfg"), dict) else {}
    saved = config.get("label_names", pretrained.get("label_names"))
    if saved is not None and saved != labels:
        raise card_mismatch(path, f"its label_names {labels!r:.120} differ from those of config.json beside it "
                                  f"({saved!r:.120})")


def eval_crop_box(geometry: list, image: Any) -> tuple[float, float, float, float]:
    """Where the network's input lies in `image` (PIL), in its pixels: [x1, y1, x2, y2] of the region timm's eval
    `geometry` (its resize and centre-crop steps, `BatchPreprocessor.geometry`) turns into the input. Each step is
    run on the image itself, so the sizes are timm's own; a crop larger than its input pads (the box reaches past
    the edge) as torchvision's and timm's centre crops do."""
    offset, scale = [0.0, 0.0], [1.0, 1.0]  # image x = offset + scale * x in the current step's output (per axis)
    for step in geometry:
        before = (image.width, image.height)
        if type(step).__name__ in {"CenterCrop", "CenterCropOrPad"}:
            size = step.size if isinstance(step.size, (tuple, list)) else (step.size, step.size)
            crop = (int(size[-1]), int(size[0]))  # (width, height)
            for axis in (0, 1):
                moved = -((crop[axis] - before[axis]) // 2) if crop[axis] > before[axis] else \
                    int(round((before[axis] - crop[axis]) / 2.0))
                offset[axis] += scale[axis] * moved
        image = step(image)
        after = (image.width, image.height)
        if type(step).__name__ not in {"CenterCrop", "CenterCropOrPad"} and after != before:  # a resize
            scale = [scale[axis] * before[axis] / after[axis] for axis in (0, 1)]
    x1, y1 = offset
    return x1, y1, x1 + scale[0] * image.width, y1 + scale[1] * image.height


def heatmap_in_image(record: dict[str, Any]) -> np.ndarray:
    """An `explain` record's heat map placed on the image it explains: (height, width) float32 in [0, 1], the map
    resampled (bilinear) into its `crop_box`, 0 where the network saw nothing (outside the centre crop). Overlay this
    on the image, not the bare `heatmap`, which covers the crop alone.

    >>> record = {"heatmap": [[0.0, 1.0], [0.0, 1.0]], "crop_box": [2, 0, 6, 4], "image_size": [8, 4]}
    >>> heatmap_in_image(record)[0].round(2).tolist()
    [0.0, 0.0, 0.0, 0.25, 0.75, 1.0, 0.0, 0.0]
    """
    heat = torch.as_tensor(np.asarray(record["heatmap"], dtype=np.float32))
    width, height = (int(v) for v in record["image_size"])
    x1, y1, x2, y2 = (float(v) for v in record["crop_box"])
    # each image pixel's centre in the map's normalised coordinates (-1, 1 at the crop's outer edges)
    gx = (torch.arange(width, dtype=torch.float32) + 0.5 - x1) / (x2 - x1) * 2 - 1
    gy = (torch.arange(height, dtype=torch.float32) + 0.5 - y1) / (y2 - y1) * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), dim=-1)[None]  # (1, H, W, 2) as (x, y)
    placed = F.grid_sample(heat[None, None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0, 0]
    inside = (grid[0, ..., 0].abs() <= 1) & (grid[0, ..., 1].abs() <= 1)
    return torch.where(inside, placed, torch.zeros(())).numpy()


def load(source: str | Path | None = None, device: str = "auto") -> ImageClassifier:
    """Shortcut for `ImageClassifier.load` (embedded default when `source` is None)."""
    return ImageClassifier.load(source, device=device)


# -- helpers ------------------------------------------------------------------------------------------
def _short(labels: list[str], limit: int = 6) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def _distinct(labels: list) -> list[str]:
    """Label names made distinct: a repeated name gets its output index (ImageNet's two "crane"s: the bird and the
    machine), so every output can be named, saved and scored apart."""
    names = [str(label) for label in labels]
    return [name if names.index(name) == index else f"{name} ({index})" for index, name in enumerate(names)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _linear_probe(features: np.ndarray, labels: list[str], seed: int = 0,
                  groups: list | None = None) -> dict[str, Any] | None:
    """Out-of-fold accuracy of a logistic regression on `features` (stratified group k-fold, k = min(5, fewest
    distinct images of a class)); `groups` (one key per image, e.g. `content_keys`) keeps copies of an image in one
    fold, so no fold is scored on an image it was fitted on, and the accuracy counts each copied image once. None when a class has fewer than two distinct images or
    there is one class."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_predict, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels, dtype=object).astype(str)
    x = np.asarray(features, dtype=np.float32)
    group_ids = np.asarray(_group_ids(list(range(len(y))) if groups is None else list(groups)))

    def fewest_distinct(y, group_ids):  # distinct images of the smallest class
        return min(len(np.unique(group_ids[y == value])) for value in np.unique(y))

    if len(np.unique(y)) < 2 or fewest_distinct(y, group_ids) < 2:
        return None
    sampled = len(y) > PROBE_MAX_IMAGES
    if sampled:  # keep the probe cheap on large evaluation sets
        keep, _ = train_test_split(np.arange(len(y)), train_size=PROBE_MAX_IMAGES, stratify=y, random_state=seed)
        x, y, group_ids = x[keep], y[keep], group_ids[keep]
        if len(np.unique(y)) < 2 or fewest_distinct(y, group_ids) < 2:
            return None
    folds = int(min(5, fewest_distinct(y, group_ids)))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    # without copies, StratifiedKFold's folds as before (StratifiedGroupKFold draws others: hymenoptera's 0.9375 read 0.925)
    cv = (StratifiedGroupKFold if len(np.unique(group_ids)) < len(y) else StratifiedKFold)(folds, shuffle=True,
                                                                                           random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny folds say nothing to the user
        predicted = cross_val_predict(probe, x, y, groups=group_ids, cv=cv)
    from sklearn.metrics import accuracy_score

    # the copies of an image sit in one fold and get one prediction: scored once (per label), as distinct images
    _, first = np.unique(np.stack([group_ids.astype(str), y]), axis=1, return_index=True)
    first = np.sort(first)
    metric = metric_with_ci(lambda t, p: float(accuracy_score(t.astype(str), p.astype(str))), y[first], predicted[first])
    return {"metric": metric, "folds": folds, "images": int(len(y)), "distinct_images": int(len(np.unique(group_ids))),
            "feature_dim": int(x.shape[1]), "sampled": sampled, "note": PROBE_NOTE}


def _cv_accuracy_with_ci(oof: np.ndarray | None, targets: list[int], groups: list[int]) -> dict[str, Any] | None:
    """The probe's out-of-fold accuracy over its rows (`oof`: (rows, classes) probabilities; None when C was not
    cross-validated) with a bootstrap 95% interval that resamples whole groups (an image, its mirror image and its
    copies score together, so they are not independent rows); Wilson's interval where every group scores alike."""
    if oof is None:
        return None
    group_ids = np.asarray(_group_ids(list(groups)))
    correct = (np.asarray(oof).argmax(1) == np.asarray(targets)).astype(np.float64)
    right = np.bincount(group_ids, weights=correct)  # (groups,) right rows per group
    rows = np.bincount(group_ids).astype(np.float64)  # (groups,) rows per group
    entry = metric_with_ci(lambda r, n: float(np.sum(r) / np.sum(n)), right, rows)
    entry = with_proportion_ci(entry, len(rows))
    return {"value": round(entry["value"], 4), "ci95": entry["ci95"]}


def _group_ids(keys: list) -> list[int]:
    """One integer per row, equal for equal keys (in order of first appearance)."""
    seen: dict[Any, int] = {}
    return [seen.setdefault(key, len(seen)) for key in keys]


class _DecodedOneByOne:
    """Images decoded as they are read, one at a time: `near_copy_keys` hashes a large folder without holding it."""

    def __init__(self, inputs: list, root: Path | None = None):
        self.inputs, self.root = inputs, root

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self.inputs):
            raise IndexError(index)
        return decode_images([self.inputs[index]], root=self.root)[0]


def _copy_keys(inputs: list, images: Any = None, root: Path | None = None) -> tuple[list[str], int, int]:
    """One key per image, equal for copies of one image: byte-identical ones (`content_keys`) and near copies, the
    image resized, re-encoded, brightened, mirrored or upside down (`core.transfer.near_copy_keys`, 64-bit perceptual hash within 4 bits);
    with how many images are byte copies of an earlier one and how many are near copies of one. `images`: the decoded
    `inputs` when at hand (else each is decoded in turn)."""
    from core.transfer import near_copy_keys

    exact = content_keys(inputs)
    keys = near_copy_keys(_DecodedOneByOne(inputs, root) if images is None else images, exact)
    byte_copies = len(exact) - len(set(exact))
    return keys, byte_copies, len(keys) - len(set(keys)) - byte_copies


def _copies_note(byte_copies: int, near_copies: int, total: int, distinct: int) -> str:
    """'3 of the 20 images are copies or near copies of others (1 byte-identical, 2 resized or re-encoded ...)'."""
    return (f"{byte_copies + near_copies} of the {total} images are copies or near copies of others ({byte_copies} "
            f"byte-identical, {near_copies} near copies: resized, re-encoded, brightened, mirrored or upside down, found by perceptual hash; "
            f"{distinct} distinct)")


def _copies_across_splits(items: list, keys: list[str] | None = None) -> str | None:
    """A warning when an image of the data's train split has a byte-identical copy in its val or test split (the same
    file under another name or folder): a model trained on train/ has seen what it is scored on there. None else."""
    train = [i for i, item in enumerate(items) if split_kind(item[2]) in ("train", "both")]
    held = [i for i, item in enumerate(items) if split_kind(item[2]) in ("val", "test")]
    if not train or not held:
        return None
    hashed = sorted(set(train) | set(held))
    if keys is None:
        found = dict(zip(hashed, content_keys([items[i][0] for i in hashed])))
    else:
        found = {i: keys[i] for i in hashed}
    seen = {found[i] for i in train}
    copies = [i for i in held if found[i] in seen]
    if not copies:
        return None
    names = ", ".join(_name(items[i][0]) for i in copies[:5]) + (", ..." if len(copies) > 5 else "")
    return (f"{len(copies)} image(s) of the data's val/test split are byte-identical to images of its train split "
            f"({names}): a model trained on train/ has seen them, so its scores on val/test flatter it; remove the "
            "copies from one of the splits")


def _name(item: Any) -> str:
    if isinstance(item, (str, Path)):
        path = Path(item)
        return "/".join(path.parts[-3:])  # split/class/file
    return type(item).__name__


def _small_class_warning(truth: list[str], keys: list[str], probe: bool) -> str | None:
    """A class of fewer than `MIN_PER_CLASS_TO_RANK` distinct images (copies counted once): the metrics that then rest
    on those few images (accuracy and macro-F1, the linear probe, the class's recall), or why the probe is missing.
    None when every class has enough."""
    distinct: dict[str, set] = {}
    for label, key in zip(truth, keys):
        distinct.setdefault(label, set()).add(key)
    label, fewest = min(((label, len(found)) for label, found in distinct.items()), key=lambda item: item[1])
    if fewest >= MIN_PER_CLASS_TO_RANK:
        return None
    total = len(set(zip(keys, truth)))
    copies = " distinct" if total < len(truth) else ""
    named = "accuracy, macro-F1 and linear_probe_accuracy" if probe else "accuracy and macro-F1"
    return (f"only {fewest} of the {total}{copies} images {'is' if fewest == 1 else 'are'} of class {label}: {named} "
            f"(and {label}'s recall) rest on {fewest} example(s) of it, too few for a firm estimate (their 95% "
            "intervals, where given, are rough)"
            + ("" if probe else "; linear_probe_accuracy is not reported (it needs 2 distinct images of every class)")
            + f"; evaluate on more data (at least {MIN_PER_CLASS_TO_RANK} of each class) for a usable estimate")


def _data_root(data: Any, items: list | None = None) -> Path | None:
    """The folder a bad image is named from: an ImageFolder itself, a manifest's folder; for labelled items (what the
    CLI reads and passes to `fit`, or a user's (path, label) list) the folder holding them all, above a train/val
    folder they all sit in, so that train names a bad file (`bees/photo.jpg`) as check-data does."""
    if isinstance(data, (str, Path)):
        path = Path(data).expanduser()
        return path if path.is_dir() else path.parent
    files = [item for item in items or () if isinstance(item[0], (str, Path))]
    if not files:
        return None
    try:
        common = Path(os.path.commonpath([Path(file).absolute().parent for file, *_ in files]))
    except ValueError:  # paths on different drives
        return None
    splits = {item[2] for item in files}
    if None not in splits and common.name.lower() in splits:  # list_image_folder's root/train/<class>/...: one split
        common = common.parent
    return common


def _split_column(frame: Any, n: int) -> list[str | None]:
    """Each row's split from a manifest's `split` column (train / val / valid / validation / test, any case; other
    values and empty cells: none), or None per row when the table has no such column."""
    if type(frame).__name__ == "LazyFrame":  # polars, read lazily: only the split column is collected
        if SPLIT_COLUMN not in frame.collect_schema().names():
            return [None] * n
        frame = frame.select(SPLIT_COLUMN).collect()
    if not is_table(frame) or SPLIT_COLUMN not in [str(c) for c in frame.columns]:
        return [None] * n
    values = list(frame[SPLIT_COLUMN])
    unknown = sorted({str(v).strip() for v in values if not is_empty_cell(v) and split_kind(str(v)) in (None, "both")})
    if unknown:
        count = sum(1 for v in values if not is_empty_cell(v) and split_kind(str(v)) in (None, "both"))
        warnings.warn(f"the {SPLIT_COLUMN} column holds {count} value(s) that are no split name "
                      f"({', '.join(repr(v) for v in unknown[:5])}{', ...' if len(unknown) > 5 else ''}): those rows "
                      "count as rows of no split; name each row's split train, val (or validation, dev) or test")
    return [None if is_empty_cell(v) or split_kind(str(v)) in (None, "both") else str(v).strip().lower() for v in values]


def _only_split(items: list, split: str | None) -> list:
    """`items` of one split (`split` val, train, test; none or "all": every item); `InputError` naming the splits
    the data has when it has none of that one."""
    if split is None or not str(split).strip() or str(split).strip().lower() == ALL:
        return items
    wanted = split_kind(split)
    if wanted is None:
        raise InputError(f"split={split!r} is not a split name; use split=val, split=train, split=test or split=all "
                         "(every image)")
    kept = [item for item in items if split_kind(item[2]) == wanted]
    if not kept:
        found = sorted({str(item[2]) for item in items if item[2]})
        raise InputError(f"split={split}: the data has no {wanted} images ("
                         + (f"its splits: {', '.join(found)}" if found else "it declares no split: no train/ and val/ "
                            "folders, no split column") + "); use split=all to score every image")
    return kept


def _split(items: list, validation_fraction: float, seed: int,
           groups: list | None = None) -> tuple[list[int], list[int]]:
    """Use the data's train and val splits (`split_kind`'s names: training, validation, dev...) when it declares both;
    else a stratified split of the images outside its test split (tiny data validates on the train set), the copies
    and near copies of an image (equal `groups` keys) on one side. The test split is never trained on, unless it is
    all the data holds (`fit` leaves it out before this)."""
    kinds = [split_kind(item[2]) for item in items]
    train = [i for i, kind in enumerate(kinds) if kind == "train"]
    val = [i for i, kind in enumerate(kinds) if kind == "val"]
    if train and val:
        return train, val
    indices = [i for i, kind in enumerate(kinds) if kind != "test"] or list(range(len(items)))
    labels = [items[i][1] for i in indices]
    counts = {label: labels.count(label) for label in set(labels)}
    if len(indices) < 10 or min(counts.values()) < 2 or not 0 < validation_fraction < 1:
        return indices, indices
    from sklearn.model_selection import train_test_split

    keys = [groups[i] for i in indices] if groups is not None else None
    if keys is not None and len(set(keys)) < len(keys):  # copies: no validation image may copy a training one
        from sklearn.model_selection import StratifiedGroupKFold

        folds = StratifiedGroupKFold(max(2, int(round(1 / validation_fraction))), shuffle=True, random_state=seed)
        train_rows, val_rows = next(folds.split(indices, labels, _group_ids(keys)))
        return sorted(indices[i] for i in train_rows), sorted(indices[i] for i in val_rows)
    n_val = max(len(counts), int(round(validation_fraction * len(indices))))
    train, val = train_test_split(indices, test_size=n_val, stratify=labels, random_state=seed)
    return sorted(train), sorted(val)


# -- sample data for the retrain demo ------------------------------------------------------------------
def _read_idx(path: Path, offset: int) -> np.ndarray:
    return np.frombuffer(gzip.open(path).read(), dtype=np.uint8, offset=offset)


def _sample_data() -> tuple[str, list[str], np.ndarray, np.ndarray]:
    """(name, labels, images (N, 28, 28) uint8, label indices): Fashion-MNIST's test set from Debian, else sklearn digits."""
    names = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    if all((FASHION_MNIST_DIR / n).is_file() for n in names):
        images = _read_idx(FASHION_MNIST_DIR / names[0], 16).reshape(-1, 28, 28)
        return "Fashion-MNIST (Debian dataset-fashion-mnist)", FASHION_LABELS, images, _read_idx(FASHION_MNIST_DIR / names[1], 8)
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    images = (F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)[:, 0].numpy() * 255).astype(np.uint8)
    return "scikit-learn digits (8x8 upscaled)", [str(i) for i in range(10)], images, digits.target


def fashion_mnist_sample(folder: str | Path, per_class: int = 40, classes: int = 10) -> Path:
    """Write a small ImageFolder (28x28 PNGs, `per_class` per class) to retrain on: Fashion-MNIST when installed,
    else scikit-learn's digits. The data for the retrain demo; not what the default was trained on.

    >>> import tempfile
    >>> root = fashion_mnist_sample(Path(tempfile.mkdtemp()) / "sample", per_class=2, classes=3)
    >>> len(ImageClassifier.read_data(root))
    6
    """
    from PIL import Image

    from core.artifacts import atomic_directory

    _, labels, images, targets = _sample_data()
    with atomic_directory(folder) as tmp:
        for index, label in enumerate(labels[:classes]):
            class_dir = tmp / label.replace("/", "-")
            class_dir.mkdir()
            for rank, row in enumerate(np.flatnonzero(targets == index)[:per_class]):
                Image.fromarray(np.asarray(images[row])).save(class_dir / f"{rank:04d}.png")
    return Path(folder)
