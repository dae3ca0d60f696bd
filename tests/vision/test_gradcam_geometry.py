"""Grad-CAM covers the network's input (timm's eval resize + centre crop), not the whole image: explain() says where
that input lies in the image (`crop_box`, `image_size`) and `heatmap_in_image` places the map on the image's own
pixels, so an overlay lines up with what the model saw (it used to be stretched over the whole image)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _marker_image(size, box):
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste((255, 0, 0), box)
    return image


def _red(image) -> np.ndarray:
    array = np.asarray(image.convert("RGB")).astype(int)
    return ((array[..., 0] > 200) & (array[..., 1] < 60)).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    from vision.classification import ImageClassifier

    return ImageClassifier.from_timm("test_resnet", ["a", "b"], device="cpu")


@pytest.mark.parametrize("config", [
    {"input_size": (3, 224, 224), "crop_pct": 0.875, "crop_mode": "center"},  # the ImageNet default's geometry
    {"input_size": (3, 260, 260), "crop_pct": 1.0, "crop_mode": "center"},  # the retrained Lite2's
    {"input_size": (3, 224, 224), "crop_pct": 0.875, "crop_mode": "squash"},
    {"input_size": (3, 224, 224), "crop_pct": 1.15, "crop_mode": "border"},  # padded, not cropped
    {"input_size": (3, 224, 160), "crop_pct": 0.9, "crop_mode": "center"},  # a non-square input
])
def test_heat_on_an_off_centre_object_maps_back_onto_its_pixels(model, config):
    from vision.classification import heatmap_in_image

    model.data_config = {**model.data_config, **config}
    image = _marker_image((500, 375), (300, 60, 332, 92))  # off centre, inside the crop
    record = model.explain(image)
    assert record["image_size"] == [500, 375] and np.array(record["heatmap"]).shape == tuple(config["input_size"][1:])
    # heat exactly where the network's input shows the marker (timm's own eval geometry run on the image)
    seen = image
    for step in model._preprocessor[1].geometry:
        seen = step(seen)
    record["heatmap"] = _red(seen).tolist()
    placed = heatmap_in_image(record)
    assert placed.shape == (375, 500)
    ys, xs = np.nonzero(placed > 0.5)
    assert abs(xs.mean() - 315.5) < 2.5 and abs(ys.mean() - 75.5) < 2.5  # the marker's centre in the image
    assert placed[:, :250].max() == 0 and placed[150:, :].max() == 0  # no heat where the marker is not


def test_a_wide_image_gets_no_heat_outside_the_centre_crop(model):
    from vision.classification import heatmap_in_image

    model.data_config = {**model.data_config, "input_size": (3, 224, 224), "crop_pct": 0.875, "crop_mode": "center"}
    image = _marker_image((900, 300), (150, 100, 250, 200))  # left of the 300 x 300 centre region the model sees
    record = model.explain(image)
    x1, y1, x2, y2 = record["crop_box"]
    assert x1 == pytest.approx(319.7, abs=1) and x2 == pytest.approx(580.3, abs=1) and (y1, y2) == (18.75, 281.25)
    record["heatmap"] = np.ones((224, 224)).tolist()  # heat over all the network saw
    placed = heatmap_in_image(record)
    assert placed[:, 150:250].max() == 0  # the marker lies outside what the network saw: no heat on it
    assert placed[25:275, 330:570].min() > 0.999 and placed[:15].max() == 0 and placed[:, :310].max() == 0 and placed[:, 590:].max() == 0
