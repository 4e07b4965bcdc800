"""order.amend.keepPriority in the engine, MAX_NUM_ORDERS, allOrders and execution ids."""

from __future__ import annotations

from decimal import Decimal as D

from matching_kit import BTC, FEES, START, SYM, limit, market

from mmbot.model import ExecutionType, OrderStatus, Side
from mmbot.sim.engine import MAX_NUM_ORDER_AMENDS, AmendResult, Execution, MatchingEngine
from mmbot.venue.binance.errors import DialectError


def fresh(**kwargs: object) -> MatchingEngine:
    e = MatchingEngine([BTC], FEES, **kwargs)  # type: ignore[arg-type]
    for account in ("alice", "bob", "carol"):
        e.open_account(account, dict(START))
    return e


def executions(e: MatchingEngine) -> list[Execution]:
    return [ev for ev in e.drain_events() if isinstance(ev, Execution)]


def amend(e: MatchingEngine, qty: str, *, cid: str = "new", **ref: object) -> object:
    return e.amend_keep_priority("alice", SYM, D(qty), cid, 5, **ref)  # type: ignore[arg-type]


def test_an_amended_order_keeps_its_place_in_the_queue() -> None:
    e = fresh()
    e.place(limit("alice", Side.SELL, "2", "30000", "first"), 1)
    e.place(limit("bob", Side.SELL, "1", "30000", "second"), 2)
    result = amend(e, "0.5", client_order_id="first")
    assert isinstance(result, AmendResult) and result.order.orig_qty == D("0.5")
    taker = e.place(limit("carol", Side.BUY, "0.5", "30000", "t"), 6)
    assert not isinstance(taker, DialectError)
    (fill,) = taker.fills
    assert fill.qty == D("0.5")
    # alice's order, amended down, still traded first: bob's is untouched
    assert e.query("bob", SYM, client_order_id="second").executed_qty == 0  # type: ignore[union-attr]
    assert e.query("alice", SYM, order_id=1).status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_an_amendment_releases_the_lock_and_shrinks_the_level() -> None:
    e = fresh()
    e.place(limit("alice", Side.BUY, "2", "100", "b"), 1)
    locked = {b.asset: b.locked for b in e.balances("alice")}["USDT"]
    assert locked == D("200")
    amend(e, "0.5", order_id=1)
    assert {b.asset: b.locked for b in e.balances("alice")}["USDT"] == D("50")
    assert e.depth(SYM, 5).bids == ((D("100"), D("0.5")),)


def test_an_amendment_is_reported_as_replaced_with_the_new_client_id() -> None:
    e = fresh()
    e.place(limit("alice", Side.BUY, "2", "100", "old"), 1)
    executions(e)
    result = amend(e, "1.5", cid="renamed", client_order_id="old")
    assert isinstance(result, AmendResult) and result.previous_client_order_id == "old"
    (report,) = executions(e)
    assert report.execution_type is ExecutionType.REPLACED
    assert report.status is OrderStatus.NEW and report.quantity == D("1.5")
    assert (report.client_order_id, report.orig_client_order_id) == ("renamed", "old")
    assert report.execution_id == result.execution_id
    assert e.query("alice", SYM, client_order_id="renamed").order_id == 1  # type: ignore[union-attr]
    assert isinstance(e.query("alice", SYM, client_order_id="old"), DialectError)


def test_amending_to_or_below_the_filled_quantity_expires_the_order() -> None:
    e = fresh()
    e.place(limit("alice", Side.SELL, "2", "30000", "s"), 1)
    e.place(market("bob", Side.BUY, "t", qty="1"), 2)
    executions(e)
    result = amend(e, "1", order_id=1)
    assert isinstance(result, AmendResult) and result.expired
    assert result.order.status is OrderStatus.EXPIRED
    (report,) = executions(e)
    assert report.execution_type is ExecutionType.EXPIRED
    assert report.execution_id == result.execution_id
    assert e.open_orders("alice") == []
    assert {b.asset: b.locked for b in e.balances("alice")}["BTC"] == 0


def test_an_amendment_that_does_not_reduce_is_refused_and_changes_nothing() -> None:
    e = fresh()
    e.place(limit("alice", Side.BUY, "2", "100", "b"), 1)
    executions(e)
    up = amend(e, "3", order_id=1)
    same = amend(e, "2", order_id=1)
    off_step = amend(e, "1.0005", order_id=1)
    unknown = amend(e, "1", order_id=99)
    assert isinstance(up, DialectError) and up.code == -2038
    assert up.msg == "Order amend (quantity increase) is not supported."
    assert isinstance(same, DialectError) and same.code == -2038
    assert isinstance(off_step, DialectError) and off_step.msg == "Filter failure: LOT_SIZE"
    assert isinstance(unknown, DialectError) and unknown.msg == "Unknown order sent."
    assert executions(e) == []
    assert e.query("alice", SYM, order_id=1).orig_qty == D("2")  # type: ignore[union-attr]


def test_an_order_takes_at_most_max_num_order_amends_amendments() -> None:
    e = fresh()
    e.place(limit("alice", Side.BUY, "100", "100", "b"), 1)
    for n in range(MAX_NUM_ORDER_AMENDS):
        assert isinstance(amend(e, str(99 - n), order_id=1), AmendResult)
    refused = amend(e, "50", order_id=1)
    assert isinstance(refused, DialectError) and refused.code == -2038
    assert refused.msg == "Filter failure: MAX_NUM_ORDER_AMENDS"


def test_max_num_orders_refuses_the_order_beyond_the_limit_but_not_exempt_accounts() -> None:
    e = fresh(max_num_orders=2, order_limit_exempt=("bob",))
    for n in range(2):
        assert not isinstance(
            e.place(limit("alice", Side.BUY, "1", "100", f"a{n}"), 1), DialectError
        )
        e.place(limit("bob", Side.BUY, "1", "100", f"b{n}"), 1)
    refused = e.place(limit("alice", Side.BUY, "1", "100", "a2"), 1)
    assert isinstance(refused, DialectError)
    assert (refused.code, refused.msg) == (-1013, "Filter failure: MAX_NUM_ORDERS")
    assert not isinstance(e.place(limit("bob", Side.BUY, "1", "100", "b2"), 1), DialectError)
    e.cancel("alice", SYM, 2, order_id=1)
    assert not isinstance(e.place(limit("alice", Side.BUY, "1", "100", "a3"), 3), DialectError)


def test_execution_ids_grow_by_one_per_execution_of_the_symbol() -> None:
    e = fresh()
    e.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    e.place(limit("bob", Side.BUY, "0.4", "30000", "t"), 2)
    e.cancel("alice", SYM, 3, order_id=1)
    ids = [r.execution_id for r in executions(e)]
    assert ids == list(range(1, len(ids) + 1)) and len(ids) == 5


def test_all_orders_lists_open_and_closed_orders_of_the_account_by_id() -> None:
    e = fresh()
    e.place(limit("alice", Side.BUY, "1", "100", "a"), 1)
    e.place(limit("bob", Side.BUY, "1", "100", "b"), 2)
    e.place(limit("alice", Side.BUY, "1", "101", "c"), 3)
    e.cancel("alice", SYM, 4, order_id=1)
    e.place(limit("alice", Side.BUY, "1", "102", "d"), 5)
    everything = e.all_orders("alice", SYM)
    assert [o.order_id for o in everything] == [1, 3, 4]
    assert [o.status for o in everything] == [
        OrderStatus.CANCELED,
        OrderStatus.NEW,
        OrderStatus.NEW,
    ]
    assert [o.order_id for o in e.all_orders("alice", SYM, limit=2)] == [3, 4]  # most recent
    assert [o.order_id for o in e.all_orders("alice", SYM, from_id=3, limit=1)] == [3]
    assert [o.order_id for o in e.all_orders("alice", SYM, start_ms=4, end_ms=4)] == [1]
    assert e.all_orders("alice", "NOPE") == []
