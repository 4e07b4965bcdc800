"""allOrders, order.test, order.amend.keepPriority, account.commission, rateLimit/order,
the 2026 weights (free placements and cancels) and the REST headers, over both transports."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from dialect_kit import API_KEY, NOW, OTHER_KEY, OTHER_SECRET, SECRET, Kit, header, ws_signed

from mmbot.sim.dialect import RateLimits, RestRequest, WsApiSession
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.venue.binance.signing import sign

ORDER_PARAMS = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
}


@pytest.fixture
def kit() -> Kit:
    return Kit()


def ws(
    kit: Kit, method: str, params: dict[str, object], *, signed: bool = True
) -> dict[str, object]:
    body = ws_signed(params) if signed else params
    return kit.dialect.handle_ws_api(
        {"id": 1, "method": method, "params": body}, WsApiSession(), NOW
    )


def test_all_orders_lists_every_order_of_the_symbol_open_and_closed(kit: Kit) -> None:
    first = kit.place(price="100", quantity="0.1", newClientOrderId="one").body
    kit.place(price="99", quantity="0.1", newClientOrderId="two")
    assert isinstance(first, dict)
    kit.rest("DELETE", "/order", {"symbol": "BTCUSDT", "orderId": first["orderId"]}, signed=True)
    response = kit.rest("GET", "/allOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert response.status == 200 and isinstance(response.body, list)
    assert [(o["clientOrderId"], o["status"]) for o in response.body] == [
        ("one", "CANCELED"),
        ("two", "NEW"),
    ]
    assert header(response, "x-mbx-used-weight-1m") == "20"  # the placements and cancel: free
    reply = ws(kit, "allOrders", {"symbol": "BTCUSDT", "limit": 1})
    assert [o["clientOrderId"] for o in reply["result"]] == ["two"]  # type: ignore[union-attr]


def test_all_orders_refuses_a_window_over_24_hours_and_a_limit_over_1000(kit: Kit) -> None:
    wide = kit.rest(
        "GET",
        "/allOrders",
        {"symbol": "BTCUSDT", "startTime": 0, "endTime": 24 * 3_600_000 + 1},
        signed=True,
    )
    assert wide.status == 400 and wide.body == {
        "code": -1127,
        "msg": "More than 24 hours between startTime and endTime.",
    }
    big = kit.rest("GET", "/allOrders", {"symbol": "BTCUSDT", "limit": 1001}, signed=True)
    assert big.status == 400 and isinstance(big.body, dict) and big.body["code"] == -1130
    unsigned = kit.rest("GET", "/allOrders", {"symbol": "BTCUSDT"})
    assert unsigned.status == 401 and unsigned.body == {
        "code": -2014,
        "msg": "API-key format invalid.",
    }


def test_test_order_validates_without_placing(kit: Kit) -> None:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    ok = kit.rest("POST", "/order/test", {**params, "price": "100", "quantity": "0.1"}, signed=True)
    assert ok.status == 200 and ok.body == {}
    assert kit.engine.open_orders("alice") == []
    off_tick = kit.rest(
        "POST", "/order/test", {**params, "price": "100.001", "quantity": "0.1"}, signed=True
    )
    assert off_tick.body == {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}
    missing = kit.rest("POST", "/order/test", {**params, "quantity": "0.1"}, signed=True)
    assert isinstance(missing.body, dict) and missing.body["code"] == -1102
    # a balance the account lacks is the matching engine's business: a test order passes
    rich = kit.rest(
        "POST", "/order/test", {**params, "price": "100", "quantity": "5000"}, signed=True
    )
    assert rich.status == 200


def test_test_order_with_commission_rates_costs_20(kit: Kit) -> None:
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT_MAKER",
        "price": "100",
        "quantity": "0.1",
        "computeCommissionRates": "true",
    }
    response = kit.rest("POST", "/order/test", params, signed=True)
    assert response.status == 200 and isinstance(response.body, dict)
    assert response.body["standardCommissionForOrder"] == {
        "maker": "0.00100000",
        "taker": "0.00100000",
    }
    assert header(response, "x-mbx-used-weight-1m") == "20"
    reply = ws(kit, "order.test", {**params, "computeCommissionRates": True})
    assert isinstance(reply["result"], dict) and "discount" in reply["result"]


def test_amend_keep_priority_reduces_the_order_and_answers_as_the_docs(kit: Kit) -> None:
    placed = kit.place(price="100", quantity="0.5", newClientOrderId="mine").body
    assert isinstance(placed, dict)
    response = kit.rest(
        "PUT",
        "/order/amend/keepPriority",
        {"symbol": "BTCUSDT", "origClientOrderId": "mine", "newQty": "0.2"},
        signed=True,
    )
    assert response.status == 200 and isinstance(response.body, dict)
    amended = response.body["amendedOrder"]
    assert amended["orderId"] == placed["orderId"] and amended["qty"] == "0.20000000"
    assert amended["origClientOrderId"] == "mine" and amended["clientOrderId"] != "mine"
    assert isinstance(response.body["executionId"], int) and response.body["executionId"] > 0
    assert header(response, "x-mbx-used-weight-1m") == "4"  # not free: the order lives on
    assert header(response, "x-mbx-order-count-10s") is None  # counts no new order
    reply = ws(
        kit,
        "order.amend.keepPriority",
        {
            "symbol": "BTCUSDT",
            "orderId": placed["orderId"],
            "newQty": "0.1",
            "newClientOrderId": "k",
        },
    )
    assert reply["status"] == 200
    assert reply["result"]["amendedOrder"]["clientOrderId"] == "k"  # type: ignore[index]


def test_an_amendment_that_does_not_reduce_is_2038(kit: Kit) -> None:
    placed = kit.place(price="100", quantity="0.5").body
    assert isinstance(placed, dict)
    response = kit.rest(
        "PUT",
        "/order/amend/keepPriority",
        {"symbol": "BTCUSDT", "orderId": placed["orderId"], "newQty": "0.6"},
        signed=True,
    )
    assert response.status == 400
    assert response.body == {
        "code": -2038,
        "msg": "Order amend (quantity increase) is not supported.",
    }
    missing = kit.rest(
        "PUT", "/order/amend/keepPriority", {"symbol": "BTCUSDT", "orderId": 1}, signed=True
    )
    assert isinstance(missing.body, dict) and missing.body["code"] == -1102


def test_account_commission_and_unfilled_order_count(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1")
    commission = kit.rest("GET", "/account/commission", {"symbol": "BTCUSDT"}, signed=True)
    assert isinstance(commission.body, dict) and commission.body["symbol"] == "BTCUSDT"
    assert commission.body["standardCommission"]["maker"] == "0.00100000"
    counts = kit.rest("GET", "/rateLimit/order", signed=True)
    assert counts.body == [
        {
            "rateLimitType": "ORDERS",
            "interval": "SECOND",
            "intervalNum": 10,
            "limit": 50,
            "count": 1,
        },
        {
            "rateLimitType": "ORDERS",
            "interval": "DAY",
            "intervalNum": 1,
            "limit": 160000,
            "count": 1,
        },
    ]
    assert header(counts, "x-mbx-used-weight-1m") == "60"  # 20 + 40
    reply = ws(kit, "account.rateLimits.orders", {})
    assert reply["result"] == counts.body


def test_a_failed_placement_is_charged_its_weight_and_a_successful_one_is_free(kit: Kit) -> None:
    ok = kit.place(price="100", quantity="0.1")
    assert header(ok, "x-mbx-used-weight") == header(ok, "x-mbx-used-weight-1m") == "0"
    refused = kit.place(price="100.001", quantity="0.1")
    assert refused.status == 400 and header(refused, "x-mbx-used-weight-1m") == "1"


def test_free_placements_still_count_raw_requests() -> None:
    kit = Kit(RateLimits(raw_requests_per_5min=2))
    assert kit.place(price="100", quantity="0.1").status == 200
    assert kit.place(price="100", quantity="0.1").status == 200
    assert kit.place(price="100", quantity="0.1").status == 429


def test_an_ip_out_of_weight_cannot_place_until_the_window_ends() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    assert kit.rest("GET", "/exchangeInfo").status == 200
    assert kit.place(price="100", quantity="0.1").status == 429


def test_every_rest_answer_has_a_distinct_uuid(kit: Kit) -> None:
    ids = {header(kit.rest("GET", "/ping"), "x-mbx-uuid") for _ in range(5)}
    assert len(ids) == 5
    shape = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}")
    assert all(i is not None and shape.fullmatch(i) for i in ids)
    assert header(kit.rest("GET", "/nope"), "x-mbx-uuid") is not None  # errors too


def test_ws_order_rate_limits_list_orders_before_weight(kit: Kit) -> None:
    reply = ws(
        kit,
        "order.place",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": "100",
            "quantity": "0.1",
        },
    )
    kinds = [(r["rateLimitType"], r["interval"]) for r in reply["rateLimits"]]  # type: ignore[union-attr, index]
    assert kinds == [("ORDERS", "SECOND"), ("ORDERS", "DAY"), ("REQUEST_WEIGHT", "MINUTE")]
    assert reply["rateLimits"][2]["count"] == 0  # type: ignore[index]


def test_exchange_info_publishes_raw_requests_of_300000_per_5_minutes(kit: Kit) -> None:
    body = kit.rest("GET", "/exchangeInfo").body
    assert isinstance(body, dict)
    assert {
        "rateLimitType": "RAW_REQUESTS",
        "interval": "MINUTE",
        "intervalNum": 5,
        "limit": 300000,
    } in body["rateLimits"]
    (btc, _) = body["symbols"]
    assert btc["amendAllowed"] is True and btc["opoAllowed"] is False
    kinds = [f["filterType"] for f in btc["filters"]]
    assert kinds[:3] == ["PRICE_FILTER", "LOT_SIZE", "ICEBERG_PARTS"]
    assert "MAX_NUM_ORDERS" not in kinds  # this kit's engine sets no limit


def test_the_wallet_trade_fee_endpoint_is_rest_only(kit: Kit) -> None:
    request = RestRequest("GET", "/sapi/v1/asset/tradeFee", b"", b"", {}, "127.0.0.1")
    assert kit.dialect.handle_rest(request, NOW).status == 401  # signed
    query = f"symbol=ETHUSDT&timestamp={NOW}"
    signed = f"{query}&signature={sign(SECRET, query)}".encode()
    one = kit.dialect.handle_rest(
        RestRequest(
            "GET", "/sapi/v1/asset/tradeFee", signed, b"", {"x-mbx-apikey": API_KEY}, "127.0.0.1"
        ),
        NOW,
    )
    assert one.status == 200
    assert one.body == [
        {"symbol": "ETHUSDT", "makerCommission": "0.001", "takerCommission": "0.001"}
    ]
    assert header(one, "x-mbx-used-weight-1m") == "2"  # 1 each, the refused one too
    assert ws(kit, "asset.tradeFee", {})["status"] == 400  # no WebSocket API twin
    other = kit.dialect.handle_rest(
        RestRequest("GET", "/sapi/v1/capital/config/getall", b"", b"", {}, "127.0.0.1"), NOW
    )
    assert other.status == 404 and isinstance(other.body, dict) and other.body["code"] == -1020


def test_an_amendment_that_expires_the_order_is_free(kit: Kit) -> None:
    placed = kit.place(price="100", quantity="0.5").body
    assert isinstance(placed, dict)
    sell = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "IOC"}
    kit.rest(
        "POST", "/order", {**sell, "price": "100", "quantity": "0.2"}, signed=True,
        key=OTHER_KEY, secret=OTHER_SECRET,
    )  # fmt: skip
    before = header(kit.rest("GET", "/ping"), "x-mbx-used-weight-1m")
    assert before is not None
    response = kit.rest(
        "PUT",
        "/order/amend/keepPriority",
        {"symbol": "BTCUSDT", "orderId": placed["orderId"], "newQty": "0.2"},
        signed=True,
    )
    assert response.status == 200 and isinstance(response.body, dict)
    assert response.body["amendedOrder"]["status"] == "EXPIRED"
    assert header(response, "x-mbx-used-weight-1m") == before  # weight 0: it expired
    assert kit.engine.open_orders("alice") == []


def test_the_exchange_refuses_the_order_beyond_max_num_orders() -> None:
    config = ExchangeConfig(symbols=("BTCUSDT",), api_key="k", api_secret="s", max_num_orders=2)
    exchange = Exchange.simulated(config)  # not running: an empty book

    def place(n: int) -> object:
        params = {**ORDER_PARAMS, "price": str(10_000 - n), "timestamp": NOW}
        query = urlencode(params)
        raw = f"{query}&signature={sign('s', query)}".encode()
        request = RestRequest("POST", "/api/v3/order", raw, b"", {"x-mbx-apikey": "k"}, "1.2.3.4")
        return exchange.dialect.handle_rest(request, NOW).body

    first, second, third = place(0), place(1), place(2)
    assert isinstance(first, dict) and isinstance(second, dict) and "orderId" in second
    assert third == {"code": -1013, "msg": "Filter failure: MAX_NUM_ORDERS"}
