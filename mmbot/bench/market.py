"""``mmbot bench market``: how fast the seeded market simulator runs with the matching engine.

What it is for: printing simulated seconds per wall second and the CPU cost per simulated
second per symbol of the market simulator plus matching engine alone (no streams, no I/O),
at default market activity. The whole simulated exchange must run 4 symbols at >= 200× real
time, so this part should stay well under 0.5 ms of CPU per simulated second per symbol.

What it must never do: assert on time (it prints figures), or touch the network.
"""

from __future__ import annotations

import argparse
import time

from mmbot.bench import machine, median, percentile
from mmbot.clock import derive_rng
from mmbot.sim.engine import Fees
from mmbot.sim.market import MarketSimulator, default_market

_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT"]
_START_MS = 1_700_000_000_000
_CHUNK_S = 10


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench market", description=__doc__)
    parser.add_argument("--symbols", type=int, default=4, help="number of symbols (default 4)")
    parser.add_argument("--seconds", type=int, default=900, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny run (2 symbols, 20 s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.symbols, args.seconds = 2, 20
    if not 1 <= args.symbols <= len(_SYMBOLS):
        parser.error(f"--symbols must be within 1..{len(_SYMBOLS)}")
    seconds = max(_CHUNK_S, args.seconds // _CHUNK_S * _CHUNK_S)

    from mmbot.sim.engine import MatchingEngine

    instruments, configs = default_market(_SYMBOLS[: args.symbols])
    engine = MatchingEngine(instruments, Fees())
    market = MarketSimulator(engine, configs, derive_rng(args.seed, "market"))
    market.start(_START_MS)
    engine.drain_events()

    events = 0
    chunk_cpu: list[float] = []  # CPU seconds per chunk
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for chunk in range(seconds // _CHUNK_S):
        end_ms = _START_MS + (chunk + 1) * _CHUNK_S * 1000
        started = time.process_time()
        while market.next_event_ms() <= end_ms:
            market.advance(market.next_event_ms())
            events += len(engine.drain_events())
        chunk_cpu.append(time.process_time() - started)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    per_symbol_us = [c / _CHUNK_S / args.symbols * 1e6 for c in chunk_cpu]
    stats = market.statistics()
    print(f"market simulator + matching engine, {args.symbols} symbols, {seconds} s simulated")
    print(f"  speed: {seconds / wall:,.0f}x real time ({wall:.3f} s wall, {cpu:.3f} s cpu)")
    print(
        "  cpu per simulated second per symbol: "
        f"median {median(per_symbol_us):,.1f} us, p99 {percentile(per_symbol_us, 0.99):,.1f} us "
        f"(budget 500 us)"
    )
    print(f"  engine events: {events:,} ({events / seconds / args.symbols:,.1f} /s/symbol)")
    print(
        f"  activity: {stats.reference_updates:,} reference updates, {stats.jumps} jumps, "
        f"{stats.taker_orders:,} taker orders ({stats.informed_orders:,} informed), "
        f"{stats.taker_fills:,} taker fills, {stats.maker_places:,} maker places, "
        f"{stats.maker_cancels:,} maker cancels, {stats.rejections:,} rejections"
    )
    print(f"  machine: {machine()}")
    return 0
