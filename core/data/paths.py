"""Path safety for manifests and uploads: nothing resolves outside its folder."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from core.errors import InputError

__all__ = ["resolve_inside", "manifest_path", "sniff_kind", "require_path", "is_hidden", "read_file_object"]

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"), (b"BM", "bmp"),
    (b"RIFF", "riff"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3", "mp3"), (b"PK\x03\x04", "zip"),
    (b"PAR1", "parquet"), (b"\x1f\x8b", "gzip"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
]


def require_path(path: str | Path, kind: str = "file or folder") -> Path:
    """Return `path` as a Path or raise `InputError` if it does not exist.

    >>> require_path("/no/such/thing")
    Traceback (most recent call last):
    core.errors.InputError: /no/such/thing does not exist; pass an existing file or folder
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; pass an existing {kind}")
    return path


MAC_ZIP_FOLDER = "__MACOSX"  # what a Mac's zip adds beside the data: resource forks (`._x.jpg`), never data


def is_hidden(path: Path, root: Path) -> bool:
    """Whether `path` is a dot-file or lies in a dot-folder under `root` (.DS_Store, macOS AppleDouble `._x.jpg`,
    `.thumbnails/`) or in a Mac zip's `__MACOSX/` folder: never data, whatever its suffix.

    >>> is_hidden(Path("/d/cat/._1.jpg"), Path("/d")), is_hidden(Path("/d/.cache/1.jpg"), Path("/d")), is_hidden(Path("/d/cat/1.jpg"), Path("/d"))
    (True, True, False)
    >>> is_hidden(Path("/d/__MACOSX/cat"), Path("/d"))
    True
    """
    return any(part.startswith(".") or part == MAC_ZIP_FOLDER for part in path.relative_to(root).parts)


def manifest_path(base: str | Path, value: str) -> Path:
    """A manifest's path resolved inside its folder (`resolve_inside`); one written on Windows (`pics\\img0.png`) that
    is not found as written is read with its backslashes as separators.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "pics").mkdir(); _ = (d / "pics" / "a.png").write_bytes(b"x")
    >>> manifest_path(d, "pics\\\\a.png").relative_to(d.resolve()).as_posix()
    'pics/a.png'
    """
    value = str(value).strip()
    resolved = resolve_inside(base, value)
    if "\\" in value and not resolved.exists():
        slashed = resolve_inside(base, value.replace("\\", "/"))
        if slashed.exists():
            return slashed
    return resolved


def resolve_inside(base: str | Path, relative: str | Path) -> Path:
    """Resolve a manifest entry against its folder; refuse absolute paths and `..` escapes.

    >>> resolve_inside("/data", "a/b.wav").as_posix()
    '/data/a/b.wav'
    >>> resolve_inside("/data", "../etc/passwd")
    Traceback (most recent call last):
    core.errors.InputError: path '../etc/passwd' leaves the manifest's folder /data; manifest paths must be relative and stay inside it
    """
    text = str(relative).strip()
    if not text:
        raise InputError("empty path in manifest")
    base = Path(base).resolve()
    candidate = Path(text)
    if candidate.is_absolute() or text.startswith("~"):
        raise InputError(f"absolute path {text!r} in manifest; manifest paths must be relative to the manifest's folder {base}")
    resolved = (base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise InputError(f"path {text!r} leaves the manifest's folder {base}; manifest paths must be relative and stay inside it")
    return resolved


def sniff_kind(head: bytes) -> str | None:
    """Identify a file type from its first bytes (uploads are checked by content, not extension).

    >>> sniff_kind(b"\\x89PNG\\r\\n\\x1a\\n....")
    'png'
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "riff":
                return "wav" if head[8:12] == b"WAVE" else "webp" if head[8:12] == b"WEBP" else "riff"
            return kind
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "nifti"
    return None


def read_file_object(handle: Any, kind: str = "files") -> tuple[bytes, str | None]:
    """All of a binary file object, read once from where it stands, and its file name (None for a buffer or
    '<stdin>'); a seekable object is put back where it stood, so it can be read again. A text-mode object, or one
    that gives no bytes and cannot seek back, is an `InputError` (`kind`: what it should hold, in the message).

    >>> import io; read_file_object(io.BytesIO(b"RIFF"))
    (b'RIFF', None)
    >>> read_file_object(io.StringIO("x"), "images")
    Traceback (most recent call last):
    core.errors.InputError: the file object was opened as text; open images in binary mode (open(path, 'rb'))
    """
    name = getattr(handle, "name", None)
    name = name if isinstance(name, str) and name and not name.startswith("<") else None  # not '<stdin>'
    if isinstance(handle, io.TextIOBase):  # reading would decode the bytes as text, and fail on the first non-UTF-8
        raise InputError(f"{name or 'the file object'} was opened as text; open {kind} in binary mode (open(path, 'rb'))")
    seekable = getattr(handle, "seekable", None)
    start = handle.tell() if callable(seekable) and seekable() else None
    data = handle.read()
    if start is not None:
        handle.seek(start)
    if isinstance(data, str):
        raise InputError(f"{name or 'the file object'} was opened as text; open {kind} in binary mode (open(path, 'rb'))")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"reading {name or 'the file object'} gave {type(data).__name__}, not bytes; pass a binary file")
    if not data and start is None:
        raise InputError(f"{name or 'the file object'} gave no bytes: it is empty, or was read to its end before and "
                         "cannot seek back; pass its bytes or its path to read it more than once")
    return bytes(data), name
