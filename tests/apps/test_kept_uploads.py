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
