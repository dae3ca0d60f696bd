"""A palette mask whose colours are all grey is a grey mask stored as a palette (PIL's quantize, a GIF): it reads as
its greys, whatever the palette's order; a coloured palette (VOC, labelme) reads as its indices."""

from __future__ import annotations

import numpy as np
from PIL import Image

from medical import io
from medical.segmentation import Segmenter


def _cells() -> np.ndarray:
    mask = np.zeros((32, 32), np.uint8)
    mask[4:20, 6:26] = 255  # the structure, white on black, as a 0/255 binary mask
    return mask


def _write_pairs(root, save_mask) -> None:
    for folder in ("images", "masks"):
        (root / folder).mkdir()
    rng = np.random.default_rng(0)
    for n in range(3):
        mask = _cells()
        image = (rng.random((32, 32)) * 60 + (mask > 0) * 120).astype(np.uint8)
        Image.fromarray(image).save(root / "images" / f"case{n}.png")
        save_mask(Image.fromarray(mask, mode="L"), root / "masks" / f"case{n}")


def test_a_grey_mask_saved_with_white_first_in_its_palette_keeps_its_classes(tmp_path):
    """PIL's quantize and the GIF writer list white first: read by index, structure and background were swapped."""
    savers = {"quantized": lambda m, stem: m.convert("RGB").quantize(2).save(f"{stem}.png"),
              "gif": lambda m, stem: m.convert("RGB").save(f"{stem}.gif")}
    for name, save in savers.items():
        root = tmp_path / name
        root.mkdir()
        _write_pairs(root, save)
        stored = Image.open(next((root / "masks").iterdir()))
        assert stored.mode == "P" and stored.getpalette()[:3] == [255, 255, 255], name  # white is index 0
        data = Segmenter.read_data(root)
        assert data.mask_values == [0, 255], name
        np.testing.assert_array_equal(np.asarray(data.masks[0]) == 1, _cells() == 255, err_msg=name)


def test_a_coloured_palette_mask_is_still_read_by_index():
    mask = Image.fromarray((_cells() // 255).astype(np.uint8), mode="P")
    mask.putpalette([0, 0, 0, 128, 0, 0])  # VOC: background black, class 1 dark red
    np.testing.assert_array_equal(io.read_medical(mask, label_mask=True).array, _cells() // 255)
    grey_first_white = Image.fromarray((_cells() == 0).astype(np.uint8), mode="P")
    grey_first_white.putpalette([255, 255, 255, 0, 0, 0])  # index 0 white, index 1 black
    np.testing.assert_array_equal(io.read_medical(grey_first_white, label_mask=True).array, _cells())
