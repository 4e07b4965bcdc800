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
class TappedWsApi:
    """A WebSocket API connection: request frames out, answers in (events pass by)."""

    inner: WsConnection
    tap: BotTap
    number: int
    #: Requests sent on this connection and not answered yet: frame id -> (op, method, symbol).
    waiting: dict[object, tuple[int, str, str | None]] = attrs.field(factory=dict)

    async def get_message(self) -> str | bytes:
        try:
            message = await self.inner.get_message()
        except trio.Cancelled:
            raise  # the reader was cancelled, not the connection ended
        except BaseException:
            self._lost("the connection ended")
            raise
        answer = read_ws_api_answer(message)
        if answer is not None:
            frame_id, completion, last_id = answer
            waiting = self.waiting.pop(frame_id, None)
            if waiting is not None:
                op, method, symbol = waiting
                self.tap.complete(op, completion)
                if method == "depth" and symbol is not None and last_id is not None:
                    tap = self.tap
                    tap.history.book_data(
                        BookData(tap.now_ms(), tap.incarnation, symbol, True, last_id, last_id)
                    )
        return message

    async def send_message(self, message: str | bytes) -> None:
        tap = self.tap
        frame = read_ws_api_frame(message)
        op = 0
        if frame is not None:
            frame_id, method, symbol, cid = frame
            op = tap.history.invoke(tap.now_ms(), tap.incarnation, "ws_api", method, symbol, cid)
            self.waiting[frame_id] = (op, method, symbol)
        try:
            await self.inner.send_message(message)
        except BaseException as exc:
            if op:
                self.waiting.pop(frame[0] if frame else None, None)
                tap.unknown(op, type(exc).__name__)
            raise

    async def ping(self, payload: bytes | None = None) -> None:
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        try:
            await self.inner.aclose(code, reason)
        finally:
            self._lost("closed by the bot")

    def _lost(self, reason: str) -> None:
        waiting, self.waiting = self.waiting, {}
        for op, _method, _symbol in waiting.values():
            self.tap.unknown(op, reason)


@attrs.define
class TappedStream:
    """A market-stream connection: depth diffs in."""

    inner: WsConnection
    tap: BotTap
    number: int
    ended: bool = False

    async def get_message(self) -> str | bytes:
        try:
            message = await self.inner.get_message()
        except trio.Cancelled:
            raise  # the reader was cancelled, not the connection ended
        except BaseException:
            self._end()
            raise
        diff = read_stream_message(message)
        if diff is not None:
            tap = self.tap
            symbol, first, last = diff
            tap.history.book_data(
                BookData(tap.now_ms(), tap.incarnation, symbol, False, first, last, self.number)
            )
        return message

    async def send_message(self, message: str | bytes) -> None:
        await self.inner.send_message(message)

    async def ping(self, payload: bytes | None = None) -> None:
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        try:
            await self.inner.aclose(code, reason)
        finally:
            self._end()

    def _end(self) -> None:
        if not self.ended:
            self.ended = True
            tap = self.tap
            tap.history.stream(StreamEvent(tap.now_ms(), tap.incarnation, self.number, False))
