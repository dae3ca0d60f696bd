"""A cheap, offline guess of a text's language, shared by sentiment (is a text English, for a model trained on English?)
and translation (is a text in the source language assumed?): function words per language, the script of its
letters, and for English an English word list (the packaged MiniLM's vocabulary)."""

from __future__ import annotations

import functools
import re
import unicodedata

from nlp._invisible import without_invisible

__all__ = ["FUNCTION_WORDS", "ENGLISH", "ENGLISH_HOMOGRAPHS", "FOREIGN", "MIN_WORDS", "words", "script", "not_english", "english_texts",
           "looks_like"]

# Function words per language: frequent in any prose of that language. A word two languages share counts for both,
# so it tells nothing between them; the languages are those whose Apertium pairs (with English) users install most.
FUNCTION_WORDS = {language: frozenset(words.split()) for language, words in {
    "en": """the of and to a in is was it this that for with as but not be are were been have has had i you he she we
             they my your his her our their me him us them what which who when where why how there here than then so
             very just too all any some no if or because about from by at on an would could should will can did do does
             don't didn't isn't wasn't doesn't won't can't i'm it's that's into over after before i've i'd you're
             they're there's really also only even much more most other out up again never ever one two get got like
             well still these those its being am""",
    "es": """el la los las de del y que en un una unos unas es son está están era fue por para con pero muy más sin sobre
             entre cuando donde como lo le les se su sus mi yo ella ellos hay ser al también porque qué este esta esto
             estos estas ese esa eso nos""",
    "fr": """le la les de des du et est sont dans pour pas avec sur ce cette ces qui que mais ou où je tu il elle nous
             vous ils elles été très plus au aux comme tout bien ne un une c'est j'ai était fait sans""",
    "de": """der die das und ist nicht ein eine einen einem dem den des zu mit sich auf für auch wie wir sie ich es war
             sehr aber noch nur oder wenn schon bei aus nach vom zum zur kein keine sind ganz gut""",
    "it": """il lo la gli le di del della delle degli nel nella che non per ma sono è un una molto anche questo questa
             con era ho ha stato""",
    "pt": """o a os as de do da dos das e que em um uma não com na no mais muito foi são está isso também para por se
             ao mas""",
    "nl": """de het een van en ik je niet dat op te voor zijn maar met ook wel nog heel is er wat""",
}.items()}
ENGLISH = FUNCTION_WORDS["en"]
# other languages' function words that English prose also writes ("die hard", "war movie", "gut feeling", "plus",
# "pros and con", "sin", "per se", "van", "met", "den", "hay", "yo ho ho", "um", "er", "la la la", "heel", "ma", "na",
# "op", "son", "era", "pour", "non-stop", "e-mail", "love em", "amazon.com"...): evidence of no language but English
ENGLISH_HOMOGRAPHS = frozenset("""die war gut plus con sin per se van met den hay yo um la er heel ma na op son era
                                  pour sans non e em com ho ha lo mi da al tout wat dos""".split())
# the other languages' function words that are no English word ("a", "in", "no", "is", and the homographs above,
# are left out): an English text holds none of them
FOREIGN = frozenset().union(*(v for k, v in FUNCTION_WORDS.items() if k != "en")) - ENGLISH - ENGLISH_HOMOGRAPHS
MIN_WORDS = 6  # fewer words say too little: "Amélie, magnifique!" or "gr8 movie lol" are left alone
MIN_FUNCTION_WORDS = 2  # fewer say too little: "Hola." or "Tom Smith" alone is left to the rest of the text
_LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# web addresses, #hashtags and @mentions say nothing of the language of the sentence around them
_NOT_PROSE = re.compile(r"(?:https?://|www\.)\S+|[#@]\w+")
_SCRIPTS = {"CJK": "Chinese or Japanese (CJK)", "HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}
_TURKISH = frozenset("ğış")  # letters of Turkish (and Azerbaijani) alone: no Western European language writes them


def _written(text: str) -> list[str]:
    """The text's words as written (apostrophes kept: "don't"), without web addresses, hashtags and mentions, and
    without the invisible characters inside them ("lo\u200bved" is "loved", `nlp._invisible`)."""
    return _LETTERS.findall(_NOT_PROSE.sub(" ", without_invisible(text).replace("\u2019", "'")))


def words(text: str) -> list[str]:
    """The text's words in lower case (`_written`)."""
    return [w.lower() for w in _written(text)]


def script(text: str) -> str | None:
    """The non-Latin script of most of the text's letters (at least 3 of them), named for a reader ("Cyrillic
    script"), or None."""
    scripts: dict[str, int] = {}
    letters = [c for c in text if c.isalpha()]
    for character in letters:
        name = unicodedata.name(character, "UNKNOWN").split(" ")[0]
        scripts[name] = scripts.get(name, 0) + 1
    name, count = max(((s, n) for s, n in scripts.items() if s != "LATIN"), key=lambda x: x[1], default=("", 0))
    return _SCRIPTS.get(name, name.title()) + " script" if count >= 3 and count > len(letters) / 2 else None


@functools.lru_cache(maxsize=1)
def _english_vocabulary() -> frozenset[str]:
    """Whole English words of the packaged MiniLM's (uncased BERT) vocabulary; empty when it is not installed."""
    try:
        from nlp._encoder import minilm_path

        lines = (minilm_path() / "vocab.txt").read_text(encoding="utf-8").split()
    except Exception:  # noqa: BLE001 - no vocabulary: the rule that needs it stays silent
        return frozenset()
    return frozenset(line for line in lines if line.isalpha())


def _mostly_unknown_to_english(found: list[str]) -> bool:
    """Whether most of the words are in no English word list (the vocabulary is missing: False, say nothing)."""
    vocabulary = _english_vocabulary()
    if not vocabulary:
        return False
    return sum(w.split("'")[0] not in vocabulary for w in found) > len(found) / 2


def not_english(text: str) -> str | None:
    """What a text looks like instead of English: a script's name ("Cyrillic script") when most of its letters are
    in one non-Latin script, "another language" when, over at least `MIN_WORDS` Latin-script words, few are English
    function words and more are function words of Spanish, German, French, Italian, Portuguese or Dutch (or two
    words hold Turkish letters; or, over twice as many words, none is an English function word and most are no
    English word at all); else None. Names, hashtags, mentions, addresses and short texts do not trip it.

    >>> not_english("La película fue muy buena y los actores son excelentes.")
    'another language'
    >>> not_english("fast shipping, great quality, excellent price, highly recommend, five stars, perfect fit") is None
    True
    """
    if (found := script(text)) is not None:
        return found
    # a capitalised word that is no function word is a name (or a German noun): it tells nothing about the language
    kept = [w.lower() for w in _written(text) if not w[0].isupper() or w.lower() in ENGLISH or w.lower() in FOREIGN]
    if len(kept) < MIN_WORDS:
        return None
    english = sum(w in ENGLISH for w in kept) / len(kept)
    foreign = sum(w in FOREIGN for w in kept) / len(kept)
    turkish = sum(any(c in _TURKISH for c in w) for w in kept)
    if english < 0.25 and (foreign > english or turkish >= 2):
        return "another language"
    if english == 0 and len(kept) >= 2 * MIN_WORDS and _mostly_unknown_to_english(kept):
        return "another language"
    return None


def english_texts(texts: list[str]) -> bool:
    """Whether texts are English on positive evidence: of those with at least 3 words, most have more English
    function words than other languages' (at least one), and at most a tenth of all look otherwise (`not_english`).
    Texts of a language these lists do not know (Turkish, Polish...) hold no English function words: False."""
    counted = [w for w in map(words, texts) if len(w) >= 3]
    english = sum(0 < sum(x in ENGLISH for x in w) > sum(x in FOREIGN for x in w) for w in counted)
    if not counted or english <= len(counted) / 2:
        return False
    return sum(not_english(text) is not None for text in texts) <= 0.1 * len(texts)


def _counts(text: str) -> dict[str, int]:
    """How many of the text's words are function words of each language."""
    found = words(text)
    return {language: sum(w in vocabulary for w in found) for language, vocabulary in FUNCTION_WORDS.items()}


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
    overall = script(" ".join(texts)) or _other(total, assumed, prefer)
    verdicts = []
    for text, count in zip(texts, counts):
        own = script(text) or _other(count, assumed, prefer)
        if own is None and count[assumed] < MIN_FUNCTION_WORDS and script(text) is None:
            own = overall  # too short to tell alone (and not clearly `assumed`): the text as a whole decides
        verdicts.append(own)
    return verdicts
