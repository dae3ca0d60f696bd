"""The Vision page runs with a tiny saved classifier and the COCO-80 detection default."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from core.artifacts import models_dir

pytest.importorskip("streamlit")
PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "vision.py")


@pytest.fixture()
def tiny_classifier():
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["T-shirt/top", "Trouser", "Pullover"], device="cpu", in_chans=1)
    model.data_config = {**model.data_config, "input_size": (1, 28, 28), "mean": (0.5,), "std": (0.5,), "crop_pct": 1.0}
    name = f"vision-tiny-{os.getpid()}"
    model.save(models_dir() / name)
    return name


def test_vision_page_classifies_and_detects(tiny_classifier):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state["vision-cls-model"] = f"Saved: {tiny_classifier}"
    app.run()
    assert not app.exception
    app.checkbox(key="vision-gradcam").check().run()
    assert not app.exception and len(app.get("imgs")) >= 0
    app.radio(key="vision-task").set_value("Detection").run()
    assert not app.exception
    if importlib.util.find_spec("matplotlib") is not None:  # the default sample is a portrait: the COCO model finds its tie
        assert app.selectbox(key="vision-sample-vision.detection").value.startswith("grace_hopper.jpg")
        captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
        counts = [int(c.split()[0]) for c in captions if c.endswith("detection(s)")]
        assert counts and counts[0] >= 1, captions
        from vision._darknet import COCO80_NAMES

        labels = app.dataframe[0].value["label"].tolist()
        assert labels and set(labels) <= set(COCO80_NAMES), labels
    app.slider(key="vision-threshold").set_value(0.2).run()
    assert not app.exception
    if importlib.util.find_spec("matplotlib") is not None:  # Ultralytics' options: a class filter and a cap of one box
        app.checkbox(key="vision-set-iou").check().run()
        app.slider(key="vision-iou").set_value(0.3).run()
        app.checkbox(key="vision-set-maxdet").check().run()
        app.number_input(key="vision-maxdet").set_value(1).run()
        assert not app.exception and len(app.dataframe[0].value) == 1
        app.multiselect(key="vision-classes").set_value(["tie"]).run()
        assert not app.exception and app.dataframe[0].value["label"].tolist() == ["tie"]


def test_vision_page_default_names_imagenet_classes():
    """With the embedded default, a sample photo gets ImageNet labels (the 1,000-class EfficientNet-Lite0)."""
    from streamlit.testing.v1 import AppTest

    import vision.classification  # noqa: F401 - the package, before the page's folder shadows the name `vision`
    from core.backbones import imagenet_class_names

    app = AppTest.from_file(PAGE, default_timeout=240)
    app.run()
    assert not app.exception
    captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
    predicted = [c.rsplit(" (", 1)[0] for c in captions if c.endswith("%)")]
    assert predicted and predicted[0] in imagenet_class_names(), captions


def test_the_haar_built_in_is_one_choice_away_on_the_vision_page():
    """Haar was reachable only by typing `haar` into the hub-id box (which first tried to download DETR)."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    app.radio(key="vision-task").set_value("Detection").run()
    app.radio(key="vision-det-builtin").set_value("OpenCV Haar cascades (faces, bodies, cat faces, plates)").run()
    assert not app.exception and not app.error
    assert not [c for c in app.checkbox if c.key == "vision-set-iou"]  # Haar runs no NMS: no IoU to set
