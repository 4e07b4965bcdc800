"""The bot's state at run time, shared by its tasks: orders, ledger, risk, budget, symbols.

What it is for: one object (:class:`BotState`) that the venue session, the account service
and the quoters of one bot share, so that what survives a restart survives it: a quoter
that crashes and is restarted finds its orders in the same tracker (it never forgets an
order it sent), and a restarted account service feeds the same ledger. Per symbol,
:class:`SymbolRuntime` keeps the latest book, what the last decision wanted, the halt, the
counters and the quoter's :class:`Wakeup`. :meth:`BotState.status` takes the frozen
:class:`~mmbot.bot.status.BotStatus` snapshot everything else reads.

What it must never do: do I/O or wait (it is called from many tasks, between their
checkpoints), read a clock other than the ``now`` it is given, or hold a secret.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal

import attrs
import trio

from mmbot.bot.status import BotStatus, SymbolState, SymbolStatus
from mmbot.config import BotConfig
from mmbot.model import BookSnapshot, Instrument, QuoteSet
from mmbot.model import SymbolStatus as InstrumentStatus
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.ledger import Ledger
from mmbot.quoting.orders.tracker import OrderTracker
from mmbot.quoting.pipeline import FRESH_STATE, IntensityFit, StrategyState
from mmbot.quoting.risk import Exposure, RiskEngine
from mmbot.quoting.uptime import QuoteUptime, two_sided_within
from mmbot.venue.events import Balance

#: Decision times kept per symbol for the dashboard's p95.
RECENT_DECISIONS = 512


class Wakeup:
    """A flag one task waits on and any task raises: "something changed, decide again".

    Raising it when it is already raised does nothing, so a burst of book updates while
    the quoter is busy costs one wake, not a queue of them.
    """

    __slots__ = ("_event", "_raised")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._raised = False

    @property
    def raised(self) -> bool:
        """Whether it is raised (a wake is due)."""
        return self._raised

    def set(self) -> None:
        if not self._raised:
            self._raised = True
            self._event.set()

    async def wait(self) -> None:
        """Wait until raised, then lower it (one wake per raise)."""
        while not self._raised:
            await self._event.wait()
        self._raised = False
        self._event = trio.Event()


@attrs.define(eq=False)
class SymbolRuntime:
    """One symbol's moving parts (the quoter, the account service and the handle write)."""

    symbol: str
    instrument: Instrument | None = None
    book: BookSnapshot | None = None
    wakeup: Wakeup = attrs.Factory(Wakeup)
    state: SymbolState = SymbolState.STARTING
    #: An operator's or the supervisor's halt (the risk engine keeps drawdown halts).
    halt_reason: str | None = None
    quotes: QuoteSet | None = None  # what the last decision wanted
    pull_reason: str | None = None
    strategy_state: StrategyState = FRESH_STATE
    #: The id of the newest public trade a decision was given (-1: none yet).
    last_trade_id: int = -1
    #: The last decision's taker-intensity fit (None without a calibration stage).
    intensity: IntensityFit | None = None
    decisions: int = 0
    actions: int = 0
    restarts: int = 0
    budget_short: bool = False
    decision_us: deque[float] = attrs.Factory(lambda: deque(maxlen=RECENT_DECISIONS))
    uptime: QuoteUptime = attrs.Factory(QuoteUptime)
    resumed: trio.Event = attrs.Factory(trio.Event)
    #: Set once the symbol has started: its first decision on a valid book, or a halt.
    started: trio.Event = attrs.Factory(trio.Event)

    @property
    def mid(self) -> Decimal | None:
        book = self.book
        if book is None or not book.is_valid or not book.bids or not book.asks:
            return None
        return (book.bids[0].price + book.asks[0].price) / 2

    def decision_p95_us(self) -> float | None:
        if not self.decision_us:
            return None
        ordered = sorted(self.decision_us)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


@attrs.define(eq=False)
class BotState:
    """Everything one bot's tasks share (see the module docstring)."""

    config: BotConfig
    run_id: str
    config_hash: str
    mode: str  # "live" or "sim"
    tracker: OrderTracker
    budget: OrderBudget
    started_at: float
    ledger: Ledger = attrs.Factory(Ledger)
    risk: RiskEngine = attrs.Factory(lambda self: RiskEngine(self.config.risk), takes_self=True)
    symbols: dict[str, SymbolRuntime] = attrs.Factory(dict)
    balances: dict[str, Balance] = attrs.Factory(dict)
    stopping: bool = False
    orphans_cancelled: int = 0
    orphans_adopted: int = 0
    foreign_orders: int = 0
    #: Symbols outside the config where an earlier run's orders were found (swept too).
    orphan_symbols: set[str] = attrs.Factory(set)
    breakers: dict[str, str] = attrs.Factory(dict)  # name -> state name, as transitions arrive
    intensity_headroom: dict[str, int] = attrs.Factory(dict)
    child_restarts: dict[str, int] = attrs.Factory(dict)
    #: Called when the instruments' trading status may have changed (an order refused
    #: "Market is closed.": a halt or a maintenance began); the account service sets it.
    on_status_suspect: Callable[[], None] | None = None
    #: Per symbol, the spread within which a two-sided quote counts as uptime (bps).
    _uptime_spreads: dict[str, Decimal] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for symbol in self.config.bot.symbols:
            self.symbols.setdefault(symbol, SymbolRuntime(symbol))

    @property
    def prefix(self) -> str:
        return self.config.bot.client_id_prefix

    def runtime(self, symbol: str) -> SymbolRuntime:
        return self.symbols[symbol]

    def wake_all(self) -> None:
        for runtime in self.symbols.values():
            runtime.wakeup.set()

    def set_instruments(self, instruments: Iterable[Instrument]) -> list[str]:
        """Take the venue's instruments; the symbols whose trading status changed."""
        changed: list[str] = []
        for instrument in instruments:
            runtime = self.symbols.get(instrument.symbol)
            if runtime is not None:
                before = runtime.instrument
                if before is not None and before.status is not instrument.status:
                    changed.append(instrument.symbol)
                runtime.instrument = instrument
                self.ledger.add_instrument(instrument)
        return changed

    def suspect_status(self) -> None:
        """The instruments' trading status may have changed: have it read again."""
        if self.on_status_suspect is not None:
            self.on_status_suspect()

    def halted_symbols(self) -> list[str]:
        """The configured symbols whose instrument says they are not TRADING."""
        return [
            s
            for s, r in self.symbols.items()
            if r.instrument is not None and r.instrument.status is not InstrumentStatus.TRADING
        ]

    def free(self, asset: str | None) -> Decimal | None:
        if asset is None:
            return None
        balance = self.balances.get(asset)
        return None if balance is None else balance.free

    def update_risk(self, symbol: str, now: float) -> None:
        """Tell the risk engine the symbol's exposure now (after a fill or a new mid)."""
        runtime = self.symbols[symbol]
        mid = runtime.mid
        position, pnl = self.ledger.marked(symbol, mid)
        exposure = Exposure(
            position=position,
            mid=mid,
            open_orders=len(self.tracker.live(symbol)),
            pnl=pnl,
        )
        self.risk.update(symbol, exposure, now)

    def observe_uptime(self, symbol: str, now: float) -> None:
        """Credit quote uptime: a two-sided quote of resting orders inside the max spread."""
        runtime = self.symbols[symbol]
        resting = [
            (order.side, order.price)
            for order in self.tracker.live(symbol)
            if order.state.is_resting
        ]
        max_bps = self._uptime_spreads.get(symbol)
        if max_bps is None:
            spread = self.config.strategy_for(symbol).spread.max_bps
            max_bps = self._uptime_spreads[symbol] = Decimal(str(spread)) * 2
        runtime.uptime.observe(now, two_sided_within(resting, runtime.mid, max_bps))

    def status(self, now: float) -> BotStatus:
        """The frozen snapshot of the whole bot at ``now``."""
        return BotStatus(
            run_id=self.run_id,
            mode=self.mode,
            venue=self.config.venue.kind.value,
            config_hash=self.config_hash,
            config_version=self.config.version,
            now=now,
            started_at=self.started_at,
            symbols=tuple(self._symbol_status(r, now) for r in self.symbols.values()),
            breakers=dict(self.breakers),
            restarts=sum(self.child_restarts.values()),
            intensity_headroom=dict(self.intensity_headroom),
            child_restarts=dict(self.child_restarts),
            stopping=self.stopping,
            startup_orphans_cancelled=self.orphans_cancelled,
            startup_orphans_adopted=self.orphans_adopted,
            foreign_orders=self.foreign_orders,
            total=self.ledger.statistics().total,
        )

    def _symbol_status(self, runtime: SymbolRuntime, now: float) -> SymbolStatus:
        symbol = runtime.symbol
        book = runtime.book
        view = self.ledger.view(symbol, runtime.mid)
        orders: dict[str, int] = {}
        for order in self.tracker.live(symbol):
            orders[order.state.name] = orders.get(order.state.name, 0) + 1
        halt = runtime.halt_reason or self.risk.check(symbol, now).halt_reason
        state = runtime.state
        if self.stopping:
            state = SymbolState.STOPPED
        elif halt is not None:
            state = SymbolState.HALTED
        return SymbolStatus(
            symbol=symbol,
            state=state,
            pull_reason=runtime.pull_reason if state is SymbolState.PULLED else None,
            halt_reason=halt,
            best_bid=book.bids[0].price if book is not None and book.bids else None,
            best_ask=book.asks[0].price if book is not None and book.asks else None,
            book_age_s=None if book is None else max(0.0, now - book.received_at),
            quotes=runtime.quotes,
            orders=orders,
            position=view.position,
            pnl=view.net_pnl,
            net_bps=_float(view.net_bps),
            slippage_bps=_float(view.slippage_bps),
            taker_share=_float(view.taker_share),
            markouts=view.markouts,
            fills=view.fill_count,
            volume=view.volume,
            decisions=runtime.decisions,
            actions=runtime.actions,
            quote_uptime_ratio=runtime.uptime.ratio(now),
            decision_p95_us=runtime.decision_p95_us(),
            restarts=runtime.restarts,
            budget_short=runtime.budget_short,
            calibration=runtime.intensity,
        )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
