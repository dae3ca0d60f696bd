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


def _palette_mask(indices: np.ndarray) -> Image.Image:
    mask = Image.fromarray(indices.astype(np.uint8), mode="P")
    mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)  # the Pascal VOC colour map
    return mask


def test_palette_png_masks_are_read_by_index_not_by_the_grey_of_their_colours(tmp_path):
    """A VOC / labelme palette mask (indices 0/1/2, dark red and green) was read as grey levels 38 and 75: a 3-class
    mask was refused, a binary one became a 39-class problem."""
    from medical.segmentation import Segmenter

    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    rng = np.random.default_rng(0)
    for n in range(3):
        indices = np.zeros((32, 32), np.uint8)
        indices[4:14, 4:14], indices[20:30, 18:30] = 1, 2
        image = (rng.random((32, 32)) * 50 + indices * 60).astype(np.uint8)
        Image.fromarray(image).save(tmp_path / "images" / f"case{n}.png")
        _palette_mask(indices).save(tmp_path / "masks" / f"case{n}.png")
    data = Segmenter.read_data(tmp_path, labels="background,lesion,organ")
    assert sorted(np.unique(data.masks[0]).tolist()) == [0, 1, 2]
    assert len(Segmenter.read_data(tmp_path).label_names) == 3
    assert io.read_medical(tmp_path / "masks" / "case0.png").array.max() > 2  # an image read: still its colours' grey


@pytest.mark.parametrize(("unit", "zoom"), [("mm", 1.0), ("micron", 1000.0), ("meter", 0.001)])
def test_nifti_voxel_sizes_are_read_in_their_spatial_unit_as_mm(tmp_path, unit, zoom):
    """xyzt_units was ignored: a micron file's 1 mm voxels read as 1000 mm, a metre file's as 0.001 mm."""
    volume = nib.Nifti1Image(np.ones((8, 8, 4), np.float32), np.diag([zoom, zoom, zoom, 1.0]))
    volume.header.set_xyzt_units(unit)
    nib.save(volume, tmp_path / "v.nii.gz")
    image = io.read_medical(tmp_path / "v.nii.gz")
    assert image.spacing == pytest.approx((1.0, 1.0, 1.0), rel=1e-5)
    assert image.voxel_volume_ml == pytest.approx(0.001, rel=1e-5)
    assert np.abs(np.asarray(image.affine)[:3, :3]).max() == pytest.approx(1.0, rel=1e-5)  # world in mm
    assert not image.metadata.get("warnings")


def test_a_nifti_without_a_spatial_unit_is_read_as_mm_and_said_when_implausible(tmp_path):
    """No unit (nibabel's default): mm, as ITK and FSL read it; voxel sizes implausible as mm are said."""
    for zoom, said in ((2.0, False), (0.001, True)):
        volume = nib.Nifti1Image(np.ones((8, 8, 4), np.float32), np.diag([zoom, zoom, zoom, 1.0]))
        volume.header.set_xyzt_units("unknown")
        nib.save(volume, tmp_path / "v.nii.gz")
        image = io.read_medical(tmp_path / "v.nii.gz")
        assert image.spacing == pytest.approx((zoom,) * 3)
        notes = image.metadata.get("warnings", [])
        assert any("xyzt_units" in note and "implausible as mm" in note for note in notes) == said


def test_a_segmenter_record_gives_a_micron_files_spacing_and_volume_in_mm(tmp_path):
    from medical.segmentation import Segmenter

    volume = nib.Nifti1Image(np.random.default_rng(0).random((16, 16, 4)).astype(np.float32),
                             np.diag([1000.0, 1000.0, 1000.0, 1.0]))
    volume.header.set_xyzt_units("micron")
    nib.save(volume, tmp_path / "v.nii.gz")
    record = next(iter(Segmenter.load().predict([tmp_path / "v.nii.gz"])))
    assert record["spacing_mm"] == pytest.approx([1.0, 1.0, 1.0])


def test_a_dicom_without_pixel_spacing_says_its_sizes_are_in_pixels(tmp_path):
    """It was measured as 1 mm pixels without a word (areas given as mm2)."""
    from pydicom.data import get_testdata_file

    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert not io.read_medical(get_testdata_file("CT_small.dcm")).metadata.get("warnings")
    del dataset.PixelSpacing
    dataset.save_as(tmp_path / "no_spacing.dcm")
    image = io.read_medical(tmp_path / "no_spacing.dcm")
    assert image.spacing == (1.0, 1.0)
    assert any("no pixel spacing" in note and "pixels" in note for note in image.metadata["warnings"])
    series = tmp_path / "series"
    series.mkdir()
    for k in range(2):
        dataset.ImagePositionPatient = [0.0, 0.0, float(k)]
        dataset.InstanceNumber = k + 1
        dataset.SOPInstanceUID = pydicom.uid.generate_uid()
        dataset.save_as(series / f"s{k}.dcm")
    assert any("no pixel spacing" in note for note in io.read_medical(series).metadata["warnings"])
