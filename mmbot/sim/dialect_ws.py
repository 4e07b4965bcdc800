"""The WebSocket API half of the fake exchange's dialect (sans-IO).

What it is for: answering one WebSocket API message for
:meth:`~mmbot.sim.dialect.Dialect.handle_ws_api`: the JSON envelope (``id``, ``method``,
``params``), the signature over the sorted parameters, the user-data-stream subscription
of the connection (:class:`WsApiSession`), the error shape (429/418 carry ``retryAfter``)
and the ``rateLimits`` every answer carries. Routing, rate limits, timestamps and the
operations themselves are the dialect's, shared with REST.

What it must never do: I/O, read a clock, raise on any input (garbage gets a well-formed
error answer), or let a secret reach an answer or a log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from mmbot.sim.dialect_params import DialectFailure, Params, fail
from mmbot.sim.dialect_request import (
    MAX_BODY_BYTES,
    UNEXPECTED,
    UNSUPPORTED,
    Handled,
    error_body,
)
from mmbot.venue.binance.errors import MSG_INVALID_SIGNATURE, Code, missing_param
from mmbot.venue.binance.signing import verify, ws_signing_payload

if TYPE_CHECKING:
    from mmbot.sim.dialect import Dialect

log = logging.getLogger("mmbot.sim.dialect")


@attrs.define(eq=False)
class WsApiSession:
    """Per-connection state of one WebSocket API client.

    The shell forwards ``subscribed_account``'s user events, wrapped with
    ``subscription_id``, while ``subscribed_account`` is set.
    """

    client: str = "127.0.0.1"
    subscribed_account: str | None = None
    subscription_id: int | None = None


def handle_ws_api(
    dialect: Dialect, message: Mapping[str, object] | object, session: WsApiSession, now_ms: int
) -> dict[str, object]:
    """Answer one WebSocket API request; never raises for any input."""
    state = Handled()
    request_id: object = None
    method = "?"
    try:
        if isinstance(message, (str, bytes, bytearray)):
            message = _parse_json(message)
        if not isinstance(message, Mapping):
            raise fail(-1135, "Invalid JSON Request")
        request_id = message.get("id")
        if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
            request_id = None
            raise DialectFailure(missing_param("id"))
        raw_method = message.get("method")
        if not isinstance(raw_method, str) or not raw_method:
            raise DialectFailure(missing_param("method"))
        method = raw_method[:64]
        result = _ws(dialect, method, message.get("params"), session, now_ms, state)
        status = 200
        response: dict[str, object] = {"id": request_id, "status": 200, "result": result}
    except DialectFailure as failure:
        status, response = _ws_error(request_id, failure, state, now_ms)
    except Exception:  # a bug: answer and report it anyway, never drop the connection
        log.exception("WebSocket API request %r failed unexpectedly", method)
        status, response = _ws_error(request_id, UNEXPECTED, state, now_ms)
    orders = state.route is not None and state.route.places_order
    response["rateLimits"] = dialect.limiter.ws_rate_limits(
        session.client, state.account, now_ms, orders=orders
    )
    dialect._report("ws_api", method, method, state, status, now_ms)
    return response


def _ws(
    dialect: Dialect,
    method: str,
    raw_params: object,
    session: WsApiSession,
    now_ms: int,
    state: Handled,
) -> object:
    banned = dialect.limiter.check_ban(session.client, now_ms)
    if banned is not None:
        raise DialectFailure(banned)
    route = dialect._ws_routes.get(method)
    if route is None:
        dialect._charge(session.client, 1, now_ms, state)
        raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED)
    state.route = route
    try:
        params = Params.from_ws(raw_params)
    except DialectFailure:
        dialect._charge(session.client, route.weight(Params(())), now_ms, state)
        raise
    dialect._charge(session.client, route.weight(params), now_ms, state)
    account = None
    if route.signed:
        secret, account = dialect._key(params.require("apiKey"))
        payload = ws_signing_payload(_ws_values(params)).encode()
        if not verify(secret, payload, params.raw("signature")):
            if params.raw("signature") is None:
                raise DialectFailure(missing_param("signature"))
            raise fail(Code.INVALID_SIGNATURE, MSG_INVALID_SIGNATURE)
        dialect._check_timestamp(params, now_ms)
        state.account = account
    if method == "userDataStream.subscribe.signature":
        assert account is not None
        dialect._next_subscription += 1
        session.subscribed_account = account
        session.subscription_id = dialect._next_subscription
        return {"subscriptionId": dialect._next_subscription}
    if method == "userDataStream.unsubscribe":
        session.subscribed_account = None
        session.subscription_id = None
        return {}
    _, body = dialect._run(route, params, account, now_ms, state)
    return body


def _ws_error(
    request_id: object, failure: DialectFailure, state: Handled, now_ms: int
) -> tuple[int, dict[str, object]]:
    """A WebSocket API error answer (without ``rateLimits``); records the error in ``state``."""
    state.error = failure.error
    status, error = error_body(failure)
    if failure.error.retry_after is not None:
        # 429/418: Binance puts {"serverTime", "retryAfter" (epoch ms)} in the error's data.
        error["data"] = {
            "serverTime": now_ms,
            "retryAfter": now_ms + failure.error.retry_after * 1000,
        }
    return status, {"id": request_id, "status": status, "error": error}


def _parse_json(text: str | bytes | bytearray) -> object:
    if len(text) > MAX_BODY_BYTES:
        raise fail(-1135, "Invalid JSON Request")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise fail(-1135, "Invalid JSON Request") from exc


def _ws_values(params: Params) -> dict[str, str]:
    return {name: params.raw(name) or "" for name in params.names()}
