"""The Retrain tab (apps.common.retrain_tab): a saved model is never replaced without the user's say-so, default
names never collide, list overrides reach the job whole, and job errors name no server folder."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core import jobs  # noqa: E402
from core.artifacts import models_dir, promote_model, save_model_dir  # noqa: E402

TASK = "finance.risk"
CSV = b"a,b,Status\n1,2,good\n3,4,bad\n"


def _retrain_page():
    from apps import common

    common.retrain_tab("finance.risk")


@pytest.fixture()
def started(tmp_path, monkeypatch):
    """A fresh registry; start_job records what it was asked instead of training."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    calls, ids = [], itertools.count()

    def start_job(task, data, out=None, base=None, overrides=None, options=None, name=None, replace=False):
        calls.append({"task": task, "name": name, "overrides": overrides, "data": Path(data)})
        return jobs.Job(id=f"job-{next(ids)}", task=task, status="queued", spec={}, created="")

    monkeypatch.setattr(jobs, "start_job", start_job)
    return calls


def _start(app, name: str = "", overrides: str = ""):
    app.text_input(key=f"{TASK}-train-name").set_value(name)
    app.text_input(key=f"{TASK}-train-overrides").set_value(overrides)
    app.file_uploader(key=f"{TASK}-train-upload").set_value(("train.csv", CSV, "text/csv")).run()
    return app.button(key=f"{TASK}-train-start").click().run()


def _page():
    return AppTest.from_function(_retrain_page, default_timeout=60).run()


def test_a_taken_name_is_refused_until_the_user_ticks_replace(started):
    mine = save_model_dir(models_dir() / "mine", {"task": TASK, "family": "logistic"})
    promote_model(TASK, mine)
    app = _start(_page(), "mine")
    assert not app.exception and not started, started
    assert any("already exists" in _plain(e.value) and "mine" in _plain(e.value) for e in app.error), [e.value for e in app.error]
    assert any("dashboard default" in w.value for w in app.warning), [w.value for w in app.warning]
    assert (mine / "card.json").is_file()
    app.checkbox(key=f"{TASK}-train-replace-mine").check().run()
    app.button(key=f"{TASK}-train-start").click().run()
    assert not app.exception and [c["name"] for c in started] == ["mine"]


def test_a_name_held_by_another_task_or_a_running_job_is_refused(started, monkeypatch):
    save_model_dir(models_dir() / "seg", {"task": "medical.segmentation"})
    app = _start(_page(), "seg")
    assert not started and any("medical.segmentation" in _plain(e.value) for e in app.error)
    running = jobs.Job(id="busy-job", task=TASK, status="running", spec={}, created="", out=str(models_dir() / "busy"))
    monkeypatch.setattr(jobs, "list_jobs", lambda: [running])
    app = _start(_page(), "busy")
    assert not app.exception and not started
    assert any("still running" in e.value for e in app.error), [e.value for e in app.error]


def test_default_names_are_unique_within_the_same_second(started):
    app = _page()
    for _ in range(3):
        _start(app)
    names = [c["name"] for c in started]
    assert not app.exception and len(names) == 3 and len(set(names)) == 3, names
    assert all(n.startswith("finance-risk-") and len(n.split("-")) == 5 for n in names), names  # date, time, suffix


@pytest.mark.parametrize("text, expected", [
    ('family=logistic, drop=["Age", "Job"]', {"family": "logistic", "drop": '["Age", "Job"]'}),
    ('validation_speakers=["theo", "ann"]', {"validation_speakers": '["theo", "ann"]'}),
    ("epochs=2, batch_size=16", {"epochs": "2", "batch_size": "16"}),
])
def test_list_overrides_reach_the_job_whole(started, text, expected):
    app = _start(_page(), overrides=text)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert started[-1]["overrides"] == expected


def test_a_broken_override_says_how_to_write_lists(started):
    app = _start(_page(), overrides='drop=["Age", "Job"')
    assert not started and any("is missing" in _plain(e.value) and "drop=[" in _plain(e.value) for e in app.error)


def test_job_errors_name_the_upload_not_the_server_folder(started, monkeypatch):
    import tempfile

    folder = f"{tempfile.gettempdir()}/verticals-session-qwcu40_q/6d28c88631d7"
    failed = jobs.Job(id="failed-job", task=TASK, status="failed", spec={}, created="",
                      error=f"{folder}/cat holds no images; put them in class folders; see {folder}/cat/readme.txt")
    monkeypatch.setattr(jobs, "list_jobs", lambda: [failed])
    app = _page()
    errors = [_plain(e.value) for e in app.error]
    assert errors == ["cat holds no images; put them in class folders; see cat/readme.txt"], errors


def test_job_errors_show_the_data_s_values_as_typed(started, monkeypatch):
    """A job's error quoting a column named like Markdown shows the name, not a link or bold text."""
    failed = jobs.Job(id="failed-job", task=TASK, status="failed", spec={}, created="",
                      error="the target column '[x](http://evil) **y**' holds one class")
    monkeypatch.setattr(jobs, "list_jobs", lambda: [failed])
    errors = [e.value for e in _page().error]
    assert len(errors) == 1 and "[x](" not in errors[0] and "**" not in errors[0], errors
    assert _plain(errors[0]) == "the target column '[x](http://evil) **y**' holds one class", errors


def _plain(markdown: str) -> str:
    """Markdown as it reads on screen: its escapes dropped."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def test_a_model_name_shows_as_named(started):
    """Names keep '_' (core.jobs.model_name): __x__ is named as it is, not in bold, in the warning, box and success."""
    save_model_dir(models_dir() / "__x__", {"task": TASK, "family": "logistic"})
    app = _start(_page(), "__x__")
    assert any(w.value.startswith(r"A saved model named \_\_x\_\_ already exists") for w in app.warning), [
        w.value for w in app.warning]
    box = app.checkbox(key=f"{TASK}-train-replace-__x__")
    assert box.label == r"Replace the existing model \_\_x\_\_"
    box.check().run()
    app.button(key=f"{TASK}-train-start").click().run()
    assert [s.value for s in app.success] == [r"Training started; the model will be saved as \_\_x\_\_."]


@pytest.mark.parametrize("status, said", [("succeeded", "the new model is kept"), ("cancelled", "the registry is as it was")])
def test_a_cancel_is_said_by_what_is_on_disk_without_the_server_folder(started, monkeypatch, tmp_path, status, said):
    """core.jobs settles a cancel by the disk (a cancel that came after the save is `succeeded` with a note)."""
    job = jobs.Job(id="late-cancel", task=TASK, status=status, spec={}, created="", out=str(tmp_path / "models" / "m"),
                   note=f"the cancel came after the model was saved to {tmp_path}/models/m; the new model is kept")
    monkeypatch.setattr(jobs, "list_jobs", lambda: [job])
    shown = [i.value for i in _page().info]
    assert any(said in text for text in shown) and not any(str(tmp_path) in text for text in shown), shown
