"""What a chaos run's picture shows, read from its truth log (sans-IO).

What it is for: turning a run's record into plain series a plotter draws
(:mod:`mmbot.chaos.picture`): per symbol, the market's trade prices, each of the bot's
orders as a price held from when it rested to when it left the book, its fills, its
position and its PnL marked to the last trade; the bot's breakers while not CLOSED (from
its side of the history); and the faults as bands on the time axis (the exchange's faults
in their windows, each crash as a line, the heal). Times are seconds
since the run started.

What it must never do: I/O, read a clock, or draw anything (no matplotlib here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from mmbot.chaos.history import BreakerChange
from mmbot.chaos.invariants import order_client_id
from mmbot.chaos.record import RunRecord
from mmbot.chaos.scenario import Scenario
from mmbot.model import Side
from mmbot.quoting.orders.client_ids import parse_client_order_id
from mmbot.sim.engine import Execution, TradePrint
from mmbot.sim.faults import FlashMove
from mmbot.sim.history.log import EntryKind


@attrs.frozen
class OrderSpan:
    """One of the bot's orders on the book: ``price`` from ``start`` to ``end``."""

    side: Side
    price: float
    start: float
    end: float


@attrs.frozen
class SymbolSeries:
    symbol: str
    trades: tuple[tuple[float, float], ...]  # (t, price) of the public tape
    orders: tuple[OrderSpan, ...]
    fills: tuple[tuple[float, float, Side], ...]  # (t, price, side) of the bot's fills
    position: tuple[tuple[float, float], ...]  # (t, position after) steps
    pnl: tuple[tuple[float, float], ...]  # (t, cash + position * last trade) in quote


@attrs.frozen
class Band:
    """A fault's time on the axis (``end`` == ``start`` for an instant: a crash)."""

    label: str
    start: float
    end: float


@attrs.frozen
class BreakerSpan:
    """One of the bot's breakers out of CLOSED: ``state`` from ``start`` to ``end``."""

    breaker: str  # "orders", "market_data", "account" (the venue prefix dropped)
    state: str  # "open", "half_open", "forced_open"
    start: float
    end: float


@attrs.frozen
class Timeline:
    title: str
    end: float  # seconds the run lasted
    heal: float  # when every fault was healed
    bands: tuple[Band, ...]
    symbols: tuple[SymbolSeries, ...]
    breakers: tuple[BreakerSpan, ...] = ()
    live: bool = False  # a live run's seconds are real ones


def timeline(record: RunRecord, scenario: Scenario, seed: int, *, live: bool = False) -> Timeline:
    """The series of one run (see the module docstring)."""
    end = record.end
    history = record.history
    start_ms = end.start_ms

    def at(time_ms: int) -> float:
        return (time_ms - start_ms) / 1000

    last = history.entries(since_seq=history.last_seq - 1)
    last_s = at(last[0].time_ms) if last else 0.0
    trades: dict[str, list[tuple[float, float]]] = {s: [] for s in end.symbols}
    for entry in history.entries(EntryKind.PUBLIC_TRADE):
        trade = entry.payload
        if isinstance(trade, TradePrint) and trade.symbol in trades:
            trades[trade.symbol].append((at(entry.time_ms), float(trade.price)))
    opened: dict[tuple[str, int], tuple[float, Execution]] = {}  # by symbol, order id
    spans: dict[str, list[OrderSpan]] = {s: [] for s in end.symbols}
    fills: dict[str, list[tuple[float, float, Side]]] = {s: [] for s in end.symbols}
    for entry in history.entries(EntryKind.EXECUTION):
        report = entry.payload
        if not isinstance(report, Execution) or report.account != end.account:
            continue
        if report.symbol not in spans:
            continue
        if parse_client_order_id(order_client_id(report), end.prefix) is None:
            continue
        t = at(entry.time_ms)
        if report.last_qty > 0:
            fills[report.symbol].append((t, float(report.last_price), report.side))
        if report.status.is_open:
            opened.setdefault((report.symbol, report.order_id), (t, report))
        elif (report.symbol, report.order_id) in opened:
            began, first = opened.pop((report.symbol, report.order_id))
            spans[report.symbol].append(OrderSpan(first.side, float(first.price), began, t))
    for began, report in opened.values():  # still open when the history ends
        spans[report.symbol].append(OrderSpan(report.side, float(report.price), began, last_s))
    series = tuple(
        _symbol_series(
            symbol, trades[symbol], spans[symbol], fills[symbol], record, end.base_assets
        )
        for symbol in end.symbols
    )
    bands = [
        Band(fault.describe(), fault.start, fault.start + (fault.duration or scenario.duration))
        if not isinstance(fault, FlashMove)
        else Band(fault.describe(), fault.start, fault.start)  # an instant, as a crash
        for fault in scenario.faults.faults
    ]
    bands += [Band(crash.describe(), crash.start, crash.start) for crash in scenario.crashes]
    title = f"{scenario.name}, seed {seed}: faults {scenario.describe_faults()}"
    breakers = _breaker_spans(record, scenario, at, last_s)
    return Timeline(title, last_s, scenario.duration, tuple(bands), series, breakers, live)


def _breaker_spans(
    record: RunRecord, scenario: Scenario, at: Callable[[int], float], last_s: float
) -> tuple[BreakerSpan, ...]:
    """Each breaker's time out of CLOSED, over every bot incarnation (a crash ends its
    incarnation's spans: the next process starts with closed breakers)."""
    if record.bot is None:
        return ()
    spans: list[BreakerSpan] = []
    current: dict[tuple[int, str], tuple[str, float]] = {}  # (incarnation, breaker)
    for change in record.bot.of_kind(BreakerChange):
        key = (change.incarnation, change.breaker)
        t = at(change.time_ms)
        if key in current:
            state, start = current.pop(key)
            spans.append(BreakerSpan(_short(change.breaker), state, start, t))
        if change.state != "closed":
            current[key] = (change.state, t)
    crashes = scenario.crashes
    for (incarnation, name), (state, start) in current.items():
        stop = crashes[incarnation].start if incarnation < len(crashes) else last_s
        spans.append(BreakerSpan(_short(name), state, start, max(start, stop)))
    return tuple(sorted(spans, key=lambda s: (s.breaker, s.start)))


def _short(breaker: str) -> str:
    return breaker.rsplit(":", 1)[-1]


def _symbol_series(
    symbol: str,
    trades: list[tuple[float, float]],
    spans: list[OrderSpan],
    fills: list[tuple[float, float, Side]],
    record: RunRecord,
    base_assets: Mapping[str, str],
) -> SymbolSeries:
    """Position after each fill; PnL (cash + position at the last trade price) at every
    trade on the tape, at most :data:`MAX_POINTS` of them."""
    end = record.end
    base = base_assets.get(symbol)
    booked = sorted(record.history.fills(end.account, symbol), key=lambda f: f.time_ms)
    position = cash = Decimal(0)
    steps: list[tuple[float, float]] = [(0.0, 0.0)]
    marks: list[tuple[float, float]] = []
    stride = max(1, len(trades) // MAX_POINTS)
    next_fill = 0
    for index, (t, price) in enumerate(trades):
        while next_fill < len(booked) and (booked[next_fill].time_ms - end.start_ms) / 1000 <= t:
            fill = booked[next_fill]
            next_fill += 1
            signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
            position += signed
            cash -= signed * fill.price
            if fill.fee and fill.fee_asset == base:
                position -= fill.fee
            elif fill.fee:
                cash -= fill.fee
            steps.append(((fill.time_ms - end.start_ms) / 1000, float(position)))
        if index % stride == 0 or index == len(trades) - 1:
            marks.append((t, float(cash) + float(position) * price))
    return SymbolSeries(
        symbol, tuple(trades), tuple(spans), tuple(fills), tuple(steps), tuple(marks)
    )


#: Most PnL points a symbol's series keeps (a long run's tape is thinned evenly).
MAX_POINTS = 2_000
