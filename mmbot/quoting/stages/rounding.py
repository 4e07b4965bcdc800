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

It runs on every decision, so it is written for speed: an instrument's filters are worked
out once per instrument object (a pure function of a frozen value, memoised by identity),
``min``/``max`` of integers are written out, and quotes are built straight into their slots
while :class:`~mmbot.model.Quote` and :class:`~mmbot.model.QuoteSet` allow it.

What it must never do: let a float reach a price or quantity (DESIGN.md §4.1), or keep
anything between decisions but those memoised pure functions of frozen inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

import attrs

from mmbot.model import Instrument, Quote, QuoteSet, Side
from mmbot.quoting.pipeline import QuoteContext, replacer

_EPS = 1e-9  # in ticks/lots: absorbs float noise like 9999.999999999998 ticks
_NO_LIMIT = 1 << 62
_BUY = Side.BUY
_SELL = Side.SELL
_ZERO = Decimal(0)  # a Decimal compares faster with a Decimal than with an int
_floor = math.floor
_ceil = math.ceil
_set_quotes = replacer("quotes")


def _ticks_floor(value: Decimal, tick: Decimal) -> int:
    """``floor(value / tick)`` exactly (``tick`` > 0).

    ``divmod`` gives the exact integer quotient and remainder (or raises if the quotient
    needs more digits than the context has): ``value / tick`` would be rounded to the
    context's 28 digits first, and 2.999...97 would floor to 3.
    """
    quotient, remainder = divmod(value, tick)  # truncated towards zero
    ticks = int(quotient)
    return ticks - 1 if remainder < _ZERO else ticks


def _ticks_ceil(value: Decimal, tick: Decimal) -> int:
    """``ceil(value / tick)`` exactly (``tick`` > 0); see :func:`_ticks_floor`."""
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
        max(_ticks_ceil(inst.min_price, tick), 1),
        _ticks_floor(inst.max_price, tick) if inst.max_price > 0 else _NO_LIMIT,
        max(_ticks_ceil(inst.min_qty, step), 1),
        _ticks_floor(inst.max_qty, step) if inst.max_qty > 0 else _NO_LIMIT,
        _ticks_ceil(inst.min_notional, unit),
        _ticks_floor(inst.max_notional, unit) if inst.max_notional > 0 else _NO_LIMIT,
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
        cap = _ticks_floor(max_order_notional, filters.unit)
        if len(caps) >= _CACHE_MAX:
            caps.clear()
        caps[max_order_notional] = cap
    return cap


def _plain_slots(cls: type, names: tuple[str, ...]) -> bool:
    """True when ``cls`` is a slotted attrs class whose ``__init__`` only stores ``names``.

    Then an instance built by setting those slots directly is the one ``__init__`` builds
    (no validator, converter, post-init or cached hash to run); a test checks both paths.
    """
    fields = attrs.fields(cls)
    return (
        tuple(field.name for field in fields) == names
        and all(field.validator is None and field.converter is None for field in fields)
        and tuple(name for name in cls.__dict__.get("__slots__", ()) if name != "__weakref__")
        == names
        and not hasattr(cls, "__attrs_pre_init__")
        and not hasattr(cls, "__attrs_post_init__")
    )


_new = object.__new__


def _quote_by_slots(side: Side, level: int, price: Decimal, quantity: Decimal) -> Quote:
    quote: Quote = _new(Quote)
    _set_side(quote, side)
    _set_level(quote, level)
    _set_price(quote, price)
    _set_quantity(quote, quantity)
    return quote


def _quote_set_by_slots(
    symbol: str, bids: tuple[Quote, ...], asks: tuple[Quote, ...], reason: str | None = None
) -> QuoteSet:
    quote_set: QuoteSet = _new(QuoteSet)
    _set_symbol(quote_set, symbol)
    _set_bids(quote_set, bids)
    _set_asks(quote_set, asks)
    _set_reason(quote_set, reason)
    return quote_set


_QUOTE_FIELDS = ("side", "level", "price", "quantity")
_QUOTE_SET_FIELDS = ("symbol", "bids", "asks", "reason")
_set_side, _set_level, _set_price, _set_quantity = (
    Quote.__dict__[name].__set__ for name in _QUOTE_FIELDS
)
_set_symbol, _set_bids, _set_asks, _set_reason = (
    QuoteSet.__dict__[name].__set__ for name in _QUOTE_SET_FIELDS
)
#: How the stage builds its output: straight into the slots while the classes allow it.
make_quote: Callable[[Side, int, Decimal, Decimal], Quote] = (
    _quote_by_slots if _plain_slots(Quote, _QUOTE_FIELDS) else Quote
)
make_quote_set: Callable[[str, tuple[Quote, ...], tuple[Quote, ...]], QuoteSet] = (
    _quote_set_by_slots if _plain_slots(QuoteSet, _QUOTE_SET_FIELDS) else QuoteSet
)


def rounding(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.quotes`` from ``ctx.drafts`` (inside level first on each side).

    All limits are checked in integers: prices in ticks, sizes in lots, notionals in units
    of ``tick * step``; Decimal appears only to build each quote's price and size.
    ``min``/``max`` of integers are written out as comparisons (the same result).
    """
    inst = ctx.instrument
    filters = _FILTERS.get(id(inst))
    if filters is None or filters.instrument is not inst:
        tick = inst.tick_size
        step = inst.step_size
        if tick <= 0 or step <= 0:
            return ctx.pull(f"bad_instrument: tick {tick} and step {step} must be > 0")
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
    params = ctx.params
    # post-only: bids at most one tick under the best ask, asks one over the best bid
    bid_max = _NO_LIMIT
    ask_min = 1
    if params.rounding.post_only:
        book = ctx.book
        if book.asks:
            # the best ask in ticks, rounded up: a float guess checked exactly
            best = book.asks[0].price
            guess = round(float(best) / tick_f)
            bid_max = (guess if tick * guess == best else _ticks_ceil(best, tick)) - 1
        if book.bids:  # the best bid in ticks, rounded down
            best = book.bids[0].price
            guess = round(float(best) / tick_f)
            ask_min = (guess if tick * guess == best else _ticks_floor(best, tick)) + 1
    sizing = params.sizing
    if sizing.max_order_notional > _ZERO:
        cap = _order_cap(filters, sizing.max_order_notional)
        if cap < notional_max:
            notional_max = cap
    position = ctx.position
    max_position = sizing.max_position
    # whole lots that fit in each room (0 when there is none; floor: both sides positive)
    room = max_position - position  # lots we may buy
    bid_room = 0 if room <= _ZERO else int(room // step)
    room = max_position + position  # lots we may sell
    ask_room = 0 if room <= _ZERO else int(room // step)
    base_free = ctx.base_free
    if base_free is not None:
        free = 0 if base_free <= _ZERO else int(base_free // step)
        if free < ask_room:
            ask_room = free
    quote_free = ctx.quote_free
    budget = _NO_LIMIT  # quote balance, in units of tick * step
    if quote_free is not None:
        budget = 0 if quote_free <= _ZERO else int(quote_free // unit)

    bids: list[Quote] = []
    asks: list[Quote] = []
    drafts = ctx.drafts
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
        bids.append(make_quote(_BUY, level, tick * ticks, step * lots))
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
        asks.append(make_quote(_SELL, level, tick * ticks, step * lots))
        last = ticks
    return _set_quotes(ctx, make_quote_set(ctx.symbol, tuple(bids), tuple(asks)))
