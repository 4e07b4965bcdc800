"""Rounding stage: turn float drafts into exact quotes the venue will accept (sans-IO).

What it is for: the final :class:`~mmbot.model.QuoteSet`. Prices go to whole ticks, bids
down and asks up; sizes down to whole steps. With ``rounding.post_only`` a bid stays
strictly below the best ask and an ask strictly above the best bid (a maker order never
takes). Levels on one side are strictly apart (no two quotes at one price), and every ask
is above every bid. The limits are enforced again here, exactly in Decimal lots: if all
bids filled, position stays <= ``max_position``; if all asks filled, >= ``-max_position``;
bids' notional within ``quote_free``, asks' size within ``base_free``; each order within
``max_order_notional`` and the venue's max quantity/notional. A quote under the venue's
minimum quantity or notional, or off its price range, is dropped.

What it must never do: let a float reach a price or quantity (DESIGN.md §4.1).
"""

from __future__ import annotations

import functools
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from mmbot.model import Instrument, Quote, QuoteSet, Side
from mmbot.quoting.pipeline import QuoteContext, evolve

_EPS = 1e-9  # in ticks/lots: absorbs float noise like 9999.999999999998 ticks
_NO_LIMIT = 1 << 62
_BUY = Side.BUY
_SELL = Side.SELL


def _ticks_floor(value: Decimal, tick: Decimal) -> int:
    return int((value / tick).to_integral_value(rounding=ROUND_FLOOR))


def _ticks_ceil(value: Decimal, tick: Decimal) -> int:
    return int((value / tick).to_integral_value(rounding=ROUND_CEILING))


def _lots_room(room: Decimal, step: Decimal) -> int:
    """Whole ``step``s that fit in ``room`` (0 when there is no room)."""
    if room <= 0:
        return 0
    return int(room // step)  # both positive: truncation is the floor


@functools.lru_cache(maxsize=256)
def _filters(inst: Instrument) -> tuple[int, int, int, int, int, int]:
    """The instrument's filters in integers (cached: a pure function of the instrument).

    Price range in ticks, size range in lots, and the notional range in units of
    ``tick * step`` (a quote's notional is exactly ``ticks * lots`` such units).
    """
    tick = inst.tick_size
    step = inst.step_size
    unit = tick * step
    price_min = max(_ticks_ceil(inst.min_price, tick), 1)
    price_max = _ticks_floor(inst.max_price, tick) if inst.max_price > 0 else _NO_LIMIT
    lots_min = max(_ticks_ceil(inst.min_qty, step), 1)
    lots_max = _ticks_floor(inst.max_qty, step) if inst.max_qty > 0 else _NO_LIMIT
    notional_min = _ticks_ceil(inst.min_notional, unit)
    notional_max = _ticks_floor(inst.max_notional, unit) if inst.max_notional > 0 else _NO_LIMIT
    return price_min, price_max, lots_min, lots_max, notional_min, notional_max


def _on_tick(price: Decimal, tick: Decimal, tick_f: float, up: bool) -> int:
    """``price`` in whole ticks, rounded up or down: a float guess checked exactly."""
    guess = round(float(price) / tick_f)
    if tick * guess == price:
        return guess
    return _ticks_ceil(price, tick) if up else _ticks_floor(price, tick)


def rounding(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.quotes`` from ``ctx.drafts`` (inside level first on each side).

    All limits are checked in integers: prices in ticks, sizes in lots, notionals in units
    of ``tick * step``; Decimal appears only to build each quote's price and size.
    """
    inst = ctx.instrument
    tick = inst.tick_size
    step = inst.step_size
    if tick <= 0 or step <= 0:
        return ctx.pull(f"bad_instrument: tick {tick} and step {step} must be > 0")
    tick_f = float(tick)
    step_f = float(step)
    price_min, price_max, lots_min, lots_max, notional_min, notional_max = _filters(inst)
    book = ctx.book
    # post-only: bids at most one tick under the best ask, asks one over the best bid
    bid_max = _NO_LIMIT
    ask_min = 1
    if ctx.params.rounding.post_only:
        if book.asks:
            bid_max = _on_tick(book.asks[0].price, tick, tick_f, True) - 1
        if book.bids:
            ask_min = _on_tick(book.bids[0].price, tick, tick_f, False) + 1
    sizing = ctx.params.sizing
    if sizing.max_order_notional > 0:
        notional_max = min(notional_max, _ticks_floor(sizing.max_order_notional, tick * step))
    position = ctx.position
    max_position = sizing.max_position
    bid_room = _lots_room(max_position - position, step)  # lots we may buy
    ask_room = _lots_room(max_position + position, step)  # lots we may sell
    if ctx.base_free is not None:
        ask_room = min(ask_room, _lots_room(ctx.base_free, step))
    quote_free = ctx.quote_free
    budget = _NO_LIMIT if quote_free is None else _lots_room(quote_free, tick * step)

    bids: list[Quote] = []
    asks: list[Quote] = []
    drafts = ctx.drafts
    last = bid_max + 1  # bids strictly decreasing, inside first
    top_bid = 0
    for draft in drafts:
        if draft.side is not _BUY:
            continue
        ticks = min(math.floor(draft.price / tick_f + _EPS), last - 1)
        if ticks < price_min or ticks > price_max:
            continue
        cap = min(notional_max, budget)
        lots = min(math.floor(draft.qty / step_f + _EPS), lots_max, bid_room, cap // ticks)
        if lots < lots_min or ticks * lots < notional_min:
            continue
        bid_room -= lots
        budget -= ticks * lots
        bids.append(Quote(_BUY, draft.level, tick * ticks, step * lots))
        last = ticks
        if ticks > top_bid:
            top_bid = ticks
    # asks strictly increasing, inside first, and above every bid of ours
    last = max(ask_min, top_bid + 1) - 1
    for draft in drafts:
        if draft.side is not _SELL:
            continue
        ticks = max(math.ceil(draft.price / tick_f - _EPS), last + 1)
        if ticks > price_max or ticks < price_min:
            continue
        lots = min(math.floor(draft.qty / step_f + _EPS), lots_max, ask_room, notional_max // ticks)
        if lots < lots_min or ticks * lots < notional_min:
            continue
        ask_room -= lots
        asks.append(Quote(_SELL, draft.level, tick * ticks, step * lots))
        last = ticks
    return evolve(ctx, quotes=QuoteSet(ctx.symbol, tuple(bids), tuple(asks)))
