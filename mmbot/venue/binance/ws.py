"""The WebSocket connector seam of the Binance dialect client (market streams, WS API).

What it is for: the one place where the stream clients (``streams.py``, ``user.py``) get a
WebSocket from. :class:`WsConnector` opens a connection to a *resource* (``/stream?...``,
``/ws-api/v3``); :class:`UrlConnector` does it over real sockets with trio-websocket,
:class:`FunctionConnector` wraps any ``(nursery, resource) -> connection`` coroutine function
(the in-process fake exchange's ``InProcessExchange.connect_ws``, or a test's wrapper that
drops or stalls frames). The clients only use the four methods of :class:`WsConnection`,
which ``trio_websocket.WebSocketConnection`` has.

What it must never do: retry (the clients own reconnect policy), log a URL's query string
(it may one day carry a credential), or leak a transport exception type other than
``trio_websocket``'s ``ConnectionClosed`` / ``HandshakeError`` and ``OSError``.

Liveness note: trio-websocket answers the server's pings by itself (its reader task sends
the pong that wsproto queues), so the clients never answer pings; a silent connection is
detected by the clients probing with their own ping (see ``streams.py``).

Closing: :func:`close_connection` is how the clients end a connection. Its close handshake
needs the connection's reader task (which lives in the nursery given to ``connect``) to read
the peer's reply; when the client is being cancelled that task is cancelled too, so the
handshake is skipped rather than waited out.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import attrs
import trio
import trio.lowlevel
from trio_websocket import ConnectionClosed, HandshakeError, connect_websocket_url

#: What a connect attempt may raise when the venue cannot be reached or refuses us.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    HandshakeError,
    ConnectionClosed,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.TooSlowError,
)
#: What an open connection may raise when it breaks.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionClosed,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    OSError,
)


class WsConnection(Protocol):
    """The part of ``trio_websocket.WebSocketConnection`` the clients use."""

    async def get_message(self) -> str | bytes: ...

    async def send_message(self, message: str | bytes) -> None: ...

    async def ping(self, payload: bytes | None = None) -> None: ...

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None: ...


class WsConnector(Protocol):
    """Opens a WebSocket to ``resource``; its background tasks live in ``nursery``."""

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection: ...


@attrs.frozen
class UrlConnector:
    """Real sockets: ``base_url`` (``ws://127.0.0.1:9001``, ``wss://stream.binance.com:9443``)
    joined with the resource."""

    base_url: str
    connect_timeout_s: float = 10.0
    max_message_size: int = 4 * 1024 * 1024

    def url_for(self, resource: str) -> str:
        return self.base_url.rstrip("/") + resource

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        with trio.fail_after(self.connect_timeout_s):
            return await connect_websocket_url(
                nursery, self.url_for(resource), max_message_size=self.max_message_size
            )


@attrs.frozen
class FunctionConnector:
    """Any ``async (nursery, resource) -> connection`` as a :class:`WsConnector`."""

    open: Callable[[trio.Nursery, str], Awaitable[WsConnection]]

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        return await self.open(nursery, resource)


async def close_connection(ws: WsConnection, timeout_s: float) -> None:
    """Close ``ws``: send the close frame and wait (shielded, at most ``timeout_s``) for the
    peer's reply — unless the calling task is being cancelled.

    Then the reader task that would read the reply is being cancelled too, so waiting could
    only end at ``timeout_s``: ``aclose`` runs unshielded instead, which closes the transport
    at once (trio-websocket's own ``open_websocket`` does the same) and re-raises
    ``trio.Cancelled``.
    """
    if trio.current_effective_deadline() == -math.inf:  # a cancellation is active here
        await ws.aclose()
        await trio.lowlevel.checkpoint()  # Cancelled propagates even if aclose returned
        return
    with trio.move_on_after(timeout_s, shield=True):
        await ws.aclose()
