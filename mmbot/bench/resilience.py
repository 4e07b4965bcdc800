"""Benchmark: what the resilience guards add to a call (``mmbot bench resilience``).

What it is for: the overhead of ``CircuitBreaker.call`` around a no-op coroutine (goal:
median at most 5 µs) and of ``RetryPolicy.call`` on a call that succeeds first time (goal:
median at most 15 µs), plus the pieces that explain them (trio's own ``CancelScope``, which
the per-call timeout needs, and the breaker without a timeout) and the whole stack. The
overhead is measured as (wrapped − bare) per call over batches of many calls, bare and
wrapped interleaved in each batch; prints median, p99 and the machine.

What it must never do: assert on time, sleep, or touch the network.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

import attrs
import trio

from mmbot.bench import machine, median, percentile
from mmbot.clock import perf_counter_ns
from mmbot.resilience import (
    BINANCE_SPOT_RULES,
    BreakerConfig,
    CircuitBreaker,
    RateLimiter,
    RateLimiterConfig,
    RetryBudget,
    RetryPolicy,
)

Call = Callable[[], Awaitable[object]]
GOALS_US = {"breaker.call": 5.0, "retry.call": 15.0}


async def _noop() -> int:
    return 1


async def _time_batch(call: Call, per_batch: int) -> float:
    """Nanoseconds per call for ``per_batch`` sequential awaits of ``call()``."""
    start = perf_counter_ns()
    for _ in range(per_batch):
        await call()
    return (perf_counter_ns() - start) / per_batch


async def _measure(batches: int, per_batch: int) -> dict[str, list[float]]:
    breaker = CircuitBreaker("bench", BreakerConfig())
    timed = CircuitBreaker("bench-timed", BreakerConfig(call_timeout=5.0))
    policy = RetryPolicy("bench", budget=RetryBudget())
    # Binance's four rules with limits too large to fill: the bench measures the path, not waits
    huge = tuple(attrs.evolve(rule, limit=10**15) for rule in BINANCE_SPOT_RULES)
    limiter = RateLimiter(RateLimiterConfig(rules=huge))
    stack_breaker = CircuitBreaker("bench-stack", BreakerConfig())

    async def in_scope() -> int:
        with trio.CancelScope(deadline=trio.current_time() + 5.0):
            result = await _noop()
        return result

    async def stack() -> int:
        return await policy.call(stack_breaker.call, _noop)

    async def limited() -> int:
        await limiter.acquire(1, orders=1)
        return 1

    cases: dict[str, Call] = {
        "breaker.call": lambda: breaker.call(_noop),
        "breaker.call (call_timeout=5s)": lambda: timed.call(_noop),
        "trio.CancelScope (reference)": in_scope,
        "retry.call": lambda: policy.call(_noop),
        "retry(breaker(call))": stack,
        "limiter.acquire": limited,
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for name, call in cases.items():  # warm up
        await _time_batch(call, max(10, per_batch // 10))
        del name
    for _ in range(batches):
        for name, call in cases.items():
            bare = await _time_batch(_noop, per_batch)
            wrapped = await _time_batch(call, per_batch)
            results[name].append(max(0.0, wrapped - bare) / 1000.0)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench resilience", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (a few batches)")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--per-batch", type=int, default=2000, help="calls per batch")
    args = parser.parse_args(argv)
    batches, per_batch = (3, 100) if args.quick else (args.batches, args.per_batch)

    results = trio.run(_measure, batches, per_batch)
    print(f"resilience overhead per call ({batches} batches x {per_batch} calls, wrapped - bare)")
    for name, samples in results.items():
        mid, p99 = median(samples), percentile(samples, 0.99)
        line = f"  {name:<30} median {mid:7.2f} us   p99 {p99:7.2f} us"
        goal = GOALS_US.get(name)
        if goal is not None:
            verdict = "met" if mid <= goal else "MISSED"
            line += f"   goal <= {goal:g} us: {verdict}"
        print(line)
    print(f"machine {machine()}")
    return 0
