"""Sentiment on degenerate data: labels spelled two ways, one-class evaluation data, too few texts to measure."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from core.errors import InputError
from nlp.sentiment import SentimentModel
from tests.nlp.tiny import tiny_classifier

TEXTS = ["a wonderful and moving film", "great acting and a lovely story", "i loved every minute of it",
         "a dull boring mess", "terrible plot and awful acting", "i hated this waste of time"]
QUICK = SentimentModel.Config(epochs=1, max_steps=1, batch_size=4)


def _classifier(labels=("negative", "positive")) -> SentimentModel:
    model, tokenizer = tiny_classifier(labels)
    return SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny")


def test_labels_differing_only_in_spaces_are_refused_and_only_in_case_warned_of_on_the_card():
    spaced = pl.DataFrame({"text": TEXTS * 2, "label": ["positive", "positive "] * 3 + ["negative"] * 6})
    with pytest.raises(InputError, match="differ only in spaces"):
        _classifier().fit(spaced, QUICK)
    cased = pl.DataFrame({"text": TEXTS * 3,
                          "label": ["positive", "Positive", "positive"] * 3 + ["negative", "NEGATIVE", "negative"] * 3})
    with pytest.warns(UserWarning, match="differ only in case"):
        model = _classifier().fit(cased, QUICK)
    assert model.labels_ == ["NEGATIVE", "Positive", "negative", "positive"]
    assert "'NEGATIVE' and 'negative'" in model.card["warning"] and "'Positive' and 'positive'" in model.card["warning"]


def test_labels_differing_only_in_case_are_trained_as_the_separate_classes_the_warning_names():
    from nlp.sentiment import _training_indices

    labels = ["NEGATIVE", "Positive", "negative", "positive"]
    # not read case-insensitively into one of the two (the other spelling's class never trained)
    assert _training_indices(["Positive", "positive", "NEGATIVE", "negative"], labels, exact=True) == [1, 3, 0, 2]
    assert _training_indices([1, 0], ["negative", "positive"], exact=False) == [1, 0]


def test_evaluate_does_not_repeat_sklearn_s_undefined_auc_warning_for_each_resample():
    model = _classifier(("Negative", "negative", "positive"))  # a label the 0/1 data never hold
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        card = model.evaluate(pl.DataFrame({"text": TEXTS * 2, "label": [1, 0] * 6}))
    assert [str(w.message) for w in caught if "UndefinedMetric" in type(w.message).__name__] == []
    assert card["metrics"]["auc"]["value"] is None


def test_evaluate_on_one_class_says_why_auc_is_missing():
    model = _classifier()
    card = model.evaluate(pl.DataFrame({"text": TEXTS, "label": [1] * 6}))
    assert "auc" not in card["metrics"]
    assert card["warning"].startswith("the evaluation data hold one class only ('positive', 6 texts): AUC is not defined")
    few = model.evaluate(pl.DataFrame({"text": TEXTS * 2, "label": [1] * 10 + [0] * 2}))
    assert few["metrics"]["auc"]["ci95"] is None and "only 2 of the 12 texts are of class negative" in few["warning"]
    assert "warning" not in model.evaluate(pl.DataFrame({"text": TEXTS * 2, "label": [1, 0] * 6}))


@pytest.mark.parametrize("labels", [[1, 0, 0], [1, 0, 0, 0], [1] + [0] * 11], ids=["3 texts", "4 texts", "1 positive"])
def test_too_few_texts_to_hold_any_out_give_training_set_metrics_and_a_warning_not_a_metric(labels):
    frame = pl.DataFrame({"text": (TEXTS * 2)[:len(labels)], "label": labels})
    with pytest.warns(UserWarning, match="too few texts"):
        model = _classifier().fit(frame, QUICK)
    card = model.card
    assert card["metrics"] == {} and card["training_set_metrics"]["n"] == len(labels)
    assert 0 <= card["training_set_metrics"]["metrics"]["accuracy"] <= 1 and "not measured" in card["metrics_note"]
    assert card["warning"].startswith("too few texts") and "training_set_metrics" in card["warning"]
    if len(labels) > 10:
        assert card["warning"].startswith("too few texts of class 'positive' (1 of 12; negative 11)")


def test_enough_texts_are_measured_on_held_out_ones_without_a_warning():
    frame = pl.DataFrame({"text": TEXTS * 2, "label": [1, 1, 1, 0, 0, 0] * 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = _classifier().fit(frame, QUICK)
    assert model.card["metrics"]["val_rows"] == 1 and "warning" not in model.card
    assert "training_set_metrics" not in model.card


def test_labels_written_as_json_objects_or_lists_are_a_typed_error(tmp_path):
    """check-data nlp.sentiment on JSON lines whose labels were objects or lists crashed with a traceback
    (TypeError: unhashable type: 'dict'), exit 1."""
    from core.cli import main

    for label in ('{"a": 1}', "[1]"):
        path = tmp_path / "nested.jsonl"
        path.write_text(f'{{"text": "good film", "label": {label}}}\n{{"text": "bad film", "label": {label.replace("1", "0")}}}\n')
        assert main(["check-data", "nlp.sentiment", str(path)]) == 2
