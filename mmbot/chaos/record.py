"""What a chaos run recorded, as every checker reads it (sans-IO).

What it is for: the values the runner builds at the end of a run (simulated or live) and
the checkers read: :class:`RunRecord` (the fake exchange's truth log, what the bot said of
itself at its end, :class:`BotEnd`, and the bot's side of the history), the limits and
fault windows some checkers need, and :class:`Violation`, what a checker finds. The
checkers are in :mod:`mmbot.chaos.invariants` (the exchange's truth) and
:mod:`mmbot.chaos.bot_side` (what crossed the bot's boundary).

What it must never do: I/O, read a clock, or hold a key or secret.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import attrs

from mmbot.chaos.history import BotHistory
from mmbot.sim.history.log import History


@attrs.frozen
class Violation:
    """One breach of an invariant, with its witnesses in the history."""

    invariant: str
    time_s: float | None  # seconds since the run started (None: about the run as a whole)
    symbol: str | None
    detail: str
    orders: tuple[str, ...] = ()  # client order ids involved
    seqs: tuple[int, ...] = ()  # history entries that witness it

    def describe(self) -> str:
        at = "" if self.time_s is None else f" at {self.time_s:.3f} s"
        where = "" if self.symbol is None else f" [{self.symbol}]"
        orders = f" orders {', '.join(self.orders)}" if self.orders else ""
        seqs = f" (history #{', #'.join(map(str, self.seqs))})" if self.seqs else ""
        return f"{self.invariant}{at}{where}: {self.detail}{orders}{seqs}"


@attrs.frozen
class SymbolLimits:
    """What the bot's quoting allows on one symbol."""

    stale_after: float  # seconds: a book older than this is not quoted on
    max_position: Decimal  # base units
    largest_order: Decimal  # base units: its largest single order


@attrs.frozen
class FaultWindow:
    """When a fault of the run was in effect and which symbols it was aimed at (None: not
    aimed at symbols: every symbol may feel it)."""

    start_ms: int
    end_ms: int
    symbols: frozenset[str] | None = None
    describe: str = ""


@attrs.frozen
class BotEnd:
    """What the bot said of itself when it ended, and where the run's phases ended."""

    prefix: str  # its client-id prefix ("mm")
    account: str  # the exchange account its key trades for
    start_ms: int  # exchange time the run started
    error: str | None  # an unhandled error that ended it (None: it stopped as asked)
    orders_left: tuple[str, ...]  # client ids its graceful stop reported still open
    fills: Mapping[str, int]  # per symbol, the fills it booked
    positions: Mapping[str, Decimal]  # per symbol, its position (base units)
    healed_seq: int  # the last history entry before the liveness phase's end (its stop)
    heal_seq: int = 0  # the last history entry before every fault was healed
    heal_ms: int = 0  # exchange time every fault was healed
    resumes_within_s: float = math.inf  # how soon after that the bot must quote again
    #: The final bot's ledger holds the account's fills from this exchange time on (its
    #: start; an earlier incarnation's are not its to know).
    ledger_since_ms: int = 0
    run_id: str = ""  # the final bot's run id ("": any run of the prefix)
    symbols: tuple[str, ...] = ()
    base_assets: Mapping[str, str] = attrs.field(factory=dict)  # symbol -> its base asset
    #: The last history entry when the graceful stop returned (0: it never did).
    stopped_seq: int = 0
    limits: Mapping[str, SymbolLimits] = attrs.field(factory=dict)
    #: The run's faults and crashes in effect, for ``symbol_isolation`` (empty: not told).
    faults: tuple[FaultWindow, ...] = ()


@attrs.frozen
class RunRecord:
    """Everything a checker reads: the exchange's truth, the bot's end, and what crossed
    the bot's boundary (None: not recorded; the checkers that read it find nothing)."""

    history: History
    end: BotEnd
    bot: BotHistory | None = None


def seconds_in(record: RunRecord, time_ms: int) -> float:
    """``time_ms`` (exchange epoch ms) as seconds since the run started."""
    return (time_ms - record.end.start_ms) / 1000
