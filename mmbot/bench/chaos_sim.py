"""``mmbot bench chaos_sim``: a 10-minute simulated chaos run with 4 symbols, in how much wall time.

What it is for: the chaos issue's speed goal, a 10-minute simulated scenario with 4 symbols
in at most 10 s of wall time. The scenario (:func:`scenario_table`) is 4 symbols, a 540 s
safety phase and a 60 s liveness phase, the fuzzer's tight quote (so the market's takers
fill the bot), and a representative fault mix on its timeline: order latency spikes, 5xx
answers, lost answers, a slow market-data spell, a short burst of 429s with Retry-After,
and the bot killed and restarted once. Each repetition is one run
(:func:`mmbot.chaos.runner.run_once`, as ``mmbot chaos run`` makes it) and one check of
every invariant over its history, timed apart; the figures are the medians over
``--repeat`` repetitions (the same seed: each repetition is the same run, its trace digest
printed to show it), against the goal, with the CPU time and what the run held (history
entries, order actions, fills), so the wall time can be read against the work.

What it must never do: assert on time (it prints figures); read the wall clock except
through ``mmbot.clock.perf_counter_ns`` (``time.process_time`` measures CPU only).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

from mmbot.bench import machine, median
from mmbot.chaos.fuzz import NOT_WITH_CRASHES, FuzzSpace
from mmbot.chaos.invariants import INVARIANTS, check
from mmbot.chaos.runner import bot_config, run_once
from mmbot.chaos.scenario import scenario_from_dict
from mmbot.clock import perf_counter_ns

GOAL_WALL_S = 10.0
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")


def scenario_table(duration: float = 540.0, heal: float = 60.0, symbols: int = 4) -> dict[str, Any]:
    """The benchmark's scenario: its faults placed at fractions of the safety phase."""

    def at(fraction: float) -> float:
        return round(duration * fraction, 1)

    faults: list[dict[str, Any]] = [
        {"kind": "latency", "target": "orders", "delay": 0.3, "jitter": 0.2,
         "start": at(0.05), "duration": at(0.2), "probability": 0.5},
        {"kind": "error", "target": "orders", "status": 503, "code": -1008,
         "start": at(0.3), "duration": at(0.1), "probability": 0.3},
        {"kind": "lost_ack", "target": "orders", "mode": "unknown",
         "start": at(0.45), "duration": at(0.1), "probability": 0.2},
        {"kind": "latency", "target": "market_data", "delay": 1.0,
         "start": at(0.6), "duration": at(0.05)},
        {"kind": "error", "target": "orders", "status": 429, "code": -1003, "retry_after": 1,
         "start": at(0.7), "duration": at(0.01), "probability": 0.2},
        {"kind": "crash_bot", "start": at(0.8), "restart_after": 2.0},
    ]  # fmt: skip
    return {
        "name": "bench_chaos_sim",
        "symbols": list(SYMBOLS[:symbols]),
        "seed": 1,
        "duration": duration,
        "heal": heal,
        "faults": faults,
        # the fuzzer's tight quote, so the market's takers fill the bot
        "bot": {section: dict(values) for section, values in FuzzSpace().bot.items()},
        # every invariant one run checks (deterministic_replay would run it twice), but
        # position_within_limit, which a crash breaks until a restarted bot knows the
        # position its predecessor left (chaos/known/inherited_position_after_crash.toml)
        "invariants": [
            name for name in INVARIANTS if name not in ("deterministic_replay", *NOT_WITH_CRASHES)
        ],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench chaos_sim", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run (2 symbols, 50 + 10 simulated s, once)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    table = scenario_table(50.0, 10.0, 2) if args.quick else scenario_table()
    repeat = 1 if args.quick else args.repeat
    scenario = scenario_from_dict({**table, "seed": args.seed}, source="<bench chaos_sim>")
    config = bot_config(scenario)
    logging.getLogger("mmbot").addHandler(logging.NullHandler())  # a killed bot's last words
    simulated = scenario.duration + scenario.heal
    print(
        f"bench chaos_sim: {len(scenario.symbols)} symbols, {simulated:g} simulated s "
        f"(safety {scenario.duration:g} s + liveness {scenario.heal:g} s), seed {args.seed}, "
        f"{repeat} repetition(s)"
    )
    print(f"  faults: {scenario.describe_faults()}")
    runs, checks, cpus = [], [], []
    for _ in range(repeat):
        cpu_started, started = time.process_time(), perf_counter_ns()
        run = run_once(scenario, args.seed, config)
        ran = perf_counter_ns()
        assert run.record is not None
        entries = len(run.record.history)
        violations = check(run.record, scenario.invariants)
        checked = perf_counter_ns()
        cpus.append(time.process_time() - cpu_started)
        runs.append((ran - started) / 1e9)
        checks.append((checked - ran) / 1e9)
        failed = sorted(name for name, found in violations.items() if found)
        print(
            f"  run {len(runs)}: {runs[-1] + checks[-1]:.2f} s wall (run {runs[-1]:.2f} s, "
            f"checks {checks[-1]:.2f} s), cpu {cpus[-1]:.2f} s; digest {run.digest[:16]}; "
            f"{'every invariant held' if not failed else 'VIOLATED: ' + ', '.join(failed)}"
        )
    total = median([r + c for r, c in zip(runs, checks, strict=True)])
    if simulated >= 600:
        verdict = "met" if total <= GOAL_WALL_S else "NOT met"
    else:
        verdict = f"not judged: {simulated:g} simulated s, {len(scenario.symbols)} symbols"
    print(
        f"  wall time:   median {total:.2f} s (goal: <= {GOAL_WALL_S:g} s for 10 minutes "
        f"with 4 symbols: {verdict})"
    )
    print(f"  of which:    run {median(runs):.2f} s, invariant checks {median(checks):.2f} s")
    print(f"  cpu time:    median {median(cpus):.2f} s")
    print(f"  speed-up:    {simulated / total:.0f}x real time")
    print(
        f"  the run:     {entries} history entries, {run.orders} order actions, {run.fills} fills"
    )
    print(f"  machine:     {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    return 0
