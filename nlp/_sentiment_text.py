"""What sentiment reads before scoring: web markup removed (tags, entities), and whether a text looks like English at
all (the default model was trained on English sentences only)."""

from __future__ import annotations

import html
import re

from nlp._language import not_english

__all__ = ["strip_markup", "MARKUP_REMOVED", "TAG_PATTERN", "ENTITY_PATTERN", "language_warning"]

# HTML elements by name (not any <word>: "<grin>" or "<3" in a tweet is text, not markup); script/style lose their body
_ELEMENTS = ("a|abbr|b|big|blockquote|body|br|center|cite|code|dd|div|dl|dt|em|font|h[1-6]|head|hr|html|i|img|li|"
             "ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|meta|link|title|"
             "section|article|header|footer|nav|figure|figcaption|iframe|input|label|button|form|wbr|mark|ins|del")
# A tag is real markup only in markup's own form: the element's name right after "<" (or "</"), then ">", "/>" or
# whitespace and name="value" / name='value' / name=value attributes; "<b and y>" or "i<p && q>0" is text, not a tag
_VALUE = r"""(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)"""
_ATTRIBUTES = r"(?:\s+[A-Za-z_:][-\w:.]*\s*=\s*" + _VALUE + r")*\s*"
TAG_PATTERN = (r"<!--.*?-->|<(script|style)" + _ATTRIBUTES + r">.*?</\1\s*>|</?(?:" + _ELEMENTS + r")\b(?!-)"
               + _ATTRIBUTES + r"/?>")
_TAG = re.compile(TAG_PATTERN, re.IGNORECASE | re.DOTALL)
# Entities only in their complete form, with the semicolon: "&amp;", "&#39;", "&#x27;"; "&region=" or "I do&not"
# (which html.unescape alone reads as "®ion=" and "I do¬") are text
ENTITY_PATTERN = r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
_ENTITY = re.compile(ENTITY_PATTERN)


def _unescape(text: str) -> str:
    """The text with its complete entities (`ENTITY_PATTERN`) decoded; an unknown name ("&foo;") stays as written."""
    return _ENTITY.sub(lambda match: html.unescape(match.group()), text)


MARKUP_REMOVED = "the text's HTML markup (tags such as <br />, entities such as &amp;) was removed before scoring"


def strip_markup(text: str) -> str:
    """The text without HTML tags (each becomes a space) and with entities unescaped (only complete ones, ending in
    ";"); a text with neither comes back unchanged (so a changed text is one that held markup). Repeated until nothing changes, so twice-escaped markup ("&lt;br&gt;") goes too and a second call is
    a no-op (training, prediction and explain may each meet the same text).

    >>> strip_markup("Great film.<br /><br />Tom &amp; Jerry&#39;s best. <3")
    "Great film. Tom & Jerry's best. <3"
    >>> strip_markup("5 < 6 & 7 > 2, <grin>, if x<b and y>c, I do&not like it")
    '5 < 6 & 7 > 2, <grin>, if x<b and y>c, I do&not like it'
    """
    current = text
    for _ in range(3):
        stripped = _unescape(_TAG.sub(" ", current))
        if stripped == current:
            break
        current = stripped
    if current == text:
        return text
    return re.sub(r"\s+", " ", current).strip()


def language_warning(text: str) -> str | None:
    """A warning when a text is likely not English (`nlp._language.not_english`: a non-Latin script, other languages'
    function words, Turkish letters, no English words), else None. Names, hashtags and short texts do not trip it.

    >>> language_warning("La película fue muy buena y los actores son excelentes.")
    'the text looks like it is not English: the model was trained on English, its score is a guess'
    >>> language_warning("Loved it! Amélie Poulain is a delight from start to finish.") is None
    True
    """
    if (other := not_english(text)) is None:
        return None
    looks = "it is not English" if other == "another language" else f"{other}, not English"
    return f"the text looks like {looks}: the model was trained on English, its score is a guess"
