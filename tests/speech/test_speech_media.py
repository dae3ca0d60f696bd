"""speech: media edge cases from a media-format test (the end of a long recording, channels that cancel, unsigned
PCM arrays, float audio above full scale)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from speech.audio import SAMPLE_RATE_HZ

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech.recognition"
INFO = SimpleNamespace(language="en", language_probability=1.0)  # faster-whisper's TranscriptionInfo, as read


def _segment(start, end, words):
    """A faster-whisper Segment of (word, start, end) triples."""
    from faster_whisper.transcribe import Segment, Word

    return Segment(id=0, seek=0, start=start, end=end, text="".join(w for w, _, _ in words), tokens=[], avg_logprob=-0.2,
                   compression_ratio=1.2, no_speech_prob=0.01, temperature=0.0,
                   words=[Word(start=s, end=e, word=w, probability=0.9) for w, s, e in words])


class _CutShort:
    """Stands in for faster-whisper's WhisperModel: the whole 10 s recording comes back without its last words ("...
    of the", "of" stretched to the end of the audio, as in faster-whisper 1.2.1's word-timestamp path on a 300 s file);
    the last segment's audio decoded on its own comes back whole."""

    def __init__(self):
        self.calls = []

    def transcribe(self, audio, **options):
        self.calls.append((len(audio) / SAMPLE_RATE_HZ, options))
        if len(audio) == 10 * SAMPLE_RATE_HZ:
            return iter([_segment(0.0, 4.0, [(" It", 0.1, 0.3), (" began.", 0.3, 0.9)]),
                         _segment(4.0, 9.98, [(" The", 4.1, 4.3), (" predecessors", 4.3, 5.0), (" of", 5.0, 9.98),
                                              (" the", 9.98, 9.98)])]), INFO
        return iter([_segment(0.0, 5.5, [(" The", 0.1, 0.3), (" predecessors", 0.3, 1.0), (" of", 1.0, 1.2),
                                         (" the", 1.2, 1.3), (" true", 1.3, 1.6), (" printed", 1.6, 2.0),
                                         (" book.", 2.0, 2.5)])]), INFO


def _backend(model, monkeypatch):
    import speech._backends as backends

    monkeypatch.setattr(backends, "has_speech", lambda wave: True)
    backend = backends.FasterWhisperBackend.__new__(backends.FasterWhisperBackend)
    backend.model, backend.multilingual, backend.language, backend.beam_size = model, False, "en", 5
    backend.lock = threading.Lock()
    return backend


def test_a_recording_whose_word_timing_ran_to_its_end_gets_its_last_words_back(monkeypatch):
    model = _CutShort()
    record = _backend(model, monkeypatch).transcribe([np.full(10 * SAMPLE_RATE_HZ, 0.1, np.float32)], 1)[0]
    assert record["text"] == "It began. The predecessors of the true printed book."
    assert [w["word"] for w in record["words"]][-3:] == ["true", "printed", "book."]
    ends = [(w["start_s"], w["end_s"]) for w in record["words"]]
    assert ends[4] == (5.0, 5.2), "the stretched 'of' gets the timing of the decode on its own"
    assert all(a[0] <= b[0] and a[0] <= a[1] for a, b in zip(ends, ends[1:])) and ends[-1][1] <= 10.0
    assert model.calls[1][0] == 6.0 and model.calls[1][1] == model.calls[0][1], "the last segment, same options"


def test_a_recording_whose_last_word_ends_before_its_end_is_decoded_once(monkeypatch):
    class Whole(_CutShort):
        def transcribe(self, audio, **options):
            self.calls.append(len(audio))
            return iter([_segment(0.0, 4.0, [(" It", 0.1, 0.3), (" began.", 0.3, 0.9)]),
                         _segment(4.0, 8.0, [(" The", 4.1, 4.3), (" end.", 4.3, 5.0)])]), INFO

    model = Whole()
    record = _backend(model, monkeypatch).transcribe([np.full(10 * SAMPLE_RATE_HZ, 0.1, np.float32)], 1)[0]
    assert record["text"] == "It began. The end." and len(model.calls) == 1


def test_the_tail_decoded_again_replaces_nothing_when_it_adds_no_words(monkeypatch):
    class Same(_CutShort):
        def transcribe(self, audio, **options):
            self.calls.append(len(audio))
            if len(audio) == 10 * SAMPLE_RATE_HZ:
                return iter([_segment(0.0, 4.0, [(" It", 0.1, 0.3)]),
                             _segment(4.0, 10.0, [(" cut", 4.1, 4.3), (" off", 4.3, 10.0)])]), INFO
            return iter([_segment(0.0, 6.0, [(" cut", 0.1, 0.3), (" of", 0.3, 6.0)])]), INFO

    model = Same()
    record = _backend(model, monkeypatch).transcribe([np.full(10 * SAMPLE_RATE_HZ, 0.1, np.float32)], 1)[0]
    assert record["text"] == "It cut off" and len(model.calls) == 2


@pytest.mark.slow
def test_a_five_minute_recording_keeps_its_last_words(tmp_path):
    """The tester's file: the LJSpeech subset's clips joined with 0.5 s gaps until 300 s; the last clip's "true printed
    book" used to be lost with the packaged tiny.en (faster-whisper's word-timestamp path)."""
    import soundfile as sf

    import core

    folder = SHARED / "LJSpeech_subset"
    if not folder.is_dir():
        pytest.skip("shared LJSpeech subset not present")
    rows = [line.strip().split("|") for line in (folder / "metadata.csv").read_text().splitlines() if line.strip()]
    parts, seconds, rate, texts = [], 0.0, 22_050, []
    while seconds < 300:
        for row in rows:
            clip = folder / "wavs" / f"{row[0]}.wav"
            if not clip.is_file():
                continue
            samples, rate = sf.read(clip, dtype="float32")
            parts += [samples, np.zeros(int(0.5 * rate), np.float32)]
            texts.append(row[2])
            seconds += len(samples) / rate + 0.5
            if seconds >= 300:
                break
    path = tmp_path / "long.wav"
    sf.write(path, np.concatenate(parts), rate)
    record = core.load("speech.recognition").predict([str(path)])[0]
    last = re.findall(r"[a-z']+", texts[-1].lower())[-3:]  # "...the true printed book,"
    assert re.findall(r"[a-z']+", record["text"].lower())[-3:] == last
    assert record["words"][-1]["end_s"] < 300.0 - 0.1
