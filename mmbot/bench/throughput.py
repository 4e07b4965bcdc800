"""``mmbot bench throughput``: decisions and order actions per second, sustained, on loopback.

What it is for: how much quoting the bot sustains against the fake exchange on loopback (a
child process, no latency fault, rate limits lifted on both sides): quote decisions per
second, order actions (place, cancel, cancel-replace) per second and actions per decision,
over the window. The load: 32 symbols (``SYM01USDT``...), 10 quotes per side, price
tolerance 0 bps (every move of the book requotes every level that moved): more than the
bot's one core keeps up with, so the figure is the bot's capacity, not the market's pace
(with 5 quotes a side the bot idles part of the time; more symbols make the exchange's own
process, on the other core, the bottleneck). Goal: at least 1,000 actions per second (the audit's
target was 40). Also prints the CPU share of the bot process and the exchange process's
CPU time, to show which side is the bottleneck.

What it must never do: assert on time (it prints figures); run past a minute by default.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from mmbot.bench import machine
from mmbot.bench.loopback import (
    Scenario,
    exchange_line,
    generic_symbols,
    limits_line,
    run_scenario,
    scenario_arguments,
)

SYMBOLS = 32
LEVELS = 10
GOAL_ACTIONS_PER_S = 1000.0
AUDIT_TARGET_PER_S = 40.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench throughput", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--symbols", type=int, default=SYMBOLS)
    parser.add_argument("--levels", type=int, default=LEVELS)
    scenario_arguments(parser)
    args = parser.parse_args(argv)
    scenario = Scenario(
        symbols=generic_symbols(2 if args.quick else args.symbols),
        seconds=0.5 if args.quick else (args.seconds or 20.0),
        warmup=0.0 if args.quick else args.warmup,
        price_tolerance_bps=Decimal(0),
        levels=args.levels,
        seed=args.seed,
    )
    print(f"bench throughput: {scenario.describe()}")
    run = run_scenario(scenario)
    ours = run.ours
    actions_per_s = ours.actions / ours.seconds
    met = "met" if actions_per_s >= GOAL_ACTIONS_PER_S else "NOT met"
    print(f"  decisions:   {ours.decisions / ours.seconds:,.1f}/s")
    print(
        f"  actions:     {actions_per_s:,.1f}/s (goal: >= {GOAL_ACTIONS_PER_S:,.0f}/s: {met}; "
        f"the audit's target: {AUDIT_TARGET_PER_S:.0f}/s)"
    )
    print(f"  per decision: {ours.actions / max(1, ours.decisions):.2f} actions")
    print(
        f"  cpu:         bot process {ours.cpu_seconds / ours.seconds:.0%} of a core in the "
        f"window; exchange process {run.exchange.cpu_seconds:.1f} s over the whole run"
    )
    print(f"  {exchange_line(run.exchange)}")
    print(f"  {limits_line()}")
    print(f"  machine:     {machine()}")
    return 0
