"""Medical image IO: DICOM files and series, NIfTI volumes, PNG/JPEG (16-bit too), CT windowing, anonymised export.

Every reader returns a `MedicalImage`: a float32 array (2D `(H, W)` or 3D `(Z, H, W)`), voxel spacing in mm
(same axis order) and what is known about orientation and modality. Nothing here writes into an input folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.data.paths import read_file_object, require_path, sniff_kind
from core.errors import InputError

__all__ = [
    "MedicalImage", "WINDOW_PRESETS", "read_medical", "read_dicom", "read_dicom_series", "read_nifti", "read_picture",
    "apply_window", "to_uint8", "anonymize_dataset", "export_dicom", "write_nifti", "IDENTIFYING_TAGS",
    "FREE_TEXT_REMOVED", "FREE_TEXT_BLANKED", "FREE_TEXT_DUMMY",
    "MEDICAL_SUFFIXES", "is_medical_file", "is_dicom_file", "index_to_world", "on_image_grid",
]

# (center, width) in Hounsfield units; the usual radiology presets.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40.0, 80.0),
    "subdural": (75.0, 215.0),
    "stroke": (32.0, 8.0),
    "soft_tissue": (40.0, 400.0),
    "mediastinum": (50.0, 350.0),
    "liver": (60.0, 160.0),
    "lung": (-600.0, 1500.0),
    "bone": (400.0, 1800.0),
}

# PIL's "L" weights for R, G, B (ITU-R 601-2 luma): how every colour input becomes grey (`_to_grey`)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

MEDICAL_SUFFIXES = {".dcm", ".dicom", ".nii", ".gz", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

# DICOM attributes that identify a patient, operator, device or institution, or are free text that may name them, after
# the DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile: `anonymize_dataset` removes them at every
# nesting level (the top-level PatientName / PatientID become "ANONYMOUS"). It also blanks every person name (PN),
# removes every comment, blanks dates and times and replaces instance UIDs, which no list of names can cover.
IDENTIFYING_TAGS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientBirthTime", "PatientSex", "PatientAge", "PatientAddress",
    "PatientTelephoneNumbers", "OtherPatientIDs", "OtherPatientNames", "OtherPatientIDsSequence", "PatientMotherBirthName",
    "MilitaryRank", "EthnicGroup", "PatientComments", "ReferringPhysicianName", "PerformingPhysicianName",
    "OperatorsName", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "RequestingPhysician", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "AccessionNumber", "StudyID",
    "DeviceSerialNumber", "IssuerOfPatientID", "PatientInsurancePlanCodeSequence", "MedicalRecordLocator",
    "PatientBirthName", "PatientSize", "PatientWeight", "PatientTelecomInformation", "PatientReligiousPreference",
    "PatientBirthDateInAlternativeCalendar", "PatientDeathDateInAlternativeCalendar", "PatientAlternativeCalendar",
    "PatientInstitutionResidence", "PatientState", "PatientTransportArrangements", "Occupation",
    "AdditionalPatientHistory", "CountryOfResidence", "RegionOfResidence", "MedicalAlerts", "Allergies", "SmokingStatus",
    "PregnancyStatus", "LastMenstrualDate", "SpecialNeeds", "ResponsiblePerson", "ResponsibleOrganization",
    "IssuerOfPatientIDQualifiersSequence", "PersonAddress", "PersonTelephoneNumbers", "PersonTelecomInformation",
    "PersonIdentificationCodeSequence", "InstitutionCodeSequence", "InstitutionalDepartmentTypeCodeSequence",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "ReferringPhysicianIdentificationSequence",
    "PhysiciansOfRecordIdentificationSequence", "PerformingPhysicianIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence", "OperatorIdentificationSequence",
    "ConsultingPhysicianIdentificationSequence", "AdmissionID", "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "CurrentPatientLocation", "ServiceEpisodeID",
    "ServiceEpisodeDescription", "RequestedProcedureID", "RequestedProcedureDescription", "ReasonForStudy",
    "ReasonForTheRequestedProcedure", "RequestingService", "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription", "ScheduledStationName", "ScheduledStationAETitle", "PerformedProcedureStepID",
    "PerformedProcedureStepDescription", "PerformedStationName", "PerformedStationAETitle", "PerformedLocation",
    "StudyDescription", "SeriesDescription", "ProtocolName", "DerivationDescription", "TextString", "TopicTitle",
    "TopicAuthor", "TopicKeywords", "TopicSubject", "VerifyingOrganization", "InstanceCreatorUID", "DeviceUID",
    "DigitalSignaturesSequence", "OriginalAttributesSequence", "ModifiedAttributesSequence", "RequestAttributesSequence",
    "ReferencedPatientSequence", "ReferencedPatientPhotoSequence", "ReferencedPatientAliasSequence",
    "PatientClinicalTrialParticipationSequence", "ClinicalTrialSponsorName", "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID", "ClinicalTrialSiteName", "ClinicalTrialCoordinatingCenterName",
    "ClinicalTrialTimePointDescription", "ClinicalTrialSeriesDescription", "ClinicalTrialProtocolEthicsCommitteeName",
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber", "DetectorID", "GantryID", "SourceSerialNumber", "PlateID",
    "CassetteID", "UniqueDeviceIdentifier",
)

# The free text (LO, SH, ST, LT, UT, UN) that PS3.15 Table E.1-1 lists beyond `IDENTIFYING_TAGS`, where a name, an ID or
# a place is typed: an SR's TextValue, a ContrastBolusAgent "for MRN12345", RT plan names, specimen and order numbers.
# Removed (X, X/Z, X/D):
FREE_TEXT_REMOVED = (
    "AcquisitionContextDescription", "AcquisitionDeviceProcessingDescription", "AcquisitionProtocolDescription",
    "AddressTrial", "AnnotationGroupDescription", "Arbitrary", "BarcodeValue", "BeamDescription",
    "BolusDescription", "BranchOfService", "CameraOwnerName", "ChannelDerivationDescription", "ChannelLabel",
    "ClinicalTrialSeriesID", "CommentsOnRadiationDose", "CommentsOnThePerformedProcedureStep",
    "CompensatorDescription", "ConfidentialityConstraintOnPatientDataDescription", "ContainerComponentID",
    "ContainerDescription", "ContributionDescription", "DecompositionDescription", "DeviceDescription",
    "DischargeDiagnosisDescription", "DisplacementReferenceLabel", "DistributionAddress",
    "DoseReferenceDescription", "EntityDescription", "EntityName", "EquipmentFrameOfReferenceDescription",
    "FilterLookupTableDescription", "FixationDeviceDescription", "FractionGroupDescription", "GPSMapDatum",
    "GPSSatellites", "GeneratorID", "HardcopyCreationDeviceID", "HumanPerformerOrganization", "Impressions",
    "InsurancePlanIdentification", "InterpretationDiagnosisDescription", "InterpretationID",
    "InterpretationIDIssuer", "InterpretationText", "IssuerOfAdmissionID", "IssuerOfClinicalTrialProtocolID",
    "IssuerOfClinicalTrialSeriesID", "IssuerOfClinicalTrialSiteID", "IssuerOfClinicalTrialSubjectID",
    "IssuerOfClinicalTrialSubjectReadingID", "IssuerOfClinicalTrialTimePointID", "IssuerOfServiceEpisodeID",
    "LabelText", "LensMake", "LensModel", "LensSerialNumber", "LongDeviceDescription", "ModifiedImageDescription",
    "MultienergyAcquisitionDescription", "MultiplexGroupLabel", "OrderCallbackPhoneNumber",
    "OrderCallbackTelecomInformation", "OrderEntererLocation", "PatientSetupPhotoDescription",
    "PatientTreatmentPreparationMethodDescription", "PatientTreatmentPreparationProcedureParameterDescription",
    "PositionAcquisitionTemplateDescription", "PositionAcquisitionTemplateName", "PreMedication",
    "PrescriptionDescription", "PriorTreatmentDoseDescription", "PyramidDescription", "PyramidLabel",
    "ROIDescription", "ROIGenerationDescription", "ROIObservationDescription", "ROIObservationLabel",
    "RTPlanDescription", "RTPlanName", "RTTreatmentApproachLabel", "ReasonForOmissionDescription",
    "ReasonForTheImagingServiceRequest", "ReasonForVisit", "RequestedContrastAgent", "RequestedProcedureLocation",
    "RequestedSeriesDescription", "RespiratoryMotionCompensationTechniqueDescription", "ResultsID",
    "ResultsIDIssuer", "ScheduledPatientInstitutionResidence", "ScheduledProcedureStepLocation",
    "ScheduledStudyLocation", "SecondaryCaptureDeviceID", "SetupTechniqueDescription", "ShieldingDeviceDescription",
    "SlideIdentifier", "SourceManufacturer", "SpecimenAccessionNumber", "SpecimenDetailedDescription",
    "SpecimenShortDescription", "StructureSetDescription", "StructureSetName", "StudyIDIssuer",
    "TelephoneNumberTrial", "TextValue", "TimezoneOffsetFromUTC", "TreatmentMachineName", "TreatmentSite",
    "TreatmentSites", "WaveformFilterDescription", "XRayDetectorLabel",
)
# blanked (Z, Z/D):
FREE_TEXT_BLANKED = (
    "ClinicalTrialProtocolName", "ClinicalTrialSiteID", "ClinicalTrialTimePointID",
    "ConceptualVolumeCombinationDescription", "ConceptualVolumeDescription", "ContrastBolusAgent",
    "FillerOrderNumberImagingServiceRequest", "FractionationNotes", "ManufacturerDeviceIdentifier",
    "PlacerOrderNumberImagingServiceRequest", "PrescriptionNotes", "ROIName", "RTAccessoryDeviceSlotID",
    "RTAccessoryHolderSlotID", "RTPhysicianIntentNarrative", "RadiationGenerationModeDescription",
    "ReasonForSuperseding", "SourceOfPreviousValues", "TreatmentTechniqueNotes",
)
# given the dummy value "ANONYMISED" (D: the attribute must keep a value):
FREE_TEXT_DUMMY = (
    "AcquisitionFieldOfViewLabel", "AnnotationGroupLabel", "ClinicalTrialProtocolID", "ContainerIdentifier",
    "DeviceLabel", "EntityLabel", "EntityLongLabel", "InterlockDescription", "InterlockOriginDescription",
    "ModifyingSystem", "RTPlanLabel", "RTPrescriptionLabel", "RTToleranceSetLabel",
    "RadiationDoseIdentificationLabel", "RadiationDoseInVivoMeasurementLabel", "RadiationGenerationModeLabel",
    "SelectorLOValue", "SelectorLTValue", "SelectorSHValue", "SelectorSTValue", "SelectorUNValue",
    "SelectorUTValue", "SpecimenIdentifier", "StructureSetLabel", "TreatmentPositionGroupLabel",
    "TreatmentToleranceViolationDescription", "UnformattedTextValue", "UserContentLabel", "UserContentLongLabel",
)
DUMMY_TEXT = "ANONYMISED"

# what `anonymize_dataset` writes into DeidentificationMethod (LO values, 64 characters at most): what it did
DEIDENTIFICATION_METHOD = "Verticals: IDs, names, comments, private tags, UIDs (PS3.15)"


@dataclass
class MedicalImage:
    """Pixels plus geometry: `array` (H, W) or (Z, H, W) float32, `spacing` in mm per axis, `affine` (4x4) if known."""

    array: np.ndarray
    spacing: tuple[float, ...]
    modality: str = "OT"
    affine: np.ndarray | None = None
    orientation: str | None = None  # axis codes such as "RAS" (NIfTI) or "LPS" (DICOM patient frame)
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # the file's own voxel grid (NIfTI: header, shape, reorientation to RAS): `write_nifti(mask, path, like=image)`
    # writes a mask onto it, as nibabel would load the input
    source_grid: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def is_volume(self) -> bool:
        """True for a 3D `(Z, H, W)` volume."""
        return self.array.ndim == 3

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one pixel/voxel in millilitres (a 2D pixel counts as 1 mm thick)."""
        spacing = list(self.spacing) + [1.0] * (3 - len(self.spacing))
        return float(np.prod(spacing[:3])) / 1000.0


def is_medical_file(path: str | Path) -> bool:
    """True when `path` looks like an image, DICOM or NIfTI file by name.

    >>> is_medical_file("scan.nii.gz"), is_medical_file("notes.txt")
    (True, False)
    """
    name = Path(path).name.lower()
    return name.endswith((".nii", ".nii.gz", ".dcm", ".dicom")) or Path(name).suffix in MEDICAL_SUFFIXES - {".gz"}


def is_dicom_file(path: str | Path) -> bool:
    """True for a `.dcm`/`.dicom` file, one with the `DICM` marker at byte 128, or a suffix-less file pydicom reads
    as DICOM without that preamble; a suffix-less file that is none of these (a README) is not one."""
    path = Path(path)
    if path.suffix.lower() in {".dcm", ".dicom"}:
        return True
    head = _head(path, 132)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    if path.suffix or not head:
        return False
    try:
        _read_dataset(path)
    except InputError:
        return False
    return True


def _head(path: Path, size: int = 512) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def read_medical(source: Any, *, label_mask: bool = False, **options: Any) -> MedicalImage:
    """Read a DICOM file or series folder, NIfTI file, PNG/JPEG/TIFF (a path, the file's bytes or an open binary
    file), a PIL image, or wrap an array ((H, W), (H, W, 1|3|4) pixels, (Z, H, W) volume), as a `MedicalImage`.
    `label_mask=True` reads a palette (mode P) picture as its palette indices, the labels a VOC / labelme / CVAT mask
    stores, not as the grey of their colours; one whose colours are all grey is a grey mask and reads as its greys.

    >>> read_medical(np.zeros((4, 5))).array.shape, read_medical(np.zeros((4, 5, 1))).array.shape
    ((4, 5), (4, 5))
    """
    if isinstance(source, MedicalImage):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if hasattr(source, "get_fdata") and hasattr(source, "affine"):  # a nibabel image object
        return _from_nifti_image(source, "array")
    if _is_pil_image(source):  # one picture already decoded
        return _picture(source, "image", label_mask)
    if isinstance(source, (bytes, bytearray, memoryview)):  # one encoded file, not a list of numbers
        return _from_encoded(bytes(source), "bytes", label_mask=label_mask, **options)
    if hasattr(source, "read") and not isinstance(source, (str, Path)):  # an open file: its bytes are one file
        data, name = read_file_object(source, "images")  # read once; a seekable file is put back for another read
        return _from_encoded(data, Path(name).name if name else "file object", label_mask=label_mask, **options)
    if not isinstance(source, (str, Path)):
        raise InputError(f"cannot read a medical image from {type(source).__name__}; pass a path, the file's bytes, "
                         "a PIL image or a numpy array")
    path = require_path(source, "image, DICOM or NIfTI file")
    if path.is_dir():
        return read_dicom_series(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    head = _head(path, 512)
    # the DICM marker first, as for bytes: a DICOM preamble may itself be another format's header (DICOM-TIFF)
    kind = "dicom" if head[128:132] == b"DICM" else sniff_kind(head)
    name = path.name.lower()
    if kind == "gzip" or name.endswith((".nii", ".nii.gz")) or kind == "nifti":
        return read_nifti(path)
    if kind == "dicom" or name.endswith((".dcm", ".dicom")):
        return read_dicom(path, **options)
    if kind in {"png", "jpeg", "bmp", "gif", "tiff", "webp"} or Path(name).suffix in {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}:
        return read_picture(path, label_mask=label_mask)
    with contextlib.suppress(InputError):
        return read_dicom(path, **options)  # DICOM without the 128-byte preamble
    raise InputError(f"{path.name} is not a DICOM, NIfTI or image file; use .dcm, .nii/.nii.gz, .png or .jpg")


def _is_pil_image(source: Any) -> bool:
    image_module = sys.modules.get("PIL.Image")  # a PIL image means PIL is imported already
    return image_module is not None and isinstance(source, image_module.Image)


# largest decompressed .nii.gz read from bytes: a gzip bomb stops here, not in memory
MAX_DECOMPRESSED_BYTES = 4 << 30


def _from_encoded(data: bytes, name: str, label_mask: bool = False, **options: Any) -> MedicalImage:
    """One encoded file held in memory (bytes or an open file): PNG/JPEG/TIFF..., DICOM or NIfTI (.nii, .nii.gz),
    told apart by their first bytes."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes)")
    # the DICM marker first: a DICOM preamble may itself be another format's header (DICOM-TIFF dual files)
    kind = "dicom" if data[128:132] == b"DICM" else sniff_kind(data[:512])
    if kind == "gzip":
        import zlib

        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            inner = inflater.decompress(data, MAX_DECOMPRESSED_BYTES)
        except zlib.error as error:
            raise InputError(f"{name} is gzip data that does not decompress ({error}); re-export the NIfTI file") from error
        if inflater.unconsumed_tail:
            raise InputError(f"{name} decompresses to over {MAX_DECOMPRESSED_BYTES >> 30} GiB; pass its path instead")
        if sniff_kind(inner[:512]) != "nifti":
            raise InputError(f"{name} is gzip-compressed but not a NIfTI file (.nii.gz); pass a DICOM, NIfTI or "
                             "image file")
        data, kind = inner, "nifti"
    if kind == "nifti":
        import nibabel as nib

        try:
            image = nib.Nifti1Image.from_bytes(data)
        except Exception as error:
            raise InputError(f"{name} is not a readable NIfTI file ({error})") from error
        return _from_nifti_image(image, name)
    if kind == "dicom":
        return _dicom_image(_read_dataset(io.BytesIO(data), name), name, name, **options)
    if kind in {"png", "jpeg", "bmp", "gif", "tiff", "webp"}:
        from core.data.images import open_image

        return _picture(open_image(data, mode=None), name, label_mask)
    with contextlib.suppress(InputError):
        return _dicom_image(_read_dataset(io.BytesIO(data), name), name, name, **options)  # DICOM without preamble
    raise InputError(f"{name} is not a DICOM, NIfTI or image file (PNG, JPEG, TIFF...) as far as its first bytes "
                     "tell; pass the file's path")


def _from_array(array: np.ndarray) -> MedicalImage:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]  # (H, W, 1): one grey channel, not H slices of W x 1 pixels
    if array.ndim == 3 and array.shape[-1] in (3, 4) and _is_colour(array):
        array = _to_grey(array)  # (H, W, C) colour picture -> grey, as the same picture read from a file
    if array.ndim not in (2, 3) or array.size == 0 or min(array.shape) == 0:
        raise InputError(f"an image must be 2D (H, W) or a 3D volume (Z, H, W); got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or array.dtype == np.complex128:
        raise InputError(f"image arrays must be numeric, got {array.dtype}")
    array = array.astype(np.float32, copy=False)
    return _read_as_finite(MedicalImage(array, (1.0,) * array.ndim, source="array"), "array")


def _read_as_finite(image: MedicalImage, name: str) -> MedicalImage:
    """`image` with its NaN / infinite voxels read as 0 and said, one rule for every reader (NIfTI, DICOM, pictures,
    arrays): a note naming `name` in `metadata["warnings"]` (a predict record's `warnings`, check-data's `warning`) and
    the count in `metadata["nonfinite_voxels"]` (a mask reader refuses those: a NaN label is no background). An image
    with no finite voxel is refused.

    >>> image = _read_as_finite(MedicalImage(np.array([[1.0, np.nan]]), (1.0, 1.0)), "a.dcm")
    >>> image.array, image.metadata["nonfinite_voxels"]
    (array([[1., 0.]]), 1)
    """
    finite = np.isfinite(image.array)
    if finite.all():
        return image
    if not finite.any():
        raise InputError(f"{name} holds no finite voxel (every value is NaN or infinite); the image is empty, "
                         "re-export it")
    bad = int(image.array.size - finite.sum())  # e.g. the NaN background of a masked map: read as 0, and said
    note = (f"{name}: {bad} voxel(s) ({bad / image.array.size:.1%}) are NaN or infinite and were read as 0 (e.g. the "
            "background of a masked map); mask or fill them if they are not background")
    metadata = {**image.metadata, "warnings": [*image.metadata.get("warnings", []), note], "nonfinite_voxels": bad}
    return replace(image, array=np.where(finite, image.array, 0).astype(image.array.dtype, copy=False),
                   metadata=metadata)


def _to_grey(pixels: np.ndarray) -> np.ndarray:
    """Colour pixels (..., 3 or 4) as grey (...) float32 by PIL's "L" conversion (ITU-R 601-2 luma: 0.299 R + 0.587 G
    + 0.114 B; alpha ignored), the one a colour picture file gets: an array, a PNG and a colour DICOM of one picture
    read alike. uint8 goes through PIL itself (its rounding too); other dtypes are weighted the same, unrounded.

    >>> _to_grey(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8))
    array([[ 76., 150.,  29.]], dtype=float32)
    """
    rgb = np.asarray(pixels)[..., :3]
    if rgb.dtype != np.uint8:
        return (rgb.astype(np.float64) @ np.array(LUMA_WEIGHTS)).astype(np.float32)
    from PIL import Image

    rows = np.ascontiguousarray(rgb.reshape(-1, rgb.shape[-2], 3))  # (rows, W, 3): any frames stacked as rows
    grey = np.asarray(Image.fromarray(rows).convert("L"), dtype=np.float32)
    return grey.reshape(rgb.shape[:-1])


def _is_colour(array: np.ndarray) -> bool:
    """Whether a 3D array whose last axis is 3 or 4 is an (H, W, RGB[A]) picture rather than a (Z, H, W) volume.
    Over 4 rows it is a picture (a volume 3-4 voxels wide is implausible), as is uint8 (pixels, not intensities);
    a non-uint8 array of 1-4 rows may be either (a short colour strip, or a few slices 3-4 voxels wide): refused.

    >>> _is_colour(np.zeros((3, 9, 3), np.uint8)), _is_colour(np.zeros((9, 9, 3)))
    (True, True)
    """
    if array.shape[0] > 4 or array.dtype == np.uint8:
        return True
    raise InputError(f"an array of shape {array.shape} ({array.dtype}) could be a colour image (H, W, "
                     f"{array.shape[-1]}) or a volume of {array.shape[0]} slices {array.shape[-1]} voxels wide; "
                     "pass a colour image as uint8 pixels or a PIL image, a grey image as (H, W), or a volume as "
                     "a NIfTI file or DICOM series")


def read_picture(path: str | Path, label_mask: bool = False) -> MedicalImage:
    """Read PNG/JPEG/TIFF keeping the full bit depth (16-bit PNG stays 0..65535); colour becomes grey, except that
    with `label_mask=True` a palette (mode P) picture gives its palette indices (a label mask's labels), or its greys
    when every colour it uses is a grey.

    >>> import tempfile; from PIL import Image; p = Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.fromarray(np.full((2, 3), 40000, np.uint16)).save(p); float(read_picture(p).array.max())
    40000.0
    """
    from core.data.images import open_image

    return _picture(open_image(path, mode=None), str(path), label_mask)


def _picture(image: Any, source: str, label_mask: bool = False) -> MedicalImage:
    """A decoded PIL image as a grey `MedicalImage` (16-bit and float modes keep their values); a palette image read
    as a `label_mask` gives its indices, which are the labels (PIL, torchvision and MONAI read them so), unless every
    colour it uses is a grey: then it is a grey mask stored as a palette (PIL's quantize, a GIF) and reads as its greys.

    >>> from PIL import Image; mask = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    >>> mask.putpalette([0, 0, 0, 128, 0, 0]); _picture(mask, "m", label_mask=True).array
    array([[0., 1.]], dtype=float32)
    >>> mask.putpalette([255, 255, 255, 0, 0, 0]); _picture(mask, "m", label_mask=True).array
    array([[255.,   0.]], dtype=float32)
    """
    if image.width == 0 or image.height == 0:
        raise InputError(f"{source} has zero width or height")
    if label_mask and image.mode in ("P", "PA"):
        indices = np.asarray(image.getchannel(0))  # (H, W) palette indices
        if _palette_is_grey(image, indices):  # the index order of a grey picture's palette is arbitrary
            array = np.asarray(image.convert("L"), dtype=np.float32)
        else:
            array = indices.astype(np.float32)
    elif image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float32)
    elif image.mode in ("L", "1", "P", "LA", "RGB", "RGBA", "CMYK", "YCbCr"):
        array = np.asarray(image.convert("L"), dtype=np.float32)
    else:
        array = np.asarray(image.convert("L"), dtype=np.float32)
    return _read_as_finite(MedicalImage(array, (1.0, 1.0), modality="OT", source=source, metadata={"mode": image.mode}),
                           Path(source).name)  # a float TIFF may hold NaN


def _palette_is_grey(image: Any, indices: np.ndarray) -> bool:
    """Whether every palette entry `indices` uses is a grey (R = G = B); an index past the palette's end is not."""
    palette = np.asarray(image.getpalette("RGB") or [], dtype=np.int32).reshape(-1, 3)  # (entries, RGB)
    used = np.unique(indices)
    if used.size == 0 or int(used.max()) >= len(palette):
        return False
    colours = palette[used]
    return bool(np.all(colours == colours[:, :1]))


def _dicom_pixels(dataset, name: str) -> np.ndarray:
    if "PixelData" not in dataset and "FloatPixelData" not in dataset and "DoubleFloatPixelData" not in dataset:
        raise InputError(f"{name} has no pixel data (it is a {dataset.get('Modality', 'non-image')} object such as a "
                         "report, structure set or plan); pass an image DICOM")
    already_rgb = hasattr(dataset, "pixel_array_options")  # pydicom >= 3: YBR decodes to RGB (as_rgb=True)
    try:
        if already_rgb:
            dataset.pixel_array_options(as_rgb=True)
        pixels = dataset.pixel_array
    except Exception as error:  # pydicom raises many types for bad/compressed data
        raise InputError(f"cannot decode the pixels of {name} ({error}); the file is truncated or uses a "
                         "compression whose decoder is not installed (pylibjpeg / gdcm)") from error
    pixels = np.asarray(pixels)
    photometric = str(dataset.get("PhotometricInterpretation", ""))
    samples = int(dataset.get("SamplesPerPixel", 1))
    if photometric == "PALETTE COLOR" and samples == 1:  # its pixels index a colour table: read the colours they show
        pixels = _palette_colours(dataset, pixels, name)
        samples = 3
    if samples > 1:
        if photometric in ("YBR_FULL", "YBR_FULL_422") and not already_rgb:  # pydicom 2 leaves them YCbCr
            from pydicom.pixel_data_handlers.util import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        pixels = _to_grey(pixels)
    pixels = pixels.astype(np.float32)
    if photometric == "MONOCHROME1" and samples == 1:  # low values are bright: invert so bright means high everywhere
        pixels = _stored_range_sum(dataset) - pixels
    slope, intercept = _rescale(dataset, pixels.ndim)
    with np.errstate(over="ignore", invalid="ignore"):  # NaN / inf (float pixel data, a rescale past float32): said by
        return pixels * slope + intercept  # _read_as_finite, which reads them as 0


def _palette_colours(dataset, pixels: np.ndarray, name: str) -> np.ndarray:
    """A PALETTE COLOR image's indices looked up in its Red/Green/Blue Palette Color LUTs (PS3.3 C.7.6.3.1.5, segmented
    LUTs too), as (..., 3) RGB on a 0..255 scale (16-bit entries divided by 257), the picture a viewer shows."""
    from pydicom.pixels import apply_color_lut

    try:
        colours = apply_color_lut(pixels, dataset)
    except Exception as error:  # missing or malformed LUT descriptors / data
        raise InputError(f"{name} is a PALETTE COLOR image whose colour table cannot be read ({error}); add its "
                         "Red/Green/Blue Palette Color Lookup Table descriptors and data, or convert it to RGB") from error
    if colours.dtype == np.uint8:
        return colours
    return colours.astype(np.float32) / 257.0  # 16-bit entries: 65535 is full scale, as 255 is for 8-bit ones


def _is_enhanced(dataset) -> bool:
    """An Enhanced (multi-frame) image: geometry and rescale sit in its functional groups, not at the top level."""
    return "SharedFunctionalGroupsSequence" in dataset or "PerFrameFunctionalGroupsSequence" in dataset


def _functional(dataset, frame: int, macro: str, keyword: str) -> Any:
    """`keyword` of an Enhanced file's functional group `macro` (e.g. PixelMeasuresSequence) for `frame` (0-based):
    the frame's own group first, then the shared one (PS3.3 C.7.6.16), then the top level; None when none holds it."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame), ("SharedFunctionalGroupsSequence", 0)):
        items = dataset.get(groups)
        if items and index < len(items):
            inner = items[index].get(macro)
            if inner and inner[0].get(keyword) not in (None, ""):
                return inner[0].get(keyword)
    value = dataset.get(keyword)
    return None if value in (None, "") else value


def _frame_count(dataset) -> int:
    return int(dataset.get("NumberOfFrames", 1) or 1)


def _rescale(dataset, ndim: int) -> tuple[Any, Any]:
    """RescaleSlope and RescaleIntercept: the top level's, or an Enhanced file's Pixel Value Transformation per frame
    ((frames, 1, 1) arrays for a (frames, H, W) array), as PS3.3 places them for Enhanced CT / MR / PET."""
    if not _is_enhanced(dataset):
        return float(dataset.get("RescaleSlope", 1) or 1), float(dataset.get("RescaleIntercept", 0) or 0)
    frames = _frame_count(dataset) if ndim == 3 else 1
    slopes = [float(_functional(dataset, k, "PixelValueTransformationSequence", "RescaleSlope") or 1)
              for k in range(frames)]
    intercepts = [float(_functional(dataset, k, "PixelValueTransformationSequence", "RescaleIntercept") or 0)
                  for k in range(frames)]
    if ndim != 3:
        return slopes[0], intercepts[0]
    return np.asarray(slopes, np.float32)[:, None, None], np.asarray(intercepts, np.float32)[:, None, None]


def _stored_range_sum(dataset) -> float:
    """Lowest + highest value a stored pixel can take (BitsStored, PixelRepresentation): MONOCHROME1 is inverted as
    that minus the stored value, one rule for every slice of a series whatever each slice holds (0 for float data).

    >>> from pydicom import Dataset; d = Dataset(); d.BitsStored, d.PixelRepresentation = 12, 0; _stored_range_sum(d)
    4095.0
    """
    if "FloatPixelData" in dataset or "DoubleFloatPixelData" in dataset or dataset.get("BitsStored") is None:
        return 0.0  # float pixel data: plain negation
    bits = int(dataset.BitsStored)
    if int(dataset.get("PixelRepresentation", 0) or 0) == 1:
        return -1.0  # signed: -2**(bits-1) + 2**(bits-1) - 1
    return float(2**bits - 1)


def _read_dataset(path: Path | io.BytesIO, name: str | None = None):
    """A pydicom Dataset from a path or an in-memory file (`name` for messages)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    name = name or Path(path).name
    try:
        return pydicom.dcmread(path, force=False)
    except InvalidDicomError:
        if isinstance(path, io.BytesIO):
            path.seek(0)
        try:
            dataset = pydicom.dcmread(path, force=True)
        except Exception as error:
            raise InputError(f"{name} is not a DICOM file ({error})") from error
        if "SOPClassUID" not in dataset and "PixelData" not in dataset:
            raise InputError(f"{name} is not a DICOM file")
        return dataset
    except Exception as error:
        raise InputError(f"{name} is truncated or not a valid DICOM file ({error})") from error


def _dicom_spacing(dataset) -> tuple[float, float]:
    spacing = dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing")
    if spacing is None:
        return 1.0, 1.0
    return float(spacing[0]), float(spacing[1])


def _no_spacing_note(name: str) -> str:
    """What a DICOM without PixelSpacing / ImagerPixelSpacing (a secondary capture, a scanned film) is measured in."""
    return (f"{name} gives no pixel spacing (PixelSpacing / ImagerPixelSpacing): sizes are in pixels (spacing_mm 1 "
            "per pixel), so areas, volumes and distances are not in mm")


def _dicom_metadata(dataset) -> dict[str, Any]:
    keys = ("Modality", "StudyDescription", "SeriesDescription", "BodyPartExamined", "WindowCenter", "WindowWidth",
            "Rows", "Columns", "PhotometricInterpretation", "ImageOrientationPatient", "SliceThickness")
    meta = {}
    for key in keys:
        value = dataset.get(key)
        if value is None:
            continue
        if hasattr(value, "__iter__") and not isinstance(value, str):
            value = [float(v) for v in value]
        elif not isinstance(value, (int, float, str)):
            value = str(value)
        meta[key] = value
    return meta


def read_dicom(path: str | Path, frame: int | None = None) -> MedicalImage:
    """Read one DICOM file (single or multi-frame) in physical units (rescale slope/intercept applied).

    >>> from pydicom.data import get_testdata_file
    >>> image = read_dicom(get_testdata_file("CT_small.dcm")); image.modality, image.array.shape
    ('CT', (128, 128))
    """
    path = require_path(path, "DICOM file")
    return _dicom_image(_read_dataset(path), path.name, str(path), frame)


def _dicom_image(dataset, name: str, source: str, frame: int | None = None) -> MedicalImage:
    pixels = _dicom_pixels(dataset, name)
    if _is_enhanced(dataset):
        return _read_as_finite(_enhanced_image(dataset, pixels, name, source, frame), name)
    row, column = _dicom_spacing(dataset)
    frames = _frame_count(dataset)
    if pixels.ndim == 3 and frames > 1:
        if frame is not None:
            pixels = pixels[frame]
        thickness = float(dataset.get("SpacingBetweenSlices", dataset.get("SliceThickness", 1.0)) or 1.0)
        spacing: tuple[float, ...] = (thickness, row, column) if pixels.ndim == 3 else (row, column)
    else:
        spacing = (row, column)
    affine = None
    orientation, position = dataset.get("ImageOrientationPatient"), dataset.get("ImagePositionPatient")
    if pixels.ndim == 2 and frames == 1 and orientation is not None and position is not None:
        # one slice in the patient frame: its mask NIfTI goes where the slice is, as a series' does
        thickness = float(dataset.get("SliceThickness", 1.0) or 1.0)
        affine = _dicom_affine(orientation, position, (row, column), pixels.shape[0], thickness)
    metadata = _dicom_metadata(dataset)
    if (dataset.get("PixelSpacing") or dataset.get("ImagerPixelSpacing")) is None:
        metadata["warnings"] = [_no_spacing_note(name)]
    image = MedicalImage(pixels, spacing, modality=str(dataset.get("Modality", "OT")), affine=affine,
                         orientation="LPS", source=source, metadata=metadata)
    return _read_as_finite(image, name)


def _enhanced_image(dataset, pixels: np.ndarray, name: str, source: str, frame: int | None) -> MedicalImage:
    """An Enhanced multi-frame file (CT / MR / PET...) as a `MedicalImage`: pixel spacing, slice spacing, orientation
    and each frame's position from its functional groups (rescale: `_dicom_pixels`). Frames with positions are sorted
    along the slice normal, as a series' slices, and give the affine. What one volume cannot hold is refused: frames
    of several orientations or pixel spacings, or several frames at one position (time points, echoes, b-values)."""
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    chosen = range(frames) if frame is None else [frame]
    if frame is not None and not 0 <= frame < frames:
        raise InputError(f"{name} has {frames} frame(s); frame={frame} does not exist (frames count from 0)")
    measures = {(_floats(_functional(dataset, k, "PixelMeasuresSequence", "PixelSpacing")) or (1.0, 1.0))
                for k in chosen}
    orientations = {_floats(_functional(dataset, k, "PlaneOrientationSequence", "ImageOrientationPatient"))
                    for k in chosen}
    positions = [_floats(_functional(dataset, k, "PlanePositionSequence", "ImagePositionPatient")) for k in chosen]
    if len(measures) > 1 or len(orientations) > 1:
        what = f"{len(measures)} pixel spacings" if len(measures) > 1 else f"{len(orientations)} orientations"
        raise InputError(f"{name} is an Enhanced multi-frame DICOM whose frames have {what}, which no one volume can "
                         "hold; read one frame (read_dicom(path, frame=k)) or convert the file to one volume per "
                         "stack (e.g. dcm2niix)")
    row, column = next(iter(measures))
    orientation = next(iter(orientations))
    located = orientation is not None and len(orientation) == 6 and all(p is not None and len(p) == 3
                                                                          for p in positions)
    normal = np.cross(orientation[:3], orientation[3:]) if located else None
    metadata = {**_dicom_metadata(dataset), "PixelSpacing": [row, column]}
    if _floats(_functional(dataset, chosen[0], "PixelMeasuresSequence", "PixelSpacing")) is None:
        metadata["warnings"] = [_no_spacing_note(name)]
    if located:
        metadata["ImageOrientationPatient"] = list(orientation)
    first_thickness = _functional(dataset, chosen[0], "PixelMeasuresSequence", "SliceThickness")
    if pixels.ndim == 2 or frame is not None:  # one frame: a 2D image
        pixels = pixels if pixels.ndim == 2 else pixels[frame]
        affine = _dicom_affine(orientation, positions[0], (row, column), pixels.shape[0],
                               float(first_thickness or 1.0)) if located else None
        return MedicalImage(pixels, (row, column), modality=str(dataset.get("Modality", "OT")), affine=affine,
                            orientation="LPS", source=source, metadata=metadata)
    step = _functional(dataset, 0, "PixelMeasuresSequence", "SpacingBetweenSlices") or first_thickness or 1.0
    affine = None
    if located:
        along = [float(np.dot(normal, p)) for p in positions]
        order = np.argsort(along, kind="stable")
        along = [along[k] for k in order]
        distinct = len({round(a, 3) for a in along})
        if distinct < frames:
            raise InputError(f"{name} is an Enhanced multi-frame DICOM of {frames} frames at {distinct} slice "
                             "positions (several time points, echoes or b-values per position), which no one volume "
                             "can hold; read one frame (read_dicom(path, frame=k)) or split the file into one volume "
                             "per time point / echo (e.g. dcm2niix)")
        pixels = pixels[order]
        steps = np.diff(along)
        step = float(np.median(steps)) if len(steps) else float(step)
        uneven = _uneven_steps(along, step)
        if uneven:
            metadata["warnings"] = [*metadata.get("warnings", []), f"{name}: {uneven}"]
            warnings.warn(metadata["warnings"][-1], stacklevel=3)
        affine = _dicom_affine(orientation, positions[int(order[0])], (row, column), pixels.shape[1], step)
    metadata["slices"] = frames
    return MedicalImage(pixels, (float(step), row, column), modality=str(dataset.get("Modality", "OT")),
                        affine=affine, orientation="LPS", source=source, metadata=metadata)


def _floats(value: Any) -> tuple[float, ...] | None:
    """A DICOM multi-value (DS) as a tuple of floats (hashable, comparable); None for a missing value."""
    if value is None:
        return None
    return tuple(round(float(v), 6) for v in value)


def read_dicom_series(folder: str | Path) -> MedicalImage:
    """Read a folder of DICOM slices as one volume, ordered along the slice normal (then InstanceNumber)."""
    folder = require_path(folder, "DICOM series folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    slices = []
    for file in files:
        if is_dicom_file(file):
            dataset = _read_dataset(file)
            if any(key in dataset for key in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):  # float slices too
                slices.append((file, dataset))
    if not slices:
        raise InputError(f"{folder} holds no DICOM image files; pass a folder of .dcm slices")
    _refuse_mixed_series(folder, slices)
    if len(slices) == 1:
        return read_dicom(slices[0][0])

    def position(item) -> float:
        dataset = item[1]
        orientation = dataset.get("ImageOrientationPatient")
        origin = dataset.get("ImagePositionPatient")
        if orientation is not None and origin is not None:
            normal = np.cross(np.asarray(orientation[:3], float), np.asarray(orientation[3:], float))
            return float(np.dot(normal, np.asarray(origin, float)))
        return float(dataset.get("InstanceNumber", 0) or 0)

    slices.sort(key=position)
    arrays = [_dicom_pixels(d, f.name) for f, d in slices]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise InputError(f"{folder}: slices have different sizes {sorted(shapes)}; a series folder must hold one series")
    positions = [position(s) for s in slices]
    steps = np.diff(positions)
    first = slices[0][1]
    thickness = float(np.median(np.abs(steps))) if len(steps) and np.any(steps) else float(first.get("SliceThickness", 1.0) or 1.0)
    row, column = _dicom_spacing(first)
    notes, affine = [], None
    if (first.get("PixelSpacing") or first.get("ImagerPixelSpacing")) is None:
        notes.append(_no_spacing_note(folder.name))
    if all(d.get("ImagePositionPatient") is not None and d.get("ImageOrientationPatient") is not None for _, d in slices):
        uneven = _uneven_steps(positions, thickness)
        if uneven:
            notes.append(f"{folder.name}: {uneven}")
            warnings.warn(notes[-1], stacklevel=2)
        affine = _dicom_affine(first.ImageOrientationPatient, first.ImagePositionPatient, _dicom_spacing(first),
                               arrays[0].shape[0], thickness)
    metadata = {**_dicom_metadata(first), "slices": len(arrays), **({"warnings": notes} if notes else {})}
    volume = MedicalImage(np.stack(arrays), (thickness, row, column), modality=str(first.get("Modality", "OT")),
                          affine=affine, orientation="LPS", source=str(folder), metadata=metadata)
    return _read_as_finite(volume, folder.name)


def _dicom_affine(orientation, position, pixel_spacing, rows: int, step_mm: float) -> np.ndarray:
    """RAS affine (as dcm2niix / nibabel) of the NIfTI voxels `write_nifti` makes of a (Z, H, W) series or an (H, W)
    slice: x = column, y = row counted from the bottom, z = slice; from the first slice's ImageOrientationPatient and
    ImagePositionPatient, its PixelSpacing (between rows, between columns) and the slice step along the normal (a
    slice's thickness for one slice). DICOM's patient frame is LPS: x and y are negated."""
    orientation = np.asarray(orientation, float)
    along_row, along_column = orientation[:3], orientation[3:]  # direction of increasing column, of increasing row
    normal = np.cross(along_row, along_column)
    row_mm, column_mm = (float(v) for v in pixel_spacing)
    lps = np.eye(4)
    lps[:3, 0] = column_mm * along_row
    lps[:3, 1] = -row_mm * along_column  # y counts rows from the bottom (write_nifti flips H)
    lps[:3, 2] = step_mm * normal  # slices are sorted along the normal
    lps[:3, 3] = np.asarray(position, float) + (rows - 1) * row_mm * along_column
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def _uneven_steps(positions: list[float], step_mm: float) -> str | None:
    """What is wrong when slice positions (mm along the normal, sorted) are not evenly `step_mm` apart, as
    dcm2niix / ITK flag it: missing slices, or two slices at one position; None when even.

    >>> _uneven_steps([0.0, 2.5, 5.0, 7.5, 15.0], 2.5)
    'slice positions are unevenly spaced (the volume uses 2.5 mm): 7.5 -> 15 mm (7.5 mm); slices are missing or repeated, so distances and volumes along the slices are wrong; export the complete series'
    """
    tolerance = max(0.01 * step_mm, 1e-3)  # rounding in ImagePositionPatient, not a missing slice
    gaps = [f"{a:g} -> {b:g} mm ({b - a:g} mm)" for a, b in zip(positions, positions[1:])
            if abs((b - a) - step_mm) > tolerance]
    if not gaps:
        return None
    shown = "; ".join(gaps[:5]) + (f"; and {len(gaps) - 5} more" if len(gaps) > 5 else "")
    return (f"slice positions are unevenly spaced (the volume uses {step_mm:g} mm): {shown}; slices are missing or "
            "repeated, so distances and volumes along the slices are wrong; export the complete series")


def _refuse_mixed_series(folder: Path, slices: list) -> None:
    """Slices of two series (SeriesInstanceUID) stacked together interleave into one wrong volume: refused, naming each."""
    series: dict[str, list] = {}
    for file, dataset in slices:
        series.setdefault(str(dataset.get("SeriesInstanceUID", "")), []).append((file, dataset))
    if len(series) < 2:
        return
    described = []
    for uid, members in series.items():
        dataset = members[0][1]
        folders = sorted({file.parent.relative_to(folder).as_posix() for file, _ in members})
        where = ", ".join("the folder itself" if name == "." else name for name in folders)
        description = str(dataset.get("SeriesDescription", "") or "no description")
        described.append(f"UID {uid or '(none)'} '{description}' ({len(members)} slices in {where})")
    raise InputError(f"{folder} holds {len(series)} DICOM series, which would be stacked into one interleaved "
                     f"volume: {'; '.join(described)}. Put one series per folder, or pass the folder of the series "
                     "to read")


def _from_nifti_image(image, name: str) -> MedicalImage:
    import nibabel as nib

    try:
        canonical = nib.as_closest_canonical(_with_three_axes(image))
        data = np.asarray(canonical.get_fdata(dtype=np.float32))
    except (EOFError, OSError, ValueError, nib.filebasedimages.ImageFileError) as error:
        raise InputError(f"{name} is truncated or corrupt ({error}); re-export the NIfTI file") from error
    except Exception as error:  # zlib / gzip errors from truncated .nii.gz
        raise InputError(f"{name} cannot be decoded ({type(error).__name__}: {error}); re-export the NIfTI file") from error
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    notes = []
    mm_per_unit, note = _nifti_mm_per_unit(image.header, name)
    notes.extend([note] if note else [])
    zooms = tuple(float(z) * mm_per_unit for z in canonical.header.get_zooms()[:3])
    if data.ndim == 4:  # first, so that a one-slice time series is a 2D image as a one-slice volume is
        notes.append(f"{name} is 4D with {data.shape[-1]} volumes (time points or channels); only the first is used: "
                     "split it (e.g. fslsplit) to analyse the others")
        data = data[..., 0]
    flat = [axis for axis in range(3) if data.ndim == 3 and data.shape[axis] == 1]
    if flat:
        # one slice, whatever its flat axis (dcm2niix writes a sagittal slice as (117, 95, 1) with a left-right third
        # axis): a 2D image, its thickness no third axis to slide along; a sagittal or coronal plane keeps its two
        # in-plane axes in RAS order
        data = np.take(data, 0, axis=flat[-1])
        zooms = tuple(z for axis, z in enumerate(zooms) if axis != flat[-1])
    if data.ndim not in (2, 3):
        raise InputError(f"{name}: expected a 2D or 3D NIfTI image, got shape {data.shape}")
    if data.ndim == 3:
        # RAS (x, y, z) -> (Z, H, W) = axial slices, so slice k is an axial image like a DICOM series.
        array = np.ascontiguousarray(np.transpose(data, (2, 1, 0))[:, ::-1, :])
        spacing = (zooms[2], zooms[1], zooms[0])
    else:
        array = np.ascontiguousarray(data.T[::-1, :])
        spacing = (zooms[1], zooms[0])
    metadata: dict[str, Any] = {"warnings": notes} if notes else {}
    grid = {"header": image.header.copy(), "affine": np.asarray(image.affine), "shape": tuple(image.shape),
            "canonical_shape": tuple(canonical.shape), "orientation": nib.orientations.io_orientation(image.affine),
            "mm_per_unit": mm_per_unit}
    affine = np.array(canonical.affine, dtype=float)
    affine[:3, :] *= mm_per_unit  # world coordinates in mm, as a DICOM series' (a micron file's are 1000x smaller)
    read = MedicalImage(array.astype(np.float32), spacing, modality="MR/CT (NIfTI)", affine=affine,
                        orientation="RAS", source=name, metadata=metadata, source_grid=grid)
    return _read_as_finite(read, name)


# NIfTI-1 spatial units (xyzt_units, as nibabel names them) in mm
NIFTI_MM_PER_UNIT = {"mm": 1.0, "micron": 1e-3, "meter": 1e3}


def _nifti_mm_per_unit(header, name: str) -> tuple[float, str | None]:
    """How many mm one unit of the file's voxel sizes and affine is (NIfTI `xyzt_units`). A file that does not say
    (nibabel's default, nilearn's templates) is read in mm, as ITK and FSL read it, with a note only when its voxel
    sizes are implausible as mm (under 0.01 or over 50: metres or microns, likely).

    >>> import nibabel as nib; header = nib.Nifti1Header(); header.set_xyzt_units("micron")
    >>> _nifti_mm_per_unit(header, "a.nii")
    (0.001, None)
    """
    unit = header.get_xyzt_units()[0] if hasattr(header, "get_xyzt_units") else "unknown"
    if unit in NIFTI_MM_PER_UNIT:
        return NIFTI_MM_PER_UNIT[unit], None
    zooms = [float(z) for z in header.get_zooms()[:3]]
    if all(0.01 <= z <= 50 for z in zooms):
        return 1.0, None
    shown = " x ".join(f"{z:g}" for z in zooms)
    return 1.0, (f"{name} does not give its spatial unit (NIfTI xyzt_units is '{unit}') and its voxel sizes "
                 f"{shown} are implausible as mm, which they are read as (as ITK and FSL read them); if they are in "
                 "microns or metres, set the unit (nibabel: image.header.set_xyzt_units('micron')) so spacing_mm, "
                 "volumes and distances are right")


def _with_three_axes(image):
    """A 2D NIfTI image as (x, y, 1), so nibabel can reorient it to canonical as it does volumes."""
    import nibabel as nib

    if len(image.shape) != 2:
        return image
    data = np.asanyarray(image.dataobj)[..., None]  # scaled values; the copied header's slope no longer applies
    header = image.header.copy() if isinstance(image.header, nib.Nifti1Header) else None
    if header is not None:
        header.set_slope_inter(None, None)
    return nib.Nifti1Image(data, image.affine, header=header)


def read_nifti(path: str | Path) -> MedicalImage:
    """Read a NIfTI volume, reoriented to RAS, as (Z, H, W) axial slices; truncated files -> `InputError`."""
    import nibabel as nib

    path = require_path(path, "NIfTI file")
    try:
        image = nib.load(str(path))
    except Exception as error:
        raise InputError(f"{path.name} is not a readable NIfTI file ({error})") from error
    return _from_nifti_image(image, path.name)


def apply_window(array: np.ndarray, center: float | None = None, width: float | None = None,
                 preset: str | None = None) -> np.ndarray:
    """Window/level to [0, 1]: explicit center/width, a CT preset name, or the 1-99th percentiles.

    >>> apply_window(np.array([-1000.0, 40.0, 1000.0]), preset="brain").tolist()
    [0.0, 0.5, 1.0]
    """
    array = np.asarray(array, dtype=np.float32)
    if preset is not None:
        if preset not in WINDOW_PRESETS:
            raise InputError(f"unknown window preset {preset!r}; choose one of {', '.join(WINDOW_PRESETS)}")
        center, width = WINDOW_PRESETS[preset]
    if center is None or width is None:
        low, high = (np.percentile(array, [1, 99]) if array.size else (0.0, 1.0))
        high = high if high > low else low + 1.0
    else:
        if width <= 0:
            raise InputError(f"window width must be positive, got {width}")
        low, high = center - width / 2, center + width / 2
    return np.clip((array - low) / (high - low), 0.0, 1.0)


def to_uint8(array: np.ndarray, **window: Any) -> np.ndarray:
    """Windowed 8-bit copy of an image for display.

    >>> to_uint8(np.array([0.0, 5.0, 10.0]), center=5, width=10).tolist()
    [0, 128, 255]
    """
    return np.round(apply_window(array, **window) * 255).astype(np.uint8)


def anonymize_dataset(dataset, keep_dates: bool = False):
    """Remove / blank patient-identifying attributes of a pydicom Dataset in place, at every nesting level (items of
    sequences too), after the DICOM PS3.15 Basic Application Level Confidentiality Profile; returns it.

    Removed: `IDENTIFYING_TAGS`, the free text of `FREE_TEXT_REMOVED` (an SR's TextValue...), every private tag, every
    comment (`...Comments`); blanked: `FREE_TEXT_BLANKED` (ContrastBolusAgent...), every other person name (PN), and
    every date and time (DA, DT, TM) unless `keep_dates`; `FREE_TEXT_DUMMY` (labels such as RTPlanLabel) become
    "ANONYMISED". Instance UIDs (study, series, SOP instance, frame
    of reference, and their references) are replaced by UIDs derived from them, so the files of one series stay one
    series and references between them still resolve. Only then are PatientIdentityRemoved = YES and
    DeidentificationMethod set. Pixels are not looked at: text burned into the image stays (BurnedInAnnotation).

    >>> from pydicom.data import get_testdata_file; import pydicom
    >>> ds = anonymize_dataset(pydicom.dcmread(get_testdata_file("CT_small.dcm"))); str(ds.PatientName)
    'ANONYMOUS'
    """
    from pydicom.uid import UID, generate_uid

    identifying = set(IDENTIFYING_TAGS) | set(FREE_TEXT_REMOVED)
    blanked, dummy = set(FREE_TEXT_BLANKED), set(FREE_TEXT_DUMMY)
    dataset.remove_private_tags()  # recursive (Dataset.walk)

    def clean(holder, element) -> None:
        keyword = element.keyword
        if holder is dataset and keyword in ("PatientName", "PatientID"):
            element.value = "ANONYMOUS"
        elif keyword in identifying or keyword.endswith(("Comments", "Comment")):
            del holder[element.tag]
        elif keyword in blanked or keyword in dummy:
            text = DUMMY_TEXT if keyword in dummy else ""
            element.value = text.encode("ascii") if element.VR in ("UN", "OB") else text
        elif element.VR == "PN":
            element.value = ""
        elif element.VR in ("DA", "DT", "TM") and not keep_dates:
            element.value = ""
        elif element.VR == "UI" and element.value:
            element.value = [_replaced_uid(UID(str(uid)), generate_uid) for uid in element.value] \
                if element.VM > 1 else _replaced_uid(UID(str(element.value)), generate_uid)

    dataset.walk(clean)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta and "SOPInstanceUID" in dataset:
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = [DEIDENTIFICATION_METHOD, "dates and times kept" if keep_dates else
                                      "dates and times blanked"]
    dataset.LongitudinalTemporalInformationModified = "UNMODIFIED" if keep_dates else "REMOVED"
    return dataset


def _replaced_uid(uid, generate_uid) -> str:
    """A well-known UID (SOP class, transfer syntax, coding scheme: pydicom's dictionary names it) as it is; any other
    (an instance UID, which may carry a site's root and a date) as a UID derived from it, the same for every file."""
    if uid.name != str(uid):
        return str(uid)
    return str(generate_uid(entropy_srcs=["verticals-anonymise", str(uid)]))


def _refuse_input_folder(out_path: Path, inputs: list[Path]) -> None:
    out_resolved = out_path.resolve()
    for source in inputs:
        folder = (source if source.is_dir() else source.parent).resolve()
        if out_resolved == folder or folder in out_resolved.parents:
            raise InputError(f"refusing to write {out_path} inside the input folder {folder}; choose another output folder")


def export_dicom(source: str | Path, out_dir: str | Path, anonymize: bool = True) -> Path:
    """Copy a DICOM file into `out_dir` (never into the input's folder), anonymised by default; returns the new path.

    An anonymised copy is named from its new SOPInstanceUID (`anonymised_<UID>.dcm`), never from the source's name,
    which often holds the patient's name, MRN or accession number; a copy kept as it is keeps the source's name."""
    from core.artifacts import atomic_write_bytes
    from pydicom.uid import generate_uid

    source = require_path(source, "DICOM file")
    out_dir = Path(out_dir)
    _refuse_input_folder(out_dir, [source])
    dataset = _read_dataset(source)
    if anonymize:
        anonymize_dataset(dataset)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=False)
    name = source.name
    if anonymize:
        # the new (derived) SOPInstanceUID; a file without one gets a UID derived from its anonymised bytes
        uid = str(dataset.get("SOPInstanceUID", "") or "")
        if not uid or not all(part.isdigit() for part in uid.split(".")):
            uid = str(generate_uid(entropy_srcs=[buffer.getvalue().hex()]))
        name = f"anonymised_{uid}.dcm"
    return atomic_write_bytes(out_dir / name, buffer.getvalue())


def write_nifti(array: np.ndarray, path: str | Path, affine: np.ndarray | None = None,
                spacing: tuple[float, ...] | None = None, refuse_inside: list[str | Path] = (),
                like: MedicalImage | None = None) -> Path:
    """Write a (Z, H, W) / (H, W) array (e.g. a label mask) as NIfTI, inverting `read_nifti`'s axis order; `like`,
    the image the array was computed on, puts it on that image's grid (a NIfTI input: its shape, affine, qform/sform)."""
    import nibabel as nib

    from core.artifacts import atomic_write_bytes

    path = Path(path)
    _refuse_input_folder(path.parent, [Path(p) for p in refuse_inside])
    array = np.asarray(array)
    if like is not None and array.shape != like.array.shape:
        raise InputError(f"the mask has shape {array.shape} but the image {like.source} has {like.array.shape}; "
                         "a mask is written on the grid of the image it was computed on")
    data = np.transpose(array[:, ::-1, :], (2, 1, 0)) if array.ndim == 3 else array[::-1, :].T
    if like is not None:
        affine, spacing = like.affine, like.spacing
    if affine is None:
        zooms = list(spacing or (1.0,) * array.ndim)[::-1]
        affine = np.diag([*zooms, *([1.0] * (4 - len(zooms)))])
    dtype = np.uint8 if array.dtype.kind in "iub" and array.max(initial=0) < 256 else np.float32
    grid = like.source_grid if like is not None else None
    image = _on_source_grid(to_file_voxels(array.astype(dtype), like), grid) if grid else \
        nib.Nifti1Image(data.astype(dtype), affine)
    if not grid and like is not None and like.orientation == "LPS" and like.affine is not None:
        image.set_qform(affine, 1)  # a DICOM series' scanner frame, the codes dcm2niix writes
        image.set_sform(affine, 1)
    if not grid:
        image.header.set_xyzt_units("mm")  # the affine and spacing above are in mm
    suffix = ".nii.gz" if str(path).endswith(".gz") else ".nii"
    tmp = path.with_name(f".{path.name}.{os.getpid()}{suffix}")
    nib.save(image, str(tmp))
    try:
        return atomic_write_bytes(path, tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


def to_file_voxels(array: np.ndarray, image: MedicalImage) -> np.ndarray | None:
    """An array on `image.array`'s grid (e.g. its mask) in the voxel order of the NIfTI file `image` was read from, as
    `nib.load(path).get_fdata()` indexes it (spatial axes only); None when `image` is not a NIfTI file."""
    grid = image.source_grid
    if not grid:
        return None
    array = np.asarray(array)
    if array.shape != image.array.shape:
        raise InputError(f"the array has shape {array.shape} but the image {image.source} has {image.array.shape}")
    from nibabel.orientations import apply_orientation, ornt_transform

    # read_nifti's (Z, H, W) axial slices (y reversed) -> canonical RAS (x, y, z) -> as_closest_canonical undone
    data = np.transpose(array[:, ::-1, :], (2, 1, 0)) if array.ndim == 3 else array[::-1, :].T
    spatial = tuple(grid["canonical_shape"][:3])
    data = data.reshape(spatial + (1,) * (3 - len(spatial)))  # a one-slice input read as 2D gets its flat axis back
    back = ornt_transform(np.array([[0, 1], [1, 1], [2, 1]]), grid["orientation"])  # RAS -> the file's axes
    return apply_orientation(data, back).reshape(tuple(grid["shape"][:3]))


def index_to_world(image: MedicalImage) -> np.ndarray | None:
    """The 4x4 map from an index of `image.array` ((z, h, w); (0, h, w) for a 2D image) to world RAS mm, or None when
    the image has no geometry. A NIfTI file goes through its own voxel order (`to_file_voxels`); any other image with an
    affine (a DICOM file or series) through the voxels `write_nifti` makes of it: (w, h counted from the bottom, z)."""
    if image.affine is None and not image.source_grid:
        return None
    shape = image.array.shape if image.is_volume else (1, *image.array.shape)
    to_voxel = np.zeros((4, 4))
    to_voxel[3, 3] = 1.0
    if not image.source_grid:
        to_voxel[0, 2] = 1.0  # x = column
        to_voxel[1, 1], to_voxel[1, 3] = -1.0, shape[1] - 1  # y = rows from the bottom
        to_voxel[2, 0] = 1.0  # z = slice
        return np.asarray(image.affine, float) @ to_voxel
    # where each array index lands among the file's voxels: one signed axis of the array per axis of the file
    indices = [_file_order(axis, image) for axis in np.indices(image.array.shape)]
    if not image.is_volume:
        indices = [np.zeros_like(indices[0]), *indices]
    origin = [float(index[0, 0, 0]) for index in indices]
    unmatched_array, unmatched_file = [0, 1, 2], []
    for file_axis in range(3):
        if indices[0].shape[file_axis] < 2:
            unmatched_file.append(file_axis)
            continue
        step = [0, 0, 0]
        step[file_axis] = 1
        moved = [float(index[tuple(step)]) - start for index, start in zip(indices, origin)]
        array_axis = int(np.argmax(np.abs(moved)))
        to_voxel[file_axis, array_axis] = moved[array_axis]  # +1 or -1
        to_voxel[file_axis, 3] = -moved[array_axis] * origin[array_axis]
        unmatched_array.remove(array_axis)
    for file_axis, array_axis in zip(unmatched_file, unmatched_array):
        to_voxel[file_axis, array_axis] = 1.0  # one-voxel axes: index 0 on both sides
    return np.asarray(image.source_grid["affine"], float) @ to_voxel


def _file_order(array: np.ndarray, image: MedicalImage) -> np.ndarray:
    """`to_file_voxels` of `array`, as a 3D array (a 2D file gets a third axis of one voxel)."""
    stored = to_file_voxels(array, image)
    return stored.reshape(stored.shape + (1,) * (3 - stored.ndim))


def on_image_grid(mask: MedicalImage, image: MedicalImage, mask_name: str, image_name: str) -> np.ndarray:
    """`mask.array` on `image.array`'s voxel grid, when both have a geometry and the mask's voxels are the image's in
    another order (flipped or permuted axes: a NIfTI mask drawn on a DICOM series, a mask stored LPS for a RAS scan):
    the same voxel centres in world space within 1% of a voxel. A mask on another grid is refused (resample it); one
    without geometry (PNG) or on an image without one is returned as it is."""
    to_world_image, to_world_mask = index_to_world(image), index_to_world(mask)
    if to_world_image is None or to_world_mask is None:
        return mask.array
    shape = image.array.shape if image.is_volume else (1, *image.array.shape)
    mask_array = mask.array if mask.is_volume else mask.array[None]
    refused = InputError(f"{mask_name} lies on another grid than {image_name} (their voxel centres differ in world "
                         "space): resample the mask onto the image (e.g. nibabel.processing.resample_from_to) or pair "
                         "it with the image it was drawn on")
    try:
        mapping = np.linalg.solve(to_world_image, to_world_mask)  # mask index -> image index
    except np.linalg.LinAlgError:  # a degenerate affine (a zero zoom) places nothing: voxel order as stored
        return mask.array
    axes: list[int | None] = [None, None, None]  # the mask axis each image axis takes, and in which direction
    signs = [1, 1, 1]
    free = [axis for axis in range(3) if mask_array.shape[axis] > 1]
    for mask_axis in free:
        column = mapping[:3, mask_axis]
        image_axis = int(np.argmax(np.abs(column)))
        if axes[image_axis] is not None or abs(abs(column[image_axis]) - 1) > 0.01:
            raise refused  # another spacing, or axes not along the image's
        axes[image_axis], signs[image_axis] = mask_axis, int(np.sign(column[image_axis]))
    rest = [axis for axis in range(3) if axis not in free]
    axes = [axis if axis is not None else rest.pop(0) for axis in axes]
    moved = np.transpose(mask_array, axes)
    moved = moved[tuple(slice(None, None, -1) if sign < 0 else slice(None) for sign in signs)]
    if moved.shape != shape:
        raise refused
    corners = np.array([[z, h, w, 1.0] for z in (0, shape[0] - 1) for h in (0, shape[1] - 1) for w in (0, shape[2] - 1)])
    back = np.zeros((4, 4))  # image index -> mask index, of the reordering just made
    back[3, 3] = 1
    for image_axis, (mask_axis, sign) in enumerate(zip(axes, signs)):
        back[mask_axis, image_axis] = sign
        back[mask_axis, 3] = 0 if sign > 0 else mask_array.shape[mask_axis] - 1
    planar = [a for a in range(3) if shape[a] > 1]
    tolerance = 0.01 * min(float(np.linalg.norm(to_world_image[:3, a])) for a in planar) if planar else 1e-3
    gaps = np.linalg.norm((corners @ to_world_image.T - corners @ back.T @ to_world_mask.T)[:, :3], axis=1)
    if gaps.max() > tolerance:
        raise refused
    return moved if image.is_volume else moved[0]


def _on_source_grid(data: np.ndarray, grid: dict[str, Any]):
    """Voxels in the NIfTI file's own order (`to_file_voxels`) as an image with the file's affine and header
    (qform/sform codes included), so the mask lines up voxel for voxel with the input."""
    import nibabel as nib

    header = grid["header"].copy()
    header.set_data_dtype(data.dtype)
    header.set_slope_inter(None, None)  # the input's intensity scaling does not apply to labels
    header["cal_min"], header["cal_max"], header["intent_code"] = 0, 0, 0
    image = nib.Nifti1Image(data, grid["affine"], header=header)
    qform, qform_code = grid["header"].get_qform(coded=True)
    sform, sform_code = grid["header"].get_sform(coded=True)
    image.set_qform(qform if qform is not None else grid["affine"], int(qform_code))
    image.set_sform(sform if sform is not None else grid["affine"], int(sform_code))
    return image

