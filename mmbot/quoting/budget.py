"""The order budget: how many new orders the bot may still send, shared by every symbol (sans-IO).

What it is for: keeping the whole bot inside the venue's order-rate limits (Binance Spot's
``ORDERS`` rules: so many new orders per 10 s and per day, per account) *by deciding less*,
not by being refused. Every quoter asks :meth:`OrderBudget.grant` before it places; what it
is not granted it does not send, and while the budget runs low, :meth:`OrderBudget.tolerances`
widens the tolerances reconcile keeps resting orders within, so a symbol short of budget
keeps its orders longer instead of replacing them (and says so: ``short``).

The counting is the rate limiter's own (:class:`~mmbot.resilience.ratelimit_core.WindowBucket`:
over any window of the rule's interval, grants add up to at most the limit), at
``fraction`` of each limit, so the REST client's limiter, which allows a larger share,
never has to hold an order request back and the venue never answers 429.

What it must never do: read a clock (``now`` is passed in), count a cancel (the venue's
ORDERS rules count new orders only), or grant more than fits every rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

import attrs

from mmbot.quoting.orders.reconcile import Tolerances
from mmbot.resilience.ratelimit_core import LimitKind, RateLimitRule, WindowBucket

#: Resolution of the budget's windows (as the rate limiter's).
SLOTS = 60


@attrs.frozen
class BudgetStatistics:
    granted: int
    refused: int  # orders asked for and not granted
    headroom: float  # the smallest share of any rule's budget left, 0..1


class OrderBudget:
    """New-order budget over the venue's ``ORDERS`` rules, shared by all symbols."""

    def __init__(
        self,
        rules: Iterable[RateLimitRule],
        *,
        fraction: float = 0.8,
        low_water: float = 0.25,
        widen: float = 4.0,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        self.low_water = low_water
        self.widen = Decimal(str(widen))
        # Invariant: one bucket per ORDERS rule, each at fraction of its limit (>= 1).
        self._buckets = [
            WindowBucket(max(1, math.floor(rule.limit * fraction)), rule.interval, SLOTS)
            for rule in rules
            if rule.kind is LimitKind.ORDERS
        ]
        self._granted = 0
        self._refused = 0

    def available(self, now: float) -> int:
        """New orders that fit every rule now (a large number if there is no rule)."""
        if not self._buckets:
            return 1 << 30
        return max(0, min(b.limit - b.used(now) for b in self._buckets))

    def headroom(self, now: float) -> float:
        """The smallest share of any rule's budget still unspent (1.0 with no rule)."""
        if not self._buckets:
            return 1.0
        return min((b.limit - b.used(now)) / b.limit for b in self._buckets)

    def grant(self, wanted: int, now: float) -> int:
        """Spend up to ``wanted`` new orders now; returns how many were granted."""
        granted = min(wanted, self.available(now)) if wanted > 0 else 0
        for bucket in self._buckets:
            bucket.take(granted, now)
        self._granted += granted
        self._refused += wanted - granted
        return granted

    def short(self, now: float) -> bool:
        """Whether the budget is low enough that quoters hold their orders longer."""
        return self.headroom(now) < self.low_water

    def tolerances(self, base: Tolerances, now: float) -> Tolerances:
        """``base``, widened by ``widen`` while the budget is short."""
        if not self.short(now):
            return base
        return Tolerances(
            price_bps=base.price_bps * self.widen,
            size_ratio=min(Decimal("0.9"), base.size_ratio * self.widen),
        )

    def statistics(self, now: float) -> BudgetStatistics:
        return BudgetStatistics(self._granted, self._refused, self.headroom(now))
