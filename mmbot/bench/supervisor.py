"""Benchmark: the supervisor's own costs (``mmbot bench supervisor``).

What it is for: printing how long a crashed one_for_one child with zero backoff takes to be
running again (from the moment it raises to the moment its next incarnation calls
``task_status.started()``; goal: median at most 50 µs), how long a supervisor of 1,000 idle
children takes to start (``nursery.start`` returns once all are ready) and to stop (each
child asked, in reverse order; goal: at most 100 ms each), the memory each idle child costs
(tracemalloc, in a separate run), and the machine.

Each crash is a WARNING with a traceback on the ``mmbot.supervision`` logger. The goal is
measured with that logger quiet (the supervisor's own cost); a second line measures it with
the records built and handed to a ``NullHandler`` (what logging adds before any handler
writes anything, which is the application's business).

What it must never do: assert on time, sleep on the wall clock, or touch the network.
"""

from __future__ import annotations

import argparse
import logging
import tracemalloc

import trio

from mmbot.bench import machine, median, percentile
from mmbot.clock import perf_counter_ns
from mmbot.supervision import ChildSpec, Supervisor, SupervisorHandle, current_child

GOAL_CRASH_US = 50.0
GOAL_TREE_MS = 100.0


class _Crash(Exception):
    pass


async def crash_to_running(samples: int) -> list[float]:
    """Microseconds from a child's crash to its next incarnation being ready, ``samples``
    times, under one_for_one with no backoff."""
    took: list[float] = []
    crashed_at = 0
    done = trio.Event()

    async def child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal crashed_at
        task_status.started()
        if crashed_at:
            took.append((perf_counter_ns() - crashed_at) / 1000.0)
        if len(took) >= samples:
            done.set()
            await current_child().stop_requested.wait()
            return
        await trio.lowlevel.checkpoint()  # let the supervisor see it running
        crashed_at = perf_counter_ns()
        raise _Crash

    supervisor = Supervisor(
        [ChildSpec("crashy", child)], intensity=samples + 10, period=0.001, name="bench"
    )
    async with trio.open_nursery() as nursery:
        handle: SupervisorHandle = await nursery.start(supervisor.run)
        await done.wait()
        await handle.stop()
    return took


async def _idle(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    stop_requested = current_child().stop_requested
    task_status.started()
    await stop_requested.wait()


def _tree(children: int) -> Supervisor:
    return Supervisor([ChildSpec(f"c{i}", _idle) for i in range(children)], name="bench")


async def start_and_stop(children: int) -> tuple[float, float]:
    """Milliseconds to start, then to stop, a supervisor of ``children`` idle children."""
    supervisor = _tree(children)
    async with trio.open_nursery() as nursery:
        began = perf_counter_ns()
        handle: SupervisorHandle = await nursery.start(supervisor.run)
        started = perf_counter_ns()
        await handle.stop()
        stopped = perf_counter_ns()
    return (started - began) / 1e6, (stopped - started) / 1e6


async def memory_per_child(children: int) -> float:
    """Bytes traced per idle child: a running tree of ``children`` minus an empty one."""
    tracemalloc.start()
    try:
        async with trio.open_nursery() as nursery:
            empty: SupervisorHandle = await nursery.start(_tree(0).run)
            before = tracemalloc.get_traced_memory()[0]
            handle: SupervisorHandle = await nursery.start(_tree(children).run)
            after = tracemalloc.get_traced_memory()[0]
            await handle.stop()
            await empty.stop()
    finally:
        tracemalloc.stop()
    return (after - before) / children


async def _measure(samples: int, children: int, rounds: int) -> dict[str, list[float]]:
    logger = logging.getLogger("mmbot.supervision")
    results: dict[str, list[float]] = {}
    await crash_to_running(max(10, samples // 10))  # warm up
    logger.disabled = True
    try:
        results["crash"] = await crash_to_running(samples)
    finally:
        logger.disabled = False
    results["crash logged"] = await crash_to_running(samples)
    results["start"], results["stop"] = [], []
    for _ in range(rounds):
        start_ms, stop_ms = await start_and_stop(children)
        results["start"].append(start_ms)
        results["stop"].append(stop_ms)
    results["memory"] = [await memory_per_child(children)]
    return results


def _verdict(value: float, goal: float) -> str:
    return "met" if value <= goal else "MISSED"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench supervisor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run")
    parser.add_argument("--samples", type=int, default=20_000, help="crashes to time")
    parser.add_argument("--children", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7, help="starts and stops to time")
    args = parser.parse_args(argv)
    samples, children, rounds = (
        (50, 50, 2) if args.quick else (args.samples, args.children, args.rounds)
    )

    logger = logging.getLogger("mmbot.supervision")
    saved = (logger.handlers[:], logger.propagate)
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    try:
        results = trio.run(_measure, samples, children, rounds)
    finally:
        logger.handlers[:], logger.propagate = saved

    print(f"supervisor ({samples} crashes; {children} children x {rounds} rounds)")
    for name, label in (
        ("crash", "crash -> running again (one_for_one, no backoff)"),
        ("crash logged", "  the same, each crash a log record (NullHandler)"),
    ):
        values = results[name]
        mid = median(values)
        line = f"  {label:<50} median {mid:8.2f} us   p99 {percentile(values, 0.99):8.2f} us"
        if name == "crash":
            line += f"   goal <= {GOAL_CRASH_US:g} us: {_verdict(mid, GOAL_CRASH_US)}"
        print(line)
    for name in ("start", "stop"):
        values = results[name]
        mid = median(values)
        label = f"{name} a supervisor of {children} idle children"
        print(
            f"  {label:<50} median {mid:8.2f} ms   max {max(values):8.2f} ms   "
            f"goal <= {GOAL_TREE_MS:g} ms: {_verdict(mid, GOAL_TREE_MS)}"
        )
    label = "memory per idle child (tracemalloc)"
    print(f"  {label:<50} {results['memory'][0]:8.0f} bytes")
    print(f"machine {machine()}")
    return 0
