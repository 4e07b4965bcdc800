"""RateLimiter, the trio shell: callers wait (FIFO) instead of being refused."""

from __future__ import annotations

import pytest
import trio

from mmbot.errors import RateLimited
from mmbot.resilience import LimitKind, RateLimiter, RateLimiterConfig, RateLimitRule

WEIGHT_10_PER_10S = RateLimiterConfig(
    rules=(RateLimitRule(LimitKind.REQUEST_WEIGHT, 10, 10),), utilisation=1.0, slots=10
)


async def test_callers_over_the_limit_wait_instead_of_being_refused(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    times = []
    for _ in range(15):
        await limiter.acquire(1)
        times.append(trio.current_time())
    assert times[:10] == [0.0] * 10
    assert times[10:] == [pytest.approx(11.0)] * 5  # slot 0 returns one interval + slot later
    assert limiter.statistics().waited == 1  # the eleventh; the rest fit after it


async def test_waiters_are_served_first_come_first_served(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    await limiter.acquire(9)
    order: list[str] = []

    async def request(name: str, weight: int) -> None:
        await limiter.acquire(weight)
        order.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(request, "heavy", 8)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(request, "light", 1)  # would fit now, but must not overtake
    assert order == ["heavy", "light"]


async def test_a_429_blocks_every_caller_until_retry_after(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    limiter.on_rate_limited(RateLimited(-1003, "Too much request weight used", retry_after=30.0))
    await limiter.acquire(1)
    assert trio.current_time() == pytest.approx(30.0)


async def test_a_block_that_arrives_while_waiting_is_honoured(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    await limiter.acquire(10)

    async def ban_soon() -> None:
        await trio.sleep(1.0)
        limiter.block_until(trio.current_time() + 120.0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ban_soon)
        await limiter.acquire(1)
    assert trio.current_time() == pytest.approx(121.0)


async def test_server_headers_keep_the_limiter_in_step(autojump_clock):
    rule = RateLimitRule(LimitKind.REQUEST_WEIGHT, 60, 100)
    limiter = RateLimiter(RateLimiterConfig(rules=(rule,), utilisation=1.0))
    limiter.observe_headers({"X-MBX-USED-WEIGHT-1M": "99"})
    limiter.acquire_nowait(1)
    with pytest.raises(trio.WouldBlock):
        limiter.acquire_nowait(1)


async def test_a_cancelled_wait_takes_nothing(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    await limiter.acquire(10)
    with trio.move_on_after(1.0):
        await limiter.acquire(5)
    stats = limiter.statistics()
    assert stats.used[0][1] == 10
    assert (stats.admitted, stats.waiting) == (1, 0)


async def test_acquire_nowait_refuses_while_others_are_queued(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    await limiter.acquire(10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(limiter.acquire, 10)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.WouldBlock):
            limiter.acquire_nowait(0)


async def test_many_tasks_together_never_exceed_the_rate(autojump_clock):
    config = RateLimiterConfig(
        rules=(
            RateLimitRule(LimitKind.REQUEST_WEIGHT, 60, 600),
            RateLimitRule(LimitKind.ORDERS, 10, 5),
        ),
        utilisation=0.9,
    )
    limiter = RateLimiter(config)
    admitted: list[tuple[float, int, int]] = []

    async def worker(i: int) -> None:
        for j in range(6):
            weight, orders = 1 + (i + j) % 5, (i + j) % 2
            await limiter.acquire(weight, orders=orders)
            admitted.append((trio.current_time(), weight, orders))

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(worker, i)
    assert len(admitted) == 120
    for start, _, _ in admitted:
        orders = sum(o for t, _, o in admitted if start <= t < start + 10)
        weight = sum(w for t, w, _ in admitted if start <= t < start + 60)
        assert orders <= 4 and weight <= 540


async def test_a_request_heavier_than_any_limit_is_refused_at_once(autojump_clock):
    limiter = RateLimiter(WEIGHT_10_PER_10S)
    with pytest.raises(ValueError):
        await limiter.acquire(11)
