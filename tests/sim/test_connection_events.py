"""The fake exchange's connection events on the wire, framed exactly as Binance frames them.

``serverShutdown``: bare on a raw stream, ``{"stream": "!serverShutdown", "data"}`` on a
combined stream (web-socket-streams.md), ``{"event"}`` on the WebSocket API
(web-socket-api.md); ``eventStreamTerminated`` after ``userDataStream.unsubscribe``
(user-data-stream.md). Key sets and JSON types are compared with the docs' examples.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection

from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "frames-key"
API_SECRET = "frames-secret-never-logged"

#: The docs' examples (comments removed).
DOCS_RAW_SHUTDOWN = {"e": "serverShutdown", "E": 1770123456789}
DOCS_COMBINED_SHUTDOWN = {"stream": "!serverShutdown", "data": DOCS_RAW_SHUTDOWN}
DOCS_WS_API_SHUTDOWN = {"event": DOCS_RAW_SHUTDOWN}
DOCS_TERMINATED = {
    "subscriptionId": 0,
    "event": {"e": "eventStreamTerminated", "E": 1728973001334},
}


def shape(value: Any) -> Any:
    """The key set and JSON types of a frame (values dropped)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


@asynccontextmanager
async def exchange_running() -> AsyncIterator[tuple[Exchange, InProcessExchange, trio.Nursery]]:
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=5, api_key=API_KEY, api_secret=API_SECRET)
    async with running_exchange(Exchange.simulated(config)) as (exchange, nursery):
        yield exchange, InProcessExchange(exchange), nursery


async def frames_until_closed(ws: WebSocketConnection) -> list[Any]:
    frames = []
    with pytest.raises(ConnectionClosed):
        while True:
            frames.append(json.loads(await ws.get_message()))
    return frames


async def next_frame(ws: WebSocketConnection, wanted: str) -> Any:
    """The next frame whose text mentions ``wanted`` (market data in between is skipped)."""
    with trio.fail_after(5):
        while True:
            text = await ws.get_message()
            if wanted in text:
                return json.loads(text)


def resting_buy(exchange: Exchange) -> dict[str, object]:
    """A LIMIT buy at the best bid (rests, fills nothing)."""
    bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
    assert bid is not None
    return {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.001", "price": str(bid),
    }  # fmt: skip


def signed(exchange: Exchange, params: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {**params, "apiKey": API_KEY, "timestamp": exchange.now_ms()}
    out["signature"] = sign(API_SECRET, ws_signing_payload(out))
    return out


@pytest.mark.parametrize(
    ("resource", "docs"),
    [
        ("/ws/btcusdt@trade", DOCS_RAW_SHUTDOWN),
        ("/stream?streams=btcusdt@trade", DOCS_COMBINED_SHUTDOWN),
        ("/ws-api/v3", DOCS_WS_API_SHUTDOWN),
    ],
)
async def test_server_shutdown_is_framed_as_binance_frames_it_on_each_kind_of_connection(
    resource: str, docs: dict[str, Any], autojump_clock: trio.testing.MockClock
) -> None:
    async with exchange_running() as (exchange, inproc, nursery):
        ws = await inproc.connect_ws(nursery, resource)
        exchange.announce_shutdown()
        frames = await frames_until_closed(ws)
        shutdowns = [f for f in frames if "serverShutdown" in json.dumps(f)]
        assert len(shutdowns) == 1 and shutdowns[0] == frames[-1]
        assert shape(shutdowns[0]) == shape(docs)
        assert ws.closed is not None and ws.closed.code == 1001


async def test_unsubscribe_answers_then_sends_event_stream_terminated_and_user_data_stops(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_running() as (exchange, inproc, nursery):
        ws = await inproc.connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(
            json.dumps(
                {
                    "id": 1,
                    "method": "userDataStream.subscribe.signature",
                    "params": signed(exchange, {}),
                }
            )
        )
        subscription = (await next_frame(ws, '"id":1'))["result"]["subscriptionId"]
        await ws.send_message(json.dumps({"id": 2, "method": "userDataStream.unsubscribe"}))
        answer = json.loads(await ws.get_message())
        assert answer["id"] == 2 and answer["result"] == {}
        terminated = json.loads(await ws.get_message())
        assert shape(terminated) == shape(DOCS_TERMINATED)
        assert terminated["subscriptionId"] == subscription
        assert terminated["event"]["E"] == exchange.now_ms()
        # no more user data: an order placed now sends nothing to this connection
        place = resting_buy(exchange)
        await ws.send_message(
            json.dumps({"id": 3, "method": "order.place", "params": signed(exchange, place)})
        )
        assert (await next_frame(ws, '"id":3'))["status"] == 200
        with trio.move_on_after(1.0):
            text = await ws.get_message()
            raise AssertionError(f"unexpected frame after unsubscribing: {text[:80]}")


async def test_logon_then_subscribe_delivers_the_accounts_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with exchange_running() as (exchange, inproc, nursery):
        ws = await inproc.connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(
            json.dumps({"id": "a", "method": "session.logon", "params": signed(exchange, {})})
        )
        logon = await next_frame(ws, '"id":"a"')
        assert logon["status"] == 200 and logon["result"]["apiKey"] == API_KEY
        assert API_SECRET not in json.dumps(logon)
        await ws.send_message(json.dumps({"id": "b", "method": "userDataStream.subscribe"}))
        subscription = (await next_frame(ws, '"id":"b"'))["result"]["subscriptionId"]
        place = resting_buy(exchange) | {"timestamp": exchange.now_ms()}
        await ws.send_message(json.dumps({"id": "c", "method": "order.place", "params": place}))
        report = await next_frame(ws, "executionReport")
        assert report["subscriptionId"] == subscription
        assert report["event"]["x"] == "NEW"
        await ws.send_message(json.dumps({"id": "d", "method": "session.logout"}))
        terminated = await next_frame(ws, "eventStreamTerminated")
        assert terminated["subscriptionId"] == subscription
