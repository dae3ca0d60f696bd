"""Date columns as users write them: one format inferred from every row (ISO, D/M/Y or M/D/Y, month names),
ambiguity refused with the `--option date_format=` fix, UTC offsets honoured."""

from __future__ import annotations

import datetime
import re
from typing import Any

from core.errors import InputError

__all__ = ["parse_dates"]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?)$")
_YMD_SLASH = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")
_NAMED = ["%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%Y-%b-%d"]


def _iso_format(sample: str) -> str:
    date_part, _, time_part = sample.replace("T", " ").partition(" ")
    separator = "T" if "T" in sample else " "
    if not time_part:
        return "%Y-%m-%d"
    zone = "%z" if re.search(r"(Z|[+-]\d{2}:?\d{2})$", time_part) else ""
    clock = re.sub(r"(Z|[+-]\d{2}:?\d{2})$", "", time_part)
    seconds = ":%S" if clock.count(":") == 2 else ""
    fraction = "%.f" if "." in clock else ""
    return f"%Y-%m-%d{separator}%H:%M{seconds}{fraction}{zone}"


def _numeric_format(values: list[str], where: str, name: str) -> str:
    firsts, seconds, shapes = [], [], set()
    for value in values:
        match = _NUMERIC.match(value)
        if match is None:
            raise InputError(f"{where}: column {name!r} mixes date formats ({values[0]!r} and {value!r}); "
                             "write every date the same way, e.g. 2024-01-31")
        firsts.append(int(match.group(1)))
        seconds.append(int(match.group(3)))
        clock = match.group(5).strip()
        shapes.add((match.group(2), len(match.group(4)), clock.count(":"), bool(re.search("[AaPp][Mm]$", clock)), bool(clock)))
    if len(shapes) != 1:
        raise InputError(f"{where}: column {name!r} mixes date formats; write every date the same way "
                         "or pass --option date_format=... (e.g. %d/%m/%Y)")
    mark, year_digits, colons, twelve_hour, has_clock = shapes.pop()
    day_first = max(firsts) > 12
    month_first = max(seconds) > 12
    if day_first and month_first:
        raise InputError(f"{where}: column {name!r} holds values like {values[0]!r} that are not dates (both of the first "
                         "two numbers exceed 12)")
    if not day_first and not month_first:
        if mark != ".":  # 03.04.2024 is day-first wherever dots are used; slashes and dashes are not
            raise InputError(f"{where}: the dates in column {name!r} are ambiguous (no day above 12, so {values[0]!r} "
                             f"could be day/month or month/day); pass --option date_format=%d{mark}%m{mark}%Y "
                             f"or --option date_format=%m{mark}%d{mark}%Y")
        day_first = True
    year = "%Y" if year_digits == 4 else "%y"
    order = f"%d{mark}%m{mark}{year}" if day_first else f"%m{mark}%d{mark}{year}"
    if has_clock:
        hour = "%I" if twelve_hour else "%H"
        order += f" {hour}:%M" + (":%S" if colons == 2 else "") + (" %p" if twelve_hour else "")
    return order


def _infer_format(values: list[str], where: str, name: str) -> str:
    first = values[0]
    if _ISO.match(first):
        formats = {_iso_format(v) for v in values if _ISO.match(v)}
        if len(formats) == 1 and all(_ISO.match(v) for v in values):
            return formats.pop()
        odd = next((v for v in values if not _ISO.match(v) or _iso_format(v) != _iso_format(first)), first)
        raise InputError(f"{where}: column {name!r} mixes date formats ({first!r} and {odd!r}); write every date the same way")
    if _YMD_SLASH.match(first):
        return "%Y/%m/%d"
    if _NUMERIC.match(first):
        return _numeric_format(values, where, name)
    import polars as pl

    series = pl.Series(values)
    for candidate in _NAMED:
        if series.str.strptime(pl.Datetime, candidate, strict=False).null_count() == 0:
            return candidate
    raise InputError(f"{where}: column {name!r} holds values like {first!r} that are not dates in a known format; "
                     "use ISO dates (2024-01-31) or pass --option date_format=... (e.g. %d %b %Y)")


def parse_dates(column: Any, date_format: str | None = None, where: str = "the data", name: str | None = None):
    """Parse a text column of dates with ONE format that fits every row; returns polars datetime (naive).

    Offsets are honoured: values that share one offset, or that all fall at local midnight, keep the
    wall-clock time as written (a daily series stays on its days); times with different offsets become UTC.

    >>> import polars as pl
    >>> parse_dates(pl.Series(["01/02/2024", "01/13/2024"])).dt.strftime("%Y-%m-%d").to_list()
    ['2024-01-02', '2024-01-13']
    >>> parse_dates(pl.Series(["2024-01-02T00:00:00+05:00"])).dt.strftime("%Y-%m-%d %H:%M").to_list()
    ['2024-01-02 00:00']
    >>> parse_dates(pl.Series(["01/02/2024", "03/04/2024"]))
    Traceback (most recent call last):
    core.errors.InputError: the data: the dates in column 'date' are ambiguous (no day above 12, so '01/02/2024' could be day/month or month/day); pass --option date_format=%d/%m/%Y or --option date_format=%m/%d/%Y
    """
    import polars as pl

    from core.data.tables import current_option

    name = name or column.name or "date"
    if column.dtype == pl.Date or isinstance(column.dtype, pl.Datetime):
        return column.cast(pl.Datetime("us")) if column.dtype == pl.Date else column
    if column.dtype != pl.String:
        raise InputError(f"{where}: column {name!r} has type {column.dtype}; it must hold dates")
    text = column.str.strip_chars().str.replace(r"Z$", "+00:00")
    values = text.drop_nulls().to_list()
    if not values:
        raise InputError(f"{where}: column {name!r} holds no dates")
    chosen = current_option("date_format", date_format) or _infer_format(values, where, name)
    parsed = text.str.strptime(pl.Datetime("us"), chosen, strict=False)
    failed = (parsed.is_null() & text.is_not_null()).arg_true()
    if len(failed):
        row = int(failed[0])
        raise InputError(f"{where}: row {row + 1}, column {name!r}: {column[row]!r} does not match the date format "
                         f"{chosen} that the column's dates follow; correct it or pass --option date_format=...")
    if "%z" in chosen:
        wall = text.str.replace(r"[+-]\d{2}:?\d{2}$", "").str.strptime(pl.Datetime("us"), chosen.replace("%z", ""), strict=False)
        offsets = text.str.extract(r"([+-]\d{2}:?\d{2})$").str.replace(":", "").drop_nulls().unique()
        daily = bool((wall.dt.time() == datetime.time(0)).fill_null(True).all())
        # one offset, or dates at local midnight (a daily series across a DST change): the clock as written;
        # several offsets within the day: one clock, UTC
        parsed = wall if len(offsets) <= 1 or daily else parsed.dt.replace_time_zone(None)
    return parsed.alias(column.name)
