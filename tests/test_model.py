from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Instrument, Side, ceil_to_step, floor_to_step, format_decimal

BTC = Instrument(
    symbol="BTCUSDT",
    base_asset="BTC",
    quote_asset="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_price=Decimal("0.01"),
    max_price=Decimal("1000000"),
    min_qty=Decimal("0.00001"),
    max_qty=Decimal("9000"),
    min_notional=Decimal("5"),
)

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999"), places=6)


@given(prices)
def test_bids_round_down_and_asks_round_up_to_tick(price: Decimal) -> None:
    bid = BTC.round_price(price, Side.BUY)
    ask = BTC.round_price(price, Side.SELL)
    assert bid <= price <= ask
    assert ask - bid <= BTC.tick_size
    assert BTC.price_filter_ok(bid) or bid < BTC.min_price
    assert BTC.price_filter_ok(ask)


@given(st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=8))
def test_round_qty_never_exceeds_what_was_asked(qty: Decimal) -> None:
    rounded = BTC.round_qty(qty)
    assert rounded <= qty and qty - rounded < BTC.step_size


def test_step_zero_disables_rounding() -> None:
    assert floor_to_step(Decimal("1.234"), Decimal(0)) == Decimal("1.234")
    assert ceil_to_step(Decimal("1.234"), Decimal(0)) == Decimal("1.234")


def test_filters() -> None:
    assert not BTC.price_filter_ok(Decimal("100.001"))
    assert not BTC.lot_size_ok(Decimal("0.000015"))
    assert not BTC.notional_ok(Decimal("100"), Decimal("0.01"))
    assert BTC.notional_ok(Decimal("1000"), Decimal("0.01"))


def test_side_sign_and_opposite() -> None:
    assert Side.BUY.sign == 1 and Side.SELL.sign == -1
    assert Side.BUY.opposite is Side.SELL


def test_format_decimal_is_plain() -> None:
    assert format_decimal(Decimal("1E+3")) == "1000"
    assert format_decimal(Decimal("0.00100000")) == "0.001"
    assert format_decimal(Decimal("0E-8")) == "0"
