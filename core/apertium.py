"""A minimal Apertium runner for domains that need text translation as one step of their own output (speech's
`--target`): which pair is installed for two Whisper / ISO 639-1 codes, and each text through its own `apertium`
process (so no text can change another's translation). nlp.translation keeps its own, faster, streamed engine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from core.errors import InputError, VerticalsError

__all__ = ["apertium_mode", "apertium_translate", "data_dir", "ISO_639_3"]

TIMEOUT_SECONDS = 120
MAX_CHARACTERS = 20_000
# ISO 639-1 (Whisper's codes) -> the ISO 639-3 codes Apertium names its pairs with (languages with Debian pairs).
ISO_639_3 = {"en": "eng", "es": "spa", "ca": "cat", "gl": "glg", "eu": "eus", "eo": "epo", "is": "isl", "mk": "mkd",
             "hr": "hbs", "sr": "hbs", "bs": "hbs", "fr": "fra", "pt": "por", "it": "ita", "oc": "oci", "ro": "ron",
             "da": "dan", "sv": "swe", "nb": "nob", "nn": "nno", "cy": "cym", "br": "bre", "af": "afr", "nl": "nld",
             "kk": "kaz", "tt": "tat", "be": "bel", "ru": "rus", "uk": "ukr", "mt": "mlt", "ar": "ara"}


def data_dir() -> Path:
    """Apertium's data folder (its `modes/` name the installed pairs): APERTIUM_DATADIR, else Debian's."""
    return Path(os.environ.get("APERTIUM_DATADIR", "/usr/share/apertium"))


def apertium_mode(source: str, target: str) -> str | None:
    """The installed Apertium mode (`spa-eng`) translating ISO 639-1 `source` into `target`, or None.

    >>> apertium_mode("es", "xx") is None
    True
    """
    source3, target3 = ISO_639_3.get(source), ISO_639_3.get(target)
    if not source3 or not target3 or shutil.which("apertium") is None:
        return None
    mode = f"{source3}-{target3}"
    return mode if (data_dir() / "modes" / f"{mode}.mode").is_file() else None


def apertium_translate(texts: list[str], mode: str) -> list[str]:
    """Each text translated by its own `apertium -u MODE` process (unknown words kept, unmarked), in order.

    >>> apertium_translate([], "spa-eng")
    []
    >>> apertium_translate(["Hola."], "spa-eng")  # doctest: +SKIP
    ['Hello.']
    """
    if not texts:
        return []
    program = shutil.which("apertium")
    if program is None:
        raise InputError("Apertium is not installed: sudo apt-get install apertium apertium-eng-spa")
    outputs = []
    for text in texts:
        if len(text) > MAX_CHARACTERS:
            raise InputError(f"a text has {len(text):,} characters, over the {MAX_CHARACTERS:,} limit of Apertium here")
        if not text.strip():
            outputs.append("")
            continue
        line = " ".join(text.split())  # one line in, one line out
        try:
            done = subprocess.run([program, "-u", mode], input=line.encode("utf-8"), capture_output=True,
                                  timeout=TIMEOUT_SECONDS, env={**os.environ, "LC_ALL": "C.UTF-8"}, check=False)
        except subprocess.TimeoutExpired as error:
            raise VerticalsError(f"Apertium ({mode}) took over {TIMEOUT_SECONDS} s on one text") from error
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise VerticalsError(f"Apertium ({mode}) failed: {message[0]}")
        outputs.append(re.sub(r"\s+", " ", done.stdout.decode("utf-8", "replace")).strip())
    return outputs
