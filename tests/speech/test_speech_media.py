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


# -- a fake recogniser for the audio checks: its "text" is the RMS level (dBFS) of what it was given --------------
class _Level:
    kind = "fake"
    chunk_seconds = 30.0
    trainable = False
    ready = True

    def transcribe(self, waves, batch_size, **options):
        return [{"text": f"{20 * np.log10(max(float(np.sqrt(np.mean(np.square(w)))), 1e-10)):.0f} dB", "words": []}
                for w in waves]

    def card_fields(self):
        return {}


@pytest.fixture
def levels():
    from speech.recognition import SpeechRecognizer

    return SpeechRecognizer(_Level(), "fake")


def _speech(seconds=1.5, rate=16_000):
    from tests.speech.helpers import tone

    return tone(seconds, rate)


def test_channels_that_cancel_when_mixed_use_the_loudest_one_and_say_so(levels, tmp_path, monkeypatch):
    """A balanced lead wired with one side inverted: left = speech, right = -speech. The mix was silence, so the
    record was an empty transcript and a 'silent' warning, with each channel at full level."""
    import soundfile as sf

    from speech import recognition
    from speech.audio import load_audio

    speech = _speech()
    path = tmp_path / "antiphase.wav"
    sf.write(path, np.stack([speech, -speech * 0.9], axis=1), 16_000, subtype="FLOAT")
    assert np.allclose(load_audio(path), speech, atol=1e-6), "the loudest channel, as it is"
    for record in (levels.predict([str(path)])[0], levels.predict([(np.stack([speech, -speech], axis=1), 16_000)])[0]):
        assert record["text"] == "-13 dB"
        assert not any("silent" in w for w in record["warnings"])
        assert any("channels cancel" in w and "channel 1" in w for w in record["warnings"])
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 0.5)  # a long file, streamed block by block: the same
    streamed = levels.predict([str(path)])[0]
    assert streamed["text"] == "-13 dB" and any("channels cancel" in w for w in streamed["warnings"])
    assert not any("silent" in w for w in streamed["warnings"])


def test_channels_that_do_not_cancel_are_still_averaged_without_a_warning(levels):
    from speech.audio import load_audio
    from tests.speech.helpers import tone

    speech = _speech()
    for right in (speech, np.zeros_like(speech), tone(1.5, 16_000, 300.0, seed=1)):  # same, one silent, different
        record = levels.predict([(np.stack([speech, right], axis=1), 16_000)])[0]
        assert not any("channels cancel" in w for w in record["warnings"])

    assert np.allclose(load_audio((np.stack([speech, np.zeros_like(speech)], axis=1), 16_000)), speech / 2)


def test_unsigned_8_bit_pcm_arrays_are_centred_as_soundfile_reads_them(levels, tmp_path):
    """uint8 silence (128) decoded to +0.5, a DC offset that hid the silence (no warning, RMS -6 dBFS)."""
    import soundfile as sf

    from speech.audio import load_audio

    silence = np.full(32_000, 128, np.uint8)
    assert float(np.abs(load_audio((silence, 16_000))).max()) == 0.0
    assert any("silent" in w for w in levels.predict([(silence, 16_000)])[0]["warnings"])
    speech = np.clip(np.round(_speech() * 127 + 128), 0, 255).astype(np.uint8)
    sf.write(tmp_path / "u8.wav", (speech.astype(np.float32) - 128) / 128, 16_000, subtype="PCM_U8")
    assert np.allclose(load_audio((speech, 16_000)), load_audio(tmp_path / "u8.wav"), atol=1e-6)
    assert np.allclose(load_audio((np.array([0, 128, 255], np.uint8), 16_000)), [-1.0, 0.0, 127 / 128])


def test_float_audio_above_full_scale_is_not_called_clipped(levels, tmp_path, monkeypatch):
    """A 32-bit float WAV with peaks at +12 dBFS and nothing clipped was reported '..% of samples are clipped'."""
    import soundfile as sf

    from speech import recognition

    path = tmp_path / "loud.wav"
    sf.write(path, _speech() * 8, 16_000, subtype="FLOAT")
    for record in (levels.predict([str(path)])[0], levels.predict([(_speech() * 8, 16_000)])[0]):
        assert not any("of samples are clipped" in w for w in record["warnings"]), record["warnings"]
        assert any(w.startswith("the level is above 0 dBFS (float samples peak at +") for w in record["warnings"])
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 0.5)
    streamed = levels.predict([str(path)])[0]["warnings"]
    assert not any("of samples are clipped" in w for w in streamed) and any("above 0 dBFS" in w for w in streamed)


def test_integer_and_float_audio_at_full_scale_is_still_called_clipped(levels, tmp_path):
    """Clipping is counted at the input's own rate: a clipped 44.1 kHz 16-bit file rings past 1.0 once resampled."""
    import soundfile as sf

    loud = np.clip(_speech(1.5, 44_100) * 8, -1, 1)
    for subtype in ("PCM_16", "FLOAT"):
        sf.write(tmp_path / f"{subtype}.wav", loud, 44_100, subtype=subtype)
        warnings = levels.predict([str(tmp_path / f"{subtype}.wav")])[0]["warnings"]
        assert any("of samples are clipped" in w for w in warnings) and not any("above 0 dBFS" in w for w in warnings)
    pcm = np.round(loud * 32767).astype(np.int16)
    assert any("of samples are clipped" in w for w in levels.predict([(pcm, 44_100)])[0]["warnings"])


def test_a_word_after_a_long_silence_starts_where_its_sound_does(monkeypatch):
    """10 s of digital silence, then speech at 10.01 s: Whisper's alignment started "In" at 9.18 s."""

    class Late(_CutShort):
        def transcribe(self, audio, **options):
            return iter([_segment(0.0, 11.0, [(" In", 9.18, 10.22), (" being", 10.22, 10.56)])]), INFO

    wave = np.r_[np.zeros(10 * SAMPLE_RATE_HZ, np.float32), _speech(1.0)]
    words = _backend(Late(), monkeypatch).transcribe([wave], 1)[0]["words"]
    assert [(w["word"], w["start_s"], w["end_s"]) for w in words] == [("In", 10.0, 10.22), ("being", 10.22, 10.56)]


def test_a_word_whose_span_is_all_sound_or_all_silence_keeps_its_start(monkeypatch):
    class Steady(_CutShort):
        def transcribe(self, audio, **options):
            return iter([_segment(0.0, 3.0, [(" hum", 0.5, 1.0), (" hush", 2.2, 2.5)])]), INFO

    wave = np.r_[_speech(2.0), np.zeros(SAMPLE_RATE_HZ, np.float32)]  # sound to 2 s, then silence
    words = _backend(Steady(), monkeypatch).transcribe([wave], 1)[0]["words"]
    assert [(w["start_s"], w["end_s"]) for w in words] == [(0.5, 1.0), (2.2, 2.5)]
