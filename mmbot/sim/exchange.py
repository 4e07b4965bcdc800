"""The fake exchange's trio shell: one object owning the engine, market, history and dialect.

What it is for: :class:`Exchange` drives the seeded market simulator on trio's clock,
answers REST requests (the dialect, or the ``/_sim/`` admin API), closes the depth windows
every 100 ms / 1000 ms, and fans every stream message out to the subscribed connections
through bounded per-connection outboxes (:class:`~mmbot.sim.connections.Outbox`; the
connection bookkeeping lives in ``sim/connections.py``). Every state change is followed by
draining the engine's events into the history and the streams, so orders placed over REST
or the WebSocket API show up in both. The same object serves loopback mode
(``sim/serve.py``) and simulated mode (``sim/inprocess.py``).

Faults: the current :class:`~mmbot.sim.faults.FaultPlan` (the config's, until
:meth:`Exchange.set_faults` changes it) is consulted for every REST request and WebSocket
API frame before it is worked on (:meth:`Exchange.fault_delay`); the
REST app and the WebSocket API reader hold a delayed request that long on the trio clock,
then answer it, so its work lands late, as over a slow network (an order placed after a
200 ms delay meets the book as it is 200 ms later). Each delay is recorded in the history
as a ``latency`` fault. The exchange-behaviour faults (``rate_limit``, ``clock_skew``,
``maintenance``, ``flash_move``, ``fill_before_ack``, ``cancel_fill_race``) act through the
dialect's limiter and clock, the engine's symbol status, the market simulator and the
answers' timing; the market loop also wakes at their starts and ends (``docs/exchange.md``).

Stream faults (``ws_drop``, ``ws_stall``, ``seq_gap``, ``ws_dup_reorder``, ``packet_loss``,
``stale_snapshot``) are carried out by :class:`~mmbot.sim.stream_faults.StreamFaults`: its
clock task (run in :meth:`Exchange.run`'s nursery, only once a plan holds a connection
fault) drops and stalls connections at their instants; the stream and user-data paths go
through it only while the plan holds a per-message fault; a ``depth`` answer is rewound
only while a stale snapshot is planned. A plan without stream faults leaves every path as
it was.

The private events of the background market's own accounts (``sim/market/``) are never
built (the engine's ``quiet_accounts``) unless ``history_simulator_accounts`` is set:
nobody can subscribe to them, and their effect is recorded as public trades and deltas.

What it must never do: block on a slow subscriber (an outbox that fills up is dropped, as
Binance disconnects slow consumers); read the wall clock (time comes from its
:class:`~mmbot.clock.EpochClock`); put a secret into a repr, log, history or response.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import attrs
import trio

from mmbot.clock import SIM_EPOCH_MS, EpochClock, derive_rng
from mmbot.model import ZERO, Instrument, SymbolStatus
from mmbot.sim.connections import Connections, Outbox, Paced
from mmbot.sim.dialect import (
    AdminApi,
    Credentials,
    Dialect,
    RateLimits,
    RequestInfo,
    RestRequest,
    RestResponse,
    WsApiSession,
    answer_ws_api_failure,
    refuse_rest,
    refuse_ws_api,
    ws_api_method,
)
from mmbot.sim.dialect.params import DialectFailure, Params
from mmbot.sim.engine import Fees, MatchingEngine, OrderView
from mmbot.sim.faults import (
    CANCEL_FILL_RACE_OPERATIONS,
    ERROR_MESSAGES,
    MARKET_STREAM,
    USER_STREAM,
    Blackhole,
    ClockSkew,
    Delivery,
    Error,
    FaultPlan,
    FillBeforeAck,
    FlashMove,
    LostAck,
    Maintenance,
    RateLimit,
    Reset,
)
from mmbot.sim.history import Entry, History
from mmbot.sim.market import (
    SIMULATOR_ACCOUNTS,
    MarketSimulator,
    MarketStats,
    StatsRetention,
    default_market,
)
from mmbot.sim.stream_faults import StreamFaults, depth_limit
from mmbot.sim.streams import (
    MarketFeed,
    StreamMessage,
    UserMessage,
    dumps,
    event_stream_terminated_frame,
    server_shutdown_frame,
)
from mmbot.venue.binance.errors import Code, DialectError

if TYPE_CHECKING:
    import random

#: Channel name under which replies to market-stream control frames are recorded.
CONTROL_CHANNEL = "stream-control"
#: Channel name under which WebSocket API answers are recorded.
WS_API_CHANNEL = "ws-api"


@attrs.frozen
class StreamSettings:
    """Connection rules of the market streams and the WebSocket API (Binance's values)."""

    ping_interval_s: float = 20.0
    pong_timeout_s: float = 60.0
    max_connection_s: float = 24 * 3600.0
    #: Messages buffered per connection before it is dropped as a slow consumer.
    outbox_size: int = 10_000
    #: How long an opening / closing handshake may take before the connection is abandoned.
    handshake_timeout_s: float = 10.0
    close_timeout_s: float = 2.0


@attrs.frozen
class ExchangeConfig:
    """Everything that makes one fake exchange (the secret never shows in its repr)."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    seed: int = 0
    api_key: str = attrs.field(default="mmbot-sim-key", repr=False)
    api_secret: str = attrs.field(default="mmbot-sim-secret", repr=False)
    fees: Fees = attrs.field(factory=Fees)
    rate_limits: RateLimits = attrs.field(factory=RateLimits)
    streams: StreamSettings = attrs.field(factory=StreamSettings)
    #: The account the API key trades for, and its starting balances (None: defaults).
    account: str = "user"
    balances: dict[str, Decimal] | None = None
    #: Most bulk entries the history keeps: messages, book deltas, public trades and the
    #: simulator accounts' private events (None: all; the digest covers all in any case).
    history_max_bulk: int | None = None
    #: Most other entries it keeps (requests, faults, symbol status, your account's
    #: executions and balances), the same way: between N and 2N, oldest dropped first
    #: (None: all, for good). What either bound drops goes to ``Exchange.create``'s
    #: ``on_history_drop`` (``mmbot exchange serve --history-spill`` writes it to a file).
    history_max_records: int | None = None
    #: Closed orders kept queryable per symbol (the newest), and for how long after they
    #: closed (seconds; None: no age limit). A query for one dropped answers -2013.
    closed_orders_kept: int = 100_000
    closed_order_max_age_s: float | None = None
    #: Your account's trades kept per symbol for ``myTrades``: at least this many (the
    #: newest), at most twice as many.
    trades_kept: int = 100_000
    #: Record the background market's own accounts' private events (execution reports,
    #: balance positions) in the history too. Off by default: nobody can subscribe to them
    #: and their effect on the market is recorded as public trades and book deltas.
    history_simulator_accounts: bool = False
    #: Faults to inject (``sim/faults.py``).
    faults: FaultPlan = attrs.field(factory=FaultPlan)
    #: What the market-data statistics keep per symbol (trades, klines, tickers): their
    #: memory bound, apart from the history's.
    stats_retention: StatsRetention = attrs.field(factory=StatsRetention)
    #: MAX_NUM_ORDERS: open orders the account may have per symbol (Binance's 200; None:
    #: no limit). The background market's own accounts are exempt.
    max_num_orders: int | None = 200


@attrs.frozen
class ExchangeStatistics:
    messages_sent: int
    connections: int
    dropped_slow: int


@attrs.define(eq=False)
class Exchange:
    """The fake exchange (see the module docstring). Build with :meth:`create`."""

    config: ExchangeConfig
    clock: EpochClock
    engine: MatchingEngine
    market: MarketSimulator
    history: History
    dialect: Dialect
    admin: AdminApi
    feed: MarketFeed
    #: The fault plan's randomness (jitter, probability), derived from the seed.
    fault_rng: random.Random
    #: The faults injected now: the config's at first, then whatever :meth:`set_faults` says.
    faults: FaultPlan
    _conns: Connections = attrs.field(factory=Connections)
    #: trio time when ``run`` started (the fault plan's time 0); None before.
    _started_at: float | None = None
    _messages_sent: int = 0
    _dropped_slow: int = 0
    _shutting_down: bool = False
    #: The exchange-behaviour faults in effect (see "exchange-behaviour faults" below).
    _venue_faults: tuple[RateLimit | ClockSkew, ...] = ()
    _in_maintenance: dict[str, Maintenance] = attrs.field(factory=dict)
    _done: list[object] = attrs.field(factory=list)  # flash moves made, shutdowns sent
    _holds: trio.Nursery | None = None  # where held answers wait (while ``run`` runs)
    #: The stream faults' state (``sim/stream_faults.py``) and where its clock task runs.
    _streamf: StreamFaults = attrs.field(
        default=attrs.Factory(lambda self: StreamFaults(self), takes_self=True)
    )
    _fault_nursery: trio.Nursery | None = None

    @classmethod
    def create(
        cls,
        config: ExchangeConfig,
        *,
        clock: EpochClock,
        on_history_drop: Callable[[list[Entry]], None] | None = None,
    ) -> Exchange:
        """Build every part from ``config``; ``clock`` gives exchange time;
        ``on_history_drop`` gets the entries a bounded history drops (oldest first)."""
        instruments, market_configs = default_market(config.symbols)
        max_age = config.closed_order_max_age_s
        engine = MatchingEngine(
            instruments,
            config.fees,
            closed_order_retention=config.closed_orders_kept,
            trade_retention=config.trades_kept,
            closed_order_max_age_ms=None if max_age is None else round(max_age * 1000),
            no_trade_history=SIMULATOR_ACCOUNTS,
            # nobody can query them (the simulator sees a closed order as gone anyway)
            no_closed_history=SIMULATOR_ACCOUNTS,
            # their private events are neither recorded nor published: never build them
            quiet_accounts=() if config.history_simulator_accounts else SIMULATOR_ACCOUNTS,
            max_num_orders=config.max_num_orders,
            order_limit_exempt=SIMULATOR_ACCOUNTS,
        )
        history = History(
            max_bulk=config.history_max_bulk,
            max_records=config.history_max_records,
            bulk_accounts=SIMULATOR_ACCOUNTS,
            on_drop=on_history_drop,
        )
        market = MarketSimulator(engine, market_configs, derive_rng(config.seed, "market"))
        balances = config.balances
        if balances is None:
            balances = default_balances(instruments, [c.initial_price for c in market_configs])
        engine.open_account(config.account, dict(balances))
        credentials = Credentials()
        credentials.add(config.api_key, config.api_secret, config.account)

        def on_request(info: RequestInfo) -> None:
            history.append_request(
                info.time_ms,
                transport=info.transport,
                method=info.method,
                path=info.path,
                account=info.account,
                status=info.status,
                error_code=info.error_code,
                weight=info.weight,
                client_order_id=info.client_order_id,
                injected=info.injected,
            )

        # the public tape's statistics: the feed folds every trade in, the dialect reads them
        stats = MarketStats(config.symbols, config.stats_retention)
        dialect = Dialect(
            engine,
            credentials,
            config.rate_limits,
            on_request=on_request,
            fees=config.fees,
            market_stats=stats,
        )
        return cls(
            config=config,
            clock=clock,
            engine=engine,
            market=market,
            history=history,
            dialect=dialect,
            admin=AdminApi(engine, history),
            feed=MarketFeed.for_symbols(config.symbols, stats),
            fault_rng=derive_rng(config.seed, "faults"),
            faults=config.faults,
        )

    @classmethod
    def simulated(cls, config: ExchangeConfig) -> Exchange:
        """An exchange on simulated time (epoch ``SIM_EPOCH_MS`` at trio time 0)."""
        return cls.create(config, clock=EpochClock(SIM_EPOCH_MS))

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # ---- the market loop -------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drive the market and close depth windows until cancelled."""
        self._started_at = started = trio.current_time()
        async with trio.open_nursery() as nursery:
            self._holds = nursery  # held answers wait here
            self._fault_nursery = nursery  # the stream faults' clock task runs here
            self._streamf.plan_set(self.faults, nursery)
            now = self.now_ms()
            self.market.start(now)
            self.publish_engine_events(now)
            if self.faults.scheduled:  # those from time 0 are in effect before any request
                self._apply_venue_faults()
                self._apply_scheduled_faults()
            task_status.started()
            await self._market_loop(started)

    async def _market_loop(self, started: float) -> None:
        while True:
            wake = self.market.next_event_ms()
            flush = self.feed.next_flush_ms(self._conns.by_stream)
            if flush is not None:
                wake = min(wake, flush)
            change = self.faults.next_change(self.fault_time()) if self.faults else None
            if wake > self.now_ms():
                # A small margin so that now_ms() reads ``wake`` despite float rounding.
                until = self.clock.to_trio_time(wake) + 0.0002
                await trio.sleep_until(until if change is None else min(until, started + change))
            else:
                await trio.lowlevel.checkpoint()
            now = self.now_ms()
            if self.market.next_event_ms() <= now:
                self.market.advance(now)
                self.publish_engine_events(now)
            if self.faults.scheduled or self._in_maintenance or self._venue_faults:
                self._apply_venue_faults()
                self._apply_scheduled_faults()
            self._flush_depth(now)

    def _flush_depth(self, now_ms: int) -> None:
        for message in self.feed.flush_due(now_ms, self._conns.by_stream):
            self._send_stream(message, now_ms)

    # ---- requests ----------------------------------------------------------------------

    def set_faults(self, plan: FaultPlan) -> None:
        """Inject ``plan`` from now on, instead of the current one (an empty plan heals
        every fault); recorded in the history as a ``plan`` fault entry."""
        self.faults = plan
        self.history.append_fault(self.now_ms(), "plan", "all", plan.describe())
        if self._venue_faults or self._in_maintenance or plan.scheduled:
            self._apply_venue_faults()
            self._apply_scheduled_faults()
        self._streamf.plan_set(plan, self._fault_nursery)

    def fault_epoch(self) -> float:
        """The trio time the fault plan's times count from (the exchange's start)."""
        return trio.current_time() if self._started_at is None else self._started_at

    def fault_time(self) -> float:
        """Seconds since the exchange started (the fault plan's time; 0.0 before)."""
        started = self._started_at
        return 0.0 if started is None else trio.current_time() - started

    def connection_classes(self, outbox: Outbox) -> tuple[frozenset[str], frozenset[str]]:
        """A connection's stream classes (``market_streams``, ``ws_api``, ``user_data``:
        ``sim/faults.py``'s STREAM_CLASSES) and the symbols of its market streams."""
        if outbox.ws_api:
            classes = {"ws_api", "user_data"} if outbox.user_subscriptions else {"ws_api"}
            return frozenset(classes), frozenset()
        names = [name for name, subs in self._conns.by_stream.items() if outbox in subs]
        symbols = {symbol for name in names if (symbol := _stream_symbol(name)) is not None}
        return frozenset({"market_streams"}), frozenset(symbols)

    def fault_delay(self, operation: str | None) -> float:
        """Seconds to hold a request of ``operation`` before working on it (the fault plan;
        0.0 for none). A delay is recorded in the history as a ``latency`` fault, at the
        request's arrival, with the operation as its target and the delay as its detail."""
        plan = self.faults
        if not plan or operation is None:
            return 0.0
        started = self._started_at
        now = 0.0 if started is None else trio.current_time() - started
        delay = plan.delay_for(operation, now, self.fault_rng)
        if delay > 0:
            self.history.append_fault(self.now_ms(), "latency", operation, f"{delay * 1000:.3f} ms")
        return delay

    def rest_delay(self, request: RestRequest) -> float:
        """:meth:`fault_delay` for a REST request (by the operation its route names)."""
        if not self.faults:
            return 0.0
        route = self.dialect.routes.rest_route(request.method, request.path)
        return self.fault_delay(None if route is None else route.name)

    def ws_api_delay(self, message: str | bytes) -> float:
        """:meth:`fault_delay` for a WebSocket API frame (by the method it names)."""
        if not self.faults:
            return 0.0
        return self.fault_delay(ws_api_method(message))

    def strike(self, operation: str | None) -> Error | LostAck | Reset | Blackhole | None:
        """The error, lost answer, reset or black hole the fault plan has for a request of
        ``operation`` now (None: answer it as usual), recorded in the history as a fault at
        its arrival."""
        plan = self.faults
        if operation is None or not plan.strikes:
            return None
        started = self._started_at
        now = 0.0 if started is None else trio.current_time() - started
        fault = plan.strike(operation, now, self.fault_rng)
        if fault is not None:
            self.history.append_fault(self.now_ms(), fault.kind, operation, _detail(fault))
        return fault

    def delivery(self, traffic: str | None, length: int) -> Delivery | None:
        """How the bandwidth and slicer faults write a message of ``length`` bytes of
        ``traffic`` (an operation's answer, or ``faults.MARKET_STREAM`` / ``USER_STREAM``)
        now; None: at once and whole. An answer's delivery is recorded in the history as a
        fault per kind that shaped it (``bandwidth``, ``slicer``; the operation; the pieces
        and the time they take); a pushed message's is not (there are too many)."""
        plan = self.faults
        if traffic is None or not plan.shapes:
            return None
        started = self._started_at
        now = 0.0 if started is None else trio.current_time() - started
        delivery = plan.delivery(traffic, length, now, self.fault_rng)
        if delivery is not None and traffic not in (MARKET_STREAM, USER_STREAM):
            for kind in delivery.kinds:
                self.history.append_fault(self.now_ms(), kind, traffic, delivery.describe())
        return delivery

    def rest_delivery(self, request: RestRequest, length: int) -> Delivery | None:
        """:meth:`delivery` for a REST answer of ``length`` bytes (by its route's operation;
        the ``/_sim/`` admin API is never shaped)."""
        if not self.faults.shapes:
            return None
        route = self.dialect.routes.rest_route(request.method, request.path)
        return self.delivery(None if route is None else route.name, length)

    def handle_rest(self, request: RestRequest) -> RestResponse:
        """Answer one REST request (``RestRequest`` → ``RestResponse``), then publish. An
        ``error`` fault answers instead of the dialect; after a ``lost_ack`` the dialect's
        answer is replaced by 503 -1007, or withheld (``RestResponse.withheld``); a
        ``reset`` drops the connection (``RestResponse.dropped``) before or after the
        dialect works on it; a ``blackhole`` holds it unanswered, never worked on."""
        now = self.now_ms()
        if request.path.startswith("/_sim/"):
            response = self.admin.handle(request, now)
        else:
            fault = None
            operation: str | None = None
            if self.faults.strikes or self.faults.races:
                route = self.dialect.routes.rest_route(request.method, request.path)
                operation = None if route is None else route.name
            if self.faults.strikes:
                fault = self.strike(operation)
            if self.faults or self._venue_faults:
                self._apply_venue_faults()
            if isinstance(fault, Error):
                response = refuse_rest(self.dialect, request, _fault_error(fault), now)
            elif isinstance(fault, Blackhole) or (
                isinstance(fault, Reset) and fault.when == "before"
            ):  # never worked on: no answer to build, nothing recorded but the fault
                response = _UNANSWERED
                if isinstance(fault, Blackhole):
                    response = attrs.evolve(response, withheld=True)
            else:
                race = self._races(operation, lambda: _rest_params(request))
                response = self.dialect.handle_rest(request, now)
                if isinstance(fault, LostAck):
                    lost = refuse_rest(self.dialect, request, _LOST, now, report=False)
                    response = attrs.evolve(lost, withheld=fault.mode == "drop")
                elif isinstance(fault, Reset):  # worked on; the connection drops
                    response = attrs.evolve(response, dropped=True)
                elif race is not None and response.status == 200:
                    hold = self._fill_before_ack(race, response.body)
                    if hold > 0:
                        response = attrs.evolve(response, hold_s=hold)
                elif self._streamf.rewinds and response.status == 200:
                    response = self._stale_rest(request, response)
        self.publish_engine_events(now)
        return response

    def _stale_rest(self, request: RestRequest, response: RestResponse) -> RestResponse:
        """A ``stale_snapshot`` fault's answer to a REST ``depth`` request (else as is)."""
        route = self.dialect.routes.rest_route(request.method, request.path)
        if route is None or route.name != "depth" or not isinstance(response.body, dict):
            return response
        query = parse_qs(request.raw_query.decode("latin-1"))
        symbol = query.get("symbol", [""])[0]
        stale = self._streamf.stale_depth(symbol, depth_limit(query.get("limit", [None])[0]))
        return response if stale is None else attrs.evolve(response, body=stale)

    def _stale_ws_api(self, message: str | bytes, reply: dict[str, object]) -> None:
        """Put a ``stale_snapshot`` fault's answer into a WebSocket API ``depth`` reply."""
        if reply.get("status") != 200 or ws_api_method(message) != "depth":
            return
        try:
            params = json.loads(message).get("params") or {}
        except (ValueError, AttributeError):
            return
        if not isinstance(params, dict):
            return
        stale = self._streamf.stale_depth(
            str(params.get("symbol")), depth_limit(params.get("limit"))
        )
        if stale is not None:
            reply["result"] = stale

    def handle_ws_api(self, message: str | bytes, session: WsApiSession, outbox: Outbox) -> None:
        """Answer one WebSocket API frame into ``outbox``; follow user-data subscriptions.

        Should the dialect raise (a bug: it answers every input), the frame is still
        answered (400, -1000) and recorded, the error is logged with its traceback, and the
        connection stays open.
        """
        now = self.now_ms()
        operation = ws_api_method(message)
        fault = self.strike(operation) if self.faults.strikes else None
        if self.faults or self._venue_faults:
            self._apply_venue_faults()
        reply: dict[str, object] | None
        hold = 0.0
        try:
            if isinstance(fault, Error):
                reply = refuse_ws_api(self.dialect, message, _fault_error(fault), now)
            elif isinstance(fault, Blackhole) or (
                isinstance(fault, Reset) and fault.when == "before"
            ):  # never worked on, never answered
                reply = None
            else:
                race = None
                if self.faults.races:
                    race = self._races(operation, lambda: _ws_params(message))
                reply = self.dialect.handle_ws_api(message, session, now)
                if isinstance(fault, LostAck):  # worked on; the answer is lost
                    lost = refuse_ws_api(self.dialect, message, _LOST, now, report=False)
                    reply = lost if fault.mode == "unknown" else None
                elif isinstance(fault, Reset):  # worked on; the connection drops
                    reply = None
                elif race is not None and reply.get("status") == 200:
                    hold = self._fill_before_ack(race, reply.get("result"))
                elif reply is not None and self._streamf.rewinds:
                    self._stale_ws_api(message, reply)
        except Exception:  # a bug in the dialect: its last-resort answer, logged and reported
            reply = answer_ws_api_failure(self.dialect, message, now)
        if isinstance(fault, Reset):
            # the connection ends with the request unanswered: what is queued is written,
            # then it is dropped without a close handshake (ws_app reads the reason)
            self.close_outbox(outbox, "reset")
            self.publish_engine_events(now)
            return
        if reply is not None and hold > 0 and self._holds is not None:
            self._holds.start_soon(self._deliver_later, hold, outbox, dumps(reply), operation)
        elif reply is not None:
            self.deliver(outbox, dumps(reply), WS_API_CHANNEL, "response", now, operation=operation)
        for subscription_id in session.take_terminated():  # after its unsubscribe's answer
            text = event_stream_terminated_frame(subscription_id, now)
            self.deliver(outbox, text, "user", "eventStreamTerminated", now)
        self._sync_user_subscriptions(session, outbox)
        self.publish_engine_events(now)

    def _sync_user_subscriptions(self, session: WsApiSession, outbox: Outbox) -> None:
        if not outbox.is_closed:
            self._conns.set_user_subscriptions(outbox, _session_subscriptions(session))

    # ---- exchange-behaviour faults -------------------------------------------------------

    def _apply_venue_faults(self) -> None:
        """Put the ``rate_limit`` and ``clock_skew`` faults active now into the dialect
        (its limiter's limits, its clock's offset); their starts and ends are recorded."""
        plan = self.faults
        now = self.fault_time()
        active = tuple(
            f for f in plan.faults if isinstance(f, RateLimit | ClockSkew) and f.active(now)
        )
        if active != self._venue_faults:
            now_ms = self.now_ms()
            for fault in active:
                if fault not in self._venue_faults:
                    self.history.append_fault(now_ms, fault.kind, "all", "start")
            for gone in self._venue_faults:
                if gone not in active:
                    self.history.append_fault(now_ms, gone.kind, "all", "end")
            self._venue_faults = active
        self.dialect.venue_limits.limits = plan.rate_limits(self.config.rate_limits, now)
        self.dialect.clock_offset_ms = plan.clock_offset_ms(now)

    def _apply_scheduled_faults(self) -> None:
        """Bring the symbols' status in line with the ``maintenance`` faults active now
        (TRADING again when none is), tell the connections ``serverShutdown`` as one
        starts, and make the ``flash_move`` moves whose time has come."""
        plan = self.faults
        now = self.fault_time()
        now_ms = self.now_ms()
        for symbol in self.config.symbols:
            want = plan.maintenance(symbol, now)
            had = self._in_maintenance.get(symbol)
            if want is had:
                continue
            if want is None:
                del self._in_maintenance[symbol]
                self.engine.set_symbol_status(symbol, SymbolStatus.TRADING, now_ms)
                self.history.append_fault(now_ms, "maintenance", symbol, "end: TRADING")
            else:
                self._in_maintenance[symbol] = want
                self.engine.set_symbol_status(symbol, SymbolStatus(want.status), now_ms)
                self.history.append_fault(now_ms, "maintenance", symbol, f"start: {want.status}")
            self.market.reconcile_soon(symbol)
        shutdown = False
        for fault in plan.faults:
            if any(done is fault for done in self._done):
                continue
            if isinstance(fault, Maintenance) and fault.active(now):
                self._done.append(fault)
                shutdown = shutdown or fault.shutdown
            elif isinstance(fault, FlashMove) and fault.start <= now:
                self._done.append(fault)
                for symbol in self.market.symbols:
                    if fault.covers(symbol):
                        before = self.market.reference_price(symbol)
                        self.market.flash_move(symbol, fault.percent, now_ms)
                        after = self.market.reference_price(symbol)
                        self.history.append_fault(
                            now_ms, "flash_move", symbol, f"{before} -> {after}"
                        )
        self.publish_engine_events(now_ms)  # the expired orders' reports before the goodbye
        if shutdown:
            for outbox in self._conns:
                text = server_shutdown_frame(now_ms, ws_api=outbox.ws_api, combined=outbox.combined)
                self.deliver(outbox, text, "server", "serverShutdown", now_ms)
                self.close_outbox(outbox, "maintenance")

    def _races(
        self, operation: str | None, params: Callable[[], Params | None]
    ) -> FillBeforeAck | None:
        """Before a request is worked on: a ``cancel_fill_race`` striking it has a taker
        fill the order it cancels now; a ``fill_before_ack`` striking it is returned, for
        :meth:`_fill_before_ack` once the order is placed."""
        plan = self.faults
        if operation is None or not plan.races:
            return None
        now = self.fault_time()
        if operation in CANCEL_FILL_RACE_OPERATIONS:
            if plan.cancel_fill_race(operation, now, self.fault_rng) is not None:
                self._fill_first(operation, params())
            return None
        return plan.fill_before_ack(operation, now, self.fault_rng)

    def _fill_first(self, operation: str, params: Params | None) -> None:
        if params is None:
            return
        replace = operation == "order.cancelReplace"
        try:
            symbol = params.raw("symbol")
            order_id = params.integer("cancelOrderId" if replace else "orderId")
            client_id = params.raw("cancelOrigClientOrderId" if replace else "origClientOrderId")
        except DialectFailure:
            return  # the dialect will refuse it as it stands
        view = self._open_order(symbol, order_id, client_id)
        if view is None:
            return
        now_ms = self.now_ms()
        self.market.take(view.symbol, view.side, view.price, now_ms)
        self.history.append_fault(
            now_ms, "cancel_fill_race", operation, f"{view.client_order_id} filled first"
        )
        self.publish_engine_events(now_ms)

    def _fill_before_ack(self, fault: FillBeforeAck, answer: object) -> float:
        """A taker fills the order a placement just rested (its reports published now);
        the seconds to hold the placement's answer (0.0: nothing rested to fill)."""
        if not isinstance(answer, Mapping):
            return 0.0
        symbol, order_id = answer.get("symbol"), answer.get("orderId")
        if not isinstance(symbol, str) or not isinstance(order_id, int):
            return 0.0
        view = self._open_order(symbol, order_id, None)
        if view is None:
            return 0.0
        now_ms = self.now_ms()
        self.market.take(view.symbol, view.side, view.price, now_ms)
        detail = f"{view.client_order_id} filled, answer held {fault.delay * 1000:g} ms"
        self.history.append_fault(now_ms, "fill_before_ack", "order.place", detail)
        self.publish_engine_events(now_ms)
        return max(fault.delay, 1e-9)

    def _open_order(
        self, symbol: str | None, order_id: int | None, client_id: str | None
    ) -> OrderView | None:
        """The API key's account's open order, if it names one the market can fill."""
        if symbol not in self.market.symbols or (order_id is None and client_id is None):
            return None
        assert symbol is not None
        view = self.engine.query(
            self.config.account, symbol, order_id=order_id, client_order_id=client_id
        )
        if not isinstance(view, OrderView) or not view.status.is_open or not view.price:
            return None
        return view

    async def _deliver_later(
        self, hold: float, outbox: Outbox, text: str, operation: str | None
    ) -> None:
        await trio.sleep(hold)
        self.deliver(outbox, text, WS_API_CHANNEL, "response", self.now_ms(), operation=operation)

    # ---- publishing --------------------------------------------------------------------

    def publish_engine_events(self, now_ms: int) -> None:
        """Drain the engine's events into the history and the streams."""
        events = self.engine.drain_events()
        if not events:
            return
        self.history.append_events(now_ms, events)
        if self._streamf.rewinds:
            self._streamf.record(events, now_ms)
        conns = self._conns
        for message in self.feed.on_events(events, now_ms, conns.by_stream, conns.by_account):
            if isinstance(message, StreamMessage):
                self._send_stream(message, now_ms)
            else:
                self._send_user(message, now_ms)

    def _send_stream(self, message: StreamMessage, now_ms: int) -> None:
        subscribers = self._conns.by_stream.get(message.stream)
        if not subscribers:
            return
        faulty = self._streamf.messages
        symbol = _stream_symbol(message.stream) if faulty else None
        if (
            faulty
            and message.event_type == "depthUpdate"
            and symbol is not None
            and self._streamf.gap(symbol, message.stream, now_ms)
        ):
            return
        data = message.text
        wrapped: str | None = None
        for outbox in list(subscribers):
            if outbox.combined:
                if wrapped is None:
                    wrapped = '{"stream":"' + message.stream + '","data":' + data + "}"
                text = wrapped
            else:
                text = data
            if faulty:
                self._streamf.deliver(
                    outbox, text, message.stream, message.event_type, now_ms,
                    "market_streams", symbol,
                )  # fmt: skip
            else:
                self.deliver(outbox, text, message.stream, message.event_type, now_ms)

    def _send_user(self, message: UserMessage, now_ms: int) -> None:
        subscribers = self._conns.by_account.get(message.account)
        if not subscribers:
            return
        data = dumps(message.payload)
        faulty = self._streamf.messages
        symbol = message.payload.get("s") if faulty else None
        for outbox, sub_ids in list(subscribers.items()):
            for sub_id in sub_ids:
                text = '{"subscriptionId":' + str(sub_id) + ',"event":' + data + "}"
                if faulty:
                    self._streamf.deliver(
                        outbox, text, "user", message.event_type, now_ms, "user_data",
                        symbol if isinstance(symbol, str) else None,
                    )  # fmt: skip
                else:
                    self.deliver(outbox, text, "user", message.event_type, now_ms)

    def deliver(
        self,
        outbox: Outbox,
        text: str,
        channel: str,
        event_type: str,
        now: int,
        *,
        operation: str | None = None,
    ) -> None:
        """Queue one frame for a connection; drop the connection if its outbox is full.
        ``operation``: the WebSocket API request it answers (the transport faults' target;
        any other frame is a pushed message: user data, or the market streams')."""
        if outbox.is_closed:
            return
        frame = text
        if self.faults.shapes:  # the writer asks for its delivery (self.delivery) in turn
            traffic = operation
            if traffic is None and channel != "server":
                traffic = USER_STREAM if channel == "user" else MARKET_STREAM
            if traffic is not None:
                frame = Paced(text, traffic)
        if not outbox.put(frame):
            self._dropped_slow += 1
            self.close_outbox(outbox, "slow")
            return
        self._messages_sent += 1
        self.history.append_message(channel, event_type, len(text), now)

    # ---- connections -------------------------------------------------------------------

    def open_outbox(self, *, combined: bool, ws_api: bool = False) -> Outbox:
        """A new connection's outbox (closed at once if the exchange is shutting down);
        ``ws_api`` for a WebSocket API connection, ``combined`` for a combined stream."""
        outbox = self._conns.open(
            combined=combined, capacity=self.config.streams.outbox_size, ws_api=ws_api
        )
        if self._shutting_down:
            self.close_outbox(outbox, "shutdown")
        return outbox

    def subscribe(self, outbox: Outbox, streams: Iterable[str]) -> None:
        self._conns.subscribe(outbox, streams)

    def unsubscribe(self, outbox: Outbox, streams: Iterable[str]) -> None:
        self._conns.unsubscribe(outbox, streams)

    def close_outbox(self, outbox: Outbox, reason: str) -> None:
        """Stop feeding a connection; its writer drains what is queued, then ends."""
        self._conns.close(outbox, reason)
        self._streamf.forget(outbox)

    def forget_outbox(self, outbox: Outbox) -> None:
        """The connection is gone (its handler calls this when it ends)."""
        self._conns.forget(outbox)
        self._streamf.forget(outbox)

    def announce_shutdown(self) -> None:
        """Send ``serverShutdown`` to every connection (framed for its kind: raw stream,
        combined stream or WebSocket API), then stop feeding them."""
        self._shutting_down = True
        now = self.now_ms()
        for outbox in self._conns:
            text = server_shutdown_frame(now, ws_api=outbox.ws_api, combined=outbox.combined)
            self.deliver(outbox, text, "server", "serverShutdown", now)
            self.close_outbox(outbox, "shutdown")

    async def wait_connections_closed(self) -> None:
        """Return once no connection is open (used after :meth:`announce_shutdown`)."""
        await self._conns.wait_all_closed()

    def connections(self) -> list[Outbox]:
        """The outboxes of the open connections, oldest first."""
        return list(self._conns)

    def statistics(self) -> ExchangeStatistics:
        return ExchangeStatistics(
            messages_sent=self._messages_sent,
            connections=len(self._conns),
            dropped_slow=self._dropped_slow,
        )

    def seconds_since_start(self) -> float | None:
        """The fault plan's time now: seconds since :meth:`run` started (None before)."""
        started = self._started_at
        return None if started is None else trio.current_time() - started


def _stream_symbol(stream: str) -> str | None:
    """The symbol a market stream is about (``btcusdt@depth`` -> ``BTCUSDT``; None for an
    all-market stream such as ``!miniTicker@arr``)."""
    head = stream.partition("@")[0]
    return head.upper() if head.isalnum() else None


def _session_subscriptions(session: WsApiSession) -> list[tuple[str, int]]:
    """The (account, subscriptionId) pairs a WebSocket API session receives user data for."""
    if session.subscribed_account is None:
        return []
    return [(session.subscribed_account, session.subscription_id or 0)]


def default_balances(
    instruments: Sequence[Instrument], prices: Sequence[Decimal]
) -> dict[str, Decimal]:
    """Starting balances of the API key's account: 1,000,000 of each quote asset and about
    as much of each base asset in value (rounded to its step)."""
    balances: dict[str, Decimal] = {}
    for instrument, price in zip(instruments, prices, strict=True):
        balances[instrument.quote_asset] = Decimal(1_000_000)
        amount = instrument.round_qty(Decimal(1_000_000) / price)
        balances[instrument.base_asset] = max(balances.get(instrument.base_asset, ZERO), amount)
    return balances


#: The answer that replaces a lost one (``lost_ack`` with ``mode = "unknown"``).
_LOST = DialectError(Code.TIMEOUT, ERROR_MESSAGES[Code.TIMEOUT], 503)


#: What a request a reset (before) or a black hole swallows gets instead of an answer: none.
_UNANSWERED = RestResponse(0, None, dropped=True)


def _detail(fault: Error | LostAck | Reset | Blackhole) -> str:
    """A fault entry's detail: ``503 -1008``, ``drop``, ``before``, or nothing."""
    if isinstance(fault, Error):
        return f"{fault.status} {fault.code}"
    if isinstance(fault, LostAck):
        return fault.mode
    if isinstance(fault, Reset):
        return fault.when
    return ""


def _fault_error(fault: Error) -> DialectError:
    retry = None if fault.retry_after is None else max(1, round(fault.retry_after))
    return DialectError(fault.code, ERROR_MESSAGES[fault.code], fault.status, retry)


def _rest_params(request: RestRequest) -> Params | None:
    try:
        return Params.from_rest(request.raw_query, request.raw_body)
    except DialectFailure:
        return None


def _ws_params(message: str | bytes) -> Params | None:
    try:
        frame = json.loads(message)
        return Params.from_ws(frame.get("params")) if isinstance(frame, dict) else None
    except (ValueError, DialectFailure):
        return None
