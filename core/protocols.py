"""The contract every task model follows (DESIGN.md): load / predict / evaluate / fit / save / explain."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from core.errors import InputError, NotFittedError

__all__ = ["TaskModelProtocol", "TaskModel", "ProgressCallback", "iter_batches", "frame_batches"]

ProgressCallback = Callable[[dict[str, Any]], None]


@runtime_checkable
class TaskModelProtocol(Protocol):
    """What `core.load()` returns for every task."""

    task: ClassVar[str]

    @classmethod
    def load(cls, source: str | Path | None = None, device: str = "auto") -> "TaskModelProtocol": ...

    def predict(self, inputs: Any, batch_size: int = ...) -> list[dict[str, Any]]: ...

    def evaluate(self, data: Any) -> dict[str, Any]: ...

    def fit(self, data: Any, config: Any = None, *, run_dir: str | Path | None = None, resume: bool = False,
            callbacks: Sequence[ProgressCallback] = ()) -> "TaskModelProtocol": ...

    def save(self, path: str | Path) -> Path: ...


def iter_batches(items: Sequence[Any], batch_size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of `items` of at most `batch_size`.

    >>> [list(b) for b in iter_batches([1, 2, 3], 2)]
    [[1, 2], [3]]
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, len(items), batch_size):
        yield items[start:start + batch_size]


def frame_batches(frame: Any, rows: int) -> Iterator[Any]:
    """Stream a polars DataFrame / LazyFrame (or pandas DataFrame) as polars DataFrames of <= `rows` rows.

    A LazyFrame from `pl.scan_*` is read slice by slice, so a file larger than memory can be scored.

    >>> import polars as pl
    >>> [b.height for b in frame_batches(pl.DataFrame({"a": range(5)}).lazy(), 2)]
    [2, 2, 1]
    """
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        collect_batches = getattr(frame, "collect_batches", None)
        if collect_batches is not None:
            for batch in collect_batches(chunk_size=rows):
                for start in range(0, batch.height, rows):
                    yield batch.slice(start, rows)
            return
        offset = 0
        while True:
            batch = frame.slice(offset, rows).collect()
            if batch.height == 0:
                return
            yield batch
            offset += batch.height
        return
    if not isinstance(frame, pl.DataFrame):
        try:
            frame = pl.from_pandas(frame)
        except (TypeError, ValueError) as error:
            raise InputError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}") from error
    for start in range(0, max(frame.height, 1), rows):
        if frame.height:
            yield frame.slice(start, rows)


class TaskModel:
    """Shared behaviour of task models; subclasses implement the task-specific parts.

    Subclasses set `task`, implement `load`, `predict`, `evaluate`, `fit`, `save`, `read_data`, and,
    for table-shaped inputs, `frame_inputs` (turning a batch of rows into `predict` inputs).
    """

    task: ClassVar[str] = ""
    default_batch_size: ClassVar[int] = 32

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def load(cls, source: str | Path | None = None, device: str = "auto") -> "TaskModel":
        raise NotImplementedError

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "TaskModel":
        """The model `verticals train` starts from: by default the same as `load(base)`."""
        return cls.load(base, device=device)

    # -- data ---------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, **options: Any) -> Any:
        """Read labelled data (for `fit` / `evaluate`) from a file or folder in a format of DESIGN.md."""
        raise NotImplementedError

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[Any]:
        """Read unlabelled inputs for `predict` (the CLI's `--input`)."""
        raise NotImplementedError

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validate data without training: a report (dict) or `InputError` saying what is wrong."""
        data = cls.read_data(path, **options)
        return {"task": cls.task, "path": str(path), "ok": True, "n": _length(data)}

    # -- inference ------------------------------------------------------------------------------
    def predict(self, inputs: Any, batch_size: int | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def frame_inputs(self, batch: Any, columns: Any = None) -> list[Any]:
        """Turn a polars batch of rows into `predict` inputs (tasks with table-shaped inputs)."""
        raise NotImplementedError(f"{self.task} has no table input; call predict()")

    def predict_frame(self, frame: Any, columns: Any = None, batch_size: int | None = None, rows_per_chunk: int = 4096):
        """Score a polars/pandas table (or `pl.scan_*` LazyFrame) in chunks; returns polars with new columns."""
        import polars as pl

        outputs = []
        for chunk in frame_batches(frame, rows_per_chunk):
            records = self.predict(self.frame_inputs(chunk, columns), batch_size=batch_size)
            new = pl.DataFrame([_flatten(r) for r in records]) if records else pl.DataFrame()
            clash = [c for c in new.columns if c in chunk.columns]
            if clash:
                new = new.rename({c: f"pred_{c}" for c in clash})
            outputs.append(pl.concat([chunk, new], how="horizontal"))
        if not outputs:
            raise InputError("the table has no rows to score")
        return pl.concat(outputs, how="diagonal_relaxed")

    def explain(self, inputs: Any) -> Any:
        raise NotImplementedError(f"{self.task} has no explain()")

    # -- training and persistence ------------------------------------------------------------------
    def evaluate(self, data: Any) -> dict[str, Any]:
        raise NotImplementedError

    def fit(self, data: Any, config: Any = None, *, run_dir: str | Path | None = None, resume: bool = False,
            callbacks: Sequence[ProgressCallback] = ()) -> "TaskModel":
        """Train on `data`; progress goes to `run_dir/metrics.jsonl` and `callbacks`; `resume` continues its checkpoint."""
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        raise NotImplementedError

    def _require_fitted(self, *attributes: str) -> None:
        for name in attributes:
            if getattr(self, name, None) is None:
                raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit() or load() first")


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    # Nested lists/dicts (top-k, boxes) stay as JSON-like values; polars makes struct/list columns.
    return record


def _length(data: Any) -> int | None:
    for attribute in ("height", "__len__"):
        value = getattr(data, attribute, None)
        if isinstance(value, int):
            return value
        if callable(value):
            return value()
    return None
