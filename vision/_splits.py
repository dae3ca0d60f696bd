"""Which images `evaluate` scores when labelled data declares its own split (an ImageFolder's train/ and val/, a
manifest's split column, YOLO data.yaml train: / val:, COCO train and val files, VOC ImageSets): the validation split,
as Ultralytics `val` and timm's validate do, never the training images unless asked (`split=all`)."""

from __future__ import annotations

from typing import Sequence

from core.errors import InputError

__all__ = ["ALL", "evaluation_rows", "split_kind"]

ALL = "all"  # --option split=all: every image, whatever split it is in
_KINDS = {"train": "train", "training": "train", "train2017": "train", "val": "val", "valid": "val",
          "validation": "val", "val2017": "val", "dev": "val", "test": "test", "testing": "test", "both": "both"}
HELD_OUT = ("val", "test")  # what evaluate scores by default, the first one the data has


def split_kind(name: str | None) -> str | None:
    """"train", "val", "test" or "both" (listed in train and val: trained on) for a split's name, else None.

    >>> split_kind("Validation"), split_kind("dev"), split_kind("train"), split_kind(None), split_kind("extra")
    ('val', 'val', 'train', None, None)
    """
    return _KINDS.get(str(name).strip().lower()) if name is not None else None


def evaluation_rows(splits: Sequence[str | None], split: str | None = None,
                    what: str = "images") -> tuple[list[int], str | None]:
    """The rows `evaluate` scores, and a note for the card naming the split and the counts (None when the data
    declares no split and none was asked for). `splits`: each row's split as the data declares it; `split`: the one
    asked for (None: the data's validation split when it has one, else its test split, else every row; "all": every
    row). An asked-for split the data lacks is an `InputError` naming those it has.

    >>> evaluation_rows(["train", "train", "val"])
    ([2], "scored the data's own val split: 1 of 3 images (the 2 of its train split are left out: a model trained on this data has seen them); --option split=all scores every image")
    >>> evaluation_rows([None, None])
    ([0, 1], None)
    """
    kinds = [split_kind(name) for name in splits]
    counts = {kind: kinds.count(kind) for kind in ("train", "both", "val", "test") if kind in kinds}
    named = ", ".join(f"{kind} {count}" for kind, count in counts.items())
    declared = bool(counts)
    n = len(kinds)
    if split is not None and str(split).strip().lower() == ALL:
        if not declared:
            return list(range(n)), None
        trained = counts.get("train", 0) + counts.get("both", 0)
        return list(range(n)), (f"scored every image (split=all): {n} {what} of the data's splits ({named})"
                                + (f", the {trained} of its train split included: a model trained on this data "
                                   "has seen them, so its scores there are flattered" if trained else ""))
    if split is not None and str(split).strip():
        wanted = split_kind(split)
        if wanted is None:
            raise InputError(f"split={split!r} is not a split name; use split=val, split=train, split=test or "
                             "split=all (every image)")
        rows = [i for i, kind in enumerate(kinds) if kind == wanted or (wanted == "train" and kind == "both")]
        if not rows:
            raise InputError(f"split={split}: the data has no {wanted} {what} "
                             f"({'its splits: ' + named if declared else 'it declares no train/val split'}); "
                             "use split=all to score every image")
        left = n - len(rows)
        return rows, (f"scored the data's own {wanted} split: {len(rows)} of {n} {what}"
                      + (f" ({left} of other splits left out)" if left else ""))
    held_out = next((kind for kind in HELD_OUT if kind in counts), None)
    if held_out is None:
        if not declared:
            return list(range(n)), None
        return list(range(n)), (f"the data declares no validation split ({named}): every image was scored, its "
                                "training images included, which flatters a model trained on this data; score "
                                "held-out images (a val/ folder, data.yaml val:) for an honest measure")
    rows = [i for i, kind in enumerate(kinds) if kind == held_out]
    others = {kind: count for kind, count in counts.items() if kind != held_out}
    left = ", ".join(f"the {count} of its {kind} split" for kind, count in others.items())
    return rows, (f"scored the data's own {held_out} split: {len(rows)} of {n} {what}"
                  + (f" ({left} {'is' if sum(others.values()) == 1 else 'are'} left out: a model trained on this data "
                     "has seen them)" if others else "") + "; --option split=all scores every image")
