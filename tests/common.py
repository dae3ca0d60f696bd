"""What each domain gives the cross-task contract test (tests/test_contract.py).

Each domain's `tests/<domain>/contract_cases.py` defines `CASES = {"task.name": factory}`, where
`factory(tmp_path) -> ContractCase` builds a tiny offline model and data in the test itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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


PRODUCT_PACKAGES = ("core", "nlp", "vision", "speech", "finance", "medical")


def run_usage(folder, **inputs):
    """Run a saved card's `usage` snippet in a fresh Python given `folder` and `inputs` (the names it reads); the
    `predictions` it leaves, after checking that it imported none of this product's packages."""
    import json
    import subprocess
    import sys

    usage = json.loads((Path(folder) / "card.json").read_text())["usage"]
    script = "\n".join(["import json, pathlib, sys", f"folder = {folder!r}".replace("PosixPath", "pathlib.Path"),
                        *(f"{name} = {value!r}" for name, value in inputs.items()), usage,
                        f"product = [m for m in sys.modules if m.split('.')[0] in {PRODUCT_PACKAGES!r}]",
                        "assert not product, product", "print(json.dumps(predictions))"])
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(folder).parent,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
