"""Fair-value stage: the price the quotes are centred on (sans-IO).

What it is for: the :class:`~mmbot.quoting.pipeline.FairValue` from the top of the book,
by ``fair_value.method``:
``mid`` (bid+ask)/2; ``micro`` the size-weighted mid ``(bid*Qa + ask*Qb) / (Qb + Qa)``,
which leans toward the side with less size (the weighted mid of Stoikov 2018,
"The micro-price"); ``ewma`` a
time-decayed average of the mid with half-life ``ewma_halflife`` seconds, whose state is
carried in the decision's ``state.fair_value``.

What it must never do: read a clock or keep state outside the decision's ``state``.
"""

from __future__ import annotations

import math

from mmbot.quoting.pipeline import (
    Decision,
    EwmaState,
    FairValue,
    Pull,
    QuoteInputs,
    StrategyState,
)

_LN2 = math.log(2.0)


def ewma_update(previous: EwmaState | None, value: float, now: float, halflife: float) -> EwmaState:
    """Decay the previous average by elapsed time (half-life in seconds) and mix in ``value``."""
    if previous is None:
        return EwmaState(value, now)
    dt = now - previous.time
    if dt <= 0.0:  # same instant (or time went back): nothing has decayed
        return previous
    keep = math.exp(-dt * _LN2 / halflife)
    return EwmaState(keep * previous.value + (1.0 - keep) * value, now)


def fair_value(inputs: QuoteInputs, so_far: Decision) -> FairValue | Pull:
    """The fair value (needs both sides of the book: run after the guards)."""
    book = inputs.book
    if not book.bids or not book.asks:
        return Pull("book_empty: no fair value without both sides")
    top_bid = book.bids[0]
    top_ask = book.asks[0]
    bid = float(top_bid.price)
    ask = float(top_ask.price)
    params = inputs.params.fair_value
    method = params.method
    if method == "micro":
        bid_qty = float(top_bid.quantity)
        ask_qty = float(top_ask.quantity)
        total = bid_qty + ask_qty
        value = (bid * ask_qty + ask * bid_qty) / total if total > 0 else (bid + ask) * 0.5
        return FairValue(value)
    mid = (bid + ask) * 0.5
    if method == "ewma":
        state = so_far.state
        smoothed = ewma_update(state.fair_value, mid, inputs.now, params.ewma_halflife)
        return FairValue(
            smoothed.value,
            StrategyState(smoothed, state.mid_variance, state.trade_variance, state.calibration),
        )
    return FairValue(mid)
