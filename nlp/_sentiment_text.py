"""What sentiment reads before scoring: web markup removed (tags, entities), and whether a text looks like English at
all (the default model was trained on English sentences only)."""

from __future__ import annotations

import html
import re
import unicodedata

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


# Common English function words (and a few very frequent verbs/adverbs): English prose, reviews and tweets hold
# many of them; Spanish, German, French... share only a handful ("a", "in", "no", "die" are kept out or rare here).
ENGLISH = frozenset("""the of and to is was it this that for with as but not be are were been have has had i you he
she we they my your his her our their me him us them what which who when where why how there here than then so
very just too all any some no if or because about from by at on an would could should will can did do does don't
didn't isn't wasn't doesn't won't can't i'm it's that's i've i'd you're they're there's really also only even much
more most other out up into over after before again never ever one two get got like well still these those its
being am a in""".split())
# Function words of the Latin-script languages a user most often brings; none of them is an English word
FOREIGN = frozenset("""el los las del por para con una uno unos pero muy esta este esto es fue son está están
también porque como más sin sobre entre cuando donde que qué lo le les se su sus mi nos yo ella ellos hay ser
der die das und ist nicht ein eine einen einem dem den des zu mit sich auf für auch wie wir sie ich es war sehr aber
noch nur oder wenn schon bei aus nach vom zum zur ganz kein keine gut
le la les des du un une est et dans pour pas avec sur ce cette ces qui mais ou où je tu il elle nous vous ils sont
était été très plus au aux comme tout bien fait sans ne c'est j'ai
il lo gli della delle degli nel nella che non per ma sono è stato molto anche questo questa
os as um uma não com na no em mais muito foi são está isso também
het een van en ik je niet dat op te voor zijn maar met ook wel nog heel de y e""".split()) - ENGLISH
MIN_WORDS = 6  # fewer words say too little: "Amélie, magnifique!" or "gr8 movie lol" are left alone
_LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def language_warning(text: str) -> str | None:
    """A warning when a text is likely not English, else None: most of its letters in one non-Latin script
    (Cyrillic, CJK, Arabic...), or, over at least `MIN_WORDS` Latin-script words, few common English function words
    and more function words of Spanish, German, French, Italian, Portuguese or Dutch (or, over twice as many words,
    no English one at all). Names, hashtags and short texts do not trip it.

    >>> language_warning("La película fue muy buena y los actores son excelentes.")
    'the text looks like it is not English: the model was trained on English, its score is a guess'
    >>> language_warning("Loved it! Amélie Poulain is a delight from start to finish.") is None
    True
    """
    letters = [c for c in text if c.isalpha()]
    scripts: dict[str, int] = {}
    for character in letters:
        name = unicodedata.name(character, "")
        script = name.split(" ")[0] if name else "UNKNOWN"
        scripts[script] = scripts.get(script, 0) + 1
    if letters:
        script, count = max(((s, n) for s, n in scripts.items() if s != "LATIN"), key=lambda x: x[1], default=("", 0))
        if count >= 3 and count > len(letters) / 2:
            shown = {"CJK": "Chinese or Japanese (CJK)", "HIRAGANA": "Japanese", "KATAKANA": "Japanese",
                     "HANGUL": "Korean"}.get(script, script.title())
            return f"the text looks like {shown} script, not English: the model was trained on English, its score is a guess"
    # a capitalised word that is no function word is a name (or a German noun): it tells nothing about the language
    words = [w.lower() for w in _LETTERS.findall(text.replace("\u2019", "'"))
             if not w[0].isupper() or w.lower() in ENGLISH or w.lower() in FOREIGN]
    if len(words) < MIN_WORDS:
        return None
    english = sum(w in ENGLISH for w in words) / len(words)
    foreign = sum(w in FOREIGN for w in words) / len(words)
    if (english < 0.25 and foreign > english) or (english == 0 and len(words) >= 2 * MIN_WORDS):
        return "the text looks like it is not English: the model was trained on English, its score is a guess"
    return None
