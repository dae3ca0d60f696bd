"""The compact from-scratch recogniser: log-mel features, conv subsampling, a torchaudio Conformer encoder and a CTC
head over a character vocabulary, with batch padding masked throughout (a clip's output does not depend on its batch);
plus greedy CTC decoding into words with times and confidences."""

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
        """Log-mel features of each utterance alone, normalised over its own frames, zero past its end: (B, n_mels, T).

        Each mel is computed on the utterance's own samples (the STFT's reflection padding at its end, never the
        batch's zeros), so a clip's features do not depend on the clips padded beside it.
        """
        frames = lengths // HOP_LENGTH + 1
        mel = waves.new_zeros((waves.shape[0], self.n_mels, int(frames.max())), dtype=torch.float32)
        with torch.autocast(device_type=waves.device.type, enabled=False):
            for row, length in enumerate(lengths.tolist()):
                wave = waves[row, :length].float()
                if length <= self.mel.n_fft // 2:  # too short to reflect: zero-pad, keep its frames
                    wave = nn.functional.pad(wave, (0, self.mel.n_fft // 2 + 1 - length))
                utterance = torch.log(self.mel(wave)[:, : length // HOP_LENGTH + 1] + 1e-6)  # (M, T_row)
                mean = utterance.mean(-1, keepdim=True)
                std = utterance.std(-1, correction=0, keepdim=True).clamp(min=1e-3)
                mel[row, :, : utterance.shape[-1]] = (utterance - mean) / std
        return mel

    def subsampled(self, features: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Two stride-2 convolutions over (B, n_mels, T) -> (B, C, M', T'); frames past each utterance's end are
        zeroed after each, so the next convolution reads zeros there as it does at the end of a clip alone."""
        x = features.unsqueeze(1)
        for index in (0, 2):
            x = self.subsample[index + 1](self.subsample[index](x))
            frames = (frames - 1) // 2 + 1
            x = x * _valid(frames, x.shape[-1]).to(x.dtype)[:, None, None, :]
        return x

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The Conformer layers over (B, T, D) with padding masked in attention (as torchaudio does) and also at the
        input of each depthwise convolution (as ESPnet and SpeechBrain do), so padded frames never reach valid ones."""
        valid = _valid(lengths, x.shape[1])  # (B, T)
        padding = ~valid
        keep = valid.to(x.dtype)[:, None, :]  # (B, 1, T) over the convolution's channels-first layout
        x = x.transpose(0, 1)  # (T, B, D)
        for layer in self.encoder.conformer_layers:
            x = layer.ffn1(x) * 0.5 + x
            if layer.convolution_first:
                x = x + _masked_convolution(layer.conv_module, x, keep)
            residual = x
            y = layer.self_attn_layer_norm(x)
            y, _ = layer.self_attn(query=y, key=y, value=y, key_padding_mask=padding, need_weights=False)
            x = layer.self_attn_dropout(y) + residual
            if not layer.convolution_first:
                x = x + _masked_convolution(layer.conv_module, x, keep)
            x = layer.ffn2(x) * 0.5 + x
            x = layer.final_layer_norm(x)
        return x.transpose(0, 1)

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(waves, lengths)
        if self.training:
            for _ in range(self.masks):
                features = self.time_mask(self.freq_mask(features))
        x = self.subsampled(features, lengths // HOP_LENGTH + 1)  # (B, C, M', T')
        x = self.project(x.permute(0, 3, 1, 2).flatten(2))  # (B, T', D)
        out_lengths = self.output_lengths(lengths).clamp(min=1, max=x.shape[1])
        x = self.encode(x[:, : int(out_lengths.max())], out_lengths)
        return self.head(x).log_softmax(-1), out_lengths


def _valid(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """(B, size) True on each row's first `lengths[row]` frames."""
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def _masked_convolution(module: nn.Module, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """torchaudio's Conformer convolution module on (T, B, D), with padded frames zeroed before the depthwise
    convolution (after the pointwise convolution and GLU, whose bias makes them non-zero)."""
    y = module.layer_norm(x.transpose(0, 1)).transpose(1, 2)  # (B, D, T)
    pointwise, glu, *rest = module.sequential
    y = glu(pointwise(y)) * keep
    for step in rest:
        y = step(y)
    return y.transpose(1, 2).transpose(0, 1)  # (T, B, D)


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
