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
from urllib.parse import quote, urlencode

from dialect_kit import ACCOUNT, API_KEY, INSTRUMENTS, NOW, OTHER, SECRET, START_BALANCES, Kit
from hypothesis import given
from hypothesis import strategies as st

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
            # Unicode digits: str.isdigit() and int() accept some, Decimal() accepts more.
            "²",
            "5²",
            "١٢٣",
            "٣",
            "１２３",
            "０.１",
            # A trailing newline slips past re.match(r"^...$").
            "5\n",
            "0.1\n",
            "100\n",
            "abc\n",
            "BTCUSDT\n",
            '["BTCUSDT\\n"]',
            # Huge exponents and non-finite numbers.
            "1e999999",
            "1E-999999",
            "Infinity",
            "-Infinity",
            "inf",
            "nan",
            "sNaN",
        ]
    ),
    st.decimals(min_value=0, max_value=200, places=2).map(str),
    st.text(max_size=12),
)
#: Signatures that are wrong in every way: non-ASCII, fullwidth hex, a newline, empty.
BAD_SIGNATURES = st.one_of(
    st.sampled_from(["é", "\u00e9" * 64, "ａｂｃ１２３", "²" * 64, "00\n", "", "%ff", "0" * 64]),
    st.text(max_size=70),
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
            # signed with the right secret (True), unsigned (False), or a bad signature
            st.one_of(st.booleans(), BAD_SIGNATURES),
            st.booleans(),  # parameters in the body
            st.sampled_from([API_KEY, API_KEY, "", "unknown-key"]),
            st.booleans(),  # the signature's text sent raw (UTF-8), not percent-encoded
        ),
        min_size=1,
        max_size=8,
    )
)
async def test_garbage_at_the_rest_app_gets_dialect_answers_and_keeps_invariants(
    requests: list[tuple[tuple[str, str], list[tuple[str, str]], bool | str, bool, str, bool]],
) -> None:
    kit = Kit()
    seed_book(kit)
    app = build_rest_app(lambda r: kit.dialect.handle_rest(r, NOW))
    for (method, path), params, signed, in_body, key, raw_signature in requests:
        text = urlencode(params)
        if signed is not False:
            text += ("&" if text else "") + f"timestamp={NOW}"
            signature = sign(SECRET, text) if signed is True else str(signed)
            text += "&signature=" + (signature if raw_signature else quote(signature))
        raw = text.encode()
        headers = [(b"x-mbx-apikey", key.encode())] if key else []
        status, body = await call_app(
            app, method, path, b"" if in_body else raw, raw if in_body else b"", headers
        )
        check_answer(status, body)
    check_engine(kit)


def sign_ws(params: dict[str, object]) -> str:
    """The right signature, or a wrong one when an int is too long to print (10**5000)."""
    try:
        return sign(SECRET, ws_signing_payload(params))
    except ValueError:
        return "0" * 64


#: JSON values of WebSocket API parameters: the REST pool plus JSON numbers of every kind.
WS_VALUES = st.one_of(
    VALUES,
    st.integers(),
    st.sampled_from([10**19, -(2**63) - 1, 2**64, 10**5000, True, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=8), max_size=2),
)
#: Whole frames whose JSON numbers are out of the ordinary (Python's json reads them all).
RAW_WS_FRAMES = [
    '{"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 1e999999}}',
    '{"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": NaN}}',
    '{"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": -Infinity}}',
    '{"id": 1e999999, "method": "ping"}',
    '{"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": "\\u00b2"}}',
    '{"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": ' + "9" * 5000 + "}}",
    '{"id": 1, "method": "order.status", "params": {"recvWindow": "\\u0663", "apiKey": "k"}}',
]


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
                        st.dictionaries(st.sampled_from(NAMES), WS_VALUES, max_size=8),
                        st.integers(),
                        st.lists(st.integers(), max_size=2),
                    )
                },
            ),
            st.sampled_from(RAW_WS_FRAMES),
        ),
        min_size=1,
        max_size=6,
    ),
    # signed with the right secret (True), unsigned (False), or a bad signature
    sign_them=st.one_of(st.booleans(), BAD_SIGNATURES),
)
def test_garbage_at_the_ws_api_gets_dialect_answers_and_keeps_invariants(
    messages: list[object], sign_them: bool | str
) -> None:
    kit = Kit()
    seed_book(kit)
    session = WsApiSession()
    for message in messages:
        if (
            sign_them is not False
            and isinstance(message, dict)
            and isinstance(message.get("params"), dict)
        ):
            params = {**message["params"], "apiKey": API_KEY, "timestamp": NOW}
            params["signature"] = sign_ws(params) if sign_them is True else sign_them
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
