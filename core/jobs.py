"""Background training jobs: one process per job, progress from its metrics log, cancel, one job per device."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.artifacts import atomic_write_text, home, make_home_dir, models_dir
from core.errors import InputError, VerticalsError
from core.train import BEST_NAME, CHECKPOINT_META, CHECKPOINT_NAME, LOG_NAME

__all__ = ["Job", "run_training", "start_job", "get_job", "list_jobs", "cancel_job", "jobs_dir", "resumable_state"]

TERMINAL = {"succeeded", "failed", "cancelled"}
CANCEL_WAIT_S = 10.0  # how long cancel_job waits for the runner to stop and say what is on disk
RUN_RECORD = "run.json"  # what a run directory's checkpoint was trained on (task, data hash, options, config, base)
RUN_FORMAT = "verticals-run/1"  # the run record's "format": how a run.json of ours is told from another tool's
DATA_HASH_SCHEME = 2  # 2: files by relative name and content (a relabel shows); records without it: core.artifacts.legacy_hash_files
RUN_KEYS = {"task", "data_hash", "options", "config", "base_model"}  # every run record has held these (older: no format)
# What a training leaves in its run folder for --resume: the Trainer's checkpoint, its metadata and best weights,
# finance.risk's cross-validation cache, nlp.translation's tokenizer. Only these, the record and the log are ever deleted.
RUN_STATE = (CHECKPOINT_NAME, CHECKPOINT_META, BEST_NAME, "cv", "tokenizer.json")
RUN_FILES = {RUN_RECORD, LOG_NAME, *RUN_STATE}


def jobs_dir() -> Path:
    """Where job folders live (`$VERTICALS_HOME/jobs`)."""
    return make_home_dir(home() / "jobs")


def run_folder(out: str | Path, run_dir: str | Path | None = None) -> Path:
    """Where a training keeps its checkpoints and log: `run_dir`, else `.<out>.run` beside `--out`."""
    out = Path(out)
    return Path(run_dir) if run_dir is not None else out.with_name(f".{out.name}.run")


def run_training(task: str, data: str | Path, out: str | Path, base: str | None = None, config_path: str | Path | None = None,
                 overrides: dict[str, Any] | None = None, options: dict[str, Any] | None = None, run_dir: str | Path | None = None,
                 resume: bool = False, callbacks=(), device: str = "auto") -> dict[str, Any]:
    """The one training path used by `verticals train`, background jobs and the dashboard; returns the saved card.

    `out` must be new, empty, or a saved model of the same task (else `InputError`, nothing touched); one training
    at a time may write it, and one at a time may use the run folder (locked the same way, so neither can be another
    training's --out or run folder). `resume` continues only a run of the same task, data, options, config and base model.
    The saved card's `training` section (data hash, rows, seconds, config, base model) is filled the same way for
    every task.
    """
    from core.artifacts import check_output_dir, is_model_dir, output_lock, signals_deferred
    from core.config import config_to_dict, resolve_config
    from core.registry import task_class

    cls = task_class(task)
    out = check_output_dir(out, task=task)
    config_cls = getattr(cls, "Config", None)
    config = None
    if config_cls is not None:
        config = resolve_config(config_cls, yaml_path=config_path, overrides=overrides)
    elif config_path or overrides:
        raise InputError(f"{task} takes no training config")
    run_dir = run_folder(out, run_dir)
    lead = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 locks, records and saves
    if lead:  # the other ranks would see rank 0's run record half-written
        _check_run_dir(run_dir, out)
    with contextlib.ExitStack() as held:
        if lead:  # the run folder is locked as --out is: no other training may use it as its --out or run folder
            held.enter_context(output_lock(out))
            held.enter_context(output_lock(run_dir))
            _check_run_dir(run_dir, out)  # again, now that no other training can change it
            if run_dir.is_dir() and _only_unfinished_writes(run_dir):  # a dead training's half-written run record
                for leftover in run_dir.iterdir():
                    leftover.unlink(missing_ok=True)
        run_dir_existed = run_dir.exists()
        try:
            dataset = cls.training_data(data, **(options or {}))  # the same reading and checks as check-data
            run = {"format": RUN_FORMAT, "task": task, "data_hash": training_data_hash(cls, data, dataset),
                   "data_hash_scheme": DATA_HASH_SCHEME, "options": {k: str(v) for k, v in (options or {}).items()},
                   "config": config_to_dict(config), "base_model": _base_name(base)}
            if lead:
                _check_resume(run_dir, run, resume, data)
            earlier = _logged_runs(run_dir) if resume and lead else None  # what the interrupted run(s) had done
            started = time.monotonic()
            model = cls.for_training(base, device=device)
            try:
                model.fit(dataset, config=config, run_dir=run_dir, resume=resume, callbacks=callbacks)
                resumed_from = _resumed_from(run_dir) if earlier is not None else None
                if resumed_from is not None:  # where the Trainer really started: 0 when the kept checkpoint was incomplete
                    earlier["last_step"] = resumed_from
            except InputError:
                if lead and not resume:  # refused data or config: the state this fresh run kept resumes nothing,
                    _drop_checkpoints(run_dir)  # since the rerun's data or config must differ (and would be refused)
                raise
        except BaseException:
            if lead and not run_dir_existed:
                _drop_empty_run_dir(run_dir)
            raise
        seconds = round(time.monotonic() - started, 1)
        if not lead:
            return {"task": task, "training": {**run, "seconds": seconds}, "metrics": {}, "rank": os.environ.get("RANK")}
        before, late = _identity(out), False
        try:
            saved = model.save(out)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: once the new model is in place (the folder swapped) it is kept
            if not (is_model_dir(out) and _identity(out) != before):
                raise
            saved, late = out, True
        with signals_deferred(swallow=True) as came:  # the record of a saved model is not left half-made
            card = _record_training(saved, run, seconds, _rows(dataset), earlier)
            _drop_checkpoints(run_dir)
            atomic_write_text(run_dir / RUN_RECORD, json.dumps({**run, "finished": {"out": str(out.resolve()), "seconds": seconds}},
                                                               indent=2, sort_keys=True))  # `--resume` now has nothing to continue
        if late or came:
            warnings.warn(f"the interrupt came after the model was saved to {out}: the new model is kept, with its "
                          "training recorded (nothing to --resume)")
        return card


def _base_name(base: str | Path | None) -> str | None:
    """The base model as the card records it: a folder by its absolute path (a relative one means nothing elsewhere),
    a built-in name or hub id as given."""
    if base is None:
        return None
    return str(Path(base).resolve()) if Path(base).exists() else str(base)


def _check_run_dir(run_dir: Path, out: Path) -> None:
    """The run folder holds checkpoints that training overwrites: it must be new, empty, or a run folder an earlier
    `verticals train` made (its run record inside), and apart from the output folder; else `InputError`, nothing touched."""
    run, model = run_dir.resolve(), out.resolve()
    if run == model or model in run.parents or run in model.parents:
        raise InputError(f"--run-dir {run_dir} and --out {out} overlap; the run folder keeps checkpoints and logs apart "
                         "from the saved model: choose another run folder (or leave --run-dir out)")
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"the run folder {run_dir} is a file; pass a folder to --run-dir (it is created if missing)")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if (run_dir / "card.json").exists():
            raise InputError(f"the run folder {run_dir} is a saved model; training would overwrite it: "
                             "choose a new or empty --run-dir")
        if not (run_dir / RUN_RECORD).is_file():
            if _only_unfinished_writes(run_dir):  # a training killed while writing its first run record: nothing
                return  # of the user's is here, and nothing to resume (the leftovers go once the folder is locked)
            raise InputError(f"the run folder {run_dir} already holds files that are not a training run (no {RUN_RECORD}); "
                             "training would overwrite them: delete them or choose a new or empty --run-dir (nothing was "
                             "changed)")
        _run_record(run_dir)  # a run.json of another tool's (or hand-made) is refused


def _only_unfinished_writes(run_dir: Path) -> bool:
    """Whether `run_dir` holds nothing but the temp files of Verticals' own interrupted atomic writes
    (`.run.json.<random>.tmp`: a kill -9 while the first run record was written)."""
    children, ours = list(run_dir.iterdir()), set(_our_files(run_dir, RUN_FILES))
    return bool(children) and all(child.is_file() and child.name.endswith(".tmp") and child in ours for child in children)


def _run_record(run_dir: Path) -> dict[str, Any] | None:
    """The run record `run_training` wrote in `run_dir` (None when there is none); a `run.json` that is not one (another
    tool's, hand-made, unreadable) is `InputError`: the folder is the user's, not a run folder."""
    record = run_dir / RUN_RECORD
    if not record.is_file():
        return None
    try:
        previous = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        why = f"it is unreadable ({error})"
    else:
        if isinstance(previous, dict) and (previous.get("format") == RUN_FORMAT or (  # older records had no format
                RUN_KEYS <= set(previous) and isinstance(previous["task"], str) and isinstance(previous["data_hash"], str))):
            return previous
        missing = sorted(RUN_KEYS - set(previous)) if isinstance(previous, dict) else []
        why = f"it has no {', '.join(missing)}" if missing else "its fields are not a run record's"
    raise InputError(f"the run folder {run_dir} holds a {RUN_RECORD} that is not a Verticals run record ({why}), so its "
                     "files are taken for yours; training would overwrite them: choose a new or empty --run-dir "
                     "(nothing was changed)")


def _state_files(run_dir: Path) -> list[str]:
    """The run-state files (`RUN_STATE`) present in `run_dir`."""
    present = [name for name in RUN_STATE if (run_dir / name).exists() or (run_dir / name).is_symlink()]
    if CHECKPOINT_NAME not in present:  # its metadata alone (a kill between the two writes) resumes nothing
        present = [name for name in present if name != CHECKPOINT_META]
    return present


def resumable_state(run_dir: str | Path) -> list[str]:
    """What an interrupted training left in `run_dir` for `--resume` to continue (checkpoint, best weights, risk's
    cross-validation cache, translation's tokenizer); `[]` when there is nothing, or the run recorded there finished.

    >>> resumable_state("no/such/run/folder")
    []
    """
    run_dir = Path(run_dir)
    try:
        record = _run_record(run_dir)
    except InputError:  # not a run folder of ours
        return []
    if record is None or record.get("finished"):
        return []
    return _state_files(run_dir)


def _our_files(run_dir: Path, names: set[str]) -> list[Path]:
    """The files among `names` in `run_dir`, with the temp files an interrupted atomic write of one left
    (`.<name>.<random>.tmp`); nothing else in the folder is Verticals'."""
    def ours(name: str) -> bool:
        return name in names or (name.endswith(".tmp") and any(name.startswith(f".{kept}.") for kept in names))

    return [child for child in run_dir.iterdir() if ours(child.name)]


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _drop_checkpoints(run_dir: Path) -> None:
    """Once the model is saved nothing is left to resume: keep the run record and the log (small; jobs read the log),
    drop checkpoints, best weights and caches (hundreds of MB for a network). `VERTICALS_KEEP_CHECKPOINTS=1` keeps
    them, to inspect the last fine-tuned state. Files Verticals does not write there are left alone."""
    if os.environ.get("VERTICALS_KEEP_CHECKPOINTS", "") not in ("", "0"):
        return
    with contextlib.suppress(OSError):
        for child in _our_files(run_dir, set(RUN_STATE)):
            _remove(child)


def _drop_empty_run_dir(run_dir: Path) -> None:
    """After a refused or failed training: remove the run folder this call made when it holds nothing to resume
    (only the run record and the log); a checkpoint, or anything else, stays."""
    with contextlib.suppress(OSError):
        if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {RUN_RECORD, LOG_NAME}:
            shutil.rmtree(run_dir)


def training_data_hash(cls: Any, data: str | Path, dataset: Any = None) -> str:
    """The hash a run record keeps of `data` for task class `cls`: its files, joined by what the task read through them
    (`cls.data_digest` of `dataset`, read here when not given)."""
    if dataset is None:
        dataset = cls.read_data(data)
    return _data_hash(data, named=cls.data_digest(dataset))


def _data_hash(data: str | Path, legacy: bool = False, named: str | None = None) -> str:
    """The training data's hash (core.artifacts.hash_files, or hash_parts for table parts); `named`, the task's digest
    of the files read through the data (`TaskModel.data_digest`: what a manifest or data.yaml names), joins it."""
    if named is not None and not legacy:  # a folder too: its data.yaml may name images elsewhere (path:)
        import hashlib

        return hashlib.sha256(f"{_data_hash(data)}\0{named}".encode()).hexdigest()
    from core.artifacts import hash_files, legacy_hash_files
    from core.distributed import hash_parts, is_parts

    if is_parts(data):  # a folder or glob of table parts: the parts' hashes by relative name, whatever the listing order
        return hash_parts(data)
    path = Path(data).expanduser()
    if not path.exists():
        raise InputError(f"training data {data} does not exist; pass a file or folder")
    try:
        return (legacy_hash_files if legacy else hash_files)([path])
    except OSError as error:
        raise InputError(f"cannot read training data {data}: {error.strerror or error}") from error


def _rows(dataset: Any) -> int | None:
    from core.protocols import _length

    with contextlib.suppress(Exception):
        return _length(dataset)
    return None


def _check_resume(run_dir: Path, run: dict[str, Any], resume: bool, data: str | Path | None = None) -> None:
    """Record what this run trains on; with `resume`, refuse a checkpoint made by a different run (saying what differs)."""
    previous = _run_record(run_dir)
    if (previous is not None and data is not None and "data_hash_scheme" not in previous
            and previous.get("data_hash") != run["data_hash"]):  # a record from before DATA_HASH_SCHEME: its own hash
        with contextlib.suppress(InputError):
            if previous.get("data_hash") == _data_hash(data, legacy=True):
                previous = {**previous, "data_hash": run["data_hash"]}
                if resume:
                    warnings.warn(f"the run in {run_dir} was recorded before the data hash covered folders: the files' "
                                  "names and bytes match, but a file moved to another folder since (a relabel) would "
                                  "not be seen; if you relabelled, train without --resume", stacklevel=2)
    if resume and previous is not None:
        differences = _differences(previous, run)
        if differences:
            raise InputError(f"--resume refused: the run recorded in {run_dir} is another one ({'; '.join(differences)}). "
                             "Resume with the same data and config, or train without --resume")
        if previous.get("finished"):  # its checkpoints were dropped after the save: resuming would start from scratch
            raise InputError(f"--resume: the run recorded in {run_dir} finished and saved its model to "
                             f"{previous['finished'].get('out')}; there is nothing to continue. Train without --resume "
                             "to train again")
        return
    if resume:  # a folder with files but no record was refused by _check_run_dir
        raise InputError(f"--resume: there is no earlier run to continue in {run_dir}; train without --resume "
                         "(or pass the --run-dir of the interrupted run)")
    _refuse_to_drop_an_interrupted_run(run_dir, previous, run)
    _clear_run_dir(run_dir)  # a new run: an earlier run's checkpoint left here would be resumed as this run's
    atomic_write_text(run_dir / RUN_RECORD, json.dumps(run, indent=2, sort_keys=True))


def _refuse_to_drop_an_interrupted_run(run_dir: Path, previous: dict[str, Any] | None, run: dict[str, Any]) -> None:
    """A new run (no `--resume`) may not empty a run folder that holds an interrupted run's checkpoint: hours of
    training, which `--resume` would continue; `InputError` says how to go on, nothing is touched. A finished run's
    leftovers (`VERTICALS_KEEP_CHECKPOINTS=1`) may go: its model was saved."""
    if previous is None or previous.get("finished"):
        return
    kept = _state_files(run_dir)
    if not kept:
        return
    differences = _differences(previous, run)
    which = f"another run's ({'; '.join(differences)})" if differences else "this same run's"
    if previous.get("task") != run.get("task"):  # --resume could not continue it from this command
        resume = "Continue it with its own train command and --resume"
    else:
        resume = "Pass --resume to continue it" + (" with the data and config it used" if differences else "")
    raise InputError(f"the run folder {run_dir} holds {which} interrupted training ({', '.join(kept[:4])}); a new run "
                     f"would delete it. {resume}, choose another --run-dir, or delete {run_dir} to start over (nothing "
                     "was changed)")


def _clear_run_dir(run_dir: Path) -> None:
    """Empty a run folder of what an earlier run wrote before a new run records itself there: its checkpoints, best
    weights and log belong to that earlier run. Only files Verticals writes there go (`RUN_FILES`); others stay."""
    if run_dir.is_dir():
        for child in _our_files(run_dir, RUN_FILES):
            _remove(child)


def _differences(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    def shown(value: Any) -> str:
        return f"{value[:12]}…" if isinstance(value, str) and len(value) > 16 else json.dumps(value)

    if previous.get("task") != current.get("task"):  # another task's run: its data, options and config mean nothing here
        return [f"task {previous.get('task')} then, {current.get('task')} now"]
    found = []
    for key in ("data_hash", "options", "base_model"):
        if previous.get(key) != current.get(key):
            found.append(f"{key.replace('_', ' ')}: {shown(previous.get(key))} then, {shown(current.get(key))} now")
    old_config, new_config = previous.get("config") or {}, current.get("config") or {}
    for name in sorted(set(old_config) | set(new_config)):
        if old_config.get(name) != new_config.get(name):
            found.append(f"config {name}: {json.dumps(old_config.get(name))} then, {json.dumps(new_config.get(name))} now")
    return found


def _logged_runs(run_dir: Path) -> dict[str, Any] | None:
    """What the training log of an interrupted run says it did before this resume: how many runs wrote it, their
    seconds (first to last event of each: the Trainer logs `interrupted` when a run stops) and the step this resume
    starts from (the kept checkpoint's, else the last step logged); None without a log (tasks that train without
    core's Trainer) or without a run in it.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()); log = folder / LOG_NAME
    >>> _ = log.write_text(chr(10).join(['{"event": "start", "time": 10.0}', '{"event": "step", "time": 14.5, "step": 3}']))
    >>> _logged_runs(folder)
    {'runs': 1, 'seconds': 4.5, 'last_step': 3}
    >>> _ = (folder / CHECKPOINT_META).write_text('{"step": 2}')  # the step a resume really starts from
    >>> _logged_runs(folder)["last_step"]
    2
    """
    runs, last_step = [], None
    with contextlib.suppress(OSError):
        for line in (run_dir / LOG_NAME).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                event = json.loads(line)
                moment = float(event["time"])
                if event.get("event") == "start" or not runs:
                    runs.append([moment, moment])
                runs[-1][1] = max(runs[-1][1], moment)
                if isinstance(event.get("step"), int):
                    last_step = event["step"]
    if not runs:
        return None
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        step = json.loads((run_dir / CHECKPOINT_META).read_text(encoding="utf-8")).get("step")
        last_step = step if isinstance(step, int) and not isinstance(step, bool) else last_step
    return {"runs": len(runs), "seconds": round(sum(end - begin for begin, end in runs), 1), "last_step": last_step}


def _resumed_from(run_dir: Path) -> int | None:
    """The step the last `resume` event of the training log names (core's Trainer writes one when it resumes: the
    checkpoint's step, or 0 when none could be used); None without one (tasks that train without the Trainer).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / LOG_NAME).write_text('{"event": "resume", "step": 0, "note": "no checkpoint found"}')
    >>> _resumed_from(folder), _resumed_from(folder / "none")
    (0, None)
    """
    step = None
    with contextlib.suppress(OSError):
        for line in (run_dir / LOG_NAME).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                event = json.loads(line)
                if event.get("event") == "resume" and isinstance(event.get("step"), int):
                    step = event["step"]
    return step


def _record_training(saved: Path, run: dict[str, Any], seconds: float, rows: int | None,
                     earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill the card's `training` section the same way for every task (the task's own data hash wins when it has one).
    A resumed run (`earlier`: `_logged_runs` of its interrupted runs) says so under `resumed`, and its `seconds` add
    the interrupted runs' logged seconds to this one's."""
    from core.artifacts import read_card, write_card
    from core.card import ModelCard

    card = read_card(saved, check=False)  # written and hashed by save() a moment ago, under our lock; schema still checked
    training = dict(card.get("training") or {})
    training.update({
        "data_hash": training.get("data_hash") or run["data_hash"],
        "rows": training.get("rows") or rows,
        "seconds": round(seconds + (earlier["seconds"] if earlier else 0.0), 1),
        "config": training.get("config") or run["config"] or card.get("config") or {},
        "base_model": run["base_model"],
    })
    if earlier:
        training["resumed"] = {"interrupted_runs": earlier["runs"], "from_step": earlier["last_step"],
                               "seconds_before": earlier["seconds"], "seconds_this_run": seconds}
    card = ModelCard.from_dict({**card, "training": training}).to_dict()
    return write_card(saved, card)  # with its digest recomputed (card.json is not in its own file list)


@dataclass
class Job:
    """A background training job as stored in `jobs/<id>/job.json`, plus its live progress."""

    id: str
    task: str
    status: str
    spec: dict[str, Any]
    created: str
    pid: int | None = None
    out: str | None = None
    error: str | None = None
    note: str | None = None  # e.g. a cancel that came after the model was saved
    host: str | None = None  # the machine its runner was started on (None: recorded before hosts were)
    progress: dict[str, Any] | None = None

    @property
    def folder(self) -> Path:
        return jobs_dir() / self.id

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on `path` (created if missing) for a short check-and-write; others wait their turn."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _write(job_folder: Path, **fields: Any) -> dict[str, Any]:
    path = job_folder / "job.json"
    with _locked(job_folder / ".job.lock"):  # the runner and cancel_job update one record: neither loses the other's
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update(fields)
        atomic_write_text(path, json.dumps(current, indent=2, default=str))
    return current


def _identity(folder: str | Path) -> list[int] | None:
    """Which folder is at `folder` now (device, inode): a save replaces the folder whole, so a new model is a new one."""
    with contextlib.suppress(OSError):
        stat = os.stat(folder)
        return [stat.st_dev, stat.st_ino]
    return None


def _settle_cancel(folder: Path, write: bool = True) -> dict[str, Any]:
    """Record how a cancelled job ended from what is on disk: its model saved before the cancel took effect (a
    `succeeded` job, saying the cancel came too late), or not saved (`cancelled`; the output is as it was).
    `write=False` only says it (the record as it would be written)."""
    from core.artifacts import is_model_dir

    record = json.loads((folder / "job.json").read_text())
    if record["status"] in TERMINAL:
        return record
    out = record.get("out")
    if "out_before" in record and out and is_model_dir(out) and _identity(out) != record["out_before"]:
        fields = {"status": "succeeded", "error": None, "finished": time.time(),
                  "note": f"the cancel came after the model was saved to {out}; the new model is kept"}
    else:
        fields = {"status": "cancelled", "finished": time.time(), "note": f"cancelled before the model was saved; {out} is as it was"}
    return _write(folder, **fields) if write else {**record, **fields}


def _settle_death(folder: Path, write: bool = True) -> dict[str, Any]:
    """Record a job whose runner died (kill -9, the OOM killer) as failed; `write=False` only says it."""
    record = json.loads((folder / "job.json").read_text())
    fields = {"status": "failed", "error": record.get("error") or "the job process ended unexpectedly; see its log"}
    return _write(folder, **fields) if write else {**record, **fields}


def _this_host(host: str | None) -> bool:
    """Whether a job's runner was started on this machine (jobs before hosts were recorded: taken as this one's). Its
    pid says nothing on another machine sharing VERTICALS_HOME: that job is neither judged dead nor signalled here."""
    return host in (None, socket.gethostname())


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
        if status == "Z":
            return False
    return True


def _progress(folder: Path) -> dict[str, Any]:
    log = folder / "run" / "metrics.jsonl"
    progress: dict[str, Any] = {}
    if not log.exists():
        return progress
    start_time = None
    with open(log, encoding="utf-8") as handle:
        for line in handle:
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(line)
                if record.get("event") == "start" and start_time is None:
                    start_time = record.get("time")
                progress.update({k: v for k, v in record.items() if k not in {"event"}})
                progress["last_event"] = record.get("event")
    step, total = progress.get("step"), progress.get("total_steps")
    if step and total and start_time:
        elapsed = time.time() - start_time
        progress["fraction"] = min(1.0, step / total)
        progress["eta_seconds"] = round(elapsed / step * max(0, total - step), 1)
    return progress


def get_job(job_id: str) -> Job:
    """Read a job (status, progress, result) from disk; a dead runner is reported as failed (as cancelled, or as
    succeeded, when it was cancelled: what is on disk decides)."""
    folder = jobs_dir() / job_id
    if not (folder / "job.json").is_file() or os.sep in job_id or job_id.startswith("."):
        raise InputError(f"no job {job_id!r}")
    record = json.loads((folder / "job.json").read_text())
    if (record["status"] in {"queued", "running"} and record.get("pid") and _this_host(record.get("host"))
            and not _alive(record["pid"])):
        settle = _settle_cancel if record.get("cancel_requested") else _settle_death
        try:
            record = settle(folder)
        except (OSError, VerticalsError):  # a full or read-only home (a full disk is when jobs die): reading stays a
            record = settle(folder, write=False)  # read; the outcome is recorded by the next read that can write
    job = Job(**{k: record.get(k) for k in ("id", "task", "status", "spec", "created", "pid", "out", "error", "note",
                                            "host")})
    job.progress = _progress(folder)
    return job


def list_jobs() -> list[Job]:
    """Every job, newest first (queued jobs show their place in the queue by creation time)."""
    jobs = []
    for folder in jobs_dir().iterdir():
        if (folder / "job.json").is_file():
            with contextlib.suppress(InputError, json.JSONDecodeError, KeyError, TypeError):
                jobs.append(get_job(folder.name))
    return sorted(jobs, key=lambda j: j.created, reverse=True)


def job_writing(out: str | Path) -> bool:
    """Whether a queued or running job will save its model to `out`."""
    out = Path(out).resolve()
    return any(not job.done and job.out and Path(job.out).resolve() == out for job in list_jobs())


def model_name(name: str) -> str:
    """The registry folder name a typed model name becomes (letters, digits and - _ . kept; others become -).

    >>> model_name("my model/v2")
    'my-model-v2'
    """
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".-")


def start_job(task: str, data: str | Path, out: str | Path | None = None, base: str | None = None,
              overrides: dict[str, Any] | None = None, options: dict[str, Any] | None = None, name: str | None = None,
              replace: bool = False) -> Job:
    """Start training in a background process; returns at once. The model lands in the local registry.

    An `out` that holds a saved model is replaced only with `replace=True`; one a queued or running job will write is
    refused either way (`InputError`, nothing started)."""
    from core.artifacts import is_model_dir
    from core.registry import check_task

    check_task(task)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    job_id = f"{stamp}-{uuid.uuid4().hex[:6]}"
    safe_name = model_name(name or f"{task}-{stamp}") or job_id
    # the runner starts in the repository: the caller's relative paths are resolved here, against the caller's folder
    data = Path(data).expanduser().resolve()
    out = Path(out).expanduser().resolve() if out is not None else models_dir() / safe_name
    if base is not None and Path(str(base)).expanduser().exists():
        base = str(Path(str(base)).expanduser().resolve())  # a folder; a hub id or a built-in name stays as given
    folder = jobs_dir() / job_id
    spec = {"task": task, "data": str(data), "out": str(out), "base": base, "overrides": overrides or {}, "options": options or {}}
    with _locked(jobs_dir() / ".start.lock"):  # checked and registered in one step: two sessions cannot both take a name
        if job_writing(out):
            raise InputError(f"a training that is still running will save its model as {out.name}; choose another name")
        if is_model_dir(out) and not replace:
            raise InputError(f"a saved model named {out.name} already exists; choose another name, or ask to replace it")
        folder.mkdir(parents=True)
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        _write(folder, id=job_id, task=task, status="queued", spec=spec, created=created, out=str(out))
    try:
        with open(folder / "log.txt", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "core.jobs", job_id], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=Path(__file__).resolve().parents[1], env={**os.environ, "VERTICALS_HOME": str(home())})
    except OSError as error:  # the name is free again
        _write(folder, status="failed", error=f"could not start the training process: {error.strerror or error}")
        raise InputError(f"could not start the training process: {error.strerror or error}") from error
    _write(folder, pid=process.pid, host=socket.gethostname())
    return get_job(job_id)


def cancel_job(job_id: str) -> Job:
    """Stop a queued or running job (its whole process group) and report what is on disk: `cancelled` when the model
    was not saved (an `out` being replaced is as it was), `succeeded` with a note when the save had already completed.
    Waits up to `CANCEL_WAIT_S` for the runner to stop; the runner alone records the outcome."""
    job = get_job(job_id)
    if job.done:
        return job
    if not _this_host(job.host):
        raise InputError(f"job {job_id} runs on {job.host}, not on this machine ({socket.gethostname()}); cancel "
                         "it there (a process id means nothing across machines)")
    _write(job.folder, cancel_requested=time.time())
    if job.pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.pid, signal.SIGTERM)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while _alive(job.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    return get_job(job_id)


def _run(job_id: str) -> int:
    """Runner process body: train, record the outcome; a cancel (SIGTERM, as `Terminated`) is recorded by what is on
    disk, even when it lands after the model was saved."""
    folder = jobs_dir() / job_id
    try:
        return _train_job(folder)
    except KeyboardInterrupt:  # cancel_job's SIGTERM, wherever it landed: waiting, training, saving or after it
        _settle_cancel(folder)
        return 1


def _train_job(folder: Path) -> int:
    """Wait for the device lock (one job per device), train, record the outcome."""
    import fcntl

    spec = json.loads((folder / "job.json").read_text())["spec"]
    lock = open(jobs_dir() / "device.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # queued until the previous job on this device finishes
    try:
        if json.loads((folder / "job.json").read_text()).get("cancel_requested"):
            _settle_cancel(folder)
            return 1
        _write(folder, status="running", started=time.time(), out_before=_identity(spec["out"]))
        try:
            card = run_training(spec["task"], spec["data"], spec["out"], base=spec.get("base"),
                                overrides=spec.get("overrides"), options=spec.get("options"), run_dir=folder / "run")
        except Exception as error:  # recorded for the dashboard; the traceback stays in log.txt
            import traceback

            traceback.print_exc()
            message = str(error) if isinstance(error, VerticalsError) else f"{type(error).__name__}: {error}"
            _write(folder, status="failed", error=message, finished=time.time())
            return 1
        _write(folder, status="succeeded", finished=time.time(), metrics=card.get("metrics", {}))
        return 0
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


if __name__ == "__main__":
    from core.cli import unwind_on_sigterm

    unwind_on_sigterm()  # cancel_job sends SIGTERM: the training unwinds as from Ctrl-C (lock and empty run folder go)
    sys.exit(_run(sys.argv[1]))
