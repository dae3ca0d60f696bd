"""speech.audio: every input shape and rate becomes 16 kHz mono float32; bad audio raises InputError."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from core.errors import InputError
from speech.audio import SAMPLE_RATE_HZ, audio_duration_seconds, audio_warnings, load_audio, loudness, stream_audio
from tests.speech.helpers import tone, write_wav


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_audio(path)


def test_non_audio_bytes(tmp_path):
    path = tmp_path / "fake.wav"
    path.write_bytes(b"%PDF-1.4 definitely not audio" * 50)
    with pytest.raises(InputError, match="not readable audio"):
        load_audio(path)
    with pytest.raises(InputError):
        load_audio(b"\x00\x01garbage")


def test_zero_length_audio(tmp_path):
    path = write_wav(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(InputError, match="0-length"):
        load_audio(path)
    with pytest.raises(InputError, match="0-length"):
        load_audio(np.zeros(0, dtype=np.float32))


def test_nan_samples(tmp_path):
    samples = tone(0.5)
    samples[100] = np.nan
    path = write_wav(tmp_path / "nan.wav", samples, subtype="FLOAT")
    with pytest.raises(InputError, match="NaN"):
        load_audio(path)
    with pytest.raises(InputError, match="NaN"):
        list(stream_audio(path))
    with pytest.raises(InputError, match="NaN"):
        load_audio(samples)


def test_48k_stereo_24bit_matches_16k_mono(tmp_path):
    mono16 = tone(1.0, 16_000, 440.0)
    stereo48 = np.stack([tone(1.0, 48_000, 440.0), tone(1.0, 48_000, 440.0)], axis=1)
    path = write_wav(tmp_path / "hi.wav", stereo48, 48_000, subtype="PCM_24")
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (48_000, 2, "PCM_24")
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1 and len(decoded) == SAMPLE_RATE_HZ
    # Same tone, so the spectra agree: the energy sits at 440 Hz after resampling.
    spectrum = np.abs(np.fft.rfft(decoded))
    assert abs(np.argmax(spectrum) - 440) <= 1
    assert abs(loudness(decoded)["rms_dbfs"] - loudness(mono16)["rms_dbfs"]) < 0.5
    assert audio_duration_seconds(path) == pytest.approx(1.0)


def test_bytes_file_objects_arrays_and_tuples(tmp_path):
    buffer = io.BytesIO()
    sf.write(buffer, tone(0.5, 8_000), 8_000, format="FLAC")
    data = buffer.getvalue()
    assert len(load_audio(data)) == 8_000
    assert len(load_audio(io.BytesIO(data))) == 8_000
    assert len(load_audio((tone(0.5, 22_050), 22_050))) == 8_000
    assert len(load_audio({"array": tone(0.5, 8_000), "sampling_rate": 8_000})) == 8_000
    assert load_audio((np.full(800, 16384, dtype=np.int16), 16_000)).max() == pytest.approx(0.5, abs=1e-3)
    assert load_audio(np.zeros((2, 1600), dtype=np.float32)).shape == (1600,)  # (channels, samples)
    with pytest.raises(InputError):
        load_audio(np.array(["a", "b"]))
    with pytest.raises(InputError):
        load_audio(12)


def test_warnings_for_silence_and_clipping():
    assert "silent" in audio_warnings(np.zeros(16_000, dtype=np.float32))[0]
    assert "microphone" not in audio_warnings(np.zeros(16_000, dtype=np.float32))[0]  # a file: its wording, not the mic's
    assert "microphone" in audio_warnings(np.zeros(16_000, dtype=np.float32), from_microphone=True)[0]
    assert "clipped" in audio_warnings(np.ones(16_000, dtype=np.float32))[0]
    assert audio_warnings(tone(1.0)) == []


def test_the_clipping_warning_names_the_gain_only_for_a_live_recording():
    """A clipped file was told to 'lower the recording gain', which it cannot; only the microphone's is lowered."""
    loud = np.ones(16_000, dtype=np.float32)
    from_file = audio_warnings(loud)
    assert from_file == ["100.0% of samples are clipped (the file was recorded too loud); words may be misheard"]
    live = audio_warnings(loud, from_microphone=True)
    assert live == ["100.0% of the recording is clipped; lower the microphone input gain (or move back from it) and "
                    "record again"]


def test_stream_matches_whole_decode(tmp_path):
    samples = tone(7.3, 22_050)
    path = write_wav(tmp_path / "long.wav", samples, 22_050)
    blocks = list(stream_audio(path, block_seconds=2.0, read_frames=4096))
    assert [len(b) for b in blocks[:-1]] == [32_000] * (len(blocks) - 1)
    streamed = np.concatenate(blocks)
    whole = load_audio(path)
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole))
    assert np.max(np.abs(streamed[100:n - 100] - whole[100:n - 100])) < 1e-3


def test_one_hour_file_is_streamed_in_bounded_memory(tmp_path):
    """Write a 1-hour 8 kHz file block by block, then stream it: memory stays at a few blocks."""
    rate, seconds = 8_000, 3600
    path = tmp_path / "hour.wav"
    block = (tone(60.0, rate, 300.0) * 32767).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        for _ in range(seconds // 60):
            handle.write(block)
    assert audio_duration_seconds(path) == pytest.approx(seconds)
    with pytest.raises(InputError, match="stream"):
        load_audio(path, max_seconds=600)
    tracemalloc.start()
    total, blocks = 0, 0
    try:
        for chunk in stream_audio(path, block_seconds=30.0):
            total += len(chunk)
            blocks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(total - seconds * SAMPLE_RATE_HZ) <= 16
    assert blocks == 120
    whole_file_mib = seconds * SAMPLE_RATE_HZ * 4 / 2**20  # 220 MiB as float32 at 16 kHz
    assert peak / 2**20 < 16, f"streaming peaked at {peak / 2**20:.1f} MiB (the whole file is {whole_file_mib:.0f} MiB)"


def _m4a(path, samples: np.ndarray, rate: int, channels: int = 1):
    """An AAC .m4a as a phone's voice recorder writes it, encoded by PyAV (the FFmpeg faster-whisper brings)."""
    av = pytest.importorskip("av")
    layout = "mono" if channels == 1 else "stereo"
    container = av.open(str(path), "w", format="mp4")
    stream = container.add_stream("aac", rate=rate, layout=layout)
    planar = np.ascontiguousarray(np.tile(samples.astype(np.float32), (channels, 1)))
    for start in range(0, planar.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(planar[:, start:start + 1024], format="fltp", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    return path


def test_phone_m4a_decodes_like_the_wav_it_was_made_from(tmp_path):
    """A 44.1 kHz stereo AAC .m4a (iPhone voice memo) loads, streams and times like its source signal (AAC adds
    an encoder delay of about 1,024 frames and a lossy copy: the tone matches in level and pitch, not sample by sample)."""
    rate = 44_100
    signal = (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(3 * rate) / rate)).astype(np.float32)
    path = _m4a(tmp_path / "memo.m4a", signal, rate, channels=2)
    audio = load_audio(path)
    assert abs(len(audio) / SAMPLE_RATE_HZ - 3.0) < 0.1 and abs(audio_duration_seconds(path) - 3.0) < 0.1
    assert abs(float(np.sqrt(np.mean(audio[4000:-4000] ** 2))) - 0.3 / np.sqrt(2)) < 0.02
    spectrum = np.abs(np.fft.rfft(audio[4000:-4000]))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE_HZ / len(audio[4000:-4000]) - 440.0) < 2.0
    assert np.array_equal(np.concatenate(list(stream_audio(path, block_seconds=1.0))), audio)
    assert np.array_equal(load_audio(path.read_bytes()), audio) and np.array_equal(load_audio(io.BytesIO(path.read_bytes())), audio)
    with pytest.raises(InputError, match=r"not readable audio .*M4A"):
        load_audio(b"ftypM4A but not really" * 10)


def test_folder_of_phone_recordings_lists_m4a_beside_wav(tmp_path):
    from speech.recognition import SpeechRecognizer

    rate = 16_000
    write_wav(tmp_path / "a.wav", np.zeros(rate, dtype=np.float32))
    _m4a(tmp_path / "b.m4a", np.zeros(rate, dtype=np.float32), rate)
    (tmp_path / "notes.txt").write_text("not audio")
    assert [p.rsplit("/", 1)[-1] for p in SpeechRecognizer.read_inputs(tmp_path)] == ["a.wav", "b.m4a"]


def test_truncated_wav_is_named_and_a_header_only_copy_refused(tmp_path):
    from speech.audio import wav_truncation

    whole = tmp_path / "whole.wav"
    sf.write(whole, (tone(2.0) * 32767).astype(np.int16), SAMPLE_RATE_HZ, subtype="PCM_16")
    assert wav_truncation(whole) is None
    half = tmp_path / "half.wav"
    half.write_bytes(whole.read_bytes()[:44 + SAMPLE_RATE_HZ * 2])  # header + the first second
    assert wav_truncation(half) == (2.0, 1.0)
    assert len(load_audio(half)) == SAMPLE_RATE_HZ  # what is there still decodes
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(whole.read_bytes()[:60])
    with pytest.raises(InputError, match="truncated: its header declares 2.0 s"):
        load_audio(header_only)
