"""The tap on the bot's WebSocket links: what it records of frames, answers and ends; and the
frame readers it uses (no exchange)."""

from __future__ import annotations

import json

import pytest
import trio

from mmbot.chaos.history import (
    BookData,
    BotHistory,
    Completion,
    Ending,
    Invoke,
    StreamEvent,
    read_answer,
    read_request,
    read_stream_message,
)
from mmbot.chaos.tap import BotTap


class FakeConnection:
    """Hands out ``incoming`` frames, then fails as a broken connection does."""

    def __init__(self, *incoming: str) -> None:
        self.incoming = list(incoming)
        self.sent: list[str | bytes] = []

    async def get_message(self) -> str | bytes:
        await trio.lowlevel.checkpoint()
        if not self.incoming:
            raise trio.BrokenResourceError("gone")
        return self.incoming.pop(0)

    async def send_message(self, message: str | bytes) -> None:
        await trio.lowlevel.checkpoint()
        self.sent.append(message)

    async def ping(self, payload: bytes | None = None) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        await trio.lowlevel.checkpoint()


class FakeConnector:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection

    async def connect(self, nursery: trio.Nursery, resource: str) -> FakeConnection:
        await trio.lowlevel.checkpoint()
        return self.connection


def tapped() -> tuple[BotHistory, BotTap]:
    history = BotHistory()
    return history, BotTap(history, lambda: 1_000, incarnation=2)


async def test_a_ws_api_request_is_invoked_answered_and_one_left_waiting_is_unknown() -> None:
    history, tap = tapped()
    answer = {"id": 1, "status": 429, "error": {"code": -1003, "msg": "Too many requests.",
              "data": {"serverTime": 5_000, "retryAfter": 8_000}}}  # fmt: skip
    event = {"subscriptionId": 0, "event": {"e": "executionReport"}}
    inner = FakeConnection(json.dumps(event), json.dumps(answer))
    async with trio.open_nursery() as nursery:
        connection = await tap.wrap_connector(FakeConnector(inner)).connect(nursery, "/ws-api/v3")
    params = {"symbol": "BTCUSDT", "newClientOrderId": "mm-r-1-b0", "signature": "s"}
    frame = {"id": 1, "method": "order.place", "params": params}
    await connection.send_message(json.dumps(frame))
    await connection.send_message(json.dumps({"id": 2, "method": "order.cancel", "params": {}}))
    for _ in range(2):
        await connection.get_message()
    with pytest.raises(trio.BrokenResourceError):
        await connection.get_message()
    assert inner.sent[0] == json.dumps(frame)  # passed through unchanged
    place, cancel, throttled, lost = history.records
    assert place == Invoke(1, 1_000, 2, "ws_api", "order.place", "BTCUSDT", "mm-r-1-b0")
    assert isinstance(cancel, Invoke) and cancel.operation == "order.cancel"
    assert throttled == Completion(1, 1_000, Ending.FAIL, 429, -1003, 3.0)
    assert isinstance(lost, Completion) and (lost.op, lost.ending) == (2, Ending.INFO)
    assert lost.reason == "the connection ended"
    assert "signature" not in repr(history.records)


async def test_a_stream_records_depth_diffs_and_its_end_once() -> None:
    history, tap = tapped()
    data = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 11, "u": 12, "b": [], "a": []}
    diff = {"stream": "btcusdt@depth@100ms", "data": data}
    trade = {"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT"}}
    inner = FakeConnection(json.dumps(trade), json.dumps(diff))
    async with trio.open_nursery() as nursery:
        connection = await tap.wrap_connector(FakeConnector(inner)).connect(
            nursery, "/stream?streams=btcusdt@depth@100ms"
        )
    for _ in range(2):
        await connection.get_message()
    await connection.aclose()
    with pytest.raises(trio.BrokenResourceError):
        await connection.get_message()
    assert history.records == [
        StreamEvent(1_000, 2, 1, True),
        BookData(1_000, 2, "BTCUSDT", False, 11, 12, 1),
        StreamEvent(1_000, 2, 1, False),  # once, though it also broke afterwards
    ]


def test_the_readers_take_what_matters_and_nothing_secret() -> None:
    assert read_request("POST", "/api/v3/order",
                        "symbol=ETHUSDT&newClientOrderId=mm-r-2-s0&signature=abc") == (
        "order.place", "ETHUSDT", "mm-r-2-s0")  # fmt: skip
    assert read_request("GET", "/api/v3/ping", "") == ("GET /api/v3/ping", None, None)
    refused = read_answer(418, b'{"code":-1003,"msg":"banned"}', "120")
    assert (refused.ending, refused.code, refused.retry_after_s) == (Ending.FAIL, -1003, 120.0)
    assert read_answer(503, b"not json", None).ending is Ending.INFO
    assert read_answer(200, b"{}", "5").retry_after_s is None  # only a throttle waits
    assert read_stream_message('{"e":"trade","s":"BTCUSDT"}') is None
    assert read_stream_message(b'{"e":"depthUpdate","s":"X","U":1,"u":"2"}') is None
