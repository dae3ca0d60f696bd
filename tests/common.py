"""What each domain gives the cross-task contract test (tests/test_contract.py).

Each domain's `tests/<domain>/contract_cases.py` defines `CASES = {"task.name": factory}`, where
`factory(tmp_path) -> ContractCase` builds a tiny offline model and data in the test itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ContractCase:
    model: Any  # a tiny task model, ready to predict
    predict_inputs: list[Any]  # two or more valid inputs for predict()
    fit_data: Any  # labelled data accepted by fit()
    fit_config: Any  # a config that makes fit() run about one step
    eval_data: Any  # labelled data accepted by evaluate()
    bad_inputs: list[Any] = field(default_factory=list)  # each must make predict() raise InputError
    bad_fit_data: list[Any] = field(default_factory=list)  # each must make fit() raise InputError
    deterministic: bool = True  # predictions identical after save/load
