"""Volatility stage: an EWMA estimate of return volatility, in bps per sqrt(second) (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.Volatility` from the mid (sampled at
each decision, at ``inputs.now``) and/or the public trades since the last decision
(``inputs.trades``), by
``volatility.source`` (``mid``, ``trades`` or ``max`` of both). Each estimator keeps
time-decayed sums of squared returns (bps^2) and of elapsed seconds; with half-life ``h``
and an observation after ``dt`` seconds, both sums decay by ``exp(-dt ln2 / h)``; the
variance rate is ``(sum_r2 + prior^2 * w) / (sum_dt + w)``: the configured prior counts as
``w = prior_weight`` seconds of data, so a fresh estimator starts at the prior and a quiet
market drifts down towards zero only as real seconds accumulate.

Trades are folded once: a trade at or before the last trade already folded
(``so_far.state.trade_variance.last_time``) is skipped, so a shell that passes an overlapping
window of recent trades does not count them twice (a later trade with exactly the same
timestamp as the last folded one is skipped too: one return lost, never one doubled).

What it must never do: read a clock or keep state outside the decision's ``state``.
"""

from __future__ import annotations

import math

from mmbot.quoting.pipeline import (
    Decision,
    QuoteInputs,
    StrategyState,
    TradeTick,
    VarianceState,
    Volatility,
)

_LN2 = math.log(2.0)
_log = math.log
_exp = math.exp
_sqrt = math.sqrt


def variance_update(
    state: VarianceState | None, price: float, time: float, halflife: float, log_returns: bool
) -> VarianceState:
    """Fold one observed price at ``time`` into the decayed sums."""
    if state is None or state.last_price <= 0.0:
        return VarianceState(price, time, 0.0, 0.0)
    dt = time - state.last_time
    if dt < 0.0:
        dt = 0.0
    last = state.last_price
    r_bps = (math.log(price / last) if log_returns else (price - last) / last) * 1e4
    if dt == 0.0 and r_bps == 0.0:
        return state
    keep = math.exp(-dt * _LN2 / halflife) if dt > 0.0 else 1.0
    last_time = max(time, state.last_time)
    sum_r2 = keep * state.sum_r2 + r_bps * r_bps
    return VarianceState(price, last_time, sum_r2, keep * state.sum_dt + dt)


def sigma_bps(state: VarianceState | None, prior: float, prior_weight: float) -> float:
    """Volatility in bps per sqrt(second), shrunk towards ``prior`` (see the module doc)."""
    if state is None:
        return prior
    return math.sqrt((state.sum_r2 + prior * prior * prior_weight) / (state.sum_dt + prior_weight))


def volatility(inputs: QuoteInputs, so_far: Decision) -> Volatility:
    """The volatility, and the estimators in the state when they moved.

    The same arithmetic as :func:`variance_update` and :func:`sigma_bps`, folded inline
    (this stage runs on every decision; a test checks it against those functions).
    """
    params = inputs.params.volatility
    state = so_far.state
    log_returns = params.returns == "log"
    source = params.source
    halflife = params.halflife
    prior = params.prior
    prior_weight = params.prior_weight
    prior_r2 = prior * prior * prior_weight  # sigma_bps's pseudo-data, as it computes it
    mid_var = state.mid_variance
    trade_var = state.trade_variance
    sigma = 0.0
    if source != "trades":
        book = inputs.book
        bids = book.bids
        asks = book.asks
        if bids and asks:
            mid = (float(bids[0].price) + float(asks[0].price)) * 0.5
            mid_var = variance_update(mid_var, mid, inputs.now, halflife, log_returns)
        if mid_var is None:
            sigma = prior
        else:
            sigma = _sqrt((mid_var.sum_r2 + prior_r2) / (mid_var.sum_dt + prior_weight))
    if source != "mid":
        trades = inputs.trades
        if trades and trade_var is not None and trade_var.last_price > 0.0:
            cutoff = trade_var.last_time
            for trade in trades:
                if trade.time <= cutoff:  # seen before: keep only the ones after it
                    trades = tuple([t for t in trades if t.time > cutoff])
                    break
        if trades:
            trade_var = fold_trades(trade_var, trades, halflife, log_returns)
        if trade_var is None:
            trade_sigma = prior
        else:
            trade_sigma = _sqrt((trade_var.sum_r2 + prior_r2) / (trade_var.sum_dt + prior_weight))
        if trade_sigma > sigma:
            sigma = trade_sigma
    if sigma > params.max_bps:
        sigma = params.max_bps
    if mid_var is not state.mid_variance or trade_var is not state.trade_variance:
        return Volatility(
            sigma, StrategyState(state.fair_value, mid_var, trade_var, state.calibration)
        )
    return Volatility(sigma)


def fold_trades(
    state: VarianceState | None,
    trades: tuple[TradeTick, ...],
    halflife: float,
    log_returns: bool,
) -> VarianceState | None:
    """``variance_update`` over each trade in turn, with the sums kept in locals.

    Returns ``state`` itself when no trade changed it (as ``variance_update`` does).
    """
    changed = False
    if state is None:
        last = last_time = sum_r2 = sum_dt = 0.0
        fresh = True
    else:
        last, last_time, sum_r2, sum_dt = state
        fresh = last <= 0.0
    for trade in trades:
        price = float(trade.price)
        time = trade.time
        if fresh:
            last, last_time, sum_r2, sum_dt = price, time, 0.0, 0.0
            fresh = last <= 0.0
            changed = True
            continue
        dt = time - last_time
        if dt < 0.0:
            dt = 0.0
        r_bps = (_log(price / last) if log_returns else (price - last) / last) * 1e4
        if dt == 0.0 and r_bps == 0.0:
            continue
        keep = _exp(-dt * _LN2 / halflife) if dt > 0.0 else 1.0
        last = price
        if not last_time > time:  # max(time, last_time), as variance_update keeps it
            last_time = time
        sum_r2 = keep * sum_r2 + r_bps * r_bps
        sum_dt = keep * sum_dt + dt
        changed = True
        fresh = last <= 0.0
    if not changed:
        return state
    return VarianceState(last, last_time, sum_r2, sum_dt)
