"""Fixtures the page tests share."""

import pytest


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh VERTICALS_HOME (models, jobs, uploads) per test."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
