"""Step-time ratio of core.train.Trainer vs a plain PyTorch loop doing the same work (same model, data, optimizer,
schedule and clipping), measured in one process, alternating rounds. Goal: <= 1.05 on CPU.

Run: .venv/bin/python bench/trainer_overhead.py
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.train import TrainConfig, Trainer, _EpochSampler  # noqa: E402

EXAMPLES, FEATURES, HIDDEN, BATCH, EPOCHS, ROUNDS = 4096, 256, 512, 64, 2, 5


def build():
    torch.manual_seed(0)
    x = torch.randn(EXAMPLES, FEATURES)
    y = (x[:, :8].sum(1) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, HIDDEN),
                                torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 2))
    return model, torch.utils.data.TensorDataset(x, y)


def plain_loop(model, data, config: TrainConfig) -> float:
    """A hand-written loop with the same optimizer, warmup+cosine schedule and clipping."""
    sampler = _EpochSampler(len(data), True, 0, 0, 1, config.batch_size)
    loader = torch.utils.data.DataLoader(data, batch_size=config.batch_size, sampler=sampler)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    total = math.ceil(len(data) / config.batch_size) * config.epochs
    warmup = int(config.warmup_ratio * total)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup))))
    model.train()
    start = time.perf_counter()
    for epoch in range(config.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def trainer_loop(model, data, config: TrainConfig) -> float:
    start = time.perf_counter()
    Trainer(model, data, config=config, device="cpu").fit()
    return time.perf_counter() - start


def main() -> dict:
    torch.set_num_threads(1)
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, lr=1e-3, patience=None, progress_bar=False, log_every_steps=50)
    steps = math.ceil(EXAMPLES / BATCH) * EPOCHS
    plain, ours = [], []
    for round_ in range(ROUNDS + 1):
        for name, fn, times in (("plain", plain_loop, plain), ("trainer", trainer_loop, ours)):
            model, data = build()
            seconds = fn(model, data, config)
            if round_:  # the first round warms up allocator and caches
                times.append(seconds / steps)
    result = {
        "benchmark": "trainer_overhead",
        "device": "cpu", "threads": 1, "steps_per_run": steps, "rounds": ROUNDS,
        "plain_step_ms": 1000 * statistics.median(plain),
        "trainer_step_ms": 1000 * statistics.median(ours),
    }
    result["ratio"] = result["trainer_step_ms"] / result["plain_step_ms"]
    result["goal"] = "<= 1.05"
    result["met"] = result["ratio"] <= 1.05
    out = Path(__file__).parent / "results" / "trainer_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
