"""Fast classifier inference: batch-norm folded into the convolutions of an inference copy, and one uint8 batch
normalised once (timm's own geometry, channels-last without a copy)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["fuse_batch_norm", "BatchPreprocessor"]


def fuse_batch_norm(network, check_size: int = 64):
    """An eval-mode copy of `network` with each batch norm folded into the convolution before it (its activation
    kept); None when the copy's outputs differ from the original's on a random batch (an unexpected layout).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()).eval()
    >>> fused = fuse_batch_norm(net)
    >>> [type(m).__name__ for m in fused]
    ['Conv2d', 'Identity', 'ReLU']
    """
    import torch

    fused = copy.deepcopy(network).eval()
    replacements = []
    for parent in fused.modules():
        previous = None  # the convolution registered just before, among this module's own children
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.Conv2d):
                previous = child
            elif isinstance(child, torch.nn.modules.batchnorm._BatchNorm) and previous is not None:
                if previous.out_channels == child.num_features and child.track_running_stats and child.running_var is not None:
                    replacements.append((parent, name, previous, child))
                previous = None
            elif not isinstance(child, (torch.nn.Identity, torch.nn.Dropout)):
                previous = None  # anything else between a convolution and a norm breaks the pair
    if not replacements:
        return None
    with torch.no_grad():
        for parent, name, conv, norm in replacements:
            scale = (norm.weight if norm.affine else torch.ones_like(norm.running_var)) / torch.sqrt(norm.running_var + norm.eps)
            shift = (norm.bias if norm.affine else torch.zeros_like(norm.running_mean)) - norm.running_mean * scale
            bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
            conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
            conv.bias = torch.nn.Parameter(bias * scale + shift)
            # timm's BatchNormAct2d applies dropout and an activation after the norm: keep those
            tail = [m for m in (getattr(norm, "drop", None), getattr(norm, "act", None)) if m is not None]
            setattr(parent, name, torch.nn.Sequential(*tail) if tail else torch.nn.Identity())
    first_conv = next(m for m in network.modules() if isinstance(m, torch.nn.Conv2d))
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(2, first_conv.in_channels, check_size, check_size, generator=generator)
    sample = sample.to(next(network.parameters()).device)
    was_training = network.training
    network.eval()
    with torch.inference_mode():
        expected, got = network(sample), fused(sample)
    network.train(was_training)
    if expected.shape != got.shape or not torch.allclose(expected, got, rtol=1e-3, atol=1e-3 * float(expected.abs().max()) + 1e-5):
        return None
    return fused


class BatchPreprocessor:
    """timm's eval geometry (resize + centre crop, from `data_config`) on PIL images, then one uint8 batch
    (B, H, W, C) viewed as channels-last (B, C, H, W) and normalised in one pass: the same values as timm's
    per-image ToTensor + Normalize, with fewer passes over memory."""

    def __init__(self, data_config: dict[str, Any]):
        import timm
        import torch

        config = {k: v for k, v in data_config.items() if k in ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")}
        full = timm.data.create_transform(**config, is_training=False)
        self.geometry = [t for t in full.transforms if type(t).__name__ not in {"MaybeToTensor", "ToTensor", "Normalize"}]
        channels = int(data_config["input_size"][0])
        mean = torch.tensor(data_config["mean"], dtype=torch.float32).reshape(1, -1, 1, 1)
        std = torch.tensor(data_config["std"], dtype=torch.float32).reshape(1, -1, 1, 1)
        self.scale = (1.0 / (255.0 * std)).expand(1, channels, 1, 1)
        self.offset = (-mean / std).expand(1, channels, 1, 1)

    def __call__(self, images: list) -> Any:
        import torch

        arrays = []
        for image in images:
            for step in self.geometry:
                image = step(image)
            array = np.asarray(image)
            arrays.append(array[..., None] if array.ndim == 2 else array)
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # channels-last strides, no copy
        return torch.addcmul(self.offset, batch.float(), self.scale)
