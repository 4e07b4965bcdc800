"""The fake exchange's dialect layer: Binance Spot REST and WebSocket API requests (sans-IO).

What it is for: turning one request (:class:`RestRequest`, or one WebSocket API message) into
one response in Binance's dialect. It routes, verifies API keys and HMAC signatures over
the raw bytes, enforces the recvWindow rule, charges request weight and order counts
(429, then 418 bans), calls the matching engine through ``dialect_endpoints.py``, and
reports every handled request through ``on_request`` (for the history).
The WebSocket API envelope and sessions live in ``dialect_ws.py``; what a request carries
through either path (route, record, error body) in ``dialect_request.py``.

What it must never do: I/O, read a clock, draw randomness, raise on bad input (every
garbage request gets a well-formed dialect error in the 4xx family), or let a secret reach
a response, a log line or a repr. Should an unexpected exception (a bug) still happen, the
last-resort guard in :meth:`Dialect.handle_rest` / :meth:`Dialect.handle_ws_api` logs it
with its traceback, answers 400 -1000 and reports the request like any other; the fuzz
tests treat any -1000 as a failure to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Literal

import attrs

from mmbot.sim.dialect_endpoints import (
    Answer,
    Endpoints,
    depth_weight,
    my_trades_weight,
    open_orders_weight,
)
from mmbot.sim.dialect_limits import RateLimiter, RateLimits
from mmbot.sim.dialect_params import DialectFailure, Params, ascii_digits, fail
from mmbot.sim.dialect_request import MAX_BODY_BYTES as MAX_BODY_BYTES
from mmbot.sim.dialect_request import UNEXPECTED, UNSUPPORTED, Handled, Route, error_body
from mmbot.sim.dialect_request import RequestInfo as RequestInfo
from mmbot.sim.dialect_ws import WsApiSession as WsApiSession
from mmbot.sim.dialect_ws import handle_ws_api
from mmbot.sim.engine import EngineProtocol, Fees
from mmbot.venue.binance.errors import (
    MSG_INVALID_API_KEY,
    MSG_INVALID_SIGNATURE,
    MSG_TIMESTAMP_AHEAD,
    MSG_TIMESTAMP_OUTSIDE,
    Code,
    missing_param,
)
from mmbot.venue.binance.signing import signing_payload, verify

log = logging.getLogger(__name__)

API_PREFIX = "/api/v3"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000


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


class Credentials:
    """API keys and what they open: ``api_key -> (secret, account)``. Never shows secrets."""

    def __init__(self, keys: Mapping[str, tuple[str, str]] | None = None) -> None:
        self._keys = dict(keys or {})

    def add(self, api_key: str, secret: str, account: str) -> None:
        self._keys[api_key] = (secret, account)

    def lookup(self, api_key: str) -> tuple[str, str] | None:
        return self._keys.get(api_key)

    def __repr__(self) -> str:
        return f"Credentials(<{len(self._keys)} keys>)"


class Dialect:
    """Answers REST and WebSocket API requests in the Binance Spot dialect."""

    def __init__(
        self,
        engine: EngineProtocol,
        credentials: Credentials,
        limits: RateLimits = RateLimits(),  # noqa: B008 - frozen value
        on_request: Callable[[RequestInfo], None] | None = None,
        *,
        fees: Fees | None = None,
    ) -> None:
        self.engine = engine
        self.credentials = credentials
        self.limits = limits
        self.limiter = RateLimiter(limits)
        self.on_request = on_request
        engine_fees = getattr(engine, "fees", None)
        fees = fees or (engine_fees if isinstance(engine_fees, Fees) else Fees())
        self.endpoints = ops = Endpoints(engine, limits, fees)
        self._next_subscription = 0
        twenty: Callable[[Params], int] = lambda _: 20  # noqa: E731
        self._ws_routes: dict[str, Route] = {
            "ping": Route("ping", ops.ping),
            "time": Route("time", ops.time),
            "exchangeInfo": Route("exchangeInfo", ops.exchange_info, weight=twenty),
            "depth": Route("depth", ops.depth, weight=depth_weight),
            "order.place": Route("order.place", ops.new_order, signed=True, places_order=True),
            "order.cancel": Route("order.cancel", ops.cancel_order, signed=True),
            "order.cancelReplace": Route(
                "order.cancelReplace", ops.cancel_replace, signed=True, places_order=True
            ),
            "order.status": Route("order.status", ops.query_order, signed=True, weight=lambda _: 4),
            "openOrders.status": Route(
                "openOrders.status", ops.open_orders, signed=True, weight=open_orders_weight
            ),
            "openOrders.cancelAll": Route("openOrders.cancelAll", ops.cancel_all, signed=True),
            "account.status": Route("account.status", ops.account, signed=True, weight=twenty),
            "myTrades": Route("myTrades", ops.my_trades, signed=True, weight=my_trades_weight),
            "userDataStream.subscribe.signature": Route(
                "userDataStream.subscribe.signature", ops.ping, signed=True, weight=lambda _: 2
            ),
            "userDataStream.unsubscribe": Route(
                "userDataStream.unsubscribe", ops.ping, weight=lambda _: 2
            ),
        }
        ws = self._ws_routes
        self._rest_routes: dict[str, dict[str, Route]] = {
            "/ping": {"GET": ws["ping"]},
            "/time": {"GET": ws["time"]},
            "/exchangeInfo": {"GET": ws["exchangeInfo"]},
            "/depth": {"GET": ws["depth"]},
            "/order": {
                "POST": ws["order.place"],
                "DELETE": ws["order.cancel"],
                "GET": ws["order.status"],
            },
            "/order/cancelReplace": {"POST": ws["order.cancelReplace"]},
            "/openOrders": {"GET": ws["openOrders.status"], "DELETE": ws["openOrders.cancelAll"]},
            "/account": {"GET": ws["account.status"]},
            "/myTrades": {"GET": ws["myTrades"]},
        }

    # ---- REST -----------------------------------------------------------------------------

    def handle_rest(self, request: RestRequest, now_ms: int) -> RestResponse:
        """Answer one REST request; never raises for any input."""
        state = Handled()
        try:
            status, body = self._rest(request, now_ms, state)
        except DialectFailure as failure:
            status, body = error_body(failure)
            state.error = failure.error
        except Exception:  # a bug: answer and report it anyway, never a traceback to the client
            log.exception(
                "REST request %r %r failed unexpectedly", request.method[:16], request.path[:256]
            )
            status, body = error_body(UNEXPECTED)
            state.error = UNEXPECTED.error
        headers = [("X-MBX-USED-WEIGHT-1M", str(self.limiter.used_weight(request.client, now_ms)))]
        if state.route is not None and state.route.places_order and state.account is not None:
            ten, day = self.limiter.order_counts(state.account, now_ms)
            headers += [("X-MBX-ORDER-COUNT-10S", str(ten)), ("X-MBX-ORDER-COUNT-1D", str(day))]
        if state.error is not None and state.error.retry_after is not None:
            headers.append(("Retry-After", str(state.error.retry_after)))
        self._report("rest", request.method, request.path, state, status, now_ms)
        return RestResponse(status, body, tuple(headers))

    def _rest(self, request: RestRequest, now_ms: int, state: Handled) -> tuple[int, object]:
        banned = self.limiter.check_ban(request.client, now_ms)
        if banned is not None:
            raise DialectFailure(banned)
        methods = self._rest_routes.get(request.path.removeprefix(API_PREFIX))
        route = None if methods is None else methods.get(request.method.upper())
        if not request.path.startswith(API_PREFIX + "/") or methods is None:
            self._charge(request.client, 1, now_ms, state)
            raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED, 404)
        if route is None:
            self._charge(request.client, 1, now_ms, state)
            raise fail(Code.UNSUPPORTED_OPERATION, UNSUPPORTED, 405)
        state.route = route
        if len(request.raw_body) > MAX_BODY_BYTES or len(request.raw_query) > MAX_BODY_BYTES:
            self._charge(request.client, route.weight(Params(())), now_ms, state)
            raise fail(Code.TOO_MANY_PARAMETERS, "Too many parameters sent for this endpoint.", 413)
        try:
            params = Params.from_rest(request.raw_query, request.raw_body)
        except DialectFailure:
            self._charge(request.client, route.weight(Params(())), now_ms, state)
            raise
        self._charge(request.client, route.weight(params), now_ms, state)
        account = None
        if route.signed:
            account = self._authenticate_rest(request, params, now_ms)
            state.account = account
        return self._run(route, params, account, now_ms, state)

    def _authenticate_rest(self, request: RestRequest, params: Params, now_ms: int) -> str:
        api_key = request.headers.get("x-mbx-apikey", "")
        secret, account = self._key(api_key)
        payload, signature = signing_payload(request.raw_query, request.raw_body)
        if signature is None or params.raw("signature") is None:
            raise DialectFailure(missing_param("signature"))
        if not verify(secret, payload, signature):
            raise fail(Code.INVALID_SIGNATURE, MSG_INVALID_SIGNATURE)
        self._check_timestamp(params, now_ms)
        return account

    # ---- WebSocket API ----------------------------------------------------------------------

    def handle_ws_api(
        self, message: Mapping[str, object] | object, session: WsApiSession, now_ms: int
    ) -> dict[str, object]:
        """Answer one WebSocket API request; never raises for any input."""
        return handle_ws_api(self, message, session, now_ms)

    # ---- shared -----------------------------------------------------------------------------

    def _key(self, api_key: str) -> tuple[str, str]:
        if not api_key:
            raise fail(Code.BAD_API_KEY_FMT, "API-key format invalid.", 401)
        found = self.credentials.lookup(api_key)
        if found is None:
            raise fail(Code.REJECTED_MBX_KEY, MSG_INVALID_API_KEY, 401)
        return found

    @staticmethod
    def _check_timestamp(params: Params, now_ms: int) -> None:
        timestamp = params.integer("timestamp", required=True)
        assert timestamp is not None
        window_text = params.raw("recvWindow")
        recv_window = DEFAULT_RECV_WINDOW
        if window_text is not None:
            window = ascii_digits(window_text, 9)
            if window is None or not 0 < window <= MAX_RECV_WINDOW:
                raise fail(Code.BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW}.")
            recv_window = window
        if timestamp >= now_ms + 1000:
            raise fail(Code.INVALID_TIMESTAMP, MSG_TIMESTAMP_AHEAD)
        if now_ms - timestamp > recv_window:
            raise fail(Code.INVALID_TIMESTAMP, MSG_TIMESTAMP_OUTSIDE)

    def _charge(self, client: str, weight: int, now_ms: int, state: Handled) -> None:
        state.weight = weight
        refused = self.limiter.charge(client, weight, now_ms)
        if refused is not None:
            raise DialectFailure(refused)

    def _run(
        self, route: Route, params: Params, account: str | None, now_ms: int, state: Handled
    ) -> tuple[int, object]:
        if route.places_order:
            assert account is not None
            refused = self.limiter.charge_order(account, now_ms)
            if refused is not None:
                raise DialectFailure(refused)
        state.client_order_id = params.raw("newClientOrderId") or params.raw("origClientOrderId")
        answer: Answer = route.run(params, account, now_ms)
        state.client_order_id = answer.client_order_id or state.client_order_id
        return answer.status, answer.body

    def _report(
        self,
        transport: Literal["rest", "ws_api"],
        method: str,
        path: str,
        state: Handled,
        status: int,
        now_ms: int,
    ) -> None:
        if self.on_request is None:
            return
        self.on_request(
            RequestInfo(
                transport=transport,
                method=method[:16] if transport == "rest" else method,
                path=path[:256],
                account=state.account,
                status=status,
                error_code=None if state.error is None else state.error.code,
                weight=state.weight,
                client_order_id=state.client_order_id,
                time_ms=now_ms,
            )
        )
