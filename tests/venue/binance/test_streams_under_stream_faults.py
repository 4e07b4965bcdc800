"""The bot's market streams against the fake exchange's stream faults (MockClock, autojump):
however diffs are dropped, duplicated, reordered, lost in bursts or snapshots come stale,
every book published valid is the exchange's true book at its update id."""

from __future__ import annotations

import random

import trio
import trio.testing
from test_streams_support import RestStub, exchange_book_at, exchange_config

from mmbot.model import BookSnapshot
from mmbot.sim.exchange import Exchange
from mmbot.sim.faults import (
    FaultPlan,
    PacketLoss,
    SeqGap,
    StaleSnapshot,
    WsDupReorder,
)
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.streams import MarketStreams, MarketStreamsConfig
from mmbot.venue.binance.ws import FunctionConnector

DEPTH = 20  # MarketStreamsConfig.publish_depth


async def test_every_valid_book_is_the_exchanges_under_every_message_fault(
    autojump_clock: trio.testing.MockClock,
) -> None:
    faults = FaultPlan(
        (
            StaleSnapshot(lag=25),  # every snapshot 25 updates behind the stream
            SeqGap(probability=0.05, start=5.0, duration=10.0),
            WsDupReorder(duplicate=0.2, reorder=0.1, window=3, start=15.0, duration=10.0),
            PacketLoss(probability=0.02, burst=4.0, start=25.0, duration=10.0),
        )
    )
    exchange = Exchange.simulated(exchange_config(faults=faults))
    inproc = InProcessExchange(exchange)
    seen: list[BookSnapshot] = []
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        config = MarketStreamsConfig(symbols=("BTCUSDT", "ETHUSDT"))
        rest = RestStub(client, exchange.clock)
        streams = MarketStreams(
            config, FunctionConnector(inproc.connect_ws), rest, random.Random(3)
        )
        await nursery.start(streams.run)
        with trio.move_on_after(40.0):
            async with streams.book_stream("BTCUSDT") as books:
                async for book in books:
                    seen.append(book)
        stats = streams.book_statistics("BTCUSDT")
        nursery.cancel_scope.cancel()
    valid = [b for b in seen if b.is_valid]
    assert len(valid) > 50
    for book in valid:
        bids, asks = exchange_book_at(exchange, "BTCUSDT", book.last_update_id, DEPTH)
        assert [(lv.price, lv.quantity) for lv in book.bids] == bids
        assert [(lv.price, lv.quantity) for lv in book.asks] == asks
    # the faults struck: gaps resynced, stale snapshots refused or continued, all recorded
    assert stats.gaps >= 3 and stats.snapshots_accepted >= 4
    names = {f.name for f in exchange.history.faults()}
    assert {"stale_snapshot", "seq_gap", "ws_dup_reorder", "packet_loss"} <= names
    assert any(not b.is_valid for b in seen[len(seen) // 4 :])  # invalid while resyncing
