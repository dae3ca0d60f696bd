"""A Pascal VOC mask's 255 'void' border is not an ignore label here: it is refused, naming VOC's void and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from medical.segmentation import Segmenter


def test_a_voc_mask_with_its_void_border_is_refused_naming_the_void_value(tmp_path):
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    palette = [0, 0, 0, 128, 0, 0] + [0, 0, 0] * 253 + [224, 224, 192]  # VOC: 0 black, 1 dark red, 255 cream
    for n in range(3):
        index = np.zeros((32, 32), np.uint8)
        index[8:24, 8:24] = 1
        index[8, 8:24] = index[23, 8:24] = index[8:24, 8] = index[8:24, 23] = 255  # the void border
        Image.fromarray((index == 1).astype(np.uint8) * 150).save(tmp_path / "images" / f"case{n}.png")
        mask = Image.fromarray(index, mode="P")
        mask.putpalette(palette)
        mask.save(tmp_path / "masks" / f"case{n}.png")
    with pytest.raises(InputError, match=r"(?s)void.*Pascal VOC.*mask\[mask == 255\] = 0"):
        Segmenter.read_data(tmp_path)
