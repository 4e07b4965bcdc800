"""Live mode: ``kill_bot`` and ``modes`` in scenarios, what the live runner sends and reads,
and one short live run end to end as a user runs it (the exchange and the bot as processes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mmbot.chaos.live import fault_tables, first_subscription_ms
from mmbot.chaos.runner import bot_config_table, run_scenario
from mmbot.chaos.scenario import (
    Kill,
    ScenarioError,
    fault_plan_from_tables,
    load_scenario,
    scenario_from_dict,
)
from mmbot.config import dumps_toml
from mmbot.sim.history import History

ROOT = Path(__file__).parents[2]
BASE: dict[str, Any] = {"symbols": ["BTCUSDT"], "duration": "20s", "heal": "10s"}
KILL = {"kind": "kill_bot", "start": "5s", "restart_after": "1s"}


def test_kill_bot_is_a_live_scenarios_fault() -> None:
    scenario = scenario_from_dict({**BASE, "modes": ["live"], "faults": [KILL]})
    assert scenario.kills == (Kill(5.0, 1.0),) and scenario.crashes == scenario.kills
    assert scenario.modes == ("live",) and "SIGKILL" in scenario.describe_faults()


def test_kill_bot_in_simulated_mode_points_to_crash_bot() -> None:
    with pytest.raises(ScenarioError, match=r"kill_bot .* live mode only.*crash_bot"):
        scenario_from_dict({**BASE, "faults": [KILL]})  # modes default to ["sim"]
    live_only = scenario_from_dict({**BASE, "modes": ["live"], "faults": [KILL]})
    with pytest.raises(ScenarioError, match=r"kill_bot .* live mode only .*crash_bot"):
        run_scenario(live_only)


def test_crash_bot_in_live_mode_points_to_kill_bot() -> None:
    crash = {**KILL, "kind": "crash_bot"}
    with pytest.raises(ScenarioError, match=r'simulated mode only.*kind = "kill_bot"'):
        scenario_from_dict({**BASE, "modes": ["sim", "live"], "faults": [crash]})


@pytest.mark.parametrize("modes", [[], ["fast"], ["sim", "sim"], "live"])
def test_modes_must_be_known_and_distinct(modes: object) -> None:
    with pytest.raises(ScenarioError, match="modes: expected a non-empty list"):
        scenario_from_dict({**BASE, "modes": modes})


def test_a_scenario_of_one_mode_does_not_run_in_the_other() -> None:
    with pytest.raises(ScenarioError, match="runs in sim mode only, not live"):
        from mmbot.chaos.live import run_live

        run_live(scenario_from_dict(BASE))


def test_the_admin_api_gets_the_faults_as_written_with_their_durations() -> None:
    scenario = scenario_from_dict(
        {
            **BASE,
            "modes": ["live"],
            "faults": [
                {"kind": "latency", "delay": "200ms", "start": "4s"},  # to the phase's end
                KILL,
                {"kind": "lost_ack", "mode": "unknown", "start": 2, "duration": 3},
            ],
        }
    )
    tables = fault_tables(scenario)
    assert [t["kind"] for t in tables] == ["latency", "lost_ack"]
    assert tables[0]["duration"] == 16.0 and tables[0]["delay"] == "200ms"
    assert fault_plan_from_tables(tables) == scenario.faults


def test_the_bot_config_is_written_as_toml_that_reads_back_the_same() -> None:
    scenario = load_scenario(ROOT / "chaos" / "kill_during_cancels.toml")
    table = bot_config_table(scenario)
    table["venue"] = {"kind": "loopback", "rest_port": 1234, "ws_port": 1235}
    table["odd"] = {'key "quoted"': ["a\nb", 1.5, True, {"x": "é"}]}
    assert tomllib.loads(dumps_toml(table)) == table


def test_a_fresh_bot_answers_for_the_fills_from_its_first_subscription() -> None:
    history = History()
    subscribe = "userDataStream.subscribe.signature"

    def request(time_ms: int, method: str, status: int = 200) -> None:
        history.append_request(
            time_ms, transport="ws_api", method=method, path=method, account="user", status=status
        )

    request(100, subscribe)  # an earlier run's
    request(250, subscribe, status=400)  # refused
    request(300, "time")
    request(320, subscribe)
    assert first_subscription_ms(history, "user", 200) == 320
    assert first_subscription_ms(history, "user", 400) == 400  # none since: its start


def test_a_short_live_run_with_a_kill_passes_end_to_end(tmp_path: Path) -> None:
    """The exchange and the bot as processes for 18 s of real time: a SIGKILL at 6 s while
    cancels are held, a fresh process 1 s later, every invariant checked over the history
    read back through the admin API (every invariant a kill lets it keep)."""
    scenario = tmp_path / "live_kill.toml"
    scenario.write_text(
        """
name = "live_kill"
modes = ["live"]
# not position_within_limit: a restarted bot does not know its predecessor's position
invariants = [
    "no_orphan_orders", "no_duplicate_orders", "quotes_never_cross", "ledger_matches_exchange",
    "resumes_after_heal", "no_ban", "clean_exit", "cancel_all_complete", "no_quotes_on_stale_book",
    "no_request_during_retry_after", "symbol_isolation", "deterministic_replay",
]
symbols = ["BTCUSDT"]
seed = 3
duration = "11s"
heal = "7s"
[[faults]]
kind = "latency"
target = ["order.cancel", "order.cancelReplace"]
start = "2s"
duration = "8s"
delay = "800ms"
[[faults]]
kind = "kill_bot"
start = "6s"
restart_after = "1s"
[bot.strategy.spread]
base_bps = 1.0
maker_fee_bps = 0.0
min_edge_bps = 0.5
"""
    )
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "mmbot", "chaos", "run", str(scenario), "--mode", "live",
         "--report", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "(live: processes in real time)" in out and "PASS: live_kill seed 3" in out
    assert "kill_bot: SIGKILL to bot 0 at 6 s" in out and "bot 1 started" in out
    assert re.search(r"deterministic_replay +skipped: live mode", out)
    assert re.search(r"no_quotes_on_stale_book +skipped: live mode does not record", out)
    data = json.loads((report / "live_kill-seed3.json").read_text())
    assert data["passed"] and data["mode"] == "live" and "deterministic_replay" in data["skipped"]
    work = report / "live_kill-seed3-live"
    # the first bot had no shutdown path (no summary); the second stopped on SIGINT
    assert not (work / "bot-0.json").exists()
    final = json.loads((work / "bot-1.json").read_text())
    assert final["exit_code"] == 0 and final["orders_left"] == []
    entries = [json.loads(line) for line in (work / "history.jsonl").read_text().splitlines()]
    runs = {
        e["payload"]["client_order_id"].split("-")[1]
        for e in entries
        if e["kind"] == "execution" and e["payload"]["client_order_id"].startswith("mm-")
    }
    assert final["run_id"] in runs and len(runs) == 2  # both processes traded
    [killed] = [e["payload"] for e in entries if e["payload"].get("name") == "kill_bot"]
    assert killed["detail"] == f"run {(runs - {final['run_id']}).pop()} killed"
    assert "API secret" not in out and not list(work.glob("*secret*"))


def test_a_sim_run_skips_a_live_only_suite_and_says_why() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mmbot", "chaos", "run", "chaos/kill_during_cancels.toml"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "skipped: chaos/kill_during_cancels.toml: faults: kill_bot" in done.stdout
    assert "crash_bot" in done.stdout
    assert "no scenario given runs in sim mode" in done.stderr
