"""The guards composed as documented: deadline ⊃ retry ⊃ breaker ⊃ per-attempt timeout ⊃ call."""

from __future__ import annotations

import pytest
import trio

from mmbot.errors import CircuitOpen, VenueUnavailable, VenueUnknown
from mmbot.resilience import BreakerConfig, CircuitBreaker, RetryConfig, RetryPolicy

BREAKER = BreakerConfig(
    call_timeout=1.0, consecutive_hard_failures=2, open_base=30.0, open_jitter=0.0
)
RETRY = RetryConfig(max_attempts=5, deadline=10.0, base_delay=0.1, max_delay=0.5)


async def test_an_open_breaker_beyond_the_deadline_ends_the_retries_at_once(autojump_clock):
    breaker = CircuitBreaker("orders", BREAKER)
    calls: list[float] = []

    async def down() -> None:
        calls.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        raise VenueUnavailable("connection refused")

    with pytest.raises(CircuitOpen) as info:
        await RetryPolicy("orders", RETRY).call(breaker.call, down)
    assert len(calls) == 2  # the second hard failure trips the breaker
    assert 29.5 < info.value.retry_after <= 30.0  # 30 s open, minus the one backoff wait
    assert breaker.statistics().rejected == 1


async def test_each_attempt_gets_the_breakers_timeout_and_counts_as_slow(autojump_clock):
    breaker = CircuitBreaker("market_data", BREAKER)
    attempts: list[float] = []

    async def hangs_then_answers() -> str:
        attempts.append(trio.current_time())
        if len(attempts) < 3:
            await trio.sleep(60)
        return "depth"

    assert await RetryPolicy("market_data", RETRY).call(breaker.call, hangs_then_answers) == (
        "depth"
    )
    stats = breaker.statistics()
    assert (stats.timeouts, stats.successes, len(attempts)) == (2, 1, 3)


async def test_a_placement_that_times_out_is_unknown_and_sent_once(autojump_clock):
    breaker = CircuitBreaker("orders", BREAKER)
    sent: list[float] = []

    async def place() -> None:
        sent.append(trio.current_time())
        await trio.sleep(60)

    with pytest.raises(VenueUnknown) as info:
        await RetryPolicy("orders", RETRY).call_non_idempotent(breaker.call, place)
    assert isinstance(info.value.__cause__, trio.TooSlowError)
    assert sent == [0.0]


async def test_the_callers_deadline_cancels_everything_and_counts_nothing(autojump_clock):
    breaker = CircuitBreaker("orders", BREAKER)

    async def slowish() -> None:
        await trio.sleep(0.8)
        raise VenueUnknown("reset")

    with trio.move_on_after(2.0) as scope:
        await RetryPolicy("orders", RETRY).call(breaker.call, slowish)
    assert scope.cancelled_caught
    stats = breaker.statistics()
    assert stats.cancelled == 1 and stats.in_flight == 0
