"""mmbot.resilience: circuit breakers, retry policies and rate limiting (DESIGN.md §4.7-4.8).

The guards between the bot and the venue, composed as
``deadline ⊃ retry ⊃ breaker ⊃ per-attempt timeout ⊃ call`` with the rate limiter in front
of each request. All of them are trio-native, read only trio's clock and draw randomness
from injected ``random.Random`` instances, so they run unchanged under ``MockClock``.
See docs/resilience.md.
"""

from mmbot.errors import CircuitOpen as CircuitOpen
from mmbot.errors import RateLimited as RateLimited
from mmbot.errors import RetryBudgetExhausted as RetryBudgetExhausted
from mmbot.resilience.breaker import BreakerListener as BreakerListener
from mmbot.resilience.breaker import CircuitBreaker as CircuitBreaker
from mmbot.resilience.breaker_config import BreakerConfig as BreakerConfig
from mmbot.resilience.breaker_config import WindowType as WindowType
from mmbot.resilience.breaker_core import TRANSITIONS as TRANSITIONS
from mmbot.resilience.breaker_core import BreakerCore as BreakerCore
from mmbot.resilience.breaker_core import BreakerState as BreakerState
from mmbot.resilience.breaker_core import BreakerStatistics as BreakerStatistics
from mmbot.resilience.breaker_core import BreakerTransition as BreakerTransition
from mmbot.resilience.breaker_core import Trigger as Trigger
from mmbot.resilience.outcomes import CallOutcome as CallOutcome
from mmbot.resilience.outcomes import outcome_of as outcome_of
from mmbot.resilience.ratelimit import RateLimiter as RateLimiter
from mmbot.resilience.ratelimit_core import BINANCE_SPOT_RULES as BINANCE_SPOT_RULES
from mmbot.resilience.ratelimit_core import LimitKind as LimitKind
from mmbot.resilience.ratelimit_core import RateLimiterConfig as RateLimiterConfig
from mmbot.resilience.ratelimit_core import RateLimiterStatistics as RateLimiterStatistics
from mmbot.resilience.ratelimit_core import RateLimitRule as RateLimitRule
from mmbot.resilience.retry import DEFAULT_TRANSIENT as DEFAULT_TRANSIENT
from mmbot.resilience.retry import SAFE_TO_RESEND as SAFE_TO_RESEND
from mmbot.resilience.retry import GiveUp as GiveUp
from mmbot.resilience.retry import RetryConfig as RetryConfig
from mmbot.resilience.retry import RetryEvent as RetryEvent
from mmbot.resilience.retry import RetryListener as RetryListener
from mmbot.resilience.retry import RetryPolicy as RetryPolicy
from mmbot.resilience.retry_core import RetryBudget as RetryBudget
from mmbot.resilience.retry_core import RetryBudgetConfig as RetryBudgetConfig

__all__ = [
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
]
