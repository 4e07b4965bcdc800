"""Runs a chaos scenario in simulated mode and checks its invariants (trio shell).

What it is for: ``mmbot chaos run``. One run is one ``trio.run`` under trio's ``MockClock``
(``autojump_threshold=0``) with the scheduler seeded: the fake exchange (its market seeded,
its fault plan the scenario's) and the bot (``mode="sim"``, the scenario's config) in one
process, so a run takes a fraction of its simulated time and the same seed replays it bit
for bit. The run: the bot starts and quotes; the *safety phase* runs until ``duration``
seconds after the exchange started, faults striking on their timeline; then every fault is
healed (an empty plan, recorded in the history) and the *liveness phase* runs ``heal``
seconds; then the bot is stopped gracefully (its stop cancels every order it has). The
exchange's truth log and what the bot said at its end are checked against the invariants
(:mod:`mmbot.chaos.invariants`); with ``deterministic_replay`` among them the scenario runs
a second time with the same seed and the two trace digests must match.

What it must never do: read the wall clock or create randomness inside a run (everything
derives from the seed), let a bot error escape unrecorded (it is ``clean_exit``'s business),
or touch any address: a simulated run has no sockets at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import trio
import trio.testing

from mmbot.bot.bot import Bot
from mmbot.chaos.bot_side import BREAKERS_OPEN, breakers_opened
from mmbot.chaos.history import BotHistory, BreakerChange, Decision
from mmbot.chaos.invariants import check, check_replay
from mmbot.chaos.record import BotEnd, FaultWindow, RunRecord, SymbolLimits, Violation
from mmbot.chaos.scenario import Scenario, ScenarioError
from mmbot.chaos.severance import Severance
from mmbot.chaos.tap import BotTap
from mmbot.clock import derive_seed, seed_trio_scheduler
from mmbot.config import DEFAULT_CONFIG, BotConfig, config_from_dict
from mmbot.errors import ConfigError
from mmbot.quoting.stages.sizing import shape_weight
from mmbot.resilience.breaker_core import BreakerTransition
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import (
    ClockSkew,
    FaultPlan,
    FlashMove,
    Maintenance,
    RateLimit,
    WsDrop,
    WsStall,
)


@attrs.frozen
class ChaosResult:
    """One scenario's verdict: the violations per invariant checked, and the digest(s)."""

    scenario: Scenario
    seed: int
    violations: Mapping[str, list[Violation]]
    digest: str
    replay_digest: str | None
    history_entries: int
    fills: int
    orders: int
    #: What the checkers read (for the picture; not in the JSON report).
    record: RunRecord | None = attrs.field(default=None, eq=False, repr=False)
    #: How it ran: ``sim`` (replayable bit for bit) or ``live`` (processes, real time).
    mode: str = "sim"
    #: Invariants not checked in this mode, each with why (live: ``deterministic_replay``).
    skipped: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def passed(self) -> bool:
        return not any(self.violations.values())

    def replay_command(self) -> str:
        where = self.scenario.path or self.scenario.name
        live = " --mode live" if self.mode == "live" else ""
        return f"mmbot chaos run {where} --seed {self.seed}{live}"

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "path": self.scenario.path,
            "seed": self.seed,
            "passed": self.passed,
            "digest": self.digest,
            "replay_digest": self.replay_digest,
            "history_entries": self.history_entries,
            "fills": self.fills,
            "orders": self.orders,
            "faults": self.scenario.describe_faults(),
            "invariants": {
                name: [attrs.asdict(v) for v in found] for name, found in self.violations.items()
            },
            "replay": self.replay_command(),
            "mode": self.mode,
            "skipped": dict(self.skipped),
        }


def bot_config_table(scenario: Scenario) -> dict[str, Any]:
    """The bot config's tables: the default paper config's, on the scenario's symbols, with
    its sections changed (live mode writes them as the ``mmbot run`` config file)."""
    data: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_CONFIG.items()}
    data["bot"] = {**data["bot"], "symbols": list(scenario.symbols)}
    data["overrides"] = {s: o for s, o in data["overrides"].items() if s in scenario.symbols}
    for section, table in scenario.bot.items():
        data[section] = {**data.get(section, {}), **table}
    return data


def bot_config(scenario: Scenario, data: Mapping[str, Any] | None = None) -> BotConfig:
    """The bot config of :func:`bot_config_table` (or of ``data``, such tables changed);
    ScenarioError naming the scenario if it does not check."""
    if data is None:
        data = bot_config_table(scenario)
    try:
        return config_from_dict(data)
    except ConfigError as exc:
        problems = "; ".join(exc.problems)
        raise ScenarioError(f"{scenario.path or scenario.name}: bot: {problems}") from None


def check_mode(scenario: Scenario, mode: str) -> None:
    """ScenarioError unless ``scenario`` runs in ``mode`` (its ``modes`` key)."""
    where = scenario.path or scenario.name
    if mode == "sim" and scenario.kills:
        raise ScenarioError(
            f"{where}: faults: kill_bot sends a real SIGKILL to a bot process: live mode only "
            "(--mode live); simulated mode's kill -9 is crash_bot"
        )
    if mode == "live" and len(scenario.kills) != len(scenario.crashes):
        raise ScenarioError(
            f"{where}: faults: crash_bot drops an in-process bot: simulated mode only; in live "
            "mode the bot is a process: kill_bot"
        )
    if mode not in scenario.modes:
        raise ScenarioError(
            f"{where}: modes: it runs in {', '.join(scenario.modes)} mode only, not {mode}"
        )


@attrs.define
class SimRun:
    """What one simulated run left: its record, trace digest, fills and order actions."""

    record: RunRecord | None = None
    digest: str = ""
    fills: int = 0
    orders: int = 0


async def _one_run(scenario: Scenario, seed: int, config: BotConfig, out: SimRun) -> None:
    exchange = Exchange.simulated(
        ExchangeConfig(symbols=scenario.symbols, seed=seed, faults=scenario.faults)
    )
    error: str | None = None
    healed_seq = heal_seq = heal_ms = stopped_seq = 0
    bot: Bot | None = None
    trace = BotHistory()
    bot_started_ms = 0
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        started = trio.current_time()
        start_ms = exchange.now_ms()
        try:
            # A killed bot's tree winds down in the graveyard, cut off from the exchange,
            # while its successor trades: nothing it does after the cut reaches the venue.
            async with trio.open_nursery() as graveyard:
                for incarnation, crash in enumerate(scenario.crashes):
                    severance = Severance()
                    tap = BotTap(trace, exchange.now_ms, incarnation)
                    bot = _bot(config, seed, incarnation, exchange, tap, severance)
                    killed = await graveyard.start(_run_until_killed, bot, severance)
                    await trio.sleep_until(started + crash.start)
                    severance.sever()  # this instant: nothing more reaches the exchange
                    killed.cancel()
                    exchange.history.append_fault(
                        exchange.now_ms(), "crash_bot", "bot", f"run {bot.run_id} killed"
                    )
                    graveyard.start_soon(severance.drop_connections)
                    await trio.sleep(crash.restart_after)
                last = len(scenario.crashes)
                bot = _bot(config, seed, last, exchange, BotTap(trace, exchange.now_ms, last))
                bot_started_ms = exchange.now_ms()
                async with trio.open_nursery() as bot_nursery:
                    handle = await bot_nursery.start(bot.run)
                    await trio.sleep_until(started + scenario.duration)  # the safety phase
                    heal_seq, heal_ms = exchange.history.last_seq, exchange.now_ms()
                    exchange.set_faults(FaultPlan())  # every fault healed
                    await trio.sleep(scenario.heal)  # the liveness phase
                    healed_seq = exchange.history.last_seq
                    await handle.stop()
                    stopped_seq = exchange.history.last_seq
        except* Exception as group:
            error = repr(group.exceptions[0])
        nursery.cancel_scope.cancel()
    if not heal_ms:  # the bot ended before the heal: measure from the end instead
        heal_seq, heal_ms = exchange.history.last_seq, exchange.now_ms()
    status = None if bot is None else bot.last_status
    report = None if bot is None else bot.stop_report
    left = () if report is None else tuple(c for cids in report.remaining.values() for c in cids)
    symbols = () if status is None else status.symbols
    out.record = RunRecord(
        exchange.history,
        end=BotEnd(
            prefix=config.bot.client_id_prefix,
            account=exchange.config.account,
            start_ms=start_ms,
            error=error,
            orders_left=left,
            fills={s.symbol: s.fills for s in symbols},
            positions={s.symbol: s.position for s in symbols},
            healed_seq=healed_seq or exchange.history.last_seq,
            heal_seq=heal_seq,
            heal_ms=heal_ms,
            resumes_within_s=scenario.resumes_within,
            symbols=scenario.symbols,
            base_assets={i.symbol: i.base_asset for i in exchange.engine.instruments},
            ledger_since_ms=bot_started_ms,
            run_id="" if bot is None else bot.run_id,
            stopped_seq=stopped_seq,
            limits=symbol_limits(config, scenario.symbols),
            faults=fault_windows(scenario, start_ms),
        ),
        bot=trace,
    )
    out.digest = exchange.history.digest()
    out.fills = sum(s.fills for s in symbols)
    out.orders = sum(s.actions for s in symbols)


def _bot(
    config: BotConfig,
    seed: int,
    incarnation: int,
    exchange: Exchange,
    tap: BotTap,
    severance: Severance | None = None,
) -> Bot:
    """The bot of one incarnation: the run's seed for the first, one derived from it for
    each restart (a restarted process draws a fresh seed, hence a new run id). Its links go
    through ``tap`` (what it sends and receives is recorded) and then ``severance`` (a
    crash cuts them), so the tap sees a cut link as the bot does."""
    own = seed if incarnation == 0 else derive_seed(seed, f"incarnation-{incarnation}")

    def on_breaker(transition: BreakerTransition) -> None:
        # told when the breaker is next looked at: back-date it to when it happened
        late_ms = round((trio.current_time() - transition.at) * 1000)
        tap.history.breaker(
            BreakerChange(
                exchange.now_ms() - late_ms,
                incarnation,
                transition.breaker,
                transition.to_state.value,
            )
        )

    def on_decision(symbol: str, book_age: float, pulled: str | None, actions: int) -> None:
        tap.history.decision(
            Decision(exchange.now_ms(), incarnation, symbol, book_age, pulled, actions)
        )

    if severance is None:
        return Bot(
            config,
            mode="sim",
            seed=own,
            exchange=exchange,
            wrap_transport=tap.wrap_transport,
            wrap_connector=tap.wrap_connector,
            on_breaker=on_breaker,
            on_decision=on_decision,
        )
    cut = severance
    return Bot(
        config,
        mode="sim",
        seed=own,
        exchange=exchange,
        wrap_transport=lambda inner: tap.wrap_transport(cut.wrap_transport(inner)),
        wrap_connector=lambda inner: tap.wrap_connector(cut.wrap_connector(inner)),
        on_breaker=on_breaker,
        on_decision=on_decision,
    )


#: How long after a flash move its symbols' quotes are still its doing (``symbol_isolation``).
FLASH_EFFECT_S = 5.0


def fault_windows(scenario: Scenario, start_ms: int) -> tuple[FaultWindow, ...]:
    """The scenario's faults as ``symbol_isolation`` reads them: each one's window (times
    from the exchange's start at ``start_ms``) and the symbols it is aimed at (None: not
    aimed: a venue-wide fault, or one on requests or connections of every symbol). A crash
    touches every symbol from its instant to the heal (the restarted bot starts over)."""

    def ms(seconds: float) -> int:
        return start_ms + round(seconds * 1000)

    windows: list[FaultWindow] = []
    for fault in scenario.faults.faults:
        symbols: frozenset[str] | None
        if isinstance(fault, FlashMove):
            windows.append(
                FaultWindow(
                    ms(fault.start),
                    ms(fault.start + FLASH_EFFECT_S),
                    None if fault.symbols is None else frozenset(fault.symbols),
                    fault.describe(),
                )
            )
            continue
        if isinstance(fault, Maintenance):
            symbols = None if fault.symbols is None else frozenset(fault.symbols)
        elif isinstance(fault, RateLimit | ClockSkew | WsDrop | WsStall):
            symbols = None  # venue-wide; or a connection, which carries every symbol's data
        elif fault.target.streams is not None and fault.target.streams & {"ws_api", "user_data"}:
            symbols = None  # the WebSocket API and user data are never one symbol's
        else:
            symbols = fault.target.symbols
        stop = scenario.duration if fault.duration is None else fault.start + fault.duration
        windows.append(FaultWindow(ms(fault.start), ms(stop), symbols, fault.describe()))
    windows += [
        FaultWindow(ms(crash.start), ms(scenario.duration), None, crash.describe())
        for crash in scenario.crashes
    ]
    return tuple(windows)


def symbol_limits(config: BotConfig, symbols: Iterable[str]) -> dict[str, SymbolLimits]:
    """What the bot's quoting allows on each symbol: its stale threshold, its maximum
    position and its largest single order (the level sizes of its sizing table)."""
    limits: dict[str, SymbolLimits] = {}
    for symbol in symbols:
        strategy = config.strategy_for(symbol)
        sizing = strategy.sizing
        weights = [
            shape_weight(sizing.shape, sizing.shape_factor, level) for level in range(sizing.levels)
        ]
        largest = sizing.order_size * Decimal(str(max(weights)))
        limits[symbol] = SymbolLimits(strategy.guards.stale_after, sizing.max_position, largest)
    return limits


async def _run_until_killed(
    bot: Bot,
    severance: Severance,
    *,
    task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``bot`` until the scope it reports (at once) is cancelled, after its links were
    cut. An error before the cut is the bot's own and propagates; after it, the dead
    process's errors (its cancellation path failing to reach the venue) are nobody's."""
    with trio.CancelScope() as killed:
        task_status.started(killed)  # at once: a crash may come while the bot still starts
        try:
            await bot.run()
        except* Exception:
            if not severance.severed:
                raise


def run_once(scenario: Scenario, seed: int, config: BotConfig | None = None) -> SimRun:
    """One simulated run of ``scenario`` with ``seed`` (deterministic)."""
    config = config or bot_config(scenario)
    out = SimRun()
    seed_trio_scheduler(seed)
    trio.run(
        _one_run, scenario, seed, config, out, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    return out


def run_scenario(
    scenario: Scenario,
    *,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChaosResult:
    """Run ``scenario`` (with ``seed``, else its own) and check its invariants."""
    seed = scenario.seed if seed is None else seed
    check_mode(scenario, "sim")
    config = bot_config(scenario)  # a bad config fails here, before anything runs
    say = progress or (lambda _text: None)
    say(f"run 1 (seed {seed})")
    first = run_once(scenario, seed, config)
    assert first.record is not None
    violations = check(first.record, scenario.invariants)
    replay: str | None = None
    if "deterministic_replay" in scenario.invariants:
        say(f"run 2 (seed {seed} again: deterministic replay)")
        second = run_once(scenario, seed, config)
        replay = second.digest
        violations["deterministic_replay"] = check_replay(first.digest, second.digest)
    ordered = {name: violations.get(name, []) for name in scenario.invariants}
    if scenario.breakers_open:
        ordered[BREAKERS_OPEN] = breakers_opened(first.record, scenario.breakers_open)
    return ChaosResult(
        scenario=scenario,
        seed=seed,
        violations=ordered,
        digest=first.digest,
        replay_digest=replay,
        history_entries=first.record.history.last_seq,
        fills=first.fills,
        orders=first.orders,
        record=first.record,
    )
