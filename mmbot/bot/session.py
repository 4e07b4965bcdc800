"""The venue session: connect, reconcile at start-up, and leave no order behind at the end.

What it is for: the first child of the bot's tree. It connects the venue the config names
(the embedded exchange in-process, ``mmbot exchange serve`` on loopback, the Binance testnet
or Binance) through :func:`~mmbot.venue.connect.connect_venue`, waits for the books and the
user stream, and before any quoter starts:

- reads the instruments and the account's balances (the ledger starts from them);
- lists the open orders of every symbol in one request (a start-up never bursts into a
  429): orders with this bot's client id prefix from an earlier run are cancelled
  (``bot.orphans = "cancel"``; then listed again until they are gone, or the session fails
  and is restarted) or adopted (``"adopt"``, on a traded symbol); orders of this run (after
  a session restart) are re-read into the tracker; orders without the prefix are left
  alone and counted.

It then hands the venue to the rest of the tree. :class:`FinalSweep`, the tree's child
after the account service, makes sure at the end that no order of the bot remains.

What it must never do: read a credential from anywhere but the environment variables the
config names (``connect_venue`` does that), cancel an order without the bot's prefix, or
report a clean stop while the venue still lists an order of the bot.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import attrs
import trio

from mmbot.bot.actions import OrderActions, OrderObserver
from mmbot.bot.state import BotState
from mmbot.config import BotConfig, OrderTransport, OrphanPolicy, VenueKind
from mmbot.errors import VenueUnavailable
from mmbot.quoting.orders.client_ids import parse_client_order_id, parse_slot
from mmbot.quoting.orders.states import OrderState
from mmbot.quoting.strategy import reads_public_trades
from mmbot.resilience.breaker_core import BreakerTransition
from mmbot.supervision import current_child
from mmbot.venue.base import OrderInfo, OrderRef
from mmbot.venue.binance.venue import BinanceVenue, BinanceVenueConfig
from mmbot.venue.binance.ws_api_orders import WsApiOrdersConfig
from mmbot.venue.connect import (
    ConnectorWrapper,
    TransportWrapper,
    VenueSpec,
    VenueUrls,
    connect_venue,
)

if TYPE_CHECKING:
    from mmbot.sim.exchange import Exchange

log = logging.getLogger("mmbot.session")

#: How long the user stream gets to come up before the session fails (and is restarted by
#: its supervisor). Books are each quoter's own business: one symbol's missing book never
#: holds the others back.
READY_TIMEOUT = 30.0
#: How long the session keeps starting new tries against a venue that is briefly
#: unavailable, and its pauses between tries. The last try may still wait READY_TIMEOUT and
#: ORPHAN_PATIENCE: 50 + 30 + 30 s stays within the session child's start timeout (120 s).
STARTUP_PATIENCE = 50.0
STARTUP_RETRY_FIRST = 1.0
STARTUP_RETRY_MAX = 15.0
#: Pause between listings while waiting for cancelled orders to leave the venue's list
#: (doubled each round, up to ``RELIST_MAX``).
RELIST_INTERVAL = 0.25
RELIST_MAX = 4.0
#: How long the start-up keeps cancelling an earlier run's orders (a venue that answers
#: 5xx for a while must not make the bot give up and leave them) before it fails.
ORPHAN_PATIENCE = 30.0
#: Tracker states whose order may or may not be on the venue.
_UNSURE = (OrderState.UNRESOLVED, OrderState.PENDING_NEW, OrderState.PENDING_CANCEL)


class SymbolsNotListed(VenueUnavailable):
    """The venue does not list a configured symbol: no retry helps (a config problem)."""


@attrs.define(eq=False)
class StopReport:
    """What the final sweep left behind (client order ids), per symbol."""

    remaining: dict[str, list[str]] = attrs.Factory(dict)

    @property
    def clean(self) -> bool:
        return not any(self.remaining.values())


#: Changes the venue spec the config gives (a benchmark lifting the venue's rate limits
#: and widening the HTTP client pool: ``attrs.evolve`` of ``spec.config.rest``).
SpecAdjuster = Callable[[VenueSpec], VenueSpec]


def venue_spec(config: BotConfig, seed: int = 0, adjust: SpecAdjuster | None = None) -> VenueSpec:
    """Where the config says the venue is (the one place the bot reads ``[venue]``),
    changed by ``adjust`` if given."""
    spec = _venue_spec(config, seed)
    return spec if adjust is None else adjust(spec)


def _venue_spec(config: BotConfig, seed: int) -> VenueSpec:
    cfg = config.venue
    symbols = config.bot.symbols
    venue_config = BinanceVenueConfig(symbols=symbols)
    trades = any(reads_public_trades(config.strategy_for(symbol)) for symbol in symbols)
    venue_config = attrs.evolve(
        venue_config,
        market=attrs.evolve(venue_config.market, trades=trades),
        rest=attrs.evolve(venue_config.rest, request_timeout=cfg.request_timeout),
        ws_api_orders=WsApiOrdersConfig() if cfg.order_transport is OrderTransport.WS_API else None,
    )
    changes = {
        "config": venue_config,
        "api_key_env": cfg.api_key_env,
        "api_secret_env": cfg.api_secret_env,
        "seed": seed,
    }
    if cfg.kind is VenueKind.SIM:
        return VenueSpec.in_process(symbols, **changes)
    if cfg.kind is VenueKind.LOOPBACK:
        return attrs.evolve(
            VenueSpec.loopback(cfg.rest_port, cfg.ws_port, symbols, **changes),
            urls=VenueUrls.loopback(cfg.rest_port, cfg.ws_port, cfg.host),
        )
    if cfg.kind is VenueKind.TESTNET:
        return VenueSpec.testnet(symbols, **changes)
    return VenueSpec.live(symbols, **changes)


class VenueSession:
    """The venue connection of one bot (a supervised child; ``run`` starts with the venue)."""

    def __init__(
        self,
        state: BotState,
        *,
        exchange: Exchange | None = None,
        environ: Mapping[str, str] | None = None,
        seed: int = 0,
        observe: OrderObserver | None = None,
        tick_to_order: Callable[[str, float], None] | None = None,
        on_breaker: Callable[[BreakerTransition], None] | None = None,
        wrap_transport: TransportWrapper | None = None,
        wrap_connector: ConnectorWrapper | None = None,
        adjust_spec: SpecAdjuster | None = None,
    ) -> None:
        self.state = state
        self.seed = seed
        self.adjust_spec = adjust_spec
        self.observe = observe
        self.tick_to_order = tick_to_order
        self.on_breaker = on_breaker
        self.wrap_transport = wrap_transport
        self.wrap_connector = wrap_connector
        self.exchange = exchange
        self.environ = environ
        self.venue: BinanceVenue | None = None
        self.actions: OrderActions | None = None
        self.report = StopReport()

    def spec(self) -> VenueSpec:
        """Where the config says the venue is, as ``adjust_spec`` adjusts it."""
        return venue_spec(self.state.config, self.seed, self.adjust_spec)

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[BinanceVenue]:
        spec = self.spec()
        exchange = self.exchange if spec.urls is None else None
        async with connect_venue(
            spec,
            exchange=exchange,
            environ=self.environ,
            wrap_transport=self.wrap_transport,
            wrap_connector=self.wrap_connector,
        ) as venue:
            yield venue

    async def run(
        self, *, task_status: trio.TaskStatus[BinanceVenue] = trio.TASK_STATUS_IGNORED
    ) -> None:
        stop = current_child().stop_requested
        async with self._connect() as venue:
            await self._start_patiently(venue)
            actions = OrderActions(
                self.state, venue, observe=self.observe, tick_to_order=self.tick_to_order
            )
            self.venue, self.actions = venue, actions
            task_status.started(venue)
            try:
                await stop.wait()  # the final sweep (FinalSweep) has run by now
            finally:
                self.venue = self.actions = None

    # -- start-up --------------------------------------------------------------------------

    async def _start_patiently(self, venue: BinanceVenue) -> None:
        """The user stream live, then :meth:`_start_up`; a venue that is briefly unavailable
        (errors, unknown answers, an open breaker, a rate limit) is asked again, backing off,
        with new tries for up to ``STARTUP_PATIENCE`` seconds before the session fails to
        start. A venue that does not list a configured symbol fails it at once."""
        for breaker in venue.rest.breakers.values():
            self.state.breakers[breaker.name] = breaker.state.value
            if self.on_breaker is not None:
                breaker.add_listener(self.on_breaker)
        give_up_at = trio.current_time() + STARTUP_PATIENCE
        delay = STARTUP_RETRY_FIRST
        while True:
            try:
                await self._ready(venue)
                await self._start_up(venue)
                return
            except SymbolsNotListed:
                raise
            except VenueUnavailable as exc:
                if trio.current_time() + delay > give_up_at:
                    raise
                log.warning("start-up failed: retrying", extra={"reason": str(exc), "in_s": delay})
            await trio.sleep(delay)
            delay = min(delay * 2, STARTUP_RETRY_MAX)

    async def _ready(self, venue: BinanceVenue) -> None:
        with trio.move_on_after(READY_TIMEOUT) as waiting:
            await venue.wait_ready(())  # the user stream; each quoter waits for its book
        if waiting.cancelled_caught:
            user = venue.user
            why = "" if user is None or user.last_end is None else f" (last: {user.last_end})"
            raise VenueUnavailable(
                f"the venue session was not ready within {READY_TIMEOUT:g} s: the user stream "
                f"is not live{why}"
            )

    async def _start_up(self, venue: BinanceVenue) -> None:
        state = self.state
        instruments = await venue.instruments()
        if instruments.value is None:
            raise VenueUnavailable(f"exchangeInfo: {instruments.reason}")
        known = {i.symbol for i in instruments.value}
        missing = [s for s in state.config.bot.symbols if s not in known]
        if missing:
            raise SymbolsNotListed(f"the venue does not list {', '.join(missing)}")
        state.set_instruments(instruments.value)
        balances = await venue.balances()
        if balances.value is None:
            raise VenueUnavailable(f"account: {balances.reason}")
        state.balances.update({b.asset: b for b in balances.value})
        await self._reconcile_open_orders(venue)

    async def _reconcile_open_orders(self, venue: BinanceVenue) -> None:
        """One listing of every symbol's open orders (one request, not a burst): this run's
        are re-read into the tracker, an earlier run's adopted or cancelled (then listed again
        until gone), foreign ones counted and left alone."""
        state = self.state
        orphans: list[OrderInfo] = []
        foreign = 0  # counted afresh by each try of the start-up
        for order in await _all_open_orders(venue):
            cid = order.client_order_id
            if parse_client_order_id(cid, state.prefix) is None:
                foreign += 1
            elif state.tracker.get(cid) is not None:  # this run's (the session restarted)
                state.tracker.on_query_result(
                    cid,
                    True,
                    order.status,
                    order.executed_qty,
                    order.order_id,
                    now=trio.current_time(),
                )
            elif state.config.bot.orphans is OrphanPolicy.ADOPT and order.symbol in state.symbols:
                slot = parse_slot(cid, state.prefix) or (order.side, 0)
                state.tracker.adopt(
                    cid, order.symbol, slot, order.price, order.orig_qty, order.order_id,
                    order.executed_qty,
                )  # fmt: skip
                state.orphans_adopted += 1
                log.info("adopted", extra={"symbol": order.symbol, "client_order_id": cid})
            else:
                orphans.append(order)
        state.foreign_orders = foreign
        state.orphan_symbols.update(o.symbol for o in orphans)
        give_up_at = trio.current_time() + ORPHAN_PATIENCE
        attempt = 0
        while orphans and (attempt == 0 or trio.current_time() < give_up_at):
            for order in orphans:
                result = await venue.cancel(
                    OrderRef(order.symbol, client_order_id=order.client_order_id)
                )
                log.info(
                    "cancelling an earlier run's order",
                    extra={
                        "symbol": order.symbol,
                        "client_order_id": order.client_order_id,
                        "outcome": result.outcome.value,
                    },
                )
            if attempt:
                await trio.sleep(min(RELIST_INTERVAL * 2 ** (attempt - 1), RELIST_MAX))
            attempt += 1
            still = {o.client_order_id for o in await _all_open_orders(venue)}
            state.orphans_cancelled += sum(1 for o in orphans if o.client_order_id not in still)
            orphans = [o for o in orphans if o.client_order_id in still]
        if orphans:
            ids = ", ".join(o.client_order_id for o in orphans)
            raise VenueUnavailable(f"could not cancel an earlier run's orders: {ids}")


async def _all_open_orders(venue: BinanceVenue) -> tuple[OrderInfo, ...]:
    listed = await venue.open_orders(None)
    if listed.value is None:
        raise VenueUnavailable(f"openOrders: {listed.reason}")
    return listed.value


class FinalSweep:
    """Leave no order of the bot behind (a supervised child that acts when asked to stop).

    It sits after the account service and before the symbols in the tree, so it runs once
    every quoter has stopped and while fills are still booked. It cancels every open order
    with the bot's prefix, one by one; queries every order the tracker is not sure of (an
    unknown placement may still land: it is watched until the venue could no longer accept
    it); cancels all on a symbol where no foreign order rests; and lists again until none of
    the bot's remain or ``shutdown.cancel_deadline`` passes (shielded). What remains is in
    :attr:`report` and in the log, by client order id.
    """

    def __init__(self, state: BotState, session: VenueSession) -> None:
        self.state = state
        self.session = session
        self.report = StopReport()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        stop = current_child().stop_requested
        task_status.started()
        await stop.wait()
        with trio.move_on_after(self.state.config.shutdown.cancel_deadline, shield=True):
            await self.sweep()
        for symbol, left in self.report.remaining.items():
            if left:
                log.error("orders remain", extra={"symbol": symbol, "client_order_ids": left})

    async def sweep(self) -> None:
        state = self.state
        state.stopping = True
        report = self.report
        symbols = sorted(set(state.config.bot.symbols) | state.orphan_symbols)
        report.remaining = {symbol: ["(not swept)"] for symbol in symbols}
        venue, actions = self.session.venue, self.session.actions
        if venue is None or actions is None:
            report.remaining = {symbol: ["(no venue connection)"] for symbol in symbols}
            return
        pending, cancelled_all = set(symbols), set()
        while True:
            for symbol in sorted(pending):
                for order in state.tracker.live(symbol):
                    if order.state in _UNSURE:
                        await actions.resolve(symbol, order.client_order_id)
                listed = await actions.sweep(symbol)
                unsure = [
                    o.client_order_id for o in state.tracker.live(symbol) if o.state in _UNSURE
                ]
                report.remaining[symbol] = listed + [c for c in unsure if c not in listed]
                if listed and symbol not in cancelled_all:
                    cancelled_all.add(symbol)
                    await self._cancel_all_if_only_ours(venue, symbol)
            pending = {s for s in pending if report.remaining[s]}
            if not pending:
                return
            await trio.sleep(RELIST_INTERVAL)

    async def _cancel_all_if_only_ours(self, venue: BinanceVenue, symbol: str) -> None:
        listed = await venue.open_orders(symbol)
        if listed.value is None:
            return
        if all(
            parse_client_order_id(o.client_order_id, self.state.prefix) is not None
            for o in listed.value
        ):
            await venue.cancel_all(symbol)
