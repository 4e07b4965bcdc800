"""What the bot reports about itself: frozen status values (sans-IO).

What it is for: :class:`BotStatus`, the one snapshot ``BotHandle.status()`` returns and that
the terminal dashboard, the ``/metrics`` gauges, the exit summary and the tests all read:
per symbol (:class:`SymbolStatus`) its state, book, quotes, orders, position, PnL and edge,
restarts and halts; for the whole bot its breakers, run id and config identity.

What it must never do: hold a live object (a tracker, a channel, a breaker): everything
here is a copy taken at one instant, safe to keep and compare; hold a secret.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal

import attrs

from mmbot.model import QuoteSet
from mmbot.quoting.ledger_views import LedgerView, Markout
from mmbot.quoting.pipeline import IntensityFit


class SymbolState(enum.Enum):
    """Where one symbol's quoter is."""

    STARTING = "starting"  # reconciling at start-up, or waiting for its first valid book
    QUOTING = "quoting"  # two-sided (or one-sided by limits) quotes wanted and placed
    PULLED = "pulled"  # no quotes for now, for ``pull_reason`` (stale book, breaker, ...)
    HALTED = "halted"  # stopped by a halt (operator, kill switch, restart intensity)
    STOPPED = "stopped"  # the bot is stopping or stopped


@attrs.frozen
class SymbolStatus:
    """One symbol at one instant."""

    symbol: str
    state: SymbolState
    pull_reason: str | None = None  # why no quotes now (PULLED), e.g. "stale_book"
    halt_reason: str | None = None  # why halted (HALTED), e.g. "restart_intensity"
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    book_age_s: float | None = None  # since the last book update; None before the first
    quotes: QuoteSet | None = None  # what the last decision wanted
    #: Live orders by tracker state name (``OPEN``, ``PENDING_NEW``, ``UNRESOLVED``, ...).
    orders: Mapping[str, int] = attrs.field(factory=dict)
    position: Decimal = Decimal(0)  # base units, signed
    pnl: Decimal = Decimal(0)  # quote currency, marked to mid
    net_bps: float | None = None
    slippage_bps: float | None = None
    taker_share: float | None = None
    markouts: tuple[Markout, ...] = ()  # notional-weighted, at 1, 10 and 60 s
    fills: int = 0
    volume: Decimal = Decimal(0)  # quote currency traded
    decisions: int = 0
    actions: int = 0  # order requests sent (place, cancel, cancel-replace)
    quote_uptime_ratio: float | None = None  # time two-sided inside the max spread / time
    decision_p95_us: float | None = None  # pipeline time, recent decisions
    restarts: int = 0  # of this symbol's quoter
    budget_short: bool = False  # the shared order budget is holding this symbol back
    #: The last decision's taker-intensity fit (the calibration stage), or None.
    calibration: IntensityFit | None = None

    @property
    def open_orders(self) -> int:
        return sum(self.orders.values())


@attrs.frozen
class BotStatus:
    """The whole bot at one instant (``BotHandle.status()``)."""

    run_id: str
    mode: str  # "live" or "sim"
    venue: str  # "sim", "loopback", "testnet" or "live"
    config_hash: str
    config_version: int
    now: float  # trio time of the snapshot
    started_at: float  # trio time the bot started
    symbols: tuple[SymbolStatus, ...] = ()
    breakers: Mapping[str, str] = attrs.field(factory=dict)  # name -> state name
    restarts: int = 0  # every restart in the tree
    #: Restarts each supervisor may still take within its period before it escalates.
    intensity_headroom: Mapping[str, int] = attrs.field(factory=dict)
    #: Restarts per child, by the child's path in the tree ("symbols/BTCUSDT/quoter").
    child_restarts: Mapping[str, int] = attrs.field(factory=dict)
    stopping: bool = False
    #: Orders of an earlier run found at start-up and what was done with them.
    startup_orphans_cancelled: int = 0
    startup_orphans_adopted: int = 0
    foreign_orders: int = 0  # open orders without our prefix, left alone
    #: The ledger's view of all symbols together (``Ledger.statistics().total``): the exact
    #: bot-wide ratios (slippage and markouts cannot be derived from the per-symbol figures).
    #: None when the bot did not give it; the exit summary then leaves those totals out.
    total: LedgerView | None = None

    def symbol(self, symbol: str) -> SymbolStatus:
        for status in self.symbols:
            if status.symbol == symbol:
                return status
        raise KeyError(symbol)

    @property
    def halts(self) -> tuple[tuple[str, str], ...]:
        """(symbol, reason) of every halted symbol."""
        return tuple((s.symbol, s.halt_reason) for s in self.symbols if s.halt_reason is not None)


def horizon_name(seconds: float) -> str:
    """A markout horizon as the metrics, the dashboard and the summary name it: ``"10s"``."""
    return f"{seconds:g}s"
