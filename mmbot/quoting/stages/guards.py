"""Guard stage: decide whether to quote at all; otherwise pull quotes with a reason (sans-IO).

What it is for: the checks that make "no quotes" an explicit decision before any price is
worked out. Reasons start with a stable code (see :data:`PULL_CODES`), then a detail.

What it must never do: read a clock (``inputs.now`` is the time) or soften a failed check.
"""

from __future__ import annotations

from mmbot.model import SymbolStatus
from mmbot.quoting.pipeline import Decision, Pull, QuoteInputs

KILL_SWITCH = "kill_switch"
HALTED = "halted"
BREAKER_OPEN = "breaker_open"
BOOK_INVALID = "book_invalid"
BOOK_EMPTY = "book_empty"
BOOK_STALE = "book_stale"
MARKET_CROSSED = "market_crossed"
MARKET_TOO_WIDE = "market_too_wide"

#: Every pull code, in the order the guard checks them.
PULL_CODES = (
    KILL_SWITCH,
    HALTED,
    BREAKER_OPEN,
    BOOK_INVALID,
    BOOK_EMPTY,
    BOOK_STALE,
    MARKET_CROSSED,
    MARKET_TOO_WIDE,
)


_TRADING = SymbolStatus.TRADING


def pull_reason(inputs: QuoteInputs) -> str | None:
    """The first failed check as "code: detail", or None when quoting may go ahead."""
    risk = inputs.risk
    if risk.kill_switch:
        return f"{KILL_SWITCH}: the kill switch is on"
    if risk.halt_reason is not None:
        return f"{HALTED}: {risk.halt_reason}"
    status = inputs.instrument.status
    if status is not _TRADING:
        return f"{HALTED}: symbol status is {status.value}"
    if risk.breaker_open:
        return f"{BREAKER_OPEN}: a circuit breaker is open"
    book = inputs.book
    if not book.is_valid:
        return f"{BOOK_INVALID}: the book is gapped or not synced"
    if not book.bids or not book.asks:
        return f"{BOOK_EMPTY}: the book has an empty side"
    params = inputs.params.guards
    age = inputs.now - book.received_at
    if age > params.stale_after:
        return f"{BOOK_STALE}: age {age:.3f} s > {params.stale_after:g} s"
    best_bid = book.bids[0].price
    best_ask = book.asks[0].price
    if best_bid >= best_ask:
        return f"{MARKET_CROSSED}: best bid {best_bid} >= best ask {best_ask}"
    bid = float(best_bid)
    ask = float(best_ask)
    width_bps = (ask - bid) / ((ask + bid) * 0.5) * 1e4
    if width_bps > params.max_market_spread_bps:
        return (
            f"{MARKET_TOO_WIDE}: spread {width_bps:.1f} bps > {params.max_market_spread_bps:g} bps"
        )
    return None


def guards(inputs: QuoteInputs, so_far: Decision) -> Pull | None:
    """:class:`Pull` on the first failed check; else nothing (quoting goes ahead)."""
    reason = pull_reason(inputs)
    if reason is None:
        return None
    return Pull(reason)
