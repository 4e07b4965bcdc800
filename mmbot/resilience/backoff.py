"""Backoff formulas of the breaker, the retries, the stream clients and supervision (sans-IO).

What it is for: the few delay formulas of the kit, as pure functions of an attempt number
and an injected ``random.Random``, so every delay is bounded, testable and reproducible.

What it must never do: import trio, time or random, read a clock, or use the module-level
RNG. Callers pass the RNG (derived from the run's seed by the shell).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random


def exponential(attempt: int, *, base: float, multiplier: float = 2.0, cap: float) -> float:
    """``min(cap, base * multiplier**(attempt - 1))`` for ``attempt`` >= 1 (no jitter).

    The exponent is clamped so a huge attempt number cannot overflow a float.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if base <= 0 or cap <= 0:
        return max(0.0, min(base, cap))
    exponent = min(attempt - 1, 1024)
    try:
        raw = base * multiplier**exponent
    except OverflowError:
        return cap
    return min(cap, raw)


def full_jitter(
    attempt: int, *, base: float, multiplier: float = 2.0, cap: float, rng: random.Random
) -> float:
    """A delay drawn uniformly from ``[0, exponential(attempt))`` ("full jitter").

    Full jitter spreads many clients that failed together over the whole window, which is
    what keeps a fleet of retrying tasks from stampeding the venue in step.
    """
    return rng.random() * exponential(attempt, base=base, multiplier=multiplier, cap=cap)


def equal_jitter(delay: float, rng: random.Random) -> float:
    """Half of ``delay`` plus up to the other half at random ("equal jitter").

    Used by the stream clients between reconnects and snapshot fetches: never less than
    half the delay, so a client backs off for real, while clients that failed together
    still spread over the other half.
    """
    return delay / 2 + rng.random() * delay / 2


def proportional_jitter(
    attempt: int,
    *,
    base: float,
    multiplier: float = 2.0,
    cap: float,
    jitter: float,
    rng: random.Random,
) -> float:
    """``exponential(attempt) * (1 + jitter * U)``, or ``cap * (1 - jitter * U)`` above the cap.

    Used for the breaker's open duration and supervision restarts. Below the cap the delay
    is at least the exponential value (so backoff really grows). Where the grown value
    would pass the cap, the jitter goes *below* the cap instead of being clamped to it:
    clamping would make every breaker that reached ``cap`` reopen at the same instant.
    Always ``min(exponential, cap * (1 - jitter)) <= delay <= cap``.
    """
    if jitter < 0:
        raise ValueError("jitter must be >= 0")
    delay = exponential(attempt, base=base, multiplier=multiplier, cap=cap)
    u = rng.random()
    grown = delay * (1.0 + jitter * u)
    if grown <= cap:
        return grown
    return cap * (1.0 - min(jitter, 1.0) * u)
