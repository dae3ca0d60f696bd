"""One Trainer for every torch model: AMP, accumulation, clipping, warmup+cosine, early stopping,
atomic resumable checkpoints, JSONL metrics log, rich progress, DDP under torchrun."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.artifacts import atomic_write_bytes, atomic_write_text, hash_bytes, save_tensors
from core.config import TaskConfig, config_to_dict
from core.device import autocast_dtype, pick_device, seed_everything, to_device
from core.errors import InputError, UnsafeArtifactError

__all__ = ["TrainConfig", "Trainer", "TrainResult", "LoopState", "MetricsLog", "distributed_context"]

CHECKPOINT_NAME = "checkpoint.pt"  # torch.save of tensors and plain containers only; read with weights_only=True
CHECKPOINT_META = "checkpoint.json"
BEST_NAME = "best.safetensors"
LOG_NAME = "metrics.jsonl"


@dataclass(frozen=True)
class TrainConfig(TaskConfig):
    """Training hyperparameters shared by every torch task. Task configs extend it and change its defaults through
    `defaults` (never by declaring a field again), so `--set lr=...` means the same for every task. `None` for
    `epochs`, `batch_size` or `lr`: the task chooses (e.g. from a time budget or its model kind)."""

    epochs: int | None = 10
    max_steps: int | None = None  # optimizer steps; caps epochs
    batch_size: int | None = 32
    lr: float | None = 1e-3
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    min_lr_ratio: float = 0.0
    grad_accum_steps: int = 1
    max_grad_norm: float | None = 1.0
    amp: str = "auto"  # auto | bf16 | fp16 | off
    patience: int | None = 3  # evaluations without improvement before stopping; None = never stop early
    monitor: str = "val_loss"
    monitor_mode: str = "min"  # min | max
    eval_every_steps: int | None = None  # None = once per epoch
    checkpoint_every_steps: int | None = None  # None = once per epoch
    validation_fraction: float = 0.1  # share of the training data held out for early stopping / model choice
    num_workers: int = 0
    compile: bool = False
    log_every_steps: int = 10
    progress_bar: bool = True

    def trainer_config(self, **changes: Any) -> "TrainConfig":
        """The plain `TrainConfig` part of a task config (what `Trainer` reads), with `changes` applied.

        >>> @dataclass(frozen=True)
        ... class Task(TrainConfig):
        ...     defaults = {"epochs": 3}
        ...     image_size: int = 64
        >>> Task().trainer_config(lr=0.5)
        TrainConfig(seed=0, epochs=3, max_steps=None, batch_size=32, lr=0.5, weight_decay=0.0, warmup_ratio=0.05, min_lr_ratio=0.0, grad_accum_steps=1, max_grad_norm=1.0, amp='auto', patience=3, monitor='val_loss', monitor_mode='min', eval_every_steps=None, checkpoint_every_steps=None, validation_fraction=0.1, num_workers=0, compile=False, log_every_steps=10, progress_bar=True)
        """
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainConfig)}
        return TrainConfig(**{**values, **changes})


@dataclass
class TrainResult:
    """What `Trainer.fit()` returns."""

    steps: int
    epochs_completed: int
    best_metric: float | None
    best_step: int | None
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str | None = None  # max_steps | early_stopping | epochs


@dataclass
class LoopState:
    """The fit loop's progress counters: saved in every checkpoint, so a resumed run continues exactly."""

    epoch: int = 0
    batches_done: int = 0  # micro-batches of the current epoch already trained on
    global_step: int = 0  # optimizer steps
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0  # evaluations since the best one
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> "LoopState":
        return cls(**{f.name: checkpoint[f.name] for f in dataclasses.fields(cls)})


@dataclass
class _FitRun:
    """Everything one `fit` holds: the loop's parts (typed, instead of closures over a dict)."""

    model: Any
    wrapped: Any  # the model as trained: DDP- and/or compile-wrapped
    loader: Any
    sampler: "_EpochSampler"
    optimizer: Any
    scheduler: Any
    scaler: Any
    log: MetricsLog
    device: Any
    rank: int
    world: int
    batches_per_epoch: int
    total_steps: int
    running_loss: Any
    started: float
    running_count: int = 0
    state: LoopState = field(default_factory=LoopState)
    best_weights: dict[str, Any] | None = None
    stop_reason: str | None = None
    progress: Any = None
    bar: Any = None


class MetricsLog:
    """Append-only JSONL log of training events (also what background jobs read for progress)."""

    def __init__(self, run_dir: str | Path | None, enabled: bool = True):
        self.path = Path(run_dir).expanduser() / LOG_NAME if run_dir is not None and enabled else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **values: Any) -> dict[str, Any]:
        record = {"event": event, "time": round(time.time(), 3), **values}
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, default=float) + "\n")
        return record


@contextlib.contextmanager
def distributed_context(device: str = "auto"):
    """Initialise torch.distributed when launched by torchrun (WORLD_SIZE > 1); yields (rank, world, device)."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield 0, 1, pick_device(device)
        return
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    use_cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    try:
        yield rank, world, chosen
    finally:
        if owns_group:
            dist.barrier()
            dist.destroy_process_group()


class _EpochSampler:
    """Deterministic per-epoch shuffle, sharded across ranks, able to skip batches already done."""

    def __init__(self, size: int, shuffle: bool, seed: int, rank: int, world: int, batch_size: int):
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world, self.batch_size = rank, world, batch_size
        self.epoch, self.skip_batches = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip_batches = epoch, skip_batches

    def _per_rank(self) -> int:
        """Examples each rank takes this epoch: a last batch of one is dropped (a different example each shuffled
        epoch), since batch norm cannot train on one example ('Expected more than 1 value per channel')."""
        per_rank = math.ceil(self.size / self.world)
        return per_rank - 1 if self.batch_size > 1 and per_rank > 1 and per_rank % self.batch_size == 1 else per_rank

    def _indices(self) -> list[int]:
        import torch

        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            indices = torch.randperm(self.size, generator=generator).tolist()
        else:
            indices = list(range(self.size))
        per_rank = math.ceil(self.size / self.world)
        indices += indices[: per_rank * self.world - len(indices)]  # pad so every rank has equal work
        return indices[self.rank::self.world][: self._per_rank()]

    def __iter__(self):
        return iter(self._indices()[self.skip_batches * self.batch_size:])

    def __len__(self) -> int:
        return max(0, self._per_rank() - self.skip_batches * self.batch_size)

    def batches_per_epoch(self) -> int:
        return math.ceil(self._per_rank() / self.batch_size)


def _default_loss(model, batch):
    import torch.nn.functional as F

    if isinstance(batch, dict):
        output = model(**batch)
        return output["loss"] if isinstance(output, dict) else output.loss
    inputs, targets = batch
    return F.cross_entropy(model(inputs), targets)


def _batch_examples(batch: Any) -> int:
    """How many examples a collated batch holds (the first tensor's length; a list of texts' length); 1 when unknown.

    >>> import torch; _batch_examples((torch.zeros(3, 2), torch.zeros(3))), _batch_examples({"text": ["a", "b"]})
    (3, 2)
    """
    import torch

    while True:
        if isinstance(batch, torch.Tensor):
            return int(batch.shape[0]) if batch.ndim else 1
        if isinstance(batch, dict) and batch:
            batch = next(iter(batch.values()))
        elif isinstance(batch, (list, tuple)) and batch:
            if not isinstance(batch[0], (torch.Tensor, dict, list, tuple)):
                return len(batch)
            batch = batch[0]
        else:
            return 1


class _SeededItems:
    """The training data as worker processes read it: each example's random draws (augmentation through `random`,
    numpy or torch) are seeded by (seed, epoch, index), so they depend neither on which worker reads the example nor
    on where a resumed epoch starts (a worker's own random state cannot be checkpointed)."""

    def __init__(self, data: Any, seed: int):
        self.data, self.seed, self.epoch = data, seed, 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> Any:
        import numpy as np
        import torch

        value = int(np.random.SeedSequence([self.seed, self.epoch, int(index)]).generate_state(1)[0])
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)
        return self.data[index]


def _rng_state() -> dict[str, Any]:
    import numpy as np
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],  # random.gauss's cached second value (None or a float)
        "numpy": [int(k) for k in keys] + [int(pos), int(has_gauss)],
        "numpy_cached": float(cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np
    import torch

    random.setstate((state["python_version"], tuple(state["python"]), state.get("python_gauss")))
    numbers = state["numpy"]
    np.random.set_state(("MT19937", np.array(numbers[:-2], dtype=np.uint32), numbers[-2], numbers[-1], state["numpy_cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Train a torch `model` on a map-style dataset.

    `loss_fn(model, batch) -> scalar tensor` (default: `model(**batch).loss` for dict batches,
    cross-entropy of `model(x)` against `y` for `(x, y)` batches). `eval_fn(model) -> {metric: value}`
    runs on validation (default: mean loss over `val_data`, as `val_loss`).

    >>> import torch
    >>> data = [(torch.randn(4), torch.tensor(i % 2)) for i in range(16)]
    >>> model = torch.nn.Linear(4, 2)
    >>> result = Trainer(model, data, config=TrainConfig(epochs=1, batch_size=8, progress_bar=False)).fit()
    >>> result.steps
    2
    """

    def __init__(self, model, train_data, *, config: TrainConfig | None = None, loss_fn: Callable | None = None,
                 val_data=None, eval_fn: Callable | None = None, collate_fn: Callable | None = None,
                 optimizer_factory: Callable | None = None, run_dir: str | Path | None = None,
                 callbacks: Iterable[Callable[[dict[str, Any]], None]] = (), device: str = "auto"):
        self.model = model
        self.train_data = train_data
        self.config = config or TrainConfig()
        self.loss_fn = loss_fn or _default_loss
        self.val_data = val_data
        self.eval_fn = eval_fn
        self.collate_fn = collate_fn
        self.optimizer_factory = optimizer_factory
        self.run_dir = Path(run_dir).expanduser() if run_dir is not None else None
        self.callbacks = list(callbacks)
        self.device = device

    # -- pieces ---------------------------------------------------------------------------------------
    def _optimizer(self, model):
        import torch

        if self.optimizer_factory is not None:
            return self.optimizer_factory(model)
        decay, no_decay = [], []
        for name, parameter in model.named_parameters():
            if parameter.requires_grad:
                (no_decay if parameter.ndim < 2 or name.endswith(".bias") else decay).append(parameter)
        groups = [{"params": decay, "weight_decay": self.config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=self.config.lr)

    def _schedule(self, optimizer, total_steps: int):
        import torch

        warmup = int(self.config.warmup_ratio * total_steps)
        floor = self.config.min_lr_ratio

        def factor(step: int) -> float:
            if warmup and step < warmup:
                return (step + 1) / warmup
            progress = (step - warmup) / max(1, total_steps - warmup)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _validate(self, model) -> dict[str, float]:
        import torch

        if self.eval_fn is not None:
            was_training = model.training
            model.eval()
            with torch.inference_mode():
                metrics = dict(self.eval_fn(model))
            model.train(was_training)
            return {k: float(v) for k, v in metrics.items()}
        if self.val_data is None:
            return {}
        loader = torch.utils.data.DataLoader(self.val_data, batch_size=self.config.batch_size, shuffle=False,
                                             collate_fn=self.collate_fn)
        model.eval()
        total, count = 0.0, 0
        with torch.inference_mode(), self._autocast():
            for batch in loader:  # each batch's mean loss weighted by its examples: a short last batch counts as its size
                examples = _batch_examples(batch)
                total += float(self.loss_fn(model, to_device(batch, self._device))) * examples
                count += examples
        model.train()
        return {"val_loss": total / max(1, count)}

    def _autocast(self):
        import torch

        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self._device.type, dtype=self._amp_dtype)

    def _improved(self, value: float, best: float | None) -> bool:
        if not math.isfinite(value):  # a NaN / inf validation (e.g. an fp16 overflow) is never the best so far
            return False
        if best is None:
            return True
        return value < best if self.config.monitor_mode == "min" else value > best

    def _emit(self, log: MetricsLog, event: str, **values: Any) -> None:
        record = log.write(event, **values) if self._rank == 0 else {"event": event, **values}
        for callback in self.callbacks:
            callback(record)

    # -- checkpoints -----------------------------------------------------------------------------------
    def _save_checkpoint(self, state: dict[str, Any]) -> None:
        import io

        import torch

        if self.run_dir is None or self._rank != 0:
            return
        buffer = io.BytesIO()
        torch.save(state, buffer)
        data = buffer.getvalue()
        # Two files cannot be replaced in one step: the metadata goes first, naming the new checkpoint's hash and the
        # one it replaces, so an interruption between the two renames leaves a pair that still verifies.
        previous = None
        with contextlib.suppress(OSError, json.JSONDecodeError, AttributeError):
            previous = json.loads((self.run_dir / CHECKPOINT_META).read_text()).get("sha256")
        meta = {"sha256": hash_bytes(data), "previous_sha256": previous, "step": state["global_step"],
                "epoch": state["epoch"], "config": config_to_dict(self.config), "examples": len(self.train_data)}
        atomic_write_text(self.run_dir / CHECKPOINT_META, json.dumps(meta, indent=2))
        atomic_write_bytes(self.run_dir / CHECKPOINT_NAME, data)

    def _load_checkpoint(self) -> dict[str, Any] | None:
        import io

        import torch

        if self.run_dir is None or not (self.run_dir / CHECKPOINT_NAME).is_file():
            return None
        data = (self.run_dir / CHECKPOINT_NAME).read_bytes()
        try:
            meta = json.loads((self.run_dir / CHECKPOINT_META).read_text())
            if not isinstance(meta, dict):
                raise json.JSONDecodeError("not an object", "", 0)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise self._damaged(CHECKPOINT_META, "missing or corrupt") from error
        if hash_bytes(data) not in {meta.get("sha256"), meta.get("previous_sha256")} - {None}:
            raise self._damaged(CHECKPOINT_NAME, "it does not match its recorded hash")
        self._check_same_run(meta)
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as error:  # hashed, yet unreadable: written by another torch, or not a checkpoint at all
            raise self._damaged(CHECKPOINT_NAME, f"unreadable: {error}") from error

    def _damaged(self, name: str, why: str) -> UnsafeArtifactError:
        """A run file `--resume` cannot use (truncated, edited, replaced): what to do instead, nothing touched."""
        return UnsafeArtifactError(f"cannot resume: {self.run_dir / name} is damaged ({why}). Start over: train without "
                                   f"--resume with a new --run-dir, or delete {self.run_dir} first (nothing was changed)")

    def _load_best(self, model, load_file) -> dict[str, Any]:
        """The best weights kept in the run folder, checked to be whole and to fit `model`."""
        path = self.run_dir / BEST_NAME
        try:
            weights = load_file(str(path))
        except Exception as error:  # safetensors raises its own types for a truncated or garbled file
            raise self._damaged(BEST_NAME, f"not a whole safetensors file: {error}") from error
        expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
        if {name: tuple(value.shape) for name, value in weights.items()} != expected:
            raise self._damaged(BEST_NAME, "its weights do not fit this model")
        return weights

    def _check_same_run(self, meta: dict[str, Any]) -> None:
        """Resume only the checkpoint this training made: its recorded config (seed included) and number of training
        examples must be this run's, else `InputError` naming what differs (another training's checkpoint)."""
        recorded, now = meta.get("config") or {}, config_to_dict(self.config)
        differences = [f"{name}: {json.dumps(recorded[name])} then, {json.dumps(now[name])} now"
                       for name in sorted(set(recorded) & set(now)) if recorded[name] != now[name]]  # fields added later: unknown
        if meta.get("examples") is not None and meta["examples"] != len(self.train_data):
            differences.append(f"training examples: {meta['examples']} then, {len(self.train_data)} now")
        if differences:
            raise InputError(f"--resume refused: the checkpoint in {self.run_dir} was made by another training "
                             f"({'; '.join(differences)}). Resume with the data and settings it used, or train without "
                             "--resume in a new --run-dir (nothing was changed)")

    # -- the loop --------------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> TrainResult:
        """Train; with `resume=True` continue from the checkpoint in `run_dir` (same final weights)."""
        import torch
        from safetensors.torch import load_file

        config = self.config
        unset = [name for name in ("epochs", "batch_size", "lr") if getattr(config, name) is None]
        if unset:  # None means "the task chooses": a task's fit fills these before it builds a Trainer
            example = ", ".join(f"{name}={ {'epochs': 3, 'batch_size': 32, 'lr': 0.001}[name]}" for name in unset)
            raise InputError(f"{', '.join(unset)} {'are' if len(unset) > 1 else 'is'} not set (none): give "
                             f"{'values' if len(unset) > 1 else 'a value'}, e.g. --set {' --set '.join(example.split(', '))} "
                             f"on the command line or TrainConfig({example}) in Python (none is only for the settings a "
                             "task plans itself)")
        if config.grad_accum_steps < 1 or config.batch_size < 1 or config.epochs < 1:
            raise InputError("batch_size, epochs and grad_accum_steps must be >= 1")
        if len(self.train_data) == 0:
            raise InputError("no training examples; check the data path and format")
        seed_everything(config.seed)
        with distributed_context(self.device) as (rank, world, device):
            self._rank, self._device = rank, device
            self._amp_dtype = {"auto": autocast_dtype(device), "bf16": torch.bfloat16, "fp16": torch.float16, "off": None}.get(config.amp, "?")
            if self._amp_dtype == "?":
                raise InputError(f"amp must be auto, bf16, fp16 or off, got {config.amp!r}")
            return self._fit(resume, rank, world, device, load_file)

    def _fit(self, resume, rank, world, device, load_file) -> TrainResult:
        run = self._setup(rank, world, device)
        self._restore(run, resume, load_file)
        self._emit(run.log, "start", total_steps=run.total_steps, epochs=self.config.epochs,
                   examples=len(self.train_data), world_size=world)
        self._start_progress(run)
        try:
            while run.stop_reason is None:
                self._advance_epoch(run)
            if self.config.checkpoint_every_steps:
                self._save_checkpoint(self._snapshot(run))
        except BaseException:  # Ctrl-C, SIGTERM, a failure: the log says when this run stopped and where it was, so
            with contextlib.suppress(Exception):  # a resumed card counts its seconds (core.jobs._logged_runs)
                run.log.write("interrupted", step=run.state.global_step, epoch=run.state.epoch)
            raise
        finally:
            if run.progress is not None:
                run.progress.stop()
        return self._finish(run)

    # -- the loop's parts (Lightning's fit loop: setup, advance, done, finish) ---------------------------------
    def _setup(self, rank: int, world: int, device) -> "_FitRun":
        import torch

        config = self.config
        model = self.model.to(device)
        model.train()
        sampler = _EpochSampler(len(self.train_data), True, config.seed, rank, world, config.batch_size)
        items = _SeededItems(self.train_data, config.seed) if config.num_workers > 0 else self.train_data
        loader = torch.utils.data.DataLoader(
            items, batch_size=config.batch_size, sampler=sampler, collate_fn=self.collate_fn,
            num_workers=config.num_workers, generator=torch.Generator().manual_seed(config.seed),
            pin_memory=device.type == "cuda")
        batches_per_epoch = sampler.batches_per_epoch()
        total_steps = math.ceil(batches_per_epoch / config.grad_accum_steps) * config.epochs
        if config.max_steps is not None:
            total_steps = min(total_steps, config.max_steps)
        wrapped = model
        if world > 1:
            wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if config.compile:
            wrapped = torch.compile(wrapped)
        optimizer = self._optimizer(model)
        return _FitRun(
            model=model, wrapped=wrapped, loader=loader, sampler=sampler, optimizer=optimizer,
            scheduler=self._schedule(optimizer, total_steps),
            scaler=torch.amp.GradScaler(device.type, enabled=self._amp_dtype == torch.float16 and device.type == "cuda"),
            log=MetricsLog(self.run_dir, enabled=rank == 0), device=device, rank=rank, world=world,
            batches_per_epoch=batches_per_epoch, total_steps=total_steps,
            running_loss=torch.zeros((), device=device), started=time.time())

    def _restore(self, run: "_FitRun", resume: bool, load_file) -> None:
        """Continue from the checkpoint (weights, optimizer, schedule, RNG and loop counters) when resuming."""
        checkpoint = self._load_checkpoint() if resume else None
        if checkpoint is not None:
            if (self.run_dir / BEST_NAME).is_file():  # checked before anything is restored or logged
                run.best_weights = self._load_best(run.model, load_file)
            run.model.load_state_dict(checkpoint["model"])
            run.optimizer.load_state_dict(checkpoint["optimizer"])
            run.scheduler.load_state_dict(checkpoint["scheduler"])
            run.scaler.load_state_dict(checkpoint["scaler"])
            run.state = LoopState.from_checkpoint(checkpoint)
            _set_rng_state(checkpoint["rng"])
            self._emit(run.log, "resume", step=run.state.global_step, epoch=run.state.epoch)
        elif resume and run.rank == 0 and self.run_dir is not None:
            self._emit(run.log, "resume", step=0, epoch=0, note="no checkpoint found; starting from scratch")
        run.stop_reason = self._done(run)

    def _done(self, run: "_FitRun") -> str | None:
        """Why training stops now (None: it goes on): the step budget, early stopping, or the last epoch."""
        if run.state.stopped_early:
            return "early_stopping"
        if run.state.global_step >= run.total_steps:  # the step budget: max_steps, or the epochs' own steps
            capped = self.config.max_steps is not None and run.state.global_step >= self.config.max_steps
            return "max_steps" if capped else "epochs"
        if run.state.epoch >= self.config.epochs:
            return "epochs"
        return None

    def _advance_epoch(self, run: "_FitRun") -> None:
        """Run the rest of the current epoch (after a resume, from the batch where it stopped)."""
        state = run.state
        run.sampler.set_epoch(state.epoch, state.batches_done)
        if isinstance(run.loader.dataset, _SeededItems):  # read by the workers this epoch's iteration starts
            run.loader.dataset.epoch = state.epoch
        micro = state.batches_done
        for batch in run.loader:
            micro += 1
            boundary = micro % self.config.grad_accum_steps == 0 or micro == run.batches_per_epoch
            self._backward(run, batch, synchronise=boundary)
            if not boundary:
                continue
            self._optimizer_step(run)
            state.global_step += 1
            state.batches_done = micro
            if self._on_step_end(run):
                break
            self._emit_step(state.global_step)
        if micro >= run.batches_per_epoch:
            self._on_epoch_end(run)
        run.stop_reason = run.stop_reason or self._done(run)

    def _backward(self, run: "_FitRun", batch, synchronise: bool) -> None:
        sync = contextlib.nullcontext() if synchronise or run.world == 1 else run.wrapped.no_sync()
        with sync:
            with self._autocast():
                loss = self.loss_fn(run.wrapped, to_device(batch, run.device))
            run.scaler.scale(loss / self.config.grad_accum_steps).backward()
        run.running_loss += loss.detach()
        run.running_count += 1

    def _optimizer_step(self, run: "_FitRun") -> None:
        import torch

        if self.config.max_grad_norm:
            run.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), self.config.max_grad_norm)
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)

    def _on_step_end(self, run: "_FitRun") -> bool:
        """Progress, loss log, step-wise evaluation and checkpoint; True when training must stop now."""
        config, step = self.config, run.state.global_step
        if run.progress is not None:
            run.progress.update(run.bar, advance=1)
        if step % config.log_every_steps == 0 or step == run.total_steps:
            mean_loss = float(run.running_loss) / max(1, run.running_count)
            if not math.isfinite(mean_loss):
                raise InputError("training loss became NaN/inf; lower the learning rate or check the data for NaN values")
            self._emit(run.log, "step", step=step, epoch=run.state.epoch, loss=mean_loss,
                       lr=run.scheduler.get_last_lr()[0], total_steps=run.total_steps)
            run.running_loss.zero_()
            run.running_count = 0
        if config.eval_every_steps and step % config.eval_every_steps == 0 and self._evaluate(run):
            run.state.stopped_early = True
        if config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0:
            self._save_checkpoint(self._snapshot(run))
        run.stop_reason = self._done(run) if step >= run.total_steps or run.state.stopped_early else None
        return run.stop_reason is not None

    def _on_epoch_end(self, run: "_FitRun") -> None:
        state = run.state
        state.epoch += 1
        state.batches_done = 0
        if not self.config.eval_every_steps and not state.stopped_early and self._evaluate(run):
            state.stopped_early = True
        self._emit(run.log, "epoch", epoch=state.epoch, step=state.global_step, total_steps=run.total_steps)
        if not self.config.checkpoint_every_steps:
            self._save_checkpoint(self._snapshot(run))

    def _evaluate(self, run: "_FitRun") -> bool:
        """Validate, keep the best weights; True when early stopping's patience has run out."""
        config, state = self.config, run.state
        metrics = self._validate(run.model)
        if not metrics:
            return False
        if config.monitor not in metrics:
            raise InputError(f"monitor {config.monitor!r} is not among validation metrics {sorted(metrics)}")
        record = {"step": state.global_step, "epoch": state.epoch, **metrics}
        state.history.append(record)
        if not math.isfinite(metrics[config.monitor]) and run.rank == 0:  # said, not silently counted as no progress
            warnings.warn(f"validation {config.monitor} is {metrics[config.monitor]} at step {state.global_step} (after "
                          f"{state.epoch} epoch(s)): not counted as an improvement"
                          + (f", and {config.patience + 1} evaluations in a row without one stop training early"
                             if config.patience is not None else "")
                          + "; check the validation data and the learning rate (or --set amp=off if fp16 overflowed)",
                          stacklevel=2)
        if self._improved(metrics[config.monitor], state.best):
            state.best, state.best_step, state.bad_evals = metrics[config.monitor], state.global_step, 0
            run.best_weights = {k: v.detach().clone().cpu() for k, v in run.model.state_dict().items()}
            if self.run_dir is not None and run.rank == 0:  # atomically: a kill mid-write leaves the previous best whole
                save_tensors(self.run_dir / BEST_NAME, run.best_weights)
        else:
            state.bad_evals += 1
        self._emit(run.log, "eval", **record, best=state.best, total_steps=run.total_steps)
        return config.patience is not None and state.bad_evals > config.patience

    def _snapshot(self, run: "_FitRun") -> dict[str, Any]:
        return {"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(), "scaler": run.scaler.state_dict(), "rng": _rng_state(),
                **copy.deepcopy(dataclasses.asdict(run.state))}

    def _start_progress(self, run: "_FitRun") -> None:
        if self.config.progress_bar and run.rank == 0 and sys.stderr.isatty():
            from rich.progress import Progress

            run.progress = Progress(transient=True)
            run.progress.start()
            run.bar = run.progress.add_task("training", total=run.total_steps, completed=run.state.global_step)

    def _finish(self, run: "_FitRun") -> TrainResult:
        """Load the best weights (when validation chose them) and report how and why training ended."""
        state = run.state
        if run.best_weights is not None:
            run.model.load_state_dict({k: v.to(run.device) for k, v in run.best_weights.items()})
        run.model.eval()
        result = TrainResult(steps=state.global_step, epochs_completed=state.epoch, best_metric=state.best,
                             best_step=state.best_step, stopped_early=state.stopped_early, history=state.history,
                             seconds=time.time() - run.started, stop_reason=run.stop_reason)
        self._emit(run.log, "end", step=result.steps, best=result.best_metric, stopped_early=result.stopped_early,
                   stop_reason=result.stop_reason, seconds=round(result.seconds, 3), total_steps=run.total_steps)
        return result

    def _emit_step(self, step: int) -> None:
        """Per-step hook for callbacks that need every step (e.g. fault injection, cancellation)."""
        if self.callbacks:
            for callback in self.callbacks:
                callback({"event": "tick", "step": step})
