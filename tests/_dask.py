"""A 2-worker dask LocalCluster for the engine=dask tests (worker processes: LightGBM's Dask training needs them)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="module")
def cluster():
    """The scheduler address of a LocalCluster with 2 single-threaded worker processes; skips without distributed."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as local:
        yield local.scheduler_address
