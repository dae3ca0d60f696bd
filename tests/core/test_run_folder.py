"""The training run folder (`--run-dir`, `.<out>.run`): only a run folder of ours is used, only our files in it are
ever deleted, one training holds it at a time, and --resume continues only its own checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import jobs
from core.cli import main

from tests.core.conftest import DEMO
from tests.core.test_lifecycle import _csv, _snapshot


def _train(data, out, *extra):
    return main(["train", DEMO, "--data", str(data), "--out", str(out), "--json", *extra])


# finding: a folder of the user's holding a file named run.json was taken for a run folder -----------------------------
@pytest.mark.parametrize("record", [
    {"experiment": "my hand-made notes", "owner": "alice"},
    {"experiment": "thesis run 7", "finished": True},
    "not json at all {",
])
def test_a_run_json_of_another_tool_is_refused_and_nothing_is_touched(record, demo_task, tmp_path, capsys):
    mine = tmp_path / "myexp"
    (mine / "plots").mkdir(parents=True)
    (mine / "run.json").write_text(record if isinstance(record, str) else json.dumps(record))
    (mine / "metrics.jsonl").write_text('{"epoch": 1, "my_metric": 0.5}\n')
    (mine / "results.csv").write_text("precious results")
    (mine / "plots" / "fig1.png").write_bytes(b"png")
    before = _snapshot(mine)
    assert _train(_csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m", "--run-dir", str(mine)) == 2
    error = capsys.readouterr().err
    assert "not a Verticals run record" in error and "nothing was changed" in error and error.count("\n") == 1
    assert _snapshot(mine) == before and not (tmp_path / "m").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "myexp"]  # no lock file left either


def test_a_run_record_of_an_older_version_is_still_ours(demo_task, tmp_path):
    data, run_dir = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "run"
    assert _train(data, tmp_path / "m", "--run-dir", str(run_dir)) == 0
    record = json.loads((run_dir / "run.json").read_text())
    assert record["format"] == jobs.RUN_FORMAT
    del record["format"]  # as written before the record carried its format
    (run_dir / "run.json").write_text(json.dumps(record))
    assert _train(data, tmp_path / "m2", "--run-dir", str(run_dir)) == 0


def test_only_files_verticals_writes_are_deleted_from_a_run_folder(demo_task, tmp_path, monkeypatch):
    data, run_dir = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "run"
    assert _train(data, tmp_path / "m", "--run-dir", str(run_dir)) == 0
    (run_dir / "notes.txt").write_text("the user's")
    (run_dir / "mine").mkdir()
    (run_dir / "mine" / "x.csv").write_text("1")
    (run_dir / "checkpoint.pt").write_bytes(b"a finished run's kept checkpoint")
    (run_dir / ".checkpoint.pt.k2j3.tmp").write_bytes(b"half a checkpoint")
    assert _train(data, tmp_path / "m2", "--run-dir", str(run_dir)) == 0  # a new run clears the earlier one's files
    assert sorted(p.name for p in run_dir.iterdir()) == ["mine", "notes.txt", "run.json"]
    assert (run_dir / "notes.txt").read_text() == "the user's" and (run_dir / "mine" / "x.csv").read_text() == "1"

    from tests.core.fake_task import CounterModel

    fit = CounterModel.fit

    def checkpointed(self, data, config=None, *, run_dir=None, **options):
        (Path(run_dir) / "checkpoint.pt").write_bytes(b"weights")
        (Path(run_dir) / "cv").mkdir()
        return fit(self, data, config, run_dir=run_dir, **options)

    monkeypatch.setattr(CounterModel, "fit", checkpointed)
    assert _train(data, tmp_path / "m3", "--run-dir", str(run_dir)) == 0  # saved: its checkpoints go, the user's stay
    assert sorted(p.name for p in run_dir.iterdir()) == ["mine", "notes.txt", "run.json"]


def test_resumable_state_names_what_resume_continues(demo_task, tmp_path, monkeypatch, capsys):
    """An interrupted finance.risk keeps only its cross-validation cache: that is state to resume too (the CLI said
    'no checkpoint was kept ... run the command again', and the rerun was refused)."""
    from tests.core.fake_task import CounterModel

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "cv" / "f1").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(CounterModel, "fit", interrupted)
    data, run_dir = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / ".m.run"
    assert _train(data, tmp_path / "m") == 130
    assert jobs.resumable_state(run_dir) == ["cv"]
    said = capsys.readouterr().err
    assert "its progress (cv) is kept" in said and "--resume" in said and "no checkpoint" not in said
    monkeypatch.undo()
    assert jobs.resumable_state(tmp_path / "nowhere") == []


def test_a_fresh_training_refused_at_fit_leaves_nothing_to_resume_and_the_fixed_rerun_runs(demo_task, tmp_path,
                                                                                            monkeypatch, capsys):
    """finance.risk refused bad data after keeping some folds: the rerun on fixed data was refused as 'another run's
    interrupted training; pass --resume'. A resumed run refused at fit keeps its state (it may be another's)."""
    from core.errors import InputError
    from tests.core.fake_task import CounterModel

    fit = CounterModel.fit

    def refused(self, data, config=None, *, run_dir=None, **options):
        (Path(run_dir) / "cv" / "f1").mkdir(parents=True, exist_ok=True)
        raise InputError("the data hold an all-empty column")

    monkeypatch.setattr(CounterModel, "fit", refused)
    data, run_dir = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / ".m.run"
    assert _train(data, tmp_path / "m") == 2
    assert jobs.resumable_state(run_dir) == []
    assert _train(data, tmp_path / "m", "--resume") == 2  # refused on resume: its state stays
    monkeypatch.setattr(CounterModel, "fit", fit)
    assert _train(_csv(tmp_path / "a.csv", [1, 2, 3]), tmp_path / "m") == 0

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "cv" / "f1").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(CounterModel, "fit", interrupted)
    assert _train(data, tmp_path / "m4") == 130
    monkeypatch.setattr(CounterModel, "fit", refused)
    assert _train(data, tmp_path / "m4", "--resume") == 2
    assert jobs.resumable_state(tmp_path / ".m4.run") == ["cv"]  # a resumed run refused at fit keeps its state


# finding: the run folder had no lock of its own ---------------------------------------------------------------------
def test_a_run_folder_that_is_another_trainings_out_is_refused_naming_it(demo_task, tmp_path, capsys):
    """Training B used as --run-dir the --out training A was writing: A failed at its save, after all its training."""
    import os

    from core.artifacts import output_lock

    data, busy = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "pa"
    with output_lock(busy):  # training A writes --out pa (not created until its save)
        assert _train(data, tmp_path / "qb", "--run-dir", str(busy)) == 2
        error = capsys.readouterr().err
        assert f"pid {os.getpid()}" in error and "being written by another training" in error
        assert not busy.exists() and not (tmp_path / "qb").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no lock file, no run folder left


def test_a_run_folder_is_held_for_the_whole_training(demo_task, tmp_path, monkeypatch, capsys):
    """Two trainings shared one --run-dir: their logs interleaved and one --resume continued the other's checkpoint."""
    from core.artifacts import output_lock
    from core.errors import InputError
    from tests.core.fake_task import CounterModel

    data, shared = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "shared"
    fit, refused = CounterModel.fit, []

    def second_training_meanwhile(self, data_, config=None, *, run_dir=None, **options):
        assert main(["train", DEMO, "--data", str(data), "--out", str(tmp_path / "s2"), "--run-dir", str(run_dir)]) == 2
        refused.append(capsys.readouterr().err)
        with pytest.raises(InputError, match="being written by another training"):  # nor as another's --out
            with output_lock(run_dir):
                pass
        return fit(self, data_, config, run_dir=run_dir, **options)

    monkeypatch.setattr(CounterModel, "fit", second_training_meanwhile)
    assert _train(data, tmp_path / "s1", "--run-dir", str(shared)) == 0
    assert "being written by another training (pid" in refused[0] and not (tmp_path / "s2").exists()
    assert not (tmp_path / ".shared.lock").exists()


def test_a_resumed_training_says_so_in_its_card_with_the_seconds_of_every_run(demo_task, tmp_path, monkeypatch):
    """After kill -9 and --resume the card had no sign of the resume, and `training.seconds` counted only the resumed
    process (the run folder's log, which is not in the model folder, was the only trace)."""
    from core.train import LOG_NAME
    from tests.core.fake_task import CounterModel

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "checkpoint.pt").write_bytes(b"weights")
        events = [{"event": "start", "time": 100.0}, {"event": "step", "time": 130.0, "step": 7}]
        (Path(run_dir) / LOG_NAME).write_text("".join(json.dumps(event) + "\n" for event in events))
        raise KeyboardInterrupt

    fit = CounterModel.fit
    monkeypatch.setattr(CounterModel, "fit", interrupted)
    data = _csv(tmp_path / "a.csv", [1, 2])
    assert _train(data, tmp_path / "m") == 130
    monkeypatch.setattr(CounterModel, "fit", fit)
    assert _train(data, tmp_path / "m", "--resume") == 0
    training = json.loads((tmp_path / "m" / "card.json").read_text())["training"]
    assert training["resumed"]["interrupted_runs"] == 1 and training["resumed"]["from_step"] == 7
    assert training["resumed"]["seconds_before"] == 30.0 and training["seconds"] >= 30.0
    assert _train(data, tmp_path / "m2") == 0  # a run that was not resumed says nothing of it
    assert "resumed" not in json.loads((tmp_path / "m2" / "card.json").read_text())["training"]


def test_a_run_recorded_before_the_relabel_aware_data_hash_still_resumes_on_its_data(tmp_path):
    from core.artifacts import legacy_hash_files

    data = _csv(tmp_path / "a.csv", [1, 2])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run = {"format": jobs.RUN_FORMAT, "task": DEMO, "data_hash": jobs._data_hash(data),
           "data_hash_scheme": jobs.DATA_HASH_SCHEME, "options": {}, "config": {}, "base_model": None}
    old = {**run, "data_hash": legacy_hash_files([data])}
    del old["data_hash_scheme"]
    (run_dir / jobs.RUN_RECORD).write_text(json.dumps(old))
    jobs._check_resume(run_dir, run, True, data)  # the same data, hashed the old way then: accepted
    other = _csv(tmp_path / "b.csv", [7, 9])
    with pytest.raises(jobs.InputError, match="data hash"):
        jobs._check_resume(run_dir, {**run, "data_hash": jobs._data_hash(other)}, True, other)


def test_a_model_folder_given_with_a_tilde_loads(demo_task, tmp_path, monkeypatch, capsys):
    from core import registry

    assert _train(_csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m") == 0
    monkeypatch.setenv("HOME", str(tmp_path))
    assert type(registry.load(DEMO, "~/m")).__name__ == "CounterModel"
    capsys.readouterr()
    assert main(["evaluate", DEMO, "--model=~/m", "--data", str(tmp_path / "a.csv"), "--json"]) == 0


def test_path_flags_given_with_a_tilde_after_an_equals_sign_mean_home(demo_task, tmp_path, monkeypatch, capsys):
    """`--data=~/a.csv`, `--out=~/m`: the shell leaves ~ unexpanded after `=`; train refused the data and wrote into a
    folder literally named ~ in the working folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    _csv(tmp_path / "home" / "a.csv", [1, 2])
    monkeypatch.chdir(tmp_path)
    assert main(["train", DEMO, "--data=~/a.csv", "--out=~/m", "--json"]) == 0
    assert (tmp_path / "home" / "m" / "card.json").is_file() and not (tmp_path / "~").exists()
    assert json.loads(capsys.readouterr().out)["out"] == str(tmp_path / "home" / "m")


def test_a_manifest_s_data_hash_covers_what_the_task_says_it_names(demo_task, tmp_path, monkeypatch):
    """A manifest's own bytes do not change when an image it lists is swapped: the task's data_digest joins the hash."""
    from core import registry

    data = _csv(tmp_path / "a.csv", [1, 2])
    cls = registry.task_class(DEMO)
    plain = jobs.training_data_hash(cls, data)
    assert plain == jobs._data_hash(data)  # a task that names no other files: the file's own hash
    assert jobs._data_hash(data, named="one") != jobs._data_hash(data, named="two") != plain


def test_resuming_a_run_recorded_under_the_old_hash_warns_that_a_relabel_would_not_show(tmp_path):
    from core.artifacts import legacy_hash_files

    data = _csv(tmp_path / "a.csv", [1, 2])
    (tmp_path / "run").mkdir()
    run = {"format": jobs.RUN_FORMAT, "task": DEMO, "data_hash": jobs._data_hash(data), "options": {}, "config": {},
           "base_model": None}
    (tmp_path / "run" / jobs.RUN_RECORD).write_text(json.dumps({**run, "data_hash": legacy_hash_files([data])}))
    with pytest.warns(UserWarning, match="relabel"):
        jobs._check_resume(tmp_path / "run", {**run, "data_hash_scheme": jobs.DATA_HASH_SCHEME}, True, data)


def test_save_and_load_agree_on_a_tilde_path(demo_task, tmp_path, monkeypatch):
    """save("~/m") wrote ./~/m while load("~/m") looked in the home folder."""
    from core import registry

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    model = registry.task_class(DEMO)(2.5)
    assert model.save("~/m") == tmp_path / "home" / "m"
    assert registry.load(DEMO, "~/m").mean_ == 2.5 and not (tmp_path / "~").exists()


def test_a_setting_given_twice_in_two_cases_is_two_values():
    from core.config import parse_assignments

    with pytest.raises(jobs.InputError, match="given twice"):
        parse_assignments(["column=Text", "column=text"], "--option")
    assert parse_assignments(["flag=True", "flag=true"]) == {"flag": "true"}


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_while_the_previous_model_is_deleted_keeps_the_new_one_and_reports_success(demo_task, tmp_path,
                                                                                                 monkeypatch, capsys, signame):
    """Ctrl-C / SIGTERM after the new model was in place said "interrupted ... --resume", exit 130/143, left the
    previous model's `.out.old-PID` folder beside it and a card without its training record."""
    import os
    import shutil
    import signal

    data, out = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m"
    assert _train(data, out) == 0
    real = shutil.rmtree

    def interrupted(path, *args, **kwargs):
        if ".m.old-" in str(path):
            os.kill(os.getpid(), getattr(signal, signame))
        return real(path, *args, **kwargs)

    monkeypatch.setattr("core.artifacts.shutil.rmtree", interrupted)
    capsys.readouterr()
    assert _train(_csv(tmp_path / "b.csv", [5, 7]), out) == 0
    said = capsys.readouterr()
    assert "the interrupt came after the model was saved" in said.err
    assert json.loads(said.out.strip().splitlines()[-1])["task"] == DEMO
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.run", "a.csv", "b.csv", "m"]  # no .m.old-PID left
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["config"] is not None and card["training"]["seconds"] is not None
    assert json.loads((tmp_path / ".m.run" / "run.json").read_text())["finished"]


def test_an_interrupt_while_checkpoints_are_dropped_finishes_the_run_record(demo_task, tmp_path, monkeypatch, capsys):
    import os
    import signal

    data, out = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m"
    drop = jobs._drop_checkpoints

    def interrupted(run_dir):
        os.kill(os.getpid(), signal.SIGINT)
        drop(run_dir)

    monkeypatch.setattr(jobs, "_drop_checkpoints", interrupted)
    assert _train(data, out) == 0
    assert "the interrupt came after the model was saved" in capsys.readouterr().err
    assert json.loads((tmp_path / ".m.run" / "run.json").read_text())["finished"]
    assert main(["train", DEMO, "--data", str(data), "--out", str(out), "--resume"]) == 2  # nothing to continue


def test_a_run_folder_left_by_a_kill_during_its_first_run_record_does_not_block_training(demo_task, tmp_path, capsys):
    """kill -9 while the first run.json was written left `.run.json.<random>.tmp` alone in the run folder: every later
    train, --resume included, was refused as "not a training run" until the user deleted the folder by hand."""
    data, out = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m"
    run_dir = tmp_path / ".m.run"
    run_dir.mkdir()
    (run_dir / ".run.json.k1ll3d00.tmp").write_text('{"format": ')  # what the atomic write had got to
    assert main(["train", DEMO, "--data", str(data), "--out", str(out), "--resume"]) == 2
    assert "no earlier run to continue" in capsys.readouterr().err  # said as such, not "not a training run"
    assert _train(data, out) == 0
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.jsonl", "run.json"] or \
        sorted(p.name for p in run_dir.iterdir()) == ["run.json"]
    (run_dir.parent / "mine").mkdir()
    (run_dir.parent / "mine" / ".run.json.x.tmp").mkdir()  # a folder of that name is not a temp file of ours
    assert main(["train", DEMO, "--data", str(data), "--out", str(tmp_path / "m2"), "--run-dir", str(tmp_path / "mine")]) == 2


def test_a_resume_from_an_incomplete_checkpoint_says_it_started_from_step_0(demo_task, tmp_path, monkeypatch, capsys):
    """kill -9 between the checkpoint's two writes (checkpoint.json renamed, checkpoint.pt not): the Trainer started
    from scratch ("no checkpoint found"), yet the card said `resumed.from_step: 7`, and Ctrl-C then listed
    checkpoint.json as progress kept for --resume."""
    from core.jobs import resumable_state
    from core.train import LOG_NAME
    from tests.core.fake_task import CounterModel

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "checkpoint.json").write_text(json.dumps({"step": 7, "sha256": "0" * 64}))
        events = [{"event": "start", "time": 100.0}, {"event": "step", "time": 130.0, "step": 7}]
        (Path(run_dir) / LOG_NAME).write_text("".join(json.dumps(event) + "\n" for event in events))
        raise KeyboardInterrupt

    fit = CounterModel.fit

    def resumed(self, data, config=None, *, run_dir=None, **options):  # as core's Trainer logs it
        with open(Path(run_dir) / LOG_NAME, "a") as log:
            log.write(json.dumps({"event": "resume", "step": 0, "time": 200.0, "note": "no checkpoint found"}) + "\n")
        return fit(self, data, config, run_dir=run_dir, **options)

    monkeypatch.setattr(CounterModel, "fit", interrupted)
    data = _csv(tmp_path / "a.csv", [1, 2])
    assert _train(data, tmp_path / "m") == 130
    assert resumable_state(tmp_path / ".m.run") == []
    assert "no checkpoint was kept" in capsys.readouterr().err
    monkeypatch.setattr(CounterModel, "fit", resumed)
    assert _train(data, tmp_path / "m", "--resume") == 0
    training = json.loads((tmp_path / "m" / "card.json").read_text())["training"]
    assert training["resumed"]["from_step"] == 0
