"""Skew stage: move the reservation price against inventory (sans-IO).

What it is for: ``ctx.reservation``, the price both sides are quoted around, by
``skew.mode``:

- ``none``: the fair value;
- ``linear``: shift by ``-linear_bps * position / max_position`` (bps of fair value);
- ``avellaneda_stoikov``: ``r = s - q * gamma * sigma^2 * tau`` (Avellaneda & Stoikov
  2008), computed in bps of ``s``: ``q`` is the position in lots
  (``position / sizing.order_size``), ``sigma`` in bps per sqrt(second), ``tau`` the
  rolling horizon ``skew.horizon`` in seconds (constant: T - t never runs out), ``gamma``
  per (bps * lot).

Both shifts are capped at ``max_skew_bps``. Long inventory lowers both prices (sell more,
buy less); short raises them.

What it must never do: skew towards inventory (a long book must never raise the prices).
"""

from __future__ import annotations

from mmbot.quoting.pipeline import QuoteContext, replacer

_set_reservation = replacer("fair_value", "reservation")


def reference_price(ctx: QuoteContext) -> float | None:
    """The fair value, or the book's mid when no fair-value stage ran."""
    if ctx.fair_value is not None:
        return ctx.fair_value
    book = ctx.book
    if not book.bids or not book.asks:
        return None
    return (float(book.bids[0].price) + float(book.asks[0].price)) * 0.5


def skew_bps(ctx: QuoteContext) -> float:
    """The signed shift of the reservation price from the fair value, in bps."""
    params = ctx.params.skew
    mode = params.mode
    if mode == "none" or not ctx.position:
        return 0.0
    position = float(ctx.position)
    if mode == "linear":
        max_position = float(ctx.params.sizing.max_position)
        ratio = position / max_position if max_position > 0 else (1.0 if position > 0 else -1.0)
        shift = -params.linear_bps * ratio
    else:
        sigma = ctx.volatility if ctx.volatility is not None else ctx.params.volatility.prior
        lots = position / float(ctx.params.sizing.order_size)
        shift = -lots * params.gamma * sigma * sigma * params.horizon
    cap = params.max_skew_bps
    return cap if shift > cap else -cap if shift < -cap else shift


def skew(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.reservation`` (and ``fair_value`` from the mid if none was set)."""
    reference = ctx.fair_value
    if reference is None:
        reference = reference_price(ctx)
        if reference is None:
            return ctx.pull("book_empty: no reference price")
    reservation = reference * (1.0 + skew_bps(ctx) * 1e-4)
    return _set_reservation(ctx, reference, reservation)
