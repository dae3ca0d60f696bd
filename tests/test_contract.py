"""One contract test over every task of the table (like scikit-learn's test_common)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from core import InputError, list_tasks
from core.card import ModelCard
from core.protocols import TaskModelProtocol

DOMAINS = sorted({task.split(".")[0] for task in list_tasks()})


def _cases():
    """Collect CASES from every tests/<domain>/contract_cases*.py."""
    cases = {}
    for domain in DOMAINS:
        for file in sorted((Path(__file__).parent / domain).glob("contract_cases*.py")):
            module = importlib.import_module(f"tests.{domain}.{file.stem}")
            cases.update(module.CASES)
    return cases


CASES = _cases()


def test_every_task_has_a_contract_case():
    missing = sorted(set(list_tasks()) - set(CASES))
    assert not missing, f"tasks without a contract case: {missing}"


@pytest.mark.parametrize("task", sorted(CASES))
def test_contract(task, tmp_path):
    case = CASES[task](tmp_path)
    model = case.model
    assert isinstance(model, TaskModelProtocol)
    assert model.task == task

    records = model.predict(case.predict_inputs)
    assert isinstance(records, list) and len(records) == len(case.predict_inputs)
    assert all(isinstance(r, dict) and r for r in records)
    json.dumps(records)  # plain, JSON-serialisable

    # fit as core.jobs calls it (run folder, resume flag, progress callbacks), for every task
    assert model.fit(case.fit_data, config=case.fit_config, run_dir=tmp_path / "run", resume=False, callbacks=[]) is model
    after_fit = model.predict(case.predict_inputs)
    assert len(after_fit) == len(case.predict_inputs)

    card = model.evaluate(case.eval_data)
    assert {"task", "model", "n", "metrics"} <= set(card) and card["task"] == task and card["n"] > 0
    for name, entry in card["metrics"].items():
        assert set(entry) >= {"value", "ci95"}, name
    json.dumps(card)

    saved = model.save(tmp_path / "saved")
    assert (saved / "card.json").is_file()
    saved_card = ModelCard.from_dict(json.loads((saved / "card.json").read_text()))  # the one schema, every task
    assert saved_card.task == task and saved_card.files and "data_hash" in json.loads((saved / "card.json").read_text())["training"]
    assert not [p for p in saved.rglob("*") if p.suffix in {".pkl", ".pickle", ".pt", ".pth", ".bin"}]
    reloaded = type(model).load(saved, device="cpu")
    again = reloaded.predict(case.predict_inputs)
    if case.deterministic:
        assert json.dumps(again, sort_keys=True) == json.dumps(after_fit, sort_keys=True)

    for bad in case.bad_inputs:
        with pytest.raises(InputError):
            model.predict(bad if isinstance(bad, list) else [bad])
    for bad in case.bad_fit_data:
        with pytest.raises(InputError):
            model.fit(bad, config=case.fit_config)
