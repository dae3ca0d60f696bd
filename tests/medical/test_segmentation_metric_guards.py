"""Metric behaviours a mutation audit (2026-12-02) found unguarded: each test fails on one such change."""

from __future__ import annotations

import numpy as np
from medical.segmentation import Segmenter, SegmentationData


def _scores(pred, true, spacing):
    s = Segmenter.__new__(Segmenter)
    s.label_names_ = ["background", "lesion"]
    data = SegmentationData([np.zeros_like(true, dtype=np.float32)], [true], ["c"], ["background", "lesion"], [spacing])
    return s._scores([pred], data)


def test_hd95_uses_row_spacing_for_row_shift():  # kills M1 (spacing axis order)
    true = np.zeros((20, 20), int); true[5:10, 5:10] = 1
    pred = np.zeros((20, 20), int); pred[8:13, 5:10] = 1  # shifted 3 rows
    hd = _scores(pred, true, (2.0, 0.5))["hd95"][0, 0]  # rows 2 mm apart, columns 0.5 mm
    assert abs(hd - 6.0) < 1e-6  # 3 rows x 2 mm (MONAI / reference: max surface distance of a pure 3-row shift)


def test_hd95_is_95th_percentile_not_max():  # kills M4
    true = np.zeros((40, 40), int); true[5:35, 5:35] = 1
    pred = true.copy(); pred[5:8, 5:8] = 0; pred[36:39, 36:39] = 1  # small outliers
    from monai.metrics import compute_hausdorff_distance
    import torch
    from monai.networks.utils import one_hot
    yp = one_hot(torch.from_numpy(pred)[None, None], 2); yt = one_hot(torch.from_numpy(true)[None, None], 2)
    ref = float(compute_hausdorff_distance(yp, yt, percentile=95)[0, 0])
    assert abs(_scores(pred, true, (1.0, 1.0))["hd95"][0, 0] - ref) < 1e-6
