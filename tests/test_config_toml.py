"""``mmbot.config.dumps_toml``: config data written as TOML reads back as the same data, in
sections a person can read; what TOML cannot hold is refused with its key."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.config import config_from_dict, config_hash, dumps_toml, load_config, read_toml

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

keys = st.text(min_size=1, max_size=8)
scalars = (
    st.text(max_size=12)
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3)
)
documents = st.recursive(
    st.dictionaries(keys, values, max_size=4),
    lambda inner: st.dictionaries(keys, inner | values, max_size=4),
    max_leaves=12,
)


@given(documents)
def test_what_is_written_reads_back_the_same(data: dict[str, Any]) -> None:
    assert tomllib.loads(dumps_toml(data)) == data


def test_tables_are_sections_and_nested_tables_dotted_headers() -> None:
    data = {
        "version": 1,
        "bot": {"symbols": ["BTCUSDT"], "seed": 3},
        "overrides": {"BTCUSDT": {"spread": {"base_bps": 1.5}, "sizing": {}}},
        "odd key": {"a\tb": 'x"y\\z\x7f'},
    }
    text = dumps_toml(data)
    assert text.splitlines()[:5] == [
        "version = 1",
        "",
        "[bot]",
        'symbols = ["BTCUSDT"]',
        "seed = 3",
    ]
    assert "[overrides.BTCUSDT.spread]\nbase_bps = 1.5\n" in text
    assert "[overrides.BTCUSDT.sizing]\n" in text  # an empty table is kept
    assert '["odd key"]\n"a\\tb" = "x\\"y\\\\z\\u007f"\n' in text
    assert tomllib.loads(text) == data


def test_a_decimal_is_written_as_a_string_as_config_files_give_money() -> None:
    assert tomllib.loads(dumps_toml({"sizing": {"order_size": Decimal("0.001")}})) == {
        "sizing": {"order_size": "0.001"}
    }


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), object()])
def test_what_toml_cannot_hold_is_refused_naming_its_key(bad: object) -> None:
    with pytest.raises(TypeError, match=r"^bot\.seed: cannot write"):
        dumps_toml({"bot": {"seed": bad}})


@pytest.mark.parametrize("name", ["paper.toml", "loopback.toml", "binance-testnet.toml"])
def test_a_shipped_config_written_out_loads_as_the_same_config(name: str) -> None:
    raw = read_toml(CONFIGS / name)
    again = config_from_dict(tomllib.loads(dumps_toml(raw)), base_dir=CONFIGS)
    assert config_hash(again) == config_hash(load_config(CONFIGS / name))
