"""Orders the venue no longer knows, and a venue whose ids went backwards, in the user
stream's delivery core (sans-IO, driven directly)."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st
from test_user_core import fill, info, report

from mmbot.model import ExecutionType, OrderStatus
from mmbot.venue.binance.codec import event_from_report
from mmbot.venue.binance.user_core import UserStreamState
from mmbot.venue.events import OrderAccepted, OrderEvent, OrderFilled, OrderGone, VenueReset


def new(order_id: int, client_order_id: str | None = None, at_ms: int = 1) -> OrderEvent:
    r = attrs.evolve(report(order_id, ExecutionType.NEW, "0"), transaction_time_ms=at_ms)
    if client_order_id is not None:
        r = attrs.evolve(r, client_order_id=client_order_id)
    return event_from_report(r)


def test_an_open_order_the_venue_says_does_not_exist_is_gone_once_and_never_asked_again() -> None:
    state = UserStreamState()
    state.on_event(new(5))
    state.on_event(event_from_report(report(5, ExecutionType.TRADE, "0.25", 9, "0.25")))
    assert state.orders_to_query("BTCUSDT", [], []) == [5]
    out = state.reconcile("BTCUSDT", [], [], {}, now_ms=50, gone=[5])
    assert len(out) == 1 and isinstance(out[0], OrderGone)
    gone = out[0]
    assert (gone.order_id, gone.client_order_id, gone.venue_reset) == (5, "c5", False)
    assert gone.cumulative_qty == Decimal("0.25") and not gone.status.is_open
    assert state.live_order_ids("BTCUSDT") == []
    assert state.orders_to_query("BTCUSDT", [], []) == []  # never asked again
    assert state.reconcile("BTCUSDT", [], [], {}, now_ms=60, gone=[5]) == []
    assert state.statistics().gone == 1


def test_gone_waits_while_the_reconcile_is_incomplete() -> None:
    state = UserStreamState()
    state.on_event(new(5))
    assert state.reconcile("BTCUSDT", [], [], {}, now_ms=50, terminals=False, gone=[5]) == []
    assert state.live_order_ids("BTCUSDT") == [5]


def test_a_reused_order_id_resyncs_and_the_new_orders_ack_is_delivered() -> None:
    state = UserStreamState()
    state.on_event(new(5))  # believed open
    state.on_event(new(6))
    state.on_event(event_from_report(report(6, ExecutionType.CANCELED, "0")))
    reused = new(5, "restarted-1")
    assert state.went_backwards(reused)
    gone = state.resync("BTCUSDT", 70, "restarted")
    assert [(type(e), e.order_id) for e in gone if isinstance(e, OrderGone)] == [(OrderGone, 5)]
    assert gone[0] == VenueReset("BTCUSDT", "restarted", 70)
    assert all(isinstance(e, OrderGone) and e.venue_reset for e in gone[1:])
    assert not state.went_backwards(reused)
    delivered = state.on_event(reused)
    assert isinstance(delivered, OrderAccepted) and delivered.client_order_id == "restarted-1"
    assert state.last_trade_id("BTCUSDT") is None and state.statistics().venue_resyncs == 1


def test_a_new_order_below_the_highest_id_seen_means_the_ids_went_backwards() -> None:
    state = UserStreamState()
    state.on_event(new(40))
    assert state.went_backwards(new(12, "fresh", at_ms=2))
    assert state.went_backwards(new(40, "fresh"))  # same id, another order
    assert not state.went_backwards(new(41, "next", at_ms=2))
    assert not state.went_backwards(new(40))  # a duplicate NEW of the same order


def test_a_late_new_behind_a_later_orders_events_is_no_restart() -> None:
    """Found by chaos/ws_dup_reorder.toml: a NEW the stream delivers out of order (after a
    later order's events) has an older id *and* an older time; taking it for a restarted
    venue forgot the symbol's fills, and the bot booked them twice."""
    state = UserStreamState()
    state.on_event(new(40, at_ms=5))
    state.on_event(new(41, at_ms=7))
    state.on_event(event_from_report(report(41, ExecutionType.TRADE, "0.25", 9, "0.25")))
    late = new(39, at_ms=4)
    assert not state.went_backwards(late)
    assert not state.went_backwards(new(40, at_ms=5))  # a duplicate, late
    delivered = state.on_event(late)
    assert isinstance(delivered, OrderAccepted) and delivered.order_id == 39
    assert state.statistics().venue_resyncs == 0
    assert (
        state.on_event(event_from_report(report(41, ExecutionType.TRADE, "0.25", 9, "0.25")))
        is None
    )


def test_rest_answers_with_a_reused_id_show_the_ids_went_backwards() -> None:
    state = UserStreamState()
    state.on_event(new(5))
    moved = attrs.evolve(info(5, OrderStatus.NEW, "0"), client_order_id="someone-else")
    assert state.went_backwards_in("BTCUSDT", [moved], {})
    assert state.went_backwards_in("BTCUSDT", [], {5: moved})
    assert not state.went_backwards_in("BTCUSDT", [info(5, OrderStatus.NEW, "0")], {})


def test_resync_forgets_one_symbol_only() -> None:
    state = UserStreamState()
    state.on_event(new(5))
    other = attrs.evolve(report(7, ExecutionType.NEW, "0"), symbol="ETHUSDT")
    state.on_event(event_from_report(other))
    state.resync("BTCUSDT", 1, "restarted")
    assert state.live_order_ids("BTCUSDT") == [] and state.live_order_ids("ETHUSDT") == [7]


@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=20, unique=True))
def test_a_venue_that_keeps_its_ids_never_looks_backwards(ids: list[int]) -> None:
    """Orders numbered in increasing order, each acked, filled and acked again (a
    duplicate), some forgotten (retention 3): never taken for a restart, and REST's view of
    the same fills adds nothing."""
    state = UserStreamState(retained_terminal_orders=3)
    for trade_id, order_id in enumerate(sorted(ids), start=1):
        for event in (
            new(order_id),
            event_from_report(report(order_id, ExecutionType.TRADE, "1", trade_id, "1")),
            new(order_id),
        ):
            assert not state.went_backwards(event)
            state.on_event(event)
    fills = [fill(i, n, "1") for n, i in enumerate(sorted(ids), start=1)]
    finals = {i: info(i, OrderStatus.FILLED, "1") for i in ids}
    assert not state.went_backwards_in("BTCUSDT", [], finals)
    assert state.reconcile("BTCUSDT", [], fills, finals, now_ms=1) == []


def test_fills_of_the_restarted_venue_are_new_after_a_resync() -> None:
    state = UserStreamState()
    state.on_event(new(5))
    state.on_event(event_from_report(report(5, ExecutionType.TRADE, "0.5", 900, "0.5")))
    state.resync("BTCUSDT", 1, "restarted")
    out = state.reconcile("BTCUSDT", [], [fill(3, 2, "1")], {}, now_ms=5)
    assert [type(e) for e in out] == [OrderFilled]
    assert state.last_trade_id("BTCUSDT") == 2


def test_an_order_listed_by_rest_does_not_make_an_older_live_new_look_backwards() -> None:
    """Order 10 was placed and cancelled while the stream reconnected (REST lists it
    nowhere), order 11 is open at the reconcile; 10's NEW, queued behind it, is no restart."""
    state = UserStreamState()
    state.on_event(new(3))
    state.reconcile("BTCUSDT", [info(11, OrderStatus.NEW, "0")], [], {}, now_ms=5)
    assert not state.went_backwards(new(10))
    assert isinstance(state.on_event(new(10)), OrderAccepted)


def test_an_amended_order_keeps_its_id_under_its_new_client_order_id() -> None:
    state = UserStreamState()
    state.on_event(new(5))  # client order id c5
    amended = attrs.evolve(
        report(5, ExecutionType.NEW, "0"), execution_type=ExecutionType.REPLACED,
        client_order_id="renamed", orig_client_order_id="c5",
    )  # fmt: skip
    assert not state.went_backwards(event_from_report(amended))
    state.on_event(event_from_report(amended))
    trade = attrs.evolve(report(5, ExecutionType.TRADE, "0.5", 9, "0.5"), client_order_id="renamed")
    assert not state.went_backwards(event_from_report(trade))
    cancel = attrs.evolve(
        report(5, ExecutionType.CANCELED, "0.5"), client_order_id="cxl-1", orig_client_order_id="c5"
    )
    assert not state.went_backwards(event_from_report(cancel))
    assert state.went_backwards(new(5, "someone-else"))
