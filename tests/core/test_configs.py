"""One TaskConfig base for every task: no field declared twice, one spelling per field, ranges checked by name."""

from __future__ import annotations

import dataclasses

import pytest

from core.config import SYNONYMS, TaskConfig, config_from_dict, resolve_config
from core.errors import InputError
from core.registry import list_tasks, task_class
from core.train import TrainConfig

TORCH_TASKS = {"nlp.sentiment", "nlp.qa", "nlp.translation", "vision.classification", "vision.detection",
               "speech.recognition", "medical.classification", "medical.segmentation", "finance.forecast"}


def _configs():
    return {task: task_class(task).Config for task in list_tasks()}


def test_every_task_config_extends_the_one_base():
    configs = _configs()
    assert set(configs) == set(list_tasks())
    for task, config in configs.items():
        assert issubclass(config, TaskConfig), task
        assert issubclass(config, TrainConfig) == (task in TORCH_TASKS), task


def test_no_task_config_declares_a_base_field_again():
    """A task changes an inherited default through `defaults`; it never declares the field again."""
    for task, config in _configs().items():
        inherited = {f.name for base in config.__mro__[1:] if dataclasses.is_dataclass(base) for f in dataclasses.fields(base)}
        own = set(config.__dict__.get("__annotations__", {})) - set(config.__dict__.get("defaults", {}))
        assert not own & inherited, f"{task} declares {sorted(own & inherited)} again"


def test_one_spelling_per_field_across_tasks():
    spelled = {name for config in _configs().values() for name in (f.name for f in dataclasses.fields(config))}
    for group in SYNONYMS:
        # the old spellings are gone from every config (lr vs learning_rate: LightGBM's own name stays in risk)
        others = set(group[1:]) - {"learning_rate"}
        assert not spelled & others, f"old spellings still declared: {sorted(spelled & others)}"


@pytest.mark.parametrize("task", ["vision.classification", "medical.segmentation", "nlp.sentiment", "finance.risk"])
def test_old_validation_spelling_reaches_the_field(task):
    config = resolve_config(task_class(task).Config, overrides={"val_fraction": "0.3"})
    assert config.validation_fraction == 0.3


def test_class_weight_spellings_and_old_cards():
    vision = task_class("vision.classification").Config
    assert resolve_config(vision, overrides={"class_weights": "false"}).class_weight == "none"
    assert config_from_dict(vision, {"class_weights": True, "val_fraction": 0.25}).validation_fraction == 0.25
    medical = task_class("medical.classification").Config
    assert resolve_config(medical, overrides={"class_weighting": "none"}).class_weight == "none"
    risk = task_class("finance.risk").Config
    assert resolve_config(risk, overrides={"class_weight": "balanced"}).class_weight == "balanced"


def test_lr_spellings_work_for_every_task():
    assert resolve_config(task_class("finance.risk").Config, overrides={"lr": "0.02"}).learning_rate == 0.02
    assert resolve_config(task_class("nlp.qa").Config, overrides={"learning_rate": "0.002"}).lr == 0.002


@pytest.mark.parametrize("task", sorted(list_tasks()))
def test_ranges_are_checked_for_every_task(task):
    config = task_class(task).Config
    with pytest.raises(InputError, match="'validation_fraction' must be >= 0 and < 1"):
        resolve_config(config, overrides={"val_fraction": "1.5"})
    with pytest.raises(InputError, match="'seed' must be >= 0"):
        config(seed=-1)


def test_defaults_cannot_name_an_unknown_field():
    with pytest.raises(TypeError, match="no base config declares"):
        @dataclasses.dataclass(frozen=True)
        class Broken(TrainConfig):
            defaults = {"epochz": 3}


def test_trainer_config_carries_every_shared_field():
    config = task_class("nlp.qa").Config(grad_accum_steps=4)
    assert config.trainer_config().grad_accum_steps == 4 and type(config.trainer_config()) is TrainConfig


def test_a_bad_yaml_config_is_one_line_naming_where(tmp_path):
    """The parser's multi-line dump reached the user; the README promises a one-line reason."""
    from finance.risk import RiskScorer

    config = tmp_path / "cfg.yaml"
    config.write_text("max_rounds: 20\nfamily: [gbm\n")
    with pytest.raises(InputError) as refused:
        resolve_config(RiskScorer.Config, yaml_path=config)
    said = str(refused.value)
    assert "\n" not in said and "is not valid YAML at line" in said


def test_a_yaml_config_with_aliases_is_refused_before_they_multiply(tmp_path):
    """A 346-byte config of nested anchors under a known key ("billion laughs") hung `train` in value conversion."""
    from finance.risk import RiskScorer

    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]"
                                                    for a, b in zip("abcdefgh", "bcdefghi")]
    config = tmp_path / "laughs.yaml"
    config.write_text("\n".join(rows) + "\ndrop: *i\n")
    with pytest.raises(InputError, match=r"uses a YAML alias \(\*a\) at line 2"):
        resolve_config(RiskScorer.Config, yaml_path=config)
    (tmp_path / "plain.yaml").write_text("family: logistic\n")
    assert resolve_config(RiskScorer.Config, yaml_path=tmp_path / "plain.yaml").family == "logistic"


def test_a_field_given_under_two_spellings_with_two_values_is_refused(tmp_path):
    config = task_class("nlp.qa").Config
    with pytest.raises(InputError, match="lr twice"):
        resolve_config(config, overrides={"lr": "0.1", "learning_rate": "0.2"})
    with pytest.raises(InputError, match="validation_fraction twice"):
        resolve_config(config, overrides={"validation_fraction": "0.1", "val_fraction": "0.4"})
    assert resolve_config(config, overrides={"lr": "0.1", "learning_rate": "0.1"}).lr == 0.1  # the same value: fine
    yaml = tmp_path / "c.yaml"
    yaml.write_text("lr: 0.3\n")
    assert resolve_config(config, yaml_path=yaml, overrides={"learning_rate": "0.2"}).lr == 0.2  # --set wins over YAML
