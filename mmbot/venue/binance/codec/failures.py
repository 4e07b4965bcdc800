"""Error answers of the Binance dialect and what they mean: FAILED or UNKNOWN (sans-IO).

What it is for: decoding an error body ``{"code", "msg"}`` (:func:`decode_error`) and
classifying an error answer by HTTP status and dialect code, once, here
(:func:`classify_failure`, :func:`failure_result`): any 5xx and the codes -1000, -1006 and
-1007 leave the request's outcome unknown; every other error answer is known not to have
happened. REST (``rest_http.py``), the WebSocket API and cancel-replace parts all ask here.

What it must never do: I/O, or call an unknown outcome FAILED (a FAILED order may be
re-sent; an UNKNOWN one must be resolved first).
"""

from __future__ import annotations

from typing import NoReturn

from mmbot.model import Outcome
from mmbot.venue.base import VenueResult, failed, unknown
from mmbot.venue.binance.codec.primitives import as_dict, as_int, as_str, decoder, json_value

#: Dialect codes that mean the request's outcome is unknown (errors.md): -1000 unknown
#: error, -1006 unexpected response from the message bus, -1007 backend timeout.
UNKNOWN_CODES = frozenset({-1000, -1006, -1007})


@decoder("error body")
def decode_error(raw: object) -> tuple[int, str]:
    """An error body ``{"code", "msg"}`` as (code, msg)."""
    d = as_dict(json_value(raw))
    return as_int(d["code"]), as_str(d["msg"])


def classify_failure(http_status: int | None, code: int | None) -> Outcome:
    """FAILED (known not to have happened) or UNKNOWN (5xx, or -1000/-1006/-1007)."""
    if (http_status is not None and http_status >= 500) or code in UNKNOWN_CODES:
        return Outcome.UNKNOWN
    return Outcome.FAILED


def failure_result(
    http_status: int | None, code: int | None, msg: str, *, retry_after: float | None = None
) -> VenueResult[NoReturn]:
    """The result for an error answer, classified once, here."""
    if classify_failure(http_status, code) is Outcome.UNKNOWN:
        return unknown(msg, code=code, http_status=http_status)
    return failed(code, msg, http_status=http_status, retry_after=retry_after)
