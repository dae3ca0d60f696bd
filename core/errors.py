"""Typed errors shared by every task: what went wrong and how to fix it."""

from __future__ import annotations

import errno

__all__ = ["VerticalsError", "InputError", "ModelNotFoundError", "NotFittedError", "UnsafeArtifactError",
           "MissingDependencyError", "StorageError", "write_error"]


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


class StorageError(VerticalsError):
    """The machine refused a write (a full disk, a read-only file system, no permission, an I/O error): the
    environment failed, not the user's input, so the CLI exits 1 (an `InputError` exits 2)."""


# a path that cannot name a file to write (its parent is a file, it is a folder, too long...): the user's input
_BAD_PATH = frozenset({errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.ENAMETOOLONG, errno.EEXIST, errno.EINVAL,
                       errno.ELOOP})


def write_error(message: str, error: OSError) -> VerticalsError:
    """The error to raise for `error`, an OSError from writing: `InputError` when the path given cannot name a file,
    `StorageError` when the machine refused the write (ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO...).

    >>> type(write_error("cannot write x", OSError(errno.ENOSPC, "No space left on device"))).__name__
    'StorageError'
    >>> type(write_error("cannot write x/y", OSError(errno.ENOTDIR, "Not a directory"))).__name__
    'InputError'
    """
    return InputError(message) if getattr(error, "errno", None) in _BAD_PATH else StorageError(message)


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
