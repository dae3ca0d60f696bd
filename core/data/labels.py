"""How a label value is matched to the one a user names (`positive_label`), the same in every task: text case aside,
a whole number as its digits (1, 1.0 and "1" alike), and, for a true/false or 0/1 column only, a truth value as the
0/1 it stands for (True, "TRUE" and 1 alike). "true" never names the 1 of a 1/2-coded column."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["whole_number", "label_key", "label_matcher", "check_label_spellings"]


def whole_number(value: Any) -> int | None:
    """A label written as an integer (1, 1.0, "1", " -2 ") as an int; anything else (names, bools, 1.5) None.

    >>> whole_number("2"), whole_number(2.0), whole_number(True), whole_number("2.5")
    (2, 2, None, None)
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _text_key(value: Any) -> str:
    """Case-insensitive stripped text, a whole number as its digits, a truth value as true / false."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    number = whole_number(value)
    return str(number) if number is not None else str(value).strip().lower()


def label_key(value: Any) -> str:
    """A label of a true/false or 0/1 column as `positive_label` matches it: `_text_key`, with true / false as 1 / 0.

    >>> [label_key(v) for v in (True, 1.0, " TRUE ", "Yes", 0, "false")]
    ['1', '1', '1', 'yes', '0', '0']
    """
    text = _text_key(value)
    return {"true": "1", "false": "0"}.get(text, text)


def label_matcher(values: Iterable[Any]) -> Callable[[Any], str]:
    """The key by which the labels `values` are matched to a named one: `label_key` when they are a flag (true/false
    or 0/1, in any spelling), else case-insensitive text and whole numbers, truth words being only words.

    >>> flag, coded = label_matcher(["0", "1"]), label_matcher([1, 2])
    >>> flag("TRUE") == flag(1), coded("true") == coded(1), coded("2") == coded(2.0), coded("Bad") == coded("bad")
    (True, False, True, True)
    """
    keys = {label_key(v) for v in values if v is not None}
    return label_key if keys and keys <= {"0", "1"} else _text_key


def check_label_spellings(labels: Iterable[Any], what: str = "the training labels") -> str | None:
    """Class labels that are one label written two ways. Variants that differ only in spaces around them ('positive'
    and 'positive ') are refused (`InputError`): a stray space never names another class. Variants that differ only in
    case ('yes', 'Yes') return a warning, since a few tasks have such classes on purpose (letters 'A' and 'a'); None
    when every label is written one way.

    >>> check_label_spellings(["yes", "no", "Yes"])
    "the training labels 'Yes' and 'yes' differ only in case: they are trained as separate classes; if they mean one class, write it one way in the data"
    >>> check_label_spellings(["pos", "neg", "pos "])
    Traceback (most recent call last):
    core.errors.InputError: the training labels 'pos' and 'pos ' differ only in spaces around them, so they would be trained as separate classes: write each class one way in the data (strip the spaces)
    """
    from core.errors import InputError

    names = sorted({str(label) for label in labels if label is not None})
    alike: dict[str, list[str]] = defaultdict(list)  # by the label with spaces around it and case set aside
    for name in names:
        alike[name.strip().casefold()].append(name)
    twins = [sorted(variants) for variants in alike.values() if len(variants) > 1]
    spaced = [variants for variants in twins if any(v != v.strip() for v in variants)]
    if spaced:
        shown = " and ".join(repr(v) for v in spaced[0][:4])
        raise InputError(f"{what} {shown} differ only in spaces around them{' (and case)' if len({v.strip() for v in spaced[0]}) > 1 else ''}, "
                         "so they would be trained as separate classes: write each class one way in the data (strip "
                         "the spaces)")
    if not twins:
        return None
    shown = "; ".join(" and ".join(repr(v) for v in variants[:4]) for variants in twins[:3])
    return (f"{what} {shown} differ only in case: they are trained as separate classes; if they mean one class, "
            "write it one way in the data")
