"""Tiny offline images and datasets for the vision tests (written in code, nothing downloaded)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bytes(width: int = 24, height: int = 20, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_png() -> bytes:
    data = png_bytes(64, 64)
    return data[: len(data) // 2]


def bomb_png(side: int = 100_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb for a naive decoder)."""
    data = bytearray(png_bytes(8, 8))
    ihdr = 8 + 8  # signature, then length + b"IHDR"
    data[ihdr:ihdr + 8] = struct.pack(">II", side, side)
    crc = zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def image_folder(root: Path, classes=("cat", "dog"), per_class: int = 3, size=(24, 20)) -> Path:
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / name / f"{i}.png").write_bytes(png_bytes(*size, seed=c * 100 + i))
    return root


def yolo_folder(root: Path, n: int = 3, names=("thing",), lines=None) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text("names: [" + ", ".join(names) + "]\n")
    for i in range(n):
        (root / "images" / f"{i}.png").write_bytes(png_bytes(64, 48, seed=i))
        (root / "labels" / f"{i}.txt").write_text(lines if lines is not None else "0 0.5 0.5 0.4 0.5\n")
    return root


def probe_groups_spy(monkeypatch) -> dict:
    """Record the `groups` core.transfer.probe_head is given (the probe's CV folds), under `seen["groups"]`."""
    import core.transfer

    seen: dict = {}
    real = core.transfer.probe_head

    def probe_head(features, targets, classes, **options):
        seen["groups"] = list(options["groups"])
        return real(features, targets, classes, **options)

    monkeypatch.setattr(core.transfer, "probe_head", probe_head)
    return seen


def tiny_pretrained_classifier():
    """A random-init test_resnet on 32x32 inputs, marked pretrained so that fit takes the linear-probe path."""
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["x", "y"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.info["pretrained"] = True
    return model


def tiny_detr(folder: Path) -> Path:
    """A random-init DETR (tiny ResNet backbone, d_model 32, one encoder/decoder layer, labels thing/other) saved in
    `folder` with save_pretrained, with its image processor (shortest edge 48)."""
    import torch
    import transformers

    torch.manual_seed(0)
    backbone = transformers.ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                                         layer_type="basic", out_features=["stage2"])
    config = transformers.DetrConfig(backbone_config=backbone, d_model=32, encoder_layers=1, decoder_layers=1,
                                     encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
                                     decoder_attention_heads=2, num_queries=5, id2label={0: "thing", 1: "other"},
                                     label2id={"thing": 0, "other": 1})
    transformers.DetrForObjectDetection(config).save_pretrained(folder)
    transformers.DetrImageProcessor(size={"shortest_edge": 48, "longest_edge": 64}).save_pretrained(folder)
    return folder
