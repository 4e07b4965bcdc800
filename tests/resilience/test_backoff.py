"""Backoff formulas: bounded, growing, reproducible from the injected RNG."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.resilience.backoff import equal_jitter, exponential, full_jitter, proportional_jitter

attempts = st.integers(min_value=1, max_value=5000)
bases = st.floats(min_value=1e-3, max_value=10.0)
caps = st.floats(min_value=1e-3, max_value=1000.0)
multipliers = st.floats(min_value=1.0, max_value=4.0)
seeds = st.integers(min_value=0, max_value=2**32)


@given(attempts, bases, multipliers, caps)
def test_exponential_never_exceeds_the_cap(attempt: int, base: float, mult: float, cap: float):
    delay = exponential(attempt, base=base, multiplier=mult, cap=cap)
    assert 0 < delay <= cap


@given(attempts, bases, multipliers, caps)
def test_exponential_never_shrinks_with_more_attempts(
    attempt: int, base: float, mult: float, cap: float
):
    now = exponential(attempt, base=base, multiplier=mult, cap=cap)
    later = exponential(attempt + 1, base=base, multiplier=mult, cap=cap)
    assert later >= now


@given(attempts, bases, multipliers, caps, seeds)
def test_full_jitter_stays_within_zero_and_the_exponential_delay(
    attempt: int, base: float, mult: float, cap: float, seed: int
):
    delay = full_jitter(attempt, base=base, multiplier=mult, cap=cap, rng=random.Random(seed))
    assert 0 <= delay < exponential(attempt, base=base, multiplier=mult, cap=cap) or delay == 0


@given(attempts, bases, multipliers, caps, st.floats(min_value=0, max_value=1), seeds)
def test_proportional_jitter_grows_from_the_exponential_delay_and_stays_within_the_cap(
    attempt: int, base: float, mult: float, cap: float, jitter: float, seed: int
):
    rng = random.Random(seed)
    delay = proportional_jitter(
        attempt, base=base, multiplier=mult, cap=cap, jitter=jitter, rng=rng
    )
    expo = exponential(attempt, base=base, multiplier=mult, cap=cap)
    assert delay <= cap
    # below the cap the delay never shrinks under the exponential value; near the cap the
    # jitter goes below it instead, never further than ``jitter`` of the cap
    assert delay >= min(expo, cap * (1 - jitter)) * (1 - 1e-12)
    if expo * (1 + jitter) <= cap:
        assert delay >= expo


def test_proportional_jitter_at_the_cap_still_spreads_the_delays():
    # many breakers that reached open_max must not all reopen at the same instant
    delays = {
        proportional_jitter(50, base=1.0, cap=60.0, jitter=0.2, rng=random.Random(seed))
        for seed in range(20)
    }
    assert len(delays) == 20
    assert all(60.0 * 0.8 <= d <= 60.0 for d in delays)


@given(attempts, seeds)
def test_the_same_seed_draws_the_same_delays(attempt: int, seed: int):
    one = [full_jitter(attempt, base=0.1, cap=5.0, rng=r) for r in [random.Random(seed)] * 3]
    two = [full_jitter(attempt, base=0.1, cap=5.0, rng=r) for r in [random.Random(seed)] * 3]
    assert one == two


def test_attempt_numbers_start_at_one():
    with pytest.raises(ValueError):
        exponential(0, base=1.0, cap=2.0)


def test_huge_attempt_numbers_do_not_overflow():
    assert exponential(10**9, base=1.0, multiplier=3.0, cap=60.0) == 60.0


@given(st.floats(min_value=0.0, max_value=1e6), seeds)
def test_equal_jitter_keeps_at_least_half_the_delay(delay: float, seed: int):
    rng = random.Random(seed)
    for _ in range(10):
        assert delay / 2 <= equal_jitter(delay, rng) <= delay


def test_equal_jitter_is_reproducible_from_the_seed():
    first = [equal_jitter(4.0, random.Random(7)) for _ in range(3)]
    assert first == [equal_jitter(4.0, random.Random(7)) for _ in range(3)]
    rng = random.Random(7)
    assert len({equal_jitter(4.0, rng) for _ in range(20)}) > 1
