"""Image data: ImageFolder trees, CSV manifests of path,label, and safe decoding (bombs, truncation)."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from core.data.labels import normal_form
from core.data.paths import is_hidden, manifest_path, require_path
from core.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "list_image_folder", "read_image_manifest", "manifest_items", "open_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif"}
MAX_PIXELS = 64_000_000  # larger images are refused as possible decompression bombs
# A split folder's name -> the split it is (an ImageFolder of train/ + dev/ is split, not two classes)
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val",
               "test": "test", "testing": "test"}
HEIF_SUFFIXES = {".heic", ".heif", ".avif"}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
HEIF_FIX = ("install pillow-heif (pip install pillow-heif) or convert it to JPEG or PNG (on an iPhone: Settings > Camera > "
            "Formats > Most Compatible; or `heif-convert photo.heic photo.jpg`)")


@functools.cache
def heif_readable() -> bool:
    """True when HEIC/HEIF photos (an iPhone's default) decode here: pillow-heif registered as Pillow's opener."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def list_image_folder(root: str | Path, suffixes: set[str] = IMAGE_SUFFIXES) -> list[tuple[Path, str, str | None]]:
    """List an ImageFolder tree as (path, label, split); `root/{train,val}/<label>/*` splits are kept. A label is its
    folder's name in NFC (`normal_form`): a Mac stores names decomposed, so a folder `Tumör` from a Mac zip is the label
    typed `Tumör`, and two folders whose names differ only in that form are one class.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "cat").mkdir(); _ = (d / "cat" / "1.png").write_bytes(b"x")
    >>> [(p.name, label, split) for p, label, split in list_image_folder(d)]
    [('1.png', 'cat', None)]
    """
    root = require_path(root, "image folder")
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; an ImageFolder has one sub-folder per class")
    children = sorted(p for p in root.iterdir() if p.is_dir() and not is_hidden(p, root))  # .git/, __MACOSX/
    splits = [c for c in children if c.name.lower() in SPLIT_NAMES]
    groups = [(s, SPLIT_NAMES[s.name.lower()]) for s in splits] if splits and len(splits) == len(children) else [(root, None)]
    items, empty = [], []
    for folder, split in groups:
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p, folder)):
            count = len(items)
            for file in sorted(class_dir.rglob("*")):
                if is_hidden(file, class_dir):
                    continue  # hidden files and folders: macOS AppleDouble `._x.jpg`, `.thumbnails/`, ...
                if file.is_file() and file.suffix.lower() in HEIF_SUFFIXES and not heif_readable():
                    raise InputError(f"{file.relative_to(root)} is a HEIC/HEIF photo, which cannot be decoded here; {HEIF_FIX}")
                if file.is_file() and file.suffix.lower() in suffixes:
                    _require_bytes(file, root)
                    items.append((file, normal_form(class_dir.name), split))
            if len(items) == count:
                empty.append(class_dir.relative_to(root).as_posix())
    if not items:
        raise InputError(f"{root} holds no images in class sub-folders (expected {root}/<class>/<image>{'|'.join(sorted(suffixes))})")
    if empty:  # as torchvision's ImageFolder: a class folder without images is a copy gone wrong, not a class
        raise InputError(f"class folder(s) {', '.join(empty[:10])} in {root} hold no images ({'|'.join(sorted(suffixes))}); "
                         "add its images or remove the folder")
    return items


def read_image_manifest(path: str | Path, path_column: str = "path", label_column: str = "label") -> list[tuple[Path, str]]:
    """Read a CSV of path,label; paths resolve relative to the CSV and may not escape its folder."""
    from core.data.tables import read_table, require_columns

    path = require_path(path, "CSV manifest")
    frame = read_table(path, text_columns=[path_column, label_column])  # a label 007 or 1.50 stays as written
    require_columns(frame, [path_column, label_column], path.name)
    return manifest_items(frame, path, path_column, label_column)


def manifest_items(frame, manifest: Path, path_column: str = "path", label_column: str = "label") -> list[tuple[Path, str]]:
    """(image path, label) rows of a manifest table; paths resolve inside the manifest's folder and must exist; labels
    in NFC (`normal_form`), as a class folder's name is read."""
    items = []
    for file, label in zip(frame[path_column].to_list(), frame[label_column].to_list()):
        if file is None or label is None:
            raise InputError(f"{manifest.name} has an empty path or label")
        resolved = manifest_path(manifest.parent, str(file))  # a Windows manifest's pics\\a.png too
        if not resolved.is_file():
            raise InputError(f"{manifest.name}: image {file} does not exist")
        _require_bytes(resolved, manifest.parent)
        items.append((resolved, normal_form(str(label))))
    return items


def _require_bytes(file: Path, root: Path) -> None:
    if file.stat().st_size == 0:
        raise InputError(f"image {file.relative_to(root) if root in file.parents else file} is empty (0 bytes); "
                         "remove it or replace it with the real file")


def to_uint8(array: Any) -> Any:
    """8-bit pixels for a picture of another depth, the same picture whatever its depth: unsigned integers scaled by
    their type's full range (16-bit / 257), floats in [0, 1] times 255, floats in [0, 255] as they are (clipped: a
    bicubic resize overshoots both ranges a little); anything else (signed or 32-bit integers past 16 bits, floats of
    another range) stretched from its own min to its max.

    >>> import numpy as np
    >>> to_uint8(np.array([[0, 257, 65535]], np.uint16)).tolist(), to_uint8(np.full((1, 2), 0.5)).tolist()
    ([[0, 1, 255]], [[128, 128]])
    """
    import numpy as np

    low, high = float(array.min()), float(array.max())
    if array.dtype.kind == "u":
        scaled = array.astype(np.float64) * (255.0 / np.iinfo(array.dtype).max)
    elif array.dtype.kind == "i" and low >= 0 and high <= 65535:  # PIL's mode "I" holds 16-bit PNGs as int32
        scaled = array.astype(np.float64) / (257.0 if high > 255 else 1.0)
    elif array.dtype.kind == "f" and low >= -0.5 and high <= 1.5:  # [0, 1], with the overshoot resizing leaves
        scaled = array.astype(np.float64) * 255.0
    elif array.dtype.kind == "f" and low >= -64 and high <= 320:  # [0, 255], with overshoot
        scaled = array.astype(np.float64)
    else:
        scaled = (array.astype(np.float64) - low) / (high - low or 1) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def open_image(source: Any, mode: str | None = "RGB", max_pixels: int = MAX_PIXELS):
    """Decode an image safely: path, bytes, PIL image or array in; PIL image out; bad input -> `InputError`.

    >>> open_image(b"not an image")
    Traceback (most recent call last):
    core.errors.InputError: input is not a readable image (cannot identify image file); use a PNG, JPEG, BMP, GIF, TIFF or WebP file
    """
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.size == 0:
            raise InputError(f"an image array must be (H, W) or (H, W, C), got shape {source.shape}")
        array = source
        if array.dtype != np.uint8:
            if not np.isfinite(array).all():
                raise InputError("the image array holds NaN or inf values")
            array = to_uint8(array)
        image = Image.fromarray(array.squeeze() if array.ndim == 3 and array.shape[2] == 1 else array)
    else:
        name = "input"
        if isinstance(source, (str, Path)):
            path = require_path(source, "image file")
            if path.is_dir():
                raise InputError(f"{path} is a folder; pass an image file")
            name, data = path.name, path.read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif hasattr(source, "read"):
            data = source.read()
        else:
            raise InputError(f"cannot read an image from {type(source).__name__}; pass a path, bytes or an array")
        if not data:
            raise InputError(f"{name} is empty (0 bytes)")
        if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
            heif_readable()  # an iPhone photo: let Pillow open HEIC through pillow-heif
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:
                raise InputError(f"{name} is {image.width}x{image.height} pixels, over the {max_pixels:,} limit (possible decompression bomb)")
            image.load()
        except Image.DecompressionBombError as error:
            raise InputError(f"{name} is too large to decode safely (possible decompression bomb): {error}") from error
        except UnidentifiedImageError as error:
            if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
                if heif_readable():
                    raise InputError(f"{name} is a HEIC/HEIF photo that does not decode (truncated or corrupt); "
                                     "re-export it from the phone or convert it to JPEG") from error
                raise InputError(f"{name} is a HEIC/HEIF photo, which cannot be decoded here; {HEIF_FIX}") from error
            raise InputError(f"{name} is not a readable image (cannot identify image file); use a PNG, JPEG, BMP, GIF, TIFF or WebP file") from error
        except (OSError, SyntaxError, ValueError) as error:
            raise InputError(f"{name} is truncated or corrupt ({error}); re-export the image") from error
        finally:
            Image.MAX_IMAGE_PIXELS = previous
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)  # phone photos: pixels stored sideways, EXIF says how to turn them
    if image.width == 0 or image.height == 0:
        raise InputError("the image has zero width or height")
    if mode is not None and image.mode != mode:
        if image.mode.startswith("I;16") and mode in ("RGB", "L"):
            image = Image.fromarray(to_uint8(np.asarray(image).astype(np.uint16)))
        elif image.mode in ("I", "F") and mode in ("RGB", "L"):
            image = Image.fromarray(to_uint8(np.asarray(image)))
        image = image.convert(mode)
    return image
