"""Benchmark ``reconcile``: 10 live orders (5 levels a side) against a moving desired set.

What it is for: printing the median and p99 microseconds per ``reconcile`` call (goal:
median at most 20 µs on the 2-core reference machine) and the machine. ``time_reconcile``
is reused by the pipeline benchmark.

What it must never do: assert on a figure (it prints them), or contact anything.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from time import perf_counter

from mmbot.bench import machine, median, percentile
from mmbot.model import Quote, QuoteSet, Side
from mmbot.quoting.orders import OrderState, Tolerances, TrackedOrder, reconcile

_LEVELS = 5
_MOVE = Decimal("5.00")  # more than the 1 bps tolerance at 30 000


def _scenario(step: int) -> tuple[QuoteSet, list[TrackedOrder]]:
    """10 resting orders; in the desired set the inner two levels of each side move."""
    mid = Decimal(30_000)
    live: list[TrackedOrder] = []
    bids: list[Quote] = []
    asks: list[Quote] = []
    for level in range(_LEVELS):
        offset = Decimal(level + 1) * Decimal("0.5")
        size = Decimal("0.01") * (level + 1)
        move = _MOVE * (1 + step % 3) if level < 2 else Decimal(0)
        for side, price in ((Side.BUY, mid - offset), (Side.SELL, mid + offset)):
            cid = f"mm-bench-{side.value[0]}{level}"
            live.append(TrackedOrder(cid, "BTCUSDT", side, level, price, size, OrderState.OPEN))
            quote = Quote(side, level, price + move * side.sign, size)
            (bids if side is Side.BUY else asks).append(quote)
    return QuoteSet("BTCUSDT", tuple(bids), tuple(asks)), live


def time_reconcile(iterations: int) -> list[float]:
    """Seconds per ``reconcile`` call, one sample per call."""
    scenarios = [_scenario(step) for step in range(3)]
    tolerances = Tolerances(price_bps=Decimal(1), size_ratio=Decimal("0.1"))
    samples: list[float] = []
    for i in range(iterations):
        desired, live = scenarios[i % 3]
        start = perf_counter()
        reconcile(desired, live, 0.0, tolerances)
        samples.append(perf_counter() - start)
    return samples


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench reconcile", description=__doc__)
    parser.add_argument("--iterations", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="a tiny run (shape only)")
    args = parser.parse_args(argv)
    iterations = 500 if args.quick else args.iterations
    time_reconcile(min(iterations, 1000))  # warm up
    samples = time_reconcile(iterations)
    desired, live = _scenario(0)
    actions = reconcile(desired, live, 0.0, Tolerances(price_bps=Decimal(1)))
    print(f"reconcile: {len(live)} live orders, {len(actions)} actions per call")
    print(f"iterations: {iterations}")
    print(f"median_us: {median(samples) * 1e6:.2f}")
    print(f"p99_us: {percentile(samples, 0.99) * 1e6:.2f}")
    print("goal: median <= 20 us")
    print(f"machine: {machine()}")
    return 0
