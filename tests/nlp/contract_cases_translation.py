"""Contract case for nlp.translation: a tiny Marian (d_model 32, 2 layers) with a BPE vocabulary trained in the test."""

from __future__ import annotations

import polars as pl

from nlp.translation import Translator
from tests.common import ContractCase

PAIRS = [
    ("I like cats.", "Me gustan los gatos."), ("The dog runs.", "El perro corre."), ("Hello world.", "Hola mundo."),
    ("How are you?", "¿Cómo estás?"), ("The cat sleeps.", "El gato duerme."), ("I have a house.", "Tengo una casa."),
    ("We eat bread.", "Comemos pan."), ("She reads a book.", "Ella lee un libro."), ("They play football.", "Juegan al fútbol."),
    ("You are nice.", "Eres amable."), ("He drinks water.", "Él bebe agua."), ("The sun is hot.", "El sol está caliente."),
]
TINY = Translator.Config(d_model=32, layers=2, attention_heads=2, ffn_dim=64, vocab_size=120, max_length=24, num_beams=1,
                         epochs=1, max_steps=1, batch_size=4, patience=None)


def corpus(pairs=PAIRS) -> pl.DataFrame:
    """A parallel table with language columns, as read_data returns."""
    return pl.DataFrame({"source": [s for s, _ in pairs], "target": [t for _, t in pairs],
                         "source_lang": ["en"] * len(pairs), "target_lang": ["es"] * len(pairs)})


def tiny_translator() -> Translator:
    """A from-scratch Marian after one optimizer step (through the real fit path)."""
    return Translator.for_training(device="cpu").fit(corpus(), TINY)


def translation_case(tmp_path) -> ContractCase:
    return ContractCase(
        model=tiny_translator(),
        predict_inputs=["I like cats.", "The sun is hot."],
        fit_data=corpus(),
        fit_config=TINY,
        eval_data=corpus(),
        bad_inputs=["", "   ", None, 3],
        bad_fit_data=[pl.DataFrame({"text": ["a"], "label": [1]}), [], corpus().with_columns(pl.lit("").alias("target"))],
    )


CASES = {"nlp.translation": translation_case}
