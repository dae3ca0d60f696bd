"""`predict(masks=DIR)` writes a binary model's NIfTI masks in its training masks' values (card `mask_values`, e.g.
0/255), as its PNG masks: they held label indices 0/1, which the same model's evaluate refused (other mask values)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from medical._shared import decode_run_length
from medical.segmentation import Segmenter
from tests.medical._fixtures import disc_pair

nib = pytest.importorskip("nibabel")

TINY = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=8, batch_size=4,
                        max_steps=2)


def _nifti_pairs(root, count: int = 4):
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    for k in range(count):
        image, mask = disc_pair(k, 24)
        nib.save(nib.Nifti1Image(image[:, :, None].astype(np.float32), np.eye(4)), root / "images" / f"case{k}.nii.gz")
        nib.save(nib.Nifti1Image((mask * 255).astype(np.uint8)[:, :, None], np.eye(4)),
                 root / "masks" / f"case{k}.nii.gz")
    return root


def test_nifti_masks_of_a_binary_model_hold_the_training_mask_values(tmp_path):
    root = _nifti_pairs(tmp_path / "data")
    model = Segmenter.for_training(None, device="cpu").fit(Segmenter.read_data(root), dataclasses.replace(TINY))
    assert model.card_["mask_values"] == [0, 255]
    images = sorted(str(p) for p in (root / "images").glob("*.nii.gz"))
    out = tmp_path / "out"
    records = model.predict(images, masks=out / "masks")
    for record in records:
        assert record["mask_path"].endswith(".nii.gz")
        written = np.asarray(nib.load(record["mask_path"]).dataobj)
        labels = decode_run_length(record["mask_rle"], record["shape"])  # the record keeps label indices
        np.testing.assert_array_equal(written.reshape(labels.shape), np.asarray([0, 255])[labels])
    (out / "images").mkdir()
    for image in images:
        (out / "images" / image.rsplit("/", 1)[1]).symlink_to(image)
    assert model.evaluate(Segmenter.read_data(out))["n"] == 4  # scored against the model as the user's own masks are
