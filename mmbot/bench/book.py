"""Benchmark: decode and apply one ``depthUpdate`` message (``mmbot bench book``).

What it is for: measuring the hot path of the market-data shell — raw combined-stream text
in, :func:`~mmbot.venue.binance.codec.decode_market_wire` (what ``streams.py`` calls), then
:meth:`~mmbot.venue.book.LocalBook.on_diff` — per message with N levels changed (goal:
median at most 20 µs for 20 levels). Prints median, p99 and throughput, and the machine;
also, apart, the ``snapshot(20)`` the stream client publishes after each update (it turns
the quantity texts it shows into Decimals, so that cost is shown rather than hidden).

What it must never do: assert on time, or touch the network.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal

from mmbot.bench import machine, median, percentile
from mmbot.clock import derive_rng, perf_counter_ns
from mmbot.model import format_decimal
from mmbot.venue.binance.codec import decode_depth_snapshot, decode_market_wire
from mmbot.venue.book import BookAction, LocalBook, WireDiff
from mmbot.venue.events import DepthUpdate

SYMBOL = "BTCUSDT"
TICK = Decimal("0.01")
MID = Decimal("25000")
PUBLISH_DEPTH = 20  # MarketStreamsConfig.publish_depth


def _messages(count: int, levels: int, book_depth: int, seed: int) -> list[str]:
    """Combined-stream ``depthUpdate`` texts, consecutive ids, ``levels`` changes each."""
    rng = derive_rng(seed, "bench-book")
    out = []
    for n in range(count):
        sides: dict[str, list[list[str]]] = {"b": [], "a": []}
        for i in range(levels):
            key = "b" if i % 2 == 0 else "a"
            offset = TICK * rng.randrange(1, book_depth + 20)
            price = MID - offset if key == "b" else MID + offset
            qty = (
                "0"
                if rng.random() < 0.2
                else format_decimal(Decimal(rng.randrange(1, 10**6)) / 1000)
            )
            sides[key].append([format_decimal(price), qty])
        update_id = 1001 + n
        data = {"e": "depthUpdate", "E": 1767225600000 + n, "s": SYMBOL, "U": update_id,
                "u": update_id, "b": sides["b"], "a": sides["a"]}  # fmt: skip
        out.append(json.dumps({"stream": "btcusdt@depth@100ms", "data": data}))
    return out


def _synced_book(book_depth: int) -> LocalBook:
    """A book synced the way the stream client syncs it: a diff, then a ``/depth`` body
    decoded by the codec (so its prices are the codec's, as in production)."""
    book = LocalBook(SYMBOL)
    first = DepthUpdate(SYMBOL, 1000, 1000, 0, (), ())
    book.on_diff(first, 0.0)
    offsets = [TICK * i for i in range(1, book_depth + 1)]
    body = {
        "lastUpdateId": 1000,
        "bids": [[format_decimal(MID - d), "1.5"] for d in offsets],
        "asks": [[format_decimal(MID + d), "1.5"] for d in offsets],
    }
    snapshot = decode_depth_snapshot(json.dumps(body), SYMBOL)
    if book.on_snapshot(snapshot, 0.0) is not BookAction.UPDATED:  # pragma: no cover
        raise RuntimeError("benchmark book failed to sync")
    return book


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench book", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (a few hundred messages)")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--levels", type=int, default=20, help="levels changed per message")
    parser.add_argument("--depth", type=int, default=500, help="levels per side in the book")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    count = 300 if args.quick else args.messages

    messages = _messages(count, args.levels, args.depth, args.seed)
    book = _synced_book(args.depth)
    total_ns: list[float] = []
    decode_ns: list[float] = []
    publish_ns: list[float] = []
    for i, raw in enumerate(messages):
        t0 = perf_counter_ns()
        update = decode_market_wire(raw)
        t1 = perf_counter_ns()
        if not isinstance(update, WireDiff):  # pragma: no cover
            raise TypeError(f"message {i} is not a depthUpdate")
        action = book.on_diff(update, float(i))
        t2 = perf_counter_ns()
        if action is not BookAction.UPDATED:  # pragma: no cover
            raise RuntimeError(f"message {i} was not applied: {action}")
        total_ns.append(t2 - t0)
        decode_ns.append(t1 - t0)
        t3 = perf_counter_ns()
        book.snapshot(PUBLISH_DEPTH)
        publish_ns.append(perf_counter_ns() - t3)

    us = [t / 1000 for t in total_ns]
    decode_us = [t / 1000 for t in decode_ns]
    print(f"book: decode+apply of a depthUpdate, {args.levels} levels changed, "
          f"book depth {args.depth}/side, {count} messages")  # fmt: skip
    print(f"  decode+apply  median {median(us):8.2f} us   p99 {percentile(us, 0.99):8.2f} us")
    print(
        f"  decode only   median {median(decode_us):8.2f} us   "
        f"p99 {percentile(decode_us, 0.99):8.2f} us"
    )
    publish_us = [t / 1000 for t in publish_ns]
    print(
        f"  snapshot({PUBLISH_DEPTH})  median {median(publish_us):8.2f} us   "
        f"p99 {percentile(publish_us, 0.99):8.2f} us   (the publish after each; not above)"
    )
    print(f"  throughput    {1e6 / (sum(us) / len(us)):,.0f} messages/s (one core)")
    print("  goal          median <= 20 us")
    print(f"  machine       {machine()}")
    return 0
