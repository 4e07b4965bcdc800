"""Helpers for the process-level bot tests: `mmbot exchange serve` and `mmbot run` as real
processes on loopback (no tests here)."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from pathlib import Path

import httpx

API_KEY = "process-test-key"
API_SECRET = "process-test-secret-0123456789"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def mmbot(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mmbot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or ENV,
    )


def read_until(
    proc: subprocess.Popen[bytes], pattern: str, *, stderr: bool = False, timeout: float = 60
) -> str:
    """What the process printed on stdout (or stderr) until ``pattern`` matched."""
    stream = proc.stderr if stderr else proc.stdout
    assert stream is not None
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    text = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text.decode(errors="replace")):
        left = deadline - time.monotonic()
        if left <= 0 or not selector.select(left):
            proc.kill()
            raise AssertionError(f"no {pattern!r} within {timeout} s; got {text[-2000:]!r}")
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"process ended before {pattern!r}; got {text[-2000:]!r}")
        text += chunk
    return text.decode(errors="replace")


class Exchange:
    """`mmbot exchange serve` on free ports with known credentials."""

    def __init__(self, symbols: str = "BTCUSDT,ETHUSDT") -> None:
        self.proc = mmbot(
            "exchange", "serve", "--seed", "5", "--rest-port", "0", "--ws-port", "0",
            "--symbols", symbols, "--api-key", API_KEY, "--api-secret", API_SECRET,
        )  # fmt: skip
        banner = read_until(self.proc, "Ctrl-C")
        rest = re.search(r"REST base:\s+http://127\.0\.0\.1:(\d+)", banner)
        ws = re.search(r"Streams base:\s+ws://127\.0\.0\.1:(\d+)", banner)
        assert rest and ws, banner
        self.rest_port, self.ws_port = int(rest.group(1)), int(ws.group(1))
        self.url = f"http://127.0.0.1:{self.rest_port}"

    def open_orders(self, prefix: str = "mm-") -> list[str]:
        """Client ids of the account's open orders with ``prefix`` (the admin API's truth)."""
        answer = httpx.get(f"{self.url}/_sim/accounts/user", timeout=10).json()
        return [
            o["clientOrderId"]
            for o in answer["openOrders"]
            if o["clientOrderId"].startswith(prefix)
        ]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def loopback_config(path: Path, exchange: Exchange, *, metrics: str = "") -> Path:
    path.write_text(
        f"""
[bot]
symbols = ["BTCUSDT", "ETHUSDT"]

[venue]
kind = "loopback"
rest_port = {exchange.rest_port}
ws_port = {exchange.ws_port}

[overrides.ETHUSDT.sizing]
order_size = "0.02"
max_position = "0.2"

[shutdown]
cancel_deadline = 10.0

[metrics]
listen = "{metrics}"
"""
    )
    return path


BOT_ENV = {**ENV, "MMBOT_API_KEY": API_KEY, "MMBOT_API_SECRET": API_SECRET}


def wait_for(condition: object, timeout: float = 60.0, every: float = 0.2) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)
