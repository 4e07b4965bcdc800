"""`mmbot run` as a process: sim mode, bad input, and against `mmbot exchange serve`."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from process_kit import (
    BOT_ENV,
    ENV,
    Exchange,
    loopback_config,
    mmbot,
    read_until,
    wait_for,
)
from prometheus_client.parser import text_string_to_metric_families


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmbot", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or ENV,
    )


def test_a_sim_run_quotes_stops_at_its_duration_and_writes_its_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    done = run(
        "run", "--mode", "sim", "--seed", "4", "--duration", "120", "--no-dashboard",
        "--metrics-listen", "", "--summary-json", str(summary),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads(summary.read_text())
    assert data["exit_code"] == 0 and data["mode"] == "sim" and data["orders_left"] == []
    assert set(data["symbols"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"}
    assert all(s["decisions"] > 0 and s["actions"] > 0 for s in data["symbols"].values())
    assert "halts: none" in done.stdout


class Listener:
    """A TCP listener that counts the connections made to it (to prove none was)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def accepted(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


def test_a_bad_config_exits_2_naming_every_problem_before_contacting_anything(
    tmp_path: Path,
) -> None:
    listener = Listener()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f"""
[bot]
symbols = ["BTCUSDT"]
colour = "blue"
[venue]
kind = "loopback"
rest_port = {listener.port}
ws_port = {listener.port}
request_timeout = "soon"
[orders]
budget_fraction = 3.0
"""
    )
    done = run("run", "--config", str(bad), env=BOT_ENV)
    assert done.returncode == 2
    assert "colour" in done.stderr and "bot:" in done.stderr
    assert "venue.request_timeout:" in done.stderr
    assert "orders.budget_fraction: must be in (0, 1]" in done.stderr
    assert "Traceback" not in done.stderr
    assert listener.accepted() == 0


def test_missing_credentials_exit_2_naming_the_variables_and_nothing_is_contacted(
    tmp_path: Path,
) -> None:
    listener = Listener()
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[venue]\nkind = "loopback"\nrest_port = {listener.port}\nws_port = {listener.port}\n'
    )
    env = {k: v for k, v in ENV.items() if not k.startswith("MMBOT_API")}
    done = run("run", "--config", str(config), env=env)
    assert done.returncode == 2
    assert "MMBOT_API_KEY" in done.stderr and "MMBOT_API_SECRET" in done.stderr
    assert listener.accepted() == 0


def test_config_check_and_show(tmp_path: Path) -> None:
    ok = run("config", "check", "configs/paper.toml")
    assert ok.returncode == 0 and "ok (version 1, hash " in ok.stdout
    shown = run("config", "show", "configs/loopback.toml")
    assert shown.returncode == 0
    assert json.loads(shown.stdout.split("\n", 1)[1])["venue"]["kind"] == "loopback"
    bad = tmp_path / "bad.toml"
    bad.write_text("[venue]\nkind = 5\n")
    refused = run("config", "check", str(bad))
    assert refused.returncode == 2 and "venue.kind:" in refused.stderr


@pytest.mark.slow
def test_against_serve_sigterm_exits_0_leaving_no_order_and_metrics_are_scraped(
    tmp_path: Path,
) -> None:
    exchange = Exchange()
    bot = None
    try:
        config = loopback_config(tmp_path / "bot.toml", exchange, metrics="127.0.0.1:0")
        bot = mmbot("run", "--config", str(config), "--no-dashboard", env=BOT_ENV)
        err = read_until(bot, r"serving /metrics url=(\S+)", stderr=True)
        url = re.search(r"serving /metrics url=(\S+)", err)
        assert url
        wait_for(lambda: len(exchange.open_orders()) == 4)
        families = {f.name: f for f in text_string_to_metric_families(httpx.get(url.group(1)).text)}
        assert "mmbot_open_orders" in families and "mmbot_stage_seconds" in families
        opened = [s for s in families["mmbot_open_orders"].samples if s.labels["state"] == "open"]
        assert sum(s.value for s in opened) == 4
        bot.send_signal(signal.SIGTERM)
        out, err_rest = bot.communicate(timeout=60)
        assert bot.returncode == 0, err_rest.decode()[-2000:]
        assert b"Traceback" not in err_rest
        assert exchange.open_orders() == []
        assert API_SECRET_TEXT not in (out + err_rest).decode()
    finally:
        if bot is not None and bot.poll() is None:
            bot.kill()
        exchange.stop()


API_SECRET_TEXT = "process-test-secret-0123456789"


@pytest.mark.slow
def test_a_killed_bot_leaves_no_orphan_once_the_next_one_has_started(tmp_path: Path) -> None:
    exchange = Exchange()
    first = second = None
    try:
        config = loopback_config(tmp_path / "bot.toml", exchange)
        first = mmbot("run", "--config", str(config), "--no-dashboard", env=BOT_ENV)
        wait_for(lambda: len(exchange.open_orders()) == 4)
        orphans = set(exchange.open_orders())
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert set(exchange.open_orders()) == orphans  # killed: its orders are left behind
        second = mmbot("run", "--config", str(config), "--no-dashboard", env=BOT_ENV)
        wait_for(
            lambda: len(exchange.open_orders()) == 4 and not orphans & set(exchange.open_orders())
        )
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=60)
        assert second.returncode == 0
        assert exchange.open_orders() == []
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        exchange.stop()


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    families = text_string_to_metric_families(httpx.get(url, timeout=10).text)
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in families}


def _resting(url: str) -> float:
    samples = _scrape(url).get("mmbot_open_orders", [])
    return sum(v for labels, v in samples if labels["state"] == "open")


@pytest.mark.slow
def test_operators_halt_and_resume_every_symbol_with_signals() -> None:
    bot = mmbot("run", "--no-dashboard", "--metrics-listen", "127.0.0.1:0", "--seed", "3")
    try:
        err = read_until(bot, r"serving /metrics url=(\S+)", stderr=True)
        found = re.search(r"serving /metrics url=(\S+)", err)
        assert found
        url = found.group(1)
        wait_for(lambda: _resting(url) == 8)
        bot.send_signal(signal.SIGUSR2)
        wait_for(lambda: _resting(url) == 0)
        halted = _scrape(url)["mmbot_halted"]
        assert {labels["symbol"] for labels, v in halted if v == 1} == {
            "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT",
        }  # fmt: skip
        assert all(labels["reason"] == "operator" for labels, v in halted if v == 1)
        bot.send_signal(signal.SIGUSR1)
        wait_for(lambda: _resting(url) == 8)
        bot.send_signal(signal.SIGINT)
        out, rest = bot.communicate(timeout=60)
        assert bot.returncode == 0, rest.decode()[-2000:]
        assert b"halts: none" in out
    finally:
        if bot.poll() is None:
            bot.kill()
