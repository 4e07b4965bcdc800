"""Benchmarks behind ``mmbot bench NAME``: each module here has ``main(argv) -> int``.

They print figures (medians, percentiles, ratios, the machine); they never assert on time.
The helpers they share (percentiles, the machine line) are defined here, so ``mmbot bench
--list`` (every module of the package) names benchmarks only.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank of a non-empty sample."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    return (
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus"
    )
