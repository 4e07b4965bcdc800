"""The REST dialect against the real matching engine: signing, endpoints, shapes, errors."""

from __future__ import annotations

import re

import ccxt
import pytest
from dialect_kit import (
    ACCOUNT,
    API_KEY,
    NOW,
    OTHER_KEY,
    SECRET,
    Kit,
    header,
)

from mmbot.sim.dialect import RestRequest
from mmbot.sim.engine import Execution
from mmbot.venue.binance.signing import sign

EIGHT_DECIMALS = re.compile(r"^\d+\.\d{8}$")


@pytest.fixture
def kit() -> Kit:
    return Kit()


def error(response: object) -> tuple[int, int]:
    assert hasattr(response, "status") and hasattr(response, "body")
    body = response.body
    assert isinstance(body, dict) and set(body) >= {"code", "msg"}, body
    return response.status, body["code"]


# ---- public endpoints --------------------------------------------------------------------


def test_ping_and_time_answer_with_server_time(kit: Kit) -> None:
    assert kit.rest("GET", "/ping").body == {}
    assert kit.rest("GET", "/time").body == {"serverTime": NOW}


def test_exchange_info_lists_symbols_with_filters_and_rate_limits(kit: Kit) -> None:
    body = kit.rest("GET", "/exchangeInfo").body
    assert isinstance(body, dict)
    assert [s["symbol"] for s in body["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    btc = body["symbols"][0]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    kinds = {(r["rateLimitType"], r["interval"]) for r in body["rateLimits"]}
    assert kinds == {
        ("REQUEST_WEIGHT", "MINUTE"),
        ("ORDERS", "SECOND"),
        ("ORDERS", "DAY"),
        ("RAW_REQUESTS", "MINUTE"),
    }


def test_exchange_info_is_what_ccxt_parse_market_understands(kit: Kit) -> None:
    body = kit.rest("GET", "/exchangeInfo", {"symbol": "BTCUSDT"}).body
    assert isinstance(body, dict)
    client = ccxt.binance()
    client.options["crossMarginPairsData"] = []  # fetch_markets sets these before parsing
    client.options["isolatedMarginPairsData"] = []
    market = client.parse_market(body["symbols"][0])
    assert market["symbol"] == "BTC/USDT"
    assert market["spot"] is True and market["active"] is True
    assert market["precision"]["price"] == 0.01
    assert market["limits"]["cost"]["min"] == 5


def test_exchange_info_for_an_unknown_symbol_is_invalid_symbol(kit: Kit) -> None:
    assert error(kit.rest("GET", "/exchangeInfo", {"symbol": "NOPE"})) == (400, -1121)


@pytest.mark.parametrize(
    ("limit", "weight"), [(5, 5), (100, 5), (500, 25), (1000, 50), (5000, 250)]
)
def test_depth_weight_follows_the_limit(limit: int, weight: int) -> None:
    kit = Kit()
    response = kit.rest("GET", "/depth", {"symbol": "BTCUSDT", "limit": limit})
    assert response.status == 200
    assert header(response, "X-MBX-USED-WEIGHT-1M") == str(weight)


def test_depth_shows_resting_orders_as_strings(kit: Kit) -> None:
    kit.place(price="100.5", quantity="0.1")
    body = kit.rest("GET", "/depth", {"symbol": "BTCUSDT", "limit": 5}).body
    assert isinstance(body, dict)
    assert body["bids"] == [["100.50000000", "0.10000000"]]
    assert body["asks"] == []
    assert isinstance(body["lastUpdateId"], int)


@pytest.mark.parametrize("limit", ["0", "-5", "abc", "1.5"])
def test_depth_rejects_a_malformed_limit(kit: Kit, limit: str) -> None:
    status, code = error(kit.rest("GET", "/depth", {"symbol": "BTCUSDT", "limit": limit}))
    assert status == 400 and code in (-1100, -1130)


# ---- signing -----------------------------------------------------------------------------


def test_signed_request_with_a_good_signature_is_served(kit: Kit) -> None:
    response = kit.rest("GET", "/account", signed=True)
    assert response.status == 200


def test_bad_signature_is_rejected_with_1022(kit: Kit) -> None:
    assert error(kit.rest("GET", "/account", signed=True, secret="wrong")) == (400, -1022)


def test_unknown_api_key_is_rejected_with_2015_and_401(kit: Kit) -> None:
    assert error(kit.rest("GET", "/account", signed=True, key="nobody")) == (401, -2015)


def test_signature_is_verified_over_raw_bytes_split_between_query_and_body(kit: Kit) -> None:
    query = b"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.10&price=100.00&timestamp={NOW}".encode()
    signature = sign(SECRET, query + body)
    request = RestRequest(
        method="POST",
        path="/api/v3/order",
        raw_query=query,
        raw_body=body + b"&signature=" + signature.encode(),
        headers={"x-mbx-apikey": API_KEY},
        client="127.0.0.1",
    )
    response = kit.dialect.handle_rest(request, NOW)
    assert response.status == 200, response.body


@pytest.mark.parametrize(
    ("offset", "message"),
    [(1000, "1000ms ahead"), (-5001, "outside of the recvWindow")],
)
def test_timestamp_outside_the_window_is_rejected_with_1021(
    kit: Kit, offset: int, message: str
) -> None:
    response = kit.rest("GET", "/account", signed=True, timestamp=NOW + offset)
    assert error(response) == (400, -1021)
    assert isinstance(response.body, dict) and message in response.body["msg"]


def test_timestamp_just_inside_both_edges_is_accepted(kit: Kit) -> None:
    assert kit.rest("GET", "/account", signed=True, timestamp=NOW + 999).status == 200
    assert kit.rest("GET", "/account", signed=True, timestamp=NOW - 5000).status == 200


def test_recv_window_above_the_maximum_is_rejected(kit: Kit) -> None:
    response = kit.rest("GET", "/account", {"recvWindow": 70000}, signed=True)
    assert error(response) == (400, -1131)


def test_secret_never_appears_in_any_answer(kit: Kit) -> None:
    answers = [
        kit.rest("GET", "/account", signed=True, secret="wrong"),
        kit.rest("GET", "/account", signed=True),
        kit.place(price="1", quantity="abc"),
    ]
    assert all(SECRET not in repr(a) for a in answers)
    assert SECRET not in repr(kit.dialect.credentials)


# ---- orders ------------------------------------------------------------------------------


def test_limit_order_defaults_to_a_full_response_with_string_numbers(kit: Kit) -> None:
    response = kit.place(price="100.5", quantity="0.1", newClientOrderId="my-1")
    assert response.status == 200, response.body
    body = response.body
    assert isinstance(body, dict)
    assert body["clientOrderId"] == "my-1" and body["status"] == "NEW"
    assert body["price"] == "100.50000000" and body["origQty"] == "0.10000000"
    assert body["fills"] == [] and body["orderListId"] == -1
    assert header(response, "X-MBX-ORDER-COUNT-10S") == "1"
    assert header(response, "X-MBX-ORDER-COUNT-1D") == "1"


def test_limit_maker_defaults_to_ack_and_result_can_be_asked(kit: Kit) -> None:
    ack = kit.place(type="LIMIT_MAKER", price="100", quantity="0.1")
    assert isinstance(ack.body, dict)
    assert set(ack.body) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = kit.place(price="99", quantity="0.1", newOrderRespType="RESULT")
    assert isinstance(result.body, dict) and "fills" not in result.body
    assert result.body["status"] == "NEW" and EIGHT_DECIMALS.match(result.body["executedQty"])


def test_generated_client_order_ids_look_random_and_are_deterministic() -> None:
    first = [Kit().place(price="100", quantity="0.1").body for _ in range(2)]
    ids = [b["clientOrderId"] for b in first if isinstance(b, dict)]
    assert ids[0] == ids[1] and re.fullmatch(r"[0-9A-Za-z]{22}", ids[0])
    kit = Kit()
    a, b = (kit.place(price="100", quantity="0.1").body for _ in range(2))
    assert isinstance(a, dict) and isinstance(b, dict) and a["clientOrderId"] != b["clientOrderId"]


def test_market_order_fills_against_a_resting_order_with_fills(kit: Kit) -> None:
    kit.place(OTHER_KEY, side="SELL", price="100", quantity="0.5")
    response = kit.place(type="MARKET", quantity="0.2")
    body = response.body
    assert isinstance(body, dict) and body["status"] == "FILLED", body
    assert body["fills"][0]["price"] == "100.00000000"
    assert body["fills"][0]["qty"] == "0.20000000"
    assert body["cummulativeQuoteQty"] == "20.00000000"


def test_limit_maker_that_would_cross_is_rejected(kit: Kit) -> None:
    kit.place(OTHER_KEY, side="SELL", price="100", quantity="0.5")
    response = kit.place(type="LIMIT_MAKER", price="100", quantity="0.1")
    assert error(response) == (400, -2010)
    assert isinstance(response.body, dict)
    assert response.body["msg"] == "Order would immediately match and take."


def test_cancel_takes_parameters_from_a_delete_body(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1", newClientOrderId="to-cancel")
    response = kit.rest(
        "DELETE",
        "/order",
        {"symbol": "BTCUSDT", "origClientOrderId": "to-cancel"},
        signed=True,
        in_body=True,
    )
    body = response.body
    assert isinstance(body, dict) and body["status"] == "CANCELED", body
    assert body["origClientOrderId"] == "to-cancel" and body["clientOrderId"] != "to-cancel"


def test_a_cancels_generated_client_id_is_the_same_in_the_answer_and_the_report(
    kit: Kit,
) -> None:
    kit.place(price="100", quantity="0.1", newClientOrderId="gone")
    kit.engine.drain_events()
    response = kit.rest("DELETE", "/order", {"symbol": "BTCUSDT", "orderId": 1}, signed=True)
    (report,) = [e for e in kit.engine.drain_events() if isinstance(e, Execution)]
    body = response.body
    assert isinstance(body, dict) and body["origClientOrderId"] == "gone"
    assert (report.client_order_id, report.orig_client_order_id) == (body["clientOrderId"], "gone")


def test_cancel_of_an_unknown_order_is_2011(kit: Kit) -> None:
    response = kit.rest("DELETE", "/order", {"symbol": "BTCUSDT", "orderId": 999}, signed=True)
    assert error(response) == (400, -2011)


def test_cancel_without_an_order_reference_is_1102(kit: Kit) -> None:
    response = kit.rest("DELETE", "/order", {"symbol": "BTCUSDT"}, signed=True)
    assert error(response) == (400, -1102)


def test_query_order_by_id_and_unknown_order(kit: Kit) -> None:
    placed = kit.place(price="100", quantity="0.1").body
    assert isinstance(placed, dict)
    found = kit.rest(
        "GET", "/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}, signed=True
    )
    assert isinstance(found.body, dict) and found.body["status"] == "NEW"
    assert found.body["isWorking"] is True
    assert header(found, "X-MBX-USED-WEIGHT-1M") == "4"  # 0 for the placed order, 4 for the query
    missing = kit.rest("GET", "/order", {"symbol": "BTCUSDT", "orderId": 12345}, signed=True)
    assert error(missing) == (400, -2013)


def test_open_orders_weigh_6_with_a_symbol_and_80_without(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1")
    with_symbol = kit.rest("GET", "/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert isinstance(with_symbol.body, list) and len(with_symbol.body) == 1
    assert header(with_symbol, "X-MBX-USED-WEIGHT-1M") == "6"  # the placement was free
    everything = kit.rest("GET", "/openOrders", signed=True)
    assert header(everything, "X-MBX-USED-WEIGHT-1M") == "86"


def test_cancel_all_cancels_every_open_order_of_the_symbol(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1")
    kit.place(price="99", quantity="0.1")
    response = kit.rest("DELETE", "/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert isinstance(response.body, list) and len(response.body) == 2
    assert {o["status"] for o in response.body} == {"CANCELED"}
    assert kit.engine.open_orders(ACCOUNT) == []


def test_cancel_replace_success_returns_both_halves(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1", newClientOrderId="old")
    response = kit.rest(
        "POST",
        "/order/cancelReplace",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.1",
            "price": "101",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": "old",
            "newClientOrderId": "new",
        },
        signed=True,
    )
    body = response.body
    assert response.status == 200, body
    assert isinstance(body, dict)
    assert body["cancelResult"] == "SUCCESS" and body["newOrderResult"] == "SUCCESS"
    assert body["cancelResponse"]["origClientOrderId"] == "old"
    assert body["newOrderResponse"]["clientOrderId"] == "new"


def test_cancel_replace_whose_new_order_fails_is_409_with_a_data_block(kit: Kit) -> None:
    kit.place(OTHER_KEY, side="SELL", price="100", quantity="0.5")
    kit.place(price="99", quantity="0.1", newClientOrderId="old")
    response = kit.rest(
        "POST",
        "/order/cancelReplace",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT_MAKER",
            "quantity": "0.1",
            "price": "100",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": "old",
        },
        signed=True,
    )
    assert error(response) == (409, -2021)
    assert isinstance(response.body, dict)
    data = response.body["data"]
    assert data["cancelResult"] == "SUCCESS" and data["newOrderResult"] == "FAILURE"
    assert data["newOrderResponse"]["code"] == -2010


def test_cancel_replace_whose_cancel_fails_is_2022_and_not_attempted(kit: Kit) -> None:
    response = kit.rest(
        "POST",
        "/order/cancelReplace",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.1",
            "price": "100",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": 777,
        },
        signed=True,
    )
    assert error(response) == (400, -2022)
    assert isinstance(response.body, dict)
    data = response.body["data"]
    assert data["cancelResult"] == "FAILURE" and data["newOrderResult"] == "NOT_ATTEMPTED"
    assert data["cancelResponse"]["code"] == -2011 and data["newOrderResponse"] is None


def test_account_shows_free_and_locked_as_strings(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1")
    body = kit.rest("GET", "/account", signed=True).body
    assert isinstance(body, dict) and body["accountType"] == "SPOT" and body["canTrade"] is True
    usdt = next(b for b in body["balances"] if b["asset"] == "USDT")
    assert usdt == {"asset": "USDT", "free": "99990.00000000", "locked": "10.00000000"}


def test_my_trades_lists_the_accounts_fills(kit: Kit) -> None:
    kit.place(OTHER_KEY, side="SELL", price="100", quantity="0.5")
    kit.place(price="100", quantity="0.2")
    response = kit.rest("GET", "/myTrades", {"symbol": "BTCUSDT"}, signed=True)
    assert isinstance(response.body, list) and len(response.body) == 1
    trade = response.body[0]
    assert trade["qty"] == "0.20000000" and trade["isBuyer"] is True and trade["isMaker"] is False


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": ""}, -1102),
        ({"symbol": "NOPE"}, -1121),
        ({"side": "UP"}, -1117),
        ({"type": "STOP"}, -1116),
        ({"timeInForce": "GTX"}, -1115),
        ({"quantity": "abc"}, -1100),
        ({"quantity": "-1"}, -1100),
        ({"quantity": "0.000000001"}, -1111),
        ({"price": "1e5"}, -1100),
        ({"quantity": "0"}, -1013),
        ({"newClientOrderId": "bad id!"}, -1100),
        ({"newOrderRespType": "ALL"}, -1130),
        ({"price": "0.001"}, -1013),
    ],
)
def test_bad_order_parameters_get_the_dialect_code(params: dict[str, object], code: int) -> None:
    kit = Kit()
    base: dict[str, object] = {"price": "100", "quantity": "0.1"}
    base.update(params)
    assert error(kit.place(**base)) == (400, code)


def test_price_on_a_market_order_is_a_parameter_not_required(kit: Kit) -> None:
    response = kit.place(type="MARKET", quantity="0.1", price="100")
    assert error(response) == (400, -1106)


def test_duplicate_parameter_is_1101(kit: Kit) -> None:
    request = RestRequest(
        "GET", "/api/v3/depth", b"symbol=BTCUSDT&symbol=ETHUSDT", b"", {}, "1.2.3.4"
    )
    assert error(kit.dialect.handle_rest(request, NOW)) == (400, -1101)


def test_unknown_path_is_404_and_wrong_method_is_405_in_the_dialects_shape(kit: Kit) -> None:
    assert error(kit.rest("GET", "/nothing")) == (404, -1020)
    assert error(kit.rest("PUT", "/order")) == (405, -1020)


def test_a_huge_body_is_refused_in_the_4xx_family(kit: Kit) -> None:
    request = RestRequest("POST", "/api/v3/order", b"", b"a=" + b"x" * 70_000, {}, "127.0.0.1")
    status, code = error(kit.dialect.handle_rest(request, NOW))
    assert 400 <= status < 500 and code == -1101


# ---- reporting ---------------------------------------------------------------------------


def test_every_request_is_reported_with_its_outcome(kit: Kit) -> None:
    kit.place(price="100", quantity="0.1", newClientOrderId="rep-1")
    kit.rest("GET", "/account", signed=True, secret="wrong")
    placed, refused = kit.reports
    assert (placed.transport, placed.method, placed.path) == ("rest", "POST", "/api/v3/order")
    assert placed.account == ACCOUNT and placed.status == 200 and placed.error_code is None
    assert placed.client_order_id == "rep-1" and placed.weight == 0  # free: it succeeded
    assert refused.status == 400 and refused.error_code == -1022 and refused.weight == 20
