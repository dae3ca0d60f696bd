"""Vision classification: acceptance points beyond the shared contract (tiny random-init timm models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes, truncated_png

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
    assert "warning" not in card and "labels_unknown_to_model" not in card
    partial = image_folder(tmp_path / "partial", classes=("cat", "bee"), per_class=2)
    card = model.evaluate(partial)
    assert "does not know 1" in card["warning"] and card["labels_unknown_to_model"] == ["bee"] and card["per_class_recall"]["bee"] == 0.0


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
    report = ImageClassifier.check_data(data)
    assert report["classes"] == {"cat": 2, "dog": 2} and report["n"] == 4


def test_predict_frame_column(tiny, tmp_path):
    import polars as pl

    model, data, _ = tiny
    frame = pl.DataFrame({"path": [str(data / "cat" / "0.png"), str(data / "dog" / "1.png")]})
    assert model.predict_frame(frame).height == 2


def test_default_trains_on_digits_when_fashion_mnist_is_missing(monkeypatch):
    from vision import classification

    monkeypatch.setattr(classification, "FASHION_MNIST_DIR", Path("/no/such/dir"))
    name, labels, x_train, y_train, x_test, y_test = classification._default_data()
    assert "digits" in name and x_train.shape[1:] == (28, 28) and len(labels) == 10
    model = classification.train_default(name, labels, x_train, y_train, x_test, y_test, steps=2, batch_size=16)
    assert 0 <= model.info["metrics"]["test_accuracy"] <= 1
    assert model.predict([png_bytes()])[0]["label"] in labels


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not present")
def test_evaluate_default_on_hymenoptera_gives_honest_card():
    from vision.classification import ImageClassifier

    card = ImageClassifier.load().evaluate(SHARED)
    assert "does not know any" in card["warning"] and card["metrics"]["accuracy"]["value"] == 0.0 and card["labels_unknown_to_model"] == ["ants", "bees"]
    assert 0.0 < card["metrics"]["linear_probe_accuracy"]["value"] <= 1.0
