"""Images and masks are paired by name in Unicode NFC: a masks folder from a Mac zip holds the same names decomposed."""

from __future__ import annotations

import unicodedata

from medical.segmentation import _pair_folder


def test_masks_named_in_nfd_pair_with_images_named_in_nfc(tmp_path):
    """They were 'no mask for 2 image(s)' although the names look the same; each file is opened by its own name."""
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(2):
        (tmp_path / "images" / unicodedata.normalize("NFC", f"Gehirn_ü{i}.png")).write_bytes(b"image")
        (tmp_path / "masks" / unicodedata.normalize("NFD", f"Gehirn_ü{i}_mask.png")).write_bytes(b"mask")
    images, masks = _pair_folder(tmp_path)
    assert [p.name for p in images] == [unicodedata.normalize("NFC", f"Gehirn_ü{i}.png") for i in range(2)]
    assert [p.name for p in masks] == [unicodedata.normalize("NFD", f"Gehirn_ü{i}_mask.png") for i in range(2)]
    assert all(p.is_file() for p in images + masks)
