"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

import torch
from vision._detection_scoring import per_class_scores


def test_per_class_ap50_counts_a_match_at_iou_0_6():  # kills V2
    # one truth [0,0,10,10], one detection [0,0,10,6] (IoU 0.6): AP@.5 = 1 (COCOeval), AP@.75 = 0
    preds = [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 6.0]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([0])}]
    targets = [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([0]), "iscrowd": torch.tensor([0])}]
    s = per_class_scores(preds, targets, 1)
    assert abs(s["map_50"][0] - 1.0) < 1e-9
