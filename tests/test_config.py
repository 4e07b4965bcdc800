"""The bot's config: every mistake named with its path, at once; the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbot.config import (
    BotConfig,
    OrphanPolicy,
    VenueKind,
    config_from_dict,
    config_hash,
    default_config,
    load_config,
    normalized,
)
from mmbot.errors import ConfigError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def problems_of(data: dict[str, object]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    return info.value.problems


@pytest.mark.parametrize("name", ["paper.toml", "loopback.toml", "binance-testnet.toml"])
def test_every_shipped_config_loads(name: str) -> None:
    assert isinstance(load_config(CONFIGS / name), BotConfig)


def test_paper_toml_is_what_mmbot_run_uses_without_a_config() -> None:
    assert load_config(CONFIGS / "paper.toml") == default_config()


def test_an_empty_config_is_the_defaults() -> None:
    config = config_from_dict({})
    assert config == BotConfig()
    assert config.venue.kind is VenueKind.SIM and config.bot.orphans is OrphanPolicy.CANCEL


def test_every_kind_of_mistake_is_reported_at_once_with_its_path() -> None:
    problems = problems_of(
        {
            "bot": {"symbols": ["BTCUSDT"], "sneaky": 1},
            "venue": {"kind": "moon", "rest_port": "x"},
            "orders": {"budget_fraction": 2.0},
            "strategy": {"sizing": {"levels": 0}},
            "typo_section": {},
        }
    )
    assert any(p.startswith("bot:") and "sneaky" in p for p in problems)  # unknown key
    assert any(p.startswith("venue.kind:") and "'moon'" in p for p in problems)  # bad choice
    assert any(p.startswith("venue.rest_port:") and "integer" in p for p in problems)  # type
    assert "orders.budget_fraction: must be in (0, 1]" in problems  # range
    assert "strategy.sizing.levels: must be >= 1" in problems  # a strategy's range
    assert any(p.startswith("typo_section:") for p in problems)  # unknown section


def test_a_section_that_is_not_a_table_is_named() -> None:
    assert problems_of({"bot": 3}) == ("bot: expected a table ([bot]), got 3",)


def test_an_override_for_a_symbol_not_traded_is_refused() -> None:
    problems = problems_of({"overrides": {"XRPUSDT": {"sizing": {"order_size": "1"}}}})
    assert problems == ("overrides.XRPUSDT: is not one of bot.symbols",)


def test_overrides_merge_over_the_strategy_table() -> None:
    config = config_from_dict(
        {
            "strategy": {"spread": {"base_bps": 20.0}, "sizing": {"levels": 2}},
            "overrides": {"ETHUSDT": {"sizing": {"order_size": "0.02"}}},
        }
    )
    eth = config.strategy_for("ETHUSDT")
    assert eth.spread.base_bps == 20.0 and eth.sizing.levels == 2
    assert str(eth.sizing.order_size) == "0.02"
    assert config.strategy_for("BTCUSDT") == config.strategy


def test_a_strategy_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('name = "mine"\n[spread]\nbase_bps = 7.0\n')
    (tmp_path / "bot.toml").write_text('[strategy]\nfile = "s.toml"\n')
    assert load_config(tmp_path / "bot.toml").strategy.name == "mine"


def test_a_missing_strategy_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "bot.toml").write_text('[strategy]\nfile = "nope.toml"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "bot.toml")
    assert info.value.problems[0].startswith("strategy.file: ")
    assert "nope.toml: cannot read" in info.value.problems[0]


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[bot\nname = ")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert info.value.problems[0].startswith(f"{bad}: not valid TOML")


def test_a_config_names_no_secret() -> None:
    """Keys come from environment variables the config names; a key in the file is refused."""
    problems = problems_of({"venue": {"api_key": "abc", "api_secret": "def"}})
    assert any("api_key" in p and "extra fields" in p for p in problems)


def test_the_hash_names_the_content() -> None:
    a = config_hash(default_config())
    assert a == config_hash(load_config(CONFIGS / "paper.toml"))
    assert len(a) == 12
    changed = config_from_dict({"orders": {"price_tolerance_bps": "3"}})
    assert config_hash(changed) != config_hash(BotConfig())


def test_normalized_is_plain_data_that_loads_back() -> None:
    data = normalized(default_config())
    assert data["venue"]["kind"] == "sim"
    assert config_from_dict(data) == default_config()


def _keys(data: object, prefix: str = "") -> list[str]:
    if not isinstance(data, dict):
        return [prefix]
    keys: list[str] = []
    for key, value in data.items():
        keys += _keys(value, f"{prefix}.{key}" if prefix else key)
    return keys


def test_every_key_is_documented_in_docs_configuration_md() -> None:
    text = (CONFIGS.parent / "docs" / "configuration.md").read_text()
    data = normalized(BotConfig())
    data.pop("strategy")  # documented key by key in docs/strategy.md
    data.pop("overrides")
    risk = data.pop("risk")
    keys = _keys(data) + [f"risk.default.{k}" for k in risk["default"]]
    keys += [f"risk.{k}" for k in risk if k not in ("default", "symbols")]
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, missing
