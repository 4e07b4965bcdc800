"""Seeing through exception groups: the one place that decides what an exception means (sans-IO).

What it is for: trio nurseries wrap errors in (nested) ``BaseExceptionGroup``s, so "is this a
transient error?" or "was this cancelled?" must look at the leaves. How a call counts for a
breaker (:func:`classify`), the three-valued outcome of a venue request that raised
(:func:`outcome_of`: OK, FAILED or UNKNOWN, which ``venue.base.from_exception`` turns into a
``VenueResult``) and the retry policies' predicates are all decided here.

What it must never do: import trio (it is a sans-IO core). The cancellation classes are
passed in by the shells (``(trio.Cancelled,)``), so tests can drive this with stand-ins.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mmbot.errors import (
    CircuitOpen,
    RateLimited,
    RetryBudgetExhausted,
    VenueRejected,
    VenueUnavailable,
)
from mmbot.model import Outcome

if TYPE_CHECKING:
    from mmbot.resilience.breaker_config import BreakerConfig

ExcTypes = tuple[type[BaseException], ...]

#: Exceptions that end the process or the generator: never counted, never retried, never
#: wrapped. They pass straight through every guard.
PASS_THROUGH: ExcTypes = (KeyboardInterrupt, SystemExit, GeneratorExit)


class CallOutcome(enum.Enum):
    """How a finished call counts for a breaker."""

    SUCCESS = "success"
    FAILURE = "failure"
    HARD_FAILURE = "hard_failure"  # a failure of a "hard" class: N in a row trips at once
    TIMEOUT = "timeout"  # the breaker's own per-call timeout: a failure and a slow call
    IGNORED = "ignored"  # neither success nor failure (e.g. a business rejection)
    CANCELLED = "cancelled"  # outer cancellation / interpreter exit: the permit is released

    @property
    def counts(self) -> bool:
        """True if the outcome enters the sliding window."""
        return self in _COUNTED

    @property
    def is_failure(self) -> bool:
        return self in _FAILURES


_COUNTED = frozenset(
    {CallOutcome.SUCCESS, CallOutcome.FAILURE, CallOutcome.HARD_FAILURE, CallOutcome.TIMEOUT}
)
_FAILURES = frozenset({CallOutcome.FAILURE, CallOutcome.HARD_FAILURE, CallOutcome.TIMEOUT})

#: Errors known not to have taken effect at the venue: a rejection, a request that could not
#: be sent, a breaker refusal. Every other error leaves a request's outcome unknown.
KNOWN_NOT_DONE: ExcTypes = (VenueRejected, VenueUnavailable, CircuitOpen)


def leaves(exc: BaseException) -> Iterator[BaseException]:
    """The non-group exceptions inside ``exc`` (``exc`` itself if it is not a group)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from leaves(inner)
    else:
        yield exc


def contains(exc: BaseException, types: ExcTypes) -> bool:
    """True if any leaf of ``exc`` is an instance of ``types``."""
    if not isinstance(exc, BaseExceptionGroup):
        return isinstance(exc, types)
    return any(isinstance(leaf, types) for leaf in leaves(exc))


def all_match(exc: BaseException, types: ExcTypes) -> bool:
    """True if every leaf of ``exc`` is an instance of ``types`` (groups are never empty)."""
    if not isinstance(exc, BaseExceptionGroup):
        return isinstance(exc, types)
    return all(isinstance(leaf, types) for leaf in leaves(exc))


def is_cancellation(exc: BaseException, cancel_types: ExcTypes) -> bool:
    """True if ``exc`` carries a cancellation or a pass-through exit anywhere in its tree.

    Such an exception is never counted and never retried: a group with one ``Cancelled``
    leaf means the surrounding scope is being torn down, whatever else went wrong.
    """
    return contains(exc, cancel_types) or contains(exc, PASS_THROUGH)


def retry_after_hint(exc: BaseException) -> float | None:
    """The largest ``retry_after`` (seconds) a venue or breaker asked for, if any."""
    hint: float | None = None
    for leaf in leaves(exc):
        if isinstance(leaf, (RateLimited, CircuitOpen)):
            value = float(leaf.retry_after)
            hint = value if hint is None else max(hint, value)
    return hint


def classify(exc: BaseException, config: BreakerConfig, cancel_types: ExcTypes) -> CallOutcome:
    """How a call that raised ``exc`` counts for a breaker (the one classification rule).

    In order: any cancellation or interpreter exit leaf → CANCELLED (nothing recorded); any
    leaf of a hard-failure class → HARD_FAILURE; every leaf ignored → IGNORED; any
    remaining leaf of a recorded class → FAILURE; otherwise IGNORED. The breaker's own
    per-call timeout is recognised by the shell, which knows its cancel scope, and recorded
    as TIMEOUT without coming here.
    """
    if is_cancellation(exc, cancel_types):
        return CallOutcome.CANCELLED
    found = list(leaves(exc))
    if config.hard_failures and any(isinstance(e, config.hard_failures) for e in found):
        return CallOutcome.HARD_FAILURE
    counted = [e for e in found if not isinstance(e, config.ignore_exceptions)]
    if not counted:
        return CallOutcome.IGNORED
    if any(isinstance(e, config.record_exceptions) for e in counted):
        return CallOutcome.FAILURE
    return CallOutcome.IGNORED


def outcome_of(exc: BaseException | None) -> Outcome:
    """The three-valued outcome of a venue request that ended with ``exc`` (None: OK).

    FAILED only when every leaf is known not to have happened (a rejection, a request that
    could not be sent, a breaker refusal); everything else, timeouts included, is UNKNOWN.
    """
    if exc is None:
        return Outcome.OK
    if isinstance(exc, RetryBudgetExhausted) and exc.__cause__ is not None:
        return outcome_of(exc.__cause__)
    if all_match(exc, KNOWN_NOT_DONE):
        return Outcome.FAILED
    return Outcome.UNKNOWN
