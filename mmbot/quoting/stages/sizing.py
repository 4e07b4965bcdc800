"""Sizing stage: N levels a side, their sizes, and the limits that drop or trim them (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.Drafts`, float quotes around the
decision's ``reservation`` at
``half_spread_bps + i * level_spacing_bps`` (level i = 0..levels-1), sized
``order_size * shape(i)`` with shape ``flat`` 1, ``linear`` 1 + i*factor, ``geometric``
factor**i. Then, level by level from the inside out, each side is trimmed so that if all
its quotes filled: |position| stays within ``max_position`` (a side with no room is
dropped), each order stays under ``max_order_notional``, bids stay within the free quote
balance and asks within the free base balance.

A sizing table's float form (sizes and distances per level) is worked out once per
parameters object (memoised by identity: a pure function of a frozen value).

What it must never do: rely on floats for the limits' last digit: the rounding stage
enforces the same limits exactly in Decimal; this stage only shapes the draft. Nor keep
anything between decisions but that memo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from mmbot.model import Side
from mmbot.quoting.pipeline import Decision, DraftQuote, Drafts, Pull, QuoteInputs
from mmbot.quoting.stages.skew import reference_price

if TYPE_CHECKING:
    from mmbot.quoting.params import SizingParams

_BUY = Side.BUY
_SELL = Side.SELL
_UNLIMITED = float("inf")


def shape_weight(shape: str, factor: float, level: int) -> float:
    if shape == "linear":
        return 1.0 + level * factor
    if shape == "geometric":
        return float(factor**level)
    return 1.0


class _Ladder(NamedTuple):
    """A sizing table's parameters in floats, and each level's (size, distance) pair."""

    params: SizingParams
    max_position: float
    max_notional: float
    levels: tuple[tuple[int, float, float], ...]  # (level, size, level * spacing)


_LADDERS: dict[int, _Ladder] = {}  # by id(params); each entry holds its params alive
_LADDERS_MAX = 64


def _ladder(params: SizingParams) -> _Ladder:
    """The float form of ``params`` (a pure function of it, kept per params object)."""
    ladder = _LADDERS.get(id(params))
    if ladder is not None and ladder.params is params:
        return ladder
    base = float(params.order_size)
    spacing = params.level_spacing_bps * 1e-4
    shape = params.shape
    if shape == "flat":
        sizes = [base] * params.levels
    else:
        factor = params.shape_factor
        sizes = [base * shape_weight(shape, factor, level) for level in range(params.levels)]
    ladder = _Ladder(
        params,
        float(params.max_position),
        float(params.max_order_notional),
        tuple((level, size, level * spacing) for level, size in enumerate(sizes)),
    )
    if len(_LADDERS) >= _LADDERS_MAX:
        _LADDERS.clear()
    _LADDERS[id(params)] = ladder
    return ladder


def sizing(inputs: QuoteInputs, so_far: Decision) -> Drafts | Pull:
    """The drafts, inside level first on each side, bids then asks.

    ``min(a, b, c)`` is written out as the comparisons the builtin makes (same result).
    """
    center = so_far.reservation
    if center is None:
        center = reference_price(inputs, so_far)
        if center is None:
            return Pull("book_empty: no reference price")
    params = inputs.params
    half = so_far.half_spread_bps
    if half is None:
        half = params.spread.base_bps
    _, max_position, max_notional, levels = _ladder(params.sizing)
    position = float(inputs.position)
    limit_notional = max_notional > 0.0
    drafts: list[DraftQuote] = []
    append = drafts.append
    quote_free = inputs.quote_free
    base_free = inputs.base_free
    # bids: room to buy before position > max_position; quote balance spent as price * qty
    room = max_position - position
    budget = float(quote_free) if quote_free is not None else _UNLIMITED
    offset = half * 1e-4
    inside = 1.0 - offset
    for level, size, distance in levels:
        price = center * (inside - distance)
        if room <= 0.0 or price <= 0.0:
            break
        qty = size
        if room < qty:
            qty = room
        afford = budget / price
        if afford < qty:
            qty = afford
        if limit_notional:
            cap = max_notional / price
            if cap < qty:
                qty = cap
        if qty <= 0.0:
            break
        append(DraftQuote(_BUY, level, price, qty))
        room -= qty
        budget -= qty * price
    # asks: room to sell before position < -max_position; base balance spent as qty
    room = max_position + position
    budget = float(base_free) if base_free is not None else _UNLIMITED
    inside = 1.0 + offset
    for level, size, distance in levels:
        price = center * (inside + distance)
        if room <= 0.0:
            break
        qty = size
        if room < qty:
            qty = room
        if budget < qty:
            qty = budget
        if limit_notional:
            cap = max_notional / price
            if cap < qty:
                qty = cap
        if qty <= 0.0:
            break
        append(DraftQuote(_SELL, level, price, qty))
        room -= qty
        budget -= qty
    return Drafts(tuple(drafts))
