"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from core import registry

DEMO = "demo.counter"  # a tiny task (tests/core/fake_task.py) registered for one test


@pytest.fixture
def demo_task(monkeypatch):
    spec = registry.TaskSpec("tests.core.fake_task:CounterModel", "mean of y", None, "Demo", "rows", "core")
    monkeypatch.setitem(registry.TASKS, DEMO, spec)
    return DEMO
