"""Transfer learning on small image data, shared by vision and medical classification: a logistic-regression head
fitted on frozen pretrained features (the linear probe), folded into the network's classifier, then the later
layers fine-tuned with batch-norm statistics frozen (the recipe is "LP-FT": probe first, then fine-tune)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["probe_head", "set_head", "too_few_to_measure", "MIN_IMAGES_TO_MEASURE", "FrozenNormNetwork", "freeze_early_layers", "PROBE_CS", "ProbePlan", "plan_probe",
           "VALIDATION_SPLITS", "near_copy_keys", "NEAR_COPY_BITS"]

PROBE_CS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # inverse L2 strengths tried by the probe's cross-validation
VALIDATION_SPLITS = ("val", "valid", "validation")  # split names that mark an image as held out for validation


@dataclass(frozen=True)
class ProbePlan:
    """What `plan_probe` decided: whether the probe alone is the model, and the images that train and validate it."""

    probe_only: bool  # the linear probe alone is the model (no fine-tuning)
    smallest_class: int  # training images in the smallest class
    train_index: list[int]
    val_index: list[int]
    cross_validated: bool  # no image held out: the metrics are the probe's cross-validated (out-of-fold) ones


def plan_probe(labels: Sequence[str], splits: Sequence[str | None] | None, train_index: Sequence[int],
               val_index: Sequence[int], *, pretrained: bool, head_init: str, fine_tune: bool,
               fine_tune_min_per_class: int) -> ProbePlan:
    """The probe-only rule of LP-FT, one for vision and medical: from a pretrained start with a probe head, the probe
    alone is the model when fine-tuning is off or some class has fewer than `fine_tune_min_per_class` images; it then
    picks C by cross-validation, so every image trains it (`train_index` = `val_index` = all) unless the data names a
    validation split. `labels` / `splits`: one per image; the indexes: the split the caller chose.

    >>> plan = plan_probe(["a", "a", "b"], None, [0, 1], [2], pretrained=True, head_init="probe", fine_tune=True,
    ...                   fine_tune_min_per_class=100)
    >>> plan.probe_only, plan.train_index, plan.val_index, plan.cross_validated
    (True, [0, 1, 2], [0, 1, 2], True)
    """
    smallest = min(list(labels).count(label) for label in set(labels))
    probe_only = pretrained and head_init == "probe" and (not fine_tune or smallest < fine_tune_min_per_class)
    given_split = splits is not None and any(split in VALIDATION_SPLITS for split in splits)
    train_index, val_index = list(train_index), list(val_index)
    if probe_only and not given_split:  # the probe picks C by cross-validation: every image can train it
        train_index = val_index = list(range(len(labels)))
    return ProbePlan(probe_only, smallest, train_index, val_index, probe_only and val_index == train_index)


def probe_head(features: np.ndarray, targets: Sequence[int], classes: int, balanced: bool = True,
               seed: int = 0, groups: Sequence[int] | None = None,
               standardise: bool = True, keep_oof: bool = False) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """A linear head (weight (classes, D), bias (classes,)) from a logistic regression on `features`, its C chosen
    by stratified cross-validation (log-loss) when every class has 3+ examples, else C = 0.1.
    `groups` keeps rows of one image (e.g. it and its mirror image) in the same fold, so no fold sees a copy of
    what it is scored on. `standardise` fits on z-scored features (the standardisation is folded into the weights,
    so the head applies to raw features either way); False fits on the raw features, so the L2 penalty falls
    evenly on every feature's weight instead of lifting the low-variance ones. `keep_oof` adds the cross-validated
    out-of-fold class probabilities of every row to the info (`"oof"`, an array: take it out before saving).

    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(0, 1, (10, 4)), rng.normal(3, 1, (10, 4))]); y = [0] * 10 + [1] * 10
    >>> weight, bias, info = probe_head(x, y, 2)
    >>> weight.shape, bool(((x @ weight.T + bias).argmax(1) == np.array(y)).mean() > 0.9)
    ((2, 4), True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict, cross_val_score

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.int64)
    mean, scale = (x.mean(0), x.std(0)) if standardise else (np.zeros(x.shape[1]), np.ones(x.shape[1]))
    scale[scale < 1e-8] = 1.0
    z = (x - mean) / scale
    group_ids = np.arange(len(y)) if groups is None else np.asarray(groups)
    present = np.unique(y)
    counts = np.array([len(np.unique(group_ids[y == label])) for label in present])  # distinct images per class
    weight_mode = "balanced" if balanced else None
    chosen, scores, cv_accuracy, oof = 0.1, {}, None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny folds say nothing to the user
        if len(present) >= 2 and counts.min() >= 3:
            folds = StratifiedGroupKFold(int(min(5, counts.min())), shuffle=True, random_state=seed)
            for c in PROBE_CS:
                model = LogisticRegression(C=c, max_iter=3000, class_weight=weight_mode)
                scores[c] = float(cross_val_score(model, z, y, groups=group_ids, cv=folds, scoring="neg_log_loss").mean())
            chosen = max(scores, key=scores.get)
            # out-of-fold probabilities at the chosen C: an estimate of the probe on unseen images (C was chosen on
            # the same folds, so it leans slightly optimistic)
            model = LogisticRegression(C=chosen, max_iter=3000, class_weight=weight_mode)
            fold_probabilities = cross_val_predict(model, z, y, groups=group_ids, cv=folds, method="predict_proba")
            oof = np.zeros((len(y), classes))
            oof[:, present] = fold_probabilities
            cv_accuracy = float((oof.argmax(1) == y).mean())
        model = LogisticRegression(C=chosen, max_iter=3000, class_weight=weight_mode).fit(z, y)
    coef, intercept = model.coef_ / scale, model.intercept_ - (model.coef_ / scale) @ mean
    weight, bias = np.zeros((classes, x.shape[1])), np.zeros(classes)
    if coef.shape[0] == 1:  # binary: softmax([-s/2, s/2]) equals sigmoid(s)
        low, high = model.classes_
        weight[low], weight[high] = -coef[0] / 2, coef[0] / 2
        bias[low], bias[high] = -intercept[0] / 2, intercept[0] / 2
    else:
        for row, label in enumerate(model.classes_):
            weight[label], bias[label] = coef[row], intercept[row]
        bias[[k for k in range(classes) if k not in set(model.classes_.tolist())]] = -1e4  # classes absent from training
    info = {"C": chosen, "features": "standardised" if standardise else "raw",
            "cv_log_loss": {str(c): round(-s, 4) for c, s in scores.items()} or None,
            "cv_accuracy": None if cv_accuracy is None else round(cv_accuracy, 4), "examples": int(len(y))}
    if keep_oof:  # (rows, classes) out-of-fold probabilities, in the rows' order; None when C was not cross-validated
        info["oof"] = oof
    return weight.astype(np.float32), bias.astype(np.float32), info


def set_head(network, weight: np.ndarray, bias: np.ndarray) -> None:
    """Copy a (classes, D) weight and (classes,) bias into a timm network's classifier."""
    import torch

    head = network.get_classifier()
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight).to(head.weight))
        head.bias.copy_(torch.from_numpy(bias).to(head.bias))


def freeze_early_layers(network, blocks: int) -> list[str]:
    """Stop gradients through a timm network's stem and its first `blocks` stages; returns the frozen parts' names."""
    frozen = []
    if blocks <= 0 or not hasattr(network, "blocks") or not hasattr(network, "conv_stem"):
        return frozen  # only EfficientNet-style layouts (conv_stem, bn1, blocks) are frozen by stage
    stages = list(network.blocks)
    modules = [(name, getattr(network, name)) for name in ("conv_stem", "bn1") if hasattr(network, name)]
    modules += [(f"blocks.{i}", stages[i]) for i in range(min(blocks, len(stages)))]
    for name, module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        frozen.append(name)
    return frozen


@functools.lru_cache(maxsize=1)
def _frozen_norm_class():
    import torch

    class FrozenNormNetwork(torch.nn.Module):
        """Wraps a network so `train()` leaves every batch-norm layer in eval mode: running statistics from
        ImageNet are kept, which small fine-tuning batches (8-16 images) would otherwise corrupt."""

        def __init__(self, network):
            super().__init__()
            self.network = network

        def train(self, mode: bool = True):
            super().train(mode)
            for module in self.network.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()
            return self

        def forward(self, x):
            return self.network(x)

    return FrozenNormNetwork


def FrozenNormNetwork(network):  # noqa: N802 - a factory that reads like the class it builds (torch imported lazily)
    """`network` wrapped so training keeps its batch-norm statistics frozen.

    >>> import torch
    >>> wrapped = FrozenNormNetwork(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))).train()
    >>> wrapped.training, wrapped.network[1].training
    (True, False)
    """
    return _frozen_norm_class()(network)


MIN_IMAGES_TO_MEASURE = 3  # a class needs 3+ images for `probe_head` to cross-validate (or a split to hold some out)


def too_few_to_measure(labels: Sequence[str], min_total: int, unit: str = "images") -> str:
    """Why a retrained classifier has no metrics: the classes with fewer than `MIN_IMAGES_TO_MEASURE` examples (or,
    when every class has them, fewer than `min_total` in all) to hold any out, and how many more are needed. `unit`
    names the examples: images, texts.

    >>> too_few_to_measure(["cat"] * 50 + ["dog"], 10)[:74]
    "too few images of class 'dog' (1 of 51; cat 50) to measure the model on im"
    >>> too_few_to_measure(["pos", "neg", "pos", "pos"], 10, unit="texts")[:60]
    "too few texts of class 'neg' (1 of 4; pos 3) to measure the "
    """
    labels = list(labels)
    counts = {label: labels.count(label) for label in sorted(set(labels))}
    short = {label: n for label, n in counts.items() if n < MIN_IMAGES_TO_MEASURE}
    after = (f"no metrics are reported (training_set_metrics only says how it fits the {unit} it trained on, not how "
             "it does on new ones; a class this small is not learned reliably either)")
    if not short:
        return (f"too few {unit} ({len(labels)}) to hold any out and measure the model: add {unit} (at least {min_total} "
                f"in all and {MIN_IMAGES_TO_MEASURE} of each class, far more for a usable estimate); {after}")
    others = "; " + ", ".join(f"{label} {n}" for label, n in counts.items() if label not in short) if len(short) == 1 else ""
    named = ", ".join(f"'{label}' ({n} of {len(labels)}{others})" for label, n in short.items())
    needed = ", ".join(f"{MIN_IMAGES_TO_MEASURE - n} more '{label}'" for label, n in short.items())
    return (f"too few {unit} of {'class' if len(short) == 1 else 'classes'} {named} to measure the model on {unit} it "
            f"did not train on: at least {MIN_IMAGES_TO_MEASURE} {unit} of every class are needed ({needed}), far more "
            f"for a usable estimate; {after}")


NEAR_COPY_BITS = 4  # perceptual hashes this many bits apart or fewer are one image (see near_copy_keys)


def near_copy_keys(images: Sequence[Any], keys: Sequence[str], max_distance: int = NEAR_COPY_BITS) -> list[str]:
    """`keys` (one per image, equal for exact copies) with near copies joined: images whose 64-bit perceptual hashes
    (`imagehash.phash` of the grey image) differ in at most `max_distance` bits, or do so once one of them is mirrored
    (left-right or upside down), transitively, all take the key of the first of them. A copy resized, re-encoded as JPEG or brightened stays within 2 bits; on the brain MRI yes/no
    and hymenoptera photos, distinct images are 6+ bits apart (imagededup's default, 10, joins distinct scans of one
    sequence). An image is a PIL image or a 2-D / (H, W, C) array; others (volumes) keep their key.

    >>> from PIL import Image
    >>> rng = np.random.default_rng(0)
    >>> a, b = (Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8)) for _ in range(2))
    >>> near_copy_keys([a, b, a.resize((57, 57)), b], ["a", "b", "c", "d"])
    ['a', 'b', 'a', 'b']
    """
    import imagehash

    keys = list(keys)
    if len(images) != len(keys):
        raise ValueError(f"{len(images)} images but {len(keys)} keys")
    from PIL import Image

    hashes, mirrors, hashed = [], [], []
    for index, image in enumerate(images):
        grey = _grey_picture(image)
        if grey is not None:
            hashes.append(int(str(imagehash.phash(grey)), 16))
            # a mirrored or upside-down copy is a copy too (the probes add each image's mirror image to training)
            mirrors.append([int(str(imagehash.phash(grey.transpose(flip))), 16)
                            for flip in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM)])
            hashed.append(index)
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the earliest image names the group

    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        join(first.setdefault(key, index), index)
    if len(hashes) > 1:
        codes, where = np.array(hashes, dtype=np.uint64), np.array(hashed)
        flipped = np.array(mirrors, dtype=np.uint64)  # (images, 2): each image mirrored, and upside down
        for start in range(0, len(codes), 1024):  # a block of rows at a time: memory stays small for 100k images
            block = codes[start:start + 1024, None]
            near = np.bitwise_count(block ^ codes[None, :]) <= max_distance
            for side in range(flipped.shape[1]):
                near |= np.bitwise_count(block ^ flipped[None, :, side]) <= max_distance
            for row, column in zip(*np.nonzero(near)):
                if start + row != column:
                    join(int(where[start + row]), int(where[column]))
    return [keys[root(index)] for index in range(len(keys))]


def _grey_picture(image: Any):
    """A PIL grey image of `image` for hashing (arrays scaled min-max to 0-255), or None when it is not a picture."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("L")
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        array = array[..., :3].mean(-1)
    if array.ndim != 2 or min(array.shape) < 2:
        return None
    array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(array.min()), float(array.max())
    scaled = (array - low) / (high - low) * 255 if high > low else np.zeros_like(array)
    return Image.fromarray(scaled.astype(np.uint8))
