"""The user stream across ``serve`` killed and restarted on the same ports (real loopback
sockets, real clock): the orders believed open on the old exchange end with one
``OrderGone`` and are never asked about again, and a new order on the fresh exchange,
whose ids start again below the old ones, is delivered as a new order."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import httpx
import trio
from test_streams_support import (
    API_KEY,
    API_SECRET,
    RestStub,
    TapConnector,
    exchange_config,
    limit_order,
)

from mmbot.clock import EpochClock
from mmbot.model import Side
from mmbot.sim.exchange import Exchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.base import OrderRef
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import UrlConnector
from mmbot.venue.events import OrderAccepted, OrderGone, UserEvent

#: Orders placed on the old exchange before the one followed, so its ids run ahead of the
#: fresh exchange's.
PADDING = 20


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` on real sockets and time (bounded: 10 s)."""
    with trio.fail_after(10.0):
        while not condition():  # noqa: ASYNC110 - state of other tasks, polled
            await trio.sleep(0.01)


class CountingRest(RestStub):
    """``RestStub`` that counts the queries of each order id."""

    queried: dict[int, int]

    async def query_order(self, ref: OrderRef):  # type: ignore[no-untyped-def]
        self.queried = getattr(self, "queried", {})
        if ref.order_id is not None:
            self.queried[ref.order_id] = self.queried.get(ref.order_id, 0) + 1
        return await super().query_order(ref)


async def serve(
    nursery: trio.Nursery, rest_port: int = 0, ws_port: int = 0
) -> tuple[Exchange, ServeInfo, trio.CancelScope]:
    exchange = Exchange.create(exchange_config(), clock=EpochClock.from_wall_clock())
    scope = trio.CancelScope()

    async def run(task_status: trio.TaskStatus[ServeInfo] = trio.TASK_STATUS_IGNORED) -> None:
        with scope:
            await serve_exchange(
                exchange, rest_port=rest_port, ws_port=ws_port, task_status=task_status
            )

    info: ServeInfo = await nursery.start(run)
    return exchange, info, scope


async def place_resting(rest: RestStub, exchange: Exchange, coid: str) -> int:
    bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
    assert bid is not None
    price = (bid * Decimal("0.9")).quantize(Decimal("0.01"))
    order = limit_order("BTCUSDT", Side.BUY, price, Decimal("0.01"), coid)
    return (await rest.place(order)).unwrap().order_id


def of(events: list[UserEvent], kind: type[UserEvent], coid: str) -> list[UserEvent]:
    return [e for e in events if isinstance(e, kind) and getattr(e, "client_order_id", "") == coid]


async def test_serve_killed_and_restarted_on_the_same_ports() -> None:
    events: list[UserEvent] = []
    async with trio.open_nursery() as nursery:
        old_exchange, info, old_scope = await serve(nursery)
        # a new TCP connection per request: a restarted server closes the pooled ones
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=info.rest_url, limits=limits) as client:
            rest = CountingRest(client, old_exchange.clock)
            tap = TapConnector(UrlConnector(info.stream_url))
            user = UserStream(
                UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET,
                                 reconnect_base_s=0.05, reconnect_cap_s=0.2),
                tap, rest, old_exchange.clock.now_ms,
                random.Random(2),
            )  # fmt: skip
            channel = user.events()

            async def record() -> None:
                async for event in channel:
                    events.append(event)

            nursery.start_soon(record)
            await nursery.start(user.run)
            await until(lambda: user.is_live)
            for n in range(PADDING):  # the old exchange's order ids run ahead
                await place_resting(rest, old_exchange, f"pad-{n}")
            old = await place_resting(rest, old_exchange, "old-1")
            await until(lambda: bool(of(events, OrderAccepted, "old-1")))

            old_scope.cancel()  # killed: no serverShutdown, sockets cut
            new_exchange, _, _ = await serve(nursery, info.rest_port, info.ws_port)
            await until(lambda: bool(of(events, OrderGone, "old-1")))
            await until(lambda: user.is_live)
            new = await place_resting(rest, new_exchange, "new-1")
            assert new < old  # the fresh exchange's ids started again
            await until(lambda: bool(of(events, OrderAccepted, "new-1")))
            assert user.state.live_order_ids("BTCUSDT") == [new]
            asked = rest.queried.get(old, 0)
            assert asked >= 1
            subscriptions = user.statistics().subscriptions
            await tap.kill_current()  # a later reconcile leaves it alone
            await until(lambda: user.statistics().subscriptions == subscriptions + 1)
            await until(lambda: user.is_live)
            assert rest.queried.get(old, 0) == asked
            assert len(of(events, OrderGone, "old-1")) == 1
            assert len([e for e in events if isinstance(e, OrderGone)]) == PADDING + 1
            assert len(of(events, OrderAccepted, "new-1")) == 1
        nursery.cancel_scope.cancel()
