"""Check a strategy and build its pipeline (sans-IO: start-up only, never a decision).

What it is for: :func:`strategy_problems` lists everything wrong with a structured
:class:`~mmbot.quoting.params.StrategyConfig` (ranges, stage names, the stage list's shape)
as "path: reason" lines; :func:`build_pipeline` resolves the configured stage names
(built-in names or a user's ``"package.module:function"``) into a
:class:`~mmbot.quoting.pipeline.QuotePipeline`. Reading a strategy file is
:func:`mmbot.config.load_strategy`'s job (the one cattrs converter lives in ``config.py``).

What it must never do: take part in a quote decision, or hold the parameters' definitions
(they are :mod:`mmbot.quoting.params`). It runs once, at start-up: importing a user's stage
module is its only side effect, and it lives here so that the stage modules never import
anything by name. No network, clock or RNG. Parameters are documented in
``docs/strategy.md``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

from mmbot.errors import ConfigError
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import QuotePipeline, Stage
from mmbot.quoting.stages import BUILTIN_STAGES

# -- checking ---------------------------------------------------------------------------

#: The most distance buckets a calibration may keep (max_depth_bps / bucket_bps).
MAX_CALIBRATION_BUCKETS = 1000


def strategy_problems(config: StrategyConfig) -> list[str]:
    """Everything wrong with a structured strategy, as "path: reason" lines: the ranges
    cattrs cannot express, stage names that do not resolve, and the stage list's shape."""
    problems: list[str] = []

    def need(ok: bool, path: str, reason: str) -> None:
        if not ok:
            problems.append(f"{path}: {reason}")

    g, f, v, s, k, z = (
        config.guards,
        config.fair_value,
        config.volatility,
        config.spread,
        config.skew,
        config.sizing,
    )
    need(g.stale_after > 0, "guards.stale_after", "must be > 0")
    need(g.max_market_spread_bps > 0, "guards.max_market_spread_bps", "must be > 0")
    need(f.ewma_halflife > 0, "fair_value.ewma_halflife", "must be > 0")
    need(v.halflife > 0, "volatility.halflife", "must be > 0")
    need(v.prior >= 0, "volatility.prior", "must be >= 0")
    need(v.prior_weight > 0, "volatility.prior_weight", "must be > 0")
    need(v.max_bps > 0, "volatility.max_bps", "must be > 0")
    c = config.calibration
    need(c.window > 0, "calibration.window", "must be > 0")
    need(c.bucket_bps > 0, "calibration.bucket_bps", "must be > 0")
    need(c.max_depth_bps > 0, "calibration.max_depth_bps", "must be > 0")
    if c.bucket_bps > 0 and c.max_depth_bps > 0:
        buckets = c.max_depth_bps / c.bucket_bps
        need(
            buckets <= MAX_CALIBRATION_BUCKETS,
            "calibration.max_depth_bps",
            f"at most {MAX_CALIBRATION_BUCKETS} buckets of bucket_bps (asks {buckets:.0f})",
        )
        need(
            buckets >= max(c.min_buckets, 2),
            "calibration.max_depth_bps",
            f"must hold at least max(min_buckets, 2) buckets of bucket_bps (holds {buckets:g})",
        )
    need(c.min_trades >= 0, "calibration.min_trades", "must be >= 0")
    need(c.min_buckets >= 2, "calibration.min_buckets", "must be >= 2 (a line needs two points)")
    need(0 <= c.min_r2 <= 1, "calibration.min_r2", "must be in [0, 1]")
    need(c.min_k > 0, "calibration.min_k", "must be > 0")
    need(c.max_k >= c.min_k, "calibration.max_k", "must be >= min_k")
    need(math.isfinite(c.max_k), "calibration.max_k", "must be finite")
    need(0 <= c.refit_share <= 1, "calibration.refit_share", "must be in [0, 1]")
    need(
        c.adverse_horizon >= 0 and math.isfinite(c.adverse_horizon),
        "calibration.adverse_horizon",
        "must be >= 0 seconds (0: not measured)",
    )
    need(c.max_pending >= 1, "calibration.max_pending", "must be >= 1")
    stages = config.stages
    for table, mode in (("spread", s.mode), ("skew", k.mode)):
        if mode != "glft":
            continue
        if "calibration" not in stages:
            problems.append(f"{table}.mode: 'glft' needs the 'calibration' stage")
        elif table in stages and stages.index("calibration") > stages.index(table):
            problems.append(f"{table}.mode: 'glft' needs 'calibration' before '{table}'")
    if s.adverse_selection and "calibration" not in stages:
        problems.append("spread.adverse_selection: needs the 'calibration' stage")
    elif (
        s.adverse_selection
        and "spread" in stages
        and stages.index("calibration") > stages.index("spread")
    ):
        problems.append("spread.adverse_selection: needs 'calibration' before 'spread'")
    need(s.base_bps >= 0, "spread.base_bps", "must be >= 0")
    need(s.vol_multiplier >= 0, "spread.vol_multiplier", "must be >= 0")
    need(s.vol_horizon > 0, "spread.vol_horizon", "must be > 0")
    need(s.min_edge_bps >= 0, "spread.min_edge_bps", "must be >= 0")
    need(s.max_bps > 0, "spread.max_bps", "must be > 0")
    need(k.linear_bps >= 0, "skew.linear_bps", "must be >= 0")
    need(k.gamma > 0, "skew.gamma", "must be > 0")
    need(k.kappa > 0, "skew.kappa", "must be > 0")
    need(k.horizon > 0, "skew.horizon", "must be > 0")
    need(k.max_skew_bps >= 0, "skew.max_skew_bps", "must be >= 0")
    need(z.levels >= 1, "sizing.levels", "must be >= 1")
    need(z.level_spacing_bps >= 0, "sizing.level_spacing_bps", "must be >= 0")
    need(z.order_size > 0, "sizing.order_size", "must be > 0")
    need(z.shape_factor > 0, "sizing.shape_factor", "must be > 0")
    need(z.max_position >= 0, "sizing.max_position", "must be >= 0")
    need(z.max_order_notional >= 0, "sizing.max_order_notional", "must be >= 0 (0: no limit)")
    for i, name in enumerate(config.stages):
        try:
            resolve_stage(name)
        except ConfigError as exc:
            problems.extend(f"stages[{i}]: {p}" for p in exc.problems)
    problems.extend(stage_list_problems(config.stages))
    return problems


def stage_list_problems(stages: tuple[str, ...]) -> list[str]:
    """The stage list's shape, as "stages: reason" lines.

    ``guards`` first (a stale, gapped, crossed or halted market is never quoted), and
    ``rounding`` last (it makes the only exact, venue-valid quotes: a stage after it would
    work on quotes already final, and without it nothing is quoted). A user's stages go in
    between. Each name at most once (stage timings are keyed by name).
    """
    if not stages:
        return ["stages: must name at least one stage"]
    problems: list[str] = []
    if stages[0] != "guards":
        problems.append("stages: must start with 'guards'")
    if stages[-1] != "rounding":
        problems.append("stages: must end with 'rounding'")
    seen: set[str] = set()
    for name in stages:
        if name in seen:
            problem = f"stages: {name!r} named more than once"
            if problem not in problems:
                problems.append(problem)
        seen.add(name)
    return problems


# -- building ---------------------------------------------------------------------------


def resolve_stage(name: str) -> Stage:
    """A built-in stage by name, or a user's stage named ``"package.module:function"``."""
    builtin = BUILTIN_STAGES.get(name)
    if builtin is not None:
        return builtin
    module_name, sep, attr = name.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(BUILTIN_STAGES)
        raise ConfigError(
            [f"unknown stage {name!r}: use a built-in ({known}) or 'package.module:function'"]
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            [f"cannot import module {module_name!r} for stage {name!r}: {exc}"]
        ) from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError([f"module {module_name!r} has no attribute {attr!r}"])
    if not callable(target):
        raise ConfigError([f"stage {name!r} is not callable"])
    stage: Stage = target
    return stage


def build_pipeline(config: StrategyConfig) -> QuotePipeline:
    """The configured stages, in order, as a pipeline (names are the config's names)."""
    problems: list[str] = stage_list_problems(config.stages)
    stages: list[Stage] = []
    for i, name in enumerate(config.stages):
        try:
            stages.append(resolve_stage(name))
        except ConfigError as exc:
            problems.extend(f"stages[{i}]: {p}" for p in exc.problems)
    if problems:
        raise ConfigError(problems)
    return QuotePipeline(stages, names=config.stages)


#: The built-in stages that read ``inputs.trades`` (the volatility stage only with a trade
#: source: :func:`reads_public_trades`).
TRADE_READING_STAGES = frozenset({"calibration", "volatility"})


def reads_public_trades(config: StrategyConfig) -> bool:
    """Whether the strategy's stages read ``inputs.trades`` (the calibration stage, or the
    volatility stage with a trade source): the shell then subscribes to the trade stream."""
    stages = config.stages
    readers = set(TRADE_READING_STAGES.intersection(stages))
    if config.volatility.source not in ("trades", "max"):
        readers.discard("volatility")
    return bool(readers)
