"""``mmbot bench swarm``: chaos swarm throughput, schedules per minute per core, 1 and 2 workers.

What it is for: the chaos issue's swarm figures: how many random fault schedules (the ones
``mmbot chaos swarm`` runs: :func:`mmbot.chaos.swarm.plan`, the fuzzer's space, 2 symbols,
20 s safety + 10 s liveness by default) one core gets through per minute, and how that
scales from 1 to 2 local worker processes (:func:`mmbot.parallel.map_unordered`). Each
measurement runs the same ``--schedules`` schedules (same seed) from the pool's start to
its last result, so the workers' start-up (a spawned interpreter importing mmbot) is in
it, as it is for a user; the ratio is (throughput with 2) / (throughput with 1), 2.0 being
perfect. With ``--repeat`` the figures are medians. The swarm digests of the two are
printed too: equal, as the findings do not depend on the workers.

Beside the wall figures it prints the workers' CPU time (``getrusage`` of the reaped
children) and how many cores they kept busy on average: on a machine shared with other work,
a ratio far below 2.0 with 2 workers that were busy well under 2 cores is the machine's
load, not the swarm's scaling.

What it must never do: assert on time (it prints figures), or read the wall clock except
through ``mmbot.clock.perf_counter_ns``.
"""

from __future__ import annotations

import argparse
import os
import resource

import attrs

from mmbot.bench import machine, median
from mmbot.chaos.fuzz import FuzzSpace
from mmbot.chaos.swarm import plan, run_task, swarm_digest
from mmbot.clock import perf_counter_ns
from mmbot.parallel import default_workers, map_unordered


@attrs.frozen
class SwarmTiming:
    wall_s: float
    cpu_s: float  # the workers' CPU time (user + system), start-up included
    digest: str


def timed_swarm(schedules: int, seed: int, space: FuzzSpace, workers: int) -> SwarmTiming:
    """One swarm on ``workers`` processes: wall and the workers' CPU seconds, its digest."""
    tasks = plan(schedules, seed, space)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = perf_counter_ns()
    results = list(map_unordered(run_task, tasks, workers=workers))  # the pool reaps them
    wall_s = (perf_counter_ns() - started) / 1e9
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    failed = [r for r in results if r.value is None]
    if failed:
        raise RuntimeError(f"a schedule raised in its worker: {failed[0].error}")
    digest = swarm_digest(r.value for r in results if r.value is not None)
    return SwarmTiming(wall_s, cpu_s, digest)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench swarm", description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=40, help="schedules per swarm (40)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run (4 short schedules, 5 + 5 s)"
    )
    args = parser.parse_args(argv)
    if args.schedules < 1 or args.repeat < 1:
        parser.error("--schedules and --repeat must be at least 1")
    space = FuzzSpace(duration=5.0, heal=5.0) if args.quick else FuzzSpace()
    schedules = 4 if args.quick else args.schedules
    print(
        f"bench swarm: {schedules} schedules (seed {args.seed}), each {len(space.symbols)} "
        f"symbols, safety {space.duration:g} s + liveness {space.heal:g} s simulated, up to "
        f"{space.max_faults} faults; {args.repeat} repetition(s); this process may use "
        f"{default_workers()} cpus"
    )
    per_core: dict[int, float] = {}
    digests: dict[int, str] = {}
    for workers in (1, 2):
        timings = [timed_swarm(schedules, args.seed, space, workers) for _ in range(args.repeat)]
        digests[workers] = timings[-1].digest
        wall, cpu = median([t.wall_s for t in timings]), median([t.cpu_s for t in timings])
        per_minute = schedules / wall * 60
        per_core[workers] = per_minute / workers
        print(
            f"  {workers} worker(s): {wall:.1f} s wall, {per_minute:.0f} schedules/min, "
            f"{per_core[workers]:.0f} per minute per core (runs: "
            f"{', '.join(f'{t.wall_s:.1f}' for t in timings)} s)"
        )
        print(
            f"               workers' cpu {cpu:.1f} s ({cpu / wall:.2f} cores busy on "
            f"average), {schedules / cpu * 60:.0f} schedules per cpu-minute"
        )
    scaling = per_core[2] * 2 / per_core[1]
    print(f"  scaling 1 -> 2 workers: {scaling:.2f}x the throughput (2.00 would be perfect)")
    same = "the same" if digests[1] == digests[2] else "DIFFERENT (a determinism bug)"
    print(f"  swarm digests: {digests[1][:16]} / {digests[2][:16]}: {same}")
    print(f"  machine:     {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    return 0
