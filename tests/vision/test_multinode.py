"""`verticals train` under torchrun as two nodes (loopback, gloo, CPU) gives the same weights as two processes on one node."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["epochs=2", "batch_size=2", "lr=0.01", "patience=null", "augment=false", "progress_bar=false",
            "fine_tune_min_per_class=1"]  # a few images per class: fine-tune anyway (the default would keep the probe alone)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _coloured_images(root: Path, per_class: int = 8) -> Path:
    """Reddish "cat" and bluish "dog" images: a signal the probe and the fine-tuning can learn."""
    from PIL import Image

    for c, (name, colour) in enumerate([("cat", (200, 60, 60)), ("dog", (60, 60, 200))]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.array(colour) + np.random.default_rng(c * 100 + i).normal(0, 60, (24, 24, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def _launch(tmp_path: Path, out: str, nodes: int) -> None:
    """torchrun with world size 2: `nodes` invocations of 2 // nodes processes each, started together."""
    port = _free_port()
    train = ["-m", "core.cli", "train", "vision.classification", "--data", str(tmp_path / "images"), "--model",
             str(tmp_path / "base"), "--out", str(tmp_path / out), "--device", "cpu", "--json",
             *[a for s in SETTINGS for a in ("--set", s)]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "VERTICALS_KEEP_CHECKPOINTS": "1"}
    launches = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", f"--nnodes={nodes}", f"--node_rank={rank}",
                                  f"--nproc_per_node={2 // nodes}", "--master_addr=127.0.0.1", f"--master_port={port}", *train],
                                 cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for rank in range(nodes)]
    outputs = [launch.communicate(timeout=600) for launch in launches]
    for launch, (stdout, stderr) in zip(launches, outputs):
        assert launch.returncode == 0, stderr[-3000:]
    summaries = [json.loads(line) for stdout, _ in outputs for line in stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 2 and sum(bool(s["metrics"]) for s in summaries) == 1, summaries  # only rank 0 saves


@pytest.mark.slow  # two torchrun launches of 2 CPU processes: ~30 s each on a loaded 2-core machine
def test_two_nodes_give_the_weights_of_two_processes_on_one_node(tmp_path):
    import torch
    import torch.distributed as dist
    from safetensors.torch import load_file

    from core.artifacts import safe_torch_load
    from vision.classification import ImageClassifier

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available here")
    _coloured_images(tmp_path / "images")
    base = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    base.data_config = {**base.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    base.save(tmp_path / "base")  # a saved start counts as pretrained: the LP-FT recipe runs its probe first
    _launch(tmp_path, "one_node", nodes=1)
    _launch(tmp_path, "two_nodes", nodes=2)
    saved = [load_file(str(tmp_path / name / "model.safetensors")) for name in ("one_node", "two_nodes")]
    assert max(float((saved[0][k] - saved[1][k]).abs().max()) for k in saved[0]) <= 1e-5
    # the fine-tuned weights (the Trainer's last checkpoint, rank 0) match too, and did move away from the start
    tuned = [safe_torch_load(tmp_path / f".{name}.run" / "checkpoint.pt")["model"] for name in ("one_node", "two_nodes")]
    assert max(float((tuned[0][k].float() - tuned[1][k].float()).abs().max()) for k in tuned[0]) <= 1e-5
    start = load_file(str(tmp_path / "base" / "model.safetensors"))
    moved = max(float((tuned[0]["network." + k].float() - v.float()).abs().max()) for k, v in start.items()
                if "network." + k in tuned[0] and v.dtype == torch.float32)
    assert moved > 1e-3
    card = json.loads((tmp_path / "two_nodes" / "card.json").read_text())
    assert card["recipe"]["probe"] is not None and card["metrics"]["steps"]["value"] > 0
    assert ImageClassifier.load(tmp_path / "two_nodes", device="cpu").label_names == ["cat", "dog"]
