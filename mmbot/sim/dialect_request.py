"""What one dialect request carries from routing to its answer (sans-IO).

What it is for: the pieces the REST and WebSocket API paths of
:class:`~mmbot.sim.dialect.Dialect` share: the route a request matched (:class:`Route`), what
it got to before it was answered (:class:`Handled`, for headers and the history), the
:class:`RequestInfo` the history records, and the error body every failure is answered with.

What it must never do: I/O, read a clock, or put a secret (API secret, signature) in any of
these values: they reach responses, logs and the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

from mmbot.sim.dialect_endpoints import Operation
from mmbot.sim.dialect_params import DialectFailure, Params, fail
from mmbot.venue.binance.errors import Code, DialectError

#: Largest query string or body the dialect reads (the REST app stops reading beyond it).
MAX_BODY_BYTES = 64 * 1024
UNSUPPORTED = "This operation is not supported."


@attrs.frozen
class RequestInfo:
    """One handled request, as the history records it."""

    transport: Literal["rest", "ws_api"]
    method: str  # HTTP method, or the WebSocket API method name
    path: str  # REST path, or the WebSocket API method name
    account: str | None
    status: int
    error_code: int | None
    weight: int
    client_order_id: str | None
    time_ms: int


@attrs.frozen
class Route:
    """One operation as a transport reaches it: its weight, and whether it is signed."""

    name: str
    run: Operation
    signed: bool = False
    weight: Callable[[Params], int] = lambda _: 1
    places_order: bool = False


@attrs.define(eq=False)
class Handled:
    """What one request got to before it was answered (for headers and the report)."""

    route: Route | None = None
    account: str | None = None
    weight: int = 0
    error: DialectError | None = None
    client_order_id: str | None = None


#: The answer to an unexpected exception (a bug in the exchange): Binance's "unknown error".
UNEXPECTED = fail(Code.UNKNOWN, "An unknown error occurred while processing the request.")


def error_body(failure: DialectFailure) -> tuple[int, dict[str, object]]:
    body = failure.error.body()
    body["code"] = int(failure.error.code)
    if failure.data is not None:
        body["data"] = failure.data
    return failure.error.http_status, body
