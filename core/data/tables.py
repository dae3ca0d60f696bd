"""Tables through polars: CSV / TSV / Parquet / JSONL / headerless whitespace `.data`, eager or lazy."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.data.paths import require_path
from core.errors import InputError

__all__ = ["read_table", "scan_table", "require_columns", "TABLE_SUFFIXES", "NULL_VALUES"]

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".data"}
NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "?"]


def _read_whitespace(path: Path):
    import polars as pl

    rows = []
    with open(path, encoding="utf-8", errors="strict") as handle:
        for line in handle:
            parts = line.split()
            if parts:
                rows.append(parts)
    if not rows:
        raise InputError(f"{path} has no rows")
    width = len(rows[0])
    bad = next((i for i, r in enumerate(rows) if len(r) != width), None)
    if bad is not None:
        raise InputError(f"{path}: line {bad + 1} has {len(rows[bad])} fields, expected {width}")
    frame = pl.DataFrame(rows, schema=[str(i) for i in range(width)], orient="row")
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

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_text("a,b\\n1,2\\n")
    >>> scan_table(p).collect().shape
    (1, 2)
    """
    import polars as pl

    path = require_path(path, "table file")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            return pl.scan_parquet(path)
        if suffix in {".jsonl", ".ndjson"}:
            return pl.scan_ndjson(path)
        if suffix in {".csv", ".tsv", ".txt"}:
            sep = separator or ("\t" if suffix == ".tsv" else ",")
            return pl.scan_csv(path, separator=sep, null_values=NULL_VALUES, infer_schema_length=10000)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"cannot read {path.name}: {error}") from error
    raise InputError(f"{path.name}: lazy scanning supports .csv .tsv .parquet .jsonl; convert the file or use read_table()")


def read_table(path: str | Path, separator: str | None = None, columns: Iterable[str] | None = None):
    """Read a table into a polars DataFrame; `.data` files are headerless whitespace (columns "0", "1", ...).

    The literal strings in `NULL_VALUES` (including `nan`) are read as missing values.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "t.data"; _ = p.write_text("1 A 2.5\\n3 B nan\\n")
    >>> read_table(p).columns
    ['0', '1', '2']
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
            frame = _read_whitespace(path)
        elif suffix == ".json":
            from core.data.text import read_json

            records = read_json(path, "JSON table")
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise InputError(f"{path.name} must hold a JSON list of records (or use .jsonl)")
            frame = pl.DataFrame(records)
        elif suffix in {".parquet", ".pq", ".jsonl", ".ndjson", ".csv", ".tsv", ".txt"}:
            frame = scan_table(path, separator).collect()
        else:
            raise InputError(f"{path.name}: unsupported table format {suffix or '(none)'}; use one of {', '.join(sorted(TABLE_SUFFIXES))}")
    except UnicodeDecodeError as error:
        raise InputError(f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start}); re-save it as UTF-8") from error
    except pl.exceptions.PolarsError as error:
        message = str(error).splitlines()[0]
        raise InputError(f"cannot parse {path.name}: {message}") from error
    if len(set(frame.columns)) != len(frame.columns):
        raise InputError(f"{path.name} has duplicated column names")
    if frame.height == 0:
        raise InputError(f"{path.name} has a header but no rows")
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
        raise InputError(f"{where} is missing column(s) {', '.join(missing)}; it has: {', '.join(present[:30])}")
