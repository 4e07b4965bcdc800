"""Risk limits, the drawdown kill switch (latched) and the order-rate limit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.quoting.risk import Exposure, RiskEngine, RiskLimits, SymbolLimits

D = Decimal


def engine(**limits: object) -> RiskEngine:
    total = {k: limits.pop(k) for k in list(limits) if k.startswith("max_total")}
    return RiskEngine(RiskLimits(default=SymbolLimits(**limits), **total))  # type: ignore[arg-type]


def test_no_limits_allow_everything() -> None:
    e = RiskEngine()
    e.update("BTC", Exposure(D(5), D(100), 3, D(-1000)), 0.0)
    d = e.check("BTC", 0.0)
    assert (d.buy_allowed, d.sell_allowed, d.place_allowed, d.halted) == (True, True, True, False)
    assert d.reasons == ()


def test_max_position_allows_only_the_reducing_side() -> None:
    e = engine(max_position=D(1))
    e.update("BTC", Exposure(position=D(1), mid=D(100)), 0.0)
    d = e.check("BTC", 0.0)
    assert (d.buy_allowed, d.sell_allowed) == (False, True)
    assert d.reason == "position 1 at max_position 1"
    e.update("BTC", Exposure(position=D(-2), mid=D(100)), 0.0)
    d = e.check("BTC", 0.0)
    assert (d.buy_allowed, d.sell_allowed) == (True, False)


def test_max_notional_uses_the_mid() -> None:
    e = engine(max_notional=D(500))
    e.update("BTC", Exposure(position=D(4), mid=D(100)), 0.0)
    assert e.check("BTC", 0.0).buy_allowed
    e.update("BTC", Exposure(position=D(5), mid=D(100)), 0.0)
    assert not e.check("BTC", 0.0).buy_allowed


def test_total_notional_limit_blocks_increasing_exposure_everywhere() -> None:
    e = engine(max_total_notional=D(1000))
    e.update("BTC", Exposure(position=D(6), mid=D(100)), 0.0)
    e.update("ETH", Exposure(position=D(-4), mid=D(100)), 0.0)
    e.update("SOL", Exposure(position=D(0), mid=D(100)), 0.0)
    state = e.evaluate(0.0)
    btc, eth, sol = (state.decisions[s] for s in ("BTC", "ETH", "SOL"))
    assert (btc.buy_allowed, btc.sell_allowed) == (False, True)
    assert (eth.buy_allowed, eth.sell_allowed) == (True, False)
    assert (sol.buy_allowed, sol.sell_allowed) == (False, False)
    assert state.total_notional == 1000


def test_max_open_orders_stops_new_orders() -> None:
    e = engine(max_open_orders=4)
    e.update("BTC", Exposure(open_orders=4), 0.0)
    d = e.check("BTC", 0.0)
    assert not d.place_allowed and d.buy_allowed


def test_total_open_orders_limit() -> None:
    e = engine(max_total_open_orders=5)
    e.update("BTC", Exposure(open_orders=3), 0.0)
    e.update("ETH", Exposure(open_orders=2), 0.0)
    assert not e.check("BTC", 0.0).place_allowed


def test_order_rate_limit_slides_with_now() -> None:
    e = engine(max_orders_per_window=3, rate_window=10.0)
    for t in (0.0, 1.0, 2.0):
        e.on_order_sent("BTC", t)
    assert not e.check("BTC", 9.9).place_allowed
    assert "3 orders in 10s" in (e.check("BTC", 9.9).reason or "")
    assert e.check("BTC", 10.0).place_allowed  # the order at 0.0 left the window


def test_rate_limit_is_per_symbol() -> None:
    e = engine(max_orders_per_window=1)
    e.on_order_sent("BTC", 0.0)
    assert not e.check("BTC", 0.0).place_allowed
    assert e.check("ETH", 0.0).place_allowed


def test_drawdown_from_peak_halts_and_asks_for_cancel_all() -> None:
    e = engine(max_drawdown=D(50))
    e.update("BTC", Exposure(pnl=D(100)), 0.0)
    e.update("BTC", Exposure(pnl=D(60)), 1.0)
    assert not e.check("BTC", 1.0).halted
    e.update("BTC", Exposure(pnl=D(50)), 2.0)
    d = e.check("BTC", 2.0)
    assert d.halted and not d.buy_allowed and not d.place_allowed  # halted: cancel them all
    assert d.halt_reason == "drawdown 50 from peak 100 reached max_drawdown 50"


def test_halt_latches_until_reset() -> None:
    e = engine(max_drawdown=D(10))
    e.update("BTC", Exposure(pnl=D(-10)), 0.0)
    e.update("BTC", Exposure(pnl=D(0)), 1.0)  # recovered, still halted
    assert e.check("BTC", 1.0).halted
    e.reset("BTC")
    assert not e.check("BTC", 1.0).halted
    e.update("BTC", Exposure(pnl=D(-5)), 2.0)  # the peak restarted at the reset
    assert not e.check("BTC", 2.0).halted


def test_total_drawdown_halts_every_symbol() -> None:
    e = engine(max_total_drawdown=D(30))
    e.update("BTC", Exposure(pnl=D(-20)), 0.0)
    e.update("ETH", Exposure(pnl=D(-10)), 0.0)
    state = e.evaluate(0.0)
    assert state.global_halt is not None
    assert all(d.halted for d in state.decisions.values())
    e.reset()
    assert e.evaluate(0.0).global_halt is None


def test_manual_halt_carries_its_reason() -> None:
    e = RiskEngine()
    e.halt("operator: maintenance", symbol="BTC")
    assert e.check("BTC", 0.0).halt_reason == "operator: maintenance"
    assert not e.check("ETH", 0.0).halted


def test_per_symbol_limits_override_the_default() -> None:
    limits = RiskLimits(
        default=SymbolLimits(max_position=D(1)), symbols={"ETH": SymbolLimits(max_position=D(10))}
    )
    e = RiskEngine(limits)
    e.update("ETH", Exposure(position=D(5)), 0.0)
    assert e.check("ETH", 0.0).buy_allowed


@given(pnls=st.lists(st.integers(-1000, 1000), min_size=1, max_size=40))
def test_kill_switch_trips_exactly_when_drawdown_reaches_the_limit(pnls: list[int]) -> None:
    e = engine(max_drawdown=D(100))
    peak = 0
    tripped = False
    for t, pnl in enumerate(pnls):
        peak = max(peak, pnl)
        tripped = tripped or peak - pnl >= 100
        e.update("BTC", Exposure(pnl=D(pnl)), float(t))
        assert e.check("BTC", float(t)).halted == tripped


def test_orders_sent_without_a_rate_limit_are_not_kept() -> None:
    # review2 finding 9: nothing may grow with every order sent when nothing reads it
    engine = RiskEngine()
    for i in range(1000):
        engine.on_order_sent("BTCUSDT", float(i))
        engine.check("BTCUSDT", float(i))
    assert len(engine._symbols["BTCUSDT"].sent) == 0


def test_orders_sent_are_pruned_as_the_rate_window_slides_even_unchecked() -> None:
    engine = RiskEngine(RiskLimits(SymbolLimits(max_orders_per_window=5, rate_window=10.0)))
    for i in range(1000):
        engine.on_order_sent("BTCUSDT", float(i))  # check() never called
    assert len(engine._symbols["BTCUSDT"].sent) <= 10
    assert engine.check("BTCUSDT", 999.0).place_allowed is False  # 10 in (989, 999]
