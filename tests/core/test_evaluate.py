"""core.evaluate's metrics equal the reference implementations on the same predictions."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from core.evaluate import classification_metrics


def test_macro_f1_is_sklearn_s_default_whatever_labels_the_model_has():
    """A 3-label model (negative/neutral/positive) scored on binary data: 'neutral', in neither the truth nor the
    predictions, added an F1 of 0 (0.444 where sklearn gives 0.667)."""
    truth = np.array(["negative", "positive", "positive", "negative", "positive", "negative"])
    predicted = np.array(["negative", "positive", "negative", "negative", "positive", "positive"])
    metrics = classification_metrics(truth, predicted, labels=["negative", "neutral", "positive"])
    assert metrics["macro_f1"]["value"] == f1_score(truth, predicted, average="macro") == 2 / 3
    predicted[0] = "neutral"  # predicted but not in the truth: it counts, as in sklearn
    metrics = classification_metrics(truth, predicted, labels=["negative", "neutral", "positive"])
    assert metrics["macro_f1"]["value"] == f1_score(truth, predicted, average="macro")
