"""The breaker core, driven directly with a number for ``now`` (no trio, no clock)."""

from __future__ import annotations

import math
import random

import attrs
import pytest

from mmbot.resilience.breaker_config import BreakerConfig, WindowType
from mmbot.resilience.breaker_core import (
    BreakerCore,
    BreakerState,
    Trigger,
)
from mmbot.resilience.outcomes import CallOutcome

S, O = BreakerState, CallOutcome  # noqa: E741
BASE = BreakerConfig(
    window_size=10,
    minimum_calls=4,
    failure_rate_threshold=0.5,
    slow_call_rate_threshold=0.75,
    slow_call_duration=1.0,
    consecutive_hard_failures=3,
    open_base=10.0,
    open_multiplier=2.0,
    open_max=100.0,
    open_jitter=0.0,
    half_open_probes=2,
    half_open_max_wait=5.0,
)


def make(**changes: object) -> BreakerCore:
    return BreakerCore("test", attrs.evolve(BASE, **changes), random.Random(7))


def run(core: BreakerCore, outcome: CallOutcome, now: float, duration: float = 0.0) -> bool:
    """One call started at ``now - duration``; False if the breaker refused it."""
    permit = core.acquire(now - duration)
    if permit is None:
        return False
    core.record(permit, outcome, now)
    return True


def test_failures_below_the_minimum_number_of_calls_do_not_trip():
    core = make()
    for _ in range(3):
        run(core, O.FAILURE, 0.0)
    assert core.state_at(0.0) is S.CLOSED


def test_failure_rate_at_the_threshold_trips_once_the_minimum_is_reached():
    core = make()
    for outcome in (O.SUCCESS, O.FAILURE, O.SUCCESS, O.FAILURE):
        run(core, outcome, 0.0)
    assert core.state_at(0.0) is S.OPEN
    [transition] = core.take_transitions()
    assert (transition.from_state, transition.to_state, transition.trigger) == (
        S.CLOSED,
        S.OPEN,
        Trigger.TRIP,
    )


def test_slow_successes_trip_on_the_slow_call_rate():
    core = make()
    for _ in range(3):
        run(core, O.SUCCESS, 10.0, duration=1.5)
    run(core, O.SUCCESS, 10.0)
    assert core.state_at(10.0) is S.OPEN


def test_a_timeout_counts_as_failure_and_as_slow():
    core = make(minimum_calls=10, window_size=10)
    run(core, O.TIMEOUT, 0.0)
    stats = core.statistics(0.0)
    assert (stats.failures_in_window, stats.slow_in_window, stats.timeouts) == (1, 1, 1)


def test_consecutive_hard_failures_trip_at_once():
    core = make(minimum_calls=10)
    for _ in range(3):
        run(core, O.HARD_FAILURE, 0.0)
    assert core.state_at(0.0) is S.OPEN


def test_a_success_between_hard_failures_resets_the_run():
    core = make(minimum_calls=10, failure_rate_threshold=1.0)
    for outcome in (O.HARD_FAILURE, O.HARD_FAILURE, O.SUCCESS, O.HARD_FAILURE):
        run(core, outcome, 0.0)
    assert core.state_at(0.0) is S.CLOSED


def test_ignored_and_cancelled_outcomes_do_not_enter_the_window():
    core = make()
    for outcome in (O.IGNORED, O.CANCELLED) * 5:
        run(core, outcome, 0.0)
    stats = core.statistics(0.0)
    assert (stats.state, stats.calls_in_window, stats.ignored, stats.cancelled) == (
        S.CLOSED,
        0,
        5,
        5,
    )


def test_open_refuses_until_its_time_then_goes_half_open():
    core = make(consecutive_hard_failures=1)
    run(core, O.HARD_FAILURE, 0.0)
    assert core.acquire(9.99) is None
    assert core.retry_after(4.0) == pytest.approx(6.0)
    assert core.state_at(10.0) is S.HALF_OPEN


def test_half_open_admits_exactly_the_probe_count():
    core = make(consecutive_hard_failures=1)
    run(core, O.HARD_FAILURE, 0.0)
    probes = [core.acquire(10.0), core.acquire(10.0)]
    assert all(p is not None and p.probe for p in probes)
    assert core.acquire(10.0) is None


def test_passing_probes_close_the_breaker_and_reset_the_backoff():
    core = make(consecutive_hard_failures=1)
    run(core, O.HARD_FAILURE, 0.0)
    assert run(core, O.SUCCESS, 10.0) and run(core, O.SUCCESS, 10.0)
    assert core.state_at(10.0) is S.CLOSED
    assert core.statistics(10.0).consecutive_openings == 0


def test_failing_probes_reopen_for_twice_as_long():
    core = make(consecutive_hard_failures=1)
    run(core, O.HARD_FAILURE, 0.0)  # open 0..10
    run(core, O.FAILURE, 10.0)  # 1 of 2 probes failed: rate 0.5 >= 0.5, open 10..30
    assert core.state_at(10.0) is S.OPEN
    assert core.open_until_time() == pytest.approx(30.0)


def test_open_duration_grows_exponentially_up_to_the_cap():
    core = make(consecutive_hard_failures=1, half_open_probes=1, open_max=35.0)
    durations, now = [], 0.0
    for _ in range(5):
        run(core, O.HARD_FAILURE, now)  # trips from CLOSED, then fails each probe
        until = core.open_until_time()
        assert until is not None
        durations.append(until - now)
        now = until
    assert durations == [10.0, 20.0, 35.0, 35.0, 35.0]


def test_open_duration_jitter_comes_from_the_injected_rng():
    def durations(seed: int) -> list[float]:
        core = BreakerCore(
            "j",
            attrs.evolve(BASE, consecutive_hard_failures=1, open_jitter=0.5),
            random.Random(seed),
        )
        out, now = [], 0.0
        for _ in range(4):
            run(core, O.HARD_FAILURE, now)
            until = core.open_until_time()
            assert until is not None
            out.append(until - now)
            now = until
        return out

    assert durations(1) == durations(1)
    assert durations(1) != durations(2)
    # grows from 10 * 2**i by up to 50 %; where that would pass open_max (100) the jitter
    # goes below the cap instead (never further than 50 % of it), so it is never clamped
    for i, d in enumerate(durations(3)):
        expo = 10.0 * 2**i
        assert min(expo, 100.0 * 0.5) <= d <= min(100.0, expo * 1.5)


def test_a_stuck_probe_cannot_wedge_half_open():
    core = make(consecutive_hard_failures=1, half_open_probes=1)
    run(core, O.HARD_FAILURE, 0.0)
    stuck = core.acquire(12.0)
    assert stuck is not None
    assert core.state_at(16.9) is S.HALF_OPEN
    assert core.state_at(17.0) is S.OPEN  # 5 s after the probe went out
    core.take_transitions()
    core.record(stuck, O.SUCCESS, 18.0)  # its late answer is stale: not judged
    assert core.state_at(18.0) is S.OPEN
    assert core.statistics(18.0).stale == 1


def test_half_open_without_any_probe_waits_for_one():
    core = make(consecutive_hard_failures=1)
    run(core, O.HARD_FAILURE, 0.0)
    assert core.state_at(1000.0) is S.HALF_OPEN


def test_a_cancelled_probe_gives_its_slot_back():
    core = make(consecutive_hard_failures=1, half_open_probes=1)
    run(core, O.HARD_FAILURE, 0.0)
    assert run(core, O.CANCELLED, 10.0)
    assert run(core, O.SUCCESS, 10.0)
    assert core.state_at(10.0) is S.CLOSED


def test_outcomes_of_calls_admitted_before_a_trip_are_stale():
    core = make(consecutive_hard_failures=1)
    early = core.acquire(0.0)
    assert early is not None
    run(core, O.HARD_FAILURE, 0.0)
    core.record(early, O.FAILURE, 1.0)
    stats = core.statistics(1.0)
    assert (stats.state, stats.stale, stats.calls_in_window) == (S.OPEN, 1, 0)


def test_exchange_hint_opens_until_then_and_never_shortens():
    core = make()
    core.open_until(50.0, now=0.0)
    assert core.state_at(0.0) is S.OPEN and core.open_until_time() == 50.0
    core.open_until(20.0, now=1.0)
    assert core.open_until_time() == 50.0
    assert core.take_transitions()[0].trigger is Trigger.HINT


def test_a_hint_in_the_past_changes_nothing():
    core = make()
    core.open_until(5.0, now=10.0)
    assert core.state_at(10.0) is S.CLOSED


def test_time_window_forgets_old_calls():
    core = make(window_type=WindowType.TIME, window_duration=10.0, minimum_calls=2)
    run(core, O.FAILURE, 0.0)
    run(core, O.SUCCESS, 11.0)
    run(core, O.SUCCESS, 11.0)
    assert core.statistics(11.0).calls_in_window == 2
    assert core.state_at(11.0) is S.CLOSED


def test_count_window_keeps_the_last_calls_only():
    core = make(window_size=3, minimum_calls=3, failure_rate_threshold=1.0)
    for outcome in (O.FAILURE, O.FAILURE, O.SUCCESS, O.SUCCESS):
        run(core, outcome, 0.0)
    stats = core.statistics(0.0)
    assert (stats.calls_in_window, stats.failures_in_window) == (3, 1)


def test_forced_open_refuses_everything_with_an_infinite_retry_after():
    core = make()
    core.force_open(0.0)
    assert core.acquire(1e9) is None
    assert math.isinf(core.retry_after(0.0))
    core.reset(1.0)
    assert core.state_at(1.0) is S.CLOSED


def test_disabled_admits_everything_and_never_opens():
    core = make()
    core.disable(0.0)
    for _ in range(20):
        assert run(core, O.HARD_FAILURE, 0.0)
    assert core.statistics(0.0).calls_in_window == 0


def test_metrics_only_records_and_counts_would_trip_but_never_opens():
    core = make()
    core.metrics_only(0.0)
    for _ in range(6):
        assert run(core, O.FAILURE, 0.0)
    stats = core.statistics(0.0)
    assert stats.state is S.METRICS_ONLY
    assert stats.would_trip == 3
    assert stats.failures_in_window == 6


def test_a_permit_can_be_handed_back_only_once():
    core = make()
    permit = core.acquire(0.0)
    assert permit is not None
    core.record(permit, O.SUCCESS, 0.0)
    with pytest.raises(ValueError, match="not outstanding"):
        core.record(permit, O.SUCCESS, 0.0)


@pytest.mark.parametrize(
    "changes",
    [
        {"window_size": 0},
        {"failure_rate_threshold": 0.0},
        {"failure_rate_threshold": 1.5},
        {"call_timeout": -1.0},
        {"half_open_probes": 0},
        {"open_multiplier": 0.5},
    ],
)
def test_config_refuses_nonsense(changes: dict[str, object]):
    with pytest.raises(ValueError):
        attrs.evolve(BASE, **changes)


def _grown(core: BreakerCore) -> None:
    """Trip at 0 (OPEN until 10), fail the probes at 10: OPEN again until 30 (backoff x2)."""
    for _ in range(4):
        run(core, O.FAILURE, 0.0)
    for _ in range(2):
        run(core, O.FAILURE, 10.0)
    assert core.state_at(10.0) is S.OPEN and core.open_until_time() == 30.0


def test_cut_backoff_ends_a_grown_open_at_the_base_time_after_it_began():
    core = make()
    _grown(core)
    assert core.cut_backoff(12.0) is True
    assert core.open_until_time() == 20.0  # opened at 10, base 10 s
    assert core.state_at(19.9) is S.OPEN and core.state_at(20.0) is S.HALF_OPEN


def test_cut_backoff_past_the_base_time_lets_a_probe_through_now():
    core = make()
    _grown(core)
    assert core.cut_backoff(25.0) is True
    assert core.state_at(25.0) is S.HALF_OPEN
    assert core.acquire(25.0) is not None


def test_cut_backoff_leaves_a_first_opening_an_exchange_hint_and_other_states_alone():
    core = make()
    for _ in range(4):
        run(core, O.FAILURE, 0.0)
    assert core.cut_backoff(1.0) is False and core.open_until_time() == 10.0  # at base
    hinted = make()
    _grown(hinted)
    hinted.open_until(60.0, now=11.0)  # the venue's Retry-After
    assert hinted.cut_backoff(12.0) is False and hinted.open_until_time() == 60.0
    closed = make()
    assert closed.cut_backoff(0.0) is False and closed.state_at(0.0) is S.CLOSED


def test_a_failed_probe_after_a_cut_opens_with_the_backoff_grown_further():
    core = make()
    _grown(core)
    core.cut_backoff(12.0)
    for _ in range(2):
        run(core, O.FAILURE, 20.0)
    assert core.open_until_time() == 60.0  # third opening: 10 x 2^2


def test_cut_backoff_keeps_a_first_openings_jitter() -> None:
    core = make(open_jitter=0.2)
    for _ in range(4):
        run(core, O.FAILURE, 0.0)
    jittered = core.open_until_time()
    assert jittered is not None and jittered > 10.0  # 10 s + up to 20 %, seed 7
    assert core.cut_backoff(1.0) is False and core.open_until_time() == jittered
