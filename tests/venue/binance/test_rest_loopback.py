"""BinanceRest over real sockets: the fake exchange served by hypercorn on 127.0.0.1."""

from __future__ import annotations

import socket

import trio
from test_rest_support import API_KEY, API_SECRET, exchange_config, maker_bid

from mmbot.clock import EpochClock
from mmbot.model import OrderStatus, Outcome
from mmbot.sim.exchange import Exchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.base import OrderRef
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import RestConfig


async def test_a_placement_round_trip_over_loopback_with_a_skewed_exchange_clock() -> None:
    exchange = Exchange.create(exchange_config(), clock=EpochClock.from_wall_clock())
    exchange.clock.skew_ms = -6000  # the exchange runs 6 s behind us
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            info: ServeInfo = await nursery.start(serve_exchange, exchange)
            rest = BinanceRest.create(
                RestConfig(base_url=info.rest_url),
                now_ms=EpochClock.from_wall_clock().now_ms,
                api_key=API_KEY,
                api_secret=API_SECRET,
            )
            async with rest:
                placed = await rest.place(maker_bid("loop-1"))
                ref = OrderRef("BTCUSDT", client_order_id="loop-1")
                queried = await rest.query_order(ref)
                cancelled = await rest.cancel(ref)
            nursery.cancel_scope.cancel()
    assert abs(rest.server_clock.offset_ms + 6000) < 1000
    assert placed.is_ok and queried.unwrap().status is OrderStatus.NEW
    assert cancelled.unwrap().status is OrderStatus.CANCELED


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens here now


async def test_connection_refused_is_failed_as_never_sent() -> None:
    rest = BinanceRest.create(
        RestConfig(base_url=f"http://127.0.0.1:{_closed_port()}"),
        now_ms=EpochClock.from_wall_clock().now_ms,
        api_key=API_KEY,
        api_secret=API_SECRET,
    )
    with trio.fail_after(20):
        placed = await rest.place(maker_bid("refused-1"))
        await rest.aclose()
    assert placed.outcome is Outcome.FAILED and placed.code is None
    assert "not sent" in placed.reason
