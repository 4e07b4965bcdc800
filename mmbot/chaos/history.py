"""What crossed the bot's boundary during a chaos run: its side of the history (sans-IO).

What it is for: the invariants that are about what the bot *did*, not what the exchange
ended up holding, read this history: every request the bot sent (*invoke*) and how it ended
(*ok*, *fail*: known not done, or *info*: unknown, as Jepsen writes them), with its
Retry-After when the venue throttled it; every piece of order-book data the bot received
(a depth diff with its update ids, a snapshot with its ``lastUpdateId``); every market
stream connection it opened and lost; and every transition of its venue breakers and every
quote decision with the age of the book it was made on (which the bot tells the runner: they
are not on the wire). A tap on the bot's transport and WebSocket
connector (:mod:`mmbot.chaos.tap`) feeds it the raw frames; this module reads them
(:func:`read_request`, :func:`read_answer`, :func:`read_ws_api_frame`,
:func:`read_ws_api_answer`, :func:`read_stream_message`) and keeps the records. The checkers
never ask the bot what it believed: they rebuild the book's freshness and continuity from
the frames it was given, by the dialect's rules, and compare with what it sent.

What it must never do: I/O, read a clock (every record's time is passed in), keep a key, a
secret or a signature (a request is kept as its operation, symbol and client order id only).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import attrs

R = TypeVar("R")

#: Operations that put an order on the book (a cancel-replace places its new order).
PLACING = frozenset({"order.place", "order.cancelReplace"})

#: REST (method, path) -> the operation's name, as the WebSocket API names it.
REST_OPERATIONS: Mapping[tuple[str, str], str] = {
    ("POST", "/api/v3/order"): "order.place",
    ("DELETE", "/api/v3/order"): "order.cancel",
    ("GET", "/api/v3/order"): "order.status",
    ("POST", "/api/v3/order/cancelReplace"): "order.cancelReplace",
    ("DELETE", "/api/v3/openOrders"): "openOrders.cancelAll",
    ("GET", "/api/v3/openOrders"): "openOrders.status",
    ("GET", "/api/v3/depth"): "depth",
    ("GET", "/api/v3/time"): "time",
    ("GET", "/api/v3/exchangeInfo"): "exchangeInfo",
    ("GET", "/api/v3/account"): "account.status",
    ("GET", "/api/v3/myTrades"): "myTrades",
}


class Ending(enum.Enum):
    """How a request ended, from the bot's side."""

    OK = "ok"  # answered 2xx
    FAIL = "fail"  # answered 4xx: known not done
    INFO = "info"  # unknown: 5xx, no answer, the connection lost


@attrs.frozen
class Invoke:
    """A request leaving the bot."""

    op: int
    time_ms: int
    incarnation: int
    transport: str  # "rest" or "ws_api"
    operation: str  # "order.place", "depth", ... ("GET /api/v3/..." when unnamed)
    symbol: str | None = None
    client_order_id: str | None = None

    @property
    def places(self) -> bool:
        return self.operation in PLACING


@attrs.frozen
class Completion:
    """How request ``op`` ended (``status`` 0: no answer)."""

    op: int
    time_ms: int
    ending: Ending
    status: int = 0
    code: int | None = None
    retry_after_s: float | None = None  # a 429/418's Retry-After
    reason: str = ""


@attrs.frozen
class BookData:
    """Order-book data the bot received for ``symbol``: a depth diff (update ids ``first``
    to ``last``) on stream connection ``connection``, or a snapshot (``last``: its
    ``lastUpdateId``; ``connection`` 0)."""

    time_ms: int
    incarnation: int
    symbol: str
    snapshot: bool
    first: int
    last: int
    connection: int = 0


@attrs.frozen
class StreamEvent:
    """A market-stream connection of the bot opened or ended."""

    time_ms: int
    incarnation: int
    connection: int
    opened: bool  # False: it ended (closed by either side, or broken)


@attrs.frozen
class BreakerChange:
    """One of the bot's venue breakers (``binance:orders``, ...) entered ``state``."""

    time_ms: int
    incarnation: int
    breaker: str
    state: str  # "closed", "open", "half_open", "forced_open", ...


@attrs.frozen
class Decision:
    """One quote decision of the bot, as it saw it: the age of the book it decided on, why it
    pulled its quotes (None: it quoted), and how many order actions it started."""

    time_ms: int
    incarnation: int
    symbol: str
    book_age_s: float
    pulled: str | None
    actions: int


Record = Invoke | Completion | BookData | StreamEvent | BreakerChange | Decision


@attrs.define
class BotHistory:
    """The bot's side of a run, in the order things crossed its boundary."""

    records: list[Record] = attrs.field(factory=list)
    _next_op: int = 0

    def invoke(
        self,
        time_ms: int,
        incarnation: int,
        transport: str,
        operation: str,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> int:
        self._next_op += 1
        self.records.append(
            Invoke(
                self._next_op, time_ms, incarnation, transport, operation, symbol, client_order_id
            )
        )
        return self._next_op

    def complete(self, completion: Completion) -> None:
        self.records.append(completion)

    def book_data(self, data: BookData) -> None:
        self.records.append(data)

    def stream(self, event: StreamEvent) -> None:
        self.records.append(event)

    def breaker(self, change: BreakerChange) -> None:
        self.records.append(change)

    def decision(self, decision: Decision) -> None:
        self.records.append(decision)

    def of_kind(self, kind: type[R]) -> Iterator[R]:
        return (r for r in self.records if isinstance(r, kind))

    def completions(self) -> dict[int, Completion]:
        return {c.op: c for c in self.of_kind(Completion)}


# ---- reading frames (pure) ----------------------------------------------------------------


def read_request(method: str, path: str, query: str) -> tuple[str, str | None, str | None]:
    """(operation, symbol, client order id) of a REST request (its query string, never
    kept)."""
    params = dict(parse_qsl(query))
    operation = REST_OPERATIONS.get((method, path), f"{method} {path}")
    return operation, params.get("symbol"), params.get("newClientOrderId")


def read_answer(status: int, body: bytes, retry_after: str | None) -> Completion:
    """A REST answer as a completion of op 0 (the caller sets the op and time)."""
    code: int | None = None
    if status >= 400:
        code = _code(_json(body))
    seconds = _float(retry_after) if status in (429, 418) else None
    return Completion(0, 0, _ending(status), status, code, seconds)


def read_ws_api_frame(frame: str | bytes) -> tuple[object, str, str | None, str | None] | None:
    """(id, method, symbol, client order id) of a WebSocket API request frame; None for
    anything else."""
    message = _json(frame)
    if not isinstance(message, dict) or "method" not in message or "id" not in message:
        return None
    params = message.get("params")
    params = params if isinstance(params, dict) else {}
    symbol = params.get("symbol")
    cid = params.get("newClientOrderId")
    return (
        message["id"],
        str(message["method"]),
        symbol if isinstance(symbol, str) else None,
        cid if isinstance(cid, str) else None,
    )


def read_ws_api_answer(frame: str | bytes) -> tuple[object, Completion, int | None] | None:
    """(id, completion of op 0, a depth snapshot's lastUpdateId) of a WebSocket API answer;
    None for an event or anything else."""
    message = _json(frame)
    if not isinstance(message, dict) or "id" not in message or "status" not in message:
        return None
    status = message["status"]
    if not isinstance(status, int):
        return None
    error = message.get("error")
    code = _code({"code": error.get("code")}) if isinstance(error, dict) else None
    retry: float | None = None
    if status in (429, 418) and isinstance(error, dict) and isinstance(error.get("data"), dict):
        data = error["data"]
        server, until = data.get("serverTime"), data.get("retryAfter")
        if isinstance(server, int) and isinstance(until, int):
            retry = max(0, until - server) / 1000
    result = message.get("result")
    last_id = _last_update_id(result)
    return message["id"], Completion(0, 0, _ending(status), status, code, retry), last_id


def read_snapshot(body: bytes) -> int | None:
    """A REST depth snapshot's ``lastUpdateId``."""
    return _last_update_id(_json(body))


def read_stream_message(frame: str | bytes) -> tuple[str, int, int] | None:
    """(symbol, first update id, last update id) of a depth diff on a market stream (raw or
    combined); None for anything else."""
    if isinstance(frame, bytes):
        frame = frame.decode("utf-8", "replace")
    if "depthUpdate" not in frame:  # cheap: most frames are trades
        return None
    message = _json(frame)
    if isinstance(message, dict) and isinstance(message.get("data"), dict):
        message = message["data"]
    if not isinstance(message, dict) or message.get("e") != "depthUpdate":
        return None
    symbol, first, last = message.get("s"), message.get("U"), message.get("u")
    if not (isinstance(symbol, str) and isinstance(first, int) and isinstance(last, int)):
        return None
    return symbol, first, last


def _ending(status: int) -> Ending:
    if 200 <= status < 300:
        return Ending.OK
    if 400 <= status < 500:
        return Ending.FAIL
    return Ending.INFO


def _json(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _code(body: Any) -> int | None:
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _last_update_id(body: Any) -> int | None:
    value = body.get("lastUpdateId") if isinstance(body, dict) else None
    return value if isinstance(value, int) else None
