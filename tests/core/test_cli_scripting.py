"""The CLI in scripts, pipelines and CI: exit 0 / 1 (the machine failed) / 2 (bad input) / 141 (stdout's reader has
gone), and with --json exactly one JSON object on stdout, whatever stopped the command."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import core.artifacts
import core.cli
import core.stream
from core.cli import main
from core.errors import InputError, StorageError, write_error
from core.stream import RecordWriter

from tests.core.conftest import DEMO

ROOT = Path(__file__).resolve().parents[2]


def _csv(path: Path, values) -> Path:
    path.write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    return path


@pytest.fixture
def saved(demo_task, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", DEMO, "--data", str(_csv(tmp_path / "a.csv", [1, 2])), "--out", str(out)]) == 0
    capsys.readouterr()
    return out


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("first\nsecond\nthird\n")
    return path


# 1. a full disk in a library's own words; any other error under --json ----------------------------------------
def test_lightgbm_writing_part_of_a_file_is_one_line_exit_1_and_one_json_object(tmp_path, capsys, monkeypatch):
    """LightGBM says a full disk only as "Cannot write binary data to F, wrote N of M bytes": it gave a traceback and,
    with --json, an empty stdout."""
    lightgbm = pytest.importorskip("lightgbm")

    def full(args):
        raise lightgbm.basic.LightGBMError("Cannot write binary data to /m/.m.1.h-x.tmp/model.txt, wrote 12288 of 45076 "
                                           "bytes")

    monkeypatch.setattr(core.cli, "_run", full)
    assert main(["train", "finance.risk", "--data", "x.csv", "--out", str(tmp_path / "m"), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and "/m/.m.1.h-x.tmp/model.txt" in report["error"]
    assert "free some space" in report["error"] and "12288 of 45076" in report["error"]
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and "Traceback" not in captured.err


def test_an_unexpected_error_under_json_keeps_its_traceback_and_prints_one_object(capsys, monkeypatch):
    def bug(args):
        raise ZeroDivisionError("division by zero\nmore detail")

    monkeypatch.setattr(core.cli, "_run", bug)
    with pytest.raises(ZeroDivisionError):  # the traceback is still shown, as without --json
        main(["evaluate", "finance.risk", "--data", "x.csv", "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {"task": "finance.risk", "ok": False, "error": "ZeroDivisionError: division by zero"}


# 2. a closed pipe ------------------------------------------------------------------------------------------------
def _into_a_closed_pipe(*argv: str) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # the reader has gone, as `| head -1` once it has its line
    try:
        return subprocess.run([sys.executable, "-m", "core.cli", *argv], stdout=write, stderr=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    finally:
        os.close(write)


@pytest.mark.parametrize("argv", [["tasks"], ["tasks", "--json"]])
def test_a_closed_stdout_pipe_ends_quietly_with_141(argv):
    """`verticals tasks | head -1` gave a BrokenPipeError traceback and exit 1 (or 120) about half the time."""
    done = _into_a_closed_pipe(*argv)
    assert done.returncode == 141, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr


class _Closed(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def test_predict_into_a_closed_pipe_is_141_not_bad_input(saved, texts, capsys, monkeypatch):
    """`predict ... | head -1` exited 2 ("bad input") with `cannot write to stdout: Broken pipe`."""
    monkeypatch.setattr(sys, "stdout", _Closed())
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts)]) == 141
    assert capsys.readouterr().err == ""


# 3. the machine failing is exit 1, not 2 -------------------------------------------------------------------------
def test_write_error_tells_the_machine_failing_from_a_bad_path():
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO):
        error = write_error("cannot write x", OSError(code, os.strerror(code)))
        assert isinstance(error, StorageError) and not isinstance(error, InputError) and str(error) == "cannot write x"
    for code in (errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.ENAMETOOLONG):
        assert isinstance(write_error("cannot write x", OSError(code, os.strerror(code))), InputError)


def test_predict_output_on_a_full_disk_is_exit_1_and_leaves_nothing(saved, texts, tmp_path, capsys, monkeypatch):
    def full(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(core.stream, "_sync", full)
    out = tmp_path / "out" / "p.jsonl"
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: cannot write {out}: No space left on device; choose a writable location\n"
    assert list(out.parent.iterdir()) == []


def test_predict_output_in_a_folder_it_may_not_write_is_exit_1(saved, texts, tmp_path, capsys, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(core.stream.tempfile, "mkstemp", refused)
    out = tmp_path / "p.jsonl"
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(out)]) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot write to {tmp_path}: Permission denied")


def test_predict_to_a_full_stdout_is_exit_1(saved, texts, capsys, monkeypatch):
    """`predict > /dev/full`."""
    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sys, "stdout", Full())
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts)]) == 1
    assert capsys.readouterr().err == "error: cannot write to stdout: No space left on device\n"


def test_train_out_on_a_full_disk_is_exit_1_with_one_json_object(demo_task, tmp_path, capsys, monkeypatch):
    out = tmp_path / "m"
    real_replace = os.replace

    def replace(source, target):
        if Path(target) == out:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(source, target)

    monkeypatch.setattr(core.artifacts.os, "replace", replace)
    code = main(["train", DEMO, "--data", str(_csv(tmp_path / "a.csv", [1, 2])), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    report = json.loads(captured.out)
    assert report["ok"] is False and f"could not save to {out}: No space left on device" in report["error"]
    assert captured.err.count("\n") == 1 and not out.exists()


def test_a_path_under_a_file_is_still_bad_input(demo_task, tmp_path, capsys):
    (tmp_path / "FILE").write_text("a file")
    code = main(["train", DEMO, "--data", str(_csv(tmp_path / "a.csv", [1])), "--out", str(tmp_path / "FILE" / "m")])
    assert code == 2 and capsys.readouterr().err.startswith("error: ")


# 4. the parser's refusals honour --json -------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "said"), [(["evaluate", "nlp.sentiment", "--json"], "--data"),
                                            (["train", "finance.risk", "--data", "x.csv", "--json"], "--out"),
                                            (["tasks", "--json", "--bogus"], "--bogus")])
def test_a_usage_error_under_json_prints_one_json_object(argv, said, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and said in report["error"]
    assert report["task"] == (argv[1] if argv[0] != "tasks" else None)
    assert "usage: verticals" in captured.err and f"error: {report['error'].split(': ', 1)[1]}" in captured.err
    assert main([word for word in argv if word != "--json"]) == 2 and capsys.readouterr().out == ""  # no --json, no JSON


# 5. --output - and --output x.csv -------------------------------------------------------------------------------
def test_output_dash_is_stdout(saved, texts, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", "-"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["index"] for r in records] == [1, 2, 3]
    assert not (tmp_path / "-").exists()


def test_output_csv_is_csv(saved, texts, tmp_path, capsys):
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    out = tmp_path / "p.csv"
    assert main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(out)]) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [list(r) for r in rows[:1]] == [[*records[0], "error"]]
    assert [{k: v for k, v in row.items() if k != "error"} for row in rows] == \
        [{k: v if isinstance(v, str) else json.dumps(v) for k, v in r.items()} for r in records]


def test_csv_writer_holds_error_records_for_the_header_and_writes_lists_as_json(tmp_path):
    target = tmp_path / "out.csv"
    with RecordWriter(target) as writer:
        writer.write_batch([{"index": 1, "error": "unreadable"}])
        writer.write_batch([{"index": 2, "label": "a, b", "scores": [0.5, 0.25], "ok": True, "note": None}])
    assert target.read_text().splitlines() == ["index,error,label,scores,ok,note", "1,unreadable,,,,",
                                               '2,,"a, b","[0.5, 0.25]",true,']
    with pytest.raises(InputError, match="appeared after the first batch"):
        with RecordWriter(tmp_path / "late.csv") as writer:
            writer.write_batch([{"index": 1, "label": "a"}])
            writer.write_batch([{"index": 2, "label": "b", "late": 1}])
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# 6. no progress bars in a log -----------------------------------------------------------------------------------
def test_hub_progress_bars_are_off_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    """transformers' "Loading weights" tqdm bar wrote carriage returns into CI logs."""
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "")  # restored after the test
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS")
    assert main(["tasks"]) == 0
    assert os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1"


def test_csv_output_with_the_dask_engine_is_refused(saved, texts, tmp_path, capsys):
    """The dask engine joins JSONL or Parquet parts: a .csv output would hold JSONL."""
    out = tmp_path / "p.csv"
    code = main(["predict", DEMO, "--model", str(saved), "--input", str(texts), "--output", str(out),
                 "--option", "engine=dask"])
    assert code == 2 and "the dask engine writes JSONL or Parquet" in capsys.readouterr().err and not out.exists()


def test_a_closed_stdout_refuses_a_result_that_would_go_there_and_ends_cleanly_otherwise(tmp_path):
    """Started with stdout closed (`>&-`, a service manager), a command whose result is printed exits 2 saying so;
    before, every command ended in an AttributeError traceback on sys.stdout.flush(), exit 1."""
    def run(*argv):
        return subprocess.run([sys.executable, "-m", "core.cli", *argv], cwd=ROOT, capture_output=False, text=True,
                              stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), timeout=300)

    done = run("tasks")
    assert done.returncode == 2 and "stdout is closed" in done.stderr and "Traceback" not in done.stderr
    done = run("evaluate", "no.such.task", "--data", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert core.cli._result_on_stdout(core.cli.build_parser().parse_args(
        ["predict", "nlp.sentiment", "--input", "x", "--output", "o.jsonl"])) is False


def test_a_relative_or_unusable_verticals_home_is_absolute_or_one_line(tmp_path, monkeypatch, capsys):
    """A relative VERTICALS_HOME names one folder wherever it is read (a job runner starts in another cwd); a home
    that is a file is one line naming it and the fix, not a NotADirectoryError traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VERTICALS_HOME", "rel_home")
    assert core.artifacts.home() == tmp_path / "rel_home"
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "a_file"))
    with pytest.raises(InputError, match="must be a folder you may write; set VERTICALS_HOME"):
        core.artifacts.cache_dir("finance.risk")
    assert main(["prepare", "finance.risk"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot create") and "Traceback" not in "\n".join(err)


def test_long_names_and_a_file_as_parent_are_refused_saying_why(tmp_path, capsys):
    """A legal 250-byte --output name is written (the temp name beside it is cut to fit); a name too long for the
    file system, or too long to leave room for train's lock and temp names, and a parent that is a file are one line
    saying so; before: 'choose a writable folder', 'File exists', or an OSError traceback."""
    name = tmp_path / ("a" * 244 + ".jsonl")
    with RecordWriter(name) as writer:
        writer.write_batch([{"index": 1, "label": "x"}])
    assert name.read_text().count("\n") == 1 and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(InputError, match="is 306 bytes; a file name may hold 255"):
        RecordWriter(tmp_path / ("b" * 300 + ".jsonl")).__enter__()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="afile is a file, not a folder"):
        RecordWriter(tmp_path / "afile" / "o.jsonl").__enter__()
    with pytest.raises(InputError, match="use a name of at most 223 bytes"):
        core.artifacts.check_output_dir(tmp_path / ("c" * 240))
    assert main(["train", "finance.risk", "--data", str(tmp_path / "none.csv"), "--target", "y",
                 "--out", str(tmp_path / "afile" / "m")]) == 2
    assert "afile is a file, not a folder" in capsys.readouterr().err


def test_a_full_disk_at_the_training_lock_names_the_lock_file(tmp_path, monkeypatch):
    """The lock's write fails at flush on a full disk, with no file name in the error: the message names it."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    def opener(file, *args, **kwargs):
        handle = real_open(file, *args, **kwargs)
        return Full(handle) if str(file).endswith(".lock") else handle

    monkeypatch.setattr(builtins, "open", opener)
    with pytest.raises(StorageError, match=r"cannot write .*\.m\.lock: No space left on device"):
        with core.artifacts.output_lock(tmp_path / "m"):
            pass


def test_names_from_files_cannot_drive_the_terminal_or_fake_an_error_line(tmp_path, capsys):
    """A path, column or class name holding ESC sequences, a CR or a newline is shown escaped on the one error or
    warning line; before, it recoloured or cleared the terminal and a newline printed a fake second `error:` line."""
    bad = str(tmp_path / "x\x1b[2J\nerror: all good\r")
    assert main(["predict", "nlp.sentiment", "--input", bad]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\r" not in err and "\\x1b[2J\\nerror: all good\\r" in err
    core.cli._SAID.clear()
    core.cli._say_warning("class \x1b]8;;http://x\x07link\x1b]8;;\x07 is small")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err


@pytest.mark.parametrize("command", ["evaluate", "tasks"])
def test_a_full_stdout_is_one_line_naming_stdout_for_every_command(saved, texts, capsys, monkeypatch, command):
    """`evaluate --json > /dev/full` printed a 26-line traceback (the --json error object failed on the same full
    stdout); `tasks > /dev/full` said "no space left on the device" naming no file, and suggested --out."""
    class Full(io.StringIO):
        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sys, "stdout", Full())
    data = _csv(texts.parent / "b.csv", [1, 2])
    argv = ["tasks"] if command == "tasks" else ["evaluate", DEMO, "--model", str(saved), "--data", str(data), "--json"]
    assert main(argv) == 1
    assert capsys.readouterr().err == ("error: cannot write to stdout: No space left on device; free space where "
                                       "stdout goes, or send it elsewhere (> FILE on another disk)\n")
    assert isinstance(sys.stdout, Full)  # given back as it was
