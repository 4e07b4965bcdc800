"""The tracker settles an order the venue no longer knows (the user stream's OrderGone)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_tracker import place, tracker

from mmbot.model import Outcome
from mmbot.quoting.orders import OrderState, TrackerEvent
from mmbot.quoting.orders.states import TRANSITIONS

S = OrderState


def test_an_open_order_gone_from_the_venue_is_settled_and_leaves_the_live_set() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    transition = t.on_gone(cid, "order does not exist (-2013)")
    assert (transition.before, transition.after) == (S.OPEN, S.CANCELLED)
    assert transition.anomaly is None
    assert t.live() == [] and t.unresolved() == []


def test_an_unresolved_order_gone_from_the_venue_is_resolved_and_never_queried_again() -> None:
    """Three-valued outcomes: an unknown cancel resolved by the venue's "gone"."""
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.request_cancel(cid)
    t.on_cancel_outcome(cid, Outcome.UNKNOWN)
    assert [o.client_order_id for o in t.unresolved()] == [cid]
    assert t.on_gone(cid).after is S.CANCELLED
    assert t.unresolved() == [] and t.live() == []


def test_gone_after_a_fill_keeps_the_fill_and_a_terminal_order_stays_as_it_is() -> None:
    t = tracker()
    cid = place(t, qty="3")
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.on_cumulative(cid, Decimal("3"))
    assert t.get(cid).state is S.FILLED  # type: ignore[union-attr]
    assert t.on_gone(cid).after is S.FILLED
    assert t.get(cid).filled == Decimal("3")  # type: ignore[union-attr]


@pytest.mark.parametrize("state", list(OrderState))
def test_gone_has_an_entry_in_every_state_and_ends_every_live_one(state: OrderState) -> None:
    after = TRANSITIONS[state][TrackerEvent.GONE]
    assert after.is_terminal
    assert after is (state if state.is_terminal else S.CANCELLED)
