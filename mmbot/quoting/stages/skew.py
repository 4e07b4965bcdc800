"""Skew stage: move the reservation price against inventory (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.Reservation`, the price both sides
are quoted around, by ``skew.mode``:

- ``none``: the fair value;
- ``linear``: shift by ``-linear_bps * position / max_position`` (bps of fair value);
- ``avellaneda_stoikov``: ``r = s - q * gamma * sigma^2 * tau`` (Avellaneda & Stoikov
  2008), computed in bps of ``s``: ``q`` is the position in lots
  (``position / sizing.order_size``), ``sigma`` in bps per sqrt(second), ``tau`` the
  rolling horizon ``skew.horizon`` in seconds (constant: T - t never runs out), ``gamma``
  per (bps * lot);
- ``glft``: ``r = s - q * omega`` (Guéant, Lehalle & Fernandez-Tapia 2013; ``omega`` from
  :func:`~mmbot.quoting.stages.spread.glft_omega_bps`, in bps of ``s``) with the
  calibration stage's usable ``A`` and ``k``; without one, the ``avellaneda_stoikov`` shift.

Both shifts are capped at ``max_skew_bps``. Long inventory lowers both prices (sell more,
buy less); short raises them.

What it must never do: skew towards inventory (a long book must never raise the prices).
"""

from __future__ import annotations

from mmbot.quoting.pipeline import Decision, Pull, QuoteInputs, Reservation
from mmbot.quoting.stages.spread import glft_omega_bps


def reference_price(inputs: QuoteInputs, so_far: Decision) -> float | None:
    """The fair value, or the book's mid when no fair-value stage ran."""
    if so_far.fair_value is not None:
        return so_far.fair_value
    book = inputs.book
    if not book.bids or not book.asks:
        return None
    return (float(book.bids[0].price) + float(book.asks[0].price)) * 0.5


def skew_bps(inputs: QuoteInputs, so_far: Decision) -> float:
    """The signed shift of the reservation price from the fair value, in bps."""
    all_params = inputs.params
    params = all_params.skew
    mode = params.mode
    if mode == "none" or not inputs.position:
        return 0.0
    position = float(inputs.position)
    if mode == "linear":
        max_position = float(all_params.sizing.max_position)
        ratio = position / max_position if max_position > 0 else (1.0 if position > 0 else -1.0)
        shift = -params.linear_bps * ratio
    else:
        sigma = so_far.volatility
        if sigma is None:
            sigma = all_params.volatility.prior
        lots = position / float(all_params.sizing.order_size)
        fit = so_far.intensity if mode == "glft" else None
        if fit is not None and fit.fallback_reason is None and fit.a is not None:
            k = fit.k
            assert k is not None  # a usable fit has both
            shift = -lots * glft_omega_bps(params.gamma, k, fit.a, sigma)
        else:
            shift = -lots * params.gamma * sigma * sigma * params.horizon
    cap = params.max_skew_bps
    return cap if shift > cap else -cap if shift < -cap else shift


def skew(inputs: QuoteInputs, so_far: Decision) -> Reservation | Pull:
    """The reservation price (and the mid as the fair value if none was set)."""
    reference = so_far.fair_value
    if reference is None:
        reference = reference_price(inputs, so_far)
        if reference is None:
            return Pull("book_empty: no reference price")
    return Reservation(reference * (1.0 + skew_bps(inputs, so_far) * 1e-4), reference)
