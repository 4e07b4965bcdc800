"""The order budget keeps every symbol together inside the venue's ORDERS rules."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders.reconcile import Tolerances
from mmbot.resilience.ratelimit_core import LimitKind, RateLimitRule

RULES = (
    RateLimitRule(LimitKind.REQUEST_WEIGHT, 60, 6000),
    RateLimitRule(LimitKind.ORDERS, 10, 50),
    RateLimitRule(LimitKind.ORDERS, 86400, 160000),
)


def test_grants_at_most_the_fraction_of_the_tightest_rule() -> None:
    budget = OrderBudget(RULES, fraction=0.8)
    assert budget.grant(100, now=0.0) == 40
    assert budget.grant(1, now=5.0) == 0
    assert budget.statistics(5.0).refused == 61


def test_spent_orders_come_back_after_the_rules_interval() -> None:
    budget = OrderBudget(RULES, fraction=0.8)
    budget.grant(40, now=0.0)
    assert budget.available(10.5) == 40


def test_a_cancel_costs_nothing_and_zero_is_granted_for_zero() -> None:
    budget = OrderBudget(RULES)
    assert budget.grant(0, now=0.0) == 0
    assert budget.available(0.0) == 40


def test_tolerances_widen_only_while_short() -> None:
    budget = OrderBudget(RULES, fraction=1.0, low_water=0.25, widen=4.0)
    base = Tolerances(Decimal("2"), Decimal("0.1"))
    assert budget.tolerances(base, 0.0) == base
    budget.grant(40, now=0.0)  # 10 of 50 left: 20 % < 25 %
    assert budget.short(0.0)
    assert budget.tolerances(base, 0.0) == Tolerances(Decimal("8"), Decimal("0.4"))


def test_no_orders_rule_means_no_limit() -> None:
    budget = OrderBudget(RULES[:1])
    assert budget.grant(10_000, now=0.0) == 10_000
    assert budget.headroom(0.0) == 1.0


@given(st.lists(st.tuples(st.floats(0, 2.0), st.integers(0, 30)), max_size=60))
def test_over_any_window_grants_stay_within_the_budget(asks: list[tuple[float, int]]) -> None:
    budget = OrderBudget(RULES, fraction=0.8)
    now = 0.0
    grants: list[tuple[float, int]] = []
    for step, wanted in asks:
        now += step
        grants.append((now, budget.grant(wanted, now)))
    for start, _ in grants:
        in_window = sum(n for t, n in grants if start <= t < start + 10.0)
        assert in_window <= 40
