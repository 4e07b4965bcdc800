"""``mmbot bench soak``: the fake exchange's memory over simulated hours, loaded and idle.

What it is for: showing that ``mmbot exchange serve``'s memory is bounded by its
configuration. It builds the exchange exactly as ``serve`` does by default (history bounds,
closed-order retention), runs it in simulated mode (``MockClock``: an hour in seconds), and
drives it first at the maximum order rate the exchange allows (``RateLimits.orders_per_10s``:
a LIMIT order placed and cancelled through the WebSocket API's handler, with the user data
stream subscribed, so every request, report and frame is recorded), then idle (the background
market only). After each simulated hour it prints the process's resident memory (RSS), the
history's held and dropped entries and the closed orders kept; after the first hour (the
warm-up: the rings fill) the RSS should stay flat.

What it must never do: assert on timing or memory (it prints figures); read the wall clock
except through ``mmbot.clock.perf_counter_ns``; touch the network (everything is in-process).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
from decimal import Decimal

import trio
import trio.testing

from mmbot.bench import machine
from mmbot.clock import perf_counter_ns, seed_trio_scheduler
from mmbot.model import Side
from mmbot.sim.dialect import WsApiSession
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.serve_cli import (
    DEFAULT_CLOSED_ORDER_MAX_AGE_S,
    DEFAULT_CLOSED_ORDERS,
    DEFAULT_HISTORY_MAX_BULK,
    DEFAULT_HISTORY_MAX_RECORDS,
    DEFAULT_TRADES_KEPT,
)
from mmbot.sim.ws_app import WRITE_BATCH
from mmbot.venue.binance.signing import sign, ws_signing_payload

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
HOUR_S = 3600.0


def serve_config(symbols: tuple[str, ...], seed: int) -> ExchangeConfig:
    """The config ``mmbot exchange serve`` builds with its default flags."""
    return ExchangeConfig(
        symbols=symbols,
        seed=seed,
        history_max_bulk=DEFAULT_HISTORY_MAX_BULK,
        history_max_records=DEFAULT_HISTORY_MAX_RECORDS,
        closed_orders_kept=DEFAULT_CLOSED_ORDERS,
        closed_order_max_age_s=DEFAULT_CLOSED_ORDER_MAX_AGE_S,
        trades_kept=DEFAULT_TRADES_KEPT,
    )


def rss_bytes() -> int:
    """This process's resident set size now (Linux), else its peak (``ru_maxrss``)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Trader:
    """Places a far-away LIMIT BUY and cancels it, at the exchange's order rate limit.

    It talks to the exchange's WebSocket API handler directly (``Exchange.handle_ws_api``
    with its own outbox, which it drains as a connection's writer would): the same
    dialect, history, user data stream and outbox as over a socket, without the framing,
    so that an hour at the limit takes seconds.
    """

    def __init__(self, exchange: Exchange, symbol: str) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.session = WsApiSession()
        self.outbox = exchange.open_outbox(combined=False)
        self.requests = 0
        self.errors = 0
        self.frames = 0
        self._next_id = 0

    async def call(self, method: str, params: dict[str, object]) -> dict[str, object]:
        config = self.exchange.config
        params = {**params, "apiKey": config.api_key, "timestamp": self.exchange.now_ms()}
        params["signature"] = sign(config.api_secret, ws_signing_payload(params))
        self._next_id += 1
        request_id = self._next_id
        frame = json.dumps({"id": request_id, "method": method, "params": params})
        self.exchange.handle_ws_api(frame, self.session, self.outbox)
        self.requests += 1
        reply: dict[str, object] = {}
        for text in await self.outbox.take(WRITE_BATCH):  # the answer and user data events
            self.frames += 1
            if text.startswith('{"id":'):
                reply = json.loads(text)
        if reply.get("status") != 200:
            self.errors += 1
        return reply

    def close(self) -> None:
        self.exchange.forget_outbox(self.outbox)

    async def run(self) -> None:
        await self.call("userDataStream.subscribe.signature", {})
        limits = self.exchange.config.rate_limits
        interval = 10.0 / limits.orders_per_10s  # the fastest the order limit allows
        instrument = self.exchange.engine.instrument(self.symbol)
        assert instrument is not None
        while True:
            started = trio.current_time()
            bid, _ = self.exchange.engine.best_bid_ask(self.symbol)
            price = instrument.round_price((bid or Decimal(1000)) * Decimal("0.9"), Side.BUY)
            qty = instrument.round_qty(instrument.min_notional * 2 / price) + instrument.step_size
            placed = await self.call(
                "order.place",
                {
                    "symbol": self.symbol,
                    "side": "BUY",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "price": str(price),
                    "quantity": str(qty),
                },
            )
            result = placed.get("result")
            if isinstance(result, dict):
                await self.call(
                    "order.cancel", {"symbol": self.symbol, "orderId": result["orderId"]}
                )
            await trio.sleep_until(started + interval)


async def soak(
    symbols: tuple[str, ...], seed: int, period_s: float, load: int, idle: int
) -> list[tuple[str, int, int, int, int, int]]:
    """Run ``load`` periods at the order limit, then ``idle`` without a client; after each
    one: (phase, RSS bytes, Python's allocated blocks, history entries held, dropped so
    far, requests sent)."""
    exchange = Exchange.simulated(serve_config(symbols, seed))
    rows: list[tuple[str, int, int, int, int, int]] = []

    def measure(phase: str, requests: int) -> None:
        gc.collect()
        history = exchange.history
        rows.append(
            (phase, rss_bytes(), sys.getallocatedblocks(), len(history), history.dropped, requests)
        )

    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        measure("start", 0)
        trader = _Trader(exchange, symbols[0])
        async with trio.open_nursery() as clients:
            clients.start_soon(trader.run)
            for _ in range(load):
                await trio.sleep(period_s)
                measure("load", trader.requests)
            clients.cancel_scope.cancel()
        trader.close()
        for _ in range(idle):
            await trio.sleep(period_s)
            measure("idle", trader.requests)
        nursery.cancel_scope.cancel()
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench soak", description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=1, help="number of symbols (1..4)")
    parser.add_argument("--load-hours", type=int, default=2, help="hours at the order limit")
    parser.add_argument("--idle-hours", type=int, default=1, help="hours without a client")
    parser.add_argument("--period", type=float, default=HOUR_S, help="simulated s per row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny run (60 simulated s rows)")
    args = parser.parse_args(argv)
    if not 1 <= args.symbols <= len(SYMBOLS):
        parser.error(f"--symbols must be within 1..{len(SYMBOLS)}")
    if args.load_hours < 1 or args.idle_hours < 0:
        parser.error("--load-hours must be >= 1 and --idle-hours >= 0")
    period = 60.0 if args.quick else args.period
    symbols = SYMBOLS[: args.symbols]

    seed_trio_scheduler(args.seed)
    clock = trio.testing.MockClock(autojump_threshold=0)
    started = perf_counter_ns()
    rows = trio.run(soak, symbols, args.seed, period, args.load_hours, args.idle_hours, clock=clock)
    wall_s = (perf_counter_ns() - started) / 1e9
    config = serve_config(symbols, args.seed)
    limit = config.rate_limits.orders_per_10s

    print(
        f"bench soak: {len(symbols)} symbols, `mmbot exchange serve`'s default bounds, seed "
        f"{args.seed}; {args.load_hours} x {period:g} simulated s at the order limit "
        f"({limit} orders per 10 s, each placed and cancelled through the WebSocket API handler), "
        f"then {args.idle_hours} idle"
    )
    print(
        f"  bounds:     history {config.history_max_bulk} bulk + {config.history_max_records} "
        f"other entries (each ring holds N..2N), {config.closed_orders_kept} closed orders "
        "per symbol"
    )
    print(f"  {'after':>10} {'phase':>6} {'RSS MB':>8} {'change':>7} {'blocks':>10} "
          f"{'held':>8} {'dropped':>9} {'requests':>9}")  # fmt: skip
    previous = rows[0][1]
    for index, (phase, rss, blocks, held, dropped, requests) in enumerate(rows):
        change = "" if index == 0 else f"{(rss - previous) / 1e6:+.1f}"
        print(
            f"  {index * period:>9g}s {phase:>6} {rss / 1e6:>8.1f} {change:>7} {blocks:>10} "
            f"{held:>8} {dropped:>9} {requests:>9}"
        )
        previous = rss
    if len(rows) > 2:
        (_, warm, warm_blocks, *_), (_, last, last_blocks, *_) = rows[1], rows[-1]
        print(
            f"  after warm-up (row 1 to the last): {(last - warm) / 1e6:+.1f} MB RSS, "
            f"{last_blocks - warm_blocks:+d} allocated blocks"
        )
    print(
        "  (RSS after a gc; blocks: sys.getallocatedblocks(), Python's live objects; the "
        "rings hold between N and 2N, so both move with where in its cycle a row lands)"
    )
    print(f"  wall time:  {wall_s:.1f} s")
    print(f"  machine:    {machine()}")
    return 0
