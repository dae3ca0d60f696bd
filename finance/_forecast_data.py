"""Series input for finance.forecast: reading CSV/Parquet (one series or long `id, date, value`), validation."""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data import read_table, require_columns
from core.data.tables import odd_numbers_as_text
from core.data.tables import separator_hint
from core.data.dates import parse_dates
from core.errors import InputError

__all__ = ["Series", "UnreadableSeries", "read_series_frame", "read_series", "prepare_frame", "prepare_series",
           "frame_to_series", "series_from_input", "series_from_inputs",
           "future_dates", "trading_weekmask", "weekmask_names",
           "infer_frequency", "frequency_from_span", "frequency_mismatch", "irregularity", "infer_calendar",
           "check_calendar", "calendar_holidays", "business_month_dates", "TIME_NAMES", "VALUE_NAMES", "ID_NAMES", "CALENDARS"]

TIME_NAMES = ("date", "Date", "ds", "time", "timestamp", "Datetime", "datetime")
VALUE_NAMES = ("value", "Value", "y", "close", "Close", "adj_close", "Adj Close", "price", "Price")
ID_NAMES = ("id", "unique_id", "ticker", "symbol", "series")
KNOWN_OPTIONS = {"time", "value", "id"}
PREDICT_OPTIONS = {"calendar"}  # `--option calendar=NYSE` reaches predict(), not the reader
ALIASES = {"target": "value", "column": "value"}  # the CLI's --target / --column name the value column too


@dataclass(frozen=True)
class Series:
    """One validated series: finite float values in time order, optional dates (numpy datetime64[D])."""

    id: str
    values: np.ndarray
    dates: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)


def _pick(columns: list[str], given: str | None, names: tuple[str, ...], role: str, flag: str, required: bool = True):
    if given:
        if given not in columns:
            raise InputError(f"{role} column {given!r} is not in the table; it has: {', '.join(columns[:30])}"
                             f"{separator_hint(columns)}")
        return given
    for name in names:
        if name in columns:
            return name
    if required:
        raise InputError(f"no {role} column found (looked for {', '.join(names[:6])}); name it with {flag} COLUMN. "
                         f"The table has: {', '.join(columns[:30])}")
    return None


def _check_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(k for k, v in options.items() if v is not None and k not in KNOWN_OPTIONS | set(ALIASES) | PREDICT_OPTIONS | {"source"})
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)} for finance.forecast; use time=, value= and id=")
    chosen = {k: options.get(k) for k in KNOWN_OPTIONS}
    for alias, name in ALIASES.items():
        if options.get(alias) is not None and not chosen[name]:
            chosen[name] = options[alias]
    return chosen


def _yyyymmdd(column) -> bool:
    """Whether an integer or text column holds 8-digit dates like 20210104 only (every one a valid date, 1800-2199)."""
    import polars as pl

    text = column.cast(pl.String).str.strip_chars().drop_nulls()
    if not len(text) or not text.str.contains(r"^(18|19|20|21)\d{6}$").all():
        return False
    return text.str.strptime(pl.Date, "%Y%m%d", strict=False).null_count() == 0


def _refuse_bad_yyyymmdd(column, name: str, where: str) -> None:
    """An `InputError` naming the values that are not dates when a column is YYYYMMDD dates but for a few (all values
    8 digits, 95% or more valid dates, e.g. 20190231 among them): not a misleading "out of order", nor a row index.

    >>> import polars as pl
    >>> _refuse_bad_yyyymmdd(pl.Series([20190227, 20190228, 20190231] + [20190301] * 20), "date", "the data")
    Traceback (most recent call last):
    ...
    core.errors.InputError: the data: time column 'date' holds YYYYMMDD dates but row 3: 20190231 is not a date (YYYYMMDD); correct or drop it
    """
    import polars as pl

    text = column.cast(pl.String).str.strip_chars()
    present = text.is_not_null().to_numpy()
    if not present.any() or not text.drop_nulls().str.contains(r"^(18|19|20|21)\d{6}$").all():
        return
    parsed = text.str.strptime(pl.Date, "%Y%m%d", strict=False)
    bad = np.flatnonzero(present & parsed.is_null().to_numpy())
    if not len(bad) or len(bad) > 0.05 * present.sum():
        return
    named = ", ".join(f"row {int(row) + 1}: {text[int(row)]}" for row in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    verb = "is" if len(bad) == 1 else "are"
    raise InputError(f"{where}: time column {name!r} holds YYYYMMDD dates but {named}{more} {verb} not a date "
                     "(YYYYMMDD); correct or drop it")


EXCEL_EPOCH_SERIAL = 25569  # 1970-01-01 as an Excel serial date (day 0: 1899-12-30, its 1900 leap-day bug included)
EXCEL_SERIALS = (20000, 80000)  # 1954-10-03 .. 2119-01-10


def _excel_serial(column, name: str) -> bool:
    """Whether an integer time column is Excel serial dates: its name says date or time, every value lies in
    EXCEL_SERIALS, and its distinct values step forward by whole days, at most a year apart (calendar steps)."""
    lowered = name.lower()
    if not ("date" in lowered or "time" in lowered or lowered in {n.lower() for n in TIME_NAMES}):
        return False
    values = column.drop_nulls().to_numpy()
    if not len(values) or values.min() < EXCEL_SERIALS[0] or values.max() > EXCEL_SERIALS[1]:
        return False
    steps = np.diff(np.unique(values))
    return bool(len(steps) == 0 or steps.max() <= 366)


def _to_dates(column, name: str, where: str = "the data"):
    """The time column as dates (text in any format core.data.dates infers or `--option date_format=` names, and
    YYYYMMDD integers or text such as 20210104), or an integer time index (0, 1, 2...)."""
    import polars as pl

    from core.data.tables import current_option

    if column.dtype in (pl.Date,):
        return column
    if isinstance(column.dtype, pl.Datetime):
        return column.dt.date()
    if column.dtype.is_integer() or column.dtype == pl.String:
        given = current_option("date_format")
        if not given and _yyyymmdd(column):  # 20210104: a date, not the 20-millionth step of a time index
            given = "%Y%m%d"
        elif not given:
            _refuse_bad_yyyymmdd(column, name, where)  # 20190231 among YYYYMMDD dates: named, not a row index
        if column.dtype.is_integer() and not given:
            if _excel_serial(column, name):
                warnings.warn(f"{where}: time column {name!r} holds integers {int(column.min())}..{int(column.max())}, "
                              "read as Excel serial dates (days since 1899-12-30); to read them as a step index "
                              "instead, rename the column (e.g. to 'step') and pass --time step (time= in Python)",
                              UserWarning, stacklevel=2)
                return (column.cast(pl.Int64) - EXCEL_EPOCH_SERIAL).cast(pl.Date)  # polars dates count from 1970-01-01
            return column.cast(pl.Int64)
        return parse_dates(column.cast(pl.String), given, where=where, name=name).dt.date()  # one format, offsets honoured
    raise InputError(f"time column {name!r} has type {column.dtype}; it must hold dates (or an integer time index)")


class UnreadableSeries(dict):
    """A series of a long table that fails its own checks (a missing or non-numeric value, an empty, duplicated or
    out-of-order date, too few rows): `{"id", "error"}`, which `predict` answers with that error record in its place."""

    @property
    def exception(self) -> InputError:
        return InputError(self["error"])


def prepare_frame(frame: Any, time: str | None = None, value: str | None = None, id: str | None = None,
                  min_length: int = 2, where: str = "the data", default_id: str = "series"):
    """Validate a table and return the canonical polars frame `id, date, value` (sorted input required); the first
    problem of any series is an `InputError`.

    >>> import polars as pl
    >>> prepare_frame(pl.DataFrame({"Date": ["2020-01-01", "2020-01-02"], "Close": [1.0, 2.0]})).columns
    ['id', 'date', 'value']
    """
    out, junk, value_col, time_col = _canonical(frame, time, value, id, where, default_id)
    problems = _series_problems(out, junk, value_col, time_col, min_length, where)
    if problems:
        raise InputError(next(iter(problems.values())))
    return out


def prepare_series(frame: Any, time: str | None = None, value: str | None = None, id: str | None = None,
                   min_length: int = 2, where: str = "the data",
                   default_id: str = "series") -> list[Series | UnreadableSeries]:
    """The series of a table in its order, each one that fails its own checks (a missing or non-numeric value, an
    empty, duplicated or out-of-order date, fewer than `min_length` rows) an `UnreadableSeries` in its place, so the
    others can still be forecast; a problem of the whole table (no such column, empty ids, interleaved series) is an
    `InputError`.

    >>> import polars as pl
    >>> table = pl.DataFrame({"id": ["a", "a", "b", "b"], "date": ["2020-01-01", "2020-01-02"] * 2, "value": [1.0, 2.0, None, 2.0]})
    >>> [type(s).__name__ for s in prepare_series(table)]
    ['Series', 'UnreadableSeries']
    """
    import polars as pl

    out, junk, value_col, time_col = _canonical(frame, time, value, id, where, default_id)
    problems = _series_problems(out, junk, value_col, time_col, min_length, where)
    good = {s.id: s for s in frame_to_series(out.filter(~pl.col("id").is_in(list(problems))))}
    return [UnreadableSeries(id=name, error=problems[name]) if name in problems else good[name]
            for name in out["id"].unique(maintain_order=True).to_list()]


def _from_pandas(frame: Any, where: str):
    """A pandas table as polars; a column mixing numbers and text (an object column holding 'n/a' among floats) is read
    as text, so that the checks below name its value and row instead of refusing the whole table."""
    import polars as pl

    try:
        return pl.from_pandas(frame)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        failure = error
    try:
        columns = {}
        for name in frame.columns:
            try:
                columns[str(name)] = pl.from_pandas(frame[name])
            except (TypeError, ValueError, pl.exceptions.PolarsError):
                columns[str(name)] = pl.from_pandas(frame[name].astype("string"))  # numbers as their shortest text
        if len(columns) == len(frame.columns):
            return pl.DataFrame(columns)
    except (TypeError, ValueError, AttributeError, pl.exceptions.PolarsError):
        pass
    raise InputError(f"{where}: expected a table with date and value columns, got {type(frame).__name__} "
                     f"({str(failure).splitlines()[0] if str(failure) else type(failure).__name__})") from failure


def _canonical(frame: Any, time: str | None, value: str | None, id: str | None, where: str, default_id: str):
    """The canonical frame `id, date, value` after the checks of the whole table, the mask of its non-numeric value
    cells, and the value and time columns' names."""
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        if type(frame).__module__.startswith("pandas") and hasattr(frame, "columns"):
            frame = _from_pandas(frame, where)
        else:
            try:
                frame = pl.from_pandas(frame) if hasattr(frame, "columns") else pl.DataFrame(frame)
            except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
                raise InputError(f"{where}: expected a table with date and value columns, got {type(frame).__name__}") from error
    columns = list(frame.columns)
    if frame.height == 0:
        raise InputError(f"{where} has no rows")
    time_col = _pick(columns, time, TIME_NAMES, "time", "--time")
    value_col = _pick(columns, value, VALUE_NAMES, "value", "--value")
    id_col = _pick(columns, id, ID_NAMES, "id", "--id", required=False)
    require_columns(frame, [c for c in (time_col, value_col, id_col) if c], where)
    dates = _to_dates(frame[time_col], time_col, where)
    raw = frame[value_col]
    if raw.dtype == pl.String:
        numbers = raw.str.strip_chars().cast(pl.Float64, strict=False)
        junk = pl.select(pl.when(numbers.is_null()).then(raw)).to_series()  # the cells that are not numbers, else null
    elif raw.dtype.is_numeric():
        numbers, junk = raw.cast(pl.Float64), pl.Series([None] * frame.height, dtype=pl.String)
    else:
        raise InputError(f"value column {value_col!r} has type {raw.dtype}; it must hold numbers")
    ids = frame[id_col].cast(pl.String) if id_col else pl.Series("id", [default_id] * frame.height)
    out = pl.DataFrame({"id": ids, "date": dates, "value": numbers})
    _refuse_intraday(frame[time_col], out, time_col, value_col, where)
    _check_table(out, where)
    return out, junk, value_col, time_col


def _refuse_intraday(column, out, time_col: str, value_col: str, where: str) -> None:
    """Times of day that make one date repeat (hourly, minute bars): said as such, not as a duplicated date."""
    import polars as pl

    if not isinstance(column.dtype, pl.Datetime) and column.dtype != pl.String or _yyyymmdd(column):
        return
    if not out.select(pl.struct("id", "date").is_duplicated().any()).item():
        return
    stamps = column if isinstance(column.dtype, pl.Datetime) else parse_dates(column, where=where, name=time_col)
    timed = pl.DataFrame({"id": out["id"], "stamp": stamps})
    if timed.select(pl.struct("id", "stamp").is_duplicated().any()).item():
        return  # the same time twice: _series_problems names the duplicated date
    hours = timed.select(pl.col("stamp").diff().over("id").dt.total_minutes().median()).item()
    step = f"a step of about {hours / 60:g} hours" if hours is not None else "several times a day"
    raise InputError(f"{where}: time column {time_col!r} holds several times a day (intraday data, {step}); this "
                     "forecaster works on daily or longer steps: aggregate to one value per day first (e.g. each day's "
                     f"last {value_col!r}: frame.group_by_dynamic({time_col!r}, every='1d').agg(pl.col({value_col!r}).last()))")


def _check_table(frame, where: str) -> None:
    """The checks of a whole long table: every row has an id, and each series' rows are contiguous."""
    if frame["id"].null_count():
        raise InputError(f"{where}: the id column has empty values")
    ids = frame["id"].to_numpy()
    change = np.flatnonzero(ids[1:] != ids[:-1])
    if len(set(ids[np.r_[0, change + 1]].tolist())) != len(change) + 1:
        raise InputError(f"{where}: rows of one series are not contiguous; sort the long table by id, then date")


def _series_problems(frame, junk, value_col: str, time_col: str, min_length: int,
                     where: str) -> dict[str, str]:
    """Each failing series' first problem, by series in table order: non-numeric text, a missing, NaN or infinite
    value, an empty, duplicated or out-of-order date, too few rows (checked in that order, on the whole table at once;
    rows are the table's, from 1)."""
    import polars as pl

    checked = frame.with_row_index("row").with_columns(previous=pl.col("date").shift(1).over("id"),
                                                       junk=junk)
    found: list[tuple[int, int, str, str]] = []  # (check, row, id, message)

    def first_rows(check: int, condition, said) -> None:
        for row in checked.filter(condition).group_by("id", maintain_order=True).first().iter_rows(named=True):
            found.append((check, row["row"], row["id"], said(row)))

    first_rows(0, pl.col("junk").is_not_null(), lambda r: f"{where}: value column {value_col!r} holds non-numeric text (e.g. "
               f"{r['junk']!r} at row {r['row'] + 1}, series {r['id']!r}); clean the file so it holds numbers only")
    first_rows(1, pl.col("junk").is_null() & ~pl.col("value").is_finite().fill_null(False),
               lambda r: f"{where}: value column {value_col!r} has a missing, NaN or infinite value at row "
                         f"{r['row'] + 1} (date {r['date']}, series {r['id']!r}); fill or drop it before forecasting")
    first_rows(2, pl.col("date").is_null(),
               lambda r: f"{where}: time column {time_col!r} is empty at row {r['row'] + 1} (series {r['id']!r})")
    first_rows(3, pl.col("date") == pl.col("previous"),
               lambda r: f"{where}: date {r['date']} is duplicated (row {r['row'] + 1}, series {r['id']!r}); "
                         "keep one value per date")
    first_rows(4, pl.col("date") < pl.col("previous"),
               lambda r: f"{where}: dates out of order at row {r['row'] + 1} ({r['date']} comes after "
                         f"{r['previous']}, series {r['id']!r}); sort the file by date (oldest first)")
    lengths = frame.group_by("id", maintain_order=True).len()
    for row in lengths.filter(pl.col("len") < min_length).iter_rows(named=True):
        found.append((5, 0, row["id"], f"{where}: series {row['id']!r} has {row['len']} rows; at least {min_length} "
                                       "are needed (more rows than the horizon, plus history to learn from)"))
    problems: dict[str, str] = {}
    for _, _, name, message in sorted(found, key=lambda f: (f[0], f[1])):
        problems.setdefault(name, message)
    return problems


def read_series_frame(path: str | Path, min_length: int = 2, **options: Any):
    """Read a CSV/Parquet series file (options `time`, `value`, `id`) into the canonical `id, date, value` frame.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "s.csv"; _ = p.write_text("date,value\\n2020-01-01,1\\n2020-01-02,2\\n")
    >>> read_series_frame(p).height
    2
    """
    chosen = _check_options(options)
    name = Path(path).name
    return prepare_frame(read_table(path), **chosen, min_length=min_length, where=name, default_id=name.split(".")[0])


def read_series(path: str | Path, min_length: int = 2, **options: Any) -> list[Series | UnreadableSeries]:
    """The series of a CSV/Parquet file (options `time`, `value`, `id`), one that fails its own checks (a missing value,
    a duplicated date...) an `UnreadableSeries` in its place: `prepare_series` on the file."""
    chosen = _check_options(options)
    name = Path(path).name
    with odd_numbers_as_text():  # a value like `abc` fails its own series (an error record), not the whole file
        frame = read_table(path)
    return prepare_series(frame, **chosen, min_length=min_length, where=name, default_id=name.split(".")[0])


def frame_to_series(frame) -> list[Series]:
    """Split a canonical frame into `Series` (dates as numpy datetime64[D] or None for integer time)."""
    import polars as pl

    result = []
    for (name,), part in frame.group_by("id", maintain_order=True):
        dates = part["date"]
        converted = dates.to_numpy().astype("datetime64[D]") if dates.dtype == pl.Date else None
        result.append(Series(str(name), part["value"].to_numpy().astype(float), converted))
    return result


def series_from_inputs(item: Any, index: int, min_length: int) -> list[Series | UnreadableSeries]:
    """The series of one `predict` input: each series of a table (one series, or long format `id, date, value` as
    `read_data` returns it), one that fails its own checks an `UnreadableSeries` in its place (as `read_inputs`
    gives it too), else the one series `series_from_input` reads."""
    if hasattr(item, "columns"):
        return prepare_series(item, min_length=min_length, where=f"input {index + 1}", default_id=f"series_{index + 1}")
    if isinstance(item, UnreadableSeries):
        return [item]
    return [series_from_input(item, index, min_length)]


def series_from_input(item: Any, index: int, min_length: int) -> Series:
    """One `predict` input: a dict `{values, dates?, id?}`, a list/array of numbers, or a one-series table; `index`
    counts from 0, and a series without an id is named `series_<index + 1>`, as its errors ("input <index + 1>") count."""
    import polars as pl

    where = f"input {index + 1}"
    if hasattr(item, "columns"):
        series = series_from_inputs(item, index, min_length)
        if len(series) != 1:
            raise InputError(f"{where} holds {len(series)} series; pass one table per series")
        if isinstance(series[0], UnreadableSeries):
            raise series[0].exception
        return series[0]
    if isinstance(item, UnreadableSeries):
        raise item.exception
    if isinstance(item, dict):
        if "values" not in item:
            raise InputError(f"{where} is a dict without 'values'; pass {{'values': [...], 'dates': [...]}}")
        values, dates = item["values"], item.get("dates")
        name = str(item["id"]) if item.get("id") is not None else f"series_{index + 1}"
    elif isinstance(item, (list, tuple, np.ndarray)):
        values, dates, name = item, None, f"series_{index + 1}"
    else:
        raise InputError(f"{where} is a {type(item).__name__}; pass a list of numbers, a dict with 'values' "
                         "(and 'dates'), or a table with date and value columns")
    try:
        numbers = np.asarray([float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"{where} holds non-numeric values ({error}); pass numbers only") from error
    if numbers.ndim != 1:
        raise InputError(f"{where} must be a flat list of numbers")
    if dates is None:
        frame = pl.DataFrame({"id": [name] * len(numbers), "date": np.arange(len(numbers)), "value": numbers})
        frame = frame.with_columns(pl.col("date").cast(pl.Int64))
    else:
        if len(dates) != len(numbers):
            raise InputError(f"{where} has {len(dates)} dates for {len(numbers)} values; give one date per value")
        frame = pl.DataFrame({"id": [name] * len(numbers), "date": [str(d) for d in dates], "value": numbers})
        frame = frame.with_columns(_to_dates(frame["date"], "dates").alias("date"))
    problems = _series_problems(frame, pl.Series([None] * frame.height, dtype=pl.String), "values", "dates",
                                min_length, where)
    if problems:
        raise InputError(next(iter(problems.values())))
    return frame_to_series(frame)[0]


def _calendar_dates(dates: np.ndarray, horizon: int, holidays: np.ndarray | None = None) -> list[str] | None:
    """The next dates of monthly, quarterly, half-yearly or yearly data on the calendar (month end, month start or one
    day of the month, as pandas' ME / MS steps; the last or first business day of the month, as BME / BMS / BQE,
    rolled over weekends and `holidays`), or None when the dates are not a steady count of months apart."""
    days = dates.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    month_steps = np.diff(months).astype(int)
    step = int(np.median(month_steps))
    if step < 1 or np.mean(month_steps == step) < 0.9:
        return None
    ahead = months[-1] + step * np.arange(1, horizon + 1)
    ends, starts = (months + 1).astype("datetime64[D]") - 1, months.astype("datetime64[D]")
    if np.all(days == ends):  # month ends (31 Jan, 28/29 Feb, ...)
        return [str(d) for d in (ahead + 1).astype("datetime64[D]") - 1]
    closed = np.zeros(0, dtype="datetime64[D]") if holidays is None else np.asarray(holidays, dtype="datetime64[D]")
    kind = _business_month_kind(days)
    if kind == "end":
        next_ends = (ahead + 1).astype("datetime64[D]") - 1
        return [str(d) for d in np.busday_offset(next_ends, 0, roll="backward", holidays=closed)]
    if kind == "start":
        return [str(d) for d in np.busday_offset(ahead.astype("datetime64[D]"), 0, roll="forward", holidays=closed)]
    # one day of the month (the 1st, the 15th, the 30th), clipped to short months: 30th-dated data hold 28/29 February,
    # so the day is the latest one seen, and every date must be that day or its month's last when the month is shorter
    day_of_month = (days - starts).astype(int)
    anchor = int(day_of_month.max())
    if np.all(day_of_month == np.minimum(anchor, (ends - starts).astype(int))):
        month_length = ((ahead + 1).astype("datetime64[D]") - ahead.astype("datetime64[D]")).astype(int)
        return [str(d) for d in ahead.astype("datetime64[D]") + np.minimum(anchor, month_length - 1)]
    return None


def _business_month_kind(days: np.ndarray) -> str | None:
    """"end" for dates on the last business day of their months (at most 2 more weekdays, an exchange's holidays, after
    each and 80% exact), "start" for the first, else None (month ends themselves included)."""
    months = days.astype("datetime64[M]")
    ends, starts = (months + 1).astype("datetime64[D]") - 1, months.astype("datetime64[D]")
    if np.all(days == ends) or not np.all(np.is_busday(days)):
        return None  # (all on the 1st, weekdays by chance, stay "one day of the month")
    after, before = np.busday_count(days + 1, ends + 1), np.busday_count(starts, days)
    if np.all(after <= 2) and np.mean(after == 0) >= 0.8:
        return "end"
    if np.all(before <= 2) and np.mean(before == 0) >= 0.8 and not np.all(days == starts):
        return "start"
    return None


def business_month_dates(dates: np.ndarray | None) -> bool:
    """Whether monthly (quarterly, yearly) dates fall on the last or first business day of their months, where an
    exchange calendar rolls the continuation.

    >>> business_month_dates(np.array(["2024-04-30", "2024-05-31", "2024-06-28"], dtype="datetime64[D]"))
    True
    >>> business_month_dates(np.array(["2024-04-30", "2024-05-31", "2024-06-30"], dtype="datetime64[D]"))
    False
    """
    if dates is None or len(dates) < 2 or int(np.median(np.diff(dates[-200:]).astype(int))) < 28:
        return False
    return _calendar_dates(dates[-200:], 1) is not None and _business_month_kind(dates[-200:].astype("datetime64[D]")) is not None


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MON_FRI = "1111100"  # numpy's weekmask, Monday first


def trading_weekmask(dates: np.ndarray | None) -> str | None:
    """The weekdays a daily series trades on, as numpy's weekmask (Monday first), or None for data that trade every
    day (or are not daily): a median step of one day and, among the last 200 dates, at most 1% on two adjacent
    weekdays (an exchange's special session does not make the series daily). Saturday and Sunday when they are
    (none in a short history); two other adjacent days (Friday-Saturday: a Sunday-Thursday week, as Tel Aviv or
    Tadawul trade, or Tokyo closes stored in UTC) when at least 15 dates show it.

    >>> days = np.arange(np.datetime64("2024-01-07"), np.datetime64("2024-03-01"))  # from a Sunday
    >>> trading_weekmask(days[((days.view("int64") - 4) % 7 + 1) % 7 < 5]), trading_weekmask(days)
    ('1111001', None)
    """
    if dates is None or len(dates) < 2:
        return None
    recent = dates[-200:].astype("datetime64[D]")
    steps = np.diff(recent).astype(int)
    if not len(steps) or int(np.median(steps)) != 1:
        return None
    counts = np.bincount((recent.view("int64") - 4) % 7, minlength=7)  # 0 = Monday
    def rare(closed: tuple[int, int]) -> bool:
        return int(counts[list(closed)].sum()) <= 0.01 * len(recent)

    if rare((5, 6)):
        return MON_FRI
    if len(recent) < 15:
        return None
    for first in range(7):  # the closed pair: two adjacent weekdays, the other five trading
        closed = (first, (first + 1) % 7)
        if rare(closed) and (counts[[d for d in range(7) if d not in closed]] > 0).all():
            return "".join("0" if d in closed else "1" for d in range(7))
    return None


def weekmask_names(weekmask: str | None) -> str | None:
    """A weekmask as pandas' CustomBusinessDay spells it, first trading day first: '1111001' -> 'Sun Mon Tue Wed Thu'.

    >>> weekmask_names("1111001"), weekmask_names(MON_FRI)
    ('Sun Mon Tue Wed Thu', 'Mon Tue Wed Thu Fri')
    """
    if weekmask is None:
        return None
    start = next(d for d in range(7) if weekmask[d] == "1" and weekmask[d - 1] == "0")
    return " ".join(WEEKDAY_NAMES[(start + k) % 7] for k in range(7) if weekmask[(start + k) % 7] == "1")


def _weekdays_only(dates: np.ndarray) -> bool:
    """Daily data on five trading weekdays (business days): see `trading_weekmask`."""
    return trading_weekmask(dates) is not None


def future_dates(dates: np.ndarray | None, horizon: int, holidays: np.ndarray | None = None) -> list[str] | None:
    """Dates of the next `horizon` steps: business days for weekday-only daily data (on the weekdays the history trades,
    `trading_weekmask`; skipping `holidays`, an exchange's closed weekdays), calendar months for monthly (and quarterly, yearly) data at month ends, on one day of the month
    or on the last / first business day of the month (skipping `holidays` too), else the median step.

    >>> future_dates(np.array(["2024-01-04", "2024-01-05"], dtype="datetime64[D]"), 2)
    ['2024-01-08', '2024-01-09']
    >>> future_dates(np.array(["2024-12-23", "2024-12-24"], dtype="datetime64[D]"), 2, np.array(["2024-12-25"], dtype="datetime64[D]"))
    ['2024-12-26', '2024-12-27']
    >>> sun_thu = np.arange(np.datetime64("2017-10-01"), np.datetime64("2017-11-10"))  # through Thursday 9 November
    >>> future_dates(sun_thu[((sun_thu.view("int64") - 4) % 7 + 1) % 7 < 5], 3)
    ['2017-11-12', '2017-11-13', '2017-11-14']
    >>> future_dates(np.array(["2017-10-31", "2017-11-30"], dtype="datetime64[D]"), 3)
    ['2017-12-31', '2018-01-31', '2018-02-28']
    >>> future_dates(np.array(["2017-06-30", "2017-09-30"], dtype="datetime64[D]"), 2)
    ['2017-12-31', '2018-03-31']
    >>> future_dates(np.array(["2024-04-30", "2024-05-31", "2024-06-28"], dtype="datetime64[D]"), 3)
    ['2024-07-31', '2024-08-30', '2024-09-30']
    """
    if dates is None or len(dates) < 2:
        return None
    steps = np.diff(dates[-200:]).astype(int)
    step = int(np.median(steps)) if len(steps) else 1
    if step >= 28:  # a month or more apart: step on the calendar, not by a number of days
        calendar = _calendar_dates(dates[-200:], horizon, holidays)
        if calendar is not None:
            return calendar
    last = dates[-1]
    weekmask = trading_weekmask(dates)
    if weekmask is not None:
        closed = np.zeros(0, dtype="datetime64[D]") if holidays is None else np.asarray(holidays, dtype="datetime64[D]")
        # rolled back: after a weekend session (a Saturday) the next date is the Monday, not the Tuesday
        return [str(d) for d in np.busday_offset(last.astype("datetime64[D]"), np.arange(1, horizon + 1), roll="backward",
                                                 weekmask=weekmask, holidays=closed)]
    step = max(1, step)
    return [str(last + np.timedelta64(step * k, "D")) for k in range(1, horizon + 1)]


# -- frequency ---------------------------------------------------------------------------------------------------------
_NAMED_STEPS = (((6, 8), "weekly"), ((27, 33), "monthly"), ((85, 97), "quarterly"), ((178, 188), "half-yearly"),
                ((360, 370), "yearly"))  # median step in days -> name
SEASON_LENGTHS = {"business-daily": 5, "daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4, "half-yearly": 2,
                  "yearly": 1}  # the seasonal period to train with at each frequency (--set season_length=)
_UNITS = {"business-daily": "trading days", "daily": "days", "weekly": "weeks", "monthly": "months",
          "quarterly": "quarters", "half-yearly": "half-years", "yearly": "years"}


def _named_step(step: int) -> str:
    for (low, high), name in _NAMED_STEPS:
        if low <= step <= high:
            return name
    return f"every {step} days"


def infer_frequency(dates: np.ndarray | None) -> str | None:
    """The data's frequency from its median step: business-daily (weekdays only), daily, weekly, monthly, quarterly,
    half-yearly, yearly or `every N days`; None for an integer time index or a single date.

    >>> infer_frequency(np.array(["2024-01-31", "2024-02-29", "2024-03-31"], dtype="datetime64[D]"))
    'monthly'
    >>> infer_frequency(np.array(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"], dtype="datetime64[D]"))
    'business-daily'
    """
    if dates is None or len(dates) < 2:
        return None
    step = int(np.median(np.diff(dates.astype("datetime64[D]")).astype(int)))
    if step <= 1:
        return "business-daily" if _weekdays_only(dates.astype("datetime64[D]")) else "daily"
    return _named_step(step)


def frequency_from_span(first: Any, last: Any, length: int) -> str | None:
    """A frequency estimated from a series' first and last dates and its length (cards saved before the frequency was
    recorded keep these); None for an integer time index.

    >>> frequency_from_span("2004-01-02", "2015-12-31", 3000)
    'business-daily'
    """
    try:
        span = int((np.datetime64(str(last), "D") - np.datetime64(str(first), "D")).astype(int))
    except ValueError:  # integer time index
        return None
    if length < 2 or span <= 0:
        return None
    average = span / (length - 1)
    if average < 1.2:
        return "daily"
    if average < 2.0:  # 7/5 days a step, a little more with holidays
        return "business-daily"
    return _named_step(round(average))


def _family(frequency: str) -> str:
    return "daily" if frequency in ("business-daily", "daily") else frequency  # a step is a day either way


def frequency_mismatch(frequency: str | None, fitted: str | None, horizon: int) -> str | None:
    """The warning for data of another frequency than the model was fitted on (None when they agree or one is unknown).
    Business-daily and daily data count as one: a step is a day either way.

    >>> frequency_mismatch("monthly", "business-daily", 5)[:60]
    'monthly data, but this model was fitted on business-daily da'
    """
    if frequency is None or fitted is None or _family(frequency) == _family(fitted):
        return None
    unit = _UNITS.get(frequency, "steps")
    season = SEASON_LENGTHS.get(frequency)
    return (f"{frequency} data, but this model was fitted on {fitted} data: its lags, rolling windows, seasonal period "
            f"and candidate weights count {fitted} steps, and its {horizon}-step horizon is {horizon} {unit} here, so "
            "its forecasts and intervals are not calibrated for these data; retrain it on data of this frequency "
            f"(verticals train finance.forecast --data FILE --out DIR{f' --set season_length={season}' if season else ''})")


def _missing_steps(days: np.ndarray, steps: np.ndarray, step: float,
                   holidays: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Per step: how many usual steps are missing in it, the count that makes it a gap to report, and the unit.
    Business days are counted net of `holidays` (the exchange's closed weekdays): its own closures are no gap."""
    weekmask = trading_weekmask(days) if step <= 1 else None
    if weekmask is not None:  # weekdays skipped; holidays and bridges (up to 4) are not gaps
        closed = np.zeros(0, dtype="datetime64[D]") if holidays is None else np.asarray(holidays, dtype="datetime64[D]")
        return (np.busday_count(days[:-1] + 1, days[1:], weekmask=weekmask, holidays=closed), np.full(len(steps), 5),
                "business days")
    if step <= 1:  # calendar days; a weekly closure of another market (Fri-Sat) marks its holidays as no gap too
        weekends = np.mean(steps >= 3) > 0.05
        return steps - 1, np.full(len(steps), 5 if weekends else 2), "days"
    if step >= 28:  # months are 28 to 31 days: count calendar months
        months = days.astype("datetime64[M]")
        month_steps = np.diff(months).astype(int)
        usual = max(1, int(np.median(month_steps)))
        unit = {1: "months", 3: "quarters", 6: "half-years", 12: "years"}.get(usual, f"steps of {usual} months")
        return np.rint(month_steps / usual).astype(int) - 1, np.full(len(steps), 2), unit
    unit = "weeks" if 6 <= step <= 8 else f"steps of {step:g} days"
    return np.rint(steps / step).astype(int) - 1, np.full(len(steps), 2), unit


def irregularity(dates: np.ndarray | None, holidays: np.ndarray | None = None) -> str | None:
    """Why a dated series is irregular (over 5% of its steps far from its usual step, or a gap of 2 usual steps or
    more missing: 5 business days or more for business-daily data, whose holidays are not gaps, nor the weekdays in
    `holidays`, its exchange's closures), or None: the lags, seasonal period and horizon count rows, not time.

    >>> days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))
    >>> irregularity(days) is None, irregularity(np.r_[days, np.datetime64("2024-06-01")])[:53]
    (True, 'irregular series: a gap of 93 days after 2024-02-29 (')
    """
    if dates is None or len(dates) < 3:
        return None
    days = dates.astype("datetime64[D]")
    steps = np.diff(days).astype(int)
    step = float(np.median(steps))
    off = (steps < 0.75 * step - 1) | (steps > 1.25 * step + 4)  # business days: holidays and long weekends fit
    weekmask = trading_weekmask(days) if step <= 1 else None
    if holidays is not None and weekmask is not None:  # a step over the exchange's closures is usual
        off &= np.busday_count(days[:-1] + 1, days[1:], weekmask=weekmask,
                               holidays=np.asarray(holidays, dtype="datetime64[D]")) > 4
    missing, threshold, unit = _missing_steps(days, steps, step, holidays)
    gaps = np.flatnonzero(missing >= threshold)
    if np.mean(off) <= 0.05 and not len(gaps):
        return None
    usual = f"{step:g} day{'s' if step != 1 else ''}"
    if len(gaps):
        widest = int(gaps[np.argmax(steps[gaps])])
        others = f", and {len(gaps) - 1} other gap{'s' if len(gaps) > 2 else ''} of 2 or more" if len(gaps) > 1 else ""
        gap = (f"a gap of {steps[widest]} days after {days[widest]} ({missing[widest]} {unit} missing{others}; "
               f"{np.mean(off):.0%} of its steps are far from its usual {usual})")
    else:
        widest = int(np.argmax(steps))
        gap = f"a gap of {steps[widest]} days after {days[widest]} ({np.mean(off):.0%} of its steps are far from its usual {usual})"
    return (f"irregular series: {gap}; the lags, seasonal period and horizon count rows, not time, so fill or resample "
            "it to a regular frequency before forecasting (polars' upsample, pandas' asfreq)")


# -- exchange calendars (the holidays package, in the finance extra) ------------------------------------------------------
CALENDARS = ("NYSE", "TSX", "LSE", "ECB", "XETR", "XPAR", "SIX", "JPX", "HKEX", "ASX", "XNSE", "XSHG")  # tried by calendar=auto
_EVIDENCE_DAYS = 1100  # calendar=auto reads the weekdays missing from about the last 3 years of history


def _holidays_module():
    from core.errors import require

    return require("holidays", "finance")


def check_calendar(name: str | None) -> str | None:
    """A calendar option as given: None / auto (inferred), none (weekdays only) or an exchange code the holidays
    package knows (NYSE, ECB, LSE...), upper-cased; `InputError` otherwise.

    >>> check_calendar("nyse"), check_calendar("None"), check_calendar(None)
    ('NYSE', 'none', 'auto')
    """
    if name is None or str(name).strip().lower() in ("", "auto"):
        return "auto"
    if str(name).strip().lower() == "none":
        return "none"
    code = str(name).strip().upper()
    known = _holidays_module().list_supported_financial()
    if code not in known:
        raise InputError(f"calendar {name!r} is not an exchange calendar the holidays package knows; use auto, none or "
                         f"one of {', '.join(sorted(known))}")
    return code


def calendar_holidays(name: str, first: np.datetime64, last: np.datetime64) -> np.ndarray:
    """The weekdays exchange `name` is closed between two dates (inclusive), as sorted datetime64[D].

    >>> [str(d) for d in calendar_holidays("NYSE", np.datetime64("2024-12-20"), np.datetime64("2025-01-03"))]
    ['2024-12-25', '2025-01-01']
    """
    years = tuple(range(int(str(first)[:4]), int(str(last)[:4]) + 1))
    days = _closed_days(name, years)
    return days[(days >= first) & (days <= last)]


@functools.lru_cache(maxsize=256)
def _closed_days(name: str, years: tuple[int, ...]) -> np.ndarray:
    """Weekday holidays of an exchange over whole years (memoised: predict asks for every series)."""
    found = _holidays_module().financial_holidays(name, years=years)
    days = np.array(sorted(str(d) for d in found), dtype="datetime64[D]")
    return days[((days.view("int64") - 4) % 7) < 5]


def infer_calendar(dates: np.ndarray | None, fallback: str | None = None) -> str | None:
    """The exchange calendar whose holidays best explain the weekdays missing from a business-daily history (nearly all
    its holidays in the window missing, at least 2 of them, best F1 of missing days explained): NYSE, ECB... `fallback`
    (the calendar the model was fitted with) when the history holds too few holidays to tell and traded on none of
    its; None for other data or none fitting.

    >>> days = np.arange(np.datetime64("2023-01-02"), np.datetime64("2024-12-31"))
    >>> days = days[((days.view("int64") - 4) % 7) < 5]
    >>> infer_calendar(np.setdiff1d(days, calendar_holidays("NYSE", days[0], days[-1]))), infer_calendar(days)
    ('NYSE', None)
    """
    if dates is None or len(dates) < 2 or trading_weekmask(dates.astype("datetime64[D]")) != MON_FRI:
        return None  # the calendars tried are Monday-Friday exchanges'
    days = dates.astype("datetime64[D]")
    days = days[days >= days[-1] - _EVIDENCE_DAYS]
    weekdays = np.arange(days[0], days[-1] + 1)
    weekdays = weekdays[((weekdays.view("int64") - 4) % 7) < 5]
    missing = np.setdiff1d(weekdays, days)
    try:
        _holidays_module()
    except ImportError:
        return None
    best, best_f1 = None, 0.0
    for name in CALENDARS:
        closed = calendar_holidays(name, days[0], days[-1])
        if not len(closed):
            continue
        hits = len(np.intersect1d(closed, missing))
        precision, recall = hits / len(closed), hits / max(len(missing), 1)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        if hits >= 2 and precision >= 0.9 and f1 > best_f1:
            best, best_f1 = name, f1
    if best is not None:
        return best
    if fallback and fallback not in ("none", "auto") and len(missing) < 2:
        traded = np.intersect1d(calendar_holidays(fallback, days[0], days[-1]), days)
        return fallback if not len(traded) else None
    return None


def series_scale(values: np.ndarray) -> float:
    """Mean absolute one-step change (the MASE / interval scale); 1.0 for a constant series.

    >>> series_scale(np.array([1.0, 2.0, 4.0]))
    1.5
    """
    if len(values) < 2:
        return 1.0
    scale = float(np.mean(np.abs(np.diff(values))))
    return scale if scale > 0 and math.isfinite(scale) else 1.0
