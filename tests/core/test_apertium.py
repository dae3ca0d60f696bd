"""core.apertium: the installed pair for two ISO 639-1 codes and one process per text (needs Debian's apertium-eng-spa;
skipped without it)."""

from __future__ import annotations

import shutil

import pytest

from core.apertium import apertium_mode, apertium_translate

needs_pair = pytest.mark.skipif(shutil.which("apertium") is None or apertium_mode("es", "en") is None,
                                reason="apertium with the eng-spa pair is not installed")


def test_unknown_or_missing_pairs_are_none(monkeypatch, tmp_path):
    assert apertium_mode("es", "zz") is None and apertium_mode("zz", "en") is None
    monkeypatch.setenv("APERTIUM_DATADIR", str(tmp_path))  # no modes folder: nothing installed
    assert apertium_mode("es", "en") is None


@needs_pair
def test_each_text_is_translated_on_its_own():
    assert apertium_mode("es", "en") == "spa-eng" and apertium_mode("en", "es") == "eng-spa"
    texts = ["El niño lee un libro en la escuela.", "", "Mi padre conduce el coche\nal trabajo."]
    english = apertium_translate(texts, "spa-eng")
    assert len(english) == 3 and english[1] == ""
    assert "book" in english[0].lower() and "school" in english[0].lower()
    assert "father" in english[2].lower() and "\n" not in english[2]  # one line in, one line out
    assert apertium_translate(texts[:1], "spa-eng") == english[:1]  # batch neighbours change nothing
