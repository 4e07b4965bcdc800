"""`mmbot exchange serve` under abuse: bounded memory by configuration, a spill file, a
connection cap that refuses clearly, read timeouts, and credentials from the environment."""

from __future__ import annotations

import argparse
import json
from collections.abc import MutableMapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from trio_websocket import ConnectionRejected, open_websocket_url

from mmbot.clock import EpochClock
from mmbot.sim.connections import ConnectionGate
from mmbot.sim.dialect import RestRequest, RestResponse
from mmbot.sim.exchange import Exchange, ExchangeConfig, StreamSettings
from mmbot.sim.rest_app import build_rest_app
from mmbot.sim.serve import HistorySpill, ServeInfo, serve_exchange
from mmbot.sim.serve_cli import (
    DEFAULT_CLOSED_ORDER_MAX_AGE_S,
    DEFAULT_CLOSED_ORDERS,
    DEFAULT_HISTORY_MAX_RECORDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_READ_TIMEOUT_S,
    DEFAULT_TRADES_KEPT,
    add_serve_parser,
    build_config,
)

CREDENTIAL_VARIABLES = (
    "MMBOT_SIM_API_KEY",
    "MMBOT_SIM_API_SECRET",
    "MMBOT_API_KEY",
    "MMBOT_API_SECRET",
)


def parsed(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers())
    return build_config(parser.parse_args(["serve", *args]))


@pytest.fixture(autouse=True)
def no_credentials_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# ---- configuration -------------------------------------------------------------------------


def test_serve_bounds_every_kind_of_memory_by_default() -> None:
    args = parsed()
    config: ExchangeConfig = args.exchange_config
    assert config.history_max_records == DEFAULT_HISTORY_MAX_RECORDS
    assert config.closed_orders_kept == DEFAULT_CLOSED_ORDERS
    assert config.closed_order_max_age_s == DEFAULT_CLOSED_ORDER_MAX_AGE_S
    assert config.trades_kept == DEFAULT_TRADES_KEPT
    assert config.streams.handshake_timeout_s == DEFAULT_READ_TIMEOUT_S
    assert (args.max_connections, args.read_timeout) == (DEFAULT_MAX_CONNECTIONS, 10.0)
    assert args.history_spill is None


def test_the_bounds_and_limits_can_be_set(tmp_path: Path) -> None:
    spill = str(tmp_path / "h.jsonl")
    args = parsed(
        "--history-max-records", "7", "--closed-orders", "3", "--closed-order-max-age", "60",
        "--max-connections", "5", "--read-timeout", "2.5", "--history-spill", spill,
        "--trades-kept", "4",
    )  # fmt: skip
    config: ExchangeConfig = args.exchange_config
    assert (config.history_max_records, config.closed_orders_kept) == (7, 3)
    assert (config.closed_order_max_age_s, config.trades_kept) == (60.0, 4)
    assert (args.max_connections, args.read_timeout, args.history_spill) == (5, 2.5, spill)


@pytest.mark.parametrize(
    "flags",
    [
        ("--history-max-records", "0"),
        ("--closed-orders", "0"),
        ("--trades-kept", "-1"),
        ("--closed-order-max-age", "-1"),
        ("--max-connections", "x"),
        ("--read-timeout", "nan"),
    ],
)
def test_bad_bounds_are_refused(flags: tuple[str, str]) -> None:
    with pytest.raises(SystemExit):
        parsed(*flags)


def test_the_exchanges_own_variables_give_the_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMBOT_SIM_API_KEY", "sim-key")
    monkeypatch.setenv("MMBOT_SIM_API_SECRET", "sim-secret")
    monkeypatch.setenv("MMBOT_API_KEY", "bot-key")
    monkeypatch.setenv("MMBOT_API_SECRET", "bot-secret")
    args = parsed()
    assert (args.exchange_config.api_key, args.exchange_config.api_secret) == (
        "sim-key",
        "sim-secret",
    )
    assert not args.generated_secret
    assert args.credentials_source == "$MMBOT_SIM_API_KEY/$MMBOT_SIM_API_SECRET"


def test_the_bots_variables_make_both_sides_match_out_of_the_box(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMBOT_API_KEY", "bot-key")
    monkeypatch.setenv("MMBOT_API_SECRET", "bot-secret")
    config = parsed().exchange_config
    assert (config.api_key, config.api_secret) == ("bot-key", "bot-secret")


def test_flags_win_over_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBOT_SIM_API_KEY", "sim-key")
    monkeypatch.setenv("MMBOT_SIM_API_SECRET", "sim-secret")
    config = parsed("--api-key", "flag-key", "--api-secret", "flag-secret").exchange_config
    assert (config.api_key, config.api_secret) == ("flag-key", "flag-secret")


def test_half_a_pair_of_variables_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMBOT_SIM_API_SECRET", "only-the-secret")
    with pytest.raises(ValueError, match="MMBOT_SIM_API_KEY and MMBOT_SIM_API_SECRET"):
        parsed()


def test_without_flags_or_variables_the_credentials_are_generated() -> None:
    args = parsed()
    assert args.generated_secret and args.exchange_config.api_key.startswith("sim-")


# ---- the spill file --------------------------------------------------------------------------


async def test_the_spill_file_gets_every_dropped_entry_and_the_held_ones_at_the_stop(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    path = tmp_path / "history.jsonl"
    spill = HistorySpill.open(str(path))
    config = ExchangeConfig(symbols=("BTCUSDT",), history_max_bulk=5, history_max_records=5)
    exchange = Exchange.create(config, clock=EpochClock(0), on_history_drop=spill.write)
    for _ in range(40):
        request = RestRequest("GET", "/api/v3/nope", b"", b"", {}, "127.0.0.1")
        exchange.handle_rest(request)
    assert exchange.history.dropped > 0
    spill.write_held(exchange.history)
    spill.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["seq"] for line in lines) == list(range(1, exchange.history.last_seq + 1))
    assert {line["kind"] for line in lines} == {"request"}
    assert lines[0]["payload"]["path"] == "/api/v3/nope"


# ---- read timeouts and the connection cap (sans sockets) -------------------------------------


def _answer(_: RestRequest) -> RestResponse:
    return RestResponse(200, {})


async def _call(app: Any, body_parts: list[bytes], *, more: bool) -> list[MutableMapping[str, Any]]:
    """Call the ASGI app with a body sent in parts; ``more``: the last part never comes."""
    sent: list[MutableMapping[str, Any]] = []
    parts = list(body_parts)

    async def receive() -> dict[str, Any]:
        if parts:
            return {"type": "http.request", "body": parts.pop(0), "more_body": True}
        if more:
            await trio.sleep_forever()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v3/order", "headers": []}
    await app(scope, receive, send)
    return sent


async def test_a_body_that_does_not_arrive_in_time_is_answered_408(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = build_rest_app(_answer, read_timeout_s=10.0)
    started = trio.current_time()
    sent = await _call(app, [b"sym", b"bol="], more=True)
    assert trio.current_time() - started == pytest.approx(10.0)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["code"] == -1001


async def test_requests_beyond_the_cap_are_refused_503_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = ConnectionGate(2)
    app = build_rest_app(_answer, gate=gate, read_timeout_s=30.0)
    async with trio.open_nursery() as nursery:
        for _ in range(2):  # two slow clients hold the two places
            nursery.start_soon(partial(_call, app, [b"x"], more=True))
        await trio.testing.wait_all_tasks_blocked()
        assert gate.active == 2
        sent = await _call(app, [], more=False)
        assert sent[0]["status"] == 503
        assert json.loads(sent[1]["body"])["code"] == -1008
        assert (b"retry-after", b"1") in [(k.lower(), v) for k, v in sent[0]["headers"]]
    assert (gate.active, gate.refused) == (0, 1)  # the slow ones timed out and left
    assert (await _call(app, [], more=False))[0]["status"] == 200


# ---- over loopback: a bounded number of slow clients -----------------------------------------


async def _slow_client(port: int) -> bytes:
    """Send headers promising a body, a byte of it, then nothing; return what comes back
    (refused at once because another request held the last place: try again)."""
    for _ in range(100):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(
                b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na"
            )
            received = b""
            while chunk := await stream.receive_some():
                received += chunk
        if not received.startswith(b"HTTP/1.1 503"):
            break
    return received


async def test_slow_clients_are_cut_and_the_ones_beyond_the_cap_refused_over_loopback() -> None:
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=1)
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    answers: list[bytes] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            info: ServeInfo = await nursery.start(
                lambda task_status: serve_exchange(
                    exchange, max_connections=3, read_timeout_s=2.0, task_status=task_status
                )
            )

            async def slow() -> None:
                answers.append(await _slow_client(info.rest_port))

            async with trio.open_nursery() as clients:  # ends when the slow ones are cut
                for _ in range(3):
                    clients.start_soon(slow)
                async with httpx.AsyncClient(base_url=info.rest_url) as http:
                    for _ in range(200):  # until the three slow ones hold every place
                        answer = await http.get("/api/v3/time")
                        if answer.status_code == 503:
                            break
                        await trio.sleep(0.01)
                    assert answer.status_code == 503 and answer.json()["code"] == -1008
                    with pytest.raises(ConnectionRejected) as rejected:
                        async with open_websocket_url(info.ws_api_url):
                            pass
                    assert rejected.value.status_code == 503
            # the slow ones were cut after the read timeout (408); the port answers again
            assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
            async with httpx.AsyncClient(base_url=info.rest_url) as http:
                assert (await http.get("/api/v3/time")).status_code == 200
            nursery.cancel_scope.cancel()


def test_an_unwritable_spill_file_is_refused_before_anything_is_bound(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--history-spill: cannot write"):
        parsed("--history-spill", str(tmp_path / "no-such-folder" / "h.jsonl"))


async def test_a_client_trickling_its_headers_is_cut_after_the_read_timeout() -> None:
    streams = StreamSettings(handshake_timeout_s=1.0)  # what serve's --read-timeout sets
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=1, streams=streams)
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            info: ServeInfo = await nursery.start(
                lambda task_status: serve_exchange(
                    exchange, max_connections=8, read_timeout_s=1.0, task_status=task_status
                )
            )
            for port in (info.rest_port, info.ws_port):
                stream = await trio.open_tcp_stream("127.0.0.1", port)
                async with stream:
                    await stream.send_all(b"GET /api/v3/time HTTP/1.1\r\nHost: x\r\n")
                    with trio.fail_after(5):  # hypercorn's keep-alive timer / our handshake's
                        while await stream.receive_some():
                            pass  # closed: receive_some returned b""
            nursery.cancel_scope.cancel()


@pytest.mark.slow
def test_a_served_exchange_spills_its_whole_history_by_the_stop(tmp_path: Path) -> None:
    import os
    import selectors
    import signal
    import subprocess
    import sys

    path = tmp_path / "history.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MMBOT_API_", "MMBOT_SIM_"))}
    env.update(PYTHONUNBUFFERED="1", MMBOT_SIM_API_KEY="k", MMBOT_SIM_API_SECRET="s")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mmbot", "exchange", "serve", "--rest-port", "0",
            "--ws-port", "0", "--history-max-bulk", "5", "--history-max-records", "5",
            "--history-spill", str(path),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        banner = b""
        while b"Ctrl-C" not in banner:
            assert selector.select(30), banner
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, banner
            banner += chunk
        text = banner.decode()
        assert "(from $MMBOT_SIM_API_KEY/$MMBOT_SIM_API_SECRET)" in text
        assert "dropped ones go to" in text and "API secret" not in text
        rest = text.split("REST base:")[1].split()[0]
        for _ in range(30):
            assert httpx.get(f"{rest}/api/v3/nope", timeout=10).status_code == 404
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    seqs = sorted(json.loads(line)["seq"] for line in path.read_text().splitlines())
    assert len(seqs) >= 30 and seqs == list(range(1, len(seqs) + 1))
