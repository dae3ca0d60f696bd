"""Emoji and emoticons for text models whose vocabulary lacks them: emoji written as their names (vaderSentiment's
emoji lexicon), and whether a text holds any word a model reads at all."""

from __future__ import annotations

import functools
import re

from core.errors import MissingDependencyError

__all__ = ["describe_emoji", "has_words", "has_emoticon", "vader_analyzer", "NO_WORDS"]

NO_WORDS = ("the text has no words the model reads (only symbols or punctuation, emoji it does not know, or letters "
            "of a script its vocabulary lacks): its score is a guess")
_VARIATION_SELECTORS = "\ufe0e\ufe0f"  # text / emoji presentation of the character before them: no meaning of their own


@functools.cache
def vader_analyzer():
    """One VADER `SentimentIntensityAnalyzer` (its lexicons read once): emoji names here, the lexicon mix's scores."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as error:
        raise MissingDependencyError("sentiment reads emoji and mixes in lexicon scores through vaderSentiment: "
                                     "pip install 'verticals[nlp]'") from error
    return SentimentIntensityAnalyzer()


@functools.cache
def _emoji_by_first_character() -> dict[str, list[tuple[str, str]]]:
    """{first character: [(emoji sequence, name), ...] longest first}, so skin tones and ZWJ families match whole."""
    table: dict[str, list[tuple[str, str]]] = {}
    for sequence, name in vader_analyzer().emojis.items():
        table.setdefault(sequence[0], []).append((sequence, name))
    for entries in table.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return table


def describe_emoji(text: str) -> str:
    """`text` with each emoji replaced by its name, set off by spaces; a text without emoji comes back unchanged.

    >>> describe_emoji("😡😡 no!"), describe_emoji("great👍🏽"), describe_emoji("a  plain , text")
    ('pouting face pouting face no!', 'great thumbs up: medium skin tone', 'a  plain , text')
    """
    table = _emoji_by_first_character()
    if not any(character in table for character in text):
        return text
    pieces, index, found = [], 0, False
    while index < len(text):
        match = next(((sequence, name) for sequence, name in table.get(text[index], ())
                      if text.startswith(sequence, index)), None)
        if match is None:
            pieces.append(text[index])
            index += 1
            continue
        pieces.append(f" {match[1]} ")
        index += len(match[0])
        while index < len(text) and text[index] in _VARIATION_SELECTORS:
            index += 1
        found = True
    return re.sub(r" {2,}", " ", "".join(pieces)).strip() if found else text


def has_words(text: str) -> bool:
    """Whether a text holds a letter or digit once its emoji are named, or an emoticon in VADER's lexicon (":)", "<3").

    >>> has_words("!!!"), has_words("😡"), has_words(":("), has_words("5 stars")
    (False, True, True, True)
    """
    return any(character.isalnum() for character in describe_emoji(text)) or has_emoticon(text)


def has_emoticon(text: str) -> bool:
    """Whether a word of the text is an emoticon (or word) in VADER's lexicon, such as ":)" or "<3".

    >>> has_emoticon("so :( today"), has_emoticon("!!!")
    (True, False)
    """
    lexicon = vader_analyzer().lexicon
    return any(token in lexicon or token.lower() in lexicon for token in text.split())
