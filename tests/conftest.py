"""Shared test configuration: hypothesis profiles (``HYPOTHESIS_PROFILE=ci`` in nox/CI), and
a Dask cluster on loopback for the tests of runs spread over one (``cluster``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Dask ``LocalCluster``: a scheduler and two single-threaded worker processes, all on
    127.0.0.1 (one per test module that asks for it)."""
    import distributed  # the dev extra has it (CI installs it)

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # the scheduler, the nannies and the workers listen on loopback
        dashboard_address="127.0.0.1:0",  # its HTTP server too, on a free port
    ) as local:
        yield local
