"""The exit summary of ``mmbot run``: what the run did, per symbol and in total (sans-IO).

What it is for: :func:`summary_text` is printed when the bot stops; :func:`summary_dict`
is written by ``--summary-json FILE``. Both read one final :class:`BotStatus`: fills,
volume, PnL, net_bps, slippage_bps, taker share, markouts at 1/10/60 s, quote uptime,
restarts and halts with their reasons, plus the run's identity and what start-up found.

Totals: fills, volume and PnL are the ledger's total (``BotStatus.total``) when the bot
gave it, else the sums of the symbols; net_bps is total PnL over total volume. The other
bot-wide ratios (slippage, taker share, markouts) come only from the ledger's total
(they weight fills the per-symbol figures do not show) and are left out without it.
Quote uptime in total is the mean of the symbols' (they share the run's clock).

What it must never do: do I/O, read a clock, or hold a secret; turn money into a float
(in the JSON, money and quantities are exact decimal strings; ratios are numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from mmbot.bot import figures
from mmbot.bot.status import BotStatus, SymbolStatus, horizon_name
from mmbot.quoting.ledger_views import MARKOUT_HORIZONS, Markout

_BPS = Decimal(10_000)


@attrs.frozen
class SummaryLine:
    """One line of the summary: a symbol, or the bot's total (``name="total"``)."""

    name: str
    fills: int
    volume: Decimal  # quote asset
    pnl: Decimal  # quote asset, marked to mid, net of fees
    net_bps: float | None
    slippage_bps: float | None
    taker_share: float | None
    markouts: tuple[Markout, ...]
    quote_uptime_ratio: float | None
    restarts: int


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def symbol_line(s: SymbolStatus) -> SummaryLine:
    return SummaryLine(
        name=s.symbol,
        fills=s.fills,
        volume=s.volume,
        pnl=s.pnl,
        net_bps=s.net_bps,
        slippage_bps=s.slippage_bps,
        taker_share=s.taker_share,
        markouts=s.markouts,
        quote_uptime_ratio=s.quote_uptime_ratio,
        restarts=s.restarts,
    )


def total_line(status: BotStatus) -> SummaryLine:
    """The bot-wide figures of ``status`` (see the module docstring for where each comes from)."""
    symbols = status.symbols
    total = status.total
    if total is not None:
        fills, volume, pnl = total.fill_count, total.volume, total.net_pnl
    else:
        fills = sum(s.fills for s in symbols)
        volume = sum((s.volume for s in symbols), Decimal(0))
        pnl = sum((s.pnl for s in symbols), Decimal(0))
    uptimes = [s.quote_uptime_ratio for s in symbols if s.quote_uptime_ratio is not None]
    return SummaryLine(
        name="total",
        fills=fills,
        volume=volume,
        pnl=pnl,
        net_bps=float(pnl * _BPS / volume) if volume else None,
        slippage_bps=_float(total.slippage_bps) if total is not None else None,
        taker_share=_float(total.taker_share) if total is not None else None,
        markouts=total.markouts if total is not None else (),
        quote_uptime_ratio=sum(uptimes) / len(uptimes) if uptimes else None,
        restarts=status.restarts,
    )


def _markout_bps(markouts: Sequence[Markout], horizon: float) -> float | None:
    for markout in markouts:
        if markout.horizon == horizon:
            return _float(markout.bps)
    return None


def _markouts_dict(markouts: Sequence[Markout]) -> dict[str, float | None]:
    return {horizon_name(h): _markout_bps(markouts, h) for h in MARKOUT_HORIZONS}


# -- JSON ---------------------------------------------------------------------------------------


def _line_dict(line: SummaryLine) -> dict[str, Any]:
    return {
        "fills": line.fills,
        "volume": str(line.volume),
        "pnl": str(line.pnl),
        "net_bps": line.net_bps,
        "slippage_bps": line.slippage_bps,
        "taker_share": line.taker_share,
        "markout_bps": _markouts_dict(line.markouts),
        "quote_uptime_ratio": line.quote_uptime_ratio,
        "restarts": line.restarts,
    }


def _symbol_dict(s: SymbolStatus) -> dict[str, Any]:
    return {
        "state": s.state.value,
        "halt_reason": s.halt_reason,
        **_line_dict(symbol_line(s)),
        "position": str(s.position),
        "decisions": s.decisions,
        "actions": s.actions,
    }


def summary_dict(status: BotStatus) -> dict[str, Any]:
    """The summary as JSON-serialisable data (``--summary-json FILE``).

    Money and quantities (``volume``, ``pnl``, ``position``) are exact decimal strings;
    ratios (``*_bps``, ``taker_share``, ``quote_uptime_ratio``) are numbers, or null when
    unknown; markouts are keyed by horizon (``"1s"``, ``"10s"``, ``"60s"``).
    """
    return {
        "run_id": status.run_id,
        "mode": status.mode,
        "venue": status.venue,
        "config_hash": status.config_hash,
        "config_version": status.config_version,
        "duration_s": status.now - status.started_at,
        "symbols": {s.symbol: _symbol_dict(s) for s in status.symbols},
        "total": _line_dict(total_line(status)),
        "halts": [{"symbol": symbol, "reason": reason} for symbol, reason in status.halts],
        "child_restarts": dict(status.child_restarts),
        "startup": {
            "orphans_cancelled": status.startup_orphans_cancelled,
            "orphans_adopted": status.startup_orphans_adopted,
            "foreign_orders": status.foreign_orders,
        },
    }


# -- text ---------------------------------------------------------------------------------------

_HEADINGS = ("symbol", "fills", "volume", "pnl", "net_bps", "slip_bps", "taker")
_MARKOUT_HEADINGS = tuple(f"mk{horizon_name(h)}" for h in MARKOUT_HORIZONS)
_TAIL_HEADINGS = ("uptime", "restarts")


def _row(line: SummaryLine) -> list[str]:
    return [
        line.name,
        str(line.fills),
        figures.money(line.volume),
        figures.money(line.pnl),
        figures.bps(line.net_bps),
        figures.bps(line.slippage_bps),
        figures.share(line.taker_share),
        *(figures.bps(_markout_bps(line.markouts, h)) for h in MARKOUT_HORIZONS),
        figures.share(line.quote_uptime_ratio),
        str(line.restarts),
    ]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def summary_text(status: BotStatus) -> str:
    """The summary for a person: a header, one row per symbol and the total, then halts."""
    summary_lines = [*(symbol_line(s) for s in status.symbols), total_line(status)]
    rows = [[*_HEADINGS, *_MARKOUT_HEADINGS, *_TAIL_HEADINGS], *map(_row, summary_lines)]
    lines = [
        f"mmbot run {status.run_id}: {status.mode} on {status.venue}, "
        f"config {status.config_hash} (v{status.config_version}), "
        f"{figures.duration(status.now - status.started_at)}",
        "",
        *_table(rows),
        "",
        "pnl and volume in the quote asset; bps: basis points; slip_bps: vs the mid at",
        "placement, + = cost; mk: markout at 1/10/60 s, + = the fill made money",
    ]
    halts = ", ".join(f"{symbol} ({reason})" for symbol, reason in status.halts)
    lines.append(f"halts: {halts or 'none'}")
    lines.append(
        f"start-up: orders of an earlier run: {status.startup_orphans_cancelled} cancelled, "
        f"{status.startup_orphans_adopted} adopted; "
        f"foreign orders left alone: {status.foreign_orders}"
    )
    return "\n".join(lines)
