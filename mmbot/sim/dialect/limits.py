"""Rate limits of the fake exchange's dialect: weights, order counts, 429s and IP bans (sans-IO).

What it is for: the venue side of Binance's limits (:class:`VenueLimits`, configured by
:class:`RateLimits`; named so apart from ``mmbot.resilience.RateLimiter``, the bot's own
client-side limiter that keeps it under these limits). REQUEST_WEIGHT and RAW_REQUESTS are
counted per client IP, ORDERS per account, each in fixed windows aligned to server time
(a minute window starts on a minute boundary), like Binance. Over a limit the request is
refused with HTTP 429 and ``Retry-After`` (seconds to the end of the window). Binance bans
an IP "repeatedly violating rate limits and/or failing to back off after receiving 429s"
with HTTP 418; here an IP is banned when it keeps sending while limited beyond a tolerance
(:class:`RateLimits`: ``ban_grace_ms``, ``ban_tolerance_requests``, ``ban_tolerance_weight``),
so requests a concurrent client already had in flight when the 429 was produced get 429s
too, not a ban. A ban lasts 2 minutes at first and twice as long on each further ban, up to
3 days.

What it must never do: I/O or read a clock: time enters as ``now_ms``.
"""

from __future__ import annotations

import attrs

from mmbot.venue.binance.errors import Code, DialectError

MINUTE_MS = 60_000
SECOND_MS = 1_000
DAY_MS = 86_400_000
FIRST_BAN_MS = 2 * MINUTE_MS
MAX_BAN_MS = 3 * DAY_MS


@attrs.frozen
class RateLimits:
    """The limits the exchange enforces and publishes in ``exchangeInfo.rateLimits``."""

    request_weight_per_minute: int = 6000
    orders_per_10s: int = 50
    orders_per_day: int = 160_000
    #: 300,000 since 2026-04-02 (the docs' CHANGELOG of 2026-03-27; 61,000 before).
    raw_requests_per_5min: int = 300_000
    #: After a 429 the IP is limited until the window ends. Requests it sends meanwhile are
    #: refused with 429 as long as they arrive within ``ban_grace_ms`` of that 429 and number
    #: at most ``ban_tolerance_requests`` with at most ``ban_tolerance_weight`` in total
    #: (what a concurrent client may have had in flight); any further one is banned (418).
    ban_grace_ms: int = 2_000
    ban_tolerance_requests: int = 10
    ban_tolerance_weight: int = 500

    def exchange_info(self) -> list[dict[str, object]]:
        return [
            _limit("REQUEST_WEIGHT", "MINUTE", 1, self.request_weight_per_minute),
            _limit("ORDERS", "SECOND", 10, self.orders_per_10s),
            _limit("ORDERS", "DAY", 1, self.orders_per_day),
            _limit("RAW_REQUESTS", "MINUTE", 5, self.raw_requests_per_5min),
        ]


def _limit(kind: str, interval: str, num: int, limit: int) -> dict[str, object]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


@attrs.define(eq=False)
class _Window:
    """A counter over a fixed interval; it restarts when a new interval begins."""

    length_ms: int
    start_ms: int = -1
    count: int = 0

    def current(self, now_ms: int) -> int:
        return self.count if now_ms // self.length_ms * self.length_ms == self.start_ms else 0

    def add(self, now_ms: int, amount: int) -> None:
        start = now_ms // self.length_ms * self.length_ms
        if start != self.start_ms:
            self.start_ms, self.count = start, 0
        self.count += amount

    def end(self, now_ms: int) -> int:
        """When the interval holding ``now_ms`` ends (the next one starts)."""
        return now_ms // self.length_ms * self.length_ms + self.length_ms


@attrs.define(eq=False)
class _IpState:
    weight: _Window = attrs.field(factory=lambda: _Window(MINUTE_MS))
    raw: _Window = attrs.field(factory=lambda: _Window(5 * MINUTE_MS))
    # Invariant: limited_until_ms > now only between a 429 and its window's end; while so,
    # refused_* count what the IP sent since limited_since_ms (each gets 429 or a ban).
    limited_since_ms: int = 0
    limited_until_ms: int = 0
    limited_msg: str = ""
    refused_requests: int = 0
    refused_weight: int = 0
    banned_until_ms: int = 0
    bans: int = 0

    def limit(self, now_ms: int, window: _Window, msg: str) -> DialectError:
        """Start a limited period (the first 429), until ``window`` restarts."""
        self.limited_since_ms = now_ms
        self.limited_until_ms = window.end(now_ms)
        self.limited_msg = msg
        self.refused_requests = self.refused_weight = 0
        return _too_many(msg, _seconds_until(self.limited_until_ms, now_ms))


@attrs.define(eq=False)
class _AccountState:
    ten_seconds: _Window = attrs.field(factory=lambda: _Window(10 * SECOND_MS))
    day: _Window = attrs.field(factory=lambda: _Window(DAY_MS))


def _too_many(msg: str, seconds: int) -> DialectError:
    return DialectError(Code.TOO_MANY_REQUESTS, msg, http_status=429, retry_after=seconds)


def _seconds_until(until_ms: int, now_ms: int) -> int:
    return max(1, -(-(until_ms - now_ms) // 1000))


def _banned(until_ms: int, now_ms: int) -> DialectError:
    return DialectError(
        Code.TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        http_status=418,
        retry_after=_seconds_until(until_ms, now_ms),
    )


@attrs.define(eq=False)
class VenueLimits:
    """Counts request weight per IP and new orders per account; decides 429 and 418.

    The exchange's side of the limits: it refuses; ``mmbot.resilience.RateLimiter`` is the
    bot's side, which waits so as not to be refused.
    """

    limits: RateLimits = attrs.field(factory=RateLimits)
    _ips: dict[str, _IpState] = attrs.field(factory=dict, init=False)
    _accounts: dict[str, _AccountState] = attrs.field(factory=dict, init=False)

    def check_ban(self, ip: str, now_ms: int) -> DialectError | None:
        """418 while ``ip`` is banned (nothing is counted), else ``None``."""
        state = self._ips.get(ip)
        if state is not None and now_ms < state.banned_until_ms:
            return _banned(state.banned_until_ms, now_ms)
        return None

    def charge(self, ip: str, weight: int, now_ms: int) -> DialectError | None:
        """Count one request of ``weight``; 429 over a limit, 418 for not backing off."""
        state = self._ips.setdefault(ip, _IpState())
        if now_ms < state.banned_until_ms:
            return _banned(state.banned_until_ms, now_ms)
        limits = self.limits
        if now_ms < state.limited_until_ms:
            state.refused_requests += 1
            state.refused_weight += weight
            if (
                now_ms - state.limited_since_ms > limits.ban_grace_ms
                or state.refused_requests > limits.ban_tolerance_requests
                or state.refused_weight > limits.ban_tolerance_weight
            ):
                return self._ban(state, now_ms)
            seconds = _seconds_until(state.limited_until_ms, now_ms)
            return _too_many(state.limited_msg, seconds)
        if state.weight.current(now_ms) + weight > limits.request_weight_per_minute:
            return state.limit(
                now_ms,
                state.weight,
                "Too much request weight used; current limit is "
                f"{limits.request_weight_per_minute} request weight per 1 MINUTE. "
                "Please use WebSocket Streams for live updates to avoid polling the API.",
            )
        if state.raw.current(now_ms) + 1 > limits.raw_requests_per_5min:
            return state.limit(
                now_ms,
                state.raw,
                "Too many requests; current limit is "
                f"{limits.raw_requests_per_5min} requests per 5 MINUTE.",
            )
        state.weight.add(now_ms, weight)
        state.raw.add(now_ms, 1)
        return None

    @staticmethod
    def _ban(state: _IpState, now_ms: int) -> DialectError:
        if state.banned_until_ms and now_ms - state.banned_until_ms > DAY_MS:
            state.bans = 0  # a day of good behaviour forgives earlier bans
        duration = min(MAX_BAN_MS, FIRST_BAN_MS * 2**state.bans)
        state.bans += 1
        state.banned_until_ms = now_ms + duration
        state.limited_until_ms = 0
        return _banned(state.banned_until_ms, now_ms)

    def charge_order(self, account: str, now_ms: int) -> DialectError | None:
        """Count one new order of ``account``; -1015 (429) over either ORDERS limit."""
        state = self._accounts.setdefault(account, _AccountState())
        limits = self.limits
        for window, limit, label in (
            (state.ten_seconds, limits.orders_per_10s, "10 SECOND"),
            (state.day, limits.orders_per_day, "1 DAY"),
        ):
            if window.current(now_ms) + 1 > limit:
                return DialectError(
                    Code.TOO_MANY_ORDERS,
                    f"Too many new orders; current limit is {limit} orders per {label}.",
                    http_status=429,
                    retry_after=_seconds_until(window.end(now_ms), now_ms),
                )
        state.ten_seconds.add(now_ms, 1)
        state.day.add(now_ms, 1)
        return None

    def refund(self, ip: str, weight: int, now_ms: int) -> None:
        """Give back ``weight`` charged to ``ip`` by a request that turned out free (an
        order operation that succeeded: ``weights.FREE_WHEN_SUCCESSFUL``). The request
        still counts as one raw request."""
        state = self._ips.get(ip)
        if state is not None and weight > 0:
            state.weight.add(now_ms, -min(weight, state.weight.current(now_ms)))

    def used_weight(self, ip: str, now_ms: int) -> int:
        state = self._ips.get(ip)
        return 0 if state is None else state.weight.current(now_ms)

    def order_counts(self, account: str, now_ms: int) -> tuple[int, int]:
        """New orders of ``account`` in the current 10-second and day windows."""
        state = self._accounts.get(account)
        if state is None:
            return 0, 0
        return state.ten_seconds.current(now_ms), state.day.current(now_ms)

    def order_rate_limits(self, account: str, now_ms: int) -> list[dict[str, object]]:
        """``account``'s unfilled order counts against the ORDERS limits, 10 s then day
        (``GET /api/v3/rateLimit/order``, and the head of an order's ``rateLimits``)."""
        ten, day = self.order_counts(account, now_ms)
        return [
            {**_limit("ORDERS", "SECOND", 10, self.limits.orders_per_10s), "count": ten},
            {**_limit("ORDERS", "DAY", 1, self.limits.orders_per_day), "count": day},
        ]

    def ws_rate_limits(
        self, ip: str, account: str | None, now_ms: int, *, orders: bool
    ) -> list[dict[str, object]]:
        """The ``rateLimits`` array of a WebSocket API response: for an order, the ORDERS
        counts first, then REQUEST_WEIGHT (the order of the docs' examples)."""
        out: list[dict[str, object]] = []
        if orders and account is not None:
            out += self.order_rate_limits(account, now_ms)
        out.append(
            {
                **_limit("REQUEST_WEIGHT", "MINUTE", 1, self.limits.request_weight_per_minute),
                "count": self.used_weight(ip, now_ms),
            }
        )
        return out
