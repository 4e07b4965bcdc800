"""``mmbot bench sim``: how much faster than real time the simulated exchange runs.

What it is for: measuring simulated mode end to end: N symbols at default market activity
under ``MockClock(autojump_threshold=0)``, one subscriber on the combined
``depth@100ms`` / ``bookTicker`` / ``trade`` streams of every symbol over the in-process
WebSocket connector, for a span of simulated time. Prints the simulated/wall speed-up
(goal: at least 200x with 4 symbols), the messages delivered and the machine.

What it must never do: assert on timing (it prints figures); read the wall clock except
through ``mmbot.clock.perf_counter_ns``.
"""

from __future__ import annotations

import argparse

import trio
import trio.testing

from mmbot.bench._util import machine
from mmbot.clock import perf_counter_ns, seed_trio_scheduler
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.streams import StreamKind, stream_name

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT")
GOAL_SPEEDUP = 200.0


async def run_sim(symbols: tuple[str, ...], sim_seconds: float, seed: int) -> tuple[int, str]:
    """Run the exchange with one combined-stream subscriber; (messages received, digest)."""
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
    return received, exchange.history.digest()


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
    started = perf_counter_ns()
    received, digest = trio.run(run_sim, symbols, sim_seconds, args.seed, clock=clock)
    wall_s = (perf_counter_ns() - started) / 1e9
    speedup = sim_seconds / wall_s if wall_s > 0 else float("inf")

    print(f"bench sim: {len(symbols)} symbols, {sim_seconds:g} simulated s, seed {args.seed}")
    print(f"  wall time:          {wall_s:.2f} s")
    print(f"  speed-up:           {speedup:.0f}x real time (goal >= {GOAL_SPEEDUP:.0f}x)")
    print(f"  messages delivered: {received} ({received / wall_s:.0f}/s wall)")
    print(f"  trace digest:       {digest[:16]}")
    print(f"  machine:            {machine()}")
    return 0
