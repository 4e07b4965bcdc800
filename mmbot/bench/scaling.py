"""``mmbot bench scaling``: the audit's scenario with 4, 16 and 64 symbols.

What it is for: showing that a symbol's quote cycle does not grow with the number of
symbols (symbols never wait for each other): the bot on loopback against the fake exchange
(a child process) holding every order request 200 ms, with ``SYM01USDT``... symbols (price
100, default activity) and the default config, once per size. Prints the quote cycle's P95
for each size and P95(64) / P95(4) (goal: at most 1.2). The rate limits are lifted on both
sides and the bot's HTTP pool is widened (``mmbot bench loopback``), so limits are not what
is measured. The windows differ by size (more symbols, more samples per second).

What it must never do: assert on time (it prints figures); run past a minute by default.
"""

from __future__ import annotations

import argparse

from mmbot.bench import machine
from mmbot.bench.loopback import (
    Scenario,
    generic_symbols,
    limits_line,
    p95,
    percentiles_line,
    run_scenario,
    scenario_arguments,
)

ORDER_LATENCY = 0.2
GOAL_RATIO = 1.2
#: Symbols -> window seconds of the default run.
SIZES = {4: 16.0, 16: 10.0, 64: 8.0}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench scaling", description=__doc__.splitlines()[0]
    )
    scenario_arguments(parser)
    args = parser.parse_args(argv)
    sizes = {1: 0.5, 2: 0.5} if args.quick else SIZES
    print(
        f"bench scaling: {', '.join(map(str, sizes))} symbols, "
        f"{ORDER_LATENCY * 1000:g} ms on every order request, default config"
    )
    p95s: dict[int, float] = {}
    for count, seconds in sizes.items():
        scenario = Scenario(
            symbols=generic_symbols(count),
            seconds=args.seconds or seconds,
            warmup=0.0 if args.quick else args.warmup,
            order_latency=ORDER_LATENCY,
            seed=args.seed,
        )
        run = run_scenario(scenario)
        ours = run.ours
        p95s[count] = p95(ours.cycles)
        print(f"  {count:>2} symbols: quote cycle {percentiles_line(ours.cycles)}")
        print(
            f"              window {scenario.seconds:g} s, {ours.actions / ours.seconds:.1f} "
            f"actions/s, bot cpu {ours.cpu_seconds / ours.seconds:.0%}; "
            f"429s {run.exchange.too_many}, 418s {run.exchange.bans}"
        )
    smallest, largest = min(p95s), max(p95s)
    ratio = p95s[largest] / p95s[smallest]
    met = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"  P95({largest}) / P95({smallest}) = {ratio:.2f} (goal: at most {GOAL_RATIO}: {met})")
    print(f"  {limits_line()}")
    print(f"  machine:     {machine()}")
    return 0
