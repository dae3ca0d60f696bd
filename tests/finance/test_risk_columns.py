"""finance.risk's feature scan: which numbered columns form a sequence worth summarising, and the business words
German credit's columns get whatever they are named."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from finance._risk_data import CREDIT_G, GERMAN, build_schema, sequence_groups

TAIWAN_COLUMNS = ("ID,LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6,BILL_AMT1,"
                  "BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,"
                  "PAY_AMT6").split(",")  # the Taiwan file's header


def test_sequence_summaries_need_consecutive_numbers():
    groups = sequence_groups(TAIWAN_COLUMNS)
    assert groups == {"PAY": ["PAY_0", *(f"PAY_{i}" for i in range(2, 7))],
                      "BILL_AMT": [f"BILL_AMT{i}" for i in range(1, 7)],
                      "PAY_AMT": [f"PAY_AMT{i}" for i in range(1, 7)]}
    assert sequence_groups(["c1", "c4", "c7", "q1", "q3", "q5", "r2", "r4", "r5"]) == {}  # prefixes, not periods
    assert sequence_groups(["m3", "m4", "m9", "m10", "m11", "m12"]) == {"m": ["m9", "m10", "m11", "m12"]}

    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"c1": rng.normal(size=200), "c4": rng.normal(size=200), "c7": rng.normal(size=200),
                          "default": rng.integers(0, 2, 200)})
    schema, _ = build_schema(frame, "default", summaries=True)
    assert [f["name"] for f in schema] == ["c1", "c4", "c7"]


# categorical attribute -> how many codes (A<attribute>0, A<attribute>1, ...; attribute 4 runs to A410)
GERMAN_CODES = {1: 4, 3: 5, 4: 11, 6: 5, 7: 5, 9: 5, 10: 3, 12: 4, 14: 3, 15: 3, 17: 4, 19: 2, 20: 2}


def _german_like(n: int = 60) -> pl.DataFrame:
    """German credit's layout: attributes 1-20 by position, categorical ones as A<attribute><code>, then the target."""
    rng = np.random.default_rng(3)
    columns = {}
    for attribute in range(1, 21):
        if attribute in GERMAN_CODES:
            codes = [f"A{attribute}{k}" for k in range(GERMAN_CODES[attribute])]
            columns[str(attribute - 1)] = [codes[i] for i in rng.integers(0, len(codes), n)]
        else:
            columns[str(attribute - 1)] = rng.integers(1, 60, n)
    columns["20"] = rng.integers(1, 3, n)
    return pl.DataFrame(columns)


@pytest.mark.parametrize("names", ["position", "Attribute{}", "a{}_x", "with id"])
def test_german_columns_get_their_words_whatever_they_are_named(names):
    frame = _german_like()
    if names == "with id":
        frame = frame.rename({c: f"Attribute{int(c) + 1}" for c in frame.columns[:20]})
        ids = pl.Series("id", [f"k{i}" for i in range(frame.height)])
        frame = frame.with_columns(ids).select(["id", *frame.columns])
    elif names != "position":
        frame = frame.rename({c: names.format(int(c) + 1) for c in frame.columns[:20]})
    schema, _ = build_schema(frame, "20")
    words = {f["name"]: f["description"] for f in schema}
    expected = dict(zip([c for c in frame.columns if c not in ("20", "id")], GERMAN))
    assert {k: words[k] for k in expected if k in words} == {k: v for k, v in expected.items() if k in words}
    assert words[[c for c in frame.columns if c != "id"][4]] == "credit amount"


def test_credit_g_names_get_the_german_words_but_other_tables_keep_theirs():
    rng = np.random.default_rng(5)
    frame = pl.DataFrame({name: rng.integers(1, 50, 80) for name in CREDIT_G}).with_columns(
        pl.Series("class", rng.integers(0, 2, 80)))
    words = {f["name"]: f["description"] for f in build_schema(frame, "class")[0]}
    assert words["installment_commitment"] == "instalment rate (% of income)"
    assert words["duration"] == "loan duration (months)"
    other = pl.DataFrame({"duration": rng.integers(1, 50, 80), "purpose": rng.choice(["car", "tv"], 80),
                          "default": rng.integers(0, 2, 80)})
    assert {f["name"]: f["description"] for f in build_schema(other, "default")[0]} == {"duration": "duration",
                                                                                         "purpose": "purpose"}
    shuffled = _german_like().select(["1", "0", *map(str, range(2, 21))])  # codes in the wrong places: no German words
    assert {f["description"] for f in build_schema(shuffled, "20")[0]}.isdisjoint(GERMAN[:2])
