"""Order requests over the Binance WebSocket API: one kept-open connection, answers by id.

What it is for: :class:`WsApiSender` performs ONE request of the dialect (``order.place``,
``order.cancel``, ``order.cancelReplace``, ``openOrders.cancelAll``, ``order.status`` by
default: :attr:`WsApiOrdersConfig.methods`) as a frame on a WebSocket API connection it
keeps open, with the same contract as the HTTP exchange of
:class:`~mmbot.venue.binance.rest_http.RestHttp`: it signs (``apiKey``, ``timestamp``,
``recvWindow``, HMAC over the sorted parameters) with the same credentials and server-time
offset, feeds the same rate limiter from the answer's ``rateLimits`` array, and maps every
way a request can end to the same mmbot errors (:func:`~mmbot.venue.binance.rest_http.raise_failure`
for error answers). :class:`~mmbot.venue.binance.rest.BinanceRest` routes the configured
endpoints here, inside its retry policy, limiter and breakers — nothing of the resilience
kit changes with the transport. Binance recommends this transport for trading: no HTTP
request per order (no connection pool, headers, URL building or parsing), so an order costs
a fraction of the CPU (``docs/speed.md``, decision 0009).

How a request can end:

==========================================  =============================================
how it ended                                raised
==========================================  =============================================
an answer with status 2xx                   nothing: an :class:`Answer` (``result``)
an error answer                             as REST (``raise_failure``); cancel-replace's
                                            errors with ``data`` are an :class:`Answer`
no connection could be opened               ``VenueUnavailable`` (never sent: FAILED)
the sender is not running                   ``VenueUnavailable``
the frame could not be written              ``VenueUnknown`` (it may have left)
the connection ended before the answer      ``VenueUnknown``
no answer within ``request_timeout``        ``VenueUnknown``
==========================================  =============================================

The connection is opened on first use (and again after it ends) in the nursery of
:meth:`WsApiSender.run`, which the venue starts. It is retired — new requests go to a new
connection while the old one stays until its answers are in — before the venue's 24-hour
limit (``max_connection_s``), on a ``serverShutdown`` event, when a request on it gets no
answer in time (a connection may die without a reset: the next request must not wait on
it too) and when a frame could not be written whole.

What it must never do: retry or decide policy (``rest.py`` does); resend a frame; swallow
``trio.Cancelled``; put the API key, the secret or a signature into a log, repr, exception
or result.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from mmbot.errors import VenueUnavailable, VenueUnknown
from mmbot.resilience.ratelimit import RateLimiter
from mmbot.resilience.ratelimit_core import counts_as_headers
from mmbot.venue.binance.codec import (
    CodecError,
    WsApiResponse,
    decode_ws_api_message,
    encode_ws_request,
)
from mmbot.venue.binance.rest_endpoints import Endpoint
from mmbot.venue.binance.rest_http import (
    Answer,
    ApiCredentials,
    RestConfig,
    ServerClock,
    raise_failure,
)
from mmbot.venue.binance.signing import ws_signing_payload
from mmbot.venue.binance.ws import (
    CONNECT_ERRORS,
    CONNECTION_ERRORS,
    WsConnection,
    WsConnector,
    close_connection,
)

_log = logging.getLogger(__name__)

#: The endpoints sent over the WebSocket API by default: the order path.
ORDER_METHODS = frozenset(
    {"order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll", "order.status"}
)


@attrs.frozen
class WsApiOrdersConfig:
    """Which requests go over the WebSocket API, and the connection's life."""

    resource: str = "/ws-api/v3"
    methods: frozenset[str] = ORDER_METHODS
    #: Replace the connection after this long (Binance closes it at 24 h).
    max_connection_s: float = 23.5 * 3600
    close_timeout_s: float = 1.0


class _Waiter:
    """One request waiting for its answer (or for its connection to end)."""

    __slots__ = ("answer", "done", "lost")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.answer: dict[str, Any] | None = None
        self.lost: str | None = None


class _Link:
    """One connection and the requests waiting on it."""

    __slots__ = ("ended", "expires_at", "retiring", "waiters", "ws")

    def __init__(self, ws: WsConnection, expires_at: float) -> None:
        self.ws = ws
        self.expires_at = expires_at
        self.waiters: dict[int, _Waiter] = {}
        self.retiring = False
        self.ended = False

    def usable(self, now: float) -> bool:
        return not self.ended and not self.retiring and now < self.expires_at


class WsApiSender:
    """Sends one request over the WebSocket API (see the module docstring)."""

    def __init__(
        self,
        config: WsApiOrdersConfig,
        connector: WsConnector,
        *,
        rest: RestConfig,
        clock: ServerClock,
        limiter: RateLimiter,
        credentials: ApiCredentials | None,
    ) -> None:
        self.config = config
        self.connector = connector
        self.rest = rest
        self.clock = clock
        self.limiter = limiter
        self._credentials = credentials
        self._ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        self._link: _Link | None = None
        self._connect_lock = trio.Lock()
        #: Connections opened so far (the first included).
        self.connections = 0

    def __repr__(self) -> str:
        return f"<WsApiSender {self.config.resource} connections={self.connections}>"

    def handles(self, endpoint: Endpoint) -> bool:
        """Whether ``endpoint`` goes over the WebSocket API."""
        return endpoint.name in self.config.methods

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the connections' tasks until cancelled (the venue runs this in its nursery);
        requests waiting when it ends get ``VenueUnknown``."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            link, self._link = self._link, None
            if link is not None:
                _end(link, "the venue is closing")

    # ---- one request --------------------------------------------------------------------

    async def send(self, endpoint: Endpoint, params: Mapping[str, str]) -> Answer:
        """One request and its answer; raises mmbot errors only (and ``trio.Cancelled``)."""
        link = await self._connection()
        frame, request_id = self._frame(endpoint, params)
        waiter = _Waiter()
        link.waiters[request_id] = waiter
        failure: str | None = None
        written = False
        scope = trio.move_on_after(self.rest.request_timeout)
        try:
            with scope:
                try:
                    await link.ws.send_message(frame)
                    written = True
                except CONNECTION_ERRORS as exc:
                    failure = f"connection broke while sending: {type(exc).__name__}"
                else:
                    await waiter.done.wait()
        finally:
            link.waiters.pop(request_id, None)
            if not written or scope.cancelled_caught:
                # A frame cut short leaves the stream unusable, and a connection that does
                # not answer may be dead without a reset: new requests go to a new one.
                self._retire(link)
            elif link.retiring and not link.waiters:
                self._close_soon(link)
        if failure is not None:
            raise VenueUnknown(f"{endpoint.name}: {failure}")
        if waiter.answer is None:
            if scope.cancelled_caught:
                raise VenueUnknown(
                    f"{endpoint.name}: no answer within {self.rest.request_timeout}s"
                )
            raise VenueUnknown(f"{endpoint.name}: {waiter.lost or 'connection ended'}")
        return self._answer(endpoint, waiter.answer)

    def _frame(self, endpoint: Endpoint, params: Mapping[str, str]) -> tuple[str, int]:
        payload: dict[str, str] = dict(params)
        if endpoint.signed:
            creds = self._credentials
            if creds is None:
                raise VenueUnavailable(f"{endpoint.name} needs an API key and secret")
            payload["apiKey"] = creds.api_key
            payload["recvWindow"] = str(self.rest.recv_window_ms)
            payload["timestamp"] = str(self.clock.timestamp())
            payload["signature"] = creds.sign(ws_signing_payload(payload))
        request_id = next(self._ids)
        return encode_ws_request(request_id, endpoint.name, payload), request_id

    def _answer(self, endpoint: Endpoint, body: dict[str, Any]) -> Answer:
        headers = counts_as_headers(body.get("rateLimits"))
        if headers:
            self.limiter.observe_headers(headers)
        try:
            response = decode_ws_api_message(body)
        except CodecError as exc:
            raise VenueUnknown(f"{endpoint.name}: undecodable answer: {exc}") from None
        if not isinstance(response, WsApiResponse):  # pragma: no cover - matched by id
            raise VenueUnknown(f"{endpoint.name}: an event where an answer was expected")
        status = response.status
        if 200 <= status < 300:
            return Answer(status, response.result)
        error = body.get("error")
        if endpoint.parts_in_errors and status < 500 and status not in (429, 418):
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict) and ("cancelResult" in data or "newOrderResult" in data):
                return Answer(status, error)  # cancel-replace's per-part results
        code, msg = response.error if response.error else (None, f"status {status}")
        raise_failure(endpoint, status, code, msg, response.retry_after, self.limiter)

    # ---- the connection -----------------------------------------------------------------

    async def _connection(self) -> _Link:
        link = self._link
        if link is not None and link.usable(trio.current_time()):
            return link
        async with self._connect_lock:
            link = self._link
            now = trio.current_time()
            if link is not None and link.usable(now):
                return link
            if link is not None:
                self._retire(link)
            nursery = self._nursery
            if nursery is None:
                raise VenueUnavailable("WebSocket API: the order transport is not running")
            try:
                with trio.fail_after(self.rest.connect_timeout):
                    ws = await self.connector.connect(nursery, self.config.resource)
                link = _Link(ws, trio.current_time() + self.config.max_connection_s)
                nursery.start_soon(self._read, link)
            except CONNECT_ERRORS as exc:
                raise VenueUnavailable(
                    f"WebSocket API: not sent: cannot connect: {type(exc).__name__}"
                ) from None
            except RuntimeError:  # the nursery closed meanwhile: the venue is closing
                raise VenueUnavailable("WebSocket API: not sent: the venue is closing") from None
            self.connections += 1
            self._link = link
            return link

    def _retire(self, link: _Link) -> None:
        """No new requests on ``link``; close it once its answers are in."""
        link.retiring = True
        if self._link is link:
            self._link = None
        if not link.waiters:
            self._close_soon(link)

    def _close_soon(self, link: _Link) -> None:
        if not link.ended and self._nursery is not None:
            link.ended = True
            self._nursery.start_soon(close_connection, link.ws, self.config.close_timeout_s)

    async def _read(self, link: _Link) -> None:
        reason = "connection closed"
        try:
            while not link.ended:
                try:
                    raw = await link.ws.get_message()
                except CONNECTION_ERRORS as exc:
                    reason = f"connection closed: {type(exc).__name__}"
                    break
                self._on_frame(link, raw)
        finally:
            if self._link is link:
                self._link = None
            _end(link, reason)

    def _on_frame(self, link: _Link, raw: str | bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            _log.warning("WebSocket API: ignoring a frame that is not JSON")
            return
        if not isinstance(body, dict):
            return
        if "event" in body:
            event = body["event"]
            if isinstance(event, dict) and event.get("e") == "serverShutdown":
                self._retire(link)  # the venue is going down: new requests elsewhere
            return
        request_id = body.get("id")
        waiter = link.waiters.get(request_id) if isinstance(request_id, int) else None
        if waiter is None:
            return  # an answer that came after its deadline
        waiter.answer = body
        waiter.done.set()


def _end(link: _Link, reason: str) -> None:
    """The connection is gone: every request still waiting on it learns so."""
    link.ended = True
    for waiter in link.waiters.values():
        waiter.lost = reason
        waiter.done.set()
