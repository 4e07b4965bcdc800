"""The user stream's first reconcile reads the account's trades from when the venue was
opened, not from when the stream started: a fill in between (a restarted bot's start-up
reading the server time slowly, as the chaos fuzzer found behind a black-holed market-data
endpoint) reaches the ledger once; a fill before it is not this session's."""

from __future__ import annotations

import random
from decimal import Decimal

import trio
import trio.testing
from test_streams_support import API_KEY, API_SECRET, RestStub, exchange_config, limit_order

from mmbot.model import Side, TimeInForce
from mmbot.sim.exchange import Exchange
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import FunctionConnector
from mmbot.venue.events import OrderFilled, UserEvent


async def _take(exchange: Exchange, rest: RestStub, cid: str) -> int:
    """Buy at the best ask (a taker: it fills at once); the order id."""
    _, ask = exchange.engine.best_bid_ask("BTCUSDT")
    order = limit_order("BTCUSDT", Side.BUY, ask, Decimal("0.01"), cid, TimeInForce.IOC)
    return (await rest.place(order)).unwrap().order_id


async def _first_events(since: str) -> tuple[list[UserEvent], int, int]:
    """Fill one order, open the venue (``since``: "open" is after that fill), fill another,
    then start the stream; the events of its first subscription, and both order ids."""
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    events: list[UserEvent] = []
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = RestStub(client, exchange.clock)
        before = await _take(exchange, rest, "before-open")
        await trio.sleep(1.0)
        opened_ms = exchange.clock.now_ms()
        await trio.sleep(1.0)
        between = await _take(exchange, rest, "between")  # before the stream starts
        await trio.sleep(5.0)  # the server time read slowly
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(
            config, FunctionConnector(inproc.connect_ws), rest, exchange.clock.now_ms,
            random.Random(3), since_ms=opened_ms if since == "open" else None,
        )  # fmt: skip
        channel = user.events()
        await nursery.start(user.run)
        await user.wait_live()
        await trio.sleep(1.0)
        while True:
            try:
                events.append(channel.receive_nowait())
            except trio.WouldBlock:
                break
        nursery.cancel_scope.cancel()
    return events, before, between


def _filled(events: list[UserEvent]) -> list[int]:
    return [e.order_id for e in events if isinstance(e, OrderFilled)]


async def test_a_fill_between_the_venue_opening_and_the_stream_start_is_delivered_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events, before, between = await _first_events(since="open")
    filled = _filled(events)
    assert between in filled and before not in filled  # the fill before the opening: not ours
    keys = [e.fill.key for e in events if isinstance(e, OrderFilled)]
    assert len(keys) == len(set(keys))  # each fill once


async def test_without_it_the_stream_reads_from_its_own_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events, _, _ = await _first_events(since="run")
    assert _filled(events) == []  # what the fuzzer's restarted bot lost
