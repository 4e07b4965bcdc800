"""Retry policies on tenacity, under MockClock: the trio clock, injected RNG, no storms."""

from __future__ import annotations

import random

import pytest
import trio

from mmbot.errors import (
    CircuitOpen,
    RateLimited,
    RetryBudgetExhausted,
    VenueRejected,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import Outcome
from mmbot.resilience import (
    RetryBudget,
    RetryBudgetConfig,
    RetryConfig,
    RetryEvent,
    RetryPolicy,
    outcome_of,
)

FAST = RetryConfig(max_attempts=5, deadline=60.0, base_delay=1.0, max_delay=4.0)


class Flaky:
    """Fails with the given errors in turn, then returns "ok"; records attempt times."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.times: list[float] = []

    async def __call__(self) -> str:
        self.times.append(trio.current_time())
        await trio.lowlevel.checkpoint()
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_a_first_time_success_makes_one_attempt_and_refills_the_budget(autojump_clock):
    budget = RetryBudget(RetryBudgetConfig(capacity=2.0, success_refill=0.5, refill_per_second=0))
    assert budget.try_spend(0.0)
    policy = RetryPolicy("ticker", FAST, budget=budget)
    flaky = Flaky()
    assert await policy.call(flaky) == "ok"
    assert len(flaky.times) == 1
    assert budget.tokens(trio.current_time()) == pytest.approx(1.5)


async def test_transient_errors_are_retried_until_success(autojump_clock):
    flaky = Flaky(VenueUnknown("reset"), VenueUnavailable("refused"))
    assert await RetryPolicy("ticker", FAST).call(flaky) == "ok"
    assert len(flaky.times) == 3
    gaps = [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    assert 0 <= gaps[0] < 1.0 and 0 <= gaps[1] < 2.0  # full jitter: [0, base * 2**(n-1))


async def test_a_non_transient_error_propagates_at_once_unchanged(autojump_clock):
    error = VenueRejected(-1013, "Filter failure: PRICE_FILTER")
    flaky = Flaky(error)
    with pytest.raises(VenueRejected) as info:
        await RetryPolicy("orders", FAST).call(flaky)
    assert info.value is error
    assert len(flaky.times) == 1


async def test_a_transient_error_inside_a_group_is_retried(autojump_clock):
    group = ExceptionGroup("nursery", [ExceptionGroup("inner", [VenueUnknown("t")])])
    flaky = Flaky(group)
    assert await RetryPolicy("ticker", FAST).call(flaky) == "ok"
    assert len(flaky.times) == 2


async def test_a_group_mixing_transient_and_other_errors_is_not_retried(autojump_clock):
    flaky = Flaky(ExceptionGroup("nursery", [VenueUnknown("t"), ValueError("bug")]))
    with pytest.RaisesGroup(VenueUnknown, ValueError):
        await RetryPolicy("ticker", FAST).call(flaky)
    assert len(flaky.times) == 1


async def test_cancellation_during_a_call_is_never_retried_even_if_told_to_retry_everything(
    autojump_clock,
):
    attempts: list[float] = []

    async def slow() -> None:
        attempts.append(trio.current_time())
        await trio.sleep(10)

    policy = RetryPolicy("ticker", FAST, retry_if=lambda exc: True)
    with trio.move_on_after(1.0) as scope:
        await policy.call(slow)
    assert scope.cancelled_caught
    assert attempts == [0.0]


async def test_a_stray_cancelled_is_refused_by_the_predicate_guard_itself(autojump_clock):
    """No deadline or cancelled scope around: only the guard before the predicate stops it."""
    attempts: list[float] = []

    async def leaks_cancelled() -> None:
        attempts.append(trio.current_time())
        caught: trio.Cancelled | None = None
        with trio.CancelScope() as inner:
            inner.cancel()
            try:
                await trio.sleep(1)
            except trio.Cancelled as exc:
                caught = exc
        assert caught is not None
        raise caught

    events: list[RetryEvent] = []
    policy = RetryPolicy("ticker", FAST, retry_if=lambda exc: True, listeners=[events.append])
    with pytest.raises(trio.Cancelled):
        await policy.call(leaks_cancelled)
    assert attempts == [0.0]
    assert events == []


async def test_cancellation_wrapped_in_a_nursery_group_is_never_retried(autojump_clock):
    attempts: list[float] = []

    async def fan_out() -> None:
        attempts.append(trio.current_time())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 10)
            nursery.start_soon(trio.sleep, 10)

    policy = RetryPolicy("ticker", FAST, retry_if=lambda exc: True)
    with trio.move_on_after(1.0) as scope:
        await policy.call(fan_out)
    assert scope.cancelled_caught
    assert attempts == [0.0]


async def test_cancellation_during_a_backoff_sleep_is_neither_retried_nor_swallowed(
    autojump_clock,
):
    events: list[RetryEvent] = []
    flaky = Flaky(RateLimited(-1003, "too much weight", retry_after=5.0))
    policy = RetryPolicy("ticker", FAST, retry_if=lambda exc: True, listeners=[events.append])
    scope = trio.CancelScope()  # no deadline: cancelled by hand while the retry sleeps

    async def cancel_later() -> None:
        await trio.sleep(2.0)
        scope.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(cancel_later)
        with scope:
            await policy.call(flaky)
    assert scope.cancelled_caught
    assert len(flaky.times) == 1
    assert trio.current_time() == pytest.approx(2.0)
    assert [e.attempt for e in events] == [1]  # it was scheduled, never run


async def test_retry_after_is_honoured(autojump_clock):
    flaky = Flaky(RateLimited(-1003, "too much weight", retry_after=3.0))
    assert await RetryPolicy("ticker", FAST).call(flaky) == "ok"
    assert flaky.times[1] - flaky.times[0] >= 3.0


async def test_a_retry_after_beyond_the_deadline_gives_up_at_once(autojump_clock):
    error = CircuitOpen("orders", retry_after=120.0)
    flaky = Flaky(error)
    with pytest.raises(CircuitOpen) as info:
        await RetryPolicy("ticker", FAST).call(flaky)
    assert info.value is error
    assert trio.current_time() == 0.0


async def test_a_retry_after_beyond_the_callers_own_deadline_gives_up_at_once(autojump_clock):
    flaky = Flaky(RateLimited(-1003, "slow down", retry_after=5.0))
    with trio.fail_after(4.0), pytest.raises(RateLimited):
        await RetryPolicy("ticker", FAST).call(flaky)
    assert trio.current_time() == 0.0


async def test_attempts_stop_at_max_attempts_with_the_last_error(autojump_clock):
    errors = [VenueUnknown(f"try {i}") for i in range(10)]
    flaky = Flaky(*errors)
    with pytest.raises(VenueUnknown) as info:
        await RetryPolicy("ticker", FAST).call(flaky)
    assert len(flaky.times) == 5
    assert info.value is errors[4]


async def test_the_deadline_is_measured_on_the_trio_clock(autojump_clock):
    async def slow_failure() -> None:
        attempts.append(trio.current_time())
        await trio.sleep(4.0)
        raise VenueUnknown("timeout")

    attempts: list[float] = []
    config = RetryConfig(max_attempts=100, deadline=10.0, base_delay=0.5, max_delay=0.5)
    with pytest.raises(VenueUnknown):
        await RetryPolicy("ticker", config).call(slow_failure)
    assert 2 <= len(attempts) <= 3
    assert trio.current_time() <= 10.0 + 4.0


async def test_an_empty_budget_stops_retries_across_tasks(autojump_clock):
    budget = RetryBudget(RetryBudgetConfig(capacity=3.0, refill_per_second=0.0))
    policy = RetryPolicy("ticker", FAST, budget=budget)
    outcomes: list[BaseException] = []

    async def always_failing() -> None:
        await trio.lowlevel.checkpoint()
        raise VenueUnavailable("down")

    async def task() -> None:
        try:
            await policy.call(always_failing)
        except (RetryBudgetExhausted, VenueUnavailable) as exc:
            outcomes.append(exc)

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(task)
    exhausted = [e for e in outcomes if isinstance(e, RetryBudgetExhausted)]
    assert budget.statistics(trio.current_time()).spent == 3
    assert len(exhausted) >= 7
    assert all(isinstance(e.__cause__, VenueUnavailable) for e in exhausted)


async def test_two_tasks_sharing_a_policy_do_not_share_attempts_or_deadlines(autojump_clock):
    policy = RetryPolicy("ticker", RetryConfig(max_attempts=3, deadline=5.0, base_delay=0.1))
    a = Flaky(VenueUnknown("a1"), VenueUnknown("a2"))
    b = Flaky(VenueUnknown("b1"), VenueUnknown("b2"))

    async def late_start() -> str:
        await trio.sleep(4.0)  # b starts after a's deadline would have been near
        return await policy.call(b)

    results: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _collect(results, policy.call(a)))
        nursery.start_soon(lambda: _collect(results, late_start()))
    assert results == ["ok", "ok"]
    assert len(a.times) == len(b.times) == 3


async def _collect(results: list[str], call: object) -> None:
    results.append(await call)  # type: ignore[misc]


async def test_the_same_seed_waits_the_same_delays(autojump_clock):
    async def delays(seed: int) -> list[float]:
        flaky = Flaky(*[VenueUnknown("t") for _ in range(4)])
        await RetryPolicy("ticker", FAST, rng=random.Random(seed)).call(flaky)
        return [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]

    assert await delays(11) == pytest.approx(await delays(11))
    assert await delays(11) != await delays(12)


async def test_listeners_hear_each_retry(autojump_clock):
    events: list[RetryEvent] = []
    flaky = Flaky(VenueUnknown("t"), VenueUnknown("t"))
    await RetryPolicy("account", FAST, listeners=[events.append]).call(flaky)
    assert [(e.policy, e.attempt) for e in events] == [("account", 1), ("account", 2)]


# -- the non-idempotent rule --------------------------------------------------------------


async def test_placement_resends_only_what_is_known_not_to_have_happened(autojump_clock):
    flaky = Flaky(VenueUnavailable("refused"), RateLimited(-1015, "orders", retry_after=1.0))
    assert await RetryPolicy("orders", FAST).call_non_idempotent(flaky) == "ok"
    assert len(flaky.times) == 3


async def test_placement_with_an_unknown_outcome_is_not_resent(autojump_clock):
    error = VenueUnknown("-1007 timeout waiting for response")
    flaky = Flaky(error)
    policy = RetryPolicy("orders", FAST, retry_if=lambda exc: True)
    with pytest.raises(VenueUnknown) as info:
        await policy.call_non_idempotent(flaky)
    assert info.value is error
    assert len(flaky.times) == 1


async def test_placement_timeout_becomes_venue_unknown_for_the_tracker(autojump_clock):
    timeout = trio.TooSlowError()
    flaky = Flaky(timeout)
    with pytest.raises(VenueUnknown) as info:
        await RetryPolicy("orders", FAST).call_non_idempotent(flaky)
    assert info.value.__cause__ is timeout
    assert outcome_of(info.value) is Outcome.UNKNOWN
    assert len(flaky.times) == 1


async def test_placement_bugs_are_not_disguised_as_unknown(autojump_clock):
    flaky = Flaky(ValueError("bug"))
    with pytest.raises(ValueError):
        await RetryPolicy("orders", FAST).call_non_idempotent(flaky)
