"""The order tracker's transitions, one interleaving per test."""

from __future__ import annotations

from decimal import Decimal

from mmbot.model import Fill, OrderStatus, Outcome, Quote, QuoteSet, Side
from mmbot.quoting.orders import (
    ClientIdFactory,
    OrderIntent,
    OrderState,
    OrderTracker,
    Place,
    TrackerEvent,
    reconcile,
)
from mmbot.quoting.orders.states import TRANSITIONS

D = Decimal
S = OrderState


def tracker(**kwargs: object) -> OrderTracker:
    return OrderTracker(ClientIdFactory("mm", "run1"), **kwargs)  # type: ignore[arg-type]


def place(t: OrderTracker, qty: str = "3", level: int = 0, side: Side = Side.BUY) -> str:
    return t.new_order(OrderIntent("BTCUSDT", side, level, D("100"), D(qty)))


def fill(cid: str, trade_id: int, qty: str, order_id: int = 7) -> Fill:
    return Fill(
        "BTCUSDT", order_id, cid, trade_id, Side.BUY, D("100"), D(qty), D(0), "USDT", True, 0
    )


def test_new_order_is_pending_and_live() -> None:
    t = tracker()
    cid = place(t)
    assert t.get(cid).state is S.PENDING_NEW  # type: ignore[union-attr]
    assert [o.client_order_id for o in t.live()] == [cid]


def test_place_ok_opens_and_records_order_id() -> None:
    t = tracker()
    cid = place(t)
    assert t.on_place_outcome(cid, Outcome.OK, order_id=7).after is S.OPEN
    assert t.get(cid).order_id == 7  # type: ignore[union-attr]


def test_place_failed_closes_as_rejected() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.FAILED, reason="Order would immediately match and take.")
    assert t.get(cid).state is S.REJECTED  # type: ignore[union-attr]
    assert t.live() == []


def test_unknown_placement_is_unresolved_until_queried() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.UNKNOWN)
    assert [o.client_order_id for o in t.unresolved()] == [cid]
    t.on_query_result(cid, found=True, status=OrderStatus.NEW, executed_qty=D(0), order_id=9)
    assert t.get(cid).state is S.OPEN  # type: ignore[union-attr]
    assert t.unresolved() == []


def test_unknown_placement_not_found_is_closed() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.UNKNOWN)
    t.on_query_result(cid, found=False)
    assert t.get(cid).state is S.REJECTED  # type: ignore[union-attr]
    assert t.anomalies() == []


def test_ack_does_not_resolve_an_unknown_cancel() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.request_cancel(cid)
    t.on_cancel_outcome(cid, Outcome.UNKNOWN)
    t.on_ack(cid, 7)  # late NEW event: says nothing about the cancel
    assert t.get(cid).state is S.UNRESOLVED  # type: ignore[union-attr]
    t.on_cancelled(cid)
    assert t.get(cid).state is S.CANCELLED  # type: ignore[union-attr]


def test_fill_before_ack_then_late_ack_keeps_fill_state() -> None:
    t = tracker()
    cid = place(t)
    t.on_fill(fill(cid, 1, "1"))
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.on_ack(cid, 7)
    order = t.get(cid)
    assert order is not None and order.state is S.PARTIALLY_FILLED and order.filled == 1


def test_duplicate_fill_is_counted_once() -> None:
    t = tracker()
    cid = place(t)
    t.on_fill(fill(cid, 1, "1"))
    t.on_fill(fill(cid, 1, "1"))
    assert t.get(cid).filled == 1  # type: ignore[union-attr]
    assert t.statistics().duplicate_fills == 1


def test_cumulative_and_fills_do_not_double_count() -> None:
    t = tracker()
    cid = place(t)
    t.on_cumulative(cid, D(2))
    t.on_fill(fill(cid, 1, "1"))
    t.on_fill(fill(cid, 2, "1"))
    assert t.get(cid).filled == 2  # type: ignore[union-attr]


def test_cumulative_never_goes_backwards() -> None:
    t = tracker()
    cid = place(t)
    t.on_cumulative(cid, D(2))
    t.on_cumulative(cid, D(1))
    assert t.get(cid).filled == 2  # type: ignore[union-attr]


def test_fill_beyond_quantity_is_capped_and_reported() -> None:
    t = tracker()
    cid = place(t, qty="1")
    t.on_fill(fill(cid, 1, "2"))
    order = t.get(cid)
    assert order is not None and order.filled == 1 and order.state is S.FILLED
    assert any("exceed" in (a.anomaly or "") for a in t.anomalies())


def test_late_fill_after_cancel_counts_and_stays_cancelled() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.request_cancel(cid)
    t.on_cancel_outcome(cid, Outcome.OK)
    t.on_fill(fill(cid, 1, "1"))
    order = t.get(cid)
    assert order is not None and order.state is S.CANCELLED and order.filled == 1
    assert t.anomalies() == []


def test_cancel_ack_after_full_fill_is_ignored() -> None:
    t = tracker()
    cid = place(t, qty="1")
    t.on_fill(fill(cid, 1, "1"))
    t.on_cancelled(cid)
    assert t.get(cid).state is S.FILLED  # type: ignore[union-attr]
    assert len(t.anomalies()) == 1


def test_failed_cancel_makes_the_order_unresolved_until_a_query_says_it_rests() -> None:
    # review2 finding 2: a FAILED cancel may be -2011 "not open": never assume it rests
    t = tracker()
    cid = place(t)
    t.on_fill(fill(cid, 1, "1"))
    t.request_cancel(cid)
    assert t.on_cancel_outcome(cid, Outcome.FAILED).after is S.UNRESOLVED
    assert [o.client_order_id for o in t.unresolved()] == [cid]
    t.on_query_result(cid, True, OrderStatus.PARTIALLY_FILLED, D(1), 7)
    assert t.get(cid).state is S.PARTIALLY_FILLED  # type: ignore[union-attr]


def test_a_cancel_refused_as_unknown_order_leaves_no_phantom_quote() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.request_cancel(cid)
    t.on_cancel_outcome(cid, Outcome.FAILED)  # -2011: the order is gone; its event was lost
    desired = QuoteSet("BTCUSDT", bids=(Quote(Side.BUY, 0, D("101"), D("3")),))
    # the slot is blocked (no cancel-replace of a gone order) until the query answers
    assert reconcile(desired, t.live("BTCUSDT"), 0.0) == []
    t.on_query_result(cid, True, OrderStatus.CANCELED, D(0), 7)
    assert t.get(cid).state is S.CANCELLED  # type: ignore[union-attr]
    assert reconcile(desired, t.live("BTCUSDT"), 0.0) == [Place((Side.BUY, 0), desired.bids[0])]


def test_not_found_soon_after_an_unknown_placement_keeps_it_unresolved() -> None:
    # review2 finding 5: the placement may still be in flight until sent + recvWindow
    t = tracker()
    cid = t.new_order(OrderIntent("BTCUSDT", Side.BUY, 0, D("100"), D("1")), now=100.0)
    t.on_place_outcome(cid, Outcome.UNKNOWN, now=110.0)  # timed out after 10 s
    early = t.on_query_result(cid, found=False, now=112.0, recv_window_s=5.0)
    assert early.after is S.UNRESOLVED and early.anomaly is None
    assert [o.client_order_id for o in t.unresolved()] == [cid]
    late = t.on_query_result(cid, found=False, now=116.5, recv_window_s=5.0)
    assert late.after is S.REJECTED and late.anomaly is None


def test_an_order_known_to_exist_that_is_not_found_is_closed_as_gone_not_rejected() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.OK, order_id=7)
    t.request_cancel(cid)
    t.on_cancel_outcome(cid, Outcome.UNKNOWN)
    transition = t.on_query_result(cid, found=False, now=1e6)
    assert transition.after is S.CANCELLED
    assert transition.anomaly == "an order known to exist not found"


def test_cancel_of_pending_new_is_refused_as_anomaly() -> None:
    t = tracker()
    cid = place(t)
    transition = t.request_cancel(cid)
    assert transition.anomaly is not None
    assert t.get(cid).state is S.PENDING_NEW  # type: ignore[union-attr]


def test_event_for_unknown_order_is_reported_not_raised() -> None:
    t = tracker()
    assert t.on_cancelled("mm-other-1").anomaly == "event for an unknown order"
    assert t.on_fill(fill("mm-other-1", 1, "1")).anomaly == "fill for an unknown order"


def test_fill_with_foreign_client_id_finds_order_by_order_id() -> None:
    t = tracker()
    cid = place(t)
    t.on_ack(cid, 7)
    t.on_fill(fill("replaced-id", 1, "1", order_id=7))
    assert t.get(cid).filled == 1  # type: ignore[union-attr]


def test_query_filled_resolves_to_filled_with_full_quantity() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.UNKNOWN)
    t.on_query_result(cid, True, OrderStatus.FILLED, D(3), 7)
    order = t.get(cid)
    assert order is not None and order.state is S.FILLED and order.filled == 3


def test_rejected_order_with_signs_of_life_becomes_unresolved() -> None:
    t = tracker()
    cid = place(t)
    t.on_place_outcome(cid, Outcome.FAILED)
    transition = t.on_ack(cid, 7)
    assert transition.after is S.UNRESOLVED and transition.anomaly is not None


def test_a_rejected_order_brought_back_is_live_again_in_its_place() -> None:
    t = tracker()
    first, second, third = place(t, level=0), place(t, level=1), place(t, level=2)
    t.on_place_outcome(first, Outcome.FAILED)
    t.on_ack(first, 7)  # signs of life: UNRESOLVED, live again
    assert [o.client_order_id for o in t.live("BTCUSDT")] == [first, second, third]
    assert [o.client_order_id for o in t.unresolved("BTCUSDT")] == [first]
    assert t.live("ETHUSDT") == []


def test_closed_orders_beyond_the_limit_are_forgotten() -> None:
    t = tracker(max_closed=2)
    cids = [place(t) for _ in range(3)]
    for cid in cids:
        t.on_place_outcome(cid, Outcome.FAILED)
    assert t.get(cids[0]) is None and t.get(cids[2]) is not None


def test_statistics_count_states() -> None:
    t = tracker()
    a, b = place(t), place(t, level=1)
    t.on_place_outcome(a, Outcome.OK, 1)
    t.on_place_outcome(b, Outcome.UNKNOWN)
    stats = t.statistics()
    assert (stats.created, stats.live, stats.unresolved) == (2, 2, 1)
    assert stats.states[S.OPEN] == 1


def test_every_state_has_a_row_and_terminal_states_ignore_request_outcomes() -> None:
    assert set(TRANSITIONS) == set(OrderState)
    # No request outcome moves an order out of a terminal state.
    for state in OrderState:
        if state.is_terminal:
            for event in (TrackerEvent.PLACE_OK, TrackerEvent.CANCEL_FAILED):
                assert TRANSITIONS[state].get(event, state) is state


def test_tracker_record_recovers_the_slot() -> None:
    t = tracker()
    cid = place(t, level=2, side=Side.SELL)
    assert t.get(cid).slot == (Side.SELL, 2)  # type: ignore[union-attr]
