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


FILE_TASKS = {"medical.classification": ".png", "medical.segmentation": ".png", "speech.recognition": ".wav",
              "vision.classification": ".png", "vision.detection": ".png"}


@pytest.mark.parametrize("task", sorted(FILE_TASKS))
def test_a_corrupt_file_among_others_is_an_error_record_in_its_place(task, tmp_path):
    """Python `predict([...])` raised for the whole list on one truncated photo or recording; the CLI gave an error
    record in its place. Both now do; a list where every file fails still raises."""
    import numpy as np

    case = CASES[task](tmp_path)
    good, bad = tmp_path / f"good{FILE_TASKS[task]}", tmp_path / f"bad{FILE_TASKS[task]}"
    if FILE_TASKS[task] == ".wav":
        import soundfile as sf

        sf.write(good, (0.1 * np.sin(np.arange(16000) / 8)).astype(np.float32), 16000)
    else:
        from PIL import Image

        Image.fromarray((np.random.default_rng(0).random((48, 48, 3)) * 255).astype(np.uint8)).save(good)
    bad.write_bytes(good.read_bytes()[:60])
    records = case.model.predict([good, bad])
    assert len(records) == 2 and "error" not in records[0] and records[0]["path"] == str(good)
    assert records[1]["path"] == str(bad) and "bad" in records[1]["error"]
    with pytest.raises(InputError):
        case.model.predict([bad, bad])
