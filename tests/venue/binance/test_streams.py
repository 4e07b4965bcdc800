"""Market streams against the in-process fake exchange under MockClock (autojump)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import pytest
import trio
import trio.testing
from test_streams_support import RestStub, TapConnector, exchange_book_at, exchange_config

from mmbot.model import BookSnapshot
from mmbot.sim.exchange import Exchange
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.streams import DepthFromFunction, MarketStreams, MarketStreamsConfig
from mmbot.venue.binance.ws import FunctionConnector

DEPTH = 20  # MarketStreamsConfig.publish_depth


@attrs.define(eq=False)
class Rig:
    exchange: Exchange
    streams: MarketStreams
    tap: TapConnector
    rest: RestStub


@asynccontextmanager
async def rig(**cfg: object) -> AsyncIterator[Rig]:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = RestStub(client, exchange.clock)
        config = MarketStreamsConfig(symbols=("BTCUSDT", "ETHUSDT"), **cfg)  # type: ignore[arg-type]
        streams = MarketStreams(config, tap, rest, random.Random(7))
        await nursery.start(streams.run)
        yield Rig(exchange, streams, tap, rest)
        nursery.cancel_scope.cancel()


def levels(book: BookSnapshot) -> tuple[list[tuple[object, object]], list[tuple[object, object]]]:
    return [(lv.price, lv.quantity) for lv in book.bids], [
        (lv.price, lv.quantity) for lv in book.asks
    ]


def assert_matches_exchange(exchange: Exchange, book: BookSnapshot) -> None:
    assert book.is_valid
    bids, asks = exchange_book_at(exchange, book.symbol, book.last_update_id, DEPTH)
    assert levels(book) == (bids, asks)


async def collect(streams: MarketStreams, symbol: str, seconds: float) -> list[BookSnapshot]:
    seen: list[BookSnapshot] = []
    with trio.move_on_after(seconds):
        async with streams.book_stream(symbol) as books:
            async for book in books:
                seen.append(book)
    return seen


async def test_book_builds_and_every_valid_snapshot_equals_the_exchange_book(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        seen = await collect(r.streams, "BTCUSDT", 20.0)
        valid = [b for b in seen if b.is_valid]
        assert not seen[0].is_valid  # nothing synced at first
        assert len(valid) > 20
        for book in valid:
            assert_matches_exchange(r.exchange, book)
        ids = [b.last_update_id for b in valid]
        assert ids == sorted(ids)
        assert r.streams.is_valid("ETHUSDT")
        assert r.streams.book_age("BTCUSDT") < 1.0


async def test_a_dropped_diff_gives_a_rebuilt_book_and_never_a_valid_wrong_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    dropped: list[int] = []
    seen: list[BookSnapshot] = []

    def drop_one(message: str | bytes) -> bool:
        data = json.loads(message).get("data", {})
        is_diff = data.get("s") == "BTCUSDT" and data.get("e") == "depthUpdate"
        if is_diff and not dropped and len(seen) > 30:
            dropped.append(data["U"])
            return True
        return False

    async with rig() as r:
        r.tap.drop = drop_one
        async with r.streams.book_stream("BTCUSDT") as books:
            with trio.move_on_after(30.0):
                async for book in books:
                    seen.append(book)
                    if book.is_valid:
                        assert_matches_exchange(r.exchange, book)
        assert dropped, "the test never dropped a diff"
        stats = r.streams.book_statistics("BTCUSDT")
        assert (stats.gaps, stats.snapshots_accepted) == (1, 2)
        assert seen[-1].is_valid and seen[-1].last_update_id > dropped[0]
        assert r.streams.statistics().connections == 1  # rebuilt from a snapshot, no reconnect


async def test_a_gapped_book_is_invalid_until_the_new_snapshot_arrives(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        await collect(r.streams, "BTCUSDT", 3.0)
        gate = trio.Event()
        real_depth = r.rest.depth

        async def slow_depth(symbol: str, limit: int = 1000) -> object:
            await gate.wait()
            return await real_depth(symbol, limit)

        r.streams.rest = attrs.evolve(DepthFromFunction(slow_depth))  # type: ignore[arg-type]
        r.tap.drop = lambda m: (
            b'"depthUpdate"' in (m if isinstance(m, bytes) else m.encode())
            and not r.tap.dropped
            and b"BTCUSDT" in (m if isinstance(m, bytes) else m.encode())
        )
        await trio.sleep(5.0)
        assert r.tap.dropped
        assert not r.streams.is_valid("BTCUSDT")
        assert not r.streams.book("BTCUSDT").bids  # the gapped book is discarded
        assert r.streams.is_valid("ETHUSDT")  # the other symbol is unaffected
        gate.set()
        await trio.sleep(1.0)
        assert r.streams.is_valid("BTCUSDT")
        assert_matches_exchange(r.exchange, r.streams.book("BTCUSDT"))


async def test_a_killed_connection_reconnects_and_the_book_resumes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        await collect(r.streams, "BTCUSDT", 5.0)
        assert r.streams.is_valid("BTCUSDT")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(r.tap.kill_current)
            version, book = r.streams.book_version("BTCUSDT"), r.streams.book("BTCUSDT")
            while book.is_valid:
                version, book = await r.streams.wait_for_update("BTCUSDT", version)
            assert not book.bids  # invalid and discarded at once, before reconnecting:
            assert r.streams.statistics().connections == 1
        seen = await collect(r.streams, "BTCUSDT", 10.0)
        assert seen[-1].is_valid
        for book in seen:
            if book.is_valid:
                assert_matches_exchange(r.exchange, book)
        assert r.streams.statistics().connections == 2


async def test_a_silent_connection_is_detected_stale_and_replaced(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(silence_s=5.0, pong_timeout_s=2.0) as r:
        await collect(r.streams, "BTCUSDT", 3.0)
        assert r.streams.is_valid("BTCUSDT")
        r.tap.connections[-1].silent = True
        start = trio.current_time()
        async with r.streams.book_stream("BTCUSDT") as books:
            async for book in books:
                if not book.is_valid:
                    break
        assert 5.0 <= trio.current_time() - start <= 8.0
        assert r.streams.statistics().stale == 1
        seen = await collect(r.streams, "BTCUSDT", 10.0)
        assert seen[-1].is_valid and r.streams.statistics().connections == 2


async def test_server_pings_are_answered_so_an_idle_client_is_not_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The exchange pings every 20 s and drops a client without a pong within 60 s;
    # with probes effectively off, only trio-websocket's automatic pongs keep us alive.
    async with rig(silence_s=10_000.0) as r:
        await trio.sleep(200.0)
        assert r.streams.statistics().connections == 1
        assert r.streams.is_valid("BTCUSDT")


async def test_reconnects_back_off_with_jitter_while_the_venue_refuses(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(reconnect_base_s=1.0, reconnect_cap_s=8.0) as r:
        await collect(r.streams, "BTCUSDT", 2.0)
        r.tap.refuse = True
        before = r.tap.attempts
        await r.tap.kill_current()
        await trio.sleep(30.0)
        attempts = r.tap.attempts - before
        r.tap.refuse = False
        await trio.sleep(20.0)
        assert r.streams.is_valid("BTCUSDT")
        # Delays (base 1, cap 8, equal jitter) lie in [0.5,1], [1,2], [2,4], [4,8], [4,8], ...
        # so 30 s hold 5 to 8 attempts (without backoff there would be thousands).
        assert 5 <= attempts <= 8
        assert r.streams.statistics().connections == 2


async def test_connection_is_reopened_before_its_lifetime_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(max_connection_s=60.0) as r:
        await trio.sleep(150.0)
        assert r.streams.statistics().connections == 3
        assert r.streams.statistics().stale == 0
        assert r.streams.is_valid("BTCUSDT")


async def test_server_shutdown_reconnects_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        await collect(r.streams, "BTCUSDT", 2.0)
        r.exchange.announce_shutdown()
        r.exchange._shutting_down = False  # the exchange comes back at once
        await trio.sleep(3.0)
        assert r.streams.statistics().server_shutdowns == 1
        assert r.streams.statistics().connections == 2
        assert r.streams.is_valid("BTCUSDT")


async def test_cancelling_the_streams_ends_consumers_and_propagates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    async with inproc.client() as client, trio.open_nursery() as outer:
        await outer.start(exchange.run)
        config = MarketStreamsConfig(symbols=("BTCUSDT",))
        streams = MarketStreams(
            config,
            FunctionConnector(inproc.connect_ws),
            RestStub(client, exchange.clock),
            random.Random(1),
        )
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as inner:
                inner.start_soon(streams.run)
                await trio.sleep(2.0)
                scope.cancel()
        assert scope.cancelled_caught
        with pytest.raises(trio.EndOfChannel):
            await streams.wait_for_update("BTCUSDT", streams.book_version("BTCUSDT"))
        outer.cancel_scope.cancel()


async def test_public_trades_are_kept_with_their_arrival_and_read_once_by_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(trades=True, recent_trades=1000) as r:
        await trio.sleep(30.0)
        kept = r.streams.trades_after("BTCUSDT", -1)
        prints = r.exchange.dialect.market_stats.recent_trades("BTCUSDT", 1000)
        # every trade the venue printed since the stream opened, in order, each once
        assert [t.trade_id for _, t in kept] == [p.trade_id for p in prints][-len(kept) :]
        assert len(kept) > 20
        assert all(at <= trio.current_time() for at, _ in kept)
        assert [at for at, _ in kept] == sorted(at for at, _ in kept)
        middle = kept[len(kept) // 2][1].trade_id
        assert [t.trade_id for _, t in r.streams.trades_after("BTCUSDT", middle)] == [
            t.trade_id for _, t in kept if t.trade_id > middle
        ]
        assert r.streams.trades_after("BTCUSDT", kept[-1][1].trade_id) == []
        printed = {p.trade_id: (p.price, p.qty, p.buyer_is_maker) for p in prints}
        assert all(printed[t.trade_id] == (t.price, t.quantity, t.buyer_is_maker) for _, t in kept)


async def test_without_the_trade_stream_no_trades_are_kept(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        await trio.sleep(10.0)
        assert r.streams.trades_after("BTCUSDT", -1) == []
        assert all("@trade" not in name for name in r.streams.config.streams())
