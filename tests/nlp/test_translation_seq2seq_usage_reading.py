"""A Marian / seq2seq card's `usage` snippet read its texts as given, while predict reads them in NFC and without the
invisible format characters that spell nothing (nlp/_invisible.py, everywhere=True): a decomposed accent or a
zero-width space gave the snippet another translation than predict (fixer N2's note on tester B finding 4)."""

from __future__ import annotations

import json
import unicodedata

import pytest

from nlp._invisible import without_invisible
from nlp.translation import Translator, _usage
from tests.nlp.contract_cases_translation import PAIRS, tiny_translator

# English sources of the tiny corpus, decomposed (NFD) or carrying invisible characters inside and beside words
ALTERED = ["He drinks wa\u200bter.", "I like\u200b cats.", "\ufeffHello world.", "The d\u00adog runs.",
           "The cat\u2060 sleeps.", "We eat \u200bbread.", unicodedata.normalize("NFD", "Él bebe agua."),
           unicodedata.normalize("NFD", "You are naïve and nice."), "She re\u200bads a bo\u00adok."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    import torch

    tmp_path = tmp_path_factory.mktemp("marian")
    model = Translator.load(tiny_translator().save(tmp_path / "tiny"), device="cpu")
    torch.manual_seed(0)
    with torch.no_grad():  # weights far from the one-step model's, so that different token ids translate differently
        for name, parameter in model.network_.named_parameters():
            if "embed_positions" not in name:  # sinusoidal, not saved
                parameter.add_(torch.randn_like(parameter) * 0.5)
    return model.save(tmp_path / "varied")


def _snippet(folder, texts: list[str]) -> list[str]:
    usage = json.loads((folder / "card.json").read_text(encoding="utf-8"))["usage"]
    scope = {"folder": str(folder), "texts": list(texts)}
    exec(usage, scope)  # noqa: S102 - our own card's snippet, as a user would paste it
    return [prediction["translation"] for prediction in scope["predictions"]]


def test_the_marian_cards_usage_equals_predict_on_decomposed_and_invisible_character_input(folder):
    model = Translator.load(folder, device="cpu")
    expected = [record["translation"] for record in model.predict(ALTERED)]
    assert expected == [record["translation"] for record in model.predict(
        [unicodedata.normalize("NFC", without_invisible(text, everywhere=True)) for text in ALTERED])]
    # the altered texts do not translate as written (else this test could not fail)
    raw = model._generate(ALTERED, "en", "es", 8)
    assert [translation for translation, _ in raw] != expected
    assert _snippet(folder, ALTERED) == expected
    assert _snippet(folder, [source for source, _ in PAIRS]) == [record["translation"] for record in
                                                                 model.predict([source for source, _ in PAIRS])]


def test_the_snippet_hands_the_network_the_token_ids_predict_hands_it(folder, monkeypatch):
    """The token ids each generate call reads (padding left out), line for line: the snippet's are predict's."""
    model = Translator.load(folder, device="cpu")
    seen: list[list[int]] = []

    def recording(self, input_ids=None, attention_mask=None, **settings):
        seen.extend(row[mask.bool()].tolist() for row, mask in zip(input_ids, attention_mask))
        return input_ids

    monkeypatch.setattr(type(model.network_), "generate", recording)
    model.predict(ALTERED)
    expected, seen[:] = list(seen), []
    model._generate(ALTERED, "en", "es", 8)  # the texts as written, without predict's reading
    as_written, seen[:] = list(seen), []
    assert sum(a != b for a, b in zip(as_written, expected)) >= 6  # most of them are other ids as written
    _snippet(folder, ALTERED)
    assert seen == expected


def test_the_snippets_reading_equals_the_products_on_random_strings():
    import random

    namespace: dict = {}
    usage = _usage("seq2seq")
    exec(usage[:usage.index("texts = [")], namespace)  # noqa: S102 - the snippet's imports and reading helpers only
    pieces = ["a", "Z", "é", "e\u0301", "ไ", "ท", "中", "م", "क", "्", "1", " ", ".", "-", "\u00ad", "\u200b", "\u200c",
              "\u200d", "\u2060", "\ufeff", "\u200e"]
    generator = random.Random(0)
    for _ in range(5000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 8)))
        assert namespace["without_invisible"](text) == without_invisible(text, everywhere=True), ascii(text)
