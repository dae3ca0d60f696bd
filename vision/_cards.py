"""Checks that a saved vision model's card.json agrees with the weights beside it: label names against the outputs of
the head, normalisation numbers a network can be fed with. A hand-edited card would otherwise mislabel silently."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from core.artifacts import card_mismatch

__all__ = ["card_mismatch", "check_label_names", "check_preprocessing", "head_outputs"]


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
    each, std > 0); `channels` is what the network's first convolution reads."""
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
