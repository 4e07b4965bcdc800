"""The WebSocket API side of the dialect: request/response format, signing, subscriptions."""

from __future__ import annotations

import json

import pytest
from dialect_kit import ACCOUNT, NOW, SECRET, Kit, ws_signed

from mmbot.sim.dialect import RateLimits, WsApiSession


@pytest.fixture
def kit() -> Kit:
    return Kit()


def ask(kit: Kit, message: object, session: WsApiSession | None = None) -> dict[str, object]:
    return kit.dialect.handle_ws_api(message, session or WsApiSession(), NOW)


def test_ping_answers_with_id_status_result_and_rate_limits(kit: Kit) -> None:
    reply = ask(kit, {"id": "a1", "method": "ping"})
    assert reply["id"] == "a1" and reply["status"] == 200 and reply["result"] == {}
    limits = reply["rateLimits"]
    assert isinstance(limits, list) and limits[0]["rateLimitType"] == "REQUEST_WEIGHT"
    assert limits[0]["count"] == 1


def test_a_json_text_frame_is_parsed(kit: Kit) -> None:
    reply = ask(kit, json.dumps({"id": 7, "method": "time"}))
    assert reply["result"] == {"serverTime": NOW}


def test_signed_order_place_returns_the_rest_shape_and_order_counts(kit: Kit) -> None:
    params = ws_signed(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.1",
            "price": "100",
            "newClientOrderId": "ws-1",
        }
    )
    reply = ask(kit, {"id": 1, "method": "order.place", "params": params})
    assert reply["status"] == 200, reply
    result = reply["result"]
    assert isinstance(result, dict) and result["clientOrderId"] == "ws-1"
    assert result["price"] == "100.00000000"
    kinds = [(r["rateLimitType"], r["interval"]) for r in reply["rateLimits"]]  # type: ignore[union-attr]
    assert ("ORDERS", "SECOND") in kinds and ("ORDERS", "DAY") in kinds


def test_numbers_sent_as_json_numbers_are_accepted_and_signed_as_text(kit: Kit) -> None:
    params = ws_signed(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": 0.1,
            "price": 100,
        }
    )
    reply = ask(kit, {"id": 1, "method": "order.place", "params": params})
    assert reply["status"] == 200, reply


def test_bad_signature_is_a_1022_error_response(kit: Kit) -> None:
    params = ws_signed({"symbol": "BTCUSDT"}, secret="wrong")
    reply = ask(kit, {"id": 2, "method": "openOrders.status", "params": params})
    assert reply["status"] == 400
    assert reply["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}


def test_unknown_api_key_is_401_with_2015(kit: Kit) -> None:
    params = ws_signed({}, key="nobody")
    reply = ask(kit, {"id": 2, "method": "account.status", "params": params})
    assert reply["status"] == 401 and reply["error"]["code"] == -2015  # type: ignore[index]


def test_subscribe_signature_sets_the_sessions_account_and_unsubscribe_clears_it(kit: Kit) -> None:
    session = WsApiSession()
    reply = ask(
        kit,
        {"id": 3, "method": "userDataStream.subscribe.signature", "params": ws_signed({})},
        session,
    )
    assert reply["status"] == 200
    assert session.subscribed_account == ACCOUNT
    assert reply["result"] == {"subscriptionId": session.subscription_id}
    ask(kit, {"id": 4, "method": "userDataStream.unsubscribe"}, session)
    assert session.subscribed_account is None


def test_cancel_replace_failure_carries_the_data_block_in_the_error(kit: Kit) -> None:
    params = ws_signed(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.1",
            "price": "100",
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrderId": 42,
        }
    )
    reply = ask(kit, {"id": 5, "method": "order.cancelReplace", "params": params})
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == -2022
    assert error["data"]["newOrderResult"] == "NOT_ATTEMPTED"


def test_order_status_open_orders_cancel_and_account_round_trip(kit: Kit) -> None:
    place = ws_signed(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT_MAKER",
            "quantity": "0.1",
            "price": "200",
            "newClientOrderId": "rt",
        }
    )
    assert ask(kit, {"id": 1, "method": "order.place", "params": place})["status"] == 200
    status = ask(
        kit,
        {
            "id": 2,
            "method": "order.status",
            "params": ws_signed({"symbol": "BTCUSDT", "origClientOrderId": "rt"}),
        },
    )
    assert status["result"]["status"] == "NEW"  # type: ignore[index]
    listed = ask(kit, {"id": 3, "method": "openOrders.status", "params": ws_signed({})})
    assert len(listed["result"]) == 1  # type: ignore[arg-type]
    cancel = ask(
        kit,
        {
            "id": 4,
            "method": "order.cancel",
            "params": ws_signed({"symbol": "BTCUSDT", "origClientOrderId": "rt"}),
        },
    )
    assert cancel["result"]["status"] == "CANCELED"  # type: ignore[index]
    account = ask(kit, {"id": 5, "method": "account.status", "params": ws_signed({})})
    assert account["result"]["accountType"] == "SPOT"  # type: ignore[index]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", -1135),
        (b"\xff\xfe", -1135),
        ([1, 2, 3], -1135),
        ({"method": "ping"}, -1102),
        ({"id": 1}, -1102),
        ({"id": 1, "method": "no.such"}, -1020),
        ({"id": 1, "method": "depth", "params": [1]}, -1130),
        ({"id": 1, "method": "depth", "params": {"symbol": {"x": 1}}}, -1130),
        ({"id": 1, "method": "depth", "params": {"symbol": "NOPE"}}, -1121),
        ({"id": 1, "method": "order.place", "params": {"symbol": "BTCUSDT"}}, -1102),
    ],
)
def test_garbage_gets_a_well_formed_error_response(kit: Kit, message: object, code: int) -> None:
    reply = ask(kit, message)
    assert 400 <= int(reply["status"]) < 500  # type: ignore[call-overload]
    assert reply["error"]["code"] == code  # type: ignore[index]
    assert "rateLimits" in reply and SECRET not in json.dumps(reply)


def test_ws_requests_are_reported_with_the_method_name(kit: Kit) -> None:
    ask(kit, {"id": 1, "method": "exchangeInfo"})
    report = kit.reports[-1]
    assert (report.transport, report.method, report.weight) == ("ws_api", "exchangeInfo", 20)


def test_a_429_carries_server_time_and_retry_after_in_the_errors_data() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    session = WsApiSession()
    assert ask(kit, {"id": 1, "method": "exchangeInfo"}, session)["status"] == 200
    reply = ask(kit, {"id": 2, "method": "ping"}, session)
    assert reply["status"] == 429 and "retryAfter" not in reply
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == -1003
    window_end = NOW - NOW % 60_000 + 60_000
    assert error["data"] == {"serverTime": NOW, "retryAfter": window_end}


@pytest.mark.parametrize("garbage", ["not json", b"\xff\xfe", "[1, 2]", '{"id": 1}', "{}"])
def test_garbage_is_charged_to_the_sender_before_it_is_answered(kit: Kit, garbage: str) -> None:
    reply = ask(kit, garbage)
    assert reply["rateLimits"][0]["count"] == 1  # type: ignore[index]
    assert kit.reports[-1].weight == 1


def test_a_flood_of_garbage_is_limited_then_banned_like_any_request() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=5, ban_tolerance_requests=1))
    codes = [ask(kit, "not json")["error"]["code"] for _ in range(8)]  # type: ignore[index]
    assert codes[:5] == [-1135] * 5
    assert codes[5] == -1003  # over the weight limit: 429
    assert codes[-1] == -1003 and ask(kit, "garbage")["status"] == 418
    assert len(kit.reports) == 9  # every frame reported (the history's ring bounds them)
