"""positive_label names a label value by one rule in every task (core.data.labels)."""

from __future__ import annotations

import polars as pl
import pytest

from core.errors import InputError


def test_sentiment_and_risk_read_positive_label_by_one_rule():
    """Case aside and whole numbers alike in both; true/false stands for 1/0 only in a flag column. Sentiment used to
    read positive_label=true as the 1 of labels coded 1/2 (risk refused it), so 1 became positive silently."""
    from finance._risk_data import positive_value
    from nlp._textdata import with_positive_label

    texts = ["a", "b", "c", "d"]
    coded = pl.DataFrame({"text": texts, "label": [1, 2, 1, 2]})
    flag = pl.DataFrame({"text": texts, "label": ["0", "1", "0", "1"]})
    words = pl.DataFrame({"text": texts, "label": ["Yes", "no", "yes", "No"]})
    assert with_positive_label(coded, 2.0)["label"].to_list() == ["negative", "positive"] * 2
    assert with_positive_label(flag, "TRUE")["label"].to_list() == ["negative", "positive"] * 2
    assert with_positive_label(words, "YES")["label"].to_list() == ["positive", "negative"] * 2
    assert positive_value(pl.Series("y", [1, 2]), 2.0) == "2"
    assert positive_value(pl.Series("y", ["0", "1"]), "TRUE") == "1"
    assert positive_value(pl.Series("y", ["Yes", "no"]), "YES") == "Yes"
    with pytest.raises(InputError, match="not a value"):
        with_positive_label(coded, "true")
    with pytest.raises(InputError, match="not a value"):
        positive_value(pl.Series("y", [1, 2]), "true")
