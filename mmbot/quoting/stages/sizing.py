"""Sizing stage: N levels a side, their sizes, and the limits that drop or trim them (sans-IO).

What it is for: ``ctx.drafts``, float quotes around ``ctx.reservation`` at
``half_spread_bps + i * level_spacing_bps`` (level i = 0..levels-1), sized
``order_size * shape(i)`` with shape ``flat`` 1, ``linear`` 1 + i*factor, ``geometric``
factor**i. Then, level by level from the inside out, each side is trimmed so that if all
its quotes filled: |position| stays within ``max_position`` (a side with no room is
dropped), each order stays under ``max_order_notional``, bids stay within the free quote
balance and asks within the free base balance.

What it must never do: rely on floats for the limits' last digit: the rounding stage
enforces the same limits exactly in Decimal; this stage only shapes the draft.
"""

from __future__ import annotations

from mmbot.model import Side
from mmbot.quoting.pipeline import DraftQuote, QuoteContext, evolve
from mmbot.quoting.stages.skew import reference_price

_BUY = Side.BUY
_SELL = Side.SELL
_UNLIMITED = float("inf")


def shape_weight(shape: str, factor: float, level: int) -> float:
    if shape == "linear":
        return 1.0 + level * factor
    if shape == "geometric":
        return float(factor**level)
    return 1.0


def sizing(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.drafts``, inside level first on each side, bids then asks."""
    params = ctx.params.sizing
    center = ctx.reservation if ctx.reservation is not None else reference_price(ctx)
    if center is None:
        return ctx.pull("book_empty: no reference price")
    half = ctx.half_spread_bps
    if half is None:
        half = ctx.params.spread.base_bps
    position = float(ctx.position)
    max_position = float(params.max_position)
    base = float(params.order_size)
    max_notional = float(params.max_order_notional)
    spacing = params.level_spacing_bps * 1e-4
    shape = params.shape
    if shape == "flat":
        sizes = [base] * params.levels
    else:
        factor = params.shape_factor
        sizes = [base * shape_weight(shape, factor, level) for level in range(params.levels)]
    drafts: list[DraftQuote] = []
    quote_free = ctx.quote_free
    base_free = ctx.base_free
    # bids: room to buy before position > max_position; quote balance spent as price * qty
    room = max_position - position
    budget = float(quote_free) if quote_free is not None else _UNLIMITED
    offset = half * 1e-4
    for level, size in enumerate(sizes):
        price = center * (1.0 - offset - level * spacing)
        if room <= 0.0 or price <= 0.0:
            break
        qty = min(size, room, budget / price)
        if max_notional > 0.0:
            qty = min(qty, max_notional / price)
        if qty <= 0.0:
            break
        drafts.append(DraftQuote(_BUY, level, price, qty))
        room -= qty
        budget -= qty * price
    # asks: room to sell before position < -max_position; base balance spent as qty
    room = max_position + position
    budget = float(base_free) if base_free is not None else _UNLIMITED
    for level, size in enumerate(sizes):
        price = center * (1.0 + offset + level * spacing)
        if room <= 0.0:
            break
        qty = min(size, room, budget)
        if max_notional > 0.0:
            qty = min(qty, max_notional / price)
        if qty <= 0.0:
            break
        drafts.append(DraftQuote(_SELL, level, price, qty))
        room -= qty
        budget -= qty
    return evolve(ctx, drafts=tuple(drafts))
