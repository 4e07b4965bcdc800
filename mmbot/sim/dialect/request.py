"""What one dialect request carries from routing to its answer, and its error answers (sans-IO).

What it is for: the pieces the REST and WebSocket API paths of the gateway share: what a
request got to before it was answered (:class:`Handled`, for headers and the history), the
:class:`RequestInfo` the history records, the error body every failure is answered with
(:func:`error_body`) and the one last-resort answer to a request the exchange itself failed
on (:func:`last_resort`: logged with its traceback, answered 400 -1000).

What it must never do: I/O, read a clock, or put a secret (API secret, signature) in any of
these values: they reach responses, logs and the history.
"""

from __future__ import annotations

import logging
from typing import Literal

import attrs

from mmbot.sim.dialect.params import DialectFailure, fail
from mmbot.sim.dialect.routes import Route
from mmbot.venue.binance.errors import Code, DialectError

log = logging.getLogger("mmbot.sim.dialect")

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
    #: Answered by the fault plan (an ``error`` fault), not by the dialect.
    injected: bool = False


@attrs.define(eq=False)
class Handled:
    """What one request got to before it was answered (for headers and the report)."""

    route: Route | None = None
    client: str = ""  # the client IP its weight was charged to
    account: str | None = None
    weight: int = 0
    error: DialectError | None = None
    client_order_id: str | None = None
    injected: bool = False  # answered by the fault plan


def error_body(failure: DialectFailure) -> tuple[int, dict[str, object]]:
    """The HTTP status and ``{"code", "msg"[, "data"]}`` body of an error answer."""
    body = failure.error.body()
    body["code"] = int(failure.error.code)
    if failure.data is not None:
        body["data"] = failure.data
    return failure.error.http_status, body


#: Binance's "unknown error": the answer to a request the exchange failed on (a bug).
UNEXPECTED = fail(Code.UNKNOWN, "An unknown error occurred while processing the request.")


def last_resort(what: str, *args: object) -> DialectFailure:
    """The answer to a request the exchange failed on (a bug): :data:`UNEXPECTED`.

    Call it in the ``except`` block that caught the bug: it logs the exception with its
    traceback (``what`` and ``args`` say which request, as ``logging`` formats them). Every
    -1000 the fake exchange answers, over REST or the WebSocket API, inside the dialect or
    in a shell's guard around it, comes from here; the fuzz tests treat one as a bug to fix.
    """
    log.exception(what + " failed unexpectedly; answered -1000", *args)
    return UNEXPECTED
