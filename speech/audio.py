"""The one place audio is decoded: soundfile in (phone and video containers such as .m4a / .aac / .3gp / .webm through
PyAV's FFmpeg, which faster-whisper brings), soxr resampling, mono mix, sanity and loudness checks, and block-wise
streaming of long files so an hour of audio is never held in memory at once."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError

__all__ = ["SAMPLE_RATE_HZ", "AUDIO_SUFFIXES", "load_audio", "decode_audio", "AudioTooLong", "stream_audio",
           "audio_duration_seconds", "loudness", "audio_warnings", "silence_warning", "clipping_warning",
           "above_full_scale_warning", "to_mono", "downmix", "resample",
           "is_audio_path", "wav_truncation", "truncation_warning", "AudioBytes", "read_file_object", "is_array_and_rate"]

SAMPLE_RATE_HZ = 16_000  # every model sees 16 kHz mono float32 in [-1, 1]
SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus", ".w64", ".caf"}
FFMPEG_SUFFIXES = {".m4a", ".aac", ".mp4", ".m4b", ".3gp", ".amr", ".webm", ".mka", ".wma"}  # phones, voice notes, video
AUDIO_SUFFIXES = SOUNDFILE_SUFFIXES | FFMPEG_SUFFIXES
MAX_LOAD_SECONDS = 4 * 3600  # load_audio refuses longer inputs; stream_audio handles any length
SILENCE_DBFS = -60.0
CANCEL_DB = 20.0  # a mono mix this much quieter than its loudest channel: the channels cancel each other
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")  # soundfile subtypes of float samples, which may go past full scale unclipped


def is_audio_path(path: str | Path) -> bool:
    """True when `path` has an audio file suffix (soundfile's, or a container FFmpeg decodes).

    >>> is_audio_path("a.WAV"), is_audio_path("a.txt")
    (True, False)
    """
    return Path(str(path)).suffix.lower() in AUDIO_SUFFIXES


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels of a (frames, channels) array into one float32 channel.

    >>> to_mono(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
    [0.5, 0.5]
    """
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    elif samples.ndim != 1:
        raise InputError(f"audio must be 1-D (samples) or 2-D (samples, channels), got shape {samples.shape}")
    return samples.astype(np.float32, copy=False)


def downmix(samples: np.ndarray) -> tuple[np.ndarray, str | None]:
    """`to_mono` and None, unless the channels cancel when averaged (the mix more than `CANCEL_DB` dB quieter than the
    loudest channel, as when one side of a balanced lead is wired with inverted polarity): then the loudest channel
    alone, and a warning saying so.

    >>> speech = np.sin(np.linspace(0, 100, 1000)); mono, note = downmix(np.stack([speech, -speech], axis=1))
    >>> bool(np.allclose(mono, speech)), note[:47]
    (True, 'the channels cancel each other when mixed to mo')
    >>> downmix(np.stack([speech, np.zeros(1000)], axis=1))[1] is None  # one silent channel: the mix is only 6 dB down
    True
    """
    samples = np.asarray(samples)
    mono = to_mono(samples)
    if samples.ndim != 2 or samples.shape[1] < 2 or not len(mono):
        return mono, None
    channel_rms = np.sqrt(np.mean(np.square(samples, dtype=np.float64), axis=0))
    loudest = int(np.argmax(channel_rms))
    mix_rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
    if channel_rms[loudest] < 10 ** (SILENCE_DBFS / 20) or mix_rms > channel_rms[loudest] * 10 ** (-CANCEL_DB / 20):
        return mono, None
    drop = 20 * math.log10(channel_rms[loudest] / max(mix_rms, 1e-10))
    quieter = "over 60" if drop > 60 else f"{drop:.0f}"
    return (samples[:, loudest].astype(np.float32, copy=False),
            f"the channels cancel each other when mixed to mono (the mix is {quieter} dB quieter than channel "
            f"{loudest + 1}, as when one is wired with inverted polarity), so channel {loudest + 1}, the loudest, was "
            "used alone; fix the wiring, or export that channel as a mono file")


def resample(samples: np.ndarray, from_hz: int, to_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Resample mono float samples with soxr (high quality); a no-op when the rates match.

    >>> resample(np.zeros(8000, dtype=np.float32), 8000).shape
    (16000,)
    """
    import soxr

    if int(from_hz) <= 0:
        raise InputError(f"sample rate must be positive, got {from_hz}")
    if int(from_hz) == int(to_hz):
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, int(from_hz), int(to_hz), quality="HQ").astype(np.float32, copy=False)


def _check_finite(samples: np.ndarray, name: str) -> None:
    if not np.isfinite(samples).all():
        raise InputError(f"{name} holds NaN or infinite samples; re-export the audio as 16-bit PCM or clean the float data")


def _open(source: Any) -> tuple[Any, str]:
    """Open `source` (path, bytes, file object) as a soundfile.SoundFile; InputError for anything unreadable."""
    import soundfile as sf

    name = "audio"
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        name = path.name
        if not path.exists():
            raise InputError(f"{path} does not exist; pass an existing audio file")
        if path.is_dir():
            raise InputError(f"{path} is a folder; pass an audio file")
        if path.stat().st_size == 0:
            raise InputError(f"{name} is empty (0 bytes); pass a WAV/FLAC/OGG/MP3 file")
        handle: Any = str(path)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name = Path(str(getattr(source, "name", None) or name)).name  # AudioBytes keep their file object's name
        if len(source) == 0:
            raise InputError(f"{'the audio' if name == 'audio' else name} is empty (0 bytes); pass a WAV/FLAC/OGG/MP3 file")
        handle = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        name = Path(str(getattr(source, "name", "audio"))).name
        handle = source
    else:
        raise InputError(f"cannot read audio from {type(source).__name__}; pass a path, bytes, a file object, "
                         "a 16 kHz numpy array or (array, sample_rate)")
    try:
        return sf.SoundFile(handle), name
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = re.sub(r"<[^<>]* at 0x[0-9a-fA-F]+>", "the input", str(error))  # no object reprs in messages
        refusal = InputError(f"{name} is not readable audio ({detail}); pass a WAV, FLAC, OGG, MP3 or M4A file")
        failed = error
    if hasattr(handle, "seek"):
        handle.seek(0)
    decoded = _FFmpegAudio.open(handle, name)  # AAC / AMR / WMA in .m4a .3gp .webm ... containers
    if decoded is None:
        raise refusal from failed
    return decoded, name


class AudioBytes(bytes):
    """A recording read from a file object: its bytes, and the object's file `name` (None when it has none)."""

    name: str | None = None


def read_file_object(handle: Any) -> AudioBytes:
    """All of a binary file object, read once from where it stands, as `AudioBytes` named after it; a seekable object is
    put back where it stood, so it can be read again (`core.data.paths.read_file_object`).

    >>> import io; data = read_file_object(io.BytesIO(b"RIFF")); data, data.name
    (b'RIFF', None)
    """
    from core.data.paths import read_file_object as read_once

    data, name = read_once(handle, "audio")
    audio = AudioBytes(data)
    audio.name = name
    return audio


class _FFmpegAudio:
    """A file soundfile cannot read (a phone's .m4a, a voice note's .3gp/.amr, a video's sound track) decoded by PyAV,
    read the way the functions here read a `soundfile.SoundFile`: `frames` (from the container's duration),
    `samplerate`, `read(frames, dtype="float32", always_2d=True)` in (frames, channels) blocks, and `with`."""

    def __init__(self, container, stream):
        import av

        self._container = container
        self.samplerate = int(stream.codec_context.sample_rate or stream.rate)
        seconds = float(stream.duration * stream.time_base) if stream.duration else (container.duration or 0) / 1e6
        self.frames = int(round(seconds * self.samplerate))
        self._packed = av.AudioResampler(format="flt", layout=stream.codec_context.layout.name, rate=self.samplerate)
        self._channels = len(stream.codec_context.layout.channels)
        self._decoded = container.decode(stream)
        self._pending: list[np.ndarray] = []

    @classmethod
    def open(cls, handle: Any, name: str) -> "_FFmpegAudio | None":
        """The first audio track of `handle` (a path or a file object), or None when FFmpeg cannot read it either."""
        try:
            import av
        except ImportError:
            return None
        try:
            container = av.open(handle, "r")
        except (av.error.FFmpegError, OSError, ValueError):
            return None
        if not container.streams.audio:
            container.close()
            raise InputError(f"{name} has no audio track")
        return cls(container, container.streams.audio[0])

    def read(self, frames: int = -1, dtype: str = "float32", always_2d: bool = True) -> np.ndarray:
        import av

        have = sum(len(block) for block in self._pending)
        try:
            while frames < 0 or have < frames:
                frame = next(self._decoded, None)
                if frame is None:
                    break
                for packed in self._packed.resample(frame):  # packed float32: (1, n * channels)
                    block = packed.to_ndarray().reshape(-1, self._channels)
                    self._pending.append(block)
                    have += len(block)
        except av.error.FFmpegError as error:
            raise InputError(f"the audio could not be decoded past {have / self.samplerate:.1f} s ({error})") from error
        joined = np.concatenate(self._pending) if self._pending else np.zeros((0, self._channels), dtype=np.float32)
        taken, rest = (joined, None) if frames < 0 else (joined[:frames], joined[frames:])
        self._pending = [rest] if rest is not None and len(rest) else []
        return taken.astype(dtype, copy=False)

    def __enter__(self) -> "_FFmpegAudio":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._container.close()


def audio_duration_seconds(source: Any) -> float:
    """Duration of an audio file (header only, nothing decoded), or of an in-memory input.

    >>> audio_duration_seconds(np.zeros(16000))
    1.0
    """
    if isinstance(source, (str, Path, bytes, bytearray, memoryview)) or hasattr(source, "read"):
        handle, _ = _open(source)
        with handle:
            return handle.frames / float(handle.samplerate)
    samples, rate = _array_input(source)
    return len(samples) / float(rate)


def is_array_and_rate(value: Any) -> bool:
    """Whether a tuple is one recording as `(array, sample_rate)`: samples (an array, or a list of numbers) and a whole
    number of hertz. Any other tuple, ("a.wav", "b.wav") say, is a sequence of inputs, as a list is.

    >>> is_array_and_rate((np.zeros(4), 8000)), is_array_and_rate(("a.wav", "b.wav")), is_array_and_rate((np.zeros(4), True))
    (True, False, False)
    """
    import numbers

    if not isinstance(value, tuple) or len(value) != 2:
        return False
    samples, rate = value
    array_like = isinstance(samples, np.ndarray) or hasattr(samples, "__array__") or (
        isinstance(samples, list) and all(isinstance(x, numbers.Real) for x in samples[:16]))
    whole = isinstance(rate, numbers.Integral) or (isinstance(rate, numbers.Real) and float(rate).is_integer())
    return array_like and whole and not isinstance(rate, (bool, np.bool_))


def _array_input(source: Any) -> tuple[np.ndarray, int]:
    if isinstance(source, dict):
        array = source.get("array", source.get("audio"))
        rate = source.get("sampling_rate", source.get("sample_rate_hz", SAMPLE_RATE_HZ))
        if array is None:
            raise InputError("an audio dict needs 'array' and 'sampling_rate' keys")
        return np.asarray(array), int(rate)
    if is_array_and_rate(source):
        return np.asarray(source[0]), int(source[1])
    if isinstance(source, tuple):
        raise InputError(f"a tuple is one recording only as (array, sample_rate), got a tuple of {len(source)} "
                         f"({', '.join(type(x).__name__ for x in source[:4])}); pass several inputs as a list")
    return np.asarray(source), SAMPLE_RATE_HZ


class AudioTooLong(InputError):
    """An input over the `max_seconds` of `decode_audio`: too long to load whole (stream it with `stream_audio`)."""

    def __init__(self, message: str, seconds: float, truncation: tuple[float, float] | None = None):
        super().__init__(message)
        self.seconds, self.truncation = seconds, truncation


def load_audio(source: Any, sample_rate_hz: int = SAMPLE_RATE_HZ, max_seconds: float = MAX_LOAD_SECONDS) -> np.ndarray:
    """Decode any supported input into mono float32 at `sample_rate_hz`; `InputError` on bad audio.

    Accepts a path, bytes, a file object, a numpy array (taken as 16 kHz; (samples, channels) is
    mixed down), `(array, sample_rate)` or `{"array", "sampling_rate"}`.

    >>> load_audio((np.ones((8000, 2), dtype=np.float32) * 0.1, 8000)).shape
    (16000,)
    >>> load_audio(b"not audio")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.InputError: audio is not readable audio (...); pass a WAV, FLAC, OGG, MP3 or M4A file
    """
    return decode_audio(source, sample_rate_hz, max_seconds)[0]


def decode_audio(source: Any, sample_rate_hz: int = SAMPLE_RATE_HZ, max_seconds: float = MAX_LOAD_SECONDS,
                 report: dict[str, Any] | None = None) -> tuple[np.ndarray, tuple[float, float] | None]:
    """`load_audio` and the input's `wav_truncation` (declared, present seconds, or None) with the file opened and its
    WAV header read once; an input over `max_seconds` raises `AudioTooLong` before anything is decoded.

    `report`, when given, is filled with what decoding found: "warnings" (the channels cancelled, so one was used) and
    "level", the input's `loudness` at its own rate, before resampling, with clipping counted at its format's limit
    (integer PCM at full scale; float samples may go past it unclipped), for `audio_warnings`.

    >>> samples, cut = decode_audio((np.zeros(8000, dtype=np.float32), 8000)); samples.shape, cut
    ((16000,), None)
    """
    cut = None
    if isinstance(source, (str, Path, bytes, bytearray, memoryview)) or hasattr(source, "read"):
        handle, name = _open(source)
        with handle:
            cut = wav_truncation(source)
            if cut is not None and cut[1] < TRUNCATED_MIN_SECONDS:
                raise InputError(f"{name} is truncated: its header declares {cut[0]:.1f} s of audio but only {cut[1]:.3f} "
                                 "s of data are in the file; copy or export it again")
            if handle.frames == 0:
                raise InputError(f"{name} holds no samples (0-length audio); record something and try again")
            seconds = handle.frames / handle.samplerate
            if seconds > max_seconds:
                raise AudioTooLong(f"{name} lasts {seconds:.0f} s, over the {max_seconds:.0f} s limit for loading whole; "
                                   "stream it with stream_audio()", seconds, cut)
            samples = handle.read(dtype="float32", always_2d=True)
            rate = handle.samplerate
            float_data, at_limit = getattr(handle, "subtype", None) in FLOAT_SUBTYPES, None
    else:
        samples, rate = _array_input(source)
        name = "the audio array"
        if samples.dtype.kind not in "fiu":
            raise InputError(f"{name} has dtype {samples.dtype}; pass numbers (float in [-1, 1] or int PCM)")
        float_data, at_limit = samples.dtype.kind == "f", None
        if samples.dtype.kind in "iu":
            limits = np.iinfo(samples.dtype)
            at_limit = float(np.mean((samples == limits.min) | (samples == limits.max))) if samples.size else 0.0
            if samples.dtype.kind == "u":  # unsigned PCM: silence is the middle value (128 for 8-bit), as soundfile reads it
                middle = limits.max // 2 + 1
                samples = (samples.astype(np.float32) - middle) / float(middle)
            else:
                samples = samples.astype(np.float32) / float(limits.max)
        if samples.ndim == 2 and samples.shape[0] <= 8 < samples.shape[1]:
            samples = samples.T  # (channels, samples) -> (samples, channels)
    if samples.size == 0:
        raise InputError(f"{name} holds no samples (0-length audio); record something and try again")
    mono, note = downmix(samples)
    _check_finite(mono, name)
    if report is not None:
        level = loudness(mono, float_data=float_data)
        if at_limit is not None:  # integer samples: at the dtype's limits, whatever the scaling
            level["clipped_fraction"] = round(at_limit, 6)
        report.update(warnings=[note] if note else [], level=level)
    return resample(mono, rate, sample_rate_hz), cut


def stream_audio(source: str | Path, block_seconds: float = 30.0, sample_rate_hz: int = SAMPLE_RATE_HZ,
                 read_frames: int = 65_536, report: dict[str, Any] | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 blocks of `block_seconds` at `sample_rate_hz` from a file of any length.

    The file is read `read_frames` at a time and resampled with soxr's streaming resampler, so memory
    stays bounded by one block whatever the file's duration. `report`, when given, is filled as `decode_audio` fills
    it: "warnings" (the channels cancelled, so one was used where they did), "float_data" (the file holds float
    samples, which may go past full scale unclipped) and "level", the `loudness` of the frames read so far, measured
    as read, before resampling (so a file streamed and the same file decoded whole report the same level).

    >>> import tempfile, soundfile as sf; p = Path(tempfile.mkdtemp()) / "a.wav"
    >>> sf.write(p, np.zeros(8000 * 3, dtype=np.float32), 8000)
    >>> [len(b) for b in stream_audio(p, block_seconds=2)]
    [32000, 16000]
    """
    import soxr

    handle, name = _open(source)
    block_samples = max(1, int(round(block_seconds * sample_rate_hz)))
    with handle:
        if handle.frames == 0:
            raise InputError(f"{name} holds no samples (0-length audio); record something and try again")
        stream = None
        if handle.samplerate != sample_rate_hz:
            stream = soxr.ResampleStream(handle.samplerate, sample_rate_hz, 1, dtype="float32", quality="HQ")
        pending: list[np.ndarray] = []
        pending_samples = 0
        notes: list[str] = []
        float_data = getattr(handle, "subtype", None) in FLOAT_SUBTYPES
        meter = _LevelMeter(float_data)
        if report is not None:
            report.update(warnings=notes, float_data=float_data, level=meter.level())
        while True:
            frames = handle.read(read_frames, dtype="float32", always_2d=True)
            last = len(frames) < read_frames
            mono, note = downmix(frames) if len(frames) else (np.zeros(0, dtype=np.float32), None)
            if note and not notes:  # said once: read by read, where the channels cancel
                notes.append(note)
            _check_finite(mono, name)
            if report is not None and len(mono):  # at the file's own rate: soxr's overshoot is not the file's level
                meter.add(mono)
                report["level"] = meter.level()
            if stream is not None:
                mono = stream.resample_chunk(mono, last=last)
            if len(mono):
                pending.append(mono)
                pending_samples += len(mono)
            while pending_samples >= block_samples:
                joined = np.concatenate(pending)
                yield joined[:block_samples]
                rest = joined[block_samples:]
                pending, pending_samples = ([rest] if len(rest) else []), len(rest)
            if last:
                break
        if pending_samples:
            yield np.concatenate(pending)


def loudness(samples: np.ndarray, float_data: bool = False) -> dict[str, Any]:
    """RMS and peak level in dBFS, the fraction of clipped samples and whether any sample is above full scale.

    Clipped samples are those at full scale (|x| >= 0.999); `float_data`: the samples are float, which go past full
    scale unclipped, so only those at it (0.999 <= |x| <= 1) count, and the ones past it make `above_full_scale`.

    >>> loudness(np.full(100, 0.5, dtype=np.float32))["rms_dbfs"]
    -6.02
    >>> [loudness(np.full(100, 8.0), float_data)["clipped_fraction"] for float_data in (False, True)]
    [1.0, 0.0]
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        return {"rms_dbfs": float("-inf"), "peak_dbfs": float("-inf"), "clipped_fraction": 0.0, "above_full_scale": False}
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    magnitude = np.abs(samples)
    peak = float(np.max(magnitude))
    clipped = (magnitude >= 0.999) & (magnitude <= 1.0) if float_data else magnitude >= 0.999
    return {"rms_dbfs": round(20 * math.log10(max(rms, 1e-10)), 2), "peak_dbfs": round(20 * math.log10(max(peak, 1e-10)), 2),
            "clipped_fraction": round(float(np.mean(clipped)), 6), "above_full_scale": bool(float_data and peak > 1.0)}


class _LevelMeter:
    """`loudness` accumulated over a stream, read by read: the same fields and the same clipping rule."""

    def __init__(self, float_data: bool):
        self.float_data, self.squares, self.count, self.clipped, self.peak = float_data, 0.0, 0, 0, 0.0

    def add(self, samples: np.ndarray) -> None:
        magnitude = np.abs(samples)
        self.squares += float(np.square(samples, dtype=np.float64).sum())
        self.count += len(samples)
        at_scale = (magnitude >= 0.999) & (magnitude <= 1.0) if self.float_data else magnitude >= 0.999
        self.clipped += int(np.count_nonzero(at_scale))
        self.peak = max(self.peak, float(magnitude.max(initial=0.0)))

    def level(self) -> dict[str, Any]:
        if not self.count:
            return {"rms_dbfs": float("-inf"), "peak_dbfs": float("-inf"), "clipped_fraction": 0.0,
                    "above_full_scale": False}
        rms = math.sqrt(self.squares / self.count)
        return {"rms_dbfs": round(20 * math.log10(max(rms, 1e-10)), 2),
                "peak_dbfs": round(20 * math.log10(max(self.peak, 1e-10)), 2),
                "clipped_fraction": round(self.clipped / self.count, 6),
                "above_full_scale": bool(self.float_data and self.peak > 1.0)}


TRUNCATED_MIN_SECONDS = 0.1  # a truncated WAV holding less than this is refused: nothing of the recording is left


def wav_truncation(source: Any) -> tuple[float, float] | None:
    """(declared, present) seconds when a WAV file's (or WAV bytes') data chunk runs past the end of the file (a copy or
    download cut short), else None. Streaming writers that leave the size 0 or 0xFFFFFFFF are not called truncated.

    >>> import tempfile, soundfile as sf; p = Path(tempfile.mkdtemp()) / "a.wav"
    >>> sf.write(p, np.zeros(16000, dtype=np.int16), 16000, subtype="PCM_16")
    >>> wav_truncation(p) is None
    True
    >>> _ = p.write_bytes(p.read_bytes()[:16044]); wav_truncation(p)
    (1.0, 0.5)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B")
        head, size = bytes(data[:65_536]), len(data)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        try:
            with open(path, "rb") as handle:
                head = handle.read(65_536)
            size = path.stat().st_size
        except OSError:
            return None
    else:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position, block_align, rate = 12, 0, 0
    while position + 8 <= len(head):
        chunk, length = head[position:position + 4], int.from_bytes(head[position + 4:position + 8], "little")
        body = position + 8
        if chunk == b"fmt " and body + 14 <= len(head):
            rate = int.from_bytes(head[body + 4:body + 8], "little")
            block_align = int.from_bytes(head[body + 12:body + 14], "little")
        elif chunk == b"data":
            present = size - body
            if not block_align or not rate or length in (0, 0xFFFFFFFF) or length <= present:
                return None
            bytes_per_second = float(block_align * rate)
            return round(length / bytes_per_second, 3), round(max(present, 0) / bytes_per_second, 3)
        position = body + length + (length & 1)
    return None


def truncation_warning(declared_s: float, present_s: float) -> str:
    """The record's warning for a truncated file that still holds something to transcribe."""
    return (f"the file is truncated: its header declares {declared_s:.1f} s but the data ends at {present_s:.1f} s; "
            "only the part present was transcribed (copy or export the file again)")


def silence_warning(from_microphone: bool = False) -> str:
    """The warning for audio below `SILENCE_DBFS`, worded by its source: a microphone recording, or a file (or array).

    >>> silence_warning(from_microphone=True)
    'the recording is silent (RMS below -60 dBFS); check the microphone is connected and not muted'
    """
    if from_microphone:
        return (f"the recording is silent (RMS below {SILENCE_DBFS:.0f} dBFS); check the microphone is connected and "
                "not muted")
    return (f"the audio is silent or nearly silent (RMS below {SILENCE_DBFS:.0f} dBFS); check the file is the "
            "recording you meant")


def clipping_warning(clipped_fraction: float, from_microphone: bool = False) -> str:
    """The warning for audio with more than 0.1 % of samples at full scale, worded by its source like `silence_warning`.

    >>> clipping_warning(0.05, from_microphone=True)
    '5.0% of the recording is clipped; lower the microphone input gain (or move back from it) and record again'
    >>> clipping_warning(0.05)
    '5.0% of samples are clipped (the file was recorded too loud); words may be misheard'
    """
    if from_microphone:
        return (f"{clipped_fraction:.1%} of the recording is clipped; lower the microphone input gain (or move back "
                "from it) and record again")
    return f"{clipped_fraction:.1%} of samples are clipped (the file was recorded too loud); words may be misheard"


def above_full_scale_warning(peak_dbfs: float) -> str:
    """The warning for float audio past full scale: not clipped, but it would be if saved as integer PCM.

    >>> above_full_scale_warning(18.06)[:60]
    'the level is above 0 dBFS (float samples peak at +18.1 dBFS)'
    """
    return (f"the level is above 0 dBFS (float samples peak at {peak_dbfs:+.1f} dBFS); nothing is clipped and the "
            "samples were used as they are, but lower the level before saving the audio as integer PCM, which would clip it")


def audio_warnings(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ, from_microphone: bool = False,
                   level: dict[str, Any] | None = None) -> list[str]:
    """Human-readable warnings about silent, clipped, above-full-scale or very short audio (empty list when fine);
    `from_microphone`: the samples were just recorded live, so silence and clipping point at the microphone rather than
    at the file; `level`: the input's `loudness` before resampling (`decode_audio`'s report), which says what is
    clipped (else the samples' own, every sample at or past full scale counted as clipped).

    >>> audio_warnings(np.zeros(16000, dtype=np.float32))
    ['the audio is silent or nearly silent (RMS below -60 dBFS); check the file is the recording you meant']
    """
    heard = loudness(samples)
    level = level or heard
    warnings = []
    if heard["rms_dbfs"] < SILENCE_DBFS:
        warnings.append(silence_warning(from_microphone))
    else:
        if level["clipped_fraction"] > 0.001:
            warnings.append(clipping_warning(level["clipped_fraction"], from_microphone))
        if level.get("above_full_scale"):
            warnings.append(above_full_scale_warning(level["peak_dbfs"]))
    if len(samples) < 0.1 * sample_rate_hz:
        warnings.append("the audio is shorter than 0.1 s")
    return warnings
