"""Bad input the dialect once let through as exceptions: non-ASCII digits, trailing newlines,
non-ASCII signatures, amounts finer than the ledger keeps, and the last-resort guard.

Every case here answers a well-formed dialect error (or the admin API's ``{"error"}``) in the
4xx family and is reported to ``on_request`` like any other request.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from dialect_kit import ACCOUNT, API_KEY, NOW, SECRET, Kit, header, ws_signed

from mmbot.sim.dialect import AdminApi, RestRequest, RestResponse, WsApiSession
from mmbot.sim.history import History
from mmbot.venue.binance.signing import sign

#: Text that ``str.isdigit()`` accepts but ``int()`` refuses, or that only Unicode calls digits.
NON_ASCII_DIGITS = ["²", "١٢٣", "٣", "１２３", "5²"]


def code_of(response: RestResponse) -> int:
    body = response.body
    assert isinstance(body, dict) and isinstance(body.get("msg"), str), body
    code = body["code"]
    assert isinstance(code, int)
    return code


def raw_rest(kit: Kit, method: str, path: str, query: str, *, signed: bool = False) -> RestResponse:
    """A request whose query text is sent exactly as given (signed over those raw bytes)."""
    headers = {}
    if signed:
        query += f"&timestamp={NOW}"
        query += "&signature=" + sign(SECRET, query.encode())
        headers = {"x-mbx-apikey": API_KEY}
    request = RestRequest(method, "/api/v3" + path, query.encode(), b"", headers, "127.0.0.1")
    return kit.dialect.handle_rest(request, NOW)


# ---- finding 2: non-ASCII digits -------------------------------------------------------


@pytest.mark.parametrize("limit", NON_ASCII_DIGITS)
def test_depth_limit_in_non_ascii_digits_is_a_1100_with_a_weight_header(limit: str) -> None:
    kit = Kit()
    response = raw_rest(kit, "GET", "/depth", f"symbol=BTCUSDT&limit={limit}")
    assert (response.status, code_of(response)) == (400, -1100)
    assert header(response, "X-MBX-USED-WEIGHT-1M") == "5"
    assert kit.reports[-1].error_code == -1100


@pytest.mark.parametrize("limit", NON_ASCII_DIGITS)
def test_ws_depth_limit_in_non_ascii_digits_is_answered_not_raised(limit: str) -> None:
    kit = Kit()
    reply = kit.dialect.handle_ws_api(
        {"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": limit}},
        WsApiSession(),
        NOW,
    )
    assert reply["status"] == 400 and reply["error"]["code"] == -1100  # type: ignore[index]
    assert kit.reports[-1].error_code == -1100


@pytest.mark.parametrize("window", NON_ASCII_DIGITS)
def test_recv_window_in_non_ascii_digits_is_a_1131_over_rest_and_ws(window: str) -> None:
    kit = Kit()
    response = raw_rest(
        kit, "GET", "/order", f"symbol=BTCUSDT&orderId=1&recvWindow={window}", signed=True
    )
    assert (response.status, code_of(response)) == (400, -1131)
    params = ws_signed({"symbol": "BTCUSDT", "orderId": 1, "recvWindow": window})
    reply = kit.dialect.handle_ws_api(
        {"id": 1, "method": "order.status", "params": params}, WsApiSession(), NOW
    )
    assert reply["status"] == 400 and reply["error"]["code"] == -1131  # type: ignore[index]
    assert [r.error_code for r in kit.reports] == [-1131, -1131]


def test_a_huge_json_integer_parameter_is_an_illegal_parameter() -> None:
    kit = Kit()
    reply = kit.dialect.handle_ws_api(
        {"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 10**5000}},
        WsApiSession(),
        NOW,
    )
    assert reply["status"] == 400 and reply["error"]["code"] == -1130  # type: ignore[index]


# ---- finding 3: a non-ASCII signature --------------------------------------------------


def test_a_non_ascii_signature_over_rest_is_a_1022() -> None:
    kit = Kit()
    query = f"timestamp={NOW}&signature=\u00e9".encode()
    request = RestRequest("GET", "/api/v3/account", query, b"", {"x-mbx-apikey": API_KEY}, "::1")
    response = kit.dialect.handle_rest(request, NOW)
    assert (response.status, code_of(response)) == (400, -1022)
    assert kit.reports[-1].error_code == -1022


def test_a_non_ascii_signature_over_the_ws_api_is_a_1022() -> None:
    kit = Kit()
    params = {"apiKey": API_KEY, "timestamp": NOW, "signature": "\u00e9" * 64}
    reply = kit.dialect.handle_ws_api(
        {"id": 1, "method": "account.status", "params": params}, WsApiSession(), NOW
    )
    assert reply["status"] == 400 and reply["error"]["code"] == -1022  # type: ignore[index]


# ---- finding 9: trailing newlines ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [("quantity", "0.1\n"), ("price", "100\n"), ("newClientOrderId", "abc\n")],
)
def test_a_trailing_newline_makes_an_order_parameter_illegal(name: str, value: str) -> None:
    kit = Kit()
    order: dict[str, object] = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
    }
    order |= {"quantity": "0.1", "price": "100", name: value}
    response = kit.rest("POST", "/order", order, signed=True)
    assert (response.status, code_of(response)) == (400, -1100)
    assert kit.engine.open_orders(ACCOUNT) == []


def test_a_trailing_newline_makes_an_integer_parameter_illegal() -> None:
    kit = Kit()
    response = kit.rest("GET", "/order", {"symbol": "BTCUSDT", "orderId": "5\n"}, signed=True)
    assert (response.status, code_of(response)) == (400, -1100)


# ---- the last-resort guard ---------------------------------------------------------------


class _Exploding(Exception):
    pass


def _explode(*args: object, **kwargs: object) -> object:
    raise _Exploding("engine bug")


def test_an_unexpected_rest_failure_is_a_reported_1000_with_headers(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Kit()
    monkeypatch.setattr(kit.engine, "depth", _explode)
    with caplog.at_level(logging.ERROR):
        response = kit.rest("GET", "/depth", {"symbol": "BTCUSDT"})
    assert (response.status, code_of(response)) == (400, -1000)
    assert header(response, "X-MBX-USED-WEIGHT-1M") == "5"
    report = kit.reports[-1]
    assert (report.path, report.status, report.error_code) == ("/api/v3/depth", 400, -1000)
    assert any(r.exc_info and r.exc_info[0] is _Exploding for r in caplog.records)


def test_an_unexpected_ws_api_failure_is_a_reported_1000_answer(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Kit()
    monkeypatch.setattr(kit.engine, "depth", _explode)
    with caplog.at_level(logging.ERROR):
        reply = kit.dialect.handle_ws_api(
            {"id": 9, "method": "depth", "params": {"symbol": "BTCUSDT"}}, WsApiSession(), NOW
        )
    assert reply["id"] == 9 and reply["status"] == 400
    assert reply["error"]["code"] == -1000  # type: ignore[index]
    assert "rateLimits" in reply
    report = kit.reports[-1]
    assert (report.method, report.status, report.error_code) == ("depth", 400, -1000)
    assert any(r.exc_info and r.exc_info[0] is _Exploding for r in caplog.records)


# ---- the admin API (findings 2 and 10) -------------------------------------------------


def admin(
    query: bytes, path: str = f"accounts/{ACCOUNT}/credit", method: str = "POST"
) -> tuple[Kit, RestResponse]:
    kit = Kit()
    api = AdminApi(kit.engine, History())
    return kit, api.handle(RestRequest(method, "/_sim/" + path, query, b"", {}, "127.0.0.1"), NOW)


@pytest.mark.parametrize(
    "amount",
    [
        b"0.0000000000000000001",
        b"1e-19",
        b"%D9%A3",
        b"%EF%BC%91",
        b"5%0A",
        b"1e999999",
        b"Infinity",
    ],
)
def test_credit_of_an_amount_the_ledger_cannot_hold_is_a_400(amount: bytes) -> None:
    kit, response = admin(b"asset=USDT&amount=" + amount)
    assert response.status == 400, response.body
    assert isinstance(response.body, dict) and "amount" in str(response.body["error"])
    assert {b.asset: b.free for b in kit.engine.balances(ACCOUNT)}["USDT"] == Decimal("100000")


def test_credit_of_a_non_ascii_asset_name_is_a_400() -> None:
    _, response = admin("asset=²&amount=1".encode())
    assert response.status == 400


@pytest.mark.parametrize("since", ["%C2%B2", "%D9%A3", "5%0A"])
def test_history_since_in_non_ascii_digits_is_a_400(since: str) -> None:
    _, response = admin(f"since={since}".encode(), "history", "GET")
    assert response.status == 400
    assert isinstance(response.body, dict) and "since" in str(response.body["error"])


def test_an_unexpected_admin_failure_is_a_400_not_a_traceback(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Kit()
    monkeypatch.setattr(kit.engine, "balances", _explode)
    api = AdminApi(kit.engine, History())
    with caplog.at_level(logging.ERROR):
        response = api.handle(
            RestRequest("GET", f"/_sim/accounts/{ACCOUNT}", b"", b"", {}, "127.0.0.1"), NOW
        )
    assert response.status == 400 and isinstance(response.body, dict) and "error" in response.body
    assert any(r.exc_info and r.exc_info[0] is _Exploding for r in caplog.records)
