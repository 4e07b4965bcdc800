"""Benchmark of the matching engine: order operations per second on one core.

What it is for: ``mmbot bench matching [--ops N] [--quick] [--seed S]`` runs a seeded mix of
resting LIMIT places, cancels and crossing orders (IOC and GTC limits, some MARKET) from
three accounts against one symbol, draining the events as a shell would, and prints the
throughput and the median/p99 latency per operation type, plus the machine. Throughput is
counted on this thread's CPU time (the machine may be shared); runs are made with CPython's
default garbage-collector thresholds and with raised ones (``--gc``), since a good part of
the cost is the collector walking the engine's retained orders.

What it must never do: assert on time (figures are printed, never checked), or use
randomness other than a ``random.Random`` derived from the seed.
"""

from __future__ import annotations

import argparse
import gc
import time
from decimal import Decimal

from mmbot.bench import machine, median, percentile
from mmbot.clock import derive_rng
from mmbot.model import Instrument, OrderType, Side, TimeInForce
from mmbot.sim.engine import MatchingEngine, OrderRequest

SYMBOL = "BTCUSDT"
TICK = Decimal("0.01")
MID = 3_000_000  # ticks: 30000.00
ACCOUNTS = ("mm1", "mm2", "taker")
#: The mix: resting places, cancels, and the rest crossing orders (70% of which are IOC or
#: MARKET); a market maker cancels about as often as it places.
PLACE_SHARE = 0.45
CANCEL_SHARE = 0.40


def _engine() -> MatchingEngine:
    instrument = Instrument(
        SYMBOL,
        "BTC",
        "USDT",
        tick_size=TICK,
        step_size=Decimal("0.00001"),
        min_price=TICK,
        max_price=Decimal("1000000"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
    )
    engine = MatchingEngine([instrument])
    for account in ACCOUNTS:
        engine.open_account(account, {"BTC": Decimal(10**9), "USDT": Decimal(10**13)})
    return engine


def run(ops: int, seed: int) -> tuple[dict[str, list[float]], float]:
    """Run ``ops`` operations: latencies (µs, wall) per operation type, CPU seconds used.

    The CPU time (this thread's, summed over the operations) is what the throughput is
    computed from: on a shared machine wall time also counts other processes' turns.
    """
    rng = derive_rng(seed, "bench.matching")
    engine = _engine()
    live: list[tuple[str, int]] = []
    samples: dict[str, list[float]] = {"place": [], "cancel": [], "cross": []}
    clock = time.perf_counter_ns
    cpu = time.thread_time_ns
    cpu_ns = 0
    prices = [TICK * (MID + d) for d in range(-60, 61)]
    qtys = [Decimal(n).scaleb(-3) for n in range(1, 200)]
    sides = (Side.BUY, Side.SELL)
    for i in range(ops):
        roll = rng.random()
        now = i
        if roll < PLACE_SHARE or (roll < PLACE_SHARE + CANCEL_SHARE and not live):
            side = sides[rng.getrandbits(1)]
            offset = rng.randint(1, 60)
            price = prices[60 - offset] if side is Side.BUY else prices[60 + offset]
            account = ACCOUNTS[rng.getrandbits(1)]
            req = OrderRequest(
                account,
                SYMBOL,
                side,
                OrderType.LIMIT,
                f"c{i}",
                qtys[rng.randrange(len(qtys))],
                price,
                TimeInForce.GTC,
            )
            start, cpu_start = clock(), cpu()
            result = engine.place(req, now)
            cpu_ns += cpu() - cpu_start
            samples["place"].append((clock() - start) / 1000)
            if not isinstance(result, tuple) and hasattr(result, "order"):
                live.append((account, result.order.order_id))
        elif roll < PLACE_SHARE + CANCEL_SHARE:
            index = rng.randrange(len(live))
            live[index], live[-1] = live[-1], live[index]
            account, order_id = live.pop()
            start, cpu_start = clock(), cpu()
            engine.cancel(account, SYMBOL, now, order_id=order_id)
            cpu_ns += cpu() - cpu_start
            samples["cancel"].append((clock() - start) / 1000)
        else:
            side = sides[rng.getrandbits(1)]
            kind = rng.random()
            if kind < 0.1:
                req = OrderRequest("taker", SYMBOL, side, OrderType.MARKET, f"x{i}", qtys[20])
            else:
                through = prices[60 + 10] if side is Side.BUY else prices[60 - 10]
                tif = TimeInForce.IOC if kind < 0.7 else TimeInForce.GTC
                req = OrderRequest(
                    "taker",
                    SYMBOL,
                    side,
                    OrderType.LIMIT,
                    f"x{i}",
                    qtys[rng.randrange(len(qtys))],
                    through,
                    tif,
                )
            start, cpu_start = clock(), cpu()
            result = engine.place(req, now)
            cpu_ns += cpu() - cpu_start
            samples["cross"].append((clock() - start) / 1000)
            order = getattr(result, "order", None)
            if order is not None and order.status.is_open:
                live.append(("taker", order.order_id))
        if i % 64 == 0:
            engine.drain_events()
    engine.drain_events()
    return samples, cpu_ns / 1e9


#: gen0/gen1/gen2 thresholds of the "tuned" garbage-collector setting (CPython's default
#: is 700/10/10); a long-running exchange process may choose it, the engine does not.
TUNED_GC = (50_000, 20, 100)


def _one_setting(label: str, ops: int, runs: int, seed: int) -> float:
    best = 0.0
    for run_index in range(runs):
        gc.collect()
        started = time.perf_counter()
        samples, cpu_seconds = run(ops, seed)
        wall = time.perf_counter() - started
        engine_wall = sum(sum(s) for s in samples.values()) / 1e6
        rate = ops / cpu_seconds if cpu_seconds else 0.0
        best = max(best, rate)
        print(
            f"run {run_index + 1} ({label} gc): {rate:,.0f} ops/s (engine CPU time); "
            f"{ops / engine_wall:,.0f} ops/s (engine wall time); "
            f"{ops / wall:,.0f} ops/s (whole loop, wall)"
        )
        for name, values in samples.items():
            if values:
                print(
                    f"  {name:<7} n={len(values):>7}  median {median(values):7.2f} us"
                    f"  p99 {percentile(values, 0.99):7.2f} us"
                )
    print(f"best of {runs} ({label} gc): {best:,.0f} ops/s (engine CPU time; goal 50,000)")
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench matching", description=__doc__)
    parser.add_argument("--ops", type=int, default=200_000, help="operations per run")
    parser.add_argument("--runs", type=int, default=3, help="runs (the best is reported too)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--gc",
        choices=["default", "tuned", "both"],
        default="both",
        help=f"garbage collector thresholds: CPython's default, {TUNED_GC}, or both",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (for tests)")
    args = parser.parse_args(argv)
    ops, runs = (2_000, 1) if args.quick else (args.ops, args.runs)
    print(
        f"matching engine benchmark: {ops} ops x {runs} runs, seed {args.seed}; mix "
        f"{PLACE_SHARE:.0%} place, {CANCEL_SHARE:.0%} cancel, "
        f"{1 - PLACE_SHARE - CANCEL_SHARE:.0%} crossing"
    )
    print(f"machine: {machine()}")
    settings = {"default": gc.get_threshold(), "tuned": TUNED_GC}
    labels = ["default", "tuned"] if args.gc == "both" else [args.gc]
    original = gc.get_threshold()
    try:
        for label in labels:
            gc.set_threshold(*settings[label])
            _one_setting(label, ops, runs, args.seed)
    finally:
        gc.set_threshold(*original)
    return 0
