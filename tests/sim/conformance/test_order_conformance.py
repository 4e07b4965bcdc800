"""The fake exchange's order and account answers have the shape of the Binance docs' examples.

One test per endpoint (REST and its WebSocket API twin) and for the ``executionReport``
event: the fake's answer is compared, key set and JSON types, with the example of the docs
section named in ``examples/<name>.json`` (``shape.py``). A drift of the dialect away
from Binance's frames fails here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import trio
from dialect_kit import NOW, OTHER_KEY, Kit, ws_signed
from shape import example as load_example
from shape import shape_differences as shape_mismatches

from mmbot.sim.dialect import RestRequest, WsApiSession
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.codec import decode_exchange_info
from mmbot.venue.binance.signing import sign, ws_signing_payload

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
#: Fields the docs mark conditional that the fake never has cause to send (STP, icebergs).
STP_ONLY = ("preventedMatchId", "preventedQuantity")


@pytest.fixture
def kit() -> Kit:
    return Kit()


def rest(kit: Kit, method: str, path: str, params: dict[str, object] | None = None) -> Any:
    response = kit.rest(method, path, params, signed=True)
    assert response.status == 200, response.body
    return response.body


def ws(kit: Kit, method: str, params: dict[str, object]) -> dict[str, object]:
    return kit.dialect.handle_ws_api(
        {"id": "c0ffee", "method": method, "params": ws_signed(params)}, WsApiSession(), NOW
    )


def same_shape(actual: object, example_name: str, *, optional: tuple[str, ...] = ()) -> None:
    assert shape_mismatches(actual, load_example(example_name), optional=optional) == []


def resting(kit: Kit, **extra: object) -> dict[str, Any]:
    body = rest(kit, "POST", "/order", {**ORDER, "price": "100", "quantity": "0.1", **extra})
    assert isinstance(body, dict)
    return body


# ---- REST ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resp_type", "example"),
    [("ACK", "rest_order_place_ack"), ("RESULT", "rest_order_place_result")],
)
def test_new_order_ack_and_result(kit: Kit, resp_type: str, example: str) -> None:
    same_shape(resting(kit, newOrderRespType=resp_type), example)


def test_new_order_full_with_fills(kit: Kit) -> None:
    sell = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT_MAKER", "price": "100"}
    response = kit.rest(
        "POST", "/order", {**sell, "quantity": "0.1"}, signed=True, key=OTHER_KEY,
        secret="other-secret-7H5fATj0j",
    )  # fmt: skip
    assert response.status == 200
    body = rest(kit, "POST", "/order", {**ORDER, "price": "100", "quantity": "0.1"})
    assert body["fills"]
    same_shape(body, "rest_order_place_full")


def test_test_order_with_and_without_commission_rates(kit: Kit) -> None:
    order = {**ORDER, "price": "100", "quantity": "0.1"}
    same_shape(rest(kit, "POST", "/order/test", order), "rest_order_test")
    with_rates = rest(kit, "POST", "/order/test", {**order, "computeCommissionRates": "true"})
    same_shape(with_rates, "rest_order_test_commission")


def test_cancel_order(kit: Kit) -> None:
    placed = resting(kit)
    body = rest(kit, "DELETE", "/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    same_shape(body, "rest_order_cancel")


def test_amend_keep_priority(kit: Kit) -> None:
    placed = resting(kit)
    body = rest(
        kit,
        "PUT",
        "/order/amend/keepPriority",
        {"symbol": "BTCUSDT", "orderId": placed["orderId"], "newQty": "0.05"},
    )
    same_shape(body, "rest_order_amend_keep_priority")


def test_query_order_open_orders_and_all_orders(kit: Kit) -> None:
    placed = resting(kit)
    status = rest(kit, "GET", "/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    same_shape(status, "rest_order_status")
    same_shape(rest(kit, "GET", "/openOrders", {"symbol": "BTCUSDT"}), "rest_open_orders")
    rest(kit, "DELETE", "/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    resting(kit)
    all_orders = rest(kit, "GET", "/allOrders", {"symbol": "BTCUSDT"})
    assert len(all_orders) == 2
    same_shape(all_orders, "rest_all_orders")


def test_account_and_my_trades(kit: Kit) -> None:
    same_shape(rest(kit, "GET", "/account"), "rest_account")
    kit.rest(
        "POST", "/order", {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT_MAKER",
                           "price": "100", "quantity": "0.1"},
        signed=True, key=OTHER_KEY, secret="other-secret-7H5fATj0j",
    )  # fmt: skip
    rest(kit, "POST", "/order", {**ORDER, "price": "100", "quantity": "0.1"})
    trades = rest(kit, "GET", "/myTrades", {"symbol": "BTCUSDT"})
    assert trades
    same_shape(trades, "rest_my_trades")


def test_unfilled_order_count_and_commission_rates(kit: Kit) -> None:
    same_shape(rest(kit, "GET", "/rateLimit/order"), "rest_rate_limit_order")
    commission = rest(kit, "GET", "/account/commission", {"symbol": "BTCUSDT"})
    same_shape(commission, "rest_account_commission")


def exchange_info_of_a_running_venue() -> dict[str, Any]:
    """exchangeInfo as ``mmbot exchange serve`` answers it (MAX_NUM_ORDERS set)."""
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT")))
    request = RestRequest("GET", "/api/v3/exchangeInfo", b"", b"", {}, "127.0.0.1")
    response = exchange.dialect.handle_rest(request, NOW)
    assert response.status == 200 and isinstance(response.body, dict)
    return response.body


def test_exchange_info_has_every_field_of_the_docs_example() -> None:
    body = exchange_info_of_a_running_venue()
    example = load_example("rest_exchange_info")
    # the example leaves rateLimits, exchangeFilters and filters as placeholders: those are
    # compared below with the enums' and filters' own examples
    example["rateLimits"], example["exchangeFilters"] = [], []
    example["symbols"][0]["filters"] = []
    assert shape_mismatches(body, example, optional=("sors",)) == []
    limit_keys = {"rateLimitType", "interval", "intervalNum", "limit"}
    assert all(set(limit) == limit_keys for limit in body["rateLimits"])


def test_exchange_info_filters_have_the_formats_of_filters_md() -> None:
    formats = load_example("filters")
    for symbol in exchange_info_of_a_running_venue()["symbols"]:
        kinds = [f["filterType"] for f in symbol["filters"]]
        assert kinds == [
            "PRICE_FILTER", "LOT_SIZE", "ICEBERG_PARTS", "MARKET_LOT_SIZE", "TRAILING_DELTA",
            "PERCENT_PRICE_BY_SIDE", "NOTIONAL", "MAX_NUM_ORDERS", "MAX_NUM_ORDER_LISTS",
            "MAX_NUM_ALGO_ORDERS", "MAX_NUM_ORDER_AMENDS",
        ]  # fmt: skip
        for item in symbol["filters"]:
            assert shape_mismatches(item, formats[item["filterType"]]) == [], item


def test_the_adapter_decodes_the_fakes_and_the_docs_exchange_info() -> None:
    body = exchange_info_of_a_running_venue()
    btc, eth = decode_exchange_info(json.dumps(body))
    assert (btc.symbol, eth.symbol) == ("BTCUSDT", "ETHUSDT")
    assert btc.tick_size == Decimal("0.01") and btc.min_notional > 0
    # every documented filter, in any order, as a real venue might list them
    example = load_example("rest_exchange_info")
    symbol = example["symbols"][0]
    symbol["filters"] = list(load_example("filters").values())
    (decoded,) = decode_exchange_info(json.dumps(example))
    assert decoded.tick_size == Decimal("0.000001") and decoded.step_size == Decimal("0.001")
    assert decoded.min_notional == Decimal("10") and decoded.max_notional == Decimal("10000")


# ---- WebSocket API -----------------------------------------------------------------------


def test_ws_order_place_with_its_rate_limits(kit: Kit) -> None:
    reply = ws(kit, "order.place", {**ORDER, "price": "100", "quantity": "0.1",
                                    "newOrderRespType": "RESULT"})  # fmt: skip
    same_shape(reply, "ws_order_place_rate_limits")


@pytest.mark.parametrize(
    ("params", "example"),
    [({}, "ws_order_test"), ({"computeCommissionRates": True}, "ws_order_test_commission")],
)
def test_ws_order_test(kit: Kit, params: dict[str, object], example: str) -> None:
    reply = ws(kit, "order.test", {**ORDER, "price": "100", "quantity": "0.1", **params})
    same_shape(reply, example)


def test_ws_amend_keep_priority(kit: Kit) -> None:
    placed = resting(kit, newClientOrderId="my_test_order1")
    reply = ws(
        kit,
        "order.amend.keepPriority",
        {"symbol": "BTCUSDT", "origClientOrderId": "my_test_order1", "newQty": "0.05"},
    )
    assert reply["result"]["amendedOrder"]["orderId"] == placed["orderId"]  # type: ignore[index]
    same_shape(reply, "ws_order_amend_keep_priority")


def test_ws_all_orders_unfilled_order_count_and_commission(kit: Kit) -> None:
    resting(kit)
    same_shape(ws(kit, "allOrders", {"symbol": "BTCUSDT"}), "ws_all_orders", optional=STP_ONLY)
    same_shape(ws(kit, "account.rateLimits.orders", {}), "ws_account_rate_limits_orders")
    same_shape(ws(kit, "account.commission", {"symbol": "BTCUSDT"}), "ws_account_commission")


# ---- user data stream ----------------------------------------------------------------------

API_KEY = "conformance-key"
API_SECRET = "conformance-secret"


async def test_execution_reports_have_the_docs_fields(autojump_clock: trio.abc.Clock) -> None:
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=3, api_key=API_KEY, api_secret=API_SECRET)
    async with running_exchange(Exchange.simulated(config)) as (exchange, nursery):
        ws_api = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")

        async def call(method: str, params: dict[str, object]) -> dict[str, Any]:
            signed: dict[str, object] = {
                **params, "apiKey": API_KEY, "timestamp": exchange.now_ms()
            }  # fmt: skip
            signed["signature"] = sign(API_SECRET, ws_signing_payload(signed))
            await ws_api.send_message(json.dumps({"id": method, "method": method,
                                                  "params": signed}))  # fmt: skip
            while True:
                frame = json.loads(await ws_api.get_message())
                if frame.get("id") == method:
                    return frame
                events.append(frame)

        events: list[dict[str, Any]] = []
        await call("userDataStream.subscribe.signature", {})
        bid, ask = exchange.engine.best_bid_ask("BTCUSDT")
        assert bid is not None and ask is not None
        await call("order.place", {**ORDER, "price": str(bid - 100), "quantity": "0.01"})
        await call("order.place", {**ORDER, "price": str(ask + 100), "quantity": "0.001"})
        with trio.fail_after(5):
            while sum(1 for e in events if e["event"]["e"] == "executionReport") < 3:
                events.append(json.loads(await ws_api.get_message()))
    reports = [e for e in events if e["event"]["e"] == "executionReport"]
    kinds = [r["event"]["x"] for r in reports]
    assert kinds[:3] == ["NEW", "NEW", "TRADE"], kinds
    for report in reports:
        # v: STP only; W: only while the order works on the book (the taker's fill has none)
        same_shape(report, "user_execution_report", optional=("v", "W"))
    ids = [r["event"]["I"] for r in reports]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > 0
    assert "W" in reports[0]["event"]  # the resting order works on the book
