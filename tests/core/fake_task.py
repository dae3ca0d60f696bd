"""A tiny task for lifecycle tests: trains in milliseconds, saves through core.artifacts like every real task."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from core.artifacts import read_card, save_model_dir
from core.errors import InputError
from core.protocols import TaskModel


class CounterModel(TaskModel):
    """Predicts the mean of the training column `y`."""

    task = "demo.counter"

    @dataclasses.dataclass(frozen=True)
    class Config:
        learning_rate: float = 0.1
        epochs: int = 1

    def __init__(self, mean: float = 0.0):
        self.mean_ = mean

    @classmethod
    def load(cls, source=None, device: str = "auto") -> "CounterModel":
        if source is None:
            return cls()
        read_card(source, task=cls.task)
        return cls(json.loads((Path(source) / "weights.json").read_text())["mean"])

    @classmethod
    def read_data(cls, path, **options: Any):
        import polars as pl

        frame = pl.read_csv(path)
        if "y" not in frame.columns:
            raise InputError(f"{path} has no column 'y'")
        return frame

    @classmethod
    def read_inputs(cls, path, **options: Any) -> list[str]:
        return Path(path).read_text().splitlines()

    def evaluate(self, data) -> dict[str, Any]:
        return {"task": self.task, "model": "counter", "n": data.height, "metrics": {}}

    def fit(self, data, config=None, *, run_dir=None, resume=False, callbacks=()) -> "CounterModel":
        self.mean_ = float(data["y"].mean())
        return self

    def predict(self, inputs, batch_size=None):
        return [{"id": i, "value": self.mean_} for i, _ in enumerate(inputs)]

    def save(self, path) -> Path:
        def write(tmp: Path) -> None:
            (tmp / "weights.json").write_text(json.dumps({"mean": self.mean_}))

        return save_model_dir(path, {"task": self.task, "metrics": {"mean": self.mean_}}, write)
