"""Wire codec of the Binance Spot dialect (sans-IO): JSON in, typed values out, and back.

What it is for: decoding market streams (``depthUpdate``, ``bookTicker``, ``trade``, the
combined-stream wrapper), user events (``executionReport``, ``outboundAccountPosition``,
``balanceUpdate``, ``eventStreamTerminated``), WebSocket API responses, and REST bodies
(orders, ``/depth``, ``/exchangeInfo``, ``/account``, ``/myTrades``, errors) into the values of
``mmbot.venue.base``; and encoding order parameters (Decimals as plain strings).

What it must never do: I/O, read a clock, or let a ``KeyError``/``TypeError``/``InvalidOperation``
escape: malformed input raises :class:`CodecError` and nothing else. Numbers on the wire are
strings and become ``Decimal`` exactly; a float is never accepted as money. The
``depthUpdate`` path is hot (a few µs per message): it uses ``json.loads`` once, no cattrs.
:func:`decode_market_wire` is the stream client's form of it: a ``depthUpdate`` becomes a
:class:`~mmbot.venue.book.WireDiff` (prices as Decimals from a memo, quantities left as
validated wire texts, levels checked in bulk rather than one by one); it accepts and refuses
exactly the inputs :func:`decode_market_message` does.

Every public decoder takes raw text/bytes or an already parsed JSON value. The error, the
checked primitives and the price-level readers are in ``codec_base.py`` (re-exported here);
REST bodies and order-parameter encoders are in ``codec_rest.py``, which shares them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import attrs

from mmbot.model import (
    ExecutionType,
    Fill,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
    TimeInForce,
)
from mmbot.venue.base import (
    Balance,
    BalanceChanged,
    BalanceDelta,
    BookTicker,
    DepthSnapshot,
    DepthUpdate,
    ExecutionReport,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PublicTrade,
    StreamGap,
    UserEvent,
    VenueResult,
    failed,
    unknown,
)
from mmbot.venue.binance import codec_base as _base
from mmbot.venue.book import WireDiff

# The base (codec_base.py), under the names codec_rest.py and the clients import from here.
_MALFORMED = _base._MALFORMED
CodecError = _base.CodecError
_bool = _base._bool
_dec = _base._dec
_decoder = _base._decoder
_dict = _base._dict
_fail = _base._fail
_int = _base._int
_levels = _base._levels
_list = _base._list
_loads = _base._loads
_obj = _base._obj
_opt_dec = _base._opt_dec
_opt_int = _base._opt_int
_str = _base._str
_wire_levels = _base._wire_levels

# ---- market streams -------------------------------------------------------------------


@attrs.frozen
class StreamAck:
    """The answer to a SUBSCRIBE/UNSUBSCRIBE request: ``{"result": null, "id": n}``."""

    request_id: int | str | None
    error: tuple[int, str] | None = None


@attrs.frozen
class ServerShutdown:
    """``serverShutdown``: the server will close this connection soon; reconnect early."""

    event_time_ms: int


MarketMessage = DepthUpdate | BookTicker | PublicTrade | StreamAck | ServerShutdown


def _depth_update(d: dict[str, Any]) -> DepthUpdate:
    first, final = _int(d["U"]), _int(d["u"])
    if first > final:
        _fail(f"depthUpdate with U {first} > u {final}")
    return DepthUpdate(
        _str(d["s"]), first, final, _int(d["E"]), _levels(d["b"]), _levels(d["a"])
    )  # fmt: skip


def _wire_diff(d: dict[str, Any]) -> WireDiff:
    first, final, symbol, event_time = d["U"], d["u"], d["s"], d["E"]
    if type(first) is not int or type(final) is not int or type(event_time) is not int:
        _fail("depthUpdate ids and time must be integers")
    if type(symbol) is not str:
        _fail("depthUpdate symbol must be a string")
    if first > final:
        _fail(f"depthUpdate with U {first} > u {final}")
    bid_prices, bid_texts, ask_prices, ask_texts = _wire_levels(d["b"], d["a"])
    return WireDiff(symbol, first, final, event_time, bid_prices, bid_texts, ask_prices, ask_texts)


def _book_ticker(d: dict[str, Any]) -> BookTicker:
    return BookTicker(
        _str(d["s"]), _int(d["u"]), _dec(d["b"]), _dec(d["B"]), _dec(d["a"]), _dec(d["A"])
    )


def _trade(d: dict[str, Any]) -> PublicTrade:
    return PublicTrade(
        _str(d["s"]), _int(d["t"]), _dec(d["p"]), _dec(d["q"]), _int(d["T"]), _int(d["E"]),
        _bool(d["m"]),
    )  # fmt: skip


def decode_market_message(raw: object) -> MarketMessage:
    """One message of a raw or combined (``{"stream", "data"}``) market stream."""
    try:  # inline rather than @_decoder: this is the hot path
        return _market_message(json.loads(raw) if type(raw) is str else _obj(raw), _depth_update)
    except CodecError:
        raise
    except (*_MALFORMED, RecursionError) as exc:
        raise CodecError(f"malformed market stream message: {type(exc).__name__}: {exc}") from exc


def decode_market_wire(raw: object) -> WireDiff | MarketMessage:
    """:func:`decode_market_message`, but a ``depthUpdate`` comes back as a
    :class:`~mmbot.venue.book.WireDiff` (what the stream client feeds its books)."""
    try:
        return _market_message(_loads(raw) if type(raw) is str else _obj(raw), _wire_diff)
    except CodecError:
        raise
    except (*_MALFORMED, RecursionError) as exc:
        raise CodecError(f"malformed market stream message: {type(exc).__name__}: {exc}") from exc


D = TypeVar("D", DepthUpdate, WireDiff)


def _market_message(d: Any, depth: Callable[[dict[str, Any]], D]) -> D | MarketMessage:
    if type(d) is not dict:
        _fail("a market stream message must be an object")
    if "stream" in d:
        d = _dict(d["data"])
    event = d.get("e")
    if event == "depthUpdate":
        return depth(d)
    if event == "trade":
        return _trade(d)
    if event is None and "B" in d and "A" in d:
        return _book_ticker(d)
    if event == "serverShutdown":
        return ServerShutdown(_int(d["E"]))
    if "id" in d and ("result" in d or "error" in d):
        return StreamAck(d["id"], decode_error(d["error"]) if "error" in d else None)
    _fail(f"unknown market message type {event!r}")


@_decoder("/depth snapshot")
def decode_depth_snapshot(raw: object, symbol: str) -> DepthSnapshot:
    d = _dict(_obj(raw))
    return DepthSnapshot(symbol, _int(d["lastUpdateId"]), _levels(d["bids"]), _levels(d["asks"]))


# ---- user events ----------------------------------------------------------------------


def _execution_report(d: dict[str, Any]) -> ExecutionReport:
    commission_asset, orig = d.get("N"), d.get("C")
    return ExecutionReport(
        event_time_ms=_int(d["E"]),
        symbol=_str(d["s"]),
        client_order_id=_str(d["c"]),
        side=Side(d["S"]),
        order_type=OrderType(d["o"]),
        time_in_force=TimeInForce(d["f"]),
        quantity=_dec(d["q"]),
        price=_dec(d["p"]),
        execution_type=ExecutionType(d["x"]),
        status=OrderStatus(d["X"]),
        reject_reason=_str(d["r"]),
        order_id=_int(d["i"]),
        last_qty=_dec(d["l"]),
        cumulative_qty=_dec(d["z"]),
        last_price=_dec(d["L"]),
        commission=_dec(d["n"]),
        commission_asset=None if commission_asset is None else _str(commission_asset),
        transaction_time_ms=_int(d["T"]),
        trade_id=_int(d["t"]),
        is_maker=_bool(d["m"]),
        orig_client_order_id="" if orig is None else _str(orig),
        cumulative_quote_qty=_dec(d["Z"]),
        is_working=_bool(d.get("w", False)),
        order_creation_time_ms=_opt_int(d.get("O")),
        working_time_ms=_opt_int(d.get("W")),
        last_quote_qty=_opt_dec(d.get("Y")),
        quote_order_qty=_opt_dec(d.get("Q")),
    )


def event_from_report(report: ExecutionReport) -> OrderEvent:
    """The typed order event an execution report stands for."""
    kind = report.execution_type
    if kind is ExecutionType.TRADE:
        if report.trade_id < 0:
            _fail("a TRADE execution report without a trade id")
        fill = Fill(
            symbol=report.symbol,
            order_id=report.order_id,
            client_order_id=report.client_order_id,
            trade_id=report.trade_id,
            side=report.side,
            price=report.last_price,
            quantity=report.last_qty,
            fee=report.commission,
            fee_asset=report.commission_asset or "",
            is_maker=report.is_maker,
            time_ms=report.transaction_time_ms,
        )
        return OrderFilled(report, fill)
    if kind is ExecutionType.CANCELED:
        return OrderCancelled(report)
    if kind is ExecutionType.REJECTED:
        return OrderRejected(report, report.reject_reason)
    if kind in (ExecutionType.EXPIRED, ExecutionType.TRADE_PREVENTION):
        return OrderExpired(report)
    return OrderAccepted(report)  # NEW, REPLACED


def _balance(d: dict[str, Any], asset: str, free: str, locked: str) -> Balance:
    return Balance(_str(d[asset]), _dec(d[free]), _dec(d[locked]))


def _user_event(d: dict[str, Any]) -> UserEvent:
    event = d.get("e")
    if event == "executionReport":
        return event_from_report(_execution_report(d))
    if event == "outboundAccountPosition":
        balances = tuple(_balance(_dict(b), "a", "f", "l") for b in _list(d["B"]))
        return BalanceChanged(_int(d["E"]), balances, _opt_int(d.get("u")))
    if event == "balanceUpdate":
        return BalanceDelta(_int(d["E"]), _str(d["a"]), _dec(d["d"]), _opt_int(d.get("T")))
    if event == "eventStreamTerminated":
        return StreamGap("eventStreamTerminated", _int(d["E"]))
    _fail(f"unknown user event type {event!r}")


@_decoder("user event")
def decode_user_event(raw: object) -> UserEvent:
    """A bare user event object (the ``event`` of a WebSocket API user-data message)."""
    return _user_event(_dict(_obj(raw)))


@attrs.frozen
class WsApiResponse:
    """A WebSocket API answer. ``result`` is raw JSON shaped like the REST answer.

    ``retry_after`` (s): for a 429/418, how long the venue asks us to wait, from the error's
    ``data`` ``{"serverTime", "retryAfter"}`` (both epoch ms); None when it did not say.
    """

    request_id: int | str | None
    status: int
    result: Any = None
    error: tuple[int, str] | None = None
    retry_after: float | None = None

    def failure(self) -> VenueResult[NoReturn]:
        """The FAILED/UNKNOWN result of an error answer (same rules as REST)."""
        code, msg = self.error if self.error else (None, f"HTTP-like status {self.status}")
        return failure_result(self.status, code, msg, retry_after=self.retry_after)


@attrs.frozen
class UserEventMessage:
    subscription_id: int | None
    event: UserEvent


@_decoder("WebSocket API message")
def decode_ws_api_message(raw: object) -> WsApiResponse | UserEventMessage:
    """``{"id", "status", "result"|"error"}`` or ``{"subscriptionId", "event"}``."""
    d = _dict(_obj(raw))
    if "event" in d:
        return UserEventMessage(_opt_int(d.get("subscriptionId")), _user_event(_dict(d["event"])))
    status = _int(d["status"])
    if "error" in d:
        error = d["error"]
        return WsApiResponse(
            d.get("id"), status, None, decode_error(error), _ws_retry_after(error)
        )  # fmt: skip
    return WsApiResponse(d.get("id"), status, d.get("result"))


def _ws_retry_after(error: object) -> float | None:
    """Seconds to wait from an error's ``data`` ``{"serverTime", "retryAfter"}`` (epoch ms),
    never negative; None if the error carries no such data (most errors do not)."""
    data = error.get("data") if type(error) is dict else None
    if type(data) is not dict:
        return None
    server, retry = data.get("serverTime"), data.get("retryAfter")
    if type(server) is not int or type(retry) is not int:
        return None
    return max(0, retry - server) / 1000


# ---- errors and outcomes --------------------------------------------------------------

#: Dialect codes that mean the request's outcome is unknown (errors.md): -1000 unknown
#: error, -1006 unexpected response from the message bus, -1007 backend timeout.
UNKNOWN_CODES = frozenset({-1000, -1006, -1007})


@_decoder("error body")
def decode_error(raw: object) -> tuple[int, str]:
    """An error body ``{"code", "msg"}`` as (code, msg)."""
    d = _dict(_obj(raw))
    return _int(d["code"]), _str(d["msg"])


def classify_failure(http_status: int | None, code: int | None) -> Outcome:
    """FAILED (known not to have happened) or UNKNOWN (5xx, or -1000/-1006/-1007)."""
    if (http_status is not None and http_status >= 500) or code in UNKNOWN_CODES:
        return Outcome.UNKNOWN
    return Outcome.FAILED


def failure_result(
    http_status: int | None, code: int | None, msg: str, *, retry_after: float | None = None
) -> VenueResult[NoReturn]:
    """The result for an error answer, classified once, here."""
    if classify_failure(http_status, code) is Outcome.UNKNOWN:
        return unknown(msg, code=code, http_status=http_status)
    return failed(code, msg, http_status=http_status, retry_after=retry_after)


# ---- stream and WebSocket API requests ----------------------------------------------


def encode_ws_request(request_id: int | str, method: str, params: Mapping[str, object]) -> str:
    """A WebSocket API request frame (params already signed if the method needs it)."""
    return json.dumps({"id": request_id, "method": method, "params": dict(params)})


def encode_subscribe(streams: Sequence[str], request_id: int, *, unsubscribe: bool = False) -> str:
    method = "UNSUBSCRIBE" if unsubscribe else "SUBSCRIBE"
    return json.dumps({"method": method, "params": list(streams), "id": request_id})


def depth_stream(symbol: str, *, speed_ms: int = 100) -> str:
    """The diff-depth stream name: ``btcusdt@depth@100ms`` (1000 ms: ``btcusdt@depth``)."""
    return f"{symbol.lower()}@depth" + ("@100ms" if speed_ms == 100 else "")


def combined_stream_path(streams: Sequence[str]) -> str:
    return "/stream?streams=" + "/".join(streams)
