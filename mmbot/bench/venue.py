"""Benchmark: the venue adapter's speed figures from issue 4 (``mmbot bench venue``).

What it is for: printing, in one run, (1) book update decode and apply per ``depthUpdate``
with 20 levels changed (``mmbot.bench.book``'s measurement, goal: median at most 20 µs) and
(2) the order placement round trip to the fake exchange served on loopback (the server of
``mmbot exchange serve``, in a child process, limits lifted) through breaker, retry and
rate limiter — median and p99 — and its overhead over a bare signed httpx POST, interleaved
(``mmbot.bench.venue_rest``'s measurement; ``mmbot bench venue_rest`` adds the client
layouts). Prints the machine.

What it must never do: assert on time, bind anything but 127.0.0.1, or leave the child
process running.
"""

from __future__ import annotations

import argparse

import trio

from mmbot.bench import book, machine, median, percentile, venue_rest


def _row(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<30} median {median(samples):7.3f} ms   p99 {percentile(samples, 0.99):7.3f} ms"
        f"   n={len(samples)}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench venue", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (shape, not figures)")
    parser.add_argument("--orders", type=int, default=500, help="placements in the round trip")
    args = parser.parse_args(argv)
    orders = 10 if args.quick else args.orders
    print(f"machine: {machine()}")
    print("-- (1) order book")
    book.main(["--quick"] if args.quick else [])
    print("-- (2) order placement")
    with venue_rest.exchange_child() as urls:
        if urls is None:
            return 1
        bare_ms, kit_ms = trio.run(venue_rest.run_overhead, urls[0], orders)
    print(f"placement round trip to the fake exchange on loopback ({urls[0]}), 1 task:")
    print(_row("bare httpx POST /order", bare_ms))
    print(_row("through breaker+retry+limiter", kit_ms))
    print(
        f"  {'overhead':<30} median {median(kit_ms) - median(bare_ms):+7.3f} ms   "
        f"p99 {percentile(kit_ms, 0.99) - percentile(bare_ms, 0.99):+7.3f} ms"
    )
    return 0
