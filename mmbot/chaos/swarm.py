"""``mmbot chaos swarm``: many independent random fault schedules, run in parallel.

What it is for: the release gate of thousands of schedules that one process cannot run in
time. A swarm of ``N`` schedules with seed ``S``: schedule *i* has its own seed,
``derive_seed(S, "swarm:i")`` (32 bits), and is :func:`mmbot.chaos.fuzz.random_schedule`
of a ``random.Random`` derived from that seed: a random subset of the fault kinds, then faults of
those kinds, then the run's seed, drawn from the same space ``mmbot chaos fuzz`` draws from
(:class:`~mmbot.chaos.fuzz.FuzzSpace`). The schedules are made here, before anything runs,
and shipped as plain tables (:class:`SwarmTask`: the index, the seed, the scenario table);
each is one simulated run (:func:`run_task`, in a worker of :mod:`mmbot.parallel`: a
local process pool or a Dask cluster), which sends back a :class:`RunVerdict` of plain
values. A failure is shrunk here, in this process, by the fuzzer's delta debugging
(:func:`mmbot.chaos.fuzz.shrink_schedule`) and written out as a scenario file that
``mmbot chaos run`` replays.

Each run is a function of its table alone (a simulated run is deterministic: docs/decisions/
0010), so what a swarm finds depends on ``N`` and ``S`` only, never on the number of
workers, where they run or the order in which runs finish: :func:`swarm_digest` sums it up
in one hash that tests compare across worker counts.

What it must never do: ship a live object to a worker (a scenario, an exchange, a result
with its history: tables and numbers only), run two simulated runs at once in one process
(trio's scheduler RNG is process-wide: a Dask worker with several threads would mix them,
so :func:`run_task` takes a process-wide lock), or report a failure it did not see.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from mmbot.chaos.fuzz import (
    FuzzSpace,
    random_schedule,
    shrink_schedule,
    violated_invariants,
)
from mmbot.chaos.runner import ChaosResult, run_scenario
from mmbot.chaos.scenario import Scenario, ScenarioError, scenario_from_dict
from mmbot.clock import SEEDED_RUNS, derive_rng, derive_seed

#: How many violations of a failed run a verdict carries, described (the first ones).
VERDICT_DETAILS = 5


@attrs.frozen
class SwarmTask:
    """What one worker gets: the schedule, as a scenario table, and where it came from."""

    index: int
    seed: int  # the table is random_schedule(derive_rng(seed, "swarm:schedule"), space)
    table: Mapping[str, Any]
    verbose: bool = False  # let the bots' warnings through (off: the worker's log is quiet)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({f["kind"] for f in self.table["faults"]}))

    def describe(self) -> str:
        return (
            f"schedule {self.index} (seed {self.seed}): run seed {self.table['seed']}, "
            f"{len(self.table['faults'])} faults of {', '.join(self.kinds) or 'no kind'}"
        )


@attrs.frozen
class RunVerdict:
    """What one run sends back: plain values, the same wherever it ran."""

    index: int
    seed: int
    violated: tuple[str, ...]  # the invariants violated, in the scenario's order
    details: tuple[str, ...]  # the first violations, described
    digest: str  # the run's trace digest
    history_entries: int
    fills: int
    orders: int

    @property
    def passed(self) -> bool:
        return not self.violated


def schedule_seed(seed: int, index: int) -> int:
    """Schedule ``index``'s seed in the swarm of seed ``seed``."""
    return derive_seed(seed, f"swarm:{index}") % 2**32


def plan(seeds: int, seed: int, space: FuzzSpace, *, verbose: bool = False) -> list[SwarmTask]:
    """The swarm's ``seeds`` schedules (each a pure function of its own seed)."""
    tasks = []
    for index in range(seeds):
        own = schedule_seed(seed, index)
        table = random_schedule(derive_rng(own, "swarm:schedule"), space)
        tasks.append(SwarmTask(index, own, {**table, "name": f"swarm-{own}"}, verbose))
    return tasks


def run_task(task: SwarmTask) -> RunVerdict:
    """One schedule's simulated run and verdict (a worker's job; one at a time per process)."""
    logger = logging.getLogger("mmbot")
    quiet = any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    if not task.verbose and not quiet:  # a killed bot's last words are noise: the verdict says
        logger.addHandler(logging.NullHandler())  # it all (once per worker process)
    scenario = scenario_from_dict(task.table, source=f"<swarm schedule {task.index}>")
    with SEEDED_RUNS:
        result = run_scenario(scenario)
    found = [v for name in result.violations for v in result.violations[name]]
    return RunVerdict(
        index=task.index,
        seed=task.seed,
        violated=tuple(violated_invariants(result)),
        details=tuple(v.describe() for v in found[:VERDICT_DETAILS]),
        digest=result.digest,
        history_entries=result.history_entries,
        fills=result.fills,
        orders=result.orders,
    )


def swarm_digest(verdicts: Iterable[RunVerdict]) -> str:
    """One hash of what every run of a swarm found (its index, seed, trace digest and
    violated invariants): equal for equal swarms, whatever ran them."""
    rows = sorted((v.index, v.seed, v.digest, list(v.violated)) for v in verdicts)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@attrs.frozen
class Shrunk:
    """A failing schedule shrunk (here, not in a worker): the smallest table found, the
    scenario it makes, and its own run's verdict."""

    task: SwarmTask
    table: Mapping[str, Any]
    scenario: Scenario
    result: ChaosResult
    runs: int  # the runs the shrinking made, the final one included


def shrink_failure(
    task: SwarmTask, *, max_runs: int, progress: Callable[[str], None] | None = None
) -> Shrunk:
    """Shrink ``task``'s failing schedule by delta debugging over whole faults, keeping the
    invariant its run violated first (:func:`mmbot.chaos.fuzz.shrink_schedule`)."""
    say = progress or (lambda _text: None)
    runs = 0

    def violated(table: Mapping[str, Any], note: str) -> list[str]:
        nonlocal runs
        runs += 1
        try:
            scenario = scenario_from_dict(table, source="<swarm shrink>")
        except ScenarioError:
            return []  # a subset the harness cannot run: not a finding
        found = violated_invariants(run_scenario(scenario))
        verdict = "FAIL " + ", ".join(found) if found else "ok"
        say(f"shrink {task.index}, run {runs}{note}: {len(table['faults'])} faults: {verdict}")
        return found

    table = shrink_schedule(task.table, violated, max_runs)
    scenario = scenario_from_dict(table, source="<swarm shrink>")
    result = run_scenario(scenario)  # the minimal one again: its verdict, not a neighbour's
    return Shrunk(task, table, scenario, result, runs + 1)
