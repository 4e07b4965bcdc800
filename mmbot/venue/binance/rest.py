"""The REST half of the Binance Spot dialect client: every call a three-valued ``VenueResult``.

What it is for: :class:`BinanceRest` answers the REST part of the ``Venue`` protocol
(instruments, server time, depth snapshot, place, cancel, cancel-replace, cancel-all, query
order, open orders, balances, trades) against Binance, its testnet, or the fake exchange on
loopback or in-process, by base URL or transport. Each call runs through the resilience kit
(DESIGN.md §3-4)::

    retry policy ⊃ [server-time refresh, rate limiter, breaker(endpoint class) ⊃ HTTP exchange]

- reads and cancels (idempotent) go through ``RetryPolicy.call``: retried on an unknown
  outcome (5xx, -1007, reset, timeout) and on a request that was never sent;
- placement and cancel-replace go through ``call_non_idempotent``: resent only when the
  request was never sent (connect failure); anything else uncertain comes back UNKNOWN for
  the order tracker to resolve by client order id — never a blind resend (§4.2);
- a -1021 (timestamp outside recvWindow) is known not to have happened: the server time is
  re-read once and the request resent once, for every endpoint;
- the rate limiter is acquired (endpoint weight, and one order for placements) before each
  HTTP exchange and fed by the ``X-MBX-*`` headers after it; a 429/418 blocks it for
  ``Retry-After``. A call that finds no room within ``max_rate_wait`` fails at once
  (FAILED, code -1003, ``retry_after``) without sending;
- a breaker per endpoint class (``orders``, ``market_data``, ``account``) refuses calls fast
  while open: FAILED with ``retry_after``, nothing sent.

Cancels and -2011: a cancel retried after a lost answer may find the order gone because the
first attempt cancelled it; the venue then says -2011 "Unknown order sent.". The result is
FAILED with code -2011 (the reason says so when it came on a retry) and means "the order is
not open on the venue": the tracker treats it as done and learns the final state (cancelled
or filled) from the user stream or ``query_order``. ``cancel_all`` answers -2011 when
nothing was open: that is OK with no orders.

What it must never do: raise a transport exception out of a call (invalid request values
are a bug and raise ``ValueError`` before anything is sent); blindly resend a placement;
swallow, retry or count ``trio.Cancelled``; show the API key, secret or a signature in a
repr, log, exception or result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TypeVar

import attrs
import httpx
import trio
import trio.lowlevel

from mmbot.errors import (
    MmbotError,
    RateLimited,
    VenueRejected,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import Fill, Instrument
from mmbot.resilience.breaker import CircuitBreaker
from mmbot.resilience.breaker_config import BreakerConfig
from mmbot.resilience.breaker_core import BreakerState, BreakerTransition, Trigger
from mmbot.resilience.ratelimit import RateLimiter
from mmbot.resilience.ratelimit_core import RateLimiterConfig
from mmbot.resilience.retry import RetryConfig, RetryPolicy
from mmbot.resilience.retry_core import RetryBudget
from mmbot.venue.base import (
    CancelOutcome,
    CancelReplaceOutcome,
    CancelReplaceRequest,
    OrderInfo,
    OrderRef,
    PlaceOutcome,
    PlaceRequest,
    VenueResult,
    failed,
    from_exception,
    ok,
    unknown,
)
from mmbot.venue.binance import codec
from mmbot.venue.binance.codec import CodecError
from mmbot.venue.binance.errors import Code
from mmbot.venue.binance.rest_endpoints import (
    ACCOUNT,
    CANCEL,
    CANCEL_ALL,
    CANCEL_REPLACE,
    DEPTH,
    EXCHANGE_INFO,
    MY_TRADES,
    OPEN_ORDERS,
    PLACE,
    QUERY_ORDER,
    TIME,
    Endpoint,
    EndpointClass,
)
from mmbot.venue.binance.rest_http import (
    DEFAULT_RETRY_AFTER,
    Answer,
    ApiCredentials,
    ClientPool,
    RestConfig,
    RestHttp,
    ServerClock,
    install_log_redaction,
)
from mmbot.venue.binance.weights import WEIGHTS
from mmbot.venue.binance.ws import WsConnector
from mmbot.venue.binance.ws_api_orders import WsApiOrdersConfig, WsApiSender
from mmbot.venue.events import Balance, DepthSnapshot

T = TypeVar("T")

#: Errors worth another attempt for an idempotent call; rate limits and open breakers are
#: returned at once (the quoter, not this call, decides to wait).
TRANSIENT = (VenueUnknown, VenueUnavailable)  # a breaker's own timeout arrives as VenueUnknown
DEFAULT_RETRY = RetryConfig(
    max_attempts=3, deadline=5.0, base_delay=0.05, max_delay=1.0,
    transient=TRANSIENT, safe_to_resend=(VenueUnavailable,),
)  # fmt: skip
DEFAULT_PLACEMENT_RETRY = attrs.evolve(DEFAULT_RETRY, max_attempts=2)
#: The HTTP exchange has its own deadline (``RestConfig.request_timeout``), so the breakers'
#: per-call timeout is off; everything else is the kit's default.
DEFAULT_BREAKER = BreakerConfig(call_timeout=None)


#: A breaker that opens again by these has grown its backoff.
_REOPENED = frozenset({Trigger.PROBES_FAILED, Trigger.HALF_OPEN_EXPIRED})


class _Tries:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@attrs.define(eq=False, repr=False)
class BinanceRest:
    """REST client of the Binance Spot dialect. Build with :meth:`create`.

    Use as ``async with BinanceRest.create(...) as rest:`` (syncs the server time on entry,
    closes the clients on exit), or call :meth:`sync_time` and :meth:`aclose` yourself.
    """

    config: RestConfig
    http: RestHttp
    limiter: RateLimiter
    breakers: Mapping[EndpointClass, CircuitBreaker]
    retry: RetryPolicy
    placement_retry: RetryPolicy
    #: The WebSocket API transport of the endpoints it handles (:meth:`attach_ws_api`);
    #: None: every request over HTTP.
    ws_api: WsApiSender | None = None
    _time_lock: trio.Lock = attrs.field(factory=trio.Lock)
    #: The endpoint classes whose breaker is OPEN (kept by a listener on each breaker).
    _open_classes: set[EndpointClass] = attrs.field(factory=set)
    #: The classes whose breaker reopened after failed probes: its backoff has grown.
    _grown: set[EndpointClass] = attrs.field(factory=set)
    _backoff_grew: trio.Event = attrs.field(factory=trio.Event)

    def __attrs_post_init__(self) -> None:
        for kind, breaker in self.breakers.items():
            breaker.add_listener(functools.partial(self._breaker_moved, kind))

    def _breaker_moved(self, kind: EndpointClass, transition: BreakerTransition) -> None:
        if transition.to_state is BreakerState.OPEN:
            self._open_classes.add(kind)
            if transition.trigger in _REOPENED:
                self._grown.add(kind)
                self._backoff_grew.set()
        else:
            self._open_classes.discard(kind)
            self._grown.discard(kind)

    async def probe_grown_backoffs(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """While a breaker's backoff has grown past its base open time (it reopened after
        failed probes), ask the venue its time every ``open_base`` seconds (weight 1, once,
        no retry): an answer is what cuts the grown backoffs (:meth:`_venue_answered`), so
        the bot finds out the venue is back though nothing else of it asks the venue
        anything (found by a chaos swarm: after an outage that ended as the orders breaker's
        probes failed, nothing else was asked, and it waited its doubled backoff out).
        Runs in the venue's nursery until cancelled."""
        task_status.started()
        every = min(b.config.open_base for b in self.breakers.values())
        while True:
            await self._backoff_grew.wait()
            self._backoff_grew = trio.Event()
            while self._grown:
                await trio.sleep(every)
                if self._grown:
                    await self._call(TIME, {}, lambda a: None, once=True)

    def _venue_answered(self, kind: EndpointClass) -> None:
        """The venue answered a ``kind`` request normally (a result, or a refusal in its
        dialect): the breakers of other classes whose backoff grew through an outage probe
        at their base open time instead of waiting the grown one out."""
        for other in tuple(self._open_classes):
            if other is not kind:
                self.breakers[other].cut_backoff()

    @classmethod
    def create(
        cls,
        config: RestConfig | None = None,
        *,
        now_ms: Callable[[], int],
        api_key: str | None = None,
        api_secret: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: RateLimiter | None = None,
        breakers: Mapping[EndpointClass, CircuitBreaker] | None = None,
        retry: RetryPolicy | None = None,
        placement_retry: RetryPolicy | None = None,
        seed: int = 0,
        venue: str = "binance",
    ) -> BinanceRest:
        """A client for ``config.base_url`` (or ``transport``: an in-process exchange).

        ``now_ms`` is our epoch clock in milliseconds (``EpochClock.now_ms``). The key and
        secret are kept out of every repr, log, exception and result. Breakers, limiter and
        retry policies default to the kit's, seeded from ``seed`` (the limiter obeys
        ``config.rate_limits``).
        """
        config = config if config is not None else RestConfig()
        install_log_redaction()
        creds = (
            None if api_key is None or api_secret is None else ApiCredentials(api_key, api_secret)
        )
        if limiter is None:
            limiter = RateLimiter(RateLimiterConfig(rules=config.rate_limits))
        if breakers is None:
            breakers = {
                kind: CircuitBreaker(f"{venue}:{kind.value}", DEFAULT_BREAKER, seed=seed)
                for kind in EndpointClass
            }
        budget = RetryBudget()
        if retry is None:
            retry = RetryPolicy(f"{venue}:rest", DEFAULT_RETRY, budget=budget, seed=seed)
        if placement_retry is None:
            placement_retry = RetryPolicy(
                f"{venue}:place", DEFAULT_PLACEMENT_RETRY, budget=budget, seed=seed
            )
        pool = ClientPool(config.base_url, config.layout, transport=transport)
        clock = ServerClock(now_ms, config.time_resync_interval)
        http = RestHttp(config, pool, clock, limiter, creds)
        return cls(config, http, limiter, breakers, retry, placement_retry)

    def __repr__(self) -> str:
        return f"<BinanceRest {self.config.base_url}>"

    async def __aenter__(self) -> BinanceRest:
        await self.sync_time()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.pool.aclose()

    @property
    def server_clock(self) -> ServerClock:
        return self.http.clock

    def attach_ws_api(self, config: WsApiOrdersConfig, connector: WsConnector) -> WsApiSender:
        """Send ``config.methods`` over the WebSocket API from now on, with this client's
        credentials, server-time offset and rate limiter. Start the returned sender's
        ``run`` in a nursery (the venue does); until then those requests fail unsent."""
        self.ws_api = WsApiSender(
            config,
            connector,
            rest=self.config,
            clock=self.http.clock,
            limiter=self.limiter,
            credentials=self.http.credentials,
        )
        return self.ws_api

    # ---- time --------------------------------------------------------------------------

    async def server_time(self) -> VenueResult[int]:
        """The venue's clock in epoch milliseconds."""
        return await self._call(TIME, {}, lambda a: codec.decode_server_time(a.body))

    async def sync_time(self) -> VenueResult[int]:
        """Read the server time once (no retry: a late answer would skew the estimate) and
        update the offset; the result is the new offset in ms."""
        clock = self.http.clock
        sent = clock.now_ms()
        result = await self._call(TIME, {}, lambda a: codec.decode_server_time(a.body), once=True)
        if result.is_ok:
            assert result.value is not None
            clock.update(result.value, sent, clock.now_ms(), trio.current_time())
        return result.map(lambda _: clock.offset_ms)

    async def admit_stream_request(self, operation: str) -> None:
        """Wait for room in the client-side rate limiter for one request of ``operation``
        sent on a stream's own connection (the user stream's subscription): it counts
        against the IP's request weight like any other, so it too waits out the
        ``Retry-After`` of a 429 or 418 (found by the chaos suite ``rate_limit_ban``: a
        subscription sent while limited got the IP banned)."""
        await self.limiter.acquire(WEIGHTS[operation])

    def throttled(self) -> bool:
        """Whether a venue's Retry-After holds requests now (placements are refused unsent
        meanwhile: a quoter asks this before placing)."""
        return self.limiter.blocked_for() > 0

    def stream_throttled(self, status: int, retry_after: float | None) -> None:
        """A request on a stream's own connection (the user stream's subscription) was
        answered 429 or 418: the venue's limits are per IP, so the whole client waits out
        its ``Retry-After`` (the dialect's default when it gave none), as after a 429 here
        (found by the fuzzer: a depth snapshot sent 0.1 s after the subscription's 429)."""
        wait = retry_after if retry_after is not None else DEFAULT_RETRY_AFTER[status]
        self.limiter.block_until(trio.current_time() + wait)

    async def resync_time(self) -> None:
        """Read the server time again now: a signed request elsewhere (the user stream's
        subscription) was refused -1021, so the offset is wrong."""
        await self._refresh_time(after_rejection=True)

    async def _refresh_time(self, *, after_rejection: bool) -> None:
        clock = self.http.clock
        seen = clock.syncs
        if self._time_lock.locked() and clock.synced_at is not None and not after_rejection:
            return  # another task is refreshing; the current offset is good enough meanwhile
        async with self._time_lock:
            if clock.syncs != seen:
                return  # someone synced while we waited
            if after_rejection or clock.is_due(trio.current_time()):
                await self.sync_time()

    # ---- market data -------------------------------------------------------------------

    async def exchange_info(
        self, symbols: tuple[str, ...] | None = None
    ) -> VenueResult[tuple[Instrument, ...]]:
        """Instruments with their filters (only ``symbols`` if given)."""
        return await self._call(
            EXCHANGE_INFO, {}, lambda a: codec.decode_exchange_info(a.body, symbols)
        )

    async def instruments(self) -> VenueResult[tuple[Instrument, ...]]:
        return await self.exchange_info()

    async def depth(self, symbol: str, limit: int = 100) -> VenueResult[DepthSnapshot]:
        """The ``/depth`` snapshot (weight by ``limit``) for the local order book."""
        return await self._call(
            DEPTH,
            {"symbol": symbol, "limit": str(limit)},
            lambda a: codec.decode_depth_snapshot(a.body, symbol),
        )

    # ---- orders ------------------------------------------------------------------------

    async def place(self, request: PlaceRequest) -> PlaceOutcome:
        """Place an order. UNKNOWN means it may exist: resolve with :meth:`query_order`."""
        params = codec.encode_place(request, response_type=self.config.response_type)
        return await self._call(PLACE, params, lambda a: codec.decode_order_response(a.body))

    async def cancel(self, ref: OrderRef) -> CancelOutcome:
        """Cancel one order; FAILED -2011 means it is not open (see the module docstring)."""
        tries = _Tries()
        result = await self._call(
            CANCEL, codec.encode_order_ref(ref),
            lambda a: codec.decode_order(a.body), tries=tries,
        )  # fmt: skip
        if result.code == Code.CANCEL_REJECTED and tries.count > 1:
            return attrs.evolve(
                result, reason=f"{result.reason} (on a retry: an earlier attempt may have done it)"
            )
        return result

    async def cancel_replace(self, request: CancelReplaceRequest) -> CancelReplaceOutcome:
        """Cancel and place in one request; OK with per-part results whenever the venue
        answered with them (200, or 409 -2021 / 400 -2022 with a ``data`` block)."""
        params = codec.encode_cancel_replace(request, response_type=self.config.response_type)
        return await self._call(
            CANCEL_REPLACE, params, lambda a: codec.decode_cancel_replace(a.body)
        )

    async def cancel_all(self, symbol: str) -> VenueResult[tuple[OrderInfo, ...]]:
        """Cancel every open order on ``symbol``; nothing open is OK with ``()``."""
        result = await self._call(
            CANCEL_ALL, {"symbol": symbol}, lambda a: codec.decode_orders(a.body)
        )
        if result.code == Code.CANCEL_REJECTED:
            return ok(())
        return result

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]:
        """One order by id or client order id (how an UNKNOWN placement is resolved)."""
        return await self._call(
            QUERY_ORDER, codec.encode_order_ref(ref), lambda a: codec.decode_order(a.body)
        )

    async def open_orders(self, symbol: str | None = None) -> VenueResult[tuple[OrderInfo, ...]]:
        params = {} if symbol is None else {"symbol": symbol}
        return await self._call(OPEN_ORDERS, params, lambda a: codec.decode_orders(a.body))

    # ---- account -----------------------------------------------------------------------

    async def balances(self) -> VenueResult[tuple[Balance, ...]]:
        return await self._call(ACCOUNT, {}, lambda a: codec.decode_account(a.body))

    async def trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> VenueResult[tuple[Fill, ...]]:
        """The account's trades; ``Fill.client_order_id`` is "" (the venue omits it)."""
        params = {"symbol": symbol, "limit": str(limit)}
        if order_id is not None:
            params["orderId"] = str(order_id)
        if from_id is not None:
            params["fromId"] = str(from_id)
        return await self._call(MY_TRADES, params, lambda a: codec.decode_my_trades(a.body))

    # ---- the pipeline ------------------------------------------------------------------

    async def _call(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        decode: Callable[[Answer], T],
        *,
        once: bool = False,
        tries: _Tries | None = None,
    ) -> VenueResult[T]:
        if endpoint.signed and not self.http.has_credentials:
            return failed(None, f"{endpoint.name} needs an API key and secret")
        tries = tries if tries is not None else _Tries()
        cost = endpoint.weight(params)
        try:
            if once:
                answer = await self._attempt(endpoint, params, cost, tries)
            elif endpoint.idempotent:
                answer = await self.retry.call(self._attempt, endpoint, params, cost, tries)
            else:
                answer = await self.placement_retry.call_non_idempotent(
                    self._attempt, endpoint, params, cost, tries
                )
        except MmbotError as exc:
            return from_exception(exc)
        try:
            return ok(decode(answer))
        except CodecError as exc:
            return unknown(f"{endpoint.name}: undecodable answer: {exc}", http_status=answer.status)

    async def _attempt(
        self, endpoint: Endpoint, params: Mapping[str, str], weight: int, tries: _Tries
    ) -> Answer:
        tries.count += 1
        if endpoint.signed and self.http.clock.is_due(trio.current_time()):
            await self._refresh_time(after_rejection=False)
        await self._admit(endpoint, weight)
        try:
            return await self._send(endpoint, params)
        except VenueRejected as exc:
            if exc.code != Code.INVALID_TIMESTAMP or not endpoint.signed:
                raise
        # -1021: not executed. Re-read the server time once and resend once.
        await self._refresh_time(after_rejection=True)
        await self._admit(endpoint, weight)
        return await self._send(endpoint, params)

    async def _send(self, endpoint: Endpoint, params: Mapping[str, str]) -> Answer:
        """One exchange (HTTP, or a WebSocket API frame for the endpoints :attr:`ws_api`
        handles) through the endpoint class's breaker. A breaker that owns a
        per-call timeout (``BreakerConfig.call_timeout``) raises ``trio.TooSlowError``: the
        request may have been sent, so it is mapped, here, to ``VenueUnknown``."""
        ws_api = self.ws_api
        send = ws_api.send if ws_api is not None and ws_api.handles(endpoint) else self.http.send
        try:
            answer = await self.breakers[endpoint.kind].call(send, endpoint, params)
        except trio.TooSlowError:
            raise VenueUnknown(f"{endpoint.name}: timed out") from None
        except VenueRejected as exc:
            if self._open_classes and not isinstance(exc, RateLimited):
                self._venue_answered(endpoint.kind)
            raise
        if self._open_classes:
            self._venue_answered(endpoint.kind)
        return answer

    async def _admit(self, endpoint: Endpoint, weight: int) -> None:
        """Count the request in the client-side limiter, waiting for room (bounded). Room
        now and nobody queued counts it without a scheduling point (the send that follows is
        one); a cancelled caller is not counted."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if endpoint.orders and (held := self.limiter.blocked_for()) > 0:
            # A placement does not queue behind a venue's Retry-After: decided on the book of
            # its moment, it would leave when the hold ends, on whatever the book has become
            # (found by a chaos swarm: one left after its book gapped). Not sent; the quoter
            # decides again once the hold is over (it asks :meth:`throttled`).
            raise RateLimited(
                Code.TOO_MANY_REQUESTS,
                f"{endpoint.name}: not sent: the venue's Retry-After holds requests {held:.3f}s",
                retry_after=held,
            )
        try:
            self.limiter.acquire_nowait(weight, endpoint.orders)
        except trio.WouldBlock:
            pass
        else:
            return
        wait = self.config.max_rate_wait
        with trio.move_on_after(wait) as scope:
            await self.limiter.acquire(weight, endpoint.orders)
        if scope.cancelled_caught:
            blocked = self.limiter.statistics().blocked_until
            now = trio.current_time()
            hint = blocked - now if blocked is not None and blocked > now else wait
            raise RateLimited(
                Code.TOO_MANY_REQUESTS,
                f"{endpoint.name}: not sent: no room in the client-side rate limiter "
                f"within {wait}s",
                retry_after=hint,
            )
