"""The Binance Spot dialect behind the ``Venue`` protocol: REST, market streams, user stream.

What it is for: :class:`BinanceVenue` composes the three shells of the dialect client into
one :class:`~mmbot.venue.base.Venue`:

- requests (instruments, server time, place, cancel, cancel-replace, cancel-all, query,
  open orders, balances, trades) go to :class:`~mmbot.venue.binance.rest.BinanceRest`
  (breaker per endpoint class, retry for idempotent calls, rate limiter, time sync); with
  ``ws_api_orders`` configured, the order requests among them travel as WebSocket API
  frames (:class:`~mmbot.venue.binance.ws_api_orders.WsApiSender`, started here);
- ``book_stream(symbol)`` reads the local book kept by
  :class:`~mmbot.venue.binance.streams.MarketStreams`: the configured symbols share one
  combined-stream connection, opened at start; any other symbol gets its own connection on
  first use (kept until the venue closes);
- ``user_stream()`` subscribes to :class:`~mmbot.venue.binance.user.UserStream` (WebSocket
  API, fills exactly once, reconciled over REST after every reconnect), started at once when
  credentials are given.

Build it with ``async with BinanceVenue.open(...) as venue:`` — or, better, through
``mmbot.venue.connect.connect_venue``, the one place that knows URLs from in-process. The
background tasks live in the venue's own nursery; leaving the block (or :meth:`aclose`)
stops them and closes the HTTP clients.

What it must never do: raise a transport exception out of a call; know whether it talks to
Binance, the testnet or the fake exchange (it is given a transport and connectors); show
the API key or secret in a repr, log or exception; swallow ``trio.Cancelled``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import attrs
import trio

from mmbot.clock import derive_rng
from mmbot.errors import VenueUnavailable
from mmbot.venue.base import (
    CancelOutcome,
    CancelReplaceOutcome,
    CancelReplaceRequest,
    OrderInfo,
    OrderRef,
    PlaceOutcome,
    PlaceRequest,
    VenueResult,
)
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import RestConfig
from mmbot.venue.binance.streams import MarketStreams, MarketStreamsConfig
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws_api_orders import WsApiOrdersConfig
from mmbot.venue.events import Balance, PublicTrade, UserEvent

if TYPE_CHECKING:
    from mmbot.model import Fill, Instrument
    from mmbot.venue.binance.book_feed import BookChannel
    from mmbot.venue.binance.ws import WsConnector


def _default_user_stream() -> UserStreamConfig:
    return UserStreamConfig(symbols=(), api_key="", api_secret="")


@attrs.frozen
class BinanceVenueConfig:
    """How the venue behaves (not where it is: URLs and credentials come from connect).

    ``market`` and ``user_stream`` are templates: their ``symbols`` (and the user stream's
    key and secret) are filled in at open. ``user_stream=None`` runs no user stream.
    """

    #: Symbols streamed from the start, over one combined connection (others on demand).
    symbols: tuple[str, ...] = ()
    rest: RestConfig = attrs.field(factory=RestConfig)
    market: MarketStreamsConfig = attrs.field(factory=lambda: MarketStreamsConfig(symbols=()))
    user_stream: UserStreamConfig | None = attrs.field(factory=_default_user_stream)
    #: Send the order requests over the WebSocket API (``ws_api_orders.py``); None: REST.
    ws_api_orders: WsApiOrdersConfig | None = None


@attrs.define(eq=False, repr=False)
class BinanceVenue:
    """A :class:`~mmbot.venue.base.Venue` over the Binance Spot dialect. Use :meth:`open`."""

    config: BinanceVenueConfig
    rest: BinanceRest
    market_connector: WsConnector
    #: None when no user stream runs (no credentials, or disabled in the config).
    user: UserStream | None
    seed: int
    _nursery: trio.Nursery
    # Invariant: every MarketStreams here is running in ``_nursery``; a symbol maps to the
    # one connection that keeps its book.
    _markets: dict[str, MarketStreams] = attrs.field(factory=dict)
    _market_lock: trio.Lock = attrs.field(factory=trio.Lock)
    _extra_connections: int = 0
    _closed: bool = False

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        config: BinanceVenueConfig,
        *,
        rest: BinanceRest,
        market_connector: WsConnector,
        user_connector: WsConnector | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        seed: int = 0,
    ) -> AsyncIterator[BinanceVenue]:
        """Sync the server time, start the market streams for ``config.symbols`` and (with
        a key, a secret and ``user_connector``) the user stream; close everything on exit.

        ``rest`` is owned from here on: it is closed on exit. The books start invalid; use
        :meth:`wait_ready` to wait for them (and the user stream) to be live.
        """
        # the session's first moment (before the server time is read, which may take a
        # while): the user stream's first reconcile reads the account's trades from here.
        # On our clock: the venue's offset is not known yet. (Against a venue skewed by S
        # seconds this window is off by S; the fake exchange's clock_skew shifts only its
        # `time` answers and timestamp check, not the times it stamps on trades, so reading
        # the opening on the venue's clock would be wrong there: docs/chaos.md.)
        opened_ms = rest.server_clock.timestamp()
        async with rest, trio.open_nursery() as nursery:
            user: UserStream | None = None
            template = config.user_stream
            if (
                template is not None
                and user_connector is not None
                and api_key is not None
                and api_secret is not None
            ):
                user_config = attrs.evolve(
                    template, symbols=config.symbols, api_key=api_key, api_secret=api_secret
                )
                user = UserStream(
                    user_config,
                    user_connector,
                    rest,
                    rest.server_clock.timestamp,
                    derive_rng(seed, "venue:user-stream"),
                    since_ms=opened_ms,
                )
            venue = cls(config, rest, market_connector, user, seed, nursery)
            await nursery.start(rest.probe_grown_backoffs)
            if config.ws_api_orders is not None and user_connector is not None:
                sender = rest.attach_ws_api(config.ws_api_orders, user_connector)
                await nursery.start(sender.run)
            if config.symbols:
                await venue._start_market(config.symbols)
            if user is not None:
                await nursery.start(user.run)
            try:
                yield venue
            finally:
                venue._closed = True
                nursery.cancel_scope.cancel()

    def __repr__(self) -> str:
        return f"<BinanceVenue {self.config.rest.base_url} symbols={list(self._markets)}>"

    async def aclose(self) -> None:
        """Stop the streams and close the HTTP clients (the ``async with`` exit does this)."""
        self._closed = True
        self._nursery.cancel_scope.cancel()
        await self.rest.aclose()

    # ---- requests (BinanceRest) --------------------------------------------------------

    async def instruments(self) -> VenueResult[tuple[Instrument, ...]]:
        return await self.rest.instruments()

    async def server_time(self) -> VenueResult[int]:
        return await self.rest.server_time()

    async def place(self, request: PlaceRequest) -> PlaceOutcome:
        return await self.rest.place(request)

    async def cancel(self, ref: OrderRef) -> CancelOutcome:
        return await self.rest.cancel(ref)

    async def cancel_replace(self, request: CancelReplaceRequest) -> CancelReplaceOutcome:
        return await self.rest.cancel_replace(request)

    async def cancel_all(self, symbol: str) -> VenueResult[tuple[OrderInfo, ...]]:
        return await self.rest.cancel_all(symbol)

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]:
        return await self.rest.query_order(ref)

    async def open_orders(self, symbol: str | None = None) -> VenueResult[tuple[OrderInfo, ...]]:
        return await self.rest.open_orders(symbol)

    async def balances(self) -> VenueResult[tuple[Balance, ...]]:
        return await self.rest.balances()

    async def trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> VenueResult[tuple[Fill, ...]]:
        return await self.rest.trades(symbol, order_id=order_id, from_id=from_id, limit=limit)

    # ---- streams -----------------------------------------------------------------------

    @asynccontextmanager
    async def book_stream(
        self, symbol: str, on_update: Callable[[], None] | None = None
    ) -> AsyncIterator[BookChannel]:
        """The symbol's book, conflated; the current snapshot first (invalid until synced).
        ``on_update()`` is called, in the producer, as each newer snapshot is published."""
        streams = await self.market_streams(symbol)
        async with streams.book_stream(symbol, on_update) as channel:
            yield channel

    def public_trades(self, symbol: str, after_id: int) -> list[tuple[float, PublicTrade]]:
        """The symbol's public trades above ``after_id`` (``market.trades = true``)."""
        streams = self._markets.get(symbol)
        if streams is None or not self.config.market.trades:
            return []
        return streams.trades_after(symbol, after_id)

    @asynccontextmanager
    async def user_stream(self) -> AsyncIterator[trio.abc.ReceiveChannel[UserEvent]]:
        """The account's events from now on, in order (``StreamGap``/``Resynced`` around a
        reconnect, after which what was missed has been delivered)."""
        if self.user is None:
            raise VenueUnavailable("this venue runs no user stream (no API key and secret)")
        async with self.user.events() as channel:
            yield channel

    async def market_streams(self, symbol: str) -> MarketStreams:
        """The running :class:`MarketStreams` that keeps ``symbol``'s book (started on
        first use for a symbol not in the config)."""
        async with self._market_lock:
            if self._closed:
                raise trio.ClosedResourceError("the venue is closed")
            if symbol not in self._markets:
                self._extra_connections += 1
                await self._start_market((symbol,))
            return self._markets[symbol]

    async def _start_market(self, symbols: tuple[str, ...]) -> None:
        config = attrs.evolve(self.config.market, symbols=symbols)
        name = f"venue:market:{self._extra_connections}"
        streams = MarketStreams(
            config, self.market_connector, self.rest, derive_rng(self.seed, name)
        )
        await self._nursery.start(streams.run)
        for symbol in symbols:
            self._markets[symbol] = streams

    async def wait_ready(self, symbols: tuple[str, ...] | None = None) -> None:
        """Wait until the books of ``symbols`` (default: the configured ones) are valid and
        the user stream (if any) is live. Bound it with a cancel scope."""
        for symbol in self.config.symbols if symbols is None else symbols:
            streams = await self.market_streams(symbol)
            version = -1
            while True:
                version, book = await streams.wait_for_update(symbol, version)
                if book.is_valid:
                    break
        if self.user is not None:
            await self.user.wait_live()
