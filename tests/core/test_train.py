"""Trainer: learns, resumes after SIGKILL to the same weights, runs DDP with 2 CPU processes, validates config."""

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.errors import InputError, UnsafeArtifactError
from core.train import TrainConfig, Trainer

SCRIPT = Path(__file__).with_name("train_script.py")


def _toy(n=128, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x.sum(1) > 0).long()
    return list(zip(x, y))


def _mean_loss(model, data):
    x = torch.stack([d[0] for d in data])
    y = torch.stack([d[1] for d in data])
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(x), y))


def test_loss_goes_down_and_log_is_written(tmp_path):
    data = _toy()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    before = _mean_loss(model, data)
    result = Trainer(model, data, config=TrainConfig(epochs=5, batch_size=16, lr=0.1, progress_bar=False, log_every_steps=2),
                     val_data=data[:32], run_dir=tmp_path).fit()
    assert _mean_loss(model, data) < 0.6 * before
    assert result.steps == 5 * 8 and result.best_metric is not None and result.stop_reason == "epochs"
    events = [json.loads(line)["event"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert events[0] == "start" and events[-1] == "end" and "eval" in events and "step" in events


def test_early_stopping_restores_best(tmp_path):
    data = _toy()
    calls = iter([1.0, 0.5, 0.9, 0.95, 0.97, 0.99, 1.2, 1.3])
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    config = TrainConfig(epochs=8, batch_size=32, patience=1, progress_bar=False, monitor="score")
    result = Trainer(model, data, config=config, eval_fn=lambda m: {"score": next(calls)}).fit()
    assert result.stopped_early and result.best_metric == 0.5 and result.best_step == 8
    assert result.epochs_completed == 4 and result.stop_reason == "early_stopping"
    capped = Trainer(torch.nn.Linear(4, 2), data, config=TrainConfig(epochs=8, batch_size=32, max_steps=3, progress_bar=False)).fit()
    assert capped.steps == 3 and capped.stop_reason == "max_steps"


def test_gradient_accumulation_matches_large_batch():
    data = _toy(64)
    weights = []
    for batch, accumulate in ((32, 1), (16, 2)):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        config = TrainConfig(epochs=1, batch_size=batch, grad_accum_steps=accumulate, lr=0.1, max_grad_norm=None,
                             warmup_ratio=0, progress_bar=False)
        Trainer(model, data, config=config).fit()
        weights.append(model.weight.detach().clone())
    # The per-epoch permutation does not depend on the batch size, so 2 x 16 accumulated sees the same 32 examples.
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


def test_bad_config_and_empty_data():
    with pytest.raises(InputError):
        Trainer(torch.nn.Linear(4, 2), [], config=TrainConfig(progress_bar=False)).fit()
    with pytest.raises(InputError):
        Trainer(torch.nn.Linear(4, 2), _toy(8), config=TrainConfig(amp="fp8", progress_bar=False)).fit()


def _run(*args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env)


def test_resume_after_kill_gives_identical_weights(tmp_path):
    full = _run("--run-dir", str(tmp_path / "a"), "--out", str(tmp_path / "a"))
    assert full.returncode == 0, full.stderr
    killed = _run("--run-dir", str(tmp_path / "b"), "--out", str(tmp_path / "b"), "--kill-at", "7")
    assert killed.returncode != 0  # SIGKILL
    assert not (tmp_path / "b.rank0.safetensors").exists()
    resumed = _run("--run-dir", str(tmp_path / "b"), "--out", str(tmp_path / "b"), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_file(str(tmp_path / "a.rank0.safetensors")), load_file(str(tmp_path / "b.rank0.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    history_a = json.loads((tmp_path / "a.rank0.json").read_text())["history"]
    history_b = json.loads((tmp_path / "b.rank0.json").read_text())["history"]
    assert history_a == history_b


def test_corrupted_checkpoint_is_refused(tmp_path):
    assert _run("--run-dir", str(tmp_path / "c"), "--out", str(tmp_path / "c"), "--kill-at", "3").returncode != 0
    checkpoint = tmp_path / "c" / "checkpoint.pt"
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    sys.path.insert(0, str(SCRIPT.parent))
    import train_script

    model, train, val = train_script.build()
    trainer = Trainer(model, train, config=TrainConfig(epochs=1, batch_size=8, progress_bar=False), run_dir=tmp_path / "c")
    with pytest.raises(UnsafeArtifactError, match="hash"):
        trainer.fit(resume=True)


def test_interrupt_between_the_checkpoint_and_its_metadata_still_resumes(tmp_path, monkeypatch):
    """The metadata is replaced first: a Ctrl-C before the checkpoint's own rename leaves a pair that verifies."""
    import core.train as train_module

    config = TrainConfig(epochs=2, batch_size=16, lr=0.1, progress_bar=False, checkpoint_every_steps=3, warmup_ratio=0)
    torch.manual_seed(0)
    reference = torch.nn.Linear(4, 2)
    Trainer(reference, _toy(), config=config).fit()

    real_write, writes = train_module.atomic_write_bytes, []

    def interrupted(path, data):
        writes.append(path)
        if len(writes) == 2:  # the second checkpoint: its metadata is written, the checkpoint is not
            raise KeyboardInterrupt
        return real_write(path, data)

    monkeypatch.setattr(train_module, "atomic_write_bytes", interrupted)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, run_dir=tmp_path).fit()
    monkeypatch.setattr(train_module, "atomic_write_bytes", real_write)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 6  # ahead of checkpoint.pt (step 3)
    torch.manual_seed(1)  # resumed weights come from the checkpoint, not this init
    resumed = torch.nn.Linear(4, 2)
    Trainer(resumed, _toy(), config=config, run_dir=tmp_path).fit(resume=True)
    assert torch.equal(resumed.weight, reference.weight) and torch.equal(resumed.bias, reference.bias)


def test_ddp_two_cpu_processes(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(SCRIPT),
               "--run-dir", str(tmp_path / "ddp"), "--out", str(tmp_path / "ddp"), "--epochs", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = load_file(str(tmp_path / "ddp.rank0.safetensors")), load_file(str(tmp_path / "ddp.rank1.safetensors"))
    for key in rank0:
        assert torch.allclose(rank0[key], rank1[key]), key  # DDP keeps replicas in sync
    steps = json.loads((tmp_path / "ddp.rank0.json").read_text())["steps"]
    assert steps == 2 * 3  # 80 examples / 2 ranks / batch 8 = 5 batches -> 3 optimizer steps (accumulate 2) per epoch
    history = json.loads((tmp_path / "ddp.rank0.json").read_text())["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] + 1e-6


def _interrupted_at(step):
    def callback(record):
        if record.get("event") == "tick" and record["step"] == step:
            raise KeyboardInterrupt

    return callback


def test_resume_refuses_another_trainings_checkpoint(tmp_path):
    """Two trainings shared a run folder: one's --resume continued the other's checkpoint (other seed, other data)."""
    config = TrainConfig(epochs=2, batch_size=16, progress_bar=False, checkpoint_every_steps=2, seed=1)
    with pytest.raises(KeyboardInterrupt):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, run_dir=tmp_path, callbacks=[_interrupted_at(5)]).fit()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other_seed = TrainConfig(epochs=2, batch_size=16, progress_bar=False, checkpoint_every_steps=2, seed=2)
    with pytest.raises(InputError, match=r"made by another training \(seed: 1 then, 2 now\)"):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=other_seed, run_dir=tmp_path).fit(resume=True)
    with pytest.raises(InputError, match="training examples: 128 then, 96 now"):
        Trainer(torch.nn.Linear(4, 2), _toy(96), config=config, run_dir=tmp_path).fit(resume=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    result = Trainer(torch.nn.Linear(4, 2), _toy(), config=config, run_dir=tmp_path).fit(resume=True)
    assert result.steps == 16  # its own checkpoint still resumes


def _improving():
    scores = iter([1.0 / (i + 1) for i in range(100)])
    return lambda model: {"val_loss": next(scores)}


def test_best_weights_are_written_atomically(tmp_path, monkeypatch):
    """best.safetensors was written in place: a kill mid-write left a truncated file that --resume crashed on."""
    import os

    config = TrainConfig(epochs=1, batch_size=16, progress_bar=False, eval_every_steps=2, checkpoint_every_steps=2)
    real_fsync, writes = os.fsync, []

    def killed_while_writing_the_second_best(fd):
        if "best.safetensors" in os.readlink(f"/proc/self/fd/{fd}"):
            writes.append(fd)
            if len(writes) == 2:
                raise KeyboardInterrupt
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", killed_while_writing_the_second_best)
    with pytest.raises(KeyboardInterrupt):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, eval_fn=_improving(), run_dir=tmp_path).fit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors", "checkpoint.json", "checkpoint.pt",
                                                         "metrics.jsonl"]  # no half-written temp file left
    assert set(load_file(str(tmp_path / "best.safetensors"))) == {"weight", "bias"}  # the first best, whole


@pytest.mark.parametrize("damage", ["truncated", "other model", "hashed garbage"])
def test_damaged_run_files_make_resume_say_how_to_start_over(damage, tmp_path):
    from safetensors.torch import save_file

    config = TrainConfig(epochs=1, batch_size=16, progress_bar=False, eval_every_steps=2, checkpoint_every_steps=2)
    with pytest.raises(KeyboardInterrupt):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, eval_fn=_improving(), run_dir=tmp_path,
                callbacks=[_interrupted_at(5)]).fit()
    best, named = tmp_path / "best.safetensors", "best.safetensors"
    if damage == "truncated":  # as a kill while writing it in place left it
        best.write_bytes(best.read_bytes()[:100])
    elif damage == "other model":
        save_file({"weight": torch.zeros(3, 4), "bias": torch.zeros(3)}, str(best))
    else:  # a checkpoint.pt whose metadata names its hash, yet not a torch checkpoint
        from core.artifacts import hash_bytes

        named, garbage = "checkpoint.pt", b"not a checkpoint"
        meta = json.loads((tmp_path / "checkpoint.json").read_text())
        (tmp_path / "checkpoint.pt").write_bytes(garbage)
        (tmp_path / "checkpoint.json").write_text(json.dumps({**meta, "sha256": hash_bytes(garbage)}))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError) as refused:
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, eval_fn=_improving(), run_dir=tmp_path).fit(resume=True)
    said = str(refused.value)
    assert f"{tmp_path / named} is damaged" in said and "without --resume with a new --run-dir" in said
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # not even a log line


def test_an_interrupted_run_logs_when_it_stopped_and_the_resume_names_the_checkpoints_step(tmp_path):
    """A run stopped (Ctrl-C) before its first `step` log line left only `start` in the log: the resumed card said
    from_step None and seconds_before 0.0 though checkpoints had been kept. The run now logs `interrupted`, and the
    step a resume starts from is the kept checkpoint's."""
    import time

    from core.jobs import _logged_runs

    def slow_then_stopped(record):
        if record.get("event") == "tick":
            time.sleep(0.2)
            if record["step"] == 5:
                raise KeyboardInterrupt

    config = TrainConfig(epochs=3, batch_size=16, progress_bar=False, checkpoint_every_steps=2, log_every_steps=100)
    with pytest.raises(KeyboardInterrupt):
        Trainer(torch.nn.Linear(4, 2), _toy(), config=config, run_dir=tmp_path, callbacks=[slow_then_stopped]).fit()
    events = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "interrupted"] and events[-1]["step"] == 5
    earlier = _logged_runs(tmp_path)
    assert earlier["runs"] == 1 and earlier["last_step"] == 4 and earlier["seconds"] >= 0.8


def test_no_epoch_ends_on_a_batch_of_one_example():
    """14 images on 2 ranks at batch size 2 left each rank a last batch of one, and batch norm refused it ('Expected
    more than 1 value per channel when training'): that example is left out of the epoch (another each epoch)."""
    from core.train import _EpochSampler

    for size, world, batch, expected in ((14, 2, 2, 6), (15, 1, 2, 14), (16, 2, 2, 8), (9, 1, 4, 8), (1, 1, 2, 1)):
        sampler = _EpochSampler(size, True, 0, 0, world, batch)
        assert len(list(sampler)) == len(sampler) == expected and sampler.batches_per_epoch() == -(-expected // batch)
    seen = set()
    sampler = _EpochSampler(15, True, 0, 0, 1, 2)
    for epoch in range(6):
        sampler.set_epoch(epoch)
        seen |= set(sampler)
    assert seen == set(range(15))  # a different one is left out each epoch


def test_a_nan_validation_is_never_the_best_and_does_not_stop_training():
    data = _toy(32)
    calls = iter([float("nan"), 0.9, 0.5, 0.1, 0.05])
    config = TrainConfig(epochs=5, batch_size=8, patience=1, progress_bar=False, monitor="score")
    result = Trainer(torch.nn.Linear(4, 2), data, config=config, eval_fn=lambda m: {"score": next(calls)}).fit()
    assert result.best_metric == 0.05 and result.best_step == 20 and not result.stopped_early


def test_val_loss_weights_each_batch_by_its_examples():
    data = _toy(9, seed=2)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    trainer = Trainer(model, data, val_data=data, config=TrainConfig(batch_size=8, progress_bar=False))
    trainer._device, trainer._amp_dtype = torch.device("cpu"), None
    assert trainer._validate(model)["val_loss"] == pytest.approx(_mean_loss(model, data), rel=1e-5)


def test_none_settings_are_a_typed_error_naming_the_field():
    for field in ("epochs", "batch_size", "lr"):
        with pytest.raises(InputError, match=field):
            Trainer(torch.nn.Linear(4, 2), _toy(8), config=TrainConfig(progress_bar=False, **{field: None})).fit()


def test_python_random_gauss_cache_survives_a_checkpoint():
    import random

    from core.train import _rng_state, _set_rng_state

    random.seed(5)
    random.gauss(0, 1)  # leaves the second value of the pair cached
    state = _rng_state()
    expected = [random.gauss(0, 1) for _ in range(3)]
    random.seed(99)
    _set_rng_state(state)
    assert [random.gauss(0, 1) for _ in range(3)] == expected


class _Augmented(torch.utils.data.Dataset):
    """Random noise drawn inside __getitem__, as augmentation does (in a worker process with num_workers > 0)."""

    def __init__(self):
        generator = torch.Generator().manual_seed(1)
        self.x = [torch.randn(4, generator=generator) for _ in range(32)]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index] + 0.5 * torch.randn(4), torch.tensor(index % 2)


def test_resume_mid_epoch_with_worker_processes_gives_identical_weights(tmp_path):
    class Stop(Exception):
        pass

    def train(run_dir=None, stop_at=None, resume=False):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)

        def interrupt(record):
            if stop_at is not None and record.get("event") == "tick" and record["step"] == stop_at:
                raise Stop

        config = TrainConfig(seed=3, lr=0.05, epochs=3, batch_size=8, num_workers=1, patience=None,
                             checkpoint_every_steps=1, progress_bar=False)
        with pytest.raises(Stop) if stop_at else contextlib.nullcontext():
            Trainer(model, _Augmented(), config=config, run_dir=run_dir, callbacks=[interrupt]).fit(resume=resume)
        return model.weight.detach().clone()

    uninterrupted = train(tmp_path / "a")
    train(tmp_path / "b", stop_at=6)  # in the second epoch, after the checkpoint of step 5
    assert torch.equal(train(tmp_path / "b", resume=True), uninterrupted)


def test_the_returned_model_holds_the_best_evaluations_weights_not_the_last():
    seen, scores = [], iter([1.0, 0.5, 0.9, 0.95])

    def evaluate(model):
        seen.append(model.weight.detach().clone())
        return {"score": next(scores)}

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    config = TrainConfig(epochs=4, batch_size=32, lr=0.5, patience=None, progress_bar=False, monitor="score")
    result = Trainer(model, _toy(), config=config, eval_fn=evaluate).fit()
    assert result.best_metric == 0.5 and not torch.equal(seen[1], seen[3])
    assert torch.equal(model.weight, seen[1])


def test_a_nan_validation_is_warned_of(tmp_path):
    calls = iter([float("nan"), float("nan"), 0.5])
    config = TrainConfig(epochs=3, batch_size=8, patience=3, progress_bar=False, monitor="score")
    with pytest.warns(UserWarning, match="validation score is nan at step 4"):
        Trainer(torch.nn.Linear(4, 2), _toy(32), config=config, eval_fn=lambda m: {"score": next(calls)},
                run_dir=tmp_path / "run").fit()
