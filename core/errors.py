"""Typed errors shared by every task: what went wrong and how to fix it."""

from __future__ import annotations

__all__ = ["VerticalsError", "InputError", "ModelNotFoundError", "NotFittedError", "UnsafeArtifactError", "MissingDependencyError"]


class VerticalsError(Exception):
    """Base class of every error Verticals raises on purpose."""


class InputError(VerticalsError, ValueError):
    """The user's input (data, file, text, option) is invalid; the message says how to fix it.

    >>> raise InputError("column 'label' is missing; add it or pass --target")
    Traceback (most recent call last):
    core.errors.InputError: column 'label' is missing; add it or pass --target
    """


class ModelNotFoundError(InputError):
    """A model reference could not be resolved to the embedded default, a hub id or a local directory."""


class NotFittedError(VerticalsError, RuntimeError):
    """A model was asked to predict before it was fitted or loaded."""


class UnsafeArtifactError(InputError):
    """A model directory holds something we refuse to load (pickle, escaping symlink, bad hash)."""


class MissingDependencyError(VerticalsError, ImportError):
    """An optional dependency is not installed; the message names the extra or system package."""


def require(module: str, extra: str):
    """Import an optional dependency or raise `MissingDependencyError` naming the extra to install.

    >>> require("json", "core").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'verticals[{extra}]'"
        ) from error
