"""Medical image classification: timm backbones on 2D studies (PNG/JPEG/DICOM), class-balanced training on the
core Trainer, AUC per class, sensitivity/specificity at a threshold, Grad-CAM (MONAI) in `explain`.

Embedded default: a small timm CNN trained on first use on a synthetic demo built from nilearn's MNI152 template
(axial slices with and without an added synthetic "lesion"). It is a demonstration, not a clinical model.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import read_card, save_model_dir
from core.config import config_from_dict, config_to_dict
from core.data.images import IMAGE_SUFFIXES, list_image_folder
from core.data.paths import require_path
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError, NotFittedError
from core.evaluate import bars_plot, confusion_plot, metric_card, metric_with_ci, score_plots
from core.protocols import TaskModel, iter_batches
from core.registry import missing_model_message, resolve_source
from core.train import TrainConfig, Trainer
from medical._shared import RESEARCH_NOTICE, data_hash, embedded_default, hub_folder, patient_from_name, split_groups
from medical.io import MedicalImage, read_medical

__all__ = ["MedicalClassifier", "ClassificationData", "lesion_demo_data", "prepare_image"]

DEFAULT_NAME = "mni152-synthetic-lesion-resnet10t-v1"
MEAN, STD = 0.5, 0.25
DICOM_SUFFIXES = {".dcm", ".dicom"}
RESAMPLES = 200


def prepare_image(source: Any, size: int) -> tuple[np.ndarray, MedicalImage]:
    """Read any 2D study (volume -> middle slice), scale by the 0.5-99.5th percentiles, pad square, resize:
    returns a (size, size) float32 array in [0, 1] and the `MedicalImage` read.

    >>> prepare_image(np.arange(12.0).reshape(3, 4), 8)[0].shape
    (8, 8)
    """
    import torch
    import torch.nn.functional as F

    image = read_medical(source)
    array = image.array
    if array.ndim == 3:
        array = array[array.shape[0] // 2]
    low, high = np.percentile(array, [0.5, 99.5])
    array = np.clip((array - low) / (float(high - low) or 1.0), 0.0, 1.0).astype(np.float32)
    height, width = array.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    square = np.zeros((side, side), dtype=np.float32)
    square[top:top + height, left:left + width] = array
    tensor = torch.from_numpy(square)[None, None]
    resized = F.interpolate(tensor, size=(size, size), mode="bilinear", antialias=side > size, align_corners=False)
    return resized[0, 0].numpy(), image


@dataclass
class ClassificationData:
    """Labelled 2D studies: `items` are paths or arrays, `labels` class names, optional patient `groups`."""

    items: list[Any]
    labels: list[str]
    groups: list[str] | None = None
    splits: list[str | None] | None = None  # "train"/"val"/"test" from the folder layout
    source_hash: str | None = None

    def __len__(self) -> int:
        return len(self.items)


class _TensorDataset:
    """Pre-processed images (N, S, S) with labels; training copies get random flips and small shifts."""

    def __init__(self, images, targets, augment: bool, seed: int):
        self.images, self.targets, self.augment, self.seed = images, targets, augment, seed

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        import torch

        x = self.images[index]
        if self.augment:
            generator = torch.Generator().manual_seed(hash((self.seed, index, int(torch.randint(0, 1 << 30, (1,))))) % (1 << 31))
            if torch.rand(1, generator=generator) < 0.5:
                x = torch.flip(x, dims=(-1,))
            shift = torch.randint(-4, 5, (2,), generator=generator).tolist()
            x = torch.roll(x, shifts=shift, dims=(-2, -1))
            x = x * (0.9 + 0.2 * torch.rand(1, generator=generator))
        return _to_network(x), self.targets[index]


def _to_network(x):
    """(S, S) in [0, 1] -> (3, S, S) normalised, what the timm backbone takes."""
    return ((x - MEAN) / STD)[None].expand(3, -1, -1).contiguous()


class MedicalClassifier(TaskModel):
    """A timm CNN for 2D medical images with calibrated-threshold metrics and Grad-CAM.

    >>> model = MedicalClassifier.from_config(MedicalClassifier.Config(image_size=32), ["normal", "abnormal"])
    >>> sorted(model.predict([np.random.rand(40, 40)])[0])
    ['label', 'positive', 'probabilities', 'score']
    """

    task: ClassVar[str] = "medical.classification"
    default_batch_size: ClassVar[int] = 32

    @dataclass(frozen=True)
    class Config:
        """Backbone and training settings (CPU-friendly defaults: ~1-3 minutes on a few hundred images)."""

        architecture: str = "resnet10t"
        pretrained: bool = False  # True only works for hub weights already cached (or online)
        image_size: int = 128
        epochs: int = 12
        batch_size: int = 16
        lr: float = 2e-3
        weight_decay: float = 1e-4
        val_fraction: float = 0.2
        class_weighting: str = "balanced"  # balanced | none
        threshold: float = 0.5  # on the positive class probability (binary) or each class (one-vs-rest)
        positive_label: str | None = None  # binary tasks: defaults to the second label in sorted order
        patience: int | None = 4
        max_steps: int | None = None
        amp: str = "auto"
        seed: int = 0

    def __init__(self, network=None, label_names: list[str] | None = None, config: "MedicalClassifier.Config | None" = None,
                 device: str = "auto", card: dict[str, Any] | None = None):
        self.network_ = network
        self.label_names_ = list(label_names) if label_names else None
        self.config = config or self.Config()
        self.device = device
        self.card_ = dict(card or {})
        self._lock = threading.Lock()  # Grad-CAM hooks are per-module state

    # -- construction ------------------------------------------------------------------------------
    @staticmethod
    def _create(config: "MedicalClassifier.Config", classes: int):
        import timm

        name = config.architecture
        try:
            return timm.create_model(name, pretrained=config.pretrained, num_classes=classes, in_chans=3)
        except RuntimeError as error:
            if "Unknown model" in str(error) or "Unknown" in str(error):
                raise InputError(f"unknown timm architecture {name!r}; see timm.list_models()") from error
            raise ModelNotFoundError(f"cannot create {name!r} with pretrained weights ({error}); " +
                                     missing_model_message("medical.classification", name)) from error
        except Exception as error:  # hub errors when offline
            raise ModelNotFoundError(missing_model_message("medical.classification", name) + f" ({type(error).__name__})") from error

    @classmethod
    def from_config(cls, config: "MedicalClassifier.Config", label_names: list[str], device: str = "auto") -> "MedicalClassifier":
        """A freshly initialised (or hub-pretrained, if cached) backbone with a head for `label_names`."""
        from core.device import seed_everything

        if len(label_names) < 2:
            raise InputError(f"classification needs at least two classes, got {label_names}")
        seed_everything(config.seed)
        network = cls._create(config, len(label_names)).eval()
        return cls(network, label_names, config, device, {"architecture": config.architecture})

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "MedicalClassifier":
        """`verticals train` starts from a fresh timm backbone (built when the labels are known), or from `base`:
        a saved model, or a timm/hub architecture name with pretrained weights (cached or online)."""
        kind, value = resolve_source(cls.task, base)
        if kind == "embedded":
            return cls(None, None, cls.Config(), device)
        if kind == "local":
            return cls.load(value, device=device)
        return cls(None, None, cls.Config(architecture=value if ":" in value or "/" not in value else f"hf-hub:{value}",
                                          pretrained=True), device)

    @classmethod
    def load(cls, source: str | Path | None = None, device: str = "auto") -> "MedicalClassifier":
        """The embedded demo default (`None`), a folder written by `save()`, or a hub folder in the same layout."""
        kind, value = resolve_source(cls.task, source)
        if kind == "embedded":
            return cls._embedded(device)
        folder = value if kind == "local" else hub_folder(cls.task, value)
        return cls._from_folder(Path(folder), device)

    @classmethod
    def _from_folder(cls, folder: Path, device: str) -> "MedicalClassifier":
        import timm

        if not (folder / "card.json").is_file():
            raise ModelNotFoundError(f"{folder} has no card.json; " + missing_model_message(cls.task, folder))
        card = read_card(folder, task=cls.task)
        try:
            network = timm.create_model(f"local-dir:{folder}", pretrained=True)
        except Exception as error:
            raise InputError(f"cannot load the timm model in {folder} ({error}); the folder is incomplete") from error
        config = config_from_dict(cls.Config, card.get("config"))
        return cls(network.eval(), card["labels"], config, device, card)

    @classmethod
    def _embedded(cls, device: str) -> "MedicalClassifier":
        return embedded_default(cls, DEFAULT_NAME, device)

    @classmethod
    def train_default(cls, device: str = "auto", config: "MedicalClassifier.Config | None" = None, run_dir=None) -> "MedicalClassifier":
        """Train the demo default: synthetic lesion vs none on MNI152 slices; held-out = unseen slice positions."""
        train, test = lesion_demo_data()
        config = config or cls.Config(image_size=96, epochs=5, batch_size=16, lr=2e-3, patience=None,
                                      positive_label="lesion")
        model = cls(None, None, config, device)
        model.fit(train, config, run_dir=run_dir)
        card = model.evaluate(test)
        model.card_.update({
            "name": DEFAULT_NAME,
            "description": ("DEMO ONLY: timm resnet10t trained from scratch on first use to tell whether a synthetic "
                            "bright blob ('lesion') was pasted into an axial slice of nilearn's MNI152 T1 "
                            "template. It has never seen a patient; use it to try the page and Grad-CAM, and retrain "
                            "on real studies. " + RESEARCH_NOTICE),
            "trained_on": "nilearn load_mni152_template (2 mm) axial slices, synthetic lesions; test = held-out slices",
            "held_out": {"n": card["n"], "split": "held-out axial slice positions",
                         "metrics": {k: round(v["value"], 4) for k, v in card["metrics"].items() if v["value"] is not None}},
        })
        model.card_["metrics"] = model.card_["held_out"]["metrics"]
        return model

    # -- data ----------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, id: str | None = None, patient_pattern: str | None = None,
                  target: str | None = None, column: str | None = None, **options: Any) -> ClassificationData:
        """ImageFolder (`root/<class>/*`, optional `train/`/`val/` level; PNG/JPEG/DICOM) or a CSV of path,label
        [,patient]. `id` names the CSV patient column; `patient_pattern` (regex) takes it from file names."""
        unknown = set(options) - {"source", "time", "value"}
        if unknown:
            raise InputError(f"unknown option(s) {sorted(unknown)} for {cls.task}; known: id, patient_pattern, target, column")
        path = require_path(path, "ImageFolder or CSV manifest")
        splits = None
        if path.is_dir():
            listed = list_image_folder(path, suffixes=IMAGE_SUFFIXES | DICOM_SUFFIXES)
            items = [p for p, _, _ in listed]
            labels = [label for _, label, _ in listed]
            splits = [split for _, _, split in listed]
            if all(s is None for s in splits):
                splits = None
            groups = [patient_from_name(p.name, patient_pattern) for p in items] if patient_pattern else None
        else:
            from core.data.images import manifest_items
            from core.data.tables import read_table, require_columns

            frame = read_table(path)
            path_column, label_column = column or "path", target or "label"
            require_columns(frame, [path_column, label_column] + ([id] if id else []), path.name)
            rows = manifest_items(frame, path, path_column, label_column)
            items, labels = [item for item, _ in rows], [label for _, label in rows]
            groups = [str(v) for v in frame[id].to_list()] if id else (
                [patient_from_name(p.name, patient_pattern) for p in items] if patient_pattern else None)
        if len(set(labels)) < 2:
            raise InputError(f"{path} holds only the class {sorted(set(labels))}; classification needs two or more")
        return ClassificationData(items, labels, groups, splits, data_hash(items))

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[Any]:
        """An image/DICOM file, or every such file in a folder (recursively)."""
        path = require_path(path, "image file or folder")
        if path.is_file():
            return [path]
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | DICOM_SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no PNG/JPEG/DICOM images")
        return files

    # -- inference -------------------------------------------------------------------------------------
    def _ready(self):
        if self.network_ is None or self.label_names_ is None:
            raise NotFittedError("this MedicalClassifier has no network yet; call fit() or load() first")
        device = pick_device(self.device)
        if next(self.network_.parameters()).device != device:
            self.network_.to(device)
        return device

    def _positive_index(self) -> int | None:
        if len(self.label_names_) != 2:
            return None
        chosen = self.config.positive_label
        if chosen is None:
            return 1
        if chosen not in self.label_names_:
            raise InputError(f"positive_label {chosen!r} is not one of the labels {self.label_names_}")
        return self.label_names_.index(chosen)

    def _tensor(self, sources: list[Any]):
        import torch

        arrays = [prepare_image(s, self.config.image_size)[0] for s in sources]
        return torch.stack([_to_network(torch.from_numpy(a)) for a in arrays])

    def predict_proba(self, inputs: list[Any], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities, shape (n, classes), in the order of `label_names`."""
        import torch

        device = self._ready()
        out = []
        with torch.inference_mode():
            for batch in iter_batches(list(inputs), batch_size or self.default_batch_size):
                logits = self.network_(self._tensor(list(batch)).to(device))
                out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names_)))

    def predict(self, inputs: Any, batch_size: int | None = None) -> list[dict[str, Any]]:
        """Label, score and per-class probabilities; `positive` applies the configured threshold."""
        if isinstance(inputs, (str, Path, np.ndarray, MedicalImage)):
            inputs = [inputs]
        probabilities = self.predict_proba(list(inputs), batch_size)
        positive = self._positive_index()
        records = []
        for row in probabilities:
            best = int(row.argmax())
            record = {"label": self.label_names_[best], "score": round(float(row[best]), 6),
                      "probabilities": {n: round(float(p), 6) for n, p in zip(self.label_names_, row)}}
            if positive is not None:
                record["positive"] = bool(row[positive] >= self.config.threshold)
            else:
                record["positive"] = [n for n, p in zip(self.label_names_, row) if p >= self.config.threshold]
            records.append(record)
        return records

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[Any]:
        """Rows of a table with an image path column (`columns` names it; default `path` or `image`)."""
        names = batch.columns
        column = columns if isinstance(columns, str) else next((c for c in ("path", "image") if c in names), None)
        if column is None or column not in names:
            raise InputError(f"pass columns='<image path column>'; the table has {names}")
        return [Path(p) for p in batch[column].to_list()]

    def _target_layer(self) -> str:
        info = getattr(self.network_, "feature_info", None)
        if info:
            last = info[-1] if isinstance(info, list) else info.get_dicts()[-1]
            return last["module"]
        convs = [name for name, m in self.network_.named_modules() if m.__class__.__name__.startswith("Conv")]
        if not convs:
            raise InputError(f"{self.config.architecture} has no convolution layer for Grad-CAM")
        return convs[-1]

    def explain(self, inputs: Any, target: str | None = None) -> dict[str, Any]:
        """Grad-CAM (MONAI) for one image: {"label", "probabilities", "image" (S, S) in [0, 1], "cam" (S, S) in [0, 1]}."""
        import torch
        from monai.visualize import GradCAM

        source = inputs[0] if isinstance(inputs, list) else inputs
        device = self._ready()
        array, _ = prepare_image(source, self.config.image_size)
        x = _to_network(torch.from_numpy(array))[None].to(device)
        record = self.predict([source])[0]
        class_index = self.label_names_.index(target) if target is not None else self.label_names_.index(record["label"])
        if target is not None and target not in self.label_names_:
            raise InputError(f"unknown target class {target!r}; choose one of {self.label_names_}")
        with self._lock:
            cam = GradCAM(nn_module=self.network_, target_layers=self._target_layer())
            with torch.enable_grad():
                heat = cam(x, class_idx=class_index)[0, 0].detach().cpu().numpy()
            self.network_.zero_grad(set_to_none=True)
            self.network_.eval()
        return {**record, "explained_label": self.label_names_[class_index], "image": array,
                "cam": np.nan_to_num(heat.astype(np.float32))}

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, data: Any) -> dict[str, Any]:
        """Accuracy, macro-F1, AUC (macro and per class), sensitivity/specificity at the threshold, with CIs
        (torchmetrics; bootstrap over images), plus plots: confusion matrix, and PR / ROC / calibration (binary)."""
        import torch
        from torchmetrics.functional.classification import (binary_auroc, binary_recall, binary_specificity,
                                                            multiclass_accuracy, multiclass_f1_score)

        if not isinstance(data, ClassificationData):
            data = self.read_data(data)
        self._ready()
        unknown = sorted(set(data.labels) - set(self.label_names_))
        if unknown:
            raise InputError(f"labels {unknown} are unknown to this model (it knows {self.label_names_}); retrain on them")
        probabilities = torch.from_numpy(self.predict_proba(data.items)).float()
        truth = torch.tensor([self.label_names_.index(label) for label in data.labels])
        classes = len(self.label_names_)
        threshold = self.config.threshold
        index = np.arange(len(truth))

        def on_rows(function):
            def statistic(rows):
                rows = torch.from_numpy(rows.astype(np.int64))
                return float(function(probabilities[rows], truth[rows]))
            return statistic

        def auc_of(k):
            def function(p, t):
                if t.eq(k).all() or t.ne(k).all():
                    raise ValueError("one class in this resample")
                return binary_auroc(p[:, k], t.eq(k).long(), validate_args=False)
            return function

        metrics: dict[str, Any] = {
            "accuracy": metric_with_ci(on_rows(lambda p, t: multiclass_accuracy(
                p.argmax(1), t, classes, average="micro", validate_args=False)), index, resamples=RESAMPLES),
            "macro_f1": metric_with_ci(on_rows(lambda p, t: multiclass_f1_score(
                p.argmax(1), t, classes, average="macro", validate_args=False)), index, resamples=RESAMPLES),
        }
        positive = self._positive_index()
        present = set(truth.tolist())
        per_class_auc = []
        for k in range(classes):
            if k in present and len(present) > 1:
                entry = metric_with_ci(on_rows(auc_of(k)), index, resamples=RESAMPLES)
                per_class_auc.append(entry["value"])
                if positive is None or k == positive:
                    metrics[f"auc_{self.label_names_[k]}"] = entry
        if positive is not None and f"auc_{self.label_names_[positive]}" in metrics:
            metrics["auc"] = dict(metrics[f"auc_{self.label_names_[positive]}"])
        elif per_class_auc:
            metrics["auc"] = {"value": float(np.mean(per_class_auc)), "ci95": None, "average": "macro one-vs-rest"}
        for k in ([positive] if positive is not None else range(classes)):
            suffix = "" if positive is not None else f"_{self.label_names_[k]}"
            if k in present:
                metrics[f"sensitivity{suffix}"] = metric_with_ci(on_rows(lambda p, t, k=k: binary_recall(
                    p[:, k], t.eq(k).long(), threshold=threshold, validate_args=False)), index, resamples=RESAMPLES)
            if present - {k}:
                metrics[f"specificity{suffix}"] = metric_with_ci(on_rows(lambda p, t, k=k: binary_specificity(
                    p[:, k], t.eq(k).long(), threshold=threshold, validate_args=False)), index, resamples=RESAMPLES)
        return metric_card(self.task, self.card_.get("name", self.config.architecture), len(truth), metrics,
                           labels=list(self.label_names_), threshold=threshold,
                           positive_label=self.label_names_[positive] if positive is not None else None,
                           plots=self._plots(probabilities.numpy(), truth.numpy(), positive, metrics))

    def _plots(self, probabilities: np.ndarray, truth: np.ndarray, positive: int | None,
               metrics: dict[str, Any]) -> dict[str, Any]:
        """Confusion matrix at the card's decision rule; binary: PR, ROC, calibration; multi-class: AUC per class."""
        from sklearn.metrics import confusion_matrix

        names, classes = list(self.label_names_), len(self.label_names_)
        if positive is not None:
            # the positive class when its probability reaches the threshold, else the other class
            predicted = np.where(probabilities[:, positive] >= self.config.threshold, positive, 1 - positive)
            rule = f"predicted {names[positive]} when P({names[positive]}) >= {self.config.threshold:g}"
        else:
            predicted, rule = probabilities.argmax(1), "predicted = most probable class"
        matrix = confusion_matrix(truth, predicted, labels=list(range(classes)))
        plots: dict[str, Any] = {"Confusion matrix": {**confusion_plot(names, matrix), "note": rule}}
        if positive is not None:
            plots.update(score_plots(truth == positive, probabilities[:, positive], positive=names[positive]))
        else:
            aucs = [metrics.get(f"auc_{name}", {}).get("value") for name in names]
            if any(a is not None for a in aucs):
                plots["AUC per class"] = bars_plot(names, aucs, "AUC (one-vs-rest)", worst_first=False,
                                                   note="lowest first; classes absent from the data have none")
        return plots

    # -- training -----------------------------------------------------------------------------------------
    def _split(self, data: ClassificationData, config) -> tuple[list[int], list[int]]:
        if data.splits is not None and any(s in {"val", "valid", "validation"} for s in data.splits):
            train = [i for i, s in enumerate(data.splits) if s in {"train", None}]
            val = [i for i, s in enumerate(data.splits) if s in {"val", "valid", "validation"}]
            return train, val
        if data.groups is not None:
            return split_groups(data.groups, config.val_fraction, config.seed)
        # no patient ids: a stratified split of images
        from sklearn.model_selection import train_test_split

        index = np.arange(len(data))
        counts = {label: data.labels.count(label) for label in set(data.labels)}
        stratify = data.labels if min(counts.values()) >= 2 and len(data) * config.val_fraction >= len(counts) else None
        if len(data) < 4:
            return index.tolist(), index.tolist()
        train, val = train_test_split(index, test_size=config.val_fraction, random_state=config.seed, stratify=stratify)
        return sorted(train.tolist()), sorted(val.tolist())

    def fit(self, data: Any, config: "MedicalClassifier.Config | None" = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "MedicalClassifier":
        """Fine-tune / train with class-weighted cross-entropy; early stopping on validation AUC; held-out metrics in the card."""
        import torch
        import torch.nn.functional as F
        from sklearn.metrics import roc_auc_score
        from sklearn.utils.class_weight import compute_class_weight

        if not isinstance(data, ClassificationData):
            data = self.read_data(data)
        config = config or self.config
        if len(data) == 0:
            raise InputError("no images to train on")
        label_names = sorted(set(data.labels))
        if len(label_names) < 2:
            raise InputError(f"the training data holds only the class {label_names}; classification needs two or more")
        if self.network_ is not None:  # fine-tuning a loaded model keeps its backbone
            config = dataclasses.replace(config, architecture=self.config.architecture)
        if self.network_ is None:
            fresh = type(self).from_config(config, label_names, self.device)
            self.network_, self.label_names_, self.card_ = fresh.network_, fresh.label_names_, fresh.card_
        elif set(label_names) - set(self.label_names_):
            extra = sorted(set(label_names) - set(self.label_names_))
            raise InputError(f"labels {extra} are unknown to this model ({self.label_names_}); train from scratch "
                             "(no --model) to change the classes")
        self.config = config
        train_index, val_index = self._split(data, config)
        if not val_index:
            val_index = train_index
        images = torch.stack([torch.from_numpy(prepare_image(item, config.image_size)[0]) for item in data.items])
        targets = torch.tensor([self.label_names_.index(label) for label in data.labels])
        train_set = _TensorDataset(images[train_index], targets[train_index], True, config.seed)
        val_images, val_targets = images[val_index], targets[val_index]
        weights = None
        if config.class_weighting == "balanced":
            present = np.unique(targets[train_index].numpy())
            values = compute_class_weight("balanced", classes=present, y=targets[train_index].numpy())
            weights = torch.ones(len(self.label_names_))
            weights[torch.from_numpy(present)] = torch.tensor(values, dtype=torch.float32)
        elif config.class_weighting != "none":
            raise InputError(f"class_weighting must be 'balanced' or 'none', got {config.class_weighting!r}")

        def loss_fn(model, batch):
            x, y = batch
            return F.cross_entropy(model(x), y, weight=weights.to(x.device) if weights is not None else None)

        def eval_fn(model):
            device = next(model.parameters()).device
            probabilities = []
            for start in range(0, len(val_targets), 64):
                x = torch.stack([_to_network(v) for v in val_images[start:start + 64]]).to(device)
                probabilities.append(torch.softmax(model(x).float(), 1).cpu())
            probabilities = torch.cat(probabilities).numpy()
            truth = val_targets.numpy()
            loss = float(F.cross_entropy(torch.log(torch.from_numpy(probabilities).clamp_min(1e-8)), val_targets))
            if len(set(truth.tolist())) < 2:
                return {"val_auc": -loss, "val_loss": loss}
            if probabilities.shape[1] == 2:
                auc = roc_auc_score(truth, probabilities[:, 1])
            else:
                auc = roc_auc_score(truth, probabilities, multi_class="ovr", labels=list(range(probabilities.shape[1])))
            return {"val_auc": float(auc), "val_loss": loss}

        train_config = TrainConfig(epochs=config.epochs, max_steps=config.max_steps, batch_size=config.batch_size,
                                   lr=config.lr, weight_decay=config.weight_decay, patience=config.patience,
                                   monitor="val_auc", monitor_mode="max", amp=config.amp, seed=config.seed,
                                   log_every_steps=5)
        self.network_.train()
        Trainer(self.network_, train_set, config=train_config, loss_fn=loss_fn, eval_fn=eval_fn, run_dir=run_dir,
                callbacks=callbacks, device=self.device).fit(resume=resume)
        self.network_.eval()
        held_data = ClassificationData([data.items[i] for i in val_index], [data.labels[i] for i in val_index])
        card = self.evaluate(held_data)
        self.card_.update({
            "config": config_to_dict(config), "labels": list(self.label_names_),
            "training_data_hash": data.source_hash, "data_hash": data.source_hash, "training_items": len(train_index),
            "held_out": {"n": card["n"], "split": ("patient-level split" if data.groups is not None else "stratified image split")
                         if val_index is not train_index else "training data (too few images to hold any out)",
                         "metrics": {k: round(v["value"], 4) for k, v in card["metrics"].items() if v["value"] is not None}},
            "description": f"timm {config.architecture} trained with Verticals on {len(data)} images; {RESEARCH_NOTICE}",
        })
        self.card_["metrics"] = self.card_["held_out"]["metrics"]
        self.card_.pop("name", None)
        return self

    # -- persistence -----------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What the model is, its labels, preprocessing and held-out quality."""
        return {"task": self.task, **self.card_, "labels": self.label_names_, "notice": RESEARCH_NOTICE,
                "preprocessing": {"intensity": "0.5-99.5th percentile scaling to [0, 1], grey replicated to 3 channels",
                                  "geometry": "zero-pad to square, bilinear resize", "image_size": self.config.image_size,
                                  "mean": [MEAN] * 3, "std": [STD] * 3, "volumes": "middle slice"}}

    def save(self, path: str | Path) -> Path:
        """timm hub layout (`config.json` + `model.safetensors`, loadable with `timm.create_model("local-dir:...")`) + card.json."""
        from timm.models import save_for_hf

        if self.network_ is None:
            raise NotFittedError("nothing to save: fit() or load() a model first")
        card = {**self.card, "config": config_to_dict(self.config)}
        size = self.config.image_size
        data_config = {"input_size": [3, size, size], "mean": [MEAN] * 3, "std": [STD] * 3, "interpolation": "bilinear",
                       "crop_pct": 1.0}

        def write(folder: Path) -> None:
            save_for_hf(self.network_, str(folder), model_config={"label_names": list(self.label_names_),
                                                                 "num_classes": len(self.label_names_)},
                        safe_serialization=True, data_config=data_config)
            json.loads((folder / "config.json").read_text())  # fail early on a broken config

        return save_model_dir(path, card, write, libraries=("timm", "monai", "pydicom"))


def lesion_demo_data(seed: int = 0) -> tuple[ClassificationData, ClassificationData]:
    """Synthetic demo: MNI152 axial slices with / without a pasted blob; test slices are positions unseen in training."""
    from nilearn import datasets
    from scipy.ndimage import gaussian_filter

    volume = read_medical(datasets.load_mni152_template(resolution=2)).array
    brain = read_medical(datasets.load_mni152_brain_mask(resolution=2)).array > 0
    rng = np.random.default_rng(seed)
    sets: dict[str, tuple[list, list]] = {"train": ([], []), "test": ([], [])}
    for z in range(volume.shape[0]):
        inside = np.argwhere(brain[z])
        if len(inside) < 1500:
            continue
        split = "test" if z % 5 == 0 else "train"
        for copy in range(6 if split == "train" else 4):
            image = volume[z] * rng.uniform(0.8, 1.2) + rng.normal(0, 0.02, volume[z].shape)
            label = "lesion" if copy % 2 else "no_lesion"
            if label == "lesion":
                centre = inside[rng.integers(len(inside))]
                yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
                radius_y, radius_x = rng.uniform(5.0, 10.0, 2)
                blob = (((yy - centre[0]) / radius_y) ** 2 + ((xx - centre[1]) / radius_x) ** 2 <= 1).astype(np.float32)
                blob = gaussian_filter(blob, 1.0) * brain[z]
                image = image + blob * rng.uniform(0.6, 0.9) * float(volume[z].max())
            rows, columns = np.nonzero(brain[z])
            image = image[rows.min():rows.max() + 1, columns.min():columns.max() + 1]  # the brain fills the frame
            if rng.random() < 0.5:
                image = image[:, ::-1]
            sets[split][0].append(np.ascontiguousarray(image, dtype=np.float32))
            sets[split][1].append(label)
    return (ClassificationData(*sets["train"], source_hash="nilearn-mni152-2mm-synthetic-lesions"),
            ClassificationData(*sets["test"], source_hash="nilearn-mni152-2mm-synthetic-lesions"))
