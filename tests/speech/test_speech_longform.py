"""The recogniser's language codes (region subtags, ISO 639-3) and `--target en` on the English-only model (no model
needed)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from speech.recognition import SpeechRecognizer, language_code


# -- language codes, --target en, empty transcripts (no model needed) ------------------------------------------------
@pytest.mark.parametrize("value, code", [("en-US", "en"), ("pt-BR", "pt"), ("pt_BR", "pt"), ("es-ES", "es"),
                                         ("spa", "es"), ("eng", "en"), ("ENG", "en"), ("Spanish", "es"),
                                         ("deu", "de"), ("ger", "de"), ("zh-Hant", "zh"), ("haw", "haw"),
                                         ("yue", "yue"), ("jv", "jw"), ("jav", "jw"), ("heb", "he")])
def test_region_subtags_and_iso_639_3_codes_are_whisper_codes(value, code):
    assert language_code(value) == code


@pytest.mark.parametrize("value", ["xx", "Klingon", "xx-US", "qqq"])
def test_unknown_languages_are_still_refused(value):
    with pytest.raises(InputError, match="unknown language"):
        language_code(value)


class _EnglishOnly:
    kind, chunk_seconds, trainable, ready, languages = "faster-whisper", 300.0, False, True, ("en",)

    def __init__(self, outputs=None):
        self.outputs = outputs

    def transcribe(self, waves, batch_size, **options):
        return [dict(self.outputs or {"text": "hello", "words": [], "language": "en", "speech_detected": True})
                for _ in waves]


def test_target_en_on_an_english_only_model_is_a_no_op():
    model = SpeechRecognizer(_EnglishOnly(), "whisper-tiny.en")
    assert model._decoding(None, "en") == (None, "transcribe", None)
    assert model._decoding("en-US", "eng") == ("en", "transcribe", None)
    record = model.predict(np.zeros(16_000, np.float32) + 0.1, target="en")[0]
    assert record["text"] == "hello" and record["text_language"] == "en" and "translated_by" not in record
    with pytest.raises(InputError, match="English-only"):
        model._decoding(None, "es")

