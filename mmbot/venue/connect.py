"""Where the venue is: Binance, its testnet, the fake exchange on loopback, or in-process.

What it is for: the ONE place that knows the difference between the ways to reach a venue
(DESIGN.md §4.4). A :class:`VenueSpec` says where (``VenueUrls`` for real sockets, or None
for an in-process fake exchange), which symbols to stream, and the NAMES of the environment
variables that hold the API key and secret; :func:`connect_venue` builds a connected
:class:`~mmbot.venue.binance.venue.BinanceVenue` from it::

    async with connect_venue(VenueSpec.testnet(("BTCUSDT",))) as venue:       # real sockets
        ...
    async with connect_venue(VenueSpec.in_process(("BTCUSDT",)), exchange=ex) as venue:
        ...                                    # httpx.ASGITransport + memory streams

Nothing else in the bot knows which. Loopback and real URLs use the wall-clock epoch
(``EpochClock.from_wall_clock``); in-process uses the exchange's epoch on trio's (mock) clock.

Credentials: read from the environment variables named in the spec (``MMBOT_API_KEY`` and
``MMBOT_API_SECRET`` by default), never from a config file; in-process, from the fake
exchange's own config. A missing variable is a :class:`~mmbot.errors.ConfigError` naming
the variable (unless ``require_credentials`` is off: then the venue is public-only).

What it must never do: log, repr or put into an exception the key or the secret (only the
variable names); read a credential from anywhere but the environment (or the in-process
exchange); open anything but what the spec names.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
import httpx

from mmbot.clock import EpochClock
from mmbot.errors import ConfigError
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import LIVE_REST_URL, TESTNET_REST_URL
from mmbot.venue.binance.venue import BinanceVenue, BinanceVenueConfig
from mmbot.venue.binance.ws import FunctionConnector, UrlConnector, WsConnector

if TYPE_CHECKING:
    from mmbot.sim.exchange import Exchange

DEFAULT_API_KEY_ENV = "MMBOT_API_KEY"
DEFAULT_API_SECRET_ENV = "MMBOT_API_SECRET"

TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
ConnectorWrapper = Callable[[WsConnector], WsConnector]


@attrs.frozen
class VenueUrls:
    """Base URLs of one venue: REST, market streams, and the WebSocket API (full URL)."""

    rest: str
    streams: str
    ws_api: str

    @classmethod
    def live(cls) -> VenueUrls:
        return cls(
            LIVE_REST_URL, "wss://stream.binance.com:9443", "wss://ws-api.binance.com:443/ws-api/v3"
        )

    @classmethod
    def testnet(cls) -> VenueUrls:
        return cls(
            TESTNET_REST_URL,
            "wss://stream.testnet.binance.vision",
            "wss://ws-api.testnet.binance.vision/ws-api/v3",
        )

    @classmethod
    def loopback(cls, rest_port: int, ws_port: int, host: str = "127.0.0.1") -> VenueUrls:
        """``mmbot exchange serve`` on this machine (it prints both ports)."""
        return cls(
            f"http://{host}:{rest_port}",
            f"ws://{host}:{ws_port}",
            f"ws://{host}:{ws_port}/ws-api/v3",
        )

    def ws_api_split(self) -> tuple[str, str]:
        """(base, resource) of the WebSocket API URL: ``wss://host:443``, ``/ws-api/v3``."""
        parts = urlsplit(self.ws_api)
        resource = parts.path or "/"
        if parts.query:
            resource += "?" + parts.query
        return f"{parts.scheme}://{parts.netloc}", resource


@attrs.frozen
class VenueSpec:
    """Where the venue is and how to authenticate (by environment variable NAMES)."""

    #: None: an in-process fake exchange (pass ``exchange=`` to :func:`connect_venue`).
    urls: VenueUrls | None
    config: BinanceVenueConfig = attrs.field(factory=BinanceVenueConfig)
    api_key_env: str = DEFAULT_API_KEY_ENV
    api_secret_env: str = DEFAULT_API_SECRET_ENV
    #: Without credentials: a ConfigError if True, else a public-only venue (no user stream,
    #: signed calls FAILED "needs an API key and secret").
    require_credentials: bool = True
    seed: int = 0

    @classmethod
    def live(cls, symbols: tuple[str, ...], **changes: Any) -> VenueSpec:
        return cls._for(VenueUrls.live(), symbols, changes)

    @classmethod
    def testnet(cls, symbols: tuple[str, ...], **changes: Any) -> VenueSpec:
        return cls._for(VenueUrls.testnet(), symbols, changes)

    @classmethod
    def loopback(
        cls, rest_port: int, ws_port: int, symbols: tuple[str, ...], **changes: Any
    ) -> VenueSpec:
        return cls._for(VenueUrls.loopback(rest_port, ws_port), symbols, changes)

    @classmethod
    def in_process(cls, symbols: tuple[str, ...], **changes: Any) -> VenueSpec:
        return cls._for(None, symbols, changes)

    @classmethod
    def _for(
        cls, urls: VenueUrls | None, symbols: tuple[str, ...], changes: Mapping[str, Any]
    ) -> VenueSpec:
        spec = attrs.evolve(cls(urls), **changes)
        return attrs.evolve(spec, config=attrs.evolve(spec.config, symbols=tuple(symbols)))


def credentials_from_env(
    spec: VenueSpec, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(key, secret) from the variables the spec names; None if either is unset/empty and
    credentials are optional; ConfigError (naming the variables, never values) if required."""
    env = os.environ if environ is None else environ
    key = env.get(spec.api_key_env, "")
    secret = env.get(spec.api_secret_env, "")
    if key and secret:
        return key, secret
    if not spec.require_credentials:
        return None
    missing = [name for name, value in ((spec.api_key_env, key), (spec.api_secret_env, secret))
               if not value]  # fmt: skip
    raise ConfigError(
        [f"{name}: environment variable not set (the venue's API key/secret)" for name in missing]
    )


@asynccontextmanager
async def connect_venue(
    spec: VenueSpec,
    *,
    exchange: Exchange | None = None,
    environ: Mapping[str, str] | None = None,
    now_ms: Callable[[], int] | None = None,
    wrap_transport: TransportWrapper | None = None,
    wrap_connector: ConnectorWrapper | None = None,
) -> AsyncIterator[BinanceVenue]:
    """A connected venue for ``spec`` (books start invalid: ``await venue.wait_ready()``).

    ``exchange`` is the running in-process fake exchange when ``spec.urls`` is None.
    ``now_ms`` overrides our epoch clock. ``wrap_transport`` / ``wrap_connector`` interpose
    on the HTTP transport and the WebSocket connector (fault injection in tests and chaos
    runs); with real URLs the transport is httpx's own, sized by the client layout.
    """
    config = spec.config
    if spec.urls is None:
        if exchange is None:
            raise ConfigError(["urls: none given, and no in-process exchange to connect to"])
        from mmbot.sim.inprocess import InProcessExchange  # the only mode that needs mmbot.sim

        inproc = InProcessExchange(exchange)
        transport: httpx.AsyncBaseTransport | None = inproc.transport()
        market: WsConnector = FunctionConnector(inproc.connect_ws)
        user: WsConnector = market
        config = attrs.evolve(config, rest=attrs.evolve(config.rest, base_url=inproc.rest_base_url))
        creds: tuple[str, str] | None = (exchange.config.api_key, exchange.config.api_secret)
        clock = now_ms or EpochClock(exchange.clock.epoch_ms_at_zero).now_ms
    else:
        if exchange is not None:
            raise ConfigError(["urls: given together with an in-process exchange; pick one"])
        urls = spec.urls
        creds = credentials_from_env(spec, environ)
        transport = None
        if wrap_transport is not None:
            layout = config.rest.layout
            transport = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=layout.max_connections,
                    max_keepalive_connections=layout.max_keepalive_connections,
                    keepalive_expiry=layout.keepalive_expiry,
                )
            )
        market = UrlConnector(urls.streams)
        api_base, api_resource = urls.ws_api_split()
        user = UrlConnector(api_base)
        if config.user_stream is not None:
            config = attrs.evolve(
                config, user_stream=attrs.evolve(config.user_stream, resource=api_resource)
            )
        if config.ws_api_orders is not None:
            config = attrs.evolve(
                config, ws_api_orders=attrs.evolve(config.ws_api_orders, resource=api_resource)
            )
        config = attrs.evolve(config, rest=attrs.evolve(config.rest, base_url=urls.rest))
        clock = now_ms or EpochClock.from_wall_clock().now_ms
    if wrap_transport is not None and transport is not None:
        transport = wrap_transport(transport)
    if wrap_connector is not None:
        market = wrap_connector(market)
        user = market if spec.urls is None else wrap_connector(user)
    rest = BinanceRest.create(
        config.rest,
        now_ms=clock,
        api_key=None if creds is None else creds[0],
        api_secret=None if creds is None else creds[1],
        transport=transport,
        seed=spec.seed,
    )
    async with BinanceVenue.open(
        config,
        rest=rest,
        market_connector=market,
        user_connector=user,
        api_key=None if creds is None else creds[0],
        api_secret=None if creds is None else creds[1],
        seed=spec.seed,
    ) as venue:
        yield venue
