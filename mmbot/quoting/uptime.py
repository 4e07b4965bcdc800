"""Quote uptime: the share of time a symbol had a two-sided quote inside the max spread (sans-IO).

What it is for: ``mmbot_quote_uptime_ratio{symbol}`` and the exit summary. The quoter calls
:meth:`QuoteUptime.observe` whenever what rests on the book may have changed (after each
decision and each order event) with whether its resting orders now make a two-sided quote
whose spread is at most the maximum; time is credited to the state that held since the last
observation.

What it must never do: read a clock (``now`` is passed in), or credit time before the first
observation.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import attrs

from mmbot.model import Side


def two_sided_within(
    orders: Iterable[tuple[Side, Decimal]], mid: Decimal | None, max_spread_bps: Decimal
) -> bool:
    """Whether resting (side, price) orders make a bid and an ask at most ``max_spread_bps``
    apart (relative to ``mid``)."""
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    for side, price in orders:
        if side is Side.BUY:
            best_bid = price if best_bid is None else max(best_bid, price)
        else:
            best_ask = price if best_ask is None else min(best_ask, price)
    if best_bid is None or best_ask is None or mid is None or mid <= 0:
        return False
    return (best_ask - best_bid) * 10_000 <= max_spread_bps * mid


@attrs.define
class QuoteUptime:
    """Time with and without a two-sided quote, since the first observation."""

    # Invariant: up + down == last - first (once observed).
    _first: float | None = None
    _last: float | None = None
    _state: bool = False
    _up: float = 0.0

    def observe(self, now: float, quoting: bool) -> None:
        if self._first is None or self._last is None:
            self._first = self._last = now
        elif now > self._last:
            if self._state:
                self._up += now - self._last
            self._last = now
        self._state = quoting

    def ratio(self, now: float) -> float | None:
        """Share of the time since the first observation spent quoting (None before)."""
        if self._first is None or self._last is None:
            return None
        up = self._up + (max(0.0, now - self._last) if self._state else 0.0)
        total = now - self._first
        if total <= 0:
            return 1.0 if self._state else 0.0
        return min(1.0, up / total)  # the summed intervals may exceed the span by rounding
