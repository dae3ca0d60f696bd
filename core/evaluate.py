"""Metric cards with bootstrap 95% confidence intervals; the metrics themselves come from libraries."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["metric_card", "metric_direction", "bootstrap_ci", "proportion_ci", "with_proportion_ci", "metric_with_ci", "classification_metrics", "text_generation_metrics",
           "transcription_metrics", "confusion_plot", "curve_plot", "bars_plot", "score_plots", "waterfall_plot"]

DEFAULT_RESAMPLES = 300


def bootstrap_ci(statistic: Callable[..., float], *arrays: Sequence[Any], resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0, alpha: float = 0.05) -> list[float] | None:
    """Percentile bootstrap interval of `statistic(*arrays)` resampling rows (None if undefined). Rows that all score
    alike (every example right, or every one wrong) give every resample the same value: a zero-width interval would
    say the figure is certain, so there is none (None; a proportion gets `proportion_ci`'s instead).

    >>> lo, hi = bootstrap_ci(lambda a: float(np.mean(a)), np.arange(100.0))
    >>> lo < 49.5 < hi
    True
    >>> bootstrap_ci(lambda a: float(np.mean(a)), np.ones(12)) is None
    True
    >>> bootstrap_ci(lambda a: 1.0 - 1e-15 * float(a[0] > 0), np.arange(12.0)) is None  # rounding noise is no spread
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
    if len(values) < max(10, resamples // 4) or np.ptp(values) <= 1e-9 * max(1.0, float(np.max(np.abs(values)))):
        return None
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return [float(low), float(high)]


def proportion_ci(successes: int, n: int, alpha: float = 0.05) -> list[float] | None:
    """Wilson score interval of a proportion (scipy), for the case the percentile bootstrap cannot bound: every
    example right or every one wrong (2 of 2 right: 0.34-1, not 1-1). None under 2 examples.

    >>> [round(v, 2) for v in proportion_ci(2, 2)]
    [0.34, 1.0]
    """
    from scipy.stats import binomtest

    if n < 2:
        return None
    interval = binomtest(int(successes), int(n)).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return [float(interval.low), float(interval.high)]


def with_proportion_ci(entry: dict[str, Any], n: int) -> dict[str, Any]:
    """A proportion's `{value, ci95}` over `n` examples, given the Wilson interval where the bootstrap gave none.

    >>> with_proportion_ci({"value": 1.0, "ci95": None}, 2)["ci95"][0] > 0.3
    True
    """
    if entry["ci95"] is None and n >= 2:  # every example alike: no spread to bootstrap
        entry["ci95"] = proportion_ci(int(round(entry["value"] * n)), n)
    return entry


def metric_with_ci(statistic: Callable[..., float], *arrays: Sequence[Any], resamples: int = DEFAULT_RESAMPLES,
                   seed: int = 0) -> dict[str, Any]:
    """`{"value", "ci95"}` for a statistic over rows.

    >>> metric_with_ci(lambda a: float(np.mean(a)), np.ones(10))["value"]
    1.0
    """
    columns = [a if isinstance(a, np.ndarray) else np.asarray(a, dtype=object) for a in arrays]
    value = float(statistic(*columns))
    return {"value": value, "ci95": bootstrap_ci(statistic, *columns, resamples=resamples, seed=seed)}


# Which way a metric improves, read from its name's words (`wer_es`, `mae_h1`, `dice_value_0`, `auc_lesion`): a script
# comparing two cards needs it. Coverage and drift are neither (coverage should sit at its nominal level).
_LOWER_BETTER = re.compile(r"(^|_)(wer|cer|mae|rmse|mse|mase|mape|smape|brier|hd95|hausdorff|log_loss|ece|"
                           r"calibration_error|real_time_factor|rtf|seconds|pinball|crps|relative_mae|rel_mae)($|_)")
_HIGHER_BETTER = re.compile(r"(^|_)(accuracy|acc|f1|auc|gini|ks|dice|iou|map|ap|bleu|chrf|exact_match|em|recall|"
                            r"mar|precision|sensitivity|specificity|top\d+|skill|r2)($|_)")


def metric_direction(name: str) -> str | None:
    """"higher" or "lower" (is better) for a metric's name, None where neither holds or the name is not known.

    >>> metric_direction("wer_es"), metric_direction("dice_value_0"), metric_direction("coverage_80")
    ('lower', 'higher', None)
    """
    key = name.lower()
    if _LOWER_BETTER.search(key):
        return "lower"
    if _HIGHER_BETTER.search(key):
        return "higher"
    return None


def metric_card(task: str, model: str, n: int, metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The metric card every `evaluate()` returns; bare numbers become `{"value", "ci95": None}`, and each metric whose
    direction is known says which way is better (`better`: higher / lower).

    >>> metric_card("demo", "m", 3, {"accuracy": 1.0})["metrics"]["accuracy"]
    {'value': 1.0, 'ci95': None, 'better': 'higher'}
    """
    normalised = {}
    for name, value in metrics.items():
        if isinstance(value, dict) and "value" in value:
            normalised[name] = {"value": _plain(value["value"]), "ci95": value.get("ci95"),
                                **{k: _plain(v) for k, v in value.items() if k not in {"value", "ci95"}}}
        else:
            normalised[name] = {"value": _plain(value), "ci95": None}
        direction = metric_direction(str(name))
        if direction and "better" not in normalised[name]:
            normalised[name]["better"] = direction
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


MIN_PER_CLASS_TO_RANK = 5  # fewer examples of a class: a ranking metric (AUC, Gini, KS) gets no interval, and a warning


def class_balance_warning(y_true: Sequence[Any], metrics: str = "AUC", unit: str = "rows") -> str | None:
    """Why a ranking metric over `y_true` is missing or rests on too little: the evaluation data hold one class only
    (the metric is not defined), or a class with fewer than `MIN_PER_CLASS_TO_RANK` examples (a value with no usable
    interval). None when every class has enough. A task's `evaluate` passes it as the card's `warning`.

    >>> class_balance_warning(["good"] * 6)
    "the evaluation data hold one class only ('good', 6 rows): AUC is not defined without both classes, so it is not reported; evaluate on data holding both"
    >>> class_balance_warning([1, 0, 0, 0, 0], "AUC, Gini and KS")
    'only 1 of the 5 rows is of class 1: AUC, Gini and KS rest on 1 example(s) and have no 95% interval; evaluate on more data (at least 5 of each class) for a usable estimate'
    >>> class_balance_warning([1, 0] * 5) is None
    True
    """
    values = [v.item() if isinstance(v, np.generic) else v for v in y_true]
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return None
    if len(counts) == 1:
        (only, n), = counts.items()
        plural = " and " in metrics or "," in metrics
        return (f"the evaluation data hold one class only ({only!r}, {n} {unit}): {metrics} {'are' if plural else 'is'} "
                f"not defined without both classes, so {'they are' if plural else 'it is'} not reported; evaluate on "
                "data holding both")
    label, fewest = min(counts.items(), key=lambda item: item[1])
    if fewest >= MIN_PER_CLASS_TO_RANK:
        return None
    plural = " and " in metrics or "," in metrics
    return (f"only {fewest} of the {len(values)} {unit} {'is' if fewest == 1 else 'are'} of class {label}: {metrics} "
            f"{'rest' if plural else 'rests'} on {fewest} example(s) and {'have' if plural else 'has'} no 95% interval; "
            f"evaluate on more data (at least {MIN_PER_CLASS_TO_RANK} of each class) for a usable estimate")


def joined_warnings(*warnings: str | None) -> str | None:
    """Several warnings for one card's `warning` field, in order, each once; None when there are none.

    >>> joined_warnings(None, "a", "b", "a")
    'a; b'
    """
    kept = list(dict.fromkeys(w for w in warnings if w))
    return "; ".join(kept) or None


def classification_metrics(y_true: Sequence[Any], y_pred: Sequence[Any], scores: np.ndarray | None = None,
                           labels: Sequence[Any] | None = None, resamples: int = DEFAULT_RESAMPLES) -> dict[str, Any]:
    """Accuracy, macro-F1 (+ AUC from `scores`: (n,) positive-class or (n, k) probabilities), with CIs. Macro-F1 is
    sklearn's default: the mean over the labels in the truth or the predictions; `labels` orders the score columns,
    and (n,) scores are those of `labels[1]` (without `labels`, of the label that sorts last, as sklearn's).

    >>> m = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], scores=np.array([.1, .9, .4, .2]))
    >>> m["accuracy"]["value"], m["auc"]["value"]
    (0.75, 1.0)
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    label_list = list(labels) if labels is not None else sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    metrics = {
        "accuracy": with_proportion_ci(metric_with_ci(lambda t, p: accuracy_score(t.astype(y_true.dtype), p.astype(y_pred.dtype)),
                                                      y_true, y_pred, resamples=resamples), len(y_true)),
        # sklearn's macro average over the labels in the truth or the predictions (of each resample): a label of the
        # model's that neither holds adds no F1 of 0 (a 3-label model on binary data scored 0.44 for sklearn's 0.67)
        "macro_f1": metric_with_ci(lambda t, p: f1_score(t, p, average="macro", zero_division=0), y_true, y_pred, resamples=resamples),
    }
    if scores is not None and len(set(y_true.tolist())) > 1:
        scores = np.asarray(scores, dtype=float)
        index = np.arange(len(y_true))
        if scores.ndim == 1:  # the positive class's scores: labels[1], as the score columns are ordered
            positive = label_list[1] if len(label_list) == 2 else label_list[-1]

            def auc(rows):
                rows = rows.astype(int)
                return roc_auc_score(y_true[rows] == positive, scores[rows])
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
        else:
            if min(np.unique(y_true, return_counts=True)[1]) < MIN_PER_CLASS_TO_RANK:
                metrics["auc"]["ci95"] = None  # resamples of a class this small: an interval of [1, 1] from 1 example
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


# Plot data. A card may carry `"plots": {title: spec}`; the dashboard draws every spec it finds and the CLI prints
# them with the card, so `core` stays free of plotting libraries. Three kinds of spec:
#   {"kind": "confusion", "labels": [...], "matrix": [[count, ...], ...]}          rows true, columns predicted
#   {"kind": "curve", "x": [...], "y": [...], "x_label", "y_label", "diagonal": bool, "note": str,
#    optional "name": str, "lines": {name: [...]} (more lines over the same x), "band": {"lower", "upper", "label"}}
#   x may be numbers or text (dates); a missing y (None) leaves a gap
#   {"kind": "waterfall", "labels": [...], "values": [...], "measures": ["absolute" | "relative" | "total", ...],
#    "value_label", "note"}  a start, signed steps and the total they reach (e.g. a score's reason codes)
#   {"kind": "bars", "labels": [...], "values": [...], "value_label", "note": str}  e.g. AP per class, WER per utterance


def confusion_plot(labels: Sequence[Any], matrix: Any) -> dict[str, Any]:
    """A confusion-matrix spec (rows true, columns predicted).

    >>> confusion_plot(["a", "b"], [[2, 0], [1, 3]])["matrix"]
    [[2, 0], [1, 3]]
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"confusion matrix of shape {matrix.shape} for {len(labels)} labels")
    return {"kind": "confusion", "labels": [str(label) for label in labels], "matrix": matrix.astype(int).tolist()}


def curve_plot(x: Sequence[Any], y: Sequence[float | None], x_label: str, y_label: str, diagonal: bool = False,
               note: str | None = None, max_points: int = 200, name: str | None = None,
               lines: dict[str, Sequence[float | None]] | None = None,
               band: tuple[Sequence[float | None], Sequence[float | None], str] | None = None) -> dict[str, Any]:
    """A line spec, thinned to at most `max_points` points (the ends are kept); `lines` adds named lines and `band`
    a shaded (lower, upper, label) interval over the same x. Numeric x is rounded, other x (dates) kept as text.

    >>> spec = curve_plot(np.linspace(0, 1, 1000), np.linspace(0, 1, 1000), "recall", "precision")
    >>> len(spec["x"]), spec["x"][-1]
    (200, 1.0)
    >>> curve_plot(["2024-01-01", "2024-01-02"], [1.0, None], "date", "value", lines={"forecast": [None, 2.0]},
    ...            band=([None, 1.5], [None, 2.5], "80% interval"))["band"]
    {'lower': [None, 1.5], 'upper': [None, 2.5], 'label': '80% interval'}
    """
    def values(column: Sequence[float | None]) -> np.ndarray:
        return np.asarray([np.nan if v is None else v for v in column], dtype=float)

    try:
        x = values(x)
        x_text = False
    except (TypeError, ValueError):  # dates or labels
        x, x_text = np.asarray([str(v) for v in x], dtype=object), True
    columns = {"y": values(y), **{f"line {k}": values(v) for k, v in (lines or {}).items()}}
    if band is not None:
        columns.update({"lower": values(band[0]), "upper": values(band[1])})
    if any(len(c) != len(x) for c in columns.values()):
        raise ValueError(f"curve_plot: every series needs {len(x)} values (one per x)")
    if len(x) > max_points:
        keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
        x, columns = x[keep], {k: c[keep] for k, c in columns.items()}

    def plain(column: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else round(float(v), 5) for v in column]

    spec = {"kind": "curve", "x": list(x) if x_text else plain(x), "y": plain(columns["y"]),
            "x_label": x_label, "y_label": y_label, "diagonal": diagonal}
    if name:
        spec["name"] = name
    if lines:
        spec["lines"] = {k: plain(columns[f"line {k}"]) for k in lines}
    if band is not None:
        spec["band"] = {"lower": plain(columns["lower"]), "upper": plain(columns["upper"]), "label": band[2]}
    return {**spec, "note": note} if note else spec


def bars_plot(labels: Sequence[Any], values: Sequence[float | None], value_label: str, note: str | None = None,
              worst_first: bool | None = None, limit: int = 50) -> dict[str, Any]:
    """A bar spec; with `worst_first` set (True: high is bad) only the `limit` worst items are kept, worst first.

    >>> bars_plot(["u1", "u2", "u3"], [0.1, 0.5, 0.0], "WER", worst_first=True, limit=2)["labels"]
    ['u2', 'u1']
    """
    pairs = [(str(label), None if value is None or not np.isfinite(value) else round(float(value), 5))
             for label, value in zip(labels, values)]
    if worst_first is not None:
        total = len(pairs)
        pairs = sorted(pairs, key=lambda p: (p[1] is None, -(p[1] or 0.0) if worst_first else (p[1] or 0.0)))[:limit]
        if total > limit:
            note = f"{note + '; ' if note else ''}the {limit} worst of {total} shown"
    spec = {"kind": "bars", "labels": [p[0] for p in pairs], "values": [p[1] for p in pairs], "value_label": value_label}
    return {**spec, "note": note} if note else spec


def score_plots(y_true: Sequence[bool], scores: Sequence[float], positive: str = "positive",
                bins: int = 10) -> dict[str, dict[str, Any]]:
    """Precision-recall, ROC and calibration (reliability) specs for a binary score (sklearn); {} for one class.

    >>> plots = score_plots([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> sorted(plots), plots["ROC curve"]["diagonal"]
    (['Calibration', 'Precision-recall curve', 'ROC curve'], True)
    """
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

    y_true, scores = np.asarray(y_true).astype(bool), np.asarray(scores, dtype=float)
    if y_true.all() or not y_true.any():
        return {}
    precision, recall, _ = precision_recall_curve(y_true, scores)
    fpr, tpr, _ = roc_curve(y_true, scores)
    plots = {
        "Precision-recall curve": curve_plot(recall[::-1], precision[::-1], f"recall ({positive})", "precision",
                                             note=f"average precision {average_precision_score(y_true, scores):.3f}; "
                                                  f"base rate {y_true.mean():.3f}"),
        "ROC curve": curve_plot(fpr, tpr, "false-positive rate", "true-positive rate", diagonal=True),
    }
    if scores.min() >= 0 and scores.max() <= 1:
        observed, predicted = calibration_curve(y_true, scores, n_bins=bins, strategy="quantile")
        plots["Calibration"] = curve_plot(predicted, observed, f"mean predicted P({positive})",
                                          f"observed share {positive}", diagonal=True,
                                          note=f"{bins} equal-count bins; on the diagonal = calibrated")
    return plots


def waterfall_plot(start: tuple[str, float], steps: Sequence[tuple[str, float]], total: tuple[str, float],
                   value_label: str, note: str | None = None) -> dict[str, Any]:
    """A waterfall spec: a starting value, signed steps, and the total they reach.

    >>> waterfall_plot(("average", 600), [("income", 12.5), ("debt", -30)], ("score", 582.5), "points")["measures"]
    ['absolute', 'relative', 'relative', 'total']
    """
    labels = [str(start[0])] + [str(label) for label, _ in steps] + [str(total[0])]
    values = [float(start[1])] + [float(value) for _, value in steps] + [float(total[1])]
    spec = {"kind": "waterfall", "labels": labels, "values": [round(v, 5) for v in values],
            "measures": ["absolute"] + ["relative"] * len(steps) + ["total"], "value_label": value_label}
    return {**spec, "note": note} if note else spec
