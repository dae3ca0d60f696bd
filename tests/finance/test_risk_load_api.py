"""finance.risk.load takes `device` as every task's load does; RiskScorer.predict's docstring example runs."""

import inspect

from finance import risk
from finance.risk import RiskScorer
from tests.finance.contract_cases import synthetic_applicants


def test_load_takes_device_like_every_task(tmp_path):
    assert inspect.signature(risk.load).parameters["device"].default == "auto"
    config = RiskScorer.Config(family="logistic", cv_folds=2, cv_repeats=1)
    RiskScorer().fit(synthetic_applicants(200, seed=3), config=config).save(tmp_path / "m")
    model = risk.load(tmp_path / "m", device="cpu")
    assert isinstance(model, RiskScorer) and model.family_ is not None


def test_predict_docstring_example_is_run_not_skipped():
    # the example fits a tiny model in the docstring itself (the doctest run checks it); the default needs columns
    # an example row would have to list in full
    assert "+SKIP" not in RiskScorer.predict.__doc__
    assert "model.predict(" in RiskScorer.predict.__doc__
