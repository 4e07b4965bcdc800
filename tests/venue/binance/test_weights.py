"""The one table of request weights (VENUE_DIALECT.md), and the parameters that change them."""

from __future__ import annotations

import pytest

from mmbot.venue.binance import rest_endpoints
from mmbot.venue.binance.weights import (
    FREE_WHEN_SUCCESSFUL,
    WEIGHTS,
    depth_weight,
    request_weight,
    weight_if_successful,
)


@pytest.mark.parametrize(
    ("operation", "params", "weight"),
    [
        ("ping", {}, 1),
        ("time", {}, 1),
        ("exchangeInfo", {}, 20),
        ("order.place", {"symbol": "BTCUSDT"}, 1),
        ("order.cancel", {"symbol": "BTCUSDT"}, 1),
        ("order.cancelReplace", {"symbol": "BTCUSDT"}, 1),
        ("openOrders.cancelAll", {"symbol": "BTCUSDT"}, 1),
        ("order.status", {"symbol": "BTCUSDT"}, 4),
        ("openOrders.status", {"symbol": "BTCUSDT"}, 6),
        ("openOrders.status", {}, 80),
        ("account.status", {}, 20),
        ("myTrades", {"symbol": "BTCUSDT"}, 20),
        ("myTrades", {"symbol": "BTCUSDT", "orderId": "7"}, 5),
        ("userDataStream.subscribe.signature", {}, 2),
        ("allOrders", {"symbol": "BTCUSDT"}, 20),
        ("order.test", {"symbol": "BTCUSDT"}, 1),
        ("order.test", {"computeCommissionRates": "false"}, 1),
        ("order.test", {"computeCommissionRates": "true"}, 20),
        ("order.amend.keepPriority", {"symbol": "BTCUSDT"}, 4),
        ("account.commission", {"symbol": "BTCUSDT"}, 20),
        ("account.rateLimits.orders", {}, 40),
        ("depth", {"symbol": "BTCUSDT"}, 5),
        ("depth", {"limit": "100"}, 5),
        ("depth", {"limit": "101"}, 25),
        ("depth", {"limit": "500"}, 25),
        ("depth", {"limit": "1000"}, 50),
        ("depth", {"limit": "5000"}, 250),
        ("depth", {"limit": "12a"}, 5),  # malformed: charged as the default, refused later
        ("depth", {"limit": "1234567890"}, 5),  # more than 9 digits: the same
    ],
)
def test_a_request_costs_what_the_dialect_says(
    operation: str, params: dict[str, str], weight: int
) -> None:
    assert request_weight(operation, params.get) == weight


def test_an_empty_parameter_counts_as_absent() -> None:
    assert request_weight("openOrders.status", {"symbol": ""}.get) == 80
    assert request_weight("myTrades", {"orderId": ""}.get) == 20


def test_an_operation_missing_from_the_table_is_an_error_not_weight_one() -> None:
    with pytest.raises(KeyError):
        request_weight("order.teleport", {}.get)


def test_depth_weight_steps_at_the_published_limits() -> None:
    assert [depth_weight(n) for n in (1, 100, 101, 500, 501, 1000, 1001)] == [
        5,
        5,
        25,
        25,
        50,
        50,
        250,
    ]


def test_every_rest_endpoint_is_priced_by_the_table() -> None:
    endpoints = [v for v in vars(rest_endpoints).values() if isinstance(v, rest_endpoints.Endpoint)]
    assert len(endpoints) == 11
    for endpoint in endpoints:
        assert endpoint.name in WEIGHTS
        assert endpoint.weight({}) == weight_if_successful(endpoint.name, {}.get)


@pytest.mark.parametrize(
    "operation", ["order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll"]
)
def test_placements_and_cancels_cost_nothing_when_they_succeed(operation: str) -> None:
    # the docs' CHANGELOG, 2026-03-27: 0 when successful, the documented weight otherwise
    assert operation in FREE_WHEN_SUCCESSFUL
    assert request_weight(operation, {}.get) == 1
    assert weight_if_successful(operation, {}.get) == 0


def test_an_amendment_and_the_queries_are_not_free_when_they_succeed() -> None:
    # an amendment is free only when it expires the order (CHANGELOG 2026-04-02): the venue
    # decides that; the client charges the documented weight
    for operation in ("order.amend.keepPriority", "order.status", "allOrders", "order.test"):
        assert weight_if_successful(operation, {}.get) == request_weight(operation, {}.get) > 0
