"""``mmbot bench loopback``: the bot against the fake exchange over real sockets, measured.

What it is for: the one scenario runner behind ``mmbot bench audit``, ``scaling``,
``reaction`` and ``throughput`` (each picks a scenario and prints its goals), and a bench
of its own for any other scenario (``--symbols``, ``--order-latency``, ``--seconds``,
``--price-tolerance-bps``, ``--levels``, ``--baseline``). One run:

- the fake exchange runs in a **child process** (``multiprocessing``, spawn) on 127.0.0.1
  through ``mmbot.sim.serve.serve_exchange``: hypercorn for REST, trio-websocket for the
  streams and the WebSocket API, pinned to its own CPU and the bot to the others
  (:func:`pin_apart`, where the OS allows it), as a real venue would be;
- the exchange's rate limits (``RateLimits``) and the bot's (the order budget and the REST
  client's limiter, through ``Bot(adjust_venue=)``) are lifted, and the bot's HTTP pool
  widened to 4 clients x 64 connections, so that limits are not what is measured;
- the bot (:class:`~mmbot.bot.bot.Bot`, ``venue.kind = "loopback"``) runs in this process
  with :class:`RecordingMetrics`, which keeps the raw samples of the quote cycle (a
  decision's book received -> every action of it answered) and of tick-to-order (book
  received -> order request started), for exact percentiles;
- with ``baseline``, :class:`SequentialBaseline` runs at the same time on the same
  exchange and symbols: the audited predecessor's loop (symbols one after another, each
  symbol's actions awaited one by one), built from the same venue adapter, pipeline,
  reconcile and order bookkeeping as the bot. Both account on the one API key of the fake
  exchange (each books the other's rare fills in its ledger too: position-based sizing
  barely notices).

Samples are taken in a window of ``seconds`` that starts ``warmup`` seconds after the bot
reports every symbol quoting; decisions and actions are counted over the same window. Then
the exchange's faults are healed (``Exchange.set_faults``), so that the bot's graceful stop
(symbols stopped one after another, each cancelling its orders) is not a round trip per
symbol, and the bot is stopped. A script calling :func:`run_scenario` needs the usual
``if __name__ == "__main__":`` guard (the exchange process is spawned).

What it must never do: assert on time (it prints figures); bind anything but 127.0.0.1;
run unbounded (every wait has a deadline, the window has a length); read the wall clock
except through ``mmbot.clock.perf_counter_ns`` (``time.process_time`` measures CPU only).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import trio

from mmbot.bench import machine, median, percentile
from mmbot.bot.account import AccountService
from mmbot.bot.actions import OrderActions
from mmbot.bot.bot import Bot
from mmbot.bot.metrics import BotMetrics
from mmbot.bot.state import BotState, Wakeup
from mmbot.clock import EpochClock, derive_rng, perf_counter_ns
from mmbot.config import DEFAULT_CONFIG, BotConfig, config_from_dict, config_hash
from mmbot.model import BookSnapshot
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders.client_ids import ClientIdFactory, make_run_id
from mmbot.quoting.orders.reconcile import Action, Tolerances, reconcile
from mmbot.quoting.orders.tracker import OrderTracker
from mmbot.quoting.pipeline import QuoteInputs
from mmbot.quoting.strategy import build_pipeline
from mmbot.resilience.ratelimit_core import BINANCE_SPOT_RULES
from mmbot.sim.dialect import RateLimits
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import FaultPlan
from mmbot.sim.history import EntryKind, FaultRecord, RequestRecord
from mmbot.sim.serve import serve_exchange
from mmbot.venue.binance.rest_http import ClientLayout
from mmbot.venue.connect import VenueSpec, connect_venue

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from mmbot.venue.binance.venue import BinanceVenue

#: The symbols of the default config (``mmbot run``'s paper trading).
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
API_KEY = "bench-key"
API_SECRET = "bench-secret"
ENVIRON = {"MMBOT_API_KEY": API_KEY, "MMBOT_API_SECRET": API_SECRET}
#: Every limit multiplied by this: out of reach, so limits are not what is measured.
LIFT = 1_000_000
LIFTED_RULES = tuple(attrs.evolve(rule, limit=rule.limit * LIFT) for rule in BINANCE_SPOT_RULES)
_LIMITS = RateLimits()
LIFTED_EXCHANGE_LIMITS = attrs.evolve(
    _LIMITS,
    request_weight_per_minute=_LIMITS.request_weight_per_minute * LIFT,
    orders_per_10s=_LIMITS.orders_per_10s * LIFT,
    orders_per_day=_LIMITS.orders_per_day * LIFT,
    raw_requests_per_5min=_LIMITS.raw_requests_per_5min * LIFT,
)
#: The bot's HTTP pool in these runs: room for every request in flight at 64 symbols.
WIDE_LAYOUT = ClientLayout(clients=4, max_connections=64, max_keepalive_connections=64)
#: How long the exchange process gets to start, and to report when asked to stop.
CHILD_TIMEOUT = 60.0
#: The bot's shutdown (cancel everything, check none remains) and the baseline's sweep.
STOP_TIMEOUT = 30.0
#: Orders of the generic symbols (``SYM01USDT``...: price 100, step 0.01) are ~60 USDT.
GENERIC_SIZING = {"order_size": "0.6", "max_position": "6"}


def generic_symbols(count: int) -> tuple[str, ...]:
    """``SYM01USDT``, ``SYM02USDT``, ...: names the fake exchange makes instruments for
    (BASE+USDT: price 100, tick 0.01, step 0.01, default activity)."""
    return tuple(f"SYM{n:02d}USDT" for n in range(1, count + 1))


# -- the scenario -----------------------------------------------------------------------------


@attrs.frozen
class Scenario:
    """One loopback run (see the module docstring)."""

    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    seconds: float = 20.0  # the measured window
    warmup: float = 2.0  # after every symbol quotes, before the window
    order_latency: float = 0.0  # seconds the exchange holds every order request
    price_tolerance_bps: Decimal | None = None  # None: the config's default (2)
    levels: int | None = None  # quotes per side (None: the config's default, 1)
    baseline: bool = False
    seed: int = 1

    def describe(self) -> str:
        tolerance = "default" if self.price_tolerance_bps is None else self.price_tolerance_bps
        return (
            f"{len(self.symbols)} symbols, order latency {self.order_latency * 1000:g} ms, "
            f"price tolerance {tolerance} bps, levels {self.levels or 1}, "
            f"window {self.seconds:g} s after {self.warmup:g} s of warm-up, seed {self.seed}"
        )


@attrs.frozen
class Figures:
    """What one bot did in the window."""

    cycles: tuple[float, ...]  # quote cycles, seconds
    ticks: tuple[float, ...]  # tick-to-order, seconds
    decisions: int
    actions: int
    seconds: float  # the window's length, measured
    cpu_seconds: float  # this process's CPU time in the window (both bots, if two)


@attrs.frozen
class ExchangeReport:
    """What the exchange process saw over the whole run (start-up and shutdown included)."""

    requests: int
    order_requests: int
    too_many: int  # 429s
    bans: int  # 418s
    faults: int  # requests held by the fault plan
    cpu_seconds: float


@attrs.frozen
class LoopbackRun:
    scenario: Scenario
    ours: Figures
    baseline: Figures | None
    exchange: ExchangeReport


# -- raw samples from the bot's observers -----------------------------------------------------


class RecordingMetrics(BotMetrics):
    """The bot's metrics, plus the raw quote-cycle and tick-to-order samples taken while
    ``recording`` is set."""

    def __init__(self, symbols: Sequence[str]) -> None:
        super().__init__(symbols=symbols)
        self.recording = False
        self.cycles: list[float] = []
        self.ticks: list[float] = []

    def observe_quote_cycle(self, symbol: str, seconds: float) -> None:
        if self.recording:
            self.cycles.append(seconds)
        super().observe_quote_cycle(symbol, seconds)

    def observe_tick_to_order(self, symbol: str, seconds: float) -> None:
        if self.recording:
            self.ticks.append(seconds)
        super().observe_tick_to_order(symbol, seconds)


# -- configs ----------------------------------------------------------------------------------


def bot_config(scenario: Scenario, rest_port: int, ws_port: int, prefix: str = "mm") -> BotConfig:
    """The default paper config on loopback for ``scenario``'s symbols."""
    data: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_CONFIG.items()}
    symbols = scenario.symbols
    data["bot"] = {**data["bot"], "symbols": list(symbols), "client_id_prefix": prefix}
    data["overrides"] = {s: o for s, o in data["overrides"].items() if s in symbols}
    sizing: dict[str, Any] = {}
    if any(s not in DEFAULT_SYMBOLS for s in symbols):
        sizing.update(GENERIC_SIZING)
    if scenario.levels is not None:
        sizing["levels"] = scenario.levels
    if sizing:
        data["strategy"] = {**data["strategy"], "sizing": sizing}
    data["venue"] = {"kind": "loopback", "rest_port": rest_port, "ws_port": ws_port}
    data["metrics"] = {"listen": ""}
    if scenario.price_tolerance_bps is not None:
        data["orders"] = {"price_tolerance_bps": str(scenario.price_tolerance_bps)}
    return config_from_dict(data)


def lift_venue(spec: VenueSpec) -> VenueSpec:
    """The venue spec with :data:`LIFTED_RULES` and :data:`WIDE_LAYOUT`."""
    rest = attrs.evolve(spec.config.rest, rate_limits=LIFTED_RULES, layout=WIDE_LAYOUT)
    return attrs.evolve(spec, config=attrs.evolve(spec.config, rest=rest))


def exchange_config(scenario: Scenario) -> ExchangeConfig:
    return ExchangeConfig(
        symbols=scenario.symbols,
        seed=scenario.seed,
        api_key=API_KEY,
        api_secret=API_SECRET,
        rate_limits=LIFTED_EXCHANGE_LIMITS,
        history_max_bulk=50_000,
        faults=FaultPlan.order_latency(scenario.order_latency),
    )


# -- the exchange in a child process ------------------------------------------------------------


def serve_in_child(config: ExchangeConfig, conn: Connection) -> None:
    """The child process: serve ``config`` on 127.0.0.1, send the ports, and when told to
    stop (or when the parent goes away) send what the exchange saw, then end."""
    trio.run(_serve_in_child, config, conn)


async def _serve_in_child(config: ExchangeConfig, conn: Connection) -> None:
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    async with trio.open_nursery() as nursery:
        info = await nursery.start(partial(serve_exchange, exchange, host="127.0.0.1"))
        conn.send((info.rest_port, info.ws_port))
        while True:
            try:
                command = await trio.to_thread.run_sync(conn.recv)
            except EOFError:  # the parent went away
                break
            if command == HEAL:
                exchange.set_faults(FaultPlan())
                conn.send(HEAL)
            else:
                conn.send(_exchange_report(exchange))
                break
        nursery.cancel_scope.cancel()


def _exchange_report(exchange: Exchange) -> ExchangeReport:
    requests = [
        e.payload
        for e in exchange.history.entries(EntryKind.REQUEST)
        if isinstance(e.payload, RequestRecord)
    ]
    orders = ("/api/v3/order", "/api/v3/order/cancelReplace", "/api/v3/openOrders")
    ws_orders = ("order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll")
    return ExchangeReport(
        requests=len(requests),
        order_requests=sum(
            1
            for r in requests
            if (r.path in orders and r.method != "GET")
            or (r.transport == "ws_api" and r.path in ws_orders)
        ),
        too_many=sum(1 for r in requests if r.status == 429),
        bans=sum(1 for r in requests if r.status == 418),
        faults=sum(
            1
            for e in exchange.history.entries(EntryKind.FAULT)
            if isinstance(e.payload, FaultRecord) and e.payload.name == "latency"
        ),
        cpu_seconds=time.process_time(),
    )


#: What the parent sends the exchange process to lift its faults (before the bot stops).
HEAL = "heal"


class ExchangeProcess:
    """The fake exchange in a child process (``with ExchangeProcess(config) as ports:``)."""

    def __init__(self, config: ExchangeConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=serve_in_child, args=(config, child_conn), daemon=True
        )
        self.report: ExchangeReport | None = None
        self._saved_affinity: set[int] | None = None

    def __enter__(self) -> tuple[int, int]:
        self._process.start()
        if not self._conn.poll(CHILD_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the exchange process did not start")
        rest_port, ws_port = self._conn.recv()
        pid = self._process.pid
        self._saved_affinity = None if pid is None else pin_apart(pid)
        return int(rest_port), int(ws_port)

    def heal(self) -> None:
        """Lift the exchange's faults (blocking: call it through ``trio.to_thread``)."""
        self._conn.send(HEAL)
        if not self._conn.poll(CHILD_TIMEOUT) or self._conn.recv() != HEAL:
            raise RuntimeError("the exchange process did not heal")

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
            if self._conn.poll(CHILD_TIMEOUT):
                self.report = self._conn.recv()
        except (BrokenPipeError, EOFError, OSError):
            pass
        finally:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)
            if self._saved_affinity is not None:
                os.sched_setaffinity(0, self._saved_affinity)


def pin_apart(child_pid: int) -> set[int] | None:
    """Put the exchange's process on the last CPU and this one (the bot) on the others, so
    that neither is preempted by the other mid-request (on a real venue they are different
    machines); the CPUs this process had, to restore, or None where it cannot be done."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    mine = os.sched_getaffinity(0)
    if len(mine) < 2:
        return None
    last = max(mine)
    os.sched_setaffinity(child_pid, {last})
    os.sched_setaffinity(0, mine - {last})
    return mine


def pinning_line() -> str:
    """Where the two processes run (see :func:`pin_apart`)."""
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        return "cpus:        one CPU: the exchange and the bot share it"
    return "cpus:        the exchange's process pinned to the last CPU, the bot to the others"


# -- the sequential baseline --------------------------------------------------------------------


class SequentialBaseline:
    """The audited predecessor: symbols one after another, each symbol's actions awaited
    one by one (a baseline for the benchmarks, not a product feature).

    Its loop takes each symbol in turn; when the symbol's book has changed since it last
    decided on it, it decides with the bot's pipeline and ``reconcile`` against the same
    kind of order tracker, then sends the actions one at a time through the bot's
    :class:`~mmbot.bot.actions.OrderActions`, waiting for each answer before the next. A
    quote cycle is measured as the bot's is: the book decided on received -> its last
    action answered.
    """

    def __init__(self, config: BotConfig, venue: BinanceVenue, seed: int) -> None:
        run_id = make_run_id(derive_rng(seed, "baseline-run-id"))
        self.config = config
        self.venue = venue
        self.state = BotState(
            config=config,
            run_id=run_id,
            config_hash=config_hash(config),
            mode="live",
            tracker=OrderTracker(ClientIdFactory(config.bot.client_id_prefix, run_id)),
            budget=OrderBudget(()),  # the limits are lifted in these runs
            started_at=trio.current_time(),
        )
        self.actions = OrderActions(self.state, venue)
        self.account = AccountService(self.state, venue)
        self.pipelines = {s: build_pipeline(config.strategy_for(s)) for s in config.bot.symbols}
        orders = config.orders
        self.tolerances = Tolerances(orders.price_tolerance_bps, orders.size_tolerance_ratio)
        self.changed = Wakeup()
        self.recording = False
        self.cycles: list[float] = []

    def decisions(self) -> int:
        return sum(r.decisions for r in self.state.symbols.values())

    def action_count(self) -> int:
        return sum(r.actions for r in self.state.symbols.values())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Quote until cancelled (ready once every symbol has a valid book)."""
        state = self.state
        instruments = await self.venue.instruments()
        balances = await self.venue.balances()
        if instruments.value is None or balances.value is None:
            raise RuntimeError(f"baseline start-up: {instruments.reason or balances.reason}")
        state.set_instruments(instruments.value)
        state.balances.update({b.asset: b for b in balances.value})
        async with trio.open_nursery() as nursery:
            for symbol in self.config.bot.symbols:
                nursery.start_soon(self._read_books, symbol)
            nursery.start_soon(self._read_user)
            while not all(r.book is not None and r.book.is_valid for r in state.symbols.values()):
                await self.changed.wait()
            task_status.started()
            await self._loop()

    async def stop(self) -> None:
        """Cancel every order of the baseline still open (one by one, per symbol)."""
        for symbol in self.config.bot.symbols:
            await self.actions.sweep(symbol)

    async def _read_books(self, symbol: str) -> None:
        runtime = self.state.runtime(symbol)
        async with self.venue.book_stream(symbol) as books:
            async for book in books:
                runtime.book = book
                self.changed.set()

    async def _read_user(self) -> None:
        async with self.venue.user_stream() as events:
            async for event in events:
                self.account.on_event(event, trio.current_time())

    async def _loop(self) -> None:
        decided: dict[str, BookSnapshot] = {}
        while True:
            acted = False
            for symbol in self.config.bot.symbols:
                book = self.state.runtime(symbol).book
                if book is None or decided.get(symbol) is book:
                    continue
                decided[symbol] = book
                acted = True
                actions = self._decide(symbol, book)
                for action in actions:
                    async with trio.open_nursery() as one:  # this action, and only it
                        self.actions.start(one, symbol, action)
                if actions and self.recording:
                    self.cycles.append(trio.current_time() - book.received_at)
            if not acted:
                await self.changed.wait()

    def _decide(self, symbol: str, book: BookSnapshot) -> list[Action]:
        state = self.state
        runtime = state.runtime(symbol)
        instrument = runtime.instrument
        if instrument is None:
            return []
        now = trio.current_time()
        view = state.ledger.view(symbol, runtime.mid)
        inputs = QuoteInputs(
            symbol=symbol,
            instrument=instrument,
            now=now,
            book=book,
            params=self.config.strategy_for(symbol),
            position=view.position,
            base_free=state.free(instrument.base_asset),
            quote_free=state.free(instrument.quote_asset),
        )
        decision, _ = self.pipelines[symbol].run(inputs, perf_counter_ns, runtime.strategy_state)
        runtime.strategy_state = decision.state
        runtime.decisions += 1
        quotes = decision.quotes
        if quotes is None:
            return []
        return reconcile(quotes, state.tracker.live(symbol), now, self.tolerances)


# -- one run ----------------------------------------------------------------------------------


def run_scenario(scenario: Scenario) -> LoopbackRun:
    """Run ``scenario`` (an exchange process, the bot, maybe the baseline) and measure."""
    exchange = ExchangeProcess(exchange_config(scenario))
    with exchange as (rest_port, ws_port):
        ours, baseline = trio.run(_run, scenario, exchange, rest_port, ws_port)
    report = exchange.report or ExchangeReport(0, 0, 0, 0, 0, float("nan"))
    return LoopbackRun(scenario, ours, baseline, report)


async def _run(
    scenario: Scenario, exchange: ExchangeProcess, rest_port: int, ws_port: int
) -> tuple[Figures, Figures | None]:
    config = bot_config(scenario, rest_port, ws_port)
    metrics = RecordingMetrics(scenario.symbols)
    bot = Bot(
        config,
        mode="live",
        seed=scenario.seed,
        environ=ENVIRON,
        metrics=metrics,
        adjust_venue=lift_venue,
    )
    baseline: SequentialBaseline | None = None
    async with trio.open_nursery() as nursery:
        with trio.fail_after(CHILD_TIMEOUT):
            handle = await nursery.start(bot.run)
            if scenario.baseline:
                baseline = await nursery.start(_run_baseline, scenario, rest_port, ws_port)
        await trio.sleep(scenario.warmup)
        decisions, actions = _counts(bot)
        base_counts = (0, 0)
        if baseline is not None:
            base_counts = (baseline.decisions(), baseline.action_count())
        metrics.recording = True
        if baseline is not None:
            baseline.recording = True
        started, cpu_started = perf_counter_ns(), time.process_time()
        await trio.sleep(scenario.seconds)
        wall = (perf_counter_ns() - started) / 1e9
        cpu = time.process_time() - cpu_started
        metrics.recording = False
        if baseline is not None:
            baseline.recording = False
        after = _counts(bot)
        ours = Figures(
            tuple(metrics.cycles), tuple(metrics.ticks),
            after[0] - decisions, after[1] - actions, wall, cpu,
        )  # fmt: skip
        theirs = None
        if baseline is not None:
            theirs = Figures(
                tuple(baseline.cycles), (), baseline.decisions() - base_counts[0],
                baseline.action_count() - base_counts[1], wall, cpu,
            )  # fmt: skip
        # Measured: the latency goes, so the stop (symbols one after another, each
        # cancelling its orders) does not take a round trip per symbol.
        if scenario.order_latency > 0:
            await trio.to_thread.run_sync(exchange.heal)
        with trio.move_on_after(STOP_TIMEOUT):
            await handle.stop()
        nursery.cancel_scope.cancel()
    return ours, theirs


def _counts(bot: Bot) -> tuple[int, int]:
    status = bot.status()
    return sum(s.decisions for s in status.symbols), sum(s.actions for s in status.symbols)


async def _run_baseline(
    scenario: Scenario,
    rest_port: int,
    ws_port: int,
    *,
    task_status: trio.TaskStatus[SequentialBaseline] = trio.TASK_STATUS_IGNORED,
) -> None:
    config = bot_config(scenario, rest_port, ws_port, prefix="seq")
    spec = lift_venue(VenueSpec.loopback(rest_port, ws_port, scenario.symbols, seed=scenario.seed))
    async with connect_venue(spec, environ=ENVIRON) as venue:
        baseline = SequentialBaseline(config, venue, scenario.seed)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(baseline.run)
                task_status.started(baseline)
        finally:
            with trio.move_on_after(STOP_TIMEOUT, shield=True):
                await baseline.stop()


# -- printing -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def percentiles_line(samples: Sequence[float], unit: Callable[[float], str] = ms) -> str:
    """``P50 x  P95 y  P99 z  (n=N)``, or a note when there is no sample."""
    if not samples:
        return "no sample in the window"
    return (
        f"P50 {unit(median(samples))}  P95 {unit(percentile(samples, 0.95))}  "
        f"P99 {unit(percentile(samples, 0.99))}  (n={len(samples)})"
    )


def p95(samples: Sequence[float]) -> float:
    return percentile(samples, 0.95) if samples else float("nan")


def limits_line() -> str:
    return (
        f"limits:      lifted x{LIFT:,} at the exchange (RateLimits) and in the bot (order "
        f"budget, REST limiter); HTTP pool {WIDE_LAYOUT.clients} clients x "
        f"{WIDE_LAYOUT.max_connections} connections: limits are not what is measured\n"
        f"  {pinning_line()}"
    )


def exchange_line(report: ExchangeReport) -> str:
    return (
        f"exchange:    {report.requests} requests ({report.order_requests} order requests, "
        f"{report.faults} held by the latency fault), 429s {report.too_many}, "
        f"418s {report.bans}, cpu {report.cpu_seconds:.1f} s (its own process)"
    )


def print_run(run: LoopbackRun) -> None:
    """Every figure of one run (``mmbot bench loopback``)."""
    ours = run.ours
    print(f"  quote cycle, ours:       {percentiles_line(ours.cycles)}")
    if run.baseline is not None:
        print(f"  quote cycle, sequential: {percentiles_line(run.baseline.cycles)}")
    print(f"  tick to order, ours:     {percentiles_line(ours.ticks)}")
    print(
        f"  ours in the window:      {ours.decisions / ours.seconds:,.1f} decisions/s, "
        f"{ours.actions / ours.seconds:,.1f} actions/s, "
        f"{ours.actions / max(1, ours.decisions):.2f} actions per decision"
    )
    print(
        f"  bot process cpu:         {ours.cpu_seconds:.1f} s in {ours.seconds:.1f} s "
        f"({ours.cpu_seconds / ours.seconds:.0%})"
    )
    print(f"  {exchange_line(run.exchange)}")
    print(f"  {limits_line()}")


def scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, help="the measured window (seconds)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before the window")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny run (for the smoke test)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench loopback", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--symbols", type=int, default=4, help="how many (4: the default ones)")
    parser.add_argument("--order-latency", type=float, default=0.0, metavar="MS")
    parser.add_argument("--price-tolerance-bps", type=Decimal, default=None)
    parser.add_argument("--levels", type=int, default=None)
    parser.add_argument("--baseline", action="store_true", help="run the sequential baseline")
    scenario_arguments(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.symbols <= 99:
        parser.error("--symbols must be within 1..99")
    symbols = DEFAULT_SYMBOLS if args.symbols == 4 else generic_symbols(args.symbols)
    scenario = Scenario(
        symbols=symbols[:2] if args.quick else symbols,
        seconds=0.5 if args.quick else (args.seconds or 20.0),
        warmup=0.0 if args.quick else args.warmup,
        order_latency=args.order_latency / 1000,
        price_tolerance_bps=args.price_tolerance_bps,
        levels=args.levels,
        baseline=args.baseline,
        seed=args.seed,
    )
    print(f"bench loopback: {scenario.describe()}")
    print_run(run_scenario(scenario))
    print(f"  machine:     {machine()}")
    return 0
