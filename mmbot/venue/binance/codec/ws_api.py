"""WebSocket API frames of the Binance dialect: answers and user events in, requests out (sans-IO).

What it is for: decoding what arrives on ``/ws-api/v3`` (:class:`WsApiResponse` for an answer
to a request, with the ``retryAfter`` of a 429/418; :class:`UserEventMessage` for a user-data
event; :class:`~mmbot.venue.binance.codec.market.ServerShutdown` for the connection event
``{"event": {"e": "serverShutdown", "E"}}``, which carries no ``subscriptionId`` and is no
user event) and writing request frames (:func:`encode_ws_request`). A ``result`` block has
the shape of the REST answer, so the REST decoders read it.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder; classify an error answer anywhere but ``failures.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import attrs

from mmbot.venue.base import VenueResult
from mmbot.venue.binance.codec.failures import decode_error, failure_result
from mmbot.venue.binance.codec.market import ServerShutdown
from mmbot.venue.binance.codec.primitives import as_dict, as_int, decoder, json_value, opt_int
from mmbot.venue.binance.codec.user_events import read_user_event
from mmbot.venue.events import UserEvent


@attrs.frozen
class WsApiResponse:
    """A WebSocket API answer. ``result`` is raw JSON shaped like the REST answer.

    ``retry_after`` (s): for a 429/418, how long the venue asks us to wait, from the error's
    ``data`` ``{"serverTime", "retryAfter"}`` (both epoch ms); None when it did not say.
    """

    request_id: int | str | None
    status: int
    result: Any = None
    error: tuple[int, str] | None = None
    retry_after: float | None = None

    def failure(self) -> VenueResult[NoReturn]:
        """The FAILED/UNKNOWN result of an error answer (same rules as REST)."""
        code, msg = self.error if self.error else (None, f"HTTP-like status {self.status}")
        return failure_result(self.status, code, msg, retry_after=self.retry_after)


@attrs.frozen
class UserEventMessage:
    subscription_id: int | None
    event: UserEvent


#: The type of the connection event announcing maintenance (no account, no subscription).
SERVER_SHUTDOWN = "serverShutdown"


@decoder("WebSocket API message")
def decode_ws_api_message(raw: object) -> WsApiResponse | UserEventMessage | ServerShutdown:
    """``{"id", "status", "result"|"error"}``, ``{"subscriptionId", "event"}`` or the
    connection event ``{"event": {"e": "serverShutdown", "E"}}``."""
    d = as_dict(json_value(raw))
    if "event" in d:
        event = as_dict(d["event"])
        if event.get("e") == SERVER_SHUTDOWN:
            return ServerShutdown(as_int(event["E"]))
        return UserEventMessage(opt_int(d.get("subscriptionId")), read_user_event(event))
    status = as_int(d["status"])
    if "error" in d:
        error = d["error"]
        return WsApiResponse(
            d.get("id"), status, None, decode_error(error), _ws_retry_after(error)
        )  # fmt: skip
    return WsApiResponse(d.get("id"), status, d.get("result"))


def _ws_retry_after(error: object) -> float | None:
    """Seconds to wait from an error's ``data`` ``{"serverTime", "retryAfter"}`` (epoch ms),
    never negative; None if the error carries no such data (most errors do not)."""
    data = error.get("data") if type(error) is dict else None
    if type(data) is not dict:
        return None
    server, retry = data.get("serverTime"), data.get("retryAfter")
    if type(server) is not int or type(retry) is not int:
        return None
    return max(0, retry - server) / 1000


def encode_ws_request(request_id: int | str, method: str, params: Mapping[str, object]) -> str:
    """A WebSocket API request frame (params already signed if the method needs it)."""
    return json.dumps({"id": request_id, "method": method, "params": dict(params)})
