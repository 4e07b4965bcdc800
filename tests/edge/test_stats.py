"""Means with 95 % intervals, alone and paired."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.edge.stats import estimate, paired, t975


def test_t_quantiles_from_the_table_and_past_it() -> None:
    assert t975(1) == pytest.approx(12.706)
    assert t975(19) == pytest.approx(2.093)
    assert t975(40) == pytest.approx(2.021, abs=0.003)
    assert t975(1000) == pytest.approx(1.962, abs=0.002)
    with pytest.raises(ValueError):
        t975(0)


def test_an_estimate_by_hand() -> None:
    est = estimate([1.0, 2.0, 3.0])
    assert est is not None
    half = 4.303 * 1.0 / math.sqrt(3)
    assert (est.mean, est.low, est.high) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert not est.excludes_zero  # -0.48 .. 4.48


def test_one_value_has_no_interval_and_none_have_no_estimate() -> None:
    one = estimate([5.0])
    assert one is not None and one.low is None and not one.excludes_zero
    assert estimate([]) is None
    assert estimate([float("nan")]) is None


def test_pairs_cancel_what_both_sides_share() -> None:
    market = [10.0, -7.0, 3.0, 22.0]
    diff = paired(market, [m + 0.5 for m in market])
    assert diff is not None and diff.mean == pytest.approx(0.5) and diff.excludes_zero
    assert paired([1.0, None], [2.0, 3.0]) == estimate([1.0])
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 2.0])


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=40))
def test_the_interval_holds_the_mean(values: list[float]) -> None:
    est = estimate(values)
    assert est is not None and est.low is not None and est.high is not None
    assert est.low <= est.mean <= est.high
    assert est.high - est.mean == pytest.approx(est.mean - est.low, abs=1e-6)
