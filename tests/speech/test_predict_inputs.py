"""What predict() takes as its inputs (one recording, a list, a table's audio column) and batch_size, on a fake
back-end; and the module-level load() of DESIGN's analysis-code pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InputError
from speech import recognition
from speech.recognition import SpeechRecognizer
from tests.speech.helpers import tone, write_wav


class FakeBackend:
    """Stands in for a recogniser: says how many seconds each window it was given lasts, and the batch sizes used."""

    kind, chunk_seconds, trainable, ready, languages = "fake", 30.0, False, True, None

    def __init__(self):
        self.batch_sizes = []

    def transcribe(self, waves, batch_size):
        self.batch_sizes.append(batch_size)
        return [{"text": f"{len(w) / 16_000:.1f} s", "words": []} for w in waves]

    def card_fields(self):
        return {}


@pytest.fixture
def model():
    return SpeechRecognizer(FakeBackend(), "fake")


@pytest.fixture
def clip(tmp_path):
    return write_wav(tmp_path / "clip.wav", tone(1.5))


def test_a_file_object_is_one_recording_named_by_its_file(model, clip):
    with open(clip, "rb") as handle:
        records = model.predict(handle)
    assert [r["text"] for r in records] == ["1.5 s"] and records[0]["duration_s"] == pytest.approx(1.5)
    assert records[0]["path"] == str(clip) and "index" not in records[0]
    with open(clip, "rb") as first, open(clip, "rb") as second:
        assert [r["text"] for r in model.predict([first, second])] == ["1.5 s", "1.5 s"]


def test_a_bytesio_is_read_once_and_left_where_it_was(model, clip):
    import io

    buffer = io.BytesIO(clip.read_bytes())
    first = model.predict(buffer)
    assert [(r["index"], r["text"]) for r in first] == [(1, "1.5 s")] and buffer.tell() == 0
    assert model.predict([tone(0.5), buffer]) == [{**model.predict(tone(0.5))[0]}, {**first[0], "index": 2}]
    with pytest.raises(InputError, match="opened as text; open audio in binary mode"):
        with open(clip, encoding="latin-1") as text:
            model.predict(text)


class Stream:
    """A file object that can only be read forwards, like an HTTP response body or a pipe (no seek, no tell)."""

    def __init__(self, data: bytes):
        self._rest = data

    def read(self, size: int = -1) -> bytes:
        size = len(self._rest) if size is None or size < 0 else size
        taken, self._rest = self._rest[:size], self._rest[size:]
        return taken


def test_a_stream_that_cannot_seek_is_transcribed(model, clip):
    assert [r["text"] for r in model.predict(Stream(clip.read_bytes()))] == ["1.5 s"]


class Polyglot(FakeBackend):
    """A multilingual recogniser that hears French in clips over 0.45 s and English in shorter ones, and says how long
    each clip it decoded was, in either task."""

    kind, languages = "fake-multilingual", ("en", "fr")

    def transcribe(self, waves, batch_size, language=None, task="transcribe"):
        heard = [language or ("fr" if len(w) > 0.45 * 16_000 else "en") for w in waves]
        return [{"text": f"{task} {len(w) / 16_000:.1f} s", "words": [], "language": code}
                for w, code in zip(waves, heard)]


def test_whisper_translation_pass_reads_file_objects_again_and_keeps_ids(tmp_path, monkeypatch):
    import io

    monkeypatch.setattr(recognition, "apertium_mode", lambda source, target: None)  # no pair: Whisper translates
    french = write_wav(tmp_path / "french.wav", tone(1.5))
    model = SpeechRecognizer(Polyglot(), "fake")
    with open(french, "rb") as handle:
        records = model.predict([tone(0.4), io.BytesIO(french.read_bytes()), handle, Stream(french.read_bytes())],
                                target="en")
    assert [(r.get("index") or r.get("path"), r["text"], r.get("transcript")) for r in records] == [
        (1, "transcribe 0.4 s", None), (2, "translate 1.5 s", "transcribe 1.5 s"),
        (str(french), "translate 1.5 s", "transcribe 1.5 s"), (4, "translate 1.5 s", "transcribe 1.5 s")]
    assert [r["translated_by"] for r in records[1:]] == ["whisper"] * 3


def test_file_objects_survive_the_one_by_one_retry_after_a_bad_file(model, clip, tmp_path):
    import io

    from core.protocols import predict_records

    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with open(clip, "rb") as handle:
        inputs = [str(clip), io.BytesIO(clip.read_bytes()), handle, Stream(clip.read_bytes()), str(bad)]
        records = list(predict_records(model, inputs))
    # predict reads each file object once, into memory, and retries one by one from there: even the stream that
    # cannot seek back is transcribed (the retry of core's predict_records re-read it and could not)
    assert [r.get("text") for r in records[:4]] == ["1.5 s"] * 4
    assert [r.get("index") or r.get("path") for r in records] == [str(clip), 2, 3, 4, str(bad)]  # core's ids
    assert "bad.wav is not readable audio" in records[4]["error"]


def test_records_carry_the_ids_core_gives_every_task(model, clip):
    from core.protocols import with_ids

    inputs = [str(clip), clip, clip.read_bytes(), tone(0.5), (tone(0.5, 8_000), 8_000),
              {"array": tone(0.5), "sampling_rate": 16_000, "id": "call-7"}, {"array": tone(0.5), "sampling_rate": 16_000}]
    records = model.predict(inputs)
    ids = [{k: r[k] for k in ("path", "id", "index") if k in r} for r in records]
    assert ids == [{"path": str(clip)}, {"path": str(clip)}, {"index": 3}, {"index": 4}, {"index": 5}, {"id": "call-7"},
                   {"index": 7}]
    assert ids == with_ids(inputs, [{}] * len(inputs))
    assert list(records[0])[0] == "path"  # the id comes first


def test_none_and_other_non_audio_say_what_is_accepted(model):
    for bad in (None, 5, 2.5):
        with pytest.raises(InputError, match="a path, bytes, a file object, a 16 kHz numpy array"):
            model.predict(bad)


def test_a_table_gives_its_audio_or_path_column(model, clip):
    import pandas as pd
    import polars as pl

    for table in (pd.DataFrame({"audio": [str(clip)], "speaker": ["a"]}), pl.DataFrame({"path": [str(clip)]}),
                  pl.DataFrame({"audio": [str(clip), str(clip)]}).lazy()):
        records = model.predict(table)
        assert [r["path"] for r in records] == [str(clip)] * len(records) and records[0]["text"] == "1.5 s"
    for table in (pd.DataFrame({"file": [str(clip)]}), pl.DataFrame({"recording": [str(clip)]})):
        with pytest.raises(InputError, match="no 'audio' column .* nor a 'path' column; it has: (file|recording)"):
            model.predict(table)


def test_a_table_with_an_id_column_names_its_rows_by_it(model, clip):
    """DESIGN: records carry their input's id, a table's id column among them; speech gave each row its path (or its
    index), whatever id column the table had."""
    import pandas as pd
    import polars as pl

    for table in (pl.DataFrame({"id": ["a7", "b2"], "audio": [str(clip), str(clip)]}),
                  pd.DataFrame({"key": ["a7", "b2"], "audio": [str(clip), str(clip)]}),
                  pl.DataFrame({"audio": [str(clip), str(clip)], "ID": ["a7", "b2"]}).lazy()):
        records = model.predict(table)
        assert [list(r)[:2] for r in records] == [["id", "path"]] * 2  # the id first, the file's path beside it
        assert [(r["id"], r["path"], r["text"]) for r in records] == [("a7", str(clip), "1.5 s"), ("b2", str(clip), "1.5 s")]
    arrays = model.predict(pl.DataFrame({"id": [7, 9], "audio": [tone(0.5), tone(0.7)]}))  # no file: no path
    assert [(r["id"], "path" in r, r["text"]) for r in arrays] == [(7, False, "0.5 s"), (9, False, "0.7 s")]
    # a table without an id column: each row still named by its file
    assert [r["path"] for r in model.predict(pl.DataFrame({"audio": [str(clip)], "text": ["x"]}))] == [str(clip)]


def test_batch_size_is_a_whole_number_of_at_least_one(model):
    clips = [tone(0.5), tone(0.6)]
    for bad in (2.5, "4", 0, -1, True):
        with pytest.raises(InputError, match=r"batch_size must be a whole number >= 1, got"):
            model.predict(clips, batch_size=bad)
    model.predict(clips, batch_size=3)
    model.predict(clips)
    assert model.backend_.batch_sizes == [3, SpeechRecognizer.default_batch_size]


def test_module_level_load_is_the_class_load(monkeypatch):
    calls = []
    monkeypatch.setattr(SpeechRecognizer, "load", classmethod(lambda cls, source=None, device="auto": calls.append((source, device))))
    recognition.load("whisper-base", device="cpu")
    recognition.load()
    assert calls == [("whisper-base", "cpu"), (None, "auto")] and "load" in recognition.__all__


def _truncated(tmp_path, seconds=4.0, kept=2.0):
    """A 16-bit WAV whose header declares `seconds` but whose data stops after `kept` (a copy cut short)."""
    whole = write_wav(tmp_path / "whole.wav", tone(seconds))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:44 + int(16_000 * kept) * 2])
    return cut


def test_each_file_is_opened_and_its_header_read_once(model, tmp_path, monkeypatch):
    from speech import audio

    opened, parsed = [], []
    real_open, real_truncation = audio._open, audio.wav_truncation
    monkeypatch.setattr(audio, "_open", lambda source: opened.append(source) or real_open(source))
    monkeypatch.setattr(audio, "wav_truncation", lambda source: parsed.append(source) or real_truncation(source))
    clips = [str(write_wav(tmp_path / f"{n}.wav", tone(0.5 + n / 10))) for n in range(3)]
    cut = str(_truncated(tmp_path))
    records = model.predict([*clips, cut])
    assert opened == parsed == [*clips, cut]
    assert [r["text"] for r in records] == ["0.5 s", "0.6 s", "0.7 s", "2.0 s"]
    assert "declares 4.0 s but the data ends at 2.0 s" in records[-1]["warnings"][0]  # found in the one header read


def test_a_long_truncated_file_is_streamed_with_its_warning(model, tmp_path, monkeypatch):
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 1.0)
    record = model.predict(str(_truncated(tmp_path, 6.0, 3.0)))[0]
    assert record["duration_s"] == pytest.approx(3.0) and record["text"] == "3.0 s"
    assert record["warnings"] == [recognition.truncation_warning(6.0, 3.0)]
    with pytest.raises(InputError, match="lasts 3 s, over the 1 s limit"):  # in-memory audio is never streamed
        from speech.audio import load_audio

        load_audio(_truncated(tmp_path, 6.0, 3.0).read_bytes(), max_seconds=1.0)


def test_truncated_wav_bytes_are_found_like_a_truncated_file(tmp_path):
    from speech.audio import decode_audio, wav_truncation

    cut = _truncated(tmp_path)
    data = cut.read_bytes()
    assert wav_truncation(data) == wav_truncation(bytearray(data)) == wav_truncation(cut) == (4.0, 2.0)
    from_bytes, from_file = decode_audio(data), decode_audio(cut)
    assert from_bytes[1] == from_file[1] == (4.0, 2.0) and (from_bytes[0] == from_file[0]).all()


def _cli_records(monkeypatch, tmp_path, source, capsys, *flags: str) -> tuple[int, list[dict], str]:
    """`verticals predict speech.recognition --input source [flags]` on the fake back-end: exit code, records, stderr."""
    import json

    from core import registry
    from core.cli import main

    monkeypatch.setattr(registry, "load", lambda task, model=None, device="auto": SpeechRecognizer(FakeBackend(), "fake"))
    out = tmp_path / "out.jsonl"
    out.unlink(missing_ok=True)
    code = main(["predict", "speech.recognition", "--input", str(source), "--output", str(out), *flags])
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return code, records, capsys.readouterr().err


def test_cli_folder_of_odd_files_gives_one_clear_record_each(tmp_path, monkeypatch, capsys):
    import numpy as np
    import soundfile as sf

    folder = tmp_path / "in"
    write_wav(folder / "a_tone.wav", tone(0.5))
    (folder / "b_zero.wav").write_bytes(b"")
    stereo = np.stack([tone(1.0, 8_000), tone(1.0, 8_000, 300.0)], axis=1)
    write_wav(folder / "c_stereo8.wav", stereo, 8_000, subtype="PCM_U8")
    sf.write(folder / "d_mp3.wav", tone(1.2, 22_050), 22_050, format="MP3")  # an MP3 behind a .wav name
    (folder / "e_text.wav").write_text("not audio at all")
    (folder / "notes.txt").write_text("a note beside the recordings")
    code, records, err = _cli_records(monkeypatch, tmp_path, folder, capsys)
    assert code == 0 and "Traceback" not in err
    by_name = {Path(r["path"]).name: r for r in records}
    assert sorted(by_name) == ["a_tone.wav", "b_zero.wav", "c_stereo8.wav", "d_mp3.wav", "e_text.wav"]  # no notes.txt
    assert by_name["a_tone.wav"]["text"] == "0.5 s" and by_name["c_stereo8.wav"]["duration_s"] == pytest.approx(1.0)
    assert by_name["d_mp3.wav"]["duration_s"] == pytest.approx(1.2, abs=0.1)
    assert by_name["b_zero.wav"]["error"].startswith("b_zero.wav is empty (0 bytes)")
    assert by_name["e_text.wav"]["error"].startswith("e_text.wav is not readable audio")


def test_cli_manifest_rows_without_audio_are_error_records_with_their_row(tmp_path, monkeypatch, capsys):
    write_wav(tmp_path / "clip.wav", tone(0.5))
    manifest = tmp_path / "list.csv"
    manifest.write_text("audio,text\nclip.wav,a\nmissing.wav,b\n,c\n  ,d\n")
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys)
    assert code == 0 and "Traceback" not in err
    assert [r.get("path") or r.get("row") for r in records] == [str(tmp_path / "clip.wav"), str(tmp_path / "missing.wav"),
                                                                  3, 4]
    assert records[0]["text"] == "0.5 s" and "missing.wav does not exist" in records[1]["error"]
    assert records[2]["error"] == "row 3 of list.csv has no audio path (its 'audio' cell is empty)"
    assert "None" not in records[2]["error"] + records[3]["error"]


def test_cli_manifest_id_column_names_its_records(tmp_path, monkeypatch, capsys):
    """A manifest's id column (or --id) was ignored: its records were named by path; an unknown --id said nothing."""
    write_wav(tmp_path / "clip.wav", tone(0.5))
    manifest = tmp_path / "calls.csv"
    manifest.write_text("id,audio,caller\nr1,clip.wav,ann\nr2,missing.wav,bob\nr3,,cy\n")
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys)
    assert code == 0 and "Traceback" not in err
    clip, missing = str(tmp_path / "clip.wav"), str(tmp_path / "missing.wav")
    assert [{k: r[k] for k in ("id", "path", "row") if k in r} for r in records] == [
        {"id": "r1", "path": clip}, {"id": "r2", "path": missing}, {"id": "r3"}]
    assert records[0]["text"] == "0.5 s" and "missing.wav does not exist" in records[1]["error"]  # still file by file
    assert records[2]["error"] == "row 3 of calls.csv has no audio path (its 'audio' cell is empty)"
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys, "--id", "caller")
    assert code == 0 and [r["id"] for r in records] == ["ann", "bob", "cy"]
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys, "--id", "nobody")
    assert code == 2 and not records and "no id column 'nobody'" in err


def test_cli_a_non_audio_file_says_it_was_read_as_a_manifest(tmp_path, monkeypatch, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk")
    code, records, err = _cli_records(monkeypatch, tmp_path, notes, capsys)
    assert code == 2 and not records and "Traceback" not in err
    assert "notes.txt is not an audio file (.txt), so it was read as a manifest of audio paths" in err


def test_cli_a_manifest_without_an_audio_column_lists_its_columns_and_suggests_column(tmp_path, monkeypatch, capsys):
    """`key,file` said only "missing column(s) audio", though `--column file` works; a `path` column is read as
    predict(table) reads it."""
    write_wav(tmp_path / "a.wav", tone(0.5))
    manifest = tmp_path / "m2.csv"
    manifest.write_text("key,file\nk,a.wav\n")
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys)
    assert code == 2 and not records
    assert "no 'audio' or 'path' column (it has: key, file)" in err and "--column file" in err
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys, "--column", "file")
    assert code == 0 and records[0]["path"] == str(tmp_path / "a.wav")
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys, "--column", "nope")
    assert code == 2 and "no 'nope' column (it has: key, file)" in err and "--column file" in err
    (tmp_path / "p.csv").write_text("path\na.wav\n")
    assert list(SpeechRecognizer.read_inputs(tmp_path / "p.csv")) == [str(tmp_path / "a.wav")]


def test_a_tuple_of_inputs_is_a_sequence_like_a_list_and_only_array_and_rate_is_one_recording(model, tmp_path):
    import numpy as np

    first, second = write_wav(tmp_path / "a.wav", tone(1.5)), write_wav(tmp_path / "b.wav", tone(0.5))
    records = model.predict((str(first), str(second)))  # was "invalid literal for int()": read as (array, rate)
    assert [(r["path"], r["text"]) for r in records] == [(str(first), "1.5 s"), (str(second), "0.5 s")]
    three = model.predict((str(first), str(second), str(first)))  # was "the audio array has dtype <U12"
    assert [r["text"] for r in three] == ["1.5 s", "0.5 s", "1.5 s"]
    assert [r["text"] for r in model.predict((tone(1.0), tone(0.5)))] == ["1.0 s", "0.5 s"]  # two arrays
    for pair in [(tone(1.0, 8000, 300.0), 8000), (tone(1.0, 8000, 300.0), np.int64(8000)),
                 (list(tone(1.0, 8000, 300.0)), 8000)]:
        assert [r["text"] for r in model.predict(pair)] == ["1.0 s"]  # (array, sample_rate): one recording


def test_predict_frame_falls_back_to_a_path_column_as_predict_does(model, clip):
    import polars as pl

    table = pl.DataFrame({"path": [str(clip)]})  # was "the table has no 'audio' column"
    scored = model.predict_frame(table)
    assert scored["path"].to_list() == [str(clip)] and scored["text"].to_list() == ["1.5 s"]
    assert scored["text"].to_list() == [r["text"] for r in model.predict(table)]
    both = model.predict_frame(pl.DataFrame({"audio": [str(clip)], "path": ["elsewhere.wav"]}))
    assert both["text"].to_list() == ["1.5 s"]  # "audio" first, as predict reads it
    with pytest.raises(InputError, match="no 'audio' column .* nor a 'path' column; it has: file"):
        model.predict_frame(pl.DataFrame({"file": [str(clip)]}))


def test_the_silence_warning_names_the_microphone_only_for_a_live_recording(model, tmp_path, monkeypatch):
    """A silent upload was told to 'check the microphone'."""
    import numpy as np

    silent = str(write_wav(tmp_path / "silent.wav", np.zeros(16_000, dtype=np.float32)))
    from_file = model.predict(silent)[0]["warnings"]
    assert from_file == ["the audio is silent or nearly silent (RMS below -60 dBFS); check the file is the recording "
                         "you meant"]
    live = model.predict(Path(silent).read_bytes(), from_microphone=True)[0]["warnings"]
    assert live == ["the recording is silent (RMS below -60 dBFS); check the microphone is connected and not muted"]
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 0.5)  # a long file is streamed: worded as a file too
    assert model.predict(silent)[0]["warnings"] == from_file
    assert not any("microphone" in w for w in model.predict(np.zeros(16_000, dtype=np.float32))[0]["warnings"])


def test_the_clipping_warning_names_the_microphone_only_for_a_live_recording(model, tmp_path, monkeypatch):
    """A clipped upload was told to 'lower the recording gain'; a streamed long file is worded as a file too."""
    import numpy as np

    loud = str(write_wav(tmp_path / "loud.wav", np.ones(16_000, dtype=np.float32)))
    from_file = model.predict(loud)[0]["warnings"]
    assert len(from_file) == 1 and "the file was recorded too loud" in from_file[0] and "gain" not in from_file[0]
    live = model.predict(Path(loud).read_bytes(), from_microphone=True)[0]["warnings"]
    assert len(live) == 1 and "lower the microphone input gain" in live[0]
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 0.5)
    streamed = model.predict(loud)[0]["warnings"]
    assert len(streamed) == 1 and "the file was recorded too loud" in streamed[0]


def test_a_dict_with_an_id_and_its_audio_is_one_recording_named_by_the_id(model, clip, tmp_path):
    """The docstring promised a dict's `id`; `{"id", "audio"}` was refused as an audio array of strings. A missing
    file among the inputs keeps its `path`, as a present one's record does, so records join back on it."""
    records = model.predict([{"id": "u1", "audio": str(clip)}, {"id": "u2", "path": clip.read_bytes()}, str(clip),
                             str(tmp_path / "typo.wav")])
    assert [r.get("id") or r.get("path") for r in records] == ["u1", "u2", str(clip), str(tmp_path / "typo.wav")]
    assert [r.get("text") for r in records[:3]] == ["1.5 s"] * 3 and "typo.wav" in records[3]["error"]


def test_cli_manifest_records_carry_their_row_so_a_file_listed_twice_is_two_records(tmp_path, monkeypatch, capsys):
    """Only an empty cell's error record carried `row`: the two records of a file listed twice were identical."""
    write_wav(tmp_path / "clip.wav", tone(0.5))
    manifest = tmp_path / "twice.csv"
    manifest.write_text("audio,text\nclip.wav,a\n,b\nclip.wav,c\n")
    code, records, err = _cli_records(monkeypatch, tmp_path, manifest, capsys)
    assert code == 0 and "Traceback" not in err
    clip = str(tmp_path / "clip.wav")
    assert [{k: r[k] for k in ("row", "path") if k in r} for r in records] == [
        {"row": 1, "path": clip}, {"row": 2}, {"row": 3, "path": clip}]
    assert records[0]["text"] == records[2]["text"] == "0.5 s" and "error" in records[1]
    assert SpeechRecognizer.read_inputs(manifest).ids[2] == {"row": 3, "path": clip}


def test_evaluate_reads_a_path_column_as_predict_does(model, clip, tmp_path):
    """predict took a manifest whose audio column is `path`; evaluate refused the same file: missing column(s) audio."""
    import polars as pl

    manifest = tmp_path / "scored.csv"
    manifest.write_text("path,text\nclip.wav,1.5 s\n")
    assert SpeechRecognizer.read_data(manifest)["audio"].to_list() == [str(clip)]
    card = model.evaluate(str(manifest))
    assert card["n"] == 1 and card["metrics"]["wer"]["value"] == 0.0
    assert model.evaluate(pl.DataFrame({"path": [str(clip)], "text": ["1.5 s"]}))["metrics"]["wer"]["value"] == 0.0
    (tmp_path / "neither.csv").write_text("file,text\nclip.wav,hi\n")
    with pytest.raises(InputError, match="read from an 'audio' or 'path' column.*--column AUDIO"):
        SpeechRecognizer.read_data(tmp_path / "neither.csv")
    with pytest.raises(InputError, match=r"needs columns audio \(or path\) and text"):
        model.evaluate(pl.DataFrame({"file": [str(clip)], "text": ["hi"]}))


def test_every_card_says_how_audio_is_resampled(model):
    """Only a saved model's card said "soxr HQ": the default's card did not, though a file not at 16 kHz is transcribed
    slightly differently than faster-whisper's own FFmpeg decode does."""
    preprocessing = model.card["preprocessing"]
    assert preprocessing["sample_rate_hz"] == 16_000 and preprocessing["resampler"].startswith("soxr HQ")
    assert "FFmpeg" in preprocessing["resampler"]
    model.card["preprocessing"]["resampler"] = "changed"  # a caller's copy, not the module's
    assert model.card["preprocessing"]["resampler"].startswith("soxr HQ")


def test_a_manifests_training_data_hash_sees_a_swapped_recording(tmp_path):
    """The manifest's bytes stay the same when a recording it lists is replaced; --resume must see the change."""
    from core import jobs

    write_wav(tmp_path / "a.wav", tone(0.5))
    manifest = tmp_path / "list.csv"
    manifest.write_text("audio,text\na.wav,hello\n")
    before = jobs.training_data_hash(SpeechRecognizer, manifest)
    write_wav(tmp_path / "a.wav", tone(0.7))
    after = jobs.training_data_hash(SpeechRecognizer, manifest)
    assert before != after


def test_a_manifest_dataset_moved_whole_keeps_its_training_data_hash(tmp_path):
    import shutil

    from core import jobs

    (tmp_path / "a").mkdir()
    write_wav(tmp_path / "a" / "x.wav", tone(0.5))
    (tmp_path / "a" / "list.csv").write_text("audio,text\nx.wav,hello\n")
    shutil.copytree(tmp_path / "a", tmp_path / "b")

    def digest(folder):
        manifest = folder / "list.csv"
        return jobs.training_data_hash(SpeechRecognizer, manifest)

    assert digest(tmp_path / "a") == digest(tmp_path / "b")
