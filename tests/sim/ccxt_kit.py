"""ccxt against ``mmbot exchange serve`` on loopback: the server process and the clients (no tests).

What it is for: :class:`Server` (``mmbot exchange serve`` as a child process on free
127.0.0.1 ports, its REST, streams and WebSocket API bases read from its banner) and the
ccxt clients the ccxt tests use, sync (:func:`make_client`), async and ``ccxt.pro``
(:func:`make_async_client`): Binance with spot-only options, every API URL rebased onto the
local server, and a guard that refuses, before any I/O, a request to another host or to a
path outside the Spot API (``/api/v3``; the one exception is the Wallet API's
``/sapi/v1/asset/tradeFee``, which ``fetch_trading_fees`` reads and the fake serves): no
other sapi, fapi or dapi call can go unnoticed.

What it must never do: let a request leave 127.0.0.1, wait without a bound, or leave the
server running (:meth:`Server.stop` terminates, then kills).
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from typing import Any

import ccxt
import ccxt.pro
import pytest
import requests
from requests.adapters import HTTPAdapter

API_KEY = "ccxt-test-key"
API_SECRET = "ccxt-test-secret"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
BTC = "BTC/USDT"
ETH = "ETH/USDT"
_BANNER = {
    "rest": re.compile(r"REST base:\s+(http://127\.0\.0\.1:\d+)"),
    "streams": re.compile(r"Streams base:\s+(ws://127\.0\.0\.1:\d+)"),
    "ws_api": re.compile(r"WS API:\s+(ws://127\.0\.0\.1:\d+/ws-api/v3)"),
}
#: The only paths a ccxt client may call on the local server: the Spot API, and the one
#: Wallet API endpoint of ccxt's fetch_trading_fees.
ALLOWED_PATHS = ("/api/v3/", "/sapi/v1/asset/tradeFee?", "/sapi/v1/asset/tradeFee")
#: Spot-only options: no sapi (currencies, margin), no time sync, markets of spot only.
SPOT_ONLY: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "adjustForTimeDifference": False,
}


class LeftLoopback(AssertionError):
    """ccxt tried to reach a host other than the local fake exchange, or a non-Spot path."""


class Server:
    """The ``mmbot exchange serve`` process and what it printed."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "mmbot", "exchange", "serve",
                "--host", "127.0.0.1", "--rest-port", "0", "--ws-port", "0",
                "--seed", "1", "--symbols", "BTCUSDT,ETHUSDT",
                "--api-key", API_KEY, "--api-secret", API_SECRET,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        # A reader thread drains the pipe (so the server never blocks on a full pipe) and
        # lets the start-up wait be bounded.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_bases(self, timeout_s: float) -> dict[str, str]:
        """``{"rest", "streams", "ws_api"}`` from the banner (fails after ``timeout_s``)."""
        found: dict[str, str] = {}
        while len(found) < len(_BANNER):
            try:
                line = self.lines.get(timeout=timeout_s)
            except queue.Empty:
                pytest.fail(f"no banner within {timeout_s} s; output: {self.output}")
            if line is None:
                pytest.fail(f"server exited ({self.process.poll()}) early: {self.output}")
            self.output.append(line)
            for name, pattern in _BANNER.items():
                match = pattern.search(line)
                if match:
                    found[name] = match.group(1)
        return found

    def wait_rest_base(self, timeout_s: float) -> str:
        return self.wait_bases(timeout_s)["rest"]

    def stop(self) -> int | None:
        """SIGTERM, then the exit code (None if it had to be killed)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
            return None


def check_url(url: str, rest_base: str) -> None:
    """Refuse (raise :class:`LeftLoopback`) anything but the local Spot API."""
    path = url.removeprefix(rest_base) if url.startswith(rest_base + "/") else None
    if path is None or not (path.startswith(ALLOWED_PATHS[:2]) or path == ALLOWED_PATHS[2]):
        raise LeftLoopback(f"request to a non-local or non-Spot URL: {url}")


class _GuardAdapter(HTTPAdapter):
    """Mounted for every URL: refuses one outside the local Spot API before any I/O."""

    def __init__(self, rest_base: str) -> None:
        super().__init__()
        self.rest_base = rest_base

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        check_url(str(request.url), self.rest_base)
        return super().send(request, *args, **kwargs)


def rebase(exchange: Any, bases: dict[str, str]) -> None:
    """Every REST and WebSocket URL of ``exchange`` onto the local server."""
    rest_base = bases["rest"]
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str):
            # Same path on the local host: the guard refuses what is not the Spot API.
            api[name] = re.sub(r"^\w+://[^/]+", rest_base, url)
    api["public"] = rest_base + "/api/v3"
    api["private"] = rest_base + "/api/v3"
    api["v3"] = rest_base + "/api/v3"
    ws = api.get("ws")
    if isinstance(ws, dict):
        for name, url in list(ws.items()):
            if isinstance(url, str):
                ws[name] = re.sub(r"^\w+://[^/]+", bases["streams"], url)
        # ccxt appends a stream number to the raw-stream URL (".../ws/0") and subscribes
        # with SUBSCRIBE later: the exchange ignores such a name, as Binance does.
        ws["spot"] = bases["streams"] + "/ws"
        ws["ws-api"] = {"spot": bases["ws_api"]}


def make_client(bases: dict[str, str] | str, secret: str = API_SECRET) -> Any:
    """ccxt's sync binance, spot only, every API URL rebased onto the local exchange."""
    if isinstance(bases, str):
        bases = {"rest": bases, "streams": "ws://127.0.0.1:1", "ws_api": "ws://127.0.0.1:1"}
    exchange = ccxt.binance(
        {
            "apiKey": API_KEY,
            "secret": secret,
            "enableRateLimit": False,  # the fake exchange enforces its own limits
            "timeout": 5000,
            "options": dict(SPOT_ONLY),
        }
    )
    rebase(exchange, bases)
    session: requests.Session = exchange.session
    guard = _GuardAdapter(bases["rest"])
    session.mount("http://", guard)
    session.mount("https://", guard)
    return exchange


def make_async_client(bases: dict[str, str]) -> Any:
    """``ccxt.pro``'s binance (async REST and WebSockets), rebased and guarded like
    :func:`make_client`; create it inside the asyncio loop that uses it."""
    exchange = ccxt.pro.binance(
        {
            "apiKey": API_KEY,
            "secret": API_SECRET,
            "enableRateLimit": False,
            "timeout": 5000,
            "options": dict(SPOT_ONLY),
        }
    )
    rebase(exchange, bases)
    fetch = exchange.fetch

    async def guarded_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        check_url(url, bases["rest"])
        return await fetch(url, *args, **kwargs)

    exchange.fetch = guarded_fetch
    return exchange
