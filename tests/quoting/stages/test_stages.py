"""Each built-in stage alone: guards, fair value, volatility, spread, skew, sizing, rounding."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import attrs
import pytest

from mmbot.model import BookLevel, BookSnapshot, Side, SymbolStatus
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import (
    Decision,
    DraftQuote,
    EwmaState,
    RiskFlags,
    Stage,
    StrategyState,
    TradeTick,
    VarianceState,
    pull_code,
)
from mmbot.quoting.stages import (
    fair_value,
    guards,
    rounding,
    sizing,
    skew,
    spread,
    volatility,
)
from mmbot.quoting.stages.spread import optimal_spread_bps
from mmbot.testing import run_stage, sample_book, sample_inputs, sample_instrument

D = Decimal
MID = 6_500_000  # ticks of 0.01: 65,000.00


def params(**tables: dict[str, object]) -> StrategyConfig:
    """The default config with some tables' fields changed."""
    config = StrategyConfig()
    changes = {
        name: attrs.evolve(getattr(config, name), **fields) for name, fields in tables.items()
    }
    return attrs.evolve(config, **changes)


DECIDED = {field.name for field in attrs.fields(Decision)}


def decide(stage: Stage, config: StrategyConfig | None = None, **changes: object) -> Decision:
    """``stage`` alone on the sample inputs, its output written as the pipeline writes it.

    ``changes`` name inputs (``book``, ``position``...) or what earlier stages decided
    (``volatility``, ``reservation``, ``state``...).
    """
    so_far: dict[str, Any] = {name: changes.pop(name) for name in list(changes) if name in DECIDED}
    return run_stage(stage, sample_inputs(config, **changes), Decision(**so_far))


def book_of(
    bid: str, ask: str, bid_qty: str = "1", ask_qty: str = "1", **kw: object
) -> BookSnapshot:
    fields: dict[str, object] = {"last_update_id": 1, "received_at": 9.9, "is_valid": True}
    fields.update(kw)
    return BookSnapshot(
        "BTCUSDT",
        (BookLevel(D(bid), D(bid_qty)),),
        (BookLevel(D(ask), D(ask_qty)),),
        **fields,  # type: ignore[arg-type]
    )


# -- guards ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"risk": RiskFlags(kill_switch=True)}, "kill_switch"),
        ({"risk": RiskFlags(halt_reason="drawdown 5%")}, "halted"),
        ({"instrument": attrs.evolve(sample_instrument(), status=SymbolStatus.HALT)}, "halted"),
        ({"risk": RiskFlags(breaker_open=True)}, "breaker_open"),
        ({"book": sample_book(MID, received_at=9.9, is_valid=False)}, "book_invalid"),
        ({"book": BookSnapshot("BTCUSDT", (), (), 1, 9.9, True)}, "book_empty"),
        ({"book": sample_book(MID, received_at=7.0)}, "book_stale"),
        ({"book": book_of("100.02", "100.01")}, "market_crossed"),
        ({"book": book_of("100.00", "100.00")}, "market_crossed"),
        ({"book": book_of("100.00", "103.00")}, "market_too_wide"),
    ],
)
def test_guards_pull_quotes_with_the_reason(changes: dict[str, object], code: str) -> None:
    result = decide(guards, None, **changes)
    assert result.pulled is not None
    assert pull_code(result.pulled) == code
    assert result.quotes is not None and result.quotes.is_empty
    assert result.quotes.reason == result.pulled


def test_guards_pass_a_fresh_valid_tight_book_through_unchanged() -> None:
    assert guards(sample_inputs(), Decision()) is None


def test_the_kill_switch_wins_over_every_other_reason() -> None:
    risk = RiskFlags(halt_reason="x", breaker_open=True, kill_switch=True)
    result = decide(guards, risk=risk, book=sample_book(MID, is_valid=False))
    assert pull_code(result.pulled or "") == "kill_switch"


def test_a_book_exactly_at_the_stale_threshold_is_still_quoted() -> None:
    config = params(guards={"stale_after": 2.0})
    assert decide(guards, config, book=sample_book(MID, received_at=8.0)).pulled is None


# -- fair value -----------------------------------------------------------------------


def test_mid_fair_value_is_the_midpoint() -> None:
    result = decide(fair_value, params(fair_value={"method": "mid"}), book=book_of("100", "102"))
    assert result.fair_value == 101.0


def test_micro_price_leans_towards_the_thinner_side() -> None:
    # much more size on the bid: the next trade is likelier up, the micro-price is above mid
    book = book_of("100", "102", bid_qty="9", ask_qty="1")
    result = decide(fair_value, params(fair_value={"method": "micro"}), book=book)
    assert result.fair_value == pytest.approx((100 * 1 + 102 * 9) / 10)
    assert result.fair_value is not None and result.fair_value > 101.0


def test_ewma_fair_value_starts_at_the_mid_and_moves_half_way_in_one_half_life() -> None:
    config = params(fair_value={"method": "ewma", "ewma_halflife": 2.0})
    first = decide(fair_value, config, book=book_of("99", "101"), now=10.0)
    assert first.fair_value == 100.0
    assert first.state.fair_value == EwmaState(100.0, 10.0)
    second = decide(fair_value, config, book=book_of("109", "111"), now=12.0, state=first.state)
    assert second.fair_value == pytest.approx(105.0)


def test_ewma_fair_value_does_not_decay_within_one_instant() -> None:
    config = params(fair_value={"method": "ewma"})
    state = StrategyState(fair_value=EwmaState(100.0, 10.0))
    result = decide(fair_value, config, book=book_of("109", "111"), now=10.0, state=state)
    assert result.fair_value == 100.0


# -- volatility -----------------------------------------------------------------------


def test_volatility_starts_at_the_prior() -> None:
    config = params(volatility={"prior": 3.0, "source": "mid"})
    assert decide(volatility, config).volatility == pytest.approx(3.0)


def test_volatility_matches_the_decayed_sums_formula() -> None:
    config = params(
        volatility={"prior": 2.0, "prior_weight": 10.0, "halflife": 30.0, "returns": "simple"}
    )
    state = StrategyState(mid_variance=VarianceState(100.0, 9.0, 50.0, 20.0))
    result = decide(volatility, config, book=book_of("100.09", "100.11"), state=state)
    keep = math.exp(-1.0 * math.log(2) / 30.0)
    sum_r2 = keep * 50.0 + 10.0**2  # a 10 bps move
    sum_dt = keep * 20.0 + 1.0
    expected = math.sqrt((sum_r2 + 4.0 * 10.0) / (sum_dt + 10.0))
    assert result.volatility == pytest.approx(expected)
    assert result.state.mid_variance == pytest.approx((100.1, 10.0, sum_r2, sum_dt))


def test_a_quiet_mid_lowers_volatility_and_a_jumpy_one_raises_it() -> None:
    config = params(volatility={"prior": 5.0, "source": "mid"})
    quiet = jumpy = Decision()
    for i in range(1, 30):
        quiet = decide(volatility, config, now=10.0 + i, state=quiet.state)
        mid = MID + (30_000 if i % 2 else -30_000)  # +-46 bps a second
        jumpy = decide(volatility, config, now=10.0 + i, book=sample_book(mid), state=jumpy.state)
    assert quiet.volatility is not None and quiet.volatility < 5.0
    assert jumpy.volatility is not None and jumpy.volatility > 5.0


def test_trade_volatility_folds_every_trade_since_the_last_decision() -> None:
    config = params(volatility={"source": "trades", "prior": 1.0})
    trades = tuple(
        TradeTick(9.0 + i * 0.1, D(100) + (i % 2), D("0.01"), Side.BUY) for i in range(6)
    )
    result = decide(volatility, config, trades=trades)
    assert result.state.trade_variance is not None
    assert result.state.trade_variance.last_time == pytest.approx(9.5)
    assert result.state.mid_variance is None
    assert result.volatility is not None and result.volatility > 1.0


def test_trades_seen_again_on_the_next_decision_are_not_counted_twice() -> None:
    # review2 finding 7: a shell that passes an overlapping window of recent trades
    config = params(volatility={"source": "trades", "prior": 1.0})
    ticks = [TradeTick(float(i), D("100") + D(i % 2) / 10, D(1), Side.BUY) for i in range(4)]
    once = decide(volatility, config, trades=tuple(ticks))
    first = decide(volatility, config, trades=tuple(ticks[:3]))
    overlapping = decide(volatility, config, trades=tuple(ticks[1:]), state=first.state)
    assert overlapping.state.trade_variance == once.state.trade_variance
    again = decide(volatility, config, trades=tuple(ticks), state=once.state)
    assert again.state.trade_variance == once.state.trade_variance
    assert again.volatility == once.volatility


def test_volatility_is_capped() -> None:
    config = params(volatility={"max_bps": 4.0, "prior": 50.0})
    assert decide(volatility, config).volatility == 4.0


# -- spread ---------------------------------------------------------------------------


def test_fixed_spread_is_the_base() -> None:
    config = params(spread={"mode": "fixed", "base_bps": 15.0, "maker_fee_bps": 1.0})
    assert decide(spread, config).half_spread_bps == 15.0


def test_volatility_spread_widens_with_volatility() -> None:
    config = params(
        spread={"mode": "volatility", "base_bps": 5.0, "vol_multiplier": 2.0, "vol_horizon": 4.0,
                "maker_fee_bps": 0.0, "min_edge_bps": 0.0}
    )  # fmt: skip
    assert decide(spread, config, volatility=3.0).half_spread_bps == pytest.approx(5 + 2 * 3 * 2)


def test_avellaneda_stoikov_spread_is_half_the_optimal_spread() -> None:
    config = params(
        spread={"mode": "avellaneda_stoikov", "maker_fee_bps": 0.0, "min_edge_bps": 0.0},
        skew={"gamma": 0.1, "kappa": 0.2, "horizon": 30.0},
    )
    expected = 0.5 * (0.1 * 4.0 * 30.0 + (2 / 0.1) * math.log(1 + 0.1 / 0.2))
    assert decide(spread, config, volatility=2.0).half_spread_bps == pytest.approx(expected)
    assert optimal_spread_bps(0.1, 0.2, 2.0, 30.0) == pytest.approx(2 * expected)


def test_the_fee_floor_beats_a_tighter_spread_and_the_ceiling() -> None:
    config = params(
        spread={"mode": "fixed", "base_bps": 2.0, "maker_fee_bps": 7.5, "min_edge_bps": 1.5,
                "max_bps": 5.0}
    )  # fmt: skip
    assert decide(spread, config).half_spread_bps == 9.0


def test_a_maker_rebate_lowers_the_floor_but_never_below_zero() -> None:
    config = params(
        spread={"mode": "fixed", "base_bps": 0.0, "maker_fee_bps": -2.0, "min_edge_bps": 1.0}
    )
    assert decide(spread, config).half_spread_bps == 0.0


# -- skew -----------------------------------------------------------------------------


def test_no_skew_puts_the_reservation_on_the_fair_value() -> None:
    result = decide(skew, params(skew={"mode": "none"}), fair_value=100.0, position=D(1))
    assert result.reservation == 100.0


def test_linear_skew_is_proportional_to_position_over_max() -> None:
    config = params(skew={"mode": "linear", "linear_bps": 20.0}, sizing={"max_position": D(2)})
    result = decide(skew, config, fair_value=100.0, position=D(1))
    assert result.reservation == pytest.approx(100.0 * (1 - 10e-4))


def test_avellaneda_stoikov_reservation_price_formula() -> None:
    config = params(
        skew={"mode": "avellaneda_stoikov", "gamma": 0.05, "horizon": 60.0, "max_skew_bps": 1e6},
        sizing={"order_size": D("0.5")},
    )
    result = decide(skew, config, fair_value=200.0, volatility=2.0, position=D("1.5"))
    q = 1.5 / 0.5
    assert result.reservation == pytest.approx(200.0 * (1 - q * 0.05 * 4.0 * 60.0 * 1e-4))


def test_skew_is_capped() -> None:
    config = params(skew={"mode": "linear", "linear_bps": 80.0, "max_skew_bps": 5.0})
    result = decide(skew, config, fair_value=100.0, position=D(-1000))
    assert result.reservation == pytest.approx(100.0 * (1 + 5e-4))


def test_skew_falls_back_to_the_mid_without_a_fair_value_stage() -> None:
    result = decide(skew, book=book_of("100", "102"))
    assert result.fair_value == 101.0 and result.reservation == 101.0


# -- sizing ---------------------------------------------------------------------------


def test_sizing_places_levels_outward_with_the_size_shape() -> None:
    config = params(
        sizing={"levels": 3, "level_spacing_bps": 10.0, "order_size": D(1), "shape": "geometric",
                "shape_factor": 2.0, "max_position": D(100)}
    )  # fmt: skip
    result = decide(sizing, config, reservation=1000.0, half_spread_bps=20.0)
    bids = [d for d in result.drafts if d.side is Side.BUY]
    asks = [d for d in result.drafts if d.side is Side.SELL]
    assert [d.price for d in bids] == pytest.approx([998.0, 997.0, 996.0])
    assert [d.price for d in asks] == pytest.approx([1002.0, 1003.0, 1004.0])
    assert [d.qty for d in bids] == [1.0, 2.0, 4.0]
    assert [d.level for d in asks] == [0, 1, 2]


def test_linear_shape_grows_by_the_factor_per_level() -> None:
    config = params(
        sizing={"levels": 3, "order_size": D(2), "shape": "linear", "shape_factor": 0.5,
                "max_position": D(100)}
    )  # fmt: skip
    result = decide(sizing, config, reservation=1000.0, half_spread_bps=20.0)
    assert [d.qty for d in result.drafts if d.side is Side.SELL] == [2.0, 3.0, 4.0]


def test_sizing_drops_the_side_that_would_pass_max_position() -> None:
    config = params(sizing={"levels": 2, "order_size": D(1), "max_position": D(5)})
    result = decide(sizing, config, reservation=1000.0, half_spread_bps=20.0, position=D(5))
    assert {d.side for d in result.drafts} == {Side.SELL}


def test_sizing_trims_the_level_that_would_pass_max_position() -> None:
    config = params(sizing={"levels": 3, "order_size": D(1), "max_position": D(5)})
    result = decide(sizing, config, reservation=1000.0, half_spread_bps=20.0, position=D("3.5"))
    assert [d.qty for d in result.drafts if d.side is Side.BUY] == [1.0, 0.5]


def test_sizing_respects_order_notional_and_balances() -> None:
    config = params(
        sizing={"levels": 2, "order_size": D(1), "max_position": D(100),
                "max_order_notional": D(500)}
    )  # fmt: skip
    result = decide(
        sizing, config, reservation=1000.0, half_spread_bps=0.0, quote_free=D(700), base_free=D(0)
    )
    bids = [d for d in result.drafts if d.side is Side.BUY]
    assert [round(d.qty * d.price, 6) for d in bids] == [500.0, 200.0]
    assert not [d for d in result.drafts if d.side is Side.SELL]


# -- rounding -------------------------------------------------------------------------


ROOMY = params(sizing={"max_position": D(1000)})


def drafts(*quotes: tuple[Side, int, float, float]) -> tuple[DraftQuote, ...]:
    return tuple(DraftQuote(*q) for q in quotes)


def test_rounding_puts_bids_down_and_asks_up_to_tick_and_sizes_down_to_step() -> None:
    result = decide(
        rounding,
        ROOMY,
        book=book_of("100.00", "110.00"),
        drafts=drafts((Side.BUY, 0, 104.567, 0.123456789), (Side.SELL, 0, 105.561, 0.2)),
    )
    quotes = result.quotes
    assert quotes is not None
    assert quotes.bids[0].price == D("104.56") and quotes.bids[0].quantity == D("0.12345")
    assert quotes.asks[0].price == D("105.57") and quotes.asks[0].quantity == D("0.20000")


def test_rounding_keeps_post_only_quotes_off_the_other_side() -> None:
    result = decide(
        rounding,
        ROOMY,
        book=book_of("100.00", "100.05"),
        drafts=drafts((Side.BUY, 0, 100.20, 1.0), (Side.SELL, 0, 99.90, 1.0)),
    )
    quotes = result.quotes
    assert quotes is not None
    assert quotes.bids[0].price == D("100.04")
    assert quotes.asks[0].price == D("100.05")  # above the best bid and above our bid


def test_rounding_separates_levels_that_land_on_one_tick() -> None:
    result = decide(
        rounding,
        ROOMY,
        book=book_of("90", "110"),
        drafts=drafts(
            (Side.BUY, 0, 100.001, 1.0), (Side.BUY, 1, 100.0005, 1.0),
            (Side.SELL, 0, 100.501, 1.0), (Side.SELL, 1, 100.5005, 1.0),
        ),
    )  # fmt: skip
    quotes = result.quotes
    assert quotes is not None
    assert [q.price for q in quotes.bids] == [D("100.00"), D("99.99")]
    assert [q.price for q in quotes.asks] == [D("100.51"), D("100.52")]


def test_rounding_drops_a_quote_under_the_minimum_notional() -> None:
    result = decide(
        rounding,
        ROOMY,
        book=book_of("99", "101"),
        drafts=drafts((Side.BUY, 0, 99.5, 0.04), (Side.SELL, 0, 100.5, 0.06)),
    )  # min notional 5: 99.5 * 0.04 = 3.98 is dropped; 100.51 * 0.06 = 6.03 stays
    quotes = result.quotes
    assert quotes is not None and not quotes.bids and len(quotes.asks) == 1


def test_rounding_enforces_max_position_exactly() -> None:
    config = params(sizing={"max_position": D("0.3")})
    result = decide(
        rounding,
        config,
        position=D("0.1"),
        book=book_of("90", "110"),
        drafts=drafts((Side.BUY, 0, 99.0, 0.1), (Side.BUY, 1, 98.0, 0.15)),
    )
    quotes = result.quotes
    assert quotes is not None
    assert [q.quantity for q in quotes.bids] == [D("0.10000"), D("0.10000")]


def test_rounding_without_post_only_still_never_crosses_its_own_quotes() -> None:
    config = attrs.evolve(ROOMY, rounding=attrs.evolve(ROOMY.rounding, post_only=False))
    result = decide(
        rounding,
        config,
        book=book_of("100.00", "100.05"),
        drafts=drafts((Side.BUY, 0, 100.20, 1.0), (Side.SELL, 0, 100.10, 1.0)),
    )
    quotes = result.quotes
    assert quotes is not None
    assert quotes.bids[0].price == D("100.20")  # allowed to take the market
    assert quotes.asks[0].price == D("100.21")
