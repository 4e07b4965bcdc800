"""The user stream against a venue that forgot its orders: a fake exchange replaced by a
fresh one behind the adapter (what ``mmbot exchange serve`` killed and restarted looks like
to it), in-process under MockClock (autojump). The loopback twin, with the exchange
restarted on the same ports, is in ``test_user_restarted_loopback.py``.

An order believed open that the venue no longer knows ends with one ``OrderGone`` and is
never asked about again; a new order that reuses a stale order id is a new order (its
``OrderAccepted`` is delivered), found by the venue's ids going backwards.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

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
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import WsConnection
from mmbot.venue.events import (
    OrderAccepted,
    OrderFilled,
    OrderGone,
    Resynced,
    StreamGap,
    UserEvent,
)

#: When after an exchange starts each test places its order: the same moment on the old
#: and on the fresh exchange, so the fresh one hands out the old order's id again.
PLACE_AT_S = 5.0


@attrs.define(eq=False)
class Swappable:
    """The exchange currently behind the adapter: REST and WebSocket follow it."""

    exchange: Exchange
    started_at: float = 0.0
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    @property
    def inproc(self) -> InProcessExchange:
        return InProcessExchange(self.exchange)

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        return await self.inproc.connect_ws(nursery, resource)


class FollowingTransport(httpx.AsyncBaseTransport):
    def __init__(self, venue: Swappable) -> None:
        self.venue = venue

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.venue.inproc.transport().handle_async_request(request)


@attrs.define(eq=False)
class Rig:
    venue: Swappable
    user: UserStream
    tap: TapConnector
    rest: RestStub
    events: list[UserEvent]
    nursery: trio.Nursery

    async def restart(self) -> None:
        """Kill the exchange (no notice) and start a fresh one on the same seed."""
        self.venue.scope.cancel()
        await self.start(Exchange.simulated(exchange_config()))
        await self.tap.kill_current()

    async def start(self, exchange: Exchange) -> None:
        self.venue.exchange = exchange
        self.venue.scope = trio.CancelScope()
        self.venue.started_at = trio.current_time()

        async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with self.venue.scope:
                await exchange.run(task_status=task_status)

        await self.nursery.start(run)

    async def place_resting(self, coid: str) -> int:
        """A buy far below the market (rests, never fills), placed :data:`PLACE_AT_S` after
        the current exchange started; its order id."""
        await trio.sleep_until(self.venue.started_at + PLACE_AT_S)
        bid, _ = self.venue.exchange.engine.best_bid_ask("BTCUSDT")
        assert bid is not None
        price = (bid * Decimal("0.9")).quantize(Decimal("0.01"))
        order = limit_order("BTCUSDT", Side.BUY, price, Decimal("0.01"), coid)
        return (await self.rest.place(order)).unwrap().order_id

    def of(self, kind: type[UserEvent], coid: str) -> list[UserEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and getattr(e, "client_order_id", None) == coid
        ]

    def order_queries(self, order_id: int) -> int:
        """How often REST was asked for ``order_id``'s state."""
        return sum(1 for c in self.rest.calls if c == f"order?orderId={order_id}")


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    venue = Swappable(Exchange.simulated(exchange_config()))
    tap = TapConnector(venue)
    events: list[UserEvent] = []
    client = httpx.AsyncClient(transport=FollowingTransport(venue), base_url="http://exchange.sim")
    async with client, trio.open_nursery() as nursery:
        rest = QueryLoggingRest(client, venue.exchange.clock)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(config, tap, rest, venue.exchange.clock.now_ms, random.Random(5))
        r = Rig(venue, user, tap, rest, events, nursery)
        await r.start(venue.exchange)
        channel = user.events()

        async def record() -> None:
            async for event in channel:
                events.append(event)

        nursery.start_soon(record)
        await nursery.start(user.run)
        await user.wait_live()
        yield r
        nursery.cancel_scope.cancel()


@attrs.define(eq=False)
class QueryLoggingRest(RestStub):
    """``RestStub`` that also records which order each query asked for."""

    async def query_order(self, ref):  # type: ignore[no-untyped-def]
        self.calls.append(f"order?orderId={ref.order_id}")
        return await super().query_order(ref)


async def test_an_open_order_the_restarted_venue_does_not_know_is_gone_once_and_never_asked_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        old = await r.place_resting("old-1")
        await trio.sleep(1.0)
        assert len(r.of(OrderAccepted, "old-1")) == 1
        await r.restart()
        await trio.sleep(2.0)
        await r.user.wait_live()
        gone = r.of(OrderGone, "old-1")
        assert len(gone) == 1 and gone[0].order_id == old  # type: ignore[union-attr]
        assert r.user.state.live_order_ids("BTCUSDT") == []
        asked = r.order_queries(old)
        assert asked == 1
        for _ in range(3):  # later reconciles never ask about it again
            await r.tap.kill_current()
            await trio.sleep(2.0)
            await r.user.wait_live()
        assert r.order_queries(old) == asked
        assert len(r.of(OrderGone, "old-1")) == 1


async def test_a_new_order_reusing_a_stale_id_is_accepted_after_a_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        old = await r.place_resting("old-1")
        await trio.sleep(1.0)
        await r.restart()
        await trio.sleep(2.0)
        await r.user.wait_live()
        new = await r.place_resting("new-1")
        assert new == old  # the fresh exchange handed out the same id again
        await trio.sleep(1.0)
        accepted = r.of(OrderAccepted, "new-1")
        assert len(accepted) == 1 and accepted[0].order_id == new  # type: ignore[union-attr]
        assert r.user.statistics().venue_resyncs == 1
        assert r.user.state.live_order_ids("BTCUSDT") == [new]
        assert len(r.of(OrderGone, "old-1")) == 1
        kinds = [type(e) for e in r.events]
        assert kinds.count(StreamGap) == kinds.count(Resynced)


async def test_a_stale_record_still_believed_open_is_gone_when_its_id_comes_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The restart is not noticed by a reconnect (the socket to the fresh exchange opens
    before any reconcile could ask): the reused id itself shows the ids went backwards."""
    async with rig() as r:
        old = await r.place_resting("old-1")
        await trio.sleep(1.0)
        # The fresh exchange takes over REST and new sockets, but the old socket lives on
        # (the adapter does not notice yet): the reused id arrives on the next session.
        r.venue.scope.cancel()
        await r.start(Exchange.simulated(exchange_config()))
        new = await r.place_resting("new-1")
        assert new == old
        await r.tap.kill_current()
        await trio.sleep(2.0)
        await r.user.wait_live()
        accepted = r.of(OrderAccepted, "new-1")
        assert len(accepted) == 1 and accepted[0].order_id == new  # type: ignore[union-attr]
        gone = r.of(OrderGone, "old-1")
        assert len(gone) == 1 and gone[0].venue_reset  # type: ignore[union-attr]
        assert r.user.state.live_order_ids("BTCUSDT") == [new]


async def take_now(r: Rig, coid: str) -> int:
    """Buy at the best ask on the current exchange (fills at once); its order id."""
    _, ask = r.venue.exchange.engine.best_bid_ask("BTCUSDT")
    assert ask is not None
    order = limit_order("BTCUSDT", Side.BUY, ask, Decimal("0.01"), coid, TimeInForce.IOC)
    return (await r.rest.place(order)).unwrap().order_id


async def test_a_fill_on_the_restarted_venue_while_disconnected_is_found_by_its_lower_trade_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        await trio.sleep(30.0)  # the old exchange's trade ids run ahead
        await take_now(r, "old-taker")
        await trio.sleep(1.0)
        last = r.user.state.last_trade_id("BTCUSDT")
        assert last is not None
        r.tap.refuse = True
        await r.restart()
        missed = await take_now(r, "new-taker")  # while the stream is down
        trades = [
            f.trade_id for f in r.venue.exchange.history.fills("user", "BTCUSDT")
            if f.order_id == missed
        ]  # fmt: skip
        assert trades and max(trades) < last  # the fresh exchange's trade ids are lower
        r.tap.refuse = False
        await trio.sleep(5.0)
        await r.user.wait_live()
        delivered = [
            e.fill.trade_id for e in r.events
            if isinstance(e, OrderFilled) and e.fill.client_order_id == "new-taker"
        ]  # fmt: skip
        assert delivered == trades
        assert r.user.statistics().venue_resyncs == 1
