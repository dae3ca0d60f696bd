"""Medical segmentation: MONAI U-Nets (2D / 3D), Dice+CE training on the core Trainer, sliding-window inference.

Embedded default: brain tissue (grey matter / white matter / CSF) on T1 MRI, a 2D U-Net trained on first use
from nilearn's MNI152 template and tissue maps, cached. Research use only, not for diagnosis.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import cache_dir, load_tensors, read_card, save_tensors
from core.card import compare_cards
from core.config import config_from_dict, config_to_dict
from core.data.labels import normal_form
from core.data.paths import is_hidden, require_path, resolve_inside
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError, NotFittedError, UnsafeArtifactError
from core.evaluate import bars_plot, joined_warnings, metric_card, metric_with_ci
from core.protocols import Inputs, TaskModel, check_batch_size
from core.registry import missing_model_message
from core.train import TrainConfig, Trainer
from medical._shared import (RESEARCH_NOTICE, check_saved_labels, data_hash, describe_split, frame_paths, items_hash,
                             notes_warning, patient_from_name, predict_inputs, reading_notes, records_with_errors,
                             run_length, split_groups, table_or_pairs)
from medical._seg_nets import LITE_UNET, MONAI_UNET, build_network
from medical._seg_plan import (AugmentedPatches, Fingerprint, budgeted_adamw, fingerprint, plan_augmentation,
                               plan_patch, plan_training)
from medical.io import MedicalImage, index_to_world, on_image_grid, read_medical, to_file_voxels

__all__ = ["load", "Segmenter", "SegmentationData", "brain_tissue_data", "normalise_intensity"]

WEIGHTS_NAME = "model.safetensors"
LABELS_METADATA = "label_names"  # safetensors metadata key: the labels as JSON, one per output channel
DEFAULT_NAME = "brain-tissue-unet2d-v1"
SHIPPED = Path(__file__).with_name("segmentation_default")  # the default above, committed (218 KB)
BRAIN_LABELS = ["background", "grey_matter", "white_matter", "csf"]
IMAGE_DIRS = ("images", "image", "imgs", "img", "imagesTr", "volumes", "volume")
MASK_DIRS = ("masks", "mask", "labels", "label", "labelsTr", "segmentations", "seg", "gt")
MASK_SUFFIXES = ("_mask", "_seg", "_label", "_labels", "_gt")
MAX_LABELS = 64
DEFAULT_ARCHITECTURE = "unet"  # beat the EfficientNet-Lite0 U-Net within the CPU budget on ISBI 2012 (README)
UNET_CHANNELS = (16, 32, 64, 128, 256)
LITE_DECODER = (96, 48, 32, 24, 16)


def normalise_intensity(array: np.ndarray) -> np.ndarray:
    """Robust per-image scaling to about [0, 1] by the 1st/99th percentiles (CT, MR, 8/16-bit alike).

    >>> [round(float(v), 2) for v in normalise_intensity(np.arange(101.0))[[0, 50, 100]]]
    [-0.01, 0.5, 1.01]
    """
    array = np.asarray(array, dtype=np.float32)
    low, high = np.percentile(array, [1.0, 99.0])
    scale = float(high - low) or 1.0
    return ((array - low) / scale).astype(np.float32)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii", ".dcm", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


@dataclass
class SegmentationData:
    """Labelled images or volumes: `images[i]` (H, W) or (Z, H, W) float32 with integer `masks[i]` of the same shape."""

    images: list[np.ndarray]
    masks: list[np.ndarray]
    names: list[str]
    label_names: list[str]
    spacings: list[tuple[float, ...]]
    groups: list[str] | None = None  # patient ids, for a patient-level split
    source_hash: str | None = None
    mask_values: list[int] | None = None  # binary masks: the file's value of class 0 and class 1, e.g. [0, 255]
    warnings: list[str] = dataclasses.field(default_factory=list)  # what reading changed, e.g. NaN voxels read as 0

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_arrays(cls, images: list[np.ndarray], masks: list[np.ndarray], label_names: list[str] | None = None,
                    groups: list[str] | None = None) -> "SegmentationData":
        """Build from arrays in memory (values of masks are class indices).

        >>> SegmentationData.from_arrays([np.zeros((8, 8))], [np.zeros((8, 8), int)]).label_names
        ['background', 'label_1']
        """
        read = [(read_medical(np.asarray(i)), np.asarray(m)) for i, m in zip(images, masks)]
        if len(images) != len(masks):
            raise InputError(f"{len(images)} images but {len(masks)} masks; give one mask per image")
        names = [f"item_{k}" for k in range(len(read))]
        pairs = [(image.array, mask) for image, mask in read]
        masks_checked, found, values = _normalise_masks([m for _, m in pairs], [i for i, _ in pairs], names, label_names)
        labels = list(label_names) if label_names else _default_label_names(found)
        # e.g. NaN voxels read as 0 (`read_medical` names an array "array"): said per item, as read_data says files
        notes = [f"{name}: {note.removeprefix('array: ')}" for name, (image, _) in zip(names, read)
                 for note in reading_notes(image)]
        if notes:
            warnings.warn(notes_warning(notes))
        return cls([i for i, _ in pairs], masks_checked, names, labels, [(1.0,) * i.ndim for i, _ in pairs], groups,
                   mask_values=values, warnings=notes)


def _refuse_nonfinite_mask(mask: np.ndarray, name: str, read_as_zero: int = 0) -> None:
    """Refuse a mask with NaN or infinite voxels, whatever its format: those in `mask` (DICOM, float TIFF, arrays) and
    `read_as_zero`, those its reader already made 0 (NIfTI's `nonfinite_voxels`). As 0 they would be background, a
    label nobody drew; as anything else, a guess.

    >>> _refuse_nonfinite_mask(np.array([[0.0, np.nan]]), "m.dcm")
    Traceback (most recent call last):
    core.errors.InputError: m.dcm: 1 mask voxel(s) are NaN or infinite; a mask holds integer labels only: fill them with the background value (e.g. np.nan_to_num(mask, nan=0)) or the label they belong to, and save it again
    """
    bad = int(read_as_zero) + (int(np.size(mask) - np.isfinite(mask).sum()) if np.asarray(mask).dtype.kind == "f" else 0)
    if bad:
        raise InputError(f"{name}: {bad} mask voxel(s) are NaN or infinite; a mask holds integer labels only: fill them "
                         "with the background value (e.g. np.nan_to_num(mask, nan=0)) or the label they belong to, and "
                         "save it again")


def unchecked_pairing(mask: MedicalImage, image: MedicalImage, mask_name: str, image_name: str) -> str | None:
    """A note when a volume's mask is paired slice by slice in stored order because one of the two has no position in
    space (a DICOM series without ImagePositionPatient / ImageOrientationPatient, ordered by InstanceNumber, and a
    NIfTI mask): `on_image_grid` cannot check that the mask's slices and axes are the image's. A slice count that
    differs is refused here, saying why. None when both have a geometry (checked) or neither has (pictures, arrays).

    >>> placed = MedicalImage(np.zeros((2, 3, 3)), (1.0, 1.0, 1.0), affine=np.eye(4), orientation="LPS")
    >>> unchecked_pairing(placed, MedicalImage(np.zeros((2, 3, 3)), (1.0, 1.0, 1.0)), "m.nii", "scan")[:43]
    'm.nii is paired with scan slice by slice in'
    """
    placed = index_to_world(image) is not None, index_to_world(mask) is not None
    if placed[0] == placed[1] or not (image.is_volume or mask.is_volume):
        return None
    unplaced, unplaced_image = (image_name, image) if not placed[0] else (mask_name, mask)
    why = ("a DICOM series without ImagePositionPatient / ImageOrientationPatient: its slices are in InstanceNumber "
           "order" if unplaced_image.orientation == "LPS" else "an array or a picture: its slices are in stored order")
    slices = [m.array.shape[0] if m.is_volume else 1 for m in (image, mask)]
    if slices[0] != slices[1]:
        raise InputError(f"{mask_name} has {slices[1]} slices and {image_name} {slices[0]}, and {unplaced} has no "
                         f"position in space ({why}), so which slice of the mask is which of the image cannot be "
                         "told: pair the mask with the scan it was drawn on, or export the series with its position "
                         "tags")
    return (f"{mask_name} is paired with {image_name} slice by slice in stored order, unchecked: {unplaced} has no "
            f"position in space ({why}), so whether the mask's slices and axes are the image's could not be checked; "
            "export the series with its position tags, or check that the mask overlays the image")


# what fit / evaluate / read_data take, said when given something else
DATA_TAKEN = ("image/mask pairs for medical.segmentation are a folder with images/ and masks/ (matching names), a CSV "
              "of image,mask, a pandas / polars table with image and mask columns, or a list of (image, mask) pairs "
              "(image: a path, numpy array, PIL image or the file's bytes; mask: a path or an integer array of the "
              "image's shape)")


def _read_pair_part(source: Any, name: str) -> MedicalImage:
    """One image of a labelled pair, as predict reads it; a file is read as before, an in-memory image's error names
    its pair (`name`, e.g. item_2)."""
    if isinstance(source, Path):
        return read_medical(source)
    try:
        return read_medical(source)
    except InputError as error:
        raise InputError(f"{name}: {error}") from error


def _read_mask(source: Any, name: str) -> MedicalImage:
    """One mask of a labelled pair: a file as `read_medical` reads it, an array as its integer labels (no colour to grey
    conversion: a (H, W, 3) array is a 3-slice label volume, not a picture).

    >>> _read_mask(np.array([[0, 1]], bool), "m").array
    array([[0, 1]], dtype=uint8)
    """
    if isinstance(source, np.ndarray):
        array = source[..., 0] if source.ndim == 3 and source.shape[-1] == 1 else source
        if array.dtype.kind == "b":
            array = array.astype(np.uint8)
        if array.dtype.kind not in "uif" or array.ndim not in (2, 3) or array.size == 0:
            raise InputError(f"{name}: a mask array holds integer labels, (H, W) or (Z, H, W); got {array.dtype} of "
                             f"shape {array.shape}")
        return MedicalImage(array, (1.0,) * array.ndim, source="array")
    if isinstance(source, Path):
        return read_medical(source, label_mask=True)
    if isinstance(source, (list, tuple)) or source is None or isinstance(source, (int, float)):
        raise InputError(f"{name}: a mask is a file path or a numpy array of integer labels, got "
                         f"{type(source).__name__}; {DATA_TAKEN}")
    try:
        return read_medical(source, label_mask=True)
    except InputError as error:
        raise InputError(f"{name}: {error}") from error


def _shown(path: Path, root: Path) -> str:
    """`path` as the user sees it in the data: relative to the data folder (masks/c1.nii.gz), else as given."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _default_label_names(max_label: int) -> list[str]:
    return ["background"] + [f"label_{k}" for k in range(1, max(1, max_label) + 1)]


def _normalise_masks(masks: list[np.ndarray], images: list[np.ndarray], names: list[str],
                     label_names: list[str] | None, positive_label: int | None = None,
                     ) -> tuple[list[np.ndarray], int, list[int] | None]:
    """Check shapes and label values. Binary masks (0/255 or 0/1) become {0, 1} with class 1 = `positive_label`
    (default: the larger value). Returns masks, the largest class index and, for binary masks, the file value of
    class 0 and class 1."""
    values: set[int] = set()
    for mask, image, name in zip(masks, images, names):
        if mask.shape != image.shape:
            raise InputError(f"{name}: mask shape {mask.shape} does not match image shape {image.shape}; "
                             "masks must have exactly the image's size")
        if mask.dtype.kind == "f":
            _refuse_nonfinite_mask(mask, name)
            if not np.all(mask == np.round(mask)):
                raise InputError(f"{name}: the mask holds non-integer values; save masks as integer label images "
                                 "(PNG, not JPEG) or NIfTI with integer labels")
        if mask.dtype.kind == "b":
            mask = mask.astype(np.uint8)
        found = np.unique(mask)
        if found.min() < 0:
            raise InputError(f"{name}: the mask holds negative label values {found[found < 0][:5].tolist()}")
        values.update(int(v) for v in found)
    allowed = len(label_names) if label_names else None
    two_classes = allowed is None or allowed <= 2
    high = 255 if (values <= {0, 255} and 255 in values) else 1 if (values == {0, 1}) else None
    binary = high is not None and two_classes
    if positive_label is not None:
        if not binary:
            raise InputError(f"positive_label={positive_label} needs binary masks (0/255 or 0/1); "
                             f"these hold {sorted(values)[:8]}")
        if positive_label not in (0, high):
            raise InputError(f"positive_label must be 0 or {high} for these masks, got {positive_label}")
    positive = high if positive_label is None else positive_label
    converted = []
    for mask in masks:
        mask = np.asarray(mask)
        if binary:
            mask = mask == positive
        converted.append(mask.astype(np.int64))
    top = 1 if binary else max(values) if values else 0
    limit = allowed if allowed is not None else MAX_LABELS
    if top >= limit:
        extra = sorted(v for v in values if v >= limit)[:8]
        # Pascal VOC draws a 255 "void" border round each object, which its own loaders ignore; there is no ignore
        # label here, so it is named rather than trained as a class
        void = (" 255 is the 'void' value of Pascal VOC masks (the cream border round each object), which is not "
                "ignored here: recolour it to background or to its object's class first, e.g. "
                "mask[mask == 255] = 0, keeping the palette." if 255 in extra else "")
        raise InputError(f"masks hold unknown label values {extra}; expected labels 0..{limit - 1}"
                         f"{' (' + ', '.join(label_names) + ')' if label_names else ''}, or a binary 0/255 mask. "
                         f"Remap the mask values (e.g. 0 background, 1..K classes) or pass labels=...{void}")
    mask_values = [high - positive, positive] if binary else None
    return converted, int(top), mask_values


def _flip_binary(data: "SegmentationData", positive_label: int) -> "SegmentationData":
    """The same binary data with class 1 = the pixels whose file value is `positive_label`."""
    if data.mask_values is None:
        raise InputError(f"positive_label={positive_label} needs binary masks (0/255 or 0/1)")
    if positive_label not in data.mask_values:
        raise InputError(f"positive_label must be one of the mask values {sorted(data.mask_values)}, got {positive_label}")
    if data.mask_values[1] == positive_label:
        return data
    return dataclasses.replace(data, masks=[(1 - m).astype(np.int64) for m in data.masks],
                               mask_values=[data.mask_values[1], data.mask_values[0]])


def _pair_folder(root: Path) -> tuple[list[Path], list[Path]]:
    children = {p.name: p for p in root.iterdir() if p.is_dir()}
    image_dir = next((children[n] for n in IMAGE_DIRS if n in children), None)
    mask_dir = next((children[n] for n in MASK_DIRS if n in children), None)
    if image_dir is None or mask_dir is None:
        raise InputError(f"{root} needs an images folder ({'/'.join(IMAGE_DIRS[:3])}) and a masks folder "
                         f"({'/'.join(MASK_DIRS[:4])}) with matching file names, or a CSV with image,mask columns")
    images = sorted(p for p in image_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    # paired by name in NFC: a folder that came through a Mac zip holds its names decomposed (NFD), the same names to
    # a reader; each file is still opened by its own name
    masks = {normal_form(_stem(p)): p for p in mask_dir.iterdir() if p.is_file() and not p.name.startswith(".")}
    pairs_i, pairs_m, missing = [], [], []
    for image in images:
        stem = normal_form(_stem(image))
        candidates = [stem] + [stem + s for s in MASK_SUFFIXES]
        mask = next((masks[c] for c in candidates if c in masks), None)
        if mask is None:
            missing.append(image.name)
            continue
        pairs_i.append(image)
        pairs_m.append(mask)
    if missing:
        raise InputError(f"no mask for {len(missing)} image(s) in {mask_dir}, e.g. {missing[:3]}; "
                         "each image needs a mask with the same file name")
    if not pairs_i:
        raise InputError(f"{image_dir} holds no images")
    return pairs_i, pairs_m


def _is_msd_json(path: Path) -> bool:
    """A JSON object (not a table's JSON list) holding a Decathlon-style "training" list or "labels" map."""
    if path.suffix.lower() != ".json":
        return False
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _msd_pairs(path: Path) -> tuple[list[Path], list[Path], list[str] | None]:
    """(images, masks, class names) of a Medical Segmentation Decathlon `dataset.json`: its "training" list of
    {"image", "label"} paths relative to the file's folder (read as its imagesTr/ + labelsTr/ folder is), and its
    "labels" map ({"0": "background", "1": "liver"}; nnU-Net v2's {"background": 0, "liver": 1} too) naming classes."""
    from core.data.text import read_json

    spec = read_json(path, "dataset.json")
    training = spec.get("training") if isinstance(spec, dict) else None
    if not isinstance(training, list) or not training:
        raise InputError(f"{path.name} has no \"training\" list of {{\"image\", \"label\"}} pairs (a Medical "
                         "Segmentation Decathlon dataset.json has one); pass the folder holding imagesTr/ and labelsTr/ "
                         "instead, or a CSV with image,mask columns")
    images, masks = [], []
    for number, entry in enumerate(training, start=1):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                                  for k in ("image", "label")):
            raise InputError(f"{path.name}: training entry {number} is not {{\"image\": path, \"label\": path}} "
                             f"(got {entry!r:.80})")
        for key, kept in (("image", images), ("label", masks)):
            file = resolve_inside(path.parent, entry[key].strip())
            if not file.is_file():
                raise InputError(f"{path.name}: training entry {number}'s {key} {entry[key]!r} does not exist (paths "
                                 f"are relative to {path.parent})")
            kept.append(file)
    return images, masks, _msd_label_names(spec.get("labels"), path.name)


def _msd_label_names(labels: Any, name: str) -> list[str] | None:
    """Class names by mask value from dataset.json's "labels": MSD's {"0": name, ...} or nnU-Net v2's {name: 0, ...};
    the values must be 0..K-1 each named once."""
    if labels is None:
        return None
    if not isinstance(labels, dict) or not labels:
        raise InputError(f"{name}: \"labels\" must map mask values to class names, e.g. {{\"0\": \"background\", "
                         f"\"1\": \"tumour\"}}; got {labels!r:.80}")
    numbered = {}
    for key, value in labels.items():
        number, named = (value, key) if isinstance(value, int) and not isinstance(value, bool) else (key, value)
        try:
            numbered[int(str(number).strip())] = str(named).strip()
        except ValueError:
            raise InputError(f"{name}: \"labels\" entry {key!r}: {value!r:.40} is not a mask value and class name "
                             "(regions, lists of values, are not read); pass labels=background,... instead") from None
    if sorted(numbered) != list(range(len(numbered))) or len(numbered) != len(labels):
        raise InputError(f"{name}: \"labels\" names mask values {sorted(numbered)}; they must be 0..K-1, each once")
    return [numbered[k] for k in range(len(numbered))]


def _to_tensor_batch(arrays: list[np.ndarray]):
    import torch

    if len(arrays) == 1:  # no stacking copy for the common single-image case
        return torch.from_numpy(np.ascontiguousarray(arrays[0], dtype=np.float32))[None, None]
    return torch.from_numpy(np.stack(arrays)[:, None].astype(np.float32, copy=False))


class _PatchDataset:
    """Random patches (with flips / rot90 and a small intensity jitter) drawn from training units, seeded by index."""

    def __init__(self, images: list[np.ndarray], masks: list[np.ndarray], patch: int, length: int, seed: int, dims: int):
        self.images, self.masks, self.patch, self.length, self.seed, self.dims = images, masks, patch, length, seed, dims

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        import torch

        rng = np.random.default_rng((self.seed, index))
        unit = int(rng.integers(len(self.images)))
        image, mask = self.images[unit], self.masks[unit]
        pad = [(0, max(0, self.patch - s)) for s in image.shape]
        if any(p[1] for p in pad):
            image = np.pad(image, pad, mode="constant", constant_values=float(image.min()))
            mask = np.pad(mask, pad, mode="constant")
        starts = [int(rng.integers(0, s - self.patch + 1)) for s in image.shape]
        window = tuple(slice(s, s + self.patch) for s in starts)
        x, y = image[window], mask[window]
        for axis in range(self.dims):
            if rng.random() < 0.5:
                x, y = np.flip(x, axis), np.flip(y, axis)
        if self.dims == 2 and rng.random() < 0.5:
            k = int(rng.integers(1, 4))
            x, y = np.rot90(x, k), np.rot90(y, k)
        x = x * float(rng.uniform(0.9, 1.1)) + float(rng.uniform(-0.05, 0.05))
        return (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None],
                torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))[None])


class _BudgetSpent(Exception):
    """Raised by the time-budget callback to end training; the best validated weights are kept."""


class Segmenter(TaskModel):
    """A MONAI U-Net segmenter for 2D images and 3D volumes (a 2D net segments volumes slice by slice).

    >>> model = Segmenter.from_config(Segmenter.Config(channels=(4, 8), patch_size=16), ["background", "lesion"])
    >>> model.predict([np.zeros((20, 20))])[0]["shape"]
    [20, 20]
    """

    task: ClassVar[str] = "medical.segmentation"
    data_options: ClassVar[tuple[str, ...]] = ("positive_label",)
    data_flags: ClassVar[tuple[str, ...]] = ("id",)  # the patient id column of a manifest
    input_flags: ClassVar[tuple[str, ...]] = ()  # files, folders and DICOM series, named by path
    libraries: ClassVar[tuple[str, ...]] = ("monai", "nibabel", "pydicom")
    default_batch_size: ClassVar[int] = 8

    @dataclass(frozen=True)
    class Config(TrainConfig):
        """Network and training settings. Fields left None are planned from the data's fingerprint and the time
        budget at `fit` (the nnU-Net idea); fields given are kept."""

        defaults = {
            "epochs": None,
            "batch_size": None,
            "lr": None,
            "weight_decay": 1e-05,
            "validation_fraction": 0.2,
            "patience": 4,  # validations without a better Dice before stopping
            "monitor": "val_dice",
            "monitor_mode": "max",
            "log_every_steps": 5,
        }

        spatial_dims: int = 2
        architecture: str = "auto"  # auto | unet | lite0-unet (auto: DEFAULT_ARCHITECTURE; unet when channels given)
        channels: tuple[int, ...] | None = None  # MONAI U-Net levels; None = (16, 32, 64, 128, 256)
        num_res_units: int = 1
        dropout: float = 0.0
        patch_size: int | None = None  # training patch edge; None = planned (256 for a fresh 2D model)
        infer_size: int | None = None  # sliding-window edge at inference; None = patch_size (planned: up to 2x)
        overlap: float = 0.25
        samples_per_epoch: int | None = None
        time_budget_s: float | None = 540.0  # wall seconds for the whole fit (planning, steps, validation); None = none
        augmentation: str = "auto"  # auto (planned) | basic (flips, rot90, jitter) | strong (+rotation, elastic, gamma)
        positive_label: int | None = None  # binary masks: the mask value of the structure; None = the larger (255 of 0/255)
        tta: str = "auto"  # flip averaging at inference: auto (kept when it raises validation Dice) | on | off

    def __init__(self, network=None, label_names: list[str] | None = None, config: "Segmenter.Config | None" = None,
                 device: str = "auto", card: dict[str, Any] | None = None):
        self.network_ = network
        self.label_names_ = list(label_names) if label_names else None
        self.config = config or self.Config()
        self.device = device
        self.card_ = dict(card or {})

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def _architecture(config: "Segmenter.Config") -> str:
        if config.architecture not in ("auto", "unet", "lite0-unet"):
            raise InputError(f"architecture must be auto, unet or lite0-unet, got {config.architecture!r}")
        if config.architecture != "auto":
            return config.architecture
        return "unet" if config.channels is not None or config.spatial_dims == 3 else DEFAULT_ARCHITECTURE

    @classmethod
    def _network_args(cls, config: "Segmenter.Config", classes: int) -> tuple[str, dict[str, Any], int]:
        """(network class, constructor args, the divisor patch sizes must respect)."""
        if config.spatial_dims not in (2, 3):
            raise InputError(f"spatial_dims must be 2 or 3, got {config.spatial_dims}")
        architecture = cls._architecture(config)
        if architecture == "lite0-unet":
            if config.spatial_dims != 2:
                raise InputError("architecture lite0-unet is 2D only; use architecture=unet for spatial_dims=3")
            kind, args, divisor = LITE_UNET, {"in_channels": 1, "out_channels": classes,
                                              "decoder_channels": list(LITE_DECODER), "frozen_stages": 2}, 32
        else:
            channels = tuple(int(c) for c in (config.channels or UNET_CHANNELS))
            if len(channels) < 2:
                raise InputError("channels needs at least two levels, e.g. (16, 32, 64)")
            kind, divisor = MONAI_UNET, 2 ** (len(channels) - 1)
            args = {"spatial_dims": config.spatial_dims, "in_channels": 1, "out_channels": classes,
                    "channels": list(channels), "strides": [2] * (len(channels) - 1),
                    "num_res_units": config.num_res_units, "dropout": config.dropout}
        what = "the EfficientNet-Lite0 U-Net" if kind == LITE_UNET else f"{len(args.get('channels', []))} U-Net levels"
        for name in ("patch_size", "infer_size"):
            value = getattr(config, name)
            if value is not None and value % divisor:
                raise InputError(f"{name} {value} must be divisible by {divisor} for {what}")
        return kind, args, divisor

    @classmethod
    def from_config(cls, config: "Segmenter.Config", label_names: list[str], device: str = "auto") -> "Segmenter":
        """A freshly initialised network for `label_names` (index 0 is background); the EfficientNet-Lite0 U-Net
        starts from the ImageNet encoder."""
        from core.device import seed_everything

        seed_everything(config.seed)
        kind, args, divisor = cls._network_args(config, len(label_names))
        network = build_network(kind, args, pretrained=True).eval()
        if config.patch_size is None:
            config = dataclasses.replace(config, patch_size=max(divisor, 256 if config.spatial_dims == 2 else 96))
        network_card: dict[str, Any] = {"class": kind, "args": args}
        if kind == LITE_UNET:
            from core.backbones import BACKBONE_SOURCE

            network_card["encoder"] = {**BACKBONE_SOURCE, "use": "U-Net encoder (timm features_only, strides 2-32)"}
        return cls(network, label_names, config, device, {"network": network_card})

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "Segmenter":
        """`verticals train` starts from a fresh U-Net (sized from the data's labels) unless a base model is given."""
        if base is None:
            return cls(None, None, cls.Config(), device)
        return cls.load(base, device=device)

    # load() is core.TaskModel's: the embedded default (built by train_default on first use), a folder written by
    # save(), or a hub snapshot in the same layout
    default_name: ClassVar[str] = DEFAULT_NAME

    @classmethod
    def build_default(cls, folder: Path, device: str = "auto", **options: Any) -> None:
        cls.train_default(device=device).save(folder)

    @classmethod
    def load_folder(cls, folder: Path, device: str = "auto", **options: Any) -> "Segmenter":
        card = read_card(folder, task=cls.task)
        network_info = card.get("network", {})
        if network_info.get("class") not in (MONAI_UNET, LITE_UNET) or "args" not in network_info:
            raise ModelNotFoundError(f"{folder} does not describe a MONAI UNet or EfficientNet-Lite0 U-Net in card.json; "
                                     + missing_model_message(cls.task, folder))
        network = build_network(network_info["class"], network_info["args"])
        try:
            network.load_state_dict(load_tensors(folder / WEIGHTS_NAME))
        except RuntimeError as error:
            raise InputError(f"weights in {folder} do not fit the network described in card.json ({error})") from error
        # out_channels is the weights' own: load_state_dict above refused a card that gives the head another size
        check_saved_labels(folder, card.get("labels"), network_info["args"].get("out_channels"),
                           *_recorded_labels(folder, card))
        config = config_from_dict(cls.Config, card.get("config"))
        if not card.get("name"):  # saved before fit named the model (evaluate's `model` was None): named by its folder
            card = {**card, "name": Path(folder).name}
        model = cls(network.eval(), card["labels"], config, device, card)
        _check_preprocessing_runs(folder, card.get("preprocessing"), model)
        return model

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "Segmenter":
        if (SHIPPED / "card.json").is_file():  # built by `train_default` and committed: no first-use training
            return cls.load_folder(SHIPPED, device)
        return super().load_default(device, **options)

    @classmethod
    def rebuild_default(cls, out: str | Path | None = None, quick: bool = False) -> dict[str, Any]:
        """Rebuild the shipped default from scratch with its recipe (`train_default`) into `out` (default: a cache
        folder) and compare its card with the shipped one (`quick` is accepted for the CLI; the recipe has one size)."""
        out = Path(out) if out else cache_dir(cls.task) / f"{DEFAULT_NAME}-rebuilt"
        cls.train_default(device="cpu").save(out)
        shipped = read_card(SHIPPED) if (SHIPPED / "card.json").is_file() else {}
        return {"out": str(out), **compare_cards(shipped, read_card(out))}

    @classmethod
    def train_default(cls, device: str = "auto", config: "Segmenter.Config | None" = None, run_dir=None) -> "Segmenter":
        """Train the brain-tissue default on nilearn's MNI152 (held-out axial slice blocks give its Dice)."""
        data = brain_tissue_data()
        config = config or cls.Config(architecture="unet", channels=(8, 16, 32, 64), patch_size=64, epochs=8,
                                      samples_per_epoch=320, batch_size=16, lr=1e-2, patience=None, time_budget_s=None,
                                      augmentation="basic", tta="off")
        model = cls(None, None, config, device)
        model.fit(data, config, run_dir=run_dir)
        model.card_.update({
            "name": DEFAULT_NAME,
            "description": ("2D MONAI U-Net for brain tissue (grey matter, white matter, CSF) on skull-stripped T1 MRI "
                            "axial slices, trained on first use from nilearn's MNI152 2009 template (2 mm) with labels "
                            "= argmax of its GM/WM probability maps and brain mask (CSF = brain - GM - WM). One "
                            "template brain only: its held-out Dice is on unseen slices of that same template, not on "
                            "patients. " + RESEARCH_NOTICE),
            "trained_on": "nilearn load_mni152_template / load_mni152_gm_template / load_mni152_wm_template / "
                          "load_mni152_brain_mask (resolution=2); held-out = interleaved blocks of 4 axial slices",
        })
        return model

    # -- data -----------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: Any, labels: str | list[str] | None = None, id: str | None = None,
                  patient_pattern: str | None = None, image_column: str = "image", mask_column: str = "mask",
                  **options: Any) -> SegmentationData:
        """Image/mask folder pairs (`images/` + `masks/` or `image/` + `label/`, matching names; PNG, DICOM, NIfTI),
        a Medical Segmentation Decathlon `dataset.json` (its "training" image/label pairs; its "labels" name the
        classes unless `labels` does), a CSV with image,mask[,patient] columns, a pandas / polars table with those columns (relative paths against the
        current folder), or a list of (image, mask) pairs (image: a path, array, PIL image or the file's bytes, as
        predict takes; mask: a path or an integer array of the image's shape). `labels` names the classes
        ("background,liver,tumour")."""
        unknown = set(options) - {"source", "target", "time", "value", "column", "positive_label"}
        if unknown:
            raise InputError(f"unknown option(s) {sorted(unknown)} for {cls.task}; known: labels, id, patient_pattern, "
                             "image_column, mask_column, positive_label")
        positive_label = options.get("positive_label")
        if positive_label is not None:
            try:
                positive_label = int(positive_label)
            except ValueError as error:
                raise InputError(f"positive_label must be a mask value such as 0 or 255, got {positive_label!r}") from error
        groups = None
        if not isinstance(path, (str, Path)):  # in memory: a table or a list of pairs (`model.fit(pairs)`)
            root = Path.cwd()
            image_sources, mask_sources, groups = table_or_pairs(path, (image_column, mask_column), id,
                                                                 "image/mask pairs", DATA_TAKEN, second_is_path=True)
            mask_sources = [Path(mask) if isinstance(mask, str) else mask for mask in mask_sources]
            if patient_pattern:
                unnamed = next((k for k, item in enumerate(image_sources, start=1) if not isinstance(item, Path)), None)
                if unnamed is not None:
                    raise InputError(f"patient_pattern= reads patient ids from file names; image {unnamed} is not a "
                                     "file path")
                groups = [patient_from_name(p.name, patient_pattern) for p in image_sources]
        else:
            path = require_path(path, "segmentation data folder or CSV")
            root = path if path.is_dir() else path.parent
            if path.is_dir():
                image_sources, mask_sources = _pair_folder(path)
                if patient_pattern:
                    groups = [patient_from_name(p.name, patient_pattern) for p in image_sources]
            elif _is_msd_json(path):  # the Medical Segmentation Decathlon's dataset.json: its "training" pairs
                image_sources, mask_sources, msd_labels = _msd_pairs(path)
                labels = labels if labels is not None else msd_labels
                if patient_pattern:
                    groups = [patient_from_name(p.name, patient_pattern) for p in image_sources]
            else:
                from core.data.tables import read_table, require_columns

                frame = read_table(path)
                columns = [image_column, mask_column] + ([id] if id else [])
                require_columns(frame, columns, path.name)
                image_sources = [resolve_inside(path.parent, str(v)) for v in frame[image_column].to_list()]
                mask_sources = [resolve_inside(path.parent, str(v)) for v in frame[mask_column].to_list()]
                if id:
                    groups = [str(v) for v in frame[id].to_list()]
                elif patient_pattern:
                    groups = [patient_from_name(p.name, patient_pattern) for p in image_sources]
        images, masks, spacings, notes, names = [], [], [], [], []
        for k, (image_source, mask_source) in enumerate(zip(image_sources, mask_sources), start=1):
            image_name = _shown(image_source, root) if isinstance(image_source, Path) else f"item_{k}"
            mask_name = _shown(mask_source, root) if isinstance(mask_source, Path) else f"mask of item_{k}"
            image = _read_pair_part(image_source, image_name)
            mask = _read_mask(mask_source, mask_name)
            _refuse_nonfinite_mask(mask.array, mask_name, mask.metadata.get("nonfinite_voxels", 0))
            # compared in world space: a NIfTI mask of a DICOM series (voxels in another order) is put on the
            # series' grid; a mask of another scan or space, which would score as if it fit, is refused
            unchecked = unchecked_pairing(mask, image, mask_name, image_name)  # e.g. a series without positions
            mask = dataclasses.replace(mask, array=on_image_grid(mask, image, mask_name, image_name))
            if unchecked:
                notes.append(unchecked)
            read_as = image_source.name if isinstance(image_source, Path) else image.source
            for note in reading_notes(image):  # e.g. NaN voxels read as 0: kept with the data, and said
                notes.append(f"{image_name}: {note.removeprefix(read_as + ': ')}")
            images.append(image.array)
            masks.append(np.round(mask.array) if mask.array.dtype.kind == "f" and np.allclose(mask.array, np.round(mask.array)) else mask.array)
            spacings.append(image.spacing)
            names.append(image_source.name if isinstance(image_source, Path) else image_name)
        label_names = [s.strip() for s in labels.split(",")] if isinstance(labels, str) else labels
        masks, top, mask_values = _normalise_masks(masks, images, names, label_names, positive_label)
        sources = list(image_sources) + list(mask_sources)
        source_hash = data_hash(sources) if isinstance(path, (str, Path)) else items_hash(sources)
        label_names = label_names or _default_label_names(top)
        if notes:  # one `warning:` line from the CLI, the same text as the card's warning (said once)
            warnings.warn(notes_warning(notes))
        return SegmentationData(images, masks, names, list(label_names), spacings, groups, source_hash, mask_values,
                                notes)

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """What `train` would read: the count, and a `warning` where reading changed the data (NaN voxels read as 0)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = cls.training_data(path, **options)
        warning = notes_warning(data.warnings)
        for said in caught:  # the report's `warning` line says the data's; the CLI would print it twice
            if str(said.message) != warning:
                warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        return {"task": cls.task, "path": str(path), "ok": True, "n": len(data), **({"warning": warning} if warning else {})}

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[Any]:
        """A file (image, DICOM, NIfTI), a DICOM series folder, or a folder of such files, searched recursively as
        vision and medical.classification do (hidden files and folders skipped). One rule for every folder, the given
        one and each below it: a folder whose own files are all `.dcm` or suffix-less is one DICOM series, one input
        (read with what lies below it, as `read_dicom_series` does), once its suffix-less files that are not DICOM
        are skipped with a warning (a folder of only those is no series); any other folder contributes each image, DICOM
        or NIfTI file it holds, and its subfolders are looked at the same way."""
        from medical.io import is_dicom_file, is_medical_file

        path = require_path(path, "image, volume or folder")
        if path.is_file():
            return [path]
        chosen: list[Path] = []
        folders = [path]
        while folders:
            folder = folders.pop()
            entries = sorted(p for p in folder.iterdir() if not is_hidden(p, path))
            files = [p for p in entries if p.is_file()]
            if files and all(p.suffix.lower() in {".dcm", ""} for p in files):
                # a suffix-less file may be a scanner's DICOM slice or a README: only DICOM makes a series
                strays = [p for p in files if not p.suffix and not is_dicom_file(p)]
                if strays:
                    warnings.warn(f"skipped {', '.join(str(p) for p in strays)}: no suffix and not a DICOM file (no "
                                  "DICM marker at byte 128, pydicom cannot read it)")
                if len(strays) < len(files):
                    chosen.append(folder)  # one DICOM series
                    continue
            chosen.extend(p for p in files if is_medical_file(p))
            folders.extend(p for p in entries if p.is_dir())
        if not chosen:
            raise InputError(f"{path} holds no images, DICOM or NIfTI files (searched its subfolders too)")
        return sorted(chosen)

    # -- inference --------------------------------------------------------------------------------
    def _torch_device(self):
        return pick_device(self.device)

    def _ready(self):
        if self.network_ is None or self.label_names_ is None:
            raise NotFittedError("this Segmenter has no network yet; call fit() or load() first")
        device = self._torch_device()
        if next(self.network_.parameters()).device != device:
            self.network_.to(device)
        return device

    def _roi(self) -> tuple[int, ...]:
        edge = self.config.infer_size or self.config.patch_size or 96
        return (int(edge),) * self.config.spatial_dims

    def _tta_flips(self) -> list[tuple[int, ...]]:
        """Flip axes averaged at inference: none, or every single flip (+ both in-plane flips in 2D) when TTA is on."""
        on = self.config.tta == "on" or (self.config.tta == "auto" and bool(self.card_.get("tta_chosen")))
        if not on:
            return [()]
        return [(), (-1,), (-2,), (-1, -2)] if self.config.spatial_dims == 2 else [(), (-1,), (-2,), (-3,)]

    def infer_logits(self, batch, sw_batch_size: int | None = None, flips: list[tuple[int, ...]] | None = None):
        """Sliding-window scores for a (B, 1, *spatial) tensor of normalised images (MONAI, gaussian blending): logits,
        or with flip averaging (TTA) the mean softmax over the flipped copies."""
        import torch
        from monai.inferers import sliding_window_inference

        device = self._ready()
        flips = self._tta_flips() if flips is None else flips
        batch = batch.to(device)
        with torch.inference_mode():
            def run(x):
                return sliding_window_inference(x, self._roi(), sw_batch_size or self.default_batch_size, self.network_,
                                                overlap=self.config.overlap, mode="gaussian")

            if flips == [()]:
                return run(batch)
            total = None
            for axes in flips:
                scores = run(batch.flip(axes) if axes else batch).softmax(1)
                scores = scores.flip(axes) if axes else scores
                total = scores if total is None else total + scores
            return total / len(flips)

    def _segment_array(self, array: np.ndarray, batch_size: int | None) -> np.ndarray:
        dims = self.config.spatial_dims
        if array.ndim == 2 and dims == 3:
            raise InputError("this is a 3D model and the input is a 2D image; pass a volume (NIfTI or DICOM series)")
        normalised = normalise_intensity(array)
        if array.ndim == dims:
            batch = _to_tensor_batch([normalised])
            return self.infer_logits(batch, batch_size).argmax(1)[0].cpu().numpy().astype(np.uint8)
        # A 2D network over a (Z, H, W) volume: slices go through in batches.
        out = np.empty(array.shape, dtype=np.uint8)
        size = batch_size or self.default_batch_size
        for start in range(0, array.shape[0], size):
            batch = _to_tensor_batch(list(normalised[start:start + size]))
            out[start:start + size] = self.infer_logits(batch, size).argmax(1).cpu().numpy()
        return out

    def segment(self, source: Any, batch_size: int | None = None) -> dict[str, Any]:
        """Segment one input; returns {"image": MedicalImage, "mask": uint8 label array of the same shape}."""
        batch_size = check_batch_size(batch_size, self.default_batch_size, "slices or windows per forward pass")
        image = read_medical(source)
        if image.array.ndim == 3 and min(image.array.shape) < 1:
            raise InputError(f"empty volume {image.array.shape}")
        return {"image": image, "mask": self._segment_array(image.array, batch_size)}

    def label_volumes(self, mask: np.ndarray, image: MedicalImage) -> dict[str, dict[str, float]]:
        """Voxel count and volume (ml; area in mm^2 for 2D) of every label in a mask."""
        counts = np.bincount(mask.ravel(), minlength=len(self.label_names_))
        result = {}
        for index, name in enumerate(self.label_names_):
            entry = {"voxels": int(counts[index])}
            if image.is_volume:
                entry["volume_ml"] = round(float(counts[index]) * image.voxel_volume_ml, 4)
            else:
                entry["area_mm2"] = round(float(counts[index]) * float(np.prod(image.spacing[:2])), 4)
            result[name] = entry
        return result

    def predict(self, inputs: Any, batch_size: int | None = None, masks: str | Path | None = None) -> list[dict[str, Any]]:
        """Label masks with per-label voxel counts and volumes, one record per input, its id first (`path` of a file or
        DICOM series folder, else `index` from 1).

        `mask_rle` is the mask run-length coded in C order (last axis fastest) over `shape`, which is the grid
        `mask_grid` names: the input's own voxel grid as stored (for NIfTI the file's (i, j, k) as
        `nib.load(path).get_fdata()` indexes it, whatever its orientation; `spacing_mm` then in that order too), so
        `decode_run_length(record["mask_rle"], record["shape"])` gives the label array (values index `label_names`)
        voxel for voxel against the input array; `mask_affine` (NIfTI) is the file's affine, which maps that grid's
        indices to world mm; for DICOM with position tags the map of (slice, row, column) (2-D: (row, column, 0)) to
        world mm in RAS as a NIfTI affine; None for pictures, arrays and DICOM without position tags.
        `masks` (CLI: `--option masks=DIR`) also writes each mask to DIR, made if missing: `<name>.nii.gz` for NIfTI,
        DICOM and volume inputs, `<name>.png` for 2-D pictures (voxel / pixel value = label index; for a binary model
        the training masks' value, its card's `mask_values`, e.g. 0/255), `<name>` as `_mask_names`
        gives it (the input's stem, `-2`, `-3`... for a stem an earlier input has); the record's `mask_path` names it."""
        batch_size = check_batch_size(batch_size, self.default_batch_size, "slices or windows per forward pass")
        inputs = predict_inputs(inputs)
        if not isinstance(inputs, Inputs):
            # a DICOM series is a folder: named by its path as a file is (with_ids takes only a file's name for a path)
            inputs = [Path(s) if isinstance(s, str) and Path(s).is_dir() else s for s in inputs]
        folder = _mask_folder(masks)
        # named before any is predicted: a batch and its study-by-study retry (`records_with_errors`) name alike
        names = _mask_names(inputs) if folder is not None else None
        if folder is not None:
            _refuse_masks_over_inputs(folder, inputs, names)
        return records_with_errors(inputs, lambda places: [self._record(inputs[p], batch_size, folder, names and names[p])
                                                           for p in places], batch_size)

    def _record(self, source: Any, batch_size: int | None, folder: Path | None = None,
                name: str | None = None) -> dict[str, Any]:
        result = self.segment(source, batch_size)
        image, mask = result["image"], result["mask"]
        stored, spacing = _as_stored(mask, image)
        record = {"shape": list(stored.shape), "spacing_mm": spacing,
                  "labels": self.label_volumes(mask, image), "label_names": list(self.label_names_),
                  "mask_rle": run_length(stored), **_mask_grid(image, stored.shape),
                  "warnings": reading_notes(image)}
        if folder is not None:
            record["mask_path"] = str(_write_mask(mask, image, folder, name or "mask", self._mask_file_values()))
        return record

    def file_mask(self, mask: np.ndarray) -> np.ndarray:
        """`mask` (label indices) as `predict(masks=DIR)` writes it: uint8, in a binary model's training mask values
        (e.g. 0/255) where it has them, else the label indices (the dashboard's mask download uses it too)."""
        labels = np.asarray(mask).astype(np.uint8)
        values = self._mask_file_values()
        return np.asarray(values, dtype=np.uint8)[labels] if values is not None else labels

    def _mask_file_values(self) -> list[int] | None:
        """The file value of each label for a written mask (PNG or NIfTI): a binary model's training mask values
        (`mask_values`, e.g. [0, 255], so the mask overlays and scores against the user's own); None (label indices)
        otherwise."""
        values = self.card_.get("mask_values")
        if isinstance(values, list) and len(values) == len(self.label_names_) == 2 \
                and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
            return values
        return None

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[Any]:
        """Rows of a table with an image path column (`columns` names it; default `image` or `path`); an empty cell
        gives its row an error record."""
        return frame_paths(batch, columns, ("image", "path"))

    # -- evaluation -----------------------------------------------------------------------------------
    def _check_labels(self, data: SegmentationData) -> None:
        classes = len(self.label_names_)
        for mask, name in zip(data.masks, data.names):
            top = int(mask.max(initial=0))
            if top >= classes:
                raise InputError(f"{name}: the mask holds label {top} but the model knows {classes} labels "
                                 f"({', '.join(self.label_names_)}); remap the mask or retrain on it")

    def _scores(self, predicted: list[np.ndarray], data: SegmentationData, hausdorff: bool = True,
                false_positive_zero: bool = True) -> dict[str, np.ndarray]:
        """Per-item Dice / IoU / HD95 per foreground class, from MONAI metrics: arrays of shape (items, classes-1).
        With `false_positive_zero` (nnU-Net's rule, evaluate's): a case whose truth lacks a label the model predicts
        has Dice and IoU 0, not NaN (MONAI's ignore_empty leaves it out); both empty stays NaN (left out). HD95 stays
        NaN there (no reference surface). Without it (the validation Dice that picks the weights kept): MONAI's."""
        import torch
        from monai.metrics import DiceMetric, HausdorffDistanceMetric, MeanIoU
        from monai.networks.utils import one_hot

        classes = len(self.label_names_)
        dice_metric = DiceMetric(include_background=False, reduction="none", ignore_empty=True)
        iou_metric = MeanIoU(include_background=False, reduction="none", ignore_empty=True)
        hd_metric = HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none")
        dice, iou, hd = [], [], []
        for mask_pred, mask_true, spacing in zip(predicted, data.masks, data.spacings):
            y_pred = one_hot(torch.from_numpy(mask_pred.astype(np.int64))[None, None], classes)
            y_true = one_hot(torch.from_numpy(mask_true.astype(np.int64))[None, None], classes)
            dice.append(dice_metric(y_pred, y_true)[0].numpy())
            iou.append(iou_metric(y_pred, y_true)[0].numpy())
            if hausdorff:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # empty prediction/ground truth -> nan/inf, reported as missing
                    values = hd_metric(y_pred, y_true, spacing=list(spacing)[: mask_true.ndim])[0].numpy()
                hd.append(np.where(np.isfinite(values), values, np.nan))
        result = {"dice": np.array(dice, dtype=float), "iou": np.array(iou, dtype=float)}
        if false_positive_zero:
            for i, (mask_pred, mask_true) in enumerate(zip(predicted, data.masks)):
                for k in range(1, classes):
                    if not (mask_true == k).any() and (mask_pred == k).any():
                        result["dice"][i, k - 1] = result["iou"][i, k - 1] = 0.0
        if hausdorff:
            result["hd95"] = np.array(hd, dtype=float)
        return result

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Dice, IoU and Hausdorff-95 (MONAI; mean over foreground labels, per-label too) with bootstrap CIs over the
        cases each mean is over (its `cases`; ci95 None under 2), plus "Dice per case" bars (lowest first) and, with
        several foreground labels, "Dice per label" bars."""
        if not isinstance(data, SegmentationData):
            data = self.read_data(data)
        self._ready()
        data = self._align_values(data)
        self._check_labels(data)
        predicted = [self._segment_array(image, None) for image in data.images]
        scores = self._scores(predicted, data)
        value_dice = self._value_dice(predicted, data, ignore_empty=False)  # nnU-Net's rule, as _scores'
        metrics: dict[str, Any] = {}

        def mean_with_ci(column: np.ndarray) -> dict[str, Any]:
            # bootstrap over the cases the mean is over (a label's Dice: the cases whose truth holds it), so a mean
            # of one case gets ci95 None (core's rule for under 2 rows), not the interval [value, value]
            cases = np.flatnonzero(np.isfinite(column))
            entry = metric_with_ci(lambda rows: float(np.mean(column[rows.astype(int)])), cases)
            return {**entry, "cases": len(cases)}

        plots: dict[str, Any] = {}
        for name, values in scores.items():
            per_item = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values])
            if name == "dice":
                plots["Dice per case"] = bars_plot(data.names, per_item, "Dice", worst_first=False,
                                                   note="mean over foreground labels; lowest first")
            if np.isfinite(per_item).any():
                metrics[name] = mean_with_ci(per_item)
            for k, label in enumerate(self.label_names_[1:]):
                column = values[:, k]
                if np.isfinite(column).any():
                    metrics[f"{name}_{label}"] = mean_with_ci(column)
        for name, column in value_dice.items():  # binary masks: Dice of each file value, whichever is foreground
            if np.isfinite(column).any():
                metrics[name] = mean_with_ci(column)
        unit = "mm" if any(s != (1.0,) * len(s) for s in data.spacings) else "pixels"
        for name in metrics:
            if name == "hd95" or name.startswith("hd95_"):  # every HD95 row says its unit
                metrics[name]["unit"] = unit
        foreground = self.label_names_[1:]
        if len(foreground) > 1:
            plots["Dice per label"] = bars_plot(foreground, [metrics.get(f"dice_{label}", {}).get("value")
                                                             for label in foreground], "Dice",
                                                note="mean over cases whose truth holds the label")
        extra: dict[str, Any] = {"dice_left_out": self._left_out(predicted, data, by_value=bool(value_dice))}
        if data.mask_values is not None and value_dice:
            extra["mask_values"] = {"positive_label": int(data.mask_values[1]), "background_value": int(data.mask_values[0]),
                                    "note": f"dice = Dice of mask value {data.mask_values[1]} (the positive label); "
                                            f"dice_value_V = Dice of the pixels whose mask value is V"}
        missed = self._hd95_left_out(predicted, data, scores.get("hd95"))
        if missed:
            extra["hd95_left_out"] = missed
        # e.g. NaN voxels of an image read as 0: the scores are of the data as read
        warning = joined_warnings(self._undefined_warning(extra["dice_left_out"], data),
                                  self._missed_warning(missed, data) if missed else None,
                                  notes_warning(data.warnings) if data.warnings else None)
        if warning:
            extra["warning"] = warning
        name = self.card_.get("name") or self._architecture(self.config)
        return metric_card(self.task, name, len(predicted), metrics,
                           labels=list(self.label_names_), plots=plots, **extra)

    def _left_out(self, predicted: list[np.ndarray], data: SegmentationData, by_value: bool = False) -> dict[str, Any]:
        """Per foreground label (and per mask value with `by_value`): the cases whose truth lacks it, left out of its
        Dice where the model predicts none of it, scored 0 (false positives) where it does."""
        def counted(k: int) -> dict[str, int]:
            empty = [int((mask_pred == k).sum()) for mask_pred, mask_true in zip(predicted, data.masks)
                     if not (mask_true == k).any()]  # predicted voxels of each case whose truth lacks the label
            return {"cases": sum(v == 0 for v in empty), "false_positive_cases": sum(v > 0 for v in empty),
                    "false_positive_voxels": sum(empty)}

        result = {"rule": "nnU-Net's rule: a case whose truth has no voxel of a label and where the model predicts "
                          "none is left out of that label's Dice, IoU and HD95; where the model predicts the label "
                          "there, its Dice and IoU are 0 (false positives, counted) and its HD95 is left out (no "
                          "reference surface: see hd95_left_out); per label, cases = how many were left out, "
                          "false_positive_cases = the cases scored 0 so, false_positive_voxels = the voxels (pixels "
                          "in 2D) the model predicts there",
                  "per_label": {label: counted(k) for k, label in enumerate(self.label_names_[1:], start=1)}}
        if by_value:  # binary masks: dice_value_V leaves out a case whose truth has no pixel of value V, alike
            result["per_mask_value"] = {str(value): counted(k) for k, value in enumerate(data.mask_values)}
        return result

    def _hd95_left_out(self, predicted: list[np.ndarray], data: SegmentationData,
                       hd95: np.ndarray | None = None) -> dict[str, Any] | None:
        """Per foreground label: the cases whose truth holds the label but where the model predicts no voxel of it.
        HD95 is undefined there (no predicted surface: MONAI gives NaN, as it does for an empty truth), so those cases
        are left out of that label's HD95 mean, which then reads better than it is; Dice and IoU count each as 0. The
        mean HD95 is per case over its labels with an HD95, so a case keeps its place in it while any label has one:
        `mean_cases` (the cases the mean HD95 is over, `hd95` (items, labels) given) and `mean_cases_partial` (those of
        them left out of some label's HD95) say so. None when every structure was found."""
        per_label, false_positives, left_out = {}, {}, set()
        for k, label in enumerate(self.label_names_[1:], start=1):
            holding = [(i, bool((mask_pred == k).any())) for i, (mask_pred, mask_true)
                       in enumerate(zip(predicted, data.masks)) if (mask_true == k).any()]
            missed = [i for i, found in holding if not found]
            if missed:
                left_out.update(missed)
                per_label[label] = {"cases": len(missed), "of": len(holding),
                                    "names": [data.names[i] for i in missed[:20]]}
            extra = [i for i, (mask_pred, mask_true) in enumerate(zip(predicted, data.masks))
                     if not (mask_true == k).any() and (mask_pred == k).any()]
            if extra:  # no reference surface: HD95 undefined too (MONAI: NaN), while Dice and IoU count them as 0
                left_out.update(extra)
                false_positives[label] = {"cases": len(extra), "names": [data.names[i] for i in extra[:20]]}
        if not per_label and not false_positives:
            return None
        found = {"false_positives": false_positives} if false_positives else {}
        if hd95 is not None and len(hd95):
            in_mean = np.isfinite(hd95).any(axis=1)  # as evaluate's per-case nanmean: a case with any label's HD95
            found["mean_cases"] = int(in_mean.sum())
            found["mean_cases_partial"] = sum(bool(in_mean[i]) for i in left_out)
        return {"cases": len(left_out), **found,
                "rule": "HD95 needs a predicted surface: a case whose truth holds a label but where the model predicts "
                        "none of it has no HD95 (MONAI: NaN) and is left out of that label's HD95 and of the mean HD95, "
                        "while its Dice and IoU are 0; so is a case whose truth lacks a label the model predicts (no "
                        "reference surface; its Dice and IoU are 0: false_positives, per label: cases, names); cases = "
                        "the cases left out of some label's HD95; mean_cases = the cases the mean HD95 (per case, "
                        "over its labels with an HD95) is over, mean_cases_partial = those of them left out of some "
                        "label's HD95 (in the mean by their other labels); per_label (the missed structures), per label: "
                        "cases = how many were left out, of = the cases whose truth holds the label, names = the first "
                        "20 of them",
                "per_label": per_label}

    def _missed_warning(self, missed: dict[str, Any], data: SegmentationData) -> str:
        """The cases left out of HD95 because the model missed a structure entirely, or predicted one the reference
        mask lacks, named (see `_hd95_left_out`)."""
        per_label, cases = missed["per_label"], missed["cases"]

        def names(entry: dict[str, Any]) -> str:
            return f"{', '.join(entry['names'][:3])}{', ...' if entry['cases'] > 3 else ''}"

        said = [f"the model predicted none of a structure the reference mask holds ("
                + ", ".join(f"{label} in {entry['cases']} of the {entry['of']} case(s) holding it ({names(entry)})"
                            for label, entry in per_label.items())
                + "), and HD95 is undefined without a predicted surface (MONAI gives NaN)"] if per_label else []
        if false_positives := missed.get("false_positives"):
            said.append("the model predicted a structure the reference mask lacks ("
                        + ", ".join(f"{label} in {entry['cases']} case(s) ({names(entry)})"
                                    for label, entry in false_positives.items())
                        + "), and HD95 is undefined without a reference surface")
        total = len(data)
        mean = ""
        if "mean_cases" in missed:  # the mean HD95 is per case over its labels, so it may keep a left-out case
            partial = missed["mean_cases_partial"]
            mean = (f"; the mean HD95 is over {missed['mean_cases']} of the {total} case(s)"
                    + (f", {partial} of them with some label's HD95 left out" if partial else ""))
        return (f"HD95 leaves out some label in {cases} of the {total} case(s): {'; '.join(said)}; so each such "
                f"label's HD95 mean is over the other cases{mean}, and these read better than they are; Dice and IoU "
                "count these labels as 0 there (see hd95_left_out)")

    def _undefined_warning(self, left_out: dict[str, Any], data: SegmentationData) -> str | None:
        """The labels (and mask values) no reference mask holds: their Dice is undefined, so not reported; how many
        voxels of each the model predicted anyway (all false positives)."""
        unit = "pixels" if all(mask.ndim == 2 for mask in data.masks) else "voxels"
        absent = [(f"Dice, IoU and HD95 of {label} are", entry) for label, entry in left_out["per_label"].items()]
        absent += [(f"Dice of mask value {value} (dice_value_{value}) is", entry)
                   for value, entry in left_out.get("per_mask_value", {}).items()]
        said = []
        for what, entry in absent:
            if len(data) and entry["cases"] + entry["false_positive_cases"] == len(data):
                scored = (f"the model predicted {entry['false_positive_voxels']:,} {unit} of it in "
                          f"{entry['false_positive_cases']} of the {len(data)} case(s), all false positives, so its "
                          "Dice (and IoU) there is 0 and the rest are left out" if entry["false_positive_cases"]
                          else "the model predicted none of it, so not reported")
                said.append(f"{what} undefined where no reference mask holds it; {scored}")
        if not said:
            return None
        return "; ".join(said) + " (nnU-Net's rule: see dice_left_out); evaluate on masks that hold the structure"

    # -- training ----------------------------------------------------------------------------------
    def _units(self, data: SegmentationData) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[int]]:
        """Training units (2D slices for a 2D net, whole items for a 3D net) with their split group and the index of
        the item each comes from."""
        images, masks, groups, items = [], [], [], []
        single = len(data) == 1 and data.groups is None
        for k, (image, mask) in enumerate(zip(data.images, data.masks)):
            group = data.groups[k] if data.groups is not None else str(k)
            normalised = normalise_intensity(image)
            if image.ndim == 3 and self.config.spatial_dims == 2:
                for z in range(image.shape[0]):
                    images.append(normalised[z])
                    masks.append(mask[z])
                    # one volume alone: hold out interleaved blocks of 4 slices
                    groups.append(f"{group}:{z // 4}" if single else group)
                    items.append(k)
            else:
                if image.ndim != self.config.spatial_dims:
                    raise InputError(f"{data.names[k]} is {image.ndim}D but the model is {self.config.spatial_dims}D")
                images.append(normalised)
                masks.append(mask)
                groups.append(group)
                items.append(k)
        return images, masks, groups, items

    def _align_values(self, data: SegmentationData) -> SegmentationData:
        """Binary data with class 1 = the mask value this model calls foreground (its `positive_label`)."""
        values = self.card_.get("mask_values")
        if not values or data.mask_values is None or data.mask_values == list(values):
            return data
        if sorted(data.mask_values) != sorted(values):
            raise InputError(f"the model was trained on binary masks valued {sorted(values)} but these hold "
                             f"{sorted(data.mask_values)}; save the masks with the same values")
        return _flip_binary(data, int(values[1]))

    def fit(self, data: Any, config: "Segmenter.Config | None" = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "Segmenter":
        """Train with Dice+CE on augmented random patches (core Trainer), validating on held-out items and keeping the
        best weights; stops when validation Dice stops improving, at the planned steps, or when the time budget is
        spent. Fields of `config` left None (patch, batch, steps, lr) are planned from the data and the budget."""
        from monai.losses import DiceCELoss

        started = time.monotonic()
        if not isinstance(data, SegmentationData):
            data = self.read_data(data)
        config = config or self.config
        if len(data) == 0:
            raise InputError("no image/mask pairs to train on")
        if config.positive_label is not None:
            data = _flip_binary(data, config.positive_label)
        if self.network_ is None or config.spatial_dims != self.config.spatial_dims:
            fresh = type(self).from_config(config, data.label_names, self.device)
            self.network_, self.label_names_, self.card_ = fresh.network_, fresh.label_names_, fresh.card_
        else:
            if len(data.label_names) > len(self.label_names_):
                raise InputError(f"the data has {len(data.label_names)} labels but the model was built for "
                                 f"{len(self.label_names_)}; train from scratch (no --model) to change the labels")
            if config.positive_label is None:
                data = self._align_values(data)
        kind, args = self.card_["network"]["class"], self.card_["network"]["args"]
        # the network's own shape wins over a config given for fine-tuning
        if kind == MONAI_UNET:
            config = dataclasses.replace(config, architecture="unet", channels=tuple(args["channels"]),
                                         num_res_units=args["num_res_units"], dropout=args["dropout"],
                                         spatial_dims=args["spatial_dims"])
        else:
            config = dataclasses.replace(config, architecture="lite0-unet", channels=None, spatial_dims=2)
        divisor = self._network_args(config, len(self.label_names_))[2]
        self._check_labels(data)
        images, masks, groups, unit_items = self._units(data)
        train_index, val_index = split_groups(groups, config.validation_fraction, config.seed)
        if not val_index:
            val_index = train_index  # one item only: validation on the training data (said in the card)
        train_images, train_masks = [images[i] for i in train_index], [masks[i] for i in train_index]
        val_data = SegmentationData([images[i] for i in val_index], [masks[i] for i in val_index],
                                    [f"val_{i}" for i in val_index], self.label_names_,
                                    [(1.0,) * images[i].ndim for i in val_index], mask_values=data.mask_values)
        unit_spacings = [data.spacings[0]] * len(train_images)
        fp = fingerprint(train_images, train_masks, unit_spacings, len(self.label_names_))
        loss = DiceCELoss(to_onehot_y=True, softmax=True)

        def loss_fn(model, batch):
            x, y = batch
            return loss(model(x), y)

        plan = None
        planned = any(getattr(config, name) is None
                      for name in ("patch_size", "batch_size", "epochs", "samples_per_epoch", "lr"))
        if planned:
            config, plan = self._plan(config, fp, divisor, train_images, train_masks, val_data, loss_fn, started)
        self.config = config
        if config.augmentation == "basic":
            train_set = _PatchDataset(train_images, train_masks, config.patch_size, config.samples_per_epoch, config.seed,
                                      config.spatial_dims)
        else:
            augmentation = plan.augmentation if plan else plan_augmentation(fp, config.augmentation != "light")
            train_set = AugmentedPatches(train_images, train_masks, config.patch_size, config.samples_per_epoch,
                                         config.seed, augmentation, plan.foreground_oversample if plan else 0.0)
        best: dict[str, Any] = {"dice": None, "weights": None}
        # seconds of the slowest validation and of the last step, for the time budget
        clock = {"val": plan.val_seconds if plan else 1.0, "step": plan.seconds_per_step if plan else 1.0, "tick": None}

        def eval_fn(model):
            tick = time.monotonic()
            value = self._val_dice(val_data, [()])
            clock["val"] = max(clock["val"], time.monotonic() - tick)
            if config.time_budget_s is not None and (best["dice"] is None or value > best["dice"]):
                best.update(dice=value, weights={k: v.detach().clone() for k, v in model.state_dict().items()})
            clock["tick"] = time.monotonic()  # the next step's time excludes this validation
            return {"val_dice": value}

        budget_end = None if config.time_budget_s is None else started + config.time_budget_s
        # after training: one last validation and the held-out card, plus (tta=auto) plain + 4 flips and a TTA card
        after_validations = 2 + (6 if config.tta == "auto" else 0)

        def budget_guard(record: dict[str, Any]) -> None:
            """Stop before the step that would leave no time for the last validation, the held-out card and saving."""
            if budget_end is None or record.get("event") != "tick":
                return
            now = time.monotonic()
            if clock["tick"] is not None:
                clock["step"] = now - clock["tick"]
            clock["tick"] = now
            if now + clock["step"] + after_validations * clock["val"] + 5.0 > budget_end:
                raise _BudgetSpent()

        optimizer_factory = None
        if plan is not None and budget_end is not None:
            # the rate follows a cosine to zero over steps or seconds, whichever runs out first (the Trainer's own
            # schedule then only warms up: min_lr_ratio=1)
            train_seconds = max(1.0, budget_end - time.monotonic() - after_validations * clock["val"] - 5.0)
            optimizer_factory = lambda network: budgeted_adamw(network, config.lr, config.weight_decay,  # noqa: E731
                                                               config.max_steps, train_seconds)
        train_config = config.trainer_config(min_lr_ratio=1.0 if optimizer_factory is not None else config.min_lr_ratio)
        self.network_.train()
        stopped = "planned steps or early stop on validation Dice"
        try:
            result = Trainer(self.network_, train_set, config=train_config, loss_fn=loss_fn, eval_fn=eval_fn,
                             optimizer_factory=optimizer_factory, run_dir=run_dir, callbacks=[*callbacks, budget_guard],
                             device=self.device).fit(resume=resume)
            stopped = ("validation Dice stopped improving" if result.stopped_early else "planned steps done")
        except _BudgetSpent:
            stopped = "time budget spent"
            self.network_.eval()
            last = self._val_dice(val_data, [()]) if best["weights"] is not None else None
            if last is not None and last < best["dice"]:  # the last weights (rate near zero) unless an earlier was better
                self.network_.load_state_dict(best["weights"])
        self.network_.eval()
        tta = self._choose_tta(val_data, started) if config.tta == "auto" else None
        held = self._held_out_card(val_data, val_index is train_index)
        held["validation"] = _validation_split(data, groups, train_index, val_index, config, val_index is train_index)
        self.card_.update({"config": config_to_dict(self.config), "labels": list(self.label_names_),
                           "training_data_hash": data.source_hash, "data_hash": data.source_hash, "training_items": len(data),
                           "training": _training_rows(unit_items, train_index, val_index, val_index is train_index),
                           "held_out": held, "metrics": held["metrics"]})
        if data.mask_values is not None:
            self.card_.update(mask_values=list(data.mask_values), positive_label=int(data.mask_values[1]))
        if plan is not None or config.time_budget_s is not None:
            self.card_["recipe"] = {"fingerprint": fp.to_dict(), "plan": plan.to_dict() if plan else None,
                                      "time_budget_s": config.time_budget_s, "stopped": stopped, "tta": tta,
                                      "seconds": round(time.monotonic() - started, 1)}
        labels = ", ".join(self.label_names_[1:4]) + (", ..." if len(self.label_names_) > 4 else "")
        # evaluate's `model`, named as medical.classification names a trained model
        self.card_["name"] = f"{self._architecture(self.config)} trained ({labels})"
        self.card_.pop("warning", None)  # a base model's warning was about its own data
        if data.warnings:
            self.card_["warning"] = notes_warning(data.warnings)
        what = "U-Net on the ImageNet EfficientNet-Lite0 encoder" if kind == LITE_UNET else "MONAI U-Net"
        self.card_["description"] = (f"{self.config.spatial_dims}D {what} trained with Verticals on {len(data)} "
                                     f"labelled item(s); {RESEARCH_NOTICE}")
        return self

    def _plan(self, config: "Segmenter.Config", fp: "Fingerprint", divisor: int, images: list[np.ndarray],
              masks: list[np.ndarray], val_data: SegmentationData, loss_fn, started: float):
        """Patch, batch and steps from the fingerprint and seconds per step / per validation measured on this machine."""
        import torch

        patch, batch = plan_patch(fp, divisor)
        patch, batch = config.patch_size or patch, config.batch_size or batch
        edge = int(np.median(fp.median_shape))
        infer = config.infer_size or (min(2 * patch, -(-edge // divisor) * divisor) if fp.dims == 2 else patch)
        lr = config.lr or (1e-3 if config.architecture == "lite0-unet" else 5e-3)
        self.config = config = dataclasses.replace(config, patch_size=patch, infer_size=max(patch, infer), lr=lr)
        seconds_per_step = val_seconds = 0.0
        if config.time_budget_s is not None:
            probe = AugmentedPatches(images, masks, patch, 3 * batch, config.seed + 1, plan_augmentation(fp, True))
            device = self._ready()
            self.network_.train()
            timings = []
            for step in range(2):  # the first step pays one-off allocations: timed, not used
                tick = time.perf_counter()
                x, y = (torch.stack(t) for t in zip(*(probe[k] for k in range(step * batch, (step + 1) * batch))))
                loss_fn(self.network_, (x.to(device), y.to(device))).backward()
                timings.append(time.perf_counter() - tick)
            self.network_.zero_grad(set_to_none=True)
            seconds_per_step = float(np.mean(timings[1:])) * 1.1  # + optimizer step and logging
            self.network_.eval()
            tick = time.perf_counter()
            self._segment_prepared(val_data.images[0], flips=[()])
            val_seconds = (time.perf_counter() - tick) * len(val_data.images) + 0.2
            after = (8.0 if config.tta == "auto" else 2.0) * val_seconds + 5.0  # as budget_guard in fit
            remaining = config.time_budget_s - (time.monotonic() - started) - after
        plan = plan_training(fp, divisor, remaining if config.time_budget_s is not None else 0.0,
                             seconds_per_step, val_seconds, patch, batch, config.augmentation)
        if config.time_budget_s is None:  # no budget: a fixed 300 steps in 12 validations
            plan = dataclasses.replace(plan, max_steps=300, eval_every_steps=25, samples_per_epoch=25 * plan.batch_size)
        plan = dataclasses.replace(plan, val_seconds=round(val_seconds, 2))
        steps = min(plan.max_steps, config.max_steps or plan.max_steps)
        config = dataclasses.replace(
            config, batch_size=plan.batch_size, samples_per_epoch=config.samples_per_epoch or plan.samples_per_epoch,
            epochs=config.epochs or max(1, -(-steps // plan.eval_every_steps)), max_steps=steps)
        return config, plan

    def _choose_tta(self, val_data: SegmentationData, started: float) -> dict[str, Any] | None:
        """Keep flip averaging when it raises validation Dice (and the budget has room for the check)."""
        flips = [(), (-1,), (-2,), (-1, -2)] if self.config.spatial_dims == 2 else [(), (-1,), (-2,), (-3,)]
        if self.config.time_budget_s is not None:
            tick = time.perf_counter()
            plain = self._val_dice(val_data, [()])
            if time.monotonic() - started + (time.perf_counter() - tick) * len(flips) > self.config.time_budget_s:
                self.card_["tta_chosen"] = False
                return {"chosen": False, "val_dice": round(plain, 4), "why": "no time left in the budget to check"}
        else:
            plain = self._val_dice(val_data, [()])
        averaged = self._val_dice(val_data, flips)
        chosen = averaged > plain + 0.002
        self.card_["tta_chosen"] = bool(chosen)
        return {"chosen": bool(chosen), "val_dice": round(plain, 4), "val_dice_flip_averaged": round(averaged, 4)}

    def _val_dice(self, val_data: SegmentationData, flips: list[tuple[int, ...]]) -> float:
        """Mean validation Dice over foreground labels; binary masks: over both mask values (whichever is the structure)."""
        predicted = [self._segment_prepared(image, flips=flips) for image in val_data.images]
        by_value = self._value_dice(predicted, val_data, ignore_empty=False)  # which weights to keep: as before
        if by_value:
            dice = np.stack(list(by_value.values()), 1)
        else:
            dice = self._scores(predicted, val_data, hausdorff=False, false_positive_zero=False)["dice"]
        return float(np.nanmean(dice)) if np.isfinite(dice).any() else 0.0

    def _segment_prepared(self, normalised: np.ndarray, flips: list[tuple[int, ...]] | None = None) -> np.ndarray:
        batch = _to_tensor_batch([normalised])
        return self.infer_logits(batch, flips=flips).argmax(1)[0].cpu().numpy().astype(np.uint8)

    def _value_dice(self, predicted: list[np.ndarray], data: SegmentationData,
                    ignore_empty: bool = True) -> dict[str, np.ndarray]:
        """Binary masks: per-item Dice of each file value (0 and 255: both the structure and its complement). With
        `ignore_empty`, as MONAI's Dice of a label: an item whose truth lacks the value is left out (NaN), not 0;
        without it (evaluate's, nnU-Net's rule), only an item where truth and prediction both lack it is."""
        if data.mask_values is None or len(self.label_names_) != 2:
            return {}
        result = {}
        for index, value in enumerate(data.mask_values):
            scores = []
            for mask_pred, mask_true in zip(predicted, data.masks):
                p, t = mask_pred == index, mask_true == index
                total = int(p.sum()) + int(t.sum())
                left_out = not total or (ignore_empty and not t.any())
                scores.append(np.nan if left_out else 2.0 * int((p & t).sum()) / total)
            result[f"dice_value_{value}"] = np.array(scores, dtype=float)
        return result

    def _held_out_card(self, val_data: SegmentationData, same_as_train: bool) -> dict[str, Any]:
        predicted = [self._segment_prepared(image) for image in val_data.images]
        # the card's held-out figures keep MONAI's ignore_empty (as when the shipped default's card was written)
        scores = self._scores(predicted, val_data, hausdorff=False, false_positive_zero=False)
        metrics = {"dice": float(np.nanmean(scores["dice"])), "iou": float(np.nanmean(scores["iou"]))}
        for k, label in enumerate(self.label_names_[1:]):
            column = scores["dice"][:, k]
            if np.isfinite(column).any():
                metrics[f"dice_{label}"] = float(np.nanmean(column))
        for name, column in self._value_dice(predicted, val_data).items():
            if np.isfinite(column).any():
                metrics[name] = float(np.nanmean(column))
        return {"n": len(predicted), "split": "training data (only one item)" if same_as_train else "held-out split",
                "metrics": {k: round(v, 4) for k, v in metrics.items()}}

    # -- persistence -----------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What the model is, its labels, preprocessing and measured held-out quality."""
        return {"task": self.task, **self.card_, "labels": self.label_names_, "notice": RESEARCH_NOTICE,
                "preprocessing": self._preprocessing()}

    def _preprocessing(self) -> dict[str, Any]:
        return {"intensity": "per-image 1st-99th percentile scaling to [0, 1]", "spatial_dims": self.config.spatial_dims,
                "roi_size": list(self._roi()), "overlap": self.config.overlap, "blend": "gaussian",
                "flip_averaging": self._tta_flips() != [()],
                "volume_axes": "(Z, H, W) axial slices; NIfTI reoriented to RAS"}

    # save() is core.TaskModel's: this card (UNet constructor args, labels, preprocessing, metrics), then the weights
    def save_card(self) -> dict[str, Any]:
        if self.network_ is None:
            raise NotFittedError("nothing to save: fit() or load() a model first")
        return {**self.card, "config": config_to_dict(self.config), "usage": USAGE}

    def write_weights(self, folder: Path) -> None:
        """`model.safetensors`, the label names in its metadata (load compares the card's with them)."""
        save_tensors(folder / WEIGHTS_NAME, dict(self.network_.state_dict()),
                     metadata={LABELS_METADATA: json.dumps(list(self.label_names_))})



def _validation_split(data: SegmentationData, groups: list[str], train_index: list[int], val_index: list[int],
                      config: "Segmenter.Config", same_as_train: bool) -> dict[str, Any]:
    """The card's account of the train/validation split of `Segmenter._units`: what one group is and how many."""
    if data.groups is not None:
        grouped_by = "patient"
    elif len(data) == 1 and any(":" in group for group in groups):
        grouped_by = "block of 4 adjacent slices of the one volume"
    else:
        grouped_by = "item (an image or a volume, its slices together)"
    method = ("none: one group only, validated on the training data" if same_as_train else
              f"one train/validation split (validation_fraction={config.validation_fraction}, seed={config.seed})")
    return describe_split(method, groups, grouped_by, train_index, val_index)


def _training_rows(unit_items: list[int], train_index: list[int], val_index: list[int],
                   same_as_train: bool) -> dict[str, int]:
    """The card's `training.rows` (the items, images or volumes, the weights were trained on) and `validation_rows`
    (those held out whole for validation); core.jobs keeps these counts. One volume split by blocks of slices trains
    on some of its slices and validates on the others: it is one trained row, none held out whole.

    >>> _training_rows([0, 1, 2, 3, 4], [0, 1, 2, 3], [4], False)
    {'rows': 4, 'validation_rows': 1}
    >>> _training_rows([0, 0, 0, 0], [0, 1], [2, 3], False)
    {'rows': 1, 'validation_rows': 0}
    """
    trained = {unit_items[i] for i in train_index}
    held = set() if same_as_train else {unit_items[i] for i in val_index} - trained
    return {"rows": len(trained), "validation_rows": len(held)}


def _as_stored(mask: np.ndarray, image: MedicalImage) -> tuple[np.ndarray, list[float]]:
    """The mask and its spacing on the input's voxel grid as stored: a NIfTI file's own (i, j, k), not the canonical
    (Z, H, W) axial view segmentation ran on (what a user decoding the record against their input array expects)."""
    stored = to_file_voxels(mask, image)
    if stored is None:
        return mask, [float(s) for s in image.spacing]
    zooms = image.source_grid["header"].get_zooms()
    mm_per_unit = image.source_grid.get("mm_per_unit", 1.0)  # a micron / metre file's voxel sizes in mm
    return stored, [float(zooms[axis]) * mm_per_unit if axis < len(zooms) else 1.0 for axis in range(stored.ndim)]


def _mask_grid(image: MedicalImage, shape: tuple[int, ...]) -> dict[str, Any]:
    """What the axes of a predicted mask (and its run-length code) are, and for NIfTI the affine of that grid."""
    if image.source_grid:
        axes = "(i, j, k)" if len(shape) == 3 else "(i, j)"
        grid = (f"the NIfTI file's own voxel grid, axes {axes} as stored (nib.load(path).get_fdata() order, "
                "not reoriented); mask_affine is the file's affine")
        affine = np.asarray(image.source_grid["affine"], dtype=float)
        return {"mask_grid": grid, "mask_affine": [[round(float(v), 6) for v in row] for row in affine]}
    if image.orientation == "LPS":
        grid = ("DICOM pixel grid, axes (slice, row, column): slices ascending along the slice normal, rows and columns "
                "as stored" if len(shape) == 3 else "DICOM pixel grid, axes (row, column) as stored")
        to_world = index_to_world(image)  # None: no ImagePositionPatient / ImageOrientationPatient to place it
        if to_world is None:
            return {"mask_grid": grid + "; no position tags, so no mask_affine", "mask_affine": None}
        if len(shape) == 2:  # (row, column, 0): the slice normal as the third axis
            to_world = to_world[:, [1, 2, 0, 3]]
        axes = "(slice, row, column)" if len(shape) == 3 else "(row, column, 0)"
        grid += (f"; mask_affine maps {axes} to world mm in RAS, as a NIfTI affine (DICOM's LPS: x and y negated), "
                 "from the DICOM position tags")
        return {"mask_grid": grid, "mask_affine": [[round(float(v), 6) for v in row] for row in to_world]}
    grid = "the input's own pixel grid, axes (z, row, column)" if len(shape) == 3 else \
        "the input's own pixel grid, axes (row, column)"
    return {"mask_grid": grid, "mask_affine": None}


def _mask_folder(masks: str | Path | None) -> Path | None:
    """The folder `predict(masks=...)` writes mask files into, made if missing; refused if it is a file."""
    if masks is None or str(masks).strip() == "":
        return None
    folder = Path(masks).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"masks={masks} is a file; pass a folder to write the mask files into")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _refuse_masks_over_inputs(folder: Path, inputs: Any, names: list[str | None]) -> None:
    """`masks=DIR` may not write over an input (a mask takes its input's stem: masks written into the inputs' own
    folder replaced the scans) nor into a saved model's folder (a file its card does not list breaks the model)."""
    from core.artifacts import model_dir_holding

    where = folder.resolve()
    model = model_dir_holding(where)
    if model is not None:
        raise InputError(f"masks={folder} is inside the saved model folder {model}: a file its card does not list "
                         "would make the model refuse to load; write the masks to another folder")
    given = {Path(item).resolve() for item in inputs if isinstance(item, (str, Path)) and Path(item).is_file()}
    for name in filter(None, names):
        for suffix in (".nii.gz", ".png"):
            if (where / (name + suffix)).resolve() in given:
                raise InputError(f"masks={folder} would write the mask {name + suffix} over the input of that name; "
                                 "write the masks to another folder (nothing was written)")


def _mask_names(inputs: list[Any]) -> list[str | None]:
    """The name (no suffix) of each input's mask file, None for an input `Inputs.errors` names: the input's stem
    (`mask_<n>` for arrays and bytes, n its place from 1, as its record's `index`), `-2`, `-3`... for a stem an
    earlier input has, ignoring case (one file on macOS and Windows) and suffix (`x.png` and `x.nii.gz` would be two
    masks of one stem, which a folder of masks paired by name cannot tell apart).

    >>> _mask_names([Path("a/scan.nii.gz"), Path("b/SCAN.png"), np.zeros((2, 2)), Path("mask_3.dcm")])
    ['scan', 'SCAN-2', 'mask_3', 'mask_3-2']
    """
    errors = getattr(inputs, "errors", {})
    names: list[str | None] = []
    taken: set[str] = set()
    for index, source in enumerate(inputs):
        if index in errors:
            names.append(None)
            continue
        stem = _stem(Path(source)) if isinstance(source, (str, Path)) else f"mask_{index + 1}"
        name, copy = stem, 1
        while name.lower() in taken:  # two inputs of one name (in different folders) must not overwrite each other
            copy += 1
            name = f"{stem}-{copy}"
        taken.add(name.lower())
        names.append(name)
    return names


def _write_mask(mask: np.ndarray, image: MedicalImage, folder: Path, name: str,
                file_values: list[int] | None = None) -> Path:
    """Write one predicted mask atomically as `folder/<name>` (`_mask_names`): NIfTI (uint8) for NIfTI, DICOM and
    volumes, PNG for 2-D pictures; label k is written as `file_values[k]` when given (a binary model's training
    values, e.g. 0/255), else as its index."""
    import io as bytes_io

    from PIL import Image

    from core.artifacts import atomic_write_bytes
    from medical.io import write_nifti

    nifti = image.is_volume or image.orientation is not None  # NIfTI / DICOM keep their geometry; pictures are PNG
    path = folder / (name + (".nii.gz" if nifti else ".png"))
    labels = mask.astype(np.uint8)
    if file_values is not None:
        labels = np.asarray(file_values, dtype=np.uint8)[labels]  # label index -> the training masks' value
    if nifti:
        return write_nifti(labels, path, like=image)  # on the input file's own grid, affine and qform/sform codes
    buffer = bytes_io.BytesIO()
    Image.fromarray(labels).save(buffer, format="PNG")  # (H, W) uint8 grey PNG
    return atomic_write_bytes(path, buffer.getvalue())


# how to open a saved folder with MONAI alone (the card's `usage`): predict's label map of a 2-D image
USAGE = """\
# folder: the saved model folder (str or pathlib.Path); images: a list of 2-D image files (PNG, JPEG, TIFF; 8- or
# 16-bit) for a 2-D model; the product also reads NIfTI / DICOM (volumes as (Z, H, W), NIfTI reoriented to RAS), not
# done here
import json, pathlib, numpy as np, torch
from PIL import Image, ImageOps
from monai.inferers import sliding_window_inference
from monai.networks.nets import UNet
from safetensors.torch import load_file
folder = pathlib.Path(folder)
card = json.loads((folder / "card.json").read_text())
network = UNet(**card["network"]["args"])
network.load_state_dict(load_file(str(folder / "model.safetensors")))
network.eval()
settings = card["preprocessing"]
flips = [(), (-1,), (-2,), (-1, -2)] if settings.get("flip_averaging") else [()]
def scores(x):  # sliding windows, gaussian blending
    return sliding_window_inference(x, settings["roi_size"], 4, network, overlap=settings["overlap"],
                                    mode=settings["blend"])
def read(path):  # as predict reads a picture: EXIF rotation applied, 16-bit and float pixels keep their values
    image = ImageOps.exif_transpose(Image.open(path))  # (.convert("L") would clip 16-bit EM / microscopy at 255)
    grey = np.asarray(image if image.mode in ("I;16", "I;16B", "I;16L", "I", "F") else image.convert("L"), np.float32)
    return np.where(np.isfinite(grey), grey, 0).astype(np.float32)  # colour: ITU-R 601-2 luma; NaN / inf read as 0
predictions = []
for path in images:
    grey = read(path)
    low, high = np.percentile(grey, [1, 99])
    x = torch.from_numpy(((grey - low) / (float(high - low) or 1.0)).astype(np.float32))[None, None]  # not clipped
    with torch.no_grad():  # with flip averaging: the mean softmax over the flipped copies, flipped back
        total = scores(x) if flips == [()] else sum(scores(x.flip(a) if a else x).softmax(1).flip(a) if a
                                                    else scores(x).softmax(1) for a in flips) / len(flips)
    predictions.append(total.argmax(1)[0].numpy())  # (H, W) label indices into card["labels"]
"""


def seal_usage(folder: Path = SHIPPED) -> dict[str, Any]:
    """Give a saved card the current `usage` (what save() writes now) and re-seal it (`write_card`); its weights and
    every other field stay as they are (the folder is verified first). For the shipped default, whose card was written
    before cards carried `usage` or when the snippet changes, without retraining (`rebuild_default` retrains)."""
    from core.artifacts import CARD_DIGEST, CARD_NAME, write_card

    read_card(folder, task=Segmenter.task)  # every file's hash and the card's seal checked
    card = json.loads((Path(folder) / CARD_NAME).read_text(encoding="utf-8"))
    body = {key: value for key, value in card.items() if key not in {CARD_DIGEST, "usage"}}
    return write_card(folder, {**body, "usage": USAGE})


def _recorded_labels(folder: Path, card: dict[str, Any]) -> tuple[Any, str]:
    """(label names, where) as the hashed weights record them: the safetensors metadata of folders saved since it
    carries them (the shipped default's too); None for older folders."""
    from safetensors import safe_open

    try:
        with safe_open(str(folder / WEIGHTS_NAME), framework="pt") as weights:
            text = (weights.metadata() or {}).get(LABELS_METADATA)
    except Exception as error:  # load_tensors has just read the file; keep its errors' type anyway
        raise UnsafeArtifactError(f"{folder / WEIGHTS_NAME} is not a valid safetensors file ({error})") from error
    if text is not None:
        try:
            names = json.loads(text)
        except json.JSONDecodeError:
            names = text
        return names, f"the metadata of {WEIGHTS_NAME}"
    return None, ""


def brain_tissue_data() -> SegmentationData:
    """MNI152 T1 (2 mm) with labels background / grey matter / white matter / CSF from nilearn's packaged maps."""
    from nilearn import datasets

    from medical.io import read_medical as _read

    template = _read(datasets.load_mni152_template(resolution=2))
    grey = _read(datasets.load_mni152_gm_template(resolution=2)).array
    white = _read(datasets.load_mni152_wm_template(resolution=2)).array
    brain = _read(datasets.load_mni152_brain_mask(resolution=2)).array
    csf = np.clip(brain - grey - white, 0.0, 1.0)
    labels = np.argmax(np.stack([1.0 - brain, grey, white, csf]), axis=0).astype(np.int64)
    image = np.where(brain > 0, template.array, 0.0).astype(np.float32)
    return SegmentationData([image], [labels], ["mni152_2mm"], list(BRAIN_LABELS), [template.spacing], None,
                            "nilearn-mni152-2009-2mm")


def load(source: str | Path | None = None, device: str = "auto") -> Segmenter:
    """The embedded default segmenter, a saved folder or a hub id (same as `Segmenter.load`)."""
    return Segmenter.load(source, device=device)


def _check_preprocessing_runs(folder: Path, preprocessing: Any, model: "Segmenter") -> None:
    """Refuse (`card_mismatch`, naming the field) a card whose preprocessing roi_size, overlap, flip_averaging or
    spatial_dims is out of range or is not what inference runs: predict reads the saved config, never this block, so
    an edited roi_size [0, 0], overlap 1.5 or flip_averaging false loaded and predicted exactly as before."""
    from core.artifacts import card_mismatch

    overlap = model.config.overlap
    if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not 0 <= overlap < 1:
        raise card_mismatch(folder, f"its config.overlap {overlap!r:.80} is not a number from 0 to below 1")
    for name in ("patch_size", "infer_size"):
        edge = getattr(model.config, name)
        if edge is not None and (isinstance(edge, bool) or not isinstance(edge, int) or edge < 1):
            raise card_mismatch(folder, f"its config.{name} {edge!r:.80} is not a whole number of pixels above 0")
    if preprocessing is None:
        return
    if not isinstance(preprocessing, dict):
        raise card_mismatch(folder, f"its preprocessing {preprocessing!r:.80} is not a mapping")
    runs = model._preprocessing()
    roi = preprocessing.get("roi_size", runs["roi_size"])
    if not isinstance(roi, list) or not roi or any(isinstance(e, bool) or not isinstance(e, int) or e < 1 for e in roi):
        raise card_mismatch(folder, f"its preprocessing.roi_size {roi!r:.80} is not a list of whole numbers of pixels "
                                    "above 0")
    value = preprocessing.get("overlap", runs["overlap"])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise card_mismatch(folder, f"its preprocessing.overlap {value!r:.80} is not a number from 0 to below 1 (the "
                                    "share of each sliding window that overlaps the next)")
    flips = preprocessing.get("flip_averaging", runs["flip_averaging"])
    if not isinstance(flips, bool):
        raise card_mismatch(folder, f"its preprocessing.flip_averaging {flips!r:.80} is not true or false")
    for key in ("spatial_dims", "roi_size", "overlap", "flip_averaging"):
        if key in preprocessing and preprocessing[key] != runs[key]:
            source = {"flip_averaging": "config.tta and tta_chosen", "roi_size": "config.infer_size / patch_size"}
            raise card_mismatch(folder, f"its preprocessing.{key} {preprocessing[key]!r:.80} is not what inference "
                                        f"runs ({runs[key]!r:.80}, from {source.get(key, 'config.' + key)}); predict "
                                        "does not read this field")
