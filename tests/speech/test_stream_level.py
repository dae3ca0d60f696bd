"""speech.audio.stream_audio / streamed recognition: the level (peak, clipping, above full scale) is measured on the
frames as read, before resampling, so a file's length (streamed or decoded whole) does not change its level report."""

from __future__ import annotations

import numpy as np
import pytest

from speech import recognition
from speech.audio import decode_audio, stream_audio
from speech.recognition import SpeechRecognizer
from tests.speech.helpers import write_wav


def _peaky(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Noise bursts normalised to peak exactly 1.0: soxr's upsampling overshoots full scale on them."""
    rng = np.random.default_rng(seed)
    wave = rng.standard_normal(int(seconds * rate)).astype(np.float32)
    wave[int(rate * seconds / 2):] *= 0.01
    return wave / np.abs(wave).max()


class Fake:
    """A back-end that writes one word per window: only the record's warnings are under test."""

    kind, chunk_seconds, trainable, ready, languages = "fake", 30.0, False, True, ("en",)

    def transcribe(self, waves, batch_size, **options):
        return [{"text": "word", "words": [{"word": "word", "start_s": 0.0, "end_s": 0.1, "confidence": 0.9}],
                 "language": "en", "language_probability": None} for _ in waves]

    def card_fields(self):
        return {}


def test_stream_reports_the_level_of_the_frames_as_read(tmp_path):
    path = write_wav(tmp_path / "float.wav", _peaky(70.0, 11_025), rate=11_025, subtype="FLOAT")
    report: dict = {}
    peak_heard = max(float(np.abs(block).max()) for block in stream_audio(path, report=report))
    assert peak_heard > 1.0  # the resampled blocks overshoot: measuring them would report a level the file lacks
    whole: dict = {}
    decode_audio(str(path), report=whole)
    assert report["level"] == whole["level"]
    assert report["level"]["above_full_scale"] is False and report["level"]["peak_dbfs"] == 0.0


def test_clipped_integer_plateaus_are_counted_as_read(tmp_path):
    wave = np.clip(3 * _peaky(40.0, 44_100, seed=1), -1.0, 1.0)  # clipped plateaus that downsampling smooths
    path = write_wav(tmp_path / "clipped.wav", wave, rate=44_100, subtype="PCM_16")
    report: dict = {}
    for _ in stream_audio(path, report=report):
        pass
    whole: dict = {}
    decode_audio(str(path), report=whole)
    assert report["level"]["clipped_fraction"] == whole["level"]["clipped_fraction"] > 0.01


def test_a_streamed_file_warns_as_the_same_file_loaded_whole(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "float.wav", _peaky(70.0, 11_025), rate=11_025, subtype="FLOAT")
    model = SpeechRecognizer(Fake(), "fake")
    whole = model.predict([str(path)])[0]
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 10.0)
    streamed = model.predict([str(path)])[0]
    assert streamed["duration_s"] == whole["duration_s"] == pytest.approx(70.0)
    assert not any("above 0 dBFS" in w for w in streamed["warnings"]), streamed["warnings"]
    assert [w for w in streamed["warnings"] if "dBFS" in w or "clip" in w] == \
        [w for w in whole["warnings"] if "dBFS" in w or "clip" in w]
    louder = write_wav(tmp_path / "louder.wav", 2 * _peaky(70.0, 11_025), rate=11_025, subtype="FLOAT")
    warnings = model.predict([str(louder)])[0]["warnings"]  # streamed too: a level truly past full scale is warned
    assert any("above 0 dBFS (float samples peak at +6.0 dBFS)" in w for w in warnings), warnings
