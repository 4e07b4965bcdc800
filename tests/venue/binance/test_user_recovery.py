"""The user stream recovers from every way a session can fail (in-process exchange, MockClock).

A refused subscription, no answer to it, a socket killed during it, REST failing during the
reconcile, or more missed trades than the reconcile may page through in one go: each ends the
session, the stream reconnects with backoff, and once the fault heals every missed fill is
reported exactly once, then ``Resynced``. Faults are injected at the seams: the WebSocket
connector (``TapConnector`` and wrappers here) and the REST client's httpx transport.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import httpx
import trio
import trio.testing
from test_streams_support import (
    API_KEY,
    API_SECRET,
    RestStub,
    TapConnector,
    exchange_config,
    limit_order,
)

from mmbot.model import Side, TimeInForce
from mmbot.sim.exchange import Exchange
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import RestConfig
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import FunctionConnector, WsConnection
from mmbot.venue.events import OrderFilled, Resynced, StreamGap, UserEvent


@attrs.define
class Flaky(httpx.AsyncBaseTransport):
    """Forwards to ``inner``; while ``down``, every request gets a 503 (outcome unknown)."""

    inner: httpx.AsyncBaseTransport
    down: bool = False
    refused: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            await trio.lowlevel.checkpoint()
            self.refused += 1
            return httpx.Response(503, content=b"<html>Service Unavailable</html>")
        return await self.inner.handle_async_request(request)


@attrs.define(eq=False)
class Rig:
    exchange: Exchange
    user: UserStream
    tap: TapConnector
    flaky: Flaky
    placer: RestStub  # places the test's orders (never flaky)
    events: list[UserEvent]
    connects: list[float]  # trio time of each connect attempt


Wrap = Callable[[Callable[[trio.Nursery, str], Awaitable[WsConnection]]], Any]


@asynccontextmanager
async def rig(
    *, secret: str = API_SECRET, live: bool = True, refuse: bool = False, **config: Any
) -> AsyncIterator[Rig]:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    connects: list[float] = []

    async def connect(nursery: trio.Nursery, resource: str) -> WsConnection:
        connects.append(trio.current_time())
        return await inproc.connect_ws(nursery, resource)

    tap = TapConnector(FunctionConnector(connect), refuse=refuse)
    flaky = Flaky(inproc.transport())
    events: list[UserEvent] = []
    rest_config = RestConfig(base_url=inproc.rest_base_url)
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = BinanceRest.create(
            rest_config, now_ms=exchange.clock.now_ms, api_key=API_KEY, api_secret=API_SECRET,
            transport=flaky,
        )  # fmt: skip
        async with rest:
            cfg = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=secret, **config)
            user = UserStream(cfg, tap, rest, exchange.clock.now_ms, random.Random(5))
            channel = user.events()

            async def record() -> None:
                async for event in channel:
                    events.append(event)

            nursery.start_soon(record)
            r = Rig(exchange, user, tap, flaky, RestStub(client, exchange.clock), events, connects)
            if live:
                await nursery.start(user.run)
                await user.wait_live()
            yield r
            nursery.cancel_scope.cancel()


async def take(r: Rig, coid: str, qty: str = "0.01") -> int:
    """Buy at the best ask (fills at once as a taker); returns the order id."""
    _, ask = r.exchange.engine.best_bid_ask("BTCUSDT")
    assert ask is not None
    order = limit_order("BTCUSDT", Side.BUY, ask, Decimal(qty), coid, TimeInForce.IOC)
    return (await r.placer.place(order)).unwrap().order_id


def exchange_fill_keys(r: Rig, order_ids: list[int]) -> list[tuple[str, int, int]]:
    wanted = set(order_ids)
    return sorted(
        f.key for f in r.exchange.history.fills("user", "BTCUSDT") if f.order_id in wanted
    )


def reported_fill_keys(r: Rig, order_ids: list[int]) -> list[tuple[str, int, int]]:
    wanted = set(order_ids)
    return [e.fill.key for e in r.events if isinstance(e, OrderFilled) and e.order_id in wanted]


async def kill(r: Rig) -> None:
    """Kill the user stream's socket and wait until the stream knows it is down."""
    await r.tap.kill_current()
    for _ in range(500):
        if not r.user.is_live:
            return
        await trio.sleep(0.01)
    raise AssertionError("the stream did not notice its socket was killed")


def assert_each_fill_once(r: Rig) -> None:
    keys = [e.fill.key for e in r.events if isinstance(e, OrderFilled)]
    assert len(keys) == len(set(keys))


def gaps_and_resyncs(r: Rig) -> tuple[int, int]:
    kinds = [type(e) for e in r.events]
    return kinds.count(StreamGap), kinds.count(Resynced)


def assert_backoff(connects: list[float]) -> None:
    """At least three attempts, spaced further apart as they keep failing."""
    waits = [b - a for a, b in itertools.pairwise(connects)]
    assert len(waits) >= 3 and waits[0] > 0
    assert waits[-1] > waits[0]


# ---- finding 1: a failed session reconnects instead of ending the stream -----------------


async def test_a_refused_subscription_is_retried_with_backoff_until_accepted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(secret="not-the-secret", live=False) as r, trio.open_nursery() as nursery:
        await nursery.start(r.user.run)
        await trio.sleep(20.0)
        assert not r.user.is_live and r.user.statistics().subscriptions == 0
        assert_backoff(r.connects)
        sent = [json.loads(m) for m in r.tap.sent]
        assert all(m["method"] == "userDataStream.subscribe.signature" for m in sent)
        r.user.config = attrs.evolve(r.user.config, api_secret=API_SECRET)  # keys fixed
        with trio.fail_after(60):
            await r.user.wait_live()
        order_id = await take(r, "after-fix")
        await trio.sleep(1.0)
        assert reported_fill_keys(r, [order_id]) == exchange_fill_keys(r, [order_id]) != []
        assert gaps_and_resyncs(r) == (0, 0)  # never subscribed before: nothing was missed
        nursery.cancel_scope.cancel()


async def test_rest_down_during_the_reconcile_is_retried_and_missed_fills_come_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        before = await take(r, "before")
        await trio.sleep(1.0)
        r.flaky.down = True
        await kill(r)
        during = await take(r, "during")  # filled while the stream is down
        attempts = len(r.connects)
        await trio.sleep(30.0)
        assert not r.user.is_live and r.flaky.refused > 0
        assert r.user.statistics().reconcile_failures >= 2
        assert_backoff(r.connects[attempts - 1 :])
        r.flaky.down = False  # REST heals
        with trio.fail_after(120):
            await r.user.wait_live()
        after = await take(r, "after")
        await trio.sleep(1.0)
        for order_id in (before, during, after):
            assert reported_fill_keys(r, [order_id]) == exchange_fill_keys(r, [order_id]) != []
        assert_each_fill_once(r)
        assert gaps_and_resyncs(r) == (1, 1)
        kinds = [type(e) for e in r.events]
        missed = [r.events.index(e) for e in r.events if getattr(e, "order_id", 0) == during]
        assert kinds.index(StreamGap) < min(missed) and max(missed) < kinds.index(Resynced)


def answer_to(frame: str | bytes, request_id: int, status: int | None = None) -> bool:
    """Whether ``frame`` is the WS API answer to ``request_id`` (with ``status``)."""
    message = json.loads(frame)
    return bool(
        message.get("id") == request_id and (status is None or message.get("status") == status)
    )


def kill_on_subscribe(tap: TapConnector, times: int) -> list[int]:
    """Wrap ``tap``'s connections so the first ``times`` subscription requests kill the
    socket right after they are sent (the answer never arrives)."""
    killed: list[int] = []
    inner_connect = tap.inner.connect

    async def connect(nursery: trio.Nursery, resource: str) -> WsConnection:
        ws = await inner_connect(nursery, resource)
        send = ws.send_message

        async def send_then_die(message: str | bytes) -> None:
            await send(message)
            if len(killed) < times and "userDataStream.subscribe" in str(message):
                killed.append(len(killed))
                with trio.move_on_after(0.5):
                    await ws.aclose(4000, "killed mid-subscribe (test)")

        ws.send_message = send_then_die  # type: ignore[method-assign]
        return ws

    tap.inner = FunctionConnector(connect)
    return killed


async def test_a_socket_killed_mid_subscribe_reconnects(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(live=False) as r, trio.open_nursery() as nursery:
        killed = kill_on_subscribe(r.tap, times=3)
        await nursery.start(r.user.run)
        with trio.fail_after(60):
            await r.user.wait_live()
        assert len(killed) == 3 and r.tap.attempts == 4
        assert_backoff(r.connects)
        order_id = await take(r, "after-kills")
        await trio.sleep(1.0)
        assert reported_fill_keys(r, [order_id]) == exchange_fill_keys(r, [order_id]) != []
        nursery.cancel_scope.cancel()


async def test_no_answer_to_the_subscription_reconnects(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(live=False) as r, trio.open_nursery() as nursery:
        r.tap.drop = lambda m: answer_to(m, 1)
        await nursery.start(r.user.run)
        with trio.fail_after(60):
            await r.user.wait_live()
        assert r.tap.attempts == 2 and r.connects[1] - r.connects[0] >= 10.0  # timed out
        nursery.cancel_scope.cancel()


# ---- finding 6: a gap with more trades than pages ---------------------------------------


async def test_more_missed_trades_than_one_reconcile_pages_through_all_come_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(trades_page=5, max_trade_pages=2) as r:
        first = await take(r, "first")
        await trio.sleep(1.0)
        r.tap.refuse = True
        await kill(r)
        during = [await take(r, f"gap-{i}") for i in range(14)]
        assert len(exchange_fill_keys(r, during)) > 2 * 5  # more than one reconcile's pages
        r.tap.refuse = False
        with trio.fail_after(120):
            await r.user.wait_live()
        assert r.user.statistics().reconcile_failures >= 1  # ran out of pages at least once
        after = await take(r, "after")
        await trio.sleep(1.0)
        assert reported_fill_keys(r, during) == exchange_fill_keys(r, during)
        for order_id in (first, after):
            assert reported_fill_keys(r, [order_id]) == exchange_fill_keys(r, [order_id]) != []
        assert_each_fill_once(r)
        assert gaps_and_resyncs(r) == (1, 1)


async def test_first_subscription_reports_every_fill_since_start_beyond_the_newest_page(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(live=False, refuse=True, trades_page=5, max_trade_pages=50) as r:
        older = [await take(r, f"old-{i}") for i in range(4)]  # before the stream started
        await trio.sleep(1.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(r.user.run)
            await trio.sleep(1.0)
            missed = [await take(r, f"new-{i}") for i in range(9)]
            assert len(exchange_fill_keys(r, missed)) > 5  # more than the newest page
            r.tap.refuse = False
            with trio.fail_after(120):
                await r.user.wait_live()
            assert reported_fill_keys(r, missed) == exchange_fill_keys(r, missed)
            assert reported_fill_keys(r, older) == []
            assert_each_fill_once(r)
            nursery.cancel_scope.cancel()


# ---- finding 7: a WS API rate limit says when to come back -------------------------------


async def test_a_rate_limited_subscription_waits_for_retry_after_before_reconnecting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(live=False) as r, trio.open_nursery() as nursery:
        r.tap.drop = lambda m: answer_to(m, 1, status=200)  # the real answer to request 1
        now = r.exchange.clock.now_ms()
        data = {"serverTime": now, "retryAfter": now + 45_000}
        error = {"code": -1003, "msg": "Too many requests.", "data": data}
        r.tap.inject(json.dumps({"id": 1, "status": 429, "error": error}))
        await nursery.start(r.user.run)
        with trio.fail_after(120):
            await r.user.wait_live()
        assert r.tap.attempts == 2 and r.connects[1] - r.connects[0] >= 45.0
        nursery.cancel_scope.cancel()
