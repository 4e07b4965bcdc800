"""``mmbot backtest`` as a person runs it: a process, its tables, its JSON, its suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmbot.config import load_config, normalized
from mmbot.edge.backtest import BacktestTask, run_task

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """\
version = 1
[bot]
symbols = ["BTCUSDT"]
[sim]
maker_fee_bps = 0
taker_fee_bps = 2
[strategy.spread]
base_bps = {base}
maker_fee_bps = 0
min_edge_bps = 0.25
[metrics]
listen = ""
[log]
level = "warning"
"""


def _configs(folder: Path) -> tuple[Path, Path]:
    narrow, wide = folder / "narrow.toml", folder / "wide.toml"
    narrow.write_text(CONFIG.format(base=1.0))
    wide.write_text(CONFIG.format(base=2.0))
    return narrow, wide


def _mmbot(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmbot", "backtest", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_one_run_is_deterministic_and_measured_from_the_venue(tmp_path: Path) -> None:
    narrow, _ = _configs(tmp_path)
    task = BacktestTask(0, "narrow", normalized(load_config(narrow)), seed=3, duration=30.0)
    first, second = run_task(task), run_task(task)
    assert first["digest"] == second["digest"]
    assert first["total"] == second["total"]
    total = first["total"]
    assert total["fills"] > 0 and total["volume"] > 0
    assert first["orders_left"] == []  # the stop cancelled everything
    assert set(first["symbols"]) == {"BTCUSDT"}


def test_two_configs_over_seeds_give_tables_a_comparison_and_json(tmp_path: Path) -> None:
    narrow, wide = _configs(tmp_path)
    out = tmp_path / "bt.json"
    done = _mmbot(narrow, wide, "--seeds", "2", "--duration", "20", "--workers", "1",
                  "--json", out, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[4/4]" in done.stdout  # a progress line per run
    assert "narrow:" in done.stdout and "wide:" in done.stdout
    assert "wide - narrow (paired by seed, total)" in done.stdout
    data = json.loads(out.read_text())
    assert [(r["label"], r["seed"]) for r in data["runs"]] == [
        ("narrow", 1), ("narrow", 2), ("wide", 1), ("wide", 2)
    ]  # fmt: skip
    net = data["estimates"]["wide"]["total"]["net_bps"]
    assert net["n"] == 2 and net["ci95_low"] <= net["mean"] <= net["ci95_high"]
    assert "net_bps" in data["differences_from_first"]["wide"]


def test_a_bad_config_exits_2_naming_the_field_before_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.format(base=1.0).replace("taker_fee_bps = 2", "taker_fee_bps = -1"))
    done = _mmbot(bad, "--seeds", "1", "--duration", "10", cwd=tmp_path)
    assert done.returncode == 2
    assert "sim.taker_fee_bps: must be within 0..100 bps" in done.stderr
    assert "runs on" not in done.stdout


def _suite(folder: Path, tolerance: str = "net_bps = 0.0\ntaker_share = 0.0") -> Path:
    _configs(folder)
    suite = folder / "suite.toml"
    suite.write_text(
        'configs = ["narrow.toml", "wide.toml"]\nseeds = [1, 2]\nduration = 20\n'
        f'baseline = "baseline.json"\n[tolerance]\n{tolerance}\n'
    )
    return suite


def test_the_suite_writes_its_baseline_then_holds_to_it(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    done = _mmbot("--suite", suite, "--workers", "2", cwd=tmp_path)
    assert done.returncode == 1 and "--update-baseline" in done.stdout  # none yet
    made = _mmbot("--suite", suite, "--update-baseline", "--workers", "2", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    assert set(baseline["configs"]) == {"narrow", "wide"}
    assert len(baseline["configs"]["wide"]["config_hash"]) == 12
    again = _mmbot("--suite", suite, "--workers", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    assert "no figure dropped" in again.stdout


@pytest.mark.parametrize("figure", ["net_bps"])
def test_a_drop_beyond_tolerance_fails_the_suite_naming_it(tmp_path: Path, figure: str) -> None:
    suite = _suite(tmp_path)
    assert _mmbot("--suite", suite, "--update-baseline", cwd=tmp_path).returncode == 0
    path = tmp_path / "baseline.json"
    baseline = json.loads(path.read_text())
    baseline["configs"]["wide"]["figures"]["total"][figure] += 0.5  # the past was better
    path.write_text(json.dumps(baseline))
    done = _mmbot("--suite", suite, cwd=tmp_path)
    assert done.returncode == 1
    assert f"wide total {figure} fell from" in done.stdout


def test_a_changed_config_is_not_judged_against_an_old_baseline(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    assert _mmbot("--suite", suite, "--update-baseline", cwd=tmp_path).returncode == 0
    (tmp_path / "wide.toml").write_text(CONFIG.format(base=2.5))
    done = _mmbot("--suite", suite, cwd=tmp_path)
    assert done.returncode == 1
    assert "wide: config" in done.stdout and "--update-baseline" in done.stdout


def test_a_bad_suite_exits_2_naming_each_problem(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        "configs = []\nseeds = [1]\nduration = -1\n[tolerance]\n"
        'net_bps = -1\nvolume = 1\ntaker_share = "x%"\n'
    )
    done = _mmbot("--suite", suite, cwd=tmp_path)
    assert done.returncode == 2
    for problem in (
        "configs:",
        "duration:",
        "baseline:",
        "tolerance.net_bps:",
        "tolerance.volume:",
    ):
        assert problem in done.stderr


def test_two_runs_in_one_process_at_once_give_what_each_gives_alone(tmp_path: Path) -> None:
    # trio's scheduler RNG is process-wide: a Dask worker with threads must not mix runs
    import threading

    narrow, _ = _configs(tmp_path)
    data = normalized(load_config(narrow))
    tasks = [
        BacktestTask(i, "narrow", data, seed=seed, duration=15.0) for i, seed in ((0, 1), (1, 2))
    ]
    alone = [run_task(task)["digest"] for task in tasks]
    together: dict[int, str] = {}

    def run(task: BacktestTask) -> None:
        together[task.index] = run_task(task)["digest"]

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [together[0], together[1]] == alone


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--duration", "inf"), "--duration > 0 (finite)"),
        (("--workers", "0"), "--workers must be >= 1"),
        (("--json", "/no/such/folder/x.json"), "--json: no folder"),
    ],
)
def test_bad_arguments_exit_2_before_running(
    tmp_path: Path, args: tuple[str, ...], problem: str
) -> None:
    narrow, _ = _configs(tmp_path)
    done = _mmbot(narrow, "--seeds", "1", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert problem in done.stderr
    assert "runs on" not in done.stdout


def test_a_config_missing_from_the_baseline_is_not_judged(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    assert _mmbot("--suite", suite, "--update-baseline", cwd=tmp_path).returncode == 0
    (tmp_path / "third.toml").write_text(CONFIG.format(base=3.0))
    text = suite.read_text().replace('"wide.toml"]', '"wide.toml", "third.toml"]')
    suite.write_text(text)
    done = _mmbot("--suite", suite, cwd=tmp_path)
    assert done.returncode == 1
    assert "third: not in the baseline" in done.stdout
