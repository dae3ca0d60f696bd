"""Text files and JSON a user brings: UTF-8 checked, folders and deep nesting refused with a clear `InputError`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.data.paths import require_path
from core.errors import InputError

__all__ = ["read_text", "read_lines", "read_text_inputs", "read_json", "MAX_TEXT_BYTES"]

MAX_TEXT_BYTES = 512 * 2**20


def read_text(path: str | Path, what: str = "text file") -> str:
    """Read a text file: UTF-8 (BOM allowed), UTF-16 with a BOM, or Western cp1252 (`--option encoding=` forces one);
    folders, empty, oversized or undecodable files raise `InputError`.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_bytes("caf\\xe9".encode("cp1252"))
    >>> read_text(p)
    'café'
    >>> _ = p.write_bytes(b"\\x81\\x8d")
    >>> read_text(p)
    Traceback (most recent call last):
    core.errors.InputError: a.txt is not UTF-8 text (byte 0x81 on line 1); re-save it as UTF-8 or pass its encoding, e.g. --option encoding=cp1252 (Excel on Windows), latin-1, shift_jis or gbk
    """
    path = require_path(path, what)
    if path.is_dir():
        raise InputError(f"{path.name} is a folder; pass a {what}")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    if size > MAX_TEXT_BYTES:
        raise InputError(f"{path.name} is {size / 2**20:.0f} MB; text inputs are limited to {MAX_TEXT_BYTES // 2**20} MB")
    from core.data.tables import _decode, current_option

    text, _ = _decode(path.read_bytes(), path.name, current_option("encoding"))  # UTF-8 (BOM), UTF-16, cp1252 exports
    if "\x00" in text:
        raise InputError(f"{path.name} holds NUL bytes; it looks binary, not text")
    return text


def read_lines(path: str | Path, what: str = "text file") -> list[str]:
    """Lines of a UTF-8 file split on "\\n" only (U+2028 and friends stay inside a line, keeping alignment).

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_text("a\\u2028b\\nc\\n")
    >>> read_lines(p)
    ['a\\u2028b', 'c']
    """
    text = read_text(path, what)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_text_inputs(path: str | Path, what: str = "text file"):
    """One predict input per line, numbered from 1; a blank line stays, as an error record, never dropped.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_text("good\\n\\n bad \\n")
    >>> items = read_text_inputs(p); list(items), items.ids, items.errors
    (['good', '', 'bad'], [{'line': 1}, {'line': 2}, {'line': 3}], {1: 'empty line'})
    """
    from core.protocols import Inputs

    texts = [line.strip() for line in read_lines(path, what)]
    if not any(texts):
        raise InputError(f"{Path(path).name} holds no text lines")
    return Inputs(texts, ids=[{"line": i + 1} for i in range(len(texts))],
                  errors={i: "empty line" for i, text in enumerate(texts) if not text})


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """Parse a JSON file; malformed or absurdly nested JSON raises `InputError`.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "d.json"; _ = p.write_text("[" * 5000 + "]" * 5000)
    >>> read_json(p)
    Traceback (most recent call last):
    core.errors.InputError: d.json is nested too deeply to be valid input
    """
    text = read_text(path, what)
    try:
        return json.loads(text)
    except RecursionError as error:
        raise InputError(f"{Path(path).name} is nested too deeply to be valid input") from error
    except json.JSONDecodeError as error:
        raise InputError(f"{Path(path).name} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from error
