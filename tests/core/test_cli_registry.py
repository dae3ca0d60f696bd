"""CLI exit codes and registry errors."""

import json
import subprocess
import sys

import pytest

from core import InputError, ModelNotFoundError, list_tasks, load
from core.cli import main
from core.registry import resolve_source

DESIGN_TASKS = {"nlp.translation", "nlp.sentiment", "nlp.qa", "vision.classification", "vision.detection",
                "speech.recognition", "finance.risk", "finance.forecast", "medical.segmentation", "medical.classification"}


def test_every_design_task_is_listed(capsys):
    assert set(list_tasks()) == DESIGN_TASKS
    assert main(["tasks", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == DESIGN_TASKS


def test_console_script_lists_tasks():
    done = subprocess.run([sys.executable, "-m", "core.cli", "tasks"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and all(task in done.stdout for task in DESIGN_TASKS)


@pytest.mark.parametrize("argv", [
    ["evaluate", "no.such.task", "--data", "x"],
    ["check-data", "finance.risk", "/no/such/file.csv"],
    ["train", "nlp.sentiment", "--data", "/no/such/file.csv", "--out", "/tmp/never"],
    ["predict", "no.such", "--input", "x"],
])
def test_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


def test_usage_error_exits_2(capsys):
    assert main(["evaluate"]) == 2


def test_missing_local_model_names_the_three_options(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        load("finance.risk", str(tmp_path / "nope" / "model"))
    message = str(info.value)
    assert "embedded offline default" in message and "hub id" in message and "local directory" in message


def test_unknown_task():
    with pytest.raises(InputError, match="unknown task"):
        load("nope")


def test_unknown_task_names_the_closest(tmp_path):
    """A typo in the task name suggests the task meant, from the registry, the CLI and a background job alike."""
    from core.jobs import start_job

    with pytest.raises(InputError, match="did you mean finance.risk"):
        load("finance.rsk")
    with pytest.raises(InputError, match="did you mean nlp.sentiment"):
        start_job("nlp.sentimnt", tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_folder_in_the_task_place_names_the_call_meant(tmp_path):
    """core.load("models/m") (the folder where the task goes) says to give the task first, naming the card's task."""
    import re

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"task": "nlp.sentiment"}), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"core.load('nlp.sentiment', '{folder}')")):
        load(str(folder))
    (folder / "card.json").unlink()
    with pytest.raises(InputError, match="give the task first"):
        load(folder)


def test_resolve_source(tmp_path):
    assert resolve_source("nlp.sentiment", None) == ("embedded", None)
    assert resolve_source("nlp.sentiment", "org/model") == ("hub", "org/model")
    assert resolve_source("nlp.sentiment", tmp_path) == ("local", tmp_path)
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(ModelNotFoundError):
        resolve_source("nlp.sentiment", file)


def test_local_dir_for_another_task_is_refused(tmp_path):
    from core.artifacts import save_model_dir

    save_model_dir(tmp_path / "m", {"task": "nlp.qa"})
    with pytest.raises(InputError, match="holds a nlp.qa model"):
        load("finance.risk", tmp_path / "m")


def test_a_misspelt_option_is_refused_with_the_near_name(tmp_path, capsys):
    table = tmp_path / "labels.csv"
    table.write_text("path,label\na.png,cat\n")
    # used to be ignored: the reader fell back to its default column and the user never knew
    assert main(["check-data", "vision.classification", str(table), "--option", "lable_column=label"]) == 2
    err = capsys.readouterr().err
    assert "--option lable_column" in err and "did you mean label_column?" in err
    assert main(["check-data", "finance.forecast", str(table), "--option", "seperator=;"]) == 2
    assert "did you mean separator?" in capsys.readouterr().err


@pytest.mark.parametrize("task, key", [("speech.recognition", "exclude_speakers"), ("vision.detection", "convert_to"),
                                       ("vision.classification", "top_k"), ("medical.segmentation", "patient_pattern"),
                                       ("finance.forecast", "date_format"), ("nlp.qa", "workers"),
                                       ("finance.risk", "positive_label"), ("nlp.sentiment", "text_column"),
                                       ("nlp.translation", "source_lang"), ("medical.classification", "patient_pattern")])
def test_the_options_a_task_reads_are_known_to_the_cli(task, key):
    from core.cli import known_option_keys
    from core.registry import task_class

    assert key in known_option_keys(task_class(task))


@pytest.mark.parametrize("argv, meant", [
    (["predict", "speech.recognition", "--input", "x.wav", "--option", "lang=de"], "did you mean source?"),
    # read only by read_data: for predict it was accepted and ignored (an English transcript of German speech)
    (["predict", "speech.recognition", "--input", "x.wav", "--option", "language=de"], "did you mean source?"),
    (["check-data", "finance.forecast", "prices.csv", "--option", "date_column=Date"], "did you mean time?"),
    (["check-data", "nlp.sentiment", "t.tsv", "--option", "engine=dask"], "for check-data"),
    (["evaluate", "vision.classification", "--data", "d", "--option", "top_k=3"], "for evaluate"),
])
def test_an_option_is_known_for_the_commands_that_read_it(argv, meant, capsys):
    assert main(argv) == 2
    assert meant in capsys.readouterr().err


def test_every_task_declares_the_data_flags_it_reads():
    from core.cli import DATA_OPTIONS
    from core.registry import task_class

    for task in DESIGN_TASKS:
        for name in ("data_flags", "input_flags"):
            flags = getattr(task_class(task), name)
            assert flags is not None and set(flags) <= set(DATA_OPTIONS), (task, name, flags)


@pytest.mark.parametrize("argv, said", [
    # each was accepted and ignored: a sentiment table has no time, a folder of images no --id column
    (["check-data", "nlp.sentiment", "reviews.csv", "--time", "date"], "--time: nlp.sentiment check-data does not read"),
    (["evaluate", "vision.detection", "--data", "voc", "--target", "label"], "it reads none of"),
    (["predict", "finance.risk", "--input", "a.csv", "--target", "default"], "the flags it reads there: --id"),
    (["predict", "medical.classification", "--input", "scans", "--id", "patient"], "drop --id"),
    (["check-data", "nlp.sentiment", "reviews.csv", "--option", "time=date"], "--option time"),
])
def test_a_data_flag_the_task_does_not_read_is_refused(argv, said, capsys):
    assert main(argv) == 2
    assert said in capsys.readouterr().err


def test_app_hides_tracebacks_wherever_it_is_started(monkeypatch, tmp_path):
    import core.cli

    calls = []
    monkeypatch.setattr(core.cli.subprocess, "call", lambda command: calls.append(command) or 0)
    monkeypatch.chdir(tmp_path)  # .streamlit/config.toml is read from the working directory only
    assert main(["app", "--headless"]) == 0
    command = calls[0]
    assert command[command.index("--client.showErrorDetails") + 1] == "none"


def test_predict_options_arrive_as_the_types_predict_declares():
    from core.protocols import predict_options

    class Model:
        def predict(self, inputs, batch_size=None, top_k: int = 5, threshold: float | None = None, flag: bool = False):
            ...

    # --option values are text: top_k=2 used to reach predict as "2" and fail inside it with a TypeError
    assert predict_options(Model(), {"top_k": "2", "threshold": "0.25", "flag": "yes", "id": "key"}) == \
        {"top_k": 2, "threshold": 0.25, "flag": True}
    with pytest.raises(InputError, match="--option top_k expects a whole number, got 'two'"):
        predict_options(Model(), {"top_k": "two"})


@pytest.mark.parametrize("task", sorted(DESIGN_TASKS))
def test_every_task_module_has_a_module_level_load(task):
    import importlib

    from core.registry import task_class

    module = importlib.import_module(task_class(task).__module__)
    assert callable(getattr(module, "load", None)), f"{module.__name__}.load() (DESIGN: `from finance import risk; risk.load()`)"


@pytest.mark.parametrize("command", ["check-data", "evaluate", "train", "prepare"])
def test_json_prints_one_object_when_the_command_is_refused(command, tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("text,label\na,1\nb,1\n")  # one class: refused by the reader
    argv = {"check-data": ["check-data", "nlp.sentiment", str(data)],
            "evaluate": ["evaluate", "nlp.sentiment", "--data", str(data), "--target", "nope"],
            "train": ["train", "nlp.sentiment", "--data", str(data), "--out", str(tmp_path / "m")],
            "prepare": ["prepare", "nlp.sentiment", "--quick"]}[command]
    assert main([*argv, "--json"]) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout was empty: a script reading the report got nothing to parse
    assert report["ok"] is False and report["task"] == "nlp.sentiment" and report["error"] in captured.err


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device", "/m/.w.tmp"),
                                     RuntimeError("SafetensorError: Error while serializing: No space left on device"),
                                     OSError(30, "Read-only file system", "/cache/x")])
def test_a_full_disk_or_read_only_folder_is_one_line_and_one_json_object(failure, tmp_path, capsys, monkeypatch):
    """The machine refusing a write (ENOSPC, safetensors' own full-disk error, EROFS) is said in one line with the
    file and the fix, exit 1, and `--json` still prints one object; a plain bug keeps its traceback."""
    import core.cli

    def fail(args):
        raise failure

    monkeypatch.setattr(core.cli, "_run", fail)
    assert main(["evaluate", "finance.risk", "--data", str(tmp_path / "x.csv"), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert ("free some space" if "space" in str(failure) else "check its permissions") in report["error"]
    if getattr(failure, "filename", None):
        assert failure.filename in report["error"]

    def bug(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(core.cli, "_run", bug)
    with pytest.raises(ZeroDivisionError):
        main(["evaluate", "finance.risk", "--data", str(tmp_path / "x.csv")])


def test_the_task_table_says_which_defaults_ship_in_the_repository():
    """`verticals tasks` said the segmentation default was trained on first use; it ships in the repository."""
    from core.registry import TASKS

    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for task, spec in TASKS.items():
        package, name = task.split(".")
        shipped = (root / package / f"{name}_default" / "card.json").is_file()
        assert ("shipped in the" in spec.default) == shipped, (task, spec.default)
        assert not (shipped and "first use" in spec.default), (task, spec.default)


def test_a_users_file_named_like_a_package_is_named_as_the_cause(tmp_path):
    """A `finance.py` next to the user's script hides the finance package: the error names that file; before, it said
    the task was not implemented in this installation."""
    (tmp_path / "finance.py").write_text("RATES = {}\n")
    done = subprocess.run([sys.executable, "-c", "import core; core.load('finance.risk')"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"'finance' is {tmp_path / 'finance.py'}, not Verticals' package" in done.stderr
