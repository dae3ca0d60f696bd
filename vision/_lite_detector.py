"""The trainable detector: torchvision Faster R-CNN on the ImageNet EfficientNet-Lite0 body (core.backbones) with an
FPN, anchors fitted to the data's boxes, and a time-budgeted fine-tuning loop (cosine-by-time LR, best-on-validation
weights kept). `build_network(**model_args)` rebuilds the torchvision model from the `model_args` a card records."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["ARCHITECTURE", "build_network", "fit_anchors", "default_model_args", "train_time_budgeted"]

ARCHITECTURE = "fasterrcnn_efficientnet_lite0_fpn"
STAGES = (2, 4, 6)  # EfficientNet-Lite0 blocks ending at strides 8, 16, 32 (40, 112, 320 channels)
STAGE_CHANNELS = (40, 112, 320)
LEVEL_STRIDES = (8, 16, 32, 64)  # the three stages + a max-pooled level
DEFAULT_SIZES = ((32,), (64,), (128,), (256,))
DEFAULT_RATIOS = (0.5, 1.0, 2.0)


class LiteBody(nn.Module):
    """EfficientNet-Lite0 stem + blocks returning the feature maps of `STAGES` (frozen BatchNorm throughout)."""

    def __init__(self, pretrained: bool = True, trainable_from: int = 5):
        super().__init__()
        from timm.layers import freeze_batch_norm_2d

        from core.backbones import efficientnet_lite0

        network = efficientnet_lite0(num_classes=0, pretrained=pretrained)
        network = freeze_batch_norm_2d(network)  # batches of 2-4 images: BatchNorm statistics stay ImageNet's
        self.conv_stem, self.bn1, self.blocks = network.conv_stem, network.bn1, network.blocks[: STAGES[-1] + 1]
        self.trainable_from = trainable_from
        for module in (self.conv_stem, self.bn1, *self.blocks[:trainable_from]):
            module.requires_grad_(False)  # the high-resolution stages stay ImageNet's: their outputs can be cached

    def forward_frozen(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The frozen stages: {"x": the last frozen output, stage index: feature map} for stages before the cut."""
        x = self.bn1(self.conv_stem(x))
        cached = {}
        for index, block in enumerate(self.blocks[: self.trainable_from]):
            x = block(x)
            if index in STAGES:
                cached[str(index)] = x
        cached["x"] = x
        return cached

    def forward_trainable(self, cached: dict[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
        """The trained stages on top of `forward_frozen`'s output; returns every stage's feature map."""
        x = cached["x"]
        features = OrderedDict((key, value) for key, value in cached.items() if key != "x")
        for index in range(self.trainable_from, len(self.blocks)):
            x = self.blocks[index](x)
            if index in STAGES:
                features[str(index)] = x  # (B, C_i, H / stride, W / stride)
        return features

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.forward_trainable(self.forward_frozen(x))


class LiteFPN(nn.Module):
    """The body + torchvision's FeaturePyramidNetwork (+ a max-pooled extra level): what FasterRCNN calls `backbone`."""

    def __init__(self, pretrained: bool, trainable_from: int, fpn_channels: int):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        self.body = LiteBody(pretrained, trainable_from)
        self.fpn = FeaturePyramidNetwork(list(STAGE_CHANNELS), fpn_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = fpn_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.fpn(self.body(x))


def default_model_args(image_size: int = 512) -> dict[str, Any]:
    """Constructor arguments of `build_network` (JSON-friendly; the card stores them).

    >>> default_model_args(384)["image_size"]
    384
    """
    return {"image_size": image_size, "anchor_sizes": [list(s) for s in DEFAULT_SIZES], "aspect_ratios": list(DEFAULT_RATIOS),
            "fpn_channels": 128, "representation_size": 512, "trainable_from": 5, "box_detections_per_img": 100}


def build_network(num_classes: int, image_size: int = 512, anchor_sizes: list | None = None,
                  aspect_ratios: list | None = None, fpn_channels: int = 128, representation_size: int = 512,
                  trainable_from: int = 5, box_detections_per_img: int = 100, pretrained: bool = False):
    """torchvision FasterRCNN on EfficientNet-Lite0 + FPN; `num_classes` counts the background.

    Weights are random unless `pretrained` (the ImageNet body); a saved model loads its safetensors on top.

    >>> network = build_network(3, image_size=64, fpn_channels=16, representation_size=32)
    >>> type(network).__name__, network.roi_heads.box_predictor.cls_score.out_features
    ('FasterRCNN', 3)
    """
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    from core.backbones import IMAGENET_LITE_MEAN, IMAGENET_LITE_STD

    sizes = tuple(tuple(int(s) for s in level) for level in (anchor_sizes or DEFAULT_SIZES))
    ratios = tuple(float(r) for r in (aspect_ratios or DEFAULT_RATIOS))
    if len(sizes) != len(LEVEL_STRIDES):
        raise ValueError(f"anchor_sizes needs {len(LEVEL_STRIDES)} levels (strides {LEVEL_STRIDES}), got {len(sizes)}")
    backbone = LiteFPN(pretrained, trainable_from, fpn_channels)
    anchors = AnchorGenerator(sizes, (ratios,) * len(sizes))
    roi_pool = MultiScaleRoIAlign(featmap_names=[str(s) for s in STAGES], output_size=7, sampling_ratio=2)
    box_head = TwoMLPHead(fpn_channels * 7 * 7, representation_size)
    return FasterRCNN(
        backbone, num_classes=None, min_size=image_size, max_size=image_size,
        image_mean=list(IMAGENET_LITE_MEAN), image_std=list(IMAGENET_LITE_STD),
        rpn_anchor_generator=anchors, box_roi_pool=roi_pool, box_head=box_head,
        box_predictor=FastRCNNPredictor(representation_size, num_classes),
        rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500, rpn_pre_nms_top_n_test=500,
        rpn_post_nms_top_n_test=300, box_batch_size_per_image=128, box_detections_per_img=box_detections_per_img,
        box_score_thresh=0.001)


def fit_anchors(box_sizes: np.ndarray, per_level: int = 2, seed: int = 0) -> tuple[list[list[int]], list[float]]:
    """Anchor sizes (per FPN level) and aspect ratios fitted to training boxes, given as (N, 2) widths and heights
    in model-input pixels: k-means on log sqrt(area) with `per_level` clusters per level, sorted onto the levels
    by stride, and ratios h / w at the 10th, 50th and 90th percentiles.

    >>> sizes = np.array([[30, 30], [32, 28], [100, 90], [95, 110], [180, 160], [200, 210]] * 5, float)
    >>> levels, ratios = fit_anchors(sizes, per_level=1)
    >>> len(levels), levels[0][0] < levels[-1][0]
    (4, True)
    """
    sizes = np.asarray(box_sizes, float).reshape(-1, 2)
    sizes = sizes[(sizes > 0).all(1)]
    levels = len(LEVEL_STRIDES)
    k = levels * per_level
    if len(sizes) < k:
        return [list(s) for s in DEFAULT_SIZES], list(DEFAULT_RATIOS)
    scale = np.log(np.sqrt(sizes[:, 0] * sizes[:, 1]))
    centres = np.quantile(scale, (np.arange(k) + 0.5) / k)  # k-means (1-D) from evenly spread quantiles
    for _ in range(50):
        assignment = np.abs(scale[:, None] - centres[None]).argmin(1)
        centres = np.array([scale[assignment == j].mean() if (assignment == j).any() else centres[j] for j in range(k)])
    fitted = np.sort(np.exp(centres))
    fitted = np.maximum(fitted, 4.0)
    # strictly increasing integers so each level has distinct anchors
    values = []
    for value in fitted:
        value = int(round(value))
        values.append(max(value, values[-1] + 1) if values else value)
    anchor_sizes = [values[i * per_level:(i + 1) * per_level] for i in range(levels)]
    ratio = np.clip(sizes[:, 1] / sizes[:, 0], 0.2, 5.0)
    quantiles = np.quantile(np.log(ratio), (0.1, 0.5, 0.9))
    ratios = sorted({round(float(np.exp(q)), 2) for q in quantiles})
    if len(ratios) < 3:  # near-identical shapes: keep a spread so the RPN still covers some variation
        middle = ratios[len(ratios) // 2]
        ratios = [round(middle / 1.5, 2), middle, round(middle * 1.5, 2)]
    return anchor_sizes, ratios


class FeatureCache:
    """Outputs of the frozen stages for every training image under a few input scales and flips (computed once), so
    a training step runs only the trained stages, the FPN and the heads: many more steps per second on a CPU."""

    def __init__(self, network, dataset, image_size: int, scales: list[float], flips: list[tuple[bool, bool]],
                 photometric: bool, seed: int = 0, deadline: float | None = None):
        from torchvision.transforms import v2

        torch.manual_seed(seed)
        body, transform = network.backbone.body, network.transform
        distort = v2.RandomPhotometricDistort(p=0.5) if photometric else None
        self.variants: list[list[tuple[dict, tuple[int, int], tuple[int, int], dict]]] = []
        self.sizes = sorted({int(round(image_size * s / 32)) * 32 for s in scales})
        was_training, original = transform.training, (transform.min_size, transform.max_size)
        transform.eval()
        with torch.no_grad():  # plain tensors (not inference-mode ones): the trained stages take them with autograd on
            for index in range(len(dataset)):
                image, target = dataset.plain(index)  # (3, H, W) float [0, 1], boxes in pixels
                variants = []
                for size in self.sizes:
                    for horizontal, vertical in flips:
                        if deadline is not None and time.perf_counter() > deadline and variants:
                            break  # out of time for extra variants: keep what is cached
                        flipped, boxes = _flip(image, target["boxes"], horizontal, vertical)
                        if distort is not None:
                            flipped = distort(flipped)
                        transform.min_size, transform.max_size = (size,), size
                        images, targets = transform([flipped], [{"boxes": boxes, "labels": target["labels"]}])
                        cached = {k: v.clone() for k, v in body.forward_frozen(images.tensors).items()}
                        variants.append((cached, images.image_sizes[0], tuple(images.tensors.shape[-2:]), targets[0]))
                self.variants.append(variants)
        transform.min_size, transform.max_size = original
        transform.train(was_training)

    def __len__(self) -> int:
        return len(self.variants)

    def losses(self, network, indices: list[int], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Faster R-CNN training losses for the images `indices`, each under a random cached variant (one scale a batch)."""
        from torchvision.models.detection.image_list import ImageList

        size_index = int(rng.integers(len(self.sizes)))
        chosen = []
        for index in indices:
            variants = self.variants[index]
            per_size = len(variants) // len(self.sizes) if len(variants) % len(self.sizes) == 0 else len(variants)
            start = size_index * per_size if per_size < len(variants) else 0
            chosen.append(variants[start + int(rng.integers(per_size))])
        height = max(c[2][0] for c in chosen)
        width = max(c[2][1] for c in chosen)
        cached = {key: torch.cat([_pad_to(c[0][key], c[2], (height, width)) for c in chosen]) for key in chosen[0][0]}
        features = network.backbone.fpn(network.backbone.body.forward_trainable(cached))
        images = ImageList(torch.zeros(1, 1, 1, 1).expand(len(chosen), 3, height, width), [c[1] for c in chosen])
        targets = [c[3] for c in chosen]
        proposals, rpn_losses = network.rpn(images, features, targets)
        _, head_losses = network.roi_heads(features, proposals, images.image_sizes, targets)
        return {**rpn_losses, **head_losses}


def _flip(image: torch.Tensor, boxes: torch.Tensor, horizontal: bool, vertical: bool) -> tuple[torch.Tensor, torch.Tensor]:
    height, width = image.shape[-2:]
    boxes = boxes.clone()
    if horizontal:
        image = image.flip(-1)
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    if vertical:
        image = image.flip(-2)
        boxes[:, [1, 3]] = height - boxes[:, [3, 1]]
    return image, boxes


def _pad_to(feature: torch.Tensor, own: tuple[int, int], padded: tuple[int, int]) -> torch.Tensor:
    """Zero-pad a cached (1, C, h, w) map of an `own`-sized input to the map size of a `padded`-sized input."""
    stride = max(1, round(own[0] / feature.shape[-2]))
    height, width = math.ceil(padded[0] / stride), math.ceil(padded[1] / stride)
    return torch.nn.functional.pad(feature, (0, width - feature.shape[-1], 0, height - feature.shape[-2]))


def train_time_budgeted(network, dataset, *, batch_size: int, lr: float, weight_decay: float, momentum: float,
                        warmup_steps: int, budget_seconds: float | None, max_epochs: int, max_steps: int | None,
                        multiscale: tuple[float, float], eval_fn=None, eval_from: float = 0.5,
                        eval_every: float = 0.05, seed: int = 0, log=None, callbacks=(),
                        cache: FeatureCache | None = None) -> dict[str, Any]:
    """SGD with linear warmup then cosine decay over the time budget (or the step budget when no time budget), random
    input size per step (`multiscale` = range of factors on the model's own input size), validation after an epoch once `eval_from`
    of the run is done (then at most every `eval_every` of it, and at the end), best-validation weights kept.
    With a `cache`, steps draw cached frozen-stage outputs instead of running the whole network on `dataset`.
    Returns a summary (steps, epochs, seconds, best metric, history)."""
    started = time.perf_counter()
    device = next(network.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    parameters = [p for p in network.parameters() if p.requires_grad]
    decay = [p for p in parameters if p.ndim > 1]
    no_decay = [p for p in parameters if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=lr, momentum=momentum, nesterov=True)
    steps_per_epoch = math.ceil(len(dataset) / batch_size)
    step_budget = steps_per_epoch * max_epochs if max_steps is None else min(max_steps, steps_per_epoch * max_epochs)
    original = (network.transform.min_size, network.transform.max_size)  # restored for validation and at the end
    factors = np.linspace(multiscale[0], multiscale[1], 9)

    def progress(step: int) -> float:
        by_steps = step / max(1, step_budget)
        if budget_seconds:
            return max(by_steps, (time.perf_counter() - started) / budget_seconds)
        return by_steps

    def learning_rate(step: int) -> float:
        if step < warmup_steps:
            return lr * (0.1 + 0.9 * step / warmup_steps)
        return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress(step))))

    def emit(event: str, **values: Any) -> None:
        record = log.write(event, **values) if log is not None else {"event": event, **values}
        for callback in callbacks:
            callback(record)

    history, best, best_weights, step, epoch, running, last_eval = [], None, None, 0, 0, [], -1.0
    emit("start", total_steps=step_budget, epochs=max_epochs, examples=len(dataset), budget_seconds=budget_seconds)
    network.train()
    done = False
    while not done and epoch < max_epochs:
        order = torch.randperm(len(dataset), generator=generator).tolist()
        for start in range(0, len(order), batch_size):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step)
            if cache is not None:
                losses = cache.losses(network, order[start:start + batch_size], rng)
            else:
                images, targets = zip(*(dataset[i] for i in order[start:start + batch_size]))
                images = [image.to(device) for image in images]
                targets = [{k: v.to(device) for k, v in target.items()} for target in targets]
                factor = float(rng.choice(factors))
                network.transform.min_size = tuple(int(round(m * factor / 32)) * 32 for m in original[0])
                network.transform.max_size = int(round(original[1] * factor / 32)) * 32
                losses = network(list(images), list(targets))
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                from core.errors import InputError

                raise InputError("training loss became NaN/inf; lower lr or check the data's boxes")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 10.0)
            optimizer.step()
            step += 1
            running.append(float(loss.detach()))
            if step % 10 == 0:
                emit("step", step=step, epoch=epoch, loss=float(np.mean(running)), lr=optimizer.param_groups[0]["lr"],
                     total_steps=_estimated_total(step, step_budget, started, budget_seconds))
                running = []
            emit("tick", step=step)
            if step >= step_budget or progress(step) >= 1.0:
                done = True
                break
        else:
            epoch += 1
        position = progress(step)
        if eval_fn is not None and (done or (position >= eval_from and position - last_eval >= eval_every)):
            last_eval = position
            network.transform.min_size, network.transform.max_size = original
            network.eval()
            with torch.inference_mode():
                metrics = eval_fn(network)
            network.train()
            record = {"step": step, "epoch": epoch, "seconds": round(time.perf_counter() - started, 1), **metrics}
            history.append(record)
            value = metrics["val_map"]
            if best is None or value >= best:  # ties go to the later, lower-LR weights
                best = value
                best_weights = {k: v.detach().clone() for k, v in network.state_dict().items()}
            emit("eval", **record, best=best, total_steps=_estimated_total(step, step_budget, started, budget_seconds))
    network.transform.min_size, network.transform.max_size = original
    if best_weights is not None:
        network.load_state_dict(best_weights)
    network.eval()
    seconds = time.perf_counter() - started
    emit("end", step=step, best=best, seconds=round(seconds, 1), total_steps=step)
    return {"steps": step, "epochs": epoch, "seconds": round(seconds, 1), "best_val_map": best,
            "best_step": next((h["step"] for h in history if h["val_map"] == best), None) if history else None,
            "history": history}


def _estimated_total(step: int, step_budget: int, started: float, budget_seconds: float | None) -> int:
    """Steps this run will likely take (for progress bars): the step cap, or the pace so far times the time budget."""
    if not budget_seconds:
        return step_budget
    elapsed = max(1e-6, time.perf_counter() - started)
    return int(min(step_budget, max(step, step * budget_seconds / elapsed)))
