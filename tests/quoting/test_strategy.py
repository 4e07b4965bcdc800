"""Strategy config: the shipped TOML files, readable errors, and user stages named in config."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mmbot.config import load_strategy, strategy_from_dict
from mmbot.errors import ConfigError
from mmbot.quoting.params import DEFAULT_STAGES, StrategyConfig
from mmbot.quoting.pipeline import Decision
from mmbot.quoting.strategy import build_pipeline, resolve_stage
from mmbot.testing import sample_book, sample_inputs

STRATEGIES = Path(__file__).resolve().parents[2] / "configs" / "strategies"


def decide(config: StrategyConfig, position: Decimal = Decimal(0)) -> Decision:
    inputs = sample_inputs(
        config, now=5.0, book=sample_book(6_500_000, received_at=4.9), position=position
    )
    result, _ = build_pipeline(config).run(inputs, lambda: 0)
    return result


@pytest.mark.parametrize("name", ["fixed", "adaptive"])
def test_each_shipped_strategy_loads_and_quotes_both_sides(name: str) -> None:
    config = load_strategy(STRATEGIES / f"{name}.toml")
    assert config.name == name
    result = decide(config)
    assert result.pulled is None
    assert result.quotes is not None
    assert len(result.quotes.bids) == config.sizing.levels
    assert len(result.quotes.asks) == config.sizing.levels


def test_fixed_is_symmetric_and_adaptive_skews_against_inventory() -> None:
    fixed = load_strategy(STRATEGIES / "fixed.toml")
    adaptive = load_strategy(STRATEGIES / "adaptive.toml")
    assert fixed.skew.mode == "none" and fixed.spread.mode == "fixed"
    assert adaptive.skew.mode == "avellaneda_stoikov"
    assert adaptive.spread.mode == "avellaneda_stoikov"
    assert adaptive.stages.index("calibration") < adaptive.stages.index("spread")
    flat, long = decide(adaptive), decide(adaptive, position=Decimal("0.005"))
    assert flat.reservation is not None and long.reservation is not None
    assert long.reservation < flat.reservation
    fixed_long = decide(fixed, position=Decimal("0.005"))
    assert fixed_long.reservation == fixed_long.fair_value


def test_an_empty_table_gives_the_documented_defaults() -> None:
    config = strategy_from_dict({})
    assert config == StrategyConfig()
    assert config.stages == DEFAULT_STAGES


def test_an_unknown_key_is_refused_with_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"sizing": {"levles": 2}})
    assert any(p.startswith("sizing:") and "levles" in p for p in info.value.problems)


def test_a_wrong_type_and_a_bad_choice_are_reported_with_their_paths() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"spread": {"mode": "wide", "base_bps": "ten"}})
    problems = info.value.problems
    assert any(p.startswith("spread.mode:") for p in problems)
    assert any(p.startswith("spread.base_bps:") for p in problems)


def test_a_bad_decimal_is_reported_with_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"sizing": {"order_size": "lots"}})
    assert info.value.problems[0].startswith("sizing.order_size:")


def test_out_of_range_values_are_each_reported() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"sizing": {"levels": 0, "order_size": "0"}, "skew": {"gamma": 0.0}})
    assert set(info.value.problems) >= {
        "sizing.levels: must be >= 1",
        "sizing.order_size: must be > 0",
        "skew.gamma: must be > 0",
    }


def test_an_unknown_stage_name_is_reported_on_its_index() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"stages": ["guards", "sparkle"]})
    assert info.value.problems[0].startswith("stages[1]: unknown stage 'sparkle'")


def test_a_user_stage_is_imported_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_stages.py").write_text(
        textwrap.dedent(
            """
            from mmbot.quoting.pipeline import HalfSpread

            def widen(inputs, so_far):
                return HalfSpread((so_far.half_spread_bps or 0) + 100.0)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    stages = [*DEFAULT_STAGES[:4], "my_stages:widen", *DEFAULT_STAGES[4:]]
    config = strategy_from_dict({"stages": stages})
    pipeline = build_pipeline(config)
    assert pipeline.names == tuple(stages)
    plain = decide(strategy_from_dict({}))
    widened = decide(config)
    assert plain.half_spread_bps is not None and widened.half_spread_bps is not None
    assert widened.half_spread_bps == pytest.approx(plain.half_spread_bps + 100.0)


def test_a_missing_user_module_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"stages": ["guards", "no_such_pkg_xyz.stages:skew"]})
    assert info.value.problems[0].startswith("stages[1]: cannot import module 'no_such_pkg_xyz")


def test_a_missing_or_uncallable_attribute_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="has no attribute 'nope'"):
        resolve_stage("math:nope")
    with pytest.raises(ConfigError, match="not callable"):
        resolve_stage("math:pi")


def test_a_missing_file_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_strategy(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_strategy(bad)


# -- the stage list's shape (review2 finding 4) -----------------------------------------


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        (["fair_value", "spread", "sizing", "rounding"], "stages: must start with 'guards'"),
        (
            ["guards", "rounding", "fair_value", "spread", "sizing"],
            "stages: must end with 'rounding'",
        ),
        (["guards", "guards", "rounding"], "stages: 'guards' named more than once"),
    ],
)
def test_a_stage_list_that_skips_a_safety_stage_is_refused(stages: list[str], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        strategy_from_dict({"stages": stages})
    assert problem in info.value.problems


def test_build_pipeline_reports_a_bad_stage_list_as_a_config_error() -> None:
    config = StrategyConfig(stages=("guards", "rounding", "rounding"))
    with pytest.raises(ConfigError) as info:
        build_pipeline(config)
    assert "stages: 'rounding' named more than once" in info.value.problems
