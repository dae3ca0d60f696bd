"""Offline span extraction without a QA-trained model: sentence retrieval by MiniLM + answer-type rules.

No SQuAD-trained weights ship anywhere offline, so the embedded QA default picks the sentence closest
to the question (embedding cosine + word overlap) and, inside it, the short span whose form fits the
question word (numbers for "how many", years for "when", capitalised names for "who") nearest to the
question's words. It is a baseline, not a reader model.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["split_sentences", "content_words", "best_span"]

STOPWORDS = set("""a an the of in on at to for from by with and or but is are was were be been being do does did what which who
whom whose when where why how that this these those it its as into than then there their they he she his her him i you we
our us not no yes can could would should will may might has have had about over under after before during between many
much name named called one some any""".split())
PLACE_CUES = {"in", "at", "to", "from", "near", "into", "towards", "across", "through"}
MONTHS = "january february march april may june july august september october november december".split()
# words that end a date besides numbers and months ("44 BC", "66 million years ago", "the 5th century")
DATE_ENDS = {"bc", "bce", "ad", "ce", "ago", "century", "centuries", "millennium"}


def _mark_class() -> str:
    """A regex class of every combining mark (Unicode category M: accents, Indic vowel signs and viramas), which
    Python's \\w leaves out; they all lie below U+20000 or in the variation selectors at U+E0100."""
    ranges: list[list[int]] = []
    for code in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "[" + "".join(f"{chr(a)}-{chr(b)}" if b > a else chr(a) for a, b in ranges) + "]"


_MARK = _mark_class()
# A letter or digit in any script ([^\W_] is \w without the underscore) with the combining marks after it (decomposed
# "Sa\u0303o", Hindi "में", whose vowel signs \w leaves out); ZWNJ/ZWJ inside a word are its spelling (Persian
# "کتاب\u200cها" is one word).
_WORD = re.compile(rf"[^\W_](?:[^\W_]|{_MARK}|['\-.,%$\u200c\u200d])*(?:[^\W_]|{_MARK}|%)|[^\W_]")

_INVISIBLE = "[\u00ad\u200b-\u200f\u2060\ufeff]"  # invisible format characters a sentence end may hold (web text)
# ".!?" (and invisible characters) then spaces then a letter that is not lower case (any script), a digit or an opening
# quote, invisible characters before it skipped; or "。！？" (with its closing brackets) then any spaces.
_SENTENCE_END = re.compile(r"[.!?]" + _INVISIBLE + r"*\s+(?=\S)|(?P<cjk>[。！？｡][」』）)\"”’]*)(?P<space>\s*)")
_OPENERS = "\"'(“‘«¿¡[「『"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences.

    >>> split_sentences("One. Two three.")
    [(0, 4), (5, 15)]
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.group("cjk") is not None:  # 。！？ end a sentence with or without a space after
            end = match.start("space")
        else:
            position = match.end()
            while position < len(text) and unicodedata.category(text[position]) == "Cf":
                position += 1  # a zero-width space or BOM before the next word is no part of it
            following = text[position:position + 1]
            # A letter that is not lower case: upper or title case in any script, or a script without case (東, ع).
            starts = (following.isalpha() and not following.islower()) or following.isdigit() or following in _OPENERS
            if not starts:
                continue  # "e.g. the" or "3.5 km" go on
            end = match.start() + 1
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def content_words(text: str) -> set[str]:
    """Lower-cased words of a question that carry meaning.

    >>> sorted(content_words("Who founded the city of Rome?"))
    ['city', 'founded', 'rome']
    """
    return {w.lower().strip(".,") for w in _WORD.findall(text)} - STOPWORDS


def _answer_type(question: str) -> str:
    q = question.lower()
    if re.search(r"\bhow (many|much|long|far|old|large|big|tall|high)\b|\bwhat (percentage|number|amount)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|century|day|month|time)\b|\bwhich year\b", q):
        return "date"
    if re.search(r"\bwho(m|se)?\b", q):
        return "person"
    if re.search(r"\bwhere\b|\bwhat (country|city|state|place)\b", q):
        return "place"
    return "other"


def _is_name_word(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in STOPWORDS


def _is_date_word(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or word.lower().strip(".") in MONTHS or word.lower().strip(".") in DATE_ENDS


def _fits(kind: str, words: list[str], before: str = "", after: str = "") -> float:
    """How well `words` fit the answer type; `before`/`after` are the words right next to the span ("" if none)."""
    text = " ".join(words)
    has_digit = any(ch.isdigit() for ch in text)
    capitalised = sum(w[:1].isupper() for w in words) / len(words)
    if kind == "number":
        return 1.0 if has_digit or re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b", text.lower()) else 0.0
    if kind == "date":
        year = bool(re.search(r"\b1\d{3}\b|\b20\d{2}\b", text))
        fit = 1.0 if year or any(w.lower() in MONTHS for w in words) else 0.3 * has_digit
        # a word at either end that is no part of a date ("1886, Robert", "opened in 1991") is an extra word: the span
        # grew towards the question's words, which proximity rewards, and it halves the fit
        return fit if all(_is_date_word(w) for w in (words[0], words[-1])) else 0.5 * fit
    if kind in ("person", "place"):
        if _is_name_word(before) or _is_name_word(after):
            capitalised *= 0.5  # the span cuts a name in two ("Zoë" of "Zoë Çelik")
        if kind == "place" and before.lower() not in PLACE_CUES:
            capitalised *= 0.8  # places mostly follow "in", "to", "from"...
        return capitalised
    return 0.5 + 0.3 * capitalised + 0.2 * has_digit


def best_span(question: str, context: str, start: int, end: int) -> tuple[int, int, float]:
    """(char start, char end, score in 0..1) of the best answer span inside `context[start:end]`."""
    words = [(m.start() + start, m.end() + start, m.group()) for m in _WORD.finditer(context[start:end])]
    if not words:
        return start, end, 0.0
    asked = content_words(question)
    kind = _answer_type(question)
    anchors = [i for i, (_, _, w) in enumerate(words) if w.lower().strip(".,") in asked]
    best = (words[0][0], words[-1][1], -1.0)
    for i in range(len(words)):
        for length in range(1, 6):
            j = i + length
            if j > len(words):
                break
            span = [w for _, _, w in words[i:j]]
            lowered = [w.lower().strip(".,") for w in span]
            if lowered[0] in STOPWORDS or lowered[-1] in STOPWORDS or any(w in asked for w in lowered):
                continue
            before = words[i - 1][2] if i > 0 and context[words[i - 1][1]:words[i][0]].isspace() else ""
            after = words[j][2] if j < len(words) and context[words[j - 1][1]:words[j][0]].isspace() else ""
            fit = _fits(kind, span, before, after)
            distance = min((min(abs(a - i), abs(a - (j - 1))) for a in anchors), default=len(words))
            proximity = 1.0 / (1.0 + distance / 3)
            brevity = 1.0 / (1.0 + 0.15 * (length - 1)) if kind != "other" else 1.0 / (1.0 + 0.05 * abs(length - 3))
            score = 0.5 * fit + 0.35 * proximity + 0.15 * brevity
            if score > best[2]:
                best = (words[i][0], words[j - 1][1], score)
    return best
