"""An Apertium card's `usage` reads a line as predict does before Apertium sees it: in Unicode NFC and without the
invisible format characters predict reads past (nlp._invisible). The snippet left both out, so a decomposed 'café'
came out 'cafeteríá' and 'Tom\\u200bis here.' kept its zero-width space (tester B, finding 4)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from nlp import _apertium
from nlp._invisible import without_invisible
from nlp.translation import Translator, _usage

HAS_APERTIUM = shutil.which("apertium") is not None and ("eng", "spa") in _apertium.installed_pairs()
needs_apertium = pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-eng-spa not installed")

NFD = [unicodedata.normalize("NFD", text) for text in
       ("I ate a jalapeño at the café. Was it good?", "Do you want a café or a naïve tea?", "Él está aquí.")]
INVISIBLE = ["Tom\u200bis here.", "The house is beau\u00adti\u2060ful.", "Is it ready?\u200b Is it good?",
             "\ufeffCome here!", "Kitchen\u200dware is here.", "e.g. \u200bthis"]


def _snippet(usage: str, folder: Path, text: str) -> str:
    namespace = {"folder": folder, "text": text}
    exec(usage, namespace)  # noqa: S102 - our own card's snippet, as a user would paste it
    return namespace["prediction"]["translation"]


def test_the_snippet_hands_apertium_what_predicts_engine_hands_it(tmp_path, monkeypatch):
    """With an Apertium that echoes its input, the snippet's output is predict's for NFD and invisible characters."""
    usage = _usage("apertium")
    assert "NFC" in usage and "zero-width space" in usage
    folder = tmp_path / "apertium"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"apertium_mode": "eng-spa"}), encoding="utf-8")
    seen = []

    def echo(arguments, input, **_):  # noqa: A002 - subprocess.run's own name
        seen.append(input)
        return subprocess.CompletedProcess(arguments, 0, stdout=input + "\n", stderr="")

    texts = NFD + INVISIBLE
    monkeypatch.setattr(subprocess, "run", echo)
    snippet = [_snippet(usage, folder, text) for text in texts]
    monkeypatch.undo()
    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)
    monkeypatch.setattr(_apertium, "require_apertium", lambda: "apertium")
    monkeypatch.setattr(_apertium, "_run", lambda arguments, data, what, merge_stderr=False: data + "\n")
    assert snippet == _apertium.ApertiumEngine("eng-spa").translate(texts)
    assert all(unicodedata.is_normalized("NFC", line) for line in seen)
    assert "Tomis here." in seen and "The house is beautiful." in seen


def test_the_snippets_reading_equals_the_products_on_mixed_scripts():
    """The snippet's own `without_invisible` equals nlp._invisible's (everywhere=True) on random strings mixing
    letters of scripts written with and without spaces, marks, digits, emoji and every format character."""
    usage = _usage("apertium")
    namespace = {"unicodedata": unicodedata}
    exec(usage[usage.index("def script"):usage.index("def translate_line")], namespace)  # noqa: S102
    alphabet = ["a", "Z", "1", "é", "\u0301", " ", ".", "\u0e01", "\u4e00", "\u3042", "\u0628", "\u0915", "Я", "😀",
                "\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e"]
    rng = random.Random(0)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert namespace["without_invisible"](text) == without_invisible(text, everywhere=True), ascii(text)


@needs_apertium
def test_the_saved_cards_usage_gives_predicts_translations_for_decomposed_accents_and_invisible_characters(tmp_path):
    """The tester's lines: the NFD 'café' gave 'cafeteríá' from the snippet and 'cafetería' from predict."""
    model = Translator.load()
    folder = model.save(tmp_path / "apertium")
    usage = json.loads((folder / "card.json").read_text(encoding="utf-8"))["usage"]
    texts = NFD + INVISIBLE
    predicted = [record["translation"] for record in model.predict(texts)]
    assert [_snippet(usage, folder, text) for text in texts] == predicted
    assert "cafetería" in predicted[0] and "\u0301" not in predicted[0]
