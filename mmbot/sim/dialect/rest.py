"""The REST path through the dialect: one HTTP request in, one Binance answer out (sans-IO).

What it is for: :class:`RestRequest` and :class:`RestResponse` (what the REST app reads and
writes) and :func:`answer_rest`, which takes one request through the gateway's steps in
Binance's order (ban check, route, charge, parse, authenticate over the raw bytes, run,
report) and adds the REST headers (``x-mbx-uuid``, ``x-mbx-used-weight`` and
``x-mbx-used-weight-1m``, the order counts ``x-mbx-order-count-10s``/``-1d``,
``Retry-After``). The steps themselves are the gateway's (``gateway.py``), shared with the
WebSocket API path (``ws_api.py``).

What it must never do: I/O, read a clock, raise for any input (garbage gets a well-formed
4xx answer; a bug gets the last-resort -1000), or let a secret reach a response or a log.
"""

from __future__ import annotations

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
from mmbot.venue.binance.errors import Code, DialectError
from mmbot.venue.binance.signing import signing_payload

if TYPE_CHECKING:
    from mmbot.sim.dialect.gateway import Dialect


@attrs.frozen
class RestRequest:
    method: str
    path: str
    raw_query: bytes
    raw_body: bytes
    headers: Mapping[str, str]  # lower-cased names
    client: str  # client IP, e.g. "127.0.0.1"


@attrs.frozen
class RestResponse:
    status: int
    body: object  # JSON-able
    headers: tuple[tuple[str, str], ...] = ()
    #: Never sent: the exchange lost the answer (a ``lost_ack`` fault); the app holds the
    #: request until the client gives up.
    withheld: bool = False
    #: Seconds the app holds the answer before writing it (a ``fill_before_ack`` fault:
    #: the order's fill goes out on the user stream first).
    hold_s: float = 0.0
    #: Never sent: the connection is closed without an answer (a ``reset`` fault; after
    #: ``withheld``, a ``blackhole``).
    dropped: bool = False


def answer_rest(dialect: Dialect, request: RestRequest, now_ms: int) -> RestResponse:
    """Answer one REST request; never raises for any input."""
    state = Handled()
    try:
        status, body = _steps(dialect, request, now_ms, state)
    except DialectFailure as refused:
        status, body = error_body(refused)
        state.error = refused.error
    except Exception:  # a bug: answer and report it anyway, never a traceback to the client
        unexpected = last_resort("REST request %r %r", request.method[:16], request.path[:256])
        status, body = error_body(unexpected)
        state.error = unexpected.error
    limits = dialect.venue_limits
    used = str(limits.used_weight(request.client, now_ms))
    # As Binance sends them (lower case, HTTP/2 style): the used weight under both names,
    # the answer's id, and an order's unfilled order counts.
    headers = [
        ("x-mbx-uuid", dialect.answer_id()),
        ("x-mbx-used-weight", used),
        ("x-mbx-used-weight-1m", used),
    ]
    if state.route is not None and state.route.places_order and state.account is not None:
        ten, day = limits.order_counts(state.account, now_ms)
        headers += [("x-mbx-order-count-10s", str(ten)), ("x-mbx-order-count-1d", str(day))]
    if state.error is not None and state.error.retry_after is not None:
        headers.append(("Retry-After", str(state.error.retry_after)))
    dialect.report("rest", request.method, request.path, state, status, now_ms)
    return RestResponse(status, body, tuple(headers))


def refuse_rest(
    dialect: Dialect, request: RestRequest, error: DialectError, now_ms: int, *, report: bool = True
) -> RestResponse:
    """The answer to a request the exchange refuses before working on it (an ``error``
    fault: reported like any request; ``Retry-After`` on a 429 or 418), or that replaces an
    answer it lost (-1007 after a ``lost_ack`` fault: ``report=False``, the request was
    reported as worked on)."""
    state = Handled(injected=True)
    state.error = error
    status, body = error_body(DialectFailure(error))
    headers = [("x-mbx-uuid", dialect.answer_id())]
    if error.retry_after is not None:
        headers.append(("Retry-After", str(error.retry_after)))
    if report:
        dialect.report("rest", request.method, request.path, state, status, now_ms)
    return RestResponse(status, body, tuple(headers))


def _steps(
    dialect: Dialect, request: RestRequest, now_ms: int, state: Handled
) -> tuple[int, object]:
    dialect.check_ban(request.client, now_ms)
    methods = dialect.routes.rest_methods(request.path)
    route = None if methods is None else methods.get(request.method.upper())
    if methods is None:
        dialect.charge(request.client, 1, now_ms, state)
        raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED, 404)
    if route is None:
        dialect.charge(request.client, 1, now_ms, state)
        raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED, 405)
    state.route = route
    if len(request.raw_body) > MAX_BODY_BYTES or len(request.raw_query) > MAX_BODY_BYTES:
        dialect.charge(request.client, route.weight(Params(())), now_ms, state)
        raise fail(Code.TOO_MANY_PARAMETERS, "Too many parameters sent for this endpoint.", 413)
    try:
        params = Params.from_rest(request.raw_query, request.raw_body)
    except DialectFailure:
        dialect.charge(request.client, route.weight(Params(())), now_ms, state)
        raise
    dialect.charge(request.client, route.weight(params), now_ms, state)
    account = None
    if route.signed:
        payload, signature = signing_payload(request.raw_query, request.raw_body)
        if params.raw("signature") is None:
            signature = None
        account = dialect.authenticate(
            request.headers.get("x-mbx-apikey", ""), payload, signature, params, now_ms
        )
        state.account = account
    return dialect.run(route, params, account, now_ms, state)
