"""The matching engine's admission rules: MARKET orders, filters and balances."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from matching_kit import BTC, SYM, bal, limit, market, placed

from mmbot.model import Instrument, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine import (
    AccountPosition,
    AssetBalance,
    MatchingEngine,
    OrderRequest,
)
from mmbot.venue.binance.errors import DialectError

# ---- MARKET ---------------------------------------------------------------------------------


def test_market_by_quantity_fills_the_book_and_expires_the_rest(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.5", "30000", "m1"), 1)
    engine.place(limit("alice", Side.SELL, "0.2", "30010", "m2"), 2)
    result = placed(engine.place(market("bob", Side.BUY, "x", qty="1"), 3))
    assert result.order.status is OrderStatus.EXPIRED
    assert result.order.executed_qty == D("0.7")
    assert result.order.price == 0
    assert bal(engine, "bob", "USDT") == (D("100000") - D("15000") - D("6002"), D("0"))


def test_market_on_an_empty_book_expires(engine: MatchingEngine) -> None:
    result = placed(engine.place(market("bob", Side.SELL, "x", qty="1"), 1))
    assert result.order.status is OrderStatus.EXPIRED
    assert result.fills == ()


def test_market_buy_by_quote_amount_spends_at_most_that_amount(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "0.1", "30000", "m1"), 1)
    engine.place(limit("alice", Side.SELL, "1", "30100", "m2"), 2)
    result = placed(engine.place(market("bob", Side.BUY, "x", quote="10000"), 3))
    # 0.1 @ 30000 = 3000, then floor(7000 / 30100 / 0.001) = 0.232 @ 30100 = 6983.2
    assert result.order.executed_qty == D("0.332")
    assert result.order.cumulative_quote_qty == D("9983.2")
    assert result.order.status is OrderStatus.FILLED
    assert bal(engine, "bob", "USDT") == (D("100000") - D("9983.2"), D("0"))


def test_market_sell_by_quote_amount_receives_at_most_that_amount(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "m"), 1)
    result = placed(engine.place(market("bob", Side.SELL, "x", quote="1000"), 2))
    assert result.order.executed_qty == D("0.033")
    assert result.order.cumulative_quote_qty == D("990")


def test_market_by_quote_amount_on_an_empty_book_is_rejected(engine: MatchingEngine) -> None:
    result = engine.place(market("bob", Side.BUY, "x", quote="100"), 1)
    assert result == DialectError(
        -2010, "Order book liquidity is less than symbol minimum quantity."
    )


def test_market_below_min_notional_is_rejected(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    assert engine.place(market("bob", Side.BUY, "x", qty="0.0003"), 2) == DialectError(
        -1013, "Filter failure: LOT_SIZE"
    )
    cheap = Instrument("DOGEUSDT", "DOGE", "USDT", D("0.0001"), D("1"), min_notional=D("5"))
    e = MatchingEngine([cheap])
    e.open_account("a", {"DOGE": D("1000"), "USDT": D("1000")})
    rest = OrderRequest(
        "a", "DOGEUSDT", Side.SELL, OrderType.LIMIT, "m", D("100"), D("0.1"), TimeInForce.GTC
    )
    e.place(rest, 1)
    too_small = OrderRequest("a", "DOGEUSDT", Side.BUY, OrderType.MARKET, "x", D("10"))
    assert e.place(too_small, 2) == DialectError(-1013, "Filter failure: NOTIONAL")


def test_market_needs_exactly_one_of_quantity_and_quote_amount(engine: MatchingEngine) -> None:
    neither = engine.place(market("bob", Side.BUY, "x"), 1)
    both = engine.place(market("bob", Side.BUY, "x", qty="1", quote="100"), 1)
    assert isinstance(neither, DialectError) and neither.code == -1102
    assert isinstance(both, DialectError) and both.code == -1106


# ---- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qty", "price", "failure"),
    [
        ("1", "30000.001", "PRICE_FILTER"),  # off tick
        ("1", "0", "PRICE_FILTER"),
        ("1", "2000000", "PRICE_FILTER"),  # above max
        ("1.0005", "30000", "LOT_SIZE"),  # off step
        ("0", "30000", "LOT_SIZE"),
        ("1001", "30000", "LOT_SIZE"),  # above max
        ("0.001", "5000", "NOTIONAL"),  # 5 < min notional 10
    ],
)
def test_filter_failures_are_rejected_with_the_filter_name(
    engine: MatchingEngine, qty: str, price: str, failure: str
) -> None:
    result = engine.place(limit("alice", Side.BUY, qty, price, "a"), 1)
    assert result == DialectError(-1013, f"Filter failure: {failure}")
    assert engine.drain_events() == []


def test_unknown_symbol_is_rejected(engine: MatchingEngine) -> None:
    result = engine.place(limit("alice", Side.BUY, "1", "1", "a", symbol="NOPE"), 1)
    assert result == DialectError(-1121, "Invalid symbol.")


def test_limit_without_time_in_force_is_rejected(engine: MatchingEngine) -> None:
    req = OrderRequest("alice", SYM, Side.BUY, OrderType.LIMIT, "a", D("1"), D("30000"))
    result = engine.place(req, 1)
    assert isinstance(result, DialectError) and result.code == -1102


# ---- balances -----------------------------------------------------------------------------

INSUFFICIENT = DialectError(-2010, "Account has insufficient balance for requested action.")


def test_buy_beyond_free_quote_is_rejected_without_events(engine: MatchingEngine) -> None:
    assert engine.place(limit("alice", Side.BUY, "4", "30000", "a"), 1) == INSUFFICIENT
    assert engine.drain_events() == []
    assert bal(engine, "alice", "USDT") == (D("100000"), D("0"))


def test_sell_beyond_free_base_is_rejected(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "6", "30000", "a"), 1)
    assert engine.place(limit("alice", Side.SELL, "5", "30000", "b"), 2) == INSUFFICIENT


def test_market_buy_beyond_free_quote_is_rejected(engine: MatchingEngine) -> None:
    engine.place(limit("alice", Side.SELL, "5", "30000", "m"), 1)
    assert engine.place(market("bob", Side.BUY, "x", qty="4"), 2) == INSUFFICIENT


def test_unknown_account_has_no_balance(engine: MatchingEngine) -> None:
    assert engine.balances("nobody") == []
    assert engine.place(limit("nobody", Side.BUY, "1", "30000", "a"), 1) == INSUFFICIENT


def test_adjust_balance_credits_and_emits_balance_update(engine: MatchingEngine) -> None:
    engine.adjust_balance("alice", "USDT", D("5"), 7)
    events = engine.drain_events()
    assert bal(engine, "alice", "USDT") == (D("100005"), D("0"))
    assert [type(e).__name__ for e in events] == ["BalanceUpdate", "AccountPosition"]
    assert events[1] == AccountPosition("alice", 7, (AssetBalance("USDT", D("100005"), D("0")),))


def test_adjust_balance_refuses_a_debit_beyond_free(engine: MatchingEngine) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        engine.adjust_balance("alice", "USDT", D("-100001"), 1)
    assert bal(engine, "alice", "USDT") == (D("100000"), D("0"))


def test_market_by_quote_amount_too_small_for_one_lot_is_lot_size(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.SELL, "1", "30000", "m"), 1)
    result = engine.place(market("bob", Side.BUY, "x", quote="20"), 2)
    assert result == DialectError(-1013, "Filter failure: LOT_SIZE")


def test_opening_a_negative_balance_is_refused() -> None:
    e = MatchingEngine([BTC])
    with pytest.raises(ValueError, match=">= 0"):
        e.open_account("x", {"USDT": D("-1")})
    assert e.balances("x") == []


def test_trades_of_a_filled_market_order_use_the_quote_asset_fee_for_sellers(
    engine: MatchingEngine,
) -> None:
    engine.place(limit("alice", Side.BUY, "1", "30000", "m"), 1)
    result = placed(engine.place(market("bob", Side.SELL, "x", qty="1"), 2))
    assert result.order.status is OrderStatus.FILLED
    assert (result.fills[0].commission, result.fills[0].commission_asset) == (D("60"), "USDT")
    assert bal(engine, "bob", "USDT") == (D("129940"), D("0"))
    assert bal(engine, "bob", "BTC") == (D("9"), D("0"))
