"""The matching engine's cancels, cancel-replace, queries, symbol status and public book."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from mmbot.model import ExecutionType, Instrument, OrderStatus, OrderType, Side, SymbolStatus
from mmbot.model import TimeInForce as TIF
from mmbot.sim.engine import (
    BookDelta,
    Depth,
    Execution,
    Fees,
    MatchingEngine,
    OrderRequest,
    OrderView,
    PlaceResult,
    ReplaceMode,
    SymbolStatusChanged,
    cancel_client_order_id,
)
from mmbot.venue.binance.errors import DialectError

SYM = "BTCUSDT"
BTC = Instrument("BTCUSDT", "BTC", "USDT", tick_size=D("0.01"), step_size=D("0.001"))
ETH = Instrument("ETHUSDT", "ETH", "USDT", tick_size=D("0.01"), step_size=D("0.001"))
UNKNOWN = DialectError(-2011, "Unknown order sent.")
CLOSED = DialectError(-1013, "Market is closed.")


def limit(
    account: str, side: Side, qty: str, price: str, cid: str, symbol: str = SYM
) -> OrderRequest:
    return OrderRequest(account, symbol, side, OrderType.LIMIT, cid, D(qty), D(price), TIF.GTC)


@pytest.fixture
def engine() -> MatchingEngine:
    e = MatchingEngine([BTC, ETH], Fees())
    for account in ("alice", "bob"):
        e.open_account(account, {"USDT": D("100000"), "BTC": D("10"), "ETH": D("10")})
    return e


def locked(e: MatchingEngine, account: str, asset: str) -> D:
    return next((b.locked for b in e.balances(account) if b.asset == asset), D(0))


def reports(events: list[object]) -> list[Execution]:
    return [e for e in events if isinstance(e, Execution)]


# ---- cancel -------------------------------------------------------------------------------


def test_cancel_by_order_id_releases_the_lock_and_reports_canceled(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.drain_events()
    view = engine.cancel("alice", SYM, 2, order_id=1)
    assert isinstance(view, OrderView)
    assert (view.status, view.orig_client_order_id) == (OrderStatus.CANCELED, "a1")
    assert locked(engine, "alice", "USDT") == 0
    report = reports(engine.drain_events())[0]
    assert (report.execution_type, report.status) == (ExecutionType.CANCELED, OrderStatus.CANCELED)
    assert report.orig_client_order_id == "a1"
    assert engine.depth(SYM, 5).bids == ()


def test_a_canceled_report_names_the_cancel_in_c_and_the_order_in_capital_c(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("alice", Side.BUY, "1", "30000", "a2"), 1)
    engine.drain_events()
    engine.cancel("alice", SYM, 2, order_id=1)
    engine.cancel("alice", SYM, 2, client_order_id="a2")
    first, second = reports(engine.drain_events())
    assert (first.orig_client_order_id, second.orig_client_order_id) == ("a1", "a2")
    cancel_ids = {first.client_order_id, second.client_order_id}
    assert len(cancel_ids) == 2 and not cancel_ids & {"a1", "a2"}
    assert all(re.fullmatch(r"[a-zA-Z0-9-_]{1,36}", c) for c in cancel_ids)
    assert first.client_order_id == cancel_client_order_id(SYM, 1)


def test_an_expired_report_keeps_the_orders_id_in_c(engine: MatchingEngine) -> None:
    engine.place(limit("bob", Side.SELL, "1", "30000", "maker"), 1)
    ioc = OrderRequest("alice", SYM, Side.BUY, OrderType.LIMIT, "ioc", D("2"), D("30000"), TIF.IOC)
    engine.place(ioc, 2)
    expired = [
        r for r in reports(engine.drain_events()) if r.execution_type is ExecutionType.EXPIRED
    ]
    assert [(r.client_order_id, r.orig_client_order_id) for r in expired] == [("ioc", "")]


def test_cancel_by_client_order_id(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "a1"), 1)
    view = engine.cancel("alice", SYM, 2, client_order_id="a1")
    assert isinstance(view, OrderView) and view.order_id == 1


def test_cancel_of_an_unknown_order_is_2011(engine: MatchingEngine) -> None:
    assert engine.cancel("alice", SYM, 1, order_id=42) == UNKNOWN
    assert engine.cancel("alice", SYM, 1, client_order_id="nope") == UNKNOWN


def test_cancel_of_another_accounts_order_is_2011(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    assert engine.cancel("bob", SYM, 2, order_id=1) == UNKNOWN


def test_cancel_of_a_filled_order_is_2011(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "1", "30000", "t"), 2)
    assert engine.cancel("alice", SYM, 3, order_id=1) == UNKNOWN


def test_cancel_without_any_id_is_1102(engine: MatchingEngine) -> None:
    result = engine.cancel("alice", SYM, 1)
    assert isinstance(result, DialectError) and result.code == -1102


def test_cancel_all_cancels_only_that_accounts_orders_on_that_symbol(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("alice", Side.SELL, "1", "31000", "a2"), 2)
    engine.place(limit("bob", Side.BUY, "1", "29000", "b1"), 3)
    engine.place(limit("alice", Side.BUY, "1", "2000", "e1", symbol="ETHUSDT"), 4)
    views = engine.cancel_all("alice", SYM, 5)
    assert isinstance(views, list)
    assert [v.client_order_id for v in views] == ["a1", "a2"]
    assert {v.status for v in views} == {OrderStatus.CANCELED}
    assert [v.client_order_id for v in engine.open_orders("alice")] == ["e1"]
    assert [v.client_order_id for v in engine.open_orders("bob", SYM)] == ["b1"]


def test_cancel_all_without_open_orders_is_2011(engine: MatchingEngine) -> None:
    assert engine.cancel_all("alice", SYM, 1) == UNKNOWN


# ---- cancel-replace -----------------------------------------------------------------------


def test_cancel_replace_replaces_the_order(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "old"), 1)
    result = engine.cancel_replace(
        ReplaceMode.STOP_ON_FAILURE,
        limit("alice", Side.BUY, "2", "29000", "new"),
        2,
        cancel_client_order_id="old",
    )
    assert isinstance(result.cancel, OrderView)
    assert result.cancel.status is OrderStatus.CANCELED
    assert isinstance(result.new, PlaceResult)
    assert [v.client_order_id for v in engine.open_orders("alice")] == ["new"]
    assert locked(engine, "alice", "USDT") == D("58000")


def test_stop_on_failure_does_not_attempt_the_new_order_when_cancel_fails(
    engine: MatchingEngine,
) -> None:
    result = engine.cancel_replace(
        ReplaceMode.STOP_ON_FAILURE,
        limit("alice", Side.BUY, "1", "29000", "new"),
        1,
        cancel_order_id=7,
    )
    assert (result.cancel, result.new) == (UNKNOWN, None)
    assert engine.open_orders("alice") == []
    assert engine.drain_events() == []


def test_stop_on_failure_keeps_the_cancel_when_the_new_order_fails(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "old"), 1)
    engine.drain_events()
    result = engine.cancel_replace(
        ReplaceMode.STOP_ON_FAILURE,
        limit("alice", Side.BUY, "100", "29000", "new"),  # 2.9M USDT: insufficient
        2,
        cancel_order_id=1,
    )
    assert isinstance(result.cancel, OrderView)
    assert isinstance(result.new, DialectError) and result.new.code == -2010
    assert engine.open_orders("alice") == []
    kinds = [
        (r.execution_type, r.orig_client_order_id or r.client_order_id)
        for r in reports(engine.drain_events())
    ]
    assert kinds == [(ExecutionType.CANCELED, "old"), (ExecutionType.REJECTED, "new")]


def test_allow_failure_attempts_the_new_order_when_cancel_fails(engine: MatchingEngine) -> None:
    result = engine.cancel_replace(
        ReplaceMode.ALLOW_FAILURE,
        limit("alice", Side.BUY, "1", "29000", "new"),
        1,
        cancel_order_id=7,
    )
    assert result.cancel == UNKNOWN
    assert isinstance(result.new, PlaceResult)
    assert [v.client_order_id for v in engine.open_orders("alice")] == ["new"]


def test_allow_failure_reports_both_failures(engine: MatchingEngine) -> None:
    result = engine.cancel_replace(
        ReplaceMode.ALLOW_FAILURE,
        limit("alice", Side.BUY, "100", "29000", "new"),
        1,
        cancel_order_id=7,
    )
    assert result.cancel == UNKNOWN
    assert isinstance(result.new, DialectError) and result.new.code == -2010


def test_allow_failure_keeps_the_cancel_when_the_new_order_fails(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "old"), 1)
    result = engine.cancel_replace(
        ReplaceMode.ALLOW_FAILURE,
        limit("alice", Side.BUY, "1", "29000.001", "new"),
        2,
        cancel_order_id=1,
    )
    assert isinstance(result.cancel, OrderView)
    assert result.new == DialectError(-1013, "Filter failure: PRICE_FILTER")
    assert engine.open_orders("alice") == []


def test_cancel_replace_may_reuse_the_cancelled_client_order_id(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "same"), 1)
    result = engine.cancel_replace(
        ReplaceMode.STOP_ON_FAILURE,
        limit("alice", Side.BUY, "1", "29000", "same"),
        2,
        cancel_client_order_id="same",
    )
    assert isinstance(result.new, PlaceResult)


# ---- queries ------------------------------------------------------------------------------


def test_open_orders_lists_only_open_orders(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("alice", Side.BUY, "1", "29000", "a2"), 2)
    engine.cancel("alice", SYM, 3, order_id=1)
    assert [v.client_order_id for v in engine.open_orders("alice", SYM)] == ["a2"]


def test_trades_follow_my_trades_semantics(engine: MatchingEngine) -> None:
    for i in range(4):
        engine.place(limit("alice", Side.SELL, "1", "3000", f"m{i}"), i)
    engine.place(limit("bob", Side.BUY, "3", "3000", "t1"), 10)
    engine.place(limit("bob", Side.BUY, "1", "3000", "t2"), 11)
    ids = lambda trades: [t.trade_id for t in trades]  # noqa: E731
    assert ids(engine.trades("bob", SYM)) == [1, 2, 3, 4]
    assert ids(engine.trades("bob", SYM, limit=2)) == [3, 4]
    assert ids(engine.trades("bob", SYM, from_id=2, limit=2)) == [2, 3]
    assert ids(engine.trades("bob", SYM, order_id=6)) == [4]
    assert ids(engine.trades("alice", SYM, order_id=1)) == [1]
    assert all(t.is_buyer and not t.is_maker for t in engine.trades("bob", SYM))


# ---- symbol status ------------------------------------------------------------------------


def test_halt_refuses_new_orders_and_keeps_resting_ones(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.drain_events()
    engine.set_symbol_status(SYM, SymbolStatus.HALT, 2)
    assert engine.drain_events() == [SymbolStatusChanged(SYM, SymbolStatus.HALT, 2)]
    assert engine.place(limit("bob", Side.SELL, "1", "30000", "b1"), 3) == CLOSED
    assert [v.status for v in engine.open_orders("alice")] == [OrderStatus.NEW]
    assert engine.instrument(SYM).status is SymbolStatus.HALT  # type: ignore[union-attr]


def test_cancel_works_while_halted(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.set_symbol_status(SYM, SymbolStatus.HALT, 2)
    assert isinstance(engine.cancel("alice", SYM, 3, order_id=1), OrderView)


@pytest.mark.parametrize("status", [SymbolStatus.BREAK, SymbolStatus.END_OF_DAY])
def test_break_and_end_of_day_expire_open_orders(
    engine: MatchingEngine, status: SymbolStatus
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("bob", Side.SELL, "1", "31000", "b1"), 2)
    engine.drain_events()
    engine.set_symbol_status(SYM, status, 3)
    events = engine.drain_events()
    assert events[0] == SymbolStatusChanged(SYM, status, 3)
    assert [(r.client_order_id, r.execution_type) for r in reports(events)] == [
        ("a1", ExecutionType.EXPIRED),
        ("b1", ExecutionType.EXPIRED),
    ]
    assert engine.open_orders("alice") == engine.open_orders("bob") == []
    assert locked(engine, "alice", "USDT") == locked(engine, "bob", "BTC") == 0
    assert engine.depth(SYM, 5).bids == engine.depth(SYM, 5).asks == ()
    assert engine.place(limit("bob", Side.SELL, "1", "30000", "b2"), 4) == CLOSED


def test_trading_again_accepts_orders(engine: MatchingEngine) -> None:
    engine.set_symbol_status(SYM, SymbolStatus.BREAK, 1)
    engine.set_symbol_status(SYM, SymbolStatus.TRADING, 2)
    assert isinstance(engine.place(limit("bob", Side.SELL, "1", "30000", "b"), 3), PlaceResult)


# ---- public book --------------------------------------------------------------------------


def apply_deltas(snapshot: Depth, deltas: list[BookDelta]) -> dict[Side, dict[D, D]]:
    book = {Side.BUY: dict(snapshot.bids), Side.SELL: dict(snapshot.asks)}
    for d in deltas:
        if d.update_id <= snapshot.last_update_id:
            continue
        if d.quantity == 0:
            book[d.side].pop(d.price, None)
        else:
            book[d.side][d.price] = d.quantity
    return book


def test_snapshot_plus_later_deltas_give_the_current_book(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("alice", Side.SELL, "1", "30010", "a2"), 2)
    snapshot = engine.depth(SYM, 100)
    engine.place(limit("bob", Side.BUY, "0.5", "29990", "b1"), 3)
    engine.place(limit("bob", Side.SELL, "1.5", "30000", "b2"), 4)
    engine.cancel("alice", SYM, 5, order_id=2)
    deltas = [e for e in engine.drain_events() if isinstance(e, BookDelta)]
    now = engine.depth(SYM, 100)
    assert apply_deltas(snapshot, deltas) == {
        Side.BUY: dict(now.bids),
        Side.SELL: dict(now.asks),
    }
    assert now.bids == ((D("29990"), D("0.5")),)
    assert now.asks == ((D("30000"), D("0.5")),)


def test_update_ids_grow_by_one_per_delta(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "a1"), 1)
    engine.place(limit("alice", Side.BUY, "1", "29000", "a2"), 2)
    engine.place(limit("bob", Side.SELL, "2", "29000", "b"), 3)
    ids = [e.update_id for e in engine.drain_events() if isinstance(e, BookDelta)]
    assert ids == list(range(1, len(ids) + 1))
    assert engine.depth(SYM, 5).last_update_id == ids[-1]


def test_depth_is_best_first_and_limited(engine: MatchingEngine) -> None:
    for i, price in enumerate(["29000", "30000", "29500"]):
        engine.place(limit("alice", Side.BUY, "1", price, f"b{i}"), i)
    for i, price in enumerate(["31000", "30500"]):
        engine.place(limit("alice", Side.SELL, "1", price, f"s{i}"), i)
    depth = engine.depth(SYM, 2)
    assert [p for p, _ in depth.bids] == [D("30000"), D("29500")]
    assert [p for p, _ in depth.asks] == [D("30500"), D("31000")]
    assert engine.best_bid_ask(SYM) == (D("30000"), D("30500"))
    assert engine.best_bid_ask("ETHUSDT") == (None, None)


# ---- retention and odd inputs -------------------------------------------------------------


def test_closed_orders_beyond_retention_are_forgotten() -> None:
    e = MatchingEngine([BTC], Fees(), closed_order_retention=2)
    e.open_account("alice", {"USDT": D("100000")})
    for i in range(3):
        e.place(limit("alice", Side.BUY, "1", "30000", f"a{i}"), i)
        e.cancel("alice", SYM, i, order_id=i + 1)
    assert e.query("alice", SYM, order_id=1) == DialectError(-2013, "Order does not exist.")
    assert isinstance(e.query("alice", SYM, order_id=2), OrderView)
    assert isinstance(e.query("alice", SYM, client_order_id="a2"), OrderView)


def test_closed_orders_older_than_the_age_limit_are_forgotten() -> None:
    e = MatchingEngine([BTC], Fees(), closed_order_max_age_ms=1000)
    e.open_account("alice", {"USDT": D("100000")})
    e.place(limit("alice", Side.BUY, "1", "30000", "old"), 0)
    e.cancel("alice", SYM, 10, order_id=1)
    e.place(limit("alice", Side.BUY, "1", "30000", "mid"), 500)
    e.cancel("alice", SYM, 900, order_id=2)
    assert isinstance(e.query("alice", SYM, client_order_id="old"), OrderView)
    e.place(limit("alice", Side.BUY, "1", "30000", "new"), 1500)
    e.cancel("alice", SYM, 1500, order_id=3)  # closes 1490 ms after "old": it is gone
    assert e.query("alice", SYM, client_order_id="old") == DialectError(
        -2013, "Order does not exist."
    )
    assert e.query("alice", SYM, order_id=1) == DialectError(-2013, "Order does not exist.")
    assert isinstance(e.query("alice", SYM, client_order_id="mid"), OrderView)
    assert isinstance(e.query("alice", SYM, order_id=3), OrderView)


def test_no_closed_record_is_kept_for_an_unqueried_account() -> None:
    e = MatchingEngine([BTC], Fees(), no_closed_history=("maker",))
    for account in ("maker", "alice"):
        e.open_account(account, {"USDT": D("100000")})
    e.place(limit("maker", Side.BUY, "1", "30000", "m"), 0)
    e.place(limit("alice", Side.BUY, "1", "30000", "a"), 0)
    e.cancel("maker", SYM, 1, order_id=1)
    e.cancel("alice", SYM, 1, order_id=2)
    assert e.query("maker", SYM, order_id=1) == DialectError(-2013, "Order does not exist.")
    assert e.query("maker", SYM, client_order_id="m") == DialectError(
        -2013, "Order does not exist."
    )
    assert isinstance(e.query("alice", SYM, client_order_id="a"), OrderView)


def test_break_keeps_the_executed_quantity_of_a_partly_filled_order(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "0.25", "30000", "t"), 2)
    engine.set_symbol_status(SYM, SymbolStatus.BREAK, 3)
    view = engine.query("alice", SYM, order_id=1)
    assert isinstance(view, OrderView)
    assert (view.status, view.executed_qty) == (OrderStatus.EXPIRED, D("0.25"))
    assert locked(engine, "alice", "BTC") == 0


def test_cancel_replace_with_an_unknown_mode_is_a_programming_error(
    engine: MatchingEngine,
) -> None:
    with pytest.raises(ValueError, match="cancelReplaceMode"):
        engine.cancel_replace("SOMETIMES", limit("alice", Side.BUY, "1", "1", "x"), 1)


def test_unknown_symbol_answers(engine: MatchingEngine) -> None:
    invalid = DialectError(-1121, "Invalid symbol.")
    assert engine.cancel("alice", "NOPE", 1, order_id=1) == invalid
    assert engine.cancel_all("alice", "NOPE", 1) == invalid
    assert engine.query("alice", "NOPE", order_id=1) == invalid
    assert engine.open_orders("alice", "NOPE") == engine.trades("alice", "NOPE") == []
    with pytest.raises(KeyError):
        engine.depth("NOPE", 5)


def test_query_of_closed_orders_shows_their_final_state(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    taker = engine.place(limit("bob", Side.BUY, "1", "30000", "t"), 2)
    engine.place(limit("bob", Side.BUY, "1", "20000", "c"), 3)
    cancelled = engine.cancel("bob", SYM, 4, client_order_id="c")
    assert isinstance(taker, PlaceResult) and isinstance(cancelled, OrderView)
    assert engine.query("bob", SYM, order_id=2) == taker.order
    assert engine.query("bob", SYM, client_order_id="c") == cancelled
    maker = engine.query("alice", SYM, client_order_id="m")
    assert isinstance(maker, OrderView)
    assert (maker.status, maker.executed_qty, maker.cumulative_quote_qty) == (
        OrderStatus.FILLED,
        D("1"),
        D("30000"),
    )
    assert engine.query("alice", SYM, order_id=1, client_order_id="x") == DialectError(
        -2013, "Order does not exist."
    )
