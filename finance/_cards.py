"""The error a finance model raises when its saved card.json fails that model's own checks (risk and forecast), and
the record beside the weights those checks compare the card with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import UnsafeArtifactError


def damaged_card(folder: str | Path, what: str) -> UnsafeArtifactError:
    """`UnsafeArtifactError` naming the card field that fails (`what` says how), and what to do about it.

    >>> str(damaged_card(Path("m"), "scale pdo 0 must be a finite number above 0"))
    "m: card.json's scale pdo 0 must be a finite number above 0. The card was edited or is damaged; re-save the model from its training run"
    """
    return UnsafeArtifactError(f"{folder}: card.json's {what}. The card was edited or is damaged; re-save the model "
                               "from its training run")


def recorded_beside(folder: str | Path, card: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The JSON object `save` wrote as `name` beside the weights (hashed with them: what they were fitted with), which
    the card's copy must match; None for a folder saved before that file was written.

    >>> recorded_beside(Path("m"), {"files": {"model.txt": "..."}}, "encoding.json") is None
    True
    """
    if name not in (card.get("files") or {}):
        return None
    try:
        recorded = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise damaged_card(folder, f"{name} is unreadable ({error})") from error
    if not isinstance(recorded, dict):
        raise damaged_card(folder, f"{name} holds no JSON object")
    return recorded
