"""Apertium rule-based MT through its command line: installed pairs, and translation of each text in its own process.

Apertium keeps transfer state across one input stream, so an earlier sentence can change a later one;
every text therefore runs in a fresh `apertium` process (a thread pool runs several at once).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.errors import InputError, MissingDependencyError, VerticalsError

__all__ = ["ApertiumEngine", "installed_pairs", "require_apertium", "mode_for", "MAX_CHARACTERS"]

MAX_CHARACTERS = 20_000  # per text; longer texts are refused (one process per text, bounded run time)
TIMEOUT_SECONDS = 120
DEBIAN_HINT = "install the Debian packages: sudo apt-get install apertium apertium-eng-spa (apt-cache search apertium lists other pairs)"


def _data_dir() -> Path:
    return Path(os.environ.get("APERTIUM_DATADIR", "/usr/share/apertium"))


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
    modes = _data_dir() / "modes"
    if shutil.which("apertium") is None or not modes.is_dir():
        return []
    pairs = []
    for file in sorted(modes.glob("*.mode")):
        match = re.fullmatch(r"([a-z]{2,3})-([a-z]{2,3})", file.stem)
        if match:
            pairs.append((match.group(1), match.group(2)))
    return pairs


def mode_for(source3: str, target3: str) -> str:
    """The Apertium mode name for a pair of ISO 639-3 codes, or `InputError` listing the installed ones."""
    require_apertium()
    pairs = installed_pairs()
    if (source3, target3) not in pairs:
        shown = ", ".join(f"{s}->{t}" for s, t in pairs) or "none"
        raise InputError(
            f"Apertium has no {source3}->{target3} pair installed (installed: {shown}). Install the Debian package "
            f"apertium-{source3}-{target3} or apertium-{target3}-{source3} if it exists (apt-cache search apertium), "
            "choose an installed pair, or use a seq2seq model trained for this pair (verticals train nlp.translation)")
    return f"{source3}-{target3}"


def _clean(text: str, target3: str, source: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    # Apertium drops Spanish opening marks; restore them for a single question/exclamation.
    if target3 == "spa" and text and not re.search(r"[.!?]\s", text):
        for closing, opening in (("?", "¿"), ("!", "¡")):
            if text.endswith(closing) and opening not in text and source.rstrip().endswith(closing):
                text = opening + text
    return text


class ApertiumEngine:
    """Translate texts with one Apertium mode, each text in its own process (thread-safe, no shared state).

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

    def _translate_one(self, text: str) -> str:
        if not text.strip():
            return ""
        environment = {**os.environ, "LC_ALL": "C.UTF-8"}  # lttoolbox needs a UTF-8 locale
        try:
            completed = subprocess.run(
                [require_apertium(), "-u", self.mode], input=text.encode("utf-8"), capture_output=True,
                timeout=TIMEOUT_SECONDS, env=environment, check=False)
        except subprocess.TimeoutExpired as error:
            raise VerticalsError(f"Apertium took over {TIMEOUT_SECONDS} s on one text; split it into sentences") from error
        if completed.returncode != 0:
            message = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise VerticalsError(f"Apertium ({self.mode}) failed: {message[0]}")
        output = completed.stdout.decode("utf-8", "replace").rstrip("\n")
        # Line alignment: the txt format keeps line breaks, so a text of k lines comes back as k lines.
        if output.count("\n") != text.rstrip("\n").count("\n"):
            raise VerticalsError(f"Apertium ({self.mode}) returned {output.count(chr(10)) + 1} lines for "
                                 f"{text.rstrip(chr(10)).count(chr(10)) + 1}; the output is misaligned")
        return "\n".join(_clean(line, self.mode.split("-")[1], source)
                         for line, source in zip(output.split("\n"), text.rstrip("\n").split("\n")))

    def translate(self, texts: list[str]) -> list[str]:
        """Translations of `texts`, in order; each text runs in isolation."""
        for text in texts:
            if len(text) > MAX_CHARACTERS:
                raise InputError(f"a text has {len(text):,} characters, over the {MAX_CHARACTERS:,} limit; split it")
        if len(texts) <= 1:
            return [self._translate_one(text) for text in texts]
        with ThreadPoolExecutor(max_workers=min(self._workers(), len(texts))) as pool:
            return list(pool.map(self._translate_one, texts))
