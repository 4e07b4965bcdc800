"""The bot: its supervision tree and the handle a host holds (``await nursery.start(bot.run)``).

What it is for: wiring the venue adapter, the resilience kit and the quoting core into one
supervised tree (DESIGN.md §3, §4.5–4.6)::

    mmbot (rest_for_one)
    ├── session          the venue: connect, start-up reconciliation
    ├── account          user stream -> order tracker, ledger, risk, balances
    ├── sweep            at the stop: cancel and list until no order of the bot remains
    ├── symbols (one_for_one)
    │   ├── BTCUSDT      its own supervisor -> quoter   (halted past its intensity)
    │   └── ...
    ├── metrics          /metrics over HTTP (when configured)
    └── dashboard        the live terminal view (when asked for)

``rest_for_one``: when the session fails, everything after it starts again on the new
connection; the order tracker and the ledger live in the bot's state, not in a task, so a
restart forgets nothing. The tree stops in reverse order: the quoters cancel their orders,
then the final sweep checks that none remain (fills still booked by the account service),
then the account service and the session stop.

:class:`BotHandle`: ``halt(symbol, reason)``, ``resume(symbol)``, ``stop()``, ``status()``.
``bot.run`` returns once the tree has stopped; ``stop_report`` then says whether any order
of the bot remained.

What it must never do: read a secret from anything but the environment variables the config
names; read the wall clock or make randomness outside ``mmbot.clock`` (the run id and every
jitter derive from the run's seed); return from ``run`` before the final sweep has run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import attrs
import trio

from mmbot.bot.account import AccountService
from mmbot.bot.actions import OrderActions
from mmbot.bot.metrics import BotMetrics, OrderAction
from mmbot.bot.quoter import DecisionObserver, Quoter
from mmbot.bot.session import FinalSweep, SpecAdjuster, StopReport, VenueSession, venue_spec
from mmbot.bot.state import BotState
from mmbot.bot.status import BotStatus
from mmbot.bot.symbols import SymbolTree
from mmbot.clock import derive_rng, fresh_seed
from mmbot.config import BotConfig, VenueKind, config_hash
from mmbot.model import Outcome
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders.client_ids import ClientIdFactory, make_run_id
from mmbot.quoting.orders.tracker import OrderTracker
from mmbot.quoting.strategy import build_pipeline
from mmbot.resilience.breaker_core import BreakerTransition
from mmbot.supervision import ChildSpec, EventKind, Supervisor, SupervisorHandle
from mmbot.venue.binance.rest_endpoints import EndpointClass
from mmbot.venue.connect import ConnectorWrapper, TransportWrapper

if TYPE_CHECKING:
    from mmbot.sim.exchange import Exchange, ExchangeConfig

log = logging.getLogger("mmbot.bot")

#: The venue operation each order action is (``mmbot_request_seconds{endpoint}``).
_ENDPOINTS = {
    "place": "order.place",
    "cancel": "order.cancel",
    "cancel_replace": "order.cancelReplace",
    "query": "order.status",
}

#: A child of the root besides the core ones: (id, target) — the metrics server, the dashboard.
Extra = tuple[str, Callable[..., Awaitable[object]]]


@attrs.define(eq=False)
class BotHandle:
    """What a host holds while the bot runs."""

    _bot: Bot
    _root: SupervisorHandle

    def status(self) -> BotStatus:
        return self._bot.status()

    def halt(self, symbol: str, reason: str = "operator") -> None:
        """Stop quoting ``symbol`` and cancel its orders, until :meth:`resume`."""
        runtime = self._bot.state.runtime(symbol)
        runtime.halt_reason = reason
        runtime.wakeup.set()
        log.warning("halt", extra={"symbol": symbol, "reason": reason})

    def resume(self, symbol: str) -> None:
        """Clear ``symbol``'s halt (an operator's, its kill switch's or the supervisor's; the
        bot-wide kill switch is cleared by :meth:`resume_all`)."""
        state = self._bot.state
        runtime = state.runtime(symbol)
        runtime.halt_reason = None
        state.risk.reset(symbol)
        resumed, runtime.resumed = runtime.resumed, trio.Event()
        resumed.set()
        runtime.wakeup.set()
        log.info("resume", extra={"symbol": symbol})

    def resume_all(self) -> None:
        """Clear every halt: each symbol's, and the bot-wide kill switch's."""
        self._bot.state.risk.reset(None)
        for symbol in self._bot.state.symbols:
            self.resume(symbol)

    def stop_nowait(self) -> None:
        self._root.stop_nowait()

    async def stop(self) -> None:
        """Stop the bot: quoters pull and cancel, then the final sweep; returns when done."""
        await self._root.stop()


class Bot:
    """A market-making bot for one config (see the module docstring)."""

    def __init__(
        self,
        config: BotConfig,
        *,
        mode: str = "live",
        seed: int | None = None,
        exchange: Exchange | None = None,
        environ: Mapping[str, str] | None = None,
        extras: tuple[Extra, ...] = (),
        metrics: BotMetrics | None = None,
        wrap_transport: TransportWrapper | None = None,
        wrap_connector: ConnectorWrapper | None = None,
        adjust_venue: SpecAdjuster | None = None,
        on_breaker: Callable[[BreakerTransition], None] | None = None,
        on_decision: DecisionObserver | None = None,
    ) -> None:
        self.config = config
        self.mode = mode
        self.seed = seed if seed is not None else (config.bot.seed or fresh_seed())
        self.exchange = exchange
        self.environ = environ
        self.extras = extras
        self.metrics = metrics
        #: Interpose on the venue's HTTP transport / WebSocket connector (tests, chaos).
        self.wrap_transport = wrap_transport
        self.wrap_connector = wrap_connector
        #: Change the venue spec the config gives (benchmarks: the venue's rate limits,
        #: which the order budget and the REST client's limiter both obey, and the HTTP pool).
        self.adjust_venue = adjust_venue
        #: Told every venue breaker transition (the chaos harness draws them).
        self.on_breaker = on_breaker
        #: Told every quote decision (symbol, book age, pull reason, actions started).
        self.on_decision = on_decision
        self.run_id = make_run_id(derive_rng(self.seed, "run-id"))
        self.config_hash = config_hash(config)
        self.pipelines = {s: build_pipeline(config.strategy_for(s)) for s in config.bot.symbols}
        self._state: BotState | None = None
        self._root: Supervisor | None = None
        self.session: VenueSession | None = None
        self.stop_report: StopReport | None = None
        #: The status taken when the tree had stopped (for the exit summary).
        self.last_status: BotStatus | None = None
        #: Set once ``run`` has finished (stopped, failed or cancelled).
        self.stopped = trio.Event()

    @property
    def state(self) -> BotState:
        if self._state is None:
            raise RuntimeError("the bot is not running")
        return self._state

    def status(self) -> BotStatus:
        """The bot now, with the supervision tree's restarts and intensity headroom."""
        state = self.state
        root = self._root
        if root is not None:
            try:
                tree = root.handle.status()
            except RuntimeError:  # not running (yet, or any more)
                tree = None
            if tree is not None:
                state.intensity_headroom[tree.name] = tree.intensity_headroom
                for path, child in tree.walk():
                    if child.subtree is not None:
                        state.intensity_headroom[path] = child.subtree.intensity_headroom
        return state.status(trio.current_time())

    # -- observing -------------------------------------------------------------------------

    def _observe_order(self, symbol: str, action: str, outcome: Outcome, seconds: float) -> None:
        metrics = self.metrics
        if metrics is not None:
            metrics.count_order(symbol, OrderAction(action), outcome)
            metrics.observe_request(_ENDPOINTS[action], outcome, seconds)

    def _observe_breaker(self, transition: BreakerTransition) -> None:
        self.state.breakers[transition.breaker] = transition.to_state.value
        if self.metrics is not None:
            self.metrics.on_breaker_transition(transition)
        if self.on_breaker is not None:
            self.on_breaker(transition)
        self.state.wake_all()

    async def _watch_tree(self, root: Supervisor) -> None:
        """Supervision events into the restart counters and the log."""
        async for event in root.events():
            if event.kind is EventKind.RESTARTING and event.child is not None:
                path = f"{event.supervisor}/{event.child}"
                state = self.state
                state.child_restarts[path] = state.child_restarts.get(path, 0) + 1
                symbol = event.supervisor.rpartition("/")[2]
                if event.child == "quoter" and symbol in state.symbols:
                    state.symbols[symbol].restarts += 1
                if self.metrics is not None:
                    self.metrics.count_restart(path)
                log.warning(
                    "restarting",
                    extra={"child": path, "restart_at": event.restart_at,
                           "error": repr(event.exception)},
                )  # fmt: skip

    # -- the tree --------------------------------------------------------------------------

    def _new_state(self) -> BotState:
        config = self.config
        # Each id carries its (side, level) slot: the exchange's truth then shows which slot
        # an order quoted (the chaos harness's no_duplicate_orders, a restart's orphans).
        ids = ClientIdFactory(config.bot.client_id_prefix, self.run_id, encode_slot=True)
        orders = config.orders
        budget = OrderBudget(
            venue_spec(config, self.seed, self.adjust_venue).config.rest.rate_limits,
            fraction=orders.budget_fraction,
            low_water=orders.budget_low_water,
            widen=orders.budget_widen,
        )
        return BotState(
            config=config,
            run_id=self.run_id,
            config_hash=self.config_hash,
            mode=self.mode,
            tracker=OrderTracker(ids),
            budget=budget,
            started_at=trio.current_time(),
        )

    def _actions(self) -> OrderActions:
        session = self.session
        if session is None or session.actions is None:
            raise RuntimeError("the venue session is not connected")
        return session.actions

    def _quoter_target(self, symbol: str) -> Callable[[], Callable[..., Awaitable[object]]]:
        def make() -> Callable[..., Awaitable[object]]:
            actions = self._actions()
            venue = self.session.venue if self.session is not None else None
            breaker = None if venue is None else venue.rest.breakers.get(EndpointClass.ORDERS)
            metrics = self.metrics
            quoter = Quoter(
                self.state,
                symbol,
                actions,
                self.pipelines[symbol],
                orders_breaker=breaker,
                on_timings=None if metrics is None else metrics.observe_stages,
                on_cycle=None if metrics is None else metrics.observe_quote_cycle,
                on_decision=self.on_decision,
                throttled=None if venue is None else venue.rest.throttled,
            )
            return quoter.run

        return make

    async def _run_account(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        account = AccountService(self.state, self._actions().venue)
        await account.run(task_status=task_status)

    def _tree(self, session: VenueSession, sweep: FinalSweep) -> Supervisor:
        config = self.config
        symbols = Supervisor(
            [
                ChildSpec(
                    symbol,
                    SymbolTree(
                        self.state,
                        symbol,
                        self._quoter_target(symbol),
                        self._actions,
                        seed=self.seed,
                    ).run,
                    shutdown=None,
                    start_timeout=None,
                )
                for symbol in config.bot.symbols
            ],
            strategy="one_for_one",
            intensity=10,
            period=60.0,
            name="symbols",
            seed=self.seed,
        )
        sweep_budget = config.shutdown.cancel_deadline + 5.0
        children = [
            ChildSpec("session", session.run, shutdown=5.0, start_timeout=120.0),
            ChildSpec("account", self._run_account, shutdown=2.0),
            ChildSpec("sweep", sweep.run, shutdown=sweep_budget),
            ChildSpec("symbols", symbols),
            *(
                ChildSpec(id, target, restart="transient", shutdown=2.0)
                for id, target in self.extras
            ),
        ]
        sup = config.supervision
        return Supervisor(
            children,
            strategy="rest_for_one",
            intensity=sup.intensity,
            period=sup.period,
            name="mmbot",
            seed=self.seed,
        )

    async def run(
        self, *, task_status: trio.TaskStatus[BotHandle] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the bot until it is stopped; ready once every symbol quotes or is halted."""
        self._state = state = self._new_state()
        if self.metrics is not None:
            self.metrics.set_config(self.config_hash, self.config.version)
            self.metrics.set_status_source(self.status)
        log.info(
            "starting",
            extra={
                "run_id": self.run_id,
                "config_hash": self.config_hash,
                "config_version": self.config.version,
                "mode": self.mode,
                "venue": self.config.venue.kind.value,
                "seed": self.seed,
            },
        )
        async with trio.open_nursery() as services:
            exchange = self.exchange  # given: its owner runs it
            if self.config.venue.kind is VenueKind.SIM and exchange is None:
                exchange = self.exchange = _embedded_exchange(self.config, self.mode)
                await services.start(exchange.run)
            metrics = self.metrics
            self.session = session = VenueSession(
                state,
                exchange=exchange,
                environ=self.environ,
                seed=self.seed,
                observe=self._observe_order,
                tick_to_order=None if metrics is None else metrics.observe_tick_to_order,
                on_breaker=self._observe_breaker,
                wrap_transport=self.wrap_transport,
                wrap_connector=self.wrap_connector,
                adjust_spec=self.adjust_venue,
            )
            sweep = FinalSweep(state, session)
            self._root = root = self._tree(session, sweep)
            services.start_soon(self._watch_tree, root)
            try:
                async with trio.open_nursery() as tree:
                    handle: SupervisorHandle = await tree.start(root.run)
                    for runtime in state.symbols.values():
                        await runtime.started.wait()
                    task_status.started(BotHandle(self, handle))
            finally:
                self.stop_report = sweep.report
                self.last_status = self.status()
                self.stopped.set()
                services.cancel_scope.cancel()


def embedded_exchange_config(config: BotConfig) -> ExchangeConfig:
    """The embedded exchange a config's ``[sim]`` table describes: the bot's symbols, the
    market's seed, the account's fee tier."""
    from mmbot.sim.engine import Fees
    from mmbot.sim.exchange import ExchangeConfig

    sim = config.sim
    fees = Fees(maker_rate=sim.maker_fee_bps / 10_000, taker_rate=sim.taker_fee_bps / 10_000)
    return ExchangeConfig(symbols=config.bot.symbols, seed=sim.seed, fees=fees)


def _embedded_exchange(config: BotConfig, mode: str) -> Exchange:
    from mmbot.clock import EpochClock
    from mmbot.sim.exchange import Exchange

    ex_config = embedded_exchange_config(config)
    if mode == "sim":
        return Exchange.simulated(ex_config)
    return Exchange.create(ex_config, clock=EpochClock.from_wall_clock())
