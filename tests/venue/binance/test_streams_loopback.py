"""Market and user streams over real loopback sockets against the served fake exchange."""

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
    exchange_book_at,
    exchange_config,
    limit_order,
)

from mmbot.clock import EpochClock
from mmbot.model import OrderStatus, Side, TimeInForce
from mmbot.sim.exchange import Exchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.binance.streams import MarketStreams, MarketStreamsConfig
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import UrlConnector
from mmbot.venue.events import OrderFilled, Resynced, StreamGap, UserEvent


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` on real sockets and time (bounded: 5 s)."""
    with trio.fail_after(5.0):
        while not condition():  # noqa: ASYNC110 - state of other tasks, polled
            await trio.sleep(0.01)


async def test_books_and_user_stream_survive_a_killed_socket_on_loopback() -> None:
    exchange = Exchange.create(exchange_config(), clock=EpochClock.from_wall_clock())
    events: list[UserEvent] = []
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        async with httpx.AsyncClient(base_url=info.rest_url) as client:
            rest = RestStub(client, exchange.clock)
            market_tap = TapConnector(UrlConnector(info.stream_url))
            user_tap = TapConnector(UrlConnector(info.stream_url))
            streams = MarketStreams(
                MarketStreamsConfig(("BTCUSDT",), reconnect_base_s=0.05), market_tap, rest,
                random.Random(1),
            )  # fmt: skip
            user = UserStream(
                UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET,
                                 reconnect_base_s=0.05),
                user_tap, rest, exchange.clock.now_ms, random.Random(2),
            )  # fmt: skip
            channel = user.events()

            async def record() -> None:
                async for event in channel:
                    events.append(event)

            nursery.start_soon(record)
            await nursery.start(streams.run)
            await nursery.start(user.run)
            await until(lambda: streams.is_valid("BTCUSDT") and user.is_live)

            # Checkpoint: the local book equals the exchange's book at the same update id.
            book = streams.book("BTCUSDT")
            bids, asks = exchange_book_at(exchange, "BTCUSDT", book.last_update_id, 20)
            assert [(lv.price, lv.quantity) for lv in book.bids] == bids
            assert [(lv.price, lv.quantity) for lv in book.asks] == asks

            # Kill both sockets; trade while the user stream is down.
            user_tap.refuse = market_tap.refuse = True
            await market_tap.kill_current()
            await user_tap.kill_current()
            await until(lambda: not user.is_live and not streams.is_valid("BTCUSDT"))
            _, ask = exchange.engine.best_bid_ask("BTCUSDT")
            placed = await rest.place(
                limit_order("BTCUSDT", Side.BUY, ask, Decimal("0.01"), "lb-1", TimeInForce.IOC)
            )
            order_id = placed.unwrap().order_id
            user_tap.refuse = market_tap.refuse = False
            await until(lambda: streams.is_valid("BTCUSDT") and user.is_live)

            book = streams.book("BTCUSDT")
            bids, asks = exchange_book_at(exchange, "BTCUSDT", book.last_update_id, 20)
            assert [(lv.price, lv.quantity) for lv in book.bids] == bids
            expected = sorted(
                f.trade_id for f in exchange.history.fills("user", "BTCUSDT")
                if f.order_id == order_id
            )  # fmt: skip
            got = [
                e.fill.trade_id
                for e in events
                if isinstance(e, OrderFilled) and e.order_id == order_id
            ]
            assert got == expected != []
            kinds = [type(e) for e in events]
            assert kinds.count(StreamGap) == kinds.count(Resynced) == 1
            last = [e for e in events if isinstance(e, OrderFilled) and e.order_id == order_id][-1]
            assert last.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
            nursery.cancel_scope.cancel()
