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
