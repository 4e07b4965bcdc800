"""Calibration stage: the taker arrival intensity lambda(delta) = A * exp(-k * delta) (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.Intensity` the spread and skew stages
read (``spread.mode = "avellaneda_stoikov"`` takes its ``k``; ``"glft"`` both ``A`` and
``k``), estimated online from the public trades. Each trade in ``inputs.trades`` is folded
as given (the shell passes each trade once; one older than the newest folded is skipped as
late, while one at the same instant is folded: a taker sweeping levels trades them at once) at its
distance from the mid in effect before it (the mid of the previous decision; on the first,
the current one), ``delta = |price - mid| / mid * 1e4`` bps, into a fixed number of
distance buckets (``calibration.bucket_bps`` wide up to ``max_depth_bps``; farther trades
join the last). Counts decay with time: a trade ``t`` seconds old weighs ``exp(-t / W)``
(``W = calibration.window``), and the elapsed time it is divided by decays the same way,
``E = W * (1 - exp(-elapsed / W))``, so the estimate is a rolling window of about ``W``
seconds with no list of trades kept. Then for each bucket edge ``delta_j = j * bucket_bps``

    lambda_j = (decayed count of trades at distance >= delta_j) / E     (trades per second)

and ``ln lambda_j = ln A - k * delta_j`` is fitted by least squares over the edges with
data, each point weighted by its count (a Poisson count ``C`` has ``Var(ln C) ~ 1 / C``: an
edge with one old trade must not weigh as much as one with a thousand); R^2 is the
weighted one. The fit is redone only when trades were folded, and once they weigh at
least ``refit_share`` of the total (decay alone scales every count alike, which moves ``A``
but neither ``k`` nor R^2; ``A`` follows the decayed total between fits).

The fit is not used (``fallback_reason`` says why, ``"code: detail"``) with fewer than
``min_trades`` effective trades, fewer than ``min_buckets`` edges with data, no elapsed
time, R^2 under ``min_r2``, or ``k`` outside ``[min_k, max_k]``; the spread and skew stages
then use their configured values (docs/strategy.md, "calibration").

What it must never do: read a clock, keep state outside the decision's ``state``, keep a
list that grows with the trades, or report a NaN or infinite figure.
"""

from __future__ import annotations

import math

from mmbot.model import Side
from mmbot.quoting.params import CalibrationParams
from mmbot.quoting.pipeline import (
    AdverseMoves,
    CalibrationState,
    Decision,
    DepthCounts,
    Intensity,
    IntensityFit,
    QuoteInputs,
    StrategyState,
    TradeTick,
)

_exp = math.exp
_expm1 = math.expm1
_log = math.log
_isfinite = math.isfinite
_INF = math.inf
_NO_TRADE = -math.inf

#: Weights are ``exp((t - ref) / window)``; ``ref`` moves up to the fold's time once it is
#: this many windows behind (the weights then stay under e^20, far from overflowing).
RENORMALIZE_WINDOWS = 20.0


def bucket_count(params: CalibrationParams) -> int:
    """How many distance buckets ``params`` asks for (at least one)."""
    n = math.ceil(params.max_depth_bps / params.bucket_bps)
    return n if n >= 1 else 1


def fit_depths(
    counts: tuple[float, ...] | list[float], bucket_bps: float, min_points: int
) -> tuple[int, float | None, float | None, float | None]:
    """Fit ``C_j = c0 * exp(-k * j * bucket_bps)`` to the cumulative counts
    ``C_j = sum(counts[j:])`` by weighted least squares on ``ln C_j`` (weights ``C_j``),
    from the nearest edge whose bucket holds a trade outwards: the edges nearer the mid than
    any trade (inside the market's touch) all count every trade, a flat run that says
    nothing of the decay and would weigh most (``c0`` is then the line carried back to 0).

    Returns ``(points, c0, k, r2)``: the edges with data, and the fit (None, None, None
    with fewer than ``max(2, min_points)`` of them or a degenerate one). ``k >= 0`` always
    (the cumulative counts never rise with distance), ``0 <= r2 <= 1``.
    """
    total = 0.0
    for c in counts:
        total += c
    if not total > 0.0 or not _isfinite(total):
        return 0, None, None, None
    shift = _log(total)  # y relative to ln C_0: sums of numbers near 0
    nearest = 0  # the first edge with a trade in its bucket: nearer ones repeat its count
    while not counts[nearest] > 0.0:
        nearest += 1
    cum = s0 = sx = sy = sxx = sxy = syy = 0.0
    points = 0
    for j in range(len(counts) - 1, nearest - 1, -1):
        cum += counts[j]
        if not cum > 0.0:
            continue
        x = j * bucket_bps
        y = _log(cum) - shift
        cx = cum * x
        cy = cum * y
        s0 += cum
        sx += cx
        sy += cy
        sxx += cx * x
        sxy += cx * y
        syy += cy * y
        points += 1
    if points < 2 or points < min_points:
        return points, None, None, None
    dxx = sxx - sx * sx / s0
    dxy = sxy - sx * sy / s0
    dyy = syy - sy * sy / s0
    if not dxx > 0.0:
        return points, None, None, None
    slope = dxy / dxx
    intercept = (sy - slope * sx) / s0 + shift
    if not (_isfinite(slope) and intercept < 700.0):
        return points, None, None, None
    k = -slope if slope < 0.0 else 0.0
    r2 = slope * dxy / dyy if dyy > 0.0 else 0.0
    r2 = 0.0 if not r2 > 0.0 else 1.0 if r2 > 1.0 else r2
    return points, _exp(intercept), k, r2


def fold_depths(
    depths: DepthCounts,
    trades: tuple[TradeTick, ...],
    mid: float,
    now: float,
    params: CalibrationParams,
) -> tuple[DepthCounts, float]:
    """Count each trade at or after ``depths.last_trade_time`` at its distance from ``mid``; the
    new counts and the time of the earliest trade counted (``depths`` itself and ``inf``
    when none was new, or the mid is not a price).

    The fit is redone once the trades folded since the last one weigh at least
    ``refit_share`` of the total (each trade moves the fit by about 1 / total: with
    thousands in the window, refitting on every one would cost microseconds per decision
    for nothing); in between, ``A`` follows the total (the stage scales ``c0_share``).
    """
    cutoff = depths.last_trade_time
    if not mid > 0.0 or not _isfinite(mid):
        return depths, _INF
    window = params.window
    ref = depths.ref
    counts: list[float] | None = None
    total = depths.total
    unfitted = depths.unfitted
    newest = cutoff
    first = _INF
    scale = 1e4 / mid
    inv_width = 1.0 / params.bucket_bps
    max_depth = params.max_depth_bps
    last = len(depths.counts) - 1
    for trade in trades:
        t = trade.time
        if not t >= cutoff:  # older than the newest folded (or no time at all)
            continue
        if counts is None:
            counts = list(depths.counts)
            if now - ref > RENORMALIZE_WINDOWS * window:  # move the weights' origin to now
                factor = _exp((ref - now) / window)
                counts = [c * factor for c in counts]
                total *= factor
                unfitted *= factor
                ref = now
        distance = abs(float(trade.price) - mid) * scale
        j = int(distance * inv_width) if distance < max_depth else last  # NaN: the last
        if j > last:
            j = last
        weight = _exp(((t if t < now else now) - ref) / window)
        counts[j] += weight
        total += weight
        unfitted += weight
        if t > newest:
            newest = t
        if t < first:
            first = t
    if counts is None:
        return depths, _INF
    if unfitted < params.refit_share * total:  # the fit stands: too little is new
        return (
            DepthCounts(
                ref, newest, tuple(counts), total, unfitted,
                depths.points, depths.c0_share, depths.k, depths.r2,
            ),
            first,
        )  # fmt: skip
    points, c0, k, r2 = fit_depths(counts, params.bucket_bps, params.min_buckets)
    share = c0 / total if c0 is not None and total > 0.0 else None
    return DepthCounts(ref, newest, tuple(counts), total, 0.0, points, share, k, r2), first


def intensity_at(
    depths: DepthCounts,
    start: float,
    now: float,
    params: CalibrationParams,
    adverse: float | None = None,
) -> IntensityFit:
    """The intensity the counts say at ``now``, and whether it may be used."""
    window = params.window
    age = now - depths.ref
    trades = depths.total * _exp(-age / window) if age > 0.0 else depths.total
    if not _isfinite(trades):
        trades = 0.0
    elapsed = now - start
    exposure = -window * _expm1(-elapsed / window) if elapsed > 0.0 else 0.0
    share, k, r2 = depths.c0_share, depths.k, depths.r2
    a: float | None = None
    if share is not None and exposure > 0.0:
        a = share * trades / exposure
        if not (a > 0.0 and _isfinite(a)):
            a = None
    reason: str | None = None
    if trades < params.min_trades:
        reason = f"too_few_trades: {trades:.1f} < {params.min_trades:g}"
    elif (k is None or r2 is None) and depths.points < params.min_buckets:
        reason = f"too_few_buckets: {depths.points} < {params.min_buckets}"
    elif k is None or r2 is None:  # weights so uneven that the line is not defined
        reason = f"degenerate_fit: {depths.points} buckets"
    elif a is None:
        reason = f"no_elapsed_time: {elapsed if elapsed > 0.0 else 0.0:g} s"
    elif r2 < params.min_r2:
        reason = f"poor_fit: r2 {r2:.2f} < {params.min_r2:g}"
    elif not params.min_k <= k <= params.max_k:
        reason = f"k_out_of_bounds: {k:.3g} not in [{params.min_k:g}, {params.max_k:g}]"
    return IntensityFit(a, k, r2, trades, reason, adverse)


def track_adverse(
    adverse: AdverseMoves,
    trades: tuple[TradeTick, ...],
    before: float,
    mid: float,
    now: float,
    params: CalibrationParams,
) -> AdverseMoves:
    """Measure the trades whose horizon has passed against ``mid`` (the mid now), then queue
    the new ones (each with ``before``, the mid in effect when it traded). A move is
    ``side * (mid - mid_then) / mid_then * 1e4`` bps, ``side`` +1 for a buyer: positive when
    the mid went the taker's way. Sums decay like the depth counts (``exp(-t / window)``)."""
    horizon = params.adverse_horizon
    pending = adverse.pending
    if not trades and (not pending or pending[0][0] + horizon > now):
        return adverse  # nothing new, nothing due: the usual decision
    moves, count, time = adverse.moves, adverse.weight, adverse.time
    done = 0
    if mid > 0.0 and _isfinite(mid):
        for at, side, then in pending:
            if at + horizon > now:
                break
            done += 1
            if then > 0.0:
                factor = _exp((time - now) / params.window) if now > time else 1.0
                moves = moves * factor + side * (mid - then) / then * 1e4
                count = count * factor + 1.0
                time = now if now > time else time
    if not done and not trades:
        return adverse
    queued = pending[done:]
    if trades and before > 0.0 and _isfinite(before):
        queued += tuple((t.time, 1.0 if t.side is Side.BUY else -1.0, before) for t in trades)
        queued = queued[-params.max_pending :]
    return AdverseMoves(queued, time, moves, count)


def adverse_bps(adverse: AdverseMoves, now: float, params: CalibrationParams) -> float | None:
    """The mean adverse move, once ``min_trades`` (decayed to ``now``) were measured."""
    if params.adverse_horizon <= 0.0 or adverse.weight <= 0.0:
        return None
    factor = _exp((adverse.time - now) / params.window) if now > adverse.time else 1.0
    if adverse.weight * factor < params.min_trades:
        return None
    mean = adverse.moves / adverse.weight
    return mean if _isfinite(mean) else None


def calibration(inputs: QuoteInputs, so_far: Decision) -> Intensity:
    """The taker intensity now, and the calibration state when it moved."""
    params = inputs.params.calibration
    now = inputs.now
    state = so_far.state
    calibrated = state.calibration
    book = inputs.book
    bids = book.bids
    asks = book.asks
    n = bucket_count(params)
    if calibrated is None or len(calibrated.depths.counts) != n:
        mid = (float(bids[0].price) + float(asks[0].price)) * 0.5 if bids and asks else 0.0
        start = now
        depths = DepthCounts(now, _NO_TRADE, (0.0,) * n, 0.0)
        before = mid  # the first decision: the current mid
        adverse = AdverseMoves()
        calibrated = None
    else:
        before = calibrated.last_mid
        mid = (float(bids[0].price) + float(asks[0].price)) * 0.5 if bids and asks else before
        start = calibrated.start
        depths = calibrated.depths
        adverse = calibrated.adverse
    trades = inputs.trades
    if trades:
        depths, first = fold_depths(depths, trades, before, now, params)
        if first < start:  # the elapsed time covers every trade counted
            start = first
    if params.adverse_horizon > 0.0:
        adverse = track_adverse(adverse, trades, before, mid, now, params)
    moved = adverse_bps(adverse, now, params) if params.adverse_horizon > 0.0 else None
    fit = intensity_at(depths, start, now, params, moved)
    if (
        calibrated is not None
        and depths is calibrated.depths
        and mid == before
        and adverse is calibrated.adverse
    ):
        return Intensity(fit)
    new = CalibrationState(mid, start, depths, adverse)
    return Intensity(
        fit, StrategyState(state.fair_value, state.mid_variance, state.trade_variance, new)
    )
