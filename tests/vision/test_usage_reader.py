"""The cards' `usage` snippets read an image as predict does: a 16-bit grey PNG (X-ray, microscopy, EM exports) was
opened with PIL's `.convert("RGB")`, which clips its values at 255, so the snippet saw a nearly white picture and
disagreed with predict (a saved hymenoptera model: bees 0.994 by predict, ants 0.910 by the snippet)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.data import open_image

GREY = np.random.default_rng(0).integers(0, 256, (40, 56), dtype=np.uint8)  # an 8-bit picture, saved deeper below


def _images(folder):
    """One image file per kind of pixels predict converts: {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}

    def save(name, image, **options):
        paths[name] = folder / name
        image.save(paths[name], **options)

    save("grey16.png", Image.fromarray(GREY.astype(np.uint16) * 257))  # PIL opens it as I;16
    save("grey16_narrow.png", Image.fromarray((GREY.astype(np.uint16) * 40 + 1000)))
    save("int32_16bit.tif", Image.fromarray(GREY.astype(np.int32) * 257))  # mode I, values within 16 bits
    save("int32_8bit.tif", Image.fromarray(GREY.astype(np.int32)))
    save("int32_signed.tif", Image.fromarray(GREY.astype(np.int32) * 1000 - 90_000))
    save("float_unit.tif", Image.fromarray(GREY.astype(np.float32) / 255))
    save("float_255.tif", Image.fromarray(GREY.astype(np.float32)))
    save("float_wide.tif", Image.fromarray(GREY.astype(np.float32) * 37.5 - 800))
    palette = Image.fromarray(GREY % 16).convert("P")
    save("palette.png", palette, transparency=3)
    save("grey_alpha.png", Image.fromarray(np.stack([GREY, 255 - GREY], -1), "LA"))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees to show
    save("sideways.jpg", Image.fromarray(np.stack([GREY, GREY[::-1], 255 - GREY], -1)), format="JPEG",
         exif=exif.tobytes())
    return paths


def test_the_usage_reader_reads_every_kind_of_pixels_as_predict_does(tmp_path):
    """`read_image` of the snippets (PIL and numpy alone) gives open_image's pixels, for RGB and grey models."""
    from vision._images import USAGE_READER

    namespace = {}
    exec(USAGE_READER, namespace)
    read_image = namespace["read_image"]
    images = _images(tmp_path)
    assert Image.open(images["grey16.png"]).mode.startswith("I;16")  # the case the snippets got wrong
    for name, path in images.items():
        for mode in ("RGB", "L"):
            ours, theirs = open_image(path, mode), read_image(path, mode)
            assert (theirs.mode, theirs.size) == (ours.mode, ours.size), name
            assert np.array_equal(np.asarray(theirs), np.asarray(ours)), (name, mode)
    grey16 = np.asarray(read_image(images["grey16.png"], "L"))
    assert np.array_equal(grey16, GREY)  # the 16-bit copy reads as the 8-bit picture, not clipped at 255


def test_the_classification_usage_predicts_as_predict_on_a_16_bit_grey_png(tmp_path):
    """A saved classifier's `usage`, run without this product, gives predict's probabilities on a 16-bit PNG."""
    from tests.common import run_usage
    from vision.classification import ImageClassifier

    images = _images(tmp_path / "images")
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    saved = model.save(tmp_path / "saved")
    paths = [str(images[name]) for name in ("grey16.png", "grey16_narrow.png", "float_unit.tif", "sideways.jpg")]
    plain = run_usage(saved, images=paths)
    ours = model.predict(paths, top_k=2)
    for row, record in zip(plain, ours):
        assert row["scores"] == pytest.approx({t["label"]: t["score"] for t in record["top_k"]}, abs=1e-5), record["path"]
    # the check can fail: the clipped picture (PIL's convert) scores differently from the picture itself
    clipped = model.predict([Image.open(paths[0]).convert("RGB")], top_k=2)[0]
    assert {t["label"]: t["score"] for t in clipped["top_k"]} != pytest.approx(plain[0]["scores"], abs=1e-5)


def test_the_torchvision_detection_usage_finds_predicts_boxes_on_a_16_bit_grey_png(tmp_path):
    """A saved torchvision detector's `usage` finds predict's boxes on a 16-bit PNG and a float TIFF."""
    from tests.common import run_usage
    from vision.detection import Detector

    images = _images(tmp_path / "images")
    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", ["thing", "other"], device="cpu",
                                 min_size=96, max_size=96, box_detections_per_img=20)
    model.score_threshold = 0.0  # random init: low scores, every box kept for the comparison
    saved = model.save(tmp_path / "saved")
    paths = [str(images[name]) for name in ("grey16.png", "float_wide.tif")]
    plain = run_usage(saved, images=paths)
    ours = model.predict(paths)
    assert all(record["detections"] for record in ours)
    for rows, record in zip(plain, ours):
        assert [(row["label"], row["score"]) for row in rows] == [
            (d["label"], pytest.approx(d["score"], abs=1e-4)) for d in record["detections"]], record["path"]
        assert [row["box_xyxy"] for row in rows] == [pytest.approx(d["box"], abs=0.02) for d in record["detections"]]


def test_the_transformers_detection_usage_runs_alone_and_finds_predicts_boxes(tmp_path):
    """A saved DETR's `usage` (transformers' pipeline on read_image's pictures) gives predict's labels and scores, one
    image at a time, its boxes predict's rounded down to whole pixels; the pipeline opening the 16-bit PNG itself
    clipped it (0.3747 for predict's 0.3795)."""
    pytest.importorskip("transformers")
    from tests.common import run_usage
    from tests.vision._fixtures import tiny_detr
    from vision.detection import Detector

    tiny_detr(tmp_path / "detr")
    model = Detector.load(tmp_path / "detr", device="cpu")
    model.score_threshold = 0.0
    saved = model.save(tmp_path / "saved")
    images = _images(tmp_path / "images")
    paths = [str(images[name]) for name in ("grey16.png", "sideways.jpg")]
    plain = run_usage(saved, images=paths)
    ours = model.predict(paths, batch_size=1)
    assert all(record["detections"] for record in ours)
    for rows, record in zip(plain, ours):
        found = sorted((row["label"], round(row["score"], 4), *row["box"].values()) for row in rows)
        wanted = sorted((d["label"], round(d["score"], 4), *(int(v) for v in d["box"])) for d in record["detections"])
        assert len(found) == len(wanted), record["path"]
        for one, other in zip(found, wanted):
            assert one[:2] == other[:2] and all(abs(a - b) <= 1 for a, b in zip(one[2:], other[2:])), (one, other)
