"""The calibration stage: lambda(delta) = A * exp(-k * delta) fitted from the public trades,
and the spread and skew stages that use it (Avellaneda–Stoikov's k, GLFT's A and k)."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.config import load_strategy, strategy_from_dict
from mmbot.errors import ConfigError
from mmbot.model import Side
from mmbot.quoting.params import CalibrationParams, SkewParams, SpreadParams, StrategyConfig
from mmbot.quoting.pipeline import (
    CalibrationState,
    Decision,
    DepthCounts,
    Intensity,
    IntensityFit,
    StrategyState,
    TradeTick,
    apply_output,
)
from mmbot.quoting.stages import calibration, skew, spread
from mmbot.quoting.stages.calibration import bucket_count, fit_depths, intensity_at
from mmbot.quoting.stages.spread import glft_c1_bps, glft_omega_bps, optimal_spread_bps
from mmbot.quoting.strategy import build_pipeline, reads_public_trades
from mmbot.testing import SAMPLE_MID_TICKS, run_stage, sample_book, sample_inputs

D = Decimal
MID = SAMPLE_MID_TICKS / 100  # the sample book's mid: 65,000.00
STRATEGIES = Path(__file__).resolve().parents[3] / "configs" / "strategies"


def config(**calibration: Any) -> StrategyConfig:
    return StrategyConfig(calibration=CalibrationParams(**calibration))


def trade(time: float, delta_bps: float, mid: float = MID, side: int = 1) -> TradeTick:
    """A trade ``delta_bps`` from ``mid`` (above it for side 1, below for -1)."""
    price = D(repr(mid * (1.0 + side * delta_bps * 1e-4)))
    return TradeTick(time, price, D("0.01"), Side.BUY if side > 0 else Side.SELL)


def step(
    params: StrategyConfig,
    state: StrategyState,
    now: float,
    trades: tuple[TradeTick, ...] = (),
    book_mid_ticks: int = SAMPLE_MID_TICKS,
) -> tuple[IntensityFit, StrategyState]:
    """One decision of the calibration stage; its fit and the state after it."""
    book = sample_book(book_mid_ticks, spread_ticks=2, received_at=now)
    inputs = sample_inputs(params, book=book, now=now, trades=trades)
    out = calibration(inputs, Decision(state))
    assert type(out) is Intensity
    return out.intensity, state if out.state is None else out.state


def synthetic_run(
    a: float,
    k: float,
    seconds: float,
    seed: int,
    params: StrategyConfig,
    every: float = 0.1,
    touch: float = 0.0,
) -> tuple[IntensityFit, StrategyState]:
    """Decisions every ``every`` s on a still mid, with trades arriving at rate ``a`` per s,
    each an Exp(k) distance from the mid: exactly lambda(delta) = a * exp(-k * delta)."""
    rng = random.Random(seed)
    state = StrategyState()
    fit = None
    t = rng.expovariate(a)
    for i in range(1, int(seconds / every) + 1):
        now = i * every
        batch = []
        while t <= now:
            batch.append(trade(t, touch + rng.expovariate(k), side=rng.choice((1, -1))))
            t += rng.expovariate(a)
        fit, state = step(params, state, now, tuple(batch))
    assert fit is not None
    return fit, state


# -- the fit -------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0.5, 1.0, 2.0])
def test_no_trade_inside_the_touch_does_not_flatten_k(k: float) -> None:
    # the market's touch 1.5 bps from the mid, the takers' reach beyond it Exp(k): the
    # edges inside the touch count every trade and must not be fitted
    params = config(window=300.0, bucket_bps=0.25, max_depth_bps=10.0)
    fit, _ = synthetic_run(2.0, k, seconds=1_500.0, seed=3, params=params, touch=1.5)
    assert fit.fallback_reason is None and fit.k is not None
    assert fit.k == pytest.approx(k, rel=0.15)


@pytest.mark.parametrize(("a", "k"), [(2.0, 0.4), (0.5, 1.0), (5.0, 0.15)])
def test_trades_drawn_from_a_known_intensity_give_back_its_a_and_k(a: float, k: float) -> None:
    fit, _ = synthetic_run(a, k, seconds=1_500.0, seed=12, params=config(window=300.0))
    assert fit.fallback_reason is None
    assert fit.a is not None and fit.k is not None and fit.r2 is not None
    assert fit.a == pytest.approx(a, rel=0.15)
    assert fit.k == pytest.approx(k, rel=0.1)
    assert fit.r2 > 0.9
    # about a * window trades in a window of 300 s (the decayed count)
    assert fit.trades == pytest.approx(a * 300.0, rel=0.2)


def test_an_exact_exponential_is_fitted_exactly() -> None:
    # cumulative counts 100 * e^(-0.5 j): per bucket the differences, the last holding the tail
    cumulative = [100.0 * math.exp(-0.5 * j) for j in range(10)]
    counts = [cumulative[j] - cumulative[j + 1] for j in range(9)] + [cumulative[9]]
    points, c0, k, r2 = fit_depths(counts, 1.0, 3)
    assert points == 10
    assert c0 == pytest.approx(100.0) and k == pytest.approx(0.5) and r2 == pytest.approx(1.0)


def test_the_bucket_width_sets_the_distance_unit() -> None:
    cumulative = [50.0 * math.exp(-0.2 * 2.5 * j) for j in range(6)]  # k 0.2/bps, 2.5 bps wide
    counts = [cumulative[j] - cumulative[j + 1] for j in range(5)] + [cumulative[5]]
    _, c0, k, _ = fit_depths(counts, 2.5, 3)
    assert c0 == pytest.approx(50.0) and k == pytest.approx(0.2)


def test_the_counts_are_bounded_by_the_buckets_whatever_the_trades() -> None:
    params = config(bucket_bps=2.0, max_depth_bps=9.0)
    assert bucket_count(params.calibration) == 5
    far = tuple(trade(1.0 + i * 1e-3, 10.0 ** (i % 6)) for i in range(500))
    _, state = step(params, StrategyState(), 2.0, far)
    assert state.calibration is not None
    depths = state.calibration.depths
    assert len(depths.counts) == 5
    assert sum(depths.counts) == pytest.approx(depths.total)
    # 1, 10, 100, ... bps: the ones past 9 bps are all in the last bucket
    assert depths.counts[4] == pytest.approx(sum(depths.counts[1:]))


# -- folding trades once, against the mid before them ---------------------------------------


def test_a_trade_older_than_the_newest_folded_is_skipped() -> None:
    params = config()
    trades = tuple(trade(1.0 + i, 0.5 + i) for i in range(6))
    _, state = step(params, StrategyState(), 3.5, trades[:3])
    _, late = step(params, state, 7.0, (trades[0], *trades[3:]))  # one late, three new
    _, new = step(params, state, 7.0, trades[3:])
    assert late.calibration is not None and new.calibration is not None
    assert late.calibration.depths == new.calibration.depths
    assert late.calibration.depths.last_trade_time == 6.0


def test_a_window_with_no_new_trade_leaves_the_counts_and_the_fit_as_they_were() -> None:
    params = config()
    trades = tuple(trade(1.0 + 0.01 * i, 0.3 * i) for i in range(40))
    _, state = step(params, StrategyState(), 2.0, trades)
    _, after = step(params, state, 3.0, ())  # nothing new: no refit
    assert state.calibration is not None and after.calibration is not None
    assert after.calibration.depths is state.calibration.depths


def test_a_new_trade_at_the_last_folded_time_is_folded() -> None:
    # one taker sweeping two levels makes two trades at one instant: both count
    params = config()
    _, state = step(params, StrategyState(), 2.0, (trade(1.0, 3.0),))
    _, same = step(params, state, 3.0, (trade(1.0, 7.0),))
    assert same.calibration is not None and state.calibration is not None
    assert same.calibration.depths.total > state.calibration.depths.total


def test_a_trade_is_measured_from_the_mid_of_the_decision_before_it() -> None:
    params = config(bucket_bps=1.0, max_depth_bps=20.0)
    _, state = step(params, StrategyState(), 1.0)  # mid 65,000.00
    moved = SAMPLE_MID_TICKS + 3_250  # the book's mid is now 65,032.50: 5 bps higher
    _, state = step(params, state, 2.0, (trade(1.5, 0.2, mid=MID * 1.0005),), moved)
    assert state.calibration is not None
    # 5.2 bps from the mid before it (65,000), not 0.2 from the new one
    counts = state.calibration.depths.counts
    assert [j for j, c in enumerate(counts) if c] == [5]
    assert state.calibration.last_mid == pytest.approx(MID * 1.0005)


def test_the_first_decision_measures_from_its_own_mid() -> None:
    _, state = step(config(), StrategyState(), 1.0, (trade(0.9, 2.5),))
    assert state.calibration is not None
    assert state.calibration.depths.counts[2] > 0.0
    assert sum(state.calibration.depths.counts) == state.calibration.depths.counts[2]


def test_the_elapsed_time_starts_at_the_first_trade_counted() -> None:
    _, state = step(config(), StrategyState(), 10.0, (trade(4.0, 1.0), trade(6.0, 2.0)))
    assert state.calibration is not None and state.calibration.start == 4.0


# -- decay ----------------------------------------------------------------------------------


def test_counts_and_the_intensity_decay_with_the_window_and_k_stays() -> None:
    window = 100.0
    params = config(window=window, min_trades=0.0)
    rng = random.Random(3)
    trades = tuple(trade(40.0, rng.expovariate(0.5)) for _ in range(200))
    fit, state = step(params, StrategyState(), 50.0, trades)
    later, after = step(params, state, 150.0)
    assert fit.a is not None and later.a is not None
    assert fit.trades == pytest.approx(200.0 * math.exp(-0.1))  # 10 s old
    assert later.trades == pytest.approx(200.0 * math.exp(-1.1))  # 110 s old
    assert (later.k, later.r2) == (fit.k, fit.r2)
    # a = C(0) / E: the fitted count at the mid, decayed, over E = W (1 - e^(-elapsed / W)),
    # the elapsed time since the first trade (t = 40), decayed the same way
    assert after.calibration is not None
    depths = after.calibration.depths
    assert depths.c0_share is not None and depths.ref == 50.0
    exposure = window * (1 - math.exp(-110.0 / window))
    assert later.a == pytest.approx(depths.c0_share * later.trades / exposure)
    assert later.a < fit.a


def test_the_fit_is_redone_once_the_new_trades_weigh_refit_share_of_the_total() -> None:
    params = config(refit_share=0.1, min_trades=0.0)
    rng = random.Random(8)
    first = tuple(trade(1.0 + 0.01 * i, rng.expovariate(0.5)) for i in range(100))
    _, state = step(params, StrategyState(), 2.0, first)
    assert state.calibration is not None
    fitted = state.calibration.depths
    assert fitted.unfitted == 0.0 and fitted.k is not None
    # five far trades: under 10 % of the weight, the fit stands (A follows the total)
    far = tuple(trade(2.0 + 0.01 * i, 15.0) for i in range(1, 6))
    _, state = step(params, state, 3.0, far)
    assert state.calibration is not None
    kept = state.calibration.depths
    assert (kept.k, kept.r2, kept.c0_share) == (fitted.k, fitted.r2, fitted.c0_share)
    assert kept.unfitted == pytest.approx(kept.total - fitted.total)
    # ten more: now past 10 %, refitted on every count
    more = tuple(trade(3.0 + 0.01 * i, 15.0) for i in range(1, 11))
    _, state = step(params, state, 4.0, more)
    assert state.calibration is not None
    refitted = state.calibration.depths
    assert refitted.unfitted == 0.0
    points, c0, k, r2 = fit_depths(refitted.counts, 1.0, params.calibration.min_buckets)
    assert (refitted.points, refitted.k, refitted.r2) == (points, k, r2)
    assert c0 is not None and refitted.c0_share == pytest.approx(c0 / refitted.total)


def test_weights_are_moved_to_a_new_origin_without_changing_the_fit() -> None:
    window = 10.0
    params = config(window=window, min_trades=0.0)
    rng = random.Random(5)
    first = tuple(trade(1.0 + 0.001 * i, rng.expovariate(0.5)) for i in range(300))
    _, state = step(params, StrategyState(), 2.0, first)
    # 50 windows later: the origin moves (weights would reach e^50 otherwise)
    late = tuple(trade(500.0 + 0.001 * i, rng.expovariate(0.5)) for i in range(300))
    fit, after = step(params, state, 501.0, late)
    assert after.calibration is not None
    depths = after.calibration.depths
    assert depths.ref == 501.0 and max(depths.counts) < 1e3
    assert fit.trades == pytest.approx(
        sum(math.exp((t.time - 501.0) / window) for t in late), rel=1e-9
    )


# -- fallback --------------------------------------------------------------------------------


def test_too_few_trades_falls_back_and_says_how_many() -> None:
    trades = tuple(trade(5.0, 0.5 * i) for i in range(12))
    fit, _ = step(config(min_trades=30.0), StrategyState(), 5.0, trades)
    assert fit.fallback_reason == "too_few_trades: 12.0 < 30"
    assert not fit.usable


def test_a_fresh_state_falls_back_with_no_fit() -> None:
    fit, _ = step(config(), StrategyState(), 1.0)
    assert fit == IntensityFit(None, None, None, 0.0, "too_few_trades: 0.0 < 30")


def test_trades_all_at_one_distance_are_too_few_buckets() -> None:
    trades = tuple(trade(1.0 + 0.01 * i, 0.3) for i in range(50))
    fit, _ = step(config(min_buckets=3), StrategyState(), 2.0, trades)
    assert fit.fallback_reason == "too_few_buckets: 1 < 3"
    assert (fit.a, fit.k, fit.r2) == (None, None, None)


def test_a_poor_fit_falls_back_with_its_r2() -> None:
    # half the trades at the mid, half 19 bps out: nothing like an exponential
    trades = tuple(trade(1.0 + 0.01 * i, 0.1 if i % 2 else 19.5) for i in range(60))
    fit, _ = step(config(min_r2=0.9), StrategyState(), 2.0, trades)
    assert fit.r2 is not None and fit.r2 < 0.9
    assert fit.fallback_reason == f"poor_fit: r2 {fit.r2:.2f} < 0.9"


def test_a_k_out_of_bounds_falls_back() -> None:
    params = config(max_k=0.2, window=300.0)
    fit, _ = synthetic_run(2.0, 0.5, seconds=300.0, seed=4, params=params)
    assert fit.k is not None and fit.k > 0.2
    assert fit.fallback_reason == f"k_out_of_bounds: {fit.k:.3g} not in [0.01, 0.2]"


def test_counts_too_uneven_for_a_line_are_a_degenerate_fit_not_a_nan() -> None:
    counts = (1e-300, 1e300)  # the squares of the weighted sums overflow
    assert fit_depths(counts, 1.0, 2) == (2, None, None, None)
    params = CalibrationParams(min_buckets=2, min_trades=0.0)
    depths = DepthCounts(0.0, 1.0, counts, 1e300, 0.0, 2)
    fit = intensity_at(depths, 0.0, 1.0, params)
    assert fit.fallback_reason == "degenerate_fit: 2 buckets"


def test_trades_counted_at_no_elapsed_time_give_no_intensity() -> None:
    trades = tuple(trade(3.0, 0.4 * i) for i in range(40))
    fit, _ = step(config(), StrategyState(), 3.0, trades)
    assert fit.a is None and fit.k is not None
    assert fit.fallback_reason == "no_elapsed_time: 0 s"


# -- spread and skew use it ---------------------------------------------------------------

USABLE = IntensityFit(a=2.0, k=0.5, r2=0.97, trades=300.0)
FALLING_BACK = IntensityFit(2.0, 0.5, 0.2, 300.0, "poor_fit: r2 0.20 < 0.5")


def quoting(spread_mode: str, skew_mode: str = "none", **spread_params: Any) -> StrategyConfig:
    fields = {"maker_fee_bps": 0.0, "min_edge_bps": 0.0, "max_bps": 500.0, **spread_params}
    return StrategyConfig(
        spread=SpreadParams(mode=spread_mode, **fields),  # type: ignore[arg-type]
        skew=SkewParams(mode=skew_mode, gamma=0.05, kappa=1.5, horizon=60.0),  # type: ignore[arg-type]
    )


def test_glft_matches_a_hand_computation() -> None:
    # gamma 0.05, k 0.5, A 2, sigma 1:
    #   c1 = ln(1.1) / 0.05 = 0.0953102 / 0.05 = 1.906204 bps
    #   omega = sqrt(1 * 0.05 / (2 * 0.5 * 2) * 1.1^11) = sqrt(0.025 * 2.853117) = 0.267073
    assert glft_c1_bps(0.05, 0.5) == pytest.approx(1.906204, abs=1e-6)
    assert glft_omega_bps(0.05, 0.5, 2.0, 1.0) == pytest.approx(0.267073, abs=1e-6)
    so_far = Decision(volatility=1.0, intensity=USABLE)
    half = run_stage(spread, sample_inputs(quoting("glft")), so_far).half_spread_bps
    assert half == pytest.approx(1.906204 + 0.267073 / 2, abs=1e-6)


def test_glft_omega_scales_with_sigma_and_falls_with_a() -> None:
    base = glft_omega_bps(0.05, 0.5, 2.0, 1.0)
    assert glft_omega_bps(0.05, 0.5, 2.0, 3.0) == pytest.approx(3 * base)
    assert glft_omega_bps(0.05, 0.5, 8.0, 1.0) == pytest.approx(base / 2)
    assert glft_omega_bps(0.05, 0.5, 2.0, 0.0) == 0.0


def test_glft_without_a_usable_fit_quotes_the_base_spread() -> None:
    params = quoting("glft", base_bps=13.0)
    for fit in (None, FALLING_BACK):
        so_far = Decision(volatility=1.0, intensity=fit)
        assert run_stage(spread, sample_inputs(params), so_far).half_spread_bps == 13.0


def test_avellaneda_stoikov_takes_k_from_a_usable_fit_and_kappa_otherwise() -> None:
    params = quoting("avellaneda_stoikov")
    fitted = run_stage(spread, sample_inputs(params), Decision(volatility=1.0, intensity=USABLE))
    assert fitted.half_spread_bps == pytest.approx(0.5 * optimal_spread_bps(0.05, 0.5, 1.0, 60))
    for fit in (None, FALLING_BACK):
        so_far = Decision(volatility=1.0, intensity=fit)
        configured = run_stage(spread, sample_inputs(params), so_far).half_spread_bps
        assert configured == pytest.approx(0.5 * optimal_spread_bps(0.05, 1.5, 1.0, 60))


def test_the_fee_floor_still_wins_over_glft() -> None:
    params = quoting("glft", maker_fee_bps=10.0, min_edge_bps=1.0)
    so_far = Decision(volatility=1.0, intensity=USABLE)
    assert run_stage(spread, sample_inputs(params), so_far).half_spread_bps == 11.0


def test_glft_skew_moves_the_reservation_q_omega_against_inventory() -> None:
    params = quoting("glft", "glft")
    omega = glft_omega_bps(0.05, 0.5, 2.0, 1.0)
    so_far = Decision(fair_value=65_000.0, volatility=1.0, intensity=USABLE)
    long = run_stage(skew, sample_inputs(params, position=D("0.003")), so_far)  # 3 lots
    assert long.reservation == pytest.approx(65_000.0 * (1 - 3 * omega * 1e-4))


def test_glft_skew_without_a_usable_fit_is_the_avellaneda_stoikov_shift() -> None:
    params = quoting("glft", "glft")
    so_far = Decision(fair_value=65_000.0, volatility=1.0, intensity=FALLING_BACK)
    long = run_stage(skew, sample_inputs(params, position=D("0.002")), so_far)  # 2 lots
    assert long.reservation == pytest.approx(65_000.0 * (1 - 2 * 0.05 * 1.0 * 60.0 * 1e-4))


def test_the_adaptive_pipeline_calibrates_from_its_trades() -> None:
    adaptive = load_strategy(STRATEGIES / "adaptive.toml")
    inputs = sample_inputs(adaptive, trades=(trade(9.0, 1.0), trade(9.5, 2.0)))
    result, timings = build_pipeline(adaptive).run(inputs, lambda: 0)
    assert "calibration" in timings.names
    assert result.intensity is not None and result.intensity.trades > 0
    assert result.intensity.fallback_reason is not None  # two trades: too few
    assert result.state.calibration is not None


# -- the loader -------------------------------------------------------------------------------


def test_calibration_parameters_are_range_checked_with_their_paths() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict(
            {
                "calibration": {
                    "window": 0.0,
                    "bucket_bps": -1.0,
                    "min_r2": 1.5,
                    "min_k": 0.0,
                    "min_buckets": 1,
                    "min_trades": -1.0,
                    "refit_share": 2.0,
                }
            }
        )
    paths = {p.partition(":")[0] for p in info.value.problems}
    assert {
        "calibration.window",
        "calibration.bucket_bps",
        "calibration.min_r2",
        "calibration.min_k",
        "calibration.min_buckets",
        "calibration.min_trades",
        "calibration.refit_share",
    } <= paths


def test_too_many_or_too_few_buckets_are_refused() -> None:
    for depth, width in ((10_000.0, 0.5), (2.0, 1.0)):
        with pytest.raises(ConfigError) as info:
            strategy_from_dict({"calibration": {"max_depth_bps": depth, "bucket_bps": width}})
        assert [p.partition(":")[0] for p in info.value.problems] == ["calibration.max_depth_bps"]


def test_max_k_under_min_k_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"calibration": {"min_k": 2.0, "max_k": 1.0}})
    assert list(info.value.problems) == ["calibration.max_k: must be >= min_k"]


def test_glft_needs_the_calibration_stage_before_it() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"spread": {"mode": "glft"}, "skew": {"mode": "glft"}})
    assert list(info.value.problems) == [
        "spread.mode: 'glft' needs the 'calibration' stage",
        "skew.mode: 'glft' needs the 'calibration' stage",
    ]
    late = ["guards", "fair_value", "volatility", "spread", "calibration", "skew", "sizing"]
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"stages": [*late, "rounding"], "spread": {"mode": "glft"}})
    assert list(info.value.problems) == ["spread.mode: 'glft' needs 'calibration' before 'spread'"]
    stages = ["guards", "fair_value", "volatility", "calibration", "spread", "skew", "sizing"]
    ok = strategy_from_dict({"stages": [*stages, "rounding"], "spread": {"mode": "glft"}})
    assert ok.spread.mode == "glft"


# -- properties ------------------------------------------------------------------------------

finite_or_not = st.one_of(
    st.floats(-1e6, 1e7), st.sampled_from([math.inf, -math.inf, math.nan, 0.0, 1e300])
)
prices = st.one_of(
    st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=2),
    st.sampled_from([D("65000.01"), D("64999.99"), D(0), D("-5"), D("1e400"), D("NaN")]),
)
calibrations = st.builds(
    CalibrationParams,
    window=st.floats(0.01, 1e5),
    bucket_bps=st.floats(0.05, 50.0),
    max_depth_bps=st.floats(1.0, 200.0),
    min_trades=st.floats(0.0, 100.0),
    min_buckets=st.integers(2, 6),
    min_r2=st.floats(0.0, 1.0),
    min_k=st.floats(0.001, 1.0),
    max_k=st.floats(1.0, 50.0),
    refit_share=st.floats(0.0, 1.0),
).filter(lambda c: 2 <= c.max_depth_bps / c.bucket_bps <= 1000)


def check(fit: IntensityFit, params: CalibrationParams) -> None:
    for figure in (fit.a, fit.k, fit.r2, fit.trades):
        assert figure is None or math.isfinite(figure)
    assert fit.trades >= 0.0
    assert fit.a is None or fit.a > 0.0
    assert fit.k is None or fit.k >= 0.0
    assert fit.r2 is None or 0.0 <= fit.r2 <= 1.0
    if fit.usable:
        assert fit.a is not None and fit.k is not None and fit.r2 is not None
        assert params.min_k <= fit.k <= params.max_k
        assert fit.r2 >= params.min_r2 and fit.trades >= params.min_trades


@given(
    params=calibrations,
    batches=st.lists(
        st.tuples(
            st.floats(0.0, 1e4),  # the decision's time step
            st.integers(-500, 500),  # the mid's move, in ticks
            st.lists(st.tuples(finite_or_not, prices), max_size=8),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_the_fit_is_never_nan_or_infinite_and_a_usable_one_is_in_bounds(
    params: CalibrationParams, batches: list[tuple[float, int, list[tuple[float, Decimal]]]]
) -> None:
    strategy = StrategyConfig(calibration=params)
    state, now, mid = StrategyState(), 0.0, SAMPLE_MID_TICKS
    for dt, move, raw in batches:
        now += dt
        mid += move
        trades = tuple(TradeTick(t, p, D(1), Side.BUY) for t, p in raw)
        fit, state = step(strategy, state, now, trades, mid)
        check(fit, params)
        assert state.calibration is not None
        assert len(state.calibration.depths.counts) == bucket_count(params)


@given(
    params=calibrations,
    rate=st.floats(0.05, 20.0),
    k=st.floats(0.02, 3.0),
    seed=st.integers(0, 1_000),
)
def test_fits_of_exponential_trades_are_in_bounds_when_usable(
    params: CalibrationParams, rate: float, k: float, seed: int
) -> None:
    fit, _ = synthetic_run(
        rate, k, seconds=30.0, seed=seed, params=StrategyConfig(calibration=params), every=1.0
    )
    check(fit, params)


fits = st.builds(
    IntensityFit,
    a=st.floats(1e-6, 1e4),
    k=st.floats(1e-3, 100.0),
    r2=st.floats(0.0, 1.0),
    trades=st.floats(0.0, 1e6),
    fallback_reason=st.sampled_from([None, "poor_fit: r2 0.10 < 0.5"]),
)


@given(
    fit=st.one_of(st.none(), fits),
    spread_mode=st.sampled_from(["fixed", "volatility", "avellaneda_stoikov", "glft"]),
    skew_mode=st.sampled_from(["none", "linear", "avellaneda_stoikov", "glft"]),
    gamma=st.floats(1e-4, 10.0),
    sigma=st.floats(0.0, 100.0),
    fee=st.floats(-5.0, 20.0),
    edge=st.floats(0.0, 5.0),
    lots=st.integers(-50, 50),
)
def test_whatever_the_fit_the_spread_keeps_the_fee_floor_and_skew_its_sign(
    fit: IntensityFit | None,
    spread_mode: str,
    skew_mode: str,
    gamma: float,
    sigma: float,
    fee: float,
    edge: float,
    lots: int,
) -> None:
    params = StrategyConfig(
        spread=SpreadParams(mode=spread_mode, maker_fee_bps=fee, min_edge_bps=edge),  # type: ignore[arg-type]
        skew=SkewParams(mode=skew_mode, gamma=gamma),  # type: ignore[arg-type]
    )
    position = params.sizing.order_size * lots
    inputs = sample_inputs(params, position=position)
    so_far = Decision(fair_value=65_000.0, volatility=sigma, intensity=fit)
    half = run_stage(spread, inputs, so_far).half_spread_bps
    assert half is not None and math.isfinite(half)
    assert half >= max(fee + edge, 0.0)
    assert half <= max(params.spread.max_bps, fee + edge)
    reservation = run_stage(skew, inputs, so_far).reservation
    assert reservation is not None and math.isfinite(reservation)
    shift = reservation - 65_000.0
    assert abs(shift) <= 65_000.0 * params.skew.max_skew_bps * 1e-4 * (1 + 1e-9)
    assert (shift <= 0.0) if lots > 0 else (shift >= 0.0)


def test_an_intensity_output_writes_its_fit_and_state() -> None:
    decision = Decision()
    apply_output(decision, Intensity(USABLE), "BTCUSDT")
    assert decision.intensity == USABLE and decision.state == StrategyState()
    depths = DepthCounts(0.0, 1.0, (1.0, 2.0), 3.0)
    moved = StrategyState(calibration=CalibrationState(MID, 0.0, depths))
    apply_output(decision, Intensity(FALLING_BACK, moved), "BTCUSDT")
    assert decision.intensity == FALLING_BACK and decision.state == moved


# -- the takers' adverse move -----------------------------------------------------------------


def test_a_takers_adverse_move_is_measured_at_its_horizon() -> None:
    params = config(min_trades=1.0, adverse_horizon=1.0)
    ticks = SAMPLE_MID_TICKS
    _, state = step(params, StrategyState(), 0.0)
    fit, state = step(params, state, 0.5, (trade(0.4, 1.0, side=1),))  # a buyer at 0.4 s
    assert fit.adverse_bps is None  # its horizon (1.4 s) has not come
    fit, state = step(params, state, 1.2, book_mid_ticks=ticks + 65)  # mid +0.1 bp: not yet
    assert fit.adverse_bps is None
    fit, _ = step(params, state, 1.5, book_mid_ticks=ticks + 130)  # mid +0.2 bp at 1.5 s
    assert fit.adverse_bps == pytest.approx(1.30 / MID * 1e4, rel=1e-9)


def test_a_sellers_move_counts_when_the_mid_falls_and_moves_average_with_decay() -> None:
    params = config(min_trades=2.0, adverse_horizon=1.0, window=1e9)
    ticks = SAMPLE_MID_TICKS
    _, state = step(params, StrategyState(), 0.0)
    _, state = step(params, state, 0.1, (trade(0.1, 1.0, side=-1), trade(0.1, 2.0, side=1)))
    fit, _ = step(params, state, 1.5, book_mid_ticks=ticks - 650)  # mid -1 bp
    # the seller gained 1 bp on it, the buyer lost 1 bp: on average nothing
    assert fit.adverse_bps == pytest.approx(0.0, abs=1e-9)


def test_no_horizon_measures_nothing_and_pending_trades_are_bounded() -> None:
    off = config(min_trades=1.0, adverse_horizon=0.0)
    _, state = step(off, StrategyState(), 0.0)
    fit, state = step(off, state, 5.0, (trade(1.0, 1.0),))
    assert fit.adverse_bps is None
    assert state.calibration is not None and state.calibration.adverse.pending == ()
    few = config(max_pending=3)
    _, state = step(few, StrategyState(), 0.0)
    _, state = step(few, state, 0.5, tuple(trade(0.1 * i, 1.0) for i in range(1, 6)))
    assert state.calibration is not None
    assert [p[0] for p in state.calibration.adverse.pending] == pytest.approx([0.3, 0.4, 0.5])


def test_the_spread_stands_farther_by_a_positive_adverse_move_only_when_asked() -> None:
    fixed = quoting("fixed", base_bps=1.0)
    asked = quoting("fixed", base_bps=1.0, adverse_selection=True)
    toxic = Decision(intensity=USABLE._replace(adverse_bps=0.4))
    benign = Decision(intensity=USABLE._replace(adverse_bps=-0.3))
    assert run_stage(spread, sample_inputs(fixed), toxic).half_spread_bps == 1.0
    assert run_stage(spread, sample_inputs(asked), toxic).half_spread_bps == pytest.approx(1.4)
    assert run_stage(spread, sample_inputs(asked), benign).half_spread_bps == 1.0
    assert run_stage(spread, sample_inputs(asked), Decision()).half_spread_bps == 1.0


def test_adverse_selection_needs_the_calibration_stage_and_a_sane_horizon() -> None:
    plain = ["guards", "fair_value", "volatility", "spread", "skew", "sizing", "rounding"]
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"stages": plain, "spread": {"adverse_selection": True}})
    assert list(info.value.problems) == ["spread.adverse_selection: needs the 'calibration' stage"]
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"calibration": {"adverse_horizon": -1, "max_pending": 0}})
    assert list(info.value.problems) == [
        "calibration.adverse_horizon: must be >= 0 seconds (0: not measured)",
        "calibration.max_pending: must be >= 1",
    ]


def test_a_strategy_reads_trades_through_calibration_or_a_trade_volatility_only() -> None:
    plain = ("guards", "fair_value", "volatility", "spread", "skew", "sizing", "rounding")
    assert not reads_public_trades(StrategyConfig(stages=plain))  # volatility from the mid
    assert reads_public_trades(strategy_from_dict({"volatility": {"source": "max"}}))
    calibrating = (*plain[:3], "calibration", *plain[3:])
    assert reads_public_trades(StrategyConfig(stages=calibrating))
