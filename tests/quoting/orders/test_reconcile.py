"""reconcile(desired, live): keep, cancel, place, cancel-replace, and the slot rules."""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Quote, QuoteSet, Side
from mmbot.quoting.orders import (
    Action,
    Cancel,
    CancelReplace,
    OrderState,
    Place,
    Tolerances,
    TrackedOrder,
    reconcile,
    within,
)

D = Decimal
SYM = "BTCUSDT"


def order(
    cid: str,
    side: Side,
    level: int,
    price: str,
    qty: str = "1",
    state: OrderState = OrderState.OPEN,
    symbol: str = SYM,
) -> TrackedOrder:
    return TrackedOrder(cid, symbol, side, level, D(price), D(qty), state=state)


def quotes(*qs: Quote) -> QuoteSet:
    return QuoteSet(
        SYM,
        bids=tuple(q for q in qs if q.side is Side.BUY),
        asks=tuple(q for q in qs if q.side is Side.SELL),
    )


BID0 = Quote(Side.BUY, 0, D("100"), D("1"))
ASK0 = Quote(Side.SELL, 0, D("101"), D("1"))


def test_empty_book_places_every_quote() -> None:
    assert reconcile(quotes(BID0, ASK0), [], 0.0) == [
        Place((Side.BUY, 0), BID0),
        Place((Side.SELL, 0), ASK0),
    ]


def test_matching_orders_are_kept() -> None:
    live = [order("a", Side.BUY, 0, "100"), order("b", Side.SELL, 0, "101")]
    assert reconcile(quotes(BID0, ASK0), live, 0.0) == []


def test_order_within_price_tolerance_is_kept() -> None:
    live = [order("a", Side.BUY, 0, "100.05")]  # 5 bps away
    assert reconcile(quotes(BID0), live, 0.0, Tolerances(price_bps=D(5))) == []
    assert reconcile(quotes(BID0), live, 0.0, Tolerances(price_bps=D(4))) == [
        CancelReplace("a", (Side.BUY, 0), BID0)
    ]


def test_size_tolerance_compares_the_remaining_quantity() -> None:
    partly = attrs_filled(order("a", Side.BUY, 0, "100", qty="1.25"), "0.25")
    assert reconcile(quotes(BID0), [partly], 0.0) == []
    smaller = order("b", Side.BUY, 0, "100", qty="0.9")
    assert reconcile(quotes(BID0), [smaller], 0.0, Tolerances(size_ratio=D("0.1"))) == []
    assert reconcile(quotes(BID0), [smaller], 0.0, Tolerances(size_ratio=D("0.05"))) != []


def test_size_tolerance_never_keeps_an_order_larger_than_the_desired_quote() -> None:
    # review2 finding 6: the desired size may be all the room max_position leaves
    bigger = order("a", Side.BUY, 0, "100", qty="1.4")
    assert reconcile(quotes(BID0), [bigger], 0.0, Tolerances(size_ratio=D("0.5"))) == [
        CancelReplace("a", (Side.BUY, 0), BID0)
    ]


@given(desired=st.integers(1, 100), remaining=st.integers(1, 200), ratio=st.integers(0, 100))
def test_a_kept_order_never_exposes_more_than_the_desired_quantity(
    desired: int, remaining: int, ratio: int
) -> None:
    quote = Quote(Side.SELL, 1, D("101"), D(desired) / 10)
    resting = order("a", Side.SELL, 1, "101", qty=str(D(remaining) / 10))
    actions = reconcile(quotes(quote), [resting], 0.0, Tolerances(size_ratio=D(ratio) / 100))
    if not actions:  # kept
        assert resting.remaining <= quote.quantity


def attrs_filled(o: TrackedOrder, filled: str) -> TrackedOrder:
    return attrs.evolve(o, fills_qty=D(filled), state=OrderState.PARTIALLY_FILLED)


def test_undesired_order_is_cancelled() -> None:
    live = [order("a", Side.BUY, 0, "100"), order("b", Side.BUY, 1, "99")]
    assert reconcile(quotes(BID0), live, 0.0) == [Cancel("b")]


def test_pulled_quotes_cancel_everything() -> None:
    live = [order("a", Side.BUY, 0, "100"), order("b", Side.SELL, 0, "101")]
    empty = QuoteSet(SYM, reason="stale book")
    assert reconcile(empty, live, 0.0) == [Cancel("a"), Cancel("b")]


def test_moved_quote_is_cancel_replaced_in_one_action() -> None:
    live = [order("a", Side.BUY, 0, "99")]
    assert reconcile(quotes(BID0), live, 0.0) == [CancelReplace("a", (Side.BUY, 0), BID0)]


def test_in_flight_order_blocks_its_slot() -> None:
    for state in (OrderState.PENDING_NEW, OrderState.PENDING_CANCEL, OrderState.UNRESOLVED):
        live = [order("a", Side.BUY, 0, "99", state=state)]
        assert reconcile(quotes(BID0), live, 0.0) == [], state


def test_blocked_slot_still_cancels_a_stale_resting_order() -> None:
    live = [
        order("a", Side.BUY, 0, "99", state=OrderState.PENDING_CANCEL),
        order("b", Side.BUY, 0, "98"),
    ]
    assert reconcile(quotes(BID0), live, 0.0) == [Cancel("b")]


def test_duplicate_orders_on_a_slot_keep_one() -> None:
    live = [order("a", Side.BUY, 0, "100"), order("b", Side.BUY, 0, "100")]
    assert reconcile(quotes(BID0), live, 0.0) == [Cancel("b")]


def test_other_symbols_and_terminal_orders_are_ignored() -> None:
    live = [
        order("x", Side.BUY, 0, "5", symbol="ETHUSDT"),
        order("y", Side.BUY, 0, "5", state=OrderState.CANCELLED),
    ]
    assert reconcile(quotes(BID0), live, 0.0) == [Place((Side.BUY, 0), BID0)]


def test_cancels_come_before_replaces_and_places() -> None:
    live = [order("a", Side.BUY, 0, "99"), order("b", Side.SELL, 5, "110")]
    actions = reconcile(quotes(BID0, ASK0), live, 0.0)
    assert [type(a) for a in actions] == [Cancel, CancelReplace, Place]


def test_within_refuses_the_other_side() -> None:
    assert not within(order("a", Side.SELL, 0, "100"), BID0, Tolerances(price_bps=D(10_000)))


# -- properties against a model exchange -----------------------------------------------

prices = st.integers(9_900, 10_100).map(lambda n: D(n) / 100)
sizes = st.integers(1, 20).map(lambda n: D(n) / 10)
slots = st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(0, 4))
desired_sets = st.dictionaries(slots, st.tuples(prices, sizes), max_size=10).map(
    lambda d: quotes(*(Quote(s, lv, p, q) for (s, lv), (p, q) in d.items()))
)
live_states = st.sampled_from(
    [
        OrderState.OPEN,
        OrderState.OPEN,
        OrderState.PARTIALLY_FILLED,
        OrderState.PENDING_NEW,
        OrderState.PENDING_CANCEL,
        OrderState.UNRESOLVED,
    ]
)
live_books = st.lists(st.tuples(slots, prices, sizes, live_states), max_size=14).map(
    lambda rows: [
        order(f"o{i}", s, lv, str(p), str(q), state=state)
        for i, ((s, lv), p, q, state) in enumerate(rows)
    ]
)
tolerances = st.builds(
    Tolerances,
    price_bps=st.sampled_from([D(0), D(1), D(10)]),
    size_ratio=st.sampled_from([D(0), D("0.1")]),
)


def apply(live: list[TrackedOrder], actions: list[Action]) -> list[TrackedOrder]:
    """A model exchange that answers every request at once, successfully."""
    book = {o.client_order_id: o for o in live}
    for n, action in enumerate(actions):
        if isinstance(action, Cancel | CancelReplace):
            assert book[action.client_order_id].state.is_resting
            del book[action.client_order_id]
        if isinstance(action, Place | CancelReplace):
            q = action.quote
            book[f"new{n}"] = order(f"new{n}", q.side, q.level, str(q.price), str(q.quantity))
    return list(book.values())


@given(desired=desired_sets, live=live_books, tol=tolerances)
def test_reconcile_is_idempotent_once_applied(
    desired: QuoteSet, live: list[TrackedOrder], tol: Tolerances
) -> None:
    resolved = [o for o in live if o.state.is_resting]  # in-flight orders all resolved away
    after = apply(resolved, reconcile(desired, resolved, 0.0, tol))
    assert reconcile(desired, after, 0.0, tol) == []


@given(desired=desired_sets, live=live_books, tol=tolerances)
def test_no_slot_ever_gets_two_live_orders(
    desired: QuoteSet, live: list[TrackedOrder], tol: Tolerances
) -> None:
    actions = reconcile(desired, live, 0.0, tol)
    counts: dict[tuple[Side, int], int] = {}
    for o in live:
        counts[o.slot] = counts.get(o.slot, 0) + 1
    for action in actions:
        if isinstance(action, Place):
            assert counts.get(action.slot, 0) == 0, "placed onto an occupied slot"
        if isinstance(action, CancelReplace):
            assert all(o.state.is_resting for o in live if o.slot == action.slot)
    new_slots = [a.slot for a in actions if isinstance(a, Place | CancelReplace)]
    assert len(new_slots) == len(set(new_slots))


@given(desired=desired_sets, live=live_books, tol=tolerances)
def test_kept_orders_are_within_tolerance(
    desired: QuoteSet, live: list[TrackedOrder], tol: Tolerances
) -> None:
    actions = reconcile(desired, live, 0.0, tol)
    touched = {a.client_order_id for a in actions if isinstance(a, Cancel | CancelReplace)}
    wanted = {(q.side, q.level): q for q in desired.all()}
    for o in live:
        if o.state.is_resting and o.client_order_id not in touched:
            assert o.slot in wanted and within(o, wanted[o.slot], tol)


@given(desired=desired_sets, tol=tolerances)
def test_fewest_actions_one_per_moved_slot(desired: QuoteSet, tol: Tolerances) -> None:
    # Every desired slot has one resting order one tick off: one action per slot, no more.
    live = [
        order(f"o{i}", q.side, q.level, str(q.price + D("0.5")), str(q.quantity))
        for i, q in enumerate(desired.all())
    ]
    actions = reconcile(desired, live, 0.0, tol)
    assert len(actions) == len(live)
    assert all(isinstance(a, CancelReplace) for a in actions)
