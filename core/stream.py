"""Streaming predict: inputs in batches, records written as they come (JSONL, CSV or Parquet), ids kept across batches.

`RecordWriter` writes to a temp file beside the target and renames it at the end, so an error or Ctrl-C mid-stream
leaves neither a partial target nor the temp file. `stream_predict` is what `verticals predict` runs.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.artifacts import check_output_path, release_temp, temp_file_beside
from core.errors import InputError, write_error

__all__ = ["RecordWriter", "output_format", "identified_batches", "predict_batches", "stream_predict", "STREAM_ROWS"]

STREAM_ROWS = 131_072  # rows (or files, lines) per input batch: bounded memory, few calls into the model
RECORDS_PER_WRITE = 1024  # records held before they are written (inputs a task reads whole)
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)
FORMATS = ("jsonl", "csv", "parquet")
ERROR_FIELD = "error"


def output_format(path: str | Path | None, format: str | None = None) -> str:
    """`parquet` for a `.parquet` / `.pq` target, `csv` for a `.csv` one, else `jsonl` (also for stdout); an explicit
    `format` wins.

    >>> output_format("scores.parquet"), output_format("out.csv"), output_format("out.jsonl"), output_format(None)
    ('parquet', 'csv', 'jsonl', 'jsonl')
    """
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"output format must be one of {', '.join(FORMATS)}, got {format!r}")
        return format
    name = str(path).lower() if path is not None else ""
    return "parquet" if name.endswith(PARQUET_SUFFIXES) else "csv" if name.endswith(CSV_SUFFIXES) else "jsonl"


class RecordWriter:
    """Write prediction records batch by batch: JSONL (one object a line), CSV (a header from the first records, lists
    and objects as JSON text) or Parquet (one row group a batch).

    `path=None` writes JSONL to stdout. A file target is written to a temp file beside it and renamed on a clean
    exit; on any exception (Ctrl-C included) the temp file is removed and an existing target is left untouched.

    >>> import polars as pl
    >>> target = Path(tempfile.mkdtemp()) / "out.parquet"
    >>> with RecordWriter(target) as writer:
    ...     writer.write_batch([{"row": 1, "pd": 0.1}])
    ...     writer.write_frame(pl.DataFrame({"row": [2], "pd": [0.2]}))
    >>> pl.read_parquet(target).select("row", "pd").rows()
    [(1, 0.1), (2, 0.2)]
    """

    def __init__(self, path: str | Path | None, format: str | None = None):
        self.path = Path(path) if path is not None else None
        self.format = output_format(path, format)
        self.rows = 0
        self._handle: Any = None
        self._temp: Path | None = None
        self._parquet: Any = None  # pyarrow.parquet.ParquetWriter, opened on the first batch
        self._schema: Any = None
        self._pending: list[dict[str, Any]] = []  # Parquet, CSV: error records held until a record shows the full schema
        self._csv: Any = None  # True once the header is written (on the first batch)
        self._columns: list[str] = []  # CSV: the header
        self._direct = False  # writing straight into a device or pipe (no temp file to rename over it)
        self.warned = 0  # records with a non-empty `warnings` list, and how often each text came (for a summary)
        self.failed = 0  # error records
        self.warning_texts: collections.Counter = collections.Counter()

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def __enter__(self) -> "RecordWriter":
        if self.path is None:
            if self.format == "parquet":
                raise InputError("Parquet output needs a file: pass --output NAME.parquet")
            self._handle = sys.stdout
            return self
        check_output_path(self.path, room=0)  # the temp name beside it is cut to fit
        if self.path.name in {"", ".", ".."} or self.path.is_dir():
            raise InputError(f"cannot write a file at {str(self.path)!r}: it is a folder; give a file path")
        target = self.path.resolve() if self.path.is_symlink() else self.path  # a link to a file: the file is replaced
        if target.exists() and not target.is_file():  # /dev/null, /dev/stdout, a FIFO: written into, never replaced
            if self.format == "parquet":
                raise InputError(f"{self.path} is not a regular file (a device or a pipe); Parquet output needs a file")
            try:
                self._handle = open(target, "w", encoding="utf-8", newline="\n")
            except OSError as error:
                raise write_error(f"cannot write {self.path}: {error.strerror or error}", error) from error
            self._direct = True
            return self
        self.path = target
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temp = temp_file_beside(self.path)  # and what a killed predict left there goes
        except OSError as error:
            raise write_error(f"cannot write to {self.path.parent}: {error.strerror or error}; choose a writable folder",
                              error) from error
        self._temp = Path(temp)
        if self.format in ("jsonl", "csv"):
            self._handle = os.fdopen(descriptor, "w", encoding="utf-8", newline="\n")
        else:
            os.close(descriptor)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self.path is None or self._direct:
            with self._errors():
                if kind is None and self._pending:  # every record was an error record
                    self._write_records([])
                if self.path is None:
                    self._handle.flush()
                else:
                    self._handle.close()
            return
        try:
            if kind is None and self._pending:
                self._write_records([])
            if self._handle is not None:
                self._handle.close()
            if kind is None and self.format == "parquet" and self._parquet is None:
                self._open_parquet(_empty_table())  # no records: still a readable file
            if self._parquet is not None:
                self._parquet.close()
            if kind is None:
                _sync(self._temp)
                os.replace(self._temp, self.path)
        except OSError as error:
            raise write_error(f"cannot write {self.path}: {error.strerror or error}; choose a writable location",
                              error) from error
        finally:
            if self._temp is not None:
                if self._temp.exists():
                    self._temp.unlink()
                release_temp(self._temp)

    # -- writing ------------------------------------------------------------------------------------------------
    def write_batch(self, records: list[dict[str, Any]]) -> None:
        """Write a list of records (dicts, keys in output order)."""
        if not records:
            return
        with self._errors():
            self._write_records(records)
        self.rows += len(records)
        self._tally(record.get("warnings") for record in records)
        self.failed += sum(ERROR_FIELD in record and record[ERROR_FIELD] is not None for record in records)

    def write_frame(self, frame: Any) -> None:
        """Write a polars DataFrame of records (one per row): columnar, no per-row Python for Parquet."""
        if frame.height == 0:
            return
        with self._errors():
            if self.format == "jsonl":
                self._handle.write("".join(_json_line(r) for r in frame.iter_rows(named=True)))
            elif self.format == "csv":
                self._write_records(list(frame.iter_rows(named=True)))
            else:
                self._write_table(frame.to_arrow())
        self.rows += frame.height
        if "warnings" in frame.columns:
            self._tally(frame["warnings"].to_list())
        if ERROR_FIELD in frame.columns:
            self.failed += frame.height - frame[ERROR_FIELD].null_count()

    def _tally(self, warnings_of_records: Iterable[Any]) -> None:
        for said in warnings_of_records:
            if said:
                self.warned += 1
                for text in map(str, (said if isinstance(said, list) else [said])[:3]):
                    if len(self.warning_texts) < 1000 or text in self.warning_texts:
                        self.warning_texts[text] += 1

    def summary(self) -> str | None:
        """One sentence on the records that carry warnings or errors, for a terminal that does not see the file."""
        said = []
        if self.failed:
            said.append(f"{self.failed} of {self.rows} inputs could not be predicted (their `{ERROR_FIELD}` field)")
        if self.warned:
            text, count = self.warning_texts.most_common(1)[0] if self.warning_texts else ("", 0)
            said.append(f"{self.warned} of {self.rows} records carry warnings (their `warnings` field); the most common, "
                        f"on {count}: {text}")
        return f"in {self.path}: " + "; ".join(said) if said and self.path is not None else None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:  # the reader of stdout is gone (`| head -1`): the CLI ends quietly, not as bad input
            raise
        except OSError as error:  # a full disk, a read-only file system: the machine's failure (exit 1), not the input's
            raise write_error(f"cannot write {self.path or 'to stdout'}: {error.strerror or error}", error) from error

    def _write_records(self, records: list[dict[str, Any]]) -> None:
        if self.format == "jsonl":
            self._handle.write("".join(_json_line(r) for r in records))
            return
        if (self._parquet if self.format == "parquet" else self._csv) is None:  # the file's columns come from its first
            # batch: error records alone (1,024 blank rows at the top of a table) lack the prediction fields, so they
            # wait for a predicted record
            if records and all(ERROR_FIELD in r for r in records) and len(self._pending) < PENDING_ERRORS:
                self._pending.extend(records)
                return
            records, self._pending = self._pending + records, []
        if self.format == "csv":
            self._write_csv(records)
        else:
            import pyarrow as pa

            try:
                names = list(dict.fromkeys(name for record in records for name in record))  # every record's keys
                table = pa.table({name: [_plain(r.get(name)) for r in records] for name in names})
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise InputError(f"records cannot be written as Parquet ({error}); write JSONL instead") from error
            self._write_table(table)

    def _write_csv(self, records: list[dict[str, Any]]) -> None:
        """CSV rows under the header of the first records (plus `error`): text as is, other values as JSON writes them
        (numbers, true/false, lists and objects), None as an empty cell."""
        if not records:
            return
        if self._csv is None:
            self._columns = list(dict.fromkeys(name for record in records for name in record))
            if ERROR_FIELD not in self._columns:  # any batch may hold an input that could not be predicted
                self._columns.append(ERROR_FIELD)
            self._csv = True
            self._handle.write(csv_line(self._columns))
        extra = [name for name in dict.fromkeys(n for record in records for n in record) if name not in self._columns]
        if extra:
            raise InputError(f"record fields {', '.join(extra)} appeared after the first batch; CSV needs one header "
                             "for the whole file: write JSONL instead (--output NAME.jsonl)")
        self._handle.write("".join(csv_line([_cell(record.get(name)) for name in self._columns]) for record in records))

    def _write_table(self, table: Any) -> None:
        import pyarrow as pa

        if self._parquet is None:
            self._open_parquet(table)
        names = self._schema.names
        extra = [n for n in table.column_names if n not in names]
        if extra:
            raise InputError(f"record fields {', '.join(extra)} appeared after the first batch; Parquet needs one schema "
                             "for the whole file: write JSONL instead (--output NAME.jsonl)")
        columns = [table.column(n) if n in table.column_names else pa.nulls(table.num_rows, self._schema.field(n).type)
                   for n in names]
        try:
            table = pa.Table.from_arrays(columns, schema=None, names=names).cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
            raise InputError(f"record types changed between batches ({error}); write JSONL instead") from error
        self._parquet.write_table(table)

    def _open_parquet(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        def widened(kind: Any) -> Any:  # a type no value has shown yet (all null, or lists all empty) is taken as text
            if pa.types.is_null(kind):
                return pa.string()
            if pa.types.is_list(kind) and pa.types.is_null(kind.value_type):
                return pa.list_(pa.string())
            return kind

        fields = [pa.field(f.name, widened(f.type)) for f in table.schema]
        if ERROR_FIELD not in table.schema.names:  # any batch may hold an input that could not be predicted
            fields.append(pa.field(ERROR_FIELD, pa.string()))
        self._schema = pa.schema(fields)
        self._parquet = pq.ParquetWriter(str(self._temp), self._schema, compression="zstd")


PENDING_ERRORS = 1_000_000  # error records held back for the Parquet schema, at most (then written as they are)


def _sync(path: Path) -> None:
    """Flush the finished temp file to disk and give it the permissions a plain new file gets (mkstemp's are 0600)."""
    from core.artifacts import default_mode

    default_mode(path)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _empty_table() -> Any:
    import pyarrow as pa

    return pa.table({ERROR_FIELD: pa.array([], pa.string())})


def _cell(value: Any) -> str:
    """One CSV cell: text as is (but for `spreadsheet_safe`), None empty, anything else as JSON (what the JSONL output
    holds for it)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(_utf8(value))
    return json.dumps(_plain(value), default=str)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet would run as a formula (it starts with = + - @, a tab or a CR: OWASP's CSV injection list)
    with a leading apostrophe, so Excel or LibreOffice shows it as text; numbers such as -5 are left as they are.

    >>> spreadsheet_safe("=1+1"), spreadsheet_safe("@SUM(A1)"), spreadsheet_safe("-5"), spreadsheet_safe("ok")
    ("'=1+1", "'@SUM(A1)", '-5', 'ok')
    """
    if not text.startswith(_FORMULA_START):
        return text
    try:
        float(text)
        return text
    except ValueError:
        return "'" + text


def csv_line(cells: list[str]) -> str:
    r"""One CSV line (RFC 4180): a cell holding a comma, a quote, a newline or a CR is quoted (Python's csv module
    leaves a CR bare when lines end in \n, and readers then split the record there).

    >>> csv_line(["a", "b,c", "x\ry"])
    'a,"b,c","x\ry"\n'
    """
    return ",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' if any(ch in c for ch in ',"\n\r') else c
                    for c in cells) + "\n"


def _json_line(record: dict[str, Any]) -> str:
    r"""One JSONL line. A lone surrogate (a file name whose bytes are not UTF-8) is written as the CSV and Parquet
    outputs write it (`caf\xe9`), not as `\udce9`, which strict JSON readers (polars, Rust, Go) refuse.

    >>> _json_line({"path": "caf\udce9.jpg", "face": "\U0001F600"})
    '{"path": "caf\\\\xe9.jpg", "face": "\\ud83d\\ude00"}\n'
    """
    line = json.dumps(record, default=str)
    if "\\ud" in line:  # \ud800-\udfff: a surrogate pair (fine) or a lone one
        line = json.dumps(_utf8_deep(record), default=str)
    return line + "\n"


def _utf8_deep(value: Any) -> Any:
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, dict):
        return {_utf8_deep(k): _utf8_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_utf8_deep(v) for v in value]
    return value


def _utf8(text: str) -> str:
    r"""Text UTF-8 can hold: a file name whose bytes are not UTF-8 (Python keeps them as lone surrogates, `caf\udce9`)
    is written with the bytes escaped, as `caf\xe9`; other text is returned as is.

    >>> _utf8("caf\udce9.jpg"), _utf8("café.jpg")
    ('caf\\xe9.jpg', 'café.jpg')
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that stands for no byte (from JSON text): its code point escaped
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _plain(value: Any) -> Any:
    # what json.dumps(default=str) would write for values Arrow cannot hold (paths, numpy scalars)
    if isinstance(value, (str, Path)):
        return _utf8(str(value))
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        try:
            return value.item()
        except (TypeError, ValueError):
            return str(value)
    return value


def identified_batches(batches: Iterable[Any], id_column: str | None = None) -> Iterator[Any]:
    """Identify each input batch (`core.protocols.identify_inputs`), numbering rows / indexes on across batches.

    >>> import polars as pl
    >>> [b.ids for b in identified_batches([pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [3]})])]
    [[{'row': 1}, {'row': 2}], [{'row': 3}]]
    """
    from core.protocols import identify_inputs

    start, seen = 0, _SeenIds()
    for batch in batches:
        identified = identify_inputs(batch, id_column, start=start)
        if getattr(identified, "id_key", None) == "id":
            _check_ids(identified.id_series.to_list(), identified.id_series.name, start, seen, id_column)
        elif any("id" in identity for identity in getattr(identified, "ids", [])[:1]):  # a reader's own Inputs
            _check_ids([identity.get("id") for identity in identified.ids], id_column or "id", start, seen, id_column)
        start += len(identified)
        if len(identified):
            yield identified


class _SeenIds:
    """The ids of the batches read so far, as (digest, row) in two sorted numpy arrays: 16 bytes an id (16 MB a
    million; a dict of the values took about 120 MB, so memory grew with the file), from `_id_digests`: distinct
    whole-number ids never collide, other ids about 1 in 10^19 a pair (1 and 1.0 are one id, as in a dict; "1" is
    another). Python's `hash` collided by design: -1 and -2 hash alike, and integers repeat every 2^61 - 1.

    >>> _SeenIds().repeat([-1, -2, 2 ** 61, 1], 0), _SeenIds().repeat([1, "a", 1.0], 0)
    (None, (1, 3))
    """

    def __init__(self) -> None:
        import numpy as np

        self.hashes, self.rows = np.empty(0, np.int64), np.empty(0, np.int64)

    def repeat(self, values: list[Any], start: int) -> tuple[int, int] | None:
        """The (earlier row, row) of the first value in `values` (rows from `start` + 1) seen before; None when all
        are new, and then they are remembered."""
        import numpy as np

        hashed = _id_digests(values)
        rows = np.arange(start + 1, start + len(values) + 1, dtype=np.int64)
        order = np.argsort(hashed, kind="stable")
        ranked = hashed[order]
        repeats = []
        same = np.flatnonzero(ranked[1:] == ranked[:-1]) + 1  # in the batch: each later copy, after its first
        if same.size:
            first = np.maximum.accumulate(np.where(np.r_[True, ranked[1:] != ranked[:-1]], np.arange(len(ranked)), 0))
            later = order[same]
            at = int(np.argmin(later))
            repeats.append((int(rows[order[first[same[at]]]]), int(rows[later[at]])))
        if len(self.hashes):
            place = np.minimum(np.searchsorted(self.hashes, hashed), len(self.hashes) - 1)
            hit = np.flatnonzero(self.hashes[place] == hashed)
            if hit.size:
                repeats.append((int(self.rows[place[hit[0]]]), int(rows[hit[0]])))
        if repeats:
            return min(repeats, key=lambda pair: pair[1])
        merged = np.concatenate([self.hashes, hashed])
        keep = np.argsort(merged, kind="stable")
        self.hashes, self.rows = merged[keep], np.concatenate([self.rows, rows])[keep]
        return None


_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_MASK64 = 2 ** 64 - 1


def _id_digests(values: list[Any]):
    """One signed 64-bit digest per id: whole numbers (1, 1.0, True, np.int64(1), Decimal(1) alike, as a dict's keys
    are) through splitmix64's mixer, a bijection of 64-bit integers, so two distinct whole-number ids never collide;
    anything else (text, dates, other numbers) 64 bits of BLAKE2b over its canonical text, apart from whole numbers but
    for a 1 in 10^19 chance. Columns of integers or floats are digested as arrays.

    >>> a, b = _id_digests([1, 2.0, "1"]), _id_digests([1.0, 2, "x"])
    >>> bool(a[0] == b[0]), bool(a[1] == b[1]), bool(a[2] == _id_digests(["1"])[0]), bool(a[0] == a[2])
    (True, True, True, False)
    """
    import numpy as np

    try:
        array = np.asarray(values) if values else np.empty(0, np.int64)
    except (ValueError, TypeError, OverflowError):
        array = np.empty(0, dtype=object)
    if array.ndim == 1 and len(array) == len(values) and array.dtype.kind in "iub":
        if array.dtype.kind != "u" or len(array) == 0 or int(array.max()) <= _INT64[1]:
            return _mix(array.astype(np.int64))
    if array.ndim == 1 and len(array) == len(values) and array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.floor(array)) & (np.abs(array) < 2.0 ** 63)
        digests = np.empty(len(array), dtype=np.int64)
        digests[whole] = _mix(array[whole].astype(np.int64))
        for index in np.flatnonzero(~whole):
            digests[index] = _id_digest(float(array[index]))
        return digests
    return np.fromiter((_id_digest(v) for v in values), dtype=np.int64, count=len(values))


def _mix(numbers):
    """splitmix64's finaliser on int64s (as uint64, wrapping): a bijection that spreads neighbouring ids apart."""
    import numpy as np

    z = numbers.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z.view(np.int64)


def _mix_one(number: int) -> int:
    """`_mix` of one integer in the int64 range, in plain Python (a one-element array costs more than the mixing)."""
    z = number & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z - 2 ** 64 if z > _INT64[1] else z


def _id_digest(value: Any) -> int:
    """`_id_digests` of one id."""
    import decimal
    import hashlib
    import numbers

    whole = None
    if isinstance(value, numbers.Integral):
        whole = int(value)
    elif isinstance(value, (numbers.Real, decimal.Decimal)):
        try:
            if float(value).is_integer() and value == int(value):  # 2.0, Decimal(2), np.float32(2); not NaN or inf
                whole = int(value)
        except (OverflowError, ValueError, decimal.InvalidOperation):
            whole = None
    if whole is not None:
        if _INT64[0] <= whole <= _INT64[1]:
            return _mix_one(whole)
        text = f"n:{whole}"  # beyond 64 bits: 10**20 and 1e20 alike
    elif isinstance(value, (numbers.Real, decimal.Decimal)):
        text = f"n:{float(value)!r}"
    elif isinstance(value, str):
        text = f"s:{value}"
    else:
        text = f"{type(value).__name__}:{value!r}"
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little",
                          signed=True)


def _check_ids(values: list[Any], name: str, start: int, seen: _SeenIds, named: str | None) -> None:
    """An id column's values name each record so the output joins back: an empty or repeated one -> `InputError`
    naming the rows (`seen`: the ids of the batches before, kept compact)."""
    column = f"--id column {name!r}" if named else f"the id column {name!r} (taken as the records' ids)"
    fix = "pass --id with a column of unique ids" + ("" if named else f", or rename {name!r} to number the records by row")
    empty = next((offset for offset, value in enumerate(values) if value is None or value == ""), None)
    if empty is not None:
        raise InputError(f"row {start + empty + 1}: {column} is empty, so its record could not be joined back; {fix}")
    repeat = seen.repeat(values, start)
    if repeat is not None:
        earlier, row = repeat
        raise InputError(f"rows {earlier} and {row}: {column} repeats {values[row - start - 1]!r}, so their records "
                         f"could not be told apart; {fix}")


def predict_batches(model: Any, batches: Iterable[Any], id_column: str | None = None, batch_size: int | None = None,
                    **options: Any) -> Iterator[Any]:
    """Per input batch, its records: a polars DataFrame (id column first) when the model scores tables columnar
    (`predict_table`), else a list of dicts as `core.protocols.predict_records` makes them.

    >>> class Echo:
    ...     def predict(self, items, batch_size=None): return [{"text": t} for t in items]
    >>> [list(b) for b in predict_batches(Echo(), [["a"], ["b"]])]
    [[{'index': 1, 'text': 'a'}], [{'index': 2, 'text': 'b'}]]
    """
    from core.protocols import _IdentifiedFrame, predict_records

    for inputs in identified_batches(batches, id_column):
        if isinstance(inputs, _IdentifiedFrame) and hasattr(model, "predict_table") and not options:
            yield _with_ids(model.predict_table(inputs.frame), inputs)
            continue
        records: list[dict[str, Any]] = []
        for record in predict_records(model, inputs, batch_size=batch_size, chunk=RECORDS_PER_WRITE, **options):
            records.append(record)
            if len(records) == RECORDS_PER_WRITE:
                yield records
                records = []
        if records:
            yield records


def _with_ids(scored: Any, inputs: Any) -> Any:
    import polars as pl

    if scored.height != len(inputs):
        raise InputError(f"the model returned {scored.height} records for {len(inputs)} inputs")
    key = inputs.id_key
    return pl.concat([pl.DataFrame([inputs.id_series.alias(key)]), scored.drop(key, strict=False)], how="horizontal")


def stream_predict(model: Any, batches: Iterable[Any], output: str | Path | None = None, *, id_column: str | None = None,
                   batch_size: int | None = None, format: str | None = None, summary: list | None = None,
                   **options: Any) -> int:
    """Predict every input batch and write its records as they come; returns the number of records written.

    >>> class Echo:
    ...     def predict(self, items, batch_size=None): return [{"text": t} for t in items]
    >>> target = Path(tempfile.mkdtemp()) / "out.jsonl"
    >>> stream_predict(Echo(), [["a", "b"], ["c"]], target)
    3
    >>> target.read_text().splitlines()[-1]
    '{"index": 3, "text": "c"}'
    """
    with RecordWriter(output, format) as writer:
        for records in predict_batches(model, batches, id_column, batch_size, **options):
            if isinstance(records, list):
                writer.write_batch(records)
            else:
                writer.write_frame(records)
    if summary is not None and (said := writer.summary()):  # said after the file is in place
        summary.append(said)
    return writer.rows
