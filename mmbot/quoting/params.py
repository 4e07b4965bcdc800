"""The strategy's parameters: one frozen attrs class per stage, and the whole strategy (sans-IO).

What it is for: :class:`StrategyConfig` (the stage list and one table per built-in stage),
each field with the default documented in ``docs/strategy.md``. The stages read these
values through ``inputs.params``; :mod:`mmbot.quoting.strategy` loads them from TOML.

What it must never do: load, check or import anything by name, or know a stage's code.
These are plain values: no validators (the loader checks ranges and reports every problem
with its path), no behaviour.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import attrs

#: The built-in stages in their usual order (a strategy with no ``stages`` key runs these).
DEFAULT_STAGES: tuple[str, ...] = (
    "guards",
    "fair_value",
    "volatility",
    "spread",
    "skew",
    "sizing",
    "rounding",
)


@attrs.frozen
class GuardParams:
    """When to pull quotes instead of quoting (see docs/strategy.md, "guards")."""

    stale_after: float = 2.0  # seconds: pull when the book is older than this
    max_market_spread_bps: float = 200.0  # pull when the market's spread is wider (bps of mid)


@attrs.frozen
class FairValueParams:
    method: Literal["mid", "micro", "ewma"] = "mid"
    ewma_halflife: float = 1.0  # seconds, for method = "ewma"


@attrs.frozen
class VolatilityParams:
    source: Literal["mid", "trades", "max"] = "mid"
    returns: Literal["log", "simple"] = "log"
    halflife: float = 60.0  # seconds: decay of the squared-return and elapsed-time sums
    prior: float = 1.0  # bps per sqrt(second): the estimate before any data
    prior_weight: float = 10.0  # seconds of pseudo-observation given to ``prior``
    max_bps: float = 100.0  # cap (bps per sqrt(second)) against one wild print


@attrs.frozen
class CalibrationParams:
    """The taker-intensity fit lambda(delta) = A * exp(-k * delta) (docs/strategy.md)."""

    window: float = 300.0  # seconds: e-folding time of the decay (the rolling window)
    bucket_bps: float = 1.0  # width of a distance bucket
    max_depth_bps: float = 20.0  # buckets cover [0, max_depth); farther trades join the last
    min_trades: float = 30.0  # effective (decayed) trades needed to use the fit
    min_buckets: int = 3  # distances with data needed to fit
    min_r2: float = 0.5  # fit quality needed to use it
    min_k: float = 0.01  # per bps: a fitted k outside [min_k, max_k] is not used
    max_k: float = 10.0  # per bps
    refit_share: float = 0.01  # refit once trades worth this share of the total came in
    adverse_horizon: float = 1.0  # seconds after a trade its adverse move is measured (0: off)
    max_pending: int = 256  # trades waiting for their horizon (the newest kept)


@attrs.frozen
class SpreadParams:
    mode: Literal["fixed", "volatility", "avellaneda_stoikov", "glft"] = "fixed"
    base_bps: float = 10.0  # half-spread (bps of the reference price); "glft" with no fit
    vol_multiplier: float = 2.0  # "volatility": base + multiplier * sigma * sqrt(vol_horizon)
    vol_horizon: float = 1.0  # seconds
    maker_fee_bps: float = 10.0  # the venue's maker fee (negative for a rebate)
    min_edge_bps: float = 1.0  # half-spread floor = maker fee + this edge
    max_bps: float = 500.0  # half-spread ceiling
    #: Widen the half-spread by the calibration's measured adverse move (when positive).
    adverse_selection: bool = False


@attrs.frozen
class SkewParams:
    mode: Literal["none", "linear", "avellaneda_stoikov", "glft"] = "none"
    linear_bps: float = 10.0  # "linear": shift at |position| = max_position, in bps
    gamma: float = 0.01  # A–S risk aversion, per bps per lot (q = position / order_size)
    kappa: float = 0.5  # A–S order-book intensity decay, per bps (a usable fit's k replaces it)
    horizon: float = 60.0  # seconds: the rolling T - t
    max_skew_bps: float = 100.0  # cap on |reservation - fair value|


@attrs.frozen
class SizingParams:
    levels: int = 1  # quotes per side
    level_spacing_bps: float = 5.0  # extra distance per level beyond the first
    order_size: Decimal = Decimal("0.001")  # base units at level 0
    shape: Literal["flat", "linear", "geometric"] = "flat"
    shape_factor: float = 1.0  # linear: 1 + i*factor; geometric: factor**i
    max_position: Decimal = Decimal("0.01")  # |position| never passes this by our quotes
    max_order_notional: Decimal = Decimal(0)  # quote units per order (0: no limit)


@attrs.frozen
class RoundingParams:
    post_only: bool = True  # bids strictly below best ask, asks strictly above best bid


@attrs.frozen
class StrategyConfig:
    """A whole strategy: stage list and each stage's parameters (``inputs.params``)."""

    name: str = "custom"
    stages: tuple[str, ...] = DEFAULT_STAGES
    guards: GuardParams = GuardParams()
    fair_value: FairValueParams = FairValueParams()
    volatility: VolatilityParams = VolatilityParams()
    calibration: CalibrationParams = CalibrationParams()
    spread: SpreadParams = SpreadParams()
    skew: SkewParams = SkewParams()
    sizing: SizingParams = SizingParams()
    rounding: RoundingParams = RoundingParams()
