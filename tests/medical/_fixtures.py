"""Tiny synthetic medical data for tests: discs on noise, written as PNG / NIfTI / DICOM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def disc_pair(seed: int, size: int = 24, sixteen_bit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A noisy image with a bright disc and its 0/1 mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 3, 2 * size // 3, 2)
    mask = ((yy - cy) ** 2 + (xx - cx) ** 2 <= (size // 5) ** 2).astype(np.uint8)
    image = rng.normal(0.3, 0.05, (size, size)) + 0.5 * mask
    scale = 60000 if sixteen_bit else 250
    return np.clip(image * scale, 0, scale).astype(np.uint16 if sixteen_bit else np.uint8), mask


def write_pairs(root: Path, count: int = 4, size: int = 24, binary_255: bool = True) -> Path:
    """root/images/*.png + root/masks/*.png (masks 0/255 by default)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for k in range(count):
        image, mask = disc_pair(k, size)
        Image.fromarray(image).save(root / "images" / f"case{k}.png")
        Image.fromarray((mask * (255 if binary_255 else 1)).astype(np.uint8)).save(root / "masks" / f"case{k}.png")
    return root


def write_image_folder(root: Path, per_class: int = 4, size: int = 32) -> Path:
    """root/normal/*.png and root/abnormal/*.png (abnormal ones hold a bright disc)."""
    for label in ("normal", "abnormal"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            image, mask = disc_pair(k + (100 if label == "normal" else 0), size)
            if label == "normal":
                image = np.where(mask > 0, image.min(), image).astype(image.dtype)
            Image.fromarray(image).save(root / label / f"{label}_{k}.png")
    return root


def write_float_dicom(path: Path, array: np.ndarray) -> Path:
    """A single-frame DICOM holding float pixels (Float Pixel Data), as some tools export a parametric or label map."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID, dataset.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    dataset.Modality, dataset.Rows, dataset.Columns, dataset.SamplesPerPixel = "OT", *array.shape, 1
    dataset.PhotometricInterpretation, dataset.BitsAllocated = "MONOCHROME2", 32
    dataset.FloatPixelData = array.astype("<f4").tobytes()
    pydicom.dcmwrite(path, dataset, enforce_file_format=True)
    return path
