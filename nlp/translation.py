"""Translation: Apertium rule-based MT as the offline default, any seq2seq model (Marian, NLLB, M2M100, T5,
mBART) by hub id or folder, and small Marian models trained from scratch on a user's parallel corpus."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import card_mismatch, check_model_dir, hash_frame, read_card
from core.config import config_to_dict
from core.device import pick_device, seed_everything
from core.errors import InputError, ModelNotFoundError
from core.evaluate import bars_plot, metric_card, text_generation_metrics
from core.data.text import read_text_inputs, text_input_batches
from core.protocols import Inputs, TaskModel, check_batch_size, iter_batches, with_ids
from core.train import TrainConfig
from core.registry import missing_model_message
from nlp._apertium import (_MARKUP, CLOSERS, LOOSE_SENTENCE, MAX_CHARACTERS, OPENER, OPENING_MARKS, QUOTED_QUESTION,
                            SENTENCE, SPACE_RUN, UPPER, ApertiumEngine, installed_pairs, mode_for, require_apertium)
from nlp._encoder import error_records, errors_in_place, is_blank, refuse_column_flags, text_ids
from nlp._language import looks_like
from nlp._translation_data import (COLUMNS, LANGUAGE_NAMES, _language_in_name, _refuse_compressed,
                                   apertium_install_hint, named_sources, read_parallel, remember_named_sources, to_iso1,
                                   to_iso3)
from nlp import _invisible as invisible
from nlp._invisible import without_invisible
from nlp._translation_text import split_sentences

__all__ = ["Translator", "NamedSentence", "load", "LANGUAGE_NAMES"]

# Measured by bench/nlp_translation.py on the Tatoeba en-es file of the shared data (409 pairs, sacreBLEU defaults).
APERTIUM_QUALITY = {"eng-spa": {"bleu": 27.1, "chrf": 52.2}, "spa-eng": {"bleu": 24.7, "chrf": 50.9}}
UNKNOWN_LANGUAGE = "und"  # ISO 639 "undetermined", for corpora that do not name their languages
_NLLB_SCRIPTS = {"ru": "Cyrl", "mk": "Cyrl", "zh": "Hans", "ja": "Jpan", "ar": "Arab"}
_VALIDATION_SENTENCES = 200  # at most this many held-out sentences are translated to score a fit
_LANGUAGE_SAMPLE = 200  # at most this many source lines of evaluation data are checked against the assumed language
_UNSPACED = {"zh", "ja", "th"}  # targets whose sentences are joined without a space
SCRATCH_MAX_LENGTH = 128  # Config.max_length of a model trained from scratch when none is given
SCRATCH_NUM_BEAMS = 4  # Config.num_beams of a model trained from scratch when none is given


class _classorinstancemethod:
    """A method that receives the class when called on it, the instance when called on one."""

    def __init__(self, function):
        self.function = function

    def __get__(self, instance, owner):
        target = owner if instance is None else instance
        return lambda *args, **kwargs: self.function(target, *args, **kwargs)


TABLE_INPUTS = {".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".pq", ".json", ".xlsx", ".xls", ".ods"}  # predict inputs read as tables


def _too_long(length: int) -> str:
    return (f"has {length:,} characters, over the {MAX_CHARACTERS:,} limit of one text to translate; split it into "
            "sentences or paragraphs, one per line")


def _checked_lines(items: Any, empty: str = "empty line") -> Any:
    """Predict inputs with an error record, in its place, for each text that cannot be translated: one holding only
    whitespace and zero-width characters (as a blank line), or one over `MAX_CHARACTERS` (named by its line or row),
    so one bad line does not stop the file."""
    for index, text in enumerate(items):
        if index in items.errors:
            continue
        if is_blank(text):
            items.errors[index] = empty
        elif len(text) > MAX_CHARACTERS:
            where = " ".join(f"{key} {value}" for key, value in items.ids[index].items())
            items.errors[index] = f"{where} {_too_long(len(text))}"
    return items


def _input_problem(index: int, item: Any) -> str | None:
    """Why input `index` (from 1) of a predict list cannot be translated (not text, empty, too long), or None."""
    if isinstance(item, dict):
        item = item.get("source", item.get("text"))
    if not isinstance(item, str):
        return f"input {index} is {type(item).__name__}, not text; pass sentences as strings"
    if is_blank(item):
        return f"input {index} is empty; give a sentence to translate"
    if len(item.strip()) > MAX_CHARACTERS:
        return f"input {index} {_too_long(len(item.strip()))}"
    return None


class _FrameSentences(Inputs):
    """A table column's sentences (`frame_inputs`): predict leaves out each record's `source`, the cell beside it."""


def _without_source(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k != "source"} for record in records]


class NamedSentence(str):
    """A sentence from a file whose name ends in its language (`corpus.es`, Moses/Europarl style): text to whoever
    shows or translates it as a string, and `source_lang` to `predict`, which translates from that language unless
    told another."""

    def __new__(cls, text: str, source_lang: str | None = None) -> "NamedSentence":
        sentence = super().__new__(cls, text)
        sentence.source_lang = source_lang  # in the instance's __dict__, which pickling (dask workers) keeps
        return sentence


def _apertium_mode(source_lang: str, target_lang: str) -> str:
    """The installed Apertium mode for two languages, or `InputError` saying what to install (`mode_for`)."""
    return mode_for(to_iso3(source_lang), to_iso3(target_lang), apertium_install_hint(source_lang, target_lang))


def _check_apertium_mode(path: Path, card: dict[str, Any]) -> None:
    """An Apertium card's `apertium_mode` against the mode its own pair runs: load picks the mode from
    source_lang/target_lang (`mode_for`: ISO 639-3 codes joined by "-"), never from this field, so an edited one
    would name a program that does not run; refused (`UnsafeArtifactError`). A card without it is not checked."""
    if "apertium_mode" not in card:
        return
    recorded, pair = card["apertium_mode"], (card.get("source_lang"), card.get("target_lang"))
    try:
        codes = [to_iso3(code) if isinstance(code, str) else None for code in pair]
    except InputError:
        codes = [None]
    if None in codes:
        raise card_mismatch(path, f"its source_lang/target_lang {pair[0]!r}/{pair[1]!r} are not language codes")
    runs = "-".join(codes)
    if recorded != runs:
        raise card_mismatch(path, f"its apertium_mode {recorded!r} is not the mode its pair {pair[0]}->{pair[1]} runs "
                            f"({runs!r}); the mode follows from source_lang and target_lang")


def _with_languages(items: Any, source: str | None, target: str | None, path: Path | None = None) -> Any:
    """Inputs as they are, or, with --source/--target, dicts that carry the languages to `predict`, so it translates
    the pair asked for; the ids and error records stay with them. Without --source, a file named `name.<lang>` gives
    its sentences that source language (`NamedSentence`)."""
    from core.protocols import Inputs

    named = _language_in_name(path) if path is not None and source is None else None
    if named is not None:
        items = Inputs([NamedSentence(text, named) for text in items], ids=items.ids, errors=items.errors)
    if source is None and target is None:
        return items
    return Inputs([{"source": text, "source_lang": to_iso1(source), "target_lang": to_iso1(target)} for text in items],
                  ids=items.ids, errors=items.errors)


class Translator(TaskModel):
    """Translate sentences; `load()` gives Apertium (eng->spa by default), `load("org/name")` a seq2seq model.

    >>> Translator.load().predict(["Hello."])  # doctest: +SKIP
    [{'index': 1, 'source': 'Hello.', 'translation': 'Hola.', 'source_lang': 'en', 'target_lang': 'es'}]
    """

    task: ClassVar[str] = "nlp.translation"
    data_flags: ClassVar[tuple[str, ...]] = ("source", "target")  # the languages
    input_flags: ClassVar[tuple[str, ...]] = ("source", "target", "column", "id")
    libraries: ClassVar[tuple[str, ...]] = ("transformers", "tokenizers", "sacrebleu")
    default_batch_size: ClassVar[int] = 16

    @dataclass(frozen=True)
    class Config(TrainConfig):
        """Training of a Marian model (from scratch unless the model is already a seq2seq network)."""

        defaults = {
            "epochs": 30,
            "weight_decay": 0.01,
            "warmup_ratio": 0.1,
            "patience": 5,
        }

        vocab_size: int = 8000  # shared source+target BPE vocabulary trained on the corpus
        d_model: int = 256
        layers: int = 3  # encoder and decoder each
        attention_heads: int = 4
        ffn_dim: int = 1024
        dropout: float = 0.1
        label_smoothing: float = 0.1
        # Tokens per sentence: a training pair's source and target are cut to it, predict reads a line in pieces of at
        # most this many and generates at most this many new tokens per piece (the cap its warning names). None: 128
        # (SCRATCH_MAX_LENGTH) from scratch; when fine-tuning, the loaded model's own cap (its card's; 256 for a hub
        # model), pairs cut where predict cuts its input. Given when fine-tuning, it replaces the loaded cap, up to
        # the model's position table; the card records the value used.
        max_length: int | None = None
        # beams of the beam search predict runs. None: 4 (SCRATCH_NUM_BEAMS) from scratch; when fine-tuning, the
        # loaded model's own (its card's; 4 for a hub model). Given when fine-tuning, it replaces it; the card records it
        num_beams: int | None = None
        source_lang: str | None = None  # pick a pair when the data holds several
        target_lang: str | None = None
        from_scratch: bool = False  # retrain a seq2seq model from scratch instead of fine-tuning it

    def __init__(self, source_lang: str = "en", target_lang: str = "es", device: str = "auto"):
        self.source_lang = source_lang
        self.target_lang = target_lang
        self.device = device
        self._lock = threading.RLock()  # tokenizer settings and language codes are per-call state

    # -- construction -----------------------------------------------------------------------------
    # load() is core.TaskModel's: Apertium (the default; en->es unless told), a folder, or a seq2seq hub id.
    # `source_lang` / `target_lang` reach the hooks as load() options.
    @classmethod
    def load_default(cls, device: str = "auto", source_lang: str | None = None, target_lang: str | None = None,
                     **options: Any) -> "Translator":
        """Apertium rule-based MT through the Debian packages (no weights): en->es unless told."""
        model = cls._from_apertium(source_lang or "en", target_lang or "es", device)
        model.assumed_source_ = source_lang is None  # predict checks that unstated input looks like it
        return model

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", source_lang: str | None = None,
                    target_lang: str | None = None, **options: Any) -> "Translator":
        """A folder written by save() (Apertium settings or a seq2seq model), or a plain transformers folder."""
        if (path / "card.json").is_file():
            card = read_card(path, task=cls.task)
            if card.get("backend") == "apertium":
                _check_apertium_mode(path, card)
                return cls._from_apertium(source_lang or card["source_lang"], target_lang or card["target_lang"], device)
            return cls._from_seq2seq(path, device, source_lang, target_lang, card=card)
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(missing_model_message(cls.task, str(path)))
        check_model_dir(path, verify_hashes=False)  # a plain transformers folder: still no pickle
        return cls._from_seq2seq(path, device, source_lang, target_lang, card=None)

    @classmethod
    def load_hub(cls, repo_id: str, device: str = "auto", source_lang: str | None = None,
                 target_lang: str | None = None, **options: Any) -> "Translator":
        """A transformers seq2seq model (e.g. Helsinki-NLP/opus-mt-en-es), when cached or online."""
        return cls._from_seq2seq(repo_id, device, source_lang, target_lang, card=None)

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "Translator":
        """The model `verticals train` starts from: a fresh Marian (from scratch) unless `base` names a seq2seq model."""
        if base is None:
            return cls(device=device)
        return cls.load(base, device=device)

    @classmethod
    def _from_apertium(cls, source_lang: str, target_lang: str, device: str) -> "Translator":
        require_apertium()
        source_lang, target_lang = to_iso1(source_lang), to_iso1(target_lang)
        model = cls(source_lang, target_lang, device)
        model.engine_ = ApertiumEngine(_apertium_mode(source_lang, target_lang))
        model.name_ = f"apertium:{model.engine_.mode}"
        return model

    @classmethod
    def _from_seq2seq(cls, reference: str | Path, device: str, source_lang: str | None, target_lang: str | None,
                      card: dict[str, Any] | None) -> "Translator":
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(reference))
            network = AutoModelForSeq2SeqLM.from_pretrained(str(reference))
        except Exception as error:  # hub/network/format errors all mean: this model cannot be had here
            raise ModelNotFoundError(f"{missing_model_message(cls.task, reference)} ({type(error).__name__}: "
                                     f"{str(error).splitlines()[0][:300] if str(error) else ''})") from error
        card = card or {}
        fixed = card.get("source_lang"), card.get("target_lang")
        if fixed == (None, None):
            match = re.search(r"opus-mt-(?:tc-big-)?([a-z]{2,3})-([a-z]{2,3})$", str(reference))
            fixed = (to_iso1(match.group(1)), to_iso1(match.group(2))) if match else (None, None)
        model = cls(source_lang or fixed[0] or "en", target_lang or fixed[1] or "es", device)
        model._set_network(network, tokenizer)
        model.fixed_pair_ = fixed if None not in fixed else None
        if model.fixed_pair_ is not None and source_lang and target_lang and not model._is_multilingual():
            model._check_pair(to_iso1(source_lang), to_iso1(target_lang))
        model.assumed_source_ = source_lang is None and fixed[0] is None
        model.name_ = card.get("name") or str(reference)
        model.generation_ = {"num_beams": 4, "max_length": 256, **card.get("preprocessing", {}).get("generation", {})}
        model.metrics_ = card.get("metrics", {})
        model.data_hash_ = (card.get("training") or {}).get("data_hash")
        model.trained_config_ = card.get("config")
        return model

    def _set_network(self, network, tokenizer) -> None:
        self.device_ = pick_device(self.device)
        self.network_ = network.to(self.device_).eval()
        self.tokenizer_ = tokenizer
        self.vocabulary_ = set(tokenizer.get_vocab())
        self.multilingual_ = network.config.model_type in {"t5", "mt5", "m2m_100", "nllb_moe", "mbart"} or any(
            token.startswith(">>") and token.endswith("<<") for token in self.vocabulary_)
        self.engine_ = None

    # -- languages ----------------------------------------------------------------------------------
    @_classorinstancemethod
    def language_pairs(self_or_cls) -> list[tuple[str, str]]:
        """Pairs this model translates (on the class: the installed Apertium pairs), as ISO 639-1 codes.

        >>> isinstance(Translator.language_pairs(), list)
        True
        """
        if isinstance(self_or_cls, type) or getattr(self_or_cls, "engine_", None) is not None:
            return [(to_iso1(s), to_iso1(t)) for s, t in installed_pairs()]
        return [(self_or_cls.source_lang, self_or_cls.target_lang)]

    def _is_multilingual(self) -> bool:
        return self.multilingual_

    def _check_pair(self, source_lang: str, target_lang: str) -> None:
        fixed = getattr(self, "fixed_pair_", None)
        if fixed is not None and (source_lang, target_lang) != tuple(fixed) and not self._is_multilingual():
            raise InputError(f"this model translates {fixed[0]}->{fixed[1]} only, not {source_lang}->{target_lang}; "
                             "load a model for that pair (or the Apertium default where the pair is installed)")

    def _language_setup(self, source_lang: str, target_lang: str) -> tuple[str, dict[str, Any]]:
        """(text prefix, generate kwargs) that tell a multilingual model which pair to translate."""
        tokenizer, vocabulary = self.tokenizer_, self.vocabulary_
        if self.network_.config.model_type in {"t5", "mt5"}:
            names = [LANGUAGE_NAMES.get(code, code) for code in (source_lang, target_lang)]
            return f"translate {names[0]} to {names[1]}: ", {}
        for marker in (f">>{to_iso3(target_lang)}<<", f">>{target_lang}<<"):
            if marker in vocabulary:  # multi-target Marian
                return marker + " ", {}

        def codes(language: str) -> list[str]:
            mbart = sorted(t for t in vocabulary if re.fullmatch(rf"{language}_[A-Z]{{2}}", t))
            nllb = f"{'arb' if language == 'ar' else to_iso3(language)}_{_NLLB_SCRIPTS.get(language, 'Latn')}"
            return [nllb, f"__{language}__", *mbart]

        target_code = next((c for c in codes(target_lang) if c in vocabulary), None)
        if target_code is None:
            return "", {}
        source_code = next((c for c in codes(source_lang) if c in vocabulary), None)
        if source_code is not None and hasattr(tokenizer, "src_lang"):
            tokenizer.src_lang = source_code.strip("_") if source_code.startswith("__") else source_code
        return "", {"forced_bos_token_id": tokenizer.convert_tokens_to_ids(target_code)}

    # -- inference ------------------------------------------------------------------------------------
    @staticmethod
    def _items(inputs: Any) -> list[tuple[str, str | None, str | None, str | None]]:
        """(text, source_lang, target_lang, language of its file's name) per input; the languages are None unless the
        input names them (a dict's source_lang/target_lang, a `NamedSentence`'s source_lang)."""
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise InputError(f"predict() takes a list of sentences, got {type(inputs).__name__}")
        items = []
        for index, item in enumerate(inputs, 1):  # numbered from 1, as sentiment and QA number theirs
            languages = (None, None)
            if isinstance(item, dict):
                languages = (to_iso1(item.get("source_lang")), to_iso1(item.get("target_lang")))
            if (problem := _input_problem(index, item)) is not None:
                raise InputError(problem)
            item = item.get("source", item.get("text")) if isinstance(item, dict) else item
            items.append((str(item.strip()), *languages, getattr(item, "source_lang", None)))
        return items

    @staticmethod
    def _texts(inputs: Any) -> list[str]:
        return [text for text, *_ in Translator._items(inputs)]

    def resolve_pair(self, source_lang: str | None = None, target_lang: str | None = None) -> tuple[str, str]:
        """The (source, target) pair to translate, as ISO 639-1 codes: the model's own unless told; one side given
        picks the other from the pairs this model has, or `InputError` listing them.

        >>> Translator("en", "es").resolve_pair()
        ('en', 'es')
        """
        own = (to_iso1(self.source_lang), to_iso1(self.target_lang))
        wanted = (to_iso1(source_lang) if source_lang else None, to_iso1(target_lang) if target_lang else None)
        if wanted == (None, None):
            return own
        choice = (wanted[0] or own[0], wanted[1] or own[1])
        pairs = self.language_pairs()
        if None in wanted and (choice not in pairs or choice[0] == choice[1]):
            # One side given: the only pair this model has with that side (`--source es` -> es->en).
            options = [p for p in pairs if wanted[0] in (None, p[0]) and wanted[1] in (None, p[1])]
            choice = options[0] if len(options) == 1 else choice
        if choice[0] == choice[1]:
            raise InputError(f"source and target are both {choice[0]}; pass two languages (pairs: "
                             f"{', '.join(f'{s}->{t}' for s, t in pairs) or 'none'})")
        if getattr(self, "engine_", None) is not None and choice not in pairs:
            installed = ", ".join(f"{s}->{t}" for s, t in pairs) or "none"
            raise InputError(f"Apertium has no {choice[0]}->{choice[1]} pair installed (installed pairs: {installed}); "
                             f"pass --source/--target from those, {apertium_install_hint(*choice)}, or use a model "
                             "trained for that pair (--model)")
        return choice

    def translate(self, texts: list[str], source_lang: str | None = None, target_lang: str | None = None,
                  batch_size: int | None = None) -> list[str]:
        """Translations of `texts` (plain strings) for a pair, by default the model's own."""
        return [translation for translation, _ in self._translations(texts, source_lang, target_lang, batch_size)]

    def _translations(self, texts: list[str], source_lang: str | None = None, target_lang: str | None = None,
                      batch_size: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(translation, what predict's record says of it: a `note`, `warnings`) per text (`_generate`)."""
        self._require_fitted("name_")
        source_lang, target_lang = to_iso1(source_lang or self.source_lang), to_iso1(target_lang or self.target_lang)
        if getattr(self, "engine_", None) is not None:
            engine = self.engine_
            if (source_lang, target_lang) != (to_iso1(self.source_lang), to_iso1(self.target_lang)):
                engine = ApertiumEngine(_apertium_mode(source_lang, target_lang))
            return [(translation, {}) for translation in engine.translate(list(texts))]
        self._check_pair(source_lang, target_lang)
        # canonically equivalent text, and text with zero-width spaces or soft hyphens (in a word, between sentences):
        # one translation
        texts = [unicodedata.normalize("NFC", without_invisible(text, everywhere=True)) for text in texts]
        return self._generate(texts, source_lang, target_lang, batch_size or self.default_batch_size)

    def _input_limit(self) -> int:
        """Tokens of one input the network reads: the generation `max_length`, capped by the tokenizer's and the
        position table's own limits."""
        limits = [self.generation_["max_length"], getattr(self.tokenizer_, "model_max_length", None),
                  getattr(self.network_.config, "max_position_embeddings", None)]
        return min(limit for limit in limits if isinstance(limit, int) and 0 < limit < 1_000_000)

    def _pieces(self, text: str, prefix: str, limit: int) -> list[tuple[str, bool]]:
        """(piece, whether it is still over `limit` tokens) for the parts of `text` the network reads one at a time:
        the text whole when it fits; else its sentences, and a sentence still too long in windows of words, each
        ending after the window's last comma/semicolon/colon where one falls in its second half. Only a single word
        over the limit stays over it (and is cut)."""
        def length(part: str) -> int:
            return len(self.tokenizer_(prefix + part, truncation=False, verbose=False)["input_ids"])

        if length(text) <= limit:
            return [(text, False)]
        pieces = []
        for sentence in split_sentences(text):
            if length(sentence) <= limit:
                pieces.append((sentence, False))
                continue
            window: list[str] = []
            for word in sentence.split():  # the window fits the limit, unless it is one word that does not
                while window and length(" ".join(window + [word])) > limit:
                    cut = next((i + 1 for i in range(len(window) - 1, len(window) // 2 - 1, -1)
                                if window[i][-1] in ",;:"), len(window))
                    pieces.append((" ".join(window[:cut]), length(" ".join(window[:cut])) > limit))
                    window = window[cut:]
                window.append(word)
            if window:
                pieces.append((" ".join(window), length(" ".join(window)) > limit))
        return pieces

    def _generate(self, texts: list[str], source_lang: str, target_lang: str,
                  batch_size: int) -> list[tuple[str, dict[str, Any]]]:
        """(translation, note/warnings) per text. A text longer than the network reads at once (`_input_limit`) is
        translated in pieces (`_pieces`) joined in order, so none of it is dropped; the note says so, and a warning
        names any piece that still had to be cut, or whose translation ran to the generation cap (`_capped`)."""
        import torch

        generation = self.generation_
        cap = generation["max_length"]  # new tokens per piece's translation
        outputs, capped = [], []
        with self._lock:
            prefix, extra = self._language_setup(source_lang, target_lang)
            limit = self._input_limit()
            split = [self._pieces(text, prefix, limit) for text in texts]
            for batch in iter_batches([piece for pieces in split for piece, _ in pieces], batch_size):
                encoded = self.tokenizer_([prefix + text for text in batch], padding=True, truncation=True,
                                          max_length=limit, return_tensors="pt")
                encoded = {k: v.to(self.device_) for k, v in encoded.items() if k in ("input_ids", "attention_mask")}
                with torch.inference_mode():
                    generated = self.network_.generate(**encoded, num_beams=generation["num_beams"],
                                                       max_new_tokens=cap, **extra)
                outputs += [" ".join(t.split()) for t in self.tokenizer_.batch_decode(generated, skip_special_tokens=True)]
                capped += self._capped(generated, cap)
        joiner = "" if target_lang in _UNSPACED else " "
        results, start = [], 0
        for pieces in split:
            translated, stopped = outputs[start:start + len(pieces)], sum(capped[start:start + len(pieces)])
            start += len(pieces)
            said: dict[str, Any] = {}
            if len(pieces) > 1:
                said["note"] = (f"the line is longer than the {limit} tokens the model reads at once: it was translated "
                                f"in {len(pieces)} pieces (its sentences, a long sentence in parts), joined in order")
            if cut := sum(over for _, over in pieces):
                which = "the line" if len(pieces) == 1 else f"{cut} of its {len(pieces)} pieces"
                said["warnings"] = [f"{which} had a single word over the {limit} tokens the model reads at once: "
                                    f"cut to {limit} tokens, the rest of it was not translated"]
            if stopped:
                which = f"the translation of {stopped} of its {len(pieces)} pieces" if len(pieces) > 1 else "the translation"
                said["warnings"] = [*said.get("warnings", []), (
                    f"{which} stopped at the max_length cap of {cap} tokens and may be incomplete; split the line into "
                    "shorter sentences, or retrain the model with --set max_length=N for a larger cap "
                    "(Translator.Config(max_length=N) in Python)")]
            results.append((joiner.join(t for t in translated if t), said))
        return results

    def _set_max_length(self, max_length: int) -> None:
        """A fine-tuning run's `Config.max_length` as this seq2seq model's generation cap and, where its tokenizer reads
        fewer tokens (a from-scratch model's own, saved at its max_length), as the input limit too; over the network's
        position table (`max_position_embeddings`) it could not be generated, so it is refused."""
        positions = getattr(self.network_.config, "max_position_embeddings", None)
        if isinstance(positions, int) and max_length > positions:
            raise InputError(f"config field 'max_length' must be <= {positions} for {self.name_} (the positions its "
                             f"network has), got {max_length}")
        self.generation_ = {**self.generation_, "max_length": max_length}
        reads = getattr(self.tokenizer_, "model_max_length", None)
        if isinstance(reads, int) and reads < max_length:
            self.tokenizer_.model_max_length = max_length

    def _capped(self, generated: Any, cap: int) -> list[bool]:
        """Per row of `generate`'s output (decoder start token first): whether its translation ran to `cap` new tokens
        without ending, so it was probably cut short. A row that ended has an end-of-sequence token before its last
        position (padding follows it); one at the last position ends it unless the model forces one there at the cap
        (`forced_eos_token_id`, as Marian models do), where a translation that ended and one cut look the same."""
        if generated.shape[1] - 1 < cap:  # no row reached the cap
            return [False] * generated.shape[0]
        config = self.network_.generation_config
        eos = config.eos_token_id
        ends = set(eos if isinstance(eos, (list, tuple)) else [] if eos is None else [eos])
        forced = getattr(config, "forced_eos_token_id", None) is not None
        return [not ends & set(row[:-1]) and (row[-1] not in ends or forced)
                for row in generated[:, -cap:].tolist()]

    def predict(self, inputs: Any, batch_size: int | None = None, *, source_lang: str | None = None,
                target_lang: str | None = None, **options: Any) -> list[dict[str, Any]]:
        """One record per sentence, its id first (`index` from 1, a dict's "id", or the line / row its `Inputs` gives):
        source, translation, source_lang, target_lang; a `note` when a line too long for a seq2seq model to read at
        once was translated in pieces, and `warnings` when part of it was still cut, when its translation stopped at the
        generation cap (max_length new tokens), or when the text does not look like the source language assumed (none
        was given, `looks_like`), or like the one given when most of the sentences given it look like another. The pair is the model's own unless `source_lang`/`target_lang` (or the CLI's
        `source`/`target` options, or per-input dicts) say otherwise; a sentence read from a file `name.<lang>`
        (`NamedSentence`) is in that language unless they name another. In a list of several, an empty sentence (or
        one too long, or no text) is an `error` record in its place, as the CLI gives a blank line; only a list where
        every sentence is refused raises `InputError`.

        >>> Translator.load().predict(["Hello."], target_lang="es")[0]["target_lang"]  # doctest: +SKIP
        'es'
        """
        unknown = set(options) - {"source", "target"}
        if unknown:
            raise InputError(f"unknown option(s) for translation: {', '.join(sorted(unknown))}; use source, target")
        batch_size = check_batch_size(batch_size, self.default_batch_size)
        if (records := error_records(self, inputs, batch_size, source_lang=source_lang, target_lang=target_lang,
                                     **options)) is not None:  # blank lines, empty cells: error records in their places
            return _without_source(records) if isinstance(inputs, _FrameSentences) else records
        if (records := errors_in_place(self, inputs, batch_size, _input_problem, source_lang=source_lang,
                                       target_lang=target_lang, **options)) is not None:
            return records  # a list's empty sentences: error records in their places, as the CLI gives a blank line
        default = (source_lang or options.get("source"), target_lang or options.get("target"))
        items = self._items(inputs)
        groups: dict[tuple[str, str], list[int]] = {}
        # inputs whose source language nobody gave (False) or only their file's name did (True): the language they
        # are translated from is checked against them
        unstated: dict[int, bool] = {}
        stated: set[int] = set()  # inputs whose source language the user gave: checked too, but warned only en masse
        for index, (_, source, target, named) in enumerate(items):
            if not (source or default[0] or named) and getattr(self, "assumed_source_", False):
                unstated[index] = False
            elif named and not (source or default[0]):  # a suffix is a guess: swapped corp.en/corp.es files
                unstated[index] = True
            elif source or default[0]:
                stated.add(index)
            try:
                pair = self.resolve_pair(source or default[0] or named, target or default[1])
                if getattr(self, "engine_", None) is None:
                    self._check_pair(*pair)  # a one-pair network refuses others here, where the note below applies
            except InputError as error:
                if source or default[0] or not named:
                    raise
                raise InputError(f"{error}. The source language {named} is the one its file's name gives (name.<language>); "
                                 "pass --source to say otherwise") from error
            groups.setdefault(pair, []).append(index)
        records: list[dict[str, Any]] = [{} for _ in items]
        for (source, target), indices in groups.items():
            texts = [items[i][0] for i in indices]
            translations = self._translations(texts, source, target, batch_size=batch_size)
            checked = [i for i in indices if i in unstated]
            others = dict(zip(checked, looks_like([items[i][0] for i in checked], source, prefer=target)))
            given = [i for i in indices if i in stated]
            unlike = {i: other for i, other in zip(given, looks_like([items[i][0] for i in given], source, prefer=target))
                      if other}
            if len(unlike) * 2 <= len(given):  # the user's word holds unless most of the lines clearly say otherwise
                unlike = {}
            for index, text, (translation, said) in zip(indices, texts, translations):
                records[index] = {"source": text, "translation": translation, "source_lang": source, "target_lang": target,
                                  **said}
                if others.get(index):
                    records[index]["warnings"] = [*said.get("warnings", []), _assumed_source_warning(
                        others[index], source, target, named="its file's name" if unstated[index] else None)]
                elif unlike.get(index):
                    records[index]["warnings"] = [*said.get("warnings", []),
                                                  _given_source_warning(unlike[index], source, target)]
        if isinstance(inputs, _FrameSentences):  # predict_frame: the text column is already there
            records = _without_source(records)
        return with_ids(text_ids(inputs), records)

    # predict_frame is core.TaskModel's: translation, source_lang and target_lang beside each row (not `source`, a copy
    # of its cell), or an error beside an empty cell

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[str]:
        """The sentences of a polars batch: `columns` (a name) or the first of source/text/sentence; an empty cell, or
        one over `MAX_CHARACTERS`, gives its row an error and the other rows are translated."""
        names = list(batch.columns)
        column = columns if isinstance(columns, str) else next(
            (c for c in ("source", "text", "sentence") if c in names), None)
        if column is None or column not in names:
            raise InputError(f"no text column to translate; pass columns='name' (the table has: {', '.join(names)})")
        values = ["" if value is None else value for value in batch[column].to_list()]
        errors = {}
        for index, value in enumerate(values):
            if isinstance(value, str) and is_blank(value):
                errors[index] = f"the {column!r} cell is empty"
            elif isinstance(value, str) and len(value.strip()) > MAX_CHARACTERS:
                errors[index] = f"the {column!r} cell {_too_long(len(value.strip()))}"
        return _FrameSentences(values, errors=errors)

    # -- data -----------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, **options: Any):
        """Parallel data: TSV/CSV/JSONL/Parquet with source,target, or line-aligned files name.<src> + name.<tgt>."""
        return read_parallel(path, **options)

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[str] | list[dict[str, Any]]:
        """Sentences to translate: a text file (one per line) or a table's source/text column (`--column`), each with
        its id (line, row or `--id` column); a blank line or cell stays as an error record, never dropped. With
        `source`/`target` languages (the CLI's --source/--target), dicts that carry them to `predict`; without
        `source`, a text file's name may give its language (`_language_in_name`: `corp.es`, `notes.es.txt`)."""
        from core.data import read_table
        from core.data.paths import require_path
        from core.protocols import Inputs, identify_inputs

        path = require_path(path, "text file")
        _refuse_compressed(path)
        if path.suffix.lower() in TABLE_INPUTS:
            frame = read_table(path)
            column = options.get("column") or next((c for c in ("source", "text", "sentence") if c in frame.columns), None)
            if options.get("column") and column not in frame.columns:
                raise InputError(f"{path.name} has no column {column!r}; it has: {', '.join(frame.columns)}")
            if column is None:
                raise InputError(f"{path.name} has no source/text column; pass --column NAME (it has: {', '.join(frame.columns)})")
            texts = ["" if value is None else str(value).strip() for value in frame[column].to_list()]
            items = _checked_lines(Inputs(texts, ids=identify_inputs(frame, options.get("id")).ids,
                                          errors={i: f"empty {column}" for i, text in enumerate(texts) if not text}),
                                   f"empty {column}")
        else:
            refuse_column_flags(path, options)
            items = _checked_lines(read_text_inputs(path))  # one input per line; blank lines become error records
        if not any(items):
            raise InputError(f"{path.name} holds no sentences")
        return _with_languages(items, options.get("source"), options.get("target"), path)

    @classmethod
    def read_input_batches(cls, path: str | Path, rows: int = 131_072, **options: Any):
        """`read_inputs` for streaming `predict`: a text file in batches of `rows` lines (a large one line by line)."""
        from core.data.paths import require_path

        path = require_path(path, "text file")
        _refuse_compressed(path)
        if path.suffix.lower() in TABLE_INPUTS or not path.is_file():
            yield from super().read_input_batches(path, rows, **options)
            return
        refuse_column_flags(path, options)
        source, target = options.get("source"), options.get("target")
        for items in text_input_batches(path, rows):
            yield _with_languages(_checked_lines(items), source, target, path)

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validation report of a parallel corpus (pairs, sizes, lengths) without training."""
        frame = read_parallel(path, **options)
        pairs = frame.group_by("source_lang", "target_lang", maintain_order=True).len().rows()
        words = [len(s.split()) for s in frame["source"].to_list()]
        return {"task": cls.task, "path": str(path), "ok": True, "n": frame.height,
                "pairs": [{"source_lang": s, "target_lang": t, "n": n} for s, t, n in pairs],
                "mean_source_words": round(sum(words) / len(words), 2), "max_source_words": max(words),
                "duplicates": frame.height - frame.unique(subset=["source", "target"]).height}

    @staticmethod
    def _frame(data: Any):
        import polars as pl

        if isinstance(data, (str, Path)):
            data = read_parallel(data)
        named = named_sources(data)  # kept through the select below (`remember_named_sources`)
        if isinstance(data, (list, tuple)):
            if not data:
                raise InputError("no sentence pairs given")
            rows = []
            for item in data:
                if isinstance(item, dict) and {"source", "target"} <= set(item):
                    rows.append({name: item.get(name) for name in COLUMNS})
                elif isinstance(item, (list, tuple)) and len(item) == 2:
                    rows.append({"source": item[0], "target": item[1], "source_lang": None, "target_lang": None})
                else:
                    raise InputError("each pair must be {'source': ..., 'target': ...} or a (source, target) tuple")
            data = pl.DataFrame(rows, schema={name: pl.String for name in COLUMNS})
        if not isinstance(data, pl.DataFrame):
            try:
                data = pl.from_pandas(data)
            except (TypeError, ValueError, ImportError) as error:
                raise InputError(f"expected a table with source,target columns, got {type(data).__name__}") from error
        missing = [c for c in ("source", "target") if c not in data.columns]
        if missing:
            raise InputError(f"translation data needs columns source and target; missing {', '.join(missing)} "
                             f"(it has: {', '.join(data.columns)})")
        for name in ("source_lang", "target_lang"):
            if name not in data.columns:
                data = data.with_columns(pl.lit(None, dtype=pl.String).alias(name))
        data = data.select(COLUMNS)
        bad = data.filter(pl.col("source").is_null() | pl.col("target").is_null()
                          | (pl.col("source").cast(pl.String).str.strip_chars() == "")
                          | (pl.col("target").cast(pl.String).str.strip_chars() == ""))
        if data.height == 0:
            raise InputError("no sentence pairs given")
        if bad.height:
            raise InputError(f"{bad.height} pair(s) have an empty source or target; remove them")
        return remember_named_sources(data, named) if named else data

    def _select_pair(self, frame, wanted: tuple[str | None, str | None] = (None, None)):
        """(source_lang, target_lang, rows) of the data this model should translate."""
        import polars as pl

        own = (to_iso1(self.source_lang), to_iso1(self.target_lang))
        pairs = [(s, t) for s, t in frame.select("source_lang", "target_lang").unique(maintain_order=True).rows()]
        known = [p for p in pairs if None not in p]
        if wanted != (None, None):
            choice = (to_iso1(wanted[0]) if wanted[0] else own[0], to_iso1(wanted[1]) if wanted[1] else own[1])
        elif not known or own in known:
            choice = own
        elif getattr(self, "engine_", None) is not None:
            installed = set(self.language_pairs())
            usable = [p for p in known if p in installed]
            if not usable:
                raise InputError(f"the data holds {', '.join(f'{s}->{t}' for s, t in known)}; Apertium has "
                                 f"{', '.join(f'{s}->{t}' for s, t in sorted(installed)) or 'no pair'} installed. Evaluate "
                                 "a model trained for that pair (--model DIR or a hub id), or install the Apertium pair")
            choice = usable[0]
        elif len(known) == 1 and (getattr(self, "network_", None) is None or self._is_multilingual()
                                  or getattr(self, "fixed_pair_", None) is None):
            choice = known[0]
        else:
            raise InputError(f"the data holds {', '.join(f'{s}->{t}' for s, t in known)} but this model translates "
                             f"{own[0]}->{own[1]}; pass --source/--target to pick a pair, or use a model for it")
        rows = frame.filter((pl.col("source_lang").is_null() | (pl.col("source_lang") == choice[0]))
                            & (pl.col("target_lang").is_null() | (pl.col("target_lang") == choice[1])))
        if rows.height == 0:
            raise InputError(f"the data holds no {choice[0]}->{choice[1]} pairs")
        return choice[0], choice[1], rows

    # -- evaluation -------------------------------------------------------------------------------------
    def evaluate(self, data: Any) -> dict[str, Any]:
        """Corpus sacreBLEU and chrF with bootstrap 95% CIs on a parallel corpus."""
        self._require_fitted("name_")
        frame = self._frame(data)
        source_lang, target_lang, rows = self._select_pair(frame)
        hypotheses = self.translate(rows["source"].to_list(), source_lang, target_lang)
        references = rows["target"].to_list()
        metrics = text_generation_metrics(hypotheses, references)
        import sacrebleu

        chrf = np.array([sacrebleu.sentence_chrf(h, [r]).score for h, r in zip(hypotheses, references)])
        plots = {"chrF per sentence": bars_plot([f"{i}: {s[:40]}" for i, s in enumerate(rows["source"].to_list())], chrf,
                                                "sentence chrF", worst_first=False, note="lowest first")}
        worst = [{"source": rows["source"][int(i)], "reference": references[int(i)], "hypothesis": hypotheses[int(i)],
                  "chrf": round(float(chrf[i]), 1)} for i in np.argsort(chrf, kind="stable")[:10]]
        name = self.name_
        if getattr(self, "engine_", None) is not None:  # Apertium switches mode per pair: name the one that translated
            name = f"apertium:{_apertium_mode(source_lang, target_lang)}"
        warning = self._unlike_assumed_source(rows, source_lang, target_lang, named_sources(frame).get(source_lang))
        return metric_card(self.task, name, rows.height, metrics, source_lang=source_lang, target_lang=target_lang,
                           plots=plots, worst_sentences=worst, **({"warning": warning} if warning else {}))

    def _unlike_assumed_source(self, rows, source_lang: str, target_lang: str, named: str | None = None) -> str | None:
        """evaluate's form of predict's warning: source lines that nobody gave a language for, or whose language only
        their file's name gave (`named`, that file's name: a suffix is a guess), look like another one than the one
        they are translated from (more than a tenth of an evenly spaced sample of `_LANGUAGE_SAMPLE`); None otherwise."""
        import polars as pl
        from collections import Counter

        def unlike(lines: list[str], share: float) -> tuple[str, int, int] | None:
            """(the other language, how many lines look like it, lines checked) when more than `share` of a sample do."""
            sample = lines[::max(1, len(lines) // _LANGUAGE_SAMPLE)][:_LANGUAGE_SAMPLE]
            others = Counter(other for other in looks_like(sample, source_lang, prefer=target_lang) if other)
            if not others or sum(others.values()) <= share * len(sample):  # a stray line or two: not the data's language
                return None
            return (*others.most_common(1)[0], len(sample))

        if named is not None:  # every line of a line-aligned corpus has its file's language
            unstated = rows["source"].to_list()
        elif getattr(self, "assumed_source_", False):
            unstated = rows.filter(pl.col("source_lang").is_null())["source"].to_list()
        else:
            unstated = []
        if unstated and (found := unlike(unstated, 0.1)) is not None:
            other, count, checked = found
            return (f"{count} of the {checked} source lines checked: "
                    f"{_assumed_source_warning(other, source_lang, target_lang, named=named and f'the name of {named}')}")
        # lines whose language the user gave (--source, a source_lang column): their word holds unless most say otherwise
        given = [] if named is not None else rows.filter(pl.col("source_lang").is_not_null())["source"].to_list()
        if given and (found := unlike(given, 0.5)) is not None:
            other, count, checked = found
            return (f"{count} of the {checked} source lines checked: "
                    f"{_given_source_warning(other, source_lang, target_lang, data=True)}")
        return None

    # -- training ---------------------------------------------------------------------------------------
    def fit(self, data: Any, config: "Translator.Config | None" = None, *, run_dir: str | Path | None = None,
            resume: bool = False, callbacks=()) -> "Translator":
        """Train on a parallel corpus: a Marian model from scratch (own BPE vocabulary), or fine-tune a seq2seq model."""
        from core.train import Trainer

        config = config or self.Config()
        frame = self._frame(data)
        wanted = (config.source_lang, config.target_lang)
        if getattr(self, "network_", None) is None and wanted == (None, None):
            known = [p for p in frame.select("source_lang", "target_lang").unique(maintain_order=True).rows() if None not in p]
            if len(known) > 1:
                raise InputError(f"the data holds several pairs ({', '.join(f'{s}->{t}' for s, t in known)}); "
                                 "choose one with --set source_lang=xx --set target_lang=yy")
            # data that names no language is in the loaded model's pair (Apertium's en->es default): kept, not "und"
            own = (self.source_lang, self.target_lang)
            wanted = known[0] if known else own if None not in own else (UNKNOWN_LANGUAGE, UNKNOWN_LANGUAGE)
        source_lang, target_lang, rows = self._select_pair(frame, wanted)
        rows = rows.sample(fraction=1.0, shuffle=True, seed=config.seed)
        validation_size = int(round(rows.height * config.validation_fraction)) if rows.height >= 10 else 0
        validation, train = rows.head(validation_size), rows.slice(validation_size)

        from_scratch = getattr(self, "network_", None) is None or config.from_scratch
        seed_everything(config.seed)
        if from_scratch:
            config = replace(config, max_length=config.max_length or SCRATCH_MAX_LENGTH,
                             num_beams=config.num_beams or SCRATCH_NUM_BEAMS)
            tokenizer = _train_tokenizer(train["source"].to_list() + train["target"].to_list(), config, run_dir, resume)
            network = _marian(tokenizer, config)
            self._set_network(network, tokenizer)
            self.generation_ = {"num_beams": config.num_beams, "max_length": config.max_length}
        else:
            self._check_pair(source_lang, target_lang)
            if config.max_length is not None:  # given: it replaces the loaded model's cap; unset: that cap stays
                self._set_max_length(config.max_length)
            if config.num_beams is not None:  # given: it replaces the loaded model's beams; unset: they stay
                self.generation_ = {**self.generation_, "num_beams": config.num_beams}
            # the card records the cap and beams used
            config = replace(config, max_length=self.generation_["max_length"], num_beams=self.generation_["num_beams"])
        pair_length = self._input_limit()  # tokens of a training source/target: what predict reads at once
        self.source_lang, self.target_lang = source_lang, target_lang
        # still assumed only if neither the config nor the data named the source language
        self.assumed_source_ = (getattr(self, "assumed_source_", False) and config.source_lang is None
                                and rows["source_lang"].drop_nulls().len() == 0)
        self.fixed_pair_ = (source_lang, target_lang) if from_scratch else getattr(self, "fixed_pair_", None)
        prefix, _ = self._language_setup(source_lang, target_lang)
        if hasattr(self.tokenizer_, "tgt_lang") and getattr(self.tokenizer_, "src_lang", None):
            self.tokenizer_.tgt_lang = _target_code(self, target_lang)

        def encode(part) -> list[dict[str, list[int]]]:
            encoded = self.tokenizer_([prefix + s for s in part["source"].to_list()], text_target=part["target"].to_list(),
                                      truncation=True, max_length=pair_length)
            return [{"input_ids": i, "labels": l} for i, l in zip(encoded["input_ids"], encoded["labels"])]

        pad_id = self.tokenizer_.pad_token_id if self.tokenizer_.pad_token_id is not None else 0
        smoothing = config.label_smoothing

        def collate(examples):
            import torch

            width = max(len(e["input_ids"]) for e in examples)
            label_width = max(len(e["labels"]) for e in examples)
            input_ids = torch.tensor([e["input_ids"] + [pad_id] * (width - len(e["input_ids"])) for e in examples])
            labels = torch.tensor([e["labels"] + [-100] * (label_width - len(e["labels"])) for e in examples])
            return {"input_ids": input_ids, "attention_mask": (input_ids != pad_id).long(), "labels": labels}

        def loss_fn(model, batch):
            import torch.nn.functional as F

            logits = model(**batch).logits  # (B, T, V)
            return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100,
                                   label_smoothing=smoothing if model.training else 0.0)

        train_config = config.trainer_config()
        trainer = Trainer(self.network_, encode(train), config=train_config, loss_fn=loss_fn,
                          val_data=encode(validation) if validation.height else None, collate_fn=collate,
                          run_dir=run_dir, callbacks=callbacks, device=self.device)
        trainer.fit(resume=resume)
        self.network_.eval()
        self.engine_ = None
        self.name_ = f"marian-from-scratch:{source_lang}-{target_lang}" if from_scratch else f"{self.name_}+fine-tuned"
        self.data_hash_ = hash_frame(rows.select("source", "target"))
        self.trained_config_ = config_to_dict(config)
        self.trained_from_scratch_ = from_scratch
        self.metrics_ = {}
        if validation.height:
            held_out = validation.head(_VALIDATION_SENTENCES)
            scores = text_generation_metrics(self.translate(held_out["source"].to_list()), held_out["target"].to_list(),
                                             resamples=50)
            self.metrics_ = {f"validation_{name}": entry["value"] for name, entry in scores.items()}
            self.metrics_["validation_n"] = held_out.height
        self.metrics_["train_pairs"] = train.height
        return self

    # -- persistence --------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What this model is, what it was trained on and how good it measured."""
        self._require_fitted("name_")
        if getattr(self, "engine_", None) is not None:
            mode = self.engine_.mode
            return {"task": self.task, "name": self.name_, "backend": "apertium", "source_lang": self.source_lang,
                    "target_lang": self.target_lang, "apertium_mode": mode,
                    "description": "Apertium shallow-transfer rule-based MT run through its command line (Debian "
                                   f"apertium + apertium-{mode} data); all sentences go through one null-flushed "
                                   "stream, each translated as if alone.",
                    "metrics": {f"tatoeba_{k}": v for k, v in APERTIUM_QUALITY.get(mode, {}).items()},
                    "preprocessing": {"apertium_flags": ["-u"], "isolation": (
                        "one stream; each sentence tagged by a tagger in its start-up state" if self.engine_.streams
                        else "one process per sentence")}}
        scratch = getattr(self, "trained_from_scratch_", False)
        return {"task": self.task, "name": self.name_, "backend": "seq2seq", "model_type": self.network_.config.model_type,
                "source_lang": self.source_lang, "target_lang": self.target_lang,
                "description": ("Marian transformer trained from scratch by Verticals on the user's corpus, with a BPE "
                                "vocabulary trained on that corpus" if scratch else f"seq2seq model {self.name_}"),
                "preprocessing": {"generation": dict(self.generation_)}, "data_hash": getattr(self, "data_hash_", None),
                "metrics": getattr(self, "metrics_", {}), "config": getattr(self, "trained_config_", None)}

    # save() is core.TaskModel's: card.json plus, for seq2seq models, save_pretrained weights and the tokenizer
    def save(self, path: str | Path) -> Path:
        with self._lock:  # tokenizer settings are per-call state
            return super().save(path)

    def save_card(self) -> dict[str, Any]:
        return {**self.card, "usage": _usage(self.card["backend"])}

    def write_weights(self, folder: Path) -> None:
        if self.card["backend"] != "apertium":  # Apertium settings are the card alone
            self.network_.save_pretrained(folder)
            self.tokenizer_.save_pretrained(folder)


def _assumed_source_warning(other: str, source_lang: str, target_lang: str, named: str | None = None) -> str:
    """predict's warning for a text that looks like `other` (a language code or a script's name, `looks_like`) when
    nobody gave its source language and the model assumed `source_lang`, or when only a file's name gave it (`named`
    says which: "its file's name" for predict's lines, "the name of corp.en" for evaluate's line-aligned files)."""
    def called(code: str) -> str:
        return f"{LANGUAGE_NAMES[code]} ({code})" if code in LANGUAGE_NAMES else code

    why = "as assumed (no source language was given)" if named is None else f"as {named} says (name.<language>)"
    if named is not None and named.startswith("the name of "):  # line-aligned data: --source would read the twin file
        fix = ("rename the line-aligned files so each one's suffix names the language of its lines (are the two "
               "swapped?)")
        return (f"the text {'is in' if other not in LANGUAGE_NAMES else 'looks like'} {called(other)}, not "
                f"{called(source_lang)} {why}; {fix}")
    if other not in LANGUAGE_NAMES:  # a script: its language is for the user to say
        return (f"the text is in {other}, not {called(source_lang)} {why}; "
                "pass --source with its language code (source_lang in Python)")
    target = source_lang if other == target_lang else target_lang
    return (f"the text looks like {called(other)}, not {called(source_lang)} {why}; "
            f"pass --source {other} --target {target} (source_lang, target_lang in Python)")


def _given_source_warning(other: str, source_lang: str, target_lang: str, data: bool = False) -> str:
    """The warning for text that looks like `other` (`looks_like`) although the user gave `source_lang` as its language
    (--source, `source_lang` in Python, or for evaluate a source_lang column): not refused, the user's word holds."""
    def called(code: str) -> str:
        return f"{LANGUAGE_NAMES[code]} ({code})" if code in LANGUAGE_NAMES else code

    why = (f"as given (--source {source_lang}, or the data's source_lang column)" if data
           else f"as given (--source {source_lang}; source_lang in Python)")
    if other not in LANGUAGE_NAMES:  # a script: its language is for the user to say
        return (f"the text is in {other}, not {called(source_lang)} {why}; if so, pass --source with its language "
                "code (source_lang in Python)")
    target = source_lang if other == target_lang else target_lang
    fix = "check --source (or whether two line-aligned files are swapped); " if data else ""
    return (f"the text looks like {called(other)}, not {called(source_lang)} {why}; {fix}if it is "
            f"{LANGUAGE_NAMES[other]}, pass --source {other} --target {target} (source_lang, target_lang in Python)")


def _usage(backend: str) -> str:
    """The card's `usage`: how to open a saved folder without this product (a transformers snippet for seq2seq
    models; for Apertium, what the folder holds)."""
    if backend == "apertium":
        return _apertium_usage()
    return """\
# folder: the saved model folder (str or pathlib.Path); texts: a list of strings in the card's source_lang.
# A line longer than the model's input limit is cut by this snippet (truncation=True: the rest of it is not
# translated), whereas Verticals' predict splits such a line into its sentences, translates them and joins them.
# Short lines give predict's translations (a test compares them for a Marian model); for multilingual models such as
# M2M100 / NLLB / mBART the product also sets tokenizer.src_lang and forced_bos_token_id from source_lang /
# target_lang, and a T5 model reads a task prefix.
# Like predict, each text is first read in Unicode NFC (a decomposed "café" from a PDF or a Mac file name is the
# composed one) and without the invisible format characters that spell nothing: soft hyphens, word joiners, BOMs and
# zero-width spaces outside words, and inside a word the same but a zero-width space between letters of a script
# written without spaces (Thai, CJK), and ZWNJ/ZWJ between Latin, Greek or Cyrillic letters or digits
# ("beau\\u200btiful" reads as "beautiful").
import json, pathlib, torch, unicodedata
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
""" + _invisible_snippet() + """
texts = [unicodedata.normalize("NFC", without_invisible(text)) for text in texts]
card = json.loads((pathlib.Path(folder) / "card.json").read_text())
generation = card["preprocessing"]["generation"]  # num_beams; max_length: new tokens per translation (max_new_tokens)
tokenizer = AutoTokenizer.from_pretrained(str(folder))
network = AutoModelForSeq2SeqLM.from_pretrained(str(folder)).eval()
limits = [generation["max_length"], tokenizer.model_max_length, getattr(network.config, "max_position_embeddings", None)]
limit = min(n for n in limits if isinstance(n, int) and 0 < n < 1_000_000)  # input tokens the model reads at once
encoded = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=limit)
with torch.no_grad():
    tokens = network.generate(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                              num_beams=generation["num_beams"], max_new_tokens=generation["max_length"])
predictions = [{"translation": " ".join(text.split())} for text in tokenizer.batch_decode(tokens, skip_special_tokens=True)]
"""


def _invisible_snippet() -> str:
    """The card snippets' own `without_invisible(line)`: `nlp._invisible.without_invisible(line, everywhere=True)`
    written out from its constants (sorted literals, so a card's text is deterministic)."""
    always, layout = "".join(sorted(invisible._ALWAYS)), "".join(sorted(invisible._LAYOUT))
    unspaced, ligature_only = tuple(sorted(invisible._UNSPACED_SCRIPTS)), tuple(sorted(invisible._LIGATURE_ONLY_SCRIPTS))
    return f"""\
def script(character):
    return unicodedata.name(character, "UNKNOWN").split(" ")[0]
def read_past(character, before, after):  # a format character between two word characters (letters, digits, marks)
    if character in {always!r}:  # soft hyphen, word joiner, BOM
        return True
    if character == "\\u200b":  # zero-width space: a word boundary in scripts written without spaces
        return script(before) not in {unspaced!r} and script(after) not in {unspaced!r}
    if character in "\\u200c\\u200d":  # ZWNJ, ZWJ: spelling in Arabic-script and Indic words, emoji joiners
        return script(before) in {ligature_only!r} and script(after) in {ligature_only!r}
    return False
def without_invisible(line):
    kept, index = [], 0
    while index < len(line):
        end = index
        while end < len(line) and unicodedata.category(line[end]) == "Cf":
            end += 1  # a run of format characters, judged by the characters around it
        if end == index:
            kept.append(line[index])
            index += 1
            continue
        before, after = line[index - 1:index], line[end:end + 1]
        inside = bool(before and after) and all(c.isalnum() or unicodedata.category(c).startswith("M")
                                                for c in before + after)  # between letters, digits or marks
        kept += [c for c in line[index:end] if not (read_past(c, before, after) if inside else c in {layout!r})]
        index = end
    return "".join(kept)"""


def _apertium_usage() -> str:
    """An Apertium card's `usage`: the raw command, then each step predict takes after it (`_apertium._clean`, built
    from the same constants) as a runnable snippet."""
    marks = "; ".join(f"{target}: " + ", ".join(f'"{opening}" before a final "{closing}"' for closing, opening in pairs)
                      for target, pairs in OPENING_MARKS.items())
    return f"""\
# This folder holds no weights: Apertium is rule-based, and the card names its language pair (apertium_mode) and flags.
# Outside this product, with the Debian apertium package and its apertium-<pair> data, `echo 'text' | apertium -u
# <apertium_mode>` gives Apertium's raw output. predict changes what Apertium reads and what it gives back; these
# steps are all it adds:
# 0. each line is read in Unicode NFC (Apertium's dictionaries hold composed letters: a decomposed "café" from a PDF
#    or a Mac file name comes out "cafeteríá"), and without the invisible format characters inside a word that spell
#    nothing there (soft hyphen, word joiner, BOM, a zero-width space between letters of a script written with spaces,
#    ZWNJ/ZWJ between Latin, Greek or Cyrillic letters or digits: "beau\\u200btiful" reads as "beautiful"), nor soft
#    hyphens, word joiners, BOMs and zero-width spaces outside words;
# 1. each line of a text is translated on its own, with the spaces around it stripped (a blank line stays blank);
#    a line holding markup such as <b> or </p> is read as HTML (apertium -f html), which keeps the tags;
# 2. two or more spaces or tabs in a row (Apertium leaves two where it drops a word) become one space, and the ends
#    are stripped;
# 3. each sentence of the translation ending in a closing mark, as its source sentence does (the sentences pair in
#    order; where their counts differ, as any source sentence does), gets the opening mark Apertium drops, by target
#    language ({marks}; "?!" opens with both, mirrored: "¡¿Qué?!"); in a sentence ending in a quote or bracket, after
#    the last opening quote or bracket (a "¿" there only when the quote starts the sentence, follows : , ; or a dash,
#    or starts with a capital; else the question is the whole sentence, American style: '¿Por qué escribes "no?"').
#    In the source, a period or an ellipsis ends a sentence only before a capital letter (not after "p. ej.", "p.m.",
#    "etc.", "Núm. 5", nor in "good... or bad"), nor after a title or an initial (Dr., J.) unless a word such as "Do"
#    or "Is" follows ("vitamin C. Do you?"). The translation is split at every . ! ? ... before a space (not after a
#    title) where that gives as many sentences as the source (Apertium may change the case of the next word), else as
#    the source is; a source of one sentence is one.
# The snippet below does the same. folder: the saved model folder (str or pathlib.Path); text: one text in the card's
# source_lang.
import json, os, pathlib, re, subprocess, unicodedata
card = json.loads((pathlib.Path(folder) / "card.json").read_text(encoding="utf-8"))
mode = card["apertium_mode"]
opening_marks = {OPENING_MARKS!r}.get(mode.split("-")[1], ())
{_invisible_snippet()}
def translate_line(line):
    line = unicodedata.normalize("NFC", without_invisible(line)).strip()
    if not line:
        return ""
    text_format = "html" if re.search({_MARKUP.pattern!r}, line) else "txt"
    raw = subprocess.run(["apertium", "-f", text_format, "-u", mode], input=line, capture_output=True, encoding="utf-8",
                         env={{**os.environ, "LC_ALL": "C.UTF-8"}}, check=True).stdout
    translation = re.sub({SPACE_RUN!r}, " ", raw).strip()
    sentence_pattern = {SENTENCE!r}  # up to ! ? (and closing quotes) before a space, . or ... before a capital, or the end
    loose_pattern = {LOOSE_SENTENCE!r}  # up to any . ! ? ... before a space (not after a title)
    originals = re.findall(sentence_pattern, line)
    splits = [[match.span() for match in re.finditer(pattern, translation)] for pattern in (loose_pattern, sentence_pattern)]
    spans = next((found for found in splits if len(found) == len(originals)),
                 [(0, len(translation))] if len(originals) == 1 else splits[1])
    paired = len(spans) == len(originals)
    def restore(sentence, index):
        body = re.sub({CLOSERS!r}, "", sentence)  # without the quotes and brackets it ends in
        quotes = list(re.finditer({OPENER!r}, body)) if body != sentence else []
        ending = re.search(r"[.!?…]*$", body).group()  # "?!" opens with both, mirrored: "¡¿"
        ended = "".join(re.search(r"[.!?…]*$", re.sub({CLOSERS!r}, "", original)).group()
                        for original in ([originals[index]] if paired else originals))
        insert = {{}}
        for closing in dict.fromkeys(reversed(ending)):
            opening = dict(opening_marks).get(closing)
            start = quotes[-1].end() if quotes else 0  # inside the quote, unless the question is the whole sentence
            if quotes and closing == "?" and not (re.search({QUOTED_QUESTION!r}, body[:quotes[-1].start()])
                                                  or re.match({f"[{UPPER}]"!r}, body[start:])):
                start = 0
            if opening and opening not in body[start:] and closing in ended:
                insert[start] = insert.get(start, "") + opening
        for start in sorted(insert, reverse=True):
            sentence = sentence[:start] + insert[start] + sentence[start:]
        return sentence
    for index, (start, end) in reversed(list(enumerate(spans))):
        translation = translation[:start] + restore(translation[start:end], index) + translation[end:]
    return translation
prediction = {{"translation": "\\n".join(translate_line(line) for line in text.rstrip("\\n").split("\\n"))}}
"""


def _target_code(model: Translator, target_lang: str) -> str:
    _, extra = model._language_setup(model.source_lang, target_lang)
    token_id = extra.get("forced_bos_token_id")
    return model.tokenizer_.convert_ids_to_tokens(token_id) if token_id is not None else target_lang


def _train_tokenizer(texts: list[str], config: Translator.Config, run_dir: str | Path | None, resume: bool):
    """A shared source+target BPE tokenizer trained on the corpus (reused from `run_dir` when resuming)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    saved = Path(run_dir) / "tokenizer.json" if run_dir is not None else None
    if resume and saved is not None and saved.is_file():
        tokenizer = Tokenizer.from_file(str(saved))
    else:
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
        tokenizer.normalizer = normalizers.NFKC()
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
        tokenizer.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=config.vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], min_frequency=2,
                                      show_progress=False)
        tokenizer.train_from_iterator(texts, trainer)
        tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A $B </s>",
                                                                 special_tokens=[("</s>", tokenizer.token_to_id("</s>"))])
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            tokenizer.save(str(saved))
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=config.max_length)


def _marian(tokenizer, config: Translator.Config):
    """A randomly initialised MarianMT network sized by `config`, sharing one vocabulary on both sides."""
    from transformers import MarianConfig, MarianMTModel

    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    marian = MarianConfig(
        vocab_size=len(tokenizer), decoder_vocab_size=len(tokenizer), d_model=config.d_model,
        encoder_layers=config.layers, decoder_layers=config.layers, encoder_attention_heads=config.attention_heads,
        decoder_attention_heads=config.attention_heads, encoder_ffn_dim=config.ffn_dim, decoder_ffn_dim=config.ffn_dim,
        dropout=config.dropout, attention_dropout=config.dropout, max_position_embeddings=max(config.max_length, 32) * 2,
        pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=pad, forced_eos_token_id=eos,
        share_encoder_decoder_embeddings=True, scale_embedding=True)
    return MarianMTModel(marian)


def load(source: str | Path | None = None, device: str = "auto", **options: Any) -> Translator:
    """Shortcut for `Translator.load` (`from nlp import translation; translation.load()`)."""
    return Translator.load(source, device=device, **options)
