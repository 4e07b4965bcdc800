"""``RateLimiter``: client-side rate limiting that waits (trio shell over ``ratelimit_core.py``).

What it is for: every request to the venue first does ``await limiter.acquire(weight,
orders=...)``, which waits, in FIFO order, until the request fits every rule
(request weight per minute, orders per 10 s and per day, ...). Responses feed
``observe_headers`` so we stay in step with the server's own counts, and a 429/418 with
``Retry-After`` calls ``block_until`` (or ``on_rate_limited``). Under normal load the bot
therefore never earns a 429.

What it must never do: refuse a request that could fit later (it waits instead), read the
wall clock, or take tokens for a request whose wait was cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping

import trio

from mmbot.errors import RateLimited
from mmbot.resilience.ratelimit_core import LimiterCore, RateLimiterConfig, RateLimiterStatistics


class RateLimiter:
    """Weighted buckets mirroring the venue's ``rateLimits``; callers wait, first come first
    served (a heavy request at the head is not overtaken by light ones behind it)."""

    def __init__(self, config: RateLimiterConfig | None = None) -> None:
        self.config = config if config is not None else RateLimiterConfig()
        self._core = LimiterCore(self.config)
        self._lock = trio.Lock()  # trio's Lock is fair: waiters acquire in FIFO order
        self._changed = trio.Event()  # set when a block or header may change the wait
        self._waiting = 0
        self._admitted = 0
        self._waited = 0

    async def acquire(self, weight: int = 1, orders: int = 0) -> None:
        """Wait until a request of ``weight`` (and ``orders`` new orders) fits, then count it.

        Always a checkpoint. Raises ``ValueError`` for a request that can never fit.
        """
        self._core.check(weight, orders)
        self._waiting += 1
        try:
            async with self._lock:
                waited = False
                while True:
                    now = trio.current_time()
                    delay = self._core.delay(weight, orders, now)
                    if delay <= 0:
                        break
                    waited = True
                    changed = self._changed
                    # wake at the computed time, or earlier if a block/header changes things
                    with trio.move_on_at(now + max(delay, 1e-6)):
                        await changed.wait()
                self._core.take(weight, orders, trio.current_time())
                self._admitted += 1
                self._waited += waited
        finally:
            self._waiting -= 1

    def acquire_nowait(self, weight: int = 1, orders: int = 0) -> None:
        """Count the request now if it fits and nobody is queued; else ``trio.WouldBlock``."""
        self._core.check(weight, orders)
        now = trio.current_time()
        if self._lock.locked() or self._core.delay(weight, orders, now) > 0:
            raise trio.WouldBlock
        self._core.take(weight, orders, now)
        self._admitted += 1

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Fold in the server's ``X-MBX-USED-WEIGHT-*`` / ``X-MBX-ORDER-COUNT-*`` counts."""
        self._core.observe_headers(headers, trio.current_time())
        self._poke()

    def block_until(self, until: float) -> None:
        """Admit nothing before trio time ``until`` (never shortens an existing block)."""
        self._core.block_until(until)
        self._poke()

    def blocked_for(self) -> float:
        """Seconds a venue's Retry-After still holds every request (0.0: none does)."""
        until = self._core.blocked_until
        return 0.0 if until is None else max(0.0, until - trio.current_time())

    def on_rate_limited(self, exc: RateLimited) -> None:
        """Block for the ``retry_after`` of a 429/418 the venue answered."""
        self.block_until(trio.current_time() + exc.retry_after)

    def statistics(self) -> RateLimiterStatistics:
        return RateLimiterStatistics(
            used=self._core.used(trio.current_time()),
            blocked_until=self._core.blocked_until,
            waiting=self._waiting,
            admitted=self._admitted,
            waited=self._waited,
        )

    def _poke(self) -> None:
        changed, self._changed = self._changed, trio.Event()
        changed.set()
