"""speech.recognition: data layouts, the compact from-scratch model, long-audio streaming, save/load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.artifacts import read_card
from core.errors import InputError, NotFittedError
from speech import recognition
from speech.recognition import SpeechRecognizer, normalize_text, target_text
from tests.speech.helpers import tiny_wav2vec2, tone, write_manifest, write_wav

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech.recognition"
TINY = dict(epochs=1, batch_size=4, lr=3e-3, n_mels=32, d_model=32, num_layers=1, num_heads=2, ffn_dim=64, kernel_size=7,
            freq_mask_width=4, time_mask_width=5, validation_fraction=0.0)


@pytest.fixture(scope="module")
def compact(tmp_path_factory):
    """A compact Conformer-CTC trained for a few steps through for_training + fit (the `verticals train` path)."""
    folder = tmp_path_factory.mktemp("compact")
    manifest = write_manifest(folder / "data", ["yes", "no", "up", "down", "go", "stop", "left", "right"])
    model = SpeechRecognizer.for_training(device="cpu")
    with pytest.raises(NotFittedError):
        model.predict([tone(0.5)])
    config = SpeechRecognizer.Config(**{**TINY, "epochs": 2, "validation_speakers": ("s1",)})
    model.fit(manifest, config, run_dir=folder / "run")
    return model, folder


def test_text_normalisation_is_explicit():
    assert normalize_text("The fifteenth century, Mr. Smith!") == "the 15th century mister smith"
    assert normalize_text("Zero.") == normalize_text("zero") == "0"
    assert target_text("Hello, World!  It's") == "hello world it's"


def test_manifest_layouts(tmp_path):
    manifest = write_manifest(tmp_path / "m", ["hello", "world"])
    frame = SpeechRecognizer.read_data(manifest)
    assert frame.columns == ["audio", "text", "speaker"] and frame.height == 2 and Path(frame["audio"][0]).is_file()
    jsonl = tmp_path / "m" / "data.jsonl"
    jsonl.write_text('{"audio": "clips/0.wav", "text": "hello"}\n')
    assert SpeechRecognizer.read_data(jsonl)["text"].to_list() == ["hello"]
    escape = tmp_path / "m" / "escape.csv"
    escape.write_text("audio,text\n../../etc/passwd,hi\n")
    with pytest.raises(InputError, match="leaves"):
        SpeechRecognizer.read_data(escape)
    wrong = tmp_path / "m" / "wrong.csv"
    wrong.write_text("path,label\na.wav,hi\n")
    with pytest.raises(InputError, match="missing column"):
        SpeechRecognizer.read_data(wrong)
    assert SpeechRecognizer.read_data(wrong, column="path", target="label").height == 1
    with pytest.raises(InputError, match="holds 4 tables .*say which is the manifest"):
        SpeechRecognizer.read_data(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="recognise"):
        SpeechRecognizer.read_data(tmp_path / "empty")


def test_an_empty_manifest_cell_is_named_and_check_data_counts_transcripts_empty_once_normalised(tmp_path):
    """"row 1: empty 'audio' or 'text'" did not say which; empty_transcripts counted what a manifest never let through."""
    manifest = write_manifest(tmp_path, ["hello", "world"])
    for rows, message in (("clips/0.wav,", "row 1: the 'text' cell is empty"),
                          ("clips/0.wav,hi\nclips/1.wav,   ", "row 2: the 'text' cell is empty"),
                          (",hi", "row 1: the 'audio' cell is empty"),
                          (" , ", "row 1: the 'audio' and 'text' cells are empty")):
        manifest.write_text(f"audio,text\n{rows}\n")
        with pytest.raises(InputError, match=message):
            SpeechRecognizer.read_data(manifest)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("file,transcript\nclips/0.wav,hi\n")
    with pytest.raises(InputError, match="name the columns with --column AUDIO --target TEXT"):
        SpeechRecognizer.read_data(wrong)
    manifest.write_text("audio,text\nclips/0.wav,hello\nclips/1.wav,...\nclips/0.wav,um\n")
    report = SpeechRecognizer.check_data(manifest)
    assert report["empty_transcripts"] == 2 and not report["ok"]
    assert report["problems"] == ["row 2: the transcript '...' is empty once normalised",
                                  "row 3: the transcript 'um' is empty once normalised"]
    manifest.write_text("audio,text\nclips/0.wav,hello\n")
    assert SpeechRecognizer.check_data(manifest)["empty_transcripts"] == 0


def test_a_folder_with_one_table_reads_it_as_the_manifest_whatever_its_name(tmp_path):
    manifest = write_manifest(tmp_path / "zip", ["hello", "world"])
    manifest.rename(manifest.with_name("my_clips.csv"))
    (tmp_path / "zip" / "._my_clips.csv").write_text("AppleDouble")  # hidden litter is not a second table
    assert SpeechRecognizer.read_data(tmp_path / "zip")["text"].to_list() == ["hello", "world"]


def test_ljspeech_librispeech_and_digit_layouts(tmp_path):
    lj = tmp_path / "lj"
    write_wav(lj / "wavs" / "LJ001-0001.wav", tone(0.3, 22_050), 22_050)
    (lj / "metadata.csv").write_text("LJ001-0001|Printing, in 1455|Printing, in fourteen fifty-five\n")
    frame = SpeechRecognizer.read_data(lj)
    assert frame["text"].to_list() == ["Printing, in fourteen fifty-five"]
    libri = tmp_path / "libri" / "19" / "198"
    write_wav(libri / "19-198-0001.flac", tone(0.3), 16_000)
    (libri / "19-198.trans.txt").write_text("19-198-0001 NORTHANGER ABBEY\n")
    frame = SpeechRecognizer.read_data(tmp_path / "libri")
    assert frame["text"].to_list() == ["NORTHANGER ABBEY"] and frame["speaker"].to_list() == ["19"]
    digits = tmp_path / "fsdd" / "recordings"
    write_wav(digits / "7_theo_0.wav", tone(0.3, 8_000), 8_000)
    write_wav(digits / "0_jackson_3.wav", tone(0.3, 8_000), 8_000)
    frame = SpeechRecognizer.read_data(tmp_path / "fsdd")
    assert sorted(zip(frame["text"], frame["speaker"])) == [("seven", "theo"), ("zero", "jackson")]
    report = SpeechRecognizer.check_data(tmp_path / "fsdd")
    assert report["ok"] and report["n"] == 2 and report["speakers"] == 2


def test_compact_model_trains_predicts_and_round_trips(compact, tmp_path):
    model, folder = compact
    assert (folder / "run" / "metrics.jsonl").is_file()
    clips = [tone(0.7, frequency=500.0), tone(1.3, frequency=250.0, seed=3)]
    records = model.predict(clips, batch_size=2)
    assert [set(r) >= {"text", "words", "duration_s", "warnings"} for r in records] == [True, True]
    assert [r["index"] for r in records] == [1, 2]  # each record names its input
    reversed_ = model.predict(clips[::-1], batch_size=1)[::-1]
    assert [{**r, "index": 0} for r in records] == [{**r, "index": 0} for r in reversed_]  # batch composition: same text
    card = model.card
    assert card["backend"] == "compact" and card["training"]["validation_speakers"] == ["s1"]
    assert card["constructor_args"]["d_model"] == 32 and card["vocabulary"][0] == "<blank>"
    saved = model.save(tmp_path / "compact")
    assert (saved / "model.safetensors").is_file()
    stored = read_card(saved, task="speech.recognition")
    assert stored["normalisation"] and stored["training"]["data_hash"] and stored["preprocessing"]["sample_rate_hz"] == 16_000
    reloaded = SpeechRecognizer.load(saved, device="cpu")
    assert json.dumps(reloaded.predict(clips)) == json.dumps(records)
    card = reloaded.evaluate(folder / "data" / "manifest.csv")
    assert {"wer", "cer", "real_time_factor"} <= set(card["metrics"]) and card["normalisation"]


def test_evaluate_card_plots_wer_by_utterance(compact):
    import jiwer

    pytest.importorskip("plotly")
    pytest.importorskip("streamlit")
    from apps.plots import figure

    model, folder = compact
    card = model.evaluate(folder / "data" / "manifest.csv")
    json.dumps(card, allow_nan=False)  # the card travels as JSON
    spec = card["plots"]["WER by utterance"]
    assert spec["kind"] == "bars" and spec["value_label"] == "WER"
    assert sorted(spec["labels"]) == sorted(f"{i}.wav" for i in range(8))  # file names, no folders
    assert spec["values"] == sorted(spec["values"], reverse=True)  # worst first
    worst = card["worst_utterances"]
    assert 0 < len(worst) <= 10 and [r["wer"] for r in worst] == sorted((r["wer"] for r in worst), reverse=True)
    by_name = dict(zip(spec["labels"], spec["values"]))
    for row in worst:
        assert set(row) == {"audio", "reference", "hypothesis", "wer"} and row["wer"] > 0
        assert row["wer"] == pytest.approx(jiwer.wer(row["reference"], row["hypothesis"]), abs=1e-4)
        assert by_name[row["audio"]] == pytest.approx(row["wer"], abs=1e-4)
    assert figure("WER by utterance", spec) is not None  # the dashboard can draw it


def test_utterance_labels_are_names_or_rows():
    plots, worst = recognition._utterance_errors(["a/x.wav", "b/x.wav", np.zeros(4)], ["one two", "three", "four"],
                                                 ["one", "three", "for"])
    spec = plots["WER by utterance"]
    assert spec["labels"] == ["row 3", "x.wav (row 1)", "x.wav (row 2)"] and spec["values"] == [1.0, 0.5, 0.0]
    assert [r["audio"] for r in worst] == ["row 3", "x.wav (row 1)"]


def test_compact_fit_resumes_and_refuses_bad_data(compact, tmp_path):
    model, folder = compact
    with pytest.raises(InputError):
        model.fit(tmp_path / "nope.csv")
    bad = write_manifest(tmp_path / "bad", ["hi", "there"])
    (tmp_path / "bad" / "clips" / "0.wav").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        model.fit(bad, SpeechRecognizer.Config(**TINY))
    # Resuming a finished run continues from its checkpoint and does not crash.
    again = SpeechRecognizer.for_training(device="cpu")
    config = SpeechRecognizer.Config(**{**TINY, "max_steps": 2})
    again.fit(folder / "data" / "manifest.csv", config, run_dir=tmp_path / "run")
    again.fit(folder / "data" / "manifest.csv", config, run_dir=tmp_path / "run", resume=True)
    assert again.card["training"]["steps"] == 2


def test_long_file_is_streamed_and_matches_whole_decode(compact, tmp_path, monkeypatch):
    model, _ = compact
    long = write_wav(tmp_path / "long.wav", np.concatenate([tone(20.0, seed=i, frequency=200.0 + 50 * i) for i in range(3)]))
    whole = model.predict([str(long)])[0]
    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 10.0)
    streamed = model.predict([str(long)])[0]
    assert streamed["duration_s"] == whole["duration_s"] == 60.0
    assert streamed["text"] == whole["text"] and streamed["words"] == whole["words"]


def test_wav2vec2_ctc_batches_long_audio_and_fine_tunes(tmp_path):
    network, processor = tiny_wav2vec2(tmp_path)
    model = SpeechRecognizer.from_transformers(network, processor, name="tiny", device="cpu")
    clips = [tone(0.5), tone(45.0, seed=1)]  # the second spans three 20 s windows
    records = model.predict(clips, batch_size=2)
    assert records[1]["duration_s"] == 45.0
    assert all(w["start_s"] <= w["end_s"] and 0 <= w["confidence"] <= 1 for r in records for w in r["words"])
    manifest = write_manifest(tmp_path / "d", ["yes", "no", "up", "down"])
    model.fit(manifest, SpeechRecognizer.Config(max_steps=2, batch_size=2, lr=1e-4, validation_fraction=0.0))
    saved = model.save(tmp_path / "ctc")
    from transformers import AutoModelForCTC, AutoProcessor

    AutoModelForCTC.from_pretrained(saved), AutoProcessor.from_pretrained(saved)  # usable without Verticals
    assert SpeechRecognizer.load(saved, device="cpu").predict(clips[:1]) == model.predict(clips[:1])


def test_missing_models_and_untrainable_default(tmp_path):
    from core.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError):
        SpeechRecognizer.load(tmp_path / "absent")
    with pytest.raises(ModelNotFoundError):
        SpeechRecognizer.load("no-such-org/no-such-asr-model")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ModelNotFoundError):
        SpeechRecognizer.load(tmp_path / "junk")


@pytest.mark.slow
def test_embedded_default_on_ljspeech_subset():
    if not (SHARED / "LJSpeech_subset").is_dir():
        pytest.skip("shared LJSpeech subset not present")
    model = SpeechRecognizer.load(device="cpu")
    card = model.evaluate(SHARED / "LJSpeech_subset")
    assert card["n"] == 8 and card["metrics"]["wer"]["value"] < 0.1
    record = model.predict([str(SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav")])[0]
    assert record["text"].lower().startswith("in being") and all(0 <= w["confidence"] <= 1 for w in record["words"])
    with pytest.raises(InputError, match="cannot be trained"):
        model.fit(SHARED / "LJSpeech_subset")
    saved = model.save(Path(os.environ["VERTICALS_HOME"]) / "whisper-default")
    # the weights keep CTranslate2's own name, so faster-whisper opens the folder as it is (core accepts a model.bin
    # whose header is CTranslate2's, and no other *.bin)
    assert [p.name for p in saved.glob("*.bin")] == ["model.bin"]
    assert SpeechRecognizer.load(saved).predict([record_path := str(SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav")])[0]["text"] == record["text"], record_path


def test_transformers_whisper_predicts_fine_tunes_and_round_trips(tmp_path):
    from tests.speech.helpers import tiny_whisper

    network, processor = tiny_whisper()
    model = SpeechRecognizer.from_transformers(network, processor, name="tiny-whisper", device="cpu")
    model.backend_.max_new_tokens = 4
    clips = [tone(0.5), tone(31.0, seed=2)]  # the second spans two 30 s windows
    records = model.predict(clips, batch_size=2)
    assert len(records) == 2 and all(0 <= w["confidence"] <= 1 for r in records for w in r["words"])
    manifest = write_manifest(tmp_path / "d", ["yes", "no"])
    model.fit(manifest, SpeechRecognizer.Config(max_steps=1, batch_size=2, lr=1e-5, validation_fraction=0.0))
    saved = model.save(tmp_path / "whisper")
    reloaded = SpeechRecognizer.load(saved, device="cpu")
    reloaded.backend_.max_new_tokens = 4
    assert reloaded.card["backend"] == "hf-whisper"
    assert reloaded.predict(clips[:1]) == model.predict(clips[:1])


def test_one_hour_file_transcribes_block_by_block(compact, tmp_path):
    """predict() on a 1-hour 8 kHz file (written in blocks) streams it: decoded audio never held whole."""
    import tracemalloc

    import soundfile as sf

    model, _ = compact
    path = tmp_path / "hour.wav"
    block = (tone(60.0, 8_000, 300.0) * 32767).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=8_000, channels=1, subtype="PCM_16") as handle:
        for _ in range(60):
            handle.write(block)
    tracemalloc.start()
    try:
        record = model.predict([str(path)])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record["duration_s"] == pytest.approx(3600.0, abs=0.01)
    assert all(record["words"][i]["start_s"] <= record["words"][i + 1]["start_s"] for i in range(len(record["words"]) - 1))
    assert peak / 2**20 < 64, f"peak traced memory {peak / 2**20:.0f} MiB; the decoded hour would be 220 MiB"


@pytest.mark.slow
def test_embedded_default_reads_48k_stereo_24bit(tmp_path):
    if not (SHARED / "LJSpeech_subset").is_dir():
        pytest.skip("shared LJSpeech subset not present")
    import soundfile as sf
    import soxr

    original = SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav"
    samples, rate = sf.read(original, dtype="float32")
    high = soxr.resample(samples, rate, 48_000)
    converted = write_wav(tmp_path / "hi.wav", np.stack([high, high], axis=1), 48_000, subtype="PCM_24")
    model = SpeechRecognizer.load(device="cpu")
    first, second = model.predict([str(original), str(converted)])
    assert normalize_text(second["text"]) == normalize_text(first["text"]) == "in being comparatively modern"


def test_the_cards_usage_transcribes_a_ctc_folder_with_transformers_alone_as_predict_does(tmp_path):
    """card.json's `usage` runs as written, folder a str, without this product, and gives predict's text."""
    from tests.common import run_usage
    from tests.speech.helpers import tiny_wav2vec2, tone, write_wav

    model = SpeechRecognizer.from_transformers(*tiny_wav2vec2(tmp_path), device="cpu")
    folder = model.save(tmp_path / "saved")
    clips = [str(write_wav(tmp_path / f"{i}.wav", tone(0.6 + 0.3 * i, seed=i))) for i in range(2)]
    plain = run_usage(str(folder), audio=clips)
    assert [p["text"] for p in plain] == [r["text"] for r in model.predict(clips)]


def test_wer_uses_whispers_british_to_american_spelling_map():
    """The English normaliser had no spelling map: a British reference ("colour") against Whisper's American output
    ("color") was counted as an error, unlike Whisper's own scoring."""
    import hashlib

    class Says:
        kind, chunk_seconds, trainable, ready, languages = "fake", 30.0, False, True, None

        def transcribe(self, waves, batch_size):
            return [{"text": "The color of the armor was gray; we analyzed the program.", "words": []} for _ in waves]

        def card_fields(self):
            return {}

    assert normalize_text("colour") == normalize_text("color") == "color"
    model = SpeechRecognizer(Says(), "fake")
    card = model.evaluate([(tone(1.0), "The colour of the armour was grey; we analysed the programme.")])
    assert card["metrics"]["wer"]["value"] == 0.0 and card["metrics"]["cer"]["value"] == 0.0
    assert "spelling map" in card["normalisation"] and "no spelling map" not in card["normalisation"]
    assert hashlib.sha256(recognition.SPELLING_MAP.read_bytes()).hexdigest() == recognition.SPELLING_MAP_SHA256
