"""Model directories: round trip, atomic replace, pickle / symlink / hash refusal."""

import json
import os
from pathlib import Path
import pickle
import shutil

import pytest
import torch

from core.artifacts import (atomic_directory, check_model_dir, host_tag, load_tensors, read_card, safe_torch_load,
                            save_model_dir, save_tensors)
from core.errors import InputError, StorageError, UnsafeArtifactError


def _save(path, value=1.0):
    return save_model_dir(path, {"task": "demo", "labels": ["a", "b"]},
                          write_weights=lambda d: save_tensors(d / "model.safetensors", {"w": torch.full((2, 2), value)}))


def test_round_trip(tmp_path):
    path = _save(tmp_path / "m")
    card = read_card(path, task="demo")
    assert card["labels"] == ["a", "b"] and "torch" in card["library_versions"] and "model.safetensors" in card["files"]
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.ones(2, 2))


def test_wrong_task_is_refused(tmp_path):
    with pytest.raises(InputError, match="holds a demo model"):
        read_card(_save(tmp_path / "m"), task="nlp.sentiment")


def test_pickle_file_is_refused(tmp_path):
    path = _save(tmp_path / "m")
    (path / "extra.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UnsafeArtifactError, match="pickle"):
        read_card(path)


def test_torch_pickle_payload_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    file = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, file)
    with pytest.raises(UnsafeArtifactError):
        safe_torch_load(file)


def test_escaping_symlink_is_refused(tmp_path):
    path = _save(tmp_path / "m")
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    (path / "link.json").symlink_to(secret)
    with pytest.raises(UnsafeArtifactError, match="symlink"):
        check_model_dir(path)


def test_corrupted_weights_detected_by_hash(tmp_path):
    path = _save(tmp_path / "m")
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0x01
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(UnsafeArtifactError, match="hash"):
        read_card(path)


def test_failed_save_keeps_previous_model(tmp_path):
    path = _save(tmp_path / "m", value=1.0)

    def boom(folder):
        save_tensors(folder / "model.safetensors", {"w": torch.zeros(2, 2)})
        raise OSError(28, "No space left on device")

    with pytest.raises(StorageError, match="No space left"):
        save_model_dir(path, {"task": "demo"}, write_weights=boom)
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.ones(2, 2))
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp folder left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot write"):
            _save(folder / "m")
    finally:
        folder.chmod(0o700)


def test_atomic_directory_replaces_whole(tmp_path):
    target = tmp_path / "d"
    with atomic_directory(target) as tmp:
        (tmp / "old.txt").write_text("1")
    with atomic_directory(target) as tmp:
        (tmp / "new.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_card_is_json(tmp_path):
    path = _save(tmp_path / "m")
    assert json.loads((path / "card.json").read_text())["task"] == "demo"


def test_cached_default_is_built_once_by_parallel_first_uses(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys, time; from pathlib import Path\n"
        "from core.artifacts import cached_default, save_model_dir, read_card\n"
        "def build(folder):\n"
        "    with open(sys.argv[2], 'a') as log: log.write('built\\n')\n"
        "    time.sleep(1.0); save_model_dir(folder, {'task': 'demo'})\n"
        "print(cached_default(Path(sys.argv[1]), build, lambda f: read_card(f)['task']))\n")
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "default"), str(tmp_path / "log")],
                             stdout=subprocess.PIPE, text=True, cwd=root) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert outputs == ["demo"] * 3
    assert (tmp_path / "log").read_text().count("built") == 1


def test_a_folder_with_a_card_of_the_task_and_user_files_is_not_replaced(tmp_path):
    from core.artifacts import save_model_dir

    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "card.json").write_text('{"task": "demo"}')  # a card naming the task...
    (folder / "data.csv").write_text("my,data\n")  # ...beside the user's own files, which save() used to delete
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "analysis.ipynb").write_text("{}")
    with pytest.raises(InputError, match=r"2 file\(s\) its card does not list \(data.csv, notebooks/analysis.ipynb\)"):
        save_model_dir(folder, {"task": "demo"})
    assert (folder / "data.csv").read_text() == "my,data\n" and (folder / "notebooks" / "analysis.ipynb").exists()
    saved = save_model_dir(tmp_path / "model", {"task": "demo"}, lambda tmp: (tmp / "w.bin").write_bytes(b"1"))
    assert save_model_dir(saved, {"task": "demo"}) == saved  # a saved model of the task is still replaced whole


def test_any_edit_of_a_saved_card_is_refused_at_load(tmp_path):
    """A field no task check covers (risk's scale: base score 600 -> 900 moved every score by 300) loaded silently.
    The card now carries its own digest: an edit is refused, a re-save is not, and an older card (format 1, no
    digest) still loads. The CLI says the same in one line with exit 2."""
    import json
    import shutil

    from core.artifacts import card_digest, check_card_digest, write_card
    from core.cli import main
    from core.errors import UnsafeArtifactError
    from finance.risk import RiskScorer
    from tests.finance.contract_cases import synthetic_applicants

    config = RiskScorer.Config(family="gbm", cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=20)
    saved = RiskScorer().fit(synthetic_applicants(200, seed=0), config=config).save(tmp_path / "m")
    card = json.loads((saved / "card.json").read_text())
    assert card["format_version"] == 2 and card["card_sha256"] == card_digest(card)
    check_card_digest(saved)
    edited = shutil.copytree(saved, tmp_path / "edited")
    (edited / "card.json").write_text(json.dumps({**card, "scale": {**card["scale"], "base_score": 900}}))
    with pytest.raises(UnsafeArtifactError, match="card.json was changed after it was saved"):
        RiskScorer.load(edited)
    assert main(["predict", "finance.risk", "--model", str(edited), "--input", str(tmp_path / "none.csv")]) == 2
    older = shutil.copytree(saved, tmp_path / "older")  # as saved before the digest: loads, unchecked
    (older / "card.json").write_text(json.dumps({**{k: v for k, v in card.items() if k != "card_sha256"},
                                                 "format_version": 1}))
    applicant = {"utilisation": 0.4, "income": 20000.0, "housing": "own"}
    with pytest.warns(UserWarning, match="older: its card.json is unsealed .*save the model again"):
        assert RiskScorer.load(older).predict([applicant]) == RiskScorer.load(saved).predict([applicant])
    with pytest.warns(UserWarning, match="says format 1 but carries `usage`.*seal may have been removed"):
        check_card_digest(older)  # a tester cut the seal, set format 1 and raised base_score: 'saved before' was false
    (older / "card.json").write_text(json.dumps({**{k: v for k, v in card.items() if k not in ("card_sha256", "usage")},
                                                 "format_version": 1}))
    with pytest.warns(UserWarning, match=r"unsealed \(format 1, saved before cards carried card_sha256"):
        check_card_digest(older)
    stripped = shutil.copytree(saved, tmp_path / "stripped")  # the digest deleted from a format-2 card
    (stripped / "card.json").write_text(json.dumps({k: v for k, v in card.items() if k != "card_sha256"}))
    with pytest.raises(UnsafeArtifactError, match="changed after it was saved"):
        RiskScorer.load(stripped)
    write_card(edited, {**card, "scale": {**card["scale"], "base_score": 900}})  # re-sealed: the digest agrees again
    check_card_digest(edited)


def test_load_folder_itself_checks_the_seal(tmp_path):
    """`load` checked the card's digest, but a task's `load_folder` called directly (a notebook, a shipped default)
    did not. Every task's hook is now sealed by `TaskModel.__init_subclass__`."""
    import json
    import shutil

    from core.errors import UnsafeArtifactError
    from core.registry import task_class
    from finance.risk import RiskScorer
    from tests.finance.contract_cases import synthetic_applicants

    config = RiskScorer.Config(family="gbm", cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=20)
    saved = RiskScorer().fit(synthetic_applicants(200, seed=0), config=config).save(tmp_path / "m")
    RiskScorer.load_folder(saved)
    edited = shutil.copytree(saved, tmp_path / "edited")
    card = json.loads((edited / "card.json").read_text())
    (edited / "card.json").write_text(json.dumps({**card, "scale": {**card["scale"], "base_score": 900}}))
    with pytest.raises(UnsafeArtifactError, match="card.json was changed after it was saved"):
        RiskScorer.load_folder(edited)
    for task in ("nlp.sentiment", "vision.classification", "speech.recognition", "medical.segmentation",
                 "finance.forecast"):
        assert getattr(task_class(task).load_folder, "__sealed__", False), task


def test_shipped_default_cards_are_sealed():
    """The defaults committed to the repository had format-1 cards, which nothing sealed."""
    import json

    from core.artifacts import card_digest

    root = Path(__file__).resolve().parents[2]
    for folder in ("nlp/sentiment_default", "medical/segmentation_default"):
        card = json.loads((root / folder / "card.json").read_text())
        assert card["format_version"] == 2 and card["card_sha256"] == card_digest(card), folder


def test_saved_files_get_the_mode_plain_files_get(tmp_path):
    """mkstemp/mkdtemp made every saved model 0600/0700: a team, a serving user or dask workers could not read it."""
    import stat

    from core.artifacts import atomic_write_text

    previous = os.umask(0o022)
    try:
        folder = save_model_dir(tmp_path / "m", {"task": "demo"}, lambda tmp: (tmp / "w.txt").write_text("1"))
        written = atomic_write_text(tmp_path / "out.csv", "a\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "card.json").stat().st_mode) == stat.S_IMODE(written.stat().st_mode) == 0o644


def test_a_cached_default_an_older_version_built_is_built_again(tmp_path):
    """A default cached before cards were sealed loaded with the 'unsealed' warning on every command, whose advice
    (save it again) a user who never saved it cannot follow. It is now built again, once."""
    import json
    import warnings

    from core.artifacts import cached_default, read_card

    built = []
    folder = tmp_path / "default"
    build = lambda f: built.append(save_model_dir(f, {"task": "demo", "build": len(built)}))  # noqa: E731
    cached_default(folder, build, read_card)
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**{k: v for k, v in card.items() if k != "card_sha256"},
                                                  "format_version": 1}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cached_default(folder, build, read_card)["build"] == 1 and len(built) == 2
        assert cached_default(folder, build, read_card)["build"] == 1 and len(built) == 2  # once


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_a_save_stopped_between_its_two_renames_puts_the_previous_model_back(tmp_path, monkeypatch, stop):
    """Ctrl-C or SIGTERM (raised as an exception by the CLI) after the old model was set aside (`.m.old-PID`) and
    before the new one took its place deleted the new model and left the old one hidden: `m` was gone."""
    import core.artifacts

    path = _save(tmp_path / "m", value=1.0)
    real_replace = os.replace

    def replace(src, dst):
        if str(src).endswith(".tmp") and Path(src).is_dir():  # the new model's folder, after the old one was set aside
            raise stop()
        return real_replace(src, dst)

    monkeypatch.setattr(core.artifacts.os, "replace", replace)
    with pytest.raises(stop):
        _save(path, value=2.0)
    monkeypatch.undo()
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.ones(2, 2))
    assert read_card(path)["task"] == "demo"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # neither the backup nor the temp folder is left


def _killed_between_renames(path, value):
    """Run a save of `path` in a child process that is killed (SIGKILL) once the old model is set aside."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys, torch\n"
        "from pathlib import Path\n"
        "import core.artifacts\n"
        "from core.artifacts import save_model_dir, save_tensors\n"
        "real = os.replace\n"
        "def replace(src, dst):\n"
        "    if '.old-' in Path(src).name:  # the swap finished: not this test's case\n"
        "        return real(src, dst)\n"
        "    if Path(src).is_dir() and str(src).endswith('.tmp'):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)  # power lost after the old model was set aside\n"
        "    return real(src, dst)\n"
        "core.artifacts.os.replace = replace\n"
        "save_model_dir(sys.argv[1], {'task': 'demo', 'labels': ['a', 'b']}, write_weights=lambda d: save_tensors(\n"
        "    d / 'model.safetensors', {'w': torch.full((2, 2), float(sys.argv[2]))}))\n")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", script, str(path), str(value)], cwd=root, capture_output=True, timeout=120)
    assert run.returncode == -9, run.stderr
    return run


def test_a_save_killed_between_its_two_renames_is_put_back_on_the_next_load(tmp_path):
    """kill -9 after `m` was set aside as `.m.old-PID` and before the new model took its place left no `m`: the
    previous model hid beside it, and `evaluate --model m` said it was not found."""
    import warnings

    path = _save(tmp_path / "m", value=1.0)
    _killed_between_renames(path, 2.0)
    assert not path.exists() and any(p.name.startswith(".m.old-") for p in tmp_path.iterdir())  # the window was hit
    with pytest.warns(UserWarning, match=r"m was missing: a save to it .* the previous model was put back"):
        card = read_card(path)
    assert card["task"] == "demo"
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.ones(2, 2))
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.old-")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_card(path)  # once


def test_a_model_path_a_killed_save_left_missing_is_put_back_when_the_registry_resolves_it(tmp_path):
    """`evaluate --model m` resolves the path before any card is read: a missing `m` was taken for a hub id."""
    from core.registry import resolve_source

    path = _save(tmp_path / "m", value=1.0)
    _killed_between_renames(path, 2.0)
    with pytest.warns(UserWarning, match="previous model was put back"):
        assert resolve_source("demo", str(path)) == ("local", path)


def test_a_save_killed_between_its_two_renames_is_put_back_before_the_next_save(tmp_path):
    from core.artifacts import check_output_dir

    path = _save(tmp_path / "m", value=1.0)
    _killed_between_renames(path, 2.0)
    with pytest.warns(UserWarning, match="previous model was put back"):  # judged by what it held, not as a new folder
        with pytest.raises(InputError, match="already holds a demo model"):
            check_output_dir(path, task="other")
    _save(path, value=3.0)
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.full((2, 2), 3.0))
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.old-")]


def test_the_backup_of_a_live_save_is_left_alone(tmp_path):
    """A save between its renames in another process: its `.m.old-PID` is not taken back from under it."""
    import subprocess
    import sys

    path = _save(tmp_path / "m", value=1.0)
    saver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        backup = tmp_path / f".m.old-{saver.pid}"
        os.replace(path, backup)
        with pytest.raises(InputError, match="is not a folder"):
            read_card(path)
        assert backup.is_dir() and not path.exists()
    finally:
        saver.kill()
        saver.wait()
    with pytest.warns(UserWarning, match="previous model was put back"):
        assert read_card(path)["task"] == "demo"  # once its process is gone, the next load puts it back


def _killed_save(path, stage):
    """A save of `path` in a child process killed (SIGKILL) while writing its weights ("writing") or once the new model
    is in place, before the previous one is deleted ("swapped")."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys, torch\n"
        "from pathlib import Path\n"
        "import core.artifacts\n"
        "from core.artifacts import save_model_dir, save_tensors\n"
        "real = core.artifacts.shutil.rmtree\n"
        "def rmtree(folder, *args, **kwargs):\n"
        "    if '.old-' in Path(folder).name and sys.argv[2] == 'swapped':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(folder, *args, **kwargs)\n"
        "core.artifacts.shutil.rmtree = rmtree\n"
        "def write(folder):\n"
        "    save_tensors(folder / 'model.safetensors', {'w': torch.full((2, 2), 2.0)})\n"
        "    if sys.argv[2] == 'writing':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "save_model_dir(sys.argv[1], {'task': 'demo', 'labels': ['a', 'b']}, write_weights=write)\n")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", script, str(path), stage], cwd=root, capture_output=True, timeout=120)
    assert run.returncode == -9, run.stderr


def test_the_temp_folder_of_a_save_is_named_by_its_process(tmp_path):
    import re

    with atomic_directory(tmp_path / "m") as tmp:
        assert re.fullmatch(rf"\.m\.{os.getpid()}\.{host_tag()}-[a-z0-9_]{{8}}\.tmp", tmp.name), tmp.name


def test_what_a_save_on_another_host_left_is_never_judged_by_its_pid_here(tmp_path):
    """A model folder on a share two machines write: a pid from another host says nothing here (this host may not run
    it, or runs an unrelated process under it), so its save's temp folder and set-aside model are left alone, while
    this host's dead saves' leftovers (and names from before host tags) are still cleaned and put back."""
    other = "0" * 8 if host_tag() != "0" * 8 else "1" * 8
    dead = 2 ** 22 + 12345  # above pid_max's default: no process here
    path = _save(tmp_path / "m", value=1.0)
    elsewhere = [tmp_path / f".m.{dead}.{other}-abcdefgh.tmp", tmp_path / f".m.old-{dead}.{other}"]
    here = [tmp_path / f".m.{dead}.{host_tag()}-abcdefgh.tmp", tmp_path / f".m.{dead}-ijklmnop.tmp",
            tmp_path / f".m.old-{dead + 1}.{host_tag()}"]
    for folder in elsewhere + here:
        folder.mkdir()
    _save(path, value=2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in elsewhere] + ["m"])
    shutil.rmtree(path)  # m missing, another host's save between its renames: its backup is not taken from under it
    with pytest.raises(InputError):
        read_card(path)
    assert elsewhere[1].is_dir() and not path.exists()


def test_the_next_save_removes_what_killed_saves_left_beside_the_folder(tmp_path):
    """kill -9 mid-save left model-sized `.m.xxxx.tmp` folders and `.m.old-PID` backups that nothing ever removed."""
    import subprocess
    import sys

    path = _save(tmp_path / "m", value=1.0)
    def left():
        return [p.name for p in tmp_path.iterdir() if p.name != "m"]

    _killed_save(path, "swapped")
    assert len(left()) == 1 and ".m.old-" in left()[0], left()
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.full((2, 2), 2.0))  # the swap was done
    _killed_save(path, "writing")  # this save removed the backup the killed one left
    assert len(left()) == 1 and left()[0].endswith(".tmp"), left()
    saver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".m.{saver.pid}-abcdefgh.tmp"  # a save in progress in another process
        live.mkdir()
        _save(path, value=3.0)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "m"])
    finally:
        saver.kill()
        saver.wait()
    assert torch.equal(load_tensors(path / "model.safetensors")["w"], torch.full((2, 2), 3.0))


def test_every_file_and_folder_a_task_writes_into_a_save_gets_the_plain_mode(tmp_path):
    """safetensors' save_file (0.8) writes 0600 through a temp file of its own: forest.safetensors, a sentiment
    encoder's model.safetensors were unreadable by a serving user or dask workers running as another user."""
    import stat

    import numpy as np
    from safetensors.numpy import save_file

    def write(folder):
        save_file({"w": np.zeros(3)}, str(folder / "forest.safetensors"))
        (folder / "encoder").mkdir(mode=0o700)
        os.close(os.open(folder / "encoder" / "model.safetensors", os.O_CREAT | os.O_WRONLY, 0o600))
        os.close(os.open(folder / "encoder" / "run.sh", os.O_CREAT | os.O_WRONLY, 0o700))

    previous = os.umask(0o022)
    try:
        folder = save_model_dir(tmp_path / "m", {"task": "demo"}, write)
    finally:
        os.umask(previous)
    modes = {p.relative_to(folder).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in folder.rglob("*")}
    assert modes == {"forest.safetensors": "0o644", "encoder": "0o755", "encoder/model.safetensors": "0o644",
                     "encoder/run.sh": "0o755", "card.json": "0o644"}


def _cached_demo(folder, built):
    from core.artifacts import cached_default

    def build(target):
        built.append(target)
        _save(target, value=float(len(built)))

    def load(target):  # as a task's load_folder: the folder's files, then the card's seal
        from core.artifacts import check_card_digest

        read_card(target)
        check_card_digest(target)
        return load_tensors(target / "model.safetensors")

    return cached_default(folder, build, load)


def test_a_damaged_cached_default_is_moved_aside_and_built_again(tmp_path):
    """A truncated file in a cached default was refused on every use ('does not match its hash'), naming no path,
    and nothing (not even prepare --rebuild) repaired it: the task's default stayed broken for good."""
    import warnings

    built = []
    folder = tmp_path / "defaults" / "demo" / "v1"
    assert torch.equal(_cached_demo(folder, built)["w"], torch.ones(2, 2)) and len(built) == 1
    with open(folder / "model.safetensors", "r+b") as handle:
        handle.truncate(40)
    with pytest.warns(UserWarning, match="was damaged") as caught:
        assert torch.equal(_cached_demo(folder, built)["w"], torch.full((2, 2), 2.0)) and len(built) == 2
    aside = [p for p in folder.parent.iterdir() if p.name.startswith("v1.damaged-")]
    assert len(aside) == 1 and (aside[0] / "model.safetensors").stat().st_size == 40  # kept as it was, not deleted
    message = str(caught[0].message)
    assert str(folder) in message and str(aside[0]) in message and "does not match its hash" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(_cached_demo(folder, built)["w"], torch.full((2, 2), 2.0)) and len(built) == 2  # once


@pytest.mark.parametrize("damage", ["card.json deleted", "card.json not JSON", "card.json edited", "a stray file"])
def test_a_cached_default_without_a_usable_card_is_moved_aside_and_built_again(tmp_path, damage):
    """A cache folder without card.json was refused as 'files that are not a saved model ... Choose a new folder',
    which a user cannot do for a task's default."""
    built = []
    folder = tmp_path / "v1"
    _cached_demo(folder, built)
    card = folder / "card.json"
    if damage == "card.json deleted":
        card.unlink()
    elif damage == "card.json not JSON":
        card.write_text('{"task":')
    elif damage == "card.json edited":
        card.write_text(card.read_text().replace('"a"', '"z"'))
    else:
        (folder / "notes.txt").write_text("x")
    with pytest.warns(UserWarning, match=r"v1 was damaged .* moved aside to .*v1\.damaged-"):
        assert torch.equal(_cached_demo(folder, built)["w"], torch.full((2, 2), 2.0)) and len(built) == 2
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("v1.damaged-")]) == 1


def test_a_damaged_cached_default_another_process_rebuilt_is_not_moved_aside(tmp_path):
    """Two first uses find the same damage: the one that waited for the lock loads the other's rebuild."""
    from core.artifacts import cached_default

    built, calls = [], []
    folder = tmp_path / "v1"
    _cached_demo(folder, built)
    (folder / "model.safetensors").write_bytes(b"damaged")

    def load(target):
        calls.append(target)
        if len(calls) == 1:  # meanwhile another process moved the damaged folder aside and built it again
            os.replace(target, tmp_path / "v1.damaged-other")
            _save(target, value=5.0)
            raise UnsafeArtifactError("model.safetensors does not match its hash in card.json")
        return read_card(target)

    assert cached_default(folder, lambda target: built.append(target), load)["task"] == "demo"
    assert len(built) == 1 and sorted(p.name for p in tmp_path.iterdir()) == [".v1.lock", "v1", "v1.damaged-other"]
    assert torch.equal(load_tensors(folder / "model.safetensors")["w"], torch.full((2, 2), 5.0))


def test_an_asset_that_is_not_a_model_folder_is_not_moved_aside(tmp_path):
    """`is_built` given (weights joined from packages): its own check decides a rebuild; a refusal is the caller's."""
    from core.artifacts import cached_default

    folder = tmp_path / "asset"
    folder.mkdir()
    (folder / "model.bin").write_text("x")

    def load(target):
        raise UnsafeArtifactError("refused")

    with pytest.raises(UnsafeArtifactError, match="refused"):
        cached_default(folder, lambda target: None, load, is_built=lambda target: True)
    assert [p.name for p in tmp_path.iterdir()] == ["asset"]


def test_a_file_that_does_not_match_its_hash_is_named_with_its_folder(tmp_path):
    path = _save(tmp_path / "m")
    (path / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(UnsafeArtifactError, match="does not match its hash") as caught:
        read_card(path)
    assert str(path / "model.safetensors") in str(caught.value) and "save the model again" in str(caught.value)


def test_a_renamed_pickle_or_damaged_file_as_safetensors_and_a_shard_index_leaving_the_folder_are_refused(tmp_path):
    """A protocol-0 pickle saved as model.safetensors reached the loader (a 35-line SafetensorError, exit 1); a shard
    index mapping weights to ../outside.safetensors made a sealed folder read weights from outside it."""
    import json
    import pickle

    from core.artifacts import check_model_dir
    from core.errors import UnsafeArtifactError

    for name, body in (("p0", pickle.dumps({"w": 1}, protocol=0)), ("short", b"\x01\x00"),
                       ("nojson", (20).to_bytes(8, "little") + b"x" * 20)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(body)
        with pytest.raises(UnsafeArtifactError, match="not a safetensors file"):
            check_model_dir(folder)
    good = _save(tmp_path / "good", value=1.0)
    check_model_dir(good)
    for shard in ("../outside.safetensors", "/tmp/x.safetensors", "sub/../../x.safetensors"):
        folder = tmp_path / f"index{len(shard)}"
        folder.mkdir()
        (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": shard}}))
        with pytest.raises(UnsafeArtifactError, match="not a file beside it"):
            check_model_dir(folder)
    (tmp_path / "fine").mkdir()
    (tmp_path / "fine" / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"w": "model-00001-of-00001.safetensors"}}))
    check_model_dir(tmp_path / "fine")


def test_the_data_hash_sees_a_relabel_and_a_rename_but_not_where_the_data_lie(tmp_path):
    from core.artifacts import hash_files

    def tree(root, layout):
        for name, content in layout.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        return root

    labelled = tree(tmp_path / "a", {"ants/1.jpg": b"one", "bees/2.jpg": b"two"})
    relabelled = tree(tmp_path / "b", {"ants/1.jpg": b"one", "ants/2.jpg": b"two"})
    assert hash_files([labelled]) != hash_files([relabelled])
    # the same file lists as a task passes them (images of several class folders)
    assert hash_files(sorted(labelled.rglob("*.jpg"))) != hash_files(sorted(relabelled.rglob("*.jpg")))
    moved = shutil.copytree(labelled, tmp_path / "elsewhere" / "a")
    assert hash_files([moved]) == hash_files([labelled])
    assert hash_files(sorted(moved.rglob("*.jpg"))) == hash_files(sorted(labelled.rglob("*.jpg")))
    # a name and its contents never run together: file "a" holding "bc" is not file "ab" holding "c"
    assert hash_files([tree(tmp_path / "c", {"a": b"bc"})]) != hash_files([tree(tmp_path / "d", {"ab": b"c"})])


def test_a_failed_atomic_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from core.artifacts import atomic_write_bytes

    target = tmp_path / "card.json"
    target.write_bytes(b"old")

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StorageError):
        atomic_write_bytes(target, b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"] and target.read_bytes() == b"old"


def test_the_data_hash_follows_symlinked_class_folders_as_the_readers_do(tmp_path):
    from core.artifacts import hash_files

    real = tmp_path / "real"
    for name, content in {"ants/1.jpg": b"one", "bees/2.jpg": b"two"}.items():
        (real / name).parent.mkdir(parents=True, exist_ok=True)
        (real / name).write_bytes(content)
    linked = tmp_path / "linked"
    linked.mkdir()
    for label in ("ants", "bees"):
        (linked / label).symlink_to(real / label, target_is_directory=True)
    (linked / "loop").symlink_to(linked, target_is_directory=True)  # a link back up is walked once, not forever
    before = hash_files([linked])
    assert before == hash_files([real])
    (real / "bees" / "2.jpg").rename(real / "ants" / "2.jpg")  # a relabel behind the links
    assert hash_files([linked]) != before


def test_a_lock_that_cannot_be_written_names_its_file_and_is_released(tmp_path, monkeypatch):
    """`train` with 4 KB free: the lock's named error was replaced by a bare ENOSPC from closing the lock file (its
    unwritten text flushed again), so the one-line error named no file."""
    import errno

    from core.artifacts import output_lock
    from core.errors import StorageError

    class FullFile:
        def __init__(self, real):
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.real.close()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.artifacts.open", lambda *a, **k: FullFile(open(*a, **k)), raising=False)
    with pytest.raises(StorageError, match=r"cannot write .*\.m\.lock: No space left on device"):
        with output_lock(tmp_path / "m"):
            pass
    monkeypatch.undo()
    with output_lock(tmp_path / "m"):  # released: the next training may take it
        pass


def test_a_ctranslate2_model_bin_is_a_weights_file_and_other_bins_stay_refused(tmp_path):
    """A saved speech model stored its CTranslate2 weights as model.ct2 (any *.bin was refused as a possible pickle),
    so `faster_whisper.WhisperModel(folder)` and `ctranslate2.models.Whisper(folder)` could not open the folder."""
    import pickle

    from core.artifacts import check_model_dir, save_model_dir

    header = bytes([6, 0, 0, 0, 12, 0]) + b"WhisperSpec\0" + bytes(64)
    saved = save_model_dir(tmp_path / "asr", {"task": "demo"}, lambda d: (d / "model.bin").write_bytes(header))
    assert check_model_dir(saved) == saved
    refused = {
        "model.bin": pickle.dumps({"weights": 1}, protocol=0),  # a pickle under CTranslate2's name
        "pytorch_model.bin": header,  # CTranslate2's bytes under another name: only model.bin is read that way
        "other.bin": bytes([6, 0, 0, 0, 5, 0]) + b"Spec\0" + bytes(8),
    }
    for index, (name, content) in enumerate(refused.items()):
        folder = save_model_dir(tmp_path / f"m{index}", {"task": "demo"}, lambda d: (d / name).write_bytes(content))
        with pytest.raises(UnsafeArtifactError, match="pickle"):
            check_model_dir(folder)
