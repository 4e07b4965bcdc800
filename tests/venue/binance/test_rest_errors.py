"""How every way a REST call can end maps to ok / failed / unknown, once, at the boundary."""

from __future__ import annotations

import logging

import httpx
import pytest
import trio
import trio.testing
from test_rest_support import (
    API_KEY,
    API_SECRET,
    BASE,
    ORDER_BODY,
    LoseResponse,
    Scripted,
    error,
    hang,
    maker_bid,
    new_rest,
    reply,
    rest_on_exchange,
    sequence,
)

from mmbot.clock import SIM_EPOCH_MS, EpochClock
from mmbot.model import OrderStatus, Outcome
from mmbot.resilience import BreakerConfig, BreakerState, CircuitBreaker
from mmbot.venue.base import OrderRef
from mmbot.venue.binance.errors import Code
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_endpoints import EndpointClass
from mmbot.venue.binance.rest_http import RestConfig

# ---- the venue's answers (real codes from the fake exchange) ---------------------------


async def test_2010_is_failed_with_the_venues_reason(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        result = await rest.place(maker_bid("cross-1", price="70000"))  # would take
    assert result.outcome is Outcome.FAILED
    assert result.code == Code.NEW_ORDER_REJECTED
    assert result.reason == "Order would immediately match and take."
    assert result.http_status == 400


async def test_2011_cancel_of_an_unknown_order_is_failed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        result = await rest.cancel(OrderRef("BTCUSDT", client_order_id="never-placed"))
    assert (result.outcome, result.code) == (Outcome.FAILED, Code.CANCEL_REJECTED)
    assert "retry" not in result.reason  # first attempt: the plain venue message


async def test_2013_query_of_an_unknown_order_is_failed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        result = await rest.query_order(OrderRef("BTCUSDT", client_order_id="never-placed"))
    assert (result.outcome, result.code) == (Outcome.FAILED, Code.NO_SUCH_ORDER)


async def test_a_persistent_1021_is_failed_after_one_resync_and_one_resend(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(sequence(error(400, -1021, "Timestamp outside recvWindow.")))
    async with new_rest(transport) as rest:
        syncs = rest.server_clock.syncs
        result = await rest.place(maker_bid("p-1"))
        assert rest.server_clock.syncs == syncs + 1
    assert (result.outcome, result.code) == (Outcome.FAILED, Code.INVALID_TIMESTAMP)
    assert transport.count("/order") == 2


async def test_1022_is_failed(autojump_clock: trio.testing.MockClock) -> None:
    transport = Scripted(sequence(error(400, -1022, "Signature for this request is not valid.")))
    async with new_rest(transport) as rest:
        result = await rest.balances()
    assert (result.outcome, result.code) == (Outcome.FAILED, Code.INVALID_SIGNATURE)
    assert transport.count("/account") == 1  # a rejection is never retried


# ---- rate limits ----------------------------------------------------------------------


async def test_429_blocks_the_limiter_for_retry_after_and_nothing_is_sent_before(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(
        sequence(error(429, -1003, "Too much request weight used.", **{"Retry-After": "7"}),
                 reply(200, ORDER_BODY))
    )  # fmt: skip
    async with new_rest(transport, max_rate_wait=30.0) as rest:
        start = trio.current_time()
        limited = await rest.place(maker_bid("c-1"))
        assert rest.limiter.statistics().blocked_until == pytest.approx(start + 7)
        held = await rest.place(maker_bid("c-1"))  # a placement does not queue: refused unsent
        balances = await rest.balances()  # another request waits the hold out, then goes
        later = await rest.place(maker_bid("c-1"))
    assert (limited.outcome, limited.code, limited.http_status) == (Outcome.FAILED, -1003, 429)
    assert limited.retry_after == 7.0
    assert held.is_failed and "not sent" in held.reason and held.http_status is None
    assert later.is_ok
    times = [t for t, _, path in transport.requests if path.endswith("/order")]
    assert len(times) == 2 and times[1] >= start + 7
    [(sent_at, _, _)] = [r for r in transport.requests if r[2].endswith("/account")]
    assert sent_at >= start + 7 and balances is not None


async def test_a_call_that_cannot_get_room_within_max_rate_wait_fails_without_sending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(
        sequence(error(418, -1003, "Way too much request weight used; IP banned.",
                       **{"Retry-After": "120"}),
                 reply(200, ORDER_BODY))
    )  # fmt: skip
    async with new_rest(transport, max_rate_wait=2.0) as rest:
        banned = await rest.place(maker_bid("c-1"))
        start = trio.current_time()
        refused = await rest.balances()  # waits max_rate_wait for room, then gives up
        waited = trio.current_time() - start
        placement = await rest.place(maker_bid("c-2"))  # does not wait at all
        waited_more = trio.current_time() - start - waited
    assert banned.http_status == 418 and banned.retry_after == 120.0
    assert refused.outcome is Outcome.FAILED and refused.code == Code.TOO_MANY_REQUESTS
    assert refused.retry_after == pytest.approx(118.0)
    assert waited == pytest.approx(2.0)
    assert placement.is_failed and placement.retry_after == pytest.approx(118.0)
    assert waited_more == 0
    assert transport.count("/order") == 1 and transport.count("/account") == 0


# ---- unknown outcomes -----------------------------------------------------------------


async def test_5xx_is_unknown_for_a_placement_and_never_resent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(sequence(reply(503, {"msg": "Service Unavailable"})))
    async with new_rest(transport) as rest:
        result = await rest.place(maker_bid("c-1"))
    assert (result.outcome, result.http_status) == (Outcome.UNKNOWN, 503)
    assert transport.count("/order") == 1


async def test_1007_is_unknown_with_its_code(autojump_clock: trio.testing.MockClock) -> None:
    transport = Scripted(sequence(error(400, -1007, "Timeout waiting for response from backend.")))
    async with new_rest(transport) as rest:
        result = await rest.place(maker_bid("c-1"))
    assert (result.outcome, result.code) == (Outcome.UNKNOWN, Code.TIMEOUT)
    assert transport.count("/order") == 1


async def test_5xx_on_a_read_is_retried(autojump_clock: trio.testing.MockClock) -> None:
    transport = Scripted(sequence(reply(502, {}), reply(200, ORDER_BODY)))
    async with new_rest(transport) as rest:
        result = await rest.query_order(OrderRef("BTCUSDT", client_order_id="c-1"))
    assert result.is_ok and result.unwrap().order_id == 7
    assert transport.count("/order") == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadError("connection reset by peer"), httpx.RemoteProtocolError("disconnected")],
)
async def test_a_reset_is_unknown_for_a_placement_and_retried_for_a_read(
    autojump_clock: trio.testing.MockClock, failure: Exception
) -> None:
    transport = Scripted(sequence(failure, reply(200, ORDER_BODY)))
    async with new_rest(transport) as rest:
        placed = await rest.place(maker_bid("c-1"))
        queried = await rest.query_order(OrderRef("BTCUSDT", client_order_id="c-1"))
    assert placed.outcome is Outcome.UNKNOWN and type(failure).__name__ in placed.reason
    assert queried.is_ok
    assert [m for _, m, _ in transport.requests] == ["POST", "GET"]


async def test_no_answer_within_the_deadline_is_unknown_for_a_placement(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(hang)
    async with new_rest(transport, request_timeout=1.5) as rest:
        start = trio.current_time()
        result = await rest.place(maker_bid("c-1"))
        elapsed = trio.current_time() - start
    assert result.outcome is Outcome.UNKNOWN and "no answer within 1.5s" in result.reason
    assert elapsed == pytest.approx(1.5)
    assert transport.count("/order") == 1


async def test_a_read_that_times_out_is_retried_then_unknown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(hang)
    async with new_rest(transport, request_timeout=1.0) as rest:
        result = await rest.open_orders("BTCUSDT")
    assert result.outcome is Outcome.UNKNOWN
    assert transport.count("/openOrders") == 3  # DEFAULT_RETRY.max_attempts


async def test_a_breakers_own_timeout_is_unknown_and_a_placement_is_not_resent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(hang)
    breakers = {
        kind: CircuitBreaker(kind.value, BreakerConfig(call_timeout=0.5)) for kind in EndpointClass
    }
    rest = BinanceRest.create(
        RestConfig(base_url=BASE, request_timeout=5.0), now_ms=EpochClock(SIM_EPOCH_MS).now_ms,
        api_key=API_KEY, api_secret=API_SECRET, transport=transport, breakers=breakers,
    )  # fmt: skip
    async with rest:
        placed = await rest.place(maker_bid("c-1"))
        read = await rest.open_orders("BTCUSDT")
    assert placed.outcome is Outcome.UNKNOWN and placed.reason == "order.place: timed out"
    assert transport.count("/order") == 1
    assert read.outcome is Outcome.UNKNOWN and transport.count("/openOrders") == 3


async def test_a_connect_failure_is_failed_not_sent(autojump_clock: trio.testing.MockClock) -> None:
    transport = Scripted(sequence(httpx.ConnectError("[Errno 111] Connection refused")))
    async with new_rest(transport) as rest:
        result = await rest.place(maker_bid("c-1"))
    assert result.outcome is Outcome.FAILED and result.code is None
    assert "not sent" in result.reason


async def test_a_connect_failure_then_success_resends_a_placement_safely(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(sequence(httpx.ConnectError("refused"), reply(200, ORDER_BODY)))
    async with new_rest(transport) as rest:
        result = await rest.place(maker_bid("c-1"))
    assert result.is_ok
    assert transport.count("/order") == 2


async def test_a_2xx_body_that_is_not_json_is_unknown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(sequence(httpx.Response(200, content=b"<html>")))
    async with new_rest(transport) as rest:
        result = await rest.place(maker_bid("c-1"))
    assert result.outcome is Outcome.UNKNOWN and result.http_status == 200


# ---- the lost answer, resolved --------------------------------------------------------


async def test_a_response_lost_after_the_exchange_accepted_is_unknown_and_query_resolves_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def lose_placements(request: httpx.Request) -> bool:
        return request.method == "POST" and request.url.path == "/api/v3/order"

    holder: list[LoseResponse] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        holder.append(LoseResponse(inner, lose_placements))
        return holder[0]

    async with rest_on_exchange(wrap=wrap) as (rest, exchange):
        placed = await rest.place(maker_bid("lost-1"))
        resolved = await rest.query_order(OrderRef("BTCUSDT", client_order_id="lost-1"))
    assert placed.outcome is Outcome.UNKNOWN
    assert holder[0].lost == 1
    sent = [r.method for r in exchange.history.requests() if r.path.endswith("/order")]
    assert sent == ["POST", "GET"]  # placed once: never blindly resent
    assert resolved.is_ok and resolved.unwrap().status is OrderStatus.NEW
    assert resolved.unwrap().client_order_id == "lost-1"


# ---- the breaker ----------------------------------------------------------------------


async def test_the_breaker_opens_after_consecutive_failures_and_then_fails_fast(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(sequence(httpx.ConnectError("[Errno 111] Connection refused")))
    async with new_rest(transport) as rest:
        for _ in range(3):
            await rest.place(maker_bid("c-1"))
        breaker = rest.breakers[EndpointClass.ORDERS]
        assert breaker.state is BreakerState.OPEN
        sent = transport.count("/order")
        refused = await rest.place(maker_bid("c-2"))
        cancel = await rest.cancel(OrderRef("BTCUSDT", client_order_id="c-2"))
        reads_still_flow = rest.breakers[EndpointClass.ACCOUNT].state is BreakerState.CLOSED
    assert refused.outcome is Outcome.FAILED and refused.code is None
    assert refused.retry_after is not None and refused.retry_after > 0
    assert cancel.outcome is Outcome.FAILED and cancel.retry_after is not None
    assert transport.count("/order") == sent  # nothing reached the exchange
    assert reads_still_flow


# ---- cancellation and secrets ---------------------------------------------------------


async def test_cancellation_during_a_request_propagates_and_counts_as_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    transport = Scripted(hang)
    reached_after_call = False
    async with new_rest(transport, request_timeout=60.0) as rest:
        with trio.move_on_after(0.5) as scope:
            await rest.place(maker_bid("c-1"))
            reached_after_call = True
        stats = rest.breakers[EndpointClass.ORDERS].statistics()
    assert scope.cancelled_caught and not reached_after_call
    assert (stats.failures, stats.successes) == (0, 0)


async def test_secrets_and_signatures_stay_out_of_results_and_logs(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    secret_failure = httpx.ReadError(f"reset while sending {API_KEY} signature=abcdef0123")
    transport = Scripted(sequence(secret_failure))
    with caplog.at_level(logging.DEBUG):
        async with rest_on_exchange() as (rest, _):
            await rest.balances()  # httpx logs the signed URL at INFO
        async with new_rest(transport) as failing:
            result = await failing.place(maker_bid("c-1"))
    assert result.is_unknown
    texts = [result.reason, str(result), *(r.getMessage() for r in caplog.records)]
    assert any("/api/v3/account" in t for t in texts)  # the log was captured
    for text in texts:
        assert API_KEY not in text and API_SECRET not in text
        assert "signature=<redacted>" in text or "signature=" not in text


async def test_an_answer_in_another_class_cuts_a_breakers_grown_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The order breaker's backoff grew through an outage; once the venue answers an account
    request (here with a refusal in its dialect, -2013), the order breaker probes at its base
    open time instead of waiting the grown backoff out."""

    async def venue(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return error(400, -2013, "Order does not exist.")
        raise httpx.ConnectError("[Errno 111] Connection refused")

    async with new_rest(Scripted(venue)) as rest:
        breaker = rest.breakers[EndpointClass.ORDERS]
        for _ in range(3):
            await rest.place(maker_bid("c-1"))
        assert breaker.state is BreakerState.OPEN
        await trio.sleep(breaker.statistics().retry_after)
        await rest.place(maker_bid("c-2"))  # the probe fails: open again, backoff doubled
        grown = breaker.statistics()
        assert grown.state is BreakerState.OPEN and grown.consecutive_openings == 2
        assert grown.retry_after > 7.0  # 10 s, jittered by at most 20 %
        answered = await rest.query_order(OrderRef("BTCUSDT", client_order_id="c-2"))
        assert answered.code == Code.NO_SUCH_ORDER
        cut = breaker.statistics()
    assert cut.state is BreakerState.OPEN and cut.retry_after <= 5.0  # the base open time


async def test_a_grown_backoff_is_probed_with_the_time_when_nothing_else_asks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Nothing but the order breaker's own probes would ask the venue anything: the client
    asks the time every open_base seconds while a backoff has grown, and the answer cuts it."""

    async def venue(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")  # every order refused

    async with new_rest(Scripted(venue)) as rest, trio.open_nursery() as nursery:
        await nursery.start(rest.probe_grown_backoffs)
        breaker = rest.breakers[EndpointClass.ORDERS]
        for _ in range(3):
            await rest.place(maker_bid("c-1"))
        await trio.sleep(breaker.statistics().retry_after)
        await rest.place(maker_bid("c-2"))  # the probe fails: open again, backoff doubled
        grown = breaker.statistics()
        await trio.sleep(5.5)  # one open_base: the time was asked and answered
        later = breaker.statistics()
        nursery.cancel_scope.cancel()
    assert grown.state is BreakerState.OPEN and grown.retry_after > 7.0
    assert later.state is BreakerState.HALF_OPEN  # cut: a probe may go now
