"""Text files and JSON a user brings: UTF-8 checked, folders and deep nesting refused with a clear `InputError`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.data.paths import require_path
from core.errors import InputError

__all__ = ["read_text", "read_lines", "read_text_inputs", "text_input_batches", "read_json", "MAX_TEXT_BYTES"]

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
    texts = [line.strip() for line in read_lines(path, what)]
    if not any(texts):
        raise InputError(f"{Path(path).name} holds no text lines")
    return _line_inputs(texts, 1)


def _line_inputs(texts: list[str], first: int):
    """Stripped lines as predict inputs numbered from line `first`; a blank one is an error record."""
    from core.protocols import Inputs

    return Inputs(texts, ids=[{"line": first + i} for i in range(len(texts))],
                  errors={i: "empty line" for i, text in enumerate(texts) if not text})


def text_input_batches(path: str | Path, rows: int, what: str = "text file") -> Iterator[Any]:
    """`read_text_inputs` in batches of `rows` lines for streaming `predict`: line numbers go on across batches and
    blank lines stay error records. A file over `STREAM_TEXT_BYTES` (64 MB) is read line by line, so its size has no
    limit; its encoding is decided on its first MB (BOM, UTF-8, else cp1252 when that reads as Western text), and a
    later byte that does not fit is an `InputError` naming the line. Smaller files are read whole, as before.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_text("good\\n\\n bad \\nfine\\n")
    >>> [(list(b), b.ids, b.errors) for b in text_input_batches(p, 2)]
    [(['good', ''], [{'line': 1}, {'line': 2}], {1: 'empty line'}), (['bad', 'fine'], [{'line': 3}, {'line': 4}], {})]
    """
    from core.data.tables import STREAM_TEXT_BYTES

    path = require_path(path, what)
    if not path.is_file() or path.stat().st_size <= STREAM_TEXT_BYTES:
        whole = read_text_inputs(path, what)
        for start in range(0, len(whole), rows):
            yield _line_inputs(list(whole[start:start + rows]), start + 1)
        return
    encoding, texts, number, seen = _stream_encoding(path), [], 0, False
    for number, line in _numbered_lines(path, encoding):
        if "\x00" in line:
            raise InputError(f"{path.name} holds NUL bytes on line {number}; it looks binary, not text")
        texts.append(line.strip())
        seen = seen or bool(texts[-1])
        if len(texts) == rows:
            yield _line_inputs(texts, number - rows + 1)
            texts = []
    if not seen:
        raise InputError(f"{path.name} holds no text lines")
    if texts:
        yield _line_inputs(texts, number - len(texts) + 1)


def _numbered_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) split on "\\n" only; a byte that does not decode is an `InputError` naming its line."""
    def undecodable(number: int, error: UnicodeDecodeError) -> InputError:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding
        return InputError(f"{path.name} is not {name} text on line {number} ({error.reason}); pass the file's encoding, "
                          "e.g. --option encoding=cp1252 (Excel on Windows), latin-1, shift_jis or gbk")

    if "a\n".encode(encoding.replace("-sig", "")) != b"a\n":  # UTF-16 and kin: decoded as a stream (an error's line is where decoding stood)
        number = 0
        try:
            with path.open("r", encoding=encoding, newline="\n") as handle:  # "\n" only: U+2028 stays in its line
                for number, line in enumerate(handle, 1):
                    yield number, line
        except UnicodeDecodeError as error:
            raise undecodable(number + 1, error) from error
        return
    with path.open("rb") as handle:  # ASCII-compatible encodings: bytes split on b"\n", each line decoded alone
        for number, raw in enumerate(handle, 1):
            try:
                yield number, raw.decode(encoding if number == 1 else encoding.replace("-sig", ""))
            except UnicodeDecodeError as error:
                raise undecodable(number, error) from error


def _stream_encoding(path: Path) -> str:
    """The encoding of a large text file from its first MB: `--option encoding=`, a BOM, UTF-8, or cp1252."""
    import codecs

    from core.data.tables import _decode, current_option

    given = current_option("encoding")
    with path.open("rb") as handle:
        head = handle.read(2**20)
    if given:
        try:
            codecs.lookup(given)
        except LookupError as error:
            raise InputError(f"unknown encoding {given!r}; use e.g. --option encoding=cp1252 or encoding=latin-1") from error
        return given
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the MB's end is fine
        return "utf-8-sig"
    except UnicodeDecodeError:
        return _decode(head, path.name, None)[1]  # cp1252 when it reads as Western text, else the UTF-8 error


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
