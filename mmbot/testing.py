"""Rigs, taps and sample values for tests of this package and of users' stages.

What it is for: the values and helpers that mmbot's own tests, its benchmarks and a user's
tests build on, so none of them reaches into another test module or into ``mmbot.bench``
for a fixture. Everything here is a plain function or class: importable without pytest,
usable from a pytest fixture, a hypothesis strategy or a script.

What it must never do: be imported by the bot's running code (quoting, venue, sim,
resilience, bot); assert anything (a test does that); contact any address but 127.0.0.1.

Sections:

- **Sample market values**: an instrument with BTCUSDT-like filters and a book around a
  mid (:func:`sample_instrument`, :func:`sample_book`).
- **Venue seams**: :class:`Tap` wraps a WebSocket connector (drop frames, refuse or kill
  connections by resource) and :class:`HttpTap` an httpx transport (lose an answer the
  exchange did the work for, or hold a request): faults injected where the venue adapter
  meets the network, the exchange unchanged. Pass ``tap.wrap`` as ``wrap_connector`` and
  ``HttpTap`` as ``wrap_transport`` to ``connect_venue`` or ``Bot``.
- **Rigs**: :func:`running_exchange` runs a fake exchange for the body of an ``async with``
  and refuses the real clock (:func:`require_mock_clock`: pytest-trio puts a test on the mock
  clock only when the *test function* takes ``autojump_clock``); :func:`open_rig` runs an
  exchange and a venue connected to it through ``connect_venue``, in-process (mock clock) or
  on loopback sockets, with a :class:`Tap` and an :class:`HttpTap` on its seams.
- **Quoting**: the inputs of one quote decision (:func:`sample_inputs`) and one stage run
  as the pipeline runs it (:func:`run_stage`), for tests of built-in and users' stages::

      inputs = sample_inputs(position=Decimal("0.005"))
      assert my_stage(inputs, Decision(half_spread_bps=10.0)) == HalfSpread(20.0)
      after = run_stage(my_stage, inputs, Decision(half_spread_bps=10.0))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import httpx
import trio
import trio.lowlevel
import trio.testing

from mmbot.clock import EpochClock
from mmbot.model import BookLevel, BookSnapshot, Instrument
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import Decision, QuoteInputs, Stage, apply_output
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.binance.venue import BinanceVenue, BinanceVenueConfig
from mmbot.venue.binance.ws import WsConnection, WsConnector
from mmbot.venue.connect import VenueSpec, connect_venue

# -- sample market values ----------------------------------------------------------------


def sample_instrument(symbol: str = "BTCUSDT") -> Instrument:
    """BTCUSDT-like filters: tick 0.01, step 0.00001, min notional 5."""
    return Instrument(
        symbol=symbol,
        base_asset="BTC",
        quote_asset="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
    )


def sample_book(
    mid_ticks: int,
    *,
    symbol: str = "BTCUSDT",
    spread_ticks: int = 2,
    depth: int = 20,
    tick: Decimal = Decimal("0.01"),
    received_at: float = 0.0,
    bid_qty: Decimal = Decimal("0.5"),
    ask_qty: Decimal = Decimal("0.4"),
    is_valid: bool = True,
) -> BookSnapshot:
    """A book whose best bid and ask straddle ``mid_ticks`` (in ticks), ``depth`` a side.

    Each level further out holds one more unit than the one inside it.
    """
    best_bid = mid_ticks - spread_ticks // 2
    best_ask = best_bid + spread_ticks
    bids = tuple(BookLevel(tick * (best_bid - i), bid_qty + i) for i in range(depth))
    asks = tuple(BookLevel(tick * (best_ask + i), ask_qty + i) for i in range(depth))
    return BookSnapshot(symbol, bids, asks, 1, received_at, is_valid)


# -- quoting: one decision's inputs, and one stage run as the pipeline runs it --------------

#: The sample book's mid, in ticks of 0.01: 65,000.00.
SAMPLE_MID_TICKS = 6_500_000


def sample_inputs(params: StrategyConfig | None = None, **changes: Any) -> QuoteInputs:
    """Inputs for one quote decision, for a stage's test.

    BTCUSDT (:func:`sample_instrument`) at ``now = 10.0`` with a fresh, valid book around
    65,000.00 (received at 9.9), the default strategy (or ``params``), flat position, no
    trades, no risk flags, no balance limits; ``changes`` replace any of those fields.
    """
    inputs = QuoteInputs(
        symbol="BTCUSDT",
        instrument=sample_instrument(),
        now=10.0,
        book=sample_book(SAMPLE_MID_TICKS, received_at=9.9),
        params=params if params is not None else StrategyConfig(),
    )
    return attrs.evolve(inputs, **changes) if changes else inputs


def run_stage(stage: Stage, inputs: QuoteInputs, so_far: Decision | None = None) -> Decision:
    """The decision after ``stage``, as the pipeline would write it (``so_far`` is untouched).

    ``so_far`` is what earlier stages decided (default: nothing yet, a fresh state). The
    stage's output, a pull included, is written into a copy with
    :func:`~mmbot.quoting.pipeline.apply_output`.
    """
    decision = Decision() if so_far is None else attrs.evolve(so_far)
    apply_output(decision, stage(inputs, decision), inputs.symbol)
    return decision


# -- venue seams: the WebSocket connector -----------------------------------------------


@attrs.define(eq=False)
class TapConnection:
    inner: WsConnection
    tap: Tap
    resource: str

    async def get_message(self) -> str | bytes:
        while True:
            message = await self.inner.get_message()
            if self.tap.drop is not None and self.tap.drop(self.resource, message):
                self.tap.dropped.append(message)
                continue
            return message

    async def send_message(self, message: str | bytes) -> None:
        await self.inner.send_message(message)

    async def ping(self, payload: bytes | None = None) -> None:
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        await self.inner.aclose(code, reason)


@attrs.define(eq=False)
class Tap:
    """Wraps connectors: ``drop(resource, frame)`` drops frames, ``refuse(resource)``
    refuses new connections, :meth:`kill` closes open ones abruptly. One ``Tap`` may wrap
    several connectors (loopback has one for streams and one for the WebSocket API)."""

    drop: Callable[[str, str | bytes], bool] | None = None
    refuse: Callable[[str], bool] | None = None
    connections: list[TapConnection] = attrs.field(factory=list)
    dropped: list[str | bytes] = attrs.field(factory=list)
    refused: int = 0

    def wrap(self, inner: WsConnector) -> WsConnector:
        return _Tapped(inner, self)

    def opened(self, prefix: str) -> int:
        return sum(1 for c in self.connections if c.resource.startswith(prefix))

    async def kill(self, prefix: str = "/") -> None:
        """Close every connection to a resource starting with ``prefix`` abruptly."""
        for connection in list(self.connections):  # not the ones reopened meanwhile
            if connection.resource.startswith(prefix):
                with trio.move_on_after(0.5):
                    await connection.inner.aclose(1011, "killed by test")


@attrs.frozen
class _Tapped:
    inner: WsConnector
    tap: Tap

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        tap = self.tap
        if tap.refuse is not None and tap.refuse(resource):
            tap.refused += 1
            await trio.lowlevel.checkpoint()
            raise OSError("connection refused (test)")
        connection = TapConnection(await self.inner.connect(nursery, resource), tap, resource)
        tap.connections.append(connection)
        return connection


# -- venue seams: the HTTP transport -----------------------------------------------------


@attrs.define
class HttpTap(httpx.AsyncBaseTransport):
    """Forwards to ``inner``. Requests matching ``lose`` are done by the exchange but their
    answers are lost on the way back (the client sees a reset); ``delay(request)`` holds a
    request that many seconds before sending it."""

    inner: httpx.AsyncBaseTransport
    lose: Callable[[httpx.Request], bool] = lambda request: False
    delay: Callable[[httpx.Request], float] = lambda request: 0.0
    lost: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        hold = self.delay(request)
        if hold > 0:
            await trio.sleep(hold)
        response = await self.inner.handle_async_request(request)
        if self.lose(request):
            self.lost += 1
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- rigs: a running exchange, and a venue connected to one -------------------------------

REAL_CLOCK = (
    "this test runs the exchange on the real clock: the test function must take "
    "`autojump_clock` itself (pytest-trio uses only the clock a test function takes as an "
    "argument, not one a fixture asks for)"
)

#: Credentials and symbols of :func:`open_rig`'s exchange.
RIG_API_KEY = "venue-test-key"
RIG_API_SECRET = "venue-test-secret-0123456789"
RIG_SYMBOLS = ("BTCUSDT", "ETHUSDT")


class RealClockError(RuntimeError):
    """A rig that needs the mock clock was started on the real one (see :data:`REAL_CLOCK`)."""


def require_mock_clock() -> None:
    """Raise :class:`RealClockError` unless the caller runs under ``trio.testing.MockClock``."""
    if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        raise RealClockError(REAL_CLOCK)


@asynccontextmanager
async def running_exchange(exchange: Exchange) -> AsyncIterator[tuple[Exchange, trio.Nursery]]:
    """``exchange`` running (its market loop started) in a nursery, on the mock clock."""
    require_mock_clock()
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        yield exchange, nursery
        nursery.cancel_scope.cancel()


def rig_exchange_config(**changes: Any) -> ExchangeConfig:
    """The exchange :func:`open_rig` runs: :data:`RIG_SYMBOLS`, the rig's credentials."""
    config = ExchangeConfig(symbols=RIG_SYMBOLS, api_key=RIG_API_KEY, api_secret=RIG_API_SECRET)
    return attrs.evolve(config, **changes)


@attrs.define(eq=False)
class Rig:
    """What :func:`open_rig` yields."""

    mode: str
    exchange: Exchange
    venue: BinanceVenue
    tap: Tap
    http: HttpTap


@asynccontextmanager
async def open_rig(
    mode: str = "inprocess",
    *,
    exchange: ExchangeConfig | None = None,
    config: BinanceVenueConfig | None = None,
    ready: bool = True,
) -> AsyncIterator[Rig]:
    """An exchange and a venue connected to it, streaming :data:`RIG_SYMBOLS`.

    ``mode`` is ``"inprocess"`` (run it under the mock clock) or ``"loopback"`` (real
    sockets on 127.0.0.1, the real clock). ``ready``: the books are valid and the user stream
    live before it yields (within 10 s).
    """
    ex_config = exchange or rig_exchange_config()
    tap = Tap()
    https: list[HttpTap] = []

    def wrap_transport(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        https.append(HttpTap(inner))
        return https[-1]

    async with trio.open_nursery() as nursery:
        if mode == "inprocess":
            ex = Exchange.simulated(ex_config)
            await nursery.start(ex.run)
            spec = VenueSpec.in_process(RIG_SYMBOLS)
            environ: dict[str, str] = {}
        else:
            ex = Exchange.create(ex_config, clock=EpochClock.from_wall_clock())
            info: ServeInfo = await nursery.start(serve_exchange, ex)
            spec = VenueSpec.loopback(info.rest_port, info.ws_port, RIG_SYMBOLS)
            environ = {"MMBOT_API_KEY": RIG_API_KEY, "MMBOT_API_SECRET": RIG_API_SECRET}
        venue_config = config or BinanceVenueConfig()
        spec = attrs.evolve(spec, config=attrs.evolve(venue_config, symbols=RIG_SYMBOLS))
        async with connect_venue(
            spec,
            exchange=ex if mode == "inprocess" else None,
            environ=environ,
            wrap_transport=wrap_transport,
            wrap_connector=tap.wrap,
        ) as venue:
            if ready:
                with trio.fail_after(10):
                    await venue.wait_ready()
            yield Rig(mode, ex, venue, tap, https[0])
        nursery.cancel_scope.cancel()
