"""Token-bucket arithmetic of the rate limiter (sans-IO core of ``ratelimit.py``).

What it is for: the counting behind ``ratelimit.RateLimiter``: the venue's rules
(:class:`RateLimitRule`, from exchangeInfo ``rateLimits``), weighted buckets mirroring them
(:class:`WindowBucket`) and :class:`LimiterCore`, which says how long a request must wait
and folds in the server's own counts. Every method takes ``now``; nothing here waits.

What it must never do: import trio, time or random, or read a clock. The shell passes
``trio.current_time()``.

Why the rate-limit buckets are "sliding-window" token buckets: Binance counts request weight
and orders per fixed interval (a calendar minute, ten seconds, a day). A classic bucket of
capacity L refilled at L per interval lets through up to 2L inside one of the server's
windows, which earns a 429. A :class:`WindowBucket` instead gives each spent token back one
interval after it was spent (in ``slots`` steps), so *any* window of one interval sees at
most ``limit``, whatever the server's alignment.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable, Mapping

import attrs
from attrs import validators as v


class LimitKind(enum.Enum):
    """What a rule counts, named as in the venue's ``rateLimits[].rateLimitType``."""

    REQUEST_WEIGHT = "REQUEST_WEIGHT"  # the weight of each request
    ORDERS = "ORDERS"  # new orders
    RAW_REQUESTS = "RAW_REQUESTS"  # one per request, whatever its weight


_UNITS = (("D", 86400), ("H", 3600), ("M", 60), ("S", 1))
_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_HEADER_PREFIX = {
    LimitKind.REQUEST_WEIGHT: "x-mbx-used-weight-",
    LimitKind.ORDERS: "x-mbx-order-count-",
}


@attrs.frozen
class RateLimitRule:
    """``limit`` units of ``kind`` per ``interval`` seconds."""

    kind: LimitKind
    interval: int = attrs.field(validator=v.gt(0))  # seconds
    limit: int = attrs.field(validator=v.gt(0))

    @property
    def header(self) -> str | None:
        """The (lower-case) response header carrying the server's count, e.g.
        ``x-mbx-used-weight-1m``; None for kinds the venue does not report."""
        prefix = _HEADER_PREFIX.get(self.kind)
        if prefix is None:
            return None
        for letter, seconds in _UNITS:
            if self.interval % seconds == 0:
                return f"{prefix}{self.interval // seconds}{letter.lower()}"
        raise AssertionError("unreachable: every interval is a whole number of seconds")

    @classmethod
    def from_wire(cls, raw: Mapping[str, object]) -> RateLimitRule:
        """From one entry of exchangeInfo ``rateLimits``."""
        unit = _INTERVAL_SECONDS[str(raw["interval"])]
        num = raw.get("intervalNum", 1)
        limit = raw["limit"]
        if not isinstance(num, int) or not isinstance(limit, int):
            raise TypeError(f"rateLimits entry with non-integer fields: {dict(raw)}")
        return cls(LimitKind(str(raw["rateLimitType"])), unit * num, limit)


def counts_as_headers(rate_limits: object) -> dict[str, str]:
    """A WebSocket API answer's ``rateLimits`` array as the ``X-MBX-*`` headers a REST
    answer would have carried (``{"x-mbx-used-weight-1m": "70", ...}``), for
    :meth:`LimiterCore.observe_headers`. Entries it cannot read are skipped."""
    headers: dict[str, str] = {}
    if not isinstance(rate_limits, list):
        return headers
    for entry in rate_limits:
        if not isinstance(entry, dict):
            continue
        try:
            header = RateLimitRule.from_wire(entry).header
        except (KeyError, TypeError, ValueError):
            continue
        count = entry.get("count")
        if header is not None and isinstance(count, int):
            headers[header] = str(count)
    return headers


#: Binance Spot's published limits (VENUE_DIALECT.md); exchangeInfo is the authority.
#: RAW_REQUESTS is 300,000 per 5 minutes since 2026-04-02 (the docs' CHANGELOG).
BINANCE_SPOT_RULES = (
    RateLimitRule(LimitKind.REQUEST_WEIGHT, 60, 6000),
    RateLimitRule(LimitKind.ORDERS, 10, 50),
    RateLimitRule(LimitKind.ORDERS, 86400, 160000),
    RateLimitRule(LimitKind.RAW_REQUESTS, 300, 300_000),
)


@attrs.frozen
class RateLimiterConfig:
    """The rules to obey, the fraction of each limit we allow ourselves, and the number of
    steps in which spent tokens come back (the window's resolution)."""

    rules: tuple[RateLimitRule, ...] = BINANCE_SPOT_RULES
    utilisation: float = attrs.field(default=0.9, validator=v.and_(v.gt(0.0), v.le(1.0)))
    slots: int = attrs.field(default=60, validator=v.gt(0))

    @classmethod
    def from_exchange_info(
        cls, rate_limits: Iterable[Mapping[str, object]], *, utilisation: float = 0.9
    ) -> RateLimiterConfig:
        return cls(tuple(RateLimitRule.from_wire(r) for r in rate_limits), utilisation)

    def effective_limit(self, rule: RateLimitRule) -> int:
        return max(1, math.floor(rule.limit * self.utilisation))


class WindowBucket:
    """A token bucket whose spent tokens come back one interval after they were spent.

    Time is cut into slots of ``interval / slots``; a take at slot k counts until slot
    k + slots + 1. Guarantee: over any half-open window of ``interval`` seconds, the takes
    add up to at most ``limit`` (server usage folded in by ``sync`` counts too).
    """

    def __init__(self, limit: int, interval: float, slots: int) -> None:
        self.limit = limit
        self._slots = slots
        self._slot_len = interval / slots
        # Invariant: _used == sum of the weights in _entries; slot indices increase.
        self._entries: deque[list[int]] = deque()
        self._used = 0

    def _slot(self, now: float) -> int:
        # the epsilon keeps "exactly at a slot boundary" on the later slot despite rounding
        return math.floor(now / self._slot_len + 1e-9)

    def _expire(self, now: float) -> int:
        current = self._slot(now)
        oldest_alive = current - self._slots
        entries = self._entries
        while entries and entries[0][0] < oldest_alive:
            self._used -= entries.popleft()[1]
        return current

    def used(self, now: float) -> int:
        self._expire(now)
        return self._used

    def delay(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` fits (0.0 if it fits now; ``weight`` <= limit).

        A request that asks nothing of this bucket (``weight`` <= 0) never waits on it,
        even when the server's count has pushed it past our share.
        """
        if weight <= 0:
            return 0.0
        self._expire(now)
        excess = self._used + weight - self.limit
        if excess <= 0:
            return 0.0
        for slot, amount in self._entries:
            excess -= amount
            if excess <= 0:
                return max(0.0, (slot + self._slots + 1) * self._slot_len - now)
        raise ValueError(f"weight {weight} exceeds the limit {self.limit}")

    def take(self, weight: int, now: float) -> None:
        if weight <= 0:
            return
        current = self._expire(now)
        entries = self._entries
        if entries and entries[-1][0] == current:
            entries[-1][1] += weight
        else:
            entries.append([current, weight])
        self._used += weight

    def sync(self, server_used: int, now: float) -> None:
        """Fold in the server's count: if it saw more than we did, count the difference."""
        missing = server_used - self.used(now)
        if missing > 0:
            self.take(missing, now)


@attrs.frozen
class RateLimiterStatistics:
    used: tuple[tuple[RateLimitRule, int], ...]  # (rule, units in the current window)
    blocked_until: float | None
    waiting: int
    admitted: int
    waited: int  # acquisitions that had to wait


class LimiterCore:
    """The counting of a :class:`~mmbot.resilience.ratelimit.RateLimiter`."""

    def __init__(self, config: RateLimiterConfig) -> None:
        self.config = config
        self.buckets = [
            (rule, WindowBucket(config.effective_limit(rule), rule.interval, config.slots))
            for rule in config.rules
        ]
        self._by_header = {
            rule.header: bucket for rule, bucket in self.buckets if rule.header is not None
        }
        self.blocked_until: float | None = None

    @staticmethod
    def demand(rule: RateLimitRule, weight: int, orders: int) -> int:
        if rule.kind is LimitKind.REQUEST_WEIGHT:
            return weight
        if rule.kind is LimitKind.ORDERS:
            return orders
        return 1

    def check(self, weight: int, orders: int) -> None:
        """Refuse a request that could never fit (it would wait forever)."""
        if weight < 0 or orders < 0:
            raise ValueError("weight and orders must be >= 0")
        for rule, bucket in self.buckets:
            if self.demand(rule, weight, orders) > bucket.limit:
                raise ValueError(
                    f"a request of {rule.kind.value} {self.demand(rule, weight, orders)} can "
                    f"never fit the limit {bucket.limit} per {rule.interval}s"
                )

    def delay(self, weight: int, orders: int, now: float) -> float:
        """Seconds until the request fits every rule and any block has passed."""
        wait = 0.0
        if self.blocked_until is not None:
            if now >= self.blocked_until:
                self.blocked_until = None
            else:
                wait = self.blocked_until - now
        for rule, bucket in self.buckets:
            demand = self.demand(rule, weight, orders)
            if demand > 0:  # a rule the request asks nothing of cannot hold it back
                wait = max(wait, bucket.delay(demand, now))
        return wait

    def take(self, weight: int, orders: int, now: float) -> None:
        for rule, bucket in self.buckets:
            bucket.take(self.demand(rule, weight, orders), now)

    def block_until(self, until: float) -> None:
        """Admit nothing before ``until`` (a 429/418 with Retry-After); never shortens."""
        if self.blocked_until is None or until > self.blocked_until:
            self.blocked_until = until

    def observe_headers(self, headers: Mapping[str, str], now: float) -> None:
        """Keep in step with ``X-MBX-USED-WEIGHT-*`` / ``X-MBX-ORDER-COUNT-*`` headers."""
        for key, value in headers.items():
            bucket = self._by_header.get(key.lower())
            if bucket is None:
                continue
            try:
                server_used = int(value)
            except ValueError:
                continue
            bucket.sync(server_used, now)

    def used(self, now: float) -> tuple[tuple[RateLimitRule, int], ...]:
        return tuple((rule, bucket.used(now)) for rule, bucket in self.buckets)
