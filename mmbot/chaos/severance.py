"""A bot's links to the venue, cut at once: the in-process stand-in for ``kill -9`` (trio shell).

What it is for: the ``crash_bot`` fault in simulated mode. A :class:`Severance` wraps the
bot's HTTP transport and WebSocket connector (``Bot(wrap_transport=..., wrap_connector=...)``).
:meth:`Severance.sever` cuts every link at that instant, as a killed process's go: from then
no request or frame of the bot reaches the exchange (a request raises ``httpx.ConnectError``,
a frame ``trio.BrokenResourceError``) and an answer in flight is lost;
:meth:`Severance.drop_connections` then closes the open WebSockets at the exchange's side,
as dropped TCP connections end. The runner then cancels the
bot's tree: whatever its cancellation path tries to say to the venue (a shielded cancel-all)
never arrives, so the orders it had stay on the book, as after a SIGKILL.

What it must never do: let a single byte through after :meth:`sever`, or swallow
``Cancelled`` (every wait here is a plain trio wait).
"""

from __future__ import annotations

import attrs
import httpx
import trio

from mmbot.venue.binance.ws import WsConnection, WsConnector


@attrs.define(eq=False)
class Severance:
    """Wraps one bot's links; :meth:`sever` cuts them all, for good."""

    severed: bool = False
    _open: list[SeverableConnection] = attrs.field(factory=list)

    def wrap_transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return SeverableTransport(inner, self)

    def wrap_connector(self, inner: WsConnector) -> WsConnector:
        return SeverableConnector(inner, self)

    def sever(self) -> None:
        """Cut every link now (synchronously: not one more byte goes either way from this
        instant); :meth:`drop_connections` then ends the open WebSockets at the exchange."""
        self.severed = True

    async def drop_connections(self) -> None:
        """End every open WebSocket at the exchange's side, all at once (bounded): what the
        exchange sees of a killed process's connections."""
        opened, self._open = self._open, []
        async with trio.open_nursery() as nursery:
            for connection in opened:
                nursery.start_soon(connection.drop)

    def is_severed(self) -> bool:
        return self.severed

    def check(self) -> None:
        if self.severed:
            raise trio.BrokenResourceError("the bot's process is gone (crash_bot)")


@attrs.define(eq=False)
class SeverableTransport(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    severance: Severance

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.severance.severed:
            await trio.lowlevel.checkpoint()
            raise httpx.ConnectError("the bot's process is gone (crash_bot)", request=request)
        response = await self.inner.handle_async_request(request)
        if self.severance.is_severed():  # the answer came back to a dead process
            await response.aclose()
            raise httpx.ReadError("the bot's process is gone (crash_bot)", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.frozen
class SeverableConnector:
    inner: WsConnector
    severance: Severance

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        self.severance.check()
        connection = SeverableConnection(
            await self.inner.connect(nursery, resource), self.severance
        )
        if self.severance.is_severed():  # cut while connecting
            await connection.drop()
            self.severance.check()
        self.severance._open.append(connection)
        return connection


@attrs.define(eq=False)
class SeverableConnection:
    inner: WsConnection
    severance: Severance
    dropped: bool = False

    async def get_message(self) -> str | bytes:
        self.severance.check()
        message = await self.inner.get_message()
        self.severance.check()  # a frame that arrives after the cut is never read
        return message

    async def send_message(self, message: str | bytes) -> None:
        self.severance.check()
        await self.inner.send_message(message)

    async def ping(self, payload: bytes | None = None) -> None:
        self.severance.check()
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        if self.severance.severed:  # a dead process closes nothing politely
            await trio.lowlevel.checkpoint()
            return
        await self.inner.aclose(code, reason)

    async def drop(self) -> None:
        """Close at the exchange's side, as a dropped TCP connection ends (bounded)."""
        if self.dropped:
            return
        self.dropped = True
        with trio.move_on_after(1.0):
            await self.inner.aclose(1006, "process killed")
