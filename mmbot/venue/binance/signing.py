"""HMAC-SHA256 request signing of the Binance Spot dialect (sans-IO).

What it is for: computing and verifying signatures for SIGNED REST requests (over the raw
query string + raw body bytes) and for WebSocket API requests (over the alphabetically
sorted parameters).

What it must never do: log, return or embed the secret anywhere but in the HMAC; verify over
re-serialised parameters (clients order parameters differently: verify the raw bytes).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode


def sign(secret: str, payload: bytes | str) -> str:
    """Hex HMAC-SHA256 of ``payload`` with ``secret``."""
    data = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def strip_signature(raw: bytes) -> tuple[bytes, str | None]:
    """Remove the ``signature=...`` parameter from a raw urlencoded string.

    Returns the remaining bytes exactly as sent (parameter order and encoding kept) and the
    signature's value, or ``None`` when there is none.
    """
    if not raw:
        return b"", None
    kept: list[bytes] = []
    signature: str | None = None
    for part in raw.split(b"&"):
        if part.startswith(b"signature="):
            signature = part[len(b"signature=") :].decode("ascii", "replace")
        else:
            kept.append(part)
    return b"&".join(kept), signature


def signing_payload(raw_query: bytes, raw_body: bytes) -> tuple[bytes, str | None]:
    """The bytes a SIGNED REST request was signed over, and the signature it carries.

    The dialect signs the query string followed directly by the body; the ``signature``
    parameter may sit in either and is removed from both.
    """
    query, sig_q = strip_signature(raw_query)
    body, sig_b = strip_signature(raw_body)
    return query + body, sig_q or sig_b


def verify(secret: str, payload: bytes, signature: str | None) -> bool:
    """Constant-time check of a hex signature over ``payload``; ``False`` for any garbage."""
    if not signature or not signature.isascii():
        return False  # compare_digest refuses non-ASCII text (TypeError)
    return hmac.compare_digest(sign(secret, payload), signature.lower())


#: Characters ``urlencode`` leaves as they are: a payload made only of them needs no quoting.
_UNQUOTED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def ws_signing_payload(params: Mapping[str, object]) -> str:
    """WebSocket API payload: parameters sorted by name, urlencoded, ``signature`` excluded."""
    items = sorted((k, _wire(v)) for k, v in params.items() if k != "signature")
    unquoted = _UNQUOTED.issuperset
    if all(unquoted(k) and unquoted(v) for k, v in items):  # the usual order request
        return "&".join([f"{k}={v}" for k, v in items])
    return urlencode(items)


def _wire(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
