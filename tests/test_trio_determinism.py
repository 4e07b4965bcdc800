"""Simulated mode seeds trio's private scheduler RNG (DESIGN.md §4.4).

These tests fail if trio moves the private names we rely on, and show the seeding makes
task interleavings reproducible.
"""

from __future__ import annotations

import trio
import trio.lowlevel
import trio.testing
from trio._core import _run

from mmbot.clock import seed_trio_scheduler


def test_private_scheduler_names_exist() -> None:
    assert hasattr(_run, "_r")
    assert hasattr(_run, "_ALLOW_DETERMINISTIC_SCHEDULING")
    assert hasattr(_run._r, "seed") and hasattr(_run._r, "shuffle")


def _interleaving(seed: int) -> list[int]:
    order: list[int] = []

    async def worker(i: int) -> None:
        for _ in range(5):
            order.append(i)
            await trio.lowlevel.checkpoint()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for i in range(6):
                nursery.start_soon(worker, i)

    seed_trio_scheduler(seed)
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return order


def test_same_seed_same_interleaving() -> None:
    assert _interleaving(7) == _interleaving(7)


def test_different_seeds_can_differ() -> None:
    runs = {tuple(_interleaving(seed)) for seed in range(6)}
    assert len(runs) > 1
