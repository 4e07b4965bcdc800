"""The HTTP boundary of the Binance REST client: clients, signing, server time, error mapping.

What it is for: :class:`RestHttp` performs ONE HTTP exchange with the venue for an
:class:`Endpoint` — it adds ``timestamp``/``recvWindow``/``signature`` to SIGNED requests
(with the server-time offset kept by :class:`ServerClock`), sends through one of the
round-robin ``httpx.AsyncClient``s of a :class:`ClientPool` under its own deadline, feeds the
rate limiter the ``X-MBX-*`` headers, and maps every way it can end to mmbot's exceptions,
once, here (DESIGN.md §4.2):

==========================================  =============================================
how it ended                                raised
==========================================  =============================================
2xx; cancel-replace error with ``data``       nothing: an :class:`Answer`
429 / 418                                    ``RateLimited`` (limiter blocked Retry-After)
5xx, -1000/-1006/-1007                       ``VenueUnknown`` (code, HTTP status)
other 4xx with ``{"code", "msg"}``           ``VenueRejected`` (code, msg)
connect refused / connect or pool timeout    ``VenueUnavailable`` (never sent: FAILED)
read/write error, reset, protocol error      ``VenueUnknown``
no answer within ``request_timeout``         ``VenueUnknown``
2xx whose body is not JSON                   ``VenueUnknown``
==========================================  =============================================

What it must never do: retry or decide policy (``rest.py`` composes the resilience kit
around it); swallow ``trio.Cancelled`` (only its own deadline is caught); put the API key,
the secret or a signature into a log, repr, exception or result (httpx exceptions carry the
request, so they are never chained; httpx's own request log is redacted).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import urlencode

import attrs
import httpx
import trio

from mmbot.errors import RateLimited, VenueRejected, VenueUnavailable, VenueUnknown
from mmbot.model import Outcome
from mmbot.resilience.ratelimit import RateLimiter
from mmbot.resilience.ratelimit_core import BINANCE_SPOT_RULES, RateLimitRule
from mmbot.venue.binance import signing
from mmbot.venue.binance.codec import CodecError, classify_failure, decode_error
from mmbot.venue.binance.rest_endpoints import Endpoint

LIVE_REST_URL = "https://api.binance.com"
TESTNET_REST_URL = "https://testnet.binance.vision"


@attrs.frozen
class ClientLayout:
    """How requests spread over httpx clients (docs/decisions/0004-httpx-client-layout.md).

    ``clients`` independent ``AsyncClient``s are used round-robin, each with its own pool of
    at most ``max_connections`` connections (None: unlimited). The default, 4 clients of 4
    connections, serves 16 concurrent requests with the lowest tail latency measured; keep
    ``clients * max_connections`` at or above the expected number of requests in flight.
    """

    clients: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    max_connections: int | None = 4
    max_keepalive_connections: int | None = 4
    keepalive_expiry: float = 30.0


@attrs.frozen
class RestConfig:
    """Everything that shapes the REST client except credentials and the resilience kit."""

    base_url: str = LIVE_REST_URL
    recv_window_ms: int = attrs.field(default=5000, validator=attrs.validators.le(60_000))
    #: Deadline of one HTTP exchange (connect + send + answer); past it the outcome is unknown.
    request_timeout: float = 3.0
    #: Connect (and pool wait) timeout: a failure within it means "never sent" (FAILED).
    connect_timeout: float = 1.0
    #: Longest wait for room in the client-side rate limiter before failing the call.
    max_rate_wait: float = 2.0
    #: Re-read the server time when the last sync is older than this (trio seconds).
    time_resync_interval: float = 300.0
    #: ``newOrderRespType`` for placements and cancel-replace (ACK, RESULT, FULL).
    response_type: str = "FULL"
    layout: ClientLayout = attrs.field(factory=ClientLayout)
    #: The venue's rate limits: what the client-side limiter obeys (at its utilisation)
    #: unless one is given, and what the bot's order budget shares out.
    rate_limits: tuple[RateLimitRule, ...] = BINANCE_SPOT_RULES


# ---- secrets --------------------------------------------------------------------------


class ApiCredentials:
    """An API key and secret; they never show in a repr, a log or an exception."""

    __slots__ = ("_secret", "api_key")

    def __init__(self, api_key: str, api_secret: str) -> None:
        if not api_key or not api_secret:
            raise ValueError("an API key and an API secret are both required")
        self.api_key = api_key
        self._secret = api_secret

    def sign(self, payload: str) -> str:
        return signing.sign(self._secret, payload)

    def __repr__(self) -> str:
        return "ApiCredentials(<redacted>)"

    def scrub(self, text: str) -> str:
        """``text`` with the key, the secret and any signature replaced."""
        text = _SIGNATURE.sub("signature=<redacted>", text)
        for secret in (self.api_key, self._secret):
            text = text.replace(secret, "<redacted>")
        return text


_SIGNATURE = re.compile(r"signature=[0-9A-Fa-f]+")


class _RedactSignatures(logging.Filter):
    """httpx logs every request URL at INFO; signed URLs carry a signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _SIGNATURE.sub("signature=<redacted>", str(a)) if "signature=" in str(a) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "signature=" in record.msg:
            record.msg = _SIGNATURE.sub("signature=<redacted>", record.msg)
        return True


def install_log_redaction() -> None:
    """Redact signatures from the ``httpx`` logger's records (idempotent)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactSignatures) for f in logger.filters):
        logger.addFilter(_RedactSignatures())


# ---- server time ----------------------------------------------------------------------


#: How far ahead of the venue's clock a synced timestamp may be, at most, when one leg of
#: the time request was much slower than the other (the venue refuses 1,000 ms ahead).
MAX_AHEAD_MS = 250


@attrs.define(eq=False)
class ServerClock:
    """Our estimate of the venue's clock: ``now_ms() + offset_ms``.

    ``now_ms`` is the injected epoch clock (an :class:`~mmbot.clock.EpochClock`'s
    ``now_ms`` in the bot, so a simulated skew is seen); staleness is measured on trio's
    clock. Invariant: ``synced_at`` is None until the first successful sync.
    """

    now_ms: Callable[[], int]
    resync_interval: float
    offset_ms: int = 0
    synced_at: float | None = None
    syncs: int = 0

    def timestamp(self) -> int:
        return self.now_ms() + self.offset_ms

    def update(self, server_ms: int, sent_ms: int, received_ms: int, at: float) -> None:
        """Take the server's time as read at the midpoint of the round trip, but never more
        than :data:`MAX_AHEAD_MS` after the answer's arrival could allow.

        The server read its clock somewhere between ``sent_ms`` and ``received_ms``; the
        midpoint assumes the two legs took as long. A slow leg one way (a request held
        before the venue works on it) puts the midpoint up to half the round trip off, and
        the venue refuses a timestamp 1,000 ms *ahead* of its clock (-1021) while it takes
        one up to ``recvWindow`` (5,000 ms) behind. So the estimate leans behind: at most
        ``MAX_AHEAD_MS`` past the earliest offset the answer allows (``server_ms -
        received_ms``), so never more than that ahead, whatever the asymmetry; for round
        trips up to twice that, it is the midpoint. The price: after a slow round trip both
        ways it trails by up to half the round trip less ``MAX_AHEAD_MS`` (past
        ``recvWindow`` only beyond ~10 s round trips, when the venue is unusable anyway).
        """
        half = (received_ms - sent_ms) // 2
        self.offset_ms = server_ms - received_ms + min(half, MAX_AHEAD_MS)
        self.synced_at = at
        self.syncs += 1

    def is_due(self, now: float) -> bool:
        return self.synced_at is None or now - self.synced_at >= self.resync_interval


# ---- the clients ----------------------------------------------------------------------


class ClientPool:
    """``layout.clients`` httpx clients used round-robin (or given a transport: in-process)."""

    def __init__(
        self,
        base_url: str,
        layout: ClientLayout,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        limits = httpx.Limits(
            max_connections=layout.max_connections,
            max_keepalive_connections=layout.max_keepalive_connections,
            keepalive_expiry=layout.keepalive_expiry,
        )
        self.clients = tuple(
            httpx.AsyncClient(base_url=base_url, limits=limits, transport=transport)
            for _ in range(layout.clients)
        )
        self._next = 0

    def next(self) -> httpx.AsyncClient:
        client = self.clients[self._next]
        self._next = (self._next + 1) % len(self.clients)
        return client

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


# ---- one exchange ---------------------------------------------------------------------


@attrs.frozen
class Answer:
    """A venue answer that is not an error: HTTP status and parsed JSON body."""

    status: int
    body: Any


#: httpx errors that mean the request never left: nothing happened at the venue.
NOT_SENT: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
#: Default wait after a 429 / 418 that came without a usable Retry-After (seconds).
DEFAULT_RETRY_AFTER = {429: 60.0, 418: 120.0}


class RestHttp:
    """Signs and sends one request and maps how it ended (see the module docstring)."""

    def __init__(
        self,
        config: RestConfig,
        pool: ClientPool,
        clock: ServerClock,
        limiter: RateLimiter,
        credentials: ApiCredentials | None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.clock = clock
        self.limiter = limiter
        self._credentials = credentials
        self._timeout = httpx.Timeout(
            config.request_timeout, connect=config.connect_timeout, pool=config.connect_timeout
        )

    def __repr__(self) -> str:
        return f"<RestHttp {self.config.base_url}>"

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    @property
    def credentials(self) -> ApiCredentials | None:
        """The key and secret (a value that never shows them), for the WebSocket API."""
        return self._credentials

    def _target(self, endpoint: Endpoint, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        query = urlencode(params)
        headers: dict[str, str] = {}
        if endpoint.signed:
            creds = self._credentials
            assert creds is not None, "the caller checks has_credentials first"
            stamp = f"recvWindow={self.config.recv_window_ms}&timestamp={self.clock.timestamp()}"
            query = f"{query}&{stamp}" if query else stamp
            query = f"{query}&signature={creds.sign(query)}"
            headers["X-MBX-APIKEY"] = creds.api_key
        return (f"{endpoint.path}?{query}" if query else endpoint.path), headers

    async def send(self, endpoint: Endpoint, params: Mapping[str, str]) -> Answer:
        """One HTTP exchange; raises mmbot errors only (and ``trio.Cancelled``)."""
        url, headers = self._target(endpoint, params)
        failure: tuple[bool, str] | None = None  # (sent?, reason), raised outside ``except``
        response: httpx.Response | None = None
        with trio.move_on_after(self.config.request_timeout) as scope:
            try:
                response = await self.pool.next().request(
                    endpoint.method, url, headers=headers, timeout=self._timeout
                )
            except NOT_SENT as exc:
                failure = (False, self._reason(exc))
            except httpx.HTTPError as exc:
                failure = (True, self._reason(exc))
        if scope.cancelled_caught:
            raise VenueUnknown(f"{endpoint.name}: no answer within {self.config.request_timeout}s")
        if failure is not None:
            sent, reason = failure
            if not sent:
                raise VenueUnavailable(f"{endpoint.name}: not sent: {reason}")
            raise VenueUnknown(f"{endpoint.name}: {reason}")
        assert response is not None
        return self._answer(endpoint, response)

    def _reason(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self._credentials.scrub(text) if self._credentials is not None else text

    def _answer(self, endpoint: Endpoint, response: httpx.Response) -> Answer:
        self.limiter.observe_headers(response.headers)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return Answer(status, json.loads(response.content))
            except ValueError:
                raise VenueUnknown(
                    f"{endpoint.name}: HTTP {status} with a body that is not JSON",
                    http_status=status,
                ) from None
        if endpoint.parts_in_errors and status < 500:
            parts = _body_with_data(response.content)
            if parts is not None:
                return Answer(status, parts)
        try:
            code, msg = decode_error(response.content)
        except CodecError:
            code, msg = None, f"HTTP {status} without an error body"
        retry_after = _retry_after(response.headers.get("Retry-After"))
        raise_failure(endpoint, status, code, msg, retry_after, self.limiter)


def raise_failure(
    endpoint: Endpoint,
    status: int,
    code: int | None,
    msg: str,
    retry_after: float | None,
    limiter: RateLimiter,
) -> NoReturn:
    """Raise the mmbot error for an error answer, REST or WebSocket API alike: a 429/418
    blocks ``limiter`` for ``retry_after`` (or the default) and is ``RateLimited``; 5xx and
    -1000/-1006/-1007 are ``VenueUnknown``; anything else ``VenueRejected``."""
    if status in (429, 418):
        wait = retry_after if retry_after is not None else DEFAULT_RETRY_AFTER[status]
        limiter.block_until(trio.current_time() + wait)
        raise RateLimited(
            code if code is not None else -1003, msg, retry_after=wait, http_status=status
        )
    if classify_failure(status, code) is Outcome.UNKNOWN:
        raise VenueUnknown(f"{endpoint.name}: {msg}", code=code, http_status=status)
    # A 4xx without a dialect body (a proxy's 404, say) has no code: 0 stands for "none".
    raise VenueRejected(code if code is not None else 0, msg, http_status=status)


def _body_with_data(content: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body
    return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (HTTP dates are not used by the dialect); None
    when absent or unreadable."""
    if value is not None:
        try:
            seconds = float(value)
        except ValueError:
            return None
        if seconds >= 0:
            return seconds
    return None
