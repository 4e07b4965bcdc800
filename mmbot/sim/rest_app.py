"""The fake exchange's REST front: a raw ASGI app around a request handler.

What it is for: reading one HTTP request (method, path, raw query, raw body up to a cap,
lower-cased headers, client IP) into a :class:`RestRequest`, calling the handler (the
exchange shell's, which adds the time), and writing the JSON :class:`RestResponse`. It also
answers ASGI lifespan messages, so hypercorn can serve it directly. With ``delay`` (the
exchange's fault plan, ``Exchange.rest_delay``), it first holds the request that many
seconds on the trio clock: the handler works on it late, as over a slow network. With a
``gate`` (loopback mode's connection cap) a request beyond the cap is answered 503 -1008 at
once; with ``read_timeout_s`` a body that has not fully arrived in time is answered 408
(slow clients cannot hold the server's connections).

What it must never do: answer 5xx unless a fault says so (a lost answer's 503 -1007) or
show a traceback (an unexpected error is logged and
answered 400 with -1000 and a generic message); buffer a body beyond the cap; log secrets
(the API key header and the signature are never logged).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

from mmbot.serving import answer_lifespan
from mmbot.sim.connections import ConnectionGate
from mmbot.sim.dialect import MAX_BODY_BYTES, RestRequest, RestResponse, error_body, last_resort
from mmbot.sim.faults import Delivery

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[RestRequest], RestResponse]
#: Seconds to hold a request before handling it (0.0: at once).
Delay = Callable[[RestRequest], float]
#: How to write an answer of so many bytes to a request (None: at once, whole).
Shape = Callable[[RestRequest, int], Delivery | None]


class ConnectionDropped(Exception):
    """Raised by an in-process app (``drop_raises``) for a connection a fault drops: the
    in-process transport turns it into the error a client reads when a server hangs up."""


#: Binance's answer when it is overloaded (HTTP 503), and ours beyond the connection cap.
BUSY = RestResponse(
    503,
    {
        "code": -1008,
        "msg": "Server is currently overloaded with other requests. Please try again in a few "
        "minutes.",
    },
    (("Retry-After", "1"),),
)
#: The answer to a request whose body did not arrive within the read timeout.
READ_TIMEOUT = RestResponse(408, {"code": -1001, "msg": "Timed out reading the request."})


#: How long a request whose answer was lost (a ``lost_ack`` fault) is held before its
#: 503 -1007 is written after all: past any client's request timeout.
WITHHELD_S = 120.0


def build_rest_app(
    handler: Handler,
    *,
    max_body: int = MAX_BODY_BYTES,
    delay: Delay | None = None,
    gate: ConnectionGate | None = None,
    read_timeout_s: float | None = None,
    shape: Shape | None = None,
    drop_raises: bool = False,
) -> ASGIApp:
    """An ASGI app answering every HTTP request through ``handler`` (after ``delay``);
    ``gate`` caps the requests in progress, ``read_timeout_s`` the time to read a body;
    ``shape`` paces or slices an answer (the bandwidth and slicer faults). A response the
    handler marks ``dropped`` closes the connection without an answer: over a server, an
    interim ``100`` line and the connection closed (the server cannot send a final answer
    any more, so it hangs up; the client reads "server disconnected"); in process
    (``drop_raises``), :class:`ConnectionDropped` is raised to the transport."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await answer_lifespan(receive, send)
            return
        if kind != "http":
            return  # websocket and others are served elsewhere
        if gate is None:
            await answer(scope, receive, send)
        elif not gate.try_enter():
            await _write(send, BUSY, _encode(BUSY.body))
        else:
            try:
                await answer(scope, receive, send)
            finally:
                gate.leave()

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with trio.move_on_after(read_timeout_s or math.inf) as reading:
                request = await _read_request(scope, receive, max_body)
            if reading.cancelled_caught:
                await _write(send, READ_TIMEOUT, _encode(READ_TIMEOUT.body))
                return
            hold = 0.0 if delay is None else delay(request)
            if hold > 0:
                await trio.sleep(hold)
            response = handler(request)
            if response.hold_s > 0:
                await trio.sleep(response.hold_s)
            if response.withheld and await _client_left_within(receive, WITHHELD_S):
                return  # the answer was lost and the client gave up: nothing to write
            payload = b"" if response.dropped else _encode(response.body)
            delivery = None if shape is None or response.dropped else shape(request, len(payload))
        except Exception:  # a bug behind the dialect's own guard: the same last resort
            status, body = error_body(last_resort("REST request %r", scope.get("path", "?")))
            response = RestResponse(status, body)
            payload = _encode(body)
            delivery = None
        if response.dropped:
            if drop_raises:
                raise ConnectionDropped("the fault plan dropped the connection")
            await send({"type": "http.response.start", "status": 100, "headers": []})
            return  # no final answer: the server closes the connection
        if delivery is None:
            await _write(send, response, payload)
        else:
            await _write_paced(send, response, payload, delivery)

    return app


async def _client_left_within(receive: Receive, seconds: float) -> bool:
    """Whether the client disconnects within ``seconds`` (a lost answer's request is held
    until it gives up, never longer than that, and never pins a connection slot after)."""
    with trio.move_on_after(seconds):
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return True
    return False


async def _read_request(scope: Scope, receive: Receive, max_body: int) -> RestRequest:
    """The request with at most ``max_body + 1`` body bytes (more tells the handler: too big)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if size <= max_body:
            chunks.append(chunk[: max_body + 1 - size])
            size += len(chunk)
        if not message.get("more_body", False):
            break
        if size > max_body:
            break  # stop reading: the rest is never buffered
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers[bytes(name).decode("latin-1").lower()] = bytes(value).decode("latin-1")
    client = scope.get("client") or ("", 0)
    return RestRequest(
        method=str(scope.get("method", "GET")).upper(),
        path=str(scope.get("path", "/")),
        raw_query=bytes(scope.get("query_string", b"")),
        raw_body=b"".join(chunks),
        headers=headers,
        client=str(client[0]),
    )


def _encode(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def _write(send: Send, response: RestResponse, payload: bytes) -> None:
    headers = _headers(response, payload)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _headers(response: RestResponse, payload: bytes) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    return headers + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]


async def _write_paced(
    send: Send, response: RestResponse, payload: bytes, delivery: Delivery
) -> None:
    """Write the answer as ``delivery`` says: its head, then the body piece by piece, each
    after its wait (one piece: the whole body, late)."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": _headers(response, payload),
        }
    )
    position = 0
    last = len(delivery.sizes) - 1
    for index, (size, wait) in enumerate(zip(delivery.sizes, delivery.waits, strict=True)):
        if wait > 0:
            await trio.sleep(wait)
        piece = payload[position : position + size]
        position += size
        await send({"type": "http.response.body", "body": piece, "more_body": index < last})
