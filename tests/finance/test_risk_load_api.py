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


def test_load_then_save_keeps_the_cards_whole_training_record(tmp_path):
    """Load + save (the README's way to seal an old card) writes the card's training record back whole, as
    `verticals train` completed it (config, base_model, its own seconds...)."""
    import json

    from core.artifacts import write_card
    from tests.finance.contract_cases import tiny_config

    saved = RiskScorer().fit(synthetic_applicants(200, seed=3), config=tiny_config()).save(tmp_path / "m")
    card = json.loads((saved / "card.json").read_text())
    record = {**card["training"], "seconds": 61.5, "config": {"seed": 0, "family": "gbm"}, "base_model": "models/older",
              "resumed": {"interrupted_runs": 1, "from_step": 2, "seconds_before": 30.0, "seconds_this_run": 31.5}}
    write_card(saved, {**card, "training": record})
    resaved = json.loads((risk.load(saved).save(tmp_path / "resaved") / "card.json").read_text())
    assert resaved["training"] == record
