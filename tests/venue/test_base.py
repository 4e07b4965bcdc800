"""The venue seam: three-valued results and the order events' common face."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from mmbot.errors import (
    CircuitOpen,
    ConfigError,
    RateLimited,
    RetryBudgetExhausted,
    VenueRejected,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import ExecutionType, OrderStatus, OrderType, Outcome, Side, TimeInForce
from mmbot.venue.base import VenueResult, failed, from_exception, ok, unknown
from mmbot.venue.events import ExecutionReport, OrderCancelled


def test_ok_result_unwraps_to_its_value() -> None:
    result = ok(42)
    assert result.is_ok and not result.is_failed and not result.is_unknown
    assert result.unwrap() == 42


def test_failed_result_raises_the_venues_rejection() -> None:
    result = failed(-2010, "Duplicate order sent.", http_status=400)
    assert result.outcome is Outcome.FAILED and result.value is None
    with pytest.raises(VenueRejected) as info:
        result.unwrap()
    assert (info.value.code, info.value.msg, info.value.http_status) == (
        -2010, "Duplicate order sent.", 400,
    )  # fmt: skip


def test_rate_limited_result_keeps_retry_after() -> None:
    result = failed(-1003, "Too much request weight used", http_status=429, retry_after=7.0)
    with pytest.raises(RateLimited) as info:
        result.unwrap()
    assert info.value.retry_after == 7.0


def test_unknown_result_raises_venue_unknown_never_a_library_error() -> None:
    result = unknown("read timeout after send")
    assert result.is_unknown
    with pytest.raises(VenueUnknown, match="read timeout"):
        result.unwrap()


def test_failure_without_a_venue_code_means_it_was_never_sent() -> None:
    with pytest.raises(VenueUnavailable):
        failed(None, "connection refused").unwrap()


def test_ok_has_no_exception() -> None:
    with pytest.raises(ValueError, match="OK"):
        ok(1).to_exception()


def test_map_transforms_ok_values_and_passes_failures_through() -> None:
    assert ok(2).map(lambda v: v * 10) == ok(20)
    bad = failed(-1013, "Filter failure: LOT_SIZE", retry_after=None)
    assert bad.map(lambda v: v * 10) == bad
    assert unknown("x", code=-1007).map(str) == unknown("x", code=-1007)


def test_results_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ok(1).outcome = Outcome.FAILED  # type: ignore[misc]


def test_mmbot_errors_map_to_results() -> None:
    assert from_exception(VenueRejected(-2011, "Unknown order sent.")) == failed(
        -2011, "Unknown order sent."
    )
    limited = from_exception(RateLimited(-1003, "slow down", retry_after=3.0, http_status=429))
    assert (limited.outcome, limited.retry_after, limited.http_status) == (Outcome.FAILED, 3.0, 429)
    assert from_exception(VenueUnknown("reset")).outcome is Outcome.UNKNOWN
    assert from_exception(VenueUnavailable("refused")).code is None
    opened = from_exception(CircuitOpen("orders", 1.5))
    assert (opened.outcome, opened.code, opened.retry_after) == (Outcome.FAILED, None, 1.5)


def test_an_unknown_outcome_keeps_the_venues_code_and_status_both_ways() -> None:
    result = from_exception(VenueUnknown("backend timeout", code=-1007, http_status=503))
    assert result == unknown("backend timeout", code=-1007, http_status=503)
    back = result.to_exception()
    assert isinstance(back, VenueUnknown) and (back.code, back.http_status) == (-1007, 503)


def test_an_exhausted_retry_budget_maps_to_the_error_it_stopped_on() -> None:
    exhausted = RetryBudgetExhausted("empty")
    exhausted.__cause__ = VenueUnavailable("refused")
    assert from_exception(exhausted) == failed(None, "refused")


def test_a_non_venue_error_is_not_turned_into_a_result() -> None:
    with pytest.raises(ConfigError):
        from_exception(ConfigError(["x: bad"]))


def test_results_are_generic_over_their_value() -> None:
    result: VenueResult[tuple[int, ...]] = ok((1, 2))
    assert result.unwrap() == (1, 2)


def _report(client_order_id: str, orig: str) -> ExecutionReport:
    zero = Decimal(0)
    return ExecutionReport(
        1, "BTCUSDT", client_order_id, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, Decimal(1),
        Decimal(2), ExecutionType.CANCELED, OrderStatus.CANCELED, "NONE", 9, zero, zero, zero,
        zero, None, 1, -1, False, orig, zero,
    )  # fmt: skip


def test_order_events_name_the_order_by_its_own_client_id() -> None:
    by_cancel = OrderCancelled(_report("cancel-42", "mm-7"))
    assert by_cancel.client_order_id == "mm-7"
    plain = OrderCancelled(_report("mm-8", ""))
    assert plain.client_order_id == "mm-8"
    assert (plain.order_id, plain.symbol, plain.status) == (9, "BTCUSDT", OrderStatus.CANCELED)
