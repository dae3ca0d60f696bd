"""What translation reads in a text before translating it: its sentences (to split a line longer than a seq2seq model
reads at once) and a cheap guess of its language (to catch input that is not in the source language assumed)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["split_sentences", "looks_like"]

# A sentence ends at . ! ? … (or a CJK full stop), with any closing quotes/brackets, before a space or a line break
_END = re.compile(r"(?<=[.!?…。！？])[\"'”’»)\]]*\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, with their own punctuation; an end followed by a lower-case word ("Dr. smith",
    "e.g. this") does not split, and joining the pieces with spaces gives the text back (up to spacing).

    >>> split_sentences("The cat is black. It sleeps! Does it? e.g. this stays.\\nA new line")
    ['The cat is black.', 'It sleeps!', 'Does it? e.g. this stays.', 'A new line']
    """
    pieces: list[str] = []
    start = 0
    for match in _END.finditer(text):
        following = text[match.end():match.end() + 1]
        if "\n" not in match.group() and following.islower():
            continue  # an abbreviation, or a sentence that goes on
        pieces.append(text[start:match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


# Function words per language: frequent in any prose of that language. A word two languages share counts for both,
# so it tells nothing between them; the languages are those whose Apertium pairs (with English) users install most.
FUNCTION_WORDS = {language: frozenset(words.split()) for language, words in {
    "en": """the of and to a in is was it this that for with as but not be are were been have has had i you he she we
             they my your his her our their me him us them what which who when where why how there here than then so
             very just too all any some no if or because about from by at on an would could should will can did do does
             don't didn't isn't wasn't doesn't won't can't i'm it's that's into over after before""",
    "es": """el la los las de del y que en un una unos unas es son está están era fue por para con pero muy más sin sobre
             entre cuando donde como lo le les se su sus mi yo ella ellos hay ser al también porque qué este esta esto
             estos estas ese esa eso nos""",
    "fr": """le la les de des du et est sont dans pour pas avec sur ce cette ces qui que mais ou où je tu il elle nous
             vous ils elles été très plus au aux comme tout bien ne un une c'est j'ai était""",
    "de": """der die das und ist nicht ein eine einen einem dem den des zu mit sich auf für auch wie wir sie ich es war
             sehr aber noch nur oder wenn schon bei aus nach vom zum zur kein keine sind""",
    "it": """il lo la gli le di del della delle degli nel nella che non per ma sono è un una molto anche questo questa
             con era ho ha""",
    "pt": """o a os as de do da dos das e que em um uma não com na no mais muito foi são está isso também para por se
             ao mas""",
    "nl": """de het een van en ik je niet dat op te voor zijn maar met ook wel nog heel is er wat""",
}.items()}
MIN_FUNCTION_WORDS = 2  # fewer say too little: "Hola." or "Tom Smith" alone is left to the rest of the text
_LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SCRIPTS = {"CJK": "Chinese or Japanese (CJK)", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}


def _counts(text: str) -> dict[str, int]:
    """How many of the text's words are function words of each language; a capitalised word that is no function word
    is a name (or a German noun) and tells nothing about the language."""
    known = set().union(*FUNCTION_WORDS.values())
    words = [w.lower() for w in _LETTERS.findall(text.replace("\u2019", "'"))]
    words = [w for w in words if w in known]
    return {language: sum(w in vocabulary for w in words) for language, vocabulary in FUNCTION_WORDS.items()}


def _script(text: str) -> str | None:
    """The non-Latin script of most of the text's letters (at least 3 of them), named for a reader, or None."""
    scripts: dict[str, int] = {}
    letters = [c for c in text if c.isalpha()]
    for character in letters:
        name = unicodedata.name(character, "UNKNOWN").split(" ")[0]
        scripts[name] = scripts.get(name, 0) + 1
    script, count = max(((s, n) for s, n in scripts.items() if s != "LATIN"), key=lambda x: x[1], default=("", 0))
    return _SCRIPTS.get(script, script.title()) + " script" if count >= 3 and count > len(letters) / 2 else None


def _other(counts: dict[str, int], assumed: str, prefer: str | None) -> str | None:
    """The language the counts point to instead of `assumed`: at least `MIN_FUNCTION_WORDS` of its function words and
    over twice as many as of `assumed`'s (so an English line with "de" or "a" in it stays English); ties go to
    `prefer` (the target language, the usual mix-up), then to the order of `FUNCTION_WORDS`."""
    own = counts.get(assumed, 0)
    ranked = sorted((language for language in counts if language != assumed),
                    key=lambda language: (-counts[language], language != prefer))
    best = ranked[0] if ranked else None
    if best is None or counts[best] < MIN_FUNCTION_WORDS or counts[best] <= 2 * own:
        return None
    return best


def looks_like(texts: list[str], assumed: str, prefer: str | None = None) -> list[str | None]:
    """Per text, what it looks like instead of the `assumed` source language: an ISO 639-1 code of `FUNCTION_WORDS`,
    a script's name ("Cyrillic script") when the assumed language is written in Latin letters, or None when it looks
    like `assumed` or says too little. A text too short to tell on its own takes the verdict of all the texts
    together, unless it looks like `assumed` itself. Only `FUNCTION_WORDS` languages can be checked: for another
    `assumed`, all None.

    >>> looks_like(["El gato es negro y la casa es roja.", "Hola.", "The cat is black."], "en", prefer="es")
    ['es', 'es', None]
    >>> looks_like(["I like cats.", "Charles de Gaulle was a general."], "en", prefer="es")
    [None, None]
    """
    if assumed not in FUNCTION_WORDS:
        return [None] * len(texts)
    counts = [_counts(text) for text in texts]
    total = {language: sum(c[language] for c in counts) for language in FUNCTION_WORDS}
    overall = _script(" ".join(texts)) or _other(total, assumed, prefer)
    verdicts = []
    for text, count in zip(texts, counts):
        own = _script(text) or _other(count, assumed, prefer)
        if own is None and count[assumed] < MIN_FUNCTION_WORDS and _script(text) is None:
            own = overall  # too short to tell alone (and not clearly `assumed`): the text as a whole decides
        verdicts.append(own)
    return verdicts
