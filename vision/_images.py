"""Image inputs shared by the vision tasks: what counts as one image or many, batch sizes, unlabelled input lists,
labelled tables, and safe decoding of a batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data import IMAGE_SUFFIXES, open_image, read_table
from core.data.paths import is_hidden, manifest_path, read_file_object, require_path
from core.data.tables import is_empty_cell, is_table
from core.errors import InputError
from core.protocols import Inputs, identify_inputs

__all__ = ["read_image_inputs", "identified_images", "image_list", "BATCH_UNIT",
           "decode_images", "unreadable_images", "content_keys", "frame_image_column", "frame_items", "USAGE_READER"]

PATH_COLUMNS = ("path", "image", "file", "filename")
ACCEPTED = ("an image path, bytes, a PIL image or a numpy array ((H, W) grey, (H, W, C) colour, (N, H, W, C) for N "
            "images), or a list / tuple of them")
CHANNELS = (1, 2, 3, 4)  # grey, grey + alpha, RGB, RGBA: what PIL builds from an (H, W, C) uint8 array


# `read_image` for the cards' `usage` snippets (vision.classification, torchvision detectors): an image file opened with
# PIL and numpy alone as `core.data.open_image` opens it for predict (EXIF orientation applied; 16-bit and 32-bit pixels
# scaled to 8 bits by `core.data.images.to_uint8`'s rules, where PIL's convert clips them at 255); a test holds the two
# equal over PIL's image modes (tests/vision/test_usage_reader.py)
USAGE_READER = """\
import numpy as np
from PIL import Image, ImageOps


def read_image(path, mode="RGB"):
    # as predict reads an image: EXIF orientation applied; 16-bit and 32-bit pixels scaled to 8 bits (convert clips)
    image = ImageOps.exif_transpose(Image.open(path))
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image)
        kind = "u" if image.mode.startswith("I;16") else values.dtype.kind
        values = values.astype(np.float64)
        low, high = float(values.min()), float(values.max())
        if kind == "u":  # 16-bit grey: 65535 -> 255
            values = values * (255.0 / 65535)
        elif kind == "i" and low >= 0 and high <= 65535:  # 32-bit integers holding 8-bit or 16-bit values
            values = values / (257.0 if high > 255 else 1.0)
        elif kind == "f" and low >= -0.5 and high <= 1.5:  # floats in [0, 1]
            values = values * 255.0
        elif not (kind == "f" and low >= -64 and high <= 320):  # neither: stretched from its min to its max
            values = (values - low) / (high - low or 1) * 255.0
        image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    return image.convert(mode)
"""


def read_image_inputs(path: str | Path, column: str | None = None, id_column: str | None = None) -> list[Path] | Inputs:
    """Image paths for `predict`: one image file, a folder (searched recursively) or a table (CSV, TSV, Parquet, JSONL)
    with a path column. A table's rows are `Inputs`, each named by its row's id (`id_column`, else an id column as
    `core.protocols.identify_inputs` finds it: id, ID, key...; else `row` from 1) beside its image's `path`; a row with
    an empty path cell is an error record in its place, so the records join back to the table.

    >>> read_image_inputs("/no/such/folder")
    Traceback (most recent call last):
    core.errors.InputError: /no/such/folder does not exist; pass an existing image file, folder or CSV
    """
    path = require_path(path, "image file, folder or CSV")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not is_hidden(p, path))
        if not files:
            raise InputError(f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return files
    if path.suffix.lower() in {".csv", ".tsv", ".parquet", ".jsonl"}:
        frame = read_table(path)
        name = column or next((c for c in PATH_COLUMNS if c in frame.columns), None)
        if name is None or name not in frame.columns:
            raise InputError(f"{path.name} needs a column of image paths (one of {', '.join(PATH_COLUMNS)}), or pass --column")
        if frame.height == 0:
            raise InputError(f"{path.name} lists no images")
        rows = identify_inputs(frame, id_column)  # an unknown id column is an InputError naming the columns
        named = rows.ids if rows.id_key == "id" else [{"row": row} for row in range(1, frame.height + 1)]
        files, ids, errors = [], [], {}
        for row, value in enumerate(frame[name].to_list(), start=1):
            if is_empty_cell(value):  # an empty cell is not an image called "None" beside the table
                errors[len(files)] = f"row {row} of {path.name} has no image path (its {name!r} cell is empty)"
                files.append("")
                ids.append(named[row - 1])
            else:  # the path stays beside the row's id: core retries a failed batch file by file (predict_records)
                files.append(manifest_path(path.parent, str(value).strip()))
                ids.append({**named[row - 1], "path": str(files[-1])})
        return Inputs(files, ids, errors)
    return [path]


def identified_images(inputs: Any) -> Inputs:
    """`image_list(inputs)` with the id each record carries (`core.protocols.with_ids`: a file's `path`, else `index`
    from 1); a file object is read here, once, into bytes, its `path` its name where it has one (as speech names a
    recording's), and put back where it stood.

    >>> import io
    >>> items = identified_images([io.BytesIO(b"GIF89a"), "no/such.png"]); items[0], items.ids
    (b'GIF89a', [{'index': 1}, {'path': 'no/such.png'}])
    """
    if isinstance(inputs, Inputs):  # read_image_inputs' rows: their ids and error rows kept
        items = Inputs(list(inputs), inputs.ids, inputs.errors)
    else:
        items = identify_inputs(image_list(inputs), paths=True)  # a missing file's record keeps its path
    for position, item in enumerate(items):
        if hasattr(item, "read") and not hasattr(item, "getbands"):
            items[position], name = read_file_object(item, "images")
            if name:
                items.ids[position] = {"path": name}
    return items


BATCH_UNIT = "images per forward pass"  # what one batch_size counts, in its error


def image_list(inputs: Any) -> list[Any]:
    """The images in `inputs`, as a list: a path, bytes, PIL image or (H, W) / (H, W, C) array is one image; a list or
    tuple of them, or an (N, H, W, C) array, is many. None, a table or an unsupported type -> `InputError`.

    >>> import numpy as np
    >>> len(image_list(np.zeros((64, 80, 3), np.uint8))), len(image_list(np.zeros((2, 64, 80, 3), np.uint8)))
    (1, 2)
    >>> image_list(None)
    Traceback (most recent call last):
    core.errors.InputError: no images given (None); pass an image path, bytes, a PIL image or a numpy array ((H, W) grey, (H, W, C) colour, (N, H, W, C) for N images), or a list / tuple of them
    """
    import numpy as np

    if inputs is None:
        raise InputError(f"no images given (None); pass {ACCEPTED}")
    if isinstance(inputs, (str, Path, bytes, bytearray, memoryview)) or hasattr(inputs, "getbands") \
            or hasattr(inputs, "read"):  # a PIL image, a file object
        return [inputs]
    if isinstance(inputs, np.ndarray):
        if inputs.ndim in (2, 3):
            _check_array(inputs)
            return [inputs]
        if inputs.ndim == 4:
            return list(inputs)
        if inputs.ndim == 1 and inputs.dtype.kind in "OUS":  # an array of paths
            return inputs.tolist()
        raise InputError(f"an image array must be (H, W), (H, W, C) or (N, H, W, C); got shape {inputs.shape}")
    if is_table(inputs):
        raise InputError(f"a table is not a list of images; score a table of image paths with predict_frame(frame, "
                         f"columns='path'), or pass {ACCEPTED}")
    if isinstance(inputs, (dict, set, frozenset)) or not hasattr(inputs, "__iter__") or hasattr(inputs, "ndim"):
        raise InputError(f"cannot read images from {type(inputs).__name__}; pass {ACCEPTED}")
    return list(inputs)


def _check_array(array: Any) -> None:
    """An (H, W) or (H, W, C) image array with 1-4 channels; a stack of grey images (N, H, W) is refused with a hint."""
    if array.ndim == 3 and array.shape[2] not in CHANNELS:
        raise InputError(f"an (H, W, C) image array has 1 to 4 channels, got shape {array.shape}; for N grey images "
                         "pass an (N, H, W, 1) array or a list of (H, W) arrays")


def decode_images(inputs: Any, mode: str = "RGB", root: Path | None = None) -> list[Any]:
    """Decode images (`image_list` says what one image or many is) into PIL images; `InputError` on the first bad one,
    a file under `root` named by its path there (`cat/broken.jpg`: its class folder), not its name alone."""
    import numpy as np

    inputs = image_list(inputs)
    if not inputs:
        raise InputError(f"no images given; pass {ACCEPTED}")
    images = []
    for index, item in enumerate(inputs):
        try:
            if isinstance(item, np.ndarray):
                _check_array(item)
            images.append(open_image(item, mode=mode))
        except InputError as error:
            message = str(error)
            if root is not None and isinstance(item, (str, Path)) and message.startswith(Path(item).name + " "):
                file, folder = Path(item).absolute(), Path(root).absolute()
                named = file.relative_to(folder).as_posix() if folder in file.parents else str(file)
                message = named + message[len(file.name):]
            raise InputError(f"image {index + 1} of {len(inputs)}: {message}" if len(inputs) > 1 else message) from error
    return images


def unreadable_images(inputs: list, mode: str = "RGB", root: Path | None = None) -> list[str]:
    """Why each image of `inputs` that does not decode fails (named as `decode_images` names it: `cat/broken.jpg`
    under `root`), every one of them, in order; each image is decoded and let go, so a large folder is not held."""
    problems = []
    for item in inputs:
        try:
            decode_images([item], mode, root=root)
        except InputError as error:
            problems.append(str(error))
    return problems


def content_keys(inputs: list) -> list[str]:
    """A content hash per image, so that copies of one image (the same file under two names, listed twice) share a
    key: SHA-256 of a file's or bytes' contents, of a PIL image's mode, size and pixels, of an array's dtype, shape
    and values. Anything else (a file object, which reading would use up) gets a key of its own."""
    import hashlib

    import numpy as np

    keys = []
    for index, item in enumerate(inputs):
        digest = hashlib.sha256()
        if isinstance(item, (str, Path)):
            try:
                with open(Path(item).expanduser(), "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            except OSError:  # unreadable files are decode_images' to report
                keys.append(f"unread:{index}")
                continue
        elif isinstance(item, (bytes, bytearray, memoryview)):
            digest.update(bytes(item))
        elif hasattr(item, "getbands") and hasattr(item, "tobytes"):  # a PIL image
            digest.update(f"{item.mode}{item.size}".encode())
            digest.update(item.tobytes())
        elif isinstance(item, np.ndarray):
            digest.update(f"{item.dtype}{item.shape}".encode())
            digest.update(np.ascontiguousarray(item).tobytes())
        else:
            keys.append(f"item:{index}")
            continue
        keys.append(digest.hexdigest())
    return keys


def frame_image_column(batch: Any, columns: Any = None) -> list[str]:
    """The image paths of a polars batch: `columns` names the column, else the first of path/image/file."""
    if isinstance(columns, (list, tuple)):
        columns = columns[0] if columns else None
    name = columns or next((c for c in PATH_COLUMNS if c in batch.columns), None)
    if name is None or name not in batch.columns:
        raise InputError(f"the table needs a column of image paths ({', '.join(PATH_COLUMNS)}); pass columns='name'")
    return [str(value) for value in batch[name].to_list()]



def frame_items(frame: Any, path_column: str = "path", label_column: str = "label") -> list[tuple[Path, str]]:
    """(image path, label) rows of a pandas / polars table laid out like the CSV manifest of path,label; relative
    paths resolve against the current folder (a table in memory has no folder of its own).

    >>> import polars as pl
    >>> frame_items(pl.DataFrame({"file": ["a.png"], "class": ["cat"]}))
    Traceback (most recent call last):
    core.errors.InputError: a table of labelled images needs the columns 'path' (image paths) and 'label' (labels); it has: file, class. Name other columns with read_data(frame, column=..., target=...)
    """
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        names = frame.collect_schema().names()
        frame = frame.select([c for c in (path_column, label_column) if c in names]).collect() \
            if {path_column, label_column} <= set(names) else frame.head(0).collect()
    present = [str(c) for c in frame.columns]
    if path_column not in present or label_column not in present:
        raise InputError(f"a table of labelled images needs the columns {path_column!r} (image paths) and "
                         f"{label_column!r} (labels); it has: {', '.join(present[:30]) or 'no columns'}. Name other columns with "
                         "read_data(frame, column=..., target=...)")
    items = []
    base = Path.cwd()
    for row, (file, label) in enumerate(zip(list(frame[path_column]), list(frame[label_column])), start=1):
        if is_empty_cell(file) or is_empty_cell(label):
            raise InputError(f"row {row} of the table has an empty {path_column if is_empty_cell(file) else label_column}")
        path = Path(str(file).strip()).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file() and "\\" in str(file) and (base / str(file).strip().replace("\\", "/")).is_file():
            path = base / str(file).strip().replace("\\", "/")  # a path written on Windows
        if not path.is_file():
            raise InputError(f"row {row} of the table: image {file} does not exist"
                             + ("" if Path(str(file)).is_absolute() else f" (relative paths resolve against {base})"))
        items.append((path, str(label)))
    if not items:
        raise InputError("the table lists no images")
    return items


