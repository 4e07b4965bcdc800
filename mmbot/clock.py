"""The time and randomness seams (DESIGN.md §4.3).

What it is for: the only module allowed to read the wall clock or create randomness from
nothing. Everything else reads time through ``trio.current_time()`` or an injected ``now``,
exchange timestamps through an :class:`EpochClock`, and randomness through ``random.Random``
instances derived from one seed with :func:`derive_rng`.

What it must never do: be imported by a sans-IO core (those take ``now`` and an RNG as
arguments).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable

import attrs
import trio

#: A nanosecond timer for timing pipeline stages; shells pass this to sans-IO cores.
perf_counter_ns: Callable[[], int] = time.perf_counter_ns


def wall_epoch_ms() -> int:
    """Milliseconds since the Unix epoch from the wall clock (loopback mode only)."""
    return time.time_ns() // 1_000_000


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for the stream ``name``, derived from the run's one ``seed``."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def derive_rng(seed: int, name: str) -> random.Random:
    """An independent, reproducible RNG for one component (same seed+name, same stream)."""
    return random.Random(derive_seed(seed, name))


def fresh_seed() -> int:
    """A seed when the user gave none (printed, so the run can be replayed)."""
    return random.SystemRandom().randrange(2**32)


#: trio's scheduler RNG is process-wide: a process (a Dask worker with several threads, say)
#: makes one seeded simulated run at a time, holding this (docs/decisions/0011-parallel-runs.md).
SEEDED_RUNS = threading.Lock()


def seed_trio_scheduler(seed: int) -> None:
    """Make trio's scheduler deterministic for simulated mode (private trio API, pinned).

    trio shuffles each batch of runnable tasks with a module-level RNG; seeding it and
    enabling its deterministic mode makes the interleaving a function of the seed.
    ``tests/test_trio_determinism.py`` fails if these private names move.
    """
    from trio._core import _run

    _run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    _run._r.seed(derive_seed(seed, "trio-scheduler"))


@attrs.define(eq=False)
class EpochClock:
    """Exchange time in epoch milliseconds: a fixed epoch offset plus trio's clock.

    Under ``MockClock`` this is simulated epoch time; in loopback mode the offset is taken
    from the wall clock once, so timestamps look real while still following trio's clock.
    ``skew_ms`` lets the chaos harness shift one side's view of time.
    """

    epoch_ms_at_zero: int
    skew_ms: int = 0

    @classmethod
    def from_wall_clock(cls) -> EpochClock:
        return cls(epoch_ms_at_zero=wall_epoch_ms() - int(trio.current_time() * 1000))

    def now_ms(self) -> int:
        return self.epoch_ms_at_zero + int(trio.current_time() * 1000) + self.skew_ms

    def to_trio_time(self, epoch_ms: int) -> float:
        return (epoch_ms - self.epoch_ms_at_zero - self.skew_ms) / 1000.0


#: Simulated runs start at a fixed, recognisable epoch: 2026-01-01T00:00:00Z.
SIM_EPOCH_MS = 1_767_225_600_000
