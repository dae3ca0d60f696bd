"""Frozen dataclass configs: YAML files and `--set key=value` only override known fields."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from core.errors import InputError

__all__ = ["TaskConfig", "SYNONYMS", "canonical_key", "resolve_config", "parse_assignments", "coerce_value", "config_to_dict", "config_from_dict", "check_range", "FIELD_RANGES"]


def parse_assignments(pairs: list[str] | None, flag: str = "--set") -> dict[str, str]:
    """Parse `key=value` strings (given with `flag`, named in the error).

    >>> parse_assignments(["lr=0.1", "epochs=2"])
    {'lr': '0.1', 'epochs': '2'}
    >>> parse_assignments(["calendar=NYSE", "calendar=ECB"], "--option")
    Traceback (most recent call last):
    core.errors.InputError: --option calendar is given twice ('NYSE' and 'ECB'); give it once
    """
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{flag} expects key=value, got {pair!r}")
        if key.strip() in result and not same_setting(result[key.strip()], value.strip()):  # the last one used to win
            raise InputError(f"{flag} {key.strip()} is given twice ({result[key.strip()]!r} and {value.strip()!r}); "
                             "give it once")
        result[key.strip()] = value.strip()
    return result


def same_setting(first: Any, second: Any) -> bool:
    """Whether two spellings of a setting are one value: the same text, a true/false word in another case, or the
    same number written two ways (0.1 and 0.10, 1e-4 and 0.0001). Other text differing in case is two values (column
    names, labels and paths are case-sensitive).

    >>> same_setting("0.1", "0.10"), same_setting("1e-4", "0.0001"), same_setting("True", "true"), same_setting("Text", "text")
    (True, True, True, False)
    """
    first, second = str(first).strip(), str(second).strip()
    if first == second or (first.lower() == second.lower() and first.lower() in {"true", "false", "none", "null"}):
        return True
    try:
        return float(first) == float(second)
    except (TypeError, ValueError):
        return False


def coerce_value(name: str, annotation: Any, value: Any, what: str | None = None) -> Any:
    """`value` (text from YAML, `--set` or `--option`) as `annotation` says; `what` names it in errors (default: the
    config field)."""
    what = what or f"config field {name!r}"
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "bool": bool, "str": str}.get(annotation.split("|")[0].strip(), Any)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in {"none", "null"}):
            return None
        for option in options:
            try:
                return coerce_value(name, option, value, what)
            except InputError:
                continue
        raise InputError(f"{what}: cannot use {value!r}")
    if origin in (tuple, list):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{what} expects a list, got {value!r}")
        args = typing.get_args(annotation)
        inner = args[0] if args else Any
        items = [coerce_value(name, inner, v, what) for v in value]
        return tuple(items) if origin is tuple else items
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"1", "true", "yes", "on"}:
            return True
        if str(value).lower() in {"0", "false", "no", "off"}:
            return False
        raise InputError(f"{what} expects true or false, got {value!r}")
    if annotation in (int, float):
        try:
            number = annotation(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or (annotation is int and isinstance(value, float) and not value.is_integer()):
            raise InputError(f"{what} expects {'a whole number' if annotation is int else 'a number'}, got {value!r}")
        return number
    if annotation is str:
        return str(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# Allowed ranges of config fields, by name, for every task's config: (low, high, low_inclusive, high_inclusive).
# One table, so `--set learning_rate=-1` or `num_leaves=0` is refused with the same words whichever task takes it.
_INF = float("inf")
_POSITIVE = (0.0, _INF, False, False)
_AT_LEAST_1 = (1, _INF, True, False)
_AT_LEAST_0 = (0, _INF, True, False)
_FRACTION = (0.0, 1.0, True, False)  # 0 allowed (e.g. no validation split), 1 is not
_PROBABILITY = (0.0, 1.0, True, True)
FIELD_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    **dict.fromkeys(("lr", "encoder_lr"), _AT_LEAST_0),  # torch optimisers: 0 freezes the weights (used to check them)
    **dict.fromkeys(("learning_rate", "lgbm_learning_rate", "scorecard_c", "pdo",
                     "max_audio_seconds", "max_grad_norm", "time_budget_seconds", "budget_seconds"), _POSITIVE),
    **dict.fromkeys(("epochs", "batch_size", "max_steps", "max_length", "ffn_dim", "d_model", "num_heads", "num_layers",
                     "layers", "vocab_size", "top_k", "num_beams", "n_mels", "image_size", "patch_size", "lags", "window",
                     "season_length", "max_rounds", "lgbm_estimators", "n_estimators", "num_threads", "samples_per_epoch",
                     "max_train_points", "max_fit_points", "test_size", "stride", "selection_size", "refit_every",
                     "grad_accum_steps", "log_every_steps", "kernel_size", "scale_window", "min_child_samples",
                     "lgbm_min_child_samples", "eval_every_steps", "checkpoint_every_steps", "horizon",
                     "gbm_trials"), _AT_LEAST_1),
    **dict.fromkeys(("num_leaves", "lgbm_leaves"), (2, _INF, True, False)),
    # cv_folds < 2: one hold-out split; cv_repeats 0: chosen by data size
    **dict.fromkeys(("seed", "weight_decay", "patience", "num_workers", "cv_folds", "cv_repeats", "time_mask_width", "spec_augment_masks",
                     "num_res_units", "scorecard_min_bin_events"), _AT_LEAST_0),
    **dict.fromkeys(("validation_fraction", "val_fraction", "label_smoothing", "dropout", "overlap", "warmup_ratio",
                     "scorecard_cat_cutoff"), _FRACTION),
    **dict.fromkeys(("threshold", "min_lr_ratio"), _PROBABILITY),  # min_lr_ratio 1.0: a constant learning rate
}


def check_range(name: str, value: Any) -> None:
    """Raise `InputError` naming the field and its range when `value` is outside `FIELD_RANGES[name]`.

    >>> check_range("learning_rate", -1.0)
    Traceback (most recent call last):
    core.errors.InputError: config field 'learning_rate' must be > 0, got -1.0
    >>> check_range("validation_fraction", 1.5)
    Traceback (most recent call last):
    core.errors.InputError: config field 'validation_fraction' must be >= 0 and < 1, got 1.5
    """
    bounds = FIELD_RANGES.get(name)
    if bounds is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, low_inclusive, high_inclusive = bounds
    below = value < low if low_inclusive else value <= low
    above = value > high if high_inclusive else value >= high
    if below or above or value != value:  # NaN is out of every range
        parts = [f"{'>=' if low_inclusive else '>'} {low:g}"]
        if high != _INF:
            parts.append(f"{'<=' if high_inclusive else '<'} {high:g}")
        raise InputError(f"config field {name!r} must be {' and '.join(parts)}, got {value!r}")


# Other spellings of a field, as users and older cards write them: `--set val_fraction=0.2` reaches the field that
# the task has (`validation_fraction`), and one key works for every task. Each group's first name is the spelling.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("validation_fraction", "val_fraction"),
    ("class_weight", "class_weights", "class_weighting"),
    ("lr", "learning_rate"),
)
_CLASS_WEIGHT_FLAGS = {True: "balanced", False: "none"}  # the old `class_weights: bool` spelling


def canonical_key(cls: type, key: str) -> str:
    """The field of `cls` that `key` names: itself, or its synonym that `cls` declares (`SYNONYMS`).

    >>> @dataclasses.dataclass(frozen=True)
    ... class C:
    ...     validation_fraction: float = 0.1
    >>> canonical_key(C, "val_fraction"), canonical_key(C, "epochs")
    ('validation_fraction', 'epochs')
    """
    fields = {f.name for f in dataclasses.fields(cls)}
    if key in fields:
        return key
    for group in SYNONYMS:
        if key in group:
            return next((name for name in group if name in fields), key)
    return key


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Base of every task's config: each field's value is checked against `FIELD_RANGES` when the config is built,
    so a bad value is an `InputError` naming the field and its range, from Python as from the CLI.

    A subclass changes an inherited field's default through `defaults` instead of declaring the field again, so a
    field has one declaration, one spelling and one range for every task:

    >>> @dataclasses.dataclass(frozen=True)
    ... class C(TaskConfig):
    ...     defaults = {"seed": 7}
    ...     num_leaves: int = 31
    >>> C().seed, [f.name for f in dataclasses.fields(C)]
    (7, ['seed', 'num_leaves'])
    >>> C(num_leaves=0)
    Traceback (most recent call last):
    core.errors.InputError: config field 'num_leaves' must be >= 2, got 0
    """

    seed: int = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        changes = cls.__dict__.get("defaults") or {}
        if not changes:
            return
        inherited = {f.name: f for base in reversed(cls.__mro__[1:]) if dataclasses.is_dataclass(base)
                     for f in dataclasses.fields(base)}
        if "__annotations__" not in cls.__dict__:
            cls.__annotations__ = {}
        own = cls.__dict__["__annotations__"]
        for name, value in changes.items():
            if name not in inherited:
                raise TypeError(f"{cls.__name__}.defaults names {name!r}, which no base config declares")
            if name in own:
                raise TypeError(f"{cls.__name__} declares {name!r} again; change its default in `defaults` only")
            own[name] = inherited[name].type  # the dataclass then keeps the field where the base put it
            setattr(cls, name, value)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check_range(field.name, getattr(self, field.name))


def resolve_config(cls: type, base: Any = None, yaml_path: str | Path | None = None, overrides: dict[str, Any] | None = None):
    """Build a frozen config of type `cls` from defaults (or `base`), a YAML file and overrides.

    Unknown keys are an error; values are converted to the field's type.

    >>> @dataclasses.dataclass(frozen=True)
    ... class C:
    ...     lr: float = 0.1
    ...     epochs: int = 1
    >>> resolve_config(C, overrides={"epochs": "3"})
    C(lr=0.1, epochs=3)
    >>> resolve_config(C, overrides={"lr_typo": "1"})
    Traceback (most recent call last):
    core.errors.InputError: unknown config key 'lr_typo' for C; known keys: lr, epochs
    """
    config = base if base is not None else cls()
    values: dict[str, Any] = {}
    if yaml_path is not None:
        import yaml

        try:
            text = Path(yaml_path).read_text(encoding="utf-8")
            alias = next((e for e in yaml.parse(text, Loader=yaml.SafeLoader) if isinstance(e, yaml.AliasEvent)), None)
            if alias is not None:  # nested aliases multiply into billions of values (a 346-byte file hung train)
                raise InputError(f"config {yaml_path} uses a YAML alias (*{alias.anchor}) at line "
                                 f"{alias.start_mark.line + 1}: a config is read without anchors and aliases; write "
                                 "the values out")
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:  # one line: what is wrong and where, not the parser's multi-line dump
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise InputError(f"config {yaml_path} is not valid YAML{where}: {problem}; write one `field: value` per "
                             "line") from error
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"cannot read config {yaml_path}: {error}") from error
        if not isinstance(loaded, dict):
            raise InputError(f"config {yaml_path} must be a mapping of field: value")
        values.update(_one_spelling(cls, loaded, f"config {yaml_path}"))
    values.update(_one_spelling(cls, overrides or {}, "--set"))  # overrides win over the YAML file
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls) if values else {}
    changes = {}
    for key, value in values.items():
        if key not in fields:
            raise InputError(f"unknown config key {key!r} for {cls.__name__}; known keys: {', '.join(fields)}")
        changes[key] = coerce_value(key, hints.get(key, fields[key].type), value)
        check_range(key, changes[key])
    return dataclasses.replace(config, **changes)


def _one_spelling(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """`values` by canonical field name; a field given twice under two spellings (`lr` and `learning_rate`) with
    different values is refused, as one key given twice is (`parse_assignments`).

    >>> @dataclasses.dataclass(frozen=True)
    ... class C:
    ...     lr: float = 0.1
    >>> _one_spelling(C, {"lr": "0.1", "learning_rate": "0.2"}, "--set")
    Traceback (most recent call last):
    core.errors.InputError: --set gives lr twice, as learning_rate='0.2' and lr='0.1'; give it once
    """
    found: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in values.items():
        name, value = _canonical(cls, key, value)
        if name in found and not same_setting(found[name], value):
            raise InputError(f"{where} gives {name} twice, as {key}={value!r} and {spelled[name]}={found[name]!r}; "
                             "give it once")
        found[name], spelled[name] = value, key
    return found


def config_from_dict(cls: type, values: dict[str, Any] | None):
    """A `cls` config from a saved model card's `config` dict: keys `cls` does not know (written by another
    version) are skipped; values are converted to the field's type (a JSON list becomes a tuple field's tuple).

    >>> @dataclasses.dataclass(frozen=True)
    ... class C:
    ...     sizes: tuple[int, ...] = (8,)
    ...     lr: float = 0.1
    >>> config_from_dict(C, {"sizes": [4, 8], "retired_option": 1})
    C(sizes=(4, 8), lr=0.1)
    """
    known = {f.name for f in dataclasses.fields(cls)}
    canonical = dict(_canonical(cls, k, v) for k, v in (values or {}).items())
    return resolve_config(cls, overrides={k: v for k, v in canonical.items() if k in known})


def _canonical(cls: type, key: str, value: Any) -> tuple[str, Any]:
    name = canonical_key(cls, key)
    if name == "class_weight" and (isinstance(value, bool) or str(value).lower() in {"true", "false"}):
        value = _CLASS_WEIGHT_FLAGS[value if isinstance(value, bool) else str(value).lower() == "true"]
    return name, value


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a dataclass config (None stays None).

    >>> @dataclasses.dataclass(frozen=True)
    ... class C:
    ...     lr: float = 0.1
    >>> config_to_dict(C())
    {'lr': 0.1}
    """
    if config is None:
        return {}
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))
