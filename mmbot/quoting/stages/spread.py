"""Spread stage: the half-spread each side quotes around, in bps (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.HalfSpread` by ``spread.mode``:

- ``fixed``: ``base_bps``;
- ``volatility``: ``base_bps + vol_multiplier * sigma * sqrt(vol_horizon)``;
- ``avellaneda_stoikov``: half of the optimal spread
  ``delta = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / kappa)`` (Avellaneda &
  Stoikov 2008) with the ``skew`` table's ``gamma``, ``kappa`` and rolling
  horizon ``tau``, all in bps units (see docs/strategy.md); a usable fit of the
  calibration stage gives ``kappa`` (its ``k``);
- ``glft``: the closed-form approximation of Guéant, Lehalle & Fernandez-Tapia (2013),
  ``c1 + omega / 2`` with ``c1 = (1 / gamma) * ln(1 + gamma / k)`` and
  ``omega = sqrt(sigma^2 * gamma / (2 * k * A) * (1 + gamma / k)^(1 + k / gamma))``, from
  the calibration stage's usable ``A`` and ``k`` (``base_bps`` without one);

plus, with ``adverse_selection``, the calibration's measured adverse move of the takers
(when positive: a maker's fill loses it on average, so the quote stands that much farther);
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


def glft_c1_bps(gamma: float, k: float) -> float:
    """GLFT's spread term ``(1 / gamma) * ln(1 + gamma / k)`` (bps; half of the A–S one)."""
    return math.log1p(gamma / k) / gamma


def glft_omega_bps(gamma: float, k: float, a: float, sigma_bps: float) -> float:
    """GLFT's inventory term, bps per lot:
    ``sqrt(sigma^2 * gamma / (2 * k * A) * (1 + gamma / k)^(1 + k / gamma))``.

    Units: ``sigma`` bps per sqrt(s), ``gamma`` per (bps * lot), ``k`` per bps, ``A`` per s
    (the lot is ``sizing.order_size``, GLFT's Delta = 1). The half-spread is
    ``c1 + omega / 2`` and the reservation price moves ``q * omega`` bps for ``q`` lots.
    """
    if not sigma_bps > 0.0:
        return 0.0
    growth = math.exp((1.0 + k / gamma) * math.log1p(gamma / k))
    return sigma_bps * _sqrt(gamma / (2.0 * k * a) * growth)


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
        kappa = skew.kappa
        fit = so_far.intensity
        if fit is not None and fit.fallback_reason is None and fit.k is not None:
            kappa = fit.k
        half = 0.5 * optimal_spread_bps(skew.gamma, kappa, sigma, skew.horizon)
    elif mode == "glft":
        fit = so_far.intensity
        if fit is not None and fit.fallback_reason is None and fit.a is not None:
            gamma = all_params.skew.gamma
            k = fit.k
            assert k is not None  # a usable fit has both
            half = glft_c1_bps(gamma, k) + 0.5 * glft_omega_bps(gamma, k, fit.a, sigma)
        else:
            half = params.base_bps
    else:
        half = params.base_bps
    if params.adverse_selection:  # the takers' measured edge over a maker, when positive
        fit = so_far.intensity
        if fit is not None and fit.adverse_bps is not None and fit.adverse_bps > 0.0:
            half += fit.adverse_bps
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
