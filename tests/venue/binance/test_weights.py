"""The one table of request weights (VENUE_DIALECT.md), and the parameters that change them."""

from __future__ import annotations

import pytest

from mmbot.venue.binance import rest_endpoints
from mmbot.venue.binance.weights import WEIGHTS, depth_weight, request_weight


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
        assert endpoint.weight({}) == request_weight(endpoint.name, {}.get)
