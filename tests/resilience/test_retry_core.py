"""The retry budget (sans-IO): retries spend what successes and time earned, never more."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmbot.resilience.retry_core import RetryBudget, RetryBudgetConfig

budget_configs = st.builds(
    RetryBudgetConfig,
    capacity=st.sampled_from([1.0, 3.0, 10.0]),
    retry_cost=st.sampled_from([0.5, 1.0, 2.0]),
    success_refill=st.sampled_from([0.0, 0.1, 0.5]),
    refill_per_second=st.sampled_from([0.0, 0.25, 1.0]),
)
budget_ops = st.lists(
    st.tuples(st.integers(0, 8).map(lambda q: q / 4), st.sampled_from(["retry", "success"])),
    max_size=80,
)


@given(budget_configs, budget_ops)
def test_retries_never_exceed_what_the_budget_earned(config: RetryBudgetConfig, ops):
    budget = RetryBudget(config)
    now, granted, successes = 0.0, 0, 0
    for dt, op in ops:
        now += dt
        if op == "retry":
            granted += budget.try_spend(now)
        else:
            budget.record_success(now)
            successes += 1
        assert 0.0 <= budget.tokens(now) <= config.capacity
    earned = config.capacity + successes * config.success_refill + now * config.refill_per_second
    assert granted * config.retry_cost <= earned + 1e-9


def test_an_empty_budget_refuses_until_time_refills_it():
    budget = RetryBudget(RetryBudgetConfig(capacity=2.0, refill_per_second=0.5))
    assert budget.try_spend(0.0) and budget.try_spend(0.0)
    assert not budget.try_spend(1.0)
    assert budget.try_spend(2.0)
    assert budget.statistics(2.0).refused == 1


def test_successes_put_tokens_back():
    budget = RetryBudget(RetryBudgetConfig(capacity=1.0, success_refill=0.5, refill_per_second=0))
    assert budget.try_spend(0.0)
    budget.record_success(0.0)
    assert not budget.try_spend(0.0)
    budget.record_success(0.0)
    assert budget.try_spend(0.0)
