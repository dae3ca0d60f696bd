"""How a label value is matched to the one a user names (`positive_label`), the same in every task: text case aside,
a whole number as its digits (1, 1.0 and "1" alike), and, for a true/false or 0/1 column only, a truth value as the
0/1 it stands for (True, "TRUE" and 1 alike). "true" never names the 1 of a 1/2-coded column. Text is compared in one
Unicode form (NFC: a name from a Mac file or zip, decomposed, is the name typed), invisible characters aside."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

__all__ = ["whole_number", "normal_form", "label_key", "label_matcher", "check_label_spellings"]

# characters with no glyph that a copy from a web page or a spreadsheet leaves in a label: zero-width space / joiners,
# byte-order mark, word joiner, soft hyphen, left-to-right / right-to-left marks, Mongolian vowel separator
INVISIBLE = "\u200b\ufeff\u2060\u00ad\u200e\u200f\u180e"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def normal_form(text: str) -> str:
    """`text` in Unicode NFC, the composed form typed on a keyboard: macOS (and a zip made on a Mac) stores file names
    decomposed (NFD), 'o' + U+0308 for 'ö', which looks the same but is another string.

    >>> normal_form("Tumo\u0308r") == "Tum\u00f6r"
    True
    """
    return unicodedata.normalize("NFC", text)


def _without_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def _caseless(text: str) -> str:
    """Text case aside, Turkish capitals too: 'İ'.casefold() is 'i' + U+0307 (combining dot above), which is read as
    'i' here, so 'İYİ' matches 'iyi'. Dotless 'ı' stays a letter of its own ('I' folds to 'i'): which of the two an
    'I' stands for depends on the language, which a label does not say."""
    folded = unicodedata.normalize("NFD", text).casefold().replace("i\u0307", "i")
    return unicodedata.normalize("NFC", folded)


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
    """Case-insensitive stripped text in NFC without invisible characters, a whole number as its digits, a truth value
    as true / false."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    number = whole_number(value)
    return str(number) if number is not None else _caseless(_without_invisible(normal_form(str(value))).strip())


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
    and 'positive '), in invisible characters (a zero-width space, a byte-order mark, a soft hyphen: `INVISIBLE`) or
    in Unicode form (composed 'ö' and 'o' + combining diaeresis, as a Mac writes file names) are refused
    (`InputError`): they look alike and never name another class. Variants that differ only in case ('yes', 'Yes';
    'İYİ', 'iyi') return a warning, since a few tasks have such classes on purpose (letters 'A' and 'a'); None when
    every label is written one way.

    >>> check_label_spellings(["yes", "no", "Yes"])
    "the training labels 'Yes' and 'yes' differ only in case: they are trained as separate classes; if they mean one class, write it one way in the data"
    >>> check_label_spellings(["pos", "neg", "pos "])
    Traceback (most recent call last):
    core.errors.InputError: the training labels 'pos' and 'pos ' differ only in spaces around them, so they would be trained as separate classes: write each class one way in the data (strip the spaces)
    >>> check_label_spellings(["pos", "neg", "pos\u200b"])
    Traceback (most recent call last):
    core.errors.InputError: the training labels 'pos' and 'pos\u200b' differ only in invisible characters (U+200B), so they would be trained as separate classes: write each class one way in the data (delete the invisible characters)
    """
    from core.errors import InputError

    names = sorted({str(label) for label in labels if label is not None})
    alike: dict[str, list[str]] = defaultdict(list)  # by the label as it looks, case set aside
    for name in names:
        alike[_caseless(_looks(name))].append(name)
    twins = [sorted(variants) for variants in alike.values() if len(variants) > 1]
    for variants in twins:
        reasons, fixes = [], []
        if any(v != v.strip() for v in variants):
            reasons.append("spaces around them")
            fixes.append("strip the spaces")
        hidden = sorted({f"U+{ord(c):04X}" for v in variants for c in _INVISIBLE.findall(v)})
        if hidden:
            reasons.append(f"invisible characters ({', '.join(hidden)})")
            fixes.append("delete the invisible characters")
        forms = {_without_invisible(v).strip() for v in variants}
        if len({unicodedata.normalize("NFD", form) for form in forms}) < len(forms):
            reasons.append("Unicode form (composed and decomposed accents, as a Mac writes file names)")
            fixes.append("save the text in NFC, or retype the label")
        if not reasons:
            continue  # case alone: a warning below
        shown = " and ".join(ascii(v) if not v.isascii() and v != normal_form(v) else repr(v) for v in variants[:4])
        cased = " (and case)" if len({_looks(v) for v in variants}) > 1 else ""
        raise InputError(f"{what} {shown} differ only in {' and '.join(reasons)}{cased}, so they would be trained as "
                         f"separate classes: write each class one way in the data ({'; '.join(fixes)})")
    if not twins:
        return None
    shown = "; ".join(" and ".join(repr(v) for v in variants[:4]) for variants in twins[:3])
    return (f"{what} {shown} differ only in case: they are trained as separate classes; if they mean one class, "
            "write it one way in the data")


def _looks(name: str) -> str:
    """A label as it looks: NFC, without invisible characters or spaces around it."""
    return _without_invisible(normal_form(name)).strip()
