"""ccxt's market-data methods against ``mmbot exchange serve``: tickers, trades, candles.

What it is for: ``fetch_ticker(s)`` (``/ticker/24hr``), ``fetch_trades`` (``/aggTrades``),
``fetch_ohlcv`` (``/klines``) with ccxt's sync client, and ``ccxt.pro``'s ``watch_ticker``
(``<symbol>@ticker``); ``watch_trades`` (``@trade``) is in ``test_ccxt_pro.py``.

What it must never do: let a request leave 127.0.0.1 or the Spot API (``ccxt_kit``'s
guard), wait without a bound, or leave the server running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from ccxt_kit import BTC, ETH, START_TIMEOUT_S, Server, make_async_client, make_client

TEST_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def bases() -> Iterator[dict[str, str]]:
    server = Server()
    try:
        yield server.wait_bases(START_TIMEOUT_S)
    finally:
        code = server.stop()
    assert code == 0, f"server did not exit 0 on SIGTERM (got {code}): {server.output}"


@pytest.fixture(scope="module")
def client(bases: dict[str, str]) -> Any:
    """A loaded client whose account has just bought at market on BTC/USDT (and on
    ETH/USDT), so the public tape has a trade however young the exchange is."""
    exchange = make_client(bases)
    exchange.load_markets()
    for symbol, amount in ((BTC, 0.001), (ETH, 0.01)):
        order = exchange.create_order(symbol, "market", "buy", amount)
        assert order["status"] == "closed"
    return exchange


def test_fetch_ticker_and_tickers(client: Any) -> None:
    ticker = client.fetch_ticker(BTC)
    assert ticker["symbol"] == BTC and ticker["bid"] < ticker["ask"]
    assert ticker["last"] > 0 and ticker["baseVolume"] >= 0
    tickers = client.fetch_tickers([BTC, ETH])
    assert set(tickers) == {BTC, ETH}


def test_fetch_trades_are_the_public_tape(client: Any) -> None:
    trades = client.fetch_trades(BTC, limit=20)
    assert 0 < len(trades) <= 20
    assert all(t["symbol"] == BTC and t["price"] > 0 and t["amount"] > 0 for t in trades)
    times = [t["timestamp"] for t in trades]
    assert times == sorted(times)


def test_fetch_ohlcv_one_minute_candles(client: Any) -> None:
    candles = client.fetch_ohlcv(BTC, "1m", limit=5)
    assert 0 < len(candles) <= 5
    for time, open_, high, low, close, volume in candles:
        assert low <= min(open_, close) <= max(open_, close) <= high and volume >= 0
        assert time % 60_000 == 0


def _run_pro(bases: dict[str, str], watch: str) -> Any:
    async def main() -> Any:
        exchange = make_async_client(bases)
        try:
            await exchange.load_markets()
            return await asyncio.wait_for(getattr(exchange, watch)(BTC), TEST_TIMEOUT_S)
        finally:
            await exchange.close()

    return asyncio.run(main())


def test_watch_ticker(bases: dict[str, str]) -> None:
    ticker = _run_pro(bases, "watch_ticker")
    assert ticker["symbol"] == BTC and ticker["last"] > 0
