"""A tap on the bot's links that writes its side of the history (trio shell).

What it is for: the chaos runner wraps each bot incarnation's HTTP transport and WebSocket
connector (``Bot(wrap_transport=..., wrap_connector=...)``) with a :class:`BotTap`, which
passes everything through unchanged and tells :class:`~mmbot.chaos.history.BotHistory` what
crossed: each REST request and WebSocket API request frame as it leaves (*invoke*) and how it
ended (answered, refused before it left, or unknown), each depth diff and snapshot the bot
received, each market-stream connection opened and ended. The frames are read by the pure
functions of :mod:`mmbot.chaos.history`.

What it must never do: change, delay, drop or reorder a byte (the run must be the same run
with or without it: the trace digest is unchanged), swallow ``Cancelled`` (a cancelled
request is recorded unknown and the cancellation goes on), or keep a key, secret or
signature.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import attrs
import httpx
import trio

from mmbot.chaos.history import (
    BookData,
    BotHistory,
    Completion,
    Ending,
    StreamEvent,
    read_answer,
    read_request,
    read_snapshot,
    read_stream_message,
    read_ws_api_answer,
    read_ws_api_frame,
)
from mmbot.venue.binance.ws import WsConnection, WsConnector

#: Errors that mean a request never left (a refused or cut connection).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


@attrs.define
class BotTap:
    """Wraps one bot incarnation's links; see the module docstring."""

    history: BotHistory
    now_ms: Callable[[], int]
    incarnation: int = 0
    _connections: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def wrap_transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return TappedTransport(inner, self)

    def wrap_connector(self, inner: WsConnector) -> WsConnector:
        return TappedConnector(inner, self)

    def complete(self, op: int, completion: Completion) -> None:
        self.history.complete(attrs.evolve(completion, op=op, time_ms=self.now_ms()))

    def unknown(self, op: int, reason: str) -> None:
        self.history.complete(Completion(op, self.now_ms(), Ending.INFO, reason=reason))

    def next_connection(self) -> int:
        return next(self._connections)


@attrs.define
class TappedTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    tap: BotTap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tap = self.tap
        operation, symbol, cid = read_request(
            request.method, request.url.path, request.url.query.decode()
        )
        op = tap.history.invoke(tap.now_ms(), tap.incarnation, "rest", operation, symbol, cid)
        try:
            response = await self.inner.handle_async_request(request)
        except _NOT_SENT as exc:
            tap.history.complete(
                Completion(op, tap.now_ms(), Ending.FAIL, reason=type(exc).__name__)
            )
            raise
        except BaseException as exc:
            tap.unknown(op, type(exc).__name__)
            raise
        status = response.status_code
        if status < 400 and operation != "depth":
            tap.complete(op, Completion(0, 0, Ending.OK, status))
            return response
        try:
            body = await response.aread()
        except BaseException as exc:
            tap.unknown(op, type(exc).__name__)
            raise
        tap.complete(op, read_answer(status, body, response.headers.get("Retry-After")))
        if status < 400 and symbol is not None:
            last = read_snapshot(body)
            if last is not None:
                tap.history.book_data(
                    BookData(tap.now_ms(), tap.incarnation, symbol, True, last, last)
                )
        return httpx.Response(
            status, headers=response.headers, content=body, extensions=response.extensions
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.define
class TappedConnector:
    inner: WsConnector
    tap: BotTap

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        connection = await self.inner.connect(nursery, resource)
        tap = self.tap
        number = tap.next_connection()
        if resource.startswith("/ws-api"):
            return TappedWsApi(connection, tap, number)
        tap.history.stream(StreamEvent(tap.now_ms(), tap.incarnation, number, True))
        return TappedStream(connection, tap, number)


@attrs.define
class TappedConnection:
    """A WebSocket connection passed through unchanged; a subclass says what to record of a
    frame received (:meth:`received`), a frame sent (:meth:`sending`, :meth:`send_failed`)
    and the connection's end (:meth:`ended`, once)."""

    inner: WsConnection
    tap: BotTap
    number: int
    over: bool = False

    async def get_message(self) -> str | bytes:
        try:
            message = await self.inner.get_message()
        except trio.Cancelled:
            raise  # the reader was cancelled, not the connection ended
        except BaseException:
            self._end("the connection ended")
            raise
        self.received(message)
        return message

    async def send_message(self, message: str | bytes) -> None:
        token = self.sending(message)
        try:
            await self.inner.send_message(message)
        except BaseException as exc:
            self.send_failed(token, exc)
            raise

    async def ping(self, payload: bytes | None = None) -> None:
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        try:
            await self.inner.aclose(code, reason)
        finally:
            self._end("closed by the bot")

    def _end(self, reason: str) -> None:
        if not self.over:
            self.over = True
            self.ended(reason)

    def received(self, message: str | bytes) -> None:
        """Record what ``message`` says (nothing by default)."""

    def sending(self, message: str | bytes) -> object:
        """Record ``message`` leaving; what :meth:`send_failed` gets if it does not."""
        return None

    def send_failed(self, token: object, exc: BaseException) -> None:
        """The frame :meth:`sending` returned ``token`` for was not sent whole."""

    def ended(self, reason: str) -> None:
        """The connection ended (closed by either side, or broken)."""


@attrs.define
class TappedWsApi(TappedConnection):
    """A WebSocket API connection: request frames out, answers in (events pass by)."""

    #: Requests sent on this connection and not answered yet: frame id -> (op, method, symbol).
    waiting: dict[object, tuple[int, str, str | None]] = attrs.field(factory=dict)

    def received(self, message: str | bytes) -> None:
        answer = read_ws_api_answer(message)
        if answer is None:
            return
        frame_id, completion, last_id = answer
        waiting = self.waiting.pop(frame_id, None)
        if waiting is None:
            return
        op, method, symbol = waiting
        tap = self.tap
        tap.complete(op, completion)
        if method == "depth" and symbol is not None and last_id is not None:
            tap.history.book_data(
                BookData(tap.now_ms(), tap.incarnation, symbol, True, last_id, last_id)
            )

    def sending(self, message: str | bytes) -> object:
        frame = read_ws_api_frame(message)
        if frame is None:
            return None
        tap = self.tap
        frame_id, method, symbol, cid = frame
        op = tap.history.invoke(tap.now_ms(), tap.incarnation, "ws_api", method, symbol, cid)
        self.waiting[frame_id] = (op, method, symbol)
        return frame_id

    def send_failed(self, token: object, exc: BaseException) -> None:
        waiting = self.waiting.pop(token, None) if token is not None else None
        if waiting is not None:
            self.tap.unknown(waiting[0], type(exc).__name__)

    def ended(self, reason: str) -> None:
        waiting, self.waiting = self.waiting, {}
        for op, _method, _symbol in waiting.values():
            self.tap.unknown(op, reason)


@attrs.define
class TappedStream(TappedConnection):
    """A market-stream connection: depth diffs in."""

    def received(self, message: str | bytes) -> None:
        diff = read_stream_message(message)
        if diff is not None:
            tap = self.tap
            symbol, first, last = diff
            tap.history.book_data(
                BookData(tap.now_ms(), tap.incarnation, symbol, False, first, last, self.number)
            )

    def ended(self, reason: str) -> None:
        tap = self.tap
        tap.history.stream(StreamEvent(tap.now_ms(), tap.incarnation, self.number, False))
