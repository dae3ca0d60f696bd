"""`predict(masks=DIR)` writes a binary model's PNG masks in its training masks' values (card `mask_values`, e.g.
0/255), so they overlay and score against the user's own masks; they held label indices 0/1 (black in a viewer, and
refused by the same model's evaluate for differing mask values)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from medical._shared import decode_run_length
from medical.segmentation import Segmenter
from tests.medical._fixtures import write_pairs

TINY = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=8, batch_size=4,
                        max_steps=2)


@pytest.mark.parametrize("positive_label, values", [(None, [0, 255]), (0, [255, 0])])
def test_png_masks_hold_the_training_mask_values(tmp_path, positive_label, values):
    import dataclasses

    root = write_pairs(tmp_path / "data", count=4, size=24)  # masks 0/255
    config = dataclasses.replace(TINY, positive_label=positive_label)
    model = Segmenter.for_training(None, device="cpu").fit(Segmenter.read_data(root), config)
    assert model.card_["mask_values"] == values
    saved = Segmenter.load(model.save(tmp_path / "m"), device="cpu")
    images = sorted(str(p) for p in (root / "images").glob("*.png"))
    records = saved.predict(images, masks=tmp_path / "out" / "masks")
    for record in records:
        labels = decode_run_length(record["mask_rle"], record["shape"])  # the record keeps label indices
        written = np.asarray(Image.open(record["mask_path"]))
        assert written.dtype == np.uint8 and set(np.unique(written)) <= set(values)
        np.testing.assert_array_equal(written, np.asarray(values)[labels])
    # the written masks score against the same model as the user's own would
    shutil.copytree(root / "images", tmp_path / "out" / "images")
    card = saved.evaluate(Segmenter.read_data(tmp_path / "out"))
    assert card["n"] == 4


def test_png_masks_of_a_multi_label_model_hold_label_indices(tmp_path):
    model = Segmenter.from_config(TINY, ["background", "a", "b"], device="cpu")
    root = write_pairs(tmp_path / "data", count=1, size=24)
    [record] = model.predict([root / "images" / "case0.png"], masks=tmp_path / "masks")
    written = np.asarray(Image.open(record["mask_path"]))
    np.testing.assert_array_equal(written, decode_run_length(record["mask_rle"], record["shape"]))
