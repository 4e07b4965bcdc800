"""``mmbot bench audit``: the audit's scenario: 4 symbols, 200 ms on every order request.

What it is for: the quote-cycle latency (a decision's book received -> every order action
of that decision answered) of the bot, P50/P95/P99, beside the audited predecessor's
behaviour measured in the same run: :class:`~mmbot.bench.loopback.SequentialBaseline`
(symbols one after another, each symbol's actions awaited one by one) on the same
exchange, symbols and config at the same time. The fake exchange runs in a child process
on 127.0.0.1 with the latency fault (``FaultPlan.order_latency``) holding every order
request 200 ms; the bot is ``mmbot run``'s default (paper) config on loopback, with the
rate limits lifted on both sides (``mmbot bench loopback`` says how). Goal: our P95 at most
1.15 x 200 ms; the audit saw the predecessor at ~1,400 ms (4 symbols x 350 ms).

``--price-tolerance-bps 0`` makes both bots requote on every move of the book (the
predecessor's habit), so slots are often still in flight when the next book comes.

What it must never do: assert on time (it prints figures); run past a minute by default.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from mmbot.bench import machine
from mmbot.bench.loopback import (
    DEFAULT_SYMBOLS,
    Scenario,
    exchange_line,
    limits_line,
    p95,
    percentiles_line,
    run_scenario,
    scenario_arguments,
)

ORDER_LATENCY = 0.2
GOAL_FACTOR = 1.15
AUDIT_SEQUENTIAL_MS = 1400


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench audit", description=__doc__.splitlines()[0])
    parser.add_argument("--price-tolerance-bps", type=Decimal, default=None)
    scenario_arguments(parser)
    args = parser.parse_args(argv)
    scenario = Scenario(
        symbols=DEFAULT_SYMBOLS,
        seconds=0.5 if args.quick else (args.seconds or 30.0),
        warmup=0.0 if args.quick else args.warmup,
        order_latency=ORDER_LATENCY,
        price_tolerance_bps=args.price_tolerance_bps,
        baseline=True,
        seed=args.seed,
    )
    goal = GOAL_FACTOR * ORDER_LATENCY
    print(f"bench audit: {scenario.describe()}")
    config = "mmbot run's default config"
    if args.price_tolerance_bps is not None:
        config += f" with orders.price_tolerance_bps = {args.price_tolerance_bps}"
    print(f"  fake exchange in a child process on 127.0.0.1; both bots: {config}")
    run = run_scenario(scenario)
    ours, baseline = run.ours, run.baseline
    assert baseline is not None  # the scenario runs it
    ours_p95, theirs_p95 = p95(ours.cycles), p95(baseline.cycles)
    met = "met" if ours_p95 <= goal else "NOT met"
    print("  quote cycle: book received -> every order action of that decision answered")
    print(f"    ours:        {percentiles_line(ours.cycles)}")
    print(f"                 goal: P95 <= {GOAL_FACTOR} x {ORDER_LATENCY * 1000:g} ms = "
          f"{goal * 1000:.0f} ms: {met}")  # fmt: skip
    print(f"    sequential:  {percentiles_line(baseline.cycles)}")
    print(f"                 (the audit saw the predecessor at ~{AUDIT_SEQUENTIAL_MS:,} ms)")
    print(f"    ratio:       sequential P95 / ours P95 = {theirs_p95 / ours_p95:.1f}x")
    print(
        f"  actions:     ours {ours.actions / ours.seconds:.1f}/s, "
        f"sequential {baseline.actions / baseline.seconds:.1f}/s in the window"
    )
    print(f"  {exchange_line(run.exchange)}")
    print(f"  {limits_line()}")
    print(f"  machine:     {machine()}")
    return 0
