"""Faults: SIGKILL of a CLI training run at random points resumes to the same model; a failed save keeps the old one."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import core.artifacts
from core.errors import StorageError

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SETTINGS = ["epochs=5", "batch_size=2", "checkpoint_every_steps=1", "image_size=32", "augment=false",
                  "fine_tune_min_per_class=1",  # 6 images a class: fine-tune anyway (the probe alone has no steps to kill)
                  "patience=null", "seed=0"]
TOTAL_STEPS = 25  # 10 training images / batch 2 * 5 epochs


def _tiny_classifier():
    from vision.classification import ImageClassifier

    return ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def _train_command(data: Path, base: Path, out: Path, run: Path, resume: bool = False) -> list[str]:
    command = [sys.executable, "-m", "core.cli", "train", "vision.classification", "--data", str(data), "--model", str(base),
               "--out", str(out), "--run-dir", str(run), "--device", "cpu", "--json"]
    for setting in TRAIN_SETTINGS:
        command += ["--set", setting]
    return command + (["--resume"] if resume else [])


def _checkpoint_step(run: Path) -> int:
    try:
        return int(json.loads((run / "checkpoint.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _card_metrics(folder: Path) -> dict:
    card = json.loads((folder / "card.json").read_text())
    return {k: v for k, v in card.items() if k not in {"created"}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from tests.vision._fixtures import image_folder

    root = tmp_path_factory.mktemp("faults")
    data = image_folder(root / "data", per_class=6, size=(32, 32))
    base = root / "base"
    _tiny_classifier().save(base)  # a saved random init: every run starts from the same weights
    reference = root / "reference"
    done = subprocess.run(_train_command(data, base, reference, root / "reference.run"), cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return root, data, base, reference


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill9_then_resume_matches_uninterrupted_run(setup, seed):
    import torch

    root, data, base, reference = setup
    kill_after = random.Random(seed).randint(1, TOTAL_STEPS - 3)
    out, run = root / f"killed{seed}", root / f"killed{seed}.run"
    process = subprocess.Popen(_train_command(data, base, out, run), cwd=ROOT, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while process.poll() is None and _checkpoint_step(run) < kill_after and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    code = process.wait(timeout=60)
    assert code == -signal.SIGKILL, f"the run finished before the kill at step {kill_after}"
    killed_at = _checkpoint_step(run)
    assert 1 <= killed_at < TOTAL_STEPS
    assert not (out / "card.json").exists()  # no partial model was published

    resumed = subprocess.run(_train_command(data, base, out, run, resume=True), cwd=ROOT, env=_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["metrics"] == \
        json.loads((reference / "card.json").read_text())["metrics"]
    assert _card_metrics(out)["metrics"] == _card_metrics(reference)["metrics"]
    expected, got = _weights(reference), _weights(out)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), f"{name} differs after kill at step {killed_at} + resume"


# -- failed saves ------------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    model = _tiny_classifier()
    target = tmp_path / "out" / "model"
    model.save(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    return model, target, before


def _intact(target: Path, before: dict) -> None:
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    leftovers = [p.name for p in target.parent.iterdir() if p.name != target.name]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_full_disk_while_writing_weights_keeps_previous_model(saved, monkeypatch):
    from vision import classification

    model, target, before = saved

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(classification, "save_for_hf", full_disk, raising=False)
    monkeypatch.setattr("timm.models.save_for_hf", full_disk)
    with pytest.raises(StorageError, match="No space left"):
        model.save(target)
    _intact(target, before)


def test_full_disk_on_first_rename_keeps_previous_model(saved, monkeypatch):
    model, target, before = saved

    def failing_replace(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(core.artifacts.os, "replace", failing_replace)
    with pytest.raises(StorageError):
        model.save(target)
    monkeypatch.undo()
    _intact(target, before)


def test_failure_on_final_rename_keeps_previous_model(saved, monkeypatch):
    model, target, before = saved
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.endswith(".tmp"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(core.artifacts.os, "replace", replace)
    with pytest.raises(StorageError):
        model.save(target)
    monkeypatch.undo()
    _intact(target, before)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder_keeps_previous_model(saved):
    model, target, before = saved
    parent = target.parent
    parent.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="writable|could not save|cannot write"):
            model.save(target)
    finally:
        parent.chmod(0o755)
    _intact(target, before)
