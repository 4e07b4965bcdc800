"""Rate limits of the dialect: weight headers, 429 with Retry-After, 418 bans, order counts."""

from __future__ import annotations

from dialect_kit import NOW, Kit, header

from mmbot.sim.dialect import RateLimits, VenueLimits
from mmbot.sim.dialect.limits import FIRST_BAN_MS, MAX_BAN_MS

MINUTE_START = NOW - NOW % 60_000


def body_of(response: object) -> dict[str, object]:
    body = getattr(response, "body", None)
    assert isinstance(body, dict)
    return body


def test_used_weight_header_accumulates_within_the_minute() -> None:
    kit = Kit()
    kit.rest("GET", "/exchangeInfo")
    response = kit.rest("GET", "/ping", now=NOW + 1000)
    assert header(response, "X-MBX-USED-WEIGHT-1M") == "21"


def test_weight_window_restarts_on_the_minute_boundary() -> None:
    kit = Kit()
    kit.rest("GET", "/exchangeInfo")
    response = kit.rest("GET", "/ping", now=MINUTE_START + 60_000)
    assert header(response, "X-MBX-USED-WEIGHT-1M") == "1"


def test_over_the_weight_limit_is_429_with_retry_after_to_the_window_end() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=40))
    kit.rest("GET", "/exchangeInfo")
    kit.rest("GET", "/exchangeInfo")
    refused = kit.rest("GET", "/exchangeInfo")
    assert refused.status == 429 and body_of(refused)["code"] == -1003
    assert "request weight per 1 MINUTE" in str(body_of(refused)["msg"])
    assert header(refused, "Retry-After") == str((MINUTE_START + 60_000 - NOW) // 1000)


def test_requests_in_flight_when_the_429_came_get_429s_not_a_ban() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))  # default tolerance
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    in_flight = [kit.rest("GET", "/openOrders", now=NOW + 50 * i) for i in range(1, 6)]
    assert [r.status for r in in_flight] == [429] * 5
    assert all(body_of(r)["code"] == -1003 for r in in_flight)
    window_end = MINUTE_START + 60_000
    assert header(in_flight[-1], "Retry-After") == str(-(-(window_end - NOW - 250) // 1000))
    assert kit.rest("GET", "/ping", now=window_end).status == 200


def test_hammering_past_the_tolerance_after_a_429_is_a_418_ban_of_two_minutes() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_tolerance_requests=3))
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    statuses = [kit.rest("GET", "/ping", now=NOW + 10 * i).status for i in range(1, 5)]
    assert statuses == [429, 429, 429, 418]
    banned = kit.rest("GET", "/ping", now=NOW + 50)
    until = NOW + 40 + FIRST_BAN_MS
    assert banned.status == 418 and body_of(banned)["code"] == -1003
    assert f"IP banned until {until}" in str(body_of(banned)["msg"])
    assert header(banned, "Retry-After") == str(-(-(until - NOW - 50) // 1000))
    assert kit.rest("GET", "/ping", now=until - 1).status == 418
    assert kit.rest("GET", "/ping", now=until).status == 200


def test_a_request_after_the_grace_while_still_limited_is_a_ban() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_grace_ms=1000))
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    assert kit.rest("GET", "/ping", now=NOW + 1000).status == 429  # still in flight
    assert kit.rest("GET", "/ping", now=NOW + 1001).status == 418  # did not back off


def test_too_much_weight_sent_after_a_429_is_a_ban() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_tolerance_weight=100))
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    assert kit.rest("GET", "/exchangeInfo").status == 429  # 20 weight refused
    assert kit.rest("GET", "/openOrders", signed=True).status == 429  # 80 more: 100
    assert kit.rest("GET", "/ping").status == 418  # 101


def test_zero_tolerance_bans_the_first_request_after_a_429() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_tolerance_requests=0))
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    assert kit.rest("GET", "/ping", now=NOW + 1).status == 418


def test_a_new_429_after_the_window_starts_a_fresh_tolerance() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_tolerance_requests=1))
    for start in (NOW, MINUTE_START + 60_000, MINUTE_START + 120_000):
        kit.rest("GET", "/exchangeInfo", now=start)
        assert kit.rest("GET", "/ping", now=start).status == 429
        assert kit.rest("GET", "/ping", now=start + 1).status == 429


def test_the_limit_ends_with_the_window_not_with_the_rounded_up_retry_after() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    kit.rest("GET", "/exchangeInfo")
    refused = kit.rest("GET", "/ping", now=NOW + 250)
    assert header(refused, "Retry-After") == "30"  # 29.75 s to the window's end, rounded up
    assert kit.rest("GET", "/ping", now=MINUTE_START + 60_100).status == 200


def test_a_client_that_waits_for_retry_after_is_not_banned() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    kit.rest("GET", "/exchangeInfo")
    refused = kit.rest("GET", "/ping")
    wait_ms = int(header(refused, "Retry-After") or "0") * 1000
    assert kit.rest("GET", "/ping", now=NOW + wait_ms).status == 200


def test_bans_escalate_by_doubling_up_to_three_days() -> None:
    limiter = VenueLimits(RateLimits(request_weight_per_minute=1, ban_tolerance_requests=0))
    now = until = 0
    durations = []
    for _ in range(14):
        now = (max(now, until) // 60_000 + 1) * 60_000  # a fresh minute after the last ban
        assert limiter.charge("ip", 1, now) is None
        assert limiter.charge("ip", 1, now) is not None  # 429
        ban = limiter.charge("ip", 1, now + 1)
        assert ban is not None and ban.http_status == 418 and ban.retry_after is not None
        durations.append(ban.retry_after * 1000)
        until = now + 1 + durations[-1]
    assert durations == [min(MAX_BAN_MS, FIRST_BAN_MS * 2**i) for i in range(14)]


def test_a_day_without_bans_forgives_earlier_ones() -> None:
    limiter = VenueLimits(RateLimits(request_weight_per_minute=1, ban_tolerance_requests=0))
    for start in (0, 2 * 86_400_000):
        limiter.charge("ip", 1, start)
        limiter.charge("ip", 1, start)
        ban = limiter.charge("ip", 1, start + 1)
        assert ban is not None and ban.retry_after == FIRST_BAN_MS // 1000


def test_ban_is_per_client_ip() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20, ban_tolerance_requests=1))
    kit.rest("GET", "/exchangeInfo")
    kit.rest("GET", "/ping")
    kit.rest("GET", "/ping")
    assert kit.rest("GET", "/ping").status == 418
    assert kit.rest("GET", "/ping", client="10.0.0.2").status == 200


def test_order_count_limit_is_429_with_1015_and_counts_in_headers() -> None:
    kit = Kit(RateLimits(orders_per_10s=2))
    first = kit.place(price="100", quantity="0.1")
    second = kit.place(price="100", quantity="0.1")
    third = kit.place(price="100", quantity="0.1")
    assert header(first, "X-MBX-ORDER-COUNT-10S") == "1"
    assert header(second, "X-MBX-ORDER-COUNT-10S") == "2"
    assert third.status == 429 and body_of(third)["code"] == -1015
    assert body_of(third)["msg"] == "Too many new orders; current limit is 2 orders per 10 SECOND."
    assert header(third, "Retry-After") is not None
    assert len(kit.engine.open_orders("alice")) == 2


def test_order_count_is_per_account() -> None:
    kit = Kit(RateLimits(orders_per_10s=1))
    assert kit.place(price="100", quantity="0.1").status == 200
    assert kit.place("other-api-key", price="100", quantity="0.1").status == 200
