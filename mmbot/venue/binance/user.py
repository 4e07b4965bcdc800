"""The account's user-data stream over the Binance WebSocket API (trio shell).

What it is for: :class:`UserStream` connects to ``/ws-api/v3``, subscribes with
``userDataStream.subscribe.signature`` (apiKey, timestamp, HMAC over the sorted
parameters), decodes ``{"subscriptionId", "event"}`` frames into typed user events, passes
them through :class:`~mmbot.venue.binance.user_core.UserStreamState` (fills exactly once,
cumulative quantity never backwards, fill-before-ack delivered) and hands them to
subscribers in order (:meth:`UserStream.events`, the shape of ``Venue.user_stream``).

When the connection breaks (closed, silent, refused, or the venue sends
``eventStreamTerminated``) subscribers get one :class:`StreamGap`; the stream reconnects with
backoff and jitter (injected RNG), subscribes again, then reconciles over REST
(``user_reconcile.py``): per symbol, open orders, the account's trades since the last trade
delivered (paged forward with ``fromId``) and the final state of orders that are no longer
open. It delivers what was missed exactly once, then :class:`Resynced`. Live events that
arrive during the reconcile wait in an inbox and are delivered after it, so order is kept.
The first subscription reconciles too (trades since the stream started, or since
``since_ms``: the venue passes when it was opened; open orders never acknowledged), without
a gap. A planned end (the venue's ``serverShutdown``
``{"event": {"e": "serverShutdown", "E"}}``, or the connection's lifetime) is no gap either:
the stream reconnects at once, and the reconcile of the next subscription delivers whatever
happened in between, exactly once, without a ``StreamGap``/``Resynced`` pair.

The venue is never believed about an order it no longer knows: an order believed open that
REST answers -2013 for ends with an ``OrderGone``; and when the venue's order ids go
backwards (a restarted venue: a live event names a tracked order id with another client
order id, or a ``NEW`` comes for an id at or below the highest seen live on its symbol),
the stream opens a gap (``StreamGap``, then ``VenueReset``), reports the symbol's orders
believed open as gone (``OrderGone``, ``venue_reset``), delivers the new order's event as a
new order's, reconciles again, then ``Resynced`` (``UserStreamState.resync``; the reconcile
does the same when REST shows it).

Every way a session can end is a reconnect, never the end of :meth:`UserStream.run`: a
refused subscription (bad key or signature, -1021, a 429), no answer to it, a socket that
breaks during it, a REST call of the reconcile that fails (5xx, 429, open breaker), or more
missed trades than ``max_trade_pages`` pages (what was read is delivered; the next session
carries on from there). Backoff grows while sessions keep failing, and a ``retry_after`` the
venue or a breaker gave is waited out before the next attempt.

What it must never do: put the API key or secret into a log, repr or exception; swallow
``trio.Cancelled``; drop a subscriber's event silently (a slow subscriber slows delivery;
the inbox behind it is bounded and overflowing it is a gap, reconciled like a disconnect);
read the wall clock (timestamps come from the injected ``now_ms``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import trio
import trio.lowlevel

from mmbot.venue.binance.codec import (
    CodecError,
    ServerShutdown,
    UserEventMessage,
    WsApiResponse,
    decode_ws_api_message,
    encode_ws_request,
)
from mmbot.venue.binance.errors import Code
from mmbot.venue.binance.link import (
    SessionEnd,
    keep_connected,
    open_live_messages,
    serve_connection,
)
from mmbot.venue.binance.signing import sign, ws_signing_payload
from mmbot.venue.binance.user_core import UserStreamState
from mmbot.venue.binance.user_reconcile import (
    WENT_BACKWARDS,
    ReconcileFailed,
    UserRest,
    missed_events,
)
from mmbot.venue.binance.ws import CONNECTION_ERRORS, WsConnection, WsConnector
from mmbot.venue.events import OrderEvent, Resynced, StreamGap, UserEvent

if TYPE_CHECKING:
    import random

_log = logging.getLogger(__name__)

SUBSCRIBE = "userDataStream.subscribe.signature"
#: Why a session ended when the venue announced maintenance (a planned end).
SERVER_SHUTDOWN_REASON = "serverShutdown: reconnecting"
_PLANNED_REASONS = ("connection lifetime", SERVER_SHUTDOWN_REASON)


def _is_planned(reason: str) -> bool:
    """Whether a session that ended for ``reason`` ended as planned (reconnect at once)."""
    return reason.startswith(_PLANNED_REASONS)


@attrs.frozen
class UserStreamConfig:
    symbols: tuple[str, ...]
    api_key: str = attrs.field(repr=False)
    api_secret: str = attrs.field(repr=False)
    resource: str = "/ws-api/v3"
    recv_window_ms: int | None = None
    subscribe_timeout_s: float = 10.0
    #: No frame for this long: probe with a ping; no pong within ``pong_timeout_s``: stale.
    silence_s: float = 60.0
    pong_timeout_s: float = 10.0
    max_connection_s: float = 23.5 * 3600
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    stable_after_s: float = 60.0
    #: myTrades page size, and the most pages one reconcile reads per symbol (past that the
    #: session ends and the next one carries on from the last trade delivered).
    trades_page: int = 500
    max_trade_pages: int = 20
    #: Ended orders remembered (``UserStreamState``); older ones are forgotten.
    retained_terminal_orders: int = 1_000
    inbox_size: int = 100_000
    subscriber_buffer: int = 1_000
    close_timeout_s: float = 2.0


@attrs.frozen
class UserStreamStatistics:
    """The connection's figures (``UserStream.statistics``); what was delivered and held
    back is ``UserStreamState.statistics`` (``user_core.UserDeliveryStatistics``)."""

    connections: int
    subscriptions: int
    disconnects: int
    gaps: int
    reconciles: int
    reconcile_failures: int
    live: bool
    #: Sessions that ended as planned (no gap): a ``serverShutdown`` or the lifetime reopen.
    planned_reconnects: int = 0
    server_shutdowns: int = 0
    #: Times the venue's order ids went backwards (a restarted venue) and the stream
    #: resynchronised (``UserStreamState.resync``).
    venue_resyncs: int = 0


class _SessionEnded(Exception):
    """Ends one connection; ``reason`` never holds a credential."""

    def __init__(self, reason: str, planned: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.planned = planned


@attrs.define(eq=False)
class UserStream:
    """The account's events (see the module docstring). Run :meth:`run` in a nursery."""

    config: UserStreamConfig
    connector: WsConnector
    rest: UserRest
    now_ms: Callable[[], int]  # exchange epoch ms (server-time corrected)
    rng: random.Random
    state: UserStreamState = attrs.field(
        default=attrs.Factory(
            lambda self: UserStreamState(self.config.retained_terminal_orders), takes_self=True
        )
    )
    #: Where the first reconcile reads the account's trades from (exchange epoch ms; None:
    #: when :meth:`run` starts). The venue passes the moment it was opened: a fill between
    #: then and the stream's start (the server time read first, slowly) is this session's.
    since_ms: int | None = None
    _subscribers: list[trio.MemorySendChannel[UserEvent]] = attrs.field(factory=list, init=False)
    #: Events that came while nobody subscribed (the bot's account service starts after the
    #: session, and restarts on its own): the next subscriber gets them first.
    _unclaimed: list[UserEvent] = attrs.field(factory=list, init=False)
    _unclaimed_lost: int = attrs.field(default=0, init=False)
    _gap_open: bool = attrs.field(default=False, init=False)
    _live: bool = attrs.field(default=False, init=False)
    _last_end: str | None = attrs.field(default=None, init=False)
    _started_ms: int | None = attrs.field(default=None, init=False)
    _request_id: int = attrs.field(default=0, init=False)
    _closed: bool = attrs.field(default=False, init=False)
    _counts: dict[str, int] = attrs.field(factory=dict, init=False)
    _live_changed: trio.Event = attrs.field(factory=trio.Event, init=False)
    _hold_s: float = attrs.field(default=0.0, init=False)  # least wait before reconnecting

    # ---- consumers -------------------------------------------------------------------

    def events(self) -> trio.MemoryReceiveChannel[UserEvent]:
        """A new subscriber: every event from now on, in order (close it to leave). The
        first one after a time with none also gets, first, what came meanwhile (up to
        ``subscriber_buffer`` events; past that, a gap, then the newest): a fill of an
        earlier run's order while the bot starts still reaches its ledger."""
        send, receive = trio.open_memory_channel[UserEvent](self.config.subscriber_buffer)
        if self._closed:
            send.close()
            return receive
        self._subscribers = [s for s in self._subscribers if s.statistics().open_receive_channels]
        if self._unclaimed_lost:
            send.send_nowait(StreamGap("events came while nobody subscribed", self.now_ms()))
        for event in self._unclaimed:
            send.send_nowait(event)
        self._unclaimed.clear()
        self._unclaimed_lost = 0
        self._subscribers.append(send)
        return receive

    @property
    def is_live(self) -> bool:
        """Subscribed and reconciled: events from here on are complete."""
        return self._live

    async def wait_live(self) -> None:
        while not self._live:
            await self._live_changed.wait()

    def statistics(self) -> UserStreamStatistics:
        c = self._counts.get
        return UserStreamStatistics(
            c("connections", 0), c("subscriptions", 0), c("disconnects", 0), c("gaps", 0),
            c("reconciles", 0), c("reconcile_failures", 0), self._live,
            c("planned_reconnects", 0), c("server_shutdowns", 0),
            self.state.statistics().venue_resyncs,
        )  # fmt: skip

    # ---- running ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe, reconcile, deliver; reconnect; until cancelled."""
        cfg = self.config
        self._started_ms = self.now_ms() if self.since_ms is None else self.since_ms
        task_status.started()
        try:
            await keep_connected(
                self._connect_and_serve,
                self._ended,
                base_s=cfg.reconnect_base_s,
                cap_s=cfg.reconnect_cap_s,
                stable_after_s=cfg.stable_after_s,
                rng=self.rng,
                hold=self._take_hold,
            )
        finally:
            self._closed = True
            self._set_live(False)
            for send in self._subscribers:
                send.close()
            self._subscribers.clear()

    def _set_live(self, live: bool) -> None:
        if live != self._live:
            self._live = live
            self._live_changed.set()
            self._live_changed = trio.Event()

    async def _open_gap(self, reason: str) -> None:
        """Tell subscribers (once per gap) that events may have been lost."""
        if self._gap_open or self._counts.get("subscriptions", 0) == 0:
            return
        self._gap_open = True
        self._counts["gaps"] = self._counts.get("gaps", 0) + 1
        await self._emit(StreamGap(reason, self.now_ms()))

    @property
    def last_end(self) -> str | None:
        """Why the last session ended (None before any ended): what a caller waiting for
        :meth:`wait_live` in vain can report."""
        return self._last_end

    async def _ended(self, reason: str, planned: bool) -> None:
        self._last_end = reason
        self._set_live(False)
        _log.info("user stream ended: %s", reason)
        if planned:  # reconnects at once; the next reconcile delivers what was missed
            self._count("planned_reconnects")
        else:
            await self._open_gap(reason)

    def _take_hold(self) -> float:
        """A venue's Retry-After from the last session, waited out once before reconnecting."""
        hold, self._hold_s = self._hold_s, 0.0
        return hold

    async def _connect_and_serve(self) -> SessionEnd:
        # The subscription, the connection's first request, is weighed like any request:
        # never sent while a 429/418's Retry-After holds the client's limiter (that would be
        # a ban). Admitted before connecting, so a long hold does not leave a connection
        # open and silent (its watchdog, or the venue, would end it meanwhile).
        await self.rest.admit_stream_request(SUBSCRIBE)
        return await serve_connection(
            self.connector,
            self.config.resource,
            self._serve,
            close_timeout_s=self.config.close_timeout_s,
            opened=lambda: self._count("connections"),
            closed=lambda: self._count("disconnects"),
        )

    async def _serve(self, ws: WsConnection) -> tuple[str, bool]:
        inbox_send, inbox = trio.open_memory_channel[WsApiResponse | UserEventMessage | str](
            self.config.inbox_size
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._reader, ws, inbox_send)
            # Caught here, inside the nursery: once out of it, trio would have wrapped the
            # exception in an ExceptionGroup that no plain ``except`` above matches.
            try:
                return await self._subscriptions(ws, inbox)
            except _SessionEnded as ended:
                return ended.reason, ended.planned
            except CONNECTION_ERRORS as exc:  # a send on a socket that just broke
                return f"connection closed: {type(exc).__name__}", False
            finally:
                nursery.cancel_scope.cancel()

    async def _subscriptions(
        self,
        ws: WsConnection,
        inbox: trio.MemoryReceiveChannel[WsApiResponse | UserEventMessage | str],
    ) -> tuple[str, bool]:
        while True:  # one pass per subscription (eventStreamTerminated starts another)
            early = await self._subscribe(ws, inbox)
            await self._reconcile()
            if self._gap_open:
                self._gap_open = False
                await self._emit(Resynced("reconciled over REST"))
            self._set_live(True)
            for message in early:
                await self._deliver(message.event)
            terminated = False
            async for item in inbox:
                if isinstance(item, str):
                    return item, _is_planned(item)
                if isinstance(item, UserEventMessage):
                    if isinstance(item.event, StreamGap):  # eventStreamTerminated
                        self._set_live(False)
                        await self._open_gap(item.event.reason)
                        terminated = True
                        break
                    await self._deliver(item.event)
            if not terminated:
                return "inbox closed", False

    async def _deliver(self, event: UserEvent) -> None:
        if self.state.went_backwards(event):
            await self._resync(event)
            return
        out = self.state.on_event(event)
        if out is not None:
            await self._emit(out)

    async def _resync(self, event: UserEvent) -> None:
        """``event`` shows the venue's order ids went backwards (a restarted venue): a gap;
        the orders believed open on its symbol are gone; ``event`` is delivered as the new
        order's; then open orders and trades are read again (``_reconcile``) and the stream
        is resynced. Live events wait in the inbox meanwhile, so order is kept."""
        assert isinstance(event, OrderEvent)
        _log.warning("user stream: %s (%s)", WENT_BACKWARDS, event.symbol)
        self._set_live(False)
        await self._open_gap(WENT_BACKWARDS)
        for gone in self.state.resync(event.symbol, self.now_ms(), WENT_BACKWARDS):
            await self._emit(gone)
        out = self.state.on_event(event)
        if out is not None:
            await self._emit(out)
        await self._reconcile()
        if self._gap_open:
            self._gap_open = False
            await self._emit(Resynced(WENT_BACKWARDS))
        self._set_live(True)

    async def _subscribe(
        self,
        ws: WsConnection,
        inbox: trio.MemoryReceiveChannel[WsApiResponse | UserEventMessage | str],
    ) -> list[UserEventMessage]:
        """Send the subscription request; wait for its answer. Events seen before it are
        returned (delivered after the reconcile)."""
        cfg = self.config
        self._request_id += 1
        request_id = self._request_id
        params: dict[str, object] = {"apiKey": cfg.api_key, "timestamp": self.now_ms()}
        if cfg.recv_window_ms is not None:
            params["recvWindow"] = cfg.recv_window_ms
        params["signature"] = sign(cfg.api_secret, ws_signing_payload(params))
        await ws.send_message(encode_ws_request(request_id, SUBSCRIBE, params))
        early: list[UserEventMessage] = []
        with trio.move_on_after(cfg.subscribe_timeout_s):
            async for item in inbox:
                if isinstance(item, str):
                    raise _SessionEnded(item, _is_planned(item))
                if isinstance(item, UserEventMessage):
                    early.append(item)
                elif item.request_id == request_id:
                    if item.error is not None or item.status != 200:
                        code, msg = item.error or (None, f"status {item.status}")
                        if item.retry_after is not None:  # 429/418: the venue said when
                            self._hold_s = max(self._hold_s, item.retry_after)
                        if item.status in (429, 418):  # the whole client waits, not only us
                            self.rest.stream_throttled(item.status, item.retry_after)
                        if code == Code.INVALID_TIMESTAMP:  # our clock estimate is off
                            await self.rest.resync_time()
                        raise _SessionEnded(f"subscription refused: {code} {msg}")
                    self._count("subscriptions")
                    return early
            raise _SessionEnded("inbox closed")
        raise _SessionEnded("no answer to the subscription request")

    async def _reader(
        self,
        ws: WsConnection,
        inbox: trio.MemorySendChannel[WsApiResponse | UserEventMessage | str],
    ) -> None:
        """Read frames into the inbox; end it with a reason string when the socket ends."""
        cfg = self.config
        reason: str | None = None
        async with inbox:
            async with open_live_messages(
                ws,
                lifetime_s=cfg.max_connection_s,
                silence_s=cfg.silence_s,
                pong_timeout_s=cfg.pong_timeout_s,
            ) as messages:
                async for raw in messages:
                    try:
                        message = decode_ws_api_message(raw)
                    except CodecError as exc:
                        # An event we cannot read may be a lost fill: treat it as a gap.
                        reason = f"undecodable frame: {str(exc)[:120]}"
                        break
                    if isinstance(message, ServerShutdown):  # maintenance: reconnect early
                        self._count("server_shutdowns")
                        reason = SERVER_SHUTDOWN_REASON
                        break
                    try:
                        inbox.send_nowait(message)
                    except trio.WouldBlock:
                        reason = "inbox overflow"
                        break
            if reason is None:
                assert messages.ended is not None
                reason = messages.ended[0]
            # A full inbox ends with EndOfChannel ("inbox closed") instead.
            with contextlib.suppress(trio.WouldBlock):
                inbox.send_nowait(reason)

    # ---- reconcile -------------------------------------------------------------------

    async def _reconcile(self) -> None:
        """Deliver what REST says was missed, per symbol (``user_reconcile.py``). Raises
        _SessionEnded when a REST call fails, and when the missed trades did not fit in
        ``max_trade_pages`` pages: what was read is delivered first, so the next session
        carries on from there."""
        cfg = self.config
        self._count("reconciles")
        for symbol in sorted(set(cfg.symbols) | self.state.symbols()):
            try:
                missed, complete = await missed_events(
                    self.rest, self.state, symbol, now_ms=self.now_ms(),
                    started_ms=self._started_ms or 0, trades_page=cfg.trades_page,
                    max_trade_pages=cfg.max_trade_pages,
                )  # fmt: skip
            except ReconcileFailed as exc:
                self._count("reconcile_failures")
                if exc.retry_after is not None:  # the venue or a breaker said when
                    self._hold_s = max(self._hold_s, exc.retry_after)
                raise _SessionEnded(str(exc)) from None
            for event in missed:
                await self._emit(event)
            if not complete:
                self._count("reconcile_failures")
                raise _SessionEnded(
                    f"reconcile incomplete: {symbol} has more missed trades than "
                    f"{cfg.max_trade_pages} pages; continuing in the next session"
                )

    # ---- delivery --------------------------------------------------------------------

    async def _emit(self, event: UserEvent) -> None:
        taken = False
        for send in list(self._subscribers):
            try:
                await send.send(event)
                taken = True
            except (trio.BrokenResourceError, trio.ClosedResourceError):  # it left
                self._subscribers.remove(send)
        if not taken:  # nobody listens now (a restarting account service): keep it for them
            await trio.lowlevel.checkpoint()
            self._unclaimed.append(event)
            if len(self._unclaimed) >= self.config.subscriber_buffer:  # room for the gap
                del self._unclaimed[0]
                self._unclaimed_lost += 1

    def _count(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1
