"""A PALETTE COLOR DICOM reads as the colours its table shows (as the same picture saved as a PNG), not its indices."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from medical import io

pydicom = pytest.importorskip("pydicom")


def _palette_dicom(path, bits_per_entry: int) -> np.ndarray:
    """Index 0 bright yellow (background), index 1 dark blue (a square); returns the RGB picture it shows."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID, meta.MediaStorageSOPClassUID = ExplicitVRLittleEndian, "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality, dataset.Rows, dataset.Columns, dataset.SamplesPerPixel = "US", 32, 32, 1
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit, dataset.PixelRepresentation, dataset.PhotometricInterpretation = 7, 0, "PALETTE COLOR"
    table = np.zeros((256, 3), np.uint16)
    table[0], table[1] = (250, 240, 20), (10, 10, 120)
    scale, dtype = (257, np.uint16) if bits_per_entry == 16 else (1, np.uint16)
    for channel, colour in enumerate(("Red", "Green", "Blue")):
        setattr(dataset, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, bits_per_entry])
        entries = (table[:, channel] * scale).astype(dtype)
        data = entries.tobytes() if bits_per_entry == 16 else entries.astype(np.uint8).tobytes()
        setattr(dataset, f"{colour}PaletteColorLookupTableData", data)
    index = np.zeros((32, 32), np.uint8)
    index[10:20, 10:20] = 1
    dataset.PixelData = index.tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return table[index].astype(np.uint8)


@pytest.mark.parametrize("bits_per_entry", [16, 8])
def test_a_palette_color_dicom_reads_as_the_picture_it_shows(tmp_path, bits_per_entry):
    """It read as its raw indices: the bright background 0, the dark square 1 (contrast inverted, range meaningless)."""
    rgb = _palette_dicom(tmp_path / "palette.dcm", bits_per_entry)
    read = io.read_medical(tmp_path / "palette.dcm").array
    as_png = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    assert read.shape == (32, 32)
    assert np.abs(read - as_png).max() < 1.0
    assert read[2, 2] > 200 > 30 > read[15, 15]  # bright background, dark square
