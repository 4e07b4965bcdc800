"""The order tracker's values: intents, tracked-order records, transitions, statistics (sans-IO).

What it is for: the frozen values :class:`~mmbot.quoting.orders.tracker.OrderTracker` takes
and returns, so code that only reads orders (reconcile, the quoter, reports) need not know
how the tracker moves them. :class:`TrackedOrder` derives ``filled`` and ``remaining`` once,
at construction. :data:`Slot` names the (side, level) place a quote or an order occupies.

What it must never do: hold mutable state, do I/O, read a clock, or decide a transition
(that is :mod:`mmbot.quoting.orders.states` and the tracker's job).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from mmbot.model import ZERO, OrderType, Quote, Side
from mmbot.quoting.orders.states import OrderState, TrackerEvent

#: A quote's or an order's place in the ladder: (side, level), level 0 the inside one.
Slot = tuple[Side, int]

#: The venue's default ``recvWindow``, in seconds (the venue's own parameter is in
#: milliseconds: 5000): a request is refused this long after it was signed, so a placement
#: unseen by then never will be.
DEFAULT_RECV_WINDOW_S = 5.0
#: Seconds added to ``recv_window_s`` before a "not found" is believed: clock offset and jitter.
NOT_FOUND_MARGIN_S = 1.0


@attrs.frozen
class OrderIntent:
    """What the bot wants to send: one order for one (side, level) slot."""

    symbol: str
    side: Side
    level: int
    price: Decimal
    quantity: Decimal
    type: OrderType = OrderType.LIMIT_MAKER

    @classmethod
    def from_quote(cls, symbol: str, quote: Quote) -> OrderIntent:
        return cls(symbol, quote.side, quote.level, quote.price, quote.quantity)


@attrs.frozen
class TrackedOrder:
    """The tracker's record of one order (a value; the tracker swaps in a new one)."""

    client_order_id: str
    symbol: str
    side: Side
    level: int
    price: Decimal
    quantity: Decimal
    state: OrderState = OrderState.PENDING_NEW
    order_id: int | None = None
    fills_qty: Decimal = ZERO  # sum of de-duplicated fills
    reported_qty: Decimal = ZERO  # largest cumulative quantity the exchange reported
    type: OrderType = OrderType.LIMIT_MAKER
    # The latest time the placement request can have been signed and sent (its outcome's
    # arrival, or failing that the time it was created); None if the caller never said.
    placed_at: float | None = None

    @property
    def slot(self) -> Slot:
        return (self.side, self.level)

    # Invariant: 0 <= filled <= quantity, and it never decreases. Derived from the two
    # fields above at construction (``attrs.evolve`` included), so reading it is free.
    filled: Decimal = attrs.field(init=False, eq=False)
    remaining: Decimal = attrs.field(init=False, eq=False)

    def changed(
        self,
        *,
        state: OrderState | None = None,
        order_id: int | None = None,
        placed_at: float | None = None,
    ) -> TrackedOrder:
        """A copy with the given fields changed (``attrs.evolve`` without its per-call look
        at the class: the tracker changes a state on every answer and event)."""
        return TrackedOrder(
            self.client_order_id,
            self.symbol,
            self.side,
            self.level,
            self.price,
            self.quantity,
            self.state if state is None else state,
            self.order_id if order_id is None else order_id,
            self.fills_qty,
            self.reported_qty,
            self.type,
            self.placed_at if placed_at is None else placed_at,
        )

    def __attrs_post_init__(self) -> None:
        filled = min(self.quantity, max(self.fills_qty, self.reported_qty))
        object.__setattr__(self, "filled", filled)
        object.__setattr__(self, "remaining", self.quantity - filled)


@attrs.frozen
class OrderTransition:
    """What one input did to one order: the state before and after, and an anomaly if the
    input was illegal in that state (``before`` and ``after`` are None for an unknown order).
    """

    client_order_id: str
    event: TrackerEvent | None
    before: OrderState | None
    after: OrderState | None
    anomaly: str | None = None


@attrs.frozen
class TrackerStatistics:
    created: int
    live: int
    unresolved: int
    states: Mapping[OrderState, int]
    fills: int
    duplicate_fills: int
    anomalies: int
