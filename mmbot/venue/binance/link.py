"""The life of a stream client's connection, shared by the market streams and the user stream.

What it is for: the one reconnect mechanism and the one liveness loop of the WebSocket
clients. :func:`keep_connected` runs sessions back to back, waiting between failed ones with
exponential backoff and equal jitter (reset after a planned end or a connection that stayed
up long enough); :func:`serve_connection` is one session: connect, serve, then close (the
close handshake first, while the connection's reader is alive, then cancel the connection's
tasks); :class:`LiveMessages` (opened by :func:`open_live_messages`) reads a connection's
messages while it is alive: a quiet connection is asked for a pong (:func:`probe`), a silent
one is stale, and one that reached its lifetime is reopened. A session ends with a
:data:`SessionEnd`: why, and whether that was planned (a lifetime reopen, a server shutdown
notice).

What it must never do: swallow ``trio.Cancelled`` (every wait here is a plain trio wait), or
put an exception's text into a reason (a transport error can carry a URL): reasons name the
exception type only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, NoReturn

import trio
import trio.lowlevel

from mmbot.resilience.backoff import equal_jitter, exponential
from mmbot.venue.binance.ws import (
    CONNECT_ERRORS,
    CONNECTION_ERRORS,
    WsConnection,
    WsConnector,
    close_connection,
)

if TYPE_CHECKING:
    import random

#: How a session ended: (why, whether it was planned). A planned end reconnects at once.
SessionEnd = tuple[str, bool]


def reconnect_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Half the exponential delay plus up to the other half at random ("equal jitter")."""
    return equal_jitter(exponential(attempt, base=base_s, cap=cap_s), rng)


async def keep_connected(
    session: Callable[[], Awaitable[SessionEnd]],
    ended: Callable[[str, bool], Awaitable[None]],
    *,
    base_s: float,
    cap_s: float,
    stable_after_s: float,
    rng: random.Random,
    hold: Callable[[], float] = lambda: 0.0,
) -> NoReturn:
    """Run ``session`` again and again until cancelled.

    After each one, ``ended(reason, planned)`` runs; then a planned end reconnects at once,
    any other waits ``reconnect_delay`` (or longer, if ``hold()`` asks: a venue's
    Retry-After). A session that lasted ``stable_after_s`` resets the backoff.
    """
    attempt = 0
    while True:
        opened_at = trio.current_time()
        reason, planned = await session()
        await ended(reason, planned)
        if planned:
            attempt = 0
            await trio.lowlevel.checkpoint()
            continue
        if trio.current_time() - opened_at >= stable_after_s:
            attempt = 0
        attempt += 1
        await trio.sleep(max(reconnect_delay(attempt, base_s, cap_s, rng), hold()))


async def serve_connection(
    connector: WsConnector,
    resource: str,
    serve: Callable[[WsConnection], Awaitable[SessionEnd]],
    *,
    close_timeout_s: float,
    opened: Callable[[], None],
    closed: Callable[[], None],
) -> SessionEnd:
    """One session: connect to ``resource``, ``serve`` it, close it; how it ended.

    ``opened`` runs once connected, ``closed`` once the session is over (before the close).
    A failed connect or a broken connection is an unplanned end, never an exception.
    """
    result: SessionEnd = ("connection ended", False)
    try:
        async with trio.open_nursery() as connection_nursery:
            try:
                ws = await connector.connect(connection_nursery, resource)
            except CONNECT_ERRORS as exc:
                connection_nursery.cancel_scope.cancel()
                return f"connect failed: {type(exc).__name__}", False
            opened()
            try:
                result = await serve(ws)
            finally:
                closed()
                try:  # close first (the reader must be alive for the handshake)...
                    await close_connection(ws, close_timeout_s)
                finally:  # ...then stop the connection's tasks
                    connection_nursery.cancel_scope.cancel()
    except* CONNECTION_ERRORS as group:
        result = (f"connection failed: {type(group.exceptions[0]).__name__}", False)
    return result


async def probe(ws: WsConnection, seq: int, timeout_s: float) -> bool:
    """Ping ``ws`` and wait for the pong; False if none comes in time or the socket broke."""
    with trio.move_on_after(timeout_s):
        try:
            await ws.ping(seq.to_bytes(8, "big"))
        except CONNECTION_ERRORS:
            return False
        return True
    return False


class LiveMessages:
    """The messages of one connection while it is alive (``async for raw in messages``),
    opened with :func:`open_live_messages`.

    Iteration stops when the connection breaks, when it has been silent for ``silence_s`` and
    then gave no pong within ``pong_timeout_s`` of a ping (*stale*), or once ``lifetime_s``
    has passed since it was made (a planned reopen, before the venue's 24 h limit). Then
    :attr:`ended` says why, and :attr:`stale` whether silence ended it. Server pings are
    answered by trio-websocket itself; a quiet but healthy connection goes on.

    Silence and lifetime are watched by one task beside the reader (:func:`open_live_messages`),
    which ends the reading by cancelling the ``async with`` body: a message costs the reader
    one wait on the connection and one clock read, not a cancel scope with a deadline of its
    own (the streams read a few thousand messages a second).
    """

    def __init__(
        self, ws: WsConnection, *, lifetime_s: float, silence_s: float, pong_timeout_s: float
    ) -> None:
        self._ws = ws
        now = trio.current_time()
        self._deadline = now + lifetime_s
        self._silence_s = silence_s
        self._pong_timeout_s = pong_timeout_s
        self._pings = 0
        #: When the connection last showed life (a message, or a pong).
        self._heard = now
        self._watched = False  # set by open_live_messages once its watcher runs
        #: Why the iteration stopped; None while the connection is alive.
        self.ended: SessionEnd | None = None
        self.stale = False

    def __aiter__(self) -> LiveMessages:
        if not self._watched:
            raise RuntimeError("LiveMessages read without its watcher: use open_live_messages")
        return self

    async def __anext__(self) -> str | bytes:
        if self.ended is None:
            try:
                raw = await self._ws.get_message()
            except CONNECTION_ERRORS as exc:
                if self.ended is None:
                    self.ended = (f"connection closed: {type(exc).__name__}", False)
            else:
                self._heard = trio.current_time()
                return raw
        raise StopAsyncIteration

    async def _watch(self, reading: trio.CancelScope) -> None:
        """End the reading (cancel ``reading``) at the lifetime, or when a silence of
        ``silence_s`` is followed by no pong and no message within ``pong_timeout_s``."""
        while self.ended is None:
            now = trio.current_time()
            if now >= self._deadline:
                self._end(("connection lifetime reached: reopening", True), reading)
                return
            quiet_until = self._heard + self._silence_s
            if now < quiet_until:
                await trio.sleep_until(min(quiet_until, self._deadline))
                continue
            self._pings += 1
            heard = self._heard
            if await probe(self._ws, self._pings, self._pong_timeout_s):
                self._heard = max(self._heard, trio.current_time())
            elif self._heard == heard:  # not even a message while we waited for the pong
                self._end(("stale: no message and no pong", False), reading, stale=True)
                return

    def _end(self, why: SessionEnd, reading: trio.CancelScope, *, stale: bool = False) -> None:
        """End the reading for ``why``, unless the reader saw the connection end first."""
        if self.ended is None:
            self.ended = why
            self.stale = stale
        reading.cancel()


@asynccontextmanager
async def open_live_messages(
    ws: WsConnection, *, lifetime_s: float, silence_s: float, pong_timeout_s: float
) -> AsyncIterator[LiveMessages]:
    """:class:`LiveMessages` of ``ws`` with its watcher running. When the watcher ends the
    reading, the body is cancelled and the ``async with`` exits normally: the code after it
    reads :attr:`LiveMessages.ended`. A body that ends first stops the watcher."""
    messages = LiveMessages(
        ws, lifetime_s=lifetime_s, silence_s=silence_s, pong_timeout_s=pong_timeout_s
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(messages._watch, nursery.cancel_scope)
        messages._watched = True
        try:
            yield messages
        finally:
            nursery.cancel_scope.cancel()
