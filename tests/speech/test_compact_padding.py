"""speech._compact: padding is invisible to the compact Conformer-CTC; a clip's output does not depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from speech._backends import CompactBackend, _pad  # noqa: E402
from speech._compact import CompactCTC, build_vocabulary  # noqa: E402
from speech.recognition import SpeechRecognizer  # noqa: E402
from tests.speech.helpers import tone  # noqa: E402

ARCHITECTURE = dict(n_mels=32, d_model=32, num_layers=2, num_heads=2, ffn_dim=64, kernel_size=15, dropout=0.1,
                    freq_mask_width=4, time_mask_width=5, masks=2)
VOCABULARY = build_vocabulary(["abcdefghijklmnopqrstuvwxyz '"])


def _network(seed: int = 0) -> CompactCTC:
    torch.manual_seed(seed)
    return CompactCTC(len(VOCABULARY), **ARCHITECTURE).eval()


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    """Bursts of pitched noise with pauses: varied enough that a random-init network emits several characters."""
    wave = tone(seconds, frequency=180.0 + 40 * seed, seed=seed)
    envelope = (np.sin(np.linspace(0, 9 * np.pi, len(wave))) > 0).astype(np.float32)
    return wave * (0.2 + envelope)


def test_log_probs_of_a_clip_are_the_same_alone_and_beside_a_longer_one():
    network = _network()
    clip, longer = _speechlike(0.73, 1), _speechlike(2.4, 2)
    with torch.inference_mode():
        alone, lengths = network(*_pad([clip]))
        batched, batched_lengths = network(*_pad([clip, longer]))
    frames = int(lengths[0])
    assert int(batched_lengths[0]) == frames
    assert torch.allclose(alone[0, :frames], batched[0, :frames], atol=1e-4), \
        float((alone[0, :frames] - batched[0, :frames]).abs().max())


def test_features_of_a_clip_ignore_the_batch_padding():
    network = _network()
    clip, longer = _speechlike(0.61, 3), _speechlike(1.5, 4)
    with torch.inference_mode():
        alone = network.features(*_pad([clip]))
        batched = network.features(*_pad([clip, longer]))
    assert torch.allclose(alone[0], batched[0, :, : alone.shape[-1]], atol=1e-5)
    assert bool((batched[0, :, alone.shape[-1]:] == 0).all())


def test_predict_gives_the_same_transcript_alone_and_in_any_batch():
    backend = CompactBackend(_network(seed=2), VOCABULARY, ARCHITECTURE, device="cpu")
    model = SpeechRecognizer(backend, "compact-conformer-ctc")
    clips = [_speechlike(seconds, seed) for seed, seconds in enumerate((0.5, 0.9, 1.3, 2.2, 0.7, 3.0))]
    alone = [model.predict([clip])[0] for clip in clips]
    assert any(record["text"] for record in alone)  # the comparison below is about real output
    for batch_size in (2, 6):
        batched = model.predict(clips, batch_size=batch_size)
        assert [r["text"] for r in batched] == [r["text"] for r in alone]
        for got, want in zip(batched, alone):
            assert [w["confidence"] for w in got["words"]] == pytest.approx([w["confidence"] for w in want["words"]],
                                                                              abs=1e-3)
    beside = [model.predict([clip, clips[-1]], batch_size=2)[0]["text"] for clip in clips]
    assert beside == [r["text"] for r in alone]


def test_clips_shorter_than_half_an_fft_window_are_transcribed():
    network = _network()
    with torch.inference_mode():
        for samples in (1, 120, 200):
            short = np.full(samples, 0.1, dtype=np.float32)
            alone, lengths = network(*_pad([short]))
            batched, _ = network(*_pad([short, _speechlike(0.5, 5)]))
            assert int(lengths[0]) == 1 and bool(torch.isfinite(alone).all())
            assert torch.allclose(alone[0, :1], batched[0, :1], atol=1e-4)


def test_masked_network_still_trains():
    network = _network()
    backend = CompactBackend(network, VOCABULARY, ARCHITECTURE, device="cpu")
    network.train()  # the backend puts it in eval mode
    batch = backend.encode_batch([_speechlike(0.6, 1), _speechlike(1.4, 2)], ["ab", "bad cab"])
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        loss = backend.loss(network, batch)
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in network.parameters() if p.grad is not None)
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
