"""`verticals train TASK ... --json` for every task of the table, through the one training path (core.jobs).

For each task: the contract case's tiny model is saved and used as the base (`--model`), its training data is
written to disk in the task's own format when the case holds it in memory, and its tiny config is passed as
`--set` overrides. The printed data hash must be non-null and be the saved card's `training.data_hash`; the saved
card must validate against the one `ModelCard` schema; the saved model must load and predict.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.card import ModelCard
from core.cli import main
from tests.test_contract import CASES

OPTIONS = {"finance.risk": ["--target", "default"]}  # a column the reader cannot guess


def _on_disk(data, folder: Path) -> Path:
    """The case's training data as the file or folder `verticals train --data` reads."""
    import polars as pl

    if isinstance(data, (str, Path)):
        return Path(data)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, pl.DataFrame):
        data.write_csv(folder / "train.csv")
        return folder / "train.csv"
    if isinstance(data, dict):
        (folder / "train.json").write_text(json.dumps(data), encoding="utf-8")
        return folder / "train.json"
    raise TypeError(f"no on-disk form for {type(data).__name__}")


def _overrides(config) -> list[str]:
    """`--set` pairs for every field of the case's tiny config that differs from the task's defaults."""
    if config is None:
        return []
    defaults = type(config)()
    pairs = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value != getattr(defaults, field.name):
            shown = json.dumps(list(value)) if isinstance(value, tuple) else "none" if value is None else value
            pairs += ["--set", f"{field.name}={shown}"]
    return pairs


@pytest.mark.parametrize("task", sorted(CASES))
def test_train_json_prints_the_cards_data_hash(task, tmp_path, capsys):
    import core

    case = CASES[task](tmp_path)
    base = case.model.save(tmp_path / "base")
    data = _on_disk(case.fit_data, tmp_path / "data")
    out = tmp_path / "trained"
    code = main(["train", task, "--data", str(data), "--model", str(base), "--out", str(out), "--json", "--device", "cpu",
                 *OPTIONS.get(task, []), *_overrides(case.fit_config)])
    printed = capsys.readouterr()
    assert code == 0, printed.err[-2000:]
    summary = json.loads(printed.out.strip().splitlines()[-1])
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    assert summary["data_hash"] and summary["data_hash"] == card["training"]["data_hash"]
    assert len(summary["data_hash"]) == 64  # a sha256, not a placeholder
    validated = ModelCard.from_dict(card)  # the one schema, every task
    assert validated.task == task and validated.files and card["training"]["rows"]
    records = core.load(task, out, device="cpu").predict(case.predict_inputs)
    assert len(records) == len(case.predict_inputs)
