"""The contract every task model follows (DESIGN.md): load / predict / evaluate / fit / save / explain."""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from core.errors import InputError, ModelNotFoundError, NotFittedError

__all__ = ["TaskModelProtocol", "TaskModel", "predict_in_place", "ProgressCallback", "iter_batches", "frame_batches", "prediction_names", "check_batch_size", "Inputs",
           "identify_inputs", "with_ids", "predict_options", "predict_records"]

ProgressCallback = Callable[[dict[str, Any]], None]


@runtime_checkable
class TaskModelProtocol(Protocol):
    """What `core.load()` returns for every task."""

    task: ClassVar[str]

    @classmethod
    def load(cls, source: str | Path | None = None, device: str = "auto", **options: Any) -> "TaskModelProtocol": ...

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


ID_COLUMNS = ("id", "ID", "Id", "record_id", "uid", "key")


class Inputs(list):
    """Predict inputs that remember where each came from: `ids[i]` is `{"line": 3}`, `{"row": 2}`, `{"path": ...}`
    or `{"id": ...}`; `errors[i]` says why item i cannot be predicted (a blank line), so it gets an error record.

    >>> items = Inputs(["good", ""], ids=[{"line": 1}, {"line": 2}], errors={1: "empty line"})
    >>> len(items), items.errors
    (2, {1: 'empty line'})
    """

    def __init__(self, items: Any = (), ids: list[dict[str, Any]] | None = None, errors: dict[int, str] | None = None):
        super().__init__(items)
        self.ids = list(ids) if ids is not None else [{"index": i + 1} for i in range(len(self))]
        self.errors = dict(errors or {})
        if len(self.ids) != len(self):
            raise ValueError(f"{len(self.ids)} ids for {len(self)} inputs")


def identify_inputs(inputs: Any, id_column: str | None = None, start: int = 0, paths: bool = False) -> Any:
    """Attach an id to every predict input: file paths for files, `row` (1-based) or an id column for tables.

    Already identified `Inputs` pass through; a polars table keeps its type and gets its ids in `.ids`.
    `start` is how many inputs came before (a streamed batch): rows and indexes number on from there.
    With `paths` (a task whose text inputs are file paths: images, audio, scans), every one-line string is a `path`,
    a missing file's as much as a present one's, so its error record joins back on `path` like its neighbours'.

    >>> identify_inputs([Path("a.png")]).ids
    [{'path': 'a.png'}]
    >>> identify_inputs(["no/such.png"]).ids, identify_inputs(["no/such.png"], paths=True).ids
    ([{'index': 1}], [{'path': 'no/such.png'}])
    >>> import polars as pl
    >>> identify_inputs(pl.DataFrame({"x": [1, 2]})).ids
    [{'row': 1}, {'row': 2}]
    """
    import polars as pl

    if isinstance(inputs, (Inputs, _IdentifiedFrame)):
        return inputs
    if type(inputs).__module__.startswith("pandas") and hasattr(inputs, "columns"):  # rows, not column names
        inputs = pl.from_pandas(inputs)
    if isinstance(inputs, pl.DataFrame):
        column = id_column if id_column in inputs.columns else next((c for c in ID_COLUMNS if c in inputs.columns), None)
        if id_column and column != id_column:
            raise InputError(f"no id column {id_column!r}; the table has: {', '.join(inputs.columns[:30])}")
        if column:
            return _IdentifiedFrame(inputs, "id", inputs[column])
        return _IdentifiedFrame(inputs, "row", pl.int_range(start + 1, start + inputs.height + 1, dtype=pl.Int64,
                                                            eager=True))
    items = list(inputs)
    ids = []
    for index, item in enumerate(items):
        if isinstance(item, Path) or (isinstance(item, str) and len(item) < 4096 and "\n" not in item
                                      and ((paths and item.strip()) or _names_a_file(item))):
            ids.append({"path": str(item)})
        elif isinstance(item, dict) and item.get("id") is not None:
            ids.append({"id": item["id"]})
        else:
            ids.append({"index": start + index + 1})
    return Inputs(items, ids)


POSITION_KEYS = ("index", "row", "line")  # ids that count positions: a batch's own numbering, not the caller's


def _names_a_file(text: str) -> bool:
    """Whether `text` is the path of an existing file; a text no file can be named (a 300-letter line: too long for
    one path component) is not, rather than an OSError.

    >>> _names_a_file("a" * 300), _names_a_file("Great film.")
    (False, False)
    """
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def with_ids(inputs: Any, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`records` (one per input, in order) with their input's id first, as DESIGN.md says every predict record is:
    `path` for a file, `id` for a table's id column or a dict's "id", else `row` (tables) or `index` (lists), from 1.
    A key the record already has is kept as the record says it.

    >>> with_ids(["good", "bad"], [{"label": "positive"}, {"label": "negative"}])
    [{'index': 1, 'label': 'positive'}, {'index': 2, 'label': 'negative'}]
    >>> import polars as pl
    >>> with_ids(pl.DataFrame({"id": ["a7"], "x": [1]}), [{"pd": 0.1}])
    [{'id': 'a7', 'pd': 0.1}]
    """
    ids = identify_inputs(inputs).ids
    if len(ids) != len(records):
        raise ValueError(f"{len(records)} records for {len(ids)} inputs")
    return [{**identity, **record} for identity, record in zip(ids, records)]


def _ids_or_none(inputs: Any, n: int) -> list[dict[str, Any]]:
    """The ids `with_ids` gives `inputs`, or n empty ones when they cannot be numbered alike."""
    try:
        ids = identify_inputs(inputs).ids
    except (InputError, TypeError):
        return [{}] * n
    return ids if len(ids) == n else [{}] * n


class _IdentifiedFrame:
    """A polars table of predict inputs with one id per row (`id_series`, under the key `id_key`)."""

    def __init__(self, frame: Any, id_key: str, id_series: Any):
        self.frame, self.id_key, self.id_series, self.errors = frame, id_key, id_series, {}
        self._ids: list[dict[str, Any]] | None = None

    @property
    def ids(self) -> list[dict[str, Any]]:
        if self._ids is None:  # built on first use: a columnar predict never needs one dict per row
            self._ids = [{self.id_key: v} for v in self.id_series.to_list()]
        return self._ids

    def __len__(self) -> int:
        return self.frame.height


def prediction_names(new: list[str], taken: list[str]) -> dict[str, str]:
    """Renames for prediction columns whose names the scored table already has: `pred_` before the name, then
    `pred2_`, `pred3_`... until free (a table scored twice already holds `pred_pd`).

    >>> prediction_names(["pd", "score"], ["pd", "pred_pd", "income"])
    {'pd': 'pred2_pd'}
    """
    names, renames = set(taken) | set(new), {}
    for column in new:
        if column in taken:
            prefix, number = "pred_", 1
            while f"{prefix}{column}" in names:
                number += 1
                prefix = f"pred{number}_"
            renames[column] = f"{prefix}{column}"
            names.add(renames[column])
    return renames


def check_batch_size(batch_size: Any, default: int, unit: str | None = None) -> int:
    """`batch_size`, or `default` when it is None; anything but a whole number >= 1 -> `InputError` (`unit` says what
    one batch holds, in the message).

    >>> check_batch_size(None, 64), check_batch_size(8, 64)
    (64, 8)
    >>> check_batch_size(0, 64, "images per forward pass")
    Traceback (most recent call last):
    core.errors.InputError: batch_size must be a whole number >= 1 (images per forward pass), got 0
    """
    import numbers

    if batch_size is None:
        return default
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number >= 1{f' ({unit})' if unit else ''}, got {batch_size!r}")
    return int(batch_size)


def predict_options(model: Any, options: dict[str, Any], method: str = "predict") -> dict[str, Any]:
    """The data options that `model.predict` (or `model.<method>`, e.g. evaluate) declares as keywords (e.g. speech's
    source/target languages, risk's and sentiment's positive_label for evaluate).

    >>> class Speech:
    ...     def predict(self, inputs, batch_size=None, target=None): ...
    ...     def evaluate(self, data, positive_label=None): ...
    >>> predict_options(Speech(), {"target": "en", "id": "key", "batch_size": 4})
    {'target': 'en'}
    >>> predict_options(Speech(), {"target": "en", "positive_label": "yes"}, "evaluate")
    {'positive_label': 'yes'}
    """
    import inspect

    accepted = inspect.signature(getattr(model, method)).parameters
    return {k: _option_value(k, accepted[k].annotation, v) for k, v in options.items()
            if k in accepted and k not in ("inputs", "data", "batch_size")}


def _option_value(name: str, annotation: Any, value: Any) -> Any:
    """An `--option` value (text) as the number or flag a `predict` keyword is annotated with; `InputError` if it is not.

    >>> _option_value("top_k", "int", "3"), _option_value("score_threshold", "float | None", "0.5")
    (3, 0.5)
    """
    from core.config import coerce_value

    kinds = {part.strip() for part in str(getattr(annotation, "__name__", annotation)).split("|")} - {"None", ""}
    if not isinstance(value, str) or kinds not in ({"bool"}, {"int"}, {"float"}):  # text for a text keyword stays text
        return value
    return coerce_value(name, next(iter(kinds)), value, what=f"--option {name}")  # read as `--set` values are


def predict_records(model: Any, inputs: Any, batch_size: int | None = None, chunk: int = 1024,
                    **options: Any) -> Iterator[dict[str, Any]]:
    """Stream one record per input, its id first: error records for inputs that cannot be predicted, in order.
    `options` go to every `model.predict` call (e.g. speech's `source` / `target` languages).

    >>> class Echo:
    ...     def predict(self, items, batch_size=None): return [{"text": t} for t in items]
    >>> list(predict_records(Echo(), Inputs(["a", ""], ids=[{"line": 1}, {"line": 2}], errors={1: "empty line"})))
    [{'line': 1, 'text': 'a'}, {'line': 2, 'error': 'empty line'}]
    """
    inputs = identify_inputs(inputs)
    total = len(inputs)
    predicted = False  # whether an earlier chunk gave a record: then a chunk failing whole is its inputs' own fault
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        good = [i for i in range(start, stop) if i not in inputs.errors]
        if isinstance(inputs, _IdentifiedFrame):
            batch = inputs.frame.slice(start, stop - start)
        else:
            batch = [inputs[i] for i in good]
        failed: dict[int, str] = {}
        try:
            records = list(model.predict(batch, batch_size=batch_size, **options)) if good else []
        except InputError:  # files (`path`) or named items (`id`, e.g. forecast series): each predicted alone
            if (isinstance(inputs, _IdentifiedFrame) or not {"path", "id"} & set(inputs.ids[good[0]])
                    or (len(good) < 2 and not predicted)):
                raise
            records, failed = _file_by_file(model, inputs, good, batch_size, options, all_may_fail=predicted)
        if len(records) != len(good) - len(failed):
            raise InputError(f"the model returned {len(records)} records for {len(good) - len(failed)} inputs")
        predicted = predicted or bool(records)
        yield from _placed(inputs, range(start, stop), records, failed)


def predict_in_place(model: Any, images: Any, batch_size: int | None, **options: Any) -> list[dict[str, Any]]:
    """For a task's `predict` whose batch failed on a file that does not decode: each input predicted alone
    (`_file_by_file`, as the CLI does), so a corrupt photo among others is an `error` record in its place, one record
    per input, ids first. When every input fails the first error is raised.

    >>> class Echo:
    ...     def predict(self, items, batch_size=None):
    ...         if items[0] == "bad": raise InputError("bad is truncated or corrupt")
    ...         return [{"label": items[0]}]
    >>> predict_in_place(Echo(), ["ok", "bad"], None)
    [{'index': 1, 'label': 'ok'}, {'index': 2, 'error': 'bad is truncated or corrupt'}]
    """
    images = identify_inputs(images)
    good = [index for index in range(len(images)) if index not in images.errors]
    records, failed = _file_by_file(model, images, good, batch_size, options)  # every image failing: raised there
    return list(_placed(images, range(len(images)), records, failed))


def _placed(inputs: Any, indexes: range, records: list[dict[str, Any]], failed: dict[int, str]) -> Iterator[dict[str, Any]]:
    """Each input's record at its place, its id first: an error record for the inputs `inputs.errors` or `failed`
    name, else the next of `records` (a record's own position keys give way: an input predicted alone numbers itself 1,
    its place here is the caller's)."""
    produced = iter(records)
    for index in indexes:
        identity = dict(inputs.ids[index])
        if index in inputs.errors or index in failed:
            yield {**identity, "error": inputs.errors.get(index) or failed[index]}
        else:
            record = next(produced)
            yield {**identity, **{k: v for k, v in record.items() if k not in identity and k not in POSITION_KEYS}}


def _file_by_file(model: Any, inputs: Any, good: list[int], batch_size: int | None, options: dict[str, Any],
                  all_may_fail: bool = False) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """A batch of files failed: predict them one by one, so a corrupt photo or recording among thousands is an error
    record in its place. When every file fails alike the error is not a file's: it is raised as it was (unless
    `all_may_fail`: earlier inputs of the same call were predicted, so the model is not at fault)."""
    records, failed, errors = [], {}, []
    for index in good:
        try:
            records.extend(model.predict([inputs[index]], batch_size=batch_size, **options))
        except InputError as error:
            failed[index] = str(error)
            errors.append(error)
    if len(failed) == len(good) and not all_may_fail:
        raise errors[0]
    return records, failed


LOAD_WAIT_S = 30.0  # how long `load` waits out another process's save of the folder it reads


def _folder_identity(folder: Path | None) -> tuple[int, int] | None:
    """(device, inode) of a model folder: a save replaces the folder whole, so a new inode means a new model."""
    try:
        stat = os.stat(folder) if folder is not None else None
    except (OSError, ValueError):
        return None
    return (stat.st_dev, stat.st_ino) if stat else None


def _changing(folder: Path | None, before: tuple[int, int] | None) -> bool:
    """Whether `folder` is being replaced by a live save, or was replaced since `before` (its identity then)."""
    from core.artifacts import being_saved

    return folder is not None and (being_saved(folder) or _folder_identity(folder) != before)


def read_settled(source: Any, read: Callable[[], Any]) -> Any:
    """`read()` of the model folder `source`, done again, whole, while a save in another process is replacing that
    folder (its two renames leave it missing for a moment, and a read that straddles them finds one version's card
    with the other's files): a team member loading a model as another re-saves it got 'not found' or 'does not match
    its hash' for a good model. Waits up to `LOAD_WAIT_S`; a folder removed while being read is a
    `ModelNotFoundError`. Sources that are not folders (None, a hub id) are read once."""
    folder = None if source is None or str(source) in {"", "default", "embedded"} else Path(source).expanduser()
    deadline = time.monotonic() + LOAD_WAIT_S
    while True:
        before = _folder_identity(folder)
        try:
            result = read()
            if _folder_identity(folder) == before:
                return result
        except (InputError, OSError) as error:  # a save of `folder` in another process may be swapping it
            if not _changing(folder, before) or time.monotonic() > deadline:
                if isinstance(error, OSError) and folder is not None:  # removed while being read (a delete)
                    raise ModelNotFoundError(f"{folder} changed or was removed while it was being loaded "
                                             f"({error.strerror or error}); load it again") from error
                raise
        if time.monotonic() > deadline:
            raise InputError(f"{folder} kept changing while it was being loaded (saves to it for over "
                             f"{LOAD_WAIT_S:.0f} s); load it once its training has saved it")
        time.sleep(0.1)  # the save's two renames take milliseconds: read the folder again, whole


def _checked_folder(cls: type, folder: Path, device: str, **options: Any) -> Any:
    """`cls.load_folder`, whose card is checked against its own digest there (`_sealed`)."""
    return cls.load_folder(folder, device, **options)


def _sealed(load_folder: Callable[..., Any]) -> Callable[..., Any]:
    """A task's `load_folder`, then the card's own digest (`core.artifacts.check_card_digest`): the task's checks of
    its card against its weights run first and name the field they find changed; the digest refuses any other edit.
    `TaskModel.__init_subclass__` wraps every task's hook with it, so a caller of `load_folder` itself (a notebook,
    a test, a task loading its shipped default) gets the same check as `load`."""
    @functools.wraps(load_folder)
    def checked(cls: type, path: Path, device: str = "auto", **options: Any) -> Any:
        from core.artifacts import check_card_digest

        model = load_folder(cls, path, device, **options)
        if (Path(path) / "card.json").is_file():
            check_card_digest(path)
        return model

    checked.__sealed__ = True
    return checked


def _configured(fit: Callable[..., Any]) -> Callable[..., Any]:
    """A task's `fit` taking its config as the task's `Config`, or as a dict of the same fields (`{"epochs": 1}`, as
    `--set epochs=1` and a YAML `--config` give them: unknown keys refused, values converted and range-checked);
    anything else is an `InputError` naming what to pass. A dict used to fail deep inside the task."""
    @functools.wraps(fit)
    def configured(self: Any, data: Any, config: Any = None, *args: Any, **options: Any) -> Any:
        config_cls = getattr(type(self), "Config", None)
        if config_cls is not None and config is not None and not isinstance(config, config_cls):
            if not isinstance(config, dict):
                raise InputError(f"config must be {type(self).__name__}.Config(...) or a dict of its fields, got "
                                 f"{type(config).__name__}")
            from core.config import resolve_config

            config = resolve_config(config_cls, overrides=config)
        return fit(self, data, config, *args, **options)

    configured.__configured__ = True
    return configured


class TaskModel:
    """Shared behaviour of task models; subclasses implement the task-specific parts.

    Subclasses set `task`, implement `load`, `predict`, `evaluate`, `fit`, `save`, `read_data`, and,
    for table-shaped inputs, `frame_inputs` (turning a batch of rows into `predict` inputs).
    """

    task: ClassVar[str] = ""
    default_batch_size: ClassVar[int] = 32
    builtins: ClassVar[tuple[str, ...]] = ()  # named models `load_builtin` knows ("haar", "whisper-base"...)
    default_name: ClassVar[str | None] = None  # cache folder of a default that `build_default` trains on first use
    libraries: ClassVar[tuple[str, ...]] = ()  # versions recorded in the card by `save`
    # `--option` keys the task's readers take through `**options`, beside the CLI's data flags (target, column...),
    # the reader options every table takes (separator, encoding...) and the keywords of `read_data`, `read_inputs`
    # and `predict`, which `core.cli` finds itself: `data_options` for labelled data (check-data, evaluate, train),
    # `input_options` for `predict`; any other key is refused there, so a typo cannot be ignored silently
    data_options: ClassVar[tuple[str, ...]] = ()
    input_options: ClassVar[tuple[str, ...]] = ()
    # the CLI's data flags (--target --source --time --value --id --column) the task reads: `data_flags` from labelled
    # data (check-data, evaluate, train), `input_flags` for predict; `core.cli` refuses any other (a --time given to
    # sentiment used to be ignored silently). None: not declared, every flag is taken
    data_flags: ClassVar[tuple[str, ...] | None] = None
    input_flags: ClassVar[tuple[str, ...] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hook = cls.__dict__.get("load_folder")
        if isinstance(hook, classmethod) and not getattr(hook.__func__, "__sealed__", False):
            cls.load_folder = classmethod(_sealed(hook.__func__))
        fit = cls.__dict__.get("fit")
        if callable(fit) and not getattr(fit, "__configured__", False):
            cls.fit = _configured(fit)

    # -- construction: one dispatcher, tasks fill the hooks below ----------------------------
    @classmethod
    def load(cls, source: str | Path | None = None, device: str = "auto", **options: Any) -> "TaskModel":
        """The embedded default (`None`), a named built-in, a folder written by `save()`, or a hub id.

        Every task loads through this one dispatcher; tasks fill the hooks `load_default` (or `build_default`),
        `load_builtin`, `load_folder` and `load_hub`. `options` reach the hook (e.g. translation's languages).
        """
        from core.registry import resolve_source

        if source is not None and str(source) in cls.builtins and not Path(str(source)).exists():
            return cls.load_builtin(str(source), device, **options)
        def once() -> "TaskModel":
            kind, where = resolve_source(cls.task, source)
            if kind == "embedded":
                return cls.load_default(device, **options)
            if kind == "hub":
                return cls.load_hub(str(where), device, **options)
            return _checked_folder(cls, Path(where), device, **options)

        return read_settled(source, once)

    @classmethod
    def load_default(cls, device: str = "auto", **options: Any) -> "TaskModel":
        """The embedded default: by default built once by `build_default` into the cache folder `default_name`, under
        a file lock (parallel first uses build it once), then read by `load_folder`. Tasks whose default ships
        ready (package weights, a rule engine) override this instead."""
        from core.artifacts import cache_dir, cached_default

        if cls.default_name is None:
            raise NotImplementedError(f"{cls.__name__} sets neither default_name (with build_default) nor load_default")
        return cached_default(cache_dir(cls.task) / cls.default_name,
                              lambda folder: cls.build_default(folder, device=device, **options),
                              lambda folder: _checked_folder(cls, folder, device, **options))

    @classmethod
    def build_default(cls, folder: Path, device: str = "auto", **options: Any) -> None:
        """Train the embedded default and save it to `folder` (called under the default's lock, at most once)."""
        raise NotImplementedError(f"{cls.__name__} has no default to build")

    @classmethod
    def load_builtin(cls, name: str, device: str = "auto", **options: Any) -> "TaskModel":
        """A named built-in model (one of `builtins`)."""
        raise NotImplementedError(f"{cls.__name__} has no built-in {name!r}")

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "TaskModel":
        """A folder written by `save()` (its card already checked by `core.registry.load`)."""
        raise NotImplementedError

    @classmethod
    def load_hub(cls, repo_id: str, device: str = "auto", **options: Any) -> "TaskModel":
        """A hub model: by default its snapshot (downloaded only when HF_HUB_OFFLINE allows), read by `load_folder`."""
        from core.registry import hub_snapshot

        return cls.load_folder(hub_snapshot(cls.task, repo_id), device, **options)

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
    def read_input_batches(cls, path: str | Path, rows: int = 131_072, **options: Any) -> Iterator[Any]:
        """Predict inputs in batches of about `rows`, for streaming (`verticals predict`).

        By default `read_inputs` reads them whole (a list of file paths or texts is small beside what is decoded
        from it) and a table is sliced; tasks reading large tables override this to scan them batch by batch.
        """
        import polars as pl

        inputs = cls.read_inputs(path, **options)
        if isinstance(inputs, pl.DataFrame):
            yield from frame_batches(inputs, rows)
        else:
            yield inputs

    @classmethod
    def validate_training_data(cls, data: Any, **options: Any) -> None:
        """The checks `train` makes on read data before fitting (e.g. two classes); `InputError` when they fail."""

    @classmethod
    def data_digest(cls, data: Any) -> str | None:
        """A hash of what `read_data` read beyond the file given (the images or audio a manifest or data.yaml names,
        labels from label files), which the training-data hash of a manifest adds to the manifest's own bytes, so
        `--resume` sees those files change. The default: the data's own `source_hash` (a hash of the files read, as
        medical data keep), else None (the given file or folder is all the data)."""
        found = getattr(data, "source_hash", None)
        return found if isinstance(found, str) else None

    @classmethod
    def training_data(cls, path: str | Path, **options: Any) -> Any:
        """Read and validate training data: the one path `train` and `check-data` share."""
        data = cls.read_data(path, **options)
        cls.validate_training_data(data, **options)
        return data

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """Validate data without training: a report (dict) or `InputError` saying what is wrong."""
        data = cls.training_data(path, **options)
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
            inputs = self.frame_inputs(chunk, columns)
            records = self.predict(inputs, batch_size=batch_size)
            # each record sits beside its row, so its id (`with_ids`) says nothing new: the chunk's own numbering
            # (index / row, counted afresh per chunk) and an id or path repeating its input's are left out
            records = [{k: v for k, v in r.items() if k not in POSITION_KEYS and not (k in identity and identity[k] == v)}
                       for r, identity in zip(records, _ids_or_none(inputs, len(records)))]
            # every record's keys: polars would take the columns from the first 100 records and drop a key
            # (a warning, an error) that only a later record has
            new = pl.DataFrame([_flatten(r) for r in records], infer_schema_length=None) if records else pl.DataFrame()
            new = new.rename(prediction_names(new.columns, chunk.columns))
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
        """Write the model folder: `save_card()` as card.json (schema-checked), `write_weights(folder)` beside it,
        every file hashed into the card, all atomically (`core.artifacts.save_model_dir`)."""
        from core.artifacts import save_model_dir

        card = json.loads(json.dumps(self.save_card(), default=_plain))
        return save_model_dir(path, card, write_weights=self.write_weights, libraries=self.libraries)

    def save_card(self) -> dict[str, Any]:
        """The card.json of a saved model (task, name, labels, preprocessing, config, metrics...)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved")

    def write_weights(self, folder: Path) -> None:
        """Write the weight files into `folder` (safetensors, LightGBM text, JSON; never a pickle)."""

    def _require_fitted(self, *attributes: str) -> None:
        for name in attributes:
            if getattr(self, name, None) is None:
                raise NotFittedError(f"this {type(self).__name__} is not fitted; call fit() or load() first")


def _plain(value: Any) -> Any:
    """JSON form of a card value: numbers and arrays as numbers and lists, paths and anything else as text."""
    from core.artifacts import _json_default

    try:
        return _json_default(value)
    except TypeError:
        return str(value)


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
