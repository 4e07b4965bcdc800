"""Outcome classification sees through nested exception groups (one rule, one function)."""

from __future__ import annotations

import pytest
import trio

from mmbot.errors import (
    CircuitOpen,
    RateLimited,
    RetryBudgetExhausted,
    VenueRejected,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import Outcome
from mmbot.resilience.breaker_config import BreakerConfig
from mmbot.resilience.outcomes import (
    CallOutcome,
    all_match,
    classify,
    contains,
    is_cancellation,
    leaves,
    outcome_of,
    retry_after_hint,
)


class FakeCancelled(BaseException):
    """Stands in for trio.Cancelled: the core never imports trio."""


CANCEL = (FakeCancelled,)
CONFIG = BreakerConfig()


def nested(*excs: BaseException) -> BaseExceptionGroup[BaseException]:
    return BaseExceptionGroup("outer", [BaseExceptionGroup("inner", list(excs))])


def test_leaves_flattens_nested_groups():
    a, b, c = ValueError("a"), KeyError("b"), OSError("c")
    group = BaseExceptionGroup("x", [a, BaseExceptionGroup("y", [b, ExceptionGroup("z", [c])])])
    assert list(leaves(group)) == [a, b, c]


def test_contains_and_all_match_look_at_the_leaves():
    group = nested(VenueUnknown("t"), ValueError())
    assert contains(group, (VenueUnknown,))
    assert not all_match(group, (VenueUnknown,))
    assert all_match(
        nested(VenueUnknown("t"), VenueUnavailable()), (VenueUnknown, VenueUnavailable)
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("boom"), CallOutcome.FAILURE),
        (nested(ValueError("boom")), CallOutcome.FAILURE),
        (VenueRejected(-2010, "insufficient balance"), CallOutcome.IGNORED),
        (nested(VenueRejected(-2010, "x"), VenueRejected(-1013, "y")), CallOutcome.IGNORED),
        (nested(VenueRejected(-2010, "x"), ValueError()), CallOutcome.FAILURE),
        (VenueUnavailable("refused"), CallOutcome.HARD_FAILURE),
        (nested(ValueError(), VenueUnavailable("refused")), CallOutcome.HARD_FAILURE),
        (FakeCancelled(), CallOutcome.CANCELLED),
        (nested(ValueError(), FakeCancelled()), CallOutcome.CANCELLED),
        (KeyboardInterrupt(), CallOutcome.CANCELLED),
        (nested(SystemExit(1)), CallOutcome.CANCELLED),
    ],
)
def test_classify_follows_the_one_rule(exc: BaseException, expected: CallOutcome):
    assert classify(exc, CONFIG, CANCEL) is expected


def test_exceptions_outside_the_record_list_are_ignored():
    config = BreakerConfig(record_exceptions=(OSError,), hard_failures=())
    assert classify(ValueError(), config, CANCEL) is CallOutcome.IGNORED
    assert classify(nested(OSError()), config, CANCEL) is CallOutcome.FAILURE


def test_cancellation_anywhere_in_the_tree_is_cancellation():
    assert is_cancellation(nested(VenueUnknown("x"), FakeCancelled()), CANCEL)
    assert not is_cancellation(nested(VenueUnknown("x")), CANCEL)


def test_retry_after_hint_takes_the_largest_hint_in_a_group():
    group = nested(RateLimited(-1003, "slow down", retry_after=3.0), CircuitOpen("orders", 7.5))
    assert retry_after_hint(group) == 7.5
    assert retry_after_hint(ValueError()) is None


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (None, Outcome.OK),
        (VenueRejected(-2010, "insufficient balance"), Outcome.FAILED),
        (RateLimited(-1015, "too many orders", retry_after=1.0), Outcome.FAILED),
        (VenueUnavailable("refused"), Outcome.FAILED),
        (CircuitOpen("orders", 1.0), Outcome.FAILED),
        (VenueUnknown("timeout"), Outcome.UNKNOWN),
        (trio.TooSlowError(), Outcome.UNKNOWN),
        (ExceptionGroup("g", [VenueUnavailable("x"), VenueUnknown("y")]), Outcome.UNKNOWN),
        (ExceptionGroup("g", [VenueUnavailable("x"), CircuitOpen("o", 1.0)]), Outcome.FAILED),
    ],
)
def test_outcome_of_is_failed_only_when_known_not_to_have_happened(
    exc: BaseException | None, expected: Outcome
):
    assert outcome_of(exc) is expected


def test_budget_exhaustion_takes_the_outcome_of_its_cause():
    exc = RetryBudgetExhausted("empty")
    exc.__cause__ = VenueUnavailable("refused")
    assert outcome_of(exc) is Outcome.FAILED
