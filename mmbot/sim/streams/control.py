"""Control of the fake exchange's WebSocket connections: subscriptions, connection events (sans-IO).

What it is for: answering ``SUBSCRIBE`` / ``UNSUBSCRIBE`` / ``LIST_SUBSCRIPTIONS`` /
``SET_PROPERTY`` / ``GET_PROPERTY`` frames with ``{"result", "id"}`` or the dialect's
``{"error": {"code", "msg"}, "id"}`` answers, and keeping the connection's subscription list;
and the frames that concern a connection rather than a market or an account, framed exactly
as Binance frames them on each kind of connection (web-socket-streams.md,
web-socket-api.md, user-data-stream.md): :func:`server_shutdown_frame` (raw stream: the bare
event; combined stream: ``{"stream": "!serverShutdown", "data": ...}``; WebSocket API:
``{"event": ...}``, no ``subscriptionId``) and :func:`event_stream_terminated_frame`
(``{"subscriptionId", "event": {"e": "eventStreamTerminated", "E"}}``).

What it must never do: I/O, read a clock (times enter as arguments), raise on any client
input (every frame gets an answer).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from mmbot.sim.streams.names import parse_stream
from mmbot.sim.streams.payloads import dumps, server_shutdown_payload

#: The most streams one connection may listen to (as on Binance).
MAX_STREAMS_PER_CONNECTION = 1024


#: The stream name a combined stream wraps ``serverShutdown`` in.
SERVER_SHUTDOWN_STREAM = "!serverShutdown"

_ID_STRING = re.compile(r"[A-Za-z0-9]{1,36}")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


def server_shutdown_frame(now_ms: int, *, ws_api: bool, combined: bool) -> str:
    """``serverShutdown`` as one kind of connection receives it: the bare event on a raw
    market stream, wrapped ``{"stream": "!serverShutdown", "data"}`` on a combined one, and
    ``{"event"}`` (no ``subscriptionId``: it is no account's event) on the WebSocket API."""
    event = server_shutdown_payload(now_ms)
    if ws_api:
        return dumps({"event": event})
    if combined:
        return dumps({"stream": SERVER_SHUTDOWN_STREAM, "data": event})
    return dumps(event)


def event_stream_terminated_frame(subscription_id: int, now_ms: int) -> str:
    """The last frame of a user-data subscription that ended (``userDataStream.unsubscribe``,
    or ``session.logout`` for one made by ``userDataStream.subscribe``)."""
    return dumps(
        {"subscriptionId": subscription_id, "event": {"e": "eventStreamTerminated", "E": now_ms}}
    )


def control_error(code: int, msg: str, request_id: object = None) -> dict[str, Any]:
    """A market-stream control error answer: ``{"error": {"code", "msg"}, "id"}``."""
    return {"error": {"code": code, "msg": msg}, "id": request_id}


@attrs.frozen
class ControlOutcome:
    """The answer to one control message and the subscription changes it made."""

    reply: dict[str, Any]
    subscribed: tuple[str, ...] = ()
    unsubscribed: tuple[str, ...] = ()


@attrs.define(eq=False)
class StreamSession:
    """One market-stream connection's subscriptions and ``combined`` property."""

    symbols: frozenset[str]
    combined: bool
    # Invariant: no duplicates; every name parses for a listed symbol.
    subscriptions: list[str] = attrs.field(factory=list)

    def handle(self, message: str | bytes) -> ControlOutcome:
        """Answer one text (or binary) frame sent by the client; never raises."""
        try:
            request = json.loads(message)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return ControlOutcome(control_error(3, "Invalid JSON: expected value"))
        if not isinstance(request, dict):
            return ControlOutcome(control_error(2, "Invalid request: expected an object"))
        request_id = request.get("id")
        if not _valid_id(request_id):
            return ControlOutcome(
                control_error(2, "Invalid request: request ID must be an unsigned integer")
            )
        if set(request) - {"method", "params", "id"}:
            return ControlOutcome(control_error(2, "Invalid request: too many parameters"))
        method = request.get("method")
        if method is None:
            return ControlOutcome(control_error(2, "Invalid request: missing field `method`"))
        if method not in _METHODS:
            expected = ", ".join(f"`{m}`" for m in _METHODS)
            return ControlOutcome(
                control_error(
                    2,
                    f"Invalid request: unknown variant {_short(method)}, "
                    f"expected one of {expected}",
                    request_id,
                )
            )
        params = request.get("params", [])
        if not isinstance(params, list):
            return ControlOutcome(
                control_error(2, "Invalid request: params must be an array", request_id)
            )
        if method == "LIST_SUBSCRIPTIONS":
            return ControlOutcome({"result": list(self.subscriptions), "id": request_id})
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return self._property(method, params, request_id)
        return self._subscription(method, params, request_id)

    def _subscription(self, method: str, params: list[Any], request_id: object) -> ControlOutcome:
        for name in params:
            if parse_stream(name, self.symbols) is None:
                return ControlOutcome(
                    control_error(2, f"Invalid request: unknown stream {_short(name)}", request_id)
                )
        ok = {"result": None, "id": request_id}
        if method == "SUBSCRIBE":
            added = tuple(dict.fromkeys(n for n in params if n not in self.subscriptions))
            if len(self.subscriptions) + len(added) > MAX_STREAMS_PER_CONNECTION:
                return ControlOutcome(
                    control_error(
                        2,
                        f"Invalid request: at most {MAX_STREAMS_PER_CONNECTION} streams",
                        request_id,
                    )
                )
            self.subscriptions.extend(added)
            return ControlOutcome(ok, subscribed=added)
        removed = tuple(dict.fromkeys(n for n in params if n in self.subscriptions))
        self.subscriptions = [n for n in self.subscriptions if n not in removed]
        return ControlOutcome(ok, unsubscribed=removed)

    def _property(self, method: str, params: list[Any], request_id: object) -> ControlOutcome:
        if not params or not isinstance(params[0], str):
            return ControlOutcome(
                control_error(2, "Invalid request: property name must be a string", request_id)
            )
        if params[0] != "combined":
            return ControlOutcome(control_error(0, "Unknown property", request_id))
        if method == "GET_PROPERTY":
            return ControlOutcome({"result": self.combined, "id": request_id})
        if len(params) != 2 or not isinstance(params[1], bool):
            return ControlOutcome(
                control_error(1, "Invalid value type: expected Boolean", request_id)
            )
        self.combined = params[1]
        return ControlOutcome({"result": None, "id": request_id})


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and _ID_STRING.fullmatch(value) is not None


def _short(value: object) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:64])
