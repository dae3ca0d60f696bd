"""Segmentation acceptance points: bad inputs, 16-bit PNG, huge inputs through the sliding window, NIfTI training."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from medical import io
from medical._shared import decode_run_length
from medical.io import read_medical
from medical.segmentation import SegmentationData, Segmenter
from tests.medical._fixtures import disc_pair, write_float_dicom, write_pairs
from core.artifacts import write_card

TINY = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=8, batch_size=4,
                        max_steps=2)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "medical.imaging"


def tiny(labels=("background", "disc"), **changes):
    import dataclasses

    return Segmenter.from_config(dataclasses.replace(TINY, **changes), list(labels), device="cpu")


def test_mismatched_sizes_is_input_error(tmp_path):
    root = write_pairs(tmp_path, count=2)
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(root / "masks" / "case1.png")
    with pytest.raises(InputError, match="does not match"):
        Segmenter.read_data(root)


def test_unknown_label_values_are_input_error(tmp_path):
    root = write_pairs(tmp_path, count=2, binary_255=False)
    Image.fromarray(np.full((24, 24), 200, np.uint8)).save(root / "masks" / "case1.png")
    with pytest.raises(InputError, match="unknown label values"):
        Segmenter.read_data(root)
    # a model for 2 labels refuses masks with label 2 at evaluation
    Image.fromarray(np.full((24, 24), 2, np.uint8)).save(root / "masks" / "case1.png")
    data = Segmenter.read_data(root)
    with pytest.raises(InputError, match="label 2"):
        tiny().evaluate(data)


def test_evaluate_card_plots_dice_per_case_and_per_label(tmp_path):
    from medical.segmentation import SegmentationData

    pytest.importorskip("plotly")
    pytest.importorskip("streamlit")
    from apps.plots import figure

    card = tiny().evaluate(Segmenter.read_data(write_pairs(tmp_path, count=3)))
    json.dumps(card, allow_nan=False)
    spec = card["plots"]["Dice per case"]
    assert spec["kind"] == "bars" and sorted(spec["labels"]) == ["case0.png", "case1.png", "case2.png"]
    values = [v for v in spec["values"] if v is not None]
    assert values == sorted(values) and all(0 <= v <= 1 for v in values)  # lowest Dice first
    assert "Dice per label" not in card["plots"]  # one foreground label
    # two foreground labels: disc (1) and a bar (2)
    pairs = [disc_pair(k, 24) for k in range(2)]
    masks = [np.where(np.arange(24)[None, :] < 4, 2, mask).astype(np.int64) for _, mask in pairs]
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc", "bar"])
    card = tiny(labels=("background", "disc", "bar")).evaluate(data)
    per_label = card["plots"]["Dice per label"]
    assert per_label["labels"] == ["disc", "bar"]
    assert per_label["values"] == [round(card["metrics"][f"dice_{k}"]["value"], 5) for k in ("disc", "bar")]
    assert sorted(card["plots"]["Dice per case"]["labels"]) == ["item_0", "item_1"]
    assert all(figure(title, spec) is not None for title, spec in card["plots"].items())  # the dashboard can draw each


def _fixed_predictions(model, predicted):
    """`model` segments its inputs, in order, as the given masks (evaluate's arithmetic without a trained net)."""
    masks = iter(predicted)
    model._segment_array = lambda image, batch_size: next(masks).astype(np.uint8)
    return model


def test_a_label_dice_over_one_case_has_no_interval_and_each_dice_says_its_cases():
    """A label in the truth of 1 case of 4 bootstrapped over all 4 cases gave the degenerate ci95 [v, v]; a mean over
    under 2 cases has ci95 None (core's bootstrap_ci rule) and every mean says how many cases it is over."""
    from medical.segmentation import SegmentationData

    pairs = [disc_pair(k, 24) for k in range(4)]
    masks = [mask.astype(np.int64) for _, mask in pairs]
    masks[0] = np.where(np.arange(24)[None, :] < 4, 2, masks[0])  # a bar (label 2) in case 0 only
    predicted = [m.copy() for m in masks]
    predicted[0] = np.where(np.arange(24)[None, :] < 2, 2, masks[0] * (masks[0] == 1))  # half the bar found
    predicted[1] = np.zeros_like(masks[1])  # disc missed in case 1
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc", "bar"])
    model = _fixed_predictions(tiny(labels=("background", "disc", "bar")), predicted)
    metrics = model.evaluate(data)["metrics"]
    assert metrics["dice_bar"]["value"] == pytest.approx(2 * 48 / (48 + 96))
    assert metrics["dice_bar"]["ci95"] is None and metrics["dice_bar"]["cases"] == 1
    assert metrics["dice_disc"]["cases"] == 4 and metrics["dice_disc"]["ci95"] is not None
    low, high = metrics["dice_disc"]["ci95"]
    assert 0 <= low < metrics["dice_disc"]["value"] <= high <= 1
    assert metrics["dice"]["cases"] == 4 and metrics["iou_bar"]["cases"] == 1


def test_cases_without_a_label_in_the_truth_are_left_out_of_its_dice_and_their_false_positives_reported():
    """MONAI's ignore_empty dropped a case whose truth lacks a label from that label's Dice, even where the model
    predicts hundreds of voxels of it; now (nnU-Net's rule) such a case scores Dice 0 and the card counts those false
    positives per label; a case where both are empty is left out."""
    from medical.segmentation import SegmentationData

    pairs = [disc_pair(k, 24) for k in range(3)]
    masks = [mask.astype(np.int64) for _, mask in pairs]
    masks[2] = np.zeros_like(masks[2])  # case 2: no disc in the truth
    predicted = [m.copy() for m in masks]
    predicted[2] = np.ones_like(masks[2])  # ... but the model calls every pixel disc
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc"])
    card = _fixed_predictions(tiny(), predicted).evaluate(data)
    assert card["metrics"]["dice_disc"]["value"] == pytest.approx(2 / 3) and card["metrics"]["dice_disc"]["cases"] == 3
    left_out = card["dice_left_out"]
    assert left_out["per_label"] == {"disc": {"cases": 0, "false_positive_cases": 1, "false_positive_voxels": 24 * 24}}
    assert "left out" in left_out["rule"] and "nnU-Net" in left_out["rule"]
    json.dumps(card, allow_nan=False)


def test_missing_mask_is_input_error(tmp_path):
    root = write_pairs(tmp_path, count=2)
    (root / "masks" / "case1.png").unlink()
    with pytest.raises(InputError, match="no mask"):
        Segmenter.read_data(root)


def test_sixteen_bit_png_segments_like_eight_bit(tmp_path):
    model = tiny()
    image16, _ = disc_pair(3, 32, sixteen_bit=True)
    Image.fromarray(image16).save(tmp_path / "a.png")
    eight = (image16 / 60000 * 250).astype(np.float32)
    record = model.predict([tmp_path / "a.png"])[0]
    reference = model.predict([eight])[0]
    assert record["shape"] == [32, 32]
    # percentile scaling makes the bit depth irrelevant (up to rounding of the 8-bit copy)
    mask16 = decode_run_length(record["mask_rle"], record["shape"])
    mask8 = decode_run_length(reference["mask_rle"], reference["shape"])
    assert (mask16 == mask8).mean() > 0.97


def test_every_record_carries_its_inputs_id(tmp_path):
    """DESIGN.md's predict contract: one record per input, its id first (records had none); a volume is one input."""
    image, _ = disc_pair(3, 32)
    Image.fromarray(image).save(tmp_path / "a.png")
    records = tiny().predict([tmp_path / "a.png", np.zeros((5, 20, 20)), str(tmp_path / "a.png")])
    assert [next(iter(r.items())) for r in records] == [("path", str(tmp_path / "a.png")), ("index", 2),
                                                       ("path", str(tmp_path / "a.png"))]
    assert tiny().predict(np.zeros((20, 20)))[0]["index"] == 1


def test_a_dicom_series_folder_given_as_text_is_named_by_its_path(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    series = tmp_path / "series"
    series.mkdir()
    for k in range(2):
        dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        dataset.ImagePositionPatient = [0.0, 0.0, float(k)]
        dataset.save_as(series / f"s{k}.dcm")
    [record] = tiny().predict(str(series))
    assert next(iter(record.items())) == ("path", str(series)) and record["shape"] == [2, 128, 128]


def test_huge_volume_through_sliding_window_matches_monai():
    import torch
    from monai.inferers import sliding_window_inference

    from medical.segmentation import normalise_intensity

    model = tiny(spatial_dims=3)
    volume = np.random.default_rng(0).random((40, 72, 56)).astype(np.float32)
    result = model.segment(volume)
    assert result["mask"].shape == volume.shape
    with torch.inference_mode():
        logits = sliding_window_inference(torch.from_numpy(normalise_intensity(volume))[None, None], (16, 16, 16), 8,
                                          model.network_, overlap=model.config.overlap, mode="gaussian")
    assert (logits.argmax(1)[0].numpy() == result["mask"]).all()


def test_2d_model_on_a_volume_and_3d_model_refuses_2d():
    record = tiny().predict([np.random.default_rng(1).random((5, 20, 20))])[0]
    assert record["shape"] == [5, 20, 20] and "volume_ml" in record["labels"]["disc"]
    with pytest.raises(InputError, match="3D model"):
        tiny(spatial_dims=3).predict([np.zeros((20, 20))])


def test_a_mask_on_another_grid_than_its_image_is_refused(tmp_path):
    """A mask NIfTI with another affine (another scan's, 1 mm identity) scored Dice 1.0: only shapes were compared."""
    import nibabel as nib

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    volume = np.stack([disc_pair(z, 24)[0] for z in range(4)]).astype(np.float32)
    io.write_nifti(volume, tmp_path / "images" / "p0.nii.gz", spacing=(2.0, 1.0, 1.0))
    io.write_nifti((volume > 140).astype(np.uint8), tmp_path / "labels" / "p0.nii.gz", spacing=(2.0, 1.0, 1.0))
    assert len(Segmenter.read_data(tmp_path).images) == 1  # the same grid: read
    mask = nib.load(tmp_path / "labels" / "p0.nii.gz")
    nib.save(nib.Nifti1Image(np.asarray(mask.dataobj), np.eye(4)), tmp_path / "labels" / "p0.nii.gz")
    with pytest.raises(InputError, match="^labels/p0.nii.gz lies on another grid than images/p0.nii.gz .*resample the mask"):
        Segmenter.read_data(tmp_path)  # each named by its folder, not "p0.nii.gz ... than p0.nii.gz"


def _nan_pair(folder, image_nan: bool, mask_nan: bool):
    import nibabel as nib

    (folder / "images").mkdir()
    (folder / "labels").mkdir()
    volume = np.stack([disc_pair(z, 24)[0] for z in range(4)]).astype(np.float32)
    mask = (volume > 140).astype(np.float32)
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    if image_nan:
        volume[0, :2, :3] = np.nan
    if mask_nan:
        mask[1, :2, :] = np.nan
        mask[2, 0, 0] = np.inf
    nib.save(nib.Nifti1Image(np.transpose(volume, (2, 1, 0)), affine), str(folder / "images" / "p0.nii.gz"))
    nib.save(nib.Nifti1Image(np.transpose(mask, (2, 1, 0)), affine), str(folder / "labels" / "p0.nii.gz"))


def test_a_nifti_mask_with_nan_voxels_is_refused_not_read_as_background(tmp_path):
    """NaN mask voxels became 0 (background) once medical.io read NIfTI NaN as 0: the isfinite refusal could not fire."""
    _nan_pair(tmp_path, image_nan=False, mask_nan=True)
    with pytest.raises(InputError, match=r"^labels/p0.nii.gz: 49 mask voxel\(s\) are NaN or infinite.*background value"):
        Segmenter.read_data(tmp_path)


def _float_dicom(path: Path, array: np.ndarray) -> None:
    """A single-frame DICOM holding float pixels (Float Pixel Data), as some tools export a label map."""
    pytest.importorskip("pydicom")
    write_float_dicom(path, array)


@pytest.mark.parametrize("suffix", [".dcm", ".tif", "array"])
def test_a_mask_with_nan_voxels_is_refused_alike_in_every_format(tmp_path, suffix):
    """A DICOM (or float TIFF, or array) mask holding NaN got "the mask holds non-integer values; save masks as integer
    label images", not the NaN refusal a NIfTI mask gets: one check (`_refuse_nonfinite_mask`) now serves every format."""
    said = (r": 3 mask voxel\(s\) are NaN or infinite; a mask holds integer labels only: fill them with the background "
            r"value \(e\.g\. np\.nan_to_num\(mask, nan=0\)\) or the label they belong to, and save it again$")
    mask = disc_pair(0, 24)[1].astype(np.float32)
    mask[0, :2] = np.nan
    mask[1, 0] = np.inf
    if suffix == "array":
        with pytest.raises(InputError, match="^item_0" + said):
            SegmentationData.from_arrays([disc_pair(0, 24)[0]], [mask])
        return
    root = write_pairs(tmp_path, count=2)
    (root / "masks" / "case0.png").unlink()
    if suffix == ".dcm":
        _float_dicom(root / "masks" / "case0.dcm", mask)
    else:
        Image.fromarray(mask, mode="F").save(root / "masks" / "case0.tif")
    assert read_medical(root / "masks" / f"case0{suffix}").metadata["nonfinite_voxels"] == 3  # read as 0, counted
    with pytest.raises(InputError, match=f"^masks/case0\\{suffix}" + said):
        Segmenter.read_data(root)


def test_nan_image_voxels_read_as_0_are_said_by_read_data_check_data_and_evaluate(tmp_path):
    """The note medical.io writes for NaN voxels read as 0 was dropped: read_data kept only the array."""
    _nan_pair(tmp_path, image_nan=True, mask_nan=False)
    with pytest.warns(UserWarning, match=r"images/p0.nii.gz: 6 voxel\(s\) .* NaN or infinite and were read as 0"):
        data = Segmenter.read_data(tmp_path)
    assert len(data.warnings) == 1 and data.warnings[0].startswith("images/p0.nii.gz: 6 voxel(s)")
    assert np.isfinite(data.images[0]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, as the report's `warning` (the CLI prints the report's lines)
        report = Segmenter.check_data(tmp_path)
    assert report["warning"] == data.warnings[0]
    model = tiny(spatial_dims=3)
    model.fit(data, dataclasses.replace(TINY, spatial_dims=3))
    assert model.card["warning"] == data.warnings[0]
    assert model.evaluate(data)["warning"] == data.warnings[0]


def _nan_image(tmp_path: Path, kind: str):
    """A 24 x 24 picture with 2 NaN, 1 inf and 1 -inf pixels as a Float Pixel Data DICOM, a float TIFF or an array;
    returns the source and the note its reading gives (the words NIfTI's NaN voxels get)."""
    picture = disc_pair(0, 24)[0].astype(np.float32)
    picture[0, :2], picture[1, 0], picture[2, 0] = np.nan, np.inf, -np.inf
    if kind == "array":
        source, name = picture, "array"
    elif kind == ".dcm":
        import pydicom

        source = tmp_path / "scan.dcm"
        _float_dicom(source, picture)
        dataset = pydicom.dcmread(source)  # with a pixel spacing: only the NaN note is said (else a no-spacing note)
        dataset.PixelSpacing = [1, 1]
        dataset.save_as(source)
        name = "scan.dcm"
    else:
        source, name = tmp_path / "scan.tif", "scan.tif"
        Image.fromarray(picture, mode="F").save(source)
    return source, (f"{name}: 4 voxel(s) (0.7%) are NaN or infinite and were read as 0 (e.g. the background of a "
                    "masked map); mask or fill them if they are not background")


@pytest.mark.parametrize("kind", [".dcm", ".tif", "array"])
def test_nan_pixels_of_a_dicom_tiff_or_array_image_read_as_0_and_said_by_both_tasks_predict(tmp_path, kind):
    """Only NIfTI read NaN/inf voxels as 0 with a note: a Float Pixel Data DICOM and a float TIFF kept them (NaN
    through the percentile scaling into the network, no warning), an array was refused. One reader rule now serves
    every format, for segmentation and classification alike."""
    from medical.classification import MedicalClassifier

    source, note = _nan_image(tmp_path, kind)
    image = read_medical(source)
    assert np.isfinite(image.array).all() and image.metadata["nonfinite_voxels"] == 4
    [record] = tiny().predict([source])
    assert "error" not in record and record["warnings"] == [note]
    assert sum(label["voxels"] for label in record["labels"].values()) == 24 * 24
    classifier = MedicalClassifier.from_config(MedicalClassifier.Config(architecture="test_resnet", pretrained=False,
                                                                        image_size=32), ["abnormal", "normal"],
                                               device="cpu")
    [record] = classifier.predict([source])
    assert "error" not in record and record["warnings"] == [note]
    assert np.isfinite(list(record["probabilities"].values())).all() and np.isfinite(record["score"])


@pytest.mark.parametrize("kind", [".dcm", ".tif"])
def test_nan_pixels_of_a_dicom_or_tiff_image_are_said_by_check_data_of_both_tasks(tmp_path, kind):
    """check-data said NIfTI NaN voxels read as 0, but not those of a DICOM or float TIFF image (kept as NaN)."""
    from medical.classification import MedicalClassifier
    from tests.medical._fixtures import write_image_folder

    root = write_pairs(tmp_path / "pairs", count=2)
    (root / "images" / "case0.png").unlink()
    source, note = _nan_image(tmp_path, kind)
    shutil.copy(source, root / "images" / f"case0{kind}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = Segmenter.check_data(root)
    assert report["warning"] == f"images/case0{kind}: {note.removeprefix(source.name + ': ')}"
    folder = write_image_folder(tmp_path / "classes", per_class=2)
    shutil.copy(source, folder / "abnormal" / source.name)
    assert MedicalClassifier.check_data(folder)["warning"] == note


def test_nan_pixels_of_arrays_given_to_from_arrays_read_as_0_and_said(tmp_path):
    """from_arrays refused an image array holding NaN, which a NIfTI file of the same voxels read as 0 with a note."""
    picture, _ = _nan_image(tmp_path, "array")
    with pytest.warns(UserWarning, match=r"^item_0: 4 voxel\(s\) \(0.7%\) are NaN or infinite and were read as 0"):
        data = SegmentationData.from_arrays([picture], [disc_pair(0, 24)[1]])
    assert np.isfinite(data.images[0]).all() and data.warnings == [
        "item_0: 4 voxel(s) (0.7%) are NaN or infinite and were read as 0 (e.g. the background of a masked map); "
        "mask or fill them if they are not background"]
    with pytest.raises(InputError, match=r"^array holds no finite voxel \(every value is NaN or infinite\)"):
        SegmentationData.from_arrays([np.full((24, 24), np.nan)], [disc_pair(0, 24)[1]])


def test_nifti_volumes_with_label_volumes_and_patient_split(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    rows = ["image,mask,patient"]
    for k in range(4):
        volume = np.stack([disc_pair(k * 10 + z, 24)[0] for z in range(4)]).astype(np.float32)
        labels = (volume > 140).astype(np.uint8)
        io.write_nifti(volume, tmp_path / "images" / f"p{k}.nii.gz", spacing=(2.0, 1.0, 1.0))
        io.write_nifti(labels, tmp_path / "labels" / f"p{k}.nii.gz", spacing=(2.0, 1.0, 1.0))
        rows.append(f"images/p{k}.nii.gz,labels/p{k}.nii.gz,patient{k // 2}")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    data = Segmenter.read_data(tmp_path / "list.csv", id="patient")
    assert data.groups == ["patient0", "patient0", "patient1", "patient1"] and data.images[0].shape == (4, 24, 24)
    model = Segmenter.for_training(None, device="cpu")
    model.fit(data, TINY)
    assert model.card["held_out"]["split"] == "held-out split"
    validation = model.card["held_out"]["validation"]  # patients kept whole, and how many, said in the card
    assert validation["grouped_by"] == "patient" and validation["groups"] == 2
    assert (validation["train_groups"], validation["validation_groups"]) == (1, 1)
    card = model.evaluate(Segmenter.read_data(tmp_path))
    assert {"dice", "iou"} <= set(card["metrics"]) and card["n"] == 4
    # NIfTI spacing (2 mm slices) makes the volume per label physical
    record = model.predict([tmp_path / "images" / "p0.nii.gz"])[0]
    assert record["spacing_mm"] == [1.0, 1.0, 2.0]  # the file's own (i, j, k) order, as its mask_rle


def test_the_card_says_what_one_validation_group_is_without_patient_ids(tmp_path):
    """Without patient ids the card did not say the split kept an item (or, for one volume, blocks of slices) whole."""
    from medical.segmentation import SegmentationData

    model = tiny().fit(Segmenter.read_data(write_pairs(tmp_path / "pairs", count=3)), TINY)
    validation = model.card["held_out"]["validation"]
    assert validation["grouped_by"].startswith("item") and validation["groups"] == 3
    volume = np.stack([disc_pair(z, 24)[0] for z in range(8)]).astype(np.float32)
    one = SegmentationData([volume], [(volume > 140).astype(np.uint8)], ["v"], ["background", "disc"], [(1.0,) * 3])
    validation = tiny().fit(one, TINY).card["held_out"]["validation"]
    assert validation["grouped_by"] == "block of 4 adjacent slices of the one volume" and validation["groups"] == 2


def test_save_layout_is_safetensors_with_constructor_args(tmp_path):
    from monai.networks.nets import UNet
    from safetensors.torch import load_file

    model = tiny()
    folder = model.save(tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    args = card["network"]["args"]
    network = UNet(**{**args, "channels": tuple(args["channels"]), "strides": tuple(args["strides"])})
    network.load_state_dict(load_file(str(folder / "model.safetensors")))
    assert card["labels"] == ["background", "disc"] and "research use" in card["notice"].lower()


def test_training_is_resumable_and_logs(tmp_path):
    root = write_pairs(tmp_path / "d", count=3)
    model = Segmenter.for_training(None, device="cpu")
    model.fit(root, TINY, run_dir=tmp_path / "run")
    events = [json.loads(line)["event"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "start" in events and "end" in events


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "isbi2012_em_membrane_segmentation").is_dir(), reason="shared data absent")
def test_isbi_halves_train_then_evaluate_reports_dice_per_mask_value(tmp_path):
    """Train on slices 0, 4, ..., 28 within the default time budget, evaluate on the other half (acceptance: membrane,
    mask value 0, Dice >= 0.83 on a quiet 2-core machine; the floor here only catches a broken recipe)."""
    root = DATA / "isbi2012_em_membrane_segmentation"
    halves = {"A": tmp_path / "A", "B": tmp_path / "B"}
    for image in sorted((root / "image").glob("*.png")):
        half = halves["A" if int(image.stem) % 4 == 0 else "B"]
        for folder in ("image", "label"):
            (half / folder).mkdir(parents=True, exist_ok=True)
            (half / folder / image.name).symlink_to(root / folder / image.name)
    model = Segmenter.for_training(None, device="cpu")
    model.fit(Segmenter.read_data(halves["A"])).save(tmp_path / "isbi")
    assert model.card["recipe"]["seconds"] <= model.config.time_budget_s + 5
    card = Segmenter.load(tmp_path / "isbi").evaluate(Segmenter.read_data(halves["B"]))
    assert card["mask_values"]["positive_label"] == 255
    assert card["metrics"]["dice_value_0"]["value"] > 0.6 and card["metrics"]["dice_value_255"]["value"] > 0.85


@pytest.mark.slow
def test_embedded_tissue_default():
    if not os.environ.get("VERTICALS_SLOW_DEFAULTS"):
        pytest.skip("set VERTICALS_SLOW_DEFAULTS=1 to train the brain-tissue default")
    model = Segmenter.load(None, device="cpu")
    assert model.label_names_ == ["background", "grey_matter", "white_matter", "csf"]
    assert model.card["held_out"]["metrics"]["dice"] > 0.5


def test_positive_label_names_the_foreground_value_and_the_card_reports_both_values(tmp_path):
    root = write_pairs(tmp_path / "d", count=3)  # discs are 255, background 0
    default = Segmenter.read_data(root)
    flipped = Segmenter.read_data(root, positive_label="0")
    assert default.mask_values == [0, 255] and flipped.mask_values == [255, 0]
    assert all(((a + b) == 1).all() for a, b in zip(default.masks, flipped.masks))
    with pytest.raises(InputError, match="positive_label must be 0 or 255"):
        Segmenter.read_data(root, positive_label="7")
    model = Segmenter.for_training(None, device="cpu")
    import dataclasses

    model.fit(root, dataclasses.replace(TINY, positive_label=0, time_budget_s=None))
    assert model.card["positive_label"] == 0 and model.card["mask_values"] == [255, 0]
    assert {"dice_value_0", "dice_value_255"} <= set(model.card["held_out"]["metrics"])
    folder = model.save(tmp_path / "m")
    reloaded = Segmenter.load(folder, device="cpu")
    # evaluated on data read with no option: the model's own positive label (0) decides what "dice" means
    card = reloaded.evaluate(Segmenter.read_data(root))
    metrics = card["metrics"]
    assert metrics["dice"]["value"] == pytest.approx(metrics["dice_value_0"]["value"])
    assert 0 <= metrics["dice_value_255"]["value"] <= 1
    assert card["mask_values"]["positive_label"] == 0
    assert reloaded.evaluate(flipped)["metrics"]["dice"]["value"] == pytest.approx(metrics["dice"]["value"])


def test_planned_fit_records_fingerprint_plan_and_stops_at_the_time_budget(tmp_path):
    import dataclasses

    root = write_pairs(tmp_path / "d", count=3, size=39)
    config = dataclasses.replace(TINY, patch_size=None, batch_size=None, epochs=None, samples_per_epoch=None,
                                 max_steps=None, time_budget_s=0.5)
    model = Segmenter.for_training(None, device="cpu").fit(root, config)
    training = model.card["recipe"]
    assert training["stopped"] == "time budget spent"
    assert training["fingerprint"]["median_shape"] == [39, 39]
    assert training["plan"]["patch_size"] == 40 and model.config.patch_size == 40  # 39 rounded up to the divisor 2
    assert training["plan"]["augmentation"]["elastic"] > 0  # few training units: strong augmentation


def test_lite0_unet_trains_saves_and_reloads_identically(tmp_path):
    import dataclasses

    from medical._seg_nets import LITE_UNET

    root = write_pairs(tmp_path / "d", count=3, size=32)
    config = dataclasses.replace(TINY, architecture="lite0-unet", channels=None, patch_size=32, max_steps=1,
                                 batch_size=2, time_budget_s=None, tta="on")
    model = Segmenter.for_training(None, device="cpu").fit(root, config)
    assert model.card["network"]["class"] == LITE_UNET and model.card["network"]["encoder"]["licence"] == "Apache-2.0"
    assert model.card["preprocessing"]["flip_averaging"] is True
    folder = model.save(tmp_path / "m")
    reloaded = Segmenter.load(folder, device="cpu")
    image = disc_pair(5, 32)[0]
    assert reloaded.predict([image])[0]["mask_rle"] == model.predict([image])[0]["mask_rle"]
    with pytest.raises(InputError, match="divisible by 32"):
        Segmenter.from_config(dataclasses.replace(config, patch_size=48), ["background", "disc"])


def test_shipped_tissue_default_loads_without_training(monkeypatch):
    """The committed default answers at once (no first-use training), hash-checked like any saved model."""
    from core.card import ModelCard
    from medical import segmentation

    def refuse(*args, **kwargs):
        raise AssertionError("the shipped default must not be trained on first use")

    monkeypatch.setattr(segmentation.Segmenter, "train_default", classmethod(refuse))
    model = Segmenter.load(None, device="cpu")
    assert model.label_names_ == ["background", "grey_matter", "white_matter", "csf"]
    card = ModelCard.from_dict(json.loads((segmentation.SHIPPED / "card.json").read_text()))
    assert card.metrics["dice"]["value"] > 0.6 and set(card.files) == {"model.safetensors"}
    masks = model.predict([np.random.default_rng(0).random((64, 64)).astype("float32")])
    assert len(masks) == 1


def test_one_image_of_any_kind_is_one_input_and_an_empty_path_cell_is_an_error_record(tmp_path):
    """A PIL image was 'not iterable', bytes were iterated, an open file was refused, (H, W, 1) came back as a 3-D
    mask [H, W, 1], and a missing path cell was a TypeError from Path(None)."""
    import polars as pl

    model = tiny()
    image, _ = disc_pair(5, 24)
    Image.fromarray(image).save(tmp_path / "a.png")
    [expected] = model.predict(tmp_path / "a.png")
    with open(tmp_path / "a.png", "rb") as handle:
        for source in (Image.open(tmp_path / "a.png"), (tmp_path / "a.png").read_bytes(), handle):
            [record] = model.predict(source)
            assert next(iter(record.items())) == ("index", 1), type(source).__name__
            assert record["mask_rle"] == expected["mask_rle"] and record["shape"] == [24, 24], type(source).__name__
    [record] = model.predict(image[..., None].astype(np.float32))
    assert record["shape"] == [24, 24] and record["mask_rle"] == model.predict(image.astype(np.float32))[0]["mask_rle"]
    assert model.predict([]) == []
    scored = model.predict_frame(pl.DataFrame({"image": [str(tmp_path / "a.png"), None]}))
    assert scored["shape"].to_list() == [[24, 24], None]
    assert scored["error"].to_list() == [None, "no image: the 'image' cell is empty"]


def test_a_card_whose_labels_differ_from_the_weights_is_refused(tmp_path):
    """Swapped labels loaded (grey matter reported as white matter); three names for a four-output U-Net loaded."""
    import hashlib
    import shutil

    from safetensors.torch import load_file, save_file

    from core.errors import UnsafeArtifactError
    from medical import segmentation

    def edited(folder, name, labels, strip_metadata=False):
        copy = shutil.copytree(folder, tmp_path / name)
        card = json.loads((copy / "card.json").read_text())
        card["labels"] = labels
        if strip_metadata:  # as the code before this check saved it: no label names beside the tensors
            save_file(load_file(str(copy / "model.safetensors")), str(copy / "model.safetensors"))
            card["files"]["model.safetensors"] = hashlib.sha256((copy / "model.safetensors").read_bytes()).hexdigest()
        write_card(copy, card)
        return copy

    shipped = segmentation.SHIPPED
    swapped = ["background", "white_matter", "grey_matter", "csf"]
    for name, labels in (("swapped", swapped), ("three", ["background", "grey_matter", "white_matter"])):
        with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights"):
            Segmenter.load(edited(shipped, name, labels), device="cpu")
    saved = tiny(("background", "disc", "ring")).save(tmp_path / "m")
    with pytest.raises(UnsafeArtifactError, match="differ from those the metadata of model.safetensors records"):
        Segmenter.load(edited(saved, "saved_swapped", ["background", "ring", "disc"]), device="cpu")
    # saved before the weights carried label names: only the count can be checked
    old = edited(saved, "old", ["background", "ring", "disc"], strip_metadata=True)
    assert Segmenter.load(old, device="cpu").label_names_ == ["background", "ring", "disc"]
    with pytest.raises(UnsafeArtifactError, match="2 names .* 3 outputs"):
        Segmenter.load(edited(saved, "old_two", ["background", "disc"], strip_metadata=True), device="cpu")
    assert Segmenter.load(saved, device="cpu").label_names_ == ["background", "disc", "ring"]
    assert Segmenter.load(shipped, device="cpu").label_names_ == ["background", "grey_matter", "white_matter", "csf"]


def test_an_input_folder_is_searched_recursively_and_a_dicom_series_subfolder_is_one_input(tmp_path):
    """`predict --input seg` with seg/x.png and seg/inner/y.png gave one record: only the top level was listed."""
    import shutil

    from pydicom.data import get_testdata_file

    image, _ = disc_pair(3, 24)
    (tmp_path / "inner").mkdir()
    Image.fromarray(image).save(tmp_path / "x.png")
    Image.fromarray(image).save(tmp_path / "inner" / "y.png")
    Image.fromarray(image).save(tmp_path / "._z.png")  # macOS litter
    (tmp_path / ".thumbnails").mkdir()
    Image.fromarray(image).save(tmp_path / ".thumbnails" / "t.png")
    assert Segmenter.read_inputs(tmp_path) == [tmp_path / "inner" / "y.png", tmp_path / "x.png"]
    series = tmp_path / "inner" / "series"
    series.mkdir()
    for name in ("IM0001", "IM0002.dcm"):
        shutil.copy(get_testdata_file("CT_small.dcm"), series / name)
    assert Segmenter.read_inputs(tmp_path) == [series, tmp_path / "inner" / "y.png", tmp_path / "x.png"]
    assert Segmenter.read_inputs(series) == [series]  # the given folder itself: the same rule
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "empty" / "deeper" / "notes.txt").write_text("no images")
    with pytest.raises(InputError, match="no images, DICOM or NIfTI"):
        Segmenter.read_inputs(tmp_path / "empty")


def test_a_card_whose_preprocessing_is_not_what_runs_is_refused(tmp_path):
    """roi_size [0, 0], overlap 1.5 and a flipped flip_averaging loaded and predicted exactly as before: inference
    reads the saved config, never the card's preprocessing block, so the card no longer described what ran."""
    import dataclasses
    import shutil

    from core.errors import UnsafeArtifactError

    model = Segmenter.load(None, device="cpu")
    folder = model.save(tmp_path / "m")
    flipped = Segmenter.load(folder, device="cpu")
    flipped.config = dataclasses.replace(flipped.config, tta="on")
    tta = flipped.save(tmp_path / "tta")
    assert Segmenter.load(tta, device="cpu").card["preprocessing"]["flip_averaging"] is True

    def edited(source, name, key, value):
        copy = shutil.copytree(source, tmp_path / name)
        card = json.loads((copy / "card.json").read_text())
        card["preprocessing"][key] = value
        write_card(copy, card)
        return copy

    for source, name, key, value, says in (
            (folder, "roi0", "roi_size", [0, 0], r"preprocessing.roi_size \[0, 0\] is not a list"),
            (folder, "roi32", "roi_size", [32, 32], r"preprocessing.roi_size \[32, 32\] is not what inference runs"),
            (folder, "overlap", "overlap", 1.5, "preprocessing.overlap 1.5 is not a number from 0 to below 1"),
            (folder, "overlap5", "overlap", 0.5, "preprocessing.overlap 0.5 is not what inference runs"),
            (folder, "flipon", "flip_averaging", True, "preprocessing.flip_averaging True is not what inference runs"),
            (tta, "flipoff", "flip_averaging", False, "preprocessing.flip_averaging False is not what inference runs")):
        with pytest.raises(UnsafeArtifactError, match=f"card.json does not match the weights beside it: its {says}"):
            Segmenter.load(edited(source, name, key, value), device="cpu")
    # older cards without the block's newer keys still load
    copy = shutil.copytree(folder, tmp_path / "old")
    card = json.loads((copy / "card.json").read_text())
    for key in ("roi_size", "flip_averaging"):
        card["preprocessing"].pop(key)
    write_card(copy, card)
    assert Segmenter.load(copy, device="cpu").card["preprocessing"]["roi_size"] == [64, 64]


def test_a_folder_of_only_a_suffixless_file_that_is_not_dicom_is_no_series(tmp_path):
    """seg/notes/README (no DICM marker, not DICOM) was taken as a DICOM series, one input that failed later."""
    import shutil

    from pydicom.data import get_testdata_file

    image, _ = disc_pair(3, 24)
    Image.fromarray(image).save(tmp_path / "x.png")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README").write_text("scans from the March batch\n" * 20)
    with pytest.warns(UserWarning, match="README: no suffix and not a DICOM file"):
        assert Segmenter.read_inputs(tmp_path) == [tmp_path / "x.png"]
    with pytest.warns(UserWarning, match="README"), pytest.raises(InputError, match="no images, DICOM or NIfTI"):
        Segmenter.read_inputs(tmp_path / "notes")
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "notes" / "IM0001")  # a series beside a stray README
    with pytest.warns(UserWarning, match="README"):
        assert Segmenter.read_inputs(tmp_path) == [tmp_path / "notes", tmp_path / "x.png"]


@pytest.mark.parametrize("rows", [3, 4])
def test_a_short_colour_strip_is_one_picture_and_an_ambiguous_float_one_is_refused(rows):
    """(3, W, 3) uint8 pixels were read as a volume of 3 slices 3 pixels wide."""
    strip = (np.random.default_rng(0).random((rows, 20, 3)) * 255).astype(np.uint8)
    record = tiny().predict(strip)[0]
    assert list(record["shape"]) == [rows, 20]
    with pytest.raises(InputError, match="colour image .* or a volume"):
        tiny().segment(strip.astype(np.float32))


def _lps_volume(tmp_path):
    """A (6, 7, 5) NIfTI in LPS orientation (x and y reversed), every voxel a different value."""
    import nibabel as nib

    data = np.arange(6 * 7 * 5, dtype=np.float32).reshape(6, 7, 5)
    affine = np.array([[-2.0, 0, 0, 10], [0, -1.5, 0, 20], [0, 0, 3.0, -5], [0, 0, 0, 1]])
    path = tmp_path / "in" / "vol.nii.gz"
    path.parent.mkdir()
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path, data, affine


class _EchoModel(Segmenter):
    """A 'segmenter' whose mask is its input's pixel values (mod 256): shows where every input voxel lands."""

    def segment(self, source, batch_size=None):
        image = read_medical(source)
        return {"image": image, "mask": image.array.astype(np.int64) % 256}


def test_a_nifti_record_names_its_mask_grid_and_its_affine_maps_that_grid_to_the_files_world(tmp_path):
    """A tester could not map `mask_rle` back onto the input: its grid (RAS, (z, y, x), y reversed) was unsaid."""
    path, data, affine = _lps_volume(tmp_path)
    [record] = tiny().predict([path])
    assert record["shape"] == [6, 7, 5] and "own voxel grid" in record["mask_grid"] and "(i, j, k)" in record["mask_grid"]
    assert np.allclose(record["mask_affine"], affine) and record["spacing_mm"] == [2.0, 1.5, 3.0]
    assert decode_run_length(record["mask_rle"], record["shape"]).shape == data.shape
    [picture] = tiny().predict([np.zeros((20, 20))])
    assert picture["mask_affine"] is None and "(row, column)" in picture["mask_grid"]


@pytest.mark.parametrize("flip", [(-1, -1, 1), (-1, 1, 1), (1, 1, -1)])
@pytest.mark.parametrize("planar", [False, True])
def test_mask_rle_decodes_in_the_input_files_voxel_order(tmp_path, flip, planar):
    """`mask_rle` was on the canonical RAS grid: decoded against an LPS or flipped input's own array it was transposed
    and mirrored. Kaggle-style run-length codes are against the image as stored."""
    import nibabel as nib

    shape = (6, 7) if planar else (6, 7, 5)
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) % 251
    affine = np.diag([2.0 * flip[0], 1.5 * flip[1], 3.0 * flip[2], 1.0])
    path = tmp_path / "in.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(path))
    model = _EchoModel.from_config(TINY, ["background", "disc"], device="cpu")
    [record] = model.predict([path], masks=tmp_path / "masks")
    decoded = decode_run_length(record["mask_rle"], record["shape"])
    assert decoded.shape == shape and np.array_equal(decoded, data.astype(np.int64))
    assert np.allclose(record["mask_affine"], affine) and "own voxel grid" in record["mask_grid"]
    written = nib.load(record["mask_path"])  # the mask file and the record say the same, voxel for voxel
    assert np.array_equal(np.asarray(written.dataobj), decoded) and np.allclose(written.affine, affine)


def test_predict_writes_each_mask_beside_its_record_nifti_on_the_inputs_world_and_png_for_pictures(tmp_path):
    import nibabel as nib

    path, _, affine = _lps_volume(tmp_path)
    for folder in ("a", "b"):  # two pictures of one name in different folders: both kept
        (tmp_path / folder).mkdir()
        Image.fromarray(disc_pair(3, 32)[0]).save(tmp_path / folder / "scan.png")
    out = tmp_path / "masks" / "deep"
    records = tiny().predict([path, tmp_path / "a" / "scan.png", tmp_path / "b" / "scan.png"], masks=out)
    assert [r["mask_path"] for r in records] == [str(out / "vol.nii.gz"), str(out / "scan.png"), str(out / "scan-2.png")]
    for record in records[1:]:
        written = np.asarray(Image.open(record["mask_path"]))
        assert (written == decode_run_length(record["mask_rle"], record["shape"])).all()
    saved = nib.load(records[0]["mask_path"])
    mask = decode_run_length(records[0]["mask_rle"], records[0]["shape"])
    # the written file holds the record's mask voxel for voxel, and both lie on the input's own grid
    assert np.array_equal(np.asarray(saved.dataobj), mask) and np.allclose(records[0]["mask_affine"], saved.affine)
    source = nib.load(path)  # on the input's own voxel grid: its shape, affine and codes, as fslmaths needs
    assert saved.shape == source.shape and np.allclose(saved.affine, source.affine)
    assert (int(saved.header["qform_code"]), int(saved.header["sform_code"])) == \
        (int(source.header["qform_code"]), int(source.header["sform_code"]))
    with pytest.raises(InputError, match="is a file"):
        tiny().predict([path], masks=path)


def test_masks_may_not_write_over_the_inputs_or_into_a_saved_model(tmp_path):
    """masks= the inputs' own folder replaced each scan by its mask (same stem, same suffix), exit 0; into a saved model
    it added a file the card does not list."""
    model = _EchoModel.from_config(TINY, ["background", "disc"], device="cpu")
    scans = tmp_path / "scans"
    scans.mkdir()
    Image.fromarray(disc_pair(1, 32)[0]).save(scans / "slice.png")
    before = (scans / "slice.png").read_bytes()
    with pytest.raises(InputError, match="over the input of that name"):
        model.predict([scans / "slice.png"], masks=scans)
    assert (scans / "slice.png").read_bytes() == before
    saved = model.save(tmp_path / "m")
    with pytest.raises(InputError, match="inside the saved model folder"):
        model.predict([scans / "slice.png"], masks=saved)
    listed = set(json.loads((Path(saved) / "card.json").read_text())["files"]) | {"card.json"}
    assert {p.name for p in Path(saved).iterdir()} == listed
    assert "mask_path" in model.predict([scans / "slice.png"], masks=tmp_path / "elsewhere")[0]


def test_same_stem_inputs_keep_their_own_masks_when_a_bad_study_sends_the_batch_one_by_one(tmp_path):
    """A batch that failed on one unreadable study was predicted again input by input, each a predict call of its own
    with its own set of names taken: a/scan.png and b/scan.png both wrote scan.png (the second over the first) and every
    array mask_1.png. Names are now decided once for the whole call, the same way whichever path predicts."""
    import nibabel as nib

    model = _EchoModel.from_config(TINY, ["background", "disc"], device="cpu")
    inputs = []
    for seed, folder in enumerate(("a", "b"), 1):  # two pictures of one stem in different folders, different pixels
        (tmp_path / folder).mkdir()
        Image.fromarray(disc_pair(seed, 32)[0]).save(tmp_path / folder / "scan.png")
        inputs.append(tmp_path / folder / "scan.png")
    (tmp_path / "c").mkdir()
    nib.save(nib.Nifti1Image(np.arange(30, dtype=np.float32).reshape(5, 6), np.eye(4)), tmp_path / "c" / "scan.nii.gz")
    (tmp_path / "c" / "odd.png").write_bytes(np.arange(64, dtype=np.uint8).tobytes())  # replaced by a good one below
    inputs += [tmp_path / "c" / "scan.nii.gz", tmp_path / "c" / "odd.png", np.full((9, 9), 7.0)]
    out = tmp_path / "masks"
    names = ["scan.png", "scan-2.png", "scan-3.nii.gz", None, "mask_5.png"]

    def check(records):
        assert [Path(r["mask_path"]).name if "mask_path" in r else None for r in records] == names
        assert sorted(p.name for p in out.iterdir()) == sorted(n for n in names if n)  # none overwrote another
        for record in (r for r in records if "mask_path" in r):
            written = nib.load(record["mask_path"]).dataobj if record["mask_path"].endswith(".nii.gz") \
                else Image.open(record["mask_path"])
            assert np.array_equal(np.asarray(written), decode_run_length(record["mask_rle"], record["shape"]))

    records = model.predict(inputs, masks=out)  # one study does not decode: the one-by-one path
    assert "error" in records[3] and "mask_path" not in records[3]
    check(records)
    shutil.rmtree(out)
    Image.fromarray(disc_pair(9, 32)[0]).save(tmp_path / "c" / "odd.png")
    names[3] = "odd.png"
    check(model.predict(inputs, masks=out))  # every study decodes: the batch path names them alike


def test_cli_predict_option_masks_writes_the_mask_files(tmp_path):
    from core.cli import main

    path, _, _ = _lps_volume(tmp_path)
    saved = tiny().save(tmp_path / "model")
    output = tmp_path / "records.jsonl"
    assert main(["predict", "medical.segmentation", "--model", str(saved), "--input", str(path.parent),
                 "--output", str(output), "--option", f"masks={tmp_path / 'masks'}"]) == 0
    [record] = [json.loads(line) for line in output.read_text().splitlines()]
    assert record["mask_path"] == str(tmp_path / "masks" / "vol.nii.gz") and Path(record["mask_path"]).is_file()


def test_masks_without_a_label_anywhere_say_its_dice_is_undefined_and_the_false_positives():
    """Masks entirely background: the text card showed only "n=3", no metric and no warning (the model's foreground
    pixels only under dice_left_out in JSON). Now a warning: Dice is undefined for a label no reference mask holds,
    with the false-positive voxels the model predicted."""
    pairs = [disc_pair(k, 24) for k in range(3)]
    masks = [np.zeros((24, 24), np.int64) for _ in pairs]
    predicted = [np.zeros((24, 24), np.int64), np.ones((24, 24), np.int64), np.pad(np.ones((2, 3)), ((0, 22), (0, 21)))]
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc"])
    card = _fixed_predictions(tiny(), predicted).evaluate(data)
    assert card["metrics"]["dice"]["value"] == 0.0 and card["metrics"]["dice"]["cases"] == 2  # nnU-Net: the FPs
    assert "hd95" not in card["metrics"]
    assert card["warning"].startswith("Dice, IoU and HD95 of disc are undefined where no reference mask holds it; the "
                                      "model predicted 582 pixels of it in 2 of the 3 case(s), all false positives")
    assert card["dice_left_out"]["per_label"]["disc"] == {"cases": 1, "false_positive_cases": 2,
                                                         "false_positive_voxels": 582}
    nothing = _fixed_predictions(tiny(), [np.zeros((24, 24), np.int64)] * 3).evaluate(data)
    assert nothing["metrics"] == {} and "the model predicted none of it, so not reported" in nothing["warning"]
    some = [m.copy() for m in masks]
    some[0] = pairs[0][1].astype(np.int64)  # one case holds the disc: its Dice is defined, nothing to warn of
    card = _fixed_predictions(tiny(), predicted).evaluate(
        SegmentationData.from_arrays([image for image, _ in pairs], some, ["background", "disc"]))
    assert "undefined where no reference mask" not in card.get("warning", "") and card["metrics"]["dice"]["cases"] == 3
    assert card["hd95_left_out"]["per_label"]["disc"]["cases"] == 1  # ... but the disc in it was missed: said apart


def test_dice_of_a_mask_value_no_reference_mask_holds_is_left_out_as_a_labels_is(tmp_path):
    """Masks entirely foreground (255): dice_value_0 was 0.0 while a label absent from the truth is left out
    (MONAI's ignore_empty). Now every label and mask value follows one rule (nnU-Net's): Dice 0 where the model
    predicts a value the truth lacks, left out where both lack it, counted and warned of."""
    root = write_pairs(tmp_path / "full", count=3)
    for mask in (root / "masks").iterdir():
        Image.fromarray(np.full((24, 24), 255, np.uint8)).save(mask)
    data = Segmenter.read_data(root)
    assert data.mask_values == [0, 255]
    predicted = [np.ones((24, 24), np.int64)] * 2 + [np.pad(np.ones((20, 24)), ((0, 4), (0, 0)))]  # 96 background
    card = _fixed_predictions(tiny(), predicted).evaluate(data)
    metrics = card["metrics"]
    assert metrics["dice_value_0"]["value"] == 0.0 and metrics["dice_value_0"]["cases"] == 1
    assert metrics["dice_value_255"]["cases"] == 3
    assert card["dice_left_out"]["per_mask_value"]["0"] == {"cases": 2, "false_positive_cases": 1,
                                                          "false_positive_voxels": 96}
    assert "Dice of mask value 0 (dice_value_0) is undefined" in card["warning"] and "96 pixels" in card["warning"]


def test_the_cards_model_names_a_trained_and_a_saved_segmentation_model(tmp_path):
    """`verticals evaluate` printed `model None` for a saved segmentation model: fit popped the card's name."""
    data = write_pairs(tmp_path / "d", count=3)
    model = tiny()
    model.fit(data, dataclasses.replace(TINY, time_budget_s=None))
    assert model.evaluate(data)["model"] == model.card["name"] == "unet trained (disc)"
    folder = model.save(tmp_path / "m")
    assert Segmenter.load(folder, device="cpu").evaluate(data)["model"] == model.card["name"]
    card = json.loads((folder / "card.json").read_text())
    card["name"] = None  # as saved before
    write_card(folder, card)
    assert Segmenter.load(folder, device="cpu").evaluate(data)["model"] == "m"


def test_a_dicom_records_mask_affine_maps_slice_row_column_to_where_the_pixel_is(tmp_path):
    """`mask_affine` was null for every DICOM prediction though the series' position tags place each pixel. Now it
    maps (slice, row, column) (one file: (row, column, 0)) to world mm in RAS, as the written mask file's affine does;
    a series without position tags still has none, and says why."""
    import nibabel as nib
    import pydicom
    from pydicom.data import get_testdata_file

    orientation = [1, 0, 0, 0, 0, -1]  # coronal
    row_cosines, column_cosines = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal, origin = np.cross(row_cosines, column_cosines), np.array([-80.0, -120.0, 30.0])
    for folder, placed in (("series", True), ("unplaced", False)):
        (tmp_path / folder).mkdir()
        for k in (2, 0, 1):
            dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
            dataset.SOPInstanceUID, dataset.InstanceNumber = pydicom.uid.generate_uid(), k + 1
            dataset.ImageOrientationPatient, dataset.PixelSpacing = orientation, [0.8, 0.6]
            dataset.ImagePositionPatient = list(origin + 2.5 * k * normal)
            if not placed:
                del dataset.ImagePositionPatient, dataset.ImageOrientationPatient
            dataset.save_as(tmp_path / folder / f"s{k}.dcm")
    model = _EchoModel.from_config(TINY, ["background", "disc"], device="cpu")
    series, unplaced, one = model.predict([tmp_path / "series", tmp_path / "unplaced", get_testdata_file("CT_small.dcm")],
                                          masks=tmp_path / "masks")
    assert series["shape"] == [3, 128, 128] and "(slice, row, column) to world mm in RAS" in series["mask_grid"]
    affine = np.array(series["mask_affine"])
    for slice_index, row, column in ((0, 0, 0), (2, 10, 100), (1, 127, 5)):
        lps = origin + 2.5 * slice_index * normal + row * 0.8 * column_cosines + column * 0.6 * row_cosines
        assert np.allclose(affine @ [slice_index, row, column, 1], [*(lps * [-1, -1, 1]), 1], atol=1e-4)
    written = nib.load(series["mask_path"])  # the file's voxel (column, row from the bottom, slice): the same point
    assert np.allclose(written.affine @ [100, 127 - 10, 2, 1], affine @ [2, 10, 100, 1], atol=1e-4)
    assert unplaced["mask_affine"] is None and "no position tags" in unplaced["mask_grid"]
    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    position, spacing = np.array(dataset.ImagePositionPatient, float), [float(v) for v in dataset.PixelSpacing]
    cosines = np.array(dataset.ImageOrientationPatient, float)
    lps = position + 7 * spacing[0] * cosines[3:] + 20 * spacing[1] * cosines[:3]
    assert one["shape"] == [128, 128] and "(row, column, 0)" in one["mask_grid"]
    assert np.allclose(np.array(one["mask_affine"]) @ [7, 20, 0, 1], [*(lps * [-1, -1, 1]), 1], atol=1e-4)


def test_a_structure_the_model_misses_entirely_is_named_as_left_out_of_hd95():
    """A case whose disc the model misses entirely has no HD95 (MONAI: NaN), so the mean HD95 was over the other
    cases and improved, with no warning and only `cases` in JSON to tell. Now the card says which cases HD95 left out
    and why, in `hd95_left_out` and a warning; every structure found: neither."""
    from monai.metrics import HausdorffDistanceMetric
    from monai.networks.utils import one_hot
    import torch

    pairs = [disc_pair(k, 24) for k in range(3)]
    masks = [mask.astype(np.int64) for _, mask in pairs]
    predicted = [np.roll(m, 1, axis=0) for m in masks]
    predicted[2] = np.zeros_like(masks[2])  # case 3: the disc missed entirely
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc"])
    card = _fixed_predictions(tiny(), predicted).evaluate(data)
    hd = HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MONAI warns of the empty prediction
        values = [float(hd(one_hot(torch.from_numpy(p)[None, None], 2), one_hot(torch.from_numpy(m)[None, None], 2))[0, 0])
                  for p, m in zip(predicted, masks)]
    assert not np.isfinite(values[2])  # MONAI: no predicted surface, no HD95
    assert card["metrics"]["hd95"]["value"] == pytest.approx(np.mean(values[:2]))  # still MONAI's mean over 2 ...
    assert card["metrics"]["hd95"]["cases"] == 2 and card["metrics"]["hd95"]["unit"] == "pixels"
    assert card["metrics"]["dice"]["cases"] == 3
    left_out = card["hd95_left_out"]  # ... and now said
    assert left_out["cases"] == 1
    assert left_out["per_label"] == {"disc": {"cases": 1, "of": 3, "names": [data.names[2]]}}
    assert card["warning"].startswith("HD95 leaves out some label in 1 of the 3 case(s): the model predicted none of a structure "
                                      f"the reference mask holds (disc in 1 of the 3 case(s) holding it ({data.names[2]}))")
    assert "read better than they are" in card["warning"]
    json.dumps(card, allow_nan=False)

    found = _fixed_predictions(tiny(), [np.roll(m, 1, axis=0) for m in masks]).evaluate(data)
    assert "hd95_left_out" not in found and "warning" not in found and found["metrics"]["hd95"]["cases"] == 3


def test_the_cli_says_the_hd95_left_out_warning_on_stderr(tmp_path, capsys, monkeypatch):
    """The card's warning reaches the terminal as a `warning:` line, as the other metric warnings do."""
    from core import cli

    pairs = [disc_pair(k, 24) for k in range(2)]
    masks = [mask.astype(np.int64) for _, mask in pairs]
    card = _fixed_predictions(tiny(), [masks[0], np.zeros_like(masks[1])]).evaluate(
        SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc"]))
    cli._SAID.clear()
    cli._print_card(card, as_json=False)
    assert "warning: HD95 leaves out some label in 1 of the 2 case(s)" in capsys.readouterr().err


def test_a_structure_predicted_where_the_reference_mask_is_empty_counts_as_dice_0_and_is_warned_of():
    """An empty reference mask where the model predicts the structure was left out of the Dice, IoU and HD95 means
    (MONAI's ignore_empty) with no warning, so the means read better than they are. Now nnU-Net's rule: Dice and IoU
    are 0 there (both empty: still left out), HD95 leaves it out (no reference surface) and says so, named, in
    hd95_left_out and a warning, as for a structure the model misses; every HD95 row says its unit."""
    pairs = [disc_pair(k, 24) for k in range(3)]
    masks = [mask.astype(np.int64) for _, mask in pairs]
    predicted = [m.copy() for m in masks]
    masks[2] = np.zeros_like(masks[2])  # case 3: no disc in the truth, but the model predicts one
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, ["background", "disc"])
    card = _fixed_predictions(tiny(), predicted).evaluate(data)
    metrics = card["metrics"]
    assert metrics["dice"]["value"] == pytest.approx(2 / 3) and metrics["dice"]["cases"] == 3
    assert metrics["iou_disc"]["value"] == pytest.approx(2 / 3) and metrics["iou_disc"]["cases"] == 3
    assert metrics["hd95"]["cases"] == 2 and metrics["hd95"]["unit"] == metrics["hd95_disc"]["unit"] == "pixels"
    assert card["dice_left_out"]["per_label"]["disc"] == {"cases": 0, "false_positive_cases": 1,
                                                         "false_positive_voxels": int(predicted[2].sum())}
    assert "nnU-Net" in card["dice_left_out"]["rule"]
    left_out = card["hd95_left_out"]
    assert left_out["cases"] == 1 and left_out["per_label"] == {}
    assert left_out["false_positives"] == {"disc": {"cases": 1, "names": [data.names[2]]}}
    assert card["warning"].startswith("HD95 leaves out some label in 1 of the 3 case(s): the model predicted a structure the "
                                      f"reference mask lacks (disc in 1 case(s) ({data.names[2]}))")
    json.dumps(card, allow_nan=False)
    both_empty = [m.copy() for m in masks]
    both_empty[2] = np.zeros_like(masks[2])  # both empty: left out of every mean, nothing to warn of
    quiet = _fixed_predictions(tiny(), both_empty).evaluate(data)
    assert quiet["metrics"]["dice"]["value"] == 1.0 and quiet["metrics"]["dice"]["cases"] == 2
    assert "hd95_left_out" not in quiet and "warning" not in quiet


def test_the_hd95_warning_counts_agree_with_the_mean_hd95_cases():
    """Two empty references where the model predicts grey matter and one holding only grey matter where it also
    predicts white matter: the warning said "HD95 leaves out 3 of the 3 case(s) ... the HD95 means are over the other
    cases" while the mean HD95 was over 1 case (per case over its labels with an HD95, so the third case stays in it
    by its grey matter). Now it says a label is left out in 3 cases and the mean HD95 is over 1, partly left out."""
    labels = ("background", "grey_matter", "white_matter")
    pairs = [disc_pair(k, 24) for k in range(3)]
    empty = np.zeros((24, 24), np.int64)
    grey = pairs[1][1].astype(np.int64)
    both = grey.copy()
    both[:2, :2] = 2  # white matter the reference lacks
    masks = [empty, grey, empty.copy()]
    predicted = [grey, both, grey]
    data = SegmentationData.from_arrays([image for image, _ in pairs], masks, list(labels))
    card = _fixed_predictions(tiny(labels), predicted).evaluate(data)
    assert card["metrics"]["hd95"]["cases"] == 1
    left_out = card["hd95_left_out"]
    assert left_out["cases"] == 3 and left_out["mean_cases"] == 1 and left_out["mean_cases_partial"] == 1
    assert "HD95 leaves out some label in 3 of the 3 case(s): " in card["warning"]
    assert "the mean HD95 is over 1 of the 3 case(s), 1 of them with some label's HD95 left out" in card["warning"]
    assert "over the other cases and read" not in card["warning"]
    json.dumps(card, allow_nan=False)
