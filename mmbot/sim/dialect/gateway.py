"""The fake exchange's dialect gateway: the steps every Binance request goes through (sans-IO).

What it is for: :class:`Dialect`, the one gateway in front of the matching engine for both
transports. Its request steps are public methods, and the REST path (``rest.py``) and the
WebSocket API path (``ws_api.py``) are each a sequence of them, so ``POST /order`` and
``order.place`` cannot drift apart:

1. :meth:`Dialect.check_ban`: a banned IP gets 418 before anything is counted;
2. :meth:`Dialect.charge`: the request's weight against the IP's limits (429, then 418);
3. :meth:`Dialect.authenticate`: the API key, the HMAC signature over the transport's
   payload, the timestamp against ``recvWindow`` (milliseconds);
4. :meth:`Dialect.run`: the order-rate limit of the account, then the operation itself;
5. :meth:`Dialect.report`: every handled request, answered or refused, to ``on_request``
   (the history).

Routing is the table in ``routes.py``; the operations are ``operations.py``.

What it must never do: I/O, read a clock, draw randomness, raise on bad input out of its
entry points (every garbage request gets a well-formed dialect error in the 4xx family, a
bug the last-resort -1000 of ``request.py``), or let a secret reach a response, a log line
or a repr.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Literal

from mmbot.sim.dialect.limits import RateLimits, VenueLimits
from mmbot.sim.dialect.market_data import MarketDataOperations
from mmbot.sim.dialect.operations import Answer, Operations
from mmbot.sim.dialect.order_operations import OrderOperations
from mmbot.sim.dialect.params import DialectFailure, Params, ascii_digits, fail
from mmbot.sim.dialect.request import Handled, RequestInfo
from mmbot.sim.dialect.rest import RestRequest, RestResponse, answer_rest
from mmbot.sim.dialect.routes import Route, Routes
from mmbot.sim.dialect.ws_api import WsApiSession, answer_ws_api
from mmbot.sim.engine import EngineProtocol, Fees
from mmbot.sim.market import MarketStats
from mmbot.venue.binance.errors import (
    MSG_INVALID_API_KEY,
    MSG_INVALID_SIGNATURE,
    MSG_TIMESTAMP_AHEAD,
    MSG_TIMESTAMP_OUTSIDE,
    Code,
    missing_param,
)
from mmbot.venue.binance.signing import verify

#: ``recvWindow`` when a signed request names none, and the largest accepted, in
#: milliseconds (the bot's own ``recv_window`` is in seconds).
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000


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
        market_stats: MarketStats | None = None,
    ) -> None:
        self.engine = engine
        self.credentials = credentials
        self.limits = limits
        self.venue_limits = VenueLimits(limits)
        self.on_request = on_request
        engine_fees = getattr(engine, "fees", None)
        fees = fees or (engine_fees if isinstance(engine_fees, Fees) else Fees())
        self.operations = Operations(engine, limits, fees)
        #: The public tape's statistics the market-data requests read (the exchange folds
        #: the engine's trades into it; without one given, the dialect's own, fed by nobody).
        self.market_stats = market_stats or MarketStats([i.symbol for i in engine.instruments])
        self.market_data = MarketDataOperations(engine, self.market_stats)
        self.order_operations = OrderOperations(self.operations, engine, self.venue_limits, fees)
        self.routes = Routes.over(self.operations, self.order_operations, self.market_data)
        self._subscriptions = 0  # user-data subscription ids handed out so far
        self._answers = 0  # REST answers given so far (their x-mbx-uuid)

    # ---- the two transports ---------------------------------------------------------------

    def handle_rest(self, request: RestRequest, now_ms: int) -> RestResponse:
        """Answer one REST request; never raises for any input."""
        return answer_rest(self, request, now_ms)

    def handle_ws_api(
        self, message: Mapping[str, object] | object, session: WsApiSession, now_ms: int
    ) -> dict[str, object]:
        """Answer one WebSocket API request; never raises for any input."""
        return answer_ws_api(self, message, session, now_ms)

    # ---- the steps of a request, in order -------------------------------------------------

    def check_ban(self, client: str, now_ms: int) -> None:
        """418 (raised) while ``client`` is banned; nothing is counted."""
        banned = self.venue_limits.check_ban(client, now_ms)
        if banned is not None:
            raise DialectFailure(banned)

    def charge(self, client: str, weight: int, now_ms: int, state: Handled) -> None:
        """Count the request's ``weight`` for ``client``; 429 or 418 (raised) over a limit."""
        state.weight = weight
        state.client = client
        refused = self.venue_limits.charge(client, weight, now_ms)
        if refused is not None:
            raise DialectFailure(refused)

    def authenticate(
        self, api_key: str, payload: bytes, signature: str | None, params: Params, now_ms: int
    ) -> str:
        """The account of a signed request, or the dialect's refusal (raised).

        ``payload`` is what the transport signs (REST: the raw query and body; WebSocket
        API: the sorted parameters) and ``signature`` what the client sent (``None``:
        absent). Checked in Binance's order: key, signature, timestamp.
        """
        if not api_key:
            raise fail(Code.BAD_API_KEY_FMT, "API-key format invalid.", 401)
        found = self.credentials.lookup(api_key)
        if found is None:
            raise fail(Code.REJECTED_MBX_KEY, MSG_INVALID_API_KEY, 401)
        secret, account = found
        if signature is None:
            raise DialectFailure(missing_param("signature"))
        if not verify(secret, payload, signature):
            raise fail(Code.INVALID_SIGNATURE, MSG_INVALID_SIGNATURE)
        self._check_timestamp(params, now_ms)
        return account

    def authenticate_session(self, api_key: str, params: Params, now_ms: int) -> str:
        """The account of a signed request on a connection that ``session.logon``
        authenticated with ``api_key`` (no signature of its own): the key must still be
        valid, and the request's ``timestamp`` within its ``recvWindow``."""
        found = self.credentials.lookup(api_key)
        if found is None:  # revoked since the logon
            raise fail(Code.REJECTED_MBX_KEY, MSG_INVALID_API_KEY, 401)
        self._check_timestamp(params, now_ms)
        return found[1]

    def run(
        self, route: Route, params: Params, account: str | None, now_ms: int, state: Handled
    ) -> tuple[int, object]:
        """Count a new order against the account's order limits, then run the operation;
        give its weight back when it turned out free (a successful placement or cancel,
        ``weights.FREE_WHEN_SUCCESSFUL``, or an amendment that expired the order)."""
        if route.places_order:
            assert account is not None
            refused = self.venue_limits.charge_order(account, now_ms)
            if refused is not None:
                raise DialectFailure(refused)
        state.client_order_id = params.raw("newClientOrderId") or params.raw("origClientOrderId")
        answer: Answer = route.run(params, account, now_ms)
        state.client_order_id = answer.client_order_id or state.client_order_id
        if answer.free or (route.free_when_successful and answer.status == 200):
            self.venue_limits.refund(state.client, state.weight, now_ms)
            state.weight = 0
        return answer.status, answer.body

    def answer_id(self) -> str:
        """A new REST answer's ``x-mbx-uuid``: UUID-shaped, derived from a counter (the
        dialect draws no randomness), so a seeded run answers the same ids."""
        self._answers += 1
        digest = hashlib.sha256(f"mmbot-sim-answer-{self._answers}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"

    def report(
        self,
        transport: Literal["rest", "ws_api"],
        method: str,
        path: str,
        state: Handled,
        status: int,
        now_ms: int,
    ) -> None:
        """Tell ``on_request`` (the history) about one answered request."""
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
                injected=state.injected,
            )
        )

    # ---- user data (WebSocket API) --------------------------------------------------------

    def subscribe_user_data(self, session: WsApiSession, account: str) -> int:
        """Send ``account``'s user data to ``session`` from now on; the new subscription id."""
        self._subscriptions += 1
        session.subscribed_account = account
        session.subscription_id = self._subscriptions
        return self._subscriptions

    # ---- helpers --------------------------------------------------------------------------

    @property
    def clock_offset_ms(self) -> int:
        """How far the venue's clock is ahead of the exchange's time (a ``clock_skew``
        fault): ``time`` answers, and signed requests' ``timestamp`` are checked against,
        ``now_ms`` plus this."""
        return self.operations.clock_offset_ms

    @clock_offset_ms.setter
    def clock_offset_ms(self, offset_ms: int) -> None:
        self.operations.clock_offset_ms = offset_ms

    def _check_timestamp(self, params: Params, now_ms: int) -> None:
        now_ms += self.operations.clock_offset_ms
        timestamp = params.integer("timestamp", required=True)
        assert timestamp is not None
        window_text = params.raw("recvWindow")
        recv_window_ms = DEFAULT_RECV_WINDOW_MS
        if window_text is not None:
            window = ascii_digits(window_text, 9)
            if window is None or not 0 < window <= MAX_RECV_WINDOW_MS:
                raise fail(
                    Code.BAD_RECV_WINDOW, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}."
                )
            recv_window_ms = window
        if timestamp >= now_ms + 1000:
            raise fail(Code.INVALID_TIMESTAMP, MSG_TIMESTAMP_AHEAD)
        if now_ms - timestamp > recv_window_ms:
            raise fail(Code.INVALID_TIMESTAMP, MSG_TIMESTAMP_OUTSIDE)
