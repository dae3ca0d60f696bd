"""Segmentation networks beside MONAI's U-Net: a U-Net whose encoder is the ImageNet EfficientNet-Lite0 (timm).

The card stores the constructor arguments; weights are plain safetensors, so the network rebuilds from timm + torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LITE_UNET", "MONAI_UNET", "build_network", "lite_unet"]

MONAI_UNET = "monai.networks.nets.UNet"
LITE_UNET = "verticals.LiteUNet"  # timm tf_efficientnet_lite0 (features_only) encoder + conv/upsample decoder


def _conv_block(in_channels: int, out_channels: int):
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def lite_unet(out_channels: int, decoder_channels: tuple[int, ...] = (96, 48, 32, 24, 16), pretrained: bool = True,
              frozen_stages: int = 0):
    """A 2D U-Net on the EfficientNet-Lite0 encoder (strides 2..32) for one-channel images scaled to about [0, 1].

    `pretrained` loads the packaged ImageNet weights (core.backbones); `frozen_stages` keeps the stem and the first
    encoder stages fixed (their backward pass is skipped: cheaper steps on CPU).

    >>> import torch
    >>> net = lite_unet(2, pretrained=False)
    >>> tuple(net(torch.zeros(1, 1, 64, 64)).shape)
    (1, 2, 64, 64)
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from core.backbones import IMAGENET_LITE_MEAN, IMAGENET_LITE_STD, efficientnet_lite0

    class LiteUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = efficientnet_lite0(pretrained=pretrained, features_only=True)
            skips = self.encoder.feature_info.channels()  # (16, 24, 40, 112, 320) at strides 2, 4, 8, 16, 32
            blocks, width = [], skips[-1]
            for skip, out in zip(list(reversed(skips[:-1])) + [0], decoder_channels):
                blocks.append(_conv_block(width + skip, out))
                width = out
            self.decoder = nn.ModuleList(blocks)
            self.head = nn.Conv2d(width, out_channels, 1)
            self.register_buffer("mean", torch.tensor(IMAGENET_LITE_MEAN[0]), persistent=False)
            self.register_buffer("std", torch.tensor(IMAGENET_LITE_STD[0]), persistent=False)
            for name, parameter in self.encoder.named_parameters():
                stage = int(name.split(".")[1]) if name.startswith("blocks.") else -1
                if frozen_stages and stage < frozen_stages - 1:
                    parameter.requires_grad_(False)

        def forward(self, x):  # (B, 1, H, W), H and W multiples of 32
            x = ((x - self.mean) / self.std).expand(-1, 3, -1, -1)
            features = self.encoder(x)
            y = features[-1]
            for block, skip in zip(self.decoder, list(reversed(features[:-1])) + [None]):
                y = F.interpolate(y, scale_factor=2.0, mode="nearest")
                y = block(y if skip is None else torch.cat([y, skip], 1))
            return self.head(y)

        def train(self, mode: bool = True):
            super().train(mode)
            if frozen_stages:  # frozen stages keep their ImageNet batch-norm statistics
                for name, module in self.encoder.named_modules():
                    stage = int(name.split(".")[1]) if name.startswith("blocks.") and name.count(".") >= 1 else -1
                    if isinstance(module, nn.BatchNorm2d) and stage < frozen_stages - 1:
                        module.eval()
            return self

    return LiteUNet()


def build_network(kind: str, args: dict[str, Any], pretrained: bool = False):
    """Rebuild a network from the class name and constructor arguments a card stores (weights loaded by the caller).

    >>> build_network("monai.networks.nets.UNet", {"spatial_dims": 2, "in_channels": 1, "out_channels": 2,
    ...               "channels": [4, 8], "strides": [2], "num_res_units": 0, "dropout": 0.0}).__class__.__name__
    'UNet'
    """
    if kind == MONAI_UNET:
        from monai.networks.nets import UNet

        return UNet(**{**args, "channels": tuple(args["channels"]), "strides": tuple(args["strides"])})
    if kind == LITE_UNET:
        return lite_unet(int(args["out_channels"]), tuple(args["decoder_channels"]), pretrained=pretrained,
                         frozen_stages=int(args.get("frozen_stages", 0)))
    raise ValueError(kind)
