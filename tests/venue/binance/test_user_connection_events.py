"""The user stream and the WebSocket API's connection events, as Binance frames them.

``serverShutdown`` on the WebSocket API is ``{"event": {"e": "serverShutdown", "E"}}`` (no
``subscriptionId``: web-socket-api.md, "Connection events"); ``eventStreamTerminated`` ends
a subscription after ``userDataStream.unsubscribe`` (user-data-stream.md). Against the
in-process fake exchange under MockClock (autojump).
"""

from __future__ import annotations

import json

import trio
import trio.testing
from test_user import exchange_trades, fills_of, rig, take

from mmbot.venue.binance.codec import (
    ServerShutdown,
    UserEventMessage,
    WsApiResponse,
    decode_ws_api_message,
)
from mmbot.venue.events import Resynced, StreamGap

#: The example of web-socket-api.md, "Connection events" (comments removed).
DOCS_SERVER_SHUTDOWN = '{"event": {"e": "serverShutdown", "E": 1770123456789}}'
#: The example of user-data-stream.md, "Event Stream Terminated".
DOCS_TERMINATED = (
    '{"subscriptionId": 0, "event": {"e": "eventStreamTerminated", "E": 1728973001334}}'
)


def test_the_docs_server_shutdown_frame_decodes_as_a_connection_event() -> None:
    message = decode_ws_api_message(DOCS_SERVER_SHUTDOWN)
    assert message == ServerShutdown(1770123456789)
    assert not isinstance(message, UserEventMessage | WsApiResponse)


async def test_server_shutdown_on_the_ws_api_reconnects_at_once_without_a_gap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        before = trio.current_time()
        r.tap.inject(DOCS_SERVER_SHUTDOWN)
        await r.tap.opened.wait()  # the second connection
        assert trio.current_time() - before < 0.1  # no backoff: a planned end
        await r.user.wait_live()
        order_id = await take(r, "after-shutdown")
        await trio.sleep(1.0)
        stats = r.user.statistics()
        assert (stats.server_shutdowns, stats.planned_reconnects, stats.gaps) == (1, 1, 0)
        assert stats.connections == 2 and stats.subscriptions == 2
        assert not any(isinstance(e, StreamGap | Resynced) for e in r.events)
        assert [f.fill.trade_id for f in fills_of(r.events, order_id)] == exchange_trades(
            r, order_id
        )


async def test_a_fill_while_the_venue_is_away_after_its_notice_comes_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        r.tap.refuse = True  # the venue is away for a moment after its notice
        r.tap.inject(DOCS_SERVER_SHUTDOWN)
        await trio.sleep(0.1)
        missed = await take(r, "during-shutdown")
        await trio.sleep(1.0)
        r.tap.refuse = False
        await r.user.wait_live()
        await trio.sleep(1.0)
        fills = fills_of(r.events, missed)
        assert [f.fill.trade_id for f in fills] == exchange_trades(r, missed) != []
        assert r.user.statistics().server_shutdowns == 1
        # the notice itself is no gap; the reconnect the venue then refused is one
        gaps = [e.reason for e in r.events if isinstance(e, StreamGap)]
        assert len(gaps) == 1 and gaps[0].startswith("connect failed")


async def test_the_fakes_server_shutdown_reaches_the_user_stream_as_binance_sends_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        seen: list[str] = []
        r.tap.drop = lambda frame: seen.append(str(frame)) is not None  # keep everything
        r.exchange.announce_shutdown()
        await trio.sleep(0.5)
        shutdowns = [json.loads(f) for f in seen if "serverShutdown" in f]
        assert shutdowns and set(shutdowns[0]) == {"event"}
        assert set(shutdowns[0]["event"]) == {"e", "E"}
        stats = r.user.statistics()
        assert (stats.server_shutdowns, stats.planned_reconnects) == (1, 1)
        # the exchange is gone for good: its notice is no gap, the refused reconnects are
        reasons = [e.reason for e in r.events if isinstance(e, StreamGap)]
        assert not any(reason.startswith("serverShutdown") for reason in reasons)


async def test_the_docs_event_stream_terminated_frame_is_a_gap_then_a_resubscription(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        r.tap.inject(DOCS_TERMINATED)
        await trio.sleep(1.0)
        await r.user.wait_live()
        kinds = [type(e) for e in r.events]
        assert kinds.count(StreamGap) == kinds.count(Resynced) == 1
        assert r.user.statistics().subscriptions == 2


async def test_unsubscribing_on_the_fake_ends_the_stream_and_the_adapter_resubscribes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The fake sends ``eventStreamTerminated`` after ``userDataStream.unsubscribe``; the
    adapter's path for it (gap, subscribe again on the same socket, reconcile) runs."""
    async with rig() as r:
        connection = r.tap.connections[-1].inner
        await connection.send_message('{"id": "kill", "method": "userDataStream.unsubscribe"}')
        await trio.sleep(1.0)
        await r.user.wait_live()
        order_id = await take(r, "after-unsubscribe")
        await trio.sleep(1.0)
        gaps = [e for e in r.events if isinstance(e, StreamGap)]
        assert [g.reason for g in gaps] == ["eventStreamTerminated"]
        assert sum(isinstance(e, Resynced) for e in r.events) == 1
        stats = r.user.statistics()
        assert stats.subscriptions == 2 and r.tap.attempts == 1  # the same socket
        assert [f.fill.trade_id for f in fills_of(r.events, order_id)] == exchange_trades(
            r, order_id
        )
