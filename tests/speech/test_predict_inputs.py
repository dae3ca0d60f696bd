"""What predict() takes as its inputs (one recording, a list, a table's audio column) and batch_size, on a fake
back-end; and the module-level load() of DESIGN's analysis-code pattern."""

from __future__ import annotations

import pytest

from core.errors import InputError
from speech import recognition
from speech.recognition import SpeechRecognizer
from tests.speech.helpers import tone, write_wav


class FakeBackend:
    """Stands in for a recogniser: says how many seconds each window it was given lasts, and the batch sizes used."""

    kind, chunk_seconds, trainable, ready, languages = "fake", 30.0, False, True, None

    def __init__(self):
        self.batch_sizes = []

    def transcribe(self, waves, batch_size):
        self.batch_sizes.append(batch_size)
        return [{"text": f"{len(w) / 16_000:.1f} s", "words": []} for w in waves]

    def card_fields(self):
        return {}


@pytest.fixture
def model():
    return SpeechRecognizer(FakeBackend(), "fake")


@pytest.fixture
def clip(tmp_path):
    return write_wav(tmp_path / "clip.wav", tone(1.5))


def test_a_file_object_is_one_recording(model, clip):
    with open(clip, "rb") as handle:
        records = model.predict(handle)
    assert [r["text"] for r in records] == ["1.5 s"] and records[0]["duration_s"] == pytest.approx(1.5)
    with open(clip, "rb") as first, open(clip, "rb") as second:
        assert [r["text"] for r in model.predict([first, second])] == ["1.5 s", "1.5 s"]


def test_none_and_other_non_audio_say_what_is_accepted(model):
    for bad in (None, 5, 2.5):
        with pytest.raises(InputError, match="a path, bytes, a file object, a 16 kHz numpy array"):
            model.predict(bad)


def test_a_table_gives_its_audio_or_path_column(model, clip):
    import pandas as pd
    import polars as pl

    for table in (pd.DataFrame({"audio": [str(clip)], "speaker": ["a"]}), pl.DataFrame({"path": [str(clip)]}),
                  pl.DataFrame({"audio": [str(clip), str(clip)]}).lazy()):
        records = model.predict(table)
        assert [r["path"] for r in records] == [str(clip)] * len(records) and records[0]["text"] == "1.5 s"
    for table in (pd.DataFrame({"file": [str(clip)]}), pl.DataFrame({"recording": [str(clip)]})):
        with pytest.raises(InputError, match="no 'audio' column .* nor a 'path' column; it has: (file|recording)"):
            model.predict(table)


def test_batch_size_is_a_whole_number_of_at_least_one(model):
    clips = [tone(0.5), tone(0.6)]
    for bad in (2.5, "4", 0, -1, True):
        with pytest.raises(InputError, match=r"batch_size must be a whole number >= 1, got"):
            model.predict(clips, batch_size=bad)
    model.predict(clips, batch_size=3)
    model.predict(clips)
    assert model.backend_.batch_sizes == [3, SpeechRecognizer.default_batch_size]


def test_module_level_load_is_the_class_load(monkeypatch):
    calls = []
    monkeypatch.setattr(SpeechRecognizer, "load", classmethod(lambda cls, source=None, device="auto": calls.append((source, device))))
    recognition.load("whisper-base", device="cpu")
    recognition.load()
    assert calls == [("whisper-base", "cpu"), (None, "auto")] and "load" in recognition.__all__
