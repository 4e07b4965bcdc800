"""Cancelling a stream client closes its WebSocket at once, not after ``close_timeout_s``.

On cancellation the connection's reader task is cancelled with everything else, so a close
handshake can no longer complete; the clients must not wait for it (MockClock: a wait would
show as virtual time). The in-process server runs in the client's connection nursery and
has its own close wait (a fake-exchange setting), made negligible here so that only the
client's close is measured.
"""

from __future__ import annotations

import random

import trio
import trio.testing
from test_streams_support import API_KEY, API_SECRET, RestStub, TapConnector, exchange_config

from mmbot.sim.exchange import Exchange
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.streams import MarketStreams, MarketStreamsConfig
from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.binance.ws import FunctionConnector

PROMPT_S = 0.01  # well under the default close_timeout_s (2 s)


def quick_server() -> Exchange:
    # the exchange's own close timeout stays at its default: its side closes at once too
    return Exchange.simulated(exchange_config())


async def test_cancelled_market_streams_close_the_socket_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = quick_server()
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as outer:
        await outer.start(exchange.run)
        config = MarketStreamsConfig(symbols=("BTCUSDT",))
        assert config.close_timeout_s == 2.0
        streams = MarketStreams(config, tap, RestStub(client, exchange.clock), random.Random(1))
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as inner:
                await inner.start(streams.run)
                while not streams.is_valid("BTCUSDT"):
                    await streams.wait_for_update("BTCUSDT", streams.book_version("BTCUSDT"))
                cancelled_at = trio.current_time()
                scope.cancel()
        assert scope.cancelled_caught  # Cancelled propagated out of run()
        assert trio.current_time() - cancelled_at < PROMPT_S
        (connection,) = tap.connections
        assert connection.inner.closed is not None  # type: ignore[attr-defined]
        assert not streams.statistics().connected
        outer.cancel_scope.cancel()


async def test_cancelled_user_stream_closes_the_socket_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = quick_server()
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as outer:
        await outer.start(exchange.run)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        assert config.close_timeout_s == 2.0
        user = UserStream(
            config, tap, RestStub(client, exchange.clock), exchange.clock.now_ms,
            random.Random(1),
        )  # fmt: skip
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as inner:
                await inner.start(user.run)
                await user.wait_live()
                cancelled_at = trio.current_time()
                scope.cancel()
        assert scope.cancelled_caught
        assert trio.current_time() - cancelled_at < PROMPT_S
        (connection,) = tap.connections
        assert connection.inner.closed is not None  # type: ignore[attr-defined]
        outer.cancel_scope.cancel()


async def test_a_planned_reconnect_still_closes_with_the_handshake(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Not cancelled: the reader is alive, the server's close reply arrives, and the old
    socket ends with a normal close well before the timeout."""
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as outer:
        await outer.start(exchange.run)
        config = MarketStreamsConfig(symbols=("BTCUSDT",))
        streams = MarketStreams(config, tap, RestStub(client, exchange.clock), random.Random(1))
        await outer.start(streams.run)
        await tap.opened.wait()
        started_at = trio.current_time()
        tap.inject('{"e": "serverShutdown", "E": 1}')
        await tap.opened.wait()  # the second connection
        assert trio.current_time() - started_at < PROMPT_S
        first = tap.connections[0].inner
        assert first.closed is not None  # type: ignore[attr-defined]
        assert first.closed.code == 1000  # type: ignore[attr-defined]
        outer.cancel_scope.cancel()
