"""AppTest of the dashboard shell: navigation and the home page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APPS = Path(__file__).resolve().parents[2] / "apps"


def test_home_page_lists_every_task():
    app = AppTest.from_file(str(APPS / "home.py"), default_timeout=60).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert "finance.risk" in set(table["task"]) and len(table) == 10
    defaults = " ".join(str(v) for v in table["embedded default"])
    assert "verticals prepare" not in defaults and "shipped in the repository" in defaults  # the page's words, no CLI


def test_main_navigation_runs_home():
    app = AppTest.from_file(str(APPS / "main.py"), default_timeout=60).run()
    assert not app.exception
    assert any("Verticals" in t.value for t in app.title)


class FakeChainModel:
    """Stands in for every model of the chain: records the recordings it is asked to transcribe."""

    def __init__(self):
        self.heard = []

    def predict(self, inputs, **options):
        self.heard.extend(str(item) for item in inputs)
        return [{"text": "hello", "language": "en", "translation": "hola", "label": "positive", "score": 0.9}]


def test_the_chain_takes_the_recordings_the_speech_page_takes(home, monkeypatch):
    """.opus, .amr and .aiff recordings were refused on Home though the Speech page takes them; a file of another type
    is refused with the Speech page's formats and no '(or a .zip)'."""
    from apps import common

    model = FakeChainModel()
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    for name in ("voice.opus", "memo.amr", "song.aiff"):
        app = AppTest.from_file(str(APPS / "home.py"), default_timeout=60).run()
        app.file_uploader(key="chain-audio").set_value((name, b"\x00" * 64, "application/octet-stream")).run()
        app.button(key="chain-run").click().run()
        assert not app.exception and not app.error, [e.value for e in app.error]
        assert any(heard.endswith(name) for heard in model.heard), model.heard
    for name in ("program.exe", "recordings.zip"):
        app = AppTest.from_file(str(APPS / "home.py"), default_timeout=60).run()
        app.file_uploader(key="chain-audio").set_value((name, b"PK\x05\x06" + b"\x00" * 18, "application/zip")).run()
        app.button(key="chain-run").click().run()
        errors = [e.value.replace("\\", "") for e in app.error]
        assert errors and all(".opus" in e and ".amr" in e and "zip)" not in e for e in errors), errors


def test_the_chain_names_an_unreadable_recording_and_the_uploaders_formats(home, monkeypatch):
    """The package's 'pass a WAV, FLAC, OGG, MP3 or M4A file' for an unreadable upload: the chain says to upload one of
    the formats its uploader takes."""
    from apps import common
    from core.errors import InputError

    class Unreadable(FakeChainModel):
        def predict(self, inputs, **options):
            raise InputError("voice.opus is not readable audio (bad header); pass a WAV, FLAC, OGG, MP3 or M4A file")

    monkeypatch.setattr(common, "load_model", lambda task, source: Unreadable())
    app = AppTest.from_file(str(APPS / "home.py"), default_timeout=60).run()
    app.file_uploader(key="chain-audio").set_value(("voice.opus", b"OggS" + b"\x00" * 60, "audio/ogg")).run()
    app.button(key="chain-run").click().run()
    errors = [e.value.replace("\\", "") for e in app.error]
    assert errors == ["voice.opus is not readable audio (bad header); upload a recording as one of: "
                      + ", ".join(sorted(common.AUDIO_SUFFIXES))], errors
