"""Garbage at the REST app and the WebSocket API: every answer is a well-formed dialect answer.

Generated methods, paths, parameters (in the query string or a form body), headers, signed
with the right key or not, go through the ASGI app; generated messages go to the WebSocket
API. Every answer must be a 2xx success or a ``{"code": int < 0, "msg": str}`` error with a
4xx status (never 5xx, never -1000), and the engine's invariants must still hold: no
negative balance, assets conserved apart from fees, book never crossed, locked funds equal
to what the open orders hold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from test_dialect_kit import ACCOUNT, API_KEY, INSTRUMENTS, NOW, OTHER, SECRET, START_BALANCES, Kit

from mmbot.model import Side
from mmbot.sim.dialect import WsApiSession
from mmbot.sim.rest_app import build_rest_app
from mmbot.venue.binance.signing import sign, ws_signing_payload

PATHS = [
    "/api/v3/ping",
    "/api/v3/time",
    "/api/v3/exchangeInfo",
    "/api/v3/depth",
    "/api/v3/order",
    "/api/v3/order/cancelReplace",
    "/api/v3/openOrders",
    "/api/v3/account",
    "/api/v3/myTrades",
]
NAMES = [
    "symbol",
    "side",
    "type",
    "timeInForce",
    "quantity",
    "quoteOrderQty",
    "price",
    "limit",
    "newClientOrderId",
    "newOrderRespType",
    "orderId",
    "origClientOrderId",
    "cancelOrderId",
    "cancelOrigClientOrderId",
    "cancelReplaceMode",
    "recvWindow",
    "fromId",
    "symbols",
    "omitZeroBalances",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "BTCUSDT",
            "ETHUSDT",
            "btcusdt",
            "BUY",
            "SELL",
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "GTC",
            "IOC",
            "FOK",
            "ACK",
            "RESULT",
            "FULL",
            "STOP_ON_FAILURE",
            "ALLOW_FAILURE",
            "0",
            "-1",
            "1",
            "2",
            "0.1",
            "0.00001",
            "100",
            "100.01",
            "99999999999999999999",
            "1e5",
            "NaN",
            "",
            "0.000000001",
            "1" * 40,
            '["BTCUSDT"]',
            "[]",
            "true",
            "\x00",
            "%ff",
            "é",
        ]
    ),
    st.decimals(min_value=0, max_value=200, places=2).map(str),
    st.text(max_size=12),
)
PARAMS = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), VALUES), max_size=10
)


def check_answer(status: int, body: object) -> None:
    assert status < 500, (status, body)
    if 200 <= status < 300:
        assert isinstance(body, (dict, list))
        return
    assert 400 <= status < 500, (status, body)
    assert isinstance(body, dict) and isinstance(body.get("msg"), str), body
    code = body.get("code")
    assert type(code) is int and code < 0 and code != -1000, body
    assert SECRET not in json.dumps(body)


def check_engine(kit: Kit) -> None:
    engine = kit.engine
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for account in (ACCOUNT, OTHER):
        locked_wanted: dict[str, Decimal] = defaultdict(Decimal)
        for order in engine.open_orders(account):
            instrument = engine.instrument(order.symbol)
            assert instrument is not None
            remaining = order.orig_qty - order.executed_qty
            if order.side is Side.BUY:
                locked_wanted[instrument.quote_asset] += remaining * order.price
            else:
                locked_wanted[instrument.base_asset] += remaining
        for balance in engine.balances(account):
            assert balance.free >= 0 and balance.locked >= 0, balance
            assert balance.locked == locked_wanted[balance.asset], (account, balance)
            totals[balance.asset] += balance.free + balance.locked
    for asset, fee in engine.fee_totals().items():
        totals[asset] += fee
    for asset, start in START_BALANCES.items():
        assert totals[asset] == 2 * start, asset
    for instrument in INSTRUMENTS:
        bid, ask = engine.best_bid_ask(instrument.symbol)
        assert bid is None or ask is None or bid < ask


async def call_app(
    app: Callable[..., Awaitable[None]],
    method: str,
    path: str,
    query: bytes,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
) -> tuple[int, object]:
    """One HTTP exchange with the ASGI app, as a server would drive it."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 5555),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, payload = sent
    return int(start["status"]), json.loads(payload["body"])


def seed_book(kit: Kit) -> None:
    kit.place("other-api-key", side="SELL", price="100.5", quantity="0.5")
    kit.place("other-api-key", side="BUY", price="99.5", quantity="0.5")


ROUTES = [
    ("POST", "/api/v3/order"),
    ("POST", "/api/v3/order/cancelReplace"),
    ("DELETE", "/api/v3/order"),
    ("GET", "/api/v3/order"),
    ("DELETE", "/api/v3/openOrders"),
    ("GET", "/api/v3/openOrders"),
    ("GET", "/api/v3/myTrades"),
    ("GET", "/api/v3/depth"),
]
ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.1",
    "price": "100",
    "cancelReplaceMode": "ALLOW_FAILURE",
    "orderId": "1",
    "cancelOrderId": "2",
}
#: A nearly valid order: a few fields replaced or dropped, so the engine is reached often.
NEAR_ORDERS = st.builds(
    lambda changes, drops: [(k, v) for k, v in {**ORDER, **changes}.items() if k not in drops],
    st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=3),
    st.sets(st.sampled_from(sorted(ORDER)), max_size=2),
)
ANY_ROUTE = st.tuples(
    st.one_of(
        st.sampled_from(["GET", "POST", "DELETE", "PUT"]), st.text("ABCXYZ", min_size=1, max_size=7)
    ),
    st.one_of(st.sampled_from(PATHS), st.text(max_size=20).map(lambda t: "/api/v3/" + t)),
)


@given(
    requests=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(ROUTES), ANY_ROUTE),
            st.one_of(NEAR_ORDERS, PARAMS),
            st.booleans(),  # signed with the right secret
            st.booleans(),  # parameters in the body
            st.sampled_from([API_KEY, API_KEY, "", "unknown-key"]),
        ),
        min_size=1,
        max_size=8,
    )
)
async def test_garbage_at_the_rest_app_gets_dialect_answers_and_keeps_invariants(
    requests: list[tuple[tuple[str, str], list[tuple[str, str]], bool, bool, str]],
) -> None:
    kit = Kit()
    seed_book(kit)
    app = build_rest_app(lambda r: kit.dialect.handle_rest(r, NOW))
    for (method, path), params, signed, in_body, key in requests:
        text = urlencode(params)
        if signed:
            text += ("&" if text else "") + f"timestamp={NOW}"
            text += "&signature=" + sign(SECRET, text)
        raw = text.encode()
        headers = [(b"x-mbx-apikey", key.encode())] if key else []
        status, body = await call_app(
            app, method, path, b"" if in_body else raw, raw if in_body else b"", headers
        )
        check_answer(status, body)
    check_engine(kit)


@given(
    messages=st.lists(
        st.one_of(
            st.text(max_size=30),
            st.fixed_dictionaries(
                {
                    "id": st.one_of(st.integers(), st.text(max_size=5), st.none()),
                    "method": st.one_of(
                        st.sampled_from(
                            [
                                "ping",
                                "time",
                                "depth",
                                "order.place",
                                "order.cancel",
                                "order.cancelReplace",
                                "order.status",
                                "openOrders.status",
                                "openOrders.cancelAll",
                                "account.status",
                                "userDataStream.subscribe.signature",
                                "userDataStream.unsubscribe",
                            ]
                        ),
                        st.text(max_size=10),
                    ),
                },
                optional={
                    "params": st.one_of(
                        st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8),
                        st.integers(),
                        st.lists(st.integers(), max_size=2),
                    )
                },
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    sign_them=st.booleans(),
)
def test_garbage_at_the_ws_api_gets_dialect_answers_and_keeps_invariants(
    messages: list[object], sign_them: bool
) -> None:
    kit = Kit()
    seed_book(kit)
    session = WsApiSession()
    for message in messages:
        if sign_them and isinstance(message, dict) and isinstance(message.get("params"), dict):
            params = {**message["params"], "apiKey": API_KEY, "timestamp": NOW}
            params["signature"] = sign(SECRET, ws_signing_payload(params))
            message = {**message, "params": params}
        reply = kit.dialect.handle_ws_api(message, session, NOW)
        status = reply["status"]
        assert isinstance(status, int) and "rateLimits" in reply
        if status == 200:
            assert "result" in reply
        else:
            check_answer(status, reply["error"])
        json.dumps(reply)  # JSON-able
    check_engine(kit)
