"""A calibration's picture (PNG or SVG): net_bps against each searched parameter, per symbol.

What it is for: ``mmbot calibrate --picture FILE`` draws one row per symbol and one panel
per searched parameter. In a panel, for each value of the parameter: the mean ``net_bps``
over every run of every point with that value and its 95 % interval (numbers: a line
through the means, the band shaded; the runs pooled counted at the foot); each evaluated point
as a dot at its own mean (bigger: more seeds, so it survived longer), a red cross when it
broke a constraint; the chosen value as a dashed line and the chosen point as a star. The
numbers come from :func:`mmbot.edge.halving.by_value` (sans-IO).

What it must never do: open a window or need a display (matplotlib's Agg backend, set
here); change the search it draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

from mmbot.edge.halving import Halving, Value, ValueSummary, by_value
from mmbot.edge.stats import Estimate

_LINE, _BAND, _POINT, _BAD, _CHOSEN = "#1d3557", "#a8dadc", "#457b9d", "#e63946", "#2a9d8f"


def draw(states: Mapping[str, Halving], path: Path, *, title: str = "") -> Path:
    """Draw every symbol's search into ``path`` (its suffix picks the format)."""
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    symbols = list(states)
    params = [p for p, _v in next(iter(states.values())).plan.points[0].params]
    rows, cols = len(symbols), len(params)
    fig, grid = plt.subplots(
        rows,
        cols,
        figsize=(max(5.4 * cols + 0.6, 8.0), 3.5 * rows + 1.6),
        squeeze=False,
        layout="constrained",
    )
    for row, symbol in enumerate(symbols):
        for col, param in enumerate(params):
            _panel(grid[row][col], states[symbol], symbol, param)
    legend: dict[str, Any] = {}
    for ax in fig.axes:  # one legend for the figure, each entry once
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(
        legend.values(),
        legend.keys(),
        loc="outside lower center",
        ncols=3 if cols > 1 else 2,
        fontsize=7,
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=8, x=0.01, ha="left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _numeric(values: list[Value]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _panel(ax: Any, state: Halving, symbol: str, param: str) -> None:
    rows = by_value(state, param)
    values = [r.value for r in rows]
    numeric = _numeric(values)  # else the values are categories, in the grid's order
    xs = [float(v) for v in values] if numeric else list(range(len(values)))
    objective = state.plan.objective
    means = [(x, r.objective) for x, r in zip(xs, rows, strict=True) if r.objective is not None]
    if means:
        if numeric:  # a line and a band between neighbouring values; not between categories
            ax.plot(
                [x for x, _ in means],
                [e.mean for _, e in means],
                color=_LINE,
                linewidth=1.2,
                zorder=2,
            )
            for segment in _banded(means):
                ax.fill_between(
                    [x for x, _ in segment],
                    [e.low for _, e in segment],
                    [e.high for _, e in segment],
                    color=_BAND,
                    alpha=0.45,
                    linewidth=0,
                    zorder=1,
                    label="95 % band",
                )
        ax.scatter(
            [x for x, _ in means],
            [e.mean for _, e in means],
            s=18,
            color=_LINE,
            zorder=3,
            label="mean of every run with this value",
        )
        bars = [
            (x, e.mean, e.low, e.high) for x, e in means if e.low is not None and e.high is not None
        ]
        if bars:
            ax.errorbar(
                [x for x, _m, _lo, _hi in bars],
                [m for _x, m, _lo, _hi in bars],
                yerr=[[m - lo for _x, m, lo, _hi in bars], [hi - m for _x, m, _lo, hi in bars]],
                fmt="none",
                ecolor=_LINE,
                elinewidth=0.8,
                capsize=3,
                zorder=2,
                label="its 95 % interval (2+ runs)",
            )
    for x, r in zip(xs, rows, strict=True):
        for s in r.points:
            mean = s.mean(objective)
            if mean is None:
                continue
            if s.feasible:
                ax.scatter(
                    x,
                    mean,
                    s=10 + 8 * s.seeds,
                    color=_POINT,
                    alpha=0.55,
                    linewidths=0,
                    zorder=3,
                    label="a point's own mean (bigger: more seeds)",
                )
            else:
                ax.scatter(
                    x,
                    mean,
                    s=10 + 8 * s.seeds,
                    color=_BAD,
                    marker="x",
                    zorder=3,
                    label="a point that broke a constraint",
                )
        ax.annotate(
            _count(r),
            (x, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=6,
            color="#6c757d",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85},
            zorder=5,
        )
    chosen = state.choice()
    value = chosen.point.value(param)
    chosen_x = xs[values.index(value)]
    ax.axvline(
        chosen_x, color=_CHOSEN, linestyle="--", linewidth=1.0, zorder=1, label="the chosen value"
    )
    chosen_mean = chosen.mean(objective)
    if chosen_mean is not None:
        ax.scatter(
            chosen_x,
            chosen_mean,
            s=150,
            marker="*",
            color=_CHOSEN,
            zorder=4,
            label="the chosen point",
        )
    ax.axhline(0, color="#bbbbbb", linewidth=0.6, zorder=0)
    if not numeric:
        ax.set_xticks(xs, [_label(v) for v in values])
        ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_xlabel(param)
    ax.set_ylabel(f"{objective} (mean over runs)")
    ax.margins(x=0.06, y=0.12)
    cut = _fit(ax, rows, objective)
    note = "; intervals over 2 runs cut off" if cut else ""
    ax.set_title(f"{symbol}: {param} (chosen {_label(value)}{note})", fontsize=9, loc="left")


def _fit(ax: Any, rows: list[ValueSummary], objective: str) -> bool:
    """Fit y to every mean and the intervals over 3+ runs, when an interval over 2 runs
    (t's quantile is 12.7 there) would flatten the rest: it runs off the panel then (True)."""
    shown = [s.mean(objective) for r in rows for s in r.points]
    wide: list[float] = []
    for r in rows:
        e = r.objective
        if e is None or e.low is None or e.high is None:
            continue
        shown.append(e.mean)
        (wide if e.n < 3 else shown).extend([e.low, e.high])
    known = [v for v in shown if v is not None]
    if not known or not wide:
        return False
    lo, hi = min(known), max(known)
    pad = max(hi - lo, 1e-9) * 0.25
    if min(wide) >= lo - pad and max(wide) <= hi + pad:
        return False
    ax.set_ylim(lo - pad, hi + pad)
    return True


def _banded(means: list[tuple[float, Estimate]]) -> list[list[tuple[float, Estimate]]]:
    """Runs of neighbouring values that all have an interval (a band is never drawn across
    a value without one)."""
    segments: list[list[tuple[float, Estimate]]] = [[]]
    for x, e in means:
        if e.low is None or e.high is None:
            segments.append([])
        else:
            segments[-1].append((x, e))
    return [s for s in segments if len(s) > 1]


def _count(row: ValueSummary) -> str:
    n = row.objective.n if row.objective is not None else 0
    return f"n={n}" if n == row.runs else f"n={n} of {row.runs}"


def _label(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else f"{value:g}"
