"""The `verticals` command line: tasks, predict, evaluate, train, check-data, prepare, app. Exit 2 on bad input, 1 when
the machine fails (a full disk, a read-only folder), 141 when the reader of stdout has gone (`| head -1`)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import inspect
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from core import progress
from core.data.tables import READER_OPTIONS, reader_options
from core.errors import InputError, MissingDependencyError, VerticalsError
from core.protocols import predict_options

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2
# stdout's reader closed the pipe (`verticals tasks | head -1`): 128 + SIGPIPE, what a shell reports for `yes | head -1`
# and for CLIs killed by SIGPIPE (cat, grep); 0 would hide a reader that died early, 1 and 2 would read as a failure
EXIT_BROKEN_PIPE = 128 + 13
DATA_OPTIONS = ("target", "source", "time", "value", "id", "column")
FLAG_MEANINGS = {"target": "a target column or language", "source": "a source language", "time": "a date/time column",
                 "value": "a value column", "id": "an id column", "column": "an input column"}


class UsageError(SystemExit):
    """The parser refused the command line (a missing --data, an unknown flag): exit 2, its message kept for --json."""

    def __init__(self, message: str):
        super().__init__(EXIT_BAD_INPUT)
        self.message = message


class _Parser(argparse.ArgumentParser):
    """argparse's parser whose refusals (usage on stderr, exit 2 as before) keep their message, so that `main` can
    also print `{"ok": false, "error": ...}` when the command line asked for --json."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = _Parser(prog="verticals", description="Vertical ML tasks on one core: predict, evaluate, train.")
    commands = parser.add_subparsers(dest="command", required=True)

    tasks = commands.add_parser("tasks", help="list every task with its embedded default")
    tasks.add_argument("--json", action="store_true", help="print one JSON object")

    def data_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--target", help="target column (name or 0-based number) or target language")
        sub.add_argument("--source", help="source language (translation)")
        sub.add_argument("--time", help="date/time column (forecasting)")
        sub.add_argument("--value", help="value column (forecasting)")
        sub.add_argument("--id", help="series id column (forecasting, long format)")
        sub.add_argument("--column", help="input column (text, path...) when the table has several")
        sub.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="other reader options")

    predict = commands.add_parser("predict", help="predict on inputs, write JSONL")
    predict.add_argument("task")
    predict.add_argument("--input", required=True, help="input file or folder")
    predict.add_argument("--model", help="hub id or saved model folder (default: the embedded default)")
    predict.add_argument("--output", help="write JSONL here, CSV when it ends in .csv, Parquet when it ends in .parquet "
                                          "(default, or -: JSONL on stdout)")
    predict.add_argument("--batch-size", type=_positive_int, help="inputs per model call (default: the task's own)")
    predict.add_argument("--device", default="auto")
    data_options(predict)

    evaluate = commands.add_parser("evaluate", help="evaluate on labelled data, print the metric card")
    evaluate.add_argument("task")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--model")
    evaluate.add_argument("--json", action="store_true", help="print exactly one JSON object")
    evaluate.add_argument("--device", default="auto")
    data_options(evaluate)

    train = commands.add_parser("train", help="train / fine-tune on labelled data and save the model")
    train.add_argument("task")
    train.add_argument("--data", required=True)
    train.add_argument("--model", help="base model to start from (hub id or folder); default: the task's own")
    train.add_argument("--out", required=True, help="output model folder")
    train.add_argument("--config", help="YAML file overriding config fields")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one config field")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint of an interrupted run")
    train.add_argument("--run-dir", help="checkpoint/log folder (default: .<out>.run beside --out)")
    train.add_argument("--json", action="store_true")
    train.add_argument("--device", default="auto")
    data_options(train)

    check = commands.add_parser("check-data", help="validate data without training")
    check.add_argument("task")
    check.add_argument("path")
    check.add_argument("--json", action="store_true")
    data_options(check)

    prepare = commands.add_parser("prepare", help="build or load a task's embedded default now; --rebuild: rebuild "
                                                  "a shipped default from its recipe and compare it with the shipped one")
    prepare.add_argument("task")
    prepare.add_argument("--rebuild", action="store_true", help="rebuild the shipped default from scratch")
    prepare.add_argument("--quick", action="store_true", help="with --rebuild: the quick variant of the recipe")
    prepare.add_argument("--out", help="with --rebuild: write the rebuilt default here (default: a cache folder)")
    prepare.add_argument("--data", help="with --rebuild: the labelled file a recipe's supervised stage trains on "
                                        "(nlp.sentiment: SST-2's stsa.binary.train)")
    prepare.add_argument("--json", action="store_true")

    app = commands.add_parser("app", help="open the dashboard")
    app.add_argument("--port", type=int, default=8501, help="the port the dashboard listens on (default 8501)")
    app.add_argument("--headless", action="store_true", help="do not open a browser (servers, containers)")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from core.config import parse_assignments

    options = {name: getattr(args, name) for name in DATA_OPTIONS if getattr(args, name, None) is not None}
    options.update(parse_assignments(getattr(args, "option", []), "--option"))
    return {k: v for k, v in options.items() if k not in READER_OPTIONS}  # those reach every reader through reader_options


# what a user may type for an option, and the option meant (suggested when it is one the task reads)
OPTION_SYNONYMS = {"sep": "separator", "delimiter": "separator", "delim": "separator", "lang": "source",
                   "language": "source", "date": "time", "date_column": "time", "datetime": "time", "timestamp": "time",
                   "label": "target", "y": "target", "text": "column", "text_column": "column", "sheet_name": "sheet",
                   "charset": "encoding", "dateformat": "date_format"}


def known_option_keys(cls: type, command: str | None = None) -> list[str]:
    """The `--option` keys `cls` reads for `command` (None: any): for `predict`, the keywords of `read_inputs` and
    `predict`, its `input_options` and the dask engine's (`engine=dask`, `workers`...); for the commands that read
    labelled data, the keywords of `read_data` and its `data_options`; for both, the CLI's data flags and the reader
    options of every table.

    >>> from core.protocols import TaskModel
    >>> class Task(TaskModel):
    ...     data_options = ("labels",)
    ...     def predict(self, inputs, batch_size=None, top_k=5): ...
    >>> [k for k in known_option_keys(Task, "predict") if k in ("engine", "labels", "top_k", "separator", "inputs")]
    ['engine', 'separator', 'top_k']
    >>> [k for k in known_option_keys(Task, "evaluate") if k in ("engine", "labels", "top_k", "separator", "inputs")]
    ['labels', 'separator']
    """
    from core.distributed import ENGINE_OPTIONS

    predicting, labelled = command in (None, "predict"), command != "predict"
    methods = [*(("read_inputs", "predict") if predicting else ()), *(("read_data",) if labelled else ())]
    keys = set(task_flags(cls, command)) | set(READER_OPTIONS)
    for name in methods:
        keys |= {key for key, p in inspect.signature(getattr(cls, name)).parameters.items()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    keys |= set(getattr(cls, "input_options", ())) | set(ENGINE_OPTIONS) if predicting else set()
    keys |= set(getattr(cls, "data_options", ())) if labelled else set()
    return sorted(keys - {"self", "cls", "path", "inputs", "batch_size", "rows"})


def task_flags(cls: type, command: str | None = None) -> tuple[str, ...]:
    """The CLI data flags `cls` reads for `command` (None: any): its `input_flags` for predict, its `data_flags` for
    the commands that read labelled data, every flag where it declares none.

    >>> from core.protocols import TaskModel
    >>> class Task(TaskModel):
    ...     data_flags, input_flags = ("target", "column"), ("column",)
    >>> task_flags(Task, "predict"), task_flags(Task, "evaluate"), task_flags(Task)
    (('column',), ('target', 'column'), ('target', 'column'))
    """
    names = {"predict": ("input_flags",), None: ("input_flags", "data_flags")}.get(command, ("data_flags",))
    declared = [getattr(cls, name, None) for name in names]
    if any(flags is None for flags in declared):
        return DATA_OPTIONS
    return tuple(flag for flag in DATA_OPTIONS if any(flag in flags for flags in declared))


def _check_flags(args: argparse.Namespace, cls: type) -> None:
    """Refuse a data flag (`--time` on sentiment) the task does not read for this command, rather than ignore it."""
    reads = task_flags(cls, args.command)
    for flag in DATA_OPTIONS:
        if getattr(args, flag, None) is not None and flag not in reads:
            taken = f"the flags it reads there: {', '.join('--' + f for f in reads)}" if reads else \
                "it reads none of --target, --source, --time, --value, --id, --column there"
            raise InputError(f"--{flag}: {args.task} {args.command} does not read {FLAG_MEANINGS[flag]}; drop --{flag} "
                             f"({taken})")


def _check_option_keys(args: argparse.Namespace, cls: type) -> None:
    """Refuse an `--option` key the task does not read for this command (a typo such as `seperator=` used to be
    ignored silently), naming the option probably meant."""
    import difflib

    from core.config import parse_assignments

    _check_flags(args, cls)
    known = known_option_keys(cls, args.command)
    for key in parse_assignments(getattr(args, "option", []), "--option"):
        if key not in known:
            meant = OPTION_SYNONYMS.get(key.lower())
            close = [meant] if meant in known else difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise InputError(f"--option {key}: {args.task} reads no option of that name for {args.command}; {hint}"
                             f"the options it reads there: {', '.join(known)}")


def _reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """`--option separator=; encoding=cp1252 date_format=...`: how files are read, whatever the task."""
    from core.config import parse_assignments

    options = {k: str(v) for k, v in parse_assignments(getattr(args, "option", []), "--option").items() if k in READER_OPTIONS}
    if getattr(args, "id", None):  # ids are names, as written: 001 and 01 are two records, not one repeated 1
        options["text_columns"] = ",".join(filter(None, [options.get("text_columns"), str(args.id)]))
    return options


def _print_card(card: dict[str, Any], as_json: bool) -> None:
    if card.get("warning"):  # e.g. the model does not know the data's labels: said on stderr, stdout stays one object
        _say_warning(card["warning"])
    if as_json:
        print(json.dumps(card, default=str))
        return
    print(_printable(f"{card.get('task')} · model {card.get('model')} · n={card.get('n')}"))
    for name, entry in card.get("metrics", {}).items():
        value, ci = entry.get("value"), entry.get("ci95")
        shown = f"{value:.4f}" if isinstance(value, float) else json.dumps(value)[:120]
        interval = f"  (95% CI {ci[0]:.4f}-{ci[1]:.4f})" if ci else ""
        unit = f" {entry['unit']}" if isinstance(entry.get("unit"), str) and entry["unit"] else ""
        interval += "  lower is better" if entry.get("better") == "lower" else ""
        # a metric defined on fewer cases than the data hold (HD95 without the cases a structure was missed in) says so
        cases = entry.get("cases")
        interval += (f"  over {cases} of {card.get('n')} cases" if isinstance(cases, int) and not isinstance(cases, bool)
                     and cases != card.get("n") else "")
        print(_printable(f"  {name:<24} {shown}{unit}{interval}"))  # a class name is part of a per-class metric's name
    if card.get("plots"):
        print(_printable(f"  plots (data in --json): {', '.join(card['plots'])}"))


def _run(args: argparse.Namespace) -> int:
    from core import registry

    if args.command == "tasks":
        table = registry.list_tasks()
        if args.json:
            print(json.dumps({name: spec.__dict__ for name, spec in table.items()}))
        else:
            width = max(map(len, table))
            for name, spec in table.items():
                print(f"{name:<{width}}  {spec.title:<28} default: {spec.default}")
        return 0
    if args.command == "app":
        app = Path(__file__).resolve().parents[1] / "apps" / "main.py"
        # the settings of .streamlit/config.toml, given here too: streamlit reads that file only from the working
        # directory, and started elsewhere a crash would show its traceback, server paths included
        command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
                   "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "none",
                   "--client.toolbarMode", "minimal", "--server.maxUploadSize", "200"]
        if args.headless:
            command += ["--server.headless", "true"]
        return subprocess.call(command)
    cls = registry.task_class(args.task)
    if args.command == "prepare":
        return _prepare(args, cls)
    _check_option_keys(args, cls)
    options = _options(args)
    if args.command == "check-data":
        report = cls.check_data(args.path, **options)
        print(json.dumps(report, default=str) if args.json else "\n".join(_printable(f"{k}: {v}") for k, v in report.items()))
        return 0 if report.get("ok", True) else EXIT_BAD_INPUT
    if args.command == "predict":
        if args.output == "-":  # as for most Unix tools, `-` is stdout (it wrote a file named `-`)
            args.output = None
        options = _engine_checked(options)
        if options.get("engine") == "dask":  # partitions scored on dask workers (core/distributed.py)
            from core.distributed import predict_with_dask
            from core.stream import output_format

            if output_format(args.output) == "csv":  # its parts are JSONL or Parquet: a .csv would hold JSONL
                raise InputError(f"--output {args.output}: the dask engine writes JSONL or Parquet; name the output "
                                 ".jsonl or .parquet, or drop --option engine=dask to write CSV")

            return predict_with_dask(args.task, args.input, args.output, model=args.model, options=options,
                                     reader_options=_reader_options(args), batch_size=args.batch_size, device=args.device)
        from core import stream

        stream.output_format(args.output)
        _refuse_output_over_input(args.input, args.output)
        reading = {k: v for k, v in options.items() if k != "engine"}  # `--option engine=...` picks who runs, not how to read
        batches = iter(cls.read_input_batches(args.input, rows=stream.STREAM_ROWS, **reading))  # read, predicted, written
        first = next(batches, None)  # bad input is reported before the model loads
        batches = itertools.chain([] if first is None else [first], batches)
        with progress.cli_bar(f"loading the {args.task} model"):
            model = registry.load(args.task, args.model, device=args.device)
        summary: list[str] = []  # records written to a file are not read on the terminal: their warnings are summed up
        stream.stream_predict(model, batches, args.output, id_column=options.get("id"),  # one record per input, id first
                              batch_size=args.batch_size, summary=summary, **predict_options(model, reading))
        for said in summary:
            _say_warning(said)
        return 0
    if args.command == "evaluate":
        data = cls.read_data(args.data, **options)
        with progress.cli_bar(f"loading the {args.task} model"):
            model = registry.load(args.task, args.model, device=args.device)
        _print_card(model.evaluate(data, **predict_options(model, options, "evaluate")), args.json)  # e.g. positive_label
        return 0
    if args.command == "train":
        from core.config import parse_assignments
        from core.jobs import run_training

        card = run_training(args.task, args.data, args.out, base=args.model, config_path=args.config,
                            overrides=parse_assignments(args.set), options=options, run_dir=args.run_dir,
                            resume=args.resume, device=args.device)
        summary = {"task": args.task, "out": str(args.out), "metrics": card.get("metrics", {}),
                   "data_hash": card["training"]["data_hash"], "training": card["training"],
                   **({"warning": card["warning"]} if card.get("warning") else {})}
        if card.get("warning"):  # e.g. too few images of a class to measure, a feature that leaks the target
            _say_warning(card["warning"])
        print(json.dumps(summary, default=str) if args.json else f"saved {args.task} model to {args.out}\n{json.dumps(summary['metrics'], default=str)}")
        return 0
    raise AssertionError(args.command)


def _engine_checked(options: dict[str, Any]) -> dict[str, Any]:
    """`--option engine=` is local (the default) or dask, in any case and spacing; the dask engine's own options
    (workers, scheduler, partition_size) only with it. Anything else used to run locally without a word."""
    from core.distributed import ENGINE_OPTIONS

    engine = str(options.get("engine", "local")).strip().lower()
    if engine not in ("local", "dask"):
        raise InputError(f"--option engine={options['engine']}: the engines are local (the default) and dask")
    stray = [k for k in ENGINE_OPTIONS if k != "engine" and k in options]
    if stray and engine != "dask":
        raise InputError(f"--option {stray[0]} applies to the dask engine only: add --option engine=dask, or drop it")
    return {**options, "engine": engine} if "engine" in options else options


def _refuse_output_over_input(source: str, output: str | None) -> None:
    """`predict --output` may not replace the input file (the records would overwrite what they were predicted from),
    nor land inside a saved model's folder (a file its card does not list: the model would be refused from then on)."""
    from core.artifacts import model_dir_holding

    if output is None:
        return
    target = Path(output).resolve()
    if source != "-" and target == Path(source).resolve():
        raise InputError(f"--output {output} would overwrite the input it is predicted from; write the records to "
                         "another file")
    model = model_dir_holding(target.parent)
    if model is not None:
        raise InputError(f"--output {output} is inside the saved model folder {model}: a file its card does not list "
                         "would make the model refuse to load; write the records outside it")


def _prepare(args: argparse.Namespace, cls: type) -> int:
    """`verticals prepare TASK`: load (building and caching) the default now; `--rebuild`: rebuild a shipped one."""
    from core import registry
    from core.artifacts import check_output_dir

    if not args.rebuild:
        given = [flag for flag, value in (("--quick", args.quick), ("--out", args.out), ("--data", args.data)) if value]
        if given:
            raise InputError(f"{', '.join(given)} only {'apply' if len(given) > 1 else 'applies'} with --rebuild (prepare without it loads the embedded "
                             f"default); add --rebuild or leave {'them' if len(given) > 1 else 'it'} out")
        with progress.cli_bar(f"preparing the {args.task} default"):
            registry.load(args.task, None, device="cpu")
        print(json.dumps({"task": args.task, "ready": True}) if args.json else f"{args.task}: embedded default ready")
        return 0
    rebuild = getattr(cls, "rebuild_default", None)
    if rebuild is None:
        raise InputError(f"{args.task} ships no built default to rebuild (its default is built or loaded on first use; "
                         f"`verticals prepare {args.task}` does that now, and builds a damaged cached copy again)")
    options = {"data": args.data} if args.data else {}
    if options and "data" not in inspect.signature(rebuild).parameters:
        raise InputError(f"{args.task}'s recipe trains on no labelled file: drop --data")
    if args.out:  # refused now, not after a build of many minutes
        check_output_dir(args.out, task=args.task)
    with progress.cli_bar(f"rebuilding the {args.task} default", estimate_s=getattr(cls, "rebuild_seconds", None)):
        result = rebuild(out=args.out, quick=args.quick, **options)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print(f"rebuilt the {args.task} default in {result['out']}; weights identical to the shipped ones: {result['same_weights']}")
        for name, values in result["measured_quality"].items():
            print(f"  {name:<40} shipped {values['shipped']}  rebuilt {values['rebuilt']}")
        for note in result.get("notes", []):
            print(f"note: {note}")
    return 0


_OURS = tuple(str(Path(__file__).resolve().parents[1] / name) + os.sep
              for name in ("core", "nlp", "vision", "speech", "finance", "medical", "apps"))
_SAID: set[str] = set()  # the warnings this command has printed


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _printable(text: Any) -> str:
    r"""`text` for a terminal or a log, on one line: control characters (ESC sequences that recolour, clear or link;
    a CR or newline that would fake another `error:` line) and bidi overrides shown escaped, as Python writes them.
    Names in messages come from users' files (a column, a class folder, a path).

    >>> _printable("col\x1b[2J\nerror: fake")
    'col\\x1b[2J\\nerror: fake'
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def _say_warning(text: str) -> None:
    """One plain `warning: ...` line on stderr, once per command: a card's warning and the same text raised as a
    Python warning while it was made (a risk leak, a class too small to measure) are said once."""
    if text not in _SAID:
        _SAID.add(text)
        print(f"warning: {_printable(text)}", file=sys.stderr)


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """`warnings.showwarning` during a command: this project's UserWarnings as `_say_warning` lines (not
    file:line: UserWarning: ... plus a source line); others as Python shows them."""
    if issubclass(category, UserWarning) and str(Path(filename).resolve()).startswith(_OURS):
        _say_warning(str(message))
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOWWARNING = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `verticals` console script; returns the exit code.

    >>> main(["evaluate", "no.such.task", "--data", "x"])
    2
    """
    closed = sys.stdout is None  # started with stdout closed (`>&-`, some service managers): Python sets it to None
    if closed:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # what nobody reads goes nowhere; results are refused below
    try:
        return _main(argv, stdout_closed=closed)
    except BrokenPipeError:  # stdout's reader has gone (`| head -1`): Python's advice (docs: signal, "Note on
        # SIGPIPE"): point stdout at /dev/null so the flush at exit cannot fail again, and end quietly
        _quiet_stdout()
        return EXIT_BROKEN_PIPE


_STDOUT_FAILED: list[OSError] = []  # a write to stdout that failed during this command (a full disk behind `>`)


class _WatchedStdout:
    """sys.stdout during a command: notes a write that fails, so that a full or read-only file behind `>` is said as
    stdout's (the error names no file), and the --json error object is not written where nothing can be."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:  # the reader has gone (`| head -1`): said by main, quietly
            raise
        except OSError as error:
            _STDOUT_FAILED.append(error)
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            _STDOUT_FAILED.append(error)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's captured stdout): nothing to flush
        pass


PATH_FLAGS = ("input", "output", "data", "model", "out", "run_dir", "config", "path")


def _expand_home(args: argparse.Namespace) -> None:
    """`--out=~/m` reaches us unexpanded (the shell expands ~ only at a word's start): every path flag's ~ means home,
    as it does for the shell and for the jobs API (no hub id or file name of ours starts with ~)."""
    for name in PATH_FLAGS:
        value = getattr(args, name, None)
        if isinstance(value, str) and (value == "~" or value.startswith("~/")):
            setattr(args, name, os.path.expanduser(value))


def _main(argv: list[str] | None, stdout_closed: bool = False) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not _is_terminal(sys.stderr):  # transformers' and the hub's tqdm bars ("Loading weights") would fill a log
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # with carriage returns; read when they load
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as refused:  # with --json, stdout still holds one object
        _json_error(_asked(sys.argv[1:] if argv is None else argv), RuntimeError(refused.message))
        return EXIT_BAD_INPUT
    except SystemExit as exit_:
        return int(exit_.code or 0)
    _expand_home(args)
    if stdout_closed and _result_on_stdout(args):
        print(f"error: stdout is closed, and `verticals {args.command}` writes its result there: run it with stdout "
              "open (e.g. > result.txt)" + (", or give --output FILE" if args.command == "predict" else ""),
              file=sys.stderr)
        return EXIT_BAD_INPUT
    installing = threading.current_thread() is threading.main_thread()  # signal handlers live in the main thread
    previous = unwind_on_sigterm() if installing else None
    shown, warnings.showwarning = warnings.showwarning, _show_warning
    _SAID.clear()
    _STDOUT_FAILED.clear()
    watched = sys.stdout = _WatchedStdout(sys.stdout)
    try:
        with reader_options(**_reader_options(args)):
            code = _run(args)
        sys.stdout.flush()  # a closed pipe is found here, inside the handlers, not in the interpreter's flush at exit
        return code
    except BrokenPipeError:
        raise
    except (InputError, MissingDependencyError) as error:
        print(f"error: {_printable(error)}", file=sys.stderr)
        _json_error(args, error)
        return EXIT_BAD_INPUT
    except VerticalsError as error:
        print(f"error: {_printable(error)}", file=sys.stderr)
        _json_error(args, error)
        return 1
    except Exception as error:  # noqa: BLE001 - only the machine's own refusals are said in one line; the rest re-raise
        said = _environment_failure(error)
        if said is not None and getattr(error, "filename", None) is None and _STDOUT_FAILED:
            said = (f"cannot write to stdout: {getattr(error, 'strerror', None) or error}; free space where stdout "
                    "goes, or send it elsewhere (> FILE on another disk)")  # a full or read-only file behind `>`
            print(f"error: {_printable(said)}", file=sys.stderr)
            _quiet_stdout()  # what could not be written would fail again at exit, with a traceback
            return 1
        if said is None:  # a bug: its traceback follows on stderr, and --json still gets its one object on stdout
            _json_error(args, RuntimeError(_one_line(error)))
            raise
        print(f"error: {_printable(said)}", file=sys.stderr)
        _json_error(args, RuntimeError(said))
        return 1
    except KeyboardInterrupt as stop:  # Ctrl-C, or a SIGTERM (kill, a CI timeout, docker stop): temp files and locks go
        terminated = isinstance(stop, Terminated)
        said = ("terminated" if terminated else "interrupted") + _what_was_kept(args)
        print(said, file=sys.stderr)
        _json_error(args, InterruptedError(said))
        return 143 if terminated else 130
    finally:
        if sys.stdout is watched:
            sys.stdout = watched.stream
        warnings.showwarning = shown
        if installing:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _result_on_stdout(args: argparse.Namespace) -> bool:
    """Whether the command's result is what it prints (a task list, a metric card, a data report, records without
    --output), so that a closed stdout would lose it; train, prepare and app say only progress there."""
    if args.command == "predict":
        return getattr(args, "output", None) in (None, "-")
    return args.command in ("tasks", "evaluate", "check-data")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _asked(argv: list[str]) -> argparse.Namespace:
    """What a refused command line asked for, as far as `_json_error` needs it: --json, and the task named."""
    words = [str(word) for word in argv]
    words = words[:words.index("--")] if "--" in words else words
    task = words[1] if len(words) > 1 and words[0] != "tasks" and not words[1].startswith("-") else None
    return argparse.Namespace(json="--json" in words, task=task)


def _one_line(error: BaseException) -> str:
    """`Type: first line of the message`, for an error with no message of our own."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _what_was_kept(args: argparse.Namespace) -> str:
    """For an interrupted `train`: whether its run folder kept a checkpoint to `--resume` from."""
    if getattr(args, "command", None) != "train" or not getattr(args, "out", None):
        return ""
    from core.jobs import resumable_state, run_folder

    run_dir = run_folder(args.out, getattr(args, "run_dir", None))
    kept = resumable_state(run_dir)  # a checkpoint, best weights, risk's cross-validation cache...
    if kept:
        return f"; its progress ({', '.join(kept)}) is kept in {run_dir}: run the same command with --resume to continue"
    return ("; no checkpoint was kept (the task keeps none, or it stopped before the first one; a time-budgeted "
            "training cannot resume), so run the command again to start over")


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
# LightGBM's full disk: "Cannot write binary data to F, wrote N of M bytes", no errno
_SHORT_WRITE = re.compile(r"Cannot write binary data to (?P<file>.+?), wrote (?P<done>\d+) of (?P<all>\d+) bytes")


def _environment_failure(error: BaseException) -> str | None:
    """A full disk or a folder the program may not write (read-only file system, permissions), said in one line with
    the file and the fix; None for anything else (a bug keeps its traceback). Libraries that write in native code
    (safetensors) report a full disk only in their message; LightGBM only that it wrote part of a file.

    >>> _environment_failure(OSError(errno.ENOSPC, "No space left on device", "/m/w.bin"))
    'no space left on the device holding /m/w.bin: free some space, or write elsewhere (--out, --run-dir, or VERTICALS_HOME for the cache of defaults), and run the command again'
    >>> _environment_failure(RuntimeError("Cannot write binary data to /m/model.txt, wrote 8 of 90 bytes"))[:74]
    'could not write /m/model.txt (8 of 90 bytes written): the disk is probably'
    >>> _environment_failure(ValueError("bad")) is None
    True
    """
    short = _SHORT_WRITE.search(str(error))
    if short:
        return (f"could not write {short['file']} ({short['done']} of {short['all']} bytes written): the disk is "
                "probably full; free some space, or write elsewhere (--out, --run-dir, or VERTICALS_HOME for the cache "
                "of defaults), and run the command again")
    code = getattr(error, "errno", None)
    where = getattr(error, "filename", None)
    place = f" holding {where}" if where else ""
    if code in _DISK_FULL or "No space left on device" in str(error) or "Disk quota exceeded" in str(error):
        return (f"no space left on the device{place}: free some space, or write elsewhere (--out, --run-dir, or "
                "VERTICALS_HOME for the cache of defaults), and run the command again")
    if isinstance(error, OSError) and code in _NOT_WRITABLE:
        return (f"{where or 'a file'}: {error.strerror or error}; check its permissions, or write to a folder you may "
                "write (--out, --run-dir, --output, or VERTICALS_HOME for the cache of defaults)")
    return None


def _json_error(args: argparse.Namespace, error: Exception) -> None:
    """With --json, stdout holds exactly one JSON object even when the command is refused: {ok: false, error}."""
    if getattr(args, "json", False) and not _STDOUT_FAILED:  # where stdout failed, the object cannot be written either
        with contextlib.suppress(BrokenPipeError, OSError):  # the error itself is said on stderr already
            print(json.dumps({"task": getattr(args, "task", None), "ok": False, "error": str(error)}), flush=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program stands so that it unwinds as from Ctrl-C: every `finally` and `except
    BaseException` that removes a temp file, a lock or an empty run folder runs."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def unwind_on_sigterm() -> Any:
    """Make SIGTERM raise `Terminated` where the program stands (the CLI, and the job runner that `cancel_job` stops);
    returns the handler it replaces. By default the process just died, leaving its temp files and locks."""
    return signal.signal(signal.SIGTERM, _terminated)


if __name__ == "__main__":
    sys.exit(main())
