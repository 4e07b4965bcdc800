"""The order state machine as data: states, events and the transition table (sans-IO).

What it is for: the one place that says how an order moves between states
(``h11/_state.py`` style), so it can be read, tested and drawn (``docs/orders.md``).
:class:`~mmbot.quoting.orders.tracker.OrderTracker` applies it.

What it must never do: I/O, read a clock, or hold state. It is a table plus tiny lookups.

Rules the table encodes:
- Request outcomes (PLACE_*, CANCEL_*) are the bot's local view; exchange evidence (ACK,
  FILL, CANCELLED, EXPIRED, REJECTED, QUERY_*) is the truth and may arrive in any order,
  duplicated, before or after the request outcome.
- UNKNOWN makes an order UNRESOLVED. Only a query result or a *terminal* exchange event
  resolves it: an ack or a partial fill proves the order exists but not whether a cancel took
  effect, so it stays UNRESOLVED until the query answers.
- A FAILED cancel makes the order UNRESOLVED too: the venue refuses to cancel an order that
  is no longer open (Binance -2011, e.g. the first attempt cancelled it or it filled), so
  "failed" does not prove it rests; the query says whether it does.
- "Not found" comes in three flavours, chosen by the tracker (it knows the order and the
  time): QUERY_NOT_FOUND_EARLY (the placement may still be in flight: stay UNRESOLVED),
  QUERY_NOT_FOUND (it never reached the book: REJECTED), QUERY_GONE (it was known to
  exist, so it has left the book: CANCELLED).
- GONE is the venue saying an order it had no longer exists (the user stream's
  ``OrderGone``: -2013 for an order believed open, or a restarted venue). It settles any
  live order, an UNRESOLVED one included, as CANCELLED (it has left the book with no further
  fills) and is a no-op on a terminal one: a gone order is never live again.
- OPEN is shown as PARTIALLY_FILLED once anything has filled (:func:`normalise`), so
  "back to resting" entries name OPEN.
- Staying in the same state is a legal no-op (late or duplicate evidence). A missing entry
  is an anomaly: reported, state kept. :data:`CONTRADICTIONS` are applied *and* reported.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from mmbot.model import OrderStatus


class OrderState(enum.Enum):
    PENDING_NEW = "pending_new"  # sent (or about to be); no outcome yet
    OPEN = "open"  # resting, nothing filled
    PARTIALLY_FILLED = "partially_filled"  # resting, part filled
    PENDING_CANCEL = "pending_cancel"  # cancel sent; no outcome yet
    UNRESOLVED = "unresolved"  # placement or cancel outcome unknown: query it
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"  # never reached the book (refused, or not found by a query)

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_resting(self) -> bool:
        """Known to rest on the book with no request in flight."""
        return self is OrderState.OPEN or self is OrderState.PARTIALLY_FILLED


_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED}
)


class TrackerEvent(enum.Enum):
    PLACE_OK = "place_ok"
    PLACE_FAILED = "place_failed"
    PLACE_UNKNOWN = "place_unknown"
    ACK = "ack"  # the exchange reports the order NEW
    FILL = "fill"  # fill quantity grew, still short of quantity
    FILL_COMPLETE = "fill_complete"  # fill quantity reached quantity
    CANCEL_REQUEST = "cancel_request"
    CANCEL_OK = "cancel_ok"
    CANCEL_FAILED = "cancel_failed"
    CANCEL_UNKNOWN = "cancel_unknown"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    QUERY_OPEN = "query_open"  # query: NEW or PARTIALLY_FILLED
    QUERY_NOT_FOUND = "query_not_found"  # never known to exist; past its recvWindow
    QUERY_NOT_FOUND_EARLY = "query_not_found_early"  # the placement may still be in flight
    QUERY_GONE = "query_gone"  # not found, but known to have existed
    GONE = "gone"  # the venue no longer knows an order it had (user stream's OrderGone)


S = OrderState
E = TrackerEvent

# The whole state machine. OPEN is shown as PARTIALLY_FILLED once anything has filled
# (see ``normalise``), so "back to resting" entries name OPEN. Staying in the same state is
# a legal no-op (late or duplicate evidence); a missing entry is an anomaly.
_FROM_EXCHANGE_TERMINAL: dict[TrackerEvent, OrderState] = {
    E.FILL_COMPLETE: S.FILLED,
    E.CANCELLED: S.CANCELLED,
    E.EXPIRED: S.EXPIRED,
    E.GONE: S.CANCELLED,
}
TRANSITIONS: Mapping[OrderState, Mapping[TrackerEvent, OrderState]] = {
    S.PENDING_NEW: {
        E.PLACE_OK: S.OPEN,
        E.PLACE_FAILED: S.REJECTED,
        E.PLACE_UNKNOWN: S.UNRESOLVED,
        E.ACK: S.OPEN,
        E.FILL: S.PARTIALLY_FILLED,
        E.REJECTED: S.REJECTED,
        E.QUERY_OPEN: S.OPEN,
        **_FROM_EXCHANGE_TERMINAL,
    },
    S.OPEN: {
        E.PLACE_OK: S.OPEN,
        E.PLACE_UNKNOWN: S.OPEN,
        E.ACK: S.OPEN,
        E.FILL: S.PARTIALLY_FILLED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.QUERY_OPEN: S.OPEN,
        **_FROM_EXCHANGE_TERMINAL,
    },
    S.PARTIALLY_FILLED: {
        E.PLACE_OK: S.PARTIALLY_FILLED,
        E.PLACE_UNKNOWN: S.PARTIALLY_FILLED,
        E.ACK: S.PARTIALLY_FILLED,
        E.FILL: S.PARTIALLY_FILLED,
        E.CANCEL_REQUEST: S.PENDING_CANCEL,
        E.QUERY_OPEN: S.PARTIALLY_FILLED,
        **_FROM_EXCHANGE_TERMINAL,
    },
    S.PENDING_CANCEL: {
        E.PLACE_OK: S.PENDING_CANCEL,
        E.PLACE_UNKNOWN: S.PENDING_CANCEL,
        E.ACK: S.PENDING_CANCEL,
        E.FILL: S.PENDING_CANCEL,
        E.CANCEL_OK: S.CANCELLED,
        E.CANCEL_FAILED: S.UNRESOLVED,  # not cancelled now, but maybe not open (-2011)
        E.CANCEL_UNKNOWN: S.UNRESOLVED,
        E.QUERY_OPEN: S.PENDING_CANCEL,  # the query may have raced the cancel
        **_FROM_EXCHANGE_TERMINAL,
    },
    S.UNRESOLVED: {
        E.PLACE_UNKNOWN: S.UNRESOLVED,
        E.CANCEL_UNKNOWN: S.UNRESOLVED,
        E.ACK: S.UNRESOLVED,  # proves existence, not the fate of a cancel
        E.FILL: S.UNRESOLVED,
        E.REJECTED: S.REJECTED,
        E.QUERY_OPEN: S.OPEN,
        E.QUERY_NOT_FOUND: S.REJECTED,
        E.QUERY_NOT_FOUND_EARLY: S.UNRESOLVED,  # ask again once the recvWindow has passed
        E.QUERY_GONE: S.CANCELLED,
        **_FROM_EXCHANGE_TERMINAL,
    },
    S.FILLED: {
        E.PLACE_OK: S.FILLED,
        E.PLACE_UNKNOWN: S.FILLED,
        E.ACK: S.FILLED,
        E.FILL_COMPLETE: S.FILLED,
        E.CANCEL_FAILED: S.FILLED,  # cancel raced the last fill
        E.CANCEL_UNKNOWN: S.FILLED,
        E.QUERY_OPEN: S.FILLED,  # stale query
        E.GONE: S.FILLED,
    },
    S.CANCELLED: {
        E.PLACE_OK: S.CANCELLED,
        E.PLACE_UNKNOWN: S.CANCELLED,
        E.ACK: S.CANCELLED,
        E.FILL: S.CANCELLED,  # a fill that happened before the cancel, reported late
        E.CANCEL_OK: S.CANCELLED,
        E.CANCEL_FAILED: S.CANCELLED,
        E.CANCEL_UNKNOWN: S.CANCELLED,
        E.CANCELLED: S.CANCELLED,
        E.QUERY_OPEN: S.CANCELLED,
        E.QUERY_GONE: S.CANCELLED,
        E.GONE: S.CANCELLED,
    },
    S.EXPIRED: {
        E.PLACE_OK: S.EXPIRED,
        E.PLACE_UNKNOWN: S.EXPIRED,
        E.ACK: S.EXPIRED,
        E.FILL: S.EXPIRED,
        E.CANCEL_OK: S.EXPIRED,
        E.CANCEL_FAILED: S.EXPIRED,
        E.CANCEL_UNKNOWN: S.EXPIRED,
        E.EXPIRED: S.EXPIRED,
        E.QUERY_OPEN: S.EXPIRED,
        E.QUERY_GONE: S.EXPIRED,
        E.GONE: S.EXPIRED,
    },
    S.REJECTED: {
        E.PLACE_FAILED: S.REJECTED,
        E.REJECTED: S.REJECTED,
        E.QUERY_NOT_FOUND: S.REJECTED,
        E.QUERY_NOT_FOUND_EARLY: S.REJECTED,
        E.GONE: S.REJECTED,
    },
}

#: Exchange evidence that contradicts a terminal state: applied (the exchange is the truth)
#: and recorded as an anomaly. A rejected order that shows signs of life becomes UNRESOLVED,
#: so the shell queries it instead of the tracker guessing whether it rests.
CONTRADICTIONS: Mapping[tuple[OrderState, TrackerEvent], OrderState] = {
    (S.CANCELLED, E.FILL_COMPLETE): S.FILLED,
    (S.EXPIRED, E.FILL_COMPLETE): S.FILLED,
    (S.REJECTED, E.FILL_COMPLETE): S.FILLED,
    (S.REJECTED, E.PLACE_OK): S.UNRESOLVED,
    (S.REJECTED, E.ACK): S.UNRESOLVED,
    (S.REJECTED, E.FILL): S.UNRESOLVED,
    (S.REJECTED, E.QUERY_OPEN): S.OPEN,
}

#: What a query answer's status means as an event.
QUERY_EVENTS: Mapping[OrderStatus, TrackerEvent] = {
    OrderStatus.NEW: E.QUERY_OPEN,
    OrderStatus.PARTIALLY_FILLED: E.QUERY_OPEN,
    OrderStatus.FILLED: E.FILL_COMPLETE,
    OrderStatus.CANCELED: E.CANCELLED,
    OrderStatus.REJECTED: E.REJECTED,
    OrderStatus.EXPIRED: E.EXPIRED,
    OrderStatus.EXPIRED_IN_MATCH: E.EXPIRED,
}


def normalise(state: OrderState, filled: bool) -> OrderState:
    """OPEN with something filled is PARTIALLY_FILLED."""
    if state is OrderState.OPEN and filled:
        return OrderState.PARTIALLY_FILLED
    return state
