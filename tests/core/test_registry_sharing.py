"""A team sharing one VERTICALS_HOME: promotions made at once are all kept, and a model being re-saved stays listed
and promoted while its save swaps folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.artifacts import host_tag, list_saved_models, models_dir, promoted_defaults, save_model_dir

ROOT = Path(__file__).resolve().parents[2]


def test_promotions_made_at_once_by_two_processes_are_both_kept(tmp_path, monkeypatch):
    """promote_model read, changed and rewrote promoted.json with no lock: of two people promoting models of two tasks
    at once, one promotion was lost (20 in 20 trials). Here two processes promote at one signal, 12 times over."""
    import time

    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    tasks = ("finance.risk", "finance.forecast")
    for task in tasks:
        save_model_dir(models_dir() / task, {"task": task})
    script = ("import sys, time\nfrom pathlib import Path\nfrom core.artifacts import models_dir, promote_model\n"
              "task, signals = sys.argv[1], Path(sys.argv[2])\n"
              "for trial in range(12):\n"
              "    while not (signals / f'go{trial}').exists():\n        time.sleep(0.0005)\n"
              "    promote_model(task, models_dir() / task)\n"
              "    (signals / f'{task}-done{trial}').touch()\n")
    signals = tmp_path / "signals"
    signals.mkdir()
    env = {**os.environ, "VERTICALS_HOME": str(tmp_path)}
    runs = [subprocess.Popen([sys.executable, "-c", script, task, str(signals)], cwd=ROOT, env=env) for task in tasks]
    kept = []
    try:
        for trial in range(12):
            (tmp_path / "promoted.json").write_text("{}")
            (signals / f"go{trial}").touch()
            deadline = time.monotonic() + 60
            while not all((signals / f"{task}-done{trial}").exists() for task in tasks) and time.monotonic() < deadline:
                time.sleep(0.005)
            kept.append(set(json.loads((tmp_path / "promoted.json").read_text())))
    finally:
        codes = [run.wait(60) for run in runs]
    assert codes == [0, 0] and kept == [set(tasks)] * 12, kept


def test_a_model_between_its_saves_two_renames_is_still_listed_and_promoted(tmp_path, monkeypatch):
    """While a save swaps folders the model's name is briefly missing: the registry listed no model, and a promotion
    written meanwhile dropped it as deleted."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path))
    path = save_model_dir(models_dir() / "risk", {"task": "finance.risk"})
    save_model_dir(models_dir() / "other", {"task": "finance.forecast"})
    from core.artifacts import promote_model

    promote_model("finance.risk", path)
    aside = path.with_name(f".risk.old-{os.getpid()}.{host_tag()}")  # this process's save, between its renames
    from core import artifacts

    artifacts._HELD.add(str(aside))
    try:
        os.replace(path, aside)
        assert [Path(card["path"]).name for card in list_saved_models()].count("risk") == 1
        assert "finance.risk" in promoted_defaults()
        promote_model("finance.forecast", models_dir() / "other")  # a promotion of another task meanwhile
        os.replace(aside, path)
    finally:
        artifacts._HELD.discard(str(aside))
    assert set(promoted_defaults()) == {"finance.risk", "finance.forecast"}


def test_loading_a_model_while_another_process_re_saves_it_gets_one_whole_model(tmp_path):
    """A teammate re-saving M while another loads it: 5-10% of loads failed ('not found', 'calibrator.json does not
    match its hash' for a good model, or a raw FileNotFoundError), as a load straddled the save's two renames."""
    import numpy as np
    import polars as pl

    from finance.risk import RiskScorer

    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"income": rng.normal(size=300), "debt": rng.normal(size=300), "default": rng.integers(0, 2, 300)})
    for name, c in (("a", 0.1), ("b", 10.0)):
        RiskScorer().fit(frame, config={"family": "logistic", "cv_folds": 2, "cv_repeats": 1,
                                        "logistic_c": c}).save(tmp_path / name)
    rows = frame.drop("default").head(5)
    expected = {tuple(round(r["pd"], 10) for r in RiskScorer.load(tmp_path / name).predict(rows)) for name in "ab"}
    RiskScorer.load(tmp_path / "a").save(tmp_path / "M")
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom finance.risk import RiskScorer\n"
        "a, b = RiskScorer.load(sys.argv[1] + '/a'), RiskScorer.load(sys.argv[1] + '/b')\n"
        "end = time.monotonic() + 10\nn = 0\n"
        "while time.monotonic() < end:\n    (a if n % 2 else b).save(sys.argv[1] + '/M'); n += 1\n"
        "    if n == 1:\n        open(sys.argv[1] + '/saving', 'w').close()\n"), str(tmp_path)], cwd=ROOT)
    try:
        import time

        import core

        while not (tmp_path / "saving").exists() and writer.poll() is None:
            time.sleep(0.05)
        seen, end = set(), time.monotonic() + 8
        while time.monotonic() < end:
            model = core.load("finance.risk", str(tmp_path / "M"))
            seen.add(tuple(round(r["pd"], 10) for r in model.predict(rows)))
    finally:
        writer.wait(60)
    assert seen <= expected and seen


def test_a_copied_home_promotes_its_own_copy_and_a_promotion_gone_is_warned_about(tmp_path, monkeypatch):
    """promoted.json kept absolute paths: a home copied elsewhere promoted the first home's model, and lost it without
    a word when that one was deleted. Folders inside the home are stored relative to it, and a promoted model that is
    gone is named in a warning."""
    import shutil

    from core.artifacts import delete_model, promote_model

    first, second = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("VERTICALS_HOME", str(first))
    promote_model("finance.risk", save_model_dir(models_dir() / "risk-v2", {"task": "finance.risk"}))
    assert json.loads((first / "promoted.json").read_text()) == {"finance.risk": "models/risk-v2"}
    shutil.copytree(first, second)
    delete_model(models_dir() / "risk-v2")
    assert promoted_defaults() == {}
    monkeypatch.setenv("VERTICALS_HOME", str(second))
    assert promoted_defaults() == {"finance.risk": str(second / "models" / "risk-v2")}
    shutil.rmtree(second / "models" / "risk-v2")
    with pytest.warns(UserWarning, match=r"promoted as finance.risk's default, .*risk-v2, is gone"):
        assert promoted_defaults() == {}
