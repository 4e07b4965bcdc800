"""Market data of the Binance dialect over one combined-stream WebSocket (trio shell).

What it is for: :class:`MarketStreams` keeps one ``/stream?streams=...`` connection open for
the configured symbols (diff depth, plus ``bookTicker`` / ``trade`` if asked), feeds every
``depthUpdate`` to that symbol's :class:`~mmbot.venue.book.LocalBook`, fetches ``/depth``
snapshots when a book asks (again while the snapshot is older than the buffered diffs), and
publishes :class:`~mmbot.model.BookSnapshot` values per symbol through conflated channels
(:meth:`MarketStreams.book_stream`, the shape of ``Venue.book_stream``) or
:meth:`MarketStreams.wait_for_update`; the consumer side (published versions, the conflated
:class:`BookChannel`) lives in :mod:`mmbot.venue.binance.book_feed`.

Liveness (``link.LiveMessages``, shared with the user stream): trio-websocket answers server
pings itself. A connection with no message for ``silence_s`` is probed with our own ping; no
pong within ``pong_timeout_s`` makes it *stale*. A stale, closed or failed connection, a
``serverShutdown`` and the proactive reopen before the 24 h limit all end the session the
same way: every book is reset (published invalid at once), then the client reconnects (with
exponential backoff and jitter from the injected RNG unless the close was planned), which
resubscribes and resyncs every book.

What it must never do: publish a book as valid unless its ``LocalBook`` is SYNCED (a gapped,
unsynced or disconnected book is published with ``is_valid=False`` before anything else);
swallow ``trio.Cancelled``; read the wall clock or the global RNG; block the reader on a
snapshot fetch or a slow consumer (consumers are conflated: the newest snapshot wins).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

import attrs
import trio
import trio.lowlevel

from mmbot.resilience.backoff import equal_jitter, exponential
from mmbot.venue.base import VenueResult
from mmbot.venue.binance.book_feed import BookChannel, PublishedBook
from mmbot.venue.binance.codec import (
    CodecError,
    ServerShutdown,
    combined_stream_path,
    decode_market_wire,
    depth_stream,
)
from mmbot.venue.binance.link import (
    LiveMessages,
    SessionEnd,
    keep_connected,
    open_live_messages,
    serve_connection,
)
from mmbot.venue.binance.ws import WsConnection, WsConnector
from mmbot.venue.book import BookAction, BookStatistics, LocalBook, WireDiff
from mmbot.venue.events import BookTicker, DepthSnapshot, PublicTrade

if TYPE_CHECKING:
    import random

    from mmbot.model import BookSnapshot

_log = logging.getLogger(__name__)


class DepthSource(Protocol):
    """What the market streams need from the REST client: the ``/depth`` snapshot."""

    async def depth(self, symbol: str, limit: int = 1000) -> VenueResult[DepthSnapshot]: ...


@attrs.frozen
class MarketStreamsConfig:
    symbols: tuple[str, ...]
    depth_speed_ms: int = 100  # 100 or 1000
    book_ticker: bool = False
    trades: bool = False
    publish_depth: int = 20  # levels per side in published snapshots
    snapshot_limit: int = 1000  # the /depth limit
    #: No message for this long: probe with a ping; no pong within ``pong_timeout_s``: stale.
    silence_s: float = 30.0
    pong_timeout_s: float = 10.0
    #: Reopen proactively before the venue's 24 h connection limit.
    max_connection_s: float = 23.5 * 3600
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    #: A connection that lived this long resets the reconnect backoff.
    stable_after_s: float = 60.0
    snapshot_retry_base_s: float = 0.2
    snapshot_retry_cap_s: float = 10.0
    close_timeout_s: float = 2.0
    recent_trades: int = 256

    def streams(self) -> list[str]:
        names: list[str] = []
        for symbol in self.symbols:
            names.append(depth_stream(symbol, speed_ms=self.depth_speed_ms))
            if self.book_ticker:
                names.append(f"{symbol.lower()}@bookTicker")
            if self.trades:
                names.append(f"{symbol.lower()}@trade")
        return names

    @property
    def resource(self) -> str:
        return combined_stream_path(self.streams())


@attrs.frozen
class MarketStreamsStatistics:
    connections: int  # connections opened
    disconnects: int
    stale: int  # connections found silent
    server_shutdowns: int
    snapshot_fetches: int
    snapshot_failures: int
    decode_errors: int
    connected: bool


@attrs.define(eq=False)
class _Symbol:
    book: LocalBook
    published: PublishedBook
    ticker: BookTicker | None = None
    #: The public trades last received, each with the trio time it arrived.
    trades: deque[tuple[float, PublicTrade]] = attrs.field(factory=deque)
    fetching: bool = False


@attrs.define(eq=False)
class MarketStreams:
    """Local books for ``config.symbols`` kept in sync over one combined stream.

    Run :meth:`run` in a nursery (``await nursery.start(streams.run)``); read books with
    :meth:`book`, :meth:`wait_for_update` or :meth:`book_stream`.
    """

    config: MarketStreamsConfig
    connector: WsConnector
    rest: DepthSource
    rng: random.Random
    _symbols: dict[str, _Symbol] = attrs.field(init=False)
    _connected: bool = attrs.field(default=False, init=False)
    _counts: dict[str, int] = attrs.field(factory=dict, init=False)
    _fetchers: trio.Nursery | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._symbols = {}
        for symbol in self.config.symbols:
            book = LocalBook(symbol)
            published = PublishedBook(book.snapshot(self.config.publish_depth))
            self._symbols[symbol] = _Symbol(
                book, published, trades=deque(maxlen=self.config.recent_trades)
            )

    # ---- reading ---------------------------------------------------------------------

    def book(self, symbol: str) -> BookSnapshot:
        """The newest published snapshot (``is_valid`` False until synced)."""
        return self._symbol(symbol).published.latest

    def is_valid(self, symbol: str) -> bool:
        return self._symbol(symbol).published.latest.is_valid

    def book_age(self, symbol: str) -> float:
        """Seconds since the book last changed (``inf`` before the first sync)."""
        return self._symbol(symbol).published.latest.age(trio.current_time())

    def book_statistics(self, symbol: str) -> BookStatistics:
        return self._symbol(symbol).book.statistics()

    def book_version(self, symbol: str) -> int:
        return self._symbol(symbol).published.version

    def book_ticker(self, symbol: str) -> BookTicker | None:
        return self._symbol(symbol).ticker

    def trades_after(self, symbol: str, trade_id: int) -> list[tuple[float, PublicTrade]]:
        """The kept public trades (``trades = true``) with an id above ``trade_id``, oldest
        first, each with the trio time it arrived (at most ``recent_trades`` of them)."""
        trades = self._symbol(symbol).trades
        newer: list[tuple[float, PublicTrade]] = []
        for item in reversed(trades):
            if item[1].trade_id <= trade_id:
                break
            newer.append(item)
        newer.reverse()
        return newer

    async def wait_for_update(self, symbol: str, seen_version: int) -> tuple[int, BookSnapshot]:
        """Wait until the book's version is above ``seen_version``; the newest (version,
        snapshot). Raises ``trio.EndOfChannel`` once the streams have stopped."""
        return await self._symbol(symbol).published.wait_newer(seen_version)

    def published(self, symbol: str) -> PublishedBook:
        """The symbol's published snapshots (what :class:`BookChannel` reads)."""
        return self._symbol(symbol).published

    def book_stream(self, symbol: str, on_update: Callable[[], None] | None = None) -> BookChannel:
        """A conflated channel of this symbol's snapshots, the current one first;
        ``on_update()`` is called as each newer one is published (it must not block)."""
        self._symbol(symbol)
        return BookChannel(self, symbol, on_update)

    def statistics(self) -> MarketStreamsStatistics:
        c = self._counts.get
        return MarketStreamsStatistics(
            c("connections", 0), c("disconnects", 0), c("stale", 0), c("server_shutdowns", 0),
            c("snapshot_fetches", 0), c("snapshot_failures", 0), c("decode_errors", 0),
            self._connected,
        )  # fmt: skip

    def _symbol(self, symbol: str) -> _Symbol:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise KeyError(f"{symbol} is not one of the streamed symbols") from None

    # ---- running ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, serve, reconnect, until cancelled. Started at once (books invalid)."""
        cfg = self.config
        task_status.started()
        try:
            await keep_connected(
                self._connect_and_serve,
                self._ended,
                base_s=cfg.reconnect_base_s,
                cap_s=cfg.reconnect_cap_s,
                stable_after_s=cfg.stable_after_s,
                rng=self.rng,
            )
        finally:
            self._connected = False
            for state in self._symbols.values():
                state.published.close()

    async def _ended(self, reason: str, planned: bool) -> None:
        self._connected = False
        self._invalidate_all()
        _log.info("market stream ended: %s", reason)
        await trio.lowlevel.checkpoint()

    async def _connect_and_serve(self) -> SessionEnd:
        """One connection's life: (why it ended, whether that was planned)."""
        return await serve_connection(
            self.connector,
            self.config.resource,
            self._serve,
            close_timeout_s=self.config.close_timeout_s,
            opened=self._opened,
            closed=self._closed_connection,
        )

    def _opened(self) -> None:
        self._count("connections")
        self._connected = True

    def _closed_connection(self) -> None:
        self._connected = False
        self._count("disconnects")

    async def _serve(self, ws: WsConnection) -> SessionEnd:
        self._invalidate_all()
        cfg = self.config
        ended: SessionEnd | None = None
        async with (
            open_live_messages(
                ws,
                lifetime_s=cfg.max_connection_s,
                silence_s=cfg.silence_s,
                pong_timeout_s=cfg.pong_timeout_s,
            ) as messages,
            trio.open_nursery() as fetchers,
        ):
            self._fetchers = fetchers
            try:
                ended = await self._read(messages)
            finally:
                self._fetchers = None
                fetchers.cancel_scope.cancel()
        if messages.stale:
            self._count("stale")
        if ended is None:
            assert messages.ended is not None
            ended = messages.ended
        return ended

    async def _read(self, messages: LiveMessages) -> SessionEnd | None:
        """Apply messages until one ends the session (its reason) or the iteration stops."""
        async for raw in messages:
            ended = self._on_message(raw, trio.current_time())
            if ended is not None:
                return ended
        return None

    # ---- messages --------------------------------------------------------------------

    def _on_message(self, raw: str | bytes, now: float) -> SessionEnd | None:
        try:
            message = decode_market_wire(raw)
        except CodecError as exc:
            self._count("decode_errors")
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            if "depthUpdate" in text:  # a diff we cannot read is a diff lost
                return f"undecodable depth update: {exc}", False
            _log.warning("ignoring an undecodable market message: %s", exc)
            return None
        if isinstance(message, WireDiff):
            self._on_diff(message, now)
        elif isinstance(message, BookTicker):
            if (state := self._symbols.get(message.symbol)) is not None:
                state.ticker = message
        elif isinstance(message, PublicTrade):
            if (state := self._symbols.get(message.symbol)) is not None:
                state.trades.append((now, message))
        elif isinstance(message, ServerShutdown):
            self._count("server_shutdowns")
            return "serverShutdown: reconnecting", True
        return None  # StreamAck: nothing to do

    def _on_diff(self, update: WireDiff, now: float) -> None:
        state = self._symbols.get(update.symbol)
        if state is None:
            return
        action = state.book.on_diff(update, now)
        self._after(state, action)

    def _after(self, state: _Symbol, action: BookAction) -> None:
        if action is BookAction.UPDATED or state.published.latest.is_valid != state.book.is_valid:
            self._publish(state)
        wanted = action is BookAction.FETCH_SNAPSHOT and not state.fetching
        if wanted and self._fetchers is not None:
            state.fetching = True
            self._fetchers.start_soon(self._fetch_snapshot, state)

    def _publish(self, state: _Symbol) -> None:
        state.published.publish(state.book.snapshot(self.config.publish_depth))

    def _invalidate_all(self) -> None:
        """Discard every book (the stream they followed is gone) and publish them invalid."""
        for state in self._symbols.values():
            state.book.reset()
            if state.published.latest.is_valid:
                self._publish(state)

    async def _fetch_snapshot(self, state: _Symbol) -> None:
        """Fetch ``/depth`` until the book takes it (retrying stale or failed fetches)."""
        cfg = self.config
        attempt = 0
        try:
            while state.book.needs_snapshot:
                self._count("snapshot_fetches")
                result = await self.rest.depth(state.book.symbol, limit=cfg.snapshot_limit)
                if result.is_ok and result.value is not None:
                    action = state.book.on_snapshot(result.value, trio.current_time())
                    self._after_snapshot(state, action)
                else:
                    self._count("snapshot_failures")
                    _log.warning("depth snapshot of %s failed: %s", state.book.symbol, result)
                if _settled(state.book):
                    return
                attempt += 1
                delay = exponential(
                    attempt, base=cfg.snapshot_retry_base_s, cap=cfg.snapshot_retry_cap_s
                )
                if result.retry_after is not None:
                    delay = max(delay, result.retry_after)
                await trio.sleep(equal_jitter(delay, self.rng))
        finally:
            state.fetching = False

    def _after_snapshot(self, state: _Symbol, action: BookAction) -> None:
        if action is BookAction.UPDATED or state.published.latest.is_valid != state.book.is_valid:
            self._publish(state)

    def _count(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1


def _settled(book: LocalBook) -> bool:
    """The book took a snapshot (a call, so the type checker does not keep its narrowing)."""
    return not book.needs_snapshot


#: A function that fetches a depth snapshot, adapted to :class:`DepthSource`.
DepthFunction = Callable[[str, int], Awaitable[VenueResult[DepthSnapshot]]]


@attrs.frozen
class DepthFromFunction:
    """Adapts ``async fn(symbol, limit)`` to :class:`DepthSource`."""

    fetch: DepthFunction

    async def depth(self, symbol: str, limit: int = 1000) -> VenueResult[DepthSnapshot]:
        return await self.fetch(symbol, limit)
