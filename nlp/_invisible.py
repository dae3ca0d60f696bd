"""Invisible format characters inside words (soft hyphen, zero-width space, word joiner, BOM; ZWNJ/ZWJ in Latin-like
scripts): which of them the text models read past, as a BERT tokenizer does, so "Isam\u200bbard" reads as "Isambard".
"""

from __future__ import annotations

import unicodedata

__all__ = ["has_invisible", "readable_indices", "without_invisible"]

# Read past inside a word, whatever the script: they never spell anything (hyphenation points, line-break controls).
_ALWAYS = {"\u00ad", "\u2060", "\ufeff"}
ZERO_WIDTH_SPACE = "\u200b"
# A zero-width space between letters of these scripts is their word boundary (they are written without spaces).
_UNSPACED_SCRIPTS = {"THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "CJK", "HIRAGANA", "KATAKANA", "JAVANESE",
                     "BALINESE"}
JOINERS = {"\u200c", "\u200d"}  # ZWNJ, ZWJ
# ZWNJ/ZWJ are spelling in Arabic-script and Indic words (Persian "می‌خواهم", Hindi half forms) and join emoji; in these
# scripts (and between digits) they only steer ligatures, so they are read past there alone.
_LIGATURE_ONLY_SCRIPTS = {"LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN", "COMBINING", "DIGIT"}


# Outside words these only mark where a line may break or a word be hyphenated (or a file start, the BOM)
_LAYOUT = {*_ALWAYS, ZERO_WIDTH_SPACE}
_CANDIDATES = (*_ALWAYS, ZERO_WIDTH_SPACE, *JOINERS)


def has_invisible(text: str) -> bool:
    """Whether `text` holds any format character that may be read past (a quick test before `readable_indices`)."""
    return any(character in text for character in _CANDIDATES)


def _is_word_character(character: str) -> bool:
    return character.isalnum() or unicodedata.category(character).startswith("M")


def _script(character: str) -> str:
    return unicodedata.name(character, "UNKNOWN").split(" ")[0]


def _read_past(character: str, before: str, after: str) -> bool:
    """Whether the format character `character`, between the word characters `before` and `after`, is read past."""
    if character in _ALWAYS:
        return True
    if character == ZERO_WIDTH_SPACE:
        return _script(before) not in _UNSPACED_SCRIPTS and _script(after) not in _UNSPACED_SCRIPTS
    if character in JOINERS:
        return _script(before) in _LIGATURE_ONLY_SCRIPTS and _script(after) in _LIGATURE_ONLY_SCRIPTS
    return False


def readable_indices(text: str, everywhere: bool = False) -> list[int]:
    """Indices of the characters of `text` a model reads: all but the format characters inside a word that spell
    nothing there (each run of them sits between two letters, digits or marks). With `everywhere`, soft hyphens, word
    joiners, BOMs and zero-width spaces outside words go too (for a translation, which writes a text anew).

    >>> readable_indices("Isam\u200bbard, \u200bok")
    [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    >>> readable_indices("Isam\u200bbard, \u200bok", everywhere=True)
    [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13]
    """
    kept: list[int] = []
    index = 0
    while index < len(text):
        if unicodedata.category(text[index]) != "Cf":
            kept.append(index)
            index += 1
            continue
        end = index
        while end < len(text) and unicodedata.category(text[end]) == "Cf":
            end += 1  # a run of format characters, judged by the word characters around it
        before, after = text[index - 1] if index else "", text[end] if end < len(text) else ""
        inside = bool(before) and bool(after) and _is_word_character(before) and _is_word_character(after)
        kept += [i for i in range(index, end) if not (_read_past(text[i], before, after) if inside else
                                                      everywhere and text[i] in _LAYOUT)]
        index = end
    return kept


def without_invisible(text: str, everywhere: bool = False) -> str:
    """`text` without the format characters inside its words that spell nothing (`readable_indices`; `everywhere`:
    without its layout marks outside words too).

    >>> without_invisible("The house is beau\u200btiful, beau\u00adti\u2060ful. \u200bNext")
    'The house is beautiful, beautiful. \u200bNext'
    >>> without_invisible("\ufeffIs it?\u200b Yes.", everywhere=True)
    'Is it? Yes.'
    """
    if not has_invisible(text):
        return text
    return "".join(text[index] for index in readable_indices(text, everywhere))
