"""Test-wide settings: no hub downloads, an isolated VERTICALS_HOME, few threads."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _verticals_home(tmp_path_factory):
    """Keep models and caches written by tests out of the user's ~/.cache/verticals."""
    if os.environ.get("VERTICALS_TEST_HOME"):
        os.environ["VERTICALS_HOME"] = os.environ["VERTICALS_TEST_HOME"]
    else:
        os.environ["VERTICALS_HOME"] = str(tmp_path_factory.mktemp("verticals_home"))
    yield


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest runs each page as a new `__main__` module and leaves it in sys.modules; a later test that
    spawns processes (dask workers) would then re-run that page script in every child. Put pytest's back."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
