"""Loopback mode: the exchange on real 127.0.0.1 sockets, in-test and as a process."""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from mmbot.model import Side
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "serve-key"
API_SECRET = "serve-secret-do-not-log"


def signed(params: Mapping[str, object], timestamp: int) -> str:
    query = urlencode({**params, "timestamp": timestamp})
    return f"{query}&signature={sign(API_SECRET, query)}"


async def test_orders_depth_diffs_and_user_data_over_real_sockets() -> None:
    from mmbot.clock import EpochClock

    config = ExchangeConfig(symbols=("BTCUSDT",), seed=5, api_key=API_KEY, api_secret=API_SECRET)
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        assert info.rest_port > 0 and info.ws_port > 0
        headers = {"X-MBX-APIKEY": API_KEY}
        async with (
            httpx.AsyncClient(base_url=info.rest_url, headers=headers) as http,
            open_websocket_url(f"{info.stream_url}/ws/btcusdt@depth@100ms") as depth_ws,
            open_websocket_url(info.ws_api_url) as api_ws,
        ):
            params: dict[str, object] = {"apiKey": API_KEY, "timestamp": exchange.now_ms()}
            params["signature"] = sign(API_SECRET, ws_signing_payload(params))
            await api_ws.send_message(
                json.dumps(
                    {"id": 1, "method": "userDataStream.subscribe.signature", "params": params}
                )
            )
            assert json.loads(await api_ws.get_message())["status"] == 200

            # Place and cancel an order over signed REST; the user stream reports both.
            bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
            assert bid is not None
            order = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.01",
                "price": str(bid - 500),
                "newClientOrderId": "real-1",
            }
            placed = await http.post(f"/api/v3/order?{signed(order, exchange.now_ms())}")
            assert placed.status_code == 200, placed.text
            cancel = {"symbol": "BTCUSDT", "origClientOrderId": "real-1"}
            cancelled = await http.delete(f"/api/v3/order?{signed(cancel, exchange.now_ms())}")
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELED"
            seen: list[str] = []
            with trio.fail_after(10):
                while "CANCELED" not in seen:
                    event = json.loads(await api_ws.get_message())["event"]
                    if event["e"] == "executionReport" and "real-1" in (event["c"], event["C"]):
                        seen.append(event["X"])
            assert seen[0] == "NEW"

            # Snapshot-and-diff: the local book ends equal to the exchange's book.
            buffered = [json.loads(await depth_ws.get_message())]
            snapshot = (
                await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5000})
            ).json()
            while snapshot["lastUpdateId"] < buffered[0]["U"]:
                snapshot = (
                    await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5000})
                ).json()
            book = {(Side.BUY, Decimal(p)): Decimal(q) for p, q in snapshot["bids"]}
            book |= {(Side.SELL, Decimal(p)): Decimal(q) for p, q in snapshot["asks"]}
            local_id = snapshot["lastUpdateId"]
            matched = False
            with trio.fail_after(10):
                while not matched:
                    diff = buffered.pop(0) if buffered else json.loads(await depth_ws.get_message())
                    if diff["u"] <= local_id:
                        continue
                    assert diff["U"] <= local_id + 1, "gapped"
                    for side, key in ((Side.BUY, "b"), (Side.SELL, "a")):
                        for p, q in diff[key]:
                            book[(side, Decimal(p))] = Decimal(q)
                    book = {k: v for k, v in book.items() if v}
                    local_id = diff["u"]
                    truth = exchange.engine.depth("BTCUSDT", 5000)
                    if truth.last_update_id == local_id:
                        expected = {(Side.BUY, p): q for p, q in truth.bids}
                        expected |= {(Side.SELL, p): q for p, q in truth.asks}
                        assert book == expected
                        matched = True
        nursery.cancel_scope.cancel()


# ---- the process ------------------------------------------------------------------------


def _start(*extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMBOT_API_", "MMBOT_SIM_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "mmbot", "exchange", "serve", "--seed", "3", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _read_banner(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    text = b""
    while b"Ctrl-C" not in text:
        if not selector.select(timeout_s):
            proc.kill()
            pytest.fail(f"no banner; got {text!r}")
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            pytest.fail(f"process ended early: {proc.stderr.read() if proc.stderr else ''!r}")
        text += chunk
    return text.decode()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_process_prints_urls_answers_and_exits_cleanly_on_signal(stop: int) -> None:
    proc = _start("--rest-port", "0", "--ws-port", "0")
    try:
        banner = _read_banner(proc)
        rest = re.search(r"REST base:\s+(\S+)", banner)
        assert rest and re.search(r"WS API:\s+ws://127\.0\.0\.1:\d+/ws-api/v3", banner)
        secret = re.search(r"API secret:\s+(\S+)", banner)
        assert secret, "generated credentials are shown once"
        assert re.search(r"History:.* 50000\.\.100000 ", banner), "the default bound is shown"
        answer = httpx.get(f"{rest.group(1)}/api/v3/time", timeout=10)
        assert answer.status_code == 200 and "serverTime" in answer.json()
        assert secret.group(1) not in answer.text
        proc.send_signal(stop)
        out_bytes, err_bytes = proc.communicate(timeout=20)
        out, err = out_bytes.decode(), err_bytes.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in out
    assert secret.group(1) not in err


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["--symbols", "btc"], "symbol"),
        (["--rest-port", "70000"], "port"),
        (["--api-key", "k"], "both"),
        (["--seed", "x"], "seed"),
        (["--history-max-bulk", "0"], "history"),
        (["--order-latency", "-5"], "milliseconds"),
        (["--order-latency", "fast"], "milliseconds"),
        (["--order-latency-jitter", "nan"], "milliseconds"),
        (["--order-latency", "60001"], "milliseconds"),
    ],
)
def test_bad_arguments_are_refused_before_binding(args: list[str], complaint: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mmbot", "exchange", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert complaint in proc.stderr.lower()
    assert "Traceback" not in proc.stderr and "REST base" not in proc.stdout


def _parsed_serve_config(*args: str) -> ExchangeConfig:
    import argparse

    from mmbot.sim.serve_cli import add_serve_parser, build_config

    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers())
    config: ExchangeConfig = build_config(parser.parse_args(["serve", *args])).exchange_config
    return config


def test_serve_bounds_its_history_by_default() -> None:
    from mmbot.sim.serve_cli import DEFAULT_HISTORY_MAX_BULK

    config = _parsed_serve_config()
    assert config.history_max_bulk == DEFAULT_HISTORY_MAX_BULK
    assert config.history_simulator_accounts is False


def test_serve_history_bound_can_be_set() -> None:
    assert _parsed_serve_config("--history-max-bulk", "500").history_max_bulk == 500


@pytest.mark.parametrize("flag", ["--rest-port", "--ws-port"])
def test_a_busy_port_is_a_clear_error_naming_its_flag(flag: str) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = str(busy.getsockname()[1])
    other = "--ws-port" if flag == "--rest-port" else "--rest-port"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mmbot", "exchange", "serve", flag, port, other, "0"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        busy.close()
    assert proc.returncode == 2
    assert f"{flag}: cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr and "REST base" not in proc.stdout


def test_the_default_ports_are_the_loopback_configs() -> None:
    config = _parsed_serve_args()
    assert (config.rest_port, config.ws_port) == (8300, 8301)


def _parsed_serve_args() -> argparse.Namespace:
    from mmbot.sim.serve_cli import add_serve_parser

    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers())
    return parser.parse_args(["serve"])


def test_serve_has_no_fault_by_default() -> None:
    assert not _parsed_serve_config().faults


def test_order_latency_flags_make_a_latency_fault_on_order_requests() -> None:
    from mmbot.sim.faults import ORDER_OPERATIONS, Latency

    config = _parsed_serve_config("--order-latency", "200", "--order-latency-jitter", "50")
    (fault,) = config.faults.faults
    assert isinstance(fault, Latency)
    assert (fault.delay, fault.jitter) == (0.2, 0.05)
    assert fault.target.operations == ORDER_OPERATIONS
    assert config.faults.describe() == "latency 200 ms + 0..50 ms on orders"


def test_a_faults_file_adds_its_faults_to_the_plan(tmp_path: Path) -> None:
    from mmbot.sim.faults import Error, Latency, WsStall

    plan = tmp_path / "faults.toml"
    plan.write_text(
        '[[faults]]\nkind = "error"\nstatus = 503\ncode = -1008\nstart = 5\nduration = 10\n\n'
        '[[faults]]\nkind = "ws_stall"\nstart = "30s"\n'
    )
    config = _parsed_serve_config("--order-latency", "100", "--faults", str(plan))
    latency, error, stall = config.faults.faults
    assert isinstance(latency, Latency) and isinstance(error, Error)
    assert (error.start, error.duration) == (5.0, 10.0)
    assert isinstance(stall, WsStall) and stall.duration is None  # no duration: for good


@pytest.mark.parametrize(
    "content, complaint",
    [
        ('[[faults]]\nkind = "meteor"\n', "faults[0]: kind"),
        ('[[faults]]\nkind = "crash_bot"\nstart = 3\n', "the chaos runner's fault"),
        ("speed = 3\n", "only [[faults]] tables"),
        ("[[faults]\n", "not valid toml"),
    ],
)
def test_a_bad_faults_file_is_refused_before_binding(
    tmp_path: Path, content: str, complaint: str
) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "mmbot", "exchange", "serve", "--faults", str(plan)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stderr
    assert complaint in proc.stderr.lower() and str(plan) in proc.stderr
    assert "Traceback" not in proc.stderr and "REST base" not in proc.stdout
