"""The ledger: exact books, de-duplication, conservation and the edge metrics."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Fill, Instrument, Side
from mmbot.quoting.ledger import Ledger

D = Decimal
BTC = Instrument("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.0001"))
ETH = Instrument("ETHUSDT", "ETH", "USDT", D("0.01"), D("0.001"))

_trade_ids = iter(range(1, 10**9))


def fill(
    side: Side,
    price: str,
    qty: str,
    fee: str = "0",
    fee_asset: str = "USDT",
    maker: bool = True,
    symbol: str = "BTCUSDT",
    trade_id: int | None = None,
    cid: str = "mm-r-1",
) -> Fill:
    tid = next(_trade_ids) if trade_id is None else trade_id
    return Fill(symbol, 1, cid, tid, side, D(price), D(qty), D(fee), fee_asset, maker, 0)


def ledger() -> Ledger:
    return Ledger.for_instruments([BTC, ETH])


def test_round_trip_realizes_the_spread_minus_fees() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "2", fee="0.02"), 0.0)
    lg.on_fill(fill(Side.SELL, "101", "2", fee="0.02"), 1.0)
    v = lg.view("BTCUSDT", D("100.5"))
    assert (v.position, v.realized_pnl, v.fees) == (0, D("2"), D("0.04"))
    assert v.cash == D("1.96") == v.net_pnl
    assert v.volume == D("402") and v.fill_count == 2


def test_duplicate_fill_is_booked_once() -> None:
    lg = ledger()
    f = fill(Side.BUY, "100", "1", trade_id=42)
    assert lg.on_fill(f, 0.0) is True
    assert lg.on_fill(f, 0.0) is False
    assert lg.view("BTCUSDT").position == 1
    assert lg.statistics().duplicate_fills == 1


def test_same_trade_id_on_another_symbol_is_not_a_duplicate() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", trade_id=1), 0.0)
    assert lg.on_fill(fill(Side.BUY, "10", "1", trade_id=1, symbol="ETHUSDT"), 0.0)


def test_fifo_realized_and_unrealized_pnl() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1"), 0.0)
    lg.on_fill(fill(Side.BUY, "110", "1"), 0.0)
    lg.on_fill(fill(Side.SELL, "120", "1"), 0.0)  # closes the 100 lot first
    v = lg.view("BTCUSDT", D("115"))
    assert v.realized_pnl == 20 and v.unrealized_pnl == 5 and v.average_cost == 110


def test_flip_from_long_to_short() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1"), 0.0)
    lg.on_fill(fill(Side.SELL, "105", "3"), 0.0)
    v = lg.view("BTCUSDT", D("104"))
    assert v.position == -2 and v.realized_pnl == 5 and v.average_cost == 105
    assert v.unrealized_pnl == 2


def test_base_asset_fee_shrinks_position_and_converts_at_fill_price() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", fee="0.001", fee_asset="BTC"), 0.0)
    v = lg.view("BTCUSDT", D("100"))
    assert v.position == D("0.999") and v.fees == D("0.100") and v.cash == -100
    assert v.net_pnl == D("-0.1")


def test_third_asset_fee_is_kept_apart() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", fee="0.0001", fee_asset="BNB"), 0.0)
    v = lg.view("BTCUSDT", D("100"))
    assert v.fees == 0 and v.other_fees == {"BNB": D("0.0001")}


def test_net_bps_and_taker_share() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", maker=False), 0.0)
    lg.on_fill(fill(Side.SELL, "100.5", "1"), 0.0)
    v = lg.view("BTCUSDT", D("100"))
    assert v.net_bps == D("0.5") * 10_000 / D("200.5")
    assert v.taker_share == D(100) / D("200.5")


def test_slippage_against_registered_mid() -> None:
    lg = ledger()
    lg.register_order("a", D("100"))
    lg.on_fill(fill(Side.BUY, "99.9", "1", cid="a"), 0.0)  # bought 10 bps below mid
    lg.on_fill(fill(Side.SELL, "100.2", "1"), 0.0, placed_mid=D("100"))  # sold 20 bps above
    v = lg.view("BTCUSDT")
    assert v.slippage_bps == D(-15) and v.slippage_fills == 2


def test_fill_without_a_placement_mid_has_no_slippage() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", cid="unregistered"), 0.0)
    v = lg.view("BTCUSDT")
    assert v.slippage_bps is None and v.slippage_fills == 0


def test_markout_completes_once_the_horizon_has_passed() -> None:
    lg = ledger()
    lg.on_mid("BTCUSDT", 0.0, D("100"))
    lg.on_fill(fill(Side.BUY, "100", "1"), 10.0)
    lg.on_mid("BTCUSDT", 10.5, D("99"))
    assert lg.view("BTCUSDT").markouts[0].count == 0
    lg.on_mid("BTCUSDT", 11.5, D("98"))  # the mid in effect at 11.0 was 99
    m1 = lg.view("BTCUSDT").markouts[0]
    assert (m1.horizon, m1.count, m1.bps) == (1.0, 1, D(-100))


def test_markout_at_exactly_the_horizon_uses_that_mid() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.SELL, "100", "1"), 0.0)
    lg.on_mid("BTCUSDT", 1.0, D("99"))
    assert lg.view("BTCUSDT").markouts[0].bps == D(100)  # sold at 100, mid fell: +100 bps


def test_advance_completes_markouts_at_the_last_mid() -> None:
    lg = ledger()
    lg.on_mid("BTCUSDT", 0.0, D("100"))
    lg.on_fill(fill(Side.BUY, "100", "1"), 0.0)
    lg.advance(60.0)
    assert [m.count for m in lg.view("BTCUSDT").markouts] == [1, 1, 1]


def test_totals_add_symbols() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", fee="0.1"), 0.0)
    lg.on_fill(fill(Side.BUY, "10", "1", fee="0.1", symbol="ETHUSDT"), 0.0)
    stats = lg.statistics({"BTCUSDT": D("101"), "ETHUSDT": D("9")})
    assert stats.total.net_pnl == D("1") - D("1") - D("0.2")
    assert stats.total.volume == 110
    assert set(stats.symbols) == {"BTCUSDT", "ETHUSDT"}


# -- conservation ----------------------------------------------------------------------

fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 100_000).map(lambda n: D(n) / 100),  # price, 2 dp
        st.integers(1, 10_000).map(lambda n: D(n) / 1000),  # qty, 3 dp
        st.integers(0, 1000).map(lambda n: D(n) / 10**6),  # fee
        st.sampled_from(["USDT", "BTC"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


@given(fills=fills, mid=st.integers(1, 100_000).map(lambda n: D(n) / 100))
def test_conservation_exact_to_the_last_digit(
    fills: list[tuple[Side, Decimal, Decimal, Decimal, str, bool]], mid: Decimal
) -> None:
    lg = ledger()
    for side, price, qty, fee, fee_asset, maker in fills:
        before = lg.view("BTCUSDT", price)
        lg.on_fill(fill(side, str(price), str(qty), str(fee), fee_asset, maker), 0.0)
        after = lg.view("BTCUSDT", price)
        # At the fill price, cash + position*price moves only by the fee.
        fee_quote = fee if fee_asset == "USDT" else fee * price
        equity_before = before.cash + before.position * price
        equity_after = after.cash + after.position * price
        assert equity_after - equity_before == -fee_quote
        assert after.fees - before.fees == fee_quote
    v = lg.view("BTCUSDT", mid)
    assert v.cash + v.position * mid == v.realized_pnl + v.unrealized_pnl - v.fees == v.net_pnl
    expected_position = sum(
        (s.sign * q - (f if a == "BTC" else 0) for s, _, q, f, a, _ in fills), D(0)
    )
    assert v.position == expected_position


# -- review2 findings 10 and 11 -----------------------------------------------------------


def test_a_fee_on_a_symbol_whose_assets_are_unknown_is_recorded_as_an_anomaly() -> None:
    lg = Ledger()  # XYZUSDT was never added with add_instrument
    lg.on_fill(fill(Side.BUY, "100", "1", fee="0.001", fee_asset="XYZ", symbol="XYZUSDT"), 0.0)
    view = lg.view("XYZUSDT", D("100"))
    assert view.other_fees == {"XYZ": D("0.001")}  # not guessed into PnL
    assert len(lg.anomalies()) == 1
    assert "XYZUSDT" in lg.anomalies()[0] and "add_instrument" in lg.anomalies()[0]
    assert lg.statistics().anomalies == 1


def test_a_third_asset_fee_on_a_known_symbol_is_no_anomaly() -> None:
    lg = ledger()
    lg.on_fill(fill(Side.BUY, "100", "1", fee="0.0001", fee_asset="BNB"), 0.0)
    assert lg.anomalies() == []


def test_books_stay_exact_beyond_the_default_decimal_precision() -> None:
    # 22 + 12 significant digits: a product the default 28-digit context would round
    lg = ledger()
    price, qty = "12345678901234.12345678", "0.123456789012"
    lg.on_fill(fill(Side.BUY, price, qty, fee="0.000000000001", fee_asset="BTC"), 0.0)
    lg.on_mid("BTCUSDT", 1.0, D("12345678901235.87654321"))
    v = lg.view("BTCUSDT")
    notional = D(f"{1234567890123412345678 * 123456789012}E-20")  # exact, by integers
    assert v.volume == notional
    assert v.cash == notional.copy_negate()  # (unary minus would round in 28 digits)
    with localcontext() as exact:
        exact.prec = 100
        assert v.cash + v.position * D("12345678901235.87654321") == v.net_pnl


def test_position_is_the_views_position_without_the_rest_of_the_view() -> None:
    lg = ledger()
    assert lg.position("BTCUSDT") == 0
    for side, qty in ((Side.BUY, "0.3"), (Side.SELL, "0.1"), (Side.BUY, "0.05")):
        lg.on_fill(fill(side, "100", qty), 1.0)
    assert lg.position("BTCUSDT") == lg.view("BTCUSDT").position == D("0.25")


@given(
    st.lists(
        st.tuples(
            st.sampled_from([Side.BUY, Side.SELL]),
            st.integers(90, 110),
            st.integers(1, 30),
            st.integers(0, 3),
        ),
        max_size=12,
    ),
    st.one_of(st.none(), st.integers(80, 120)),
)
def test_marked_is_the_views_position_and_net_pnl(
    fills: list[tuple[Side, int, int, int]], mid: int | None
) -> None:
    lg = ledger()
    for side, price, qty, fee in fills:
        lg.on_fill(fill(side, str(price), f"0.{qty:02d}", fee=f"0.0{fee}"), 1.0)
    mark = None if mid is None else D(mid)
    view = lg.view("BTCUSDT", mark)
    expected_pnl = view.net_pnl if mark is not None else view.realized_pnl - view.fees
    assert lg.marked("BTCUSDT", mark) == (view.position, expected_pnl)
