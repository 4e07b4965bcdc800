"""The WebSocket API path through the dialect: one JSON frame in, one answer out (sans-IO).

What it is for: :func:`answer_ws_api` takes one WebSocket API message through the gateway's
steps (``gateway.py``: ban check, charge, authenticate, run, report) and adds what only
this transport has: the JSON envelope (``id``, ``method``, ``params``), the signature over
the sorted parameters, the connection's session (:class:`WsApiSession`: ``session.logon``
/ ``session.status`` / ``session.logout``, and its user-data subscription by
``userDataStream.subscribe`` after logon or ``userDataStream.subscribe.signature``, ended by
``userDataStream.unsubscribe`` with an ``eventStreamTerminated``), the error shape (429/418
carry ``retryAfter``) and the ``rateLimits`` every answer carries.
:func:`answer_ws_api_failure` is the answer to a frame the gateway itself failed on, for
the shell's guard.

What it must never do: I/O, read a clock, raise on any input (garbage gets a well-formed
error answer), or let a secret reach an answer or a log line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from mmbot.sim.dialect.params import DialectFailure, Params, fail
from mmbot.sim.dialect.request import (
    MAX_BODY_BYTES,
    UNSUPPORTED,
    Handled,
    error_body,
    last_resort,
)
from mmbot.venue.binance.errors import (
    MSG_INVALID_API_KEY,
    MSG_SUBSCRIPTION_ACTIVE,
    Code,
    DialectError,
    missing_param,
)
from mmbot.venue.binance.signing import ws_signing_payload

if TYPE_CHECKING:
    from mmbot.sim.dialect.gateway import Dialect


@attrs.define(eq=False)
class WsApiSession:
    """Per-connection state of one WebSocket API client.

    The shell forwards ``subscribed_account``'s user events, wrapped with
    ``subscription_id``, while ``subscribed_account`` is set, and sends an
    ``eventStreamTerminated`` for each subscription :meth:`take_terminated` hands it.
    ``session.logon`` authenticates the connection (``logon_account``): signed requests may
    then omit ``apiKey`` and ``signature`` (never ``timestamp``), and
    ``userDataStream.subscribe`` subscribes to that account.
    """

    client: str = "127.0.0.1"
    connected_ms: int = 0
    subscribed_account: str | None = None
    subscription_id: int | None = None
    #: The subscription came from ``userDataStream.subscribe``: ``session.logout`` ends it.
    subscribed_by_logon: bool = False
    logon_api_key: str | None = attrs.field(default=None, repr=False)
    logon_account: str | None = None
    authorized_since: int | None = None
    # Invariant: subscriptions ended since the shell last asked (each gets one
    # eventStreamTerminated, after the answer to the request that ended it).
    _terminated: list[int] = attrs.field(factory=list)

    def unsubscribe(self, subscription_id: int | None = None) -> None:
        """End the subscription (``subscription_id`` None: whichever there is); a
        subscription that does not exist is nothing to end."""
        current = self.subscription_id
        if self.subscribed_account is None or current is None:
            return
        if subscription_id is not None and subscription_id != current:
            return
        self._terminated.append(current)
        self.subscribed_account = None
        self.subscription_id = None
        self.subscribed_by_logon = False

    def take_terminated(self) -> list[int]:
        """The subscriptions ended since the last call (the shell announces each)."""
        ended, self._terminated = self._terminated, []
        return ended

    def status(self, now_ms: int) -> dict[str, object]:
        """The ``session.logon`` / ``session.status`` / ``session.logout`` result."""
        return {
            "apiKey": self.logon_api_key,
            "authorizedSince": self.authorized_since,
            "connectedSince": self.connected_ms,
            "returnRateLimits": True,  # every answer of the fake carries ``rateLimits``
            "serverTime": now_ms,
            "userDataStream": self.subscribed_account is not None,
        }


def answer_ws_api(
    dialect: Dialect, message: Mapping[str, object] | object, session: WsApiSession, now_ms: int
) -> dict[str, object]:
    """Answer one WebSocket API request; never raises for any input."""
    state = Handled()
    request_id: object = None
    method = "?"
    try:
        # a banned client is refused first, and a frame that names no method is charged
        # before it is answered or recorded: garbage costs its sender, not the exchange
        dialect.check_ban(session.client, now_ms)
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
        except DialectFailure:
            dialect.charge(session.client, 1, now_ms, state)
            raise
        method = raw_method[:64]
        result = _steps(dialect, method, message.get("params"), session, now_ms, state)
        status = 200
        response: dict[str, object] = {"id": request_id, "status": 200, "result": result}
    except DialectFailure as refused:
        status, response = _error_answer(request_id, refused, state, now_ms)
    except Exception:  # a bug: answer and report it anyway, never drop the connection
        unexpected = last_resort("WebSocket API request %r", method)
        status, response = _error_answer(request_id, unexpected, state, now_ms)
    orders = state.route is not None and state.route.places_order
    response["rateLimits"] = dialect.venue_limits.ws_rate_limits(
        session.client, state.account, now_ms, orders=orders
    )
    dialect.report("ws_api", method, method, state, status, now_ms)
    return response


def refuse_ws_api(
    dialect: Dialect, message: str | bytes, error: DialectError, now_ms: int, *, report: bool = True
) -> dict[str, object]:
    """The answer to a frame the exchange refuses before working on it (an ``error``
    fault: reported like any request), or that replaces an answer it lost (-1007 after a
    ``lost_ack`` fault: ``report=False``, the request was reported as worked on)."""
    state = Handled(injected=True)
    request_id, method = _id_and_method(message)
    status, response = _error_answer(request_id, DialectFailure(error), state, now_ms)
    if report:
        dialect.report("ws_api", method, method, state, status, now_ms)
    return response


def answer_ws_api_failure(dialect: Dialect, message: str | bytes, now_ms: int) -> dict[str, object]:
    """The last-resort answer to a frame the gateway raised on (a bug), reported like any
    request. Call it in the ``except`` block that caught the bug (it logs the traceback)."""
    state = Handled()
    request_id, method = _id_and_method(message)
    failure = last_resort("WebSocket API frame %r", method)
    status, response = _error_answer(request_id, failure, state, now_ms)
    dialect.report("ws_api", method, method, state, status, now_ms)
    return response


def _steps(
    dialect: Dialect,
    method: str,
    raw_params: object,
    session: WsApiSession,
    now_ms: int,
    state: Handled,
) -> object:
    dialect.check_ban(session.client, now_ms)
    route = dialect.routes.by_method.get(method)
    if route is None:
        dialect.charge(session.client, 1, now_ms, state)
        raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED)
    state.route = route
    try:
        params = Params.from_ws(raw_params)
    except DialectFailure:
        dialect.charge(session.client, route.weight(Params(())), now_ms, state)
        raise
    dialect.charge(session.client, route.weight(params), now_ms, state)
    account = None
    if route.signed:
        account = _authenticate(dialect, method, params, session, now_ms)
        state.account = account
    elif session.logon_account is not None and method in _SESSION_METHODS:
        state.account = session.logon_account
    session_answer = _session_step(dialect, method, params, session, account, now_ms)
    if session_answer is not None:
        return session_answer
    _, body = dialect.run(route, params, account, now_ms, state)
    return body


#: Methods about the connection itself, answered here rather than by an operation.
_SESSION_METHODS = frozenset(
    {
        "session.logon",
        "session.status",
        "session.logout",
        "userDataStream.subscribe",
        "userDataStream.subscribe.signature",
        "userDataStream.unsubscribe",
    }
)


def _authenticate(
    dialect: Dialect, method: str, params: Params, session: WsApiSession, now_ms: int
) -> str:
    """The account of a signed request: by its ``apiKey`` and ``signature``, or, on a
    connection that ``session.logon`` authenticated, by the session when the request names
    neither (its ``timestamp`` is still checked)."""
    logged_on = session.logon_api_key
    if (
        logged_on is not None
        and method != "session.logon"
        and params.raw("apiKey") is None
        and params.raw("signature") is None
    ):
        return dialect.authenticate_session(logged_on, params, now_ms)
    api_key = params.require("apiKey")
    payload = ws_signing_payload(_ws_values(params)).encode()
    return dialect.authenticate(api_key, payload, params.raw("signature"), params, now_ms)


def _session_step(
    dialect: Dialect,
    method: str,
    params: Params,
    session: WsApiSession,
    account: str | None,
    now_ms: int,
) -> dict[str, object] | None:
    """The answer to a method about the connection (logon, user-data subscriptions);
    None for any other method."""
    if method not in _SESSION_METHODS:
        return None
    if method == "session.logon":
        assert account is not None
        session.logon_api_key = params.require("apiKey")
        session.logon_account = account
        session.authorized_since = now_ms
        return session.status(now_ms)
    if method == "session.status":
        return session.status(now_ms)
    if method == "session.logout":
        if session.subscribed_by_logon:
            session.unsubscribe()
        session.logon_api_key = session.logon_account = session.authorized_since = None
        return session.status(now_ms)
    if method == "userDataStream.subscribe":
        if session.logon_account is None:
            raise fail(Code.REJECTED_MBX_KEY, MSG_INVALID_API_KEY, 401)
        if session.subscribed_account is not None:
            raise fail(Code.SUBSCRIPTION_ACTIVE, MSG_SUBSCRIPTION_ACTIVE)
        subscription_id = dialect.subscribe_user_data(session, session.logon_account)
        session.subscribed_by_logon = True
        return {"subscriptionId": subscription_id}
    if method == "userDataStream.subscribe.signature":
        assert account is not None
        subscription_id = dialect.subscribe_user_data(session, account)
        session.subscribed_by_logon = False
        return {"subscriptionId": subscription_id}
    # userDataStream.unsubscribe: every subscription, or the one named
    session.unsubscribe(params.integer("subscriptionId"))
    return {}


def _error_answer(
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


def ws_api_method(message: str | bytes) -> str | None:
    """The method a WebSocket API frame names (``order.place``), None if it names none.

    For the shell, which must know the operation before the frame is answered (the fault
    plan); the answer itself reads the frame again through the gateway's steps.
    """
    if len(message) > MAX_BODY_BYTES:
        return None
    method = _id_and_method(message)[1]
    return None if method == "?" else method


def _id_and_method(message: str | bytes) -> tuple[str | int | None, str]:
    """The request id and method of a WebSocket API frame, as far as they can be read."""
    try:
        request = json.loads(message)
    except (ValueError, RecursionError):
        return None, "?"
    if not isinstance(request, dict):
        return None, "?"
    request_id = request.get("id")
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        request_id = None
    method = request.get("method")
    return request_id, method[:64] if isinstance(method, str) and method else "?"


def _parse_json(text: str | bytes | bytearray) -> object:
    if len(text) > MAX_BODY_BYTES:
        raise fail(-1135, "Invalid JSON Request")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise fail(-1135, "Invalid JSON Request") from exc


def _ws_values(params: Params) -> dict[str, str]:
    return {name: params.raw(name) or "" for name in params.names()}
