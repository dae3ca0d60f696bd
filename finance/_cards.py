"""The error a finance model raises when its saved card.json fails that model's own checks (risk and forecast)."""

from __future__ import annotations

from pathlib import Path

from core.errors import UnsafeArtifactError


def damaged_card(folder: str | Path, what: str) -> UnsafeArtifactError:
    """`UnsafeArtifactError` naming the card field that fails (`what` says how), and what to do about it.

    >>> str(damaged_card(Path("m"), "scale pdo 0 must be a finite number above 0"))
    "m: card.json's scale pdo 0 must be a finite number above 0. The card was edited or is damaged; re-save the model from its training run"
    """
    return UnsafeArtifactError(f"{folder}: card.json's {what}. The card was edited or is damaged; re-save the model "
                               "from its training run")
