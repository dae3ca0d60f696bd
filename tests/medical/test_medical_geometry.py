"""Medical fixes: anonymised DICOM export at every nesting level, Enhanced multi-frame DICOM geometry and values, masks
of single DICOM files on the file's grid, DICOM series against NIfTI masks, one-slice NIfTI files, volume classification."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InputError
from medical import io

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402


def _identified_ct(path, series_uid):
    """CT_small carrying identity at the top level, in a sequence item and in a private tag."""
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.PatientName, dataset.PatientID, dataset.PatientBirthName = "Doe^Jane", "MRN123456", "Smith^Jane"
    dataset.ContentDate, dataset.AcquisitionDateTime = "20240105", "20240105101010"
    dataset.ImageComments = "Jane Doe, MRN123456, follow-up"
    dataset.SeriesInstanceUID = series_uid
    other = Dataset()
    other.PatientID = "MRN654321"
    dataset.OtherPatientIDsSequence = Sequence([other])
    source = Dataset()
    source.PatientName, source.PatientID, source.InstitutionName = "Doe^Jane", "MRN123456", "St Elsewhere"
    source.ReferencedSOPClassUID = dataset.SOPClassUID
    source.ReferencedSOPInstanceUID = "1.2.3.4.5.6"
    source.add_new(0x00091010, "LO", "private MRN123456")
    source.StudyDate, source.DerivationDescription = "20240101", "from Doe^Jane"
    dataset.SourceImageSequence = Sequence([source])
    dataset.save_as(path)
    return dataset


def _every_element(dataset):
    found = []
    dataset.walk(lambda holder, element: found.append((holder is dataset, element)))
    return found


def test_anonymised_export_removes_identity_at_every_level(tmp_path):
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    original = [_identified_ct(source_dir / f"{k}.dcm", "1.2.3.99") for k in range(2)]
    outs = [io.export_dicom(source_dir / f"{k}.dcm", tmp_path / "out") for k in range(2)]
    for out in outs:
        raw = out.read_bytes()
        for secret in (b"MRN123456", b"MRN654321", b"Doe^Jane", b"Smith^Jane", b"St Elsewhere", b"20240105",
                       b"20240101", b"1.2.3.99", b"1.2.3.4.5.6"):
            assert secret not in raw, secret
        dataset = pydicom.dcmread(out)
        assert str(dataset.PatientName) == "ANONYMOUS" and dataset.PatientIdentityRemoved == "YES"
        for top, element in _every_element(dataset):
            assert not element.tag.is_private
            assert "Comments" not in element.keyword
            if element.VR == "PN" and not (top and element.keyword == "PatientName"):
                assert not element.value, element
            if element.VR in ("DA", "DT", "TM"):
                assert not element.value, element
        assert "OtherPatientIDsSequence" not in dataset
        item = dataset.SourceImageSequence[0]
        assert "PatientName" not in item and "PatientID" not in item and "InstitutionName" not in item
        assert item.ReferencedSOPClassUID == original[0].SOPClassUID  # a well-known UID stays
        assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
        assert io.read_medical(out).array.shape == (128, 128)
    first, second = (pydicom.dcmread(out) for out in outs)
    assert first.SeriesInstanceUID == second.SeriesInstanceUID != "1.2.3.99"  # still one series


def test_anonymised_export_can_keep_dates(tmp_path):
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.ContentDate = "20240105"
    io.anonymize_dataset(dataset, keep_dates=True)
    assert dataset.ContentDate == "20240105" and dataset.LongitudinalTemporalInformationModified == "UNMODIFIED"


def _enhanced_ct(path, positions, spacings=None, per_frame_intercept=None):
    """An Enhanced CT file (4 frames of 32 x 40) with geometry and rescale only in its functional groups."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    enhanced_ct = "1.2.840.10008.5.1.4.1.1.2.1"
    frames = len(positions)
    stored = np.full((frames, 32, 40), 24, np.uint16)
    stored[:, 8:24, 10:30] = 1064
    for k in range(frames):
        stored[k, 0, 0] = 100 + k  # tells the frames apart
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = enhanced_ct, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta, dataset.preamble = meta, b"\0" * 128
    dataset.SOPClassUID, dataset.SOPInstanceUID, dataset.Modality = enhanced_ct, meta.MediaStorageSOPInstanceUID, "CT"
    dataset.Rows, dataset.Columns, dataset.NumberOfFrames = 32, 40, frames
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing, measures.SliceThickness, measures.SpacingBetweenSlices = [0.5, 0.6], 2.5, 2.5
    shared.PixelMeasuresSequence = Sequence([measures])
    plane = Dataset()
    plane.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([plane])
    rescale = Dataset()
    rescale.RescaleIntercept, rescale.RescaleSlope, rescale.RescaleType = -1024, 1, "HU"
    shared.PixelValueTransformationSequence = Sequence([rescale])
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    items = []
    for k, z in enumerate(positions):
        item, where = Dataset(), Dataset()
        where.ImagePositionPatient = [-10.0, -8.0, float(z)]
        item.PlanePositionSequence = Sequence([where])
        if spacings is not None:
            own = Dataset()
            own.PixelSpacing, own.SliceThickness = spacings[k], 2.5
            item.PixelMeasuresSequence = Sequence([own])
        if per_frame_intercept is not None and k == 0:
            own_rescale = Dataset()
            own_rescale.RescaleIntercept, own_rescale.RescaleSlope = per_frame_intercept, 1
            item.PixelValueTransformationSequence = Sequence([own_rescale])
        items.append(item)
    dataset.PerFrameFunctionalGroupsSequence = Sequence(items)
    dataset.PixelData = stored.tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return stored


def test_enhanced_multiframe_reads_rescale_and_geometry_from_functional_groups(tmp_path):
    import nibabel as nib

    positions = [107.5, 105.0, 102.5, 100.0]  # frames stored top to bottom
    stored = _enhanced_ct(tmp_path / "enh.dcm", positions, per_frame_intercept=-1000)
    image = io.read_medical(tmp_path / "enh.dcm")
    assert image.spacing == pytest.approx((2.5, 0.5, 0.6)) and image.array.shape == (4, 32, 40)
    assert image.array[:3, 16, 20].tolist() == [40.0, 40.0, 40.0] and image.array[:3, 30, 35].tolist() == [-1000.0] * 3
    assert image.array[3, 16, 20] == 1064 - 1000  # the first stored frame's own intercept, now the last slice
    assert [image.array[k, 0, 0] for k in range(4)] == [103 - 1024, 102 - 1024, 101 - 1024, 100 - 1000]  # ascending
    assert image.affine is not None
    # voxel (column c, row r, slice k) of the written mask lies where the DICOM tags put frame pixel (r, c)
    path = io.write_nifti(np.ones(image.array.shape, np.uint8), tmp_path / "mask.nii.gz", like=image)
    written = nib.load(path)
    assert written.get_sform(coded=True)[1] == 1 and written.header.get_zooms() == pytest.approx((0.6, 0.5, 2.5))
    for k, (r, c) in enumerate([(0, 0), (31, 39), (5, 7), (12, 3)]):
        lps = np.array([-10.0 + 0.6 * c, -8.0 + 0.5 * r, 100.0 + 2.5 * k])
        ras = (written.affine @ [c, 31 - r, k, 1])[:3]
        assert ras == pytest.approx(lps * [-1, -1, 1], abs=1e-4)
    assert stored.shape == (4, 32, 40)


def test_enhanced_multiframe_one_volume_cannot_hold_is_refused(tmp_path):
    _enhanced_ct(tmp_path / "dynamic.dcm", [100.0, 102.5, 100.0, 102.5])  # two time points at two positions
    with pytest.raises(InputError, match="2 slice positions"):
        io.read_medical(tmp_path / "dynamic.dcm")
    assert io.read_dicom(tmp_path / "dynamic.dcm", frame=2).array.shape == (32, 40)
    _enhanced_ct(tmp_path / "mixed.dcm", [100.0, 102.5], spacings=[[0.5, 0.6], [0.7, 0.7]])
    with pytest.raises(InputError, match="2 pixel spacings"):
        io.read_medical(tmp_path / "mixed.dcm")


@pytest.mark.parametrize("orientation", [[1, 0, 0, 0, 1, 0], [0.939693, 0.342020, 0, -0.342020, 0.939693, 0]])
def test_mask_of_one_dicom_slice_lies_where_the_slice_is(tmp_path, orientation):
    import nibabel as nib

    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.ImagePositionPatient, dataset.ImageOrientationPatient = [-120.0, -100.0, 37.5], orientation
    dataset.PixelSpacing = [0.8, 0.6]
    dataset.save_as(tmp_path / "slice.dcm")
    image = io.read_medical(tmp_path / "slice.dcm")
    written = nib.load(io.write_nifti(np.ones((128, 128), np.uint8), tmp_path / "mask.nii.gz", like=image))
    assert written.get_sform(coded=True)[1] == 1 and written.get_qform(coded=True)[1] == 1
    along_row, along_column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    for r, c in [(0, 0), (127, 0), (0, 127), (40, 90)]:
        lps = np.array([-120.0, -100.0, 37.5]) + c * 0.6 * along_row + r * 0.8 * along_column
        assert (written.affine @ [c, 127 - r, 0, 1])[:3] == pytest.approx(lps * [-1, -1, 1], abs=1e-4)


def _labelled_series(folder, orientation):
    """A 3-slice series of CT_small at `orientation` with spacing 0.8 x 0.6 x 2.5 mm, and labels (Z, H, W) on it."""
    folder.mkdir(parents=True)
    normal = np.cross(orientation[:3], orientation[3:])
    labels = np.zeros((3, 128, 128), np.uint8)
    labels[0, 10:30, 5:60] = 1  # not symmetric in any axis: a flip or a transposition shows
    labels[2, 70:120, 90:100] = 2
    for k in range(3):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.ImageOrientationPatient, dataset.PixelSpacing = orientation, [0.8, 0.6]
        dataset.ImagePositionPatient = list(np.array([-60.0, -40.0, 20.0]) + 2.5 * (2 - k) * normal)  # stored reversed
        dataset.SOPInstanceUID = pydicom.uid.generate_uid()
        dataset.save_as(folder / f"s{k}.dcm")
    return labels


@pytest.mark.parametrize("orientation", [[1, 0, 0, 0, 1, 0], [0.939693, 0.342020, 0, 0, 0, -1]])
def test_a_dicom_series_pairs_with_the_nifti_mask_written_for_it(tmp_path, orientation):
    import nibabel as nib

    from medical.segmentation import Segmenter

    labels = _labelled_series(tmp_path / "series", orientation)
    series = io.read_medical(tmp_path / "series")
    (tmp_path / "masks").mkdir()
    written = io.write_nifti(labels, tmp_path / "masks" / "series.nii.gz", like=series)
    (tmp_path / "pairs.csv").write_text("image,mask\nseries,masks/series.nii.gz\n")
    data = Segmenter.read_data(tmp_path / "pairs.csv")
    assert np.array_equal(data.masks[0], labels)
    # the same mask stored in another voxel order (as another tool may write it) pairs too
    image = nib.load(written)
    reorder = np.array([[1, -1], [0, 1], [2, -1]])  # i -> -j, j -> i, k -> -k
    flipped = nib.Nifti1Image(nib.orientations.apply_orientation(np.asarray(image.dataobj), reorder),
                              image.affine @ nib.orientations.inv_ornt_aff(reorder, image.shape))
    nib.save(flipped, tmp_path / "masks" / "other.nii.gz")
    (tmp_path / "pairs.csv").write_text("image,mask\nseries,masks/other.nii.gz\n")
    assert np.array_equal(Segmenter.read_data(tmp_path / "pairs.csv").masks[0], labels)
    # a mask one voxel off is another grid
    shifted = nib.Nifti1Image(np.asarray(image.dataobj), image.affine @ np.array(
        [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], float))
    nib.save(shifted, tmp_path / "masks" / "shifted.nii.gz")
    (tmp_path / "pairs.csv").write_text("image,mask\nseries,masks/shifted.nii.gz\n")
    with pytest.raises(InputError, match="another grid"):
        Segmenter.read_data(tmp_path / "pairs.csv")


@pytest.mark.parametrize("flat_world_axis", [0, 1, 2])
def test_a_one_voxel_thick_nifti_is_a_2d_image_whatever_its_flat_axis(tmp_path, flat_world_axis):
    import nibabel as nib

    data = np.arange(20 * 30, dtype=np.float32).reshape(20, 30, 1)
    in_plane = [axis for axis in range(3) if axis != flat_world_axis]
    affine = np.zeros((4, 4))
    affine[in_plane[0], 0], affine[in_plane[1], 1], affine[flat_world_axis, 2], affine[3, 3] = 0.5, 0.7, 3.0, 1.0
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "slice.nii.gz")
    image = io.read_medical(tmp_path / "slice.nii.gz")
    assert not image.is_volume and image.array.shape == (30, 20) and image.spacing == pytest.approx((0.7, 0.5))
    assert image.array[29, 0] == data[0, 0, 0] and image.array[0, 19] == data[19, 29, 0]  # rows run up the 2nd axis
    mask = (image.array > 300).astype(np.uint8)
    written = nib.load(io.write_nifti(mask, tmp_path / "mask.nii.gz", like=image))
    assert written.shape == (20, 30, 1) and np.array_equal(np.asarray(written.dataobj), (data > 300).astype(np.uint8))
    assert np.allclose(written.affine, affine)


def test_classifying_a_volume_says_which_slice_was_looked_at(tmp_path):
    import nibabel as nib

    from medical.classification import MedicalClassifier

    config = MedicalClassifier.Config(architecture="test_resnet", pretrained=False, image_size=32, epochs=1,
                                      batch_size=4, max_steps=2)
    model = MedicalClassifier.from_config(config, ["abnormal", "normal"], device="cpu")
    volume = np.random.default_rng(0).random((40, 36, 10)).astype(np.float32)
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / "scan.nii.gz")
    [record] = model.predict(tmp_path / "scan.nii.gz")
    assert len(record["warnings"]) == 1 and record["warnings"][0].startswith("scan.nii.gz: a volume of 10 slices")
    assert "slice 5" in record["warnings"][0]
    middle = volume[:, :, 5].T[::-1]  # the axial slice as a 2D image: what was scored
    assert model.predict(np.ascontiguousarray(middle))[0]["probabilities"] == record["probabilities"]
    assert model.predict(np.ascontiguousarray(middle))[0]["warnings"] == []


def test_anonymised_export_is_not_named_after_the_source(tmp_path):
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    source = source_dir / "DOE_JOHN_MRN12345_CT.dcm"
    _identified_ct(source, "1.2.3.99")
    out = io.export_dicom(source, tmp_path / "out")
    assert "DOE" not in out.name and "MRN" not in out.name and out.suffix == ".dcm"
    assert out.name == f"anonymised_{pydicom.dcmread(out).SOPInstanceUID}.dcm"
    assert io.export_dicom(source, tmp_path / "out") == out  # the same source, the same name
    kept = io.export_dicom(source, tmp_path / "kept", anonymize=False)
    assert kept.name == source.name


def test_anonymised_export_removes_the_profiles_free_text_at_every_level(tmp_path):
    source_dir = tmp_path / "in"
    source_dir.mkdir()
    dataset = _identified_ct(source_dir / "ct.dcm", "1.2.3.99")
    item = Dataset()
    item.ValueType, item.TextValue = "TEXT", "Patient John Doe, MRN12345, seen by Dr Smith"
    dataset.ContentSequence = Sequence([item])
    dataset.ContrastBolusAgent = "Contrast for MRN12345"
    dataset.RTPlanLabel = "Doe MRN12345"
    dataset.ReasonForVisit = "John Doe fell, MRN12345"
    dataset.save_as(source_dir / "ct.dcm")
    out = io.export_dicom(source_dir / "ct.dcm", tmp_path / "out")
    assert b"MRN12345" not in out.read_bytes() and b"Doe" not in out.read_bytes()
    written = pydicom.dcmread(out)
    assert "TextValue" not in written.ContentSequence[0] and "ReasonForVisit" not in written
    assert written.ContrastBolusAgent == "" and written.RTPlanLabel == io.DUMMY_TEXT
    assert io.read_medical(out).array.shape == (128, 128)
    from pydicom import datadict
    for keyword in io.FREE_TEXT_REMOVED + io.FREE_TEXT_BLANKED + io.FREE_TEXT_DUMMY:  # all real free-text keywords
        assert datadict.dictionary_VR(datadict.tag_for_keyword(keyword)) in ("LO", "SH", "ST", "LT", "UT", "UN")


@pytest.mark.parametrize("flat_axis", [0, 1, 2])
def test_a_one_voxel_thick_4d_nifti_is_a_2d_image_of_its_first_volume(tmp_path, flat_axis):
    import nibabel as nib

    shape = [20, 30]
    shape.insert(flat_axis, 1)
    data = np.arange(20 * 30 * 3, dtype=np.float32).reshape(*shape, 3)
    affine = np.diag([0.5, 0.7, 3.0, 1.0])
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "series.nii.gz")
    nib.save(nib.Nifti1Image(data[..., 0], affine), tmp_path / "first.nii.gz")
    image, first = io.read_medical(tmp_path / "series.nii.gz"), io.read_medical(tmp_path / "first.nii.gz")
    assert not image.is_volume and image.array.shape == first.array.shape and image.spacing == first.spacing
    assert np.array_equal(image.array, first.array)
    assert "3 volumes" in image.metadata["warnings"][0] and "only the first" in image.metadata["warnings"][0]
    mask = (image.array > 300).astype(np.uint8)
    written = nib.load(io.write_nifti(mask, tmp_path / "mask.nii.gz", like=image))
    assert written.shape[:3] == tuple(shape)
    assert np.array_equal(np.asarray(written.dataobj).reshape(shape), (data[..., 0] > 300).astype(np.uint8))


def test_a_series_without_positions_and_a_nifti_mask_are_paired_with_a_warning_and_refused_if_slices_differ(tmp_path):
    """A DICOM series without ImagePositionPatient / ImageOrientationPatient has no place in space: its NIfTI mask was
    paired with it slice by slice, silently. Now the pairing is said (check-data's and the card's warning) and a mask
    with another slice count is refused naming the reason."""
    import nibabel as nib

    from medical.segmentation import Segmenter

    folder = tmp_path / "series"
    folder.mkdir()
    for k in range(3):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        del dataset.ImagePositionPatient, dataset.ImageOrientationPatient
        dataset.SOPInstanceUID, dataset.InstanceNumber = pydicom.uid.generate_uid(), k + 1
        dataset.save_as(folder / f"s{k}.dcm")
    assert io.read_medical(folder).affine is None
    (tmp_path / "masks").mkdir()
    labels = np.zeros((128, 128, 3), np.uint8)
    labels[10:30, 5:60, 1] = 1
    nib.save(nib.Nifti1Image(labels, np.diag([0.6, 0.8, 2.5, 1.0])), tmp_path / "masks" / "series.nii.gz")
    (tmp_path / "pairs.csv").write_text("image,mask\nseries,masks/series.nii.gz\n")
    with pytest.warns(UserWarning, match="slice by slice in stored order, unchecked"):
        data = Segmenter.read_data(tmp_path / "pairs.csv")
    assert "InstanceNumber order" in data.warnings[0] and data.masks[0].shape == (3, 128, 128)
    report = Segmenter.check_data(tmp_path / "pairs.csv")
    assert "masks/series.nii.gz is paired with series slice by slice" in report["warning"]
    nib.save(nib.Nifti1Image(np.zeros((128, 128, 4), np.uint8), np.eye(4)), tmp_path / "masks" / "series.nii.gz")
    with pytest.raises(InputError, match="has 4 slices and series 3, and series has no position in space"):
        Segmenter.read_data(tmp_path / "pairs.csv")
