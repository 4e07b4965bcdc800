"""A chaos run's timeline as a picture (PNG or SVG): what a person looks at first.

What it is for: ``mmbot chaos run --report DIR`` writes one beside each JSON report. One
panel per symbol: the market's trades (grey), the bot's bids (green) and asks (red) as the
prices they held on the book, its fills (triangles); below, the bot's position per symbol
and its PnL marked to the last trade. Every panel shades the faults' windows (each crash a
dashed line) and marks the heal, so what the bot did in and after each fault is seen at a
glance. The data comes from :func:`mmbot.chaos.timeline.timeline` (sans-IO).

What it must never do: open a window or need a display (matplotlib's Agg backend, set
here); change the record it draws.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

from mmbot.chaos.timeline import Timeline
from mmbot.model import Side

_BREAKER_COLOURS = {"open": "#e63946", "half_open": "#f4a261", "forced_open": "#6d597a"}
_BAND_COLOURS = ("#f4a261", "#e76f51", "#2a9d8f", "#8d99ae", "#e9c46a")


def draw(timeline: Timeline, path: Path) -> Path:
    """Draw ``timeline`` into ``path`` (its suffix picks the format: ``.png`` or ``.svg``)."""
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    symbols = timeline.symbols
    rows = len(symbols) + 3
    fig, axes = plt.subplots(
        rows, 1, sharex=True, figsize=(12, 2.2 * rows + 1), squeeze=False, layout="constrained"
    )
    panels = [row[0] for row in axes]
    for ax, series in zip(panels, symbols, strict=False):
        if series.trades:
            times, prices = zip(*series.trades, strict=True)
            ax.plot(times, prices, color="#999999", linewidth=0.6, label="market trades")
        for span in series.orders:
            colour = "#2a9d8f" if span.side is Side.BUY else "#e63946"
            ax.hlines(span.price, span.start, span.end, colors=colour, linewidth=1.6)
        for side, marker, colour in ((Side.BUY, "^", "#2a9d8f"), (Side.SELL, "v", "#e63946")):
            points = [(t, p) for t, p, s in series.fills if s is side]
            if points:
                ts, ps = zip(*points, strict=True)
                label = f"our {'buys' if side is Side.BUY else 'sells'} (fills)"
                ax.scatter(ts, ps, marker=marker, s=14, color=colour, zorder=3, label=label)
        ax.set_ylabel(f"{series.symbol}\nprice")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
    position_ax, pnl_ax, breaker_ax = panels[-3], panels[-2], panels[-1]
    _breakers(breaker_ax, timeline)
    for series in symbols:
        ts, ps = zip(*series.position, strict=True)
        position_ax.step(ts, ps, where="post", linewidth=1.0, label=series.symbol)
        if series.pnl:
            ts, vs = zip(*series.pnl, strict=True)
            pnl_ax.plot(ts, vs, linewidth=1.0, label=series.symbol)
    position_ax.set_ylabel("position\n(base units)")
    pnl_ax.set_ylabel("PnL (quote,\nmarked to trades)")
    for ax in (position_ax, pnl_ax):
        ax.axhline(0, color="#cccccc", linewidth=0.6)
        ax.legend(loc="upper left", fontsize=7, frameon=False)
    for ax in panels:
        _faults(ax, timeline)
    top = panels[0]
    for band in timeline.bands:  # name each fault once, at its start, in the top panel
        top.annotate(
            band.label, (band.start, 1.0), xycoords=("data", "axes fraction"),
            fontsize=6, va="top", rotation=90, color="#495057",
        )  # fmt: skip
    panels[0].set_title(timeline.title, fontsize=9, loc="left")
    clock = "real time" if timeline.live else "simulated"
    panels[-1].set_xlabel(f"seconds since the run started ({clock})")
    panels[-1].set_xlim(0, max(timeline.end, timeline.heal))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _breakers(ax: Any, timeline: Timeline) -> None:
    """One row per breaker that left CLOSED: its OPEN and HALF_OPEN time as bars."""
    names = sorted({span.breaker for span in timeline.breakers})
    for row, name in enumerate(names):
        for state, colour in _BREAKER_COLOURS.items():
            bars = [
                (span.start, max(span.end - span.start, 0.05))
                for span in timeline.breakers
                if span.breaker == name and span.state == state
            ]
            if bars:
                ax.broken_barh(bars, (row - 0.35, 0.7), color=colour, label=state)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_ylim(-0.6, max(len(names), 1) - 0.4)
    ax.set_ylabel("our breakers\n(not closed)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", fontsize=7, frameon=False)
    if not names:
        ax.text(0.5, 0.5, "every breaker stayed closed", transform=ax.transAxes,
                ha="center", va="center", fontsize=8, color="#6c757d")  # fmt: skip


def _faults(ax: Any, timeline: Timeline) -> None:
    for index, band in enumerate(timeline.bands):
        colour = _BAND_COLOURS[index % len(_BAND_COLOURS)]
        if band.end > band.start:
            ax.axvspan(band.start, band.end, color=colour, alpha=0.15, linewidth=0)
        else:
            ax.axvline(band.start, color="#6c757d", linestyle="--", linewidth=1.0)
    ax.axvline(timeline.heal, color="#264653", linestyle=":", linewidth=1.0)
