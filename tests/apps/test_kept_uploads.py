"""Uploads a session keeps (apps.common.kept_upload): at most MAX_KEPT_UPLOADS, and the file of one dropped from that
list is deleted from the session folder, unless an unfinished training reads it; nothing else is ever deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402


def _page():
    import streamlit as st

    from apps import common

    for key in ("kept", "other"):
        upload = st.file_uploader(key, key=key)
        if upload is not None:
            st.text(f"{key}={common.kept_upload(upload)}")


def _app(tmp_path) -> AppTest:
    app = AppTest.from_function(_page, default_timeout=30)
    app.session_state["_verticals_session_dir"] = str(tmp_path / "session")
    (tmp_path / "session").mkdir()
    return app.run()


def _upload(app, key: str, name: str) -> Path:
    app.file_uploader(key=key).set_value((name, f"text,label\n{name},1\n".encode(), "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    return Path(next(t.value for t in app.text if t.value.startswith(f"{key}=")).split("=", 1)[1])


def test_a_dropped_upload_is_deleted_and_the_kept_ones_stay(home, tmp_path):
    from apps.common import MAX_KEPT_UPLOADS

    app = _app(tmp_path)
    paths = [_upload(app, "other", f"u{number}.csv") for number in range(MAX_KEPT_UPLOADS + 2)]
    assert all(path.parent.parent == tmp_path / "session" for path in paths)
    assert [path.exists() for path in paths] == [False, False] + [True] * MAX_KEPT_UPLOADS
    assert not paths[0].parent.exists()  # its folder too
    assert sorted(p.name for p in (tmp_path / "session").iterdir()) == sorted(p.parent.name for p in paths[2:])


def test_an_upload_in_use_is_not_the_one_dropped(home, tmp_path):
    """The upload every rerun reads (another uploader's) keeps its saved copy; the upload used longest ago goes."""
    from apps.common import MAX_KEPT_UPLOADS

    app = _app(tmp_path)
    kept = _upload(app, "kept", "kept.csv")
    others = [_upload(app, "other", f"u{number}.csv") for number in range(MAX_KEPT_UPLOADS)]
    assert kept.exists() and Path(next(t.value for t in app.text if t.value.startswith("kept="))[5:]) == kept
    assert not others[0].exists() and all(path.exists() for path in others[1:])


def test_an_upload_an_unfinished_training_reads_is_kept(home, tmp_path, monkeypatch):
    from apps.common import MAX_KEPT_UPLOADS
    from core import jobs

    reading: list[Path] = []
    monkeypatch.setattr(jobs, "list_jobs", lambda: [
        jobs.Job(id="queued", task="nlp.sentiment", status="queued", spec={"data": str(path)}, created="")
        for path in reading])
    app = _app(tmp_path)
    paths = [_upload(app, "other", "u0.csv")]
    reading.append(paths[0])
    paths += [_upload(app, "other", f"u{number}.csv") for number in range(1, MAX_KEPT_UPLOADS + 2)]
    assert paths[0].exists() and not paths[1].exists() and all(path.exists() for path in paths[2:])


def test_only_the_app_s_own_upload_folders_are_deleted(home, tmp_path):
    """Entries naming a file outside the session folder, or a folder there the app did not make, drop from the list
    without their files being deleted."""
    from apps.common import MAX_KEPT_UPLOADS

    outside = tmp_path / "elsewhere" / "data.csv"
    stranger = tmp_path / "session" / "not-an-upload" / "data.csv"
    for path in (outside, stranger):
        path.parent.mkdir(parents=True)
        path.write_text("text,label\nkeep me,1\n")
    planted = {("a", "a", 1, None): {"path": outside}, ("b", "b", 1, None): {"path": stranger}}
    app = AppTest.from_function(_page, default_timeout=30)
    app.session_state["_verticals_session_dir"] = str(tmp_path / "session")
    app.session_state["_verticals_uploads"] = planted
    app.run()
    paths = [_upload(app, "other", f"u{number}.csv") for number in range(MAX_KEPT_UPLOADS)]
    assert not {("a", "a", 1, None), ("b", "b", 1, None)} & set(app.session_state["_verticals_uploads"])  # dropped
    assert outside.read_text() and stranger.read_text()
    assert all(path.exists() for path in paths)


# --- every page saves its uploads through kept_upload ------------------------------------------------------------------

APPS = Path(__file__).resolve().parents[2] / "apps"


def test_no_page_writes_an_upload_of_its_own():
    """A page that called save_upload itself wrote a new folder on each click or rerun, never deleted."""
    import re

    direct = {page.name: re.findall(r".*\bsave_upload\b.*", page.read_text())
              for page in APPS.glob("*.py") if page.name != "common.py"}
    assert not {name: lines for name, lines in direct.items() if lines}


def _folders(session: Path) -> list[str]:
    return sorted(path.name for path in session.iterdir())


def test_qa_clicks_and_a_second_upload_of_the_same_file_reuse_one_saved_copy(home, tmp_path, monkeypatch):
    from tests.apps.test_bad_uploads import _preimport, _upload
    from tests.apps.test_page_outputs import FakeQA, _use

    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    _use(monkeypatch, FakeQA())
    session = tmp_path / "session"
    session.mkdir()
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60)
    app.session_state["_verticals_session_dir"] = str(session)
    app.session_state["nlp-task"] = "Extractive QA"
    app.run()
    table = b"question,context\nwho?,Ann wrote it.\nwhen?,In May.\n"
    _upload(app, "nlp-qa-upload", "questions.csv", table, "text/csv")
    for _ in range(3):
        app.button(key="nlp-qa-run").click().run()
        assert not app.exception and not app.error, [e.value for e in app.error]
    assert len(_folders(session)) == 1
    _upload(app, "nlp-qa-upload", "questions.csv", table, "text/csv")  # the same file again: a new upload, same bytes
    app.button(key="nlp-qa-run").click().run()
    assert len(_folders(session)) == 1
    _upload(app, "nlp-qa-upload", "questions.csv", table + b"why?,No reason.\n", "text/csv")  # other bytes: saved
    app.button(key="nlp-qa-run").click().run()
    assert not app.exception and len(_folders(session)) == 2


def test_speech_reruns_reuse_one_saved_copy(home, tmp_path, monkeypatch):
    import io
    import wave

    from tests.apps.test_bad_uploads import _preimport, _upload
    from tests.apps.test_page_outputs import FakeSpeech, _use

    _preimport("speech", "speech.audio")
    _use(monkeypatch, FakeSpeech())
    session = tmp_path / "session"
    session.mkdir()
    app = AppTest.from_file(str(APPS / "speech.py"), default_timeout=60)
    app.session_state["_verticals_session_dir"] = str(session)
    app.session_state["speech-input"] = "Upload"
    app.run()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sink:
        sink.setnchannels(1), sink.setsampwidth(2), sink.setframerate(16000), sink.writeframes(b"\x00\x10" * 1600)
    _upload(app, "speech-upload", "talk.wav", buffer.getvalue(), "audio/wav")
    for _ in range(3):
        app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert len(_folders(session)) == 1


def _csv_page():
    import streamlit as st

    from apps import common

    upload = st.file_uploader("table", key="table")
    if upload is not None:
        path = common.run_safely(common.kept_upload, upload, {".csv"})
        st.text(f"table={path}")


@pytest.mark.parametrize("name, data", [
    ("data.zip", b"PK\x03\x04 this is no archive"),  # a broken zip
    ("slip.zip", None),  # a zip with an entry outside its folder
    ("data.exe", b"text,label\nfine,1\n"),  # a refused type
])
def test_a_failed_save_leaves_no_folder(home, tmp_path, name, data):
    """A save that fails said why and left an empty (or half-extracted) folder that nothing deleted."""
    import io
    import zipfile

    if data is None:
        slip = io.BytesIO()
        with zipfile.ZipFile(slip, "w") as archive:
            archive.writestr("fine.csv", "x\n1\n")
            archive.writestr("../../escape.csv", "x\n")
        data = slip.getvalue()
    session = tmp_path / "session"
    session.mkdir()
    app = AppTest.from_function(_csv_page, default_timeout=30)
    app.session_state["_verticals_session_dir"] = str(session)
    app.run()
    app.file_uploader(key="table").set_value((name, data, "application/octet-stream")).run()
    assert not app.exception and app.error and [t.value for t in app.text] == ["table=None"]
    assert _folders(session) == []
    app.file_uploader(key="table").set_value(("good.csv", b"text,label\nfine,1\n", "text/csv")).run()
    assert len(_folders(session)) == 1
