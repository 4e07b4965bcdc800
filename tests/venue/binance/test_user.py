"""The user stream against the in-process fake exchange under MockClock (autojump)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
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
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import FunctionConnector
from mmbot.venue.events import OrderAccepted, OrderFilled, Resynced, StreamGap, UserEvent


@attrs.define(eq=False)
class Rig:
    exchange: Exchange
    user: UserStream
    tap: TapConnector
    rest: RestStub
    events: list[UserEvent]


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    events: list[UserEvent] = []
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = RestStub(client, exchange.clock)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(config, tap, rest, exchange.clock.now_ms, random.Random(3))
        channel = user.events()

        async def record() -> None:
            async for event in channel:
                events.append(event)

        nursery.start_soon(record)
        await nursery.start(user.run)
        await user.wait_live()
        yield Rig(exchange, user, tap, rest, events)
        nursery.cancel_scope.cancel()


async def take(r: Rig, coid: str, qty: str = "0.01") -> int:
    """Buy at the best ask (fills at once as a taker); returns the order id."""
    _, ask = r.exchange.engine.best_bid_ask("BTCUSDT")
    order = limit_order("BTCUSDT", Side.BUY, ask, Decimal(qty), coid, TimeInForce.IOC)
    ack = (await r.rest.place(order)).unwrap()
    return ack.order_id


def fills_of(events: list[UserEvent], order_id: int) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled) and e.order_id == order_id]


def exchange_trades(r: Rig, order_id: int) -> list[int]:
    return sorted(
        f.trade_id for f in r.exchange.history.fills("user", "BTCUSDT") if f.order_id == order_id
    )


async def test_orders_and_fills_arrive_as_typed_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        order_id = await take(r, "t-1")
        await trio.sleep(1.0)
        mine = [e for e in r.events if getattr(e, "order_id", None) == order_id]
        assert isinstance(mine[0], OrderAccepted) and mine[0].client_order_id == "t-1"
        fills = fills_of(r.events, order_id)
        assert [f.fill.trade_id for f in fills] == exchange_trades(r, order_id) != []
        cumulative = [f.cumulative_qty for f in fills]
        assert cumulative == sorted(cumulative)
        assert not any(isinstance(e, StreamGap) for e in r.events)


async def test_a_fill_while_the_stream_is_down_is_reported_once_after_reconnecting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        first = await take(r, "before")
        await trio.sleep(1.0)
        r.tap.refuse = True
        await r.tap.kill_current()
        await trio.sleep(0.1)
        missed = await take(r, "during")  # placed and filled while we are disconnected
        await trio.sleep(2.0)
        assert not r.user.is_live
        r.tap.refuse = False
        await r.user.wait_live()
        after = await take(r, "after")
        await trio.sleep(1.0)
        kinds = [type(e) for e in r.events]
        gap, resynced = kinds.index(StreamGap), kinds.index(Resynced)
        assert kinds.count(StreamGap) == kinds.count(Resynced) == 1 and gap < resynced
        missed_fills = fills_of(r.events, missed)
        assert [f.fill.trade_id for f in missed_fills] == exchange_trades(r, missed) != []
        assert all(gap < r.events.index(f) < resynced for f in missed_fills)
        assert missed_fills[-1].fill.client_order_id == "during"
        for order_id in (first, after):
            assert [f.fill.trade_id for f in fills_of(r.events, order_id)] == exchange_trades(
                r, order_id
            )
        keys = [e.fill.key for e in r.events if isinstance(e, OrderFilled)]
        assert len(keys) == len(set(keys))


async def test_a_silent_user_stream_is_replaced_and_reconciled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        r.tap.connections[-1].silent = True
        await trio.sleep(75.0)  # silence_s 60 + pong_timeout 10
        assert r.tap.attempts == 2
        await r.user.wait_live()
        kinds = [type(e) for e in r.events]
        assert kinds.count(StreamGap) == kinds.count(Resynced) == 1


async def test_cancelling_the_user_stream_ends_subscribers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    async with inproc.client() as client, trio.open_nursery() as outer:
        await outer.start(exchange.run)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(
            config, FunctionConnector(inproc.connect_ws), RestStub(client, exchange.clock),
            exchange.clock.now_ms, random.Random(1),
        )  # fmt: skip
        channel = user.events()
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as inner:
                inner.start_soon(user.run)
                await user.wait_live()
                scope.cancel()
        assert scope.cancelled_caught
        got = [event async for event in channel]  # ends: the stream closed it
        assert not any(isinstance(e, StreamGap) for e in got)
        outer.cancel_scope.cancel()


async def test_subscription_is_signed_and_the_secret_never_leaves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        sent = [m if isinstance(m, str) else m.decode() for m in r.tap.sent]
        assert any("userDataStream.subscribe.signature" in m and API_KEY in m for m in sent)
        assert not any(API_SECRET in m for m in sent)
        assert API_SECRET not in repr(r.user.config) and API_KEY not in repr(r.user.config)


async def test_event_stream_terminated_resubscribes_and_reconciles(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        r.tap.inject('{"subscriptionId": 1, "event": {"e": "eventStreamTerminated", "E": 1}}')
        await trio.sleep(1.0)
        await r.user.wait_live()
        order_id = await take(r, "after-terminated")
        await trio.sleep(1.0)
        kinds = [type(e) for e in r.events]
        assert kinds.count(StreamGap) == kinds.count(Resynced) == 1
        assert r.user.statistics().subscriptions == 2 and r.tap.attempts == 1  # same socket
        assert [f.fill.trade_id for f in fills_of(r.events, order_id)] == exchange_trades(
            r, order_id
        )
