"""IO: DICOM (rescale, no pixel data, series), NIfTI (round trip, truncation), 16-bit PNG, windowing, anonymisation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from medical import io

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402


def test_ct_dicom_in_hounsfield_units():
    image = io.read_medical(get_testdata_file("CT_small.dcm"))
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    raw = dataset.pixel_array.astype(float)
    expected = raw * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    assert np.allclose(image.array, expected)
    assert image.modality == "CT" and image.spacing == pytest.approx(tuple(float(s) for s in dataset.PixelSpacing))


def test_dicom_without_pixel_data_is_input_error():
    with pytest.raises(InputError, match="no pixel data"):
        io.read_medical(get_testdata_file("rtplan.dcm"))


def test_truncated_dicom_is_input_error():
    with pytest.raises(InputError):
        io.read_medical(get_testdata_file("MR_truncated.dcm"))


def test_dicom_series_sorted_by_position(tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    for k, z in enumerate([5.0, 1.0, 3.0]):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.ImagePositionPatient = [0.0, 0.0, z]
        dataset.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        dataset.RescaleIntercept = -1000 + 10 * z  # tells the slices apart
        dataset.save_as(series / f"s{k}.dcm")
    volume = io.read_medical(series)
    assert volume.array.shape == (3, 128, 128)
    assert volume.spacing[0] == pytest.approx(2.0)
    means = [float(volume.array[i].mean()) for i in range(3)]
    assert means == sorted(means)


def test_nifti_round_trip_and_truncation(tmp_path):
    volume = np.random.default_rng(0).random((6, 8, 10)).astype(np.float32)
    path = io.write_nifti(volume, tmp_path / "v.nii.gz", spacing=(3.0, 2.0, 1.0))
    back = io.read_medical(path)
    assert np.allclose(back.array, volume, atol=1e-6) and back.spacing == (3.0, 2.0, 1.0)
    data = path.read_bytes()
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        io.read_medical(broken)


def test_sixteen_bit_png_keeps_depth(tmp_path):
    array = np.linspace(0, 60000, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(array).save(tmp_path / "x.png")
    image = io.read_medical(tmp_path / "x.png")
    assert image.array.max() == pytest.approx(60000) and image.array.min() == 0


def test_window_presets():
    assert io.apply_window(np.array([-1000.0, 40.0, 1000.0]), preset="brain").tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(InputError):
        io.apply_window(np.zeros(3), preset="nope")


def test_export_anonymises_and_refuses_input_folder(tmp_path):
    source = tmp_path / "in" / "ct.dcm"
    source.parent.mkdir()
    source.write_bytes(open(get_testdata_file("CT_small.dcm"), "rb").read())
    with pytest.raises(InputError, match="input folder"):
        io.export_dicom(source, tmp_path / "in")
    with pytest.raises(InputError, match="input folder"):
        io.export_dicom(source, tmp_path / "in" / "sub")
    out = io.export_dicom(source, tmp_path / "out")
    dataset = pydicom.dcmread(out)
    assert str(dataset.PatientName) == "ANONYMOUS" and "PatientBirthDate" not in dataset or not dataset.PatientBirthDate
    assert "InstitutionName" not in dataset and dataset.PatientIdentityRemoved == "YES"
    assert io.read_medical(out).array.shape == (128, 128)
    assert sorted(p.name for p in source.parent.iterdir()) == ["ct.dcm"]


def test_4d_nifti_keeps_the_first_volume_and_says_so(tmp_path):
    import nibabel as nib

    data = np.random.default_rng(0).random((8, 8, 4, 3)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "dwi.nii.gz")
    image = io.read_nifti(tmp_path / "dwi.nii.gz")
    assert image.array.shape == (4, 8, 8)
    assert "3 volumes" in image.metadata["warnings"][0] and "only the first" in image.metadata["warnings"][0]
    nib.save(nib.Nifti1Image(data[..., 0], np.eye(4)), tmp_path / "t1.nii.gz")
    assert "warnings" not in io.read_nifti(tmp_path / "t1.nii.gz").metadata


def test_nan_voxels_of_a_nifti_read_as_zero_and_are_said(tmp_path):
    """A masked statistical map's NaN background was zeroed without a word (an array with NaN is refused)."""
    import nibabel as nib

    data = np.random.default_rng(0).random((6, 5, 4)).astype(np.float32)
    data[0, :, :] = np.nan
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "map.nii.gz")
    image = io.read_nifti(tmp_path / "map.nii.gz")
    assert np.isfinite(image.array).all() and (image.array == 0).sum() == 20
    assert any("20 voxel(s) (16.7%) are NaN or infinite and were read as 0" in w for w in image.metadata["warnings"])
    nib.save(nib.Nifti1Image(np.nan_to_num(data), np.eye(4)), tmp_path / "clean.nii.gz")
    assert "warnings" not in io.read_nifti(tmp_path / "clean.nii.gz").metadata


def test_a_dicom_rescale_overflowing_to_inf_reads_as_0_and_is_said(tmp_path):
    """A rescale slope taking a pixel past float32 gave inf, kept (only an all-NaN DICOM was refused); it now reads as
    0 with NIfTI's note, through the one rule every reader shares."""
    from tests.medical._fixtures import write_float_dicom

    picture = np.ones((4, 5), np.float32)
    picture[0, 0] = 3e38
    path = write_float_dicom(tmp_path / "map.dcm", picture)
    dataset = pydicom.dcmread(path)
    dataset.RescaleSlope, dataset.RescaleIntercept = 10, 0
    dataset.save_as(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow is said in the note, not as a numpy RuntimeWarning
        image = io.read_medical(path)
    assert np.isfinite(image.array).all() and image.array[0, 0] == 0 and image.array[1, 1] == 10
    assert image.metadata["warnings"][-1:] == ["map.dcm: 1 voxel(s) (5.0%) are NaN or infinite and were read as 0 (e.g. the "
                                          "background of a masked map); mask or fill them if they are not background"]


@pytest.mark.parametrize("kind", ["dcm", "tif", "array"])
def test_an_image_with_no_finite_pixel_is_refused_in_every_format(tmp_path, kind):
    from tests.medical._fixtures import write_float_dicom

    empty = np.full((4, 5), np.nan, np.float32)
    empty[0, 0] = np.inf
    if kind == "array":
        source = empty
    elif kind == "tif":
        source = tmp_path / "empty.tif"
        Image.fromarray(empty, mode="F").save(source)
    else:
        source = write_float_dicom(tmp_path / "empty.dcm", empty)
    name = "array" if kind == "array" else f"empty.{kind}"
    with pytest.raises(InputError, match=f"^{name} holds no finite voxel"):
        io.read_medical(source)


def test_a_series_of_float_pixel_data_slices_reads_with_its_nan_voxels_said(tmp_path):
    """A folder of Float Pixel Data slices was "no DICOM image files" (only PixelData counted as an image); read, its
    NaN voxels are 0 and said once for the series, as a NIfTI volume's are."""
    from tests.medical._fixtures import write_float_dicom

    for k in range(3):
        picture = np.full((4, 5), float(k + 1), np.float32)
        picture[0, 0] = np.nan
        dataset = pydicom.dcmread(write_float_dicom(tmp_path / f"s{k}.dcm", picture))
        dataset.InstanceNumber = k + 1
        dataset.save_as(tmp_path / f"s{k}.dcm")
    image = io.read_medical(tmp_path)
    assert image.array.shape == (3, 4, 5) and image.array[:, 1, 1].tolist() == [1.0, 2.0, 3.0]
    assert image.metadata["nonfinite_voxels"] == 3 and image.metadata["warnings"][-1:] == [
        f"{tmp_path.name}: 3 voxel(s) (5.0%) are NaN or infinite and were read as 0 (e.g. the background of a masked "
        "map); mask or fill them if they are not background"]


def test_a_one_slice_nifti_reads_as_a_2d_image(tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.arange(12, dtype=np.float32).reshape(3, 4, 1), np.diag([0.5, 0.7, 3.0, 1.0])),
             tmp_path / "one.nii.gz")
    image = io.read_nifti(tmp_path / "one.nii.gz")
    assert image.array.shape == (4, 3) and not image.is_volume and image.spacing == pytest.approx((0.7, 0.5))


def test_a_trailing_axis_of_one_is_a_grey_channel_not_a_volume():
    """(H, W, 1) was read as H slices of W x 1 pixels."""
    array = np.random.default_rng(0).random((6, 5, 1))
    image = io.read_medical(array)
    assert image.array.shape == (6, 5) and not image.is_volume
    assert np.array_equal(image.array, array[..., 0].astype(np.float32))
    assert io.read_medical(np.zeros((3, 6, 5))).array.shape == (3, 6, 5)  # a volume stays one


def test_bytes_open_files_and_pil_images_are_one_encoded_file(tmp_path):
    """PIL images were 'not iterable', bytes were iterated ('from int'), open files refused ('from bytes')."""
    pixels = (np.random.default_rng(1).random((9, 7)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    expected = io.read_medical(tmp_path / "a.png").array
    with open(tmp_path / "a.png", "rb") as handle:
        sources = [Image.open(tmp_path / "a.png"), (tmp_path / "a.png").read_bytes(),
                   bytearray((tmp_path / "a.png").read_bytes()), handle]
        for source in sources:
            assert np.array_equal(io.read_medical(source).array, expected), type(source).__name__
    dicom = get_testdata_file("CT_small.dcm")  # its preamble is a TIFF header: the DICM marker decides
    with open(dicom, "rb") as handle:
        assert np.array_equal(io.read_medical(handle.read()).array, io.read_medical(dicom).array)
    volume = np.random.default_rng(2).random((4, 5, 6)).astype(np.float32)
    for name in ("v.nii", "v.nii.gz"):
        io.write_nifti(volume, tmp_path / name)
        read = io.read_medical((tmp_path / name).read_bytes())
        assert read.array.shape == (4, 5, 6) and np.allclose(read.array, io.read_medical(tmp_path / name).array)
    with pytest.raises(InputError, match="not a DICOM, NIfTI or image file"):
        io.read_medical(b"hello, not an image")
    with pytest.raises(InputError, match="gzip-compressed but not a NIfTI"):
        import gzip

        io.read_medical(gzip.compress(b"hello"))
    with pytest.raises(InputError, match="empty"):
        io.read_medical(b"")
    with open(tmp_path / "v.nii") as text, pytest.raises(InputError, match="binary mode"):
        io.read_medical(text)


def _colour_dicom(pixels: np.ndarray):
    """A secondary-capture-like RGB DICOM dataset of uint8 `pixels` (H, W, 3), built on CT_small's header."""
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation, dataset.PlanarConfiguration = 3, "RGB", 0
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 8, 8, 7, 0
    dataset.Rows, dataset.Columns = pixels.shape[:2]
    dataset.RescaleSlope, dataset.RescaleIntercept = 1, 0
    dataset.PixelData = np.ascontiguousarray(pixels).tobytes()
    return dataset


def test_a_colour_array_reads_as_the_same_picture_saved_as_a_png(tmp_path):
    """A colour array was averaged to grey but a colour PNG converted by PIL's weighted "L" (ITU-R 601-2), so one
    picture gave different values by how it was passed: now every colour input uses PIL's conversion."""
    pixels = (np.random.default_rng(0).random((12, 9, 3)) * 255).astype(np.uint8)
    pixels[0, :3] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]]  # pure red, green, blue: the weights differ most
    Image.fromarray(pixels).save(tmp_path / "picture.png")
    from_file = io.read_medical(tmp_path / "picture.png").array
    assert np.array_equal(io.read_medical(pixels).array, from_file)
    assert np.array_equal(io.read_medical((tmp_path / "picture.png").read_bytes()).array, from_file)
    assert list(from_file[0, :3]) == [76.0, 150.0, 29.0]  # not 85, 85, 85
    rgba = np.concatenate([pixels, np.full((12, 9, 1), 128, np.uint8)], axis=-1)  # alpha ignored, as PIL does
    Image.fromarray(rgba).save(tmp_path / "picture-rgba.png")
    assert np.array_equal(io.read_medical(rgba).array, from_file)
    assert np.array_equal(io.read_medical(tmp_path / "picture-rgba.png").array, from_file)
    floats = io.read_medical(pixels.astype(np.float32)).array  # the same weights, without PIL's rounding to levels
    assert np.abs(floats - from_file).max() <= 0.5 and not np.array_equal(floats, from_file)
    dataset = _colour_dicom(pixels)  # a colour DICOM of the picture reads alike too
    dataset.save_as(tmp_path / "picture.dcm")
    assert np.array_equal(io.read_medical(tmp_path / "picture.dcm").array, from_file)


def test_a_colour_image_of_four_rows_or_fewer_is_a_picture_not_a_volume():
    """(3, W, 3) and (4, W, 3) uint8 pixels were read as volumes of 3-4 slices 3 pixels wide."""
    for rows, channels in ((1, 3), (3, 3), (4, 3), (4, 4)):
        pixels = (np.random.default_rng(rows).random((rows, 7, channels)) * 255).astype(np.uint8)
        image = io.read_medical(pixels)
        assert image.array.shape == (rows, 7) and not image.is_volume
        assert np.array_equal(image.array, np.asarray(Image.fromarray(pixels).convert("L"), np.float32))
    assert io.read_medical(np.zeros((9, 7, 3))).array.shape == (9, 7)  # over 4 rows: colour, as before
    assert io.read_medical(np.zeros((3, 6, 5))).array.shape == (3, 6, 5)  # a volume stays one
    assert io.read_medical(np.zeros((3, 64, 64), np.float32)).is_volume  # channel-first-like (C, H, W) too
    with pytest.raises(InputError, match=r"could be a colour image \(H, W, 3\) or a volume of 3 slices.*uint8"):
        io.read_medical(np.zeros((3, 7, 3), np.float32))


def test_a_suffixless_file_is_dicom_only_when_it_reads_as_dicom(tmp_path):
    """A README in a series folder counted by name (no suffix) as a DICOM slice."""
    import shutil

    (tmp_path / "README").write_text("not a scan\n" * 20)
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "IM0001")
    assert io.is_dicom_file(tmp_path / "IM0001") and not io.is_dicom_file(tmp_path / "README")
    assert io.read_medical(tmp_path).array.shape == io.read_medical(tmp_path / "IM0001").array.shape


@pytest.mark.parametrize("affine", [np.diag([-0.5, 0.7, 1.0, 1.0]),  # x flipped
                                    np.diag([-0.5, -0.7, 1.0, 1.0]),  # LPS, as ITK writes
                                    np.array([[0, -0.7, 0, 0], [0.5, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1]])])
def test_a_2d_nifti_off_ras_reads_reoriented_to_canonical_and_its_mask_writes_back_on_its_grid(tmp_path, affine):
    """A 2-D NIfTI whose affine is not RAS failed: nibabel's as_closest_canonical wants three axes."""
    import nibabel as nib

    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "slice.nii.gz")
    image = io.read_nifti(tmp_path / "slice.nii.gz")
    # the same pixels resampled to RAS by nibabel, then read: the picture a RAS file of this slice gives
    canonical = nib.as_closest_canonical(nib.Nifti1Image(data[..., None], affine))
    nib.save(canonical, tmp_path / "ras.nii.gz")
    expected = io.read_nifti(tmp_path / "ras.nii.gz")
    assert not image.is_volume and np.array_equal(image.array, expected.array)
    assert image.spacing == pytest.approx(expected.spacing)
    written = nib.load(io.write_nifti(image.array, tmp_path / "back.nii.gz", like=image))
    assert written.shape == (3, 4) and np.allclose(written.affine, affine)
    assert np.array_equal(np.asarray(written.dataobj), data)
