"""Spread stage: the half-spread each side quotes around, in bps (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.HalfSpread` by ``spread.mode``:

- ``fixed``: ``base_bps``;
- ``volatility``: ``base_bps + vol_multiplier * sigma * sqrt(vol_horizon)``;
- ``avellaneda_stoikov``: half of the optimal spread
  ``delta = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / kappa)`` (Avellaneda &
  Stoikov 2008) with the ``skew`` table's ``gamma``, ``kappa`` and rolling
  horizon ``tau``, all in bps units (see docs/strategy.md);

then the ceiling ``max_bps`` and, last, the fee-aware floor (never below
``maker_fee_bps + min_edge_bps``, and never below 0).

What it must never do: quote inside the fee floor, whatever the mode says.
"""

from __future__ import annotations

import math

from mmbot.quoting.pipeline import Decision, HalfSpread, QuoteInputs

_sqrt = math.sqrt


def optimal_spread_bps(gamma: float, kappa: float, sigma_bps: float, tau: float) -> float:
    """The Avellaneda–Stoikov total spread delta (bps) for a rolling horizon ``tau`` s."""
    return gamma * sigma_bps * sigma_bps * tau + (2.0 / gamma) * math.log1p(gamma / kappa)


def fee_floor_bps(maker_fee_bps: float, min_edge_bps: float) -> float:
    return max(maker_fee_bps + min_edge_bps, 0.0)


def spread(inputs: QuoteInputs, so_far: Decision) -> HalfSpread:
    """The half-spread (volatility modes use ``so_far.volatility``, else the prior)."""
    all_params = inputs.params
    params = all_params.spread
    mode = params.mode
    sigma = so_far.volatility
    if sigma is None:
        sigma = all_params.volatility.prior
    if mode == "volatility":
        half = params.base_bps + params.vol_multiplier * sigma * _sqrt(params.vol_horizon)
    elif mode == "avellaneda_stoikov":
        skew = all_params.skew
        half = 0.5 * optimal_spread_bps(skew.gamma, skew.kappa, sigma, skew.horizon)
    else:
        half = params.base_bps
    # the ceiling first, the floor last: the fee floor wins over everything
    # (min and max written out: the same comparisons the builtins make, without the calls)
    ceiling = params.max_bps
    if ceiling < half:
        half = ceiling
    floor = params.maker_fee_bps + params.min_edge_bps
    if floor < 0.0:  # fee_floor_bps
        floor = 0.0
    if floor > half:
        half = floor
    return HalfSpread(half)
