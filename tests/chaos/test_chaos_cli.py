"""``mmbot chaos run`` and ``mmbot chaos list`` as a user runs them: real processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def mmbot(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmbot", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_suite_passes_prints_its_verdicts_and_writes_its_report(tmp_path: Path) -> None:
    done = mmbot("chaos", "run", "chaos/order_latency_spike.toml", "--report", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "faults: latency 300 ms + 0..100 ms on orders, from 10 s to 40 s" in out
    assert "no_orphan_orders" in out and re.search(r"deterministic_replay +ok", out)
    assert "PASS: order_latency_spike seed 1" in out
    data = json.loads((tmp_path / "order_latency_spike-seed1.json").read_text())
    assert data["passed"] and data["digest"] == data["replay_digest"]
    assert data["digest"][:16] in out
    assert set(data["invariants"]) >= {"no_orphan_orders", "ledger_matches_exchange"}
    picture = tmp_path / "order_latency_spike-seed1.png"
    assert f"timeline: {picture}" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000


def test_a_bad_scenario_exits_2_naming_the_field_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('symbols = ["BTCUSDT"]\n[[faults]]\nkind = "latency"\ndelay = "fast"\n')
    good = ROOT / "chaos" / "order_latency_spike.toml"
    done = mmbot("chaos", "run", str(good), str(bad))
    assert done.returncode == 2
    assert "bad.toml: faults[0]: delay: expected a time" in done.stderr
    assert "run 1" not in done.stdout  # nothing ran, the good one neither


def test_list_names_each_suite_and_its_faults() -> None:
    done = mmbot("chaos", "list")
    assert done.returncode == 0, done.stderr
    assert "chaos/order_latency_spike.toml: order requests held" in done.stdout
    assert "faults: latency 300 ms" in done.stdout
