"""Verticals core: the task table, the shared contract, training, evaluation, artifacts and data readers."""

from core.errors import InputError, ModelNotFoundError, NotFittedError, UnsafeArtifactError
from core.registry import TASKS, list_tasks, load

__all__ = ["TASKS", "list_tasks", "load", "InputError", "ModelNotFoundError", "NotFittedError", "UnsafeArtifactError"]
