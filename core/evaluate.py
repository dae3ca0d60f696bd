"""Metric cards with bootstrap 95% confidence intervals; the metrics themselves come from libraries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["metric_card", "bootstrap_ci", "metric_with_ci", "classification_metrics", "text_generation_metrics",
           "transcription_metrics"]

DEFAULT_RESAMPLES = 300


def bootstrap_ci(statistic: Callable[..., float], *arrays: Sequence[Any], resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0, alpha: float = 0.05) -> list[float] | None:
    """Percentile bootstrap interval of `statistic(*arrays)` resampling rows (None if undefined).

    >>> lo, hi = bootstrap_ci(lambda a: float(np.mean(a)), np.arange(100.0))
    >>> lo < 49.5 < hi
    True
    """
    n = len(arrays[0])
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    columns = [np.asarray(a, dtype=object) if not isinstance(a, np.ndarray) else a for a in arrays]
    values = []
    for _ in range(resamples):
        index = rng.integers(0, n, n)
        try:
            value = statistic(*(c[index] for c in columns))
        except ValueError:  # e.g. AUC on a resample holding one class
            continue
        if value is not None and np.isfinite(value):
            values.append(value)
    if len(values) < max(10, resamples // 4):
        return None
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return [float(low), float(high)]


def metric_with_ci(statistic: Callable[..., float], *arrays: Sequence[Any], resamples: int = DEFAULT_RESAMPLES,
                   seed: int = 0) -> dict[str, Any]:
    """`{"value", "ci95"}` for a statistic over rows.

    >>> metric_with_ci(lambda a: float(np.mean(a)), np.ones(10))["value"]
    1.0
    """
    columns = [a if isinstance(a, np.ndarray) else np.asarray(a, dtype=object) for a in arrays]
    value = float(statistic(*columns))
    return {"value": value, "ci95": bootstrap_ci(statistic, *columns, resamples=resamples, seed=seed)}


def metric_card(task: str, model: str, n: int, metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The metric card every `evaluate()` returns; bare numbers become `{"value", "ci95": None}`.

    >>> metric_card("demo", "m", 3, {"accuracy": 1.0})["metrics"]["accuracy"]
    {'value': 1.0, 'ci95': None}
    """
    normalised = {}
    for name, value in metrics.items():
        if isinstance(value, dict) and "value" in value:
            normalised[name] = {"value": _plain(value["value"]), "ci95": value.get("ci95"),
                                **{k: _plain(v) for k, v in value.items() if k not in {"value", "ci95"}}}
        else:
            normalised[name] = {"value": _plain(value), "ci95": None}
    return {"task": task, "model": model, "n": int(n), "metrics": normalised, **{k: _plain(v) for k, v in extra.items()}}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def classification_metrics(y_true: Sequence[Any], y_pred: Sequence[Any], scores: np.ndarray | None = None,
                           labels: Sequence[Any] | None = None, resamples: int = DEFAULT_RESAMPLES) -> dict[str, Any]:
    """Accuracy, macro-F1 (+ AUC from `scores`: (n,) positive-class or (n, k) probabilities), with CIs.

    >>> m = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], scores=np.array([.1, .9, .4, .2]))
    >>> m["accuracy"]["value"], m["auc"]["value"]
    (0.75, 1.0)
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    label_list = list(labels) if labels is not None else sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    metrics = {
        "accuracy": metric_with_ci(lambda t, p: accuracy_score(t.astype(y_true.dtype), p.astype(y_pred.dtype)), y_true, y_pred, resamples=resamples),
        "macro_f1": metric_with_ci(lambda t, p: f1_score(t, p, labels=label_list, average="macro", zero_division=0), y_true, y_pred, resamples=resamples),
    }
    if scores is not None and len(set(y_true.tolist())) > 1:
        scores = np.asarray(scores, dtype=float)
        index = np.arange(len(y_true))
        if scores.ndim == 1:
            def auc(rows):
                rows = rows.astype(int)
                return roc_auc_score(y_true[rows], scores[rows])
        else:
            def auc(rows):
                rows = rows.astype(int)
                present = sorted(set(y_true[rows].tolist()))
                if len(present) < 2:
                    raise ValueError("one class")
                if scores.shape[1] == 2:
                    return roc_auc_score(y_true[rows] == label_list[1], scores[rows, 1])
                return roc_auc_score(y_true[rows], scores[rows], multi_class="ovr", average="macro", labels=label_list)
        try:
            metrics["auc"] = metric_with_ci(auc, index, resamples=resamples)
        except ValueError:
            pass
    return metrics


def text_generation_metrics(hypotheses: Sequence[str], references: Sequence[str], resamples: int = 200) -> dict[str, Any]:
    """Corpus sacreBLEU and chrF (sacrebleu defaults) with sentence-resampling bootstrap CIs.

    >>> m = text_generation_metrics(["the cat sat"], ["the cat sat"]); round(m["chrf"]["value"])
    100
    """
    import sacrebleu

    hyp, ref = np.asarray(list(hypotheses), dtype=object), np.asarray(list(references), dtype=object)

    def bleu(h, r):
        return sacrebleu.corpus_bleu(list(h), [list(r)]).score

    def chrf(h, r):
        return sacrebleu.corpus_chrf(list(h), [list(r)]).score

    return {"bleu": metric_with_ci(bleu, hyp, ref, resamples=resamples),
            "chrf": metric_with_ci(chrf, hyp, ref, resamples=resamples)}


def transcription_metrics(hypotheses: Sequence[str], references: Sequence[str], resamples: int = 200) -> dict[str, Any]:
    """Corpus WER and CER (jiwer) with utterance-resampling bootstrap CIs; normalise text before calling.

    >>> transcription_metrics(["a b"], ["a c"])["wer"]["value"]
    0.5
    """
    import jiwer

    hyp, ref = np.asarray(list(hypotheses), dtype=object), np.asarray(list(references), dtype=object)
    return {"wer": metric_with_ci(lambda h, r: jiwer.wer(list(r), list(h)), hyp, ref, resamples=resamples),
            "cer": metric_with_ci(lambda h, r: jiwer.cer(list(r), list(h)), hyp, ref, resamples=resamples)}
