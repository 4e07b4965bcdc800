"""ccxt's async ``binance`` and ``ccxt.pro`` against ``mmbot exchange serve`` over loopback.

What it is for: the async side of ``test_ccxt.py``: ccxt's asyncio REST client runs the
unified order and account methods, and ``ccxt.pro`` watches the order book (diff-depth
stream plus REST snapshot), the public trades and the account's orders (the WebSocket API's
``userDataStream.subscribe.signature`` and its ``executionReport`` events). ccxt's async
side runs on asyncio, so each test is a plain function that runs one ``asyncio.run`` under
a timeout (pytest-trio never sees it).

What it must never do: let a request leave 127.0.0.1 or the Spot API (``ccxt_kit``'s guard
refuses it before any I/O, and every WebSocket ccxt opened is checked to be local), wait
without a bound, or leave the server running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from ccxt_kit import BTC, START_TIMEOUT_S, Server, make_async_client

#: Longest one test may run (asyncio side), seconds.
TEST_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def bases() -> Iterator[dict[str, str]]:
    server = Server()
    try:
        yield server.wait_bases(START_TIMEOUT_S)
    finally:
        code = server.stop()
    assert code == 0, f"server did not exit 0 on SIGTERM (got {code}): {server.output}"


def run(bases: dict[str, str], body: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``body(exchange)`` with a fresh ``ccxt.pro`` client in its own asyncio loop,
    bounded by :data:`TEST_TIMEOUT_S`; every WebSocket it opened must be local."""

    async def main() -> None:
        exchange = make_async_client(bases)
        try:
            await asyncio.wait_for(body(exchange), TEST_TIMEOUT_S)
            local = (bases["streams"] + "/", bases["ws_api"])
            assert all(url.startswith(local) for url in exchange.clients), list(exchange.clients)
        finally:
            await exchange.close()

    asyncio.run(main())


async def best(exchange: Any) -> tuple[Decimal, Decimal]:
    book = await exchange.fetch_order_book(BTC, 5)
    return Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))


def price(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def test_async_rest_unified_order_and_account_methods(bases: dict[str, str]) -> None:
    async def body(exchange: Any) -> None:
        markets = await exchange.load_markets()
        assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
        bid, ask = await best(exchange)
        assert bid < ask
        order = await exchange.create_order(
            BTC, "limit", "buy", "0.01", price(bid * Decimal("0.98"))
        )
        assert order["status"] == "open"
        edited = await exchange.edit_order(
            order["id"], BTC, "limit", "buy", "0.02", price(bid * Decimal("0.97"))
        )
        assert edited["id"] != order["id"] and edited["amount"] == 0.02
        fetched = await exchange.fetch_order(edited["id"], BTC)
        assert fetched["status"] == "open" and fetched["amount"] == 0.02
        assert [o["id"] for o in await exchange.fetch_open_orders(BTC)] == [edited["id"]]
        canceled = await exchange.cancel_order(edited["id"], BTC)
        assert canceled["status"] == "canceled"
        statuses = {o["id"]: o["status"] for o in await exchange.fetch_orders(BTC)}
        assert statuses[order["id"]] == "canceled" and statuses[edited["id"]] == "canceled"
        taker = await exchange.create_order(
            BTC, "limit", "buy", "0.001", price(ask * Decimal("1.005"))
        )
        assert taker["status"] == "closed"
        assert taker["id"] in {o["id"] for o in await exchange.fetch_closed_orders(BTC)}
        trades = [t for t in await exchange.fetch_my_trades(BTC) if t["order"] == taker["id"]]
        assert trades and sum(Decimal(t["info"]["qty"]) for t in trades) == Decimal("0.001")
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["free"] > 0 and balance["BTC"]["total"] > 0
        fees = await exchange.private_get_account_commission({"symbol": "BTCUSDT"})
        assert Decimal(fees["standardCommission"]["maker"]) == Decimal("0.001")
        trading_fees = await exchange.fetch_trading_fees()
        assert trading_fees[BTC]["maker"] == 0.001 and trading_fees[BTC]["taker"] == 0.001

    run(bases, body)


def test_watch_order_book_follows_the_diff_stream(bases: dict[str, str]) -> None:
    async def body(exchange: Any) -> None:
        await exchange.load_markets()
        nonces = []
        for _ in range(3):
            book = await exchange.watch_order_book(BTC)
            bids, asks = book["bids"], book["asks"]
            assert bids and asks and bids[0][0] < asks[0][0]
            assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
            assert [p for p, _ in asks] == sorted(p for p, _ in asks)
            nonces.append(book["nonce"])
        assert nonces == sorted(nonces) and nonces[-1] > nonces[0]
        # the local book is the exchange's: its best levels agree with a fresh snapshot
        # (within one tick of movement the stream may not have delivered yet)
        rest = await exchange.fetch_order_book(BTC, 5)
        assert abs(rest["bids"][0][0] - book["bids"][0][0]) < rest["bids"][0][0] * 0.01

    run(bases, body)


def test_watch_orders_sees_placement_and_cancel(bases: dict[str, str]) -> None:
    async def body(exchange: Any) -> None:
        await exchange.load_markets()
        bid, _ = await best(exchange)
        await exchange.authenticate()  # userDataStream.subscribe.signature, acknowledged
        watching = asyncio.ensure_future(exchange.watch_orders(BTC))
        await asyncio.sleep(0)  # the watcher registers before the order is sent
        placed = await exchange.create_order(
            BTC, "limit", "buy", "0.01", price(bid * Decimal("0.95"))
        )
        seen = await watching
        assert any(o["id"] == placed["id"] and o["status"] == "open" for o in seen)
        cancel_seen = asyncio.ensure_future(exchange.watch_orders(BTC))
        await exchange.cancel_order(placed["id"], BTC)
        after = await cancel_seen
        assert any(o["id"] == placed["id"] and o["status"] == "canceled" for o in after)

    run(bases, body)


def test_watch_trades_sees_the_public_tape(bases: dict[str, str]) -> None:
    async def body(exchange: Any) -> None:
        await exchange.load_markets()
        trades = await exchange.watch_trades(BTC)  # <symbol>@trade, ccxt's default
        assert trades and all(t["symbol"] == BTC and t["amount"] > 0 for t in trades)
        assert all(t["price"] > 0 and t["side"] in ("buy", "sell") for t in trades)

    run(bases, body)
