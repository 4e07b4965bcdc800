"""A backtest's results over seeds: estimates, comparisons, regressions, tables (sans-IO).

What it is for: ``mmbot backtest`` collects one result dict per (config, seed) from
:func:`mmbot.edge.backtest.run_task`; :func:`summarize` turns them into means with 95 %
intervals per config, scope (each symbol and ``total``) and figure; :func:`compare` gives
each later config's paired difference from the first (same seeds); :func:`regressions`
checks a summary against a baseline's, figure by figure, in each figure's good direction
with a stated tolerance; :func:`text` writes the tables.

What it must never do: I/O, read a clock, or judge a figure it has no direction for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mmbot.edge.stats import Estimate, estimate, paired

#: Which way each figure is better: +1 higher, −1 lower. Figures not here are shown, never judged.
DIRECTION: Mapping[str, int] = {
    "net_bps": 1,
    "pnl": 1,
    "slippage_bps": -1,
    "taker_share": -1,
    "inventory_variance": -1,
    "inventory_notional_variance": -1,
    "inventory_half_life_s": -1,
    "max_drawdown": -1,
    "quote_uptime": 1,
    "markout_maker_1s_bps": 1,
    "markout_maker_10s_bps": 1,
    "markout_maker_60s_bps": 1,
}

#: The figures the text tables show, with their headings and formats.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("net_bps", "net_bps", "{:+.3f}"),
    ("slippage_bps", "slip_bps", "{:+.3f}"),
    ("taker_share", "taker", "{:.3f}"),
    ("volume", "volume", "{:,.0f}"),
    ("fill_ratio", "fill/ord", "{:.3f}"),
    ("markout_maker_1s_bps", "mk1s", "{:+.2f}"),
    ("markout_maker_10s_bps", "mk10s", "{:+.2f}"),
    ("markout_maker_60s_bps", "mk60s", "{:+.2f}"),
    ("inventory_notional_variance", "inv_var", "{:,.0f}"),
    ("inventory_half_life_s", "half_life", "{:.1f}"),
    ("quote_uptime", "uptime", "{:.3f}"),
    ("max_drawdown", "drawdown", "{:,.2f}"),
)

Summary = dict[str, dict[str, dict[str, Estimate | None]]]  # label -> scope -> figure -> est


def _scopes(result: Mapping[str, Any]) -> dict[str, Mapping[str, float | None]]:
    return {**result["symbols"], "total": result["total"]}


def summarize(results: Sequence[Mapping[str, Any]]) -> Summary:
    """Estimates per config label, scope and figure, over the seeds each config ran."""
    values: dict[str, dict[str, dict[str, list[float]]]] = {}
    for result in sorted(results, key=lambda r: (r["label"], r["seed"])):
        for scope, figures in _scopes(result).items():
            slot = values.setdefault(result["label"], {}).setdefault(scope, {})
            for name, value in figures.items():
                slot.setdefault(name, [])
                if value is not None:
                    slot[name].append(value)
    return {
        label: {
            scope: {name: estimate(vals) for name, vals in figures.items()}
            for scope, figures in scopes.items()
        }
        for label, scopes in values.items()
    }


def compare(
    results: Sequence[Mapping[str, Any]], first: str, other: str, scope: str = "total"
) -> dict[str, Estimate | None]:
    """``other − first`` per figure, paired seed by seed (seeds both ran)."""
    by_seed: dict[str, dict[int, Mapping[str, float | None]]] = {first: {}, other: {}}
    for result in results:
        if result["label"] in by_seed:
            by_seed[result["label"]][result["seed"]] = _scopes(result)[scope]
    seeds = sorted(set(by_seed[first]) & set(by_seed[other]))
    names = sorted({n for figures in by_seed[first].values() for n in figures})
    return {
        name: paired(
            [by_seed[first][s].get(name) for s in seeds],
            [by_seed[other][s].get(name) for s in seeds],
        )
        for name in names
    }


@attrs.frozen
class Tolerance:
    """How far a figure may drop: ``amount`` in its own units, or (``relative``) as a share
    of the baseline's magnitude (a suite writes ``"10%"``)."""

    amount: float
    relative: bool = False

    def allows(self, before: float, worse: float) -> bool:
        limit = self.amount * abs(before) if self.relative else self.amount
        return worse <= limit  # NaN (a figure gone missing) is never allowed

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


@attrs.frozen
class Regression:
    """A figure that got worse than its baseline by more than its tolerance."""

    label: str
    scope: str
    figure: str
    baseline: float
    now: float
    tolerance: Tolerance

    def describe(self) -> str:
        way = "fell" if DIRECTION[self.figure] > 0 else "rose"
        return (
            f"{self.label} {self.scope} {self.figure} {way} from {self.baseline:.6g} to "
            f"{self.now:.6g} (tolerance {self.tolerance})"
        )


def regressions(
    summary: Summary, baseline: Mapping[str, Any], tolerance: Mapping[str, Tolerance]
) -> list[Regression]:
    """Each toleranced figure's mean against the baseline's, in its good direction.

    ``baseline`` is ``{label: {scope: {figure: mean}}}``; a figure missing on either side
    (no fills, say) is not judged. A figure gone missing where the baseline had it is a
    regression when it is among the toleranced ones (it can no longer be shown to hold)."""
    found: list[Regression] = []
    for label, scopes in baseline.items():
        for scope, figures in scopes.items():
            for name, tol in tolerance.items():
                before = figures.get(name)
                if before is None:
                    continue
                est = summary.get(label, {}).get(scope, {}).get(name)
                now = est.mean if est is not None else float("nan")
                worse = (before - now) if DIRECTION[name] > 0 else (now - before)
                if not tol.allows(before, worse):
                    found.append(Regression(label, scope, name, before, now, tol))
    return found


def baseline_means(summary: Summary) -> dict[str, dict[str, dict[str, float | None]]]:
    """The means a baseline file keeps, per label, scope and figure."""
    return {
        label: {
            scope: {name: (est.mean if est is not None else None) for name, est in figs.items()}
            for scope, figs in scopes.items()
        }
        for label, scopes in summary.items()
    }


# -- text ---------------------------------------------------------------------------------------


def _cell(est: Estimate | None, fmt: str) -> str:
    if est is None:
        return "-"
    if est.low is None or est.high is None:
        return fmt.format(est.mean)
    half = (est.high - est.low) / 2
    return f"{fmt.format(est.mean)}±{fmt.format(half).lstrip('+')}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        for row in rows
    ]


def text(summary: Summary, seeds: int, duration: float) -> str:
    """One table per config: a row per symbol and the total, mean ± 95 % half-interval."""
    lines = [f"{seeds} seed(s) x {duration:g} simulated s; mean ± 95% interval half-width"]
    for label, scopes in summary.items():
        lines += ["", f"{label}:"]
        head = ["scope", *(heading for _, heading, _ in COLUMNS)]
        rows = [head]
        for scope in [s for s in scopes if s != "total"] + ["total"]:
            figures = scopes[scope]
            rows.append([scope, *(_cell(figures.get(n), f) for n, _, f in COLUMNS)])
        lines += _table(rows)
    return "\n".join(lines)


def comparison_text(first: str, other: str, diff: Mapping[str, Estimate | None]) -> str:
    """``other − first`` for the judged figures, with whether each interval excludes zero."""
    lines = [f"{other} - {first} (paired by seed, total):"]
    rows = [["figure", "difference", "95% interval", "verdict"]]
    for name in DIRECTION:
        est = diff.get(name)
        if est is None:
            continue
        interval = "-" if est.low is None else f"[{est.low:+.4g}, {est.high:+.4g}]"
        if not est.excludes_zero:
            verdict = "no clear difference"
        else:
            better = (est.mean > 0) == (DIRECTION[name] > 0)
            verdict = f"{other} {'better' if better else 'worse'}"
        rows.append([name, f"{est.mean:+.4g}", interval, verdict])
    return "\n".join([*lines, *_table(rows)])
