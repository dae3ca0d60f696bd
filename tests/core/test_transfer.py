"""The linear probe shared by vision and medical classification (core.transfer.probe_head)."""

import numpy as np
import pytest

from core.transfer import probe_head


def _features(seed: int = 0):
    """Two classes that differ in one high-variance feature; 30 low-variance noise features that standardisation
    would lift to the same scale."""
    rng = np.random.default_rng(seed)
    y = np.array([0] * 20 + [1] * 20)
    signal = np.where(y == 1, 4.0, 0.0) + rng.normal(0, 2.0, len(y))
    noise = rng.normal(0, 0.01, (len(y), 30))
    return np.column_stack([signal, noise]), y


@pytest.mark.parametrize("standardise", [True, False])
def test_the_folded_head_on_raw_features_gives_the_logistic_regression_probabilities(standardise):
    from sklearn.linear_model import LogisticRegression

    x, y = _features()
    weight, bias, info = probe_head(x, y, 2, standardise=standardise)
    logits = x @ weight.T + bias
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    z = (x - x.mean(0)) / x.std(0) if standardise else x
    reference = LogisticRegression(C=info["C"], max_iter=3000, class_weight="balanced").fit(z, y).predict_proba(z)
    assert np.allclose(probabilities, reference, atol=1e-4)
    assert info["features"] == ("standardised" if standardise else "raw")


def test_out_of_fold_probabilities_cover_every_row_and_give_the_cv_accuracy():
    x, y = _features(1)
    _, _, info = probe_head(x, y, 3, keep_oof=True)  # a third class absent from the data gets probability 0
    oof = info["oof"]
    assert oof.shape == (len(y), 3) and np.allclose(oof.sum(1), 1) and np.all(oof[:, 2] == 0)
    assert info["cv_accuracy"] == round(float((oof.argmax(1) == y).mean()), 4)
    assert "oof" not in probe_head(x, y, 2)[2]  # only when asked: it is an array, not card material
    assert probe_head(x[:4], y[[0, 1, 20, 21]], 2, keep_oof=True)[2]["oof"] is None  # too few to cross-validate


def test_the_probe_alone_is_the_model_below_the_fine_tune_minimum_fitted_on_every_image():
    """The probe-only rule vision and medical classification share (core.transfer.plan_probe)."""
    from core.transfer import plan_probe

    labels = ["a"] * 100 + ["b"] * 99
    rule = {"pretrained": True, "head_init": "probe", "fine_tune": True, "fine_tune_min_per_class": 100}
    train, val = list(range(150)), list(range(150, 199))
    plan = plan_probe(labels, None, train, val, **rule)
    assert plan.probe_only and plan.smallest_class == 99 and plan.cross_validated
    assert plan.train_index == plan.val_index == list(range(199))  # every image: the probe picks C by cross-validation
    enough = plan_probe(labels, None, train, val, **{**rule, "fine_tune_min_per_class": 99})
    assert not enough.probe_only and (enough.train_index, enough.val_index) == (train, val) and not enough.cross_validated
    assert plan_probe(["a"] * 500 + ["b"] * 500, None, train, val, **{**rule, "fine_tune": False}).probe_only
    for other in ({"pretrained": False}, {"head_init": "random"}):  # random starts and heads always fine-tune
        assert not plan_probe(labels, None, train, val, **{**rule, **other}).probe_only


def test_a_named_validation_split_keeps_its_images_out_of_the_probe():
    from core.transfer import plan_probe

    labels, splits = ["a", "a", "b", "b"], ["train", "valid", "train", None]
    rule = {"pretrained": True, "head_init": "probe", "fine_tune": True, "fine_tune_min_per_class": 100}
    plan = plan_probe(labels, splits, [0, 2, 3], [1], **rule)
    assert plan.probe_only and (plan.train_index, plan.val_index) == ([0, 2, 3], [1]) and not plan.cross_validated
    # tiny data that fine-tunes validates on its training images: that is not the probe's cross-validation
    tuned = plan_probe(labels, None, [0, 1, 2, 3], [0, 1, 2, 3], **{**rule, "fine_tune_min_per_class": 1})
    assert not tuned.probe_only and not tuned.cross_validated


def test_near_copy_keys_joins_resized_and_reencoded_copies_and_keeps_distinct_images_apart():
    import io

    from PIL import Image

    from core.transfer import near_copy_keys

    rng = np.random.default_rng(1)
    smooth = [np.kron(rng.normal(0, 1, (8, 8)), np.ones((16, 16))) for _ in range(6)]  # 128x128 pictures
    pictures = [Image.fromarray(((a - a.min()) / np.ptp(a) * 255).astype(np.uint8)).convert("RGB") for a in smooth]
    copy = pictures[2].resize((115, 115))
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=70)
    brighter = np.clip(np.asarray(pictures[4], dtype=np.float64) + 20, 0, 255)  # an array, not a PIL image
    images = pictures + [Image.open(buffer), brighter, np.zeros((4, 4, 4))]  # the last one: a volume, not a picture
    keys = near_copy_keys(images, [f"k{i}" for i in range(len(images))])
    assert keys == ["k0", "k1", "k2", "k3", "k4", "k5", "k2", "k4", "k8"]
    # exact keys are kept joined, and a chain of near copies is one group named by its first image
    assert near_copy_keys([pictures[0], pictures[1], pictures[0]], ["x", "y", "y"]) == ["x", "x", "x"]


def test_near_copy_keys_joins_mirrored_and_upside_down_copies():
    """A mirrored file of an image was its own group: the probes add each image's mirror to training, so that file's
    exact pixels were trained on while it was scored (out-of-fold AUC 0.94 on shuffled labels)."""
    from PIL import Image

    from core.transfer import near_copy_keys

    rng = np.random.default_rng(2)
    smooth = [np.kron(rng.normal(0, 1, (8, 8)), np.ones((16, 16))) for _ in range(4)]
    pictures = [Image.fromarray(((a - a.min()) / np.ptp(a) * 255).astype(np.uint8)) for a in smooth]
    images = pictures + [pictures[1].transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                         pictures[3].transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    assert near_copy_keys(images, ["a", "b", "c", "d", "e", "f"]) == ["a", "b", "c", "d", "b", "d"]
