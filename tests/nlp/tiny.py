"""Tiny random-init BERT models and an in-process WordPiece tokenizer for the NLP tests (no downloads)."""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "a wonderful and moving film", "great acting and a lovely story", "i loved every minute of it",
    "a dull boring mess", "terrible plot and awful acting", "i hated this waste of time",
    "Paris is the capital of France.", "The Super Bowl was played in 2016 in Santa Clara.",
    "Who won the game?", "Where is Paris?", "When was the game played?", "Tesla was born in 1856 in Smiljan.",
]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_tokenizer(extra: list[str] | None = None):
    """A BERT-style WordPiece tokenizer over a few sentences: their words, letters and ##letters, in sorted order."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    # a vocabulary listed, not trained: tokenizers' WordPieceTrainer breaks ties between merges in hash order, so its
    # vocabulary (and the random embedding row each token gets under a fixed seed) changed from run to run
    normalizer, pre_tokenizer = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = {word for sentence in SENTENCES + (extra or [])
             for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence))}
    letters = {letter for word in words for letter in word}
    vocab = SPECIAL_TOKENS + sorted(words | letters | {"##" + letter for letter in letters})
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, pre_tokenizer
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    tokenizer.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def tiny_config(vocab_size: int, **extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128, **extra)


def tiny_classifier(labels=("negative", "positive"), initializer_range: float = 0.02):
    """A random BERT classifier; at BERT's initializer_range (0.02) its probabilities differ by ~1e-5 between texts,
    a larger one (0.2) makes them differ by ~0.1, for tests that tell two texts apart by their scores."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    config = tiny_config(len(tokenizer), num_labels=len(labels), id2label=dict(enumerate(labels)),
                         label2id={n: i for i, n in enumerate(labels)}, initializer_range=initializer_range)
    return BertForSequenceClassification(config).eval(), tokenizer


def tiny_qa():
    import torch
    from transformers import BertForQuestionAnswering

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    return BertForQuestionAnswering(tiny_config(len(tokenizer))).eval(), tokenizer


def tiny_encoder_dir(path: Path) -> Path:
    """Write a tiny BERT encoder + tokenizer folder (what the embedded models read the MiniLM from)."""
    import torch
    from transformers import BertModel

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    BertModel(tiny_config(len(tokenizer))).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return Path(path)


def squad_dict(version_2: bool = False) -> dict:
    qas = [{"id": "q1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 24}]},
           {"id": "q2", "question": "When was the game played?", "answers": [{"text": "2016", "answer_start": 27}]}]
    context = "Paris is the capital of France."
    context2 = "The Super Bowl was played in 2016 in Santa Clara."
    paragraphs = [{"context": context, "qas": [qas[0]]},
                  {"context": context2, "qas": [{**qas[1], "answers": [{"text": "2016", "answer_start": context2.index("2016")}]}]}]
    if version_2:
        paragraphs[0]["qas"].append({"id": "q3", "question": "Who won the game?", "answers": [], "is_impossible": True})
    return {"version": "v2.0" if version_2 else "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}


def sentiment_frame():
    import polars as pl

    return pl.DataFrame({"text": SENTENCES[:6] * 2, "label": [1, 1, 1, 0, 0, 0] * 2})
