"""``mmbot bench reaction``: tick-to-order with 16 symbols on loopback.

What it is for: ``mmbot_tick_to_order_seconds`` (a book change received -> its order
request started by the action, before signing and the HTTP exchange) P50/P95/P99 from the
raw samples the bot's metrics observer sees, with 16 symbols (``SYM01USDT``...) and the
default config against the fake exchange on loopback (a child process, no latency fault,
limits lifted). Goal: P99 at most 2 ms. Also prints the bot process's CPU share (a busy
loop delays every book behind the others: the fake exchange closes every symbol's depth
window at the same instant, the worst case for one process).

What it must never do: assert on time (it prints figures); run past a minute by default.
"""

from __future__ import annotations

import argparse

from mmbot.bench import machine, percentile
from mmbot.bench.loopback import (
    Scenario,
    exchange_line,
    generic_symbols,
    limits_line,
    percentiles_line,
    run_scenario,
    scenario_arguments,
)

SYMBOLS = 16
GOAL_P99 = 0.002


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench reaction", description=__doc__.splitlines()[0]
    )
    scenario_arguments(parser)
    args = parser.parse_args(argv)
    scenario = Scenario(
        symbols=generic_symbols(4 if args.quick else SYMBOLS),
        seconds=0.5 if args.quick else (args.seconds or 30.0),
        warmup=0.0 if args.quick else args.warmup,
        seed=args.seed,
    )
    print(f"bench reaction: {scenario.describe()}")
    run = run_scenario(scenario)
    ours = run.ours
    print("  tick to order: book change received -> order request started")
    print(f"    {percentiles_line(ours.ticks)}")
    if ours.ticks:
        p99 = percentile(ours.ticks, 0.99)
        met = "met" if p99 <= GOAL_P99 else "NOT met"
        print(f"    goal: P99 <= {GOAL_P99 * 1000:g} ms: {met}")
    print(
        f"  decisions:   {ours.decisions / ours.seconds:.1f}/s; "
        f"orders {ours.actions / ours.seconds:.1f}/s; "
        f"bot process cpu {ours.cpu_seconds / ours.seconds:.0%}"
    )
    print(f"  {exchange_line(run.exchange)}")
    print(f"  {limits_line()}")
    print(f"  machine:     {machine()}")
    return 0
