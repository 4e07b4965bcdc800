"""The matching engine's order rules: resting, priority, fees, time in force, ids, events."""

from __future__ import annotations

from decimal import Decimal as D

from matching_kit import BTC, ETH, FEES, START, SYM, bal, limit, maker_only, market, placed, reports

from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine import (
    FEE_ACCOUNT,
    AccountPosition,
    AssetBalance,
    BookDelta,
    Execution,
    MatchingEngine,
    PlaceResult,
    TradePrint,
)
from mmbot.venue.binance.errors import DialectError

# ---- resting orders and locks ---------------------------------------------------------


def test_resting_limit_order_is_new_and_on_the_book(engine: MatchingEngine) -> None:
    result = placed(engine.place(limit("alice", Side.BUY, "0.5", "30000", "a1"), 1))
    assert result.order.status is OrderStatus.NEW
    assert result.order.working_time_ms == 1
    assert result.fills == ()
    assert engine.depth(SYM, 5).bids == ((D("30000"), D("0.5")),)


def test_buy_limit_locks_price_times_quantity_of_quote(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "0.5", "30000", "a1"), 1)
    assert bal(engine, "alice", "USDT") == (D("85000"), D("15000"))


def test_sell_limit_locks_quantity_of_base(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.5", "30000", "a1"), 1)
    assert bal(engine, "alice", "BTC") == (D("9.5"), D("0.5"))


# ---- priority, partial fills, prices --------------------------------------------------


def test_better_price_trades_first(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30001", "worse"), 1)
    engine.place(limit("bob", Side.SELL, "1", "30000", "better"), 2)
    result = placed(engine.place(limit("carol", Side.BUY, "1", "30005", "t"), 3))
    assert [f.price for f in result.fills] == [D("30000")]
    assert engine.query("bob", SYM, client_order_id="better").status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_earlier_order_trades_first_at_the_same_price(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "first"), 1)
    engine.place(limit("bob", Side.SELL, "1", "30000", "second"), 2)
    engine.place(limit("carol", Side.BUY, "1", "30000", "t"), 3)
    first = engine.query("alice", SYM, client_order_id="first")
    second = engine.query("bob", SYM, client_order_id="second")
    assert first.status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert second.status is OrderStatus.NEW  # type: ignore[union-attr]


def test_partial_fill_leaves_the_maker_resting_partially_filled(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "0.4", "30000", "t"), 2)
    maker = engine.query("alice", SYM, client_order_id="m")
    assert maker.status is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    assert maker.executed_qty == D("0.4")  # type: ignore[union-attr]
    assert engine.depth(SYM, 5).asks == ((D("30000"), D("0.6")),)


def test_taker_remainder_rests_after_sweeping_levels(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.3", "30000", "m1"), 1)
    engine.place(limit("alice", Side.SELL, "0.3", "30001", "m2"), 2)
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30001", "t"), 3))
    assert [(f.price, f.qty) for f in result.fills] == [
        (D("30000"), D("0.3")),
        (D("30001"), D("0.3")),
    ]
    assert result.order.status is OrderStatus.PARTIALLY_FILLED
    assert result.order.cumulative_quote_qty == D("18000.3")
    assert engine.depth(SYM, 5).bids == ((D("30001"), D("0.4")),)
    assert engine.depth(SYM, 5).asks == ()


def test_buyer_taking_below_its_limit_gets_the_difference_unlocked(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "1", "31000", "t"), 2)
    assert bal(engine, "bob", "USDT") == (D("70000"), D("0"))


# ---- fees -------------------------------------------------------------------------------


def test_buyer_pays_fee_in_base_and_seller_in_quote_at_maker_and_taker_rates(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)  # maker 0.1%
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30000", "t"), 2))  # taker 0.2%
    fill = result.fills[0]
    assert (fill.commission, fill.commission_asset, fill.is_maker) == (D("0.002"), "BTC", False)
    maker_fill = engine.trades("alice", SYM)[0]
    assert (maker_fill.commission, maker_fill.commission_asset) == (D("30"), "USDT")
    assert bal(engine, "bob", "BTC") == (D("10.998"), D("0"))
    assert bal(engine, "alice", "USDT") == (D("129970"), D("0"))
    assert engine.fee_totals() == {"BTC": D("0.002"), "USDT": D("30")}


def test_fee_account_makes_every_asset_conserved(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.777", "30000.01", "m"), 1)
    engine.place(limit("bob", Side.BUY, "0.333", "30000.01", "t"), 2)
    engine.place(market("carol", Side.BUY, "x", qty="0.111"), 3)
    for asset in ("BTC", "USDT"):
        total = sum(
            (sum(bal(engine, a, asset)) for a in ("alice", "bob", "carol", FEE_ACCOUNT)),
            D(0),
        )
        assert total == 3 * START[asset]


def test_fee_account_gets_no_account_position(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "1", "30000", "t"), 2)
    positions = [e for e in engine.drain_events() if isinstance(e, AccountPosition)]
    assert FEE_ACCOUNT not in {p.account for p in positions}


def test_an_account_may_trade_with_itself(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    result = placed(engine.place(limit("alice", Side.BUY, "1", "30000", "t"), 2))
    assert result.order.status is OrderStatus.FILLED
    assert bal(engine, "alice", "BTC") == (D("9.998"), D("0"))
    assert bal(engine, "alice", "USDT") == (D("99970"), D("0"))


# ---- time in force ------------------------------------------------------------------------


def test_ioc_fills_what_it_can_and_expires_the_rest(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.4", "30000", "m"), 1)
    engine.drain_events()
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30000", "t", TimeInForce.IOC), 2))
    assert result.order.status is OrderStatus.EXPIRED
    assert result.order.executed_qty == D("0.4")
    assert [r.execution_type for r in reports(engine.drain_events(), "bob")] == [
        ExecutionType.NEW,
        ExecutionType.TRADE,
        ExecutionType.EXPIRED,
    ]
    assert bal(engine, "bob", "USDT") == (D("88000"), D("0"))
    assert engine.depth(SYM, 5).bids == ()


def test_ioc_with_nothing_to_match_expires_unfilled(engine: MatchingEngine) -> None:
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30000", "t", TimeInForce.IOC), 1))
    assert result.order.status is OrderStatus.EXPIRED
    assert result.order.executed_qty == 0
    assert bal(engine, "bob", "USDT") == (D("100000"), D("0"))


def test_fok_fills_completely_when_the_book_allows(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.5", "30000", "m1"), 1)
    engine.place(limit("alice", Side.SELL, "0.5", "30001", "m2"), 2)
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30001", "t", TimeInForce.FOK), 3))
    assert result.order.status is OrderStatus.FILLED
    assert len(result.fills) == 2


def test_fok_that_cannot_fill_completely_expires_without_any_fill(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "0.5", "30000", "m1"), 1)
    engine.place(limit("alice", Side.SELL, "0.5", "30002", "m2"), 2)
    engine.drain_events()
    result = placed(engine.place(limit("bob", Side.BUY, "1", "30001", "t", TimeInForce.FOK), 3))
    assert result.order.status is OrderStatus.EXPIRED
    assert result.fills == ()
    events = engine.drain_events()
    assert [r.execution_type for r in reports(events)] == [
        ExecutionType.NEW,
        ExecutionType.EXPIRED,
    ]
    assert not [e for e in events if isinstance(e, AccountPosition | BookDelta)]
    assert engine.depth(SYM, 5).asks[0] == (D("30000"), D("0.5"))


# ---- LIMIT_MAKER -------------------------------------------------------------------------


def test_limit_maker_that_would_cross_is_rejected_without_events(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.drain_events()
    result = engine.place(maker_only("bob", Side.BUY, "1", "30000", "pm"), 2)
    assert result == DialectError(-2010, "Order would immediately match and take.")
    assert engine.drain_events() == []


def test_limit_maker_that_does_not_cross_rests(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    result = placed(engine.place(maker_only("bob", Side.BUY, "1", "29999.99", "pm"), 2))
    assert result.order.status is OrderStatus.NEW
    assert result.order.type is OrderType.LIMIT_MAKER
    assert engine.best_bid_ask(SYM) == (D("29999.99"), D("30000"))


# ---- ids ----------------------------------------------------------------------------------


def test_order_and_trade_ids_are_per_symbol_and_start_at_one(engine: MatchingEngine) -> None:
    a = placed(engine.place(limit("alice", Side.SELL, "1", "30000", "a"), 1))
    b = placed(engine.place(limit("bob", Side.BUY, "1", "30000", "b"), 2))
    e = placed(engine.place(limit("bob", Side.BUY, "1", "2000", "e", symbol="ETHUSDT"), 3))
    assert (a.order.order_id, b.order.order_id, e.order.order_id) == (1, 2, 1)
    assert b.fills[0].trade_id == 1


def test_duplicate_client_order_id_among_open_orders_is_rejected(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "same"), 1)
    result = engine.place(limit("alice", Side.BUY, "1", "29000", "same"), 2)
    assert result == DialectError(-2010, "Duplicate order sent.")


def test_same_client_order_id_in_another_account_is_fine(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "same"), 1)
    assert isinstance(engine.place(limit("bob", Side.BUY, "1", "29000", "same"), 2), PlaceResult)


def test_client_order_id_of_a_closed_order_may_be_reused_and_query_finds_the_newest(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "same"), 1)
    engine.cancel("alice", SYM, 2, client_order_id="same")
    second = placed(engine.place(limit("alice", Side.BUY, "1", "29000", "same"), 3))
    found = engine.query("alice", SYM, client_order_id="same")
    assert found == second.order


def test_query_of_an_unknown_order_is_2013(engine: MatchingEngine) -> None:
    assert engine.query("alice", SYM, order_id=99) == DialectError(-2013, "Order does not exist.")
    engine.place(limit("alice", Side.BUY, "1", "30000", "a"), 1)
    assert engine.query("bob", SYM, order_id=1) == DialectError(-2013, "Order does not exist.")


# ---- events -------------------------------------------------------------------------------


def test_a_trade_emits_reports_public_trade_deltas_and_positions_in_order(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.drain_events()
    engine.place(limit("bob", Side.BUY, "0.4", "30000", "t"), 2)
    events = engine.drain_events()
    kinds = [
        (type(e).__name__, getattr(e, "account", None), getattr(e, "execution_type", None))
        for e in events
    ]
    assert kinds == [
        ("Execution", "bob", ExecutionType.NEW),
        ("Execution", "bob", ExecutionType.TRADE),
        ("Execution", "alice", ExecutionType.TRADE),
        ("TradePrint", None, None),
        ("BookDelta", None, None),
        ("AccountPosition", "bob", None),
        ("AccountPosition", "alice", None),
    ]
    alice_position = events[-1]
    assert isinstance(alice_position, AccountPosition)
    assert alice_position.balances == (
        AssetBalance("BTC", D("9"), D("0.6")),
        AssetBalance("USDT", D("111988"), D("0")),
    )
    trade = events[3]
    assert trade == TradePrint(SYM, 1, D("30000"), D("0.4"), 2, buyer_is_maker=False)


def test_trade_report_fills_every_field(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    engine.place(limit("bob", Side.BUY, "0.4", "30000", "t"), 2)
    maker_trade = reports(engine.drain_events(), "alice")[-1]
    assert maker_trade == Execution(
        account="alice",
        event_time_ms=2,
        symbol=SYM,
        client_order_id="m",
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=D("1"),
        price=D("30000"),
        execution_type=ExecutionType.TRADE,
        status=OrderStatus.PARTIALLY_FILLED,
        reject_reason="NONE",
        order_id=1,
        last_qty=D("0.4"),
        cumulative_qty=D("0.4"),
        last_price=D("30000"),
        commission=D("12"),
        commission_asset="USDT",
        transaction_time_ms=2,
        trade_id=1,
        is_maker=True,
        orig_client_order_id="",
        cumulative_quote_qty=D("12000"),
        is_working=True,
        order_creation_time_ms=1,
        execution_id=4,  # alice NEW, bob NEW, bob TRADE, then this one
    )


def test_new_report_has_no_trade(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    new = reports(engine.drain_events())[0]
    assert (new.execution_type, new.trade_id, new.commission_asset) == (
        ExecutionType.NEW,
        -1,
        None,
    )
    assert (new.last_qty, new.cumulative_qty, new.reject_reason) == (0, 0, "NONE")


def test_accounts_without_trade_history_keep_no_trade_records_but_still_trade() -> None:
    e = MatchingEngine([BTC, ETH], FEES, no_trade_history={"sim"})
    for account in ("alice", "sim"):
        e.open_account(account, dict(START))
    placed(e.place(limit("sim", Side.SELL, "1", "100", "s1"), 1))
    fill = placed(e.place(limit("alice", Side.BUY, "1", "100", "a1"), 2))
    assert fill.order.status is OrderStatus.FILLED and len(fill.fills) == 1
    assert [t.qty for t in e.trades("alice", SYM)] == [D("1")]
    assert e.trades("sim", SYM) == []
    assert e.query("sim", SYM, client_order_id="s1").status is OrderStatus.FILLED  # type: ignore[union-attr]
