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


def _card_like(n: int = 400, seed: int = 0) -> pl.DataFrame:
    """Taiwan's layout: a credit limit, a status sequence, bill and payment sequences, age; default from utilisation."""
    rng = np.random.default_rng(seed)
    limit = rng.choice(np.arange(1, 60) * 10_000, n).astype(float)
    bills = np.column_stack([limit * rng.uniform(-0.05, 1.0, n) for _ in range(6)]).round()
    pays = np.maximum(0, bills * rng.uniform(0, 0.3, (n, 6))).round()
    columns = {"LIMIT_BAL": limit, "AGE": rng.integers(21, 70, n)}
    columns |= {name: rng.integers(-2, 8, n) for name in TAIWAN_COLUMNS[6:12]}
    columns |= {f"BILL_AMT{k + 1}": bills[:, k] for k in range(6)} | {f"PAY_AMT{k + 1}": pays[:, k] for k in range(6)}
    columns["default"] = (rng.random(n) < 1 / (1 + np.exp(2 - 3 * bills[:, 0] / limit))).astype(int)
    return pl.DataFrame(columns)


def test_amount_sequences_get_their_shares_of_the_limit_and_of_each_other():
    """Utilisation (bill / limit) and payment / bill, found from the data's shape: amount sequences (many values) over
    a single amount column at least as large (LIMIT_BAL, not AGE), and the smaller sequence over the larger one period
    by period; a status sequence (PAY_0 ..: few values) takes no part, and NaN is where the denominator is not > 0."""
    frame = _card_like()
    schema, _ = build_schema(frame, "default", summaries=True, ratios=True)
    ratios = {f["name"]: f["derived"]["columns"] for f in schema if f.get("derived", {}).get("stat") == "ratio"}
    assert list(ratios) == ([f"BILL_AMT{k}_per_LIMIT_BAL" for k in range(1, 7)]
                            + [f"PAY_AMT{k}_per_LIMIT_BAL" for k in range(1, 7)]
                            + [f"PAY_AMT{k}_per_BILL_AMT{k}" for k in range(1, 7)])
    assert ratios["PAY_AMT2_per_BILL_AMT2"] == ["PAY_AMT2", "BILL_AMT2"]
    from finance._risk_data import feature_arrays

    arrays = feature_arrays(frame, schema)
    bill, pay = frame["BILL_AMT1"].to_numpy(), frame["PAY_AMT1"].to_numpy()
    share = arrays["PAY_AMT1_per_BILL_AMT1"]
    assert np.isnan(share[bill <= 0]).all() and np.allclose(share[bill > 0], pay[bill > 0] / bill[bill > 0])
    assert np.allclose(arrays["BILL_AMT3_per_LIMIT_BAL"], frame["BILL_AMT3"].to_numpy() / frame["LIMIT_BAL"].to_numpy())
    plain, _ = build_schema(frame, "default", summaries=True)
    assert not [f for f in plain if f.get("derived", {}).get("stat") == "ratio"]  # off unless asked
    german, _ = build_schema(_german_like(), "default", summaries=True, ratios=True)
    assert not [f for f in german if "derived" in f]  # no amount sequences: nothing derived


def test_a_saved_model_with_shares_predicts_the_same_outside_the_product(tmp_path):
    """The card's usage recomputes the shares from encoding.json's recipe (numpy and lightgbm alone)."""
    import json

    from finance.risk import RiskScorer

    frame = _card_like(n=300)
    model = RiskScorer().fit(frame.rename({"default": "target"}), config={
        "family": "gbm", "gbm_trials": 1, "cv_repeats": 1, "cv_folds": 3, "sequence_ratios": True})
    model.save(tmp_path / "m")
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    data = {c: frame[c].to_list()[:25] for c in frame.columns if c != "default"}
    scope = {"folder": str(tmp_path / "m"), "data": data}
    exec(card["usage"], scope)
    expected = [r["pd"] for r in RiskScorer.load(tmp_path / "m").predict(frame.drop("default").head(25))]
    assert np.allclose(scope["predictions"], expected, atol=1e-9)
    assert any("_per_" in f["name"] for f in json.loads((tmp_path / "m" / "encoding.json").read_text())["features"])
