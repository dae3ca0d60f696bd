"""What vision's predict takes as one image or many, and the batch sizes it accepts (classification and detection
share vision._images.image_list / check_batch_size)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes

IMAGE = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def classifier():
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    return model


@pytest.fixture(scope="module")
def detector():
    from vision.detection import Detector

    return Detector.load("haar")


@pytest.fixture(params=["classifier", "detector"])
def model(request):
    return request.getfixturevalue(request.param)


def test_one_array_or_pil_image_is_one_record(model):
    """An (H, W, 3) array was iterated row by row: 40 records for one image, silently."""
    alone = model.predict(IMAGE)
    assert len(alone) == 1 and alone == model.predict([IMAGE])
    assert model.predict(Image.fromarray(IMAGE)) == alone
    assert len(model.predict(IMAGE[..., 0])) == 1  # (H, W) grey
    assert len(model.predict(IMAGE[..., :1])) == 1  # (H, W, 1)


def test_lists_tuples_and_a_4d_array_are_many(model):
    assert len(model.predict((IMAGE, png_bytes()))) == 2
    stack = np.stack([IMAGE, IMAGE[::-1], IMAGE[:, ::-1]])  # (N, H, W, C)
    records = model.predict(stack)
    assert len(records) == 3 and records[0] == model.predict(IMAGE)[0]


@pytest.mark.parametrize("bad", [None, 3, {"path": "a.png"}, np.zeros(5), np.zeros((1, 2, 3, 4, 5), np.uint8)],
                         ids=["none", "int", "dict", "1d", "5d"])
def test_none_and_unsupported_inputs_are_input_errors(model, bad):
    with pytest.raises(InputError, match=r"PIL image|\(H, W, C\)"):
        model.predict(bad)


def test_a_table_or_a_stack_of_grey_images_gets_a_hint(model):
    import polars as pl

    with pytest.raises(InputError, match="predict_frame"):
        model.predict(pl.DataFrame({"path": ["a.png"]}))
    with pytest.raises(InputError, match=r"\(N, H, W, 1\)"):
        model.predict(np.zeros((5, 28, 28), np.uint8))  # five grey images, or one with 28 channels: refused
    with pytest.raises(InputError, match=r"^image 2 of 2: .*\(N, H, W, 1\)"):
        model.predict([IMAGE, np.zeros((5, 28, 28), np.uint8)])
    with pytest.raises(InputError, match="no images given"):
        model.predict([])


def test_explain_takes_exactly_one_image(classifier):
    assert classifier.explain(IMAGE)["label"] in {"cat", "dog"}
    with pytest.raises(InputError, match="explain takes one image"):
        classifier.explain([IMAGE, IMAGE])


@pytest.mark.parametrize("batch_size", [2.5, "4", 0, -1, True])
def test_a_batch_size_that_is_not_a_whole_number_from_1_is_refused(model, batch_size, tmp_path):
    """2.5 and "4" raised a raw TypeError; 0 was silently replaced by the default."""
    with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
        model.predict([IMAGE], batch_size=batch_size)
    if hasattr(model, "predict_proba"):
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            model.predict_proba([IMAGE], batch_size=batch_size)
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            model.evaluate(image_folder(tmp_path / "data", per_class=2), batch_size=batch_size)


def test_a_numpy_whole_number_batch_size_is_taken(model):
    assert len(model.predict([IMAGE] * 3, batch_size=np.int64(2))) == 3
