"""Model directories on disk: `card.json` + weights, atomic writes, hashes, and the pickle refusal."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from core.card import FORMAT_VERSION, ModelCard
from core.errors import InputError, UnsafeArtifactError, write_error

__all__ = [
    "CARD_NAME", "home", "models_dir", "cache_dir", "atomic_write_text", "atomic_write_bytes", "atomic_directory",
    "save_model_dir", "read_card", "check_model_dir", "save_tensors", "load_tensors", "safe_torch_load",
    "library_versions", "hash_files", "hash_bytes", "file_sha256", "hash_frame", "list_saved_models", "is_model_dir",
    "write_card", "card_digest", "check_card_digest", "default_mode",
    "signals_deferred", "temp_file_beside", "release_temp",
    "promoted_defaults", "promote_model", "delete_model", "zip_model", "check_output_dir", "output_lock", "cached_default",
    "card_mismatch", "recover_model_dir",
]

CARD_NAME = "card.json"
T = TypeVar("T")
# Suffixes of files that deserialise through pickle (or may): never loaded from a model directory.
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz", ".dill"}
DEFAULT_LIBRARIES = ("verticals", "torch", "numpy", "polars", "scikit-learn", "safetensors")


def home() -> Path:
    """The Verticals home folder: `$VERTICALS_HOME`, else `~/.cache/verticals`.

    >>> home().name in {"verticals"} or "VERTICALS_HOME" in os.environ
    True
    """
    # absolute: a relative VERTICALS_HOME would name another folder in a job runner started in another cwd
    return Path(os.environ.get("VERTICALS_HOME") or Path.home() / ".cache" / "verticals").expanduser().absolute()


def models_dir() -> Path:
    """The local model registry, where retrained models land.

    >>> models_dir().name
    'models'
    """
    return home() / "models"


def cache_dir(name: str) -> Path:
    """A cache folder for an embedded default (trained on first use), created on demand.

    >>> cache_dir("doctest").name
    'doctest'
    """
    return make_home_dir(home() / "defaults" / name)


def make_home_dir(path: Path) -> Path:
    """Create `path`, a folder under the Verticals home; a home that cannot hold it (a file, a path that cannot be
    created, a read-only disk) is a one-line error naming the home and the fix, not a traceback."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(f"cannot create {path} ({error.strerror or error}): the Verticals home {home()} must be a "
                          "folder you may write; set VERTICALS_HOME to one", error) from error
    return path


def _umask() -> int:
    """The process umask, read without changing it (Linux `/proc`), else by the set-and-restore idiom."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(path: str | Path, directory: bool = False) -> None:
    """Give a file from `mkstemp` (0600) or a folder from `mkdtemp` (0700) the mode an ordinary `open` / `mkdir` would
    (0666 / 0777 less the umask), so a saved model or output is readable by the team, a serving user or dask workers
    as the user's other files are."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def _default_modes(folder: Path) -> None:
    """`default_mode` for every file and folder under `folder` (symlinks left as they are): what a task's writers put
    there, safetensors' `save_file` (0600 through its own temp file), `save_pretrained` or torch, gets the mode
    an ordinary `open` / `mkdir` would, executable files keeping their execute bits."""
    mask = _umask()
    for root, folders, files in os.walk(folder):
        for name in folders:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            file = os.path.join(root, name)
            if not os.path.islink(file):
                os.chmod(file, (0o777 if os.stat(file).st_mode & 0o111 else 0o666) & ~mask)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file and `os.replace`, so readers never see half a file.

    >>> p = atomic_write_bytes(Path(tempfile.mkdtemp()) / "x.bin", b"ok"); p.read_bytes()
    b'ok'
    """
    path = Path(path)
    if not str(path) or path.name in {"", ".", ".."} or path.is_dir():
        raise InputError(f"cannot write a file at {str(path)!r}: it is empty or a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise write_error(f"cannot write {path}: {error.strerror or error}; choose a writable location", error) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        default_mode(tmp)
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise write_error(f"cannot write {path}: {error.strerror or error}; choose a writable location", error) from error
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Text version of `atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# Beside a folder M that a save is replacing: the previous M set aside (`.M.old-PID.HOST`) while the new one
# (`.M.PID.HOST-xxxxxxxx.tmp`, from mkdtemp) takes its place, each named by the pid and host of the saving process, so a
# later save or load can tell a live save's folders from those of a save that died (kill -9, power loss) and finish its
# work. HOST is 8 hex digits of the host name: a pid says nothing about a process on another machine sharing the folder
# (NFS), so another host's folders are left alone. Names without HOST (saves before it was added) are judged here.
_BACKUP = re.compile(r"old-(\d+)(?:\.([0-9a-f]{8}))?")
_TEMP = re.compile(r"(\d+)(?:\.([0-9a-f]{8}))?-[a-z0-9_]{8}\.tmp")
_HELD: set[str] = set()  # backup and temp folders of this process's saves in progress (never another save's leftovers)


def host_tag() -> str:
    """8 hex digits naming this machine in the folders a save leaves beside a model (see `_saver_alive`).

    >>> len(host_tag()), host_tag() == host_tag()
    (8, True)
    """
    import socket

    return hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]


def _saver_alive(folder: Path, pid: int, host: str | None = None) -> bool:
    """Whether the save that made `folder` may still be running: its pid is alive (this process: while it holds it).
    A folder made on another host (`host` differs from this one's tag) is always taken as live: its pid cannot be
    checked from here."""
    if host is not None and host != host_tag():
        return True
    if pid == os.getpid():
        return str(folder) in _HELD
    if pid <= 0:
        return True  # not a pid a save writes: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive as another user's process, or unknowable: leave its folders alone
        return True
    return True


def _leftovers(path: Path) -> tuple[list[tuple[Path, int, str | None]], list[tuple[Path, int, str | None]]]:
    """(backups, temp folders) that saves to `path` left beside it, each with the pid and host tag of the process that
    made it (None for names from before host tags)."""
    prefix = f".{path.name}."
    backups, temps = [], []
    with contextlib.suppress(OSError):
        for entry in path.parent.iterdir():
            if entry.name.startswith(prefix):
                rest = entry.name[len(prefix):]
                if match := _BACKUP.fullmatch(rest):
                    backups.append((entry, int(match[1]), match[2]))
                elif match := _TEMP.fullmatch(rest):
                    temps.append((entry, int(match[1]), match[2]))
    return backups, temps


def temp_file_beside(path: Path) -> tuple[int, Path]:
    """Open a new temp file beside `path` for an atomic write of it (`.NAME.PID.HOST-xxxxxxxx.tmp`, held by this
    process until `release_temp`), after deleting those that writers of `path` killed (kill -9, the OOM killer) left;
    returns (descriptor, temp path). Writers on another host, or alive, keep theirs."""
    for leftover, pid, host in _leftovers(path)[1]:
        if leftover.is_file() and not _saver_alive(leftover, pid, host):
            with contextlib.suppress(OSError):
                leftover.unlink()
    stem = os.fsencode(path.name)[:200].decode("utf-8", "ignore")  # any legal name leaves room for the rest
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.{os.getpid()}.{host_tag()}-", suffix=".tmp")
    _HELD.add(temp)
    return descriptor, Path(temp)


def release_temp(temp: Path) -> None:
    """This process no longer writes `temp` (renamed into place or deleted)."""
    _HELD.discard(str(temp))


def being_saved(path: str | Path) -> bool:
    """Whether a save to `path` is under way in a live process (its temp folder or the previous model it set aside is
    beside `path`): a reader that finds `path` missing or changing should wait and read it again.

    >>> being_saved(Path(tempfile.mkdtemp()) / "m")
    False
    """
    path = Path(path)
    if path.name in {"", ".", ".."}:
        return False
    backups, temps = _leftovers(path)
    return any(_saver_alive(*leftover) for leftover in backups + temps)


def recover_model_dir(path: str | Path) -> bool:
    """Put back the model a save to `path` set aside (`.<name>.old-PID`) when that save died between its two renames
    (kill -9, power loss): `path` was then missing, the previous model hidden beside it. Only leftovers of a dead
    process are touched; while any save to `path` is between its renames nothing is. Returns True when a model was
    put back (with a warning). The unfinished new model is not used: its save never completed, so the folder goes
    back to what it held before, as for any failed save. Called on each save to and load from a folder.

    >>> folder = Path(tempfile.mkdtemp()) / "m"
    >>> recover_model_dir(folder)
    False
    """
    path = Path(path)
    if path.name in {"", ".", ".."}:
        return False
    backups, _ = _leftovers(path)
    if not backups or any(_saver_alive(*backup) for backup in backups):
        return False
    if path.exists() or path.is_symlink():
        return False
    folder, pid, _ = max(backups, key=lambda item: _ctime(item[0]))  # the last model set aside is the one M held
    try:
        os.replace(folder, path)
    except OSError:  # another process put it back first, or the folder cannot be written: nothing to do here
        return False
    warnings.warn(f"{path} was missing: a save to it (process {pid}) was stopped between setting the previous model "
                  f"aside as {folder.name} and putting the new one in place; the previous model was put back",
                  UserWarning, stacklevel=2)
    return True


def _remove_stale(path: Path) -> None:
    """Delete what dead saves to `path` left beside it (kill -9 mid-save): their unfinished temp folders, and, once
    `path` holds a model again, the previous models they set aside. Live saves' folders are left alone."""
    backups, temps = _leftovers(path)
    stale = [folder for folder, pid, host in temps if not _saver_alive(folder, pid, host)]
    if path.exists():
        stale += [folder for folder, pid, host in backups if not _saver_alive(folder, pid, host)]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)


def _ctime(path: Path) -> float:
    try:
        return path.stat().st_ctime
    except OSError:
        return 0.0


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `path`; on success it replaces `path` whole, on failure it vanishes.

    An existing `path` is kept intact until the new one is complete, so a failed save (full disk,
    read-only folder, crash) never loses the previous model.

    >>> target = Path(tempfile.mkdtemp()) / "model"
    >>> with atomic_directory(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("1")
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
    """
    path = Path(path)
    recover_model_dir(path)
    _remove_stale(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.{host_tag()}-",
                                    suffix=".tmp"))
        _HELD.add(str(tmp))
        default_mode(tmp, directory=True)
    except OSError as error:
        raise write_error(f"cannot write to {path.parent}: {error.strerror or error}; choose a writable folder", error) from error
    backup = None
    try:
        yield tmp
        _default_modes(tmp)  # readable by the team, a serving user or dask workers, whoever wrote the files
        if path.exists():
            if not path.is_dir():
                raise InputError(f"{path} exists and is not a folder; choose another output path")
            backup = path.with_name(f".{path.name}.old-{os.getpid()}.{host_tag()}")
            _HELD.add(str(backup))
            if backup.exists():  # left by an earlier save of this process that was stopped while deleting it
                shutil.rmtree(backup)
            os.replace(path, backup)
        os.replace(tmp, path)
    except BaseException as error:  # a full disk as much as Ctrl-C or SIGTERM between the two renames
        shutil.rmtree(tmp, ignore_errors=True)
        if backup is not None and backup.exists() and not path.exists() and not path.is_symlink():
            with contextlib.suppress(OSError):
                os.replace(backup, path)  # put the previous model back where it was
        if isinstance(error, OSError):
            raise write_error(f"could not save to {path}: {error.strerror or error}; the previous contents are "
                              "untouched", error) from error
        raise
    finally:
        _HELD.difference_update({str(tmp), str(backup)})
    if backup is not None:
        with signals_deferred():  # a Ctrl-C now would leave the previous model beside the new one: it waits until
            shutil.rmtree(backup, ignore_errors=True)  # the folder is gone, then unwinds as usual


_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred(swallow: bool = False) -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM wait while the block runs: steps that must not stop half-way (removing a model set aside,
    recording a saved model's training). They are delivered when the block ends; with `swallow` they are taken instead
    and listed in the yielded list, for the caller to say they came too late. Signals are held only in the main thread
    (the one Python delivers them to); elsewhere the block runs as it is.

    >>> with signals_deferred(swallow=True) as came:
    ...     os.kill(os.getpid(), signal.SIGINT)
    >>> came == [signal.SIGINT]
    True
    """
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return

    def note(signum: int, frame: Any) -> None:  # Python runs handlers in the main thread, whichever thread was hit
        came.append(signum)

    previous = {number: signal.getsignal(number) for number in _DEFERRED_SIGNALS}
    for number, handler in previous.items():
        if handler is not None:  # None: a handler set outside Python, left as it is
            signal.signal(number, note)
    try:
        yield came
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)
        if came and not swallow:
            os.kill(os.getpid(), came[0])  # now, to the handler that was in place: it unwinds as it would have


def library_versions(names: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions of the libraries that produced a model.

    >>> "numpy" in library_versions(["numpy"])
    True
    """
    versions = {}
    for name in (*DEFAULT_LIBRARIES, *names):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def hash_bytes(data: bytes) -> str:
    """SHA-256 hex digest.

    >>> hash_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def _hash_file(path: Path, digest) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of one file, read in 1 MiB blocks (weights of any size).

    >>> p = Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b""); file_sha256(p)[:12]
    'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    _hash_file(Path(path), digest)
    return digest.hexdigest()


def hash_files(paths: Iterable[str | Path]) -> str:
    """One SHA-256 over (relative name, SHA-256 of contents) of files, the training-data hash: a folder's files in
    sorted order by their path inside it, loose files by their path below the folder they share. So moving an image
    to another class folder (a relabel) or renaming a file changes the hash, and where the data lies does not.

    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a").write_text("x"); len(hash_files([d]))
    64
    >>> _ = (d / "b").mkdir(); _ = (d / "b" / "a").write_text("x"); hash_files([d / "a"]) == hash_files([d / "b" / "a"])
    True
    """
    paths = [Path(path) for path in paths]
    loose = [path.absolute() for path in paths if not path.is_dir()]
    try:
        shared = Path(os.path.commonpath([str(path.parent) for path in loose])) if loose else None
    except ValueError:  # files on different drives: each by its own name
        shared = None
    digest = hashlib.sha256()
    for path in paths:
        if path.is_dir():
            named = [(file.relative_to(path).as_posix(), file) for file in _walk_files(path)]
        else:
            named = [(path.absolute().relative_to(shared).as_posix() if shared else path.name, path)]
        for name, file in named:
            digest.update(f"{name}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()


def _walk_files(folder: Path) -> list[Path]:
    """The files under `folder` in sorted order, through symlinked folders as the data readers go (Path.rglob does not
    follow them before Python 3.13), each real folder once (a link back up is not a loop)."""
    found, seen = [], set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        found += [Path(root) / name for name in files if (Path(root) / name).is_file()]
    return sorted(found, key=lambda file: file.relative_to(folder).as_posix())


def legacy_hash_files(paths: Iterable[str | Path]) -> str:
    """The training-data hash before 2026-12 (each file's base name then its bytes), kept to compare run records written
    then (`core.jobs`): blind to folders, so it did not see a relabel."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            _hash_file(file, digest)
    return digest.hexdigest()


def hash_frame(frame) -> str:
    """Hash of a polars/pandas table's content (row order matters).

    >>> import polars as pl; len(hash_frame(pl.DataFrame({"a": [1, 2]})))
    64
    """
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        frame = pl.from_pandas(frame) if hasattr(frame, "to_numpy") and hasattr(frame, "columns") else pl.DataFrame(frame)
    row_hashes = frame.hash_rows(seed=0).to_numpy().tobytes()
    return hash_bytes(",".join(frame.columns).encode() + row_hashes)


def save_tensors(path: str | Path, tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> Path:
    """Save a flat dict of tensors as safetensors (contiguous copies), atomically."""
    from safetensors.torch import save

    data = save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata)
    return atomic_write_bytes(path, data)


def load_tensors(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """Load a safetensors file into torch tensors (no pickle involved)."""
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=device)
    except Exception as error:  # safetensors raises its own error types on corrupt headers
        raise UnsafeArtifactError(f"{path} is not a valid safetensors file ({error}); re-save the model") from error


def safe_torch_load(path: str | Path) -> Any:
    """`torch.load` restricted to tensors and plain containers (`weights_only=True`)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UnsafeArtifactError(f"refusing to load {path}: {error}") from error


def _file_hashes(root: Path) -> dict[str, str]:
    hashes = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != CARD_NAME):
        digest = hashlib.sha256()
        _hash_file(file, digest)
        hashes[file.relative_to(root).as_posix()] = digest.hexdigest()
    return hashes


def save_model_dir(path: str | Path, card: dict[str, Any], write_weights=None, libraries: Iterable[str] = ()) -> Path:
    """Write a model directory atomically: `write_weights(tmp_dir)` writes the weights, then `card.json`.

    The card gains `format_version`, `created`, `library_versions` and a SHA-256 per file, which
    `check_model_dir` verifies on load, and its own digest (`write_card`), which `check_card_digest` verifies.

    >>> d = save_model_dir(Path(tempfile.mkdtemp()) / "m", {"task": "demo"})
    >>> read_card(d)["task"]
    'demo'
    """
    if "task" not in card:
        raise ValueError("a model card needs a 'task'")
    path = Path(path).expanduser()  # save("~/m") goes where load("~/m") looks, not to ./~/m
    check_output_dir(path, task=card["task"])
    with atomic_directory(path) as tmp:
        if write_weights is not None:
            write_weights(tmp)
        full = {
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **card,
            "format_version": FORMAT_VERSION,  # what this save writes, whatever card it started from
            "library_versions": {**library_versions(libraries), **card.get("library_versions", {})},
            "files": _file_hashes(tmp),
        }
        full = ModelCard.from_dict(json.loads(json.dumps(full, default=_json_default)),
                                   where=f"card of {Path(path).name}").to_dict()  # schema checked before it lands
        write_card(tmp, full)
    return path


CARD_DIGEST = "card_sha256"


def card_digest(card: dict[str, Any]) -> str:
    """SHA-256 of a card's canonical JSON (sorted keys, no spaces), its own `card_sha256` left out.

    >>> card_digest({"task": "demo", "files": {}}) == card_digest({"files": {}, "task": "demo", "card_sha256": "x"})
    True
    """
    body = {k: v for k, v in card.items() if k != CARD_DIGEST}
    return hash_bytes(json.dumps(body, sort_keys=True, separators=(",", ":"), default=_json_default).encode("utf-8"))


def write_card(folder: str | Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write `card.json` into a model folder with its digest (`card_sha256`), atomically; returns the card written.
    Every writer of a card goes through here (save, and the training record a job adds), so any later edit of any
    field, a threshold or a scale as much as a label, is refused at load (`check_card_digest`)."""
    card = json.loads(json.dumps(card, default=_json_default))
    card[CARD_DIGEST] = card_digest(card)
    atomic_write_text(Path(folder) / CARD_NAME, json.dumps(card, indent=2))
    return card


def check_card_digest(path: str | Path) -> None:
    """Refuse a folder whose `card.json` differs from what save wrote: `UnsafeArtifactError` when its `card_sha256`
    does not match the card. Cards of format 2 must carry it; older cards (format 1) have none and load with a
    warning that says so. Runs after a task's own card checks (`TaskModel.load`), which name the field they find changed."""
    card_path = Path(path) / CARD_NAME
    raw = json.loads(card_path.read_text(encoding="utf-8"))
    if int(raw.get("format_version", 1)) < 2 and CARD_DIGEST not in raw:
        # `usage` came with sealed cards: a format-1 card holding it was most likely sealed once and had its seal cut
        why = ("says format 1 but carries `usage`, which sealed cards (format 2) carry: its seal may have been "
               "removed, and whether it was edited cannot be told" if "usage" in raw else
               f"format 1, saved before cards carried {CARD_DIGEST}, so an edit of it cannot be detected")
        warnings.warn(f"{Path(path).name}: its card.json is unsealed ({why}); save the model again from where it "
                      "was made (load it and call save, or retrain it) to seal its card", UserWarning, stacklevel=3)
        return
    if raw.get(CARD_DIGEST) != card_digest(raw):
        raise UnsafeArtifactError(
            f"{path}: card.json was changed after it was saved (its {CARD_DIGEST} does not match): a field that "
            "decides predictions, such as a threshold, a scale or the preprocessing, may no longer be what the weights "
            "were saved with. Restore its card.json, or save the model again from where it was made; to change how it "
            "predicts, use the predict options or verticals train --set, not card.json")


NAME_MAX = 255  # bytes in one file name: ext4, XFS, btrfs, tmpfs, NTFS (as UTF-16 units), APFS


def check_output_path(path: str | Path, room: int) -> Path:
    """Refuse an output path that cannot be written, before anything is: a name too long to leave `room` bytes for
    the temp, lock and set-aside names written beside it, or a parent that is a file, not a folder.

    >>> check_output_path(Path("out") / ("x" * 250), room=32)
    Traceback (most recent call last):
    core.errors.InputError: the name xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... is 250 bytes; names written beside it take up to 32 more and a file name may hold 255: use a name of at most 223 bytes
    """
    path = Path(path)
    last = len(path.parts) - 1
    for at, part in enumerate(path.parts):
        size, beside = len(os.fsencode(part)), room if at == last else 0  # only the name itself gets names beside it
        if size + beside > NAME_MAX:
            more = f"names written beside it take up to {beside} more and " if beside else ""
            raise InputError(f"the name {part[:30]}... is {size} bytes; {more}a file name may hold {NAME_MAX}: use a "
                             f"name of at most {NAME_MAX - beside} bytes")
    for parent in path.parents:  # the nearest part of it that exists must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{parent} is a file, not a folder, so nothing can be written inside it; choose "
                                 "another output path")
            break
    return path


def check_output_dir(path: str | Path, task: str | None = None) -> Path:
    """Refuse an output folder whose contents would be lost: only a new or empty folder, or a saved model of the
    same `task` (replaced whole), may be written. Nothing is touched here but what saves killed mid-way left beside
    it: a model set aside is put back first (`recover_model_dir`), their temp folders are deleted.

    >>> check_output_dir(Path(tempfile.mkdtemp()) / "new").name
    'new'
    """
    path = Path(path)
    if not str(path).strip() or path.name in {"", ".", ".."}:
        raise InputError(f"output folder {str(path)!r} is not a folder name; give a new folder path")
    check_output_path(path, room=32)  # `.<name>.<pid>.<host>-<random>.tmp` is the longest name written beside it
    recover_model_dir(path)  # a model an interrupted save set aside is back before the folder is judged
    _remove_stale(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir() or path.is_symlink():
            raise InputError(f"{path} exists and is not a folder; choose a new output folder")
        if any(path.iterdir()):
            held, listed = None, {}
            if (path / CARD_NAME).is_file():
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    card = json.loads((path / CARD_NAME).read_text(encoding="utf-8"))
                    held, listed = card.get("task"), card.get("files") or {}
            if task is None or held != task:
                what = f"a {held} model" if held else "files that are not a saved model"
                need = f"a {task} model folder" if task else "an empty folder"
                raise InputError(f"{path} already holds {what}; it is only replaced when it is {need}. "
                                 "Choose a new folder (nothing was changed)")
            # a card naming the task is not enough: files the card does not list are the user's, not the model's
            unlisted = sorted(p.relative_to(path).as_posix() for p in path.rglob("*")
                              if (p.is_file() or p.is_symlink()) and p.relative_to(path).as_posix() != CARD_NAME
                              and p.relative_to(path).as_posix() not in listed)
            if unlisted:
                raise InputError(f"{path} holds a {task} card.json but also {len(unlisted)} file(s) its card does not "
                                 f"list ({', '.join(unlisted[:3])}{', ...' if len(unlisted) > 3 else ''}); replacing "
                                 "the model would delete them. Choose a new folder (nothing was changed)")
    return path


@contextlib.contextmanager
def output_lock(path: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on an output folder while a training writes it; a second writer fails at once.

    The lock file `.<name>.lock` sits beside the folder and names the process holding it.
    """
    import fcntl
    import socket

    path = Path(path)
    lock_path = path.with_name(f".{path.name}.lock")
    while True:
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock_path, "a+", encoding="utf-8")
        except OSError as error:
            raise write_error(f"cannot write to {path.parent}: {error.strerror or error}; choose a writable output folder", error) from error
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise InputError(f"{path} is being written by another training ({holder}); wait for it to finish "
                             "or choose another output folder") from None
        try:  # the holder before us may have removed the file it locked: then lock the file at the path now
            if os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
                         f"{_dt.datetime.now().isoformat(timespec='seconds')}")
            handle.flush()
        except OSError as error:  # a full disk fails here, where the error itself names no file
            raise write_error(f"cannot write {lock_path}: {error.strerror or error}; free some space or choose "
                              "another output folder", error) from error
        yield path
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()  # removed while still held, so no litter is left beside the output folder
        with contextlib.suppress(OSError):  # on a full disk the unwritten text fails again here; the descriptor is
            handle.close()  # closed all the same, which releases the lock (and the error that names the file stands)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def is_model_dir(path: str | Path) -> bool:
    """True when `path` is a folder holding a `card.json`."""
    path = Path(path)
    return path.is_dir() and (path / CARD_NAME).is_file()


def model_dir_holding(path: str | Path) -> Path | None:
    """The saved model folder `path` is (or lies inside), None when there is none: a file written there is one its
    card does not list, and the model would be refused from then on (predict's --output and masks= check it)."""
    where = Path(path).resolve()
    return next((folder for folder in (where, *where.parents) if is_model_dir(folder)), None)


def _is_safetensors(path: Path) -> bool:
    """True when `path` starts as a safetensors file does: an 8-byte little-endian header length, then that many bytes
    of a JSON object, within the file (a pickle of protocol 0 or 1 renamed .safetensors reached the loader)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return False
        length = int.from_bytes(head, "little")
        if not 2 <= length <= min(size - 8, 100 << 20):
            return False
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, ValueError):
            return False
    return isinstance(header, dict)


def _check_shard_index(path: Path, relative: str) -> None:
    """A sharded checkpoint's index (`model.safetensors.index.json`) may name only files beside it: a weight map
    pointing at `../outside.safetensors` or an absolute path made a sealed folder load weights from outside it."""
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UnsafeArtifactError(f"{relative} is not a readable JSON index: {error}") from error
    weight_map = index.get("weight_map", {}) if isinstance(index, dict) else {}
    for shard in set(weight_map.values()) if isinstance(weight_map, dict) else ():
        if not isinstance(shard, str) or Path(shard).name != shard or shard in {"", ".", ".."}:
            raise UnsafeArtifactError(f"{relative} maps weights to {shard!r}, not a file beside it in the model folder; "
                                      "refusing to load")


def _is_ctranslate2_model(path: Path) -> bool:
    """True for a CTranslate2 `model.bin` (faster-whisper's weights): its own binary layout, read in C++, never
    through pickle: a little-endian uint32 format version, then the model spec's name as a uint16 length and a
    NUL-terminated ASCII string ending in "Spec" (`WhisperSpec`, `TransformerSpec`...). The name must be model.bin,
    the name CTranslate2 reads.

    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "model.bin").write_bytes(bytes([6, 0, 0, 0, 12, 0]) + b"WhisperSpec" + bytes(9))
    >>> _ = (folder / "pytorch_model.bin").write_bytes(b"PK" + bytes(30))
    >>> _is_ctranslate2_model(folder / "model.bin"), _is_ctranslate2_model(folder / "pytorch_model.bin")
    (True, False)
    """
    import struct

    if path.name != "model.bin" or not path.is_file():
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(6 + 256)
    except OSError:
        return False
    if len(head) < 8:
        return False
    version, length = struct.unpack("<IH", head[:6])
    name = head[6:6 + length]
    return (1 <= version <= 64 and 5 <= length <= 256 and len(name) == length and name.endswith(b"Spec\0")
            and name[:-1].isascii() and name[:-1].replace(b"_", b"").isalnum() and not _is_pickle_container(path))


def _is_pickle_container(path: Path) -> bool:
    """True for files that deserialise through pickle whatever their suffix: raw pickles, torch.save zips, legacy tars."""
    import tarfile
    import zipfile

    with open(path, "rb") as handle:
        head = handle.read(4)
    if len(head) >= 2 and head[0] == 0x80 and 1 <= head[1] <= 5:  # pickle PROTO opcode
        return True
    if head == b"PK\x03\x04":
        with contextlib.suppress(zipfile.BadZipFile, OSError):
            with zipfile.ZipFile(path) as archive:
                return any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())
    with contextlib.suppress(tarfile.TarError, OSError, ValueError):
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                return any(Path(name).name in {"pickle", "storages", "tensors", "sys_info"} or name.endswith(".pkl")
                           for name in archive.getnames())
    return False


def _listed_path(root: Path, name: str) -> Path:
    """The file a card entry names, refusing names that leave the folder (absolute, '..', backslashes)."""
    pure = Path(name)
    if not name or pure.is_absolute() or "\\" in name or any(part in {"", ".", ".."} for part in name.split("/")):
        raise UnsafeArtifactError(f"card.json lists {name!r}, a path that leaves the model folder; refusing to load")
    return root / pure


def check_model_dir(path: str | Path, verify_hashes: bool = True) -> Path:
    """Refuse a model directory that is not exactly what its card lists.

    With a `card.json`, its file list is required and is the whole truth: every listed file must be a regular file
    inside the folder with the recorded sha256, and nothing else may be there. Any folder (with or without a card,
    e.g. a transformers `save_pretrained` layout) is refused when it holds pickle containers of any suffix,
    symlinks leaving it, or special files (FIFOs, devices) that would hang or mislead a reader.
    """
    _verified_card(Path(path), verify_hashes)
    return Path(path)


def _verified_card(root: Path, verify_hashes: bool = True) -> dict[str, Any] | None:
    """`check_model_dir`'s checks; returns the parsed card (None for a folder without one), so it is read once."""
    import stat

    recover_model_dir(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; pass a directory written by save()")
    resolved_root = root.resolve()
    present: dict[str, Path] = {}
    for item in sorted(root.rglob("*")):
        relative = item.relative_to(root).as_posix()
        if item.is_symlink():
            target = item.resolve()
            if resolved_root not in target.parents and target != resolved_root:
                raise UnsafeArtifactError(f"{relative} is a symlink leaving the model folder; refusing to load")
        mode = item.lstat().st_mode
        if stat.S_ISDIR(mode):
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise UnsafeArtifactError(f"{relative} is not a regular file (a FIFO, socket or device); refusing to load")
        if item.suffix.lower() in PICKLE_SUFFIXES and item.name != CARD_NAME and not _is_ctranslate2_model(item):
            raise UnsafeArtifactError(
                f"{relative} may be a pickle; Verticals loads safetensors/text formats only. "
                "Convert the weights to safetensors (e.g. save_pretrained(..., safe_serialization=True))"
            )
        if item.is_file() and _is_pickle_container(item):
            raise UnsafeArtifactError(f"{relative} is a pickle container (e.g. written by torch.save); "
                                      "Verticals never unpickles model files. Convert the weights to safetensors")
        present[relative] = item
    card_path = root / CARD_NAME
    if not card_path.is_file():
        _check_formats(present)
        return None
    card = _parse_card(card_path)
    files = card["files"]
    for name, expected in files.items():
        file = _listed_path(root, name)
        if name == CARD_NAME:
            raise UnsafeArtifactError("card.json lists itself; the model folder is corrupted")
        if not file.exists() and not file.is_symlink():
            raise UnsafeArtifactError(f"{name} listed in card.json is missing; the model folder is incomplete")
        if file.is_symlink() or not stat.S_ISREG(file.lstat().st_mode):
            raise UnsafeArtifactError(f"{name} listed in card.json is not a regular file; refusing to load")
        if verify_hashes:
            digest = hashlib.sha256()
            _hash_file(file, digest)
            if digest.hexdigest() != expected:
                raise UnsafeArtifactError(f"{name} does not match its hash in card.json; the file is corrupted or was "
                                          f"changed ({file}). Restore the folder from a copy, or train and save the model again")
    unlisted = sorted(set(present) - set(files) - {CARD_NAME})
    if unlisted:
        raise UnsafeArtifactError(f"{unlisted[0]} is in the model folder but not in card.json's file list "
                                  f"({len(unlisted)} such file(s)); a model folder holds only what its card lists. "
                                  "Remove the extra files or re-save the model")
    _check_formats(present)  # after the hashes: a changed file is named as changed first
    return card


def _check_formats(present: dict[str, Path]) -> None:
    """Files whose name promises a format are that format: a `.safetensors` has a safetensors header, and a shard
    index names only files beside it (a card can be written by anyone: its hashes prove no origin)."""
    for relative, item in present.items():
        if not item.is_file():
            continue
        if item.name.endswith(".safetensors") and not _is_safetensors(item):
            raise UnsafeArtifactError(f"{relative} is not a safetensors file (no safetensors header: another format "
                                      "renamed, or a damaged file); save the weights again with safetensors")
        if item.name.endswith(".index.json"):
            _check_shard_index(item, relative)


def card_mismatch(path: str | Path, what: str) -> UnsafeArtifactError:
    """The error for a card that does not describe the weights beside it (a hand edit, or two models in one folder),
    `what` saying how; tasks raise it from their own checks of the card against their weights.

    >>> str(card_mismatch(Path("m"), "its labels are not a list"))[:60]
    'm: card.json does not match the weights beside it: its label'
    """
    return UnsafeArtifactError(f"{path}: card.json does not match the weights beside it: {what}. The card was edited or "
                               "the folder mixes two models; restore its card.json, or re-save the model with save()")


def _parse_card(card_path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnsafeArtifactError(f"{card_path} is not valid JSON ({error}); the model folder is corrupted") from error
    return ModelCard.from_dict(raw, where=str(card_path)).to_dict()


def read_card(path: str | Path, task: str | None = None, check: bool = True) -> dict[str, Any]:
    """Read `card.json` of a model directory, validated against the one card schema (`core.card.ModelCard`).

    With `check` (the default) the folder is verified first (`check_model_dir`); `task` checks the model's task.
    """
    root = Path(path)
    card = _verified_card(root) if check else None
    card_path = root / CARD_NAME
    if not card_path.is_file():
        raise InputError(f"{root} has no {CARD_NAME}; it was not written by Verticals' save()")
    card = card if card is not None else _parse_card(card_path)
    if task is not None and card["task"] != task:
        raise InputError(f"{root} holds a {card['task']} model, not {task}")
    return card


def cached_default(folder: str | Path, build: Callable[[Path], Any], load: Callable[[Path], T],
                   is_built: Callable[[Path], bool] | None = None) -> T:
    """An embedded default kept in `folder`: loaded when it is there, else built once by `build(folder)` (which saves a
    model folder there) under a file lock, so parallel first uses (pages, CLI calls, test workers) build it once and
    the others wait and load its result. `is_built(folder)` says whether a build is complete (default: a model
    folder with its card), for assets that are not model folders (e.g. weights joined from package parts).

    `folder` is a cache this product builds, never a default shipped in the repository: a model folder there that
    `load` refuses as damaged (`UnsafeArtifactError`: a file that does not match its hash, a changed or broken
    card.json) or that holds files but no card.json is moved aside to `<folder>.damaged-<time>` and built again, with
    a warning naming both folders, instead of being refused on every use with advice a user cannot follow.

    >>> built = []
    >>> folder = Path(tempfile.mkdtemp()) / "default"
    >>> build = lambda f: built.append(save_model_dir(f, {"task": "demo"}))
    >>> [cached_default(folder, build, lambda f: read_card(f)["task"]) for _ in range(2)], len(built)
    (['demo', 'demo'], 1)
    """
    import fcntl

    folder = Path(folder)
    recover_model_dir(folder)  # a rebuild killed between its renames left the previous build aside
    model_folder = is_built is None
    if is_built is None:  # a model folder; one an older Verticals built (an unsealed card, format 1) is built again
        def is_built(path: Path) -> bool:
            return is_model_dir(path) and not _older_card(path)
    damaged: tuple[tuple[int, int] | None, str] | None = None
    if is_built(folder):
        seen = _folder_identity(folder)
        try:
            return load(folder)
        except UnsafeArtifactError as error:
            if not model_folder:
                raise
            damaged = (seen, str(error))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(f".{folder.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if damaged is not None and _folder_identity(folder) == damaged[0]:  # not already rebuilt by another process
            _set_aside(folder, damaged[1])
        elif model_folder and _holds_files_but_no_card(folder):
            _set_aside(folder, f"it holds files but no {CARD_NAME}")
        if not is_built(folder):
            build(folder)
    return load(folder)


def _folder_identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder: a rebuild (atomic_directory) gives the folder at that path a new one."""
    try:
        stat = folder.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _holds_files_but_no_card(folder: Path) -> bool:
    if not (folder.exists() or folder.is_symlink()) or (folder / CARD_NAME).is_file():
        return False
    try:
        return not folder.is_dir() or folder.is_symlink() or any(folder.iterdir())
    except OSError:
        return True


def _set_aside(folder: Path, why: str) -> Path:
    """Move a damaged cached default aside to `<folder>.damaged-<UTC time>` (kept for a look, not deleted)."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = folder.with_name(f"{folder.name}.damaged-{stamp}")
    for count in range(2, 100):
        if not (aside.exists() or aside.is_symlink()):
            break
        aside = folder.with_name(f"{folder.name}.damaged-{stamp}-{count}")
    try:
        os.replace(folder, aside)
    except OSError as error:
        raise InputError(f"the cached default {folder} is damaged ({why}) and could not be moved aside to {aside} "
                         f"({error.strerror or error}); delete {folder} and run again to build it anew") from error
    warnings.warn(f"the cached default {folder} was damaged ({why}); it was moved aside to {aside} (delete that folder "
                  "when you no longer need it) and is being built again", UserWarning, stacklevel=3)
    return aside


def _older_card(folder: Path) -> bool:
    """A model folder whose card predates the seal (format 1): for a cached default, built by an older Verticals."""
    try:
        return int(json.loads((folder / CARD_NAME).read_text(encoding="utf-8")).get("format_version", 1)) < FORMAT_VERSION
    except (OSError, ValueError, TypeError, AttributeError):
        return False  # unreadable: `load` says what is wrong with it


def list_saved_models(root: str | Path | None = None) -> list[dict[str, Any]]:
    """Cards of every model in the local registry (each with its `path`), newest first."""
    root = Path(root) if root else models_dir()
    cards = []
    if root.is_dir():
        for child in root.iterdir():
            if is_model_dir(child) and not child.name.startswith("."):
                with contextlib.suppress(InputError, OSError):
                    cards.append({**read_card(child, check=False), "path": str(child)})
            elif match := re.fullmatch(rf"\.(.+)\.{_BACKUP.pattern}", child.name):  # the name `atomic_directory` gives
                # a model between a live save's two renames: listed by its name from the copy set aside, not missing
                original = root / match[1]
                if not original.exists() and _saver_alive(child, int(match[2]), match[3]) and is_model_dir(child):
                    with contextlib.suppress(InputError, OSError):
                        cards.append({**read_card(child, check=False), "path": str(original)})
    return sorted(cards, key=lambda c: c.get("created", ""), reverse=True)


def _promoted_file() -> dict[str, str]:
    """`promoted.json` as read: task -> absolute folder, whether or not each folder is there this moment (one being
    re-saved is missing between its save's two renames, and a rewrite must not drop it). A folder inside the home is
    stored relative to it (`models/risk-v2`), so a home copied or moved elsewhere promotes its own copy."""
    try:
        data = json.loads((home() / "promoted.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(home() / v) if not Path(v).is_absolute() else v for k, v in data.items() if isinstance(v, str)}


def _stored_promotions(current: dict[str, str]) -> dict[str, str]:
    """`current` as `promoted.json` keeps it: folders inside the home relative to it, others absolute."""
    root = home().resolve()
    stored = {}
    for task, folder in current.items():
        path = Path(folder).resolve()
        stored[task] = path.relative_to(root).as_posix() if root in path.parents else str(path)
    return stored


@contextlib.contextmanager
def _promotions_locked() -> Iterator[dict[str, str]]:
    """`promoted.json` read, changed by the caller and written back under an exclusive lock (`.promoted.lock`), so two
    people promoting or deleting at once both keep their change (each rewrite used to drop the other's)."""
    import fcntl

    lock = make_home_dir(home()) / ".promoted.lock"
    with open(lock, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        current = _promoted_file()
        yield current
        atomic_write_text(home() / "promoted.json", json.dumps(_stored_promotions(current), indent=2))


def promoted_defaults() -> dict[str, str]:
    """Saved models promoted to be a task's dashboard default (`$VERTICALS_HOME/promoted.json`), those present. One
    that is gone (deleted or moved outside the registry) is left out with a UserWarning naming it, since its task is
    back on the embedded default."""
    present = {}
    for task, folder in _promoted_file().items():
        if is_model_dir(folder) or being_saved(folder):
            present[task] = folder
        else:
            warnings.warn(f"the model promoted as {task}'s default, {folder}, is gone (deleted or moved): {task} uses "
                          "its embedded default until another model is promoted", UserWarning, stacklevel=2)
    return present


def promote_model(task: str, path: str | Path | None) -> dict[str, str]:
    """Make the saved model at `path` the dashboard default of `task` (None: back to the embedded default)."""
    if path is not None:
        read_card(path, task=task)
    with _promotions_locked() as current:
        if path is None:
            current.pop(task, None)
        else:
            current[task] = str(Path(path).resolve())
    return promoted_defaults()


def delete_model(path: str | Path) -> None:
    """Delete a saved model folder from the local registry (refuses anything outside it)."""
    root, target = models_dir().resolve(), Path(path).resolve()
    if root not in target.parents or not is_model_dir(target):
        raise InputError("only models inside the local registry can be deleted")
    shutil.rmtree(target)
    with _promotions_locked() as promoted:
        for task in [k for k, v in promoted.items() if Path(v).resolve() == target]:
            del promoted[task]


def zip_model(path: str | Path) -> bytes:
    """A zip of a model folder (card.json + weights; pickle-free by construction, checked here)."""
    import io
    import zipfile

    root = check_model_dir(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            archive.write(file, f"{root.name}/{file.relative_to(root).as_posix()}")
    return buffer.getvalue()
