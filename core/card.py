"""The one model-card schema (like timm's PretrainedCfg): what travels with every saved model, validated on save and load."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from core.errors import UnsafeArtifactError

__all__ = ["ModelCard", "Training", "normalise_card", "validate_card", "card_data_hash", "compare_cards", "trained_on"]

FORMAT_VERSION = 2  # 2: the card carries card_sha256, its own digest (core.artifacts.card_digest)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Older cards kept the training-data hash at the top level under these names; they now live in training.data_hash.
_LEGACY_HASH_KEYS = ("training_data_hash", "data_hash")


@dataclasses.dataclass(frozen=True)
class Training:
    """How a model was trained: read by the CLI, jobs, the registry page and resume checks."""

    data_hash: str | None = None  # SHA-256 of the training data (file bytes or table rows)
    rows: int | None = None  # training examples
    seconds: float | None = None  # wall time of the fit
    config: dict[str, Any] = dataclasses.field(default_factory=dict)  # the resolved config
    base_model: str | None = None  # what training started from (None: the task's own start)


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Typed view of `card.json`. Task-specific fields (label maps, preprocessing extras) stay in `extra`.

    >>> card = ModelCard.from_dict({"task": "demo", "files": {}, "training_data_hash": "ab", "metrics": {"auc": 0.9}})
    >>> card.training.data_hash, card.metrics["auc"]
    ('ab', {'value': 0.9, 'ci95': None})
    >>> ModelCard.from_dict({"files": {}})
    Traceback (most recent call last):
    core.errors.UnsafeArtifactError: card.json: required field 'task' is missing; the model folder is incomplete or was not written by save()
    """

    task: str
    files: dict[str, str]
    format_version: int = FORMAT_VERSION
    created: str | None = None
    name: str | None = None
    source: str | None = None
    licence: str | None = None
    description: str | None = None
    training: Training = dataclasses.field(default_factory=Training)
    metrics: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    preprocessing: dict[str, Any] = dataclasses.field(default_factory=dict)
    plots: dict[str, Any] = dataclasses.field(default_factory=dict)
    library_versions: dict[str, str] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, card: dict[str, Any], where: str = "card.json") -> "ModelCard":
        """Validate and type a card dict (legacy layouts normalised first); `UnsafeArtifactError` names the bad field."""
        card = normalise_card(card)
        validate_card(card, where)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "training"}
        training_fields = {f.name for f in dataclasses.fields(Training)}
        training = card.get("training") or {}
        return cls(
            **{k: v for k, v in card.items() if k in known},
            training=Training(**{k: v for k, v in training.items() if k in training_fields}),
            extra={**{k: v for k, v in card.items() if k not in known and k != "training"},
                   **({"training_extra": {k: v for k, v in training.items() if k not in training_fields}}
                      if set(training) - training_fields else {})},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout of `card.json` (task-specific fields back at the top level)."""
        extra = dict(self.extra)
        training = {**extra.pop("training_extra", {}), **dataclasses.asdict(self.training)}
        body = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in {"extra", "training"}}
        return {**extra, **body, "training": training}


def normalise_card(card: dict[str, Any]) -> dict[str, Any]:
    """One layout for every task: the data hash under `training.data_hash`, metrics as `{value, ci95}`.

    >>> normalise_card({"task": "t", "data_hash": "x", "metrics": {"acc": 0.5}})
    {'task': 't', 'metrics': {'acc': {'value': 0.5, 'ci95': None}}, 'training': {'data_hash': 'x'}}
    """
    if not isinstance(card, dict):
        raise UnsafeArtifactError("card.json must hold a JSON object; the model folder is corrupted")
    card = dict(card)
    training = dict(card.get("training") or {}) if isinstance(card.get("training", {}), dict) else card.get("training")
    legacy = [card.pop(key) for key in _LEGACY_HASH_KEYS if key in card]
    if isinstance(training, dict):
        if not training.get("data_hash"):
            found = next((value for value in legacy if value), None)
            if found is not None or "data_hash" not in training:
                training["data_hash"] = found
        card["training"] = training
    metrics = card.get("metrics")
    if isinstance(metrics, dict):
        card["metrics"] = {name: entry if isinstance(entry, dict) and "value" in entry else {"value": entry, "ci95": None}
                           for name, entry in metrics.items()}
    return card


def _fail(where: str, message: str) -> None:
    raise UnsafeArtifactError(f"{where}: {message}")


def validate_card(card: dict[str, Any], where: str = "card.json") -> dict[str, Any]:
    """Check a (normalised) card against the schema; returns it, or raises `UnsafeArtifactError` naming the field."""
    for key in ("task", "files"):
        if key not in card:
            _fail(where, f"required field {key!r} is missing; the model folder is incomplete or was not written by save()")
    if not isinstance(card["task"], str) or not card["task"]:
        _fail(where, "field 'task' must be a task name such as 'finance.risk'")
    files = card["files"]
    if not isinstance(files, dict):
        _fail(where, "field 'files' must map each file name to its sha256")
    for name, digest in files.items():
        if not isinstance(name, str) or not isinstance(digest, str) or not _SHA256.match(digest):
            _fail(where, f"file entry {name!r} must map a name to a 64-hex sha256")
    typed = {"format_version": int, "metrics": dict, "preprocessing": dict, "plots": dict, "library_versions": dict,
             "training": dict}
    for key, kind in typed.items():
        if key in card and card[key] is not None and not isinstance(card[key], kind):
            _fail(where, f"field {key!r} must be a {kind.__name__}")
    if "card_sha256" in card and not (isinstance(card["card_sha256"], str) and _SHA256.match(card["card_sha256"])):
        _fail(where, "field 'card_sha256' must be the card's 64-hex sha256")
    if card.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        _fail(where, f"format_version {card['format_version']} is newer than this Verticals reads ({FORMAT_VERSION}); upgrade")
    for name, entry in (card.get("metrics") or {}).items():
        if not isinstance(entry, dict) or "value" not in entry:
            _fail(where, f"metric {name!r} must be {{'value': ..., 'ci95': ...}}")
    training = card.get("training") or {}
    if training.get("data_hash") is not None and not isinstance(training["data_hash"], str):
        _fail(where, "training.data_hash must be a string")
    return card


def card_data_hash(card: dict[str, Any]) -> str | None:
    """The training-data hash of a card, whatever layout wrote it.

    >>> card_data_hash({"task": "t", "training_data_hash": "ab"})
    'ab'
    """
    return (normalise_card(card).get("training") or {}).get("data_hash")


def compare_cards(shipped: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any]:
    """What differs between a shipped default's card and a rebuilt one: quality figures side by side (`metrics`
    values and `measured_quality`), and whether the weights are the same files.

    >>> compare_cards({"measured_quality": {"auc": 0.8}, "files": {"h": "1"}}, {"measured_quality": {"auc": 0.79}, "files": {"h": "2"}})
    {'measured_quality': {'auc': {'shipped': 0.8, 'rebuilt': 0.79}}, 'same_weights': False}
    >>> compare_cards({"metrics": {"dice": {"value": 0.7}}}, {"metrics": {"dice": 0.7}})["measured_quality"]
    {'dice': {'shipped': 0.7, 'rebuilt': 0.7}}
    """
    def quality(card: dict[str, Any]) -> dict[str, Any]:
        metrics = normalise_card({"metrics": card.get("metrics") or {}})["metrics"]
        return {**{name: entry.get("value") for name, entry in metrics.items()}, **card.get("measured_quality", {})}

    before, after = quality(shipped), quality(rebuilt)
    return {"measured_quality": {name: {"shipped": before.get(name), "rebuilt": after.get(name)}
                                 for name in sorted(set(before) | set(after))},
            "same_weights": shipped.get("files") == rebuilt.get("files")}


def trained_on(trained: int, validated: int, separate: bool, what: str, others: str) -> str:
    """A card's `trained_on` for user data: the `trained` examples fit trained on and the `validated` ones it measured
    on, held out of the data or given apart (`separate`) as validation data, never trained on. `what` names the
    examples, `others` the validation ones.

    >>> trained_on(72, 8, False, "user-supplied labelled texts", "texts")
    '72 user-supplied labelled texts (of 80 given; the other 8 were held out for validation, not trained on)'
    >>> trained_on(80, 20, True, "user-supplied labelled texts", "texts")
    '80 user-supplied labelled texts (and 20 other texts given for validation, not trained on)'
    """
    if not validated:
        return f"{trained} {what} (all of them; none held out for validation)"
    if separate:
        return f"{trained} {what} (and {validated} other {others} given for validation, not trained on)"
    return (f"{trained} {what} (of {trained + validated} given; the other {validated} were held out for validation, "
            "not trained on)")
