"""The shipped segmentation default's card carries the `usage` every saved card carries (it had none: tester B,
finding 3a), sealed without retraining: the weights are the shipped bytes, and the snippet labels as predict does."""

from __future__ import annotations

import json
import shutil

import numpy as np
from PIL import Image

from core.artifacts import check_model_dir, file_sha256, read_card, write_card
from medical import segmentation
from medical._shared import decode_run_length
from medical.segmentation import SHIPPED, USAGE, Segmenter


def test_the_shipped_card_is_sealed_with_the_current_usage(tmp_path):
    """Re-sealing a copy changes not a byte: the usage is the current one and the weights are the shipped ones."""
    card = read_card(SHIPPED, task="medical.segmentation")  # files' hashes and the card's seal verified
    assert card["usage"] == USAGE
    copy = shutil.copytree(SHIPPED, tmp_path / "copy")
    segmentation.seal_usage(copy)
    for path in SHIPPED.iterdir():
        assert (copy / path.name).read_bytes() == path.read_bytes(), path.name
    check_model_dir(copy)


def test_seal_usage_adds_the_usage_to_an_older_card_and_keeps_the_weights(tmp_path):
    folder = shutil.copytree(SHIPPED, tmp_path / "old")
    old = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    write_card(folder, {key: value for key, value in old.items() if key not in {"usage", "card_sha256"}})
    sealed = segmentation.seal_usage(folder)
    assert sealed["usage"] == USAGE
    assert {name: file_sha256(folder / name) for name in old["files"]} == old["files"]
    assert read_card(folder, task="medical.segmentation") == sealed
    assert {k: v for k, v in sealed.items() if k not in ("usage", "card_sha256")} == \
        {k: v for k, v in old.items() if k not in ("usage", "card_sha256")}


def test_the_shipped_cards_usage_labels_as_predict_does_on_8_and_16_bit_pictures(tmp_path):
    from tests.medical.test_usage_reads_16bit import _segmentation_usage

    model = Segmenter.load(None, device="cpu")
    slice_ = segmentation.brain_tissue_data().images[0][45]  # an axial slice of the MNI152 template, (H, W)
    scaled = (slice_ - slice_.min()) / float(slice_.max() - slice_.min())
    images = []
    for name, pixels in (("t1_8.png", (scaled * 255).astype(np.uint8)),
                         ("t1_16.png", (scaled * 65535).astype(np.uint16))):
        Image.fromarray(pixels).save(tmp_path / name)
        images.append(str(tmp_path / name))
    folder = shutil.copytree(SHIPPED, tmp_path / "shipped")
    plain = _segmentation_usage(folder, images)
    for labels, record in zip(plain, model.predict(images)):
        ours = decode_run_length(record["mask_rle"], record["shape"])
        np.testing.assert_array_equal(labels, ours)
        assert len(np.unique(ours)) > 2  # tissue found, not one label everywhere
