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


def test_auc_of_a_class_with_one_example_has_no_interval_and_a_warning():
    """One default among five rows: AUC 1.0 came with a 95% CI of [1.0, 1.0] from resamples of that one example."""
    import numpy as np

    from core.evaluate import class_balance_warning, classification_metrics

    y = np.array([1, 0, 0, 0, 0])
    metrics = classification_metrics(y, y, scores=np.array([0.9, 0.1, 0.2, 0.3, 0.4]))
    assert metrics["auc"]["value"] == 1.0 and metrics["auc"]["ci95"] is None
    assert "AUC rests on 1 example(s) and has no 95% interval" in class_balance_warning(y)
    wide = np.array([1, 0] * 10)
    mixed = wide * 0.8 + 0.1 + np.linspace(0, 0.85, 20)  # 10 of each class, some pairs out of order: an interval
    assert classification_metrics(wide, wide, scores=mixed)["auc"]["ci95"] is not None
    assert class_balance_warning(wide) is None
    assert "one class only" in class_balance_warning([0, 0, 0])


def test_every_example_right_gives_an_interval_that_says_how_little_two_examples_say():
    """2 of 2 right gave accuracy 1.0 with a 95% CI of [1.0, 1.0] (every resample alike), in every task's card. The
    percentile bootstrap has no spread to show then: accuracy gets the Wilson interval, other statistics none."""
    import numpy as np

    from core.evaluate import classification_metrics, metric_with_ci

    two = classification_metrics(["a", "b"], ["a", "b"])
    assert two["accuracy"]["value"] == 1.0 and 0.3 < two["accuracy"]["ci95"][0] < 0.35 and two["accuracy"]["ci95"][1] == 1.0
    assert two["macro_f1"]["ci95"] is None
    wrong = classification_metrics(["a", "b", "a"], ["b", "a", "b"])
    assert wrong["accuracy"]["ci95"][0] == 0.0 and 0.5 < wrong["accuracy"]["ci95"][1] < 0.6
    assert metric_with_ci(lambda a: float(np.mean(a)), np.zeros(12))["ci95"] is None
    some = classification_metrics(["a", "b"] * 10, ["a", "b"] * 9 + ["b", "b"])
    assert some["accuracy"]["ci95"][0] < 0.95 < some["accuracy"]["ci95"][1]  # spread: the bootstrap's own interval


def test_each_metric_says_which_way_is_better():
    """A script comparing two cards could not tell whether a lower WER, Brier or HD95 won: each metric of known
    direction now carries `better`; coverage and drift, which are neither, carry none."""
    from core.evaluate import metric_card

    card = metric_card("t", "m", 5, {"wer": 0.1, "wer_es": 0.2, "accuracy": 0.9, "brier": 0.1, "hd95": 3.0, "map_50": 0.4,
                                     "dice_value_0": 0.8, "mae_h1": 2.0, "coverage_80": 0.8, "psi_score": 0.1})["metrics"]
    assert {k: v.get("better") for k, v in card.items()} == {
        "wer": "lower", "wer_es": "lower", "accuracy": "higher", "brier": "lower", "hd95": "lower", "map_50": "higher",
        "dice_value_0": "higher", "mae_h1": "lower", "coverage_80": None, "psi_score": None}


def test_the_printed_card_says_which_metrics_are_better_lower(capsys):
    from core.cli import _print_card
    from core.evaluate import metric_card

    _print_card(metric_card("speech.recognition", "m", 4, {"wer": {"value": 0.1, "ci95": [0.05, 0.2]}, "accuracy": 0.5}), False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[0] == "wer" and lines[1].endswith("lower is better")
    assert lines[2].split()[0] == "accuracy" and "better" not in lines[2]
