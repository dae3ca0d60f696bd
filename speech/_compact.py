"""The compact from-scratch recogniser: log-mel features, conv subsampling, a torchaudio Conformer encoder
and a CTC head over a character vocabulary; plus greedy CTC decoding into words with times and confidences."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

BLANK = "<blank>"
HOP_LENGTH = 160  # 10 ms at 16 kHz
SUBSAMPLING = 4  # two stride-2 convolutions


def build_vocabulary(texts: list[str]) -> list[str]:
    """Blank first, then every character seen in `texts` (sorted).

    >>> build_vocabulary(["ab", "b a"])
    ['<blank>', ' ', 'a', 'b']
    """
    return [BLANK, *sorted({c for t in texts for c in t})]


class CompactCTC(nn.Module):
    """Waveform (B, N) at 16 kHz -> CTC log-probabilities (B, T, vocab) with SpecAugment while training."""

    def __init__(self, vocab_size: int, n_mels: int = 80, d_model: int = 144, num_layers: int = 4, num_heads: int = 4,
                 ffn_dim: int = 576, kernel_size: int = 15, dropout: float = 0.1, sample_rate_hz: int = 16_000,
                 freq_mask_width: int = 15, time_mask_width: int = 20, masks: int = 2):
        super().__init__()
        import torchaudio

        self.n_mels, self.masks = n_mels, masks
        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate_hz, n_fft=400, hop_length=HOP_LENGTH, n_mels=n_mels)
        self.freq_mask = torchaudio.transforms.FrequencyMasking(freq_mask_width, iid_masks=True)
        self.time_mask = torchaudio.transforms.TimeMasking(time_mask_width, iid_masks=True, p=0.2)  # <= 20% of frames per mask
        channels = max(8, d_model // 4)
        self.subsample = nn.Sequential(nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU(),
                                       nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU())
        self.project = nn.Linear(channels * ((((n_mels - 1) // 2 + 1) - 1) // 2 + 1), d_model)
        self.encoder = torchaudio.models.Conformer(input_dim=d_model, num_heads=num_heads, ffn_dim=ffn_dim,
                                                   num_layers=num_layers, depthwise_conv_kernel_size=kernel_size,
                                                   dropout=dropout)
        self.head = nn.Linear(d_model, vocab_size)

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames for waveforms of `lengths` samples."""
        frames = lengths // HOP_LENGTH + 1
        for _ in range(2):
            frames = (frames - 1) // 2 + 1
        return frames

    def features(self, waves: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Log-mel features normalised per utterance over its valid frames: (B, n_mels, T)."""
        with torch.autocast(device_type=waves.device.type, enabled=False):
            mel = torch.log(self.mel(waves.float()) + 1e-6)  # (B, M, T)
        frames = lengths // HOP_LENGTH + 1
        valid = (torch.arange(mel.shape[-1], device=mel.device)[None, :] < frames[:, None]).unsqueeze(1)  # (B, 1, T)
        count = valid.sum(-1, keepdim=True).clamp(min=1)
        mean = (mel * valid).sum(-1, keepdim=True) / count
        std = (((mel - mean) ** 2 * valid).sum(-1, keepdim=True) / count).sqrt().clamp(min=1e-3)
        return ((mel - mean) / std) * valid

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(waves, lengths)
        if self.training:
            for _ in range(self.masks):
                features = self.time_mask(self.freq_mask(features))
        x = self.subsample(features.unsqueeze(1))  # (B, C, M', T')
        x = self.project(x.permute(0, 3, 1, 2).flatten(2))  # (B, T', D)
        out_lengths = self.output_lengths(lengths).clamp(min=1, max=x.shape[1])
        x = x[:, : int(out_lengths.max())]
        x, _ = self.encoder(x, out_lengths)
        return self.head(x).log_softmax(-1), out_lengths


def ctc_words(log_probs: np.ndarray, vocabulary: list[str], seconds_per_frame: float,
              word_delimiter: str = " ", blank_id: int = 0) -> dict[str, Any]:
    """Greedy CTC decoding of one utterance (T, V) into text and words with start/end times and confidence.

    Confidence of a word is the mean probability of its emitted characters' best frames.

    >>> lp = np.log(np.array([[.1, .0, .9], [.9, .0, .1], [.2, .7, .1], [.1, .0, .9]]) + 1e-9)
    >>> ctc_words(lp, ["<blank>", " ", "a"], 0.04)["text"]
    'a a'
    """
    best = log_probs.argmax(-1)
    probs = np.exp(log_probs.max(-1))
    words: list[dict[str, Any]] = []
    current, start, scores, last_frame = [], None, [], None
    previous = -1

    def close() -> None:
        if current:
            words.append({"word": "".join(current), "start_s": round(start * seconds_per_frame, 3),
                          "end_s": round((last_frame + 1) * seconds_per_frame, 3),
                          "confidence": round(float(np.mean(scores)), 4)})

    for frame, token in enumerate(best.tolist()):
        if token != previous and token != blank_id:
            char = vocabulary[token]
            if char == word_delimiter:
                close()
                current, start, scores = [], None, []
            else:
                if start is None:
                    start = frame
                current.append(char)
                scores.append(probs[frame])
                last_frame = frame
        elif token == previous and token != blank_id and current and vocabulary[token] != word_delimiter:
            last_frame = frame
        previous = token
    close()
    return {"text": " ".join(w["word"] for w in words), "words": words}
