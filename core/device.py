"""Device choice, autocast dtype, seeding, threads, memory report and an OOM-safe batch-size finder."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

from core.errors import InputError

__all__ = ["pick_device", "autocast_dtype", "seed_everything", "set_threads", "memory_report", "find_batch_size", "to_device", "is_oom"]


def pick_device(device: str = "auto"):
    """`"auto"` -> cuda if available, else mps, else cpu; anything else is validated and returned.

    >>> pick_device("cpu").type
    'cpu'
    """
    import torch

    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InputError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for but no CUDA GPU is available; use device='auto' or 'cpu'")
    return chosen


def autocast_dtype(device) -> Any:
    """The best mixed-precision dtype for `device`: bf16 on CUDA that supports it, else fp16; None on CPU.

    On CPU we return None: bf16 autocast there is usually slower than fp32 for the small models we train.

    >>> autocast_dtype(pick_device("cpu")) is None
    True
    """
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed python, numpy and torch (all devices); optionally ask torch for deterministic kernels.

    >>> seed_everything(1); import torch; a = torch.rand(1); seed_everything(1); bool(torch.rand(1) == a)
    True
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (default: `$VERTICALS_THREADS` or the number of cores); returns it.

    >>> set_threads(1)
    1
    """
    import torch

    if threads is None:
        threads = int(os.environ.get("VERTICALS_THREADS", 0)) or (os.cpu_count() or 1)
    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()


def memory_report(device=None) -> dict[str, float]:
    """Process RSS and, on CUDA, allocated / reserved / peak memory, in MiB.

    >>> "rss_mib" in memory_report()
    True
    """
    import torch

    report: dict[str, float] = {}
    try:
        import resource

        report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # not on Windows
        pass
    try:
        with open("/proc/self/statm") as handle:
            report["rss_mib"] = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        report["rss_mib"] = report.get("peak_rss_mib", 0.0)
    device = torch.device(device) if device is not None else None
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        report["cuda_allocated_mib"] = torch.cuda.memory_allocated() / 2**20
        report["cuda_reserved_mib"] = torch.cuda.memory_reserved() / 2**20
        report["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return report


def is_oom(error: BaseException) -> bool:
    """True when `error` is an out-of-memory error from torch (CUDA, MPS or CPU allocator)."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def find_batch_size(run: Callable[[int], Any], start: int = 256, minimum: int = 1) -> int:
    """Largest batch size <= `start` for which `run(batch_size)` does not run out of memory (halving on OOM).

    >>> def run(n):
    ...     if n > 40: raise RuntimeError("CUDA out of memory")
    >>> find_batch_size(run, start=256)
    32
    """
    import gc

    import torch

    batch_size = start
    while batch_size >= minimum:
        try:
            run(batch_size)
            return batch_size
        except Exception as error:
            if not is_oom(error):
                raise
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            batch_size //= 2
    raise InputError(f"even batch size {minimum} runs out of memory; use a smaller model or input size")


def to_device(batch: Any, device, non_blocking: bool = True) -> Any:
    """Move tensors inside nested dicts/lists/tuples to `device`; other values pass through.

    >>> import torch; to_device({"x": [torch.zeros(1)]}, "cpu")["x"][0].device.type
    'cpu'
    """
    if hasattr(batch, "to") and callable(batch.to) and type(batch).__module__.startswith("torch"):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {key: to_device(value, device, non_blocking) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(value, device, non_blocking) for value in batch]
        return type(batch)(moved) if not hasattr(batch, "_fields") else type(batch)(*moved)
    if hasattr(batch, "to") and hasattr(batch, "keys"):  # transformers BatchEncoding
        return batch.to(device)
    return batch
