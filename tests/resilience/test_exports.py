"""The public surface of ``mmbot.resilience`` is exactly what we mean to export."""

from __future__ import annotations

import mmbot.errors
import mmbot.resilience

EXPECTED = {
    "BINANCE_SPOT_RULES",
    "DEFAULT_TRANSIENT",
    "SAFE_TO_RESEND",
    "TRANSITIONS",
    "BreakerConfig",
    "BreakerCore",
    "BreakerListener",
    "BreakerState",
    "BreakerStatistics",
    "BreakerTransition",
    "CallOutcome",
    "CircuitBreaker",
    "CircuitOpen",
    "GiveUp",
    "LimitKind",
    "RateLimitRule",
    "RateLimited",
    "RateLimiter",
    "RateLimiterConfig",
    "RateLimiterStatistics",
    "RetryBudget",
    "RetryBudgetConfig",
    "RetryBudgetExhausted",
    "RetryConfig",
    "RetryEvent",
    "RetryListener",
    "RetryPolicy",
    "Trigger",
    "WindowType",
    "outcome_of",
}


def test_all_is_the_curated_surface():
    assert set(mmbot.resilience.__all__) == EXPECTED
    assert all(hasattr(mmbot.resilience, name) for name in EXPECTED)


def test_errors_are_re_exported_not_redefined():
    assert mmbot.resilience.CircuitOpen is mmbot.errors.CircuitOpen
    assert mmbot.resilience.RateLimited is mmbot.errors.RateLimited
    assert mmbot.resilience.RetryBudgetExhausted is mmbot.errors.RetryBudgetExhausted
