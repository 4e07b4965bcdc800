"""The fake exchange's WebSocket side: market streams and the WebSocket API (trio shell).

What it is for: :func:`serve_ws_stream` takes one byte stream (a TCP connection from
``trio.serve_listeners``, or a memory stream in simulated mode), runs the WebSocket
handshake over it with trio-websocket and serves the connection: raw streams at
``/ws/<stream>`` (or ``/ws`` and ``SUBSCRIBE`` later), combined streams at
``/stream?streams=a/b`` (frames wrapped as ``{"stream", "data"}``), and the WebSocket API
at ``/ws-api/v3`` (a frame the exchange's fault plan delays is answered that much later).
Each connection gets an :class:`~mmbot.sim.connections.Outbox` (marked
``ws_api`` for the WebSocket API, so the exchange frames its ``serverShutdown`` as Binance
does there, ``{"event": ...}``) drained by a writer task, a pinger (a ping every
``ping_interval_s``; closed without a pong within ``pong_timeout_s``) and a 24 h lifetime.
The transport faults act here too: the writer sends a frame the plan paces or slices
(:class:`~mmbot.sim.connections.Paced`) late or as continuation frames, and a connection a
``reset`` fault closed is dropped without a close handshake once its queue is written.

While a ``ws_stall`` fault holds the outbox, the writer sends nothing, the pinger skips its
pings and a client's ping gets no pong; a ``ws_drop`` closes with 1011.

It relies on private members of trio-websocket (pinned to 0.12.x): why, which ones and
how a test guards them is docs/decisions/0005-trio-websocket-private-members.md.

What it must never do: let a client's frame crash the server or another connection (every
frame gets a well-formed answer); block the exchange on a slow client (its outbox is
dropped instead); read the wall clock.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError

from mmbot.sim.connections import Outbox, Paced
from mmbot.sim.dialect import WsApiSession
from mmbot.sim.exchange import CONTROL_CHANNEL, Exchange
from mmbot.sim.faults import Delivery
from mmbot.sim.streams import StreamSession, dumps, parse_stream_name

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

WS_API_PATH = "/ws-api/v3"

_log = logging.getLogger(__name__)

#: Most queued frames one write sends together.
WRITE_BATCH = 256
#: Messages an in-process client buffers before its reader waits for the consumer.
CLIENT_QUEUE_SIZE = 256
#: WebSocket API frames one connection may have held by the fault plan before its reader
#: waits (back-pressure, as a full TCP window).
DELAYED_FRAMES = 1024

#: Close codes: normal, going away (shutdown / 24 h), policy violation (slow, no pong).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
#: A ``ws_drop`` fault's close ("internal error": the server ended it unexpectedly).
CLOSE_INTERNAL_ERROR = 1011


def parse_market_path(path: str, symbols: frozenset[str]) -> tuple[bool, list[str]] | str:
    """``(combined, streams)`` for a market-stream resource, or an error message.

    ``/ws``, ``/ws/<s>`` (several joined by ``/`` are accepted too) and
    ``/stream?streams=<a>/<b>``. On ``/ws/...`` a name that is no stream is ignored, as
    Binance does (ccxt.pro opens ``/ws/<n>`` and subscribes later); on ``/stream`` it is
    refused (a departure: a clear error for a misspelt stream).
    """
    parts = urlsplit(path)
    route = parts.path.rstrip("/")
    if route == "/ws" or route.startswith("/ws/"):
        names = [n for n in route[len("/ws") :].split("/") if n]
        names = [n for n in names if parse_stream_name(n, symbols) is not None]
        combined = False
    elif route == "/stream":
        query = parse_qs(parts.query, keep_blank_values=True)
        raw = query.get("streams", [""])
        names = [n for n in raw[0].split("/") if n] if raw else []
        combined = True
    else:
        return f"unknown resource {parts.path[:64]!r}"
    for name in names:
        if parse_stream_name(name, symbols) is None:
            return f"unknown stream {name[:64]!r}"
    return combined, list(dict.fromkeys(names))


class _Connection(WebSocketConnection):
    """A trio-websocket connection that does not crash when a ping crosses its close, and
    that does not go through the scheduler once per message.

    trio-websocket (0.12) answers every ping with a pong, even after this side has sent its
    Close frame; wsproto refuses that pong and the reader task dies, so the close handshake
    never completes. A pong is pointless once closing, so it is skipped.

    Speed (simulated mode runs every frame of every stream through here): the reader queues
    the messages of one read without a checkpoint each, ``get_message`` hands out a queued
    message at once (still a cancel point), and ``send_messages`` frames a batch into one
    write. Order, back-pressure (a full queue still makes the reader wait) and close
    semantics are trio-websocket's.
    """

    #: The connection's outbox: while it is held (a ``ws_stall`` fault), pings go unanswered.
    outbox: Outbox | None = None

    async def _handle_ping_event(self, event: Ping) -> None:
        if self.outbox is not None and self.outbox.held:
            return  # stalled: silent, no pong
        with contextlib.suppress(LocalProtocolError):  # closing: no pong any more
            await super()._handle_ping_event(event)

    async def _handle_close_connection_event(self, event: CloseConnection) -> None:
        """Answer a protocol error with a Close frame before the TCP connection ends.

        wsproto turns a frame it cannot parse (unmasked, a reserved opcode or bit, text
        that is not UTF-8, a bad close code) into a ``CloseConnection`` event carrying the
        code to answer with (1002 protocol error, 1007 invalid data, 1009 too big) while
        the connection is still open; trio-websocket then drops TCP without saying why.
        Send that Close first (RFC 6455 7.1.7: fail the connection with a Close frame).
        """
        if self._wsproto.state == ConnectionState.OPEN:
            close = CloseConnection(code=event.code, reason=(event.reason or "")[:100])
            with contextlib.suppress(ConnectionClosed, LocalProtocolError):
                await self._send(close)
        await super()._handle_close_connection_event(event)

    async def get_message(self) -> str | bytes:
        """The next message; a queued one is returned without a trip through the scheduler.

        It is still a cancel point (``checkpoint_if_cancelled``); only when the queue is
        empty does it wait (and yield) as trio-websocket does.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            return self._recv_channel.receive_nowait()
        except trio.WouldBlock:
            return await super().get_message()
        except (trio.ClosedResourceError, trio.EndOfChannel):
            raise ConnectionClosed(self._close_reason) from None

    async def _handle_message_event(self, event: BytesMessage | TextMessage) -> None:
        """Queue a complete text message without a checkpoint while the queue has room."""
        if (
            isinstance(event, TextMessage)
            and event.message_finished
            and not self._message_parts
            and len(event.data) <= self._max_message_size
        ):
            try:
                self._send_channel.send_nowait(event.data)
                return
            except trio.WouldBlock:
                pass  # full: the reader waits for the consumer (back-pressure)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                return  # the consumer closed its end (as trio-websocket does: ignore)
        await super()._handle_message_event(event)

    async def send_messages(self, messages: Sequence[str]) -> None:
        """Send several text messages with one write (its checkpoints, not one set each)."""
        if self._close_reason:
            raise ConnectionClosed(self._close_reason)
        send = self._wsproto.send
        data = b"".join([send(TextMessage(data=m)) for m in messages])
        lock = self._stream_lock
        if lock.locked():
            await lock.acquire()
        else:
            lock.acquire_nowait()  # uncontended: send_all below is the checkpoint
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._abort_web_socket()
            raise ConnectionClosed(self._close_reason) from None
        finally:
            lock.release()

    async def send_paced(self, text: str, delivery: Delivery) -> None:
        """Send one text message as the transport faults say (``delivery``): its pieces as
        a text frame then continuation frames (one piece: one whole frame), each after its
        wait. Control frames (pings, pongs) may pass between the pieces, as RFC 6455
        allows."""
        last = len(delivery.sizes) - 1
        position = 0
        for index, (size, wait) in enumerate(zip(delivery.sizes, delivery.waits, strict=True)):
            if wait > 0:
                await trio.sleep(wait)
            if self._close_reason:
                raise ConnectionClosed(self._close_reason)
            piece = text[position : position + size]
            position += size
            data = self._wsproto.send(TextMessage(data=piece, message_finished=index == last))
            async with self._stream_lock:
                try:
                    await self._stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._abort_web_socket()
                    raise ConnectionClosed(self._close_reason) from None

    async def drop(self) -> None:
        """End the connection at once, without a close handshake, as a reset does (the
        peer reads an abnormal closure, 1006)."""
        await self._abort_web_socket()
        await trio.aclose_forcefully(self._stream)


async def wrap_server(nursery: trio.Nursery, stream: trio.abc.Stream) -> WebSocketRequest:
    """``trio_websocket.wrap_server_stream`` with :class:`_Connection` (private API, pinned)."""
    connection = _Connection(stream, WSConnection(ConnectionType.SERVER))
    nursery.start_soon(connection._reader_task)
    request: WebSocketRequest = await connection._get_request()
    return request


async def wrap_client(
    nursery: trio.Nursery, stream: trio.abc.Stream, host: str, resource: str
) -> WebSocketConnection:
    """``trio_websocket.wrap_client_stream`` with :class:`_Connection` (private API, pinned)."""
    connection = _Connection(
        stream,
        WSConnection(ConnectionType.CLIENT),
        host=host,
        path=resource,
        message_queue_size=CLIENT_QUEUE_SIZE,
    )
    nursery.start_soon(connection._reader_task)
    await connection._open_handshake.wait()
    return connection


async def serve_ws_stream(exchange: Exchange, stream: trio.abc.Stream) -> None:
    """Serve one WebSocket connection arriving on ``stream`` (a socket or a memory stream).

    Whatever goes wrong with one connection (a protocol error, a reset, a bug) ends that
    connection only and is logged; it never reaches the server's nursery.
    """
    settings = exchange.config.streams
    try:
        async with trio.open_nursery() as nursery:
            with trio.move_on_after(settings.handshake_timeout_s) as handshake:
                request = await wrap_server(nursery, stream)
            if handshake.cancelled_caught:
                nursery.cancel_scope.cancel()
            else:
                await handle_request(exchange, request)
                nursery.cancel_scope.cancel()
    except* (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away
    except* Exception as group:  # a bug: end this connection only, with the traceback
        _log.error("WebSocket connection dropped after an unexpected error", exc_info=group)
    finally:
        with trio.move_on_after(settings.close_timeout_s, shield=True):
            await stream.aclose()


async def handle_request(exchange: Exchange, request: WebSocketRequest) -> None:
    """Accept (or reject) one WebSocket connection and serve it until it ends."""
    path = request.path
    if urlsplit(path).path.rstrip("/") == WS_API_PATH:
        ws = await request.accept()
        outbox = exchange.open_outbox(combined=False, ws_api=True)
        await _serve(exchange, ws, outbox, _ws_api_reader)
        return
    symbols = frozenset(exchange.config.symbols)
    parsed = parse_market_path(path, symbols)
    if isinstance(parsed, str):
        body = dumps({"code": -1121 if "stream" in parsed else -1000, "msg": parsed})
        await request.reject(
            400, extra_headers=[(b"content-type", b"application/json")], body=body.encode()
        )
        return
    combined, streams = parsed
    ws = await request.accept()
    outbox = exchange.open_outbox(combined=combined)
    session = StreamSession(symbols=symbols, combined=combined, subscriptions=list(streams))
    exchange.subscribe(outbox, streams)

    async def reader(exchange: Exchange, ws: WebSocketConnection, outbox: Outbox) -> None:
        await _market_reader(exchange, ws, outbox, session)

    await _serve(exchange, ws, outbox, reader)


async def _serve(
    exchange: Exchange,
    ws: WebSocketConnection,
    outbox: Outbox,
    reader: Callable[[Exchange, WebSocketConnection, Outbox], Awaitable[None]],
) -> None:
    settings = exchange.config.streams
    close: list[tuple[int, str]] = []
    if isinstance(ws, _Connection):
        ws.outbox = outbox
    try:
        with trio.move_on_after(settings.max_connection_s):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_writer, exchange, ws, outbox, nursery.cancel_scope, close)
                nursery.start_soon(_pinger, exchange, ws, outbox, nursery.cancel_scope, close)
                await reader(exchange, ws, outbox)
                nursery.cancel_scope.cancel()
        if not close:
            close.append((CLOSE_GOING_AWAY, "connection lifetime reached"))
    finally:
        exchange.forget_outbox(outbox)
        code, reason = close[0] if close else (CLOSE_NORMAL, "")
        if outbox.reason == "reset" and isinstance(ws, _Connection):
            await ws.drop()  # a reset fault: no close handshake
        elif trio.current_effective_deadline() == -math.inf:
            # cancelled: the reader that would read the peer's close reply is cancelled
            # too, so waiting could only time out; an unshielded aclose closes at once
            await ws.aclose(code, reason)
        else:
            with trio.move_on_after(settings.close_timeout_s, shield=True):
                await ws.aclose(code, reason)


async def _writer(
    exchange: Exchange,
    ws: WebSocketConnection,
    outbox: Outbox,
    scope: trio.CancelScope,
    close: list[tuple[int, str]],
) -> None:
    try:
        while batch := await outbox.take(WRITE_BATCH):
            if outbox.paced:
                await _send_paced_batch(exchange, ws, batch)
            elif isinstance(ws, _Connection):
                await ws.send_messages(batch)
            else:
                for message in batch:
                    await ws.send_message(message)
    except ConnectionClosed:
        pass
    else:
        if outbox.reason == "reset":
            pass  # dropped without a close frame (_serve)
        elif outbox.reason == "slow":
            close.append((CLOSE_POLICY, "slow consumer"))
        elif outbox.reason == "dropped":
            close.append((CLOSE_INTERNAL_ERROR, "connection dropped"))
        else:
            close.append((CLOSE_GOING_AWAY, "server shutdown"))
    scope.cancel()


async def _send_paced_batch(
    exchange: Exchange, ws: WebSocketConnection, batch: Sequence[str]
) -> None:
    """Send a batch holding frames a transport fault may pace or slice, in the order they
    were queued: each such frame as the exchange's plan says when its turn comes (late, in
    pieces), the others in runs as usual."""
    plain: list[str] = []
    for frame in batch:
        delivery = (
            exchange.delivery(frame.traffic, len(frame)) if isinstance(frame, Paced) else None
        )
        if delivery is None:
            plain.append(frame)
            continue
        if plain:
            await _send_plain(ws, plain)
            plain = []
        if isinstance(ws, _Connection):
            await ws.send_paced(frame, delivery)
        else:  # not sliced, only late
            await trio.sleep(delivery.total_wait)
            await ws.send_message(str(frame))
    if plain:
        await _send_plain(ws, plain)


async def _send_plain(ws: WebSocketConnection, frames: Sequence[str]) -> None:
    if isinstance(ws, _Connection):
        await ws.send_messages(frames)
    else:
        for message in frames:
            await ws.send_message(message)


async def _pinger(
    exchange: Exchange,
    ws: WebSocketConnection,
    outbox: Outbox,
    scope: trio.CancelScope,
    close: list[tuple[int, str]],
) -> None:
    settings = exchange.config.streams
    count = 0
    try:
        while True:
            await trio.sleep(settings.ping_interval_s)
            if outbox.held:
                continue  # stalled: no ping either
            count += 1
            with trio.move_on_after(settings.pong_timeout_s) as waited:
                await ws.ping(count.to_bytes(8, "big"))
            if waited.cancelled_caught:
                close.append((CLOSE_POLICY, "pong timeout"))
                scope.cancel()
                return
    except ConnectionClosed:
        scope.cancel()


async def _market_reader(
    exchange: Exchange, ws: WebSocketConnection, outbox: Outbox, session: StreamSession
) -> None:
    while True:
        try:
            message = await ws.get_message()
        except ConnectionClosed:
            return
        outcome = session.handle(message)
        exchange.unsubscribe(outbox, outcome.unsubscribed)
        exchange.subscribe(outbox, outcome.subscribed)
        outbox.combined = session.combined
        exchange.deliver(outbox, dumps(outcome.reply), CONTROL_CHANNEL, "reply", exchange.now_ms())


async def _ws_api_reader(exchange: Exchange, ws: WebSocketConnection, outbox: Outbox) -> None:
    """Answer each frame in turn. A frame the fault plan delays goes to a queue whose one
    task answers each once its delay has passed, never before a delayed frame that came
    earlier (a connection keeps its order, as TCP does); the frames it does not delay are
    answered at once."""
    session = WsApiSession(client=_client_address(ws), connected_ms=exchange.now_ms())
    send, receive = trio.open_memory_channel[tuple[float, str | bytes]](DELAYED_FRAMES)
    async with trio.open_nursery() as nursery, send:
        nursery.start_soon(_answer_delayed, exchange, receive, session, outbox)
        not_before = -math.inf  # when the latest delayed frame is answered
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed:
                return
            if outbox.reason == "reset":
                # a reset fault is dropping the connection: nothing more is worked on; the
                # writer sends what was queued before it, then ends the connection
                await trio.sleep_forever()
            delay = exchange.ws_api_delay(message)
            if delay <= 0:
                exchange.handle_ws_api(message, session, outbox)
                continue
            not_before = max(not_before, trio.current_time() + delay)
            await send.send((not_before, message))


async def _answer_delayed(
    exchange: Exchange,
    frames: trio.MemoryReceiveChannel[tuple[float, str | bytes]],
    session: WsApiSession,
    outbox: Outbox,
) -> None:
    async with frames:
        async for at, message in frames:
            await trio.sleep_until(at)
            if outbox.reason == "reset":
                return  # dropped: what it had not answered is lost with the connection
            exchange.handle_ws_api(message, session, outbox)


def _client_address(ws: WebSocketConnection) -> str:
    """The client's IP (rate limits are per IP); in-process connections are loopback."""
    address = getattr(ws.remote, "address", None)
    return str(address) if address is not None else "127.0.0.1"
