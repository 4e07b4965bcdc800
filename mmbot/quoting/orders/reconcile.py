"""Reconcile desired quotes with live orders: the fewest actions that get there (sans-IO).

What it is for: turning the pipeline's desired :class:`~mmbot.model.QuoteSet` and the order
tracker's live orders into :class:`Place`, :class:`Cancel` and :class:`CancelReplace` actions
the shell sends. A pure function: same inputs, same actions, no state.

What it must never do: I/O, read a clock, or put a second order on a (side, level) slot that
already has one live or in flight. Rules, per slot (``docs/orders.md``):

1. A resting order (OPEN, PARTIALLY_FILLED) within tolerance of the desired quote is kept:
   ``|price - desired| * 10_000 <= price_bps * desired`` and
   ``desired qty - size_ratio * desired qty <= remaining <= desired qty``. The size
   tolerance works downward only: the desired quantity may be all the room ``max_position``
   leaves, so an order larger than it is never kept (filling every quote must stay within
   the limit).
2. Resting orders not kept are cancelled, except that when the slot is free (rule 3) and
   nothing was kept, one of them is cancel-replaced by the desired quote (one round trip).
3. A slot with an order in flight (PENDING_NEW, PENDING_CANCEL, UNRESOLVED) is *blocked*:
   no Place and no CancelReplace on it until that order resolves; only cancels.
4. A desired quote on a free slot with no resting order is placed.

Actions come out cancels first, then cancel-replaces, then places (exposure shrinks first).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from mmbot.model import ZERO, Quote, QuoteSet
from mmbot.quoting.orders.states import OrderState
from mmbot.quoting.orders.values import Slot, TrackedOrder

_BPS = Decimal(10_000)
_RESTING = frozenset({OrderState.OPEN, OrderState.PARTIALLY_FILLED})
_TERMINAL = frozenset(s for s in OrderState if s.is_terminal)


@attrs.frozen
class Tolerances:
    """How far a resting order may be from the desired quote and still be kept."""

    price_bps: Decimal = ZERO
    size_ratio: Decimal = ZERO  # of the desired quantity: how much *smaller* remaining may be


@attrs.frozen
class Place:
    slot: Slot
    quote: Quote


@attrs.frozen
class Cancel:
    client_order_id: str


@attrs.frozen
class CancelReplace:
    """Cancel ``client_order_id`` and place ``quote`` in one request (STOP_ON_FAILURE)."""

    client_order_id: str
    slot: Slot
    quote: Quote


Action = Place | Cancel | CancelReplace

_DEFAULT = Tolerances()


def within(order: TrackedOrder, quote: Quote, tolerances: Tolerances) -> bool:
    """Whether ``order`` is close enough to ``quote`` to be kept (rule 1)."""
    if order.side is not quote.side:
        return False
    if abs(order.price - quote.price) * _BPS > tolerances.price_bps * quote.price:
        return False
    remaining = order.remaining
    return (
        remaining <= quote.quantity
        and quote.quantity - remaining <= tolerances.size_ratio * quote.quantity
    )


def reconcile(
    desired: QuoteSet,
    live: Sequence[TrackedOrder],
    now: float,
    tolerances: Tolerances = _DEFAULT,
) -> list[Action]:
    """The fewest actions that turn ``live`` into ``desired`` (see the module rules).

    ``live`` is the tracker's :meth:`~mmbot.quoting.orders.tracker.OrderTracker.live` (orders of
    other symbols and terminal orders are ignored). ``now`` is part of the contract for
    time-based rules; the current rules do not depend on it.
    """
    symbol = desired.symbol
    wanted: dict[Slot, Quote] = {}
    for q in desired.all():
        if q.quantity > 0:
            wanted[(q.side, q.level)] = q
    by_slot: dict[Slot, list[TrackedOrder]] = {}
    for order in live:
        if order.symbol == symbol and order.state not in _TERMINAL:
            slot = (order.side, order.level)
            group = by_slot.get(slot)
            if group is None:
                by_slot[slot] = [order]
            else:
                group.append(order)
    price_bps, size_ratio = tolerances.price_bps, tolerances.size_ratio

    cancels: list[Action] = []
    replaces: list[Action] = []
    places: list[Action] = []
    for slot, orders in by_slot.items():
        quote: Quote | None = wanted.pop(slot, None)
        blocked = False
        kept = False
        stale: list[TrackedOrder] = []
        for order in orders:
            if order.state not in _RESTING:
                blocked = True
            elif (
                not kept
                and quote is not None
                # rule 1, inlined from ``within`` (this loop is on the hot path)
                and (
                    order.price == quote.price
                    or abs(order.price - quote.price) * _BPS <= price_bps * quote.price
                )
                and (
                    order.remaining == quote.quantity
                    or (
                        order.remaining < quote.quantity
                        and quote.quantity - order.remaining <= size_ratio * quote.quantity
                    )
                )
            ):
                kept = True
            else:
                stale.append(order)
        if quote is not None and not kept and not blocked and stale:
            replaces.append(CancelReplace(stale[0].client_order_id, slot, quote))
            stale = stale[1:]
        cancels.extend(Cancel(order.client_order_id) for order in stale)
    # What is left of ``wanted`` has no order at all on its slot.
    places.extend(Place(slot, quote) for slot, quote in wanted.items())
    return cancels + replaces + places
