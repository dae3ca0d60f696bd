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


# mutation testing (2026-12-02) found these behaviours unguarded: each test below fails on one such change -------------
def test_binary_auc_from_two_probability_columns_reads_the_second_labels_column():
    truth = ["neg", "pos", "pos", "neg", "pos", "neg"]
    positive = np.array([0.1, 0.9, 0.8, 0.3, 0.7, 0.2])
    scores = np.column_stack([1 - positive, positive])
    metrics = classification_metrics(truth, ["neg", "pos", "pos", "neg", "pos", "neg"], scores=scores, labels=["neg", "pos"])
    assert metrics["auc"]["value"] == 1.0


def test_multiclass_auc_is_the_macro_mean_over_classes():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    truth = np.array([0] * 40 + [1] * 8 + [2] * 12)
    scores = rng.dirichlet([1, 1, 1], size=len(truth))
    scores[truth == 1, 1] += 0.3  # classes ranked unequally well, so macro and weighted means differ
    scores /= scores.sum(1, keepdims=True)
    value = classification_metrics(truth, scores.argmax(1), scores=scores, labels=[0, 1, 2])["auc"]["value"]
    assert value == roc_auc_score(truth, scores, multi_class="ovr", average="macro")
    assert value != roc_auc_score(truth, scores, multi_class="ovr", average="weighted")


def test_wer_cer_and_bleu_take_the_hypothesis_and_reference_the_right_way_round():
    import jiwer
    import sacrebleu

    from core.evaluate import text_generation_metrics, transcription_metrics

    hypotheses, references = ["a b c d", "x y"], ["a b", "x y"]  # two insertions: WER 2/4, swapped 2/6
    words = transcription_metrics(hypotheses, references)
    assert words["wer"]["value"] == jiwer.wer(references, hypotheses) != jiwer.wer(hypotheses, references)
    assert words["cer"]["value"] == jiwer.cer(references, hypotheses) != jiwer.cer(hypotheses, references)
    hypotheses, references = ["the cat sat on the mat today"], ["the cat sat on the mat"]
    bleu = text_generation_metrics(hypotheses, references)["bleu"]["value"]
    assert bleu == sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert bleu != sacrebleu.corpus_bleu(references, [hypotheses]).score


def test_the_bootstrap_interval_is_a_95_percent_one():
    from core.evaluate import bootstrap_ci

    values = np.random.default_rng(1).normal(size=400)
    low, high = bootstrap_ci(np.mean, values, resamples=2000)
    standard_error = values.std(ddof=1) / np.sqrt(len(values))
    assert 1.85 < (high - low) / (2 * standard_error) < 2.1  # 1.96 for 95%; a 90% interval gives about 1.64


def test_the_printed_card_gives_a_metrics_unit_and_the_cases_it_is_over(capsys):
    from core.cli import _print_card

    card = {"task": "medical.segmentation", "model": "m", "n": 3, "metrics": {
        "dice": {"value": 0.8, "ci95": None, "cases": 3},
        "hd95": {"value": 27.64, "ci95": None, "unit": "mm", "cases": 2, "better": "lower"}}}
    _print_card(card, as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["dice", "0.8000"]
    assert lines[2].split() == ["hd95", "27.6400", "mm", "lower", "is", "better", "over", "2", "of", "3", "cases"]


def test_one_column_scores_are_the_scores_of_the_second_label_as_two_columns_are():
    """The same P(bad) scores gave AUC 0.0 as one column and 1.0 as two with labels=["good", "bad"]: the (n,)
    branch let sklearn take the label that sorts last ("good") as positive."""
    import numpy as np

    from core.evaluate import classification_metrics

    truth, predicted = ["bad", "good", "bad", "good"], ["bad", "good", "bad", "good"]
    p_bad = np.array([0.9, 0.2, 0.8, 0.1])
    one = classification_metrics(truth, predicted, scores=p_bad, labels=["good", "bad"], resamples=20)
    two = classification_metrics(truth, predicted, scores=np.column_stack([1 - p_bad, p_bad]), labels=["good", "bad"],
                                 resamples=20)
    assert one["auc"]["value"] == two["auc"]["value"] == 1.0
    assert classification_metrics(truth, predicted, scores=1 - p_bad, resamples=20)["auc"]["value"] == 1.0  # P(good)
