"""The model lifecycle against a hostile user: nothing of the user's is lost, no run is mixed with another,
integrity cannot be switched off, and every refusal is exit 2 with a one-line reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.artifacts import check_model_dir, read_card
from core.cli import main
from core.errors import UnsafeArtifactError

from tests.core.conftest import DEMO


def _csv(path: Path, values) -> Path:
    path.write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _train(task, data, out, *extra):
    return main(["train", task, "--data", str(data), "--out", str(out), "--json", *extra])


# 1. data loss -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["finance.risk", "vision.classification", DEMO])
def test_train_refuses_a_folder_of_user_files(task, demo_task, tmp_path, capsys):
    user = tmp_path / "my_documents"
    user.mkdir()
    (user / "thesis.txt").write_text("years of work")
    (user / "sub").mkdir()
    (user / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = _snapshot(user)
    assert _train(task, _csv(tmp_path / "d.csv", [1, 2, 3]), user) == 2
    error = capsys.readouterr().err
    assert "not a saved model" in error and error.count("\n") == 1
    assert _snapshot(user) == before


def test_train_refuses_a_model_folder_of_another_task(demo_task, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "card.json").write_text(json.dumps({"task": "finance.risk", "files": {}}))
    before = _snapshot(other)
    assert _train(DEMO, _csv(tmp_path / "d.csv", [1, 2]), other) == 2
    assert "finance.risk model" in capsys.readouterr().err and _snapshot(other) == before


def test_train_replaces_a_model_of_the_same_task(demo_task, tmp_path):
    out = tmp_path / "m"
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 1]), out) == 0
    assert _train(DEMO, _csv(tmp_path / "b.csv", [3, 3]), out) == 0
    assert json.loads((out / "weights.json").read_text())["mean"] == 3


def test_detection_convert_refuses_a_folder_of_user_files(tmp_path, capsys):
    pytest.importorskip("cv2")
    from tests.vision._fixtures import yolo_folder

    user = tmp_path / "photos"
    user.mkdir()
    (user / "holiday.jpg").write_bytes(b"precious")
    before = _snapshot(user)
    code = main(["check-data", "vision.detection", str(yolo_folder(tmp_path / "yolo", n=2)),
                 "--option", "convert_to=coco", "--option", f"out={user}"])
    assert code == 2 and "not a saved model" in capsys.readouterr().err
    assert _snapshot(user) == before


# 2. resume mixes two runs -----------------------------------------------------------------------------------
def test_resume_with_other_data_or_config_is_refused(demo_task, tmp_path, capsys):
    out = tmp_path / "m"
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 2]), out) == 0
    good = _snapshot(out)
    assert _train(DEMO, _csv(tmp_path / "b.csv", [7, 9]), out, "--resume") == 2
    assert "data hash" in capsys.readouterr().err
    assert _train(DEMO, tmp_path / "a.csv", out, "--resume", "--set", "learning_rate=0.5") == 2
    assert "config learning_rate: 0.1 then, 0.5 now" in capsys.readouterr().err
    assert _snapshot(out) == good
    # the same run finished and dropped its checkpoints: resuming used to train again from scratch, silently
    assert _train(DEMO, tmp_path / "a.csv", out, "--resume") == 2
    assert "finished and saved its model" in capsys.readouterr().err and _snapshot(out) == good
    assert _train(DEMO, tmp_path / "a.csv", out) == 0  # training again is one flag away


def test_run_dir_gets_the_protection_out_gets(demo_task, tmp_path, capsys):
    data = _csv(tmp_path / "a.csv", [1, 2])
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "run.txt").write_text("my notes")
    before = _snapshot(notes)
    assert _train(DEMO, data, tmp_path / "o1", "--run-dir", str(notes)) == 2
    assert "not a training run" in capsys.readouterr().err and _snapshot(notes) == before
    assert _train(DEMO, data, tmp_path / "model", "--run-dir", str(tmp_path / "r")) == 0
    saved = _snapshot(tmp_path / "model")
    assert _train(DEMO, data, tmp_path / "o2", "--run-dir", str(tmp_path / "model")) == 2
    assert "is a saved model" in capsys.readouterr().err and _snapshot(tmp_path / "model") == saved
    assert _train(DEMO, data, tmp_path / "o3", "--run-dir", str(tmp_path / "o3")) == 2
    assert "overlap" in capsys.readouterr().err and not (tmp_path / "o3").exists()
    assert _train(DEMO, data, tmp_path / "o4", "--run-dir", str(tmp_path / "r")) == 0  # an earlier run folder: reused
    assert _train(DEMO, data, tmp_path / "o5", "--resume") == 2
    assert "no earlier run to continue" in capsys.readouterr().err


def test_the_card_names_a_base_model_folder_by_its_absolute_path(demo_task, tmp_path, monkeypatch):
    data = _csv(tmp_path / "a.csv", [1, 2])
    assert _train(DEMO, data, tmp_path / "base") == 0
    monkeypatch.chdir(tmp_path)
    assert _train(DEMO, data, tmp_path / "tuned", "--model", "base") == 0
    assert read_card(tmp_path / "tuned")["training"]["base_model"] == str((tmp_path / "base").resolve())


def test_prepare_flags_that_need_rebuild_are_refused_without_it(capsys):
    assert main(["prepare", "nlp.sentiment", "--quick"]) == 2
    assert "--quick only applies with --rebuild" in capsys.readouterr().err


def test_a_new_run_clears_the_checkpoints_an_earlier_run_left(demo_task, tmp_path, monkeypatch):
    from tests.core.fake_task import CounterModel

    run_dir = tmp_path / "run"
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "a", "--run-dir", str(run_dir)) == 0
    (run_dir / "checkpoint.pt").write_bytes(b"run A's weights")  # as VERTICALS_KEEP_CHECKPOINTS=1 or a kill leaves them
    seen = []

    def killed(self, data, config=None, *, run_dir=None, resume=False, callbacks=()):
        seen.append(sorted(p.name for p in run_dir.iterdir()))
        raise KeyboardInterrupt  # run B dies before its first checkpoint

    monkeypatch.setattr(CounterModel, "fit", killed)
    assert _train(DEMO, _csv(tmp_path / "b.csv", [7, 9]), tmp_path / "b", "--run-dir", str(run_dir)) == 130
    # --resume of B used to load A's checkpoint and save A's weights as a model of B's data
    assert seen == [["run.json"]]


def test_a_new_run_keeps_an_interrupted_runs_checkpoint(demo_task, tmp_path, monkeypatch, capsys):
    from tests.core.fake_task import CounterModel

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "checkpoint.pt").write_bytes(b"step 10 of a long run")
        raise KeyboardInterrupt

    fit = CounterModel.fit
    monkeypatch.setattr(CounterModel, "fit", interrupted)
    data = _csv(tmp_path / "a.csv", [1, 2])
    assert _train(DEMO, data, tmp_path / "m") == 130
    monkeypatch.setattr(CounterModel, "fit", fit)
    run_dir, before = tmp_path / ".m.run", (tmp_path / ".m.run" / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    # another training pointed at that run folder used to empty it, checkpoint and all, without a word
    assert _train(DEMO, _csv(tmp_path / "b.csv", [7, 9]), tmp_path / "other", "--run-dir", str(run_dir)) == 2
    assert "another run's (data hash" in capsys.readouterr().err
    assert _train(DEMO, data, tmp_path / "m") == 2  # the same command again, without --resume
    said = capsys.readouterr().err
    assert "this same run's interrupted training (checkpoint.pt)" in said and "Pass --resume to continue it" in said
    assert (run_dir / "checkpoint.pt").read_bytes() == before and not (tmp_path / "other").exists()
    assert _train(DEMO, data, tmp_path / "m", "--resume") == 0  # what the message says works


def test_resume_without_a_run_record_is_refused(demo_task, tmp_path, capsys):
    run_dir = tmp_path / ".m.run"
    run_dir.mkdir()
    (run_dir / "checkpoint.pt").write_bytes(b"from an older version")
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1]), tmp_path / "m", "--resume") == 2
    assert "not a training run (no run.json)" in capsys.readouterr().err


# 3. integrity cannot be switched off ------------------------------------------------------------------------
@pytest.fixture
def saved(demo_task, tmp_path):
    out = tmp_path / "m"
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 2]), out) == 0
    return out


def _edit_card(folder: Path, change) -> None:
    card = json.loads((folder / "card.json").read_text())
    change(card)
    (folder / "card.json").write_text(json.dumps(card))


def test_card_without_file_list_is_refused(saved, capsys):
    _edit_card(saved, lambda c: c.pop("files"))
    (saved / "weights.json").write_text(json.dumps({"mean": 1e-6}))  # tampered, and the hash list removed
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(saved / "weights.json")]) == 2
    assert "'files' is missing" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../outside.json", "/etc/passwd", "sub/../../x"])
def test_file_names_leaving_the_folder_are_refused(saved, name):
    _edit_card(saved, lambda c: c["files"].update({name: "0" * 64}))
    with pytest.raises(UnsafeArtifactError, match="leaves the model folder"):
        check_model_dir(saved)


def test_unlisted_files_and_fifos_are_refused(saved):
    (saved / "extra.json").write_text("{}")
    with pytest.raises(UnsafeArtifactError, match="not in card.json's file list"):
        check_model_dir(saved)
    (saved / "extra.json").unlink()
    os.mkfifo(saved / "weights.fifo")
    with pytest.raises(UnsafeArtifactError, match="not a regular file"):
        check_model_dir(saved)  # returns at once: a FIFO is never opened


def test_pickle_container_of_any_suffix_is_refused(saved):
    torch = pytest.importorskip("torch")
    path = saved / "weights.pth.tar"
    torch.save({"w": torch.zeros(2)}, path)
    _edit_card(saved, lambda c: c["files"].update({"weights.pth.tar": __import__("hashlib").sha256(path.read_bytes()).hexdigest()}))
    with pytest.raises(UnsafeArtifactError, match="pickle container"):
        check_model_dir(saved)


def test_card_missing_keys_is_exit_2(saved, capsys):
    _edit_card(saved, lambda c: c.pop("task"))
    assert main(["evaluate", DEMO, "--model", str(saved), "--data", str(saved.parent / "a.csv")]) == 2
    assert "'task' is missing" in capsys.readouterr().err


# 4. two writers ------------------------------------------------------------------------------------------------
def test_a_second_training_to_the_same_out_exits_2_naming_the_first(demo_task, tmp_path, capsys):
    from core.artifacts import output_lock

    out = tmp_path / "m"
    with output_lock(out):
        assert _train(DEMO, _csv(tmp_path / "a.csv", [1]), out) == 2
    error = capsys.readouterr().err
    assert f"pid {os.getpid()}" in error and "being written by another training" in error
    assert not out.exists()


def test_lock_is_held_across_processes(tmp_path):
    from core.artifacts import output_lock

    out = tmp_path / "m"
    script = ("import sys, time; from core.artifacts import output_lock\n"
              "with output_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(Exception, match=f"pid {holder.pid}"):
            with output_lock(out):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_refused_training_leaves_no_lock_or_empty_run_folder_but_keeps_a_checkpoint(demo_task, tmp_path, monkeypatch,
                                                                                       capsys):
    from core.errors import InputError
    from tests.core.fake_task import CounterModel

    data, out = _csv(tmp_path / "a.csv", [1, 2]), tmp_path / "m"
    fit = CounterModel.fit

    def checkpointed(self, data, config=None, *, run_dir=None, **options):
        (Path(run_dir) / "checkpoint.pt").write_bytes(b"weights")
        (Path(run_dir) / "metrics.jsonl").write_text('{"event": "end"}\n')
        return fit(self, data, config, run_dir=run_dir, **options)

    monkeypatch.setattr(CounterModel, "fit", checkpointed)
    assert _train(DEMO, data, out) == 0
    assert not (tmp_path / ".m.lock").exists()  # the lock goes with the training that held it
    assert sorted(p.name for p in (tmp_path / ".m.run").iterdir()) == ["metrics.jsonl", "run.json"]  # saved: no checkpoint

    def refuse(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "metrics.jsonl").write_text('{"event": "start"}\n')
        raise InputError("the data has only one class")

    monkeypatch.setattr(CounterModel, "fit", refuse)
    assert _train(DEMO, data, tmp_path / "n") == 2
    assert "only one class" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".m.run", "a.csv", "m"]  # no .n.lock, no .n.run

    def interrupted(self, data, config=None, *, run_dir=None, **_):
        (Path(run_dir) / "checkpoint.pt").write_bytes(b"step 10")
        raise KeyboardInterrupt

    monkeypatch.setattr(CounterModel, "fit", interrupted)
    capsys.readouterr()
    assert _train(DEMO, data, tmp_path / "k") == 130  # Ctrl-C
    assert (tmp_path / ".k.run" / "checkpoint.pt").is_file() and not (tmp_path / ".k.lock").exists()  # --resume can go on
    said = capsys.readouterr()  # with --json, stdout still holds one JSON object; stderr says what can go on
    assert json.loads(said.out)["ok"] is False and "run the same command with --resume" in said.err

    def stopped_early(self, data, config=None, *, run_dir=None, **_):
        raise KeyboardInterrupt

    monkeypatch.setattr(CounterModel, "fit", stopped_early)
    assert _train(DEMO, data, tmp_path / "j") == 130
    said = capsys.readouterr()
    assert "no checkpoint was kept" in json.loads(said.out)["error"] and "no checkpoint was kept" in said.err


# 5. exit 2, not tracebacks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("out", ["", "/proc/verticals-x", "FILE/under"])
def test_unwritable_out_is_exit_2(out, demo_task, tmp_path, capsys):
    (tmp_path / "FILE").write_text("a file")
    target = str(tmp_path / out) if out.startswith("FILE") else out
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1]), target) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize("output", ["", "/proc/verticals-x.jsonl", "DIR", "FILE/under.jsonl"])
def test_unwritable_predict_output_is_exit_2(output, saved, tmp_path, capsys):
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("a file")
    target = str(tmp_path / output) if output[:1].isupper() else output
    code = main(["predict", DEMO, "--model", str(saved), "--input", str(saved / "weights.json"), "--output", target])
    assert code == 2 and capsys.readouterr().err.startswith("error: ")


def test_predict_output_may_not_overwrite_its_input(saved, tmp_path, capsys):
    texts = tmp_path / "mine.txt"
    texts.write_text("first\nsecond\n")
    for output in (str(texts), str(tmp_path / "." / "mine.txt")):
        assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", output]) == 2
        assert "would overwrite the input" in capsys.readouterr().err
    assert texts.read_text() == "first\nsecond\n"
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(tmp_path / "p.jsonl")]) == 0


def test_predict_output_may_not_land_inside_a_saved_model(saved, tmp_path, capsys):
    """A records file in the model folder is one its card does not list: every later load was refused."""
    texts = tmp_path / "mine.txt"
    texts.write_text("first\n")
    for output in (saved / "scores.jsonl", saved / "sub" / "scores.jsonl"):
        assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(output)]) == 2
        assert "inside the saved model folder" in capsys.readouterr().err and not output.exists()
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts)]) == 0


def test_sigterm_unwinds_like_ctrl_c(saved, tmp_path, monkeypatch, capsys):
    import os
    import signal

    from tests.core.fake_task import CounterModel

    def killed(self, inputs, batch_size=None):  # `kill`, a CI timeout or `docker stop` in the middle of a predict
        os.kill(os.getpid(), signal.SIGTERM)
        return [{"value": 1.0} for _ in inputs]

    texts = tmp_path / "in.txt"
    texts.write_text("a\nb\n")
    monkeypatch.setattr(CounterModel, "predict", killed)
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(tmp_path / "o" / "p.jsonl")]) == 143
    assert "terminated" in capsys.readouterr().err
    assert list((tmp_path / "o").iterdir()) == []  # the temp file went, as after Ctrl-C; it used to stay
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is the CLI's only while it runs


@pytest.mark.parametrize("option, said", [("engine=spark", "the engines are local"),
                                          ("workers=4", "applies to the dask engine only")])
def test_an_engine_option_is_checked(saved, tmp_path, option, said, capsys):
    texts = tmp_path / "in.txt"
    texts.write_text("a\n")
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--option", option]) == 2
    assert said in capsys.readouterr().err
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--option", "engine= Local"]) == 0


@pytest.mark.parametrize("extra,message", [(["--batch-size", "0"], "whole number >= 1"),
                                           (["--batch-size", "two"], "whole number >= 1"),
                                           (["--option", "separator"], "--option expects key=value")])
def test_bad_predict_flags_are_exit_2_naming_the_flag(extra, message, saved, tmp_path, capsys):
    texts = tmp_path / "in.txt"
    texts.write_text("a\n")
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), *extra]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("task,setting,field", [
    ("finance.risk", "num_leaves=0", "num_leaves"),
    ("nlp.sentiment", "validation_fraction=1.5", "validation_fraction"),
    ("vision.classification", "image_size=0", "image_size"),
    ("vision.classification", "lr=-1", "lr"),
    ("vision.detection", "lr=-0.5", "lr"),
    (DEMO, "learning_rate=-1", "learning_rate"),
])
def test_out_of_range_config_is_exit_2_naming_the_field(task, setting, field, demo_task, tmp_path, capsys):
    assert _train(task, _csv(tmp_path / "a.csv", [1]), tmp_path / "m", "--set", setting) == 2
    error = capsys.readouterr().err
    assert f"config field {field!r} must be" in error and error.count("\n") == 1
    assert not (tmp_path / "m").exists()


# the card -----------------------------------------------------------------------------------------------------
def test_train_json_prints_the_data_hash_from_the_card(demo_task, tmp_path, capsys):
    out = tmp_path / "m"
    assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 2]), out) == 0
    summary = json.loads(capsys.readouterr().out)
    card = read_card(out)
    assert summary["data_hash"] and summary["data_hash"] == card["training"]["data_hash"]
    assert card["training"]["rows"] == 2 and card["training"]["seconds"] >= 0
    assert card["training"]["config"] == {"learning_rate": 0.1, "epochs": 1}
    from core.card import ModelCard

    ModelCard.from_dict(card)


def test_only_rank_0_locks_and_saves_under_torchrun(demo_task, tmp_path, monkeypatch, capsys):
    from core.artifacts import output_lock

    out = tmp_path / "m"
    monkeypatch.setenv("RANK", "1")
    with output_lock(out):  # rank 0 holds the folder while the other ranks train beside it
        assert _train(DEMO, _csv(tmp_path / "a.csv", [1, 2]), out) == 0
    assert not out.exists() and json.loads(capsys.readouterr().out)["data_hash"]


def test_fit_takes_its_config_as_a_dict_of_the_same_fields():
    """`fit(data, {"epochs": 1})` failed with an AttributeError deep in the task; a dict is read as `--set` values are
    (converted, unknown keys and wrong types refused), and anything else is named."""
    import dataclasses

    import polars as pl

    from core.errors import InputError
    from finance.risk import RiskScorer

    seen = []

    class Spy(RiskScorer):
        def fit(self, data, config=None, **options):
            seen.append(config)
            return self

    data = pl.DataFrame({"x": [1.0, 2.0], "default": [0, 1]})
    Spy().fit(data, {"cv_folds": "3", "family": "logistic"})
    assert isinstance(seen[-1], RiskScorer.Config) and (seen[-1].cv_folds, seen[-1].family) == (3, "logistic")
    config = dataclasses.replace(RiskScorer.Config(), cv_folds=4)
    Spy().fit(data, config=config)
    assert seen[-1] is config
    with pytest.raises(InputError, match="cv_fold"):
        Spy().fit(data, {"cv_fold": 3})
    with pytest.raises(InputError, match="config must be Spy.Config"):
        Spy().fit(data, "epochs=1")
