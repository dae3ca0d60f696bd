"""Near copies of an image (resized and re-encoded as JPEG) join its group for the linear probe's folds, and the
cards, fit's warning and check-data count them as "copies or near copies" (tester_A finding 1: on noise labels the
probe's out-of-fold accuracy read 0.81-0.85 with such copies, 0.375 without)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _smooth(seed: int, size: int = 64) -> Image.Image:
    """A photo-like image: coarse noise blown up smoothly (distinct seeds are far apart in perceptual hash)."""
    coarse = np.random.default_rng(seed).integers(0, 255, (6, 6, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)


def _folder_with_near_copies(root: Path, per_class: int = 6, copied: int = 2) -> Path:
    """`per_class` PNGs per class; the first `copied` of each also saved at 90% size as JPEG q=90 beside them."""
    for c, label in enumerate(("cat", "dog")):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            image = _smooth(c * 100 + i)
            image.save(root / label / f"{i}.png")
            if i < copied:
                image.resize((58, 58), Image.Resampling.BILINEAR).save(root / label / f"{i}_small.jpg", quality=90)
    return root


def test_near_copies_share_a_key_and_are_counted():
    from vision.classification import _copy_keys

    images = [_smooth(seed) for seed in range(4)]
    copy = images[1].resize((58, 58))
    keys, byte_copies, near_copies = _copy_keys(images + [copy, images[2]])
    assert keys[4] == keys[1] and keys[5] == keys[2] and len(set(keys[:4])) == 4
    assert (byte_copies, near_copies) == (1, 1)


@pytest.fixture(scope="module")
def tiny():
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    return model


def test_evaluate_and_check_data_count_near_copies_and_the_probe_groups_them(tiny, tmp_path):
    from vision.classification import ImageClassifier

    data = _folder_with_near_copies(tmp_path / "data")
    card = tiny.evaluate(data)
    assert card["duplicate_images"] == 4 and card["near_duplicate_images"] == 4
    assert card["linear_probe"]["images"] == 16 and card["linear_probe"]["distinct_images"] == 12
    assert "4 of the 16 images are copies or near copies of others (0 byte-identical, 4 near copies" in card["warning"]
    report = ImageClassifier.check_data(data)
    assert report["duplicate_images"] == 4 and report["near_duplicate_images"] == 4
    assert "copies or near copies" in report["warning"]


def test_fit_keeps_an_image_and_its_near_copies_in_one_probe_fold(tmp_path, monkeypatch):
    from tests.vision._fixtures import probe_groups_spy, tiny_pretrained_classifier
    from vision.classification import ClassifierConfig

    data = _folder_with_near_copies(tmp_path / "data", per_class=4, copied=1)
    seen = probe_groups_spy(monkeypatch)
    model = tiny_pretrained_classifier()
    with pytest.warns(UserWarning, match=r"2 of the 10 images are copies or near copies of others \(0 byte-identical, "
                                         r"2 near"):
        model.fit(data, ClassifierConfig(fine_tune=False, progress_bar=False))
    groups = seen["groups"]
    assert len(groups) == 2 * 10 and len(set(groups)) == 8  # 10 images, 8 distinct; mirrors in their image's group
    assert model.info["trained_on"]["duplicate_images"] == 2 and model.info["trained_on"]["near_duplicate_images"] == 2
    assert "copies or near copies" in model.info["warning"]


def test_the_validation_split_keeps_an_image_and_its_copies_on_one_side():
    from vision.classification import _split

    # 20 images per class, each listed with a copy (equal key): a random split put copies on both sides
    items = [(f"{label}{i}_{copy}.png", label, None) for label in ("cat", "dog") for i in range(20) for copy in (0, 1)]
    keys = [name.split("_")[0] for name, _, _ in items]
    train, val = _split(items, 0.2, seed=0, groups=keys)
    assert not {keys[i] for i in train} & {keys[i] for i in val}
    assert sorted(train + val) == list(range(80)) and 12 <= len(val) <= 20
    assert {items[i][1] for i in val} == {"cat", "dog"}
    plain_train, plain_val = _split(items, 0.2, seed=0)  # without keys: as before
    assert {keys[i] for i in plain_train} & {keys[i] for i in plain_val}
