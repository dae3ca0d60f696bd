"""How pixel values and units are read: colour DICOM decoded once, palette masks by index, NIfTI spatial units in mm,
a DICOM without pixel spacing said."""

from __future__ import annotations

import io as bytes_io

import numpy as np
import pytest
from PIL import Image

from medical import io

pydicom = pytest.importorskip("pydicom")
nib = pytest.importorskip("nibabel")


def _picture() -> np.ndarray:
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, np.arange(32, dtype=np.uint8)[None, :] * 6, 40  # reddish
    rgb[10:20, 10:20] = [30, 200, 60]  # a green square, brighter in grey than the background
    return rgb


def _colour_dataset(photometric: str, syntax):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    dataset, meta = Dataset(), FileMetaDataset()
    meta.TransferSyntaxUID = syntax
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality, dataset.Rows, dataset.Columns = "XC", 32, 32
    dataset.SamplesPerPixel, dataset.PlanarConfiguration = 3, 0
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit, dataset.PixelRepresentation, dataset.PhotometricInterpretation = 7, 0, photometric
    return dataset


def test_a_ybr_colour_dicom_reads_as_its_picture_not_converted_twice(tmp_path):
    """pydicom 3 already decodes YBR_FULL / YBR_FULL_422 to RGB; converting again gave an unrelated, inverted grey."""
    from pydicom.encaps import encapsulate
    from pydicom.pixels import convert_color_space
    from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

    rgb = _picture()
    png = io.read_medical(Image.fromarray(rgb)).array
    full = _colour_dataset("YBR_FULL", ExplicitVRLittleEndian)
    full.PixelData = convert_color_space(rgb, "RGB", "YBR_FULL").tobytes()
    full.save_as(tmp_path / "ybr_full.dcm", enforce_file_format=True)
    jpeg = _colour_dataset("YBR_FULL_422", JPEGBaseline8Bit)
    encoded = bytes_io.BytesIO()
    Image.fromarray(rgb).save(encoded, "JPEG", quality=98)
    jpeg.PixelData = encapsulate([encoded.getvalue()])
    jpeg["PixelData"].is_undefined_length = True
    jpeg.save_as(tmp_path / "ybr_jpeg.dcm", enforce_file_format=True)
    for name in ("ybr_full.dcm", "ybr_jpeg.dcm"):
        read = io.read_medical(tmp_path / name).array
        assert np.abs(read - png).mean() < 3, name
        assert read[15, 15] > read[2, 2], name  # the square stays brighter than the background
