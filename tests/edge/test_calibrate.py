"""``mmbot calibrate``: the grid read and checked before anything runs; a small search run as
a process writes a config that loads with the chosen values, its picture and its report;
the same search on a Dask cluster chooses the same."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mmbot.config import config_hash, load_config
from mmbot.edge.calibrate import add_calibrate_parser, chosen_config, edge_notes, prepare
from mmbot.edge.grid import GridError, parse_axis, single_symbol, with_point
from mmbot.edge.halving import Axis, Plan, grid, run_search

ROOT = Path(__file__).parents[2]
#: A zero maker fee and a 2 bps taker fee (a market maker's tier); one symbol.
CONFIG = """\
version = 1
[bot]
name = "calib"
symbols = ["BTCUSDT"]
[sim]
maker_fee_bps = 0
taker_fee_bps = 2
[strategy]
name = "fixed"
[strategy.spread]
maker_fee_bps = 0
min_edge_bps = 0.25
[metrics]
listen = ""
"""
#: 4 values, eta 2: round 0 runs 4 points on 1 seed, round 1 the best 2 on a second seed.
TINY = ["--grid", "spread.base_bps=0.5:2:4", "--seeds", "1", "--eta", "2", "--duration", "20"]


def mmbot(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmbot", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_calibrate_parser(parser.add_subparsers())
    return parser.parse_args(["calibrate", *argv])


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "calib.toml"
    path.write_text(CONFIG)
    return path


# -- the grid


def test_a_comma_list_reads_each_value_as_toml_a_bare_word_as_a_string() -> None:
    assert parse_axis("spread.base_bps=1, 2.5").values == (1, 2.5)
    assert parse_axis("skew.mode=none,linear").values == ("none", "linear")
    assert parse_axis("rounding.post_only=true,false").values == (True, False)


def test_a_range_is_n_values_evenly_spaced_integers_when_the_ends_are() -> None:
    assert parse_axis("spread.base_bps=0.5:3:6").values == (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
    assert parse_axis("spread.base_bps=0.1:0.3:3").values == (
        0.1,
        0.2,
        0.3,
    )  # not 0.30000000000000004
    assert parse_axis("sizing.levels=1:3:3").values == (1, 2, 3)
    assert parse_axis("skew.gamma=0.05:0.05:1").values == (0.05,)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("sprad.base_bps=1,2", "'sprad.base_bps' is not a strategy key"),
        ("spread=1", "'spread' is not a strategy key"),
        ("spread.base_bps", "expected PATH=VALUES"),
        ("spread.base_bps=1,,2", "an empty value"),
        ("spread.base_bps=1:2", "a range is lo:hi:n"),
        ("spread.base_bps=1:x:3", "two numbers and a count"),
        ("spread.base_bps=1,1.0", "a value is given twice"),
    ],
)
def test_a_grid_that_cannot_be_searched_is_named(spec: str, says: str) -> None:
    with pytest.raises(GridError, match=re.escape(says)) as info:
        parse_axis(spec)
    assert spec in str(info.value)


def test_a_value_the_config_refuses_is_found_before_anything_runs(config_file: Path) -> None:
    args = parse(str(config_file), "--grid", "spread.base_bps=1,-1", "--grid", "skew.mode=none")
    with pytest.raises(GridError, match=r"spread.base_bps=-1 .*for BTCUSDT: .*must be >= 0"):
        prepare(args)
    with pytest.raises(GridError, match=r"sizing.levels=1.5 .*expected an integer"):
        prepare(parse(str(config_file), "--grid", "sizing.levels=1,1.5"))


# -- configs


def test_a_symbol_alone_keeps_its_overrides_and_drops_the_others() -> None:
    raw = {
        "bot": {"name": "x", "symbols": ["BTCUSDT", "ETHUSDT"]},
        "overrides": {"BTCUSDT": {"sizing": {"levels": 2}}, "ETHUSDT": {"sizing": {"levels": 3}}},
    }
    alone = single_symbol(raw, "BTCUSDT")
    assert alone["bot"] == {"name": "x", "symbols": ["BTCUSDT"]}
    assert alone["overrides"] == {"BTCUSDT": {"sizing": {"levels": 2}}}
    pointed = with_point(alone, "BTCUSDT", (("sizing.shape_factor", 2.0), ("skew.gamma", 0.1)))
    assert pointed["overrides"]["BTCUSDT"] == {
        "sizing": {"levels": 2, "shape_factor": 2.0},
        "skew": {"gamma": 0.1},
    }
    assert raw["overrides"]["BTCUSDT"] == {"sizing": {"levels": 2}}  # the source is unchanged


def test_the_chosen_config_names_a_strategy_file_from_where_it_is_written(
    tmp_path: Path,
) -> None:
    source = tmp_path / "configs" / "bot.toml"
    source.parent.mkdir()
    (source.parent / "strategies").mkdir()
    (source.parent / "strategies" / "mine.toml").write_text('name = "mine"\n')
    source.write_text(
        '[bot]\nsymbols = ["BTCUSDT", "ETHUSDT"]\n[strategy]\nfile = "strategies/mine.toml"\n'
        '[overrides.ETHUSDT.sizing]\norder_size = "0.02"\n'
    )
    search = prepare(parse(str(source), "--grid", "spread.base_bps=3,4", "--eta", "2"))
    best = {"BTCUSDT": 1, "ETHUSDT": 0}  # made-up figures: no backtest runs here
    states = {
        symbol: run_search(
            search.plan, lambda run, s=symbol: {"net_bps": float(run.point == best[s])}
        )
        for symbol in search.symbols
    }
    out = tmp_path / "elsewhere" / "chosen.toml"
    out.parent.mkdir()
    text, digest = chosen_config(search, states, out)
    out.write_text(text)
    loaded = load_config(out)
    assert config_hash(loaded) == digest and f"Config hash {digest}" in text
    assert tomllib.loads(text)["strategy"] == {"file": "../configs/strategies/mine.toml"}
    assert loaded.strategy_for("BTCUSDT").spread.base_bps == 4
    assert loaded.strategy_for("ETHUSDT").spread.base_bps == 3
    assert (
        loaded.strategy_for("ETHUSDT").sizing.order_size
        == load_config(source).strategy_for("ETHUSDT").sizing.order_size
    )  # the source's own override kept
    assert loaded.strategy.name == "mine" and loaded.bot.symbols == ("BTCUSDT", "ETHUSDT")


def test_a_chosen_number_at_the_end_of_its_axis_is_noted() -> None:
    axes = [Axis("spread.base_bps", (1.0, 2.0, 3.0)), Axis("skew.mode", ("none", "linear"))]
    plan = Plan(grid(axes), eta=6)

    def chosen(best: int) -> list[str]:
        state = run_search(plan, lambda run: {"net_bps": float(run.point == best)})
        return edge_notes(axes, state.choice())

    assert chosen(5) == [
        "spread.base_bps = 3.0 is at the edge of its grid: the best may lie beyond"
    ]
    assert chosen(0)[0].startswith("spread.base_bps = 1.0 is at the edge")
    assert chosen(2) == []  # 2.0: inside; skew.mode is not a number
    two = [Axis("spread.base_bps", (1.0, 2.0))]
    state = run_search(Plan(grid(two)), lambda run: {"net_bps": float(run.point)})
    assert edge_notes(two, state.choice()) == []  # two values have no inside


# -- as a process


@pytest.fixture(scope="module")
def local(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny search, run once on one local worker process."""
    out = tmp_path_factory.mktemp("local")
    done = mmbot(
        "calibrate", str(config_file), *TINY, "--workers", "1",
        "--out", str(out / "chosen.toml"), "--picture", str(out / "curves.png"),
        "--report", str(out / "report.json"),
    )  # fmt: skip
    return {"done": done, "out": out}


def test_a_small_search_writes_a_config_that_loads_with_the_chosen_value(
    local: dict[str, Any],
) -> None:
    done, out = local["done"], local["out"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(re.findall(r"^  \.\.\. \[\d/6\] round [01] BTCUSDT", done.stdout, re.M)) == 6
    report = json.loads((out / "report.json").read_text())
    rounds = report["symbols"]["BTCUSDT"]["rounds"]
    assert [(len(r["ranking"]), r["seeds"], r["kept"]) for r in rounds] == [(4, 1, 2), (2, 2, 1)]
    chosen = rounds[-1]["ranking"][0]
    assert report["symbols"]["BTCUSDT"]["chosen"]["params"] == chosen["params"]
    text = (out / "chosen.toml").read_text()
    value = tomllib.loads(text)["overrides"]["BTCUSDT"]["spread"]["base_bps"]
    assert value == chosen["params"]["spread.base_bps"]
    checked = mmbot("config", "check", str(out / "chosen.toml"))
    assert checked.returncode == 0, checked.stderr
    digest = re.search(r"^# Config hash ([0-9a-f]{12}) ", text, re.M)
    assert digest and f"hash {digest.group(1)})" in checked.stdout
    assert "# Chosen by `mmbot calibrate` (mmbot " in text and "config schema version 1" in text
    assert re.search(r"^#     net_bps -?[\d.e+-]+ \[.*\] \(n=2\)$", text, re.M)


def test_the_picture_is_a_png(local: dict[str, Any]) -> None:
    assert (local["out"] / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--grid", "spread.base_bps=1,-2"], "spread.base_bps=-2 for BTCUSDT"),
        (["--grid", "sprad.base_bps=1"], "'sprad.base_bps' is not a strategy key"),
    ],
)
def test_a_bad_grid_exits_2_naming_it_before_any_run(
    config_file: Path, args: list[str], says: str
) -> None:
    done = mmbot("calibrate", str(config_file), *args, "--workers", "1")
    assert done.returncode == 2
    assert says in done.stderr and "[1/" not in done.stdout


def test_on_a_dask_cluster_it_chooses_the_same(
    local: dict[str, Any], config_file: Path, cluster: Any, tmp_path: Path
) -> None:
    done = mmbot(
        "calibrate", str(config_file), *TINY, "--scheduler", cluster.scheduler_address,
        "--out", str(tmp_path / "chosen.toml"), "--picture", str(tmp_path / "curves.svg"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"on the Dask cluster at {cluster.scheduler_address}" in done.stdout
    assert (tmp_path / "chosen.toml").read_text() == (local["out"] / "chosen.toml").read_text()
    svg = (tmp_path / "curves.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg


def test_with_no_point_within_the_constraints_it_exits_1_and_writes_no_config(
    config_file: Path, tmp_path: Path
) -> None:
    done = mmbot(
        "calibrate", str(config_file), "--grid", "spread.base_bps=1,2", "--seeds", "1",
        "--eta", "2", "--duration", "20", "--workers", "1", "--max-inventory-variance", "1e-15",
        "--out", str(tmp_path / "chosen.toml"), "--report", str(tmp_path / "report.json"),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no point met the constraints for BTCUSDT: no config written" in done.stdout
    assert "INFEASIBLE: inventory_variance" in done.stdout
    assert not (tmp_path / "chosen.toml").exists()
    chosen = json.loads((tmp_path / "report.json").read_text())["symbols"]["BTCUSDT"]["chosen"]
    assert not chosen["feasible"] and chosen["violations"][0].startswith("inventory_variance")
