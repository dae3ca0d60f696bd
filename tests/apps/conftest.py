"""Fixtures the page tests share."""

import pytest


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh VERTICALS_HOME (models, jobs, uploads) per test, and no model a page cached in an earlier test's home
    (the pages' st.cache_resource outlives an AppTest: a default loaded from another home was scored instead)."""
    monkeypatch.setenv("VERTICALS_HOME", str(tmp_path / "home"))
    try:
        import streamlit as st
    except ImportError:
        return tmp_path / "home"
    st.cache_resource.clear()
    st.cache_data.clear()
    return tmp_path / "home"
