"""The fake exchange in-process: an httpx transport and a WebSocket connector (simulated mode).

What it is for: serving the very same REST app and WebSocket handler as loopback mode, but
over ``httpx.ASGITransport`` and ``trio.testing.memory_stream_pair()`` instead of sockets,
so that a whole run fits in one ``trio.run`` under ``MockClock(autojump_threshold=0)`` and is
deterministic (DESIGN.md §4.4). ``venue/connect.py`` is the one place that chooses between
this and real URLs.

What it must never do: open a socket or read the wall clock.
"""

from __future__ import annotations

import attrs
import httpx
import trio
import trio.testing
from trio_websocket import HandshakeError, WebSocketConnection

from mmbot.sim.exchange import Exchange
from mmbot.sim.rest_app import ConnectionDropped, build_rest_app
from mmbot.sim.ws_app import serve_ws_stream, wrap_client

#: The host name the in-process URLs use (never resolved).
HOST = "exchange.sim"


@attrs.define(eq=False)
class InProcessExchange:
    """Hands out in-process connections to ``exchange`` (which must be running)."""

    exchange: Exchange
    host: str = HOST

    @property
    def rest_base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def stream_base_url(self) -> str:
        return f"ws://{self.host}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self.host}/ws-api/v3"

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering through the exchange's REST app (client 127.0.0.1)."""
        exchange = self.exchange
        app = build_rest_app(
            exchange.handle_rest,
            delay=exchange.rest_delay,
            shape=exchange.rest_delivery,
            drop_raises=True,
        )
        return _HangUps(httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)))

    def client(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on :meth:`transport` with the REST base URL."""
        return httpx.AsyncClient(transport=self.transport(), base_url=self.rest_base_url)

    async def connect_ws(self, nursery: trio.Nursery, resource: str) -> WebSocketConnection:
        """Open a WebSocket to ``resource`` (``/ws/...``, ``/stream?...``, ``/ws-api/v3``).

        The connection's background tasks and the server side run in ``nursery``; a
        resource the exchange rejects raises ``trio_websocket.ConnectionRejected``.
        """
        client_stream, server_stream = trio.testing.memory_stream_pair()
        nursery.start_soon(serve_ws_stream, self.exchange, server_stream)
        connection: WebSocketConnection = await nursery.start(
            self._client_side, client_stream, resource
        )
        return connection

    async def _client_side(
        self,
        stream: trio.abc.Stream,
        resource: str,
        *,
        task_status: trio.TaskStatus[WebSocketConnection] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        rejected: BaseException | None = None
        try:
            async with trio.open_nursery() as inner:
                connection = await wrap_client(inner, stream, self.host, resource)
                task_status.started(connection)
        except* HandshakeError as group:  # e.g. ConnectionRejected, raised by the reader
            rejected = group.exceptions[0]
        if rejected is not None:
            raise rejected


class _HangUps(httpx.AsyncBaseTransport):
    """The ASGI transport, with a connection the fault plan drops (a ``reset``, a
    ``blackhole`` past its hold) read as httpx reads a server that hung up without an
    answer over a socket: ``httpx.RemoteProtocolError``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
