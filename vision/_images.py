"""Image inputs shared by the vision tasks: unlabelled input lists and safe decoding of a batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data import IMAGE_SUFFIXES, open_image, read_table, resolve_inside
from core.data.paths import is_hidden, require_path
from core.errors import InputError

__all__ = ["read_image_inputs", "decode_images", "frame_image_column"]

PATH_COLUMNS = ("path", "image", "file", "filename")


def read_image_inputs(path: str | Path, column: str | None = None) -> list[Path]:
    """Image paths for `predict`: one image file, a folder (searched recursively) or a CSV with a path column.

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
        files = [resolve_inside(path.parent, str(value)) for value in frame[name].to_list() if value is not None]
        if not files:
            raise InputError(f"{path.name} lists no images")
        return files
    return [path]


def decode_images(inputs: Any, mode: str = "RGB") -> list[Any]:
    """Decode a list of paths / bytes / arrays / PIL images into PIL images (`InputError` on the first bad one)."""
    if isinstance(inputs, (str, Path, bytes)) or hasattr(inputs, "ndim") or hasattr(inputs, "getbands"):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs:
        raise InputError("no images given; pass a list of image paths, bytes or arrays")
    images = []
    for index, item in enumerate(inputs):
        try:
            images.append(open_image(item, mode=mode))
        except InputError as error:
            raise InputError(f"image {index + 1} of {len(inputs)}: {error}" if len(inputs) > 1 else str(error)) from error
    return images


def frame_image_column(batch: Any, columns: Any = None) -> list[str]:
    """The image paths of a polars batch: `columns` names the column, else the first of path/image/file."""
    if isinstance(columns, (list, tuple)):
        columns = columns[0] if columns else None
    name = columns or next((c for c in PATH_COLUMNS if c in batch.columns), None)
    if name is None or name not in batch.columns:
        raise InputError(f"the table needs a column of image paths ({', '.join(PATH_COLUMNS)}); pass columns='name'")
    return [str(value) for value in batch[name].to_list()]
