"""Token-bucket arithmetic of the retry budget (sans-IO core of ``retry.py``).

What it is for: :class:`RetryBudget`, shared by the retry policies of one venue: retries
spend tokens, successes and time put some back, and an empty budget stops retrying. Every
method takes ``now``; nothing here waits.

What it must never do: import trio, time or random, or read a clock. The shell passes
``trio.current_time()``.
"""

from __future__ import annotations

import attrs
from attrs import validators as v


@attrs.frozen
class RetryBudgetConfig:
    """Retries spend ``retry_cost``; each success returns ``success_refill``; time returns
    ``refill_per_second``; never more than ``capacity`` tokens."""

    capacity: float = attrs.field(default=10.0, validator=v.gt(0))
    retry_cost: float = attrs.field(default=1.0, validator=v.gt(0))
    success_refill: float = attrs.field(default=0.1, validator=v.ge(0))
    refill_per_second: float = attrs.field(default=0.5, validator=v.ge(0))


@attrs.frozen
class RetryBudgetStatistics:
    tokens: float
    spent: int
    refused: int
    successes: int


class RetryBudget:
    """A token bucket shared by the retry policies of one venue, so retries cannot storm.

    Starts full. ``try_spend(now)`` is asked before every retry (never before a first
    attempt); ``record_success(now)`` after every successful call.
    """

    def __init__(self, config: RetryBudgetConfig | None = None) -> None:
        self.config = config if config is not None else RetryBudgetConfig()
        # Invariant: 0 <= _tokens <= capacity.
        self._tokens = self.config.capacity
        self._updated: float | None = None
        self._spent = 0
        self._refused = 0
        self._successes = 0

    def _refill(self, now: float) -> None:
        if self._updated is not None and now > self._updated:
            gained = (now - self._updated) * self.config.refill_per_second
            self._tokens = min(self.config.capacity, self._tokens + gained)
        if self._updated is None or now > self._updated:
            self._updated = now

    def tokens(self, now: float) -> float:
        self._refill(now)
        return self._tokens

    def try_spend(self, now: float) -> bool:
        """Take the cost of one retry; False (and nothing taken) if the budget is short."""
        self._refill(now)
        cost = self.config.retry_cost
        if self._tokens + 1e-12 < cost:
            self._refused += 1
            return False
        self._tokens = max(0.0, self._tokens - cost)
        self._spent += 1
        return True

    def record_success(self, now: float) -> None:
        self._refill(now)
        self._successes += 1
        self._tokens = min(self.config.capacity, self._tokens + self.config.success_refill)

    def statistics(self, now: float) -> RetryBudgetStatistics:
        return RetryBudgetStatistics(self.tokens(now), self._spent, self._refused, self._successes)
