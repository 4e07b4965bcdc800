"""Benchmark ``mmbot bench pipeline``: one quote decision through the ``adaptive`` pipeline.

What it is for: per-stage median and p99 and the total per decision, on a realistic book
(BTCUSDT-like filters, 20 levels a side, a random-walk mid, a few trades per decision at
exponentially distributed distances from the mid, so the calibration stage counts and
refits, moving inventory), 2 levels a side; and ``reconcile`` with 10 live orders. Goals
(issue 5): decision median <= 30 us, p99 <= 100 us; reconcile median <= 20 us. The sample
instrument and books come from :mod:`mmbot.testing`, as the tests' do. ``--without STAGE``
runs the same strategy without a stage (the cost of one stage, e.g. ``calibration``).

What it must never do: assert on time. It prints figures and the machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import attrs

from mmbot.bench import machine, median, percentile
from mmbot.clock import derive_rng, perf_counter_ns
from mmbot.config import load_strategy
from mmbot.model import QuoteSet, Side
from mmbot.quoting.orders import OrderState, TrackedOrder, reconcile
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import FRESH_STATE, QuoteInputs, TradeTick
from mmbot.quoting.strategy import build_pipeline
from mmbot.testing import sample_book, sample_instrument

ADAPTIVE = Path(__file__).resolve().parents[2] / "configs" / "strategies" / "adaptive.toml"


def _reconcile_runner(desired: QuoteSet) -> Callable[[], object]:
    """A no-argument call of ``reconcile(desired, live, now)`` with 10 live orders.

    5 levels a side live (the desired set has 2): levels 0-1 drift by one tick, 2-4 go.
    """
    live = [
        TrackedOrder(
            client_order_id=f"mm-bench-{side.value[0]}{level}",
            symbol=desired.symbol,
            side=side,
            level=level,
            price=top.price + Decimal("0.01") * (level + 1) * (-side.sign),
            quantity=top.quantity,
            state=OrderState.OPEN,
            order_id=1_000 + level * 2 + (side is Side.SELL),
        )
        for side, top in ((Side.BUY, desired.bids[0]), (Side.SELL, desired.asks[0]))
        for level in range(5)
    ]
    return lambda: reconcile(desired, live, 0.0)


def _row(name: str, samples_ns: list[int]) -> str:
    mid_us = median(samples_ns) / 1e3
    p99_us = percentile(samples_ns, 0.99) / 1e3
    return f"{name:<12} {mid_us:>10.2f} {p99_us:>10.2f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench pipeline", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny run (shape only)")
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--config", type=Path, default=ADAPTIVE)
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="STAGE",
        help="leave this stage out of the strategy's list (repeatable)",
    )
    args = parser.parse_args(argv)
    n = 200 if args.quick else args.decisions

    config: StrategyConfig = load_strategy(args.config)
    unknown = [name for name in args.without if name not in config.stages]
    if unknown:
        parser.error(f"--without: not in the strategy's stages: {', '.join(unknown)}")
    config = attrs.evolve(
        config,
        stages=tuple(name for name in config.stages if name not in args.without),
        sizing=attrs.evolve(config.sizing, levels=2),
    )
    pipeline = build_pipeline(config)
    instrument = sample_instrument()
    rng = derive_rng(7, "bench-pipeline")

    # inputs prepared up front, so only the decision is timed
    decisions: list[QuoteInputs] = []
    mid = 6_500_000  # ticks: 65,000.00
    position = Decimal(0)
    for i in range(n):
        mid += rng.choice((-3, -1, 0, 0, 1, 3))
        now = i * 0.05
        book = sample_book(mid, spread_ticks=rng.choice((1, 2, 4)), received_at=now - 0.01)
        # takers at an Exp(0.5 per bps) distance from the mid, either side, to the tick
        trades = tuple(
            TradeTick(
                now - 0.001 * k,
                Decimal(mid + side * round(rng.expovariate(0.5) * mid * 1e-4)) / 100,
                Decimal("0.002"),
                Side.BUY if side > 0 else Side.SELL,
            )
            for k in reversed(range(rng.randrange(0, 4)))
            for side in (rng.choice((-1, 1)),)
        )
        position = max(
            min(position + Decimal(rng.choice((-1, 0, 1))) / 1000, config.sizing.max_position),
            -config.sizing.max_position,
        )
        decisions.append(
            QuoteInputs(
                symbol="BTCUSDT",
                instrument=instrument,
                now=now,
                book=book,
                params=config,
                position=position,
                trades=trades,
            )
        )

    per_stage: dict[str, list[int]] = {name: [] for name in pipeline.names}
    totals: list[int] = []
    state = FRESH_STATE
    quoted = 0
    last_decision: QuoteSet | None = None
    for inputs in decisions:
        result, timings = pipeline.run(inputs, perf_counter_ns, state)
        state = result.state
        for name, ns in timings.items():
            per_stage[name].append(ns)
        totals.append(timings.total_ns)
        if result.quotes is not None and not result.quotes.is_empty:
            quoted += 1
            last_decision = result.quotes

    without = f", without {', '.join(args.without)}" if args.without else ""
    print(
        f"mmbot bench pipeline: strategy {config.name!r}{without},"
        f" {config.sizing.levels} levels a side"
    )
    print(f"decisions: {n} ({quoted} with quotes)")
    print(f"{'stage':<12} {'median_us':>10} {'p99_us':>10}")
    for name, samples in per_stage.items():
        if samples:
            print(_row(name, samples))
    print(_row("total", totals) + "   (goal: median <= 30, p99 <= 100)")

    if last_decision is None:
        print("reconcile: skipped (no decision produced quotes)")
    else:
        runner = _reconcile_runner(last_decision)
        samples = []
        for _ in range(n):
            start = perf_counter_ns()
            runner()
            samples.append(perf_counter_ns() - start)
        print(
            f"reconcile (10 live): median_us {median(samples) / 1e3:.2f} "
            f"p99_us {percentile(samples, 0.99) / 1e3:.2f}   (goal: median <= 20)"
        )
    print(f"machine: {machine()}")
    return 0
