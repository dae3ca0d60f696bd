"""Helpers shared by medical segmentation and classification: group splits, run-length masks, hub folders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError

RESEARCH_NOTICE = "Research use only, not for diagnosis."


def split_groups(groups: Sequence[str], validation_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices for train / validation with every group (patient) entirely on one side.

    >>> train, val = split_groups(["a", "a", "b", "c", "d"], 0.25, 0)
    >>> len(val), sorted(train + val)
    (1, [0, 1, 2, 3, 4])
    """
    if not 0.0 < validation_fraction < 1.0:
        raise InputError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
    unique = sorted(set(groups))
    if len(unique) < 2:
        return list(range(len(groups))), []
    rng = np.random.default_rng(seed)
    order = [unique[i] for i in rng.permutation(len(unique))]
    count = min(len(unique) - 1, max(1, round(validation_fraction * len(unique))))
    held = set(order[:count])
    train = [i for i, g in enumerate(groups) if g not in held]
    val = [i for i, g in enumerate(groups) if g in held]
    return train, val


def patient_from_name(name: str, pattern: str | None) -> str | None:
    """Patient id from a file name by a regex (its first group, else the whole match).

    >>> patient_from_name("00000032_042.png", r"^(\\d+)_")
    '00000032'
    """
    if not pattern:
        return None
    try:
        match = re.search(pattern, name)
    except re.error as error:
        raise InputError(f"patient_pattern {pattern!r} is not a valid regular expression ({error})") from error
    if match is None:
        raise InputError(f"patient_pattern {pattern!r} does not match file name {name!r}")
    return match.group(1) if match.groups() else match.group(0)


def run_length(mask: np.ndarray) -> dict[str, list[int]]:
    """Run-length code of a label mask in C order: values and run lengths.

    >>> run_length(np.array([[0, 0, 1], [1, 1, 0]]))
    {'values': [0, 1, 0], 'lengths': [2, 3, 1]}
    """
    flat = np.asarray(mask).ravel()
    if flat.size == 0:
        return {"values": [], "lengths": []}
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    return {"values": flat[starts].astype(int).tolist(), "lengths": lengths.astype(int).tolist()}


def decode_run_length(code: dict[str, list[int]], shape: Sequence[int]) -> np.ndarray:
    """Inverse of `run_length`.

    >>> decode_run_length(run_length(np.eye(2, dtype=int)), (2, 2)).tolist()
    [[1, 0], [0, 1]]
    """
    return np.repeat(np.asarray(code["values"], dtype=np.int64), code["lengths"]).reshape(shape)


def data_hash(paths: Sequence[Path]) -> str:
    """Hash of the training files (names + bytes)."""
    from core.artifacts import hash_files

    return hash_files(sorted(set(paths)))


def plain(value: Any) -> Any:
    """Numbers/arrays to JSON-ready Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
