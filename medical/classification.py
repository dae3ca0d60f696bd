"""Medical image classification: timm backbones on 2D studies (PNG/JPEG/DICOM), class-balanced training on the
core Trainer, AUC per class, sensitivity/specificity of a named positive class at a threshold, Grad-CAM (MONAI).

Retraining starts from the ImageNet EfficientNet-Lite0 that ships offline (core.backbones): a logistic-regression
head on frozen features (linear probe), then the later layers fine-tuned with frozen batch-norm statistics.

Embedded default: a small timm CNN trained on first use on a synthetic demo built from nilearn's MNI152 template
(axial slices with and without an added synthetic "lesion"). It is a demonstration, not a clinical model.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import read_card
from core.config import config_from_dict, config_to_dict
from core.data.images import IMAGE_SUFFIXES, list_image_folder
from core.data.labels import check_label_spellings, normal_form
from core.data.paths import is_hidden, require_path
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError, NotFittedError
from core.evaluate import (MIN_PER_CLASS_TO_RANK, bars_plot, class_balance_warning, confusion_plot, joined_warnings,
                           metric_card, metric_with_ci, score_plots, with_proportion_ci)
from core.protocols import TaskModel, check_batch_size, iter_batches
from core.registry import missing_model_message, resolve_source
from core.train import TrainConfig, Trainer
from medical._shared import (RESEARCH_NOTICE, check_saved_labels, data_hash, describe_split, frame_paths, items_hash,
                             notes_warning, patient_from_name, predict_inputs, reading_notes, records_with_errors,
                             split_groups, table_or_pairs)
from medical.io import MedicalImage, is_dicom_file, read_medical

__all__ = ["load", "MedicalClassifier", "ClassificationData", "lesion_demo_data", "prepare_image"]

DEFAULT_NAME = "mni152-synthetic-lesion-resnet10t-v1"
MEAN, STD = 0.5, 0.25  # intensity normalisation of models saved before the config carried it
PRETRAINED_ARCHITECTURE = "tf_efficientnet_lite0"  # its ImageNet weights ship offline (core.backbones)
# With two classes and no positive_label: a label that reads as "nothing found" is the negative class; else one that
# reads as a finding is the positive class; else the second label in sorted order (the card says which rule chose).
# Spanish / Portuguese, Italian, French and German words too (sano / enfermo, gesund / krank, sain / malade ...).
NEGATIVE_WORDS = {"normal", "healthy", "negative", "neg", "no", "none", "benign", "control", "controls", "absent",
                  "false", "0", "no_finding", "nofinding", "no_tumor", "no_tumour", "no_lesion", "clear", "clean",
                  "sano", "sana", "sanos", "sanas", "saludable", "negativo", "negativa", "benigno", "benigna",
                  "saudavel", "saudável", "normale", "normali", "sani", "sain", "saine", "sains", "négatif", "negatif",
                  "bénin", "benin", "gesund", "negativ", "gutartig", "unauffällig", "unauffaellig"}
POSITIVE_WORDS = {"abnormal", "positive", "pos", "yes", "1", "true", "present", "disease", "diseased", "malignant",
                  "tumor", "tumour", "lesion", "cancer", "finding", "pneumonia", "anomaly", "pathology",
                  "enfermo", "enferma", "enfermos", "enfermas", "enfermedad", "positivo", "positiva", "maligno",
                  "maligna", "anormal", "doente", "malato", "malata", "malati", "anomalo", "patologico", "malade",
                  "malades", "maladie", "positif", "maligne", "tumeur", "anormale", "krank", "erkrankt",
                  "positiv", "bösartig", "boesartig", "auffällig", "auffaellig", "tumore", "lesión", "lesione"}
FALLBACK_RULE = "no label reads as negative or positive: the second in sorted order; set positive_label to choose"
RECIPE = ("LP-FT from ImageNet: (1) linear probe: a logistic regression (C by cross-validated log-loss, balanced "
          "class weights) on the frozen network's raw pooled features of the training images and their mirror "
          "images, folded into the new head; with fewer than `fine_tune_min_per_class` (100) images in some class the "
          "probe alone is the model, fitted on every image, and the card's metrics are its cross-validated "
          "(out-of-fold) predictions; (2) otherwise fine-tuning of the whole network (or all but the stem and the first "
          "`frozen_blocks` stages) with batch-norm statistics frozen, AdamW 3e-4, 15% warmup + cosine, label "
          "smoothing, flips / rotations / scaling / shifts / contrast jitter; the weights of the epoch with the lowest "
          "validation loss are kept, and the probe-only network instead when fine-tuning never beats it on validation")
DICOM_SUFFIXES = {".dcm", ".dicom"}
RESAMPLES = 200


def middle_slice(image: MedicalImage) -> MedicalImage:
    """A 2D image as it is; a volume (Z, H, W) as its middle slice, which is all the 2D classifier looks at, with a
    note saying so in `metadata["warnings"]` (a predict record's `warnings`, a card's warning).

    >>> middle_slice(read_medical(np.zeros((10, 4, 5)))).metadata["warnings"][0][:66]
    'array: a volume of 10 slices; the 2D classifier looked at slice 5 '
    """
    if not image.is_volume:
        return image
    count, index = image.array.shape[0], image.array.shape[0] // 2
    name = Path(image.source).name if image.source else "volume"
    along = "axial, from inferior" if image.orientation == "RAS" else "along the slice normal" \
        if image.orientation == "LPS" else "first axis"
    note = (f"{name}: a volume of {count} slices; the 2D classifier looked at slice {index} (counting from 0, {along}) "
            "only: classify other slices by passing them as 2D images")
    metadata = {**image.metadata, "warnings": [*image.metadata.get("warnings", []), note]}
    return dataclasses.replace(image, array=image.array[index], spacing=tuple(image.spacing[1:]), affine=None,
                               source_grid=None, metadata=metadata)


def prepare_image(source: Any, size: int) -> tuple[np.ndarray, MedicalImage]:
    """Read any 2D study (volume -> middle slice, said in its warnings), scale by the 0.5-99.5th percentiles, pad
    square, resize: returns a (size, size) float32 array in [0, 1] and the `MedicalImage` read (2D).

    >>> prepare_image(np.arange(12.0).reshape(3, 4), 8)[0].shape
    (8, 8)
    """
    import torch
    import torch.nn.functional as F

    image = middle_slice(read_medical(source))
    array = image.array
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


# how to open a saved folder with timm alone (the card's `usage`): predict's probabilities for 2-D images; timm's own
# transform (resolve_data_config) would not scale by percentiles nor pad to square
USAGE = """\
# folder: the saved model folder (str or pathlib.Path); images: a list of 2-D image files (PNG, JPEG, TIFF; 8- or
# 16-bit); the product also reads DICOM / NIfTI (a volume's middle slice), not done here
import json, pathlib, numpy as np, timm, torch
import torch.nn.functional as F
from PIL import Image, ImageOps
folder = pathlib.Path(folder)
card = json.loads((folder / "card.json").read_text())
network = timm.create_model("local-dir:" + str(folder), pretrained=True).eval()  # pretrained=False: random weights
size, mean, std = card["preprocessing"]["image_size"], card["preprocessing"]["mean"][0], card["preprocessing"]["std"][0]
def read(path):  # as predict reads a picture: EXIF rotation applied, 16-bit and float pixels keep their values
    image = ImageOps.exif_transpose(Image.open(path))  # (.convert("L") would clip 16-bit X-ray / microscopy at 255)
    grey = np.asarray(image if image.mode in ("I;16", "I;16B", "I;16L", "I", "F") else image.convert("L"), np.float32)
    return np.where(np.isfinite(grey), grey, 0).astype(np.float32)  # colour: ITU-R 601-2 luma; NaN / inf read as 0
def prepare(path):  # 0.5-99.5th percentile scaling to [0, 1], zero-pad to square, bilinear resize, grey to 3 channels
    grey = read(path)
    low, high = np.percentile(grey, [0.5, 99.5])
    grey = np.clip((grey - low) / (float(high - low) or 1.0), 0, 1)
    height, width = grey.shape
    side = max(height, width)
    square = np.zeros((side, side), np.float32)
    square[(side - height) // 2:(side - height) // 2 + height, (side - width) // 2:(side - width) // 2 + width] = grey
    x = F.interpolate(torch.from_numpy(square)[None, None], size=(size, size), mode="bilinear",
                      antialias=side > size, align_corners=False)[0]
    return ((x - mean) / std).expand(3, -1, -1)
with torch.no_grad():
    probabilities = network(torch.stack([prepare(path) for path in images])).softmax(-1)
# the label, as predict gives it: with two classes the card's positive_label when its probability reaches the card's
# config.threshold, else the other class; with more classes the most probable one
positive, threshold = card["positive_label"], card["config"]["threshold"]
def decide(scores):
    if positive is None:
        return max(scores, key=scores.get)
    return positive if scores[positive] >= threshold else next(name for name in scores if name != positive)
predictions = [{"label": decide(scores), "probabilities": scores}
               for scores in (dict(zip(card["labels"], row.tolist())) for row in probabilities)]
"""


def _readable_study(path: Path) -> bool:
    """Whether a file in an input folder is a study `prepare_image` reads: an image or NIfTI by suffix, else DICOM by
    `medical.io.is_dicom_file`'s rule (as series folders are read: the marker, or preamble-less DICOM pydicom reads)."""
    if path.suffix.lower() in IMAGE_SUFFIXES or path.name.lower().endswith((".nii", ".nii.gz")):
        return True
    return is_dicom_file(path)


@dataclass
class ClassificationData:
    """Labelled 2D studies: `items` are paths or arrays, `labels` class names, optional patient `groups`."""

    items: list[Any]
    labels: list[str]
    groups: list[str] | None = None
    splits: list[str | None] | None = None  # "train"/"val"/"test" from the folder layout
    source_hash: str | None = None
    positive_label: str | None = None  # `--option positive_label=` given with the data

    def __len__(self) -> int:
        return len(self.items)


class _TensorDataset:
    """Pre-processed images (N, S, S) with labels. Training copies (`augment`): "affine" = a random flip, rotation
    (+-15 degrees), scale (0.85-1.15), shift (8%) and brightness/contrast change (20%); "shift" = a flip, a shift of
    up to 1/32 of the side and an intensity scale (what the demo default was built with)."""

    def __init__(self, images, targets, augment: str | None, seed: int, mean: float = MEAN, std: float = STD):
        self.images, self.targets, self.augment, self.seed = images, targets, augment, seed
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        import torch

        x = self.images[index]
        if self.augment:
            import torchvision.transforms.v2.functional as TF

            generator = torch.Generator().manual_seed(hash((self.seed, index, int(torch.randint(0, 1 << 30, (1,))))) % (1 << 31))
            if self.augment == "shift":
                if torch.rand(1, generator=generator) < 0.5:
                    x = torch.flip(x, dims=(-1,))
                reach = max(4, x.shape[-1] // 32)
                shift = torch.randint(-reach, reach + 1, (2,), generator=generator).tolist()
                x = torch.roll(x, shifts=shift, dims=(-2, -1)) * (0.9 + 0.2 * torch.rand(1, generator=generator))
            else:
                u = torch.rand(7, generator=generator).tolist()
                if u[0] < 0.5:
                    x = torch.flip(x, dims=(-1,))
                side = x.shape[-1]
                x = TF.affine(x[None], angle=30 * u[1] - 15, translate=[round((0.16 * u[2] - 0.08) * side),
                                                                          round((0.16 * u[3] - 0.08) * side)],
                              scale=0.85 + 0.3 * u[4], shear=[0.0, 0.0],
                              interpolation=TF.InterpolationMode.BILINEAR)[0]
                contrast, brightness = 0.8 + 0.4 * u[5], 0.8 + 0.4 * u[6]
                x = ((x - x.mean()) * contrast + x.mean() * brightness).clamp(0.0, 1.0)
        return _to_network(x, self.mean, self.std), self.targets[index]


def _to_network(x, mean: float = MEAN, std: float = STD):
    """(S, S) in [0, 1] -> (3, S, S) normalised, what the timm backbone takes."""
    return ((x - mean) / std)[None].expand(3, -1, -1).contiguous()


def _label_key(label: str) -> str:
    """'0_Normal' -> 'normal', 'No Finding' -> 'no_finding': how a label reads, for the positive-class rule."""
    key = re.sub(r"[\s\-]+", "_", normal_form(str(label)).strip().lower())  # 'bénin' from a Mac folder (NFD) too
    return re.sub(r"^\d+_(?=\D)", "", key)


def choose_positive(labels: list[str], given: str | None = None) -> tuple[int | None, str]:
    """(index of the positive class, the rule that chose it) for two sorted labels; (None, why) otherwise.

    >>> choose_positive(["abnormal", "normal"])
    (0, "'normal' reads as the negative class")
    >>> choose_positive(["no", "yes"], given="yes")
    (1, 'positive_label=yes (given)')
    >>> choose_positive(["ants", "bees"])[1]
    'no label reads as negative or positive: the second in sorted order; set positive_label to choose'
    """
    if len(labels) != 2:
        if given is not None:
            raise InputError(f"positive_label applies to two-class data; these data have {len(labels)} classes "
                             "(every class is scored one-vs-rest)")
        return None, "more than two classes: every class is scored one-vs-rest"
    if given is not None:
        forms = [normal_form(label) for label in labels]  # a label from a Mac folder name (NFD) is the one typed (NFC)
        if normal_form(str(given)) not in forms:
            raise InputError(f"positive_label {given!r} is not one of the labels {labels}; pass one of them")
        return forms.index(normal_form(str(given))), f"positive_label={given} (given)"
    keys = [_label_key(label) for label in labels]
    negative = [k in NEGATIVE_WORDS for k in keys]
    if sum(negative) == 1:
        return negative.index(False), f"{labels[negative.index(True)]!r} reads as the negative class"
    positive = [k in POSITIVE_WORDS for k in keys]
    if sum(positive) == 1:
        return positive.index(True), f"{labels[positive.index(True)]!r} reads as a finding (the positive class)"
    return 1, FALLBACK_RULE


def positive_guess_warning(labels: list[str], positive: int | None, rule: str) -> str | None:
    """The warning when `choose_positive` fell back to the second label in sorted order: AUC, sensitivity and
    specificity may then describe detecting the healthy class (a tester's folders `sano` / `enfermo` before those
    words were known). None when a label read as negative or positive, or positive_label was given.

    >>> positive_guess_warning(["ants", "bees"], 1, FALLBACK_RULE)[:66]
    "the positive class was guessed: neither 'ants' nor 'bees' reads as"
    >>> positive_guess_warning(["abnormal", "normal"], *choose_positive(["abnormal", "normal"])) is None
    True
    """
    if rule != FALLBACK_RULE or positive is None or len(labels) != 2:
        return None
    chosen, other = labels[positive], labels[1 - positive]
    return (f"the positive class was guessed: neither {other!r} nor {chosen!r} reads as the negative class (normal, "
            f"healthy, negative ...) or as a finding, so {chosen!r}, the second in sorted order, was taken as positive: "
            f"AUC, sensitivity, specificity and predict's `positive` are those of detecting {chosen!r}; if {other!r} is "
            f"the finding, pass --option positive_label={other} (Python: positive_label={other!r}), else "
            f"--option positive_label={chosen} to say so")


class MedicalClassifier(TaskModel):
    """A timm CNN for 2D medical images with calibrated-threshold metrics and Grad-CAM.

    >>> model = MedicalClassifier.from_config(MedicalClassifier.Config(image_size=32), ["normal", "abnormal"])
    >>> sorted(model.predict([np.random.rand(40, 40)])[0])
    ['index', 'label', 'positive', 'probabilities', 'score', 'warnings']
    """

    task: ClassVar[str] = "medical.classification"
    data_flags: ClassVar[tuple[str, ...]] = ("id", "target", "column")  # patient id, label and path columns
    input_flags: ClassVar[tuple[str, ...]] = ()  # files and folders, named by path
    libraries: ClassVar[tuple[str, ...]] = ("timm", "monai", "pydicom")
    default_batch_size: ClassVar[int] = 32

    @dataclass(frozen=True)
    class Config(TrainConfig):
        """Backbone and training settings; the defaults retrain the ImageNet EfficientNet-Lite0 (~40 images/class)."""

        # fine-tuning (with 100+ images per class): chosen and measured on the brain-MRI halves
        # (bench/image_retrain.py): the whole network at 3e-4 for 15 epochs scored AUC 0.927 / 0.932 on the other half;
        # the earlier recipe (3 stages frozen, 1e-4, patience 2) 0.82 / 0.84. With fewer images the probe alone
        # (chosen on NIH chest X-rays, 4 folds of 100 images: fine-tuning was kept in 2 folds and lost in both, mean
        # AUC 0.723 vs 0.756) scores 0.931 / 0.946, and 0.947 mean AUC over 4 folds of 95 training images
        defaults = {
            "epochs": 15,
            "batch_size": 16,
            "lr": 0.0003,
            "weight_decay": 0.01,
            "warmup_ratio": 0.15,
            "validation_fraction": 0.2,
            "patience": None,
            "log_every_steps": 5,
        }

        architecture: str = PRETRAINED_ARCHITECTURE
        pretrained: bool = True  # tf_efficientnet_lite0: the packaged ImageNet weights; others: hub weights if cached
        image_size: int = 224
        class_weight: str = "balanced"  # balanced | none
        threshold: float = 0.5  # on the positive class probability (binary) or each class (one-vs-rest)
        positive_label: str | None = None  # two classes: the positive class; None: the rule in `choose_positive`
        head_init: str = "probe"  # probe: logistic regression on frozen features (pretrained starts) | random
        probe_standardise: bool = False  # z-score the features before the probe (False: raw pooled features)
        fine_tune: bool = True  # False stops after the probe (the head alone)
        fine_tune_min_per_class: int = 100  # fewer training images in some class: the probe alone, fitted on every image
        frozen_blocks: int = 0  # EfficientNet stages (after the stem) kept frozen while fine-tuning a pretrained start
        label_smoothing: float = 0.1
        augmentation: str = "affine"  # affine | shift | none (see _TensorDataset)
        intensity_mean: float = 0.5  # after 0.5-99.5th percentile scaling to [0, 1]; 0.5 / 0.5 is what Lite0 expects
        intensity_std: float = 0.5

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
        """(network, whether it starts from pretrained weights)."""
        import timm

        name = config.architecture
        if config.pretrained and name in {PRETRAINED_ARCHITECTURE, f"{PRETRAINED_ARCHITECTURE}.in1k"}:
            from core.backbones import efficientnet_lite0

            return efficientnet_lite0(num_classes=classes, pretrained=True), True
        if name.split(":")[-1].split(".")[0] not in timm.list_models() and not name.startswith("hf-hub:"):
            raise InputError(f"unknown timm architecture {name!r}; see timm.list_models()")
        if config.pretrained:
            try:
                return timm.create_model(name, pretrained=True, num_classes=classes, in_chans=3), True
            except Exception as error:  # offline, or no weights for this name
                if name.startswith("hf-hub:"):
                    raise ModelNotFoundError(missing_model_message("medical.classification", name) +
                                             f" ({type(error).__name__})") from error
                warnings.warn(f"pretrained weights for {name} are not available offline; training it from random init "
                              f"(tf_efficientnet_lite0 has ImageNet weights that ship offline)")
        return timm.create_model(name.split(":")[-1], pretrained=False, num_classes=classes, in_chans=3), False

    @classmethod
    def from_config(cls, config: "MedicalClassifier.Config", label_names: list[str], device: str = "auto") -> "MedicalClassifier":
        """A freshly initialised (or hub-pretrained, if cached) backbone with a head for `label_names`."""
        from core.device import seed_everything

        if len(label_names) < 2:
            raise InputError(f"classification needs at least two classes, got {label_names}")
        seed_everything(config.seed)
        network, pretrained = cls._create(config, len(label_names))
        return cls(network.eval(), label_names, config, device, {"architecture": config.architecture,
                                                                 "pretrained_start": pretrained})

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "MedicalClassifier":
        """`verticals train` starts from the ImageNet EfficientNet-Lite0 that ships offline (the head is built when the
        labels are known), or from `base`: a saved model, or a timm/hub name with weights (cached or online)."""
        kind, value = resolve_source(cls.task, base)
        if kind == "embedded":
            return cls(None, None, cls.Config(), device)
        if kind == "local":
            return cls.load(value, device=device)
        return cls(None, None, cls.Config(architecture=value if ":" in value or "/" not in value else f"hf-hub:{value}",
                                          pretrained=True), device)

    # load() is core.TaskModel's: the embedded default (built by train_default on first use), a folder written by
    # save(), or a hub snapshot in the same layout
    default_name: ClassVar[str] = DEFAULT_NAME

    @classmethod
    def build_default(cls, folder: Path, device: str = "auto", **options: Any) -> None:
        cls.train_default(device=device).save(folder)

    @classmethod
    def load_folder(cls, folder: Path, device: str = "auto", **options: Any) -> "MedicalClassifier":
        import timm

        if not (folder / "card.json").is_file():
            raise ModelNotFoundError(f"{folder} has no card.json; " + missing_model_message(cls.task, folder))
        card = read_card(folder, task=cls.task)
        try:
            network = timm.create_model(f"local-dir:{folder}", pretrained=True)
        except Exception as error:
            raise InputError(f"cannot load the timm model in {folder} ({error}); the folder is incomplete") from error
        check_saved_labels(folder, card.get("labels"), _outputs(network), *_config_label_names(folder))
        saved = dict(card.get("config") or {})
        if "intensity_mean" not in saved:  # saved before the config carried it: the card's preprocessing says it
            preprocessing = card.get("preprocessing") or {}
            saved["intensity_mean"] = (preprocessing.get("mean") or [MEAN])[0]
            saved["intensity_std"] = (preprocessing.get("std") or [STD])[0]
        config = config_from_dict(cls.Config, saved)
        model = cls(network.eval(), card["labels"], config, device, card)
        _check_card_runs(folder, card, model, _config_json(folder).get("architecture"))
        return model

    @classmethod
    def train_default(cls, device: str = "auto", config: "MedicalClassifier.Config | None" = None, run_dir=None) -> "MedicalClassifier":
        """Train the demo default: synthetic lesion vs none on MNI152 slices; held-out = unseen slice positions."""
        train, test = lesion_demo_data()
        config = config or cls.Config(architecture="resnet10t", pretrained=False, image_size=96, epochs=5, batch_size=16,
                                      lr=2e-3, weight_decay=1e-4, patience=None, positive_label="lesion",
                                      head_init="random", frozen_blocks=0, intensity_mean=MEAN, intensity_std=STD,
                                      warmup_ratio=0.05, label_smoothing=0.0, augmentation="shift")
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
                         "metrics": _with_intervals(card["metrics"])},
        })
        model.card_["metrics"] = model.card_["held_out"]["metrics"]
        return model

    # -- data ----------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: Any, id: str | None = None, patient_pattern: str | None = None,
                  target: str | None = None, column: str | None = None, positive_label: str | None = None,
                  **options: Any) -> ClassificationData:
        """ImageFolder (`root/<class>/*`, optional `train/`/`val/` level; PNG/JPEG/DICOM), a CSV of path,label
        [,patient], a pandas / polars table with those columns (relative paths against the current folder), or a list
        of (image, label) pairs (image: a path, array, PIL image or the file's bytes, as predict takes; label: a class
        name). `id` names the patient column; `patient_pattern` (regex) takes it from file names; `positive_label`
        names the positive class of two-class data (else the rule of `choose_positive`)."""
        unknown = set(options) - {"source", "time", "value"}
        if unknown:
            raise InputError(f"unknown option(s) {sorted(unknown)} for {cls.task}; known: id, patient_pattern, target, "
                             "column, positive_label")
        if not isinstance(path, (str, Path)):  # in memory: a table or a list of pairs (`model.fit(train_df)`)
            items, labels, groups = _in_memory_data(path, id, patient_pattern, target, column)
            if positive_label is not None and len(set(labels)) > 1:
                choose_positive(sorted(set(labels)), positive_label)
            return ClassificationData(items, labels, groups, None, items_hash(items), positive_label)
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
        if not labels:
            raise InputError(f"{path} holds no images")
        if positive_label is not None and len(set(labels)) > 1:  # one class (to evaluate): the model's labels decide
            choose_positive(sorted(set(labels)), positive_label)  # a label the data does not hold is refused here
        return ClassificationData(items, labels, groups, splits, data_hash(items), positive_label)

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """What `train` would read, decoded as train decodes it (a bad file is an InputError naming it): counts per
        class, the split, and which class is positive and why."""
        data = cls.read_data(path, **options)
        if len(set(data.labels)) < 2:  # what train refuses, check-data refuses too (evaluate scores one class)
            raise InputError(f"{path} holds only the class {sorted(set(data.labels))}; classification needs two or more")
        notes: list[str] = []
        keys, thumbnails = [], []
        for item in data.items:
            try:
                image = prepare_image(item, 32)[1]
            except InputError as error:
                raise InputError(f"{getattr(item, 'name', 'an image')}: {error}") from error
            notes += reading_notes(image)
            keys.append(_pixel_key(image.array))
            thumbnails.append(_hash_thumbnail(image.array))
        duplicates = _owners_with_copies(data.groups, _near_keys(thumbnails, keys))[1]
        near_copies = duplicates - (len(keys) - len(set(keys)))
        labels = sorted(set(data.labels))
        index, rule = choose_positive(labels, data.positive_label)
        warning = joined_warnings(positive_guess_warning(labels, index, rule), notes_warning(notes),
                                  _copies_warning(duplicates, near_copies, len(keys), "check"))
        counts = {label: data.labels.count(label) for label in labels}
        return {"task": cls.task, "path": str(path), "ok": True, "n": len(data), "classes": counts,
                "positive_label": labels[index] if index is not None else None, "positive_rule": rule,
                "splits": sorted({s for s in data.splits if s}) if data.splits else None,
                "patients": len(set(data.groups)) if data.groups else None, "duplicate_images": duplicates,
                "near_duplicate_images": near_copies, **({"warning": warning} if warning else {})}

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[Any]:
        """An image/DICOM/NIfTI file, or every such file in a folder (recursively; DICOM files without a suffix are
        found as `medical.io.is_dicom_file` finds them, as scanners name them; hidden files are skipped)."""
        path = require_path(path, "image file or folder")
        if path.is_file():
            return [path]
        files = sorted(p for p in path.rglob("*") if p.is_file() and not is_hidden(p, path) and _readable_study(p))
        if not files:
            raise InputError(f"{path} holds no PNG/JPEG/DICOM/NIfTI images")
        return files

    # -- inference -------------------------------------------------------------------------------------
    def _ready(self):
        if self.network_ is None or self.label_names_ is None:
            raise NotFittedError("this MedicalClassifier has no network yet; call fit() or load() first")
        device = pick_device(self.device)
        if next(self.network_.parameters()).device != device:
            self.network_.to(device)
        return device

    def _in_own_spelling(self, data: ClassificationData) -> ClassificationData:
        """`data` with each label written as this model's label of the same NFC form: a model trained on folders from
        a Mac (names decomposed, NFD) knows the labels a manifest types (NFC)."""
        own = {normal_form(name): name for name in self.label_names_}
        return dataclasses.replace(data, labels=[own.get(normal_form(label), label) for label in data.labels])

    def _positive_index(self, given: str | None = None) -> int | None:
        """The positive class: `given` (evaluate's option), else the config's, else the rule of `choose_positive`."""
        return self._positive(given)[0]

    def _positive(self, given: str | None = None) -> tuple[int | None, str]:
        if len(self.label_names_) != 2:
            return choose_positive(self.label_names_, None)
        return choose_positive(self.label_names_, given if given is not None else self.config.positive_label)

    def _tensor(self, sources: list[Any]):
        import torch

        arrays = [prepare_image(s, self.config.image_size)[0] for s in sources]
        return torch.stack([self._normalise(torch.from_numpy(a)) for a in arrays])

    def _normalise(self, x):
        return _to_network(x, self.config.intensity_mean, self.config.intensity_std)

    def predict_proba(self, inputs: list[Any], batch_size: int | None = None) -> np.ndarray:
        """Class probabilities, shape (n, classes), in the order of `label_names`."""
        import torch

        device = self._ready()
        out = []
        with torch.inference_mode():
            for batch in iter_batches(list(inputs), check_batch_size(batch_size, self.default_batch_size,
                                                                     "images per forward pass")):
                logits = self.network_(self._tensor(list(batch)).to(device))
                out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names_)))

    def _decide(self, probabilities: np.ndarray, positive: int | None) -> np.ndarray:
        """Predicted class indices from (n, classes) probabilities: with a `positive` class (two classes) it when its
        probability reaches the configured threshold, else the other class; otherwise the most probable class."""
        if positive is None:
            return probabilities.argmax(1)
        return np.where(probabilities[:, positive] >= self.config.threshold, positive, 1 - positive)

    def _decision_rule(self, positive: int | None) -> str:
        """`_decide`'s rule in words."""
        if positive is None:
            return "predicted = most probable class"
        names = self.label_names_
        return (f"predicted {names[positive]} when P({names[positive]}) >= {self.config.threshold:g}, "
                f"else {names[1 - positive]}")

    def predict(self, inputs: Any, batch_size: int | None = None) -> list[dict[str, Any]]:
        """Label (`_decide`: two classes at the configured threshold), its score and per-class probabilities, the
        input's id first (`path`, else `index` from 1); `positive` applies the configured threshold; `warnings` says
        what reading changed in the image (e.g. NaN voxels of a NIfTI read as 0), as segmentation's records do."""
        batch_size = check_batch_size(batch_size, self.default_batch_size, "images per forward pass")
        inputs = predict_inputs(inputs)
        return records_with_errors(inputs, lambda places: self._records([inputs[p] for p in places], batch_size),
                                   batch_size)

    def _records(self, inputs: list[Any], batch_size: int | None) -> list[dict[str, Any]]:
        notes, parts = [], []
        for batch in iter_batches(list(inputs), batch_size or self.default_batch_size):  # read once: scores and notes
            images = [middle_slice(read_medical(item)) for item in batch]
            notes += [reading_notes(image) for image in images]
            parts.append(self.predict_proba(images, batch_size))
        probabilities = np.concatenate(parts) if parts else np.zeros((0, len(self.label_names_)))
        positive = self._positive_index()
        records = []
        for row, best, said in zip(probabilities, self._decide(probabilities, positive), notes):
            best = int(best)
            record = {"label": self.label_names_[best], "score": round(float(row[best]), 6),
                      "probabilities": {n: round(float(p), 6) for n, p in zip(self.label_names_, row)}}
            if positive is not None:
                record["positive"] = bool(row[positive] >= self.config.threshold)
            else:
                record["positive"] = [n for n, p in zip(self.label_names_, row) if p >= self.config.threshold]
            records.append({**record, "warnings": said})
        return records

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[Any]:
        """Rows of a table with an image path column (`columns` names it; default `path` or `image`); an empty cell
        gives its row an error record."""
        return frame_paths(batch, columns, ("path", "image"))

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
        if hasattr(source, "read"):  # an open file is read once, for the image and for its record
            source = read_medical(source)
        device = self._ready()
        array, _ = prepare_image(source, self.config.image_size)
        x = self._normalise(torch.from_numpy(array))[None].to(device)
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
        (torchmetrics; bootstrap over images), plus plots: confusion matrix, and PR / ROC / calibration (binary).
        Accuracy, F1 and the confusion matrix use predict's labels (`decision_rule`: two classes at `threshold`).

        Two classes: AUC, sensitivity and specificity are those of the positive class (`positive_label` of the
        data's options, else the model's, else the rule of `choose_positive`); each metric names it."""
        import torch

        if not isinstance(data, ClassificationData):
            data = self.read_data(data)
        self._ready()
        data = self._in_own_spelling(data)
        unknown = sorted(set(data.labels) - set(self.label_names_))
        if unknown:
            raise InputError(f"labels {unknown} are unknown to this model (it knows {self.label_names_}); retrain on them")
        notes, parts = [], []
        for batch in iter_batches(list(data.items), self.default_batch_size):  # read once, for the scores and the notes
            images = [middle_slice(read_medical(item)) for item in batch]
            notes += [note for image in images for note in reading_notes(image)]
            parts.append(self.predict_proba(images))
        probabilities = torch.from_numpy(np.concatenate(parts) if parts else np.zeros((0, len(self.label_names_)))).float()
        truth = torch.tensor([self.label_names_.index(label) for label in data.labels])
        card = self._metric_card(probabilities, truth, data.positive_label)
        guess = positive_guess_warning(self.label_names_, self._positive(data.positive_label)[0], card["positive_rule"])
        if guess:  # sensitivity may be that of detecting the healthy class
            warnings.warn(guess)
        warning = notes_warning(notes)
        if warning:  # e.g. NaN voxels of a NIfTI read as 0: the scores are of the images as read
            warnings.warn(warning)
        if guess or warning:
            card["warning"] = joined_warnings(card.get("warning"), guess, warning)
        return card

    def _metric_card(self, probabilities, truth, positive_label: str | None) -> dict[str, Any]:
        """`evaluate`'s card from (N, classes) probabilities and (N,) class indices."""
        import torch
        from sklearn.metrics import f1_score, roc_auc_score

        classes = len(self.label_names_)
        threshold = self.config.threshold
        index = np.arange(len(truth))
        positive, positive_rule = self._positive(positive_label)
        # accuracy, F1 and the confusion matrix at predict's decision rule: the threshold the card names (two classes)
        decided = torch.from_numpy(self._decide(probabilities.numpy(), positive)).long()
        # numpy and sklearn, in float64 (torchmetrics' float32 gave accuracy 0.6000000238418579 for 0.6)
        scores, targets, calls = probabilities.numpy(), truth.numpy(), decided.numpy()

        def on_rows(function):
            def statistic(rows):
                rows = rows.astype(np.int64)
                return float(function(scores[rows], targets[rows]))
            return statistic

        def on_decided(function):
            def statistic(rows):
                rows = rows.astype(np.int64)
                return float(function(calls[rows], targets[rows]))
            return statistic

        def auc_of(k):
            def function(p, t):
                if (t == k).all() or (t != k).all():
                    raise ValueError("one class in this resample")
                return roc_auc_score(t == k, p[:, k])
            return function

        def share_called(k, of_class):  # sensitivity (of_class) or specificity
            def statistic(rows):
                rows = rows.astype(np.int64)
                t, called = targets[rows], calls[rows] == k  # called as predict calls: the card's decision rule
                mine = (t == k) if of_class else (t != k)
                if not mine.any():  # a resample with none to share is skipped (it scored 0: 3 of 3 found read 0.97-1)
                    raise ValueError("none of this class in this resample")
                return float(np.mean(called[mine] if of_class else ~called[mine]))
            return statistic

        metrics: dict[str, Any] = {
            "accuracy": metric_with_ci(on_decided(lambda d, t: np.mean(d == t)), index, resamples=RESAMPLES),
            "macro_f1": metric_with_ci(on_decided(lambda d, t: f1_score(t, d, average="macro", zero_division=0)),
                                       index, resamples=RESAMPLES),
        }
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
        if positive is not None:
            for name in ("auc", f"auc_{self.label_names_[positive]}"):
                if name in metrics:
                    metrics[name]["positive_label"] = self.label_names_[positive]
        if min(np.bincount(targets, minlength=classes)[sorted(present)]) < MIN_PER_CLASS_TO_RANK:
            for name in metrics:  # as core.evaluate: resamples of a class under 5 give no usable interval
                if name == "auc" or name.startswith("auc_"):
                    metrics[name]["ci95"] = None
        for k in ([positive] if positive is not None else range(classes)):
            suffix = "" if positive is not None else f"_{self.label_names_[k]}"
            name = self.label_names_[k]
            if k in present:
                metrics[f"sensitivity{suffix}"] = {**metric_with_ci(share_called(k, True), index,
                                                                    resamples=RESAMPLES),
                    "positive_label": name, "meaning": f"share of {name} images called {name}"}
            if present - {k}:
                metrics[f"specificity{suffix}"] = {**metric_with_ci(share_called(k, False), index,
                                                                    resamples=RESAMPLES),
                    "positive_label": name, "meaning": f"share of non-{name} images not called {name}"}
        # every image right (or every one wrong): the bootstrap has no spread, so a proportion gets the Wilson interval
        # over the images it counts (as core.evaluate.classification_metrics): 3 of 3 lesions found is 0.44-1, not 1-1
        counted = {"accuracy": len(targets)}
        for k in ([positive] if positive is not None else range(classes)):
            suffix = "" if positive is not None else f"_{self.label_names_[k]}"
            counted[f"sensitivity{suffix}"] = int(np.sum(targets == k))
            counted[f"specificity{suffix}"] = int(np.sum(targets != k))
        for name, count in counted.items():
            if name in metrics:
                with_proportion_ci(metrics[name], count)
        # one class: no AUC; a class of 1-4 images: an AUC without an interval
        balance = class_balance_warning([self.label_names_[k] for k in targets], "AUC", "images")
        return metric_card(self.task, self.card_.get("name") or self.config.architecture, len(truth), metrics,
                           labels=list(self.label_names_), threshold=threshold,
                           decision_rule=self._decision_rule(positive),
                           positive_label=self.label_names_[positive] if positive is not None else None,
                           positive_rule=positive_rule,
                           plots=self._plots(probabilities.numpy(), truth.numpy(), decided.numpy(), positive, metrics),
                           **({"warning": balance} if balance else {}))

    def _plots(self, probabilities: np.ndarray, truth: np.ndarray, predicted: np.ndarray, positive: int | None,
               metrics: dict[str, Any]) -> dict[str, Any]:
        """Confusion matrix at the card's decision rule; binary: PR, ROC, calibration; multi-class: AUC per class."""
        from sklearn.metrics import confusion_matrix

        names, classes = list(self.label_names_), len(self.label_names_)
        matrix = confusion_matrix(truth, predicted, labels=list(range(classes)))
        plots: dict[str, Any] = {"Confusion matrix": {**confusion_plot(names, matrix),
                                                      "note": self._decision_rule(positive)}}
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
            return split_groups(data.groups, config.validation_fraction, config.seed)
        # no patient ids: a stratified split of images
        from sklearn.model_selection import train_test_split

        index = np.arange(len(data))
        counts = {label: data.labels.count(label) for label in set(data.labels)}
        stratify = data.labels if min(counts.values()) >= 2 and len(data) * config.validation_fraction >= len(counts) else None
        if len(data) < 4:
            return index.tolist(), index.tolist()
        train, val = train_test_split(index, test_size=config.validation_fraction, random_state=config.seed, stratify=stratify)
        return sorted(train.tolist()), sorted(val.tolist())

    def fit(self, data: Any, config: "MedicalClassifier.Config | None" = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "MedicalClassifier":
        """Retrain with class-weighted cross-entropy: from a pretrained start, the LP-FT recipe (`RECIPE`); from
        random init, plain training. Early stopping on the validation split; held-out metrics in the card."""
        import torch
        import torch.nn.functional as F
        from sklearn.metrics import roc_auc_score
        from sklearn.utils.class_weight import compute_class_weight

        from core.transfer import (FrozenNormNetwork, freeze_early_layers, plan_probe, probe_head, set_head,
                                   too_few_to_measure)

        started = time.perf_counter()
        if not isinstance(data, ClassificationData):
            data = self.read_data(data)
        config = config or self.config
        if data.positive_label is not None:
            config = dataclasses.replace(config, positive_label=data.positive_label)
        if self.network_ is not None:
            data = self._in_own_spelling(data)
        if len(data) == 0:
            raise InputError("no images to train on")
        label_names = sorted(set(data.labels))
        if len(label_names) < 2:
            raise InputError(f"the training data holds only the class {label_names}; classification needs two or more")
        # 'no' and 'no ' (a folder name may end in a space) refused; 'no' and 'No' trained apart, with a warning
        spelling_warning = check_label_spellings(label_names, "the class labels")
        if spelling_warning:
            warnings.warn(spelling_warning)
        if config.head_init not in {"probe", "random"}:
            raise InputError(f"head_init must be 'probe' or 'random', got {config.head_init!r}")
        if config.augmentation not in {"affine", "shift", "none"}:
            raise InputError(f"augmentation must be 'affine', 'shift' or 'none', got {config.augmentation!r}")
        positive, positive_rule = choose_positive(label_names, config.positive_label)
        guess_warning = positive_guess_warning(label_names, positive, positive_rule)
        if guess_warning:  # said before the training starts; the card keeps it
            warnings.warn(guess_warning)
        if config.class_weight not in {"balanced", "none"}:
            raise InputError(f"class_weight must be 'balanced' or 'none', got {config.class_weight!r}")
        base = {"model": self.card_.get("name") or self.config.architecture, "pretrained_start": None}
        if self.network_ is not None:  # fine-tuning a loaded model keeps its backbone and its preprocessing
            config = dataclasses.replace(config, architecture=self.config.architecture, image_size=self.config.image_size,
                                         intensity_mean=self.config.intensity_mean, intensity_std=self.config.intensity_std)
            base["pretrained_start"] = self.card_.get("pretrained_start", True)
        if self.network_ is None:
            fresh = type(self).from_config(config, label_names, self.device)
            self.network_, self.label_names_, self.card_ = fresh.network_, fresh.label_names_, fresh.card_
            base = {"model": config.architecture, "pretrained_start": fresh.card_.get("pretrained_start", False)}
            if base["pretrained_start"] and config.architecture.startswith(PRETRAINED_ARCHITECTURE):
                from core.backbones import BACKBONE_SOURCE

                base.update({k: BACKBONE_SOURCE[k] for k in ("what", "package", "version", "sha256", "licence")})
        elif set(label_names) - set(self.label_names_):
            extra = sorted(set(label_names) - set(self.label_names_))
            raise InputError(f"labels {extra} are unknown to this model ({self.label_names_}); train from scratch "
                             "(no --model) to change the classes")
        self.config = config
        pretrained = bool(base["pretrained_start"])
        train_index, val_index = self._split(data, config)
        if not val_index:
            val_index = train_index
        plan = plan_probe(data.labels, data.splits, train_index, val_index, pretrained=pretrained,
                          head_init=config.head_init, fine_tune=config.fine_tune,
                          fine_tune_min_per_class=config.fine_tune_min_per_class)
        probe_only, smallest, train_index, val_index = plan.probe_only, plan.smallest_class, plan.train_index, plan.val_index
        cross_validated = plan.cross_validated
        arrays, notes, keys, thumbnails = [], [], [], []
        for item in data.items:  # each decoded image let go once resized; what reading changed kept as notes
            array, image = prepare_image(item, config.image_size)
            arrays.append(torch.from_numpy(array))
            notes += reading_notes(image)
            keys.append(_pixel_key(image.array))
            thumbnails.append(_hash_thumbnail(image.array))
        # copies of one image (same pixels: a file listed twice, saved under two names or formats) and near copies
        # (resized, re-encoded) share a group with the image's patient, so the probe's folds never score an image on
        # its own copy
        owner_of, duplicates = _owners_with_copies(data.groups, _near_keys(thumbnails, keys))
        del thumbnails
        near_copies = duplicates - (len(keys) - len(set(keys)))  # of them, not pixel-identical
        copies_warning = _copies_warning(duplicates, near_copies, len(keys),
                                         "cross-validated" if cross_validated else "split")
        if copies_warning:
            warnings.warn(copies_warning)
        images = torch.stack(arrays)
        del arrays
        reading_warning = notes_warning(notes)
        if reading_warning:  # e.g. NaN voxels of a NIfTI read as 0
            warnings.warn(reading_warning)
        targets = torch.tensor([self.label_names_.index(label) for label in data.labels])
        fine_tuning = (config.fine_tune and not probe_only) or not pretrained
        train_set = _TensorDataset(images[train_index], targets[train_index],
                                   None if config.augmentation == "none" else config.augmentation, config.seed,
                                   config.intensity_mean, config.intensity_std) if fine_tuning else None
        # the probe alone on every image never runs a validation pass: no copy of the images for one
        val_images, val_targets = (images[val_index], targets[val_index]) if not cross_validated else (None, None)
        weights = None
        if config.class_weight == "balanced":
            present = np.unique(targets[train_index].numpy())
            values = compute_class_weight("balanced", classes=present, y=targets[train_index].numpy())
            weights = torch.ones(len(self.label_names_))
            weights[torch.from_numpy(present)] = torch.tensor(values, dtype=torch.float32)

        def loss_fn(model, batch):
            x, y = batch
            return F.cross_entropy(model(x), y, weight=weights.to(x.device) if weights is not None else None,
                                   label_smoothing=config.label_smoothing)

        def eval_fn(model):
            device = next(model.parameters()).device
            probabilities = []
            for start in range(0, len(val_targets), 32):
                x = torch.stack([self._normalise(v) for v in val_images[start:start + 32]]).to(device)
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

        # (1) pretrained start: the linear probe on frozen features of the training images and their mirror images
        device = self._ready()
        probe_info, oof = None, None
        if pretrained and config.head_init == "probe":
            self.network_.eval()
            features = []
            with torch.inference_mode():
                for flip in (False, True):
                    for start in range(0, len(train_index), 32):
                        rows = images[train_index[start:start + 32]]
                        x = torch.stack([self._normalise(v) for v in (rows.flip(-1) if flip else rows)]).to(device)
                        pooled = self.network_.forward_head(self.network_.forward_features(x), pre_logits=True)
                        features.append(pooled.float().flatten(1).cpu().numpy())
            # one patient's images (else one image and its mirror image), and an image's copies, stay in one fold
            owners = ([owner_of[i] for i in train_index] if data.groups is not None or duplicates
                      else list(range(len(train_index))))
            head_weight, head_bias, probe_info = probe_head(np.concatenate(features), targets[train_index].tolist() * 2,
                                                            len(self.label_names_), config.class_weight == "balanced",
                                                            config.seed, groups=owners * 2,
                                                            standardise=config.probe_standardise, keep_oof=True)
            oof = probe_info.pop("oof")
            if oof is not None:  # the images' own rows (not their mirror images'), as predict() sees them
                oof = oof[:len(train_index)]
            set_head(self.network_, head_weight, head_bias)
        start_state = {k: v.detach().clone() for k, v in self.network_.state_dict().items()}
        start_metrics = {}
        if not cross_validated:  # nothing held out: no validation pass to compare against
            with torch.inference_mode():
                start_metrics = eval_fn(self.network_.eval())

        # (2) fine-tuning (pretrained: later layers, batch-norm statistics frozen) or plain training (random init)
        result, kept, frozen = None, "probe" if probe_info else "initial", []
        if fine_tuning:
            train_config = config.trainer_config()
            network = self.network_
            if pretrained:
                frozen = freeze_early_layers(network, config.frozen_blocks)
                network = FrozenNormNetwork(network)
            network.train()
            try:
                result = Trainer(network, train_set, config=train_config, loss_fn=loss_fn, eval_fn=eval_fn, run_dir=run_dir,
                                 callbacks=callbacks, device=self.device).fit(resume=resume)
            finally:
                for parameter in self.network_.parameters():
                    parameter.requires_grad_(True)
            if not pretrained or (result.best_metric is not None and result.best_metric < start_metrics["val_loss"]):
                kept = "fine-tuned" if pretrained else "trained"
            else:  # fine-tuning never beat the probe on validation: keep the probe
                self.network_.load_state_dict(start_state)
        self.network_.eval()
        given_split = data.splits is not None and any(s in {"val", "valid", "validation"} for s in data.splits)
        grouped_by = "patient" if data.groups is not None else "image"
        if cross_validated and probe_info and oof is not None:  # the probe's out-of-fold predictions stand in
            split = ("none held out: the probe was fitted on every image; metrics are its cross-validated "
                     "(out-of-fold) predictions, at a C chosen on the same folds")
            card = self._metric_card(torch.from_numpy(oof).float(), targets, data.positive_label)
            validation = describe_split("stratified group k-fold cross-validation of the probe", owner_of,
                                        grouped_by + (" (with its mirror image)" if grouped_by == "image" else "")
                                        + (" and copies or near copies of one image together" if duplicates else ""),
                                        train_index, val_index, folds=_probe_folds(owner_of, data.labels, train_index))
        else:
            held_data = ClassificationData([data.items[i] for i in val_index], [data.labels[i] for i in val_index])
            with warnings.catch_warnings():  # the guessed positive class was said above, once
                if guess_warning:
                    warnings.filterwarnings("ignore", message=re.escape(guess_warning))
                card = self.evaluate(held_data)
            split = ("the folder layout's train/val split" if given_split else
                     "patient-level split" if data.groups is not None else "stratified image split")
            method = ("the folder layout's train/ and val/ folders" if given_split else "one train/validation split"
                      if data.groups is not None else "one train/validation split, stratified by class")
            validation = describe_split(method, owner_of, grouped_by, train_index, val_index)
        measured = {k: round(v["value"], 4) for k, v in card["metrics"].items() if v["value"] is not None}
        intervals = _with_intervals(card["metrics"])  # the card's metrics: values with their bootstrap 95% CIs
        out_of_fold = cross_validated and probe_info and oof is not None
        # otherwise scored on images it trained on (too few to hold any out): no estimate of how it does on new ones
        on_training = not out_of_fold and set(val_index) <= set(train_index)
        training_set = None
        self.card_.pop("warning", None)
        if on_training:
            split = "none: too few images to hold any out, so the model is not measured"
            validation = {**validation, "method": "none: every image trained the model"}
            training_set = {"n": card["n"], "note": "how the model fits the images it trained on, not how it does on "
                                                    "new ones", "metrics": measured}
            self.card_["warning"] = too_few_to_measure(data.labels, 4)
            warnings.warn(self.card_["warning"])
        warning = joined_warnings(spelling_warning, guess_warning, self.card_.get("warning"), reading_warning,
                                  copies_warning)
        if warning:
            self.card_["warning"] = warning
        self.card_.update({
            "duplicate_images": duplicates,  # images that copy or nearly copy an earlier one (_near_keys)
            "near_duplicate_images": near_copies,  # of them, those whose pixels differ
            "config": config_to_dict(config), "labels": list(self.label_names_),
            "positive_label": self.label_names_[positive] if positive is not None else None, "positive_rule": positive_rule,
            "training_data_hash": data.source_hash, "data_hash": data.source_hash, "training_items": len(train_index),
            # training.rows: the images the weights saw, those held out apart (core.jobs keeps this count)
            "training": {"rows": len(train_index), "validation_rows": 0 if on_training or out_of_fold else len(val_index)},
            # n: images held out (none when the probe's out-of-fold predictions stand in: out_of_fold_n of them)
            "held_out": {"n": 0 if on_training or out_of_fold else card["n"], "split": split,
                         "metrics": {} if on_training else intervals, "validation": validation,
                         **({"out_of_fold_n": card["n"]} if out_of_fold else {})},
            "training_set_metrics": training_set,
            "base_model": base,
            "recipe": {"summary": RECIPE if pretrained else "random init: all layers trained, early stopping on validation loss",
                       "probe": probe_info, "fine_tune": bool(config.fine_tune and not probe_only),
                       "smallest_class": smallest, "frozen": frozen, "kept": kept,
                       "start_val": {k: round(v, 4) for k, v in start_metrics.items()},
                       "best_val_loss": round(result.best_metric, 4) if result and result.best_metric is not None else None,
                       "steps": result.steps if result else 0},
            "train_seconds": round(time.perf_counter() - started, 1),
            "description": (f"timm {config.architecture} {'retrained from ImageNet weights' if pretrained else 'trained from random init'} "
                            f"with Verticals on {len(data)} images; {RESEARCH_NOTICE}"),
        })
        self.card_["metrics"] = self.card_["held_out"]["metrics"]
        labels = ", ".join(self.label_names_[:3]) + (", ..." if len(self.label_names_) > 3 else "")
        self.card_["name"] = f"{config.architecture} {'retrained' if pretrained else 'trained'} ({labels})"
        return self

    # -- persistence -----------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What the model is, its labels, preprocessing and held-out quality."""
        return {"task": self.task, **self.card_, "labels": self.label_names_, "notice": RESEARCH_NOTICE,
                "preprocessing": {"intensity": "0.5-99.5th percentile scaling to [0, 1], grey replicated to 3 channels",
                                  "geometry": "zero-pad to square, bilinear resize", "image_size": self.config.image_size,
                                  "mean": [self.config.intensity_mean] * 3, "std": [self.config.intensity_std] * 3,
                                  "volumes": "middle slice"}}

    # save() is core.TaskModel's: this card, then the weights in timm's hub layout
    def save_card(self) -> dict[str, Any]:
        if self.network_ is None:
            raise NotFittedError("nothing to save: fit() or load() a model first")
        positive = self._positive_index()  # named in every saved card (the usage reads it), fitted or not
        return {**self.card, "positive_label": self.label_names_[positive] if positive is not None else None,
                "config": config_to_dict(self.config), "usage": USAGE}

    def write_weights(self, folder: Path) -> None:
        """`config.json` + `model.safetensors`, loadable with `timm.create_model("local-dir:...")`."""
        from timm.models import save_for_hf

        size = self.config.image_size
        data_config = {"input_size": [3, size, size], "mean": [self.config.intensity_mean] * 3,
                       "std": [self.config.intensity_std] * 3, "interpolation": "bilinear", "crop_pct": 1.0}
        save_for_hf(self.network_, str(folder), model_config={"label_names": list(self.label_names_),
                                                             "num_classes": len(self.label_names_)},
                    safe_serialization=True, data_config=data_config)
        json.loads((folder / "config.json").read_text())  # fail early on a broken config


def _outputs(network) -> int | None:
    """How many classes a timm network's head scores."""
    outputs = getattr(network, "num_classes", None)
    if isinstance(outputs, int):
        return outputs
    head = network.get_classifier() if hasattr(network, "get_classifier") else None
    return getattr(head, "out_features", None)


def _config_json(folder: Path) -> dict[str, Any]:
    """timm's config.json of a saved folder ({} when it cannot be read as a mapping)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def _timm_name(name: Any) -> str | None:
    """'resnet10t.c3_in1k' / 'timm:resnet10t' -> 'resnet10t'; None for a hub id (its config.json names the timm
    architecture under another name) or a non-string."""
    if not isinstance(name, str) or name.startswith("hf-hub:") or "/" in name:
        return None
    return name.split(":")[-1].split(".")[0]


def _check_card_runs(folder: Path, card: dict[str, Any], model: "MedicalClassifier", built: Any) -> None:
    """Refuse (`card_mismatch`, naming the field) a card whose positive_label, architecture or
    preprocessing.image_size contradicts what the loaded model runs, or is out of range: a hand edit of any of
    them loaded and changed nothing that predict does."""
    from core.artifacts import card_mismatch

    labels = model.label_names_
    if "positive_label" in card and card["positive_label"] is not None:
        given = card["positive_label"]
        if len(labels) != 2:
            raise card_mismatch(folder, f"its positive_label {given!r:.80} is set but the model has {len(labels)} "
                                        "classes (every class is scored one-vs-rest; it should be null)")
        if not isinstance(given, str) or given not in labels:
            raise card_mismatch(folder, f"its positive_label {given!r:.80} is not one of the labels {labels}")
        try:
            used = labels[model._positive_index()]
        except InputError as error:  # the saved config's positive_label is itself not a label
            raise card_mismatch(folder, f"its config.positive_label is not usable ({error})") from error
        if given != used:
            raise card_mismatch(folder, f"its positive_label {given!r} differs from the class predict treats as "
                                        f"positive ({used!r}, from the saved config / label rule)")
    ran = _timm_name(model.config.architecture)
    for field, value in (("architecture", card.get("architecture")), ("config.architecture", model.config.architecture)):
        if value is None and field == "architecture":
            continue
        name = _timm_name(value)
        if not isinstance(value, str):
            raise card_mismatch(folder, f"its {field} {value!r:.80} is not a timm architecture name")
        if name is not None and isinstance(built, str) and name != _timm_name(built):
            raise card_mismatch(folder, f"its {field} {value!r:.80} is not the network the weights build "
                                        f"({built!r:.80}, from config.json)")
        if field == "architecture" and name is not None and ran is not None and name != ran:
            raise card_mismatch(folder, f"its architecture {value!r:.80} differs from config.architecture {ran!r:.80}")
    preprocessing = card.get("preprocessing")
    if isinstance(preprocessing, dict) and "image_size" in preprocessing:
        size = preprocessing["image_size"]
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 8192:
            raise card_mismatch(folder, f"its preprocessing.image_size {size!r:.80} is not a whole number of pixels "
                                        "from 1 to 8192")
        if size != model.config.image_size:
            raise card_mismatch(folder, f"its preprocessing.image_size {size} differs from the size images are resized "
                                        f"to (config.image_size {model.config.image_size})")
    if isinstance(model.config.image_size, bool) or not isinstance(model.config.image_size, int) \
            or not 1 <= model.config.image_size <= 8192:
        raise card_mismatch(folder, f"its config.image_size {model.config.image_size!r:.80} is not a whole number of "
                                    "pixels from 1 to 8192")


def _config_label_names(folder: Path) -> tuple[Any, str]:
    """(label names, "config.json") as timm's config.json in a saved folder records them (write_weights puts them
    there); None when it names none."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, "config.json"  # timm has just read it; one it cannot hold names in names none
    if not isinstance(config, dict):
        return None, "config.json"
    pretrained = config.get("pretrained_cfg") if isinstance(config.get("pretrained_cfg"), dict) else {}
    names = config.get("label_names", pretrained.get("label_names"))
    return (names if isinstance(names, list) else None), "config.json"


# what fit / evaluate / read_data take, said when given something else
DATA_TAKEN = ("labelled images for medical.classification are an ImageFolder folder, a CSV of path,label, a pandas / "
              "polars table with path and label columns, or a list of (image, label) pairs (image: a path, numpy "
              "array, PIL image or the file's bytes; label: a class name)")


def _in_memory_data(data: Any, id: str | None, patient_pattern: str | None, target: str | None,
                    column: str | None) -> tuple[list[Any], list[str], list[str] | None]:
    """(items, labels, patient groups) of labelled images given in memory: a table of path,label[,id] (paths relative
    to the current folder) or a list of (image, label) pairs; labels in NFC, as folder names are read.

    >>> _in_memory_data([(np.zeros((4, 4)), "normal")], None, None, None, None)[1]
    ['normal']
    """
    items, raw_labels, groups = table_or_pairs(data, (column or "path", target or "label"), id, "labelled images",
                                               DATA_TAKEN, second_is_path=False)
    labels = []
    for position, label in enumerate(raw_labels, start=1):
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (str, int, np.integer)):
            raise InputError(f"item {position}: a label is a class name (text), got {type(label).__name__}; "
                             f"{DATA_TAKEN}")
        labels.append(normal_form(str(label).strip()))
    if patient_pattern:
        unnamed = next((k for k, item in enumerate(items, start=1) if not isinstance(item, Path)), None)
        if unnamed is not None:
            raise InputError(f"patient_pattern= reads patient ids from file names; item {unnamed} is not a file path")
        groups = [patient_from_name(item.name, patient_pattern) for item in items]
    return items, labels, groups


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


def load(source: str | Path | None = None, device: str = "auto") -> MedicalClassifier:
    """The embedded default classifier, a saved folder or a hub id (same as `MedicalClassifier.load`)."""
    return MedicalClassifier.load(source, device=device)


def _with_intervals(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A metric card's measured entries for the model card, values and 95% CIs rounded to 4 places (what else an entry
    says, such as its positive label, kept).

    >>> _with_intervals({"auc": {"value": 0.912345, "ci95": [0.81234, 0.98765]}, "f1": {"value": None, "ci95": None}})
    {'auc': {'value': 0.9123, 'ci95': [0.8123, 0.9877]}}
    """
    kept = {}
    for name, entry in metrics.items():
        if entry["value"] is None:
            continue
        interval = entry.get("ci95")
        kept[name] = {**entry, "value": round(entry["value"], 4),
                      "ci95": [round(float(bound), 4) for bound in interval] if interval is not None else None}
    return kept


def _pixel_key(array: np.ndarray) -> str:
    """SHA-256 of an image's pixels as read (dtype, shape, values): copies of one image share it, whatever the file's
    name or format."""
    import hashlib

    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _hash_thumbnail(array: np.ndarray):
    """A 64 x 64 grey PIL image of a 2-D image for its perceptual hash (which looks at 32 x 32 anyway), so keys for
    near copies need not keep every decoded image; None for a volume (not hashed: exact copies only)."""
    from PIL import Image

    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or min(array.shape) < 2:
        return None
    low, high = float(array.min()), float(array.max())  # finite: the reader read NaN as 0
    scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
    return Image.fromarray(scaled.astype(np.uint8)).resize((64, 64), Image.Resampling.LANCZOS)


def _near_keys(thumbnails: list[Any], keys: list[str]) -> list[str]:
    """`keys` (exact pixel copies share one) with near copies joined: perceptual hashes within
    core.transfer.NEAR_COPY_BITS bits (a copy resized or re-encoded as JPEG), mirrored or upside down included."""
    from core.transfer import near_copy_keys

    hashable = [i for i, thumbnail in enumerate(thumbnails) if thumbnail is not None]
    joined = near_copy_keys([thumbnails[i] for i in hashable], [keys[i] for i in hashable])
    out = list(keys)
    for i, key in zip(hashable, joined):
        out[i] = key
    return out


def _copies_warning(duplicates: int, near_copies: int, n: int, measured: str) -> str | None:
    """What check-data (`measured` "check") or the card says of copies and near copies among `n` images, the model
    measured by the probe's cross-validation ("cross-validated") or on a train/validation split ("split")."""
    from core.transfer import NEAR_COPY_BITS

    if not duplicates:
        return None
    found = (f"{duplicates} of the {n} images are copies or near copies of others ({duplicates - near_copies} with "
             f"the same pixels, {near_copies} near copies: a perceptual hash within {NEAR_COPY_BITS} bits, e.g. "
             f"resized, re-encoded, mirrored or upside down; {n - duplicates} distinct)")
    kept = ("the probe's cross-validation keeps an image's copies in one fold, so it is not scored on a copy of an "
            "image it was fitted on, mirrored or not (copies altered further, e.g. cropped or rotated, are not "
            "found); its out-of-fold metrics count every copy")
    split = ("a train/validation split does not keep them together, so the validation metrics may score copies of "
             "training images; remove the copies for an honest estimate")
    if measured == "cross-validated":
        return f"{found}: {kept}"
    if measured == "split":
        return f"{found}: {split}"
    return (f"{found}. When train measures the model by cross-validating the probe (under fine_tune_min_per_class "
            f"images in some class), {kept}; otherwise {split}")


def _owners_with_copies(groups: list[str] | None, keys: list[str]) -> tuple[list[Any], int]:
    """One group per image for the probe's folds and the card: its patient (else the image itself), merged with the
    groups of its copies (same `keys`), a merged group named by one of its members' names (so data without copies
    keep their groups, and their folds, as before); and how many images are copies of an earlier one.

    >>> _owners_with_copies(None, ["a", "b", "a"]), _owners_with_copies(["p1", "p2", "p3"], ["x", "y", "y"])
    (([0, 1, 0], 1), (['p1', 'p2', 'p2'], 1))
    """
    owners: list[Any] = list(groups) if groups is not None else list(range(len(keys)))
    duplicates = len(keys) - len(set(keys))
    if not duplicates:
        return owners, 0
    parent = {owner: owner for owner in owners}

    def root(owner):
        while parent[owner] != owner:
            parent[owner] = parent[parent[owner]]
            owner = parent[owner]
        return owner

    first: dict[str, Any] = {}
    for owner, key in zip(owners, keys):
        if key in first:
            a, b = root(first[key]), root(owner)
            if a != b:
                parent[b] = a
        else:
            first[key] = owner
    return [root(owner) for owner in owners], duplicates


def _probe_folds(owners: list[str], labels: list[str], train_index: list[int]) -> int | None:
    """How many folds core.transfer.probe_head cross-validates over: 5, or fewer when some class has fewer owners
    (patients, else images); None when it does not cross-validate (a class under 3 owners)."""
    per_class: dict[str, set[str]] = {}
    for i in train_index:
        per_class.setdefault(labels[i], set()).add(owners[i])
    smallest = min((len(owned) for owned in per_class.values()), default=0)
    return min(5, smallest) if len(per_class) >= 2 and smallest >= 3 else None
