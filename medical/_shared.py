"""Helpers shared by medical segmentation and classification: group splits, run-length masks, predict inputs and
records, reading notes."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.data.tables import is_empty_cell, is_table
from core.errors import InputError
from core.protocols import Inputs, identify_inputs, predict_in_place, with_ids

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


def describe_split(method: str, groups: Sequence[Any], grouped_by: str, train_index: Sequence[int],
                   val_index: Sequence[int], folds: int | None = None) -> dict[str, Any]:
    """The card's account of how validation was split: the method, what one group is (a patient: all of a patient's
    items stay on one side / in one fold), and how many groups each side holds.

    >>> describe_split("one train/validation split", ["a", "a", "b", "c"], "patient", [0, 1, 2], [3])
    {'method': 'one train/validation split', 'grouped_by': 'patient', 'groups': 3, 'train_groups': 2, 'validation_groups': 1}
    """
    record = {"method": method, "grouped_by": grouped_by, "groups": len(set(groups))}
    if folds is not None:
        return {**record, "folds": folds}
    train, held = {groups[i] for i in train_index}, {groups[i] for i in val_index}
    record.update(train_groups=len(train), validation_groups=len(held))
    if set(train_index) != set(val_index) and train & held:  # only a split the data laid out itself can do this
        record["groups_on_both_sides"] = len(train & held)
    return record


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


def items_hash(items: Sequence[Any]) -> str:
    """Hash of labelled data given in memory: `data_hash` when every item is a file path, else one SHA-256 over each
    item in order (a file's name and bytes, an encoded file's bytes, an array's or PIL image's shape, type and pixels).

    >>> items_hash([np.zeros((2, 2))]) == items_hash([np.zeros((2, 2))]) != items_hash([np.ones((2, 2))])
    True
    """
    import hashlib

    from core.artifacts import hash_files

    if items and all(isinstance(item, Path) and item.exists() for item in items):
        return data_hash(items)
    digest = hashlib.sha256()
    for item in items:
        if isinstance(item, (str, Path)):
            if not Path(item).exists():
                raise InputError(f"{item} does not exist")
            digest.update(hash_files([item]).encode())
        elif isinstance(item, (bytes, bytearray, memoryview)):
            digest.update(bytes(item))
        else:
            pixels = getattr(item, "array", item)  # a MedicalImage's pixels
            try:
                array = np.ascontiguousarray(np.asarray(pixels))
            except Exception:  # an object numpy cannot read (an open file): its type only
                array = np.asarray(type(item).__name__)
            if array.dtype == object:
                array = np.asarray(repr(type(item).__name__))
            digest.update(f"{array.shape}{array.dtype.str}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()



def table_columns(frame: Any, columns: Sequence[str], what: str) -> list[list[Any]]:
    """The cells of `columns` of a pandas / polars table (or LazyFrame), one list per column; a missing column or an
    empty cell is an `InputError` (`what` says what the table holds, e.g. "labelled images").

    >>> import polars as pl
    >>> table_columns(pl.DataFrame({"file": ["a.png"]}), ["path", "label"], "labelled images")
    Traceback (most recent call last):
    core.errors.InputError: a table of labelled images needs the columns 'path' and 'label'; it has: file
    """
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        names = frame.collect_schema().names()
        frame = frame.select([c for c in columns if c in names]).collect() if set(columns) <= set(names) else frame.head(0).collect()
    present = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in present]
    if missing:
        raise InputError(f"a table of {what} needs the columns {' and '.join(map(repr, columns))}; it has: "
                         f"{', '.join(present[:30]) or 'no columns'}")
    cells = [list(frame[c]) for c in columns]
    for row, values in enumerate(zip(*cells), start=1):
        for column, value in zip(columns, values):
            if is_empty_cell(value):
                raise InputError(f"row {row} of the table has an empty {column!r} cell")
    if not cells or not cells[0]:
        raise InputError(f"the table lists no {what}")
    return cells


def table_path(value: Any, row: int, column: str) -> Path:
    """A table cell naming a file, as a path: a relative one resolves against the current folder (a table in memory
    has no folder of its own); the file must exist."""
    text = str(value).strip()
    base = Path.cwd()
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists() and "\\" in text and (base / text.replace("\\", "/")).exists():
        path = base / text.replace("\\", "/")  # a path written on Windows
    if not path.exists():
        raise InputError(f"row {row} of the table: {column} {text} does not exist"
                         + ("" if Path(text).is_absolute() else f" (relative paths resolve against {base})"))
    return path


def table_or_pairs(data: Any, columns: tuple[str, str], id: str | None, what: str, wrong: str,
                   second_is_path: bool) -> tuple[list[Any], list[Any], list[str] | None]:
    """(images, labels or masks, patient groups or None) of in-memory data: a table's two `columns` (its `id` column
    the groups; paths resolved by `table_path`, the second too when `second_is_path`), else a list of pairs
    (`labelled_pairs`), which names no patients."""
    if is_table(data):
        cells = table_columns(data, list(columns) + ([id] if id else []), what)
        firsts = [table_path(value, row, columns[0]) for row, value in enumerate(cells[0], start=1)]
        seconds = ([table_path(value, row, columns[1]) for row, value in enumerate(cells[1], start=1)]
                   if second_is_path else cells[1])
        return firsts, seconds, ([str(value) for value in cells[2]] if id else None)
    if id:
        raise InputError(f"id= names a patient column of a table or CSV; a list of pairs has none (pass "
                         f"patient_pattern=, or a table with an {id!r} column)")
    pairs = labelled_pairs(data, wrong)
    return [first for first, _ in pairs], [second for _, second in pairs], None


def labelled_pairs(data: Any, wrong: str) -> list[tuple[Any, Any]]:
    """A list (or other iterable) of (image, label-or-mask) pairs; a path given as text becomes a `Path`. Anything
    else (a dict, one string, a pair that is not two things) is an `InputError` saying `wrong` (what is taken).

    >>> labelled_pairs([("a.png", "cat")], "pass pairs")
    [(PosixPath('a.png'), 'cat')]
    >>> labelled_pairs({"a.png": "cat"}, "pass pairs")
    Traceback (most recent call last):
    core.errors.InputError: pass pairs; got dict
    """
    if data is None or isinstance(data, (dict, str, bytes, bytearray, memoryview, np.ndarray)) \
            or not hasattr(data, "__iter__"):
        raise InputError(f"{wrong}; got {type(data).__name__}")
    pairs = []
    for position, entry in enumerate(data, start=1):  # a string would split into characters: ("p", "a") from "path"
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise InputError(f"{wrong}; item {position} is {type(entry).__name__}"
                             + (f" of {len(entry)}" if isinstance(entry, (tuple, list)) else ""))
        image, target = entry
        if is_empty_cell(image) or (not isinstance(target, np.ndarray) and is_empty_cell(target)):
            raise InputError(f"pair {position} has an empty {'image' if is_empty_cell(image) else 'label or mask'}")
        pairs.append((Path(image) if isinstance(image, str) else image, target))
    if not pairs:
        raise InputError(f"no labelled images given; {wrong}")
    return pairs


def plain(value: Any) -> Any:
    """Numbers/arrays to JSON-ready Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _is_one_study(inputs: Any) -> bool:
    """Whether predict's `inputs` is one study (a path, array, PIL image, the file's bytes, an open file, a nibabel
    image...) rather than a list of them."""
    from medical.io import MedicalImage, _is_pil_image

    if isinstance(inputs, (str, Path, np.ndarray, bytes, bytearray, memoryview, MedicalImage)):
        return True
    if hasattr(inputs, "read") or (hasattr(inputs, "get_fdata") and hasattr(inputs, "affine")):
        return True
    return _is_pil_image(inputs)  # a PIL image iterates nothing useful


def predict_inputs(inputs: Any) -> list[Any]:
    """predict's inputs as a list: one study is a list of one; `Inputs` (with their ids and errors) pass through.

    >>> len(predict_inputs(np.zeros((4, 4)))), len(predict_inputs([np.zeros((4, 4))] * 2)), predict_inputs([])
    (1, 2, [])
    """
    if inputs is None:
        raise InputError("predict needs images, got None; pass a path, the file's bytes, a PIL image, a numpy array "
                         "or a list of them")
    if isinstance(inputs, Inputs):
        return inputs
    if _is_one_study(inputs):
        return identify_inputs([inputs], paths=True)
    if is_table(inputs):  # a pandas / polars table iterates its columns
        raise InputError("a table is not a list of studies; score a table of image paths with "
                         "predict_frame(frame, columns='path'), or pass a list of paths")
    try:
        items = list(inputs)
    except TypeError:  # not iterable: one input, which read_medical refuses by its type
        items = [inputs]
    return identify_inputs(items, paths=True)  # a missing file's error record keeps its `path`, as its neighbours


def reading_notes(image: Any) -> list[str]:
    """What reading changed in a `MedicalImage`, as `medical.io` notes it (e.g. NaN voxels read as 0), each naming
    the file: a predict record's `warnings`, and the notes a data set's warning joins (`notes_warning`).

    >>> from medical.io import MedicalImage
    >>> reading_notes(MedicalImage(np.zeros((2, 2)), (1.0, 1.0), metadata={"warnings": ["a.nii: 1 voxel(s) ..."]}))
    ['a.nii: 1 voxel(s) ...']
    """
    return [str(note) for note in image.metadata.get("warnings", [])]


def notes_warning(notes: Sequence[str]) -> str | None:
    """Reading notes as one warning (a card's `warning`, a CLI `warning:` line); None without any.

    >>> notes_warning(["x.nii: 3 voxel(s) read as 0"] * 7)[-59:]
    'x.nii: 3 voxel(s) read as 0; and 2 more image(s) like these'
    """
    if not notes:
        return None
    more = f"; and {len(notes) - 5} more image(s) like these" if len(notes) > 5 else ""
    return "; ".join(notes[:5]) + more


class _ByPlace:
    """`predict_in_place`'s model for `records_with_errors`: its inputs are places, predicted by `predict_at`."""

    def __init__(self, predict_at: Callable[[list[int]], list[dict[str, Any]]]):
        self.predict_at = predict_at

    def predict(self, places: list[int], batch_size: int | None = None) -> list[dict[str, Any]]:
        return self.predict_at(list(places))


def records_with_errors(inputs: list[Any], predict_at: Callable[[list[int]], list[dict[str, Any]]],
                        batch_size: int | None = None) -> list[dict[str, Any]]:
    """One record per input, its id first (`with_ids`): `predict_at(places)` predicts the inputs at those places
    (indexes into `inputs`) that can be read, an `{"error": why}` record for those `Inputs.errors` names (an empty path
    cell of a table). A batch that fails on one unreadable study is predicted study by study, through `predict_at` again
    (`core.protocols.predict_in_place`), so the bad one is an error record in its place, as the CLI gives, and what
    `predict_at` derives from a place (a mask file's name) is the same on both paths.

    >>> records_with_errors(["a", "b"], lambda places: [{"at": p} for p in places])
    [{'index': 1, 'at': 0}, {'index': 2, 'at': 1}]
    """
    errors = getattr(inputs, "errors", {})
    places = [index for index in range(len(inputs)) if index not in errors]
    try:
        produced = iter(predict_at(places))
    except InputError:
        if len(places) < 2:
            raise
        identified = identify_inputs(inputs)
        return predict_in_place(_ByPlace(predict_at), Inputs(range(len(inputs)), identified.ids, errors), batch_size)
    records = [{"error": errors[index]} if index in errors else next(produced) for index in range(len(inputs))]
    return with_ids(inputs, records)


def frame_paths(batch: Any, columns: Any, preferred: tuple[str, ...]) -> Inputs:
    """A table's image column (`columns` names it, else the first of `preferred` it has) as predict inputs: paths
    (or a cell's bytes); an empty cell is an error record in its row, not a file called "None".

    >>> import polars as pl
    >>> frame_paths(pl.DataFrame({"path": ["a.png", None]}), None, ("path",)).errors
    {1: "no image: the 'path' cell is empty"}
    """
    names = batch.columns
    column = columns if isinstance(columns, str) else next((c for c in preferred if c in names), None)
    if column is None or column not in names:
        raise InputError(f"pass columns='<image path column>'; the table has {names}")
    items, errors = [], {}
    for index, value in enumerate(batch[column].to_list()):
        if isinstance(value, (bytes, bytearray)) and value:
            items.append(bytes(value))  # a binary column: each cell is one encoded file
            continue
        text = "" if value is None else str(value).strip()
        if not text:
            errors[index] = f"no image: the {column!r} cell is empty"
        items.append(Path(text) if text else None)
    return Inputs(items, identify_inputs(items).ids, errors)


def check_saved_labels(folder: Path, labels: Any, outputs: int | None, recorded: Any = None,
                       recorded_in: str = "") -> list[str]:
    """The card's `labels` against what the hashed weight files record: one distinct name per network output and,
    where the weights name them (`recorded`, read from `recorded_in`), the same names in the same order. A hand-edited
    card (names swapped, one dropped) would otherwise load and mislabel every prediction.

    >>> check_saved_labels(Path("m"), ["a", "b"], 2, ["b", "a"], "config.json")
    Traceback (most recent call last):
    core.errors.UnsafeArtifactError: m: card.json does not match the weights beside it: its labels ['a', 'b'] differ from those config.json records (['b', 'a']). The card was edited or the folder mixes two models; restore its card.json, or re-save the model with save()
    """
    from core.artifacts import card_mismatch

    if not isinstance(labels, list) or not labels or not all(isinstance(n, str) and n.strip() for n in labels):
        raise card_mismatch(folder, f"its labels {str(labels)[:120]} are not a list of names (one per network output)")
    repeated = sorted({n for n in labels if labels.count(n) > 1})
    if repeated:
        raise card_mismatch(folder, f"its labels repeat {', '.join(map(repr, repeated))}; each output needs its own name")
    if outputs is not None and len(labels) != outputs:
        raise card_mismatch(folder, f"its labels list {len(labels)} name{'s' * (len(labels) != 1)} {str(labels)[:120]} "
                                    f"but the network has {outputs} outputs")
    if recorded is not None and list(recorded) != labels:
        raise card_mismatch(folder, f"its labels {str(labels)[:120]} differ from those {recorded_in} records "
                                    f"({str(list(recorded))[:120]})")
    return labels
