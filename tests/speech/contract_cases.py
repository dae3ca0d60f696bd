"""The speech task's case for the shared contract test: a tiny random-init Wav2Vec2 CTC model."""

from __future__ import annotations

from tests.common import ContractCase
from tests.speech.helpers import tiny_wav2vec2, tone, write_manifest, write_wav


def _recognition(tmp_path):
    from speech.recognition import SpeechRecognizer

    network, processor = tiny_wav2vec2(tmp_path)
    model = SpeechRecognizer.from_transformers(network, processor, name="tiny-wav2vec2", device="cpu")
    manifest = write_manifest(tmp_path / "data", ["hello world", "yes", "no", "up down", "left", "right"])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 20)
    inputs = [str(write_wav(tmp_path / "a.wav", tone(0.5))), str(write_wav(tmp_path / "b.wav", tone(0.8, frequency=300.0)))]
    config = SpeechRecognizer.Config(max_steps=1, batch_size=4, lr=1e-4, validation_fraction=0.0)
    return ContractCase(model=model, predict_inputs=inputs, fit_data=manifest, fit_config=config, eval_data=manifest,
                        bad_inputs=[str(empty), str(garbage), tone(0.0)], bad_fit_data=[tmp_path / "missing.csv", garbage])


CASES = {"speech.recognition": _recognition}
