"""Rate limits of the dialect: weight headers, 429 with Retry-After, 418 bans, order counts."""

from __future__ import annotations

from test_dialect_kit import NOW, Kit, header

from mmbot.sim.dialect_limits import FIRST_BAN_MS, MAX_BAN_MS, RateLimiter, RateLimits

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


def test_sending_again_while_limited_is_a_418_ban_of_two_minutes() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    kit.rest("GET", "/exchangeInfo")
    assert kit.rest("GET", "/ping").status == 429
    banned = kit.rest("GET", "/ping", now=NOW + 10)
    until = NOW + 10 + FIRST_BAN_MS
    assert banned.status == 418 and body_of(banned)["code"] == -1003
    assert f"IP banned until {until}" in str(body_of(banned)["msg"])
    assert header(banned, "Retry-After") == "120"
    still = kit.rest("GET", "/ping", now=until - 1)
    assert still.status == 418
    assert kit.rest("GET", "/ping", now=until).status == 200


def test_a_client_that_waits_for_retry_after_is_not_banned() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
    kit.rest("GET", "/exchangeInfo")
    refused = kit.rest("GET", "/ping")
    wait_ms = int(header(refused, "Retry-After") or "0") * 1000
    assert kit.rest("GET", "/ping", now=NOW + wait_ms).status == 200


def test_bans_escalate_by_doubling_up_to_three_days() -> None:
    limiter = RateLimiter(RateLimits(request_weight_per_minute=1))
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
    limiter = RateLimiter(RateLimits(request_weight_per_minute=1))
    for start in (0, 2 * 86_400_000):
        limiter.charge("ip", 1, start)
        limiter.charge("ip", 1, start)
        ban = limiter.charge("ip", 1, start + 1)
        assert ban is not None and ban.retry_after == FIRST_BAN_MS // 1000


def test_ban_is_per_client_ip() -> None:
    kit = Kit(RateLimits(request_weight_per_minute=20))
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
