"""The rate limiter's core (sans-IO): rules, window buckets and their guarantee."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.resilience.ratelimit_core import (
    BINANCE_SPOT_RULES,
    LimiterCore,
    LimitKind,
    RateLimiterConfig,
    RateLimitRule,
)

# -- rate-limit rules ----------------------------------------------------------------------


def test_rules_name_the_headers_the_venue_sends():
    headers = [rule.header for rule in BINANCE_SPOT_RULES]
    assert headers == [
        "x-mbx-used-weight-1m",
        "x-mbx-order-count-10s",
        "x-mbx-order-count-1d",
        None,
    ]


def test_config_is_built_from_exchange_info_rate_limits():
    raw = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
    ]
    config = RateLimiterConfig.from_exchange_info(raw, utilisation=0.9)
    assert config.rules == BINANCE_SPOT_RULES
    assert [config.effective_limit(r) for r in config.rules] == [5400, 45, 144000, 270000]


def test_a_request_that_can_never_fit_is_refused():
    core = LimiterCore(RateLimiterConfig(rules=(RateLimitRule(LimitKind.ORDERS, 10, 5),)))
    with pytest.raises(ValueError, match="never fit"):
        core.check(weight=1, orders=6)


def test_a_block_admits_nothing_until_it_ends_and_never_shortens():
    core = LimiterCore(RateLimiterConfig())
    core.block_until(30.0)
    core.block_until(10.0)
    assert core.delay(1, 0, 5.0) == pytest.approx(25.0)
    assert core.delay(1, 0, 30.0) == 0.0


def test_server_counts_above_ours_are_folded_in():
    rule = RateLimitRule(LimitKind.REQUEST_WEIGHT, 60, 100)
    core = LimiterCore(RateLimiterConfig(rules=(rule,), utilisation=1.0))
    core.take(10, 0, 0.0)
    core.observe_headers({"X-MBX-USED-WEIGHT-1M": "95", "Date": "today"}, 0.0)
    assert core.used(0.0) == ((rule, 95),)
    core.observe_headers({"x-mbx-used-weight-1m": "20"}, 0.0)  # lower: keep ours
    assert core.used(0.0) == ((rule, 95),)
    assert core.delay(6, 0, 0.0) > 0


# -- the rate guarantee --------------------------------------------------------------------

RULES = (
    RateLimitRule(LimitKind.REQUEST_WEIGHT, 8, 40),
    RateLimitRule(LimitKind.ORDERS, 2, 5),
    RateLimitRule(LimitKind.ORDERS, 16, 12),
    RateLimitRule(LimitKind.RAW_REQUESTS, 4, 15),
)
requests = st.lists(
    st.tuples(
        st.integers(0, 96).map(lambda n: n / 32),  # gap before the request, seconds
        st.integers(0, 12),  # weight
        st.integers(0, 2),  # orders
        st.one_of(st.none(), st.integers(0, 60)),  # a server weight header after it
    ),
    max_size=120,
)


@given(requests, st.sampled_from([1, 2, 4, 8]), st.sampled_from([0.5, 0.9, 1.0]))
def test_the_limiter_never_exceeds_any_rule_over_any_window(reqs, slots, utilisation):
    config = RateLimiterConfig(rules=RULES, utilisation=utilisation, slots=slots)
    core = LimiterCore(config)
    now = 0.0
    admitted: list[tuple[float, int, int]] = []
    for gap, weight, orders, header in reqs:
        now += gap
        try:
            core.check(weight, orders)
        except ValueError:
            continue
        delay = core.delay(weight, orders, now)
        assert delay >= 0
        now += delay
        assert core.delay(weight, orders, now) == 0.0, "after waiting, the request must fit"
        core.take(weight, orders, now)
        admitted.append((now, weight, orders))
        if header is not None:
            core.observe_headers({"x-mbx-used-weight-8s": str(header)}, now)
    for rule in RULES:
        limit = config.effective_limit(rule)
        for start, _, _ in admitted:
            in_window = sum(
                LimiterCore.demand(rule, w, o)
                for t, w, o in admitted
                if start <= t < start + rule.interval
            )
            assert in_window <= limit, (rule, start)


def test_a_waiting_request_fits_once_the_oldest_usage_has_aged_out():
    rule = RateLimitRule(LimitKind.REQUEST_WEIGHT, 10, 10)
    core = LimiterCore(RateLimiterConfig(rules=(rule,), utilisation=1.0, slots=10))
    core.take(6, 0, 0.2)
    core.take(4, 0, 3.5)
    assert core.delay(5, 0, 4.0) == pytest.approx(7.0)  # slot 0 returns at 11 s
    assert core.delay(7, 0, 4.0) == pytest.approx(10.0)  # needs slot 3 too: 14 s


# -- a request that asks nothing of a rule never waits on it (review2 finding 1) -----------


@given(
    server_orders=st.integers(0, 200),
    own_orders=st.integers(0, 45),
    server_daily=st.integers(0, 200_000),
    weight=st.integers(1, 100),
    now=st.floats(0, 1e5),
)
def test_a_request_with_no_orders_never_waits_on_the_order_buckets(
    server_orders: int, own_orders: int, server_daily: int, weight: int, now: float
):
    core = LimiterCore(RateLimiterConfig())  # Binance rules: orders 45 / 10 s at 90 %
    core.take(0, own_orders, now)
    core.observe_headers(
        {"X-MBX-ORDER-COUNT-10S": str(server_orders), "X-MBX-ORDER-COUNT-1D": str(server_daily)},
        now,
    )
    # weight is the only demand: the weight bucket is empty, so nothing may hold it back
    assert core.delay(weight, 0, now) == 0.0


def test_the_order_bucket_over_its_share_from_the_server_still_holds_back_orders():
    core = LimiterCore(RateLimiterConfig())
    core.observe_headers({"X-MBX-ORDER-COUNT-10S": "48"}, now=0.0)
    assert core.delay(1, 0, 0.0) == 0.0
    assert core.delay(1, 1, 0.0) > 0.0
