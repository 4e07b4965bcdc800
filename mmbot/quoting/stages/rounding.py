"""Rounding stage: turn float drafts into exact quotes the venue will accept (sans-IO).

What it is for: the final :class:`~mmbot.model.QuoteSet`, from the decision's drafts. Prices
go to whole ticks, bids
down and asks up; sizes down to whole steps. With ``rounding.post_only`` a bid stays
strictly below the best ask and an ask strictly above the best bid (a maker order never
takes). Levels on one side are strictly apart (no two quotes at one price), and every ask
is above every bid. The limits are enforced again here, exactly in Decimal lots: if all
bids filled, position stays <= ``max_position``; if all asks filled, >= ``-max_position``;
bids' notional within ``quote_free``, asks' size within ``base_free``; each order within
``max_order_notional`` and the venue's max quantity/notional. A quote under the venue's
minimum quantity or notional, or off its price range, is dropped.

It runs on every decision, so it is written for speed: an instrument's filters are worked
out once per instrument object (a pure function of a frozen value, memoised by identity),
limits are checked in integers (ticks, lots), and ``min``/``max`` of integers are written
out.

What it must never do: let a float reach a price or quantity (DESIGN.md §4.1), or keep
anything between decisions but those memoised pure functions of frozen inputs.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import NamedTuple

from mmbot.model import Instrument, Quote, QuoteSet, Side
from mmbot.quoting.pipeline import Decision, Pull, QuoteInputs

_EPS = 1e-9  # in ticks/lots: absorbs float noise like 9999.999999999998 ticks
_NO_LIMIT = 1 << 62
_BUY = Side.BUY
_SELL = Side.SELL
_ZERO = Decimal(0)  # a Decimal compares faster with a Decimal than with an int
_floor = math.floor
_ceil = math.ceil


def ticks_floor(value: Decimal, tick: Decimal) -> int:
    """``floor(value / tick)`` exactly (``tick`` > 0).

    ``divmod`` gives the exact integer quotient and remainder (or raises if the quotient
    needs more digits than the context has): ``value / tick`` would be rounded to the
    context's 28 digits first, and 2.999...97 would floor to 3.
    """
    quotient, remainder = divmod(value, tick)  # truncated towards zero
    ticks = int(quotient)
    return ticks - 1 if remainder < _ZERO else ticks


def ticks_ceil(value: Decimal, tick: Decimal) -> int:
    """``ceil(value / tick)`` exactly (``tick`` > 0); see :func:`ticks_floor`."""
    quotient, remainder = divmod(value, tick)
    ticks = int(quotient)
    return ticks + 1 if remainder > _ZERO else ticks


class _Filters(NamedTuple):
    """An instrument's filters in integers, and its tick and step in both number types.

    Price range in ticks, size range in lots, and the notional range in units of
    ``tick * step`` (a quote's notional is exactly ``ticks * lots`` such units).
    ``order_caps`` memoises ``max_order_notional`` (Decimal) -> its floor in those units.
    """

    instrument: Instrument
    tick: Decimal
    step: Decimal
    unit: Decimal  # tick * step
    tick_f: float
    step_f: float
    price_min: int
    price_max: int
    lots_min: int
    lots_max: int
    notional_min: int
    notional_max: int
    order_caps: dict[Decimal, int]


_FILTERS: dict[int, _Filters] = {}  # by id(instrument); each entry holds its instrument alive
_CACHE_MAX = 64


def _filters(inst: Instrument) -> _Filters:
    """``inst``'s filters (a pure function of the frozen instrument, kept per object).

    Tick and step must be > 0 (the stage checks before it asks).
    """
    filters = _FILTERS.get(id(inst))
    if filters is not None and filters.instrument is inst:
        return filters
    tick = inst.tick_size
    step = inst.step_size
    unit = tick * step
    filters = _Filters(
        inst,
        tick,
        step,
        unit,
        float(tick),
        float(step),
        max(ticks_ceil(inst.min_price, tick), 1),
        ticks_floor(inst.max_price, tick) if inst.max_price > 0 else _NO_LIMIT,
        max(ticks_ceil(inst.min_qty, step), 1),
        ticks_floor(inst.max_qty, step) if inst.max_qty > 0 else _NO_LIMIT,
        ticks_ceil(inst.min_notional, unit),
        ticks_floor(inst.max_notional, unit) if inst.max_notional > 0 else _NO_LIMIT,
        {},
    )
    if len(_FILTERS) >= _CACHE_MAX:
        _FILTERS.clear()
    _FILTERS[id(inst)] = filters
    return filters


def _order_cap(filters: _Filters, max_order_notional: Decimal) -> int:
    """``max_order_notional`` (> 0) in whole units of ``tick * step``, rounded down."""
    caps = filters.order_caps
    cap = caps.get(max_order_notional)
    if cap is None:
        cap = ticks_floor(max_order_notional, filters.unit)
        if len(caps) >= _CACHE_MAX:
            caps.clear()
        caps[max_order_notional] = cap
    return cap


def rounding(inputs: QuoteInputs, so_far: Decision) -> QuoteSet | Pull:
    """The quotes, from ``so_far.drafts`` (inside level first on each side).

    All limits are checked in integers: prices in ticks, sizes in lots, notionals in units
    of ``tick * step``; Decimal appears only to build each quote's price and size.
    ``min``/``max`` of integers are written out as comparisons (the same result).
    """
    inst = inputs.instrument
    filters = _FILTERS.get(id(inst))
    if filters is None or filters.instrument is not inst:
        tick = inst.tick_size
        step = inst.step_size
        if tick <= 0 or step <= 0:
            return Pull(f"bad_instrument: tick {tick} and step {step} must be > 0")
        filters = _filters(inst)
    (
        _,
        tick,
        step,
        unit,
        tick_f,
        step_f,
        price_min,
        price_max,
        lots_min,
        lots_max,
        notional_min,
        notional_max,
        _,
    ) = filters
    params = inputs.params
    # post-only: bids at most one tick under the best ask, asks one over the best bid
    bid_max = _NO_LIMIT
    ask_min = 1
    if params.rounding.post_only:
        book = inputs.book
        if book.asks:
            # the best ask in ticks, rounded up: a float guess checked exactly
            best = book.asks[0].price
            guess = round(float(best) / tick_f)
            bid_max = (guess if tick * guess == best else ticks_ceil(best, tick)) - 1
        if book.bids:  # the best bid in ticks, rounded down
            best = book.bids[0].price
            guess = round(float(best) / tick_f)
            ask_min = (guess if tick * guess == best else ticks_floor(best, tick)) + 1
    sizing = params.sizing
    if sizing.max_order_notional > _ZERO:
        cap = _order_cap(filters, sizing.max_order_notional)
        if cap < notional_max:
            notional_max = cap
    position = inputs.position
    max_position = sizing.max_position
    # whole lots that fit in each room (0 when there is none; floor: both sides positive)
    room = max_position - position  # lots we may buy
    bid_room = 0 if room <= _ZERO else int(room // step)
    room = max_position + position  # lots we may sell
    ask_room = 0 if room <= _ZERO else int(room // step)
    base_free = inputs.base_free
    if base_free is not None:
        free = 0 if base_free <= _ZERO else int(base_free // step)
        if free < ask_room:
            ask_room = free
    quote_free = inputs.quote_free
    budget = _NO_LIMIT  # quote balance, in units of tick * step
    if quote_free is not None:
        budget = 0 if quote_free <= _ZERO else int(quote_free // unit)

    bids: list[Quote] = []
    asks: list[Quote] = []
    drafts = so_far.drafts
    last = bid_max + 1  # bids strictly decreasing, inside first
    top_bid = 0
    for side, level, price, qty in drafts:
        if side is not _BUY:
            continue
        ticks = _floor(price / tick_f + _EPS)
        if last - 1 < ticks:
            ticks = last - 1
        if ticks < price_min or ticks > price_max:
            continue
        cap = budget if budget < notional_max else notional_max
        lots = _floor(qty / step_f + _EPS)
        if lots_max < lots:
            lots = lots_max
        if bid_room < lots:
            lots = bid_room
        if cap // ticks < lots:
            lots = cap // ticks
        if lots < lots_min or ticks * lots < notional_min:
            continue
        bid_room -= lots
        budget -= ticks * lots
        bids.append(Quote(_BUY, level, tick * ticks, step * lots))
        last = ticks
        if ticks > top_bid:
            top_bid = ticks
    # asks strictly increasing, inside first, and above every bid of ours
    last = (top_bid + 1 if top_bid + 1 > ask_min else ask_min) - 1
    for side, level, price, qty in drafts:
        if side is not _SELL:
            continue
        ticks = _ceil(price / tick_f - _EPS)
        if last + 1 > ticks:
            ticks = last + 1
        if ticks > price_max or ticks < price_min:
            continue
        lots = _floor(qty / step_f + _EPS)
        if lots_max < lots:
            lots = lots_max
        if ask_room < lots:
            lots = ask_room
        if notional_max // ticks < lots:
            lots = notional_max // ticks
        if lots < lots_min or ticks * lots < notional_min:
            continue
        ask_room -= lots
        asks.append(Quote(_SELL, level, tick * ticks, step * lots))
        last = ticks
    return QuoteSet(inputs.symbol, tuple(bids), tuple(asks))
