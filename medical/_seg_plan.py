"""Self-configuring segmentation training (the nnU-Net idea, sized for a CPU time budget): a fingerprint of the data
(sizes, spacing, intensities, label fractions) and the measured seconds per step give patch size, batch, steps,
augmentation and validation schedule. Also the augmented patch sampler the plan drives."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Fingerprint", "Plan", "fingerprint", "plan_training", "AugmentedPatches", "budgeted_adamw"]

PIXELS_PER_STEP_2D = 2 * 256 * 256  # about the batch a CPU step can afford; batch = this / patch area
VOXELS_PER_STEP_3D = 2 * 64 ** 3
MAX_PATCH_2D, MAX_PATCH_3D = 256, 96


@dataclass(frozen=True)
class Fingerprint:
    """What the planner reads from the training data (nnU-Net's "dataset fingerprint")."""

    units: int  # training units (2D slices for a 2D net over volumes)
    dims: int
    median_shape: tuple[int, ...]
    min_shape: tuple[int, ...]
    median_spacing: tuple[float, ...]
    intensity: dict[str, float]  # of the normalised images: percentiles 0.5 / 50 / 99.5, std
    label_fractions: tuple[float, ...]  # share of pixels per class index

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def fingerprint(images: list[np.ndarray], masks: list[np.ndarray], spacings: list[tuple[float, ...]],
                classes: int) -> Fingerprint:
    """Sizes, spacing, intensity statistics and label fractions of normalised training units.

    >>> fp = fingerprint([np.linspace(0, 1, 64).reshape(8, 8)], [np.eye(8, dtype=int)], [(1.0, 1.0)], 2)
    >>> fp.median_shape, [round(f, 3) for f in fp.label_fractions]
    ((8, 8), [0.875, 0.125])
    """
    shapes = np.array([image.shape for image in images])
    rng = np.random.default_rng(0)
    sample = np.concatenate([rng.choice(image.ravel(), size=min(image.size, 20000), replace=False) for image in images])
    counts = np.zeros(classes, dtype=np.float64)
    for mask in masks:
        counts += np.bincount(mask.ravel(), minlength=classes)[:classes]
    spacing = np.median(np.array([s[-images[0].ndim:] for s in spacings], dtype=float), axis=0)
    return Fingerprint(
        units=len(images), dims=images[0].ndim,
        median_shape=tuple(int(v) for v in np.median(shapes, axis=0)), min_shape=tuple(int(v) for v in shapes.min(0)),
        median_spacing=tuple(round(float(v), 4) for v in spacing),
        intensity={"p0.5": round(float(np.percentile(sample, 0.5)), 4), "p50": round(float(np.median(sample)), 4),
                   "p99.5": round(float(np.percentile(sample, 99.5)), 4), "std": round(float(sample.std()), 4)},
        label_fractions=tuple(float(c) for c in counts / max(1.0, counts.sum())))


@dataclass(frozen=True)
class Plan:
    """The resolved training recipe (saved in the card)."""

    patch_size: int
    batch_size: int
    max_steps: int
    samples_per_epoch: int
    eval_every_steps: int
    augmentation: dict[str, Any]
    foreground_oversample: float
    seconds_per_step: float
    reason: str
    val_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_patch(fp: Fingerprint, divisor: int) -> tuple[int, int]:
    """Patch edge and batch size from the median image size, rounded to the network's divisor.

    >>> plan_patch(Fingerprint(8, 2, (512, 512), (512, 512), (1.0, 1.0), {}, (0.8, 0.2)), 32)
    (256, 2)
    >>> plan_patch(Fingerprint(8, 2, (70, 90), (70, 90), (1.0, 1.0), {}, (0.8, 0.2)), 16)
    (80, 20)
    """
    cap, budget = (MAX_PATCH_2D, PIXELS_PER_STEP_2D) if fp.dims == 2 else (MAX_PATCH_3D, VOXELS_PER_STEP_3D)
    edge = int(np.median(fp.median_shape))
    patch = max(divisor, min(cap, int(math.ceil(edge / divisor)) * divisor))
    batch = int(min(64, max(2, budget // patch ** fp.dims)))
    return patch, batch


def plan_augmentation(fp: Fingerprint, strong: bool) -> dict[str, Any]:
    """Flips and right-angle turns when the in-plane spacing is isotropic; small rotations, elastic-lite warps and
    contrast/gamma/noise when `strong` (few training units)."""
    spacing = fp.median_spacing[-2:]
    isotropic = max(spacing) <= 1.2 * min(spacing)
    return {"flip": True, "rot90": isotropic, "rotate_deg": 15.0 if strong and isotropic else 0.0,
            "elastic": 0.5 if strong else 0.0, "scale": 0.15 if strong else 0.0, "contrast": 0.25 if strong else 0.1,
            "brightness": 0.1 if strong else 0.05, "gamma": 0.3 if strong else 0.0,
            "noise": round(0.05 * float(fp.intensity.get("std", 0.2) or 0.2), 4) if strong else 0.0}


def plan_training(fp: Fingerprint, divisor: int, budget_s: float, seconds_per_step: float, val_seconds: float,
                  patch_size: int | None = None, batch_size: int | None = None,
                  augmentation: str = "auto") -> Plan:
    """Steps that fit `budget_s` given the measured seconds per step and per validation (about 12 validations).

    >>> fp = Fingerprint(8, 2, (512, 512), (512, 512), (1.0, 1.0), {"std": 0.2}, (0.78, 0.22))
    >>> p = plan_training(fp, 32, 540.0, 2.0, 5.0)
    >>> p.patch_size, p.batch_size, p.max_steps, p.eval_every_steps, p.augmentation["rot90"]
    (256, 2, 240, 20, True)
    >>> p = plan_training(fp, 32, 540.0, 20.0, 5.0)  # a slow machine: fewer validations
    >>> p.max_steps, p.eval_every_steps
    (26, 8)
    """
    planned_patch, planned_batch = plan_patch(fp, divisor)
    patch, batch = patch_size or planned_patch, batch_size or planned_batch
    evaluations = 12
    steps = int(max(0.0, budget_s - evaluations * val_seconds) / max(seconds_per_step, 1e-3))
    if steps < 10 * evaluations:  # a small budget: fewer validations, more of it for steps
        evaluations = max(3, steps // 10)
        steps = int(max(0.0, budget_s - evaluations * val_seconds) / max(seconds_per_step, 1e-3))
    steps = max(evaluations, steps)
    every = max(1, steps // evaluations)
    strong = augmentation == "strong" or (augmentation == "auto" and fp.units < 200)
    rare = min(fp.label_fractions[1:]) if len(fp.label_fractions) > 1 else 1.0
    reason = (f"median size {list(fp.median_shape)} -> patch {patch}, batch {batch}; {seconds_per_step:.2f} s/step "
              f"and {val_seconds:.1f} s/validation measured -> {steps} steps in {budget_s:.0f} s; "
              f"{'strong' if strong else 'light'} augmentation for {fp.units} training units")
    return Plan(patch, batch, steps, every * batch, every, plan_augmentation(fp, strong),
                0.33 if rare < 0.05 else 0.0, round(seconds_per_step, 3), reason)


class AugmentedPatches:
    """Random patches with the plan's spatial (flip, rot90, rotation, scale, elastic-lite) and intensity augmentation,
    seeded by index (so a resumed run draws the same patches)."""

    def __init__(self, images: list[np.ndarray], masks: list[np.ndarray], patch: int, length: int, seed: int,
                 augmentation: dict[str, Any], foreground_oversample: float = 0.0):
        self.images, self.masks, self.patch, self.length, self.seed = images, masks, patch, length, seed
        self.augmentation, self.oversample = augmentation, foreground_oversample

    def __len__(self) -> int:
        return self.length

    def _window(self, rng, image: np.ndarray, mask: np.ndarray, size: int):
        pad = [(0, max(0, size - s)) for s in image.shape]
        if any(p[1] for p in pad):
            image = np.pad(image, pad, mode="reflect" if min(image.shape) > 1 else "edge")
            mask = np.pad(mask, pad, mode="reflect" if min(mask.shape) > 1 else "edge")
        if self.oversample and rng.random() < self.oversample and mask.max() > 0:
            points = np.argwhere(mask > 0)
            centre = points[int(rng.integers(len(points)))]
            starts = [int(np.clip(c - size // 2, 0, s - size)) for c, s in zip(centre, image.shape)]
        else:
            starts = [int(rng.integers(0, s - size + 1)) for s in image.shape]
        window = tuple(slice(s, s + size) for s in starts)
        return image[window], mask[window]

    def __getitem__(self, index: int):
        import torch

        rng = np.random.default_rng((self.seed, index))
        unit = int(rng.integers(len(self.images)))
        image, mask, aug = self.images[unit], self.masks[unit], self.augmentation
        warp = image.ndim == 2 and (aug["rotate_deg"] or aug["scale"] or aug["elastic"]) and rng.random() < 0.8
        # a larger window first, so a rotated / scaled patch has no empty corners
        size = int(math.ceil(self.patch * 1.45)) if warp else self.patch
        x, y = self._window(rng, image, mask, size)
        if warp:
            x, y = self._warp(rng, x, y)
        for axis in range(x.ndim):
            if aug["flip"] and rng.random() < 0.5:
                x, y = np.flip(x, axis), np.flip(y, axis)
        if x.ndim == 2 and aug["rot90"] and rng.random() < 0.5:
            k = int(rng.integers(1, 4))
            x, y = np.rot90(x, k), np.rot90(y, k)
        x = self._intensity(rng, np.ascontiguousarray(x, dtype=np.float32))
        return (torch.from_numpy(x)[None], torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))[None])

    def _warp(self, rng, x: np.ndarray, y: np.ndarray):
        """Rotation + scale + a smooth random displacement (coarse 4x4 grid, bicubic-upsampled), cropped to the patch."""
        from scipy import ndimage

        aug, size, out = self.augmentation, x.shape[0], self.patch
        angle = math.radians(float(rng.uniform(-aug["rotate_deg"], aug["rotate_deg"])))
        scale = float(np.exp(rng.uniform(-aug["scale"], aug["scale"])))
        grid = np.mgrid[:out, :out].astype(np.float32) - (out - 1) / 2.0  # (2, out, out) around the centre
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        coords = np.stack([cos * grid[0] - sin * grid[1], sin * grid[0] + cos * grid[1]]) + (size - 1) / 2.0
        if aug["elastic"]:
            coarse = rng.normal(0.0, aug["elastic"] * out / 32.0, (2, 4, 4)).astype(np.float32)
            coords += np.stack([ndimage.zoom(c, out / 4.0, order=3)[:out, :out] for c in coarse])
        return (ndimage.map_coordinates(x, coords, order=1, mode="reflect"),
                ndimage.map_coordinates(y, coords, order=0, mode="reflect"))

    def _intensity(self, rng, x: np.ndarray) -> np.ndarray:
        aug = self.augmentation
        if aug["gamma"] and rng.random() < 0.3:
            low, high = float(x.min()), float(x.max())
            span = (high - low) or 1.0
            x = (((x - low) / span) ** float(np.exp(rng.uniform(-aug["gamma"], aug["gamma"])))) * span + low
        x = x * float(rng.uniform(1 - aug["contrast"], 1 + aug["contrast"])) + float(rng.uniform(-aug["brightness"],
                                                                                                aug["brightness"]))
        if aug["noise"] and rng.random() < 0.3:
            x = x + rng.normal(0.0, aug["noise"], x.shape).astype(np.float32)
        return x.astype(np.float32, copy=False)


def budgeted_adamw(model, lr: float, weight_decay: float, max_steps: int, train_seconds: float | None):
    """AdamW whose rate follows a cosine over the run's progress = the larger of steps done / `max_steps` and seconds
    spent / `train_seconds`, so the rate reaches zero when the time budget ends even on a machine slower than planned.

    >>> import torch
    >>> optimizer = budgeted_adamw(torch.nn.Linear(2, 1), 0.1, 0.0, max_steps=4, train_seconds=None)
    >>> [round(optimizer.factor(), 3) for _ in range(3) if optimizer.step() is None]
    [0.854, 0.5, 0.146]
    """
    import time

    import torch

    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim < 2 or name.endswith(".bias") else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    class BudgetedAdamW(torch.optim.AdamW):
        steps_done, started = 0, None

        def progress(self) -> float:
            by_steps = self.steps_done / max(1, max_steps)
            if train_seconds is None or self.started is None:
                return by_steps
            return max(by_steps, (time.monotonic() - self.started) / train_seconds)

        def factor(self) -> float:
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, self.progress())))

        def step(self, closure=None):
            if self.started is None:
                self.started = time.monotonic()
            factor, saved = self.factor(), [group["lr"] for group in self.param_groups]
            for group in self.param_groups:
                group["lr"] = group["lr"] * factor
            try:
                return super().step(closure)
            finally:
                for group, rate in zip(self.param_groups, saved):
                    group["lr"] = rate
                self.steps_done += 1

    return BudgetedAdamW([g for g in groups if g["params"]], lr=lr)
