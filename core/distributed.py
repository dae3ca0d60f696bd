"""Work beyond one machine through Dask: the client (a scheduler address, or a LocalCluster here), folders and globs
of table parts (listing, stable data hash), and batch scoring of any task's inputs in partitions on dask workers."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError, MissingDependencyError

__all__ = ["PART_SUFFIXES", "is_parts", "list_parts", "shared_columns", "hash_parts", "dask_client", "predict_with_dask"]

PART_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson")
ENGINE_OPTIONS = ("engine", "scheduler", "workers", "partition_size")  # options of the engine, not of the task's reader
CONNECT_TIMEOUT_S = 10
TABLE_PARTITION_ROWS = 100_000  # rows per partition when one table file is scored
FILE_PARTITION_ITEMS = 256  # images, audio files or lines per partition


def _has_magic(path: str | os.PathLike) -> bool:
    return glob.has_magic(str(path))


def is_parts(path: str | os.PathLike) -> bool:
    """True for a glob (`parts/*.parquet`) or a folder holding only table files (`parts/`): data read part by part.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x\\n1\\n")
    >>> is_parts(d), is_parts(d / "*.csv"), is_parts(d / "a.csv")
    (True, True, False)
    """
    path = Path(path)
    if not path.exists():
        return _has_magic(path)
    if not path.is_dir():
        return False
    found = False
    for file in path.rglob("*"):  # stops at the first file that is not a table (an image folder: at once)
        if file.is_file() and not file.name.startswith("."):
            if file.suffix.lower() not in PART_SUFFIXES:
                return False
            found = True
    return found


def list_parts(path: str | os.PathLike) -> tuple[Path, list[Path]]:
    """(root, part files sorted by their name relative to root) of a folder or glob of Parquet/CSV/JSONL tables.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = [(d / n).write_text("x\\n1\\n") for n in ("b.csv", "a.csv")]
    >>> [p.name for p in list_parts(d / "*.csv")[1]]
    ['a.csv', 'b.csv']
    """
    text = str(path)
    if _has_magic(text) and not Path(text).exists():
        root = Path(text)
        while _has_magic(str(root)):
            root = root.parent
        files = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
        if not files:
            raise InputError(f"no files match {text}; check the pattern (quote it so the shell does not expand it), "
                             "e.g. --data 'parts/*.parquet'")
    else:
        root = Path(text)
        if not root.is_dir():
            raise InputError(f"{text} is not a folder or a glob of table parts; pass e.g. parts/ or 'parts/*.parquet'")
        files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
        if not files:
            raise InputError(f"{text} holds no files; put the Parquet/CSV parts there")
    odd = sorted({p.suffix.lower() or "(none)" for p in files} - set(PART_SUFFIXES))
    if odd:
        raise InputError(f"{text} holds files that are not tables ({', '.join(odd)}); keep only {', '.join(PART_SUFFIXES)} parts")
    kinds = {".pq": ".parquet", ".ndjson": ".jsonl"}
    formats = sorted({kinds.get(p.suffix.lower(), p.suffix.lower()) for p in files})
    if len(formats) > 1:
        raise InputError(f"{text} mixes table formats ({', '.join(formats)}); write every part in one format")
    return root, sorted(files, key=lambda p: p.relative_to(root).as_posix())


def hash_parts(path: str | os.PathLike) -> str:
    """SHA-256 over (relative name, SHA-256 of content) of every part, sorted by name: the same whatever the listing order.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x\\n1\\n")
    >>> hash_parts(d) == hash_parts(d / "*.csv"), len(hash_parts(d))
    (True, 64)
    """
    from core.artifacts import file_sha256

    root, files = list_parts(path)
    digest = hashlib.sha256()
    for file in files:
        try:
            digest.update(f"{file.relative_to(root).as_posix()}\0{file_sha256(file)}\n".encode())
        except OSError as error:
            raise InputError(f"cannot read {file}: {error.strerror or error}") from error
    return digest.hexdigest()


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2, processes: bool = True) -> Iterator[Any]:
    """A `distributed.Client`: connected to `scheduler`, or to a LocalCluster of `workers` processes here (closed after).

    LightGBM's Dask training needs one process per worker (`processes=True`); scoring works with threads too.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise MissingDependencyError("engine=dask needs dask and distributed: pip install 'verticals[scale]'") from error
    import logging

    if scheduler:
        try:
            client = Client(str(scheduler), timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({type(error).__name__}); start one with "
                             "`dask scheduler` (+ `dask worker ADDRESS` per machine) or leave scheduler unset "
                             "for a LocalCluster here") from error
        with client:
            yield client
        return
    if int(workers) < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=processes, dashboard_address=None,
                           silence_logs=logging.CRITICAL)  # a part's refusal reaches the caller as its error, once
    try:
        with Client(cluster) as client:
            client.run(_stdout_to_stderr)  # libraries print from workers (LightGBM's network set-up); stdout stays ours
            yield client
    finally:
        cluster.close()


def _stdout_to_stderr() -> None:
    """In a worker process of our LocalCluster: send C-level and Python stdout to stderr."""
    import sys

    sys.stdout.flush()
    os.dup2(2, 1)


# ------------------------------------------------------------------------------------------------ batch scoring
@dataclass
class _Partition:
    """One unit of work: a table part file (read by the task's `read_inputs` on the worker) or identified inputs."""

    index: int
    file: str | None = None  # absolute path of a part
    name: str | None = None  # its name relative to the input root, written into every record as "file"
    inputs: Any = None  # identified inputs (Inputs or an id'd polars slice) when the client read them


_MODELS: dict[tuple[str, str | None, str], Any] = {}
_MODELS_LOCK = threading.Lock()


def _worker_model(task: str, model: str | None, device: str) -> Any:
    """The model, loaded once per worker process (cached by task, model source and device)."""
    from core import registry

    key = (task, model, device)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = registry.load(task, model, device=device)
        return _MODELS[key]


def _score_partition(task: str, model: str | None, device: str, partition: _Partition, options: dict[str, Any],
                     readers: dict[str, str], batch_size: int | None) -> list[dict[str, Any]]:
    """Runs on a worker: read the part (or take the inputs), predict with the task's normal path, ids first."""
    from core import registry
    from core.data.tables import reader_options
    from core.protocols import identify_inputs, predict_options, predict_records

    with reader_options(**readers):
        estimator = _worker_model(task, model, device)
        inputs = partition.inputs
        try:
            if partition.file is not None:
                inputs = identify_inputs(registry.task_class(task).read_inputs(partition.file, **options), options.get("id"))
            records = list(predict_records(estimator, inputs, batch_size=batch_size, **predict_options(estimator, options)))
        except InputError as error:
            if partition.name is None:
                raise
            raise InputError(f"part {partition.name}: {error}") from error  # which of many files
    if partition.name is not None:
        records = [{"file": partition.name, **r} for r in records]
    return records


def _partitions(cls: type, path: str, options: dict[str, Any], size: int | None) -> list[_Partition]:
    """One partition per table part of a folder/glob; otherwise the task's inputs read here, cut into `size` items
    (default: `TABLE_PARTITION_ROWS` rows of a table, `FILE_PARTITION_ITEMS` files or lines)."""
    from core.protocols import _IdentifiedFrame, identify_inputs

    if is_parts(path):
        root, files = list_parts(path)
        shared_columns(root, files)
        return [_Partition(i, str(f.resolve()), f.relative_to(root).as_posix()) for i, f in enumerate(files)]
    inputs = identify_inputs(cls.read_inputs(path, **options), options.get("id"))
    size = size or (TABLE_PARTITION_ROWS if isinstance(inputs, _IdentifiedFrame) else FILE_PARTITION_ITEMS)
    parts = []
    for index, start in enumerate(range(0, len(inputs), size)):
        stop = min(start + size, len(inputs))
        if isinstance(inputs, _IdentifiedFrame):
            piece = _IdentifiedFrame(inputs.frame.slice(start, stop - start), inputs.id_key,
                                     inputs.id_series.slice(start, stop - start))
        else:
            from core.protocols import Inputs

            piece = Inputs(inputs[start:stop], inputs.ids[start:stop],
                           {i - start: e for i, e in inputs.errors.items() if start <= i < stop})
        parts.append(_Partition(index, inputs=piece))
    if not parts:
        raise InputError(f"{path} holds nothing to predict")
    return parts


def shared_columns(root: Path, files: list[Path], separator: str | None = None) -> list[str]:
    """The columns of the first part (in its order), which every part must hold (in any order): otherwise an
    `InputError` naming the part and the columns it lacks or adds. Parts that differ would give one output whose
    records mix `id` and `row`, or score and train a part on columns the others lack. Reads no rows.

    >>> import tempfile, polars as pl; d = Path(tempfile.mkdtemp())
    >>> pl.DataFrame({"x": [1], "y": [2]}).write_parquet(d / "a.parquet")
    >>> pl.DataFrame({"y": [3], "z": [4]}).write_parquet(d / "b.parquet")
    >>> shared_columns(d, [d / "a.parquet", d / "b.parquet"])
    Traceback (most recent call last):
    core.errors.InputError: the parts do not share one schema: b.parquet lacks x; adds z, compared with a.parquet; write every part with the same columns
    """
    from core.data.tables import scan_table

    def columns(file: Path) -> list[str]:
        try:
            return list(scan_table(file, separator).collect_schema().names())
        except InputError:
            raise
        except Exception as error:  # polars / arrow errors on a damaged part
            raise InputError(f"cannot read the columns of {file.relative_to(root).as_posix()}: {error}") from error

    expected = columns(files[0])
    for file in files[1:]:
        names = columns(file)
        if set(names) != set(expected):
            lacks, adds = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
            what = "; ".join(([f"lacks {', '.join(lacks[:10])}"] if lacks else []) + ([f"adds {', '.join(adds[:10])}"] if adds else []))
            raise InputError(f"the parts do not share one schema: {file.relative_to(root).as_posix()} {what}, compared with "
                             f"{files[0].relative_to(root).as_posix()}; write every part with the same columns")
    return expected


def _check_part_ids(ids: dict[int, list[Any]], named: str | None) -> None:
    """The records' ids over every part, in input order, as the local path checks them (core.stream): an empty or
    repeated id is an `InputError` naming the rows, counted over all parts."""
    from core.stream import _check_ids, _SeenIds

    seen = _SeenIds()
    start = 0
    for index in sorted(ids):
        if ids[index]:
            _check_ids(ids[index], named or "id", start, seen, named)
        start += len(ids[index])


def _write_part(folder: Path, index: int, records: list[dict[str, Any]], parquet: bool) -> Path:
    """One partition's records, written as the local path writes its output (core.stream.RecordWriter: Parquet with
    an `error` column and text for a type no value showed), so the joined file has the local schema."""
    from core.stream import RecordWriter

    target = folder / f"part-{index:06d}.{'parquet' if parquet else 'jsonl'}"
    with RecordWriter(target) as writer:
        writer.write_batch(records)
    return target


def _combine(parts: list[Path], output: Path | None, parquet: bool) -> None:
    """Join the written partitions in input order into `output` (temp file beside it, then an atomic rename)."""
    import sys

    if output is None:
        for part in parts:
            with open(part, encoding="utf-8") as handle:
                shutil.copyfileobj(handle, sys.stdout)
        return
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        if parquet:
            import polars as pl

            pl.concat([pl.scan_parquet(p) for p in parts], how="diagonal_relaxed").sink_parquet(temporary)
        else:
            with open(temporary, "wb") as out:
                for part in parts:
                    with open(part, "rb") as handle:
                        shutil.copyfileobj(handle, out)
        os.replace(temporary, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def predict_with_dask(task: str, input: str | os.PathLike, output: str | os.PathLike | None = None, model: str | None = None,
                      options: dict[str, Any] | None = None, reader_options: dict[str, str] | None = None,
                      batch_size: int | None = None, device: str = "auto") -> int:
    """`verticals predict TASK --input ... --option engine=dask`: partitions scored by the task's own `predict` on
    dask workers (the model loaded once per worker), records written in input order with their ids (`file` + `row`
    for table parts). Options: `scheduler` (address; default a LocalCluster of `workers` processes, 2),
    `partition_size` (inputs per partition when the input is one file or a folder of files: 100,000 table rows or
    256 files by default). Returns 0.
    """
    from distributed import as_completed

    from core import registry

    options = dict(options or {})
    engine = {k: options.pop(k) for k in ENGINE_OPTIONS if k in options}
    cls = registry.task_class(task)
    try:
        size, workers = int(engine.get("partition_size", 0)) or None, int(engine.get("workers", 2))
    except ValueError as error:
        raise InputError(f"partition_size and workers must be whole numbers ({error})") from error
    if size is not None and size < 1:
        raise InputError(f"partition_size must be >= 1, got {size}")
    out = Path(output) if output is not None else None
    parquet = out is not None and out.suffix.lower() == ".parquet"
    partitions = _partitions(cls, str(input), options, size)
    model = str(Path(model).resolve()) if model is not None and Path(model).is_dir() else model  # workers may run elsewhere
    scratch = Path(out.parent if out is not None else ".").resolve()
    folder = Path(__import__("tempfile").mkdtemp(prefix=f".{out.name if out else 'predict'}.parts-", dir=scratch))
    try:
        written: dict[int, Path] = {}
        with dask_client(engine.get("scheduler"), workers, processes=True) as client:
            futures = {client.submit(_score_partition, task, model, device, part, options, dict(reader_options or {}),
                                     batch_size, pure=False): part.index for part in partitions}
            ids: dict[int, list[Any]] = {}
            for future in as_completed(futures):  # written as each partition completes, whatever the order
                index = futures[future]
                records = future.result()
                ids[index] = [r.get("id") for r in records] if any("id" in r for r in records[:1]) else []
                written[index] = _write_part(folder, index, records, parquet)
                future.release()
        _check_part_ids(ids, options.get("id"))
        _combine([written[i] for i in sorted(written)], out, parquet)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0
