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


def test_label_spellings_refuse_spaces_and_warn_on_case():
    """One label written two ways: spaces around it are refused (never a class of its own), case is a warning (letters
    'A' and 'a' can be classes on purpose); labels written one way pass."""
    import pytest

    from core.data.labels import check_label_spellings
    from core.errors import InputError

    with pytest.raises(InputError, match="'positive' and 'positive ' differ only in spaces"):
        check_label_spellings(["positive", "Positive", "positive ", "negative"])
    warning = check_label_spellings(["NEGATIVE", "Negative", "negative", "positive"], "the labels")
    assert warning.startswith("the labels 'NEGATIVE' and 'Negative' and 'negative' differ only in case"), warning
    assert check_label_spellings(["pos", "neg", 1, None]) is None


def test_a_label_with_spaces_and_another_case_is_refused_too():
    """'YES ' beside 'yes' differs in case as well: it was only warned of as a case variant, shown stripped."""
    import pytest

    from core.data.labels import check_label_spellings
    from core.errors import InputError

    with pytest.raises(InputError, match=r"'YES ' and 'yes' differ only in spaces around them \(and case\)"):
        check_label_spellings(["yes", "YES ", "no"])
