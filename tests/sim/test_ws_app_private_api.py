"""sim/ws_app.py relies on trio-websocket's private members (docs/decisions/0005).

These tests fail if trio-websocket moves, renames or changes the kind of any member
``ws_app._Connection``, ``wrap_server`` and ``wrap_client`` use, and show that the one fix
that is not about speed (no pong once closing) still does its job.
"""

from __future__ import annotations

import inspect

import pytest
import trio
import trio.testing
import trio_websocket
from trio_websocket import WebSocketConnection
from trio_websocket import _impl as trio_websocket_impl
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request

from mmbot.sim import ws_app

#: Methods of WebSocketConnection that _Connection overrides or calls (all coroutines).
PRIVATE_METHODS = (
    "_handle_ping_event",
    "_handle_message_event",
    "_handle_close_connection_event",
    "_send",
    "_reader_task",
    "_get_request",
    "_abort_web_socket",
)


def test_trio_websocket_is_the_pinned_minor_version() -> None:
    assert trio_websocket.__version__.startswith("0.12."), trio_websocket.__version__


@pytest.mark.parametrize("name", PRIVATE_METHODS)
def test_the_private_methods_used_are_still_coroutines(name: str) -> None:
    method = getattr(WebSocketConnection, name, None)
    assert method is not None, f"WebSocketConnection.{name} is gone"
    assert inspect.iscoroutinefunction(method), f"WebSocketConnection.{name} is not async"


def test_the_private_attributes_used_are_still_there_and_of_their_kind() -> None:
    stream, _ = trio.testing.memory_stream_pair()
    connection = WebSocketConnection(
        stream, WSConnection(ConnectionType.CLIENT), host="h", path="/", message_queue_size=4
    )
    assert connection._close_reason is None
    assert isinstance(connection._recv_channel, trio.MemoryReceiveChannel)
    assert isinstance(connection._send_channel, trio.MemorySendChannel)
    assert connection._message_parts == []
    assert isinstance(connection._max_message_size, int)
    assert isinstance(connection._wsproto, WSConnection)
    assert isinstance(connection._stream_lock, trio.StrictFIFOLock)
    assert connection._stream is stream
    assert isinstance(connection._open_handshake, trio.Event)


def test_the_reader_still_dispatches_to_the_overridden_handlers() -> None:
    source = inspect.getsource(WebSocketConnection._reader_task)
    assert "Ping: self._handle_ping_event" in source
    assert "TextMessage: self._handle_message_event" in source
    assert "CloseConnection: self._handle_close_connection_event" in source


def test_wrap_server_and_wrap_client_still_copy_trio_websockets_own_wrappers() -> None:
    server = inspect.getsource(trio_websocket_impl.wrap_server_stream)
    client = inspect.getsource(trio_websocket_impl.wrap_client_stream)
    assert "nursery.start_soon(connection._reader_task)" in server
    assert "await connection._get_request()" in server
    assert "nursery.start_soon(connection._reader_task)" in client
    assert "await connection._open_handshake.wait()" in client


async def _read_events(
    stream: trio.testing.MemoryStream | trio.abc.Stream, peer: WSConnection, kind: type
) -> list[object]:
    """Feed ``peer`` what arrives on ``stream`` until an event of ``kind`` comes."""
    seen: list[object] = []
    while not any(isinstance(event, kind) for event in seen):
        peer.receive_data(await stream.receive_some())
        seen.extend(peer.events())
    return seen


async def test_a_ping_crossing_our_close_does_not_break_the_close_handshake(
    autojump_clock: trio.testing.MockClock,
) -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    client = WSConnection(ConnectionType.CLIENT)
    async with trio.open_nursery() as nursery:
        await client_stream.send_all(client.send(Request(host="exchange.sim", target="/ws")))
        request = await ws_app.wrap_server(nursery, server_stream)
        server = await request.accept()
        await _read_events(client_stream, client, AcceptConnection)
        closed = trio.Event()

        async def close_server() -> None:
            await server.aclose(1000, "bye")
            closed.set()

        nursery.start_soon(close_server)
        ping = client.send(Ping(b"late"))  # sent before the client has read the Close
        events = await _read_events(client_stream, client, CloseConnection)
        (close,) = [e for e in events if isinstance(e, CloseConnection)]
        await client_stream.send_all(ping + client.send(close.response()))
        with trio.fail_after(5):
            await closed.wait()
        nursery.cancel_scope.cancel()
    assert server.closed is not None and server.closed.code == 1000
