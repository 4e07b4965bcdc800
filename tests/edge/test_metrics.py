"""The edge figures of a tape, each checked against a hand computation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.edge.metrics import SymbolTape, TapeFill, half_lives, run_metrics, symbol_metrics
from mmbot.model import Side

D = Decimal


def _tape(fills: list[TapeFill], mids: list[tuple[int, Decimal]], **kw: object) -> SymbolTape:
    defaults: dict[str, object] = {
        "symbol": "BTCUSDT",
        "quote_asset": "USDT",
        "start_ms": 0,
        "end_ms": mids[-1][0],
        "mids": tuple(mids),
        "fills": tuple(fills),
        "orders_placed": 4,
        "quote_uptime": 0.9,
    }
    defaults.update(kw)
    return SymbolTape(**defaults)  # type: ignore[arg-type]


def _grid(values: list[str], step_ms: int = 1000) -> list[tuple[int, Decimal]]:
    return [(i * step_ms, D(v)) for i, v in enumerate(values)]


# A round trip: buy 1 at 99 (mid 100, maker), sell 1 at 101 (mid 100, maker); fees 0.01 each.
ROUND_TRIP = [
    TapeFill(1000, Side.BUY, D(99), D(1), D("0.01"), True, placed_mid=D(100)),
    TapeFill(3000, Side.SELL, D(101), D(1), D("0.01"), True, placed_mid=D(100)),
]


def test_a_round_trip_earns_its_spread_less_fees() -> None:
    m = symbol_metrics(_tape(ROUND_TRIP, _grid(["100"] * 70)))
    assert m.volume == D(200)
    assert m.pnl == D("1.98")  # 2 of spread, 0.02 of fees, flat at the end
    assert m.net_bps == pytest.approx(1.98 / 200 * 1e4)
    assert m.slippage_bps == pytest.approx(-2 / 200 * 1e4)  # 1 better than the mid, each
    assert m.taker_share == 0.0
    assert m.fill_ratio == pytest.approx(0.5)
    assert m.position == 0
    assert m.quote_uptime == 0.9


def test_markouts_split_by_liquidity_and_skip_unfinished_horizons() -> None:
    fills = [
        TapeFill(1000, Side.BUY, D(100), D(1), D(0), True),  # maker, mid rises 2 a second later
        TapeFill(2000, Side.SELL, D(102), D(1), D(0), False),  # taker, mid stays
    ]
    mids = _grid(["100", "100", "102"] + ["102"] * 10)  # ends at 12 s
    m = symbol_metrics(_tape(fills, mids))
    assert m.markout_maker_bps[1] == pytest.approx(2 / 100 * 1e4)
    assert m.markout_taker_bps[1] == pytest.approx(0.0)
    assert m.markout_maker_bps[10] == pytest.approx(2 / 100 * 1e4)
    assert m.markout_maker_bps[60] is None  # the run ended before any 60 s horizon
    assert m.taker_share == pytest.approx(102 / 202)


def test_drawdown_is_the_largest_fall_from_the_running_peak() -> None:
    fills = [TapeFill(0, Side.BUY, D(100), D(1), D(0), True)]
    mids = _grid(["100", "103", "101", "104", "99", "100"])  # PnL 0, 3, 1, 4, -1, 0
    m = symbol_metrics(_tape(fills, mids))
    assert m.max_drawdown == D(5)
    assert m.pnl == D(0)


def test_inventory_variance_is_over_the_grid() -> None:
    fills = [TapeFill(1000, Side.BUY, D(100), D(2), D(0), True)]
    m = symbol_metrics(_tape(fills, _grid(["100"] * 4)))  # positions 0, 2, 2, 2
    assert m.inventory_variance == pytest.approx(0.75)
    assert m.inventory_notional_variance == pytest.approx(7500.0)


def test_a_tape_without_fills_has_no_ratios() -> None:
    m = symbol_metrics(_tape([], _grid(["100"] * 3), orders_placed=0))
    assert (m.net_bps, m.slippage_bps, m.taker_share, m.fill_ratio) == (None, None, None, None)
    assert m.inventory_half_life_s is None


def test_the_run_sums_money_and_pools_markouts() -> None:
    a = _tape(ROUND_TRIP, _grid(["100"] * 70))
    b = _tape(ROUND_TRIP, _grid(["100"] * 70), symbol="ETHUSDT")
    total = run_metrics([a, b])
    assert total.pnl == D("3.96")
    assert total.net_bps == pytest.approx(symbol_metrics(a).net_bps)
    assert total.inventory_variance is None  # base units of two assets do not add
    assert total.fills == 4


def test_the_run_refuses_to_add_two_quote_assets() -> None:
    a = _tape(ROUND_TRIP, _grid(["100"] * 5))
    b = _tape(ROUND_TRIP, _grid(["100"] * 5), symbol="ETHBTC", quote_asset="BTC")
    with pytest.raises(ValueError, match="one quote asset"):
        run_metrics([a, b])


def test_half_life_of_a_simple_path() -> None:
    lives, censored = half_lives([D(4), D(3), D(2), D(5)], [0, 1000, 3000, 4000])
    # 4 halves at t=3 s (2); 3 never reaches 1.5; 2 never reaches 1; 5 is the last
    assert lives == [3.0]
    assert censored == 3


def _brute(positions: list[Decimal], times: list[int]) -> tuple[list[float], int]:
    found, censored = [], 0
    for i, p in enumerate(positions):
        if not p:
            continue
        for j in range(i + 1, len(positions)):
            if (positions[j] <= p / 2) if p > 0 else (positions[j] >= p / 2):
                found.append((times[j] - times[i]) / 1000)
                break
        else:
            censored += 1
    return found, censored


@given(st.lists(st.integers(-6, 6), max_size=60))
def test_half_lives_agree_with_a_brute_force_search(steps: list[int]) -> None:
    positions = [D(s) for s in steps]
    times = [i * 100 for i in range(len(steps))]
    assert half_lives(positions, times) == _brute(positions, times)
