"""Fair-value stage: the price the quotes are centred on (sans-IO).

What it is for: ``ctx.fair_value`` from the top of the book, by ``fair_value.method``:
``mid`` (bid+ask)/2; ``micro`` the size-weighted mid ``(bid*Qa + ask*Qb) / (Qb + Qa)``,
which leans toward the side with less size (the weighted mid of Stoikov 2018,
"The micro-price"); ``ewma`` a
time-decayed average of the mid with half-life ``ewma_halflife`` seconds, whose state is
carried in ``ctx.state.fair_value``.

What it must never do: read a clock or keep state outside ``ctx.state``.
"""

from __future__ import annotations

import math

from mmbot.quoting.pipeline import EwmaState, QuoteContext, evolve, replacer

_LN2 = math.log(2.0)
_set_fair_value = replacer("fair_value")


def ewma_update(previous: EwmaState | None, value: float, now: float, halflife: float) -> EwmaState:
    """Decay the previous average by elapsed time (half-life in seconds) and mix in ``value``."""
    if previous is None:
        return EwmaState(value, now)
    dt = now - previous.time
    if dt <= 0.0:  # same instant (or time went back): nothing has decayed
        return previous
    keep = math.exp(-dt * _LN2 / halflife)
    return EwmaState(keep * previous.value + (1.0 - keep) * value, now)


def fair_value(ctx: QuoteContext) -> QuoteContext:
    """Set ``ctx.fair_value`` (needs both sides of the book: run after the guards)."""
    book = ctx.book
    if not book.bids or not book.asks:
        return ctx.pull("book_empty: no fair value without both sides")
    top_bid = book.bids[0]
    top_ask = book.asks[0]
    bid = float(top_bid.price)
    ask = float(top_ask.price)
    params = ctx.params.fair_value
    method = params.method
    if method == "micro":
        bid_qty = float(top_bid.quantity)
        ask_qty = float(top_ask.quantity)
        total = bid_qty + ask_qty
        value = (bid * ask_qty + ask * bid_qty) / total if total > 0 else (bid + ask) * 0.5
        return _set_fair_value(ctx, value)
    mid = (bid + ask) * 0.5
    if method == "ewma":
        state = ctx.state
        smoothed = ewma_update(state.fair_value, mid, ctx.now, params.ewma_halflife)
        return evolve(ctx, fair_value=smoothed.value, state=state._replace(fair_value=smoothed))
    return _set_fair_value(ctx, mid)
