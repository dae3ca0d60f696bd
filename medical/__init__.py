"""Medical vertical: DICOM/NIfTI IO, segmentation and classification (research use, not for diagnosis)."""
