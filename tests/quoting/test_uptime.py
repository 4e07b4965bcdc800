"""Quote uptime credits time to the state that held since the last observation."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Side
from mmbot.quoting.uptime import QuoteUptime, two_sided_within


def test_no_ratio_before_the_first_observation() -> None:
    assert QuoteUptime().ratio(5.0) is None


def test_time_quoting_over_total_time() -> None:
    uptime = QuoteUptime()
    uptime.observe(0.0, True)
    uptime.observe(3.0, False)  # quoting 0..3
    uptime.observe(4.0, True)  # not quoting 3..4
    assert uptime.ratio(5.0) == 4.0 / 5.0  # quoting again 4..5


def test_two_sided_within_needs_both_sides_inside_the_spread() -> None:
    mid = Decimal("100")
    bid, ask = (Side.BUY, Decimal("99.95")), (Side.SELL, Decimal("100.05"))
    assert two_sided_within([bid, ask], mid, Decimal("10"))
    assert not two_sided_within([bid, ask], mid, Decimal("9"))
    assert not two_sided_within([bid], mid, Decimal("100"))
    assert not two_sided_within([bid, ask], None, Decimal("100"))


@given(st.lists(st.tuples(st.floats(0, 10), st.booleans()), min_size=1, max_size=40))
def test_ratio_is_between_zero_and_one(steps: list[tuple[float, bool]]) -> None:
    uptime = QuoteUptime()
    now = 0.0
    for step, quoting in steps:
        now += step
        uptime.observe(now, quoting)
    ratio = uptime.ratio(now + 1.0)
    assert ratio is not None and 0.0 <= ratio <= 1.0
