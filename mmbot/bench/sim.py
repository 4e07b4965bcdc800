"""``mmbot bench sim``: how much faster than real time the simulated exchange runs.

What it is for: measuring simulated mode end to end: N symbols at default market activity
under ``MockClock(autojump_threshold=0)``, one subscriber on the combined
``depth@100ms`` / ``bookTicker`` / ``trade`` streams of every symbol over the in-process
WebSocket connector, for a span of simulated time. Prints the simulated/wall speed-up
(goal: at least 200x with 4 symbols), the messages delivered and the machine.

It also prints the CPU time (the machine is shared: wall time depends on the load) and the
background market's activity (trades, taker orders and book updates per symbol per
second), so a speed-up can be read against the activity that produced it.

What it must never do: assert on timing (it prints figures); read the wall clock except
through ``mmbot.clock.perf_counter_ns`` (``time.process_time`` measures CPU time only).
"""

from __future__ import annotations

import argparse
import time

import attrs
import trio
import trio.testing

from mmbot.bench import machine
from mmbot.clock import perf_counter_ns, seed_trio_scheduler
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.streams import StreamKind, stream_name

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT")
GOAL_SPEEDUP = 200.0


@attrs.frozen
class SimRun:
    """What one run delivered, and the background market's activity."""

    received: int
    digest: str
    trades: int
    taker_orders: int
    book_updates: int


async def run_sim(symbols: tuple[str, ...], sim_seconds: float, seed: int) -> SimRun:
    """Run the exchange with one combined-stream subscriber for ``sim_seconds``."""
    exchange = Exchange.simulated(ExchangeConfig(symbols=symbols, seed=seed))
    venue = InProcessExchange(exchange)
    kinds = (StreamKind.DEPTH_100MS, StreamKind.BOOK_TICKER, StreamKind.TRADE)
    streams = "/".join(stream_name(s, k) for s in symbols for k in kinds)
    received = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        ws = await venue.connect_ws(nursery, f"/stream?streams={streams}")
        with trio.move_on_after(sim_seconds):
            while True:
                await ws.get_message()
                received += 1
        await ws.aclose()
        nursery.cancel_scope.cancel()
    market = exchange.market.statistics()
    return SimRun(
        received=received,
        digest=exchange.history.digest(),
        trades=len(exchange.history.entries(EntryKind.PUBLIC_TRADE)),
        taker_orders=market.taker_orders,
        book_updates=len(exchange.history.entries(EntryKind.BOOK_DELTA)),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench sim", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=4, help="number of symbols (1..8)")
    parser.add_argument("--sim-seconds", type=float, default=3600.0, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny run (60 simulated s)")
    args = parser.parse_args(argv)
    if not 1 <= args.symbols <= len(SYMBOLS):
        parser.error(f"--symbols must be within 1..{len(SYMBOLS)}")
    sim_seconds = 60.0 if args.quick else args.sim_seconds
    symbols = SYMBOLS[: args.symbols]

    seed_trio_scheduler(args.seed)
    clock = trio.testing.MockClock(autojump_threshold=0)
    started, cpu_started = perf_counter_ns(), time.process_time()
    run = trio.run(run_sim, symbols, sim_seconds, args.seed, clock=clock)
    wall_s = (perf_counter_ns() - started) / 1e9
    cpu_s = time.process_time() - cpu_started
    speedup = sim_seconds / wall_s if wall_s > 0 else float("inf")
    cpu_speedup = sim_seconds / cpu_s if cpu_s > 0 else float("inf")
    per_symbol_s = sim_seconds * len(symbols)

    print(f"bench sim: {len(symbols)} symbols, {sim_seconds:g} simulated s, seed {args.seed}")
    print(f"  wall time:          {wall_s:.2f} s")
    print(f"  cpu time:           {cpu_s:.2f} s")
    print(f"  speed-up:           {speedup:.0f}x real time (goal >= {GOAL_SPEEDUP:.0f}x)")
    print(f"  speed-up (cpu):     {cpu_speedup:.0f}x simulated s per cpu s")
    print(f"  messages delivered: {run.received} ({run.received / wall_s:.0f}/s wall)")
    print(
        f"  market activity:    {run.trades / per_symbol_s:.2f} trades, "
        f"{run.taker_orders / per_symbol_s:.2f} taker orders, "
        f"{run.book_updates / per_symbol_s:.1f} book updates per symbol per simulated s"
    )
    print(f"  trace digest:       {run.digest[:16]}")
    print(f"  machine:            {machine()}")
    return 0
