"""Bugs inside the WebSocket side are answered or logged with their traceback, never hidden."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed

from mmbot.sim import ws_app
from mmbot.sim.dialect import WsApiSession
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind, RequestRecord
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.streams import StreamSession
from mmbot.testing import running_exchange


@pytest.fixture
async def running() -> AsyncIterator[tuple[Exchange, trio.Nursery]]:
    """The exchange running; a test using it must take ``autojump_clock`` (checked)."""
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",), seed=5))
    async with running_exchange(exchange) as running:
        yield running


def _failing_on(exchange: Exchange, method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the dialect raise (a bug) on one WebSocket API method."""
    original = exchange.dialect.handle_ws_api

    def handle(message: object, session: WsApiSession, now_ms: int) -> dict[str, object]:
        if isinstance(message, str) and method in message:
            raise RuntimeError("bug in the dialect")
        return original(message, session, now_ms)

    monkeypatch.setattr(exchange.dialect, "handle_ws_api", handle)


async def test_a_failing_ws_api_frame_is_answered_minus_1000_and_the_socket_stays_open(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchange, nursery = running
    _failing_on(exchange, "time", monkeypatch)
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
    await ws.send_message(json.dumps({"id": "a1", "method": "time"}))
    with trio.fail_after(5):
        answer = json.loads(await ws.get_message())
    assert answer["id"] == "a1" and answer["status"] == 400
    assert answer["error"]["code"] == -1000
    await ws.send_message(json.dumps({"id": 2, "method": "ping"}))
    with trio.fail_after(5):
        assert json.loads(await ws.get_message())["status"] == 200  # still connected
    await ws.aclose()
    failed = [e.payload for e in exchange.history.entries(EntryKind.REQUEST)]
    assert isinstance(failed[0], RequestRecord)
    assert (failed[0].method, failed[0].status, failed[0].error_code) == ("time", 400, -1000)
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert logged and "bug in the dialect" in caplog.text


async def test_an_unparsable_failing_frame_is_answered_without_an_id(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exchange, nursery = running
    _failing_on(exchange, "garbage", monkeypatch)
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
    await ws.send_message("garbage{")
    with trio.fail_after(5):
        answer = json.loads(await ws.get_message())
    assert answer["id"] is None and answer["error"]["code"] == -1000
    await ws.aclose()


async def test_a_connection_ended_by_a_bug_is_logged_with_its_traceback(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    exchange, nursery = running

    def broken(self: StreamSession, message: str | bytes) -> None:
        raise RuntimeError("bug in stream control")

    monkeypatch.setattr(StreamSession, "handle", broken)
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@trade")
    await ws.send_message('{"method": "LIST_SUBSCRIPTIONS", "id": 1}')
    with trio.fail_after(5), pytest.raises(ConnectionClosed):
        while True:
            await ws.get_message()
    await trio.sleep(1.0)  # the server side ends the connection and logs (simulated time)
    (record,) = [r for r in caplog.records if r.name == ws_app.__name__]
    assert record.levelno >= logging.WARNING
    assert record.exc_info is not None
    assert "bug in stream control" in caplog.text  # the traceback names the cause


@pytest.mark.parametrize("resource", ["/ws-api/v3", "/ws/btcusdt@trade"])
async def test_a_cancelled_connection_closes_at_once_not_after_the_close_timeout(
    running: tuple[Exchange, trio.Nursery], autojump_clock: trio.testing.MockClock, resource: str
) -> None:
    exchange, _ = running
    assert exchange.config.streams.close_timeout_s >= 1.0
    async with trio.open_nursery() as client:
        await InProcessExchange(exchange).connect_ws(client, resource)
        await trio.sleep(1)
        start = trio.current_time()
        client.cancel_scope.cancel()
    assert trio.current_time() - start < 0.1
    with trio.fail_after(1):
        await exchange.wait_connections_closed()


def _client_frame(opcode: int, payload: bytes, *, masked: bool = True, rsv: int = 0) -> bytes:
    """One raw client frame (short payload), possibly broken on purpose."""
    head = bytes([0x80 | rsv | opcode, (0x80 if masked else 0) | len(payload)])
    if not masked:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_client_frame(0x1, b"hi", masked=False), 1002),  # clients must mask
        (_client_frame(0x3, b"x"), 1002),  # reserved opcode
        (_client_frame(0x1, b"x", rsv=0x40), 1002),  # reserved bit
        (_client_frame(0x1, b"\xff\xfe"), 1007),  # text that is not UTF-8
    ],
)
async def test_a_protocol_error_gets_a_close_frame_with_its_code(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
    frame: bytes,
    code: int,
) -> None:
    exchange, nursery = running
    client, server = trio.testing.memory_stream_pair()
    nursery.start_soon(ws_app.serve_ws_stream, exchange, server)
    await client.send_all(
        b"GET /ws-api/v3 HTTP/1.1\r\nHost: exchange.sim\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    received = b""
    with trio.fail_after(5):
        while b"\r\n\r\n" not in received:
            received += await client.receive_some()
        assert received.startswith(b"HTTP/1.1 101")
        received = received.split(b"\r\n\r\n", 1)[1]
        await client.send_all(frame)
        for _ in range(100):  # until the server closes the stream
            chunk = await client.receive_some()
            if not chunk:
                break
            received += chunk
    assert received[:1] == b"\x88", received  # a Close frame (FIN + opcode 8) came first
    assert int.from_bytes(received[2:4], "big") == code
