"""A backtest's edge metrics, from what the venue recorded (sans-IO).

What it is for: turning one run's tape — the bot's fills and order placements as the
exchange recorded them, and the book's mid sampled on a fixed grid — into the figures a
market maker is judged by (:class:`EdgeMetrics`, one per symbol and one for the run):

- ``net_bps``: PnL marked to the last mid, net of fees, per traded notional (·10⁴);
- ``slippage_bps``: Σ s·(x − m₀)·q / Σ m₀·q ·10⁴, m₀ the mid when the order was placed
  (+ = a cost; a maker's passive fills are negative: the half-spread captured);
- ``taker_share``: taker notional / notional; ``volume`` (quote); ``fills``;
- ``fill_ratio``: fills per order placed;
- markouts at 1/10/60 s for maker and taker fills: Σ s·(m_h − x)·q / Σ x·q ·10⁴ (+ = the
  fill made money h later), over fills whose horizon ended before the run did;
- ``inventory_variance``: the time-weighted variance of the position (base units², on the
  sampling grid); ``inventory_notional_variance``: of the position's notional (quote²);
- ``inventory_half_life_s``: the median time for |position| to halve after a fill (a fill
  whose position never halved before the end is left out and counted in
  ``half_life_censored``);
- ``max_drawdown``: the largest fall of marked PnL from its running peak (quote);
- ``quote_uptime``: the bot's own measure, passed in.

The same definitions as the bot's ledger (``docs/metrics.md``), computed here from the
venue's truth rather than the bot's books, so a bot that miscounts its fills cannot flatter
itself. Fees paid in the base asset (a buyer's, on Binance without BNB) are valued at the
fill's price.

What it must never do: I/O, read a clock; turn money into a float before a ratio (PnL,
cash, volume and drawdown are exact Decimals; ratios and variances are floats).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

import attrs

from mmbot.model import Side
from mmbot.quoting.ledger import EXACT
from mmbot.quoting.ledger_views import MARKOUT_HORIZONS

#: Markout horizons, whole seconds: the ledger's.
HORIZONS: tuple[int, ...] = tuple(int(h) for h in MARKOUT_HORIZONS)
_BPS = Decimal(10_000)
_ZERO = Decimal(0)


@attrs.frozen
class TapeFill:
    """One fill of the bot as the venue recorded it; the fee already in the quote asset."""

    time_ms: int
    side: Side
    price: Decimal
    qty: Decimal
    fee_quote: Decimal
    is_maker: bool
    placed_mid: Decimal | None = None  # the mid when its order was placed


@attrs.frozen
class SymbolTape:
    """What one symbol's run left: mids on a grid (time-ascending), fills, placements."""

    symbol: str
    quote_asset: str
    start_ms: int
    end_ms: int
    mids: tuple[tuple[int, Decimal], ...]
    fills: tuple[TapeFill, ...]
    orders_placed: int
    quote_uptime: float | None = None


@attrs.frozen
class EdgeMetrics:
    """One symbol's (or the run's) edge figures; None where there is nothing to measure."""

    fills: int
    orders_placed: int
    volume: Decimal
    pnl: Decimal
    net_bps: float | None
    slippage_bps: float | None
    taker_share: float | None
    fill_ratio: float | None
    markout_maker_bps: Mapping[int, float | None]
    markout_taker_bps: Mapping[int, float | None]
    inventory_variance: float | None
    inventory_notional_variance: float | None
    inventory_half_life_s: float | None
    half_life_censored: int
    max_drawdown: Decimal
    quote_uptime: float | None
    position: Decimal

    def figures(self) -> dict[str, float | None]:
        """The figures compared across seeds and strategies, as numbers (None: unknown)."""
        out: dict[str, float | None] = {
            "net_bps": self.net_bps,
            "slippage_bps": self.slippage_bps,
            "taker_share": self.taker_share,
            "volume": float(self.volume),
            "pnl": float(self.pnl),
            "fills": float(self.fills),
            "fill_ratio": self.fill_ratio,
            "inventory_variance": self.inventory_variance,
            "inventory_notional_variance": self.inventory_notional_variance,
            "inventory_half_life_s": self.inventory_half_life_s,
            "max_drawdown": float(self.max_drawdown),
            "quote_uptime": self.quote_uptime,
        }
        for h in HORIZONS:
            out[f"markout_maker_{h}s_bps"] = self.markout_maker_bps.get(h)
            out[f"markout_taker_{h}s_bps"] = self.markout_taker_bps.get(h)
        return out


def _ratio(num: Decimal, den: Decimal, scale: Decimal = Decimal(1)) -> float | None:
    """A reported ratio: the exact sums divided once, as floats (no exact quotient kept)."""
    return float(num * scale) / float(den) if den else None


def mid_at(mids: Sequence[tuple[int, Decimal]], times: Sequence[int], time_ms: int) -> Decimal:
    """The mid in effect at ``time_ms``: the last sample at or before it (else the first)."""
    i = bisect.bisect_right(times, time_ms) - 1
    return mids[max(i, 0)][1]


def half_lives(positions: Sequence[Decimal], times_ms: Sequence[int]) -> tuple[list[float], int]:
    """For each fill ``i`` leaving ``positions[i] != 0``: seconds until the position first
    stood at half of it or less on the same side (or crossed to the other); and how many
    never did. O(n log n): a sparse table of range minima and maxima, searched by halves."""
    n = len(positions)
    if n == 0:
        return [], 0
    lows, highs = [list(positions)], [list(positions)]
    span = 1
    while span * 2 <= n:
        lo, hi = lows[-1], highs[-1]
        lows.append([min(lo[i], lo[i + span]) for i in range(n - span * 2 + 1)])
        highs.append([max(hi[i], hi[i + span]) for i in range(n - span * 2 + 1)])
        span *= 2
    found: list[float] = []
    censored = 0
    for i, p in enumerate(positions):
        if not p:
            continue
        long = p > 0
        target = p / 2
        # the first j > i with positions[j] <= target (long) or >= target (short)
        j, level = i + 1, len(lows) - 1
        while level >= 0 and j < n:
            width = 1 << level
            if j + width <= n:
                window = lows[level][j] if long else highs[level][j]
                if (window > target) if long else (window < target):
                    j += width  # not within this block: skip it whole
            level -= 1
        if j < n and ((positions[j] <= target) if long else (positions[j] >= target)):
            found.append((times_ms[j] - times_ms[i]) / 1000)
        else:
            censored += 1
    return found, censored


def _variance(values: Sequence[float]) -> float | None:
    return statistics.pvariance(values) if len(values) >= 2 else None


def symbol_metrics(tape: SymbolTape) -> EdgeMetrics:
    """The edge figures of one symbol's run (see the module docstring)."""
    with localcontext(EXACT):
        return _metrics([tape])


def run_metrics(tapes: Sequence[SymbolTape]) -> EdgeMetrics:
    """The run's figures over every symbol: sums and ratios of sums (PnL, volume, markouts
    weighted by notional), the variance of the summed notional and the drawdown of the
    summed PnL (the symbols share one grid), the median half-life over every symbol's
    fills, the mean quote uptime; no base-unit variance or position (base units of
    different assets do not add). Money is summed across one quote asset only."""
    if len({t.quote_asset for t in tapes}) > 1:
        raise ValueError("the run's totals need one quote asset across its symbols")
    with localcontext(EXACT):
        return _metrics(tapes)


def _metrics(tapes: Sequence[SymbolTape]) -> EdgeMetrics:
    volume = taker_volume = pnl = slip_num = slip_den = _ZERO
    fills = placed = censored = 0
    lives: list[float] = []
    pnl_paths: list[list[Decimal]] = []
    held_paths: list[list[Decimal]] = []
    notional_paths: list[list[float]] = []
    maker = _Markouts()
    taker = _Markouts()
    for tape in tapes:
        times = [t for t, _ in tape.mids]
        positions: list[Decimal] = []
        position = cash = _ZERO
        for fill in tape.fills:
            s = fill.side.sign
            notional = fill.price * fill.qty
            volume += notional
            if not fill.is_maker:
                taker_volume += notional
            position += s * fill.qty
            cash -= s * notional + fill.fee_quote
            positions.append(position)
            if fill.placed_mid is not None:
                slip_num += s * (fill.price - fill.placed_mid) * fill.qty
                slip_den += fill.placed_mid * fill.qty
            (maker if fill.is_maker else taker).add(tape, times, fill)
        found, missed = half_lives(positions, [f.time_ms for f in tape.fills])
        lives.extend(found)
        censored += missed
        fills += len(tape.fills)
        placed += tape.orders_placed
        walk = _walk(tape)
        pnl_paths.append([cash + held * mid for cash, held, mid in walk])
        held_paths.append([held for _, held, _ in walk])
        notional_paths.append([float(held * mid) for _, held, mid in walk])
        if tape.mids:
            pnl += cash + position * tape.mids[-1][1]
    length = min((len(p) for p in pnl_paths), default=0)
    total_pnl = [sum((p[i] for p in pnl_paths), _ZERO) for i in range(length)]
    total_notional = [sum(p[i] for p in notional_paths) for i in range(length)]
    peak: Decimal | None = None
    drawdown = _ZERO
    for value in total_pnl:
        peak = value if peak is None or value > peak else peak
        drawdown = max(drawdown, peak - value)
    one = tapes[0] if len(tapes) == 1 else None
    uptimes = [t.quote_uptime for t in tapes if t.quote_uptime is not None]
    return EdgeMetrics(
        fills=fills,
        orders_placed=placed,
        volume=volume,
        pnl=pnl,
        net_bps=_ratio(pnl, volume, _BPS),
        slippage_bps=_ratio(slip_num, slip_den, _BPS),
        taker_share=_ratio(taker_volume, volume),
        fill_ratio=fills / placed if placed else None,
        markout_maker_bps=maker.bps(),
        markout_taker_bps=taker.bps(),
        inventory_variance=_variance([float(h) for h in held_paths[0]]) if one else None,
        inventory_notional_variance=_variance(total_notional),
        inventory_half_life_s=statistics.median(lives) if lives else None,
        half_life_censored=censored,
        max_drawdown=drawdown,
        quote_uptime=sum(uptimes) / len(uptimes) if uptimes else None,
        position=held_paths[0][-1] if one and held_paths[0] else _ZERO,
    )


class _Markouts:
    """Notional-weighted markout sums per horizon, over fills whose horizon has ended."""

    def __init__(self) -> None:
        self.num = dict.fromkeys(HORIZONS, _ZERO)
        self.den = dict.fromkeys(HORIZONS, _ZERO)

    def add(self, tape: SymbolTape, times: Sequence[int], fill: TapeFill) -> None:
        for h in HORIZONS:
            at = fill.time_ms + h * 1000
            if at > tape.end_ms:
                continue
            later = mid_at(tape.mids, times, at)
            self.num[h] += fill.side.sign * (later - fill.price) * fill.qty
            self.den[h] += fill.price * fill.qty

    def bps(self) -> dict[int, float | None]:
        return {h: _ratio(self.num[h], self.den[h], _BPS) for h in HORIZONS}


def _walk(tape: SymbolTape) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(cash net of fees, position, mid) at each grid instant, fills applied up to it."""
    out = []
    cash = position = _ZERO
    k = 0
    fills = tape.fills
    for time_ms, mid in tape.mids:
        while k < len(fills) and fills[k].time_ms <= time_ms:
            f = fills[k]
            s = f.side.sign
            cash -= s * f.price * f.qty + f.fee_quote
            position += s * f.qty
            k += 1
        out.append((cash, position, mid))
    return out
