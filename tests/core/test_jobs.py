"""Background jobs: a training job runs in its own process, reports progress, lands in the registry, can be cancelled."""

import dataclasses
import json
import time
from pathlib import Path

import pytest

from core import jobs
from core.artifacts import list_saved_models, save_model_dir
from core.errors import InputError



def _wait(job_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = jobs.get_job(job_id)
        if job.done:
            return job
        time.sleep(0.3)
    raise AssertionError("job did not finish")


def test_failed_job_reports_reason(tmp_path):
    job = jobs.start_job("finance.risk", tmp_path / "missing.csv", name="never")
    job = _wait(job.id)
    assert job.status == "failed" and "does not exist" in job.error
    assert not (tmp_path / "never").exists()


def test_cancel_marks_job_and_unknown_job():
    job = jobs.start_job("finance.risk", "/no/such.csv", name="cancelled")
    cancelled = jobs.cancel_job(job.id)
    assert cancelled.status in {"cancelled", "failed"}
    with pytest.raises(Exception):
        jobs.get_job("../etc")


def test_start_job_replaces_a_saved_model_only_when_asked_and_never_one_being_written(tmp_path, monkeypatch):
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    save_model_dir(tmp_path / "models" / "mine", {"task": "finance.risk"})
    with pytest.raises(InputError, match="mine already exists"):
        jobs.start_job("finance.risk", "/no/such.csv", name="mine")
    assert not list(jobs.list_jobs())  # nothing started
    running = jobs.start_job("finance.risk", "/no/such.csv", name="mine", replace=True)
    monkeypatch.setattr(jobs, "list_jobs", lambda: [dataclasses.replace(running, status="running")])
    with pytest.raises(InputError, match="still running will save its model as mine"):
        jobs.start_job("finance.risk", "/no/such.csv", name="mine", replace=True)


def test_relative_paths_are_the_callers_not_the_repositorys(tmp_path, monkeypatch):
    """The runner starts in the repository: a relative `data` was looked for there (and a relative `out` written
    there), not in the caller's folder."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    job = jobs.start_job("finance.risk", "applicants.csv", out="mine/model", base="mine")
    spec = jobs.get_job(job.id).spec
    jobs.cancel_job(job.id)
    assert spec["data"] == str(tmp_path / "applicants.csv") and spec["out"] == str(tmp_path / "mine" / "model")
    assert spec["base"] == str(tmp_path / "mine")


def test_registry_lists_saved_models(tmp_path, monkeypatch):
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    save_model_dir(tmp_path / "models" / "m1", {"task": "finance.risk"})
    assert [c["task"] for c in list_saved_models()] == ["finance.risk"]


def test_job_trains_in_background_and_lands_in_registry(tmp_path):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=400) > 0.3).astype(int)
    data = tmp_path / "applicants.csv"
    pl.DataFrame({"income": x[:, 0], "debt": x[:, 1], "age": x[:, 2], "default": y}).write_csv(data)
    job = jobs.start_job("finance.risk", data, options={"target": "default"}, name="risk-job-test")
    assert job.status in {"queued", "running"}  # start_job returns at once
    job = _wait(job.id, timeout=400)
    assert job.status == "succeeded", job.error
    saved = {c["task"]: c for c in list_saved_models()}
    assert Path(saved["finance.risk"]["path"]).name == "risk-job-test"
    assert job.progress  # the runner's metrics log was read


def test_a_cancelled_runner_leaves_no_output_lock(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "m"
    code = ("import os, signal, time\n"
            "from core.cli import unwind_on_sigterm\n"
            "from core.artifacts import output_lock\n"
            "unwind_on_sigterm()  # as the runner does\n"
            f"with output_lock({str(out)!r}):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)  # as cancel_job does\n"
            "    time.sleep(30)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Terminated" in done.stderr
    assert not (tmp_path / ".m.lock").exists()  # it stayed, and named a dead process, after every cancel


def test_two_jobs_started_at_once_with_one_name_are_not_both_accepted(tmp_path, monkeypatch):
    """Two dashboard sessions started a job named alike at the same moment: both were accepted, and the registry kept
    only the second model."""
    import os
    import threading
    from types import SimpleNamespace

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=os.getpid()))  # no runner
    checked, real_check, outcomes = threading.Event(), jobs.job_writing, []

    def slow_check(out):  # the first session is between its check and its registration when the second one checks
        free = real_check(out)
        if not checked.is_set():
            checked.set()
            time.sleep(0.5)
        return free

    monkeypatch.setattr(jobs, "job_writing", slow_check)

    def session():
        try:
            outcomes.append(jobs.start_job("finance.risk", tmp_path / "a.csv", name="same").status)
        except InputError as error:
            outcomes.append(str(error))

    first = threading.Thread(target=session)
    first.start()
    assert checked.wait(10)
    second = threading.Thread(target=session)
    second.start()
    first.join(10)
    second.join(10)
    accepted = [outcome for outcome in outcomes if outcome == "queued"]
    assert len(accepted) == 1 and any("still running will save its model as same" in o for o in outcomes), outcomes
    assert [job.status for job in jobs.list_jobs()] == ["queued"]


@pytest.mark.parametrize("saved", [True, False])
def test_a_cancel_reports_what_is_on_disk(saved, tmp_path, monkeypatch):
    """A cancel that landed as the job finished said `cancelled` though the model was saved (with replace=True the user
    would believe the old model survived)."""
    import json
    import os
    from types import SimpleNamespace

    from core.cli import Terminated

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=os.getpid()))  # run below
    save_model_dir(tmp_path / "models" / "fin", {"task": "finance.risk", "metrics": {"version": 1}})
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="fin", replace=True)

    def training(task, data, out, **_):
        if saved:  # the save completed; the SIGTERM lands before the runner records it
            save_model_dir(out, {"task": task, "metrics": {"version": 2}})
        raise Terminated()

    monkeypatch.setattr(jobs, "run_training", training)
    try:
        assert jobs._run(job.id) == 1
    except KeyboardInterrupt:
        pytest.fail("the runner let the cancel through without recording what is on disk")
    job = jobs.get_job(job.id)
    version = json.loads((tmp_path / "models" / "fin" / "card.json").read_text())["metrics"]["version"]["value"]
    if saved:
        assert job.status == "succeeded" and version == 2 and "cancel came after the model was saved" in job.note
    else:
        assert job.status == "cancelled" and version == 1 and "is as it was" in job.note


def test_cancel_waits_for_the_runner_and_settles_by_the_disk(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=runner.pid))
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="fin")
    jobs._write(job.folder, status="running", out_before=None)
    save_model_dir(tmp_path / "models" / "fin", {"task": "finance.risk"})  # saved just before the SIGTERM killed it
    cancelled = jobs.cancel_job(job.id)  # the runner dies of the SIGTERM without recording anything
    runner.wait(5)
    assert cancelled.status == "succeeded" and "cancel came after the model was saved" in cancelled.note
    assert os.path.isdir(tmp_path / "models" / "fin")


def test_a_job_started_on_another_host_is_neither_judged_dead_nor_signalled_here(tmp_path, monkeypatch):
    """VERTICALS_HOME on a share two machines use: a running job's pid from the other machine is not a process here
    (get_job marked it failed) or is an unrelated one (cancel_job sent SIGTERM to its process group)."""
    from types import SimpleNamespace

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=2 ** 22 + 12345))  # no such pid
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="far")
    assert jobs.get_job(job.id).status == "failed"  # this host's record: a dead pid is a dead runner
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="far2")
    jobs._write(job.folder, status="running", host="gpu-node-7")
    assert jobs.get_job(job.id).status == "running"
    signalled = []
    monkeypatch.setattr(jobs.os, "killpg", lambda pid, sig: signalled.append((pid, sig)))
    with pytest.raises(InputError, match="runs on gpu-node-7, not on this machine"):
        jobs.cancel_job(job.id)
    assert not signalled and jobs.get_job(job.id).status == "running"


def test_a_job_stopped_by_a_full_disk_says_so_in_plain_words(tmp_path, monkeypatch):
    """A StorageError (full disk, read-only folder: not an InputError) was recorded as 'StorageError: ...'."""
    import os
    from types import SimpleNamespace

    from core.errors import StorageError

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=os.getpid()))  # run below
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="full")

    def training(*_, **__):
        raise StorageError("could not save to m: No space left on device")

    monkeypatch.setattr(jobs, "run_training", training)
    assert jobs._run(job.id) == 1
    assert jobs.get_job(job.id).error == "could not save to m: No space left on device"


@pytest.mark.parametrize("cancelled", [False, True])
def test_jobs_can_be_read_and_listed_on_a_full_home(tmp_path, monkeypatch, cancelled):
    """A runner killed (OOM, kill -9) on a disk that then filled: get_job and list_jobs raised StorageError, since
    reading a dead job wrote its status; the dashboard could not list any job."""
    from types import SimpleNamespace

    from core.errors import StorageError

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    monkeypatch.setattr(jobs.subprocess, "Popen", lambda *a, **k: SimpleNamespace(pid=2 ** 22 + 12345))  # no such pid
    job = jobs.start_job("finance.risk", tmp_path / "a.csv", name="dead")
    jobs._write(job.folder, status="running", cancel_requested=cancelled)  # as its runner left it
    before = (job.folder / "job.json").read_text()

    def full(*_, **__):
        raise StorageError("cannot write job.json: No space left on device")

    monkeypatch.setattr(jobs, "_write", full)
    assert jobs.get_job(job.id).status == ("cancelled" if cancelled else "failed")
    assert [j.status for j in jobs.list_jobs()] == ["cancelled" if cancelled else "failed"]
    assert (job.folder / "job.json").read_text() == before  # nothing half-written; recorded once it can be
    monkeypatch.undo()
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    assert jobs.get_job(job.id).status == ("cancelled" if cancelled else "failed")
    assert json.loads((job.folder / "job.json").read_text())["status"] == ("cancelled" if cancelled else "failed")
