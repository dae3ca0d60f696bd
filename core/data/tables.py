"""Tables through polars: CSV / TSV / Parquet / JSONL / headerless whitespace `.data`, eager or lazy.

Delimited text is read as spreadsheets and public data sets write it: encoding (UTF-8, BOM, UTF-16, cp1252)
and separator are sniffed, tab-separated text keeps its quote marks, column types are decided on the whole
file, and a value that does not fit its column is reported with its row, file line and column.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import csv
import datetime
import io
import itertools
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.data.paths import require_path
from core.errors import InputError

__all__ = ["read_table", "odd_numbers_as_text", "is_empty_cell", "is_table", "scan_table", "iter_table", "require_columns", "separator_hint", "reader_options", "TABLE_SUFFIXES",
           "NULL_VALUES", "READER_OPTIONS"]

TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".data", ".xlsx", ".xlsm",
                  ".xlsb", ".xls", ".ods"}
NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "?", "#N/A", "n/a"]
READER_OPTIONS = ("separator", "encoding", "quote", "header", "decimal", "date_format", "sheet", "text_columns")
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "space": " "}
HEAD_BYTES = 256 * 1024
CODE_SCAN_BYTES = 32 * 1024 * 1024  # files up to this size are read once as text to find their columns of codes
STREAM_TEXT_BYTES = 64 * 1024 * 1024  # `iter_table` streams delimited text above this size (types from the head)
HEAD_ROWS = 100_000  # rows whose types a streamed delimited file keeps
_DELIMITED = {".csv", ".tsv", ".tab", ".txt"}
_WORKBOOKS = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers"}
_CALAMINE = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}  # workbooks read directly (fastexcel); .numbers is not
SAVE_AS_CSV = "save the sheet as CSV (in Excel: File > Save As > CSV UTF-8) and pass that file"
_OPTIONS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("verticals_reader_options", default={})
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_THOUSANDS = re.compile(r"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*$")
_LEADING_ZERO = re.compile(r"^\s*0\d+\s*$")  # 007, 01234: a code (zip, id, label), not the number 7
_GROUP_MARKS = (",", ".", " ", "\u00a0", "\u202f", "'", "\u2019")  # 1,234 1.234 1 234 (NBSP, NNBSP) 1'234 1’234
_MARK_NAMES = {",": "','", ".": "'.'", " ": "a space", "\u00a0": "a no-break space", "\u202f": "a narrow no-break space",
               "'": "\"'\"", "\u2019": "'\u2019'", "indian": "',' in Indian lakh groups"}


def _number_conventions() -> list[tuple[str, str | None, str]]:
    """(decimal mark, group mark or None, pattern) of each way a spreadsheet writes a number: a group mark splits
    the whole part in threes after the first group of 1-3 digits (no leading zero, so `012 345` stays a code), or
    Indian style (`1,23,456.00`: twos, then the last three); `1.2.3` and `12,34,5` fit none."""
    conventions = []  # patterns for polars (Rust regex): a mark in a class, `[.]`, reads the same in both engines
    for decimal in ".,":
        fraction = f"(?:[{decimal}][0-9]+)?"
        conventions.append((decimal, None, rf"^[+-]?[0-9]+{fraction}$"))
        for group in _GROUP_MARKS:
            if group != decimal:
                conventions.append((decimal, group, rf"^-?(?:0|[1-9][0-9]{{0,2}})(?:[{group}][0-9]{{3}})*{fraction}$"))
        if decimal == ".":
            conventions.append((decimal, "indian", rf"^-?(?:[0-9]{{1,3}}|[1-9][0-9]?(?:,[0-9]{{2}})*,[0-9]{{3}}){fraction}$"))
    return conventions


_CONVENTIONS = _number_conventions()


@contextlib.contextmanager
def reader_options(**options: Any) -> Iterator[dict[str, Any]]:
    """Reader options (`separator`, `encoding`, `quote`, `header`, `decimal`, `date_format`, `sheet`) for every table read
    inside.

    The CLI's `--option key=value` lands here, so a task's own reader needs no extra arguments.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_text("a|b\\n1|2\\n")
    >>> with reader_options(separator="|"):
    ...     read_table(p).columns
    ['a', 'b']
    """
    unknown = sorted(set(options) - set(READER_OPTIONS))
    if unknown:
        raise InputError(f"unknown reader option(s) {', '.join(unknown)}; known: {', '.join(READER_OPTIONS)}")
    token = _OPTIONS.set({**_OPTIONS.get(), **{k: v for k, v in options.items() if v is not None}})
    try:
        yield _OPTIONS.get()
    finally:
        _OPTIONS.reset(token)


_ODD_AS_TEXT: contextvars.ContextVar[bool] = contextvars.ContextVar("verticals_odd_numbers_as_text", default=False)


@contextlib.contextmanager
def odd_numbers_as_text() -> Iterator[None]:
    """Inside, a column of numbers with a few odd values (`abc` among 500 prices) stays text instead of being refused,
    for a reader that judges each row itself (a forecast's series: the one holding `abc` fails, the others are read).

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("value\\n" + "".join(f"{i}\\n" for i in range(20)) + "abc\\n")
    >>> with odd_numbers_as_text():
    ...     read_table(p)["value"].dtype
    String
    """
    token = _ODD_AS_TEXT.set(True)
    try:
        yield
    finally:
        _ODD_AS_TEXT.reset(token)


def current_option(name: str, given: Any = None) -> Any:
    """An explicit argument, else the `reader_options` value, else None."""
    return given if given is not None else _OPTIONS.get().get(name)


# The reader options each kind of file reads; `date_format` is read wherever dates are text and `text_columns` by
# every kind, so any kind may take them.
_READ_BY = {"delimited text": {"separator", "encoding", "quote", "header", "decimal"},
            "a whitespace-separated .data file": {"encoding"},
            "a workbook": {"sheet", "header"},
            "Parquet": set(), "JSON": set()}


def _refuse_unread_options(path: Path, kind: str) -> None:
    """`InputError` for a `reader_options` value this kind of file would silently ignore (`sheet` on a CSV,
    `separator` on a workbook), naming the options it does read.

    >>> with reader_options(sheet="Data"):
    ...     _refuse_unread_options(Path("loans.csv"), "delimited text")
    Traceback (most recent call last):
    core.errors.InputError: loans.csv is delimited text, which does not use --option sheet (it reads: decimal, encoding, header, quote, separator); drop it
    """
    unread = sorted(k for k, v in _OPTIONS.get().items()
                    if v is not None and k not in ("date_format", "text_columns") and k not in _READ_BY[kind])
    if unread:
        reads = ", ".join(sorted(_READ_BY[kind])) or "none"
        raise InputError(f"{path.name} is {kind}, which does not use --option {', '.join(unread)} "
                         f"(it reads: {reads}); drop {'them' if len(unread) > 1 else 'it'}")


# -- encodings --------------------------------------------------------------------------------------------
def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" / "utf-16-be" when `data` (no BOM) reads as UTF-16 text: zero bytes (which UTF-8 text does not hold)
    fall on one side of the byte pairs only (ASCII letters, digits and separators), and the decoded head is text (no
    control characters but tab and line ends); else None. Cyrillic, Greek or CJK text has fewer zeros than Latin, but
    its separators and line ends still put them on one side.

    >>> _utf16_without_bom("text,label,".encode("utf-16-le")), _utf16_without_bom("text,label,".encode("utf-16-be"))
    ('utf-16-le', 'utf-16-be')
    >>> _utf16_without_bom("текст,метка,отличный фильм,1".encode("utf-16-le"))
    'utf-16-le'
    >>> _utf16_without_bom(b"text,label,") is None
    True
    """
    head = data[:4096]
    head = head[:len(head) // 2 * 2]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd >= 0.05 and zeros_even <= zeros_odd / 10:
        candidate = "utf-16-le"
    elif zeros_even >= 0.05 and zeros_odd <= zeros_even / 10:
        candidate = "utf-16-be"
    else:
        return None
    try:
        text = head.decode(candidate)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\r\n")
    return candidate if controls <= len(text) / 100 else None


def _decode(data: bytes, name: str, encoding: str | None, quiet: bool = False) -> tuple[str, str]:
    """(text, encoding used): a given encoding, a BOM, UTF-8, or a Windows code page (cp1252, or cp1250 / cp1254 when
    the cp1252 reading holds their tell-tale letters) when the bytes read as Western text; a code page other than plain
    cp1252, or a doubt about it, is said in a `UserWarning` unless `quiet`."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError as error:
            raise InputError(f"unknown encoding {encoding!r}; use e.g. --option encoding=cp1252 or encoding=latin-1") from error
        except UnicodeDecodeError as error:
            raise InputError(f"{name} is not {encoding} text ({error.reason} at byte {error.start}); "
                             "pass the file's real encoding with --option encoding=NAME") from error
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export is UTF-16 with a BOM
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    wide = _utf16_without_bom(data)
    if wide:  # SQL Server's `bcp -w`, .NET's Encoding.Unicode: UTF-16 with no BOM, a NUL beside every ASCII letter
        try:
            text = data.decode(wide)
        except UnicodeDecodeError:
            pass
        else:
            if not quiet:
                import warnings

                warnings.warn(f"{name} has no byte-order mark but reads as {wide.upper()} text (a zero byte beside "
                              "every letter): read as such; pass --option encoding=NAME if it is another",
                              UserWarning, stacklevel=3)
            return text, wide
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    line = data.count(b"\n", 0, utf8_error.start) + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_western(text):
        return _western_code_page(data, text, name, quiet)
    raise InputError(f"{name} is not UTF-8 text (byte 0x{data[utf8_error.start]:02x} on line {line}); re-save it as UTF-8 "
                     "or pass its encoding, e.g. --option encoding=cp1252 (Excel on Windows), latin-1, shift_jis or gbk")


# Letters a Central-European (cp1250) or Turkish (cp1254) file shows when read as cp1252: Polish ł ą ż Ł Ą Ż become
# the symbols ³ ¹ ¿ £ ¥ ¯, ś ź Ś become œ Ÿ Œ, Turkish ı ğ ş İ Ğ Ş become the Icelandic ý ð þ Ý Ð Þ. Each reading is
# scored by how many such out-of-place characters it holds next to letters; š ž Š Ž are the same bytes in all three.
_MISREAD_SYMBOLS = set("¹³¿¡£¥¯¤¦¬¨¼½¾ˇ˘˙´¸˝˛")  # odd before a letter (m³ or ¿Qué, after a space, are not)
_CODE_PAGE_LETTERS = {
    "cp1252": set("ÝýÐðÞþŸ"),  # Turkish ı ğ ş İ Ğ Ş and Polish ź read as cp1252
    "cp1250": set("đĐţŢŕŔĺĹ"),  # French à, Icelandic ð þ read as cp1250
}
_TURKISH_LETTERS = set("ÇĞİÖŞÜçğıöşüÂÎÛâîû")
MISREAD_SCAN_BYTES = 1 << 20  # bytes of a non-UTF-8 file whose letters decide its code page
_CODE_PAGE_NAMES = {"cp1250": "Central European (Polish, Czech, Hungarian ...)", "cp1254": "Turkish"}


def _misread_patterns() -> dict[str, re.Pattern]:
    """Per code page, what `_misread_count` counts: symbols before a letter (¿ ¡ only inside a word), the code page's
    odd letters next to a letter (for cp1254, any non-ASCII letter outside Turkish's), and for cp1252 œ Œ not before
    u, i, e, y (cœur, œil) and ì ù inside a word (Czech ě ů; Italian's sit at a word's end)."""
    letter, symbols = r"[^\W\d_]", "".join(sorted(_MISREAD_SYMBOLS - set("¿¡")))
    patterns = {}
    for encoding in ("cp1252", "cp1250", "cp1254"):
        odd = "[" + "".join(sorted(_CODE_PAGE_LETTERS.get(encoding, ()))) + "]"
        if encoding == "cp1254":
            odd = "(?:(?![" + "".join(sorted(_TURKISH_LETTERS)) + r"])[^\W\d_\x00-\x7f])"
        alternatives = [f"[{symbols}](?={letter})", f"(?<={letter})[¿¡](?={letter})", f"(?<={letter}){odd}", f"{odd}(?={letter})"]
        if encoding == "cp1252":
            alternatives += [f"(?<={letter})[œŒ](?![uieyUIEY])", f"[œŒ](?={letter})(?![uieyUIEY])", f"(?<={letter})[ìù](?={letter})"]
        patterns[encoding] = re.compile("|".join(alternatives))
    return patterns


_MISREAD_PATTERNS = _misread_patterns()


def _misread_count(text: str, encoding: str) -> int:
    """Characters of `text` that sit oddly for a file written in `encoding` (see `_misread_patterns`)."""
    return sum(1 for _ in _MISREAD_PATTERNS[encoding].finditer(text))


def _western_code_page(data: bytes, text: str, name: str, quiet: bool) -> tuple[str, str]:
    """The cp1252 reading `text`, or the cp1250 / cp1254 one when that holds far fewer out-of-place characters;
    a guess is said (and how to force an encoding) in a `UserWarning`."""
    head = data[:MISREAD_SCAN_BYTES]  # one byte a character: the head is evidence enough, and quick to score
    odd = _misread_count(text[:len(head)], "cp1252")
    if not odd:
        return text, "cp1252"
    readings = []
    for encoding in ("cp1250", "cp1254"):
        try:
            readings.append((_misread_count(head.decode(encoding), encoding), encoding))
        except UnicodeDecodeError:
            continue
    best = min(readings, default=None)
    chosen = (odd, "cp1252", text)
    if best is not None and best[0] * 4 < odd:
        with contextlib.suppress(UnicodeDecodeError):  # a byte past the head it lacks: cp1252 it stays
            chosen = (best[0], best[1], data.decode(best[1]))
    if not quiet:
        import warnings

        words = itertools.islice(re.finditer(r"\w*[^\x00-\x7f]\w*", chosen[2]), 200)
        sample = sorted({word.group() for word in words})[:3]
        if chosen[1] == "cp1252":
            warnings.warn(f"{name} was read as cp1252 (Windows Western), but some of its words look like another code "
                          f"page's ({', '.join(sample)}); if they are garbled, pass --option encoding=cp1250 (Central "
                          "European) or --option encoding=cp1254 (Turkish)", UserWarning, stacklevel=3)
        else:
            warnings.warn(f"{name} is not UTF-8: it was read as {chosen[1]} ({_CODE_PAGE_NAMES[chosen[1]]} Windows text, "
                          f"e.g. {', '.join(sample)}); if that is wrong, pass --option encoding=NAME (e.g. cp1252)",
                          UserWarning, stacklevel=3)
    return chosen[2], chosen[1]


def _looks_western(text: str) -> bool:
    """True when the non-ASCII characters of a cp1252 reading are mostly lone accents/punctuation, not byte pairs."""
    runs = re.findall(r"[^\x00-\x7f]+", text)
    if not runs:
        return True
    letters = sum(len(r) for r in runs)
    long = sum(len(r) for r in runs if len(r) >= 3)
    binary = re.search(r"[\x00-\x08\x0e-\x1f]", text) is not None
    return long <= 0.1 * letters and not binary


# -- sniffing -----------------------------------------------------------------------------------------------
def _split_line(line: str, separator: str, quote: str | None) -> list[str]:
    """The fields of one record (a quoted cell may hold a line break); a record that reads as several rows (a stray
    quote mark) gives all their fields, which no header's width matches."""
    if quote is None:
        return line.split(separator)
    try:
        rows = list(csv.reader(io.StringIO(line), delimiter=separator, quotechar=quote))
    except csv.Error:
        return [line]
    return [field for row in rows for field in row] if len(rows) != 1 else rows[0]


def _records(lines: list[str], quote: str | None = '"') -> list[str]:
    """`lines` joined back into records: a line whose quote marks are unbalanced continues on the next (a quoted cell
    holding a line break, as pandas, Excel and the csv module write it; `""` inside a cell keeps the balance). A record
    still open where the lines end (the head of a file cut mid-record, or a stray quote) is left out.

    >>> _records(['text,label', '"Loved it.', 'Would watch again",1', 'dull,0'])
    ['text,label', '"Loved it.\\nWould watch again",1', 'dull,0']
    """
    if quote is None:
        return list(lines)
    records, open_record = [], None
    for line in lines:
        open_record = line if open_record is None else f"{open_record}\n{line}"
        if open_record.count(quote) % 2 == 0:
            records.append(open_record)
            open_record = None
    return records


def _sniff_separator(lines: list[str], suffix: str) -> str:
    default = "\t" if suffix in {".tsv", ".tab"} else ","
    consistent = []
    readings = {quote: _records(lines[:400], quote) for quote in ('"', None)}  # the same for every separator
    for separator in SEPARATORS:
        # text may hold `"` as a plain character (5" screen) or quote whole cells: either reading will do
        for quote in ((None, '"') if separator == "\t" else ('"', None)):
            records = readings[quote]
            header = records[0] if records else ""
            sample = [record for record in records[1:50] if record.strip()]
            width = len(_split_line(header, separator, quote))
            if width > 1 and all(len(_split_line(record, separator, quote)) == width for record in sample):
                consistent.append((separator, width))
                break
    if not consistent:
        return default
    # the widest consistent split wins (`Konto;Zinssatz, %;Kündigung` is 3 columns, not 2); on a tie the suffix's
    # default, unless its commas sit only between digits in the rows: decimal commas (`Datum;Kurs, EUR` / `02.01.2024;101,5`)
    widest = max(width for _, width in consistent)
    top = [separator for separator, width in consistent if width == widest]
    sample = [record for record in readings['"'][1:50] if record.strip()]
    if "," in top and len(top) > 1 and not any(re.search(r"(?<!\d),|,(?!\d)", line) for line in sample):
        top.remove(",")
    return default if default in top else top[0]


def _sniff_quote(lines: list[str], separator: str, whole: bool = False) -> str | None:
    """Tab-separated text keeps `"` as a character unless every line that holds one is RFC-4180 quoted; other text
    quotes cells with `"` unless a quote mark in it is plainly a character (`5" screen`: not at a cell's start, or
    never closed), when reading it as a quote would pair two of them and swallow the lines between."""
    if separator != "\t":
        if whole and sum(line.count('"') for line in lines) % 2:  # a quote the whole file never closes
            return None
        return None if any('"' in record and _rfc_quoted(record, separator) is False
                           for record in _records(lines[:2000])) else '"'
    quoted = False
    for line in _records(lines[:2000]):  # a quoted cell may hold a line break: judged whole
        if '"' in line:
            verdict = _rfc_quoted(line, separator)
            if verdict is False:
                return None
            quoted = quoted or bool(verdict)
    return '"' if quoted else None


def _rfc_quoted(line: str, separator: str) -> bool | None:
    """True when the line's quote marks open and close whole fields (`""` inside), False when one is a plain character."""
    index, end, used = 0, len(line), False
    while index <= end:
        if index < end and line[index] == '"':
            used, index = True, index + 1
            while True:
                close = line.find('"', index)
                if close < 0:
                    return False
                if line[close + 1:close + 2] == '"':
                    index = close + 2
                    continue
                index = close + 1
                break
            if index < end and line[index] != separator:
                return False
            index += 1
        else:
            stop = line.find(separator, index)
            stop = end if stop < 0 else stop
            if '"' in line[index:stop]:
                return False
            index = stop + 1
    return used or None


def _separator_option(value: str | None) -> str | None:
    if value is None:
        return None
    value = SEPARATOR_NAMES.get(str(value).lower(), str(value))
    if len(value) != 1:
        raise InputError(f"separator must be one character (or comma, semicolon, tab, pipe), got {value!r}")
    return value


def _quote_option(value: Any) -> str | None | bool:
    if value is None:
        return False  # not given: sniff
    if str(value).lower() in {"", "none", "false", "no", "off"}:
        return None
    if len(str(value)) != 1:
        raise InputError(f"quote must be one character or 'none', got {value!r}")
    return str(value)


def _header_option(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return value is None or value
    text = str(value).lower()
    if text in {"true", "yes", "1", "on"}:
        return True
    if text in {"false", "no", "0", "off", "none"}:
        return False
    raise InputError(f"header must be true or false, got {value!r}")


def text_column_names(given: Iterable[str] | str | None = ()) -> set[str]:
    """Columns read as text exactly as written (`007` stays `007`, `1.50` stays `1.50`): those a caller names (a
    manifest's labels, a translation's sentences, an `--id` column) and `--option text_columns=zip,code`.

    >>> with reader_options(text_columns="zip, code"):
    ...     sorted(text_column_names(["id"]))
    ['code', 'id', 'zip']
    """
    names = {given} if isinstance(given, str) else set(given or ())
    option = current_option("text_columns")
    if option:
        names |= {name.strip() for name in str(option).split(",") if name.strip()}
    return names


def _as_text(frame, names: set[str]):
    """Typed columns (workbook cells, Parquet, JSON) of `names` as text: whole numbers without a trailing `.0`."""
    import polars as pl

    changed = []
    for name in names & set(frame.columns):
        column = frame[name]
        if column.dtype == pl.String:
            continue
        if column.dtype.is_float() and bool((column.drop_nulls() == column.drop_nulls().round(0)).all()):
            column = column.cast(pl.Int64, strict=False)
        changed.append(column.cast(pl.String).alias(name))
    return frame.with_columns(changed) if changed else frame


# -- reading ------------------------------------------------------------------------------------------------------
class _Layout:
    """How a delimited file is written: encoding, separator, quote character, header, decimal mark."""

    def __init__(self, path: Path, separator: str | None = None, encoding: str | None = None, quote: Any = None,
                 header: Any = None, decimal: Any = None, text_columns: Iterable[str] = ()):
        self.path, self.name = path, path.name
        head = _head_bytes(path)
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise InputError(f"{path.name} is a spreadsheet workbook (Excel/ODS), not text; {SAVE_AS_CSV}")
        _refuse_unread_options(path, "delimited text")
        whole = len(head) < HEAD_BYTES
        # classic Mac line ends: bare CRs end the lines (an LF may still sit inside a quoted cell: Excel's Alt+Enter)
        self.cr_only = b"\r\n" not in head and head.count(b"\r") > head.count(b"\n")
        self.text: str | None = None  # the decoded file, kept only when polars cannot read the bytes as they are
        encoding = current_option("encoding", encoding)
        text, self.encoding = _decode(head if whole else _trim_partial(head), path.name, encoding, quiet=True)
        if self.encoding != "utf-8":
            self.load_text(encoding)
            text = self.text
        self.lines = text[:HEAD_BYTES].lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")[:5000]
        chosen = _separator_option(current_option("separator", separator))
        self.separator = chosen or _sniff_separator(self.lines, path.suffix.lower())
        quote_given = _quote_option(current_option("quote", quote))
        complete = whole and text.count("\n") < 5000  # `lines` hold the whole file
        self.quote = _sniff_quote(self.lines, self.separator, complete) if quote_given is False else quote_given
        self.header = _header_option(current_option("header", header))
        decimal = current_option("decimal", decimal)
        if decimal not in (None, ".", ","):
            raise InputError(f"decimal must be '.' or ',', got {decimal!r}")
        self.decimal_comma = decimal == ","
        self.number_marks: dict[str, tuple[str, str | None]] = {}  # column -> (decimal, group) its text numbers use
        self.text_columns = text_column_names(text_columns) | self._coded_columns() if self.header else set()

    def _coded_columns(self) -> set[str]:
        """Columns whose values include a zero-padded whole number (007, 01234): codes, kept as text so a zip code, an
        id or a label `007` is not read as the number 7. The whole file is looked at when it is small enough to read
        twice (`CODE_SCAN_BYTES`), else its head. A first line that looks like data (a number or a code among its
        "names") is no header to name codes by: the headerless check decides."""
        names = self.header_names()
        if any(_NUMBER.match(name) or _LEADING_ZERO.match(name) for name in names):
            return set()
        if self.path.stat().st_size <= CODE_SCAN_BYTES:
            import polars as pl

            try:
                raw = pl.read_csv(self.source(), separator=self.separator, quote_char=self.quote, has_header=True,
                                  infer_schema_length=0, encoding="utf8", truncate_ragged_lines=True)
            except pl.exceptions.PolarsError:
                raw = None  # malformed: the typed read says where
            if raw is not None:
                return {name for name in raw.columns if raw[name].str.contains(_LEADING_ZERO.pattern).any()}
        coded: set[str] = set()
        for line in self.lines[1:]:
            for name, value in zip(names, _split_line(line, self.separator, self.quote)):
                if name not in coded and _LEADING_ZERO.match(value.strip().strip(self.quote or '"')):
                    coded.add(name)
        return coded

    def load_text(self, encoding: str | None = None) -> str:
        if self.text is None:
            self.text, self.encoding = _decode(self.path.read_bytes(), self.name, current_option("encoding", encoding))
        return self.text

    def source(self) -> Any:
        # polars reads UTF-8 (a BOM is skipped); other encodings are handed over transcoded, and so are files whose lines
        # end in a bare CR (Excel for Mac's "CSV (Macintosh)"), which polars reads as one line
        if self.cr_only:
            return io.BytesIO(self.load_text().replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"))
        if self.encoding == "utf-8":
            return self.path
        return io.BytesIO(self.load_text().encode("utf-8"))

    def header_names(self) -> list[str]:
        return [name.strip("\ufeff").strip() for name in _split_line(self.lines[0].lstrip("\ufeff"), self.separator, self.quote)]

    def hint(self) -> str:
        return (f"it was read with the {SEPARATORS.get(self.separator, repr(self.separator))} separator; if the file uses "
                "another one, pass --option separator=NAME (comma, semicolon, tab or pipe)")

    def csv_options(self) -> dict[str, Any]:
        text = {name: "String" for name in self.text_columns if self.header}
        options = dict(separator=self.separator, quote_char=self.quote, has_header=self.header, null_values=NULL_VALUES,
                       infer_schema_length=None, decimal_comma=self.decimal_comma, encoding="utf8")
        if text:
            import polars as pl

            options["schema_overrides"] = {name: pl.String for name in text}
        return options

    def record_line(self, row: int) -> int:
        """The 1-based file line where data row `row` (0-based) starts."""
        text = self.load_text()
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=self.separator, quotechar=self.quote or '"',
                            quoting=csv.QUOTE_NONE if self.quote is None else csv.QUOTE_MINIMAL)
        skip = 1 if self.header else 0
        line = 1
        for index, _ in enumerate(reader):
            if index == row + skip:
                return line
            line = reader.line_num + 1
        return line


def _scan_ndjson(path: Path) -> Any:
    """polars' lazy JSON-lines reader, which cannot start at a UTF-8 byte-order mark (Notepad's and PowerShell 5's
    `Out-File -Encoding utf8` write one): such a file is read without its first three bytes."""
    import polars as pl

    if _head_bytes(path).startswith(b"\xef\xbb\xbf"):
        return pl.read_ndjson(io.BytesIO(path.read_bytes()[3:]), infer_schema_length=None).lazy()
    return pl.scan_ndjson(path, infer_schema_length=None)


def _head_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD_BYTES)


def _trim_partial(head: bytes) -> bytes:
    # cut at the last newline so a multi-byte character is never split
    end = head.rfind(b"\n")
    return head if end < 0 or len(head) < HEAD_BYTES else head[:end + 1]


def _read_delimited(path: Path, separator: str | None, encoding: str | None = None, n_rows: int | None = None,
                    layout: _Layout | None = None, text_columns: Iterable[str] = ()):
    layout = layout or _Layout(path, separator, encoding, text_columns=text_columns)
    names = layout.header_names()
    frame = _parse(layout, n_rows)
    if layout.header and current_option("header") is None and _looks_headerless(names, frame):
        layout.header = False  # e.g. UCI's `sentence<TAB>label` files as published: the first line is data
        frame = _parse(layout, n_rows)
    if layout.header:
        _check_names(names, layout.name)
    if layout.separator != "," and not layout.decimal_comma and _has_decimal_commas(frame, layout):
        layout.decimal_comma = True  # `;`-separated exports from European spreadsheets write 1,5 for one and a half
        frame = _parse(layout, n_rows)
    if layout.decimal_comma:
        frame = _dotted_as_text(frame, layout, n_rows)
    if not layout.header:
        names = [str(i) for i in range(frame.width)]
    elif len(names) == frame.width:
        names = [name if name.strip() else f"unnamed_{i}" for i, name in enumerate(names)]
    else:
        names = frame.columns
    return _finish(frame, names, layout)


def _looks_headerless(names: list[str], frame) -> bool:
    """A first line of data, not names: numbers over numeric columns beside sentences (never short names)."""
    if len(names) != frame.width:
        return False
    numeric = [i for i, name in enumerate(names) if _NUMBER.match(name)]
    others = [name for i, name in enumerate(names) if i not in numeric]
    return bool(numeric) and bool(others) and all(frame[frame.columns[i]].dtype.is_numeric() for i in numeric) \
        and all(len(name) > 40 or name.count(" ") >= 5 or (" " in name and name.rstrip()[-1:] in ".!?") for name in others)


def _parse(layout: _Layout, n_rows: int | None = None):
    import polars as pl

    try:
        return pl.read_csv(layout.source(), n_rows=n_rows, **layout.csv_options())
    except pl.exceptions.ComputeError as error:
        if "utf-8" not in str(error) or layout.encoding != "utf-8":
            raise _shape_error(layout, error) from error
    layout.load_text()  # invalid UTF-8 past the sniffed head: detect the encoding on the whole file
    try:
        return pl.read_csv(layout.source(), n_rows=n_rows, **layout.csv_options())
    except pl.exceptions.ComputeError as error:
        raise _shape_error(layout, error) from error


def _finish(frame, names: list[str], layout: _Layout):
    import polars as pl

    frame.columns = names
    # Excel writes trailing separators and rows of them: unnamed empty columns and trailing empty rows go
    empty = [c for c in frame.columns if c.startswith("unnamed_") and frame[c].null_count() == frame.height]
    frame = frame.drop(empty)
    if frame.width:
        filled = frame.select(pl.any_horizontal(pl.all().is_not_null())).to_series()
        last = filled.arg_true()
        frame = frame.head(int(last[-1]) + 1 if len(last) else 0)
    frame = _numbers_from_text(frame, layout)
    return frame


def _check_names(names: list[str], where: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name.strip():
            continue
        if name in seen:
            raise InputError(f"{where}: column name {name!r} appears twice (columns {seen[name] + 1} and {index + 1}); "
                             "rename one so each column has its own name")
        seen[name] = index


def _has_decimal_commas(frame, layout=None) -> bool:
    """A text column of numbers whose only reading has `,` as decimal mark (`1,5`, `1.234,56`, `1 234,5`), or which
    reads either way (`1,234`): the file writes decimal commas."""
    import polars as pl

    for name in frame.columns:
        column = frame[name]
        if column.dtype == pl.String and (layout is None or name not in layout.text_columns):
            values = column.drop_nulls().str.strip_chars()
            if len(values) and values.str.contains(",").any() and \
                    (values.str.contains(r"^[+-]?[0-9]*,[0-9]+$").all() or
                     any(decimal == "," for decimal, _ in _number_readings(values))):
                return True
    return False


def _dotted_as_text(frame, layout: _Layout, n_rows: int | None):
    """Numeric columns of a decimal-comma file that polars read from text with a `.` (`1.169`), as that text: there
    a `.` groups digits (1.169 is 1169), so `_numbers_from_text` reads them by their convention."""
    import polars as pl

    floats = [name for name in frame.columns if frame[name].dtype.is_float()]
    if not floats:
        return frame
    raw = pl.read_csv(layout.source(), n_rows=n_rows, **{**layout.csv_options(), "infer_schema_length": 0})
    dotted = [name for name in floats if name in raw.columns and raw[name].str.contains(".", literal=True).any()]
    return frame.with_columns([raw[name] for name in dotted]) if dotted else frame


def _number_readings(values) -> dict[tuple[str, str | None], Any]:
    """(decimal, group) -> the values (a polars String Series, stripped, no nulls) as plain numbers (`1234.5`), for
    each convention all the values fit and whose marks they use; {} when they are not all numbers of one convention
    (or hold no mark at all)."""
    readings: dict[tuple[str, str | None], Any] = {}
    for decimal, group, pattern in _CONVENTIONS:
        mark = "," if group == "indian" else group
        if not (values.str.contains(mark or decimal, literal=True).any() and values.str.contains(pattern).all()):
            continue  # not all fit, or no value uses the marks (then it reads as plainer convention does)
        plain = values.str.replace_all(mark, "", literal=True) if mark else values
        readings[(decimal, group)] = plain.str.replace(decimal, ".", literal=True) if decimal != "." else plain
    return readings


def _grouped_numbers(frame, layout) -> tuple[Any, list[str]]:
    """Text columns whose every value is a number in one convention (`1.234,56`, `1 234,5`, `1'234.50`, `1,23,456.00`,
    a quoted `"1,5"`) as numbers, and the notes on the conventions guessed. A column that reads two ways (`1,234`) takes
    the file's decimal mark: `--option decimal=,` or the sniffed one, else that of the file's unambiguous columns, else
    `.` in a comma-separated file (1,234 is 1234); with no evidence it stays text."""
    import polars as pl

    if layout.separator is None:
        return frame, []  # a workbook's cells hold numbers as numbers: a text cell among them is an odd value
    decided, ambiguous = {}, {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype != pl.String or name in layout.text_columns:
            continue
        values = column.drop_nulls().str.strip_chars()
        if not len(values) or not values.str.contains(r"[0-9]").all():
            continue
        readings = _number_readings(values)
        numbers = list(readings.values())
        if numbers and all(other.equals(numbers[0]) for other in numbers[1:]):
            decided[name] = min(readings, key=lambda marks: marks[1] is not None)  # the plainer convention
        elif readings:
            ambiguous[name] = readings
    if layout.decimal_comma:
        file_decimal = ","
    else:
        marks = {decided[name][0] for name in decided if decided[name] != (".", None)}
        file_decimal = marks.pop() if len(marks) == 1 else "." if layout.separator == "," else None
    for name, readings in ambiguous.items():
        fitting = [marks for marks in readings if marks[0] == file_decimal]
        if fitting:
            decided[name] = min(fitting, key=lambda marks: marks[1] is not None)
    notes: dict[tuple[str, str | None], list[str]] = {}
    for name, (decimal, group) in decided.items():
        mark = "," if group == "indian" else group
        text = frame[name].str.strip_chars()
        text = text.str.replace_all(mark, "", literal=True) if mark else text
        text = text.str.replace(decimal, ".", literal=True) if decimal != "." else text
        numbers = text.cast(pl.Float64, strict=False)  # amounts, as `1,234` thousands always were read
        if numbers.null_count() != frame[name].null_count():
            continue
        frame = frame.with_columns(numbers.alias(name))
        layout.number_marks[name] = (decimal, group)
        quiet = group is None and (decimal == "." or layout.decimal_comma) or \
            (decimal, group) == (".", ",") and layout.separator == ","  # as read before: no news
        if not quiet:
            notes.setdefault((decimal, group), []).append(repr(name) + (" (its values read either way; the file's "
                                                                        "decimal mark decided)" if name in ambiguous else ""))
    said = []
    for (decimal, group), names in notes.items():
        example = {None: "1234", "indian": "1,23,456"}.get(group, f"1{group}234")
        said.append(f"{', '.join(names)} read as numbers written {example}{decimal}5 ({_MARK_NAMES[decimal]} "
                    f"decimal mark" + (f", digits grouped by {_MARK_NAMES[group]}" if group else "") + ")")
    return frame, said


def _numbers_from_text(frame, layout: _Layout):
    """Text columns of numbers: grouped (`1,234.5`, `1.234,5`, `1 234,5`, `1'234.5`) or with a quoted decimal comma
    (`"1,5"`) become numbers, a guessed convention said in a `UserWarning`; a few odd values in a numeric column are
    refused."""
    import polars as pl

    frame, said = _grouped_numbers(frame, layout)
    if said:
        import warnings

        warnings.warn(f"{layout.name}: {'; '.join(said)}; if that is wrong, pass --option decimal=. or decimal=, (or "
                      "--option text_columns=NAME to keep a column as text)", UserWarning, stacklevel=4)
    for name in frame.columns:
        column = frame[name]
        if column.dtype != pl.String or name in layout.text_columns:
            continue
        values = column.drop_nulls()
        if not len(values):
            continue
        stripped = values.str.strip_chars()
        numeric = stripped.str.contains(_NUMBER.pattern)
        bad = int((~numeric).sum())
        if bad == 0:  # numbers padded with spaces
            kind = pl.Float64 if stripped.str.contains(r"[.eE]").any() else pl.Int64
            numbers = column.str.strip_chars().cast(kind, strict=False)
            if numbers.null_count() == column.null_count():  # else (e.g. beyond int64) the text stays
                frame = frame.with_columns(numbers.alias(name))
            continue
        if 0 < bad <= max(1, len(values) // 100) and numeric.sum() >= 9 * bad and not _ODD_AS_TEXT.get():
            flags = column.str.strip_chars().str.contains(_NUMBER.pattern)
            row = int((flags.not_() & column.is_not_null()).arg_true()[0])
            line = layout.record_line(row)
            raise InputError(f"{layout.name}: row {row + 1} (line {line}), column {name!r}: {column[row]!r} is not a number, "
                             f"but the column's other values are; correct it or leave the cell empty"
                             + (" (or pass --option decimal=, for decimal commas)" if _DECIMAL_COMMA.match(column[row]) else ""))
    return frame


def _shape_error(layout: _Layout, error: Exception) -> InputError:
    """A malformed-row error that names the first bad line and the separator it was read with."""
    text = layout.load_text()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=layout.separator, quotechar=layout.quote or '"',
                        quoting=csv.QUOTE_NONE if layout.quote is None else csv.QUOTE_MINIMAL)
    width, start = None, 1
    try:
        for record in reader:
            if width is None:
                width = len(record)
            elif len(record) > width:
                return InputError(f"{layout.name}: line {start} has {len(record)} fields, the header has {width}; {layout.hint()}")
            start = reader.line_num + 1
    except csv.Error as csv_error:
        return InputError(f"{layout.name}: line {reader.line_num} is malformed ({csv_error}); {layout.hint()}")
    message = str(error).splitlines()[0]
    return InputError(f"cannot parse {layout.name}: {message}; {layout.hint()}")


def _read_whitespace(path: Path):
    import polars as pl

    text, _ = _decode(path.read_bytes(), path.name, current_option("encoding"))
    rows = [line.split() for line in text.splitlines()]
    numbered = [(i + 1, r) for i, r in enumerate(rows) if r]
    if not numbered:
        raise InputError(f"{path} has no rows")
    width = len(numbered[0][1])
    bad = next(((line, r) for line, r in numbered if len(r) != width), None)
    if bad is not None:
        raise InputError(f"{path}: line {bad[0]} has {len(bad[1])} fields, expected {width}")
    frame = pl.DataFrame([r for _, r in numbered], schema=[str(i) for i in range(width)], orient="row")
    # Columns of numbers become numeric; the rest stay strings.
    converted = []
    for name in frame.columns:
        column = frame[name]
        numeric = column.cast(pl.Float64, strict=False)
        if numeric.null_count() == 0:
            all_int = bool((numeric == numeric.round(0)).all()) and not column.str.contains(r"[.eE]").any()
            converted.append(numeric.cast(pl.Int64) if all_int else numeric)
        else:
            converted.append(column)
    return pl.DataFrame(converted)


def scan_table(path: str | Path, separator: str | None = None):
    """A polars LazyFrame over a CSV/TSV/Parquet/JSONL file (for files larger than memory).

    Separator and quoting are sniffed from the file's head; column types are inferred from the whole file.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_text("a,b\\n1,2\\n")
    >>> scan_table(p).collect().shape
    (1, 2)
    """
    import polars as pl

    path = require_path(path, "table file")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq", ".jsonl", ".ndjson"}:
        _refuse_unread_options(path, "Parquet" if suffix in {".parquet", ".pq"} else "JSON")
    try:
        if suffix in {".parquet", ".pq"}:
            return pl.scan_parquet(path)
        if suffix in {".jsonl", ".ndjson"}:
            return _scan_ndjson(path)
        if suffix in _DELIMITED:
            layout = _Layout(path, separator)
            if layout.encoding != "utf-8":
                raise InputError(f"{path.name} is {layout.encoding} text; lazy scanning reads UTF-8 only: re-save it as "
                                 "UTF-8 or read it with read_table()")
            if layout.cr_only:
                raise InputError(f"{path.name}'s lines end in a bare CR (classic Mac); lazy scanning reads LF or CRLF "
                                 "line ends only: convert them (e.g. tr '\\r' '\\n') or read it with read_table()")
            if layout.header:
                _check_names(layout.header_names(), path.name)
            return pl.scan_csv(path, **{k: v for k, v in layout.csv_options().items() if k != "encoding"})
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read {path.name}: {error}") from error
    raise InputError(f"{path.name}: lazy scanning supports .csv .tsv .parquet .jsonl; convert the file or use read_table()")


def iter_table(path: str | Path, rows: int = 131_072, separator: str | None = None,
               text_columns: Iterable[str] = ()) -> Iterator[Any]:
    """A table as polars DataFrames of at most `rows` rows, for files larger than memory.

    Parquet is streamed row group by row group (pyarrow). UTF-8 CSV/TSV over `STREAM_TEXT_BYTES` is streamed too:
    separator, header, decimal mark and column types are decided by `read_table`'s rules on its first `HEAD_ROWS`
    rows, and a later value that does not fit its column is an `InputError` naming its row and column. Smaller or
    non-UTF-8 text and other formats are read whole by `read_table` and handed over in slices.

    >>> import polars as pl, tempfile; p = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pl.DataFrame({"a": range(5)}).write_parquet(p)
    >>> [b.height for b in iter_table(p, rows=2)]
    [2, 2, 1]
    """
    import polars as pl

    path = require_path(path, "table file")
    suffix = path.suffix.lower()
    if suffix in _DELIMITED and path.is_file() and path.stat().st_size > STREAM_TEXT_BYTES:
        layout = _Layout(path, separator, text_columns=text_columns)
        if layout.encoding == "utf-8" and not layout.cr_only:  # others are read whole (transcoded), then sliced
            yield from _iter_delimited(path, layout, rows)
            return
    if suffix not in {".parquet", ".pq"} or path.is_dir():
        frame = read_table(path, separator, text_columns=text_columns)
        for start in range(0, frame.height, rows):
            yield frame.slice(start, rows)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    _refuse_unread_options(path, "Parquet")
    try:
        source = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps the row groups read: memory grows
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path.name} as Parquet: {str(error).splitlines()[0]}") from error
    if len(set(source.schema_arrow.names)) != len(source.schema_arrow.names):
        raise InputError(f"{path.name} has duplicated column names")
    if source.metadata.num_rows == 0:
        raise InputError(f"{path.name} has a header but no rows")
    text = text_column_names(text_columns)
    try:
        for batch in source.iter_batches(batch_size=rows):
            yield _as_text(pl.from_arrow(batch), text)
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"cannot read {path.name}: {str(error).splitlines()[0]}") from error


def _iter_delimited(path: Path, layout: _Layout, rows: int) -> Iterator[Any]:
    """Batches of a large UTF-8 delimited file, typed as `read_table` types its first `HEAD_ROWS` rows."""
    import polars as pl

    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    prefix = _head_rows_bytes(path, HEAD_ROWS)  # polars reads a whole file into memory even for its first rows
    head_layout = copy.copy(layout)
    head_layout.source = lambda: io.BytesIO(prefix)
    head = _read_delimited(path, None, n_rows=HEAD_ROWS, layout=head_layout)
    layout.header, layout.decimal_comma = head_layout.header, head_layout.decimal_comma  # as the head settled them
    raw = pl.read_csv(io.BytesIO(prefix), n_rows=1, **{**layout.csv_options(), "infer_schema_length": 0}).columns
    if not layout.header:
        names = [str(i) for i in range(len(raw))]
    else:
        given = layout.header_names()
        names = [n if n.strip() else f"unnamed_{i}" for i, n in enumerate(given)] if len(given) == len(raw) else raw
    types = dict(zip(head.columns, head.dtypes))
    # pyarrow's reader reads a bounded number of blocks ahead (polars' batches run ahead of a slow consumer without bound)
    reader = arrow_csv.open_csv(
        path, read_options=arrow_csv.ReadOptions(block_size=1 << 20, skip_rows=int(layout.header), autogenerate_column_names=True),
        parse_options=arrow_csv.ParseOptions(delimiter=layout.separator, quote_char=layout.quote or False,
                                             newlines_in_values=layout.quote is not None),
        convert_options=arrow_csv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(len(raw))},
                                                 null_values=NULL_VALUES, strings_can_be_null=True))
    row, pending = 0, None  # rows seen so far; trailing empty rows held until a filled row follows them
    try:
        for whole in _regrouped(reader, rows):
            if whole.width != len(names):
                raise pa.ArrowInvalid(f"{whole.width} fields, expected {len(names)}")
            whole = whole.rename(dict(zip(whole.columns, names))).select(head.columns)
            if row == 0 and not layout.header and whole.height:  # a byte-order mark before headerless data
                first = whole.columns[0]
                whole = whole.with_columns(pl.col(first).str.strip_chars_start("\ufeff")) if types[first] == pl.String else whole
            for start in range(0, whole.height, rows):
                batch = _typed_batch(whole.slice(start, rows), types, layout, row)
                row += batch.height
                if pending is not None:
                    batch = pl.concat([pending, batch])
                filled = batch.select(pl.any_horizontal(pl.all().is_not_null())).to_series().arg_true()
                keep = int(filled[-1]) + 1 if len(filled) else 0
                pending = batch.slice(keep) if keep < batch.height else None
                if keep:
                    yield batch.head(keep)
    except (pa.ArrowInvalid, pl.exceptions.PolarsError) as error:
        raise _shape_error(layout, error) from error


def _regrouped(blocks: Iterable[Any], rows: int) -> Iterator[Any]:
    """Arrow record batches (small CSV blocks) regrouped into polars DataFrames of `rows` rows (the last one shorter)."""
    import polars as pl

    held, count = [], 0
    for block in blocks:
        held.append(pl.from_arrow(block))
        count += block.num_rows
        if count >= rows:
            whole = pl.concat(held)
            full = whole.height - whole.height % rows
            yield whole.head(full)
            held, count = ([whole.slice(full)], whole.height - full) if full < whole.height else ([], 0)
    if count:
        yield pl.concat(held)


def _head_rows_bytes(path: Path, rows: int) -> bytes:
    """The file's first bytes, up to the end of line `rows` + 1 (at most 64 MB), cut at a line end."""
    chunks, lines, size = [], 0, 0
    with open(path, "rb") as handle:
        while lines <= rows + 1 and size < 64 << 20:
            chunk = handle.read(1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            lines, size = lines + chunk.count(b"\n"), size + len(chunk)
    data = b"".join(chunks)
    return data[:data.rfind(b"\n") + 1] or data


def _typed_batch(batch, types: dict[str, Any], layout: _Layout, start: int):
    """Text columns of one batch cast to the head's types; a value that does not fit names its row and column."""
    import polars as pl

    columns = []
    for name, dtype in types.items():
        text = batch[name]
        if dtype == pl.String or dtype == pl.Null:
            columns.append(text)
            continue
        clean = text.str.strip_chars()
        if dtype == pl.Boolean:
            lower = clean.str.to_lowercase()
            value = (lower == "true").zip_with(lower.is_in(["true", "false"]), pl.Series(name, [None] * len(lower), pl.Boolean))
        else:
            if name in layout.number_marks:  # as the head's values were written: 1.234,5 or 1 234,5 or 1'234.5
                decimal, group = layout.number_marks[name]
                group = "," if group == "indian" else group
                clean = clean.str.replace_all(group, "", literal=True) if group else clean
                clean = clean.str.replace(decimal, ".", literal=True) if decimal != "." else clean
            elif layout.decimal_comma:
                clean = clean.str.replace(",", ".", literal=True)
            elif layout.separator == ",":
                clean = pl.Series(name, clean).zip_with(~clean.str.contains(_THOUSANDS.pattern).fill_null(False),
                                                         clean.str.replace_all(",", "", literal=True))
            value = clean.cast(dtype, strict=False)
            if dtype.is_integer() and value.null_count() > text.null_count():  # decimals after whole numbers: go on as such
                decimals = clean.cast(pl.Float64, strict=False)
                value = decimals if decimals.null_count() < value.null_count() else value
        bad = (value.is_null() & text.is_not_null()).arg_true()
        if len(bad):
            index = int(bad[0])
            raise InputError(f"{layout.name}: row {start + index + 1}, column {name!r}: {text[index]!r} is not "
                             f"{'a number' if dtype.is_numeric() else dtype}, as the column's first {HEAD_ROWS:,} rows are; "
                             "correct it or leave the cell empty")
        columns.append(value.alias(name))
    return pl.DataFrame(columns)


class _SheetLayout:
    """What `_numbers_from_text` needs to name a cell of a workbook sheet: the sheet, and the row's line in it."""

    separator = None  # cells hold numbers as numbers: no thousands separators to undo

    def __init__(self, name: str, header: bool, text_columns: set[str] = frozenset()):
        self.name, self.header = name, header
        self.text_columns = set(text_columns)  # text cells of named columns and of codes (001) stay as written

    def record_line(self, row: int) -> int:
        return row + (2 if self.header else 1)


WORKBOOK_MAX_UNPACKED = 1 << 30  # bytes of a workbook's parts unpacked: Excel's own row limit is about a few hundred MB
WORKBOOK_MAX_RATIO = 200  # unpacked / packed size: a sheet's XML packs about 5-20 times; a zip bomb, thousands


def _refuse_workbook_bomb(path: Path) -> None:
    """A workbook is a zip (xlsx, ods): one that unpacks past `WORKBOOK_MAX_UNPACKED`, or packs more tightly than any
    sheet does, is refused before the reader unpacks it into memory (a 4 MB file unpacking to 1.5 GB aborted the
    process, the dashboard's with it). Legacy .xls files are not zips and pass.

    >>> import io, zipfile, tempfile
    >>> bomb = Path(tempfile.mkdtemp()) / "bomb.xlsx"
    >>> with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z: z.writestr("xl/worksheets/sheet1.xml", "0" * 50_000_000)
    >>> _refuse_workbook_bomb(bomb)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.InputError: bomb.xlsx unpacks to 50 MB from 0.0 MB (about ... times): far more than a spreadsheet packs, so it is not read (a zip bomb); save the sheet as CSV and pass that
    """
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # the reader says what is wrong with it
    packed = max(path.stat().st_size, 1)
    if unpacked > WORKBOOK_MAX_UNPACKED or unpacked > WORKBOOK_MAX_RATIO * max(packed, 1 << 16):
        raise InputError(f"{path.name} unpacks to {unpacked / 1e6:.0f} MB from {packed / 1e6:.1f} MB (about "
                         f"{unpacked // packed} times): far more than a spreadsheet packs, so it is not read (a zip "
                         "bomb); save the sheet as CSV and pass that")


def _read_workbook(path: Path, text_columns: Iterable[str] = ()):
    """One sheet of an Excel (.xlsx .xlsm .xlsb .xls) or OpenDocument (.ods) workbook, read by calamine through
    fastexcel: the first sheet, or `--option sheet=NAME` (or its 1-based number). Cells keep their types (numbers,
    dates, text); a column mixing numbers and text is text, then read by CSV's rules (a few odd values in a column of
    numbers are refused by row and column, the null spellings are missing). Header names are checked as for CSV
    (a name twice is refused); `--option header=false` numbers the columns from 0. Empty unnamed columns and empty
    trailing rows go."""
    import polars as pl

    _refuse_unread_options(path, "a workbook")
    try:
        import fastexcel
    except ImportError as error:
        raise InputError(f"{path.name} is a spreadsheet workbook and reading one needs fastexcel "
                         f"(pip install fastexcel); or {SAVE_AS_CSV}") from error
    _refuse_workbook_bomb(path)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as error:  # fastexcel raises its own exception types for a broken or encrypted file
        raise InputError(f"cannot open {path.name} as a workbook ({str(error).splitlines()[0]}); {SAVE_AS_CSV}") from error
    sheets = list(reader.sheet_names)
    wanted = current_option("sheet")
    if wanted is None:
        index = 0
    elif str(wanted) in sheets:
        index = sheets.index(str(wanted))
    elif str(wanted).strip().isdigit() and 1 <= int(wanted) <= len(sheets):
        index = int(wanted) - 1
    else:
        raise InputError(f"{path.name} has no sheet {wanted!r}; its sheets: {', '.join(map(repr, sheets))} "
                         "(--option sheet=NAME or its number from 1)")
    header = _header_option(current_option("header"))
    where = f"{path.name}, sheet {sheets[index]!r}"
    logging.getLogger("fastexcel").setLevel(logging.ERROR)  # "could not determine dtype ... string" is not news
    try:
        first = reader.load_sheet(index, header_row=None, n_rows=1).to_polars()
        sheet = reader.load_sheet(index, header_row=0 if header else None, dtype_coercion="coerce")
        frame = sheet.to_polars()
    except Exception as error:
        raise InputError(f"cannot read {where}: {str(error).splitlines()[0]}") from error
    if first.height == 0 or frame.width == 0:
        others = [name for i, name in enumerate(sheets) if i != index]
        raise InputError(f"{where} is empty" + (f"; pick another with --option sheet=NAME ({', '.join(map(repr, others))})"
                                                if others else ""))
    raw = ["" if value is None else str(value) for value in first.row(0)]
    if header:
        _check_names(raw, where)
        positions = [info.absolute_index for info in sheet.selected_columns]
        frame.columns = [raw[i].strip() if i < len(raw) and raw[i].strip() else f"unnamed_{i}" for i in positions]
    else:
        frame.columns = [str(i) for i in range(frame.width)]
    nulls = [pl.when(pl.col(c).str.strip_chars().is_in(NULL_VALUES)).then(None).otherwise(pl.col(c)).alias(c)
             for c in frame.columns if frame[c].dtype == pl.String]
    frame = frame.with_columns(nulls) if nulls else frame
    # a cell stores every number as a float and every date as a datetime: whole numbers are integers, midnight-only
    # datetimes are dates (as polars' own read_excel does)
    for name in frame.columns:
        column = frame[name].drop_nulls()
        if frame[name].dtype == pl.Float64 and len(column) and bool((column == column.round(0)).all()) \
                and float(column.abs().max()) < 2**53:
            frame = frame.with_columns(pl.col(name).cast(pl.Int64))
        elif frame[name].dtype == pl.Datetime and len(column) and bool((column.dt.time() == datetime.time(0)).all()):
            frame = frame.with_columns(pl.col(name).dt.date())
    frame = frame.drop([c for c in frame.columns if c.startswith("unnamed_") and frame[c].null_count() == frame.height])
    if frame.width:
        filled = frame.select(pl.any_horizontal(pl.all().is_not_null())).to_series().arg_true()
        frame = frame.head(int(filled[-1]) + 1 if len(filled) else 0)
    if frame.height == 0 and len(sheets) > 1:
        raise InputError(f"{where} has no rows of data; its sheets: {', '.join(map(repr, sheets))} (--option sheet=NAME)")
    coded = {c for c in frame.columns if frame[c].dtype == pl.String and frame[c].str.contains(_LEADING_ZERO.pattern).any()}
    return _numbers_from_text(frame, _SheetLayout(where, header, text_column_names(text_columns) | coded))


def _bad_json_line(path: Path) -> str | None:
    """Where a JSON-lines file first breaks ("line 2 is not a JSON object (...)"), read line by line; None if no line does."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as error:
                where = f" at column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
                return f"line {number} is not valid JSON ({getattr(error, 'msg', error)}{where}); fix or remove it"
            if not isinstance(record, dict):
                return f"line {number} holds a JSON {type(record).__name__}, not an object of columns; write one {{...}} per line"
    return None


def _pandas_json_rows(table: dict[str, Any]) -> Any:
    """The rows of a JSON object in one of pandas' `DataFrame.to_json()` layouts, as records; other objects as they
    are. `columns` (pandas' default): {column: {row: value}}; `index`: {row: {column: value}}; `split`: {columns,
    index, data}; `table`: {schema, data}. A nested object is read as {row: {column: value}} when its outer keys
    outnumber its inner ones (rows usually outnumber columns; on a tie, when only the outer keys are numbers). Row
    labels other than 0, 1, 2... (customer ids) are kept as a first column `index`, as pandas' reset_index() names it.

    >>> _pandas_json_rows({"text": {"0": "good", "1": "bad"}, "label": {"0": 1, "1": 0}})
    [{'text': 'good', 'label': 1}, {'text': 'bad', 'label': 0}]
    >>> _pandas_json_rows({"c17": {"text": "good", "label": 1}, "c42": {"text": "bad", "label": 0}, "c9": {"text": "ok", "label": 1}})[1]
    {'index': 'c42', 'text': 'bad', 'label': 0}
    >>> _pandas_json_rows({"columns": ["a", "b"], "index": [0], "data": [[1, 2]]})
    [{'a': 1, 'b': 2}]
    >>> _pandas_json_rows({"question": "Who?", "answers": {"text": ["Ann"], "answer_start": [0]}})["question"]
    'Who?'
    """
    def labelled(labels: list[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if [str(label) for label in labels] == [str(n) for n in range(len(labels))]:  # pandas' default RangeIndex
            return rows
        return [{"index": label, **row} for label, row in zip(labels, rows)]

    keys = set(table)
    if keys in ({"columns", "data"}, {"columns", "index", "data"}) and isinstance(table["columns"], list) \
            and isinstance(table["data"], list) and all(isinstance(row, list) and len(row) == len(table["columns"])
                                                         for row in table["data"]):
        rows = [dict(zip(table["columns"], row)) for row in table["data"]]
        index = table.get("index")
        return labelled(index, rows) if isinstance(index, list) and len(index) == len(rows) else rows
    if keys >= {"schema", "data"} and isinstance(table["schema"], dict) and "fields" in table["schema"] \
            and isinstance(table["data"], list) and all(isinstance(row, dict) for row in table["data"]):
        default = table["schema"].get("primaryKey") == ["index"] and \
            [row.get("index") for row in table["data"]] == list(range(len(table["data"])))
        return [{k: v for k, v in row.items() if not (default and k == "index")} for row in table["data"]]
    inner = list(table.values())
    if not inner or not all(isinstance(value, dict) and value for value in inner) \
            or any(set(value) != set(inner[0]) for value in inner):
        return table

    def numbered(names) -> bool:
        return all(str(name).lstrip("-").isdigit() for name in names)

    rows_outside = len(table) > len(inner[0]) or (len(table) == len(inner[0]) and numbered(table)
                                                  and not numbered(inner[0]))
    if rows_outside:  # orient="index": one object per row
        return labelled(list(table), list(inner))
    row_labels = list(inner[0])  # orient="columns"
    return labelled(row_labels, [{column: table[column][row] for column in table} for row in row_labels])


def read_table(path: str | Path, separator: str | None = None, columns: Iterable[str] | None = None,
               encoding: str | None = None, text_columns: Iterable[str] = ()):
    """Read a table into a polars DataFrame; `.data` files are headerless whitespace (columns "0", "1", ...).

    The literal strings in `NULL_VALUES` (including `nan`) are read as missing values. For CSV/TSV the
    separator (`,` `;` tab `|`), encoding and quoting are sniffed unless given (here or by `reader_options`).
    `text_columns` (and `--option text_columns=`) are read as text exactly as written, as is a column of codes
    with a zero-padded number such as `007` (see `text_column_names`).

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.data"; _ = p.write_text("1 A 2.5\\n3 B nan\\n")
    >>> read_table(p).columns
    ['0', '1', '2']
    >>> q = p.with_name("t.csv"); _ = q.write_bytes("\\ufeffname;score\\nJosé;1,5\\n".encode("cp1252", "ignore"))
    >>> read_table(q).rows()
    [('José', 1.5)]
    """
    import polars as pl

    path = require_path(path, "table file")
    if path.is_dir():
        raise InputError(f"{path} is a folder; pass a table file ({', '.join(sorted(TABLE_SUFFIXES))})")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty")
    try:
        if suffix == ".data":
            _refuse_unread_options(path, "a whitespace-separated .data file")
            frame = _read_whitespace(path)
        elif suffix == ".json":
            from core.data.text import read_json

            _refuse_unread_options(path, "JSON")
            try:
                records = read_json(path, "JSON table")
            except InputError as error:  # one object per line in a .json (what HF datasets' to_json writes): JSON lines
                if "Extra data" not in str(error) or not _head_bytes(path).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
                    raise
                records = None
            if isinstance(records, dict):
                records = _pandas_json_rows(records)  # pandas' to_json() layouts (columns, index, split, table)
            if isinstance(records, dict) and b"\n" not in path.read_bytes().strip():
                records = [records]  # a one-row JSON-lines export: one object on one line is that row
            if records is None:
                bad = _bad_json_line(path)
                if bad:
                    raise InputError(f"cannot parse {path.name} (JSON lines: one object per line): {bad}")
                frame = _scan_ndjson(path).collect()
            elif isinstance(records, list) and records and all(isinstance(r, str) for r in records):
                frame = pl.DataFrame({"text": records})  # a list of texts (an API's payload): one column, `text`
            elif not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise InputError(f"{path.name} must hold a JSON list of records, or of texts (or use .jsonl)")
            else:
                frame = pl.DataFrame(records, infer_schema_length=None)
        elif suffix in _DELIMITED and _head_bytes(path).startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            frame = _read_workbook(path, text_columns)  # a workbook saved or renamed with a text suffix
        elif suffix in _DELIMITED:
            frame = _read_delimited(path, separator, encoding, text_columns=text_columns)
        elif suffix in {".parquet", ".pq", ".jsonl", ".ndjson"}:
            frame = scan_table(path, separator).collect()
        elif suffix in _CALAMINE:
            frame = _read_workbook(path, text_columns)
        elif suffix in _WORKBOOKS:
            raise InputError(f"{path.name} is a spreadsheet workbook this reader cannot open; {SAVE_AS_CSV}")
        else:
            raise InputError(f"{path.name}: unsupported table format {suffix or '(none)'}; use one of {', '.join(sorted(TABLE_SUFFIXES))}")
    except UnicodeDecodeError as error:
        raise InputError(f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start}); re-save it as UTF-8") from error
    except pl.exceptions.PolarsError as error:
        message = str(error).splitlines()[0]
        bad = _bad_json_line(path) if suffix in {".jsonl", ".ndjson"} else None
        raise InputError(f"cannot parse {path.name}: {bad or message}") from error
    if len(set(frame.columns)) != len(frame.columns):
        raise InputError(f"{path.name} has duplicated column names")
    if frame.height == 0:
        raise InputError(f"{path.name} has a header but no rows")
    frame = _as_text(frame, text_column_names(text_columns))  # typed cells (workbooks, Parquet, JSON) as text too
    if columns is not None:
        require_columns(frame, columns, path.name)
        frame = frame.select(list(columns))
    return frame


def require_columns(frame: Any, names: Iterable[str], where: str = "the table") -> None:
    """Raise `InputError` naming the missing columns and the ones present.

    >>> import polars as pl
    >>> require_columns(pl.DataFrame({"text": ["a"]}), ["text", "label"])
    Traceback (most recent call last):
    core.errors.InputError: the table is missing column(s) label; it has: text
    """
    present = list(frame.columns if not hasattr(frame, "collect_schema") else frame.collect_schema().names())
    missing = [n for n in names if n not in present]
    if missing:
        raise InputError(f"{where} is missing column(s) {', '.join(missing)}; it has: {', '.join(present[:30])}"
                         + separator_hint(present))


def separator_hint(names: Iterable[str]) -> str:
    """"; ...pass --option separator=NAME" when column names hold another separator (`Datum;Kurs` read on `,`), else "".

    >>> separator_hint(["Konto;Laufzeit", "EUR"])
    '; the column names hold a semicolon: if that separates the columns, pass --option separator=semicolon'
    """
    for separator, word in SEPARATORS.items():  # a comma in a name is common (`Zinssatz, %`): not a hint
        if separator != "," and any(separator in str(name) for name in names):
            return f"; the column names hold a {word}: if that separates the columns, pass --option separator={word}"
    return ""


def is_empty_cell(value: Any) -> bool:
    """Whether a table cell holds nothing: None, NaN / NaT (pandas' missing values) or a blank string.

    >>> [is_empty_cell(v) for v in (None, float("nan"), "  ", "a.png", 0)]
    [True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    if type(value).__name__ in {"NaTType", "NAType"}:
        return True
    return isinstance(value, str) and not value.strip()


def is_table(value: Any) -> bool:
    """A pandas / polars DataFrame or LazyFrame (asked of the type: a LazyFrame's columns cost a schema pass).

    >>> import polars as pl
    >>> is_table(pl.DataFrame({"a": [1]})), is_table(pl.DataFrame), is_table(["a.png"])
    (True, False, False)
    """
    return hasattr(type(value), "columns") and not isinstance(value, type)
