"""Run every task's readers, predict, evaluate, fit, check-data and the CLI over the bad-input corpus.

Allowed outcomes: a correct result or `InputError` (exit code 2 for the CLI). Anything else — another exception,
a hang past the time limit, a traceback on stderr, a partial output file — is counted as "other".
"""

from __future__ import annotations

import contextlib
import io
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.cli import main as cli_main
from core.errors import InputError

TIME_LIMIT_S = 60


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int):
    def on_alarm(signum, frame):
        raise _Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _outcome(fn: Callable[[], Any], check: Callable[[Any], bool] | None = None) -> tuple[str, str]:
    try:
        with _time_limit(TIME_LIMIT_S):
            result = fn()
    except InputError as error:
        return "input_error", str(error)[:200]
    except _Hang as error:
        return "other", f"hang: {error}"
    except Exception as error:  # noqa: BLE001 - this is what we count
        return "other", f"{type(error).__name__}: {error} | {traceback.format_exc(limit=-3)[-600:]}"
    if check is not None and not check(result):
        return "other", f"malformed result: {str(result)[:200]}"
    return "correct", ""


def _cli(argv: list[str], output: Path | None = None) -> tuple[str, str]:
    stderr, stdout = io.StringIO(), io.StringIO()
    try:
        with _time_limit(TIME_LIMIT_S), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            code = cli_main(argv)
    except _Hang as error:
        return "other", f"hang: {error}"
    except BaseException as error:  # noqa: BLE001
        return "other", f"CLI raised {type(error).__name__}: {error}"
    err = stderr.getvalue()
    if "Traceback" in err:
        return "other", "traceback on stderr"
    if code == 0:
        return "correct", ""
    if code == 2:
        if output is not None and output.exists():
            return "other", "partial output file left behind"
        return "input_error", err.strip()[:200]
    return "other", f"exit code {code}: {err.strip()[:200]}"


def run_task(task: str, case, corpus: dict[str, Path], work: Path) -> list[dict[str, Any]]:
    """Every operation of `task` over every corpus entry; one record per (operation, input)."""
    model, cls = case.model, type(case.model)
    saved = model.save(work / f"{task}-model")
    records = []

    def add(operation: str, name: str, outcome: tuple[str, str]) -> None:
        records.append({"task": task, "operation": operation, "input": name, "outcome": outcome[0], "detail": outcome[1]})

    def records_ok(n):
        return lambda result: isinstance(result, list) and len(result) == n and all(isinstance(r, dict) for r in result)

    for name, path in sorted(corpus.items()):
        add("predict(path)", name, _outcome(lambda: model.predict([str(path)]), records_ok(1)))
        inputs_holder: dict[str, Any] = {}

        def read_inputs():
            inputs_holder["inputs"] = cls.read_inputs(path)
            return inputs_holder["inputs"]

        add("read_inputs", name, _outcome(read_inputs))
        if "inputs" in inputs_holder:
            inputs = inputs_holder["inputs"][:8]
            add("predict(read_inputs)", name, _outcome(lambda: model.predict(inputs), records_ok(len(inputs))))
        data_holder: dict[str, Any] = {}

        def read_data():
            data_holder["data"] = cls.read_data(path)
            return data_holder["data"]

        add("read_data", name, _outcome(read_data))
        if "data" in data_holder:
            add("evaluate", name, _outcome(lambda: model.evaluate(data_holder["data"]), lambda card: "metrics" in card))
            add("fit", name, _outcome(lambda: cls.load(saved, device="cpu").fit(data_holder["data"], config=case.fit_config)))
        add("check_data", name, _outcome(lambda: cls.check_data(path), lambda report: isinstance(report, dict)))
        add("cli check-data", name, _cli(["check-data", task, str(path)]))
        add("cli evaluate", name, _cli(["evaluate", task, "--data", str(path), "--model", str(saved), "--json"]))
        output = work / f"{task}-{name}.jsonl"
        add("cli predict", name, _cli(["predict", task, "--input", str(path), "--model", str(saved), "--output", str(output)], output))
        output.unlink(missing_ok=True)
    return records


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per task and outcome."""
    summary: dict[str, Any] = {}
    for record in records:
        task = summary.setdefault(record["task"], {"tried": 0, "correct": 0, "input_error": 0, "other": 0})
        task["tried"] += 1
        task[record["outcome"]] += 1
    return summary
