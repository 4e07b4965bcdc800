"""Rate limits of the fake exchange's dialect: weights, order counts, 429s and IP bans (sans-IO).

What it is for: the venue side of Binance's limits. REQUEST_WEIGHT and RAW_REQUESTS are
counted per client IP, ORDERS per account, each in fixed windows aligned to server time
(a minute window starts on a minute boundary), like Binance. Over a limit the request is
refused with HTTP 429 and ``Retry-After`` (seconds to the end of the window); an IP that
sends again while still limited is banned with HTTP 418, for 2 minutes at first and twice
as long on each further ban, up to 3 days.

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
    raw_requests_per_5min: int = 61_000

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

    def seconds_left(self, now_ms: int) -> int:
        end = now_ms // self.length_ms * self.length_ms + self.length_ms
        return max(1, -(-(end - now_ms) // 1000))


@attrs.define(eq=False)
class _IpState:
    weight: _Window = attrs.field(factory=lambda: _Window(MINUTE_MS))
    raw: _Window = attrs.field(factory=lambda: _Window(5 * MINUTE_MS))
    limited_until_ms: int = 0  # after a 429: sending before this gets a ban
    banned_until_ms: int = 0
    bans: int = 0


@attrs.define(eq=False)
class _AccountState:
    ten_seconds: _Window = attrs.field(factory=lambda: _Window(10 * SECOND_MS))
    day: _Window = attrs.field(factory=lambda: _Window(DAY_MS))


def _banned(until_ms: int, now_ms: int) -> DialectError:
    return DialectError(
        Code.TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        http_status=418,
        retry_after=max(1, -(-(until_ms - now_ms) // 1000)),
    )


@attrs.define(eq=False)
class RateLimiter:
    """Counts request weight per IP and new orders per account; decides 429 and 418."""

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
        """Count one request of ``weight``; 429 over a limit, 418 when sent while limited."""
        state = self._ips.setdefault(ip, _IpState())
        if now_ms < state.banned_until_ms:
            return _banned(state.banned_until_ms, now_ms)
        if now_ms < state.limited_until_ms:
            if state.banned_until_ms and now_ms - state.banned_until_ms > DAY_MS:
                state.bans = 0  # a day of good behaviour forgives earlier bans
            duration = min(MAX_BAN_MS, FIRST_BAN_MS * 2**state.bans)
            state.bans += 1
            state.banned_until_ms = now_ms + duration
            state.limited_until_ms = 0
            return _banned(state.banned_until_ms, now_ms)
        limits = self.limits
        if state.weight.current(now_ms) + weight > limits.request_weight_per_minute:
            state.limited_until_ms = now_ms + state.weight.seconds_left(now_ms) * 1000
            return DialectError(
                Code.TOO_MANY_REQUESTS,
                "Too much request weight used; current limit is "
                f"{limits.request_weight_per_minute} request weight per 1 MINUTE. "
                "Please use WebSocket Streams for live updates to avoid polling the API.",
                http_status=429,
                retry_after=state.weight.seconds_left(now_ms),
            )
        if state.raw.current(now_ms) + 1 > limits.raw_requests_per_5min:
            state.limited_until_ms = now_ms + state.raw.seconds_left(now_ms) * 1000
            return DialectError(
                Code.TOO_MANY_REQUESTS,
                "Too many requests; current limit is "
                f"{limits.raw_requests_per_5min} requests per 5 MINUTE.",
                http_status=429,
                retry_after=state.raw.seconds_left(now_ms),
            )
        state.weight.add(now_ms, weight)
        state.raw.add(now_ms, 1)
        return None

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
                    retry_after=window.seconds_left(now_ms),
                )
        state.ten_seconds.add(now_ms, 1)
        state.day.add(now_ms, 1)
        return None

    def used_weight(self, ip: str, now_ms: int) -> int:
        state = self._ips.get(ip)
        return 0 if state is None else state.weight.current(now_ms)

    def order_counts(self, account: str, now_ms: int) -> tuple[int, int]:
        """New orders of ``account`` in the current 10-second and day windows."""
        state = self._accounts.get(account)
        if state is None:
            return 0, 0
        return state.ten_seconds.current(now_ms), state.day.current(now_ms)

    def ws_rate_limits(
        self, ip: str, account: str | None, now_ms: int, *, orders: bool
    ) -> list[dict[str, object]]:
        """The ``rateLimits`` array of a WebSocket API response."""
        out = [
            {
                **_limit("REQUEST_WEIGHT", "MINUTE", 1, self.limits.request_weight_per_minute),
                "count": self.used_weight(ip, now_ms),
            }
        ]
        if orders and account is not None:
            ten, day = self.order_counts(account, now_ms)
            out.append({**_limit("ORDERS", "SECOND", 10, self.limits.orders_per_10s), "count": ten})
            out.append({**_limit("ORDERS", "DAY", 1, self.limits.orders_per_day), "count": day})
        return out
