"""Volatility stage: an EWMA estimate of return volatility, in bps per sqrt(second) (sans-IO).

What it is for: ``ctx.volatility`` from the mid (sampled at each decision, at ``ctx.now``)
and/or the public trades since the last decision (``ctx.trades``), by
``volatility.source`` (``mid``, ``trades`` or ``max`` of both). Each estimator keeps
time-decayed sums of squared returns (bps^2) and of elapsed seconds; with half-life ``h``
and an observation after ``dt`` seconds, both sums decay by ``exp(-dt ln2 / h)``; the
variance rate is ``(sum_r2 + prior^2 * w) / (sum_dt + w)``: the configured prior counts as
``w = prior_weight`` seconds of data, so a fresh estimator starts at the prior and a quiet
market drifts down towards zero only as real seconds accumulate.

What it must never do: read a clock or keep state outside ``ctx.state``.
"""

from __future__ import annotations

import math

from mmbot.quoting.pipeline import QuoteContext, StrategyState, VarianceState, evolve

_LN2 = math.log(2.0)


def variance_update(
    state: VarianceState | None, price: float, time: float, halflife: float, log_returns: bool
) -> VarianceState:
    """Fold one observed price at ``time`` into the decayed sums."""
    if state is None or state.last_price <= 0.0:
        return VarianceState(price, time)
    dt = time - state.last_time
    if dt < 0.0:
        dt = 0.0
    last = state.last_price
    r_bps = (math.log(price / last) if log_returns else (price - last) / last) * 1e4
    if dt == 0.0 and r_bps == 0.0:
        return state
    keep = math.exp(-dt * _LN2 / halflife) if dt > 0.0 else 1.0
    return VarianceState(
        price,
        max(time, state.last_time),
        keep * state.sum_r2 + r_bps * r_bps,
        keep * state.sum_dt + dt,
    )


def sigma_bps(state: VarianceState | None, prior: float, prior_weight: float) -> float:
    """Volatility in bps per sqrt(second), shrunk towards ``prior`` (see the module doc)."""
    if state is None:
        return prior
    return math.sqrt((state.sum_r2 + prior * prior * prior_weight) / (state.sum_dt + prior_weight))


def volatility(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.volatility`` and carry the estimators in ``ctx.state``."""
    params = ctx.params.volatility
    state = ctx.state
    log_returns = params.returns == "log"
    source = params.source
    halflife = params.halflife
    mid_var = state.mid_variance
    trade_var = state.trade_variance
    sigma = 0.0
    if source != "trades":
        book = ctx.book
        if book.bids and book.asks:
            mid = (float(book.bids[0].price) + float(book.asks[0].price)) * 0.5
            mid_var = variance_update(mid_var, mid, ctx.now, halflife, log_returns)
        sigma = sigma_bps(mid_var, params.prior, params.prior_weight)
    if source != "mid":
        trades = ctx.trades
        if trades:
            for trade in trades:
                trade_var = variance_update(
                    trade_var, float(trade.price), trade.time, halflife, log_returns
                )
        trade_sigma = sigma_bps(trade_var, params.prior, params.prior_weight)
        if trade_sigma > sigma:
            sigma = trade_sigma
    if sigma > params.max_bps:
        sigma = params.max_bps
    if mid_var is not state.mid_variance or trade_var is not state.trade_variance:
        state = StrategyState(state.fair_value, mid_var, trade_var)
    return evolve(ctx, volatility=sigma, state=state)
