"""One seed, one model: a head made new for the user's labels (sentiment) or for span prediction (QA) is drawn from the
config's seed, not from torch's global random state at the time (which the Trainer seeds only later)."""

from __future__ import annotations

import numpy as np
import polars as pl
import torch

from nlp.qa import QAModel
from nlp.sentiment import SentimentModel
from tests.nlp.tiny import SENTENCES, squad_dict, tiny_classifier, tiny_encoder_dir

THREE = pl.DataFrame({"text": SENTENCES[:9] * 2, "label": ["negativo", "neutral", "positivo"] * 6})


def _fit_twice(make, data, config, global_seeds=(1, 2)):
    """Fit two fresh models with one config, torch's global RNG in another state before each; their outputs."""
    outputs = []
    for global_seed in global_seeds:
        model = make()
        torch.manual_seed(global_seed)  # as another process, or other work done before fit, would leave it
        outputs.append(model.fit(data, config))
    return outputs


def test_same_seed_gives_the_same_embedding_sentiment_model_on_new_labels(tmp_path):
    encoder = tiny_encoder_dir(tmp_path / "enc")
    config = SentimentModel.Config(epochs=1, batch_size=4, tune_encoder=False, seed=3, validation_fraction=0.0)
    a, b = _fit_twice(lambda: SentimentModel.from_encoder(encoder, device="cpu"), THREE, config)
    texts = THREE["text"].to_list()
    assert a.labels_ == ["negativo", "neutral", "positivo"]
    np.testing.assert_array_equal(a.probabilities(texts), b.probabilities(texts))


def test_same_seed_gives_the_same_classifier_sentiment_model_on_new_labels():
    def make():
        model, tokenizer = tiny_classifier(initializer_range=0.2)
        return SentimentModel.from_classifier(model, tokenizer, device="cpu")

    config = SentimentModel.Config(epochs=1, batch_size=4, seed=3, validation_fraction=0.0, max_length=16)
    a, b = _fit_twice(make, THREE, config)
    texts = THREE["text"].to_list()
    np.testing.assert_array_equal(a.probabilities(texts), b.probabilities(texts))


def test_the_head_is_drawn_from_the_seed_and_the_callers_random_state_is_kept(tmp_path):
    encoder = tiny_encoder_dir(tmp_path / "enc")
    heads = []
    for seed in (3, 4):
        model = SentimentModel.from_encoder(encoder, device="cpu")
        before = torch.get_rng_state()
        model._set_labels(["negativo", "neutral", "positivo"], seed)
        heads.append(model.head_.weight.detach().clone())
        assert torch.equal(torch.get_rng_state(), before)  # the draw left the caller's random state alone
    assert not torch.equal(*heads)  # another seed, another head


def test_same_seed_gives_the_same_qa_model_from_a_retrieval_model_or_for_training_s_head(tmp_path):
    encoder = tiny_encoder_dir(tmp_path / "enc")
    config = QAModel.Config(epochs=1, max_steps=2, batch_size=2, max_length=64, stride=16, seed=3,
                            validation_fraction=0.0)
    question = {"question": "When was the game played?", "context": SENTENCES[7]}

    def answer_scores(model):
        import torch as t

        with t.no_grad():
            encoded = model.tokenizer_(question["question"], question["context"], return_tensors="pt")
            output = model.model_(**encoded)
        return t.cat([output.start_logits, output.end_logits]).numpy()

    from_retrieval = _fit_twice(lambda: QAModel.from_encoder(encoder, device="cpu"), squad_dict(), config)
    np.testing.assert_array_equal(*map(answer_scores, from_retrieval))

    made = []

    def converted_early():  # for_training's path: the head is made before fit knows the seed
        model = QAModel.from_encoder(encoder, device="cpu")
        made.append(torch.manual_seed(11 + len(made)))
        return model._as_extractive()

    early = _fit_twice(converted_early, squad_dict(), config)
    np.testing.assert_array_equal(*map(answer_scores, early))
    np.testing.assert_array_equal(answer_scores(early[0]), answer_scores(from_retrieval[0]))  # the same start
    assert not early[0].untrained_head_  # a model fit() trained keeps its head when fit again
