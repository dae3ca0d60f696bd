"""medical.segmentation reads a Medical Segmentation Decathlon `dataset.json` passed as the data: its "training"
image/label pairs, as its imagesTr/ + labelsTr/ folder is read, with its "labels" naming the classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from medical.segmentation import Segmenter

nib = pytest.importorskip("nibabel")


def _decathlon(root: Path, labels: dict | None = None) -> Path:
    """A 3-case MSD task folder (Task03_Liver-like): imagesTr/, labelsTr/, imagesTs/ and dataset.json."""
    for folder in ("imagesTr", "labelsTr", "imagesTs"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for case in range(3):
        label = np.zeros((20, 20, 6), np.uint8)
        label[3:10, 3:10, 1:5] = 1
        label[12:17, 12:17, 2:4] = 2
        image = (label * 80.0 + rng.normal(0, 5, label.shape)).astype(np.float32)
        nib.save(nib.Nifti1Image(image, np.eye(4)), root / f"imagesTr/liver_{case}.nii.gz")
        nib.save(nib.Nifti1Image(label, np.eye(4)), root / f"labelsTr/liver_{case}.nii.gz")
    nib.save(nib.Nifti1Image(image, np.eye(4)), root / "imagesTs/liver_9.nii.gz")
    (root / "imagesTr" / "._liver_0.nii.gz").write_bytes(b"\x00\x05\x16\x07")  # the Decathlon tars' macOS stray
    spec = {"name": "Liver", "modality": {"0": "CT"}, "numTraining": 3, "numTest": 1,
            "labels": labels if labels is not None else {"0": "background", "1": "liver", "2": "cancer"},
            "training": [{"image": f"./imagesTr/liver_{c}.nii.gz", "label": f"./labelsTr/liver_{c}.nii.gz"}
                         for c in range(3)],
            "test": ["./imagesTs/liver_9.nii.gz"]}
    (root / "dataset.json").write_text(json.dumps(spec, indent=4))
    return root / "dataset.json"


def test_decathlon_dataset_json_reads_as_its_folder_with_named_classes(tmp_path):
    spec = _decathlon(tmp_path / "Task03_Liver")
    data, folder = Segmenter.read_data(spec), Segmenter.read_data(spec.parent)
    assert data.names == folder.names == [f"liver_{c}.nii.gz" for c in range(3)]
    assert all(np.array_equal(a, b) for a, b in zip(data.images, folder.images))
    assert all(np.array_equal(a, b) for a, b in zip(data.masks, folder.masks))
    assert data.label_names == ["background", "liver", "cancer"]
    assert Segmenter.read_data(spec, labels="bg,organ,lesion").label_names == ["bg", "organ", "lesion"]  # labels= wins
    assert Segmenter.check_data(spec)["n"] == 3
    model = Segmenter.from_config(Segmenter.Config(channels=(4, 8), patch_size=16), data.label_names)
    card = model.evaluate(spec)
    assert card["n"] == 3 and {"dice_liver", "dice_cancer"} <= set(card["metrics"])


def test_nnunet_v2_labels_and_bad_decathlon_files_are_clear_errors(tmp_path):
    spec = _decathlon(tmp_path / "v2", labels={"background": 0, "liver": 1, "cancer": 2})
    assert Segmenter.read_data(spec).label_names == ["background", "liver", "cancer"]
    spec = _decathlon(tmp_path / "gap", labels={"0": "background", "2": "cancer"})
    with pytest.raises(InputError, match=r"mask values \[0, 2\]; they must be 0..K-1"):
        Segmenter.read_data(spec)
    (tmp_path / "v2" / "plain.json").write_text(json.dumps({"labels": {"background": 0}, "numTraining": 3}))
    with pytest.raises(InputError, match="no \"training\" list.*imagesTr/ and labelsTr/"):
        Segmenter.read_data(tmp_path / "v2" / "plain.json")
    broken = json.loads(spec.read_text())
    broken["training"][1]["label"] = "./labelsTr/missing.nii.gz"
    spec.write_text(json.dumps(broken))
    with pytest.raises(InputError, match="training entry 2's label './labelsTr/missing.nii.gz' does not exist"):
        Segmenter.read_data(spec)
