"""Apertium rule-based MT through its command line: installed pairs, and translation of many texts in one stream
with each text isolated from the others.

Where Apertium keeps state across an input stream (seen in 3.8): the transfer modules reset their variables at
each null character (null-flush mode, `-z`), and so does the HMM tagger's Viterbi path; but the tagger's
`find_similar_ambiguity_class` overwrites the model's open ambiguity class in place whenever a word has an
ambiguity class the model never saw (e.g. "I": numeral or pronoun), and that changes how every later unseen
class and unknown word is tagged. So: all texts go through one null-flushed stream, except that the tagger is
restarted so that no text is tagged after one that changed it. The tagger says which texts change it (`-d`
prints a warning for each such word, read in order from its merged output), and every text is tagged by a tagger
in the state a fresh process has. Pairs whose modes hold programs not known to behave so fall back to one
process per text.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from core.apertium import data_dir
from core.errors import InputError, MissingDependencyError, VerticalsError
from nlp._invisible import without_invisible

__all__ = ["ApertiumEngine", "installed_pairs", "require_apertium", "mode_for", "MAX_CHARACTERS"]

MAX_CHARACTERS = 20_000  # per text; longer texts are refused (bounded run time)
TIMEOUT_SECONDS = 120
DEBIAN_HINT = "install the Debian packages: sudo apt-get install apertium apertium-eng-spa (apt-cache search apertium lists other pairs)"
# Programs that reset their state at each null character in `-z` mode (the tagger is handled on its own).
FLUSH_SAFE = {"lt-proc", "apertium-wblank-attach", "apertium-wblank-detach", "apertium-pretransfer",
              "apertium-transfer", "apertium-interchunk", "apertium-postchunk", "lrx-proc", "apertium-tagger"}
_NEW_CLASS = re.compile(r"Error: A new ambiguity class was found\. \nRetraining the tagger is necessary so as to "
                        r"take it into account\.\nWord '[^\n]*'\.\nNew ambiguity class: [^\n]*\n")
# Messages that say nothing about state: printed for every such word, whatever came before.
_STATELESS_MESSAGES = re.compile(r"Problem with word '[^\n]*' [^\n]*\n|Warning: There is not coarse tag for the fine "
                                 r"tag '[^\n]*' of '[^\n]*'\n[ \t]*This is because of an incomplete tagset definition "
                                 r"or a dictionary error\n")

# What predict does to Apertium's output (`_clean`), also written out in the card's usage: two or more spaces or tabs
# in a row (Apertium leaves two where it drops a word) become one space and the ends are stripped; into a language in
# OPENING_MARKS, each SENTENCE of the translation that ends in a closing mark, as its source sentence does, gets the
# opening one (so a sentence gets the same marks alone and inside a line of several); in a sentence ending in a quote
# or bracket (CLOSERS) the mark goes after the last OPENER before it ('"¿Estás seguro?"', '«¡Uau!»'), except a "¿"
# where QUOTED_QUESTION says the question is the whole sentence ('¿Por qué escribes "no?"').
SPACE_RUN = r"[ \t]{2,}"
# Titles and abbreviations (English, and Spanish as Apertium writes them) whose period ends no sentence: "Dr. Smith is
# here!" is one exclamation, "¡Dr. Herrero es aquí!", not "Dr. ¡Herrero es aquí!".
TITLES = ("Mr", "Mrs", "Ms", "Mx", "Dr", "Dra", "Prof", "St", "Mt", "Ft", "Jr", "Sr", "Sra", "Srta", "Gen", "Lt",
          "Capt", "Col", "Sgt", "Rev", "Gov", "Sen", "Rep", "Hon", "Pres", "vs")
ABBREVIATIONS = TITLES + ("UU",)  # "EE.UU." too
# A single capital other than I with a period is an initial ("J. Smith", "U.S. Army", "J. K. Rowling"), which ends no
# sentence, unless the next word is one that starts a sentence (INITIAL_ENDS: a pronoun, auxiliary, article, question
# word...): "I like vitamin C. Do you?", "a plan B. Is it ready?", "the U.S. Do you?" are two sentences each.
INITIAL_ENDS = ("I", "You", "He", "She", "It", "We", "They", "Do", "Does", "Did", "Is", "Are", "Was", "Were", "Am",
                "Can", "Could", "Will", "Would", "Shall", "Should", "May", "Might", "Must", "Have", "Has", "Had", "The",
                "A", "An", "This", "That", "These", "Those", "There", "Here", "What", "Who", "Whom", "Whose", "Why",
                "How", "When", "Where", "Which", "My", "Your", "His", "Her", "Its", "Our", "Their", "But", "And", "So",
                "Yes", "No", "Not", "Please", "Let", "Then", "If")
# A sentence: up to ! or ? (with any . ! ? … and closing quotes or brackets) before a space, or to the end of the line;
# or up to a single period or an ellipsis (… or ..) before a space and a capital letter (after any opening quotes,
# brackets or marks): a period or an ellipsis before a lower-case word or a number ends no sentence, as after "e.g." /
# "p. ej.", "p.m.", "etc." or "No." ("No. 5"), or in "Is it good... or bad?".
UPPER = "A-ZÀ-ÖØ-Þ"
_BEFORE_CAPITAL = r"[\"'”’»)\]]*(?=\s+[\"'“‘«(\[¿¡]*[" + UPPER + r"])"
SENTENCE = (r"\S.*?(?:" + "".join(rf"(?<!\b{word})" for word in ABBREVIATIONS)
            + r"(?:[.!?…]*[!?][.!?…]*[\"'”’»)\]]*(?=\s)"
            + r"|(?:…|\.{2,})[.…]*" + _BEFORE_CAPITAL
            + r"|(?:(?<!\b[A-HJ-Z])|(?=\.[\"'”’»)\]]*\s+[\"'“‘«(\[¿¡]*(?:" + "|".join(INITIAL_ENDS) + r")\b))"
            + r"(?<!\.)\." + _BEFORE_CAPITAL + r")|$)")
# Any run of . ! ? … before a space, whatever follows, except after a title: where Apertium changed the case of the
# next word ("5 p.m. Did you" -> "5 p.m. le ves"; "good... or bad" -> "bien... O malo"), the translation's sentences
# are split so when they then pair one to one with the source's; else by SENTENCE when that pairs; else, for a source
# of one sentence, the whole line is one.
LOOSE_SENTENCE = (r"\S.*?(?:" + "".join(rf"(?<!\b{word})" for word in TITLES)
                  + r"[.!?…]+[\"'”’»)\]]*(?=\s)|$)")
CLOSERS = r"[\"'”’»)\]]+$"  # the quotes and brackets a sentence ends in
OPENER = r"(?<!\w)[\"'“‘«(\[]\s*"  # an opening quote or bracket and its spaces (not an apostrophe: no letter before)
# Before a quote that ends a question ('He asked: "Are you sure?"'), what makes the quote the question: the sentence
# starts with it, or it follows : , ; or a dash, or its first word is capitalised. Else ('Have you read "Hamlet?"',
# American punctuation) the question mark ends the whole sentence, which gets the mark at its start.
QUOTED_QUESTION = r"(?:^|[:,;—–-]\s*)$"
OPENING_MARKS = {"spa": (("?", "¿"), ("!", "¡"))}  # target (ISO 639-3): (closing, opening) marks Apertium drops

# A tag such as <a href="x">, </p> or <br/>: a text holding one is deformatted as HTML, which keeps the markup
# (plain-text deformatting would translate "<a>" as the article, "<un>").
_MARKUP = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")


class _UnreadableTaggerOutput(Exception):
    """The tagger printed something this module does not know; the texts are then run one process each."""


def _environment() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C.UTF-8"}  # lttoolbox needs a UTF-8 locale


def require_apertium() -> str:
    """Path of the `apertium` program, or `MissingDependencyError` naming the Debian package."""
    program = shutil.which("apertium")
    if program is None:
        raise MissingDependencyError(
            "the embedded translation default needs Apertium, which is not installed; " + DEBIAN_HINT
            + ". Or load a seq2seq model: a hub id such as Helsinki-NLP/opus-mt-en-es or a folder written by save()")
    return program


def installed_pairs() -> list[tuple[str, str]]:
    """(source, target) ISO 639-3 codes of the installed Apertium modes (variants like `spa-eng_US` left out).

    >>> isinstance(installed_pairs(), list)
    True
    """
    modes = data_dir() / "modes"
    if shutil.which("apertium") is None or not modes.is_dir():
        return []
    pairs = []
    for file in sorted(modes.glob("*.mode")):
        match = re.fullmatch(r"([a-z]{2,3})-([a-z]{2,3})", file.stem)
        if match:
            pairs.append((match.group(1), match.group(2)))
    return pairs


def mode_for(source3: str, target3: str, install: str) -> str:
    """The Apertium mode name for a pair of ISO 639-3 codes, or `InputError` listing the installed ones and saying
    what to `install` (`nlp._translation_data.apertium_install_hint`: a package name only where one is known)."""
    require_apertium()
    pairs = installed_pairs()
    if (source3, target3) not in pairs:
        shown = ", ".join(f"{s}->{t}" for s, t in pairs) or "none"
        raise InputError(
            f"Apertium has no {source3}->{target3} pair installed (installed: {shown}). {install[:1].upper()}{install[1:]}; "
            "choose an installed pair, or use a seq2seq model trained for this pair (verticals train nlp.translation)")
    return f"{source3}-{target3}"


def _clean(text: str, target3: str, source: str) -> str:
    """What predict makes of Apertium's output for one line (the card's `usage` spells out the same steps)."""
    text = re.sub(SPACE_RUN, " ", text).strip()
    # Apertium drops Spanish opening marks; restore them for each question/exclamation, sentence by sentence, inside
    # its quotes or brackets. Its sentences pair with the source's in order (split as LOOSE_SENTENCE says); where
    # Apertium joined or split one (the counts differ), a closing mark ending any source sentence is enough.
    marks = OPENING_MARKS.get(target3, ())
    if not marks:
        return text
    originals = re.findall(SENTENCE, source)
    splits = [[match.span() for match in re.finditer(pattern, text)] for pattern in (LOOSE_SENTENCE, SENTENCE)]
    spans = next((found for found in splits if len(found) == len(originals)),
                 [(0, len(text))] if len(originals) == 1 else splits[1])
    paired = len(spans) == len(originals)
    opening_of = dict(marks)

    def restore(sentence: str, index: int) -> str:
        body = re.sub(CLOSERS, "", sentence)
        quotes = list(re.finditer(OPENER, body)) if body != sentence else []
        ending = re.search(r"[.!?…]*$", body).group()  # "?!" opens "¡¿" (RAE: the marks mirror each other)
        ended = "".join(re.search(r"[.!?…]*$", re.sub(CLOSERS, "", original)).group()
                        for original in ([originals[index]] if paired else originals))
        insert: dict[int, str] = {}
        for closing in dict.fromkeys(reversed(ending)):
            opening = opening_of.get(closing)
            start = quotes[-1].end() if quotes else 0
            if quotes and closing == "?" and not (re.search(QUOTED_QUESTION, body[:quotes[-1].start()])
                                                  or re.match(f"[{UPPER}]", body[start:])):
                start = 0
            if opening and opening not in body[start:] and closing in ended:
                insert[start] = insert.get(start, "") + opening
        for start in sorted(insert, reverse=True):
            sentence = sentence[:start] + insert[start] + sentence[start:]
        return sentence

    for index, (start, end) in reversed(list(enumerate(spans))):
        text = text[:start] + restore(text[start:end], index) + text[end:]
    return text


@functools.cache
def _stream_plan(mode: str) -> tuple[str, list[str] | None, str] | None:
    """(before, tagger, after) shell pipelines of `mode` in null-flush mode, or None when a program in it is not
    known to reset at null characters (then each text runs in its own process)."""
    program = shutil.which("apertium-wblank-mode")
    file = data_dir() / "modes" / f"{mode}.mode"
    if program is None or not file.is_file() or not all(shutil.which(p) for p in ("apertium-destxt", "apertium-retxt")):
        return None
    try:
        text = subprocess.run([program, "-z", str(file)], capture_output=True, timeout=30, check=True).stdout.decode()
    except (subprocess.SubprocessError, OSError):
        return None
    stages = [stage.strip() for stage in text.strip().split(" | ")]
    if not stages or any(stage.split()[0] not in FLUSH_SAFE or "-z" not in stage.split() for stage in stages
                         if stage.split()[0] not in {"apertium-wblank-attach", "apertium-wblank-detach"}):
        return None
    taggers = [i for i, stage in enumerate(stages) if stage.split()[0] == "apertium-tagger"]
    if not taggers:
        return " | ".join(stages), None, "cat"
    words = stages[taggers[0]].split()
    # Only the HMM tagger (-g without -w/-x/-u) is known to warn and go on; the others stop or behave otherwise.
    if len(taggers) > 1 or "-g" not in words or {"-w", "-x", "-u", "--sliding-window", "--perceptron"} & set(words):
        return None
    tagger = [shutil.which(words[0]) or words[0], "-d"] + [shlex.split(word)[0] for word in words[1:] if word not in {"$1", "$2"}]
    before, after = " | ".join(stages[:taggers[0]]) or "cat", " | ".join(stages[taggers[0] + 1:]) or "cat"
    return before, tagger, after


def _run(command: str | list[str], data: str, what: str, merge_stderr: bool = False) -> str:
    """Run one program (an argument list) or a shell pipeline of Apertium programs (from the installed mode file;
    `$1`/`$2` are the generator's and tagger's options) with `data` on stdin; stdout as text."""
    arguments = command if isinstance(command, list) else ["bash", "-c", command, "apertium", "-n", ""]
    try:
        completed = subprocess.run(arguments, input=data.encode("utf-8"), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                                   timeout=TIMEOUT_SECONDS, env=_environment(), check=False)
    except subprocess.TimeoutExpired as error:
        raise VerticalsError(f"Apertium took over {TIMEOUT_SECONDS} s ({what}); translate fewer or shorter texts") from error
    if completed.returncode != 0:
        message = (completed.stderr or completed.stdout).decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise VerticalsError(f"Apertium ({what}) failed: {message[0]}")
    return completed.stdout.decode("utf-8", "replace")


def _segments(output: str, count: int, what: str) -> list[str]:
    parts = output.split("\0")
    if len(parts) < count + 1 or any(part.strip() for part in parts[count + 1:]):
        raise VerticalsError(f"Apertium ({what}) returned {len(parts) - 1} texts for {count}; the output is misaligned")
    return parts[:count]


class ApertiumEngine:
    """Translate texts with one Apertium mode: one stream for all of them, each text isolated (thread-safe).

    >>> ApertiumEngine("eng-spa").translate(["Hello."])  # doctest: +SKIP
    ['Hola.']
    """

    def __init__(self, mode: str, workers: int | None = None):
        self.mode = mode
        self.workers = workers

    def _workers(self) -> int:
        if self.workers:
            return self.workers
        configured = os.environ.get("VERTICALS_APERTIUM_WORKERS")
        return int(configured) if configured else min(8, 2 * (os.cpu_count() or 1))

    @property
    def streams(self) -> bool:
        """Whether this mode runs as one stream (else: one process per text)."""
        return _stream_plan(self.mode) is not None

    def translate(self, texts: list[str]) -> list[str]:
        """Translations of `texts`, in order; each text is translated as if it were alone. A text of k lines comes
        back as k lines (each line is its own unit). Text is read in Unicode NFC: Apertium's dictionaries hold composed
        letters, and a decomposed 'está' (from a PDF, a Mac file name) was analysed as 'esta' + a stray accent; and
        without the invisible format characters inside words that spell nothing, nor the layout marks outside them
        (`nlp._invisible`): a zero-width space in 'beau\u200btiful' (web text) split it in two words, and one after
        'ready?' cost the next question its '¿'."""
        for text in texts:
            if len(text) > MAX_CHARACTERS:
                raise InputError(f"a text has {len(text):,} characters, over the {MAX_CHARACTERS:,} limit; split it")
        lines = [[unicodedata.normalize("NFC", without_invisible(line, everywhere=True)).strip()
                  for line in text.rstrip("\n").split("\n")] for text in texts]
        distinct = sorted({line for group in lines for line in group if line})  # each distinct line once
        if distinct:
            require_apertium()
        units = [line for line in distinct if not _MARKUP.search(line)]
        marked = [line for line in distinct if _MARKUP.search(line)]
        plan = _stream_plan(self.mode)
        try:
            outputs = self._stream(units, plan) if plan and units else self._one_by_one(units)
        except _UnreadableTaggerOutput as error:
            logging.getLogger(__name__).warning("Apertium tagger output not understood (%s); one process per text", error)
            outputs = self._one_by_one(units)
        translated = dict(zip(units, outputs)) | dict(zip(marked, self._one_by_one(marked, "html")))
        target = self.mode.split("-")[1]
        return ["\n".join(_clean(translated[line], target, line) if line else "" for line in group) for group in lines]

    # -- one stream ---------------------------------------------------------------------------------------------
    def _stream(self, units: list[str], plan: tuple[str, list[str] | None, str]) -> list[str]:
        before, tagger, after = plan
        formatted = self._deformat(units)
        analysed = _segments(_run(before, "\0".join(formatted) + "\0", self.mode), len(units), self.mode)
        tagged = self._tag(analysed, tagger) if tagger else analysed
        generated = _segments(_run(after, "\0".join(tagged) + "\0", self.mode), len(units), self.mode)
        return self._reformat(generated)

    @staticmethod
    def _deformat(units: list[str]) -> list[str]:
        """What `apertium-destxt` makes of each unit alone (escapes, blanks, the final ".[]"), from one run on all."""
        stream = _run([shutil.which("apertium-destxt") or "apertium-destxt"], "\n".join(units), "apertium-destxt")
        pieces = stream.split("[\n]")
        if len(pieces) != len(units) or not pieces[-1].endswith(".[]"):
            raise VerticalsError("apertium-destxt returned misaligned text")
        return [piece if index == len(units) - 1 else piece + ".[]" for index, piece in enumerate(pieces)]

    @staticmethod
    def _reformat(generated: list[str]) -> list[str]:
        if any("\n" in piece or "[\n]" in piece for piece in generated):
            raise VerticalsError("Apertium returned a line break inside a text; the output is misaligned")
        stream = _run([shutil.which("apertium-retxt") or "apertium-retxt"], "".join(piece + "[\n]" for piece in generated), "apertium-retxt")
        lines = stream.split("\n")
        if len(lines) != len(generated) + 1 or lines[-1].strip():
            raise VerticalsError("apertium-retxt returned misaligned text")
        return lines[:-1]

    def _tagger_pass(self, tagger: list[str], segments: list[str]) -> tuple[list[str], list[bool]]:
        """Tag `segments` in one fresh tagger; (tagged, whether each one changed the tagger's state)."""
        merged = _segments(_run(tagger, "\0".join(segments) + "\0", self.mode + " tagger", merge_stderr=True),
                           len(segments), self.mode + " tagger")
        changed = [bool(_NEW_CLASS.search(part)) for part in merged]
        cleaned = [_STATELESS_MESSAGES.sub("", _NEW_CLASS.sub("", part)) for part in merged]
        if any("\n" in part for part in cleaned):  # a message we cannot attribute (a text holds no line break)
            raise _UnreadableTaggerOutput(next(part for part in cleaned if "\n" in part)[:200])
        return cleaned, changed

    def _tag(self, segments: list[str], tagger: list[str]) -> list[str]:
        """Every segment tagged by a tagger in its start-up state: one pass over all; the segments after the first
        one that changed the tagger are tagged again, those that change it each in a fresh tagger, the others
        together in one (they leave it as it was)."""
        tagged, changed = self._tagger_pass(tagger, segments)
        first = next((index for index, flag in enumerate(changed) if flag), None)
        if first is None or first == len(segments) - 1:
            return tagged
        calm = [i for i in range(first + 1, len(segments)) if not changed[i]]
        jobs = ([calm] if calm else []) + [[i] for i in range(first + 1, len(segments)) if changed[i]]

        def run(job: list[int]) -> tuple[list[int], list[str]]:
            again, flags = self._tagger_pass(tagger, [segments[i] for i in job])
            if flags != [changed[i] for i in job]:  # the warning was attributed to the wrong text
                raise VerticalsError(f"Apertium ({self.mode} tagger): its warnings could not be matched to texts")
            return job, again

        with ThreadPoolExecutor(max_workers=min(self._workers(), len(jobs))) as pool:
            for job, again in pool.map(run, jobs):
                for index, text in zip(job, again):
                    tagged[index] = text
        return tagged

    # -- one process per text (modes with other programs) --------------------------------------------------------
    def _one_by_one(self, units: list[str], text_format: str = "txt") -> list[str]:
        """Each unit in its own `apertium` process, deformatted as `text_format` (txt, or html to keep markup)."""
        if not units:
            return []

        def one(text: str) -> str:
            output = _run([require_apertium(), "-f", text_format, "-u", self.mode], text, self.mode).rstrip("\n")
            if "\n" in output:
                raise VerticalsError(f"Apertium ({self.mode}) returned several lines for one; the output is misaligned")
            return output

        with ThreadPoolExecutor(max_workers=max(1, min(self._workers(), len(units)))) as pool:
            return list(pool.map(one, units))
