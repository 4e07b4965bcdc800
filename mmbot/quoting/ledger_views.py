"""The ledger's reports: the values it returns and the edge metrics derived from its sums (sans-IO).

What it is for: :class:`LedgerView` (one symbol or the total), :class:`Markout` and
:class:`LedgerStatistics`, and :func:`view_from_sums`, which turns the ledger's exact
:class:`LedgerSums` into the ratios of ``docs/metrics.md`` (``net_bps``, ``slippage_bps``,
``taker_share``, markouts at :data:`MARKOUT_HORIZONS`).

What it must never do: keep books, I/O, read a clock, or feed a ratio back into money: the
ratios divide once, for reporting; position, cash, fees and PnL arrive here already exact
(see :mod:`mmbot.quoting.ledger`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

import attrs

#: Markout horizons in seconds.
MARKOUT_HORIZONS: tuple[float, ...] = (1.0, 10.0, 60.0)
_BPS = Decimal(10_000)


@attrs.frozen
class Markout:
    """Notional-weighted markout over the fills whose horizon has passed."""

    horizon: float
    count: int
    bps: Decimal | None  # None until one fill completed


@attrs.frozen
class LedgerView:
    """One symbol's books (or the total, ``symbol="*"``), marked to ``mid``."""

    symbol: str
    position: Decimal
    average_cost: Decimal | None
    cash: Decimal
    fees: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    net_pnl: Decimal  # realized + unrealized - fees == cash + position * mid
    mid: Decimal | None
    volume: Decimal  # traded notional, quote asset
    base_volume: Decimal
    fill_count: int
    net_bps: Decimal | None
    slippage_bps: Decimal | None
    slippage_fills: int  # fills with a known placement mid
    taker_share: Decimal | None
    markouts: tuple[Markout, ...]
    other_fees: Mapping[str, Decimal]


@attrs.frozen
class LedgerStatistics:
    symbols: Mapping[str, LedgerView]
    total: LedgerView
    duplicate_fills: int
    anomalies: int = 0  # fees the ledger could not place (see ``Ledger.anomalies``)


class SymbolMark(NamedTuple):
    """One symbol's position and cost basis and the mid it is marked to (for one view)."""

    position: Decimal
    cost_basis: Decimal
    mid: Decimal | None


class LedgerSums(NamedTuple):
    """The exact sums behind one view (computed by the ledger in its exact context)."""

    position: Decimal
    cash: Decimal
    fees: Decimal
    realized: Decimal
    unrealized: Decimal
    volume: Decimal
    base_volume: Decimal
    taker: Decimal
    slip_num: Decimal
    slip_den: Decimal
    fill_count: int
    slip_fills: int
    mark_num: list[Decimal]
    mark_den: list[Decimal]
    mark_count: list[int]
    other: dict[str, Decimal]
    net: Decimal


def ratio(num: Decimal, den: Decimal, scale: Decimal = _BPS) -> Decimal | None:
    return num * scale / den if den else None


def view_from_sums(symbol: str, sums: LedgerSums, single: SymbolMark | None) -> LedgerView:
    """A view of ``sums``; ``single`` is the one symbol's mark, None for a total.

    The ratios divide once, here, in the caller's context (reported values, not books).
    """
    (
        position,
        cash,
        fees,
        realized,
        unrealized,
        volume,
        base_volume,
        taker,
        slip_num,
        slip_den,
        fill_count,
        slip_fills,
        num,
        den,
        count,
        other,
        net,
    ) = sums
    average_cost = None
    if single is not None and single.position:
        average_cost = single.cost_basis / single.position
    return LedgerView(
        symbol=symbol,
        position=position,
        average_cost=average_cost,
        cash=cash,
        fees=fees,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        net_pnl=net,
        mid=single.mid if single is not None else None,
        volume=volume,
        base_volume=base_volume,
        fill_count=fill_count,
        net_bps=ratio(net, volume),
        slippage_bps=ratio(slip_num, slip_den),
        slippage_fills=slip_fills,
        taker_share=ratio(taker, volume, Decimal(1)),
        markouts=tuple(
            Markout(h, count[i], ratio(num[i], den[i])) for i, h in enumerate(MARKOUT_HORIZONS)
        ),
        other_fees=other,
    )
