"""Checks that a saved vision model's card.json agrees with the weights beside it: label names against the outputs of
the head, normalisation numbers a network can be fed with. A hand-edited card would otherwise mislabel silently."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from core.artifacts import card_mismatch

__all__ = ["card_mismatch", "check_label_names", "check_preprocessing", "match_preprocessing", "head_outputs",
           "card_record"]

# what every save writes afresh (core.artifacts.save_model_dir): never carried over from the card a model was loaded with
SAVE_WRITES = ("files", "format_version", "created", "library_versions", "card_sha256")

PREPROCESSING_KEYS = ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")  # timm's data config
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")  # timm's str_to_interp_mode names
CROP_MODES = ("center", "squash", "border")  # timm's transforms_imagenet_eval
CROP_PCT_MAX = 2.0  # timm's own models use 0.8 to 1.15: the resized side is the input side / crop_pct


def check_label_names(path: Path, labels: Any, outputs: int, head: str = "head",
                      repeatable: Iterable[str] = ()) -> list[str]:
    """`labels` as a list of distinct names (`repeatable` ones may repeat), one per output of the head.

    >>> check_label_names(Path("m"), ["a", "b", "c"], 2)
    Traceback (most recent call last):
    core.errors.UnsafeArtifactError: m: card.json does not match the weights beside it: its label_names list 3 names ['a', 'b', 'c'] but its head has 2 outputs. The card was edited or the folder mixes two models; restore its card.json, or re-save the model with save()
    """
    if not isinstance(labels, list) or not labels or not all(isinstance(name, str) and name.strip() for name in labels):
        raise card_mismatch(path, f"its label_names {_quoted(labels)} are not a list of names (one string per output)")
    repeated = sorted({name for name in labels if labels.count(name) > 1} - set(repeatable))
    if repeated:
        raise card_mismatch(path, f"its label_names repeat {', '.join(map(repr, repeated))}; each output needs its own name")
    if len(labels) != outputs:
        raise card_mismatch(path, f"its label_names list {len(labels)} name{'s' * (len(labels) != 1)} {_quoted(labels)} "
                                  f"but its {head} has {outputs} outputs")
    return labels


def check_preprocessing(path: Path, preprocessing: Any, channels: int | None = None) -> None:
    """The card's `preprocessing`: input_size (channels, height, width), mean and std (1 or `channels` finite numbers
    each, std > 0), and where given interpolation, crop_pct and crop_mode as timm's transforms take them; `channels` is
    what the network's first convolution reads."""
    if preprocessing is None:
        return
    if not isinstance(preprocessing, dict):
        raise card_mismatch(path, f"its preprocessing {_quoted(preprocessing)} is not a mapping")
    size = preprocessing.get("input_size")
    if not isinstance(size, (list, tuple)) or len(size) != 3 or not all(_whole(v) and v >= 1 for v in size):
        raise card_mismatch(path, f"its preprocessing.input_size {_quoted(size)} is not [channels, height, width] "
                                  "(three whole numbers >= 1)")
    if channels is not None and size[0] != channels:
        raise card_mismatch(path, f"its preprocessing.input_size has {size[0]} channels but the network reads {channels}")
    for key in ("mean", "std"):
        value = preprocessing.get(key)
        if not isinstance(value, (list, tuple)) or len(value) not in {1, size[0]} or not all(_finite(v) for v in value):
            raise card_mismatch(path, f"its preprocessing.{key} {_quoted(value)} is not 1 or {size[0]} finite numbers "
                                      f"(one per input channel)")
    if not all(v > 0 for v in preprocessing["std"]):
        raise card_mismatch(path, f"its preprocessing.std {preprocessing['std']} has a value <= 0 (pixels are divided "
                                  "by it)")
    interpolation = preprocessing.get("interpolation", "bilinear")
    if interpolation not in INTERPOLATIONS:
        raise card_mismatch(path, f"its preprocessing.interpolation {_quoted(interpolation)} is not one of "
                                  f"{', '.join(INTERPOLATIONS)}")
    crop_pct = preprocessing.get("crop_pct")
    if crop_pct is not None and not (_finite(crop_pct) and 0 < crop_pct <= CROP_PCT_MAX):
        raise card_mismatch(path, f"its preprocessing.crop_pct {_quoted(crop_pct)} is not a number above 0 and at most "
                                  f"{CROP_PCT_MAX:g} (the share of the resized image kept by the centre crop)")
    crop_mode = preprocessing.get("crop_mode")
    if crop_mode is not None and crop_mode not in CROP_MODES:
        raise card_mismatch(path, f"its preprocessing.crop_mode {_quoted(crop_mode)} is not one of {', '.join(CROP_MODES)}")


def match_preprocessing(path: Path, preprocessing: dict[str, Any], saved: Any) -> dict[str, Any]:
    """The card's (checked) `preprocessing` against `saved`, the `pretrained_cfg` of timm's config.json beside it (both
    written by save() from one data config; config.json is hashed, card.json cannot be): a value that differs is
    `card_mismatch`, a key only config.json holds is taken from it. Keys config.json lacks (older folders) are not
    compared. A single mean / std value matches the same value repeated per channel (timm writes it so).

    >>> match_preprocessing(Path("m"), {"mean": [0.5], "crop_pct": 1.0}, {"mean": [0.5, 0.5, 0.5], "crop_pct": 1.0,
    ...                                                                    "crop_mode": "center"})
    {'mean': [0.5], 'crop_pct': 1.0, 'crop_mode': 'center'}
    >>> match_preprocessing(Path("m"), {"crop_pct": 0.3}, {"crop_pct": 1.0})
    Traceback (most recent call last):
    core.errors.UnsafeArtifactError: m: card.json does not match the weights beside it: its preprocessing.crop_pct 0.3 differs from the 1.0 of config.json beside it (the pretrained_cfg timm reads). The card was edited or the folder mixes two models; restore its card.json, or re-save the model with save()
    """
    if not isinstance(saved, dict):
        return preprocessing
    matched = dict(preprocessing)
    for key in PREPROCESSING_KEYS:
        if key not in saved:
            continue
        if key not in matched:
            matched[key] = saved[key]
        elif not _same(matched[key], saved[key], repeat=key in {"mean", "std"}):
            raise card_mismatch(path, f"its preprocessing.{key} {_quoted(matched[key])} differs from the "
                                      f"{_quoted(saved[key])} of config.json beside it (the pretrained_cfg timm reads)")
    return matched


def _same(card: Any, saved: Any, repeat: bool = False) -> bool:
    """Equal values: numbers to float precision, lists / tuples alike; with `repeat`, one number equals it repeated."""
    if isinstance(card, (list, tuple)) and isinstance(saved, (list, tuple)):
        if repeat and len(card) == 1 and len(saved) > 1:
            card = list(card) * len(saved)
        return len(card) == len(saved) and all(_same(a, b) for a, b in zip(card, saved))
    if _finite(card) and _finite(saved):
        return math.isclose(card, saved, rel_tol=1e-6, abs_tol=1e-9)
    return type(card) is type(saved) and card == saved


def head_outputs(expected: dict[str, Any], saved: dict[str, Any], labels: int) -> int | None:
    """How many classes the saved weights' head has, from the tensors whose first dimension grows with the class
    count (in `expected`, built for `labels` classes); None when the weights differ otherwise (another network)."""
    found = set()
    for key, tensor in expected.items():
        other = saved.get(key)
        if other is None or tuple(other.shape) == tuple(tensor.shape):
            continue
        if other.ndim != tensor.ndim or tuple(other.shape[1:]) != tuple(tensor.shape[1:]) or tensor.shape[0] % labels:
            return None
        per_class = tensor.shape[0] // labels  # anchors per location (RetinaNet, SSD) or box coordinates (Faster R-CNN)
        if other.shape[0] % per_class:
            return None
        found.add(other.shape[0] // per_class)
    return found.pop() if len(found) == 1 else None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _quoted(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def card_record(card: dict[str, Any], written: Iterable[str]) -> dict[str, Any]:
    """What a loaded model keeps of its card to write back on save(): every field but those its `save_card` builds
    from the model itself (`written`) and those each save writes afresh (hashes, format, time, library versions),
    so a load + save (the way to seal an older card) keeps the `training` record (data hash, rows, seconds, config,
    base model), the metrics and anything else the card held.

    >>> card_record({"task": "t", "files": {}, "training": {"rows": 16}, "metrics": {}, "created": "x"}, ["task"])
    {'training': {'rows': 16}, 'metrics': {}}
    """
    dropped = set(written) | set(SAVE_WRITES)
    return {key: value for key, value in card.items() if key not in dropped}
