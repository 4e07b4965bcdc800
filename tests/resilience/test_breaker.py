"""CircuitBreaker, the trio shell: run under MockClock (autojump), never real sleeps."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from mmbot.errors import CircuitOpen, VenueUnavailable, VenueUnknown
from mmbot.resilience import BreakerConfig, BreakerState, BreakerTransition, CircuitBreaker

CONFIG = BreakerConfig(
    window_size=4,
    minimum_calls=2,
    failure_rate_threshold=0.5,
    slow_call_duration=1.0,
    call_timeout=2.0,
    consecutive_hard_failures=2,
    open_base=10.0,
    open_jitter=0.0,
    half_open_probes=1,
)


async def ok(value: int = 1) -> int:
    await trio.lowlevel.checkpoint()
    return value


async def fail(exc: BaseException) -> None:
    await trio.lowlevel.checkpoint()
    raise exc


async def test_a_successful_call_returns_its_result_and_counts(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    assert await breaker.call(ok, 42) == 42
    stats = breaker.statistics()
    assert (stats.successes, stats.in_flight, stats.state) == (1, 0, BreakerState.CLOSED)


async def test_failures_propagate_unchanged_then_the_open_breaker_refuses(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    error = ValueError("boom")
    for _ in range(2):
        with pytest.raises(ValueError) as info:
            await breaker.call(fail, error)
        assert info.value is error
    with pytest.raises(CircuitOpen) as refused:
        await breaker.call(ok)
    assert refused.value.breaker == "orders"
    assert refused.value.retry_after == pytest.approx(10.0)


async def test_outer_cancellation_during_a_call_is_not_counted(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    with trio.move_on_after(0.5) as scope:
        await breaker.call(trio.sleep, 1.5)
    assert scope.cancelled_caught
    stats = breaker.statistics()
    assert (stats.cancelled, stats.failures, stats.timeouts, stats.in_flight) == (1, 0, 0, 0)
    assert stats.calls_in_window == 0


async def test_the_calls_own_timeout_is_a_slow_failure(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    start = trio.current_time()
    with pytest.raises(trio.TooSlowError):
        await breaker.call(trio.sleep, 100)
    assert trio.current_time() - start == pytest.approx(2.0)
    stats = breaker.statistics()
    assert (stats.timeouts, stats.slow_in_window, stats.failures_in_window) == (1, 1, 1)


async def test_a_timeout_the_callee_turns_into_its_own_error_still_counts_as_timeout(
    autojump_clock,
):
    async def maps_cancellation() -> None:
        try:
            await trio.sleep(100)
        except trio.Cancelled:
            raise VenueUnknown("read timeout") from None

    breaker = CircuitBreaker("orders", CONFIG)
    with pytest.raises(VenueUnknown):
        await breaker.call(maps_cancellation)
    assert breaker.statistics().timeouts == 1


def test_by_default_the_breaker_leaves_the_per_attempt_timeout_to_the_call() -> None:
    assert BreakerConfig().call_timeout is None


async def test_a_per_attempt_deadline_inside_the_call_counts_as_a_slow_failure(autojump_clock):
    async def attempt_with_its_own_deadline() -> None:
        with trio.fail_after(3):
            await trio.sleep(100)

    breaker = CircuitBreaker("orders", BreakerConfig())
    with pytest.raises(trio.TooSlowError):
        await breaker.call(attempt_with_its_own_deadline)
    stats = breaker.statistics()
    assert (stats.timeouts, stats.slow_in_window, stats.failures_in_window) == (1, 1, 1)


async def test_an_error_inside_a_nested_nursery_is_still_classified(autojump_clock):
    async def nested_failure() -> None:
        async with trio.open_nursery() as outer:
            outer.start_soon(trio.sleep, 5)

            async def inner() -> None:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(fail, VenueUnavailable("connection refused"))

            outer.start_soon(inner)

    breaker = CircuitBreaker("orders", CONFIG)
    for _ in range(2):
        with pytest.RaisesGroup(pytest.RaisesGroup(VenueUnavailable)):
            await breaker.call(nested_failure)
    # two hard failures in a row (VenueUnavailable is "exchange down") trip at once
    assert breaker.state is BreakerState.OPEN
    assert breaker.statistics().cancelled == 0


async def test_keyboard_interrupt_passes_through_untouched_and_is_not_counted(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    interrupt = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as info:
        await breaker.call(fail, interrupt)
    assert info.value is interrupt
    stats = breaker.statistics()
    assert (stats.failures, stats.in_flight, stats.calls_in_window) == (0, 0, 0)


async def test_listeners_hear_every_transition_in_order(autojump_clock):
    heard: list[BreakerTransition] = []
    breaker = CircuitBreaker("orders", CONFIG, listeners=[heard.append])
    for _ in range(2):
        with pytest.raises(VenueUnavailable):
            await breaker.call(fail, VenueUnavailable("down"))
    await trio.sleep(10)
    await breaker.call(ok)
    assert [(t.from_state, t.to_state) for t in heard] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert all(t.breaker == "orders" for t in heard)


async def test_wait_until_closed_or_half_open_sleeps_through_the_open_period(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    breaker.open_for(30.0)
    start = trio.current_time()
    await breaker.wait_until_closed_or_half_open()
    assert trio.current_time() - start == pytest.approx(30.0)
    assert breaker.state is BreakerState.HALF_OPEN


async def test_wait_until_closed_or_half_open_wakes_when_an_operator_resets(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    breaker.force_open()
    assert math.isinf(breaker.statistics().retry_after)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(breaker.wait_until_closed_or_half_open)
        await trio.sleep(3600)
        breaker.reset()
    assert trio.current_time() == pytest.approx(3600.0)
    assert breaker.state is BreakerState.CLOSED


async def test_wait_returns_at_once_when_closed(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    with trio.testing.assert_checkpoints():
        await breaker.wait_until_closed_or_half_open()
    assert trio.current_time() == 0.0


async def test_the_same_seed_gives_the_same_open_durations(autojump_clock):
    config = BreakerConfig(consecutive_hard_failures=1, open_jitter=1.0)

    async def open_duration(seed: int) -> float:
        breaker = CircuitBreaker("orders", config, seed=seed)
        with pytest.raises(VenueUnavailable):
            await breaker.call(fail, VenueUnavailable("down"))
        return breaker.statistics().retry_after

    assert await open_duration(5) == await open_duration(5)
    assert await open_duration(5) != await open_duration(6)


async def test_waiting_then_looping_on_circuit_open_makes_progress_while_a_probe_runs(
    autojump_clock,
):
    # review2 finding 3: the documented pattern must sleep while every probe slot is taken
    config = BreakerConfig(
        half_open_probes=1, open_base=1.0, open_jitter=0.0, consecutive_hard_failures=1
    )
    breaker = CircuitBreaker("orders", config)
    with pytest.raises(VenueUnavailable):
        await breaker.call(fail, VenueUnavailable("down"))
    await trio.sleep(1.0)  # HALF_OPEN from here on
    refusals = 0

    async def quoter() -> None:
        nonlocal refusals
        while True:
            await breaker.wait_until_closed_or_half_open()
            try:
                await breaker.call(ok)
                return
            except CircuitOpen:
                refusals += 1
                assert refusals < 100, "the wait did not wait: the loop spins"

    async with trio.open_nursery() as nursery:
        nursery.start_soon(breaker.call, trio.sleep, 0.5)  # the one probe: 0.5 s
        await trio.lowlevel.checkpoint()
        nursery.start_soon(quoter)
    assert refusals <= 2
    assert trio.current_time() == pytest.approx(1.5)
    assert breaker.state is BreakerState.CLOSED


async def test_a_refused_call_is_a_checkpoint(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    breaker.force_open()
    with trio.testing.assert_checkpoints(), pytest.raises(CircuitOpen):
        await breaker.call(ok)


async def test_an_outer_deadline_equal_to_the_call_timeout_is_not_counted(autojump_clock):
    # review2 finding 8: the Cancelled that leaves our scope belongs to the outer scope
    breaker = CircuitBreaker("orders", BreakerConfig(call_timeout=1.0))
    with trio.move_on_after(1.0) as outer:
        await breaker.call(trio.sleep_forever)
    assert outer.cancelled_caught
    stats = breaker.statistics()
    assert (stats.timeouts, stats.cancelled, stats.calls_in_window) == (0, 1, 0)


async def test_an_outer_cancel_arriving_with_the_timeout_is_not_counted_as_timeout(
    autojump_clock,
):
    breaker = CircuitBreaker("orders", BreakerConfig(call_timeout=1.0))

    async def swallow_then_wait(scope: trio.CancelScope) -> None:
        try:
            await trio.sleep_forever()
        finally:
            scope.cancel()  # the caller gives up at the same moment our deadline fires

    with trio.CancelScope() as outer:
        await breaker.call(swallow_then_wait, outer)
    assert outer.cancelled_caught
    stats = breaker.statistics()
    assert (stats.timeouts, stats.cancelled) == (0, 1)


async def test_refuses_calls_while_open_and_while_every_probe_slot_is_taken(autojump_clock):
    breaker = CircuitBreaker("orders", CONFIG)
    assert breaker.refuses_calls() is False
    for _ in range(2):
        with pytest.raises(ValueError):
            await breaker.call(fail, ValueError("boom"))
    assert breaker.refuses_calls() is True  # OPEN
    await trio.sleep(10.0)
    assert breaker.state is BreakerState.HALF_OPEN and breaker.refuses_calls() is False
    async with trio.open_nursery() as nursery:
        nursery.start_soon(breaker.call, trio.sleep, 0.5)  # the one probe, in flight
        await trio.sleep(0.1)
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.refuses_calls() is True  # a call now would be refused unsent
    assert breaker.refuses_calls() is False  # the probe passed: CLOSED
