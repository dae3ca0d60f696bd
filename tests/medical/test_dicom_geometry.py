"""DICOM series geometry: one series per folder, even slice steps, MONOCHROME1, affines; NIfTI masks on the input grid."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from medical import io

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.uid import generate_uid  # noqa: E402


def _series(folder, positions, uid=None, description="axial", pixels=None, photometric=None):
    """CT_small slices at z `positions` (mm) of one series; returns its SeriesInstanceUID."""
    folder.mkdir(parents=True, exist_ok=True)
    uid = uid or generate_uid()
    for k, z in enumerate(positions):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.SeriesInstanceUID, dataset.SOPInstanceUID = uid, generate_uid()
        dataset.SeriesDescription, dataset.InstanceNumber = description, k + 1
        dataset.ImagePositionPatient = [0.0, 0.0, float(z)]
        dataset.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        if pixels is not None:
            dataset.PixelData = np.asarray(pixels[k], np.int16).tobytes()
        if photometric:
            dataset.PhotometricInterpretation = photometric
        dataset.save_as(folder / f"s{k:03d}.dcm")
    return uid


def test_two_series_in_one_folder_are_refused_by_name(tmp_path):
    first = _series(tmp_path / "study", [0.0, 2.5, 5.0], description="arterial")
    second = _series(tmp_path / "other", [1.25, 3.75], description="venous")
    for file in (tmp_path / "other").iterdir():
        file.rename(tmp_path / "study" / f"b_{file.name}")
    with pytest.raises(InputError, match="2 DICOM series") as error:
        io.read_dicom_series(tmp_path / "study")
    message = str(error.value)
    assert first in message and second in message and "arterial" in message and "venous" in message
    assert "3 slices" in message and "2 slices" in message and "one series per folder" in message


def test_a_series_in_a_subfolder_is_not_merged_into_its_parent(tmp_path):
    _series(tmp_path / "study", [0.0, 2.5])
    _series(tmp_path / "study" / "localizer", [0.0, 2.5], description="scout")
    with pytest.raises(InputError, match="localizer"):
        io.read_dicom_series(tmp_path / "study")
    assert io.read_dicom_series(tmp_path / "study" / "localizer").array.shape == (2, 128, 128)


def test_a_missing_slice_is_reported_with_its_positions(tmp_path):
    _series(tmp_path / "gap", [0.0, 2.5, 5.0, 7.5, 15.0, 17.5, 20.0])
    with pytest.warns(UserWarning, match=r"7.5 -> 15 mm") as caught:
        volume = io.read_dicom_series(tmp_path / "gap")
    assert volume.spacing[0] == pytest.approx(2.5)
    assert volume.metadata["warnings"] == [str(caught[0].message)]  # predict records carry these


def test_an_even_series_has_no_warning(tmp_path, recwarn):
    _series(tmp_path / "even", [0.0, 2.5, 5.0, 7.5])
    assert "warnings" not in io.read_dicom_series(tmp_path / "even").metadata
    assert not [w for w in recwarn if "unevenly" in str(w.message)]


def test_monochrome1_inverts_every_slice_by_one_rule(tmp_path):
    base = np.full((128, 128), 1000, np.int16)
    base[40:80, 40:80] = 1500
    hot = base.copy()
    hot[:5, :5] = 3000  # a bright spot on one slice only must not shift that slice's other values
    _series(tmp_path / "mono1", [0.0, 2.5], pixels=[base, hot], photometric="MONOCHROME1")
    volume = io.read_dicom_series(tmp_path / "mono1").array
    assert volume[0, 100, 100] == volume[1, 100, 100]
    assert volume[0, 60, 60] == volume[1, 60, 60] < volume[0, 100, 100]  # stored 1500 is darker than 1000
    plain = io.read_dicom(get_testdata_file("CT_small.dcm"))
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.PhotometricInterpretation = "MONOCHROME1"
    dataset.save_as(tmp_path / "mono1.dcm")
    inverted = io.read_dicom(tmp_path / "mono1.dcm")
    assert np.corrcoef(plain.array.ravel(), inverted.array.ravel())[0, 1] == pytest.approx(-1.0)


@pytest.mark.parametrize("axes", ["LPS", "sagittal PIL"])
def test_a_mask_written_like_a_nifti_input_is_on_its_grid(tmp_path, axes):
    nib = pytest.importorskip("nibabel")
    data = np.random.default_rng(0).integers(-100, 100, (6, 7, 5)).astype(np.int16)  # (x, y, z) file voxels
    if axes == "LPS":
        affine = np.array([[-2.0, 0, 0, 40], [0, -1.5, 0, 30], [0, 0, 3.0, -20], [0, 0, 0, 1]])
    else:  # voxel axes: i -> posterior, j -> inferior, k -> left
        affine = np.array([[0, 0, -3.0, 10], [-2.0, 0, 0, 5], [0, -1.5, 0, 7], [0, 0, 0, 1]])
    source = nib.Nifti1Image(data, affine)
    source.set_qform(affine, 1)
    source.set_sform(affine, 4)
    nib.save(source, tmp_path / "input.nii.gz")
    image = io.read_medical(tmp_path / "input.nii.gz")
    mask = (image.array > 0).astype(np.uint8)  # computed on the canonical (Z, H, W) array
    written = nib.load(io.write_nifti(mask, tmp_path / "mask.nii.gz", like=image))
    assert written.shape == data.shape
    assert np.allclose(written.affine, affine)
    assert int(written.header["qform_code"]) == 1 and int(written.header["sform_code"]) == 4
    assert np.array_equal(np.asarray(written.dataobj), (data > 0).astype(np.uint8))  # voxel for voxel


def test_a_mask_of_another_shape_is_refused(tmp_path):
    image = io.read_medical(np.zeros((3, 4, 5)))
    with pytest.raises(InputError, match="shape"):
        io.write_nifti(np.zeros((3, 4, 4), np.uint8), tmp_path / "mask.nii.gz", like=image)


@pytest.mark.parametrize("orientation", [[1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, -1]], ids=["axial", "coronal"])
def test_a_mask_of_a_dicom_series_sits_where_its_pixels_are(tmp_path, orientation):
    nib = pytest.importorskip("nibabel")
    folder = tmp_path / "series"
    folder.mkdir()
    row_cosines, column_cosines = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row_cosines, column_cosines)
    origin = np.array([-80.0, -120.0, 30.0])
    for k in (2, 0, 3, 1):  # written out of order
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.SOPInstanceUID, dataset.InstanceNumber = generate_uid(), k + 1
        dataset.ImageOrientationPatient = orientation
        dataset.ImagePositionPatient = list(origin + 2.5 * k * normal)
        dataset.PixelSpacing = [0.8, 0.6]  # between rows, between columns
        dataset.save_as(folder / f"s{k}.dcm")
    image = io.read_dicom_series(folder)
    assert image.affine is not None
    mask = np.zeros(image.array.shape, np.uint8)
    slice_index, row, column = 3, 10, 100
    mask[slice_index, row, column] = 1
    written = nib.load(io.write_nifti(mask, tmp_path / "mask.nii.gz", like=image))
    voxel = np.argwhere(np.asarray(written.dataobj) == 1)[0]
    lps = origin + 2.5 * slice_index * normal + row * 0.8 * column_cosines + column * 0.6 * row_cosines
    ras = nib.affines.apply_affine(written.affine, voxel)
    assert np.allclose(ras, lps * [-1, -1, 1])  # LPS -> RAS: not mirrored left-right
    assert int(written.header["qform_code"]) == 1 and int(written.header["sform_code"]) == 1
