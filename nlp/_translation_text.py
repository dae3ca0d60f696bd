"""What translation reads in a text before translating it: its sentences (to split a line longer than a seq2seq model
reads at once); its language is guessed by `nlp._language.looks_like`."""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

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
