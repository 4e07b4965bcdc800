"""The statistics of the public tape: klines, windows, average price, aggregate trades."""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import given

from mmbot.sim.engine import TradePrint
from mmbot.sim.market import (
    MarketStats,
    StatsRetention,
    kline_next,
    kline_open,
    parse_time_zone,
    parse_window_size,
)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def trade(
    trade_id: int, time_ms: int, price: str, qty: str = "1", maker: bool = True
) -> TradePrint:
    return TradePrint("BTCUSDT", trade_id, Decimal(price), Decimal(qty), time_ms, maker)


def stats_with(*trades: TradePrint, retention: StatsRetention | None = None) -> MarketStats:
    stats = MarketStats(["BTCUSDT"], retention or StatsRetention())
    for t in trades:
        stats.record([t])
    return stats


def test_kline_boundaries_follow_the_interval_and_time_zone() -> None:
    t = T0 + 5 * DAY + 13 * HOUR + 7 * MIN  # Tue 2026-01-06 13:07 UTC
    assert kline_open(t, "1m") == t
    assert kline_open(t, "15m") == t - 7 * MIN
    assert kline_open(t, "1d") == T0 + 5 * DAY
    assert kline_open(t, "1d", 8 * HOUR) == T0 + 5 * DAY - 8 * HOUR  # midnight in UTC+8
    assert kline_open(t, "1h", parse_time_zone("05:45") or 0) == t - 52 * MIN  # 18:52 local
    assert kline_open(t, "1w") == T0 + 4 * DAY  # Monday 2026-01-05
    assert kline_open(t, "1M") == T0
    assert kline_next(T0, "1M") == T0 + 31 * DAY
    assert kline_next(T0 + 31 * DAY, "1M") == T0 + 59 * DAY  # February 2026 has 28 days


@given(
    st.integers(0, 4_000_000_000_000),
    st.sampled_from(["1s", "3m", "4h", "3d", "1w", "1M"]),
    st.integers(-12 * 4, 14 * 4),
)
def test_a_time_lies_in_the_kline_that_holds_it(t: int, interval: str, quarters: int) -> None:
    tz = quarters * 15 * MIN
    opened = kline_open(t, interval, tz)
    assert opened <= t < kline_next(opened, interval, tz)
    assert kline_open(opened, interval, tz) == opened


def test_time_zones_and_windows_parse_as_binance_documents_them() -> None:
    assert parse_time_zone("0") == 0 and parse_time_zone("8") == 8 * HOUR
    assert parse_time_zone("-1:00") == -HOUR and parse_time_zone("+14:00") == 14 * HOUR
    for bad in ("15", "-12:30", "5:60", "x", "1.5", ""):
        assert parse_time_zone(bad) is None
    assert parse_window_size("59m") == 59 * MIN and parse_window_size("7d") == 7 * DAY
    for bad in ("60m", "24h", "8d", "1d2h", "0m", "1w"):
        assert parse_window_size(bad) is None


def test_klines_hold_open_high_low_close_volumes_and_taker_buys() -> None:
    stats = stats_with(
        trade(1, T0 + 1_000, "100", "2", maker=False),
        trade(2, T0 + 20_000, "105", "1"),
        trade(3, T0 + 50_000, "95", "1", maker=False),
        trade(4, T0 + MIN + 1, "101", "3"),
    )
    first, second = stats.klines("BTCUSDT", "1m", T0 + MIN + 10)
    s = first.summary
    assert (first.open_time_ms, first.close_time_ms) == (T0, T0 + MIN - 1)
    assert (s.open, s.high, s.low, s.close) == (100, 105, 95, 95)
    assert (s.volume, s.quote_volume, s.count) == (4, 200 + 105 + 95, 3)
    assert (s.taker_buy_volume, s.taker_buy_quote_volume) == (3, 295)
    assert (s.first_id, s.last_id) == (1, 3)
    assert second.summary.open == 101 and second.summary.count == 1


def test_a_kline_without_trades_is_flat_at_the_close_before_it() -> None:
    stats = stats_with(trade(1, T0, "100"), trade(2, T0 + 3 * MIN, "110"))
    klines = stats.klines("BTCUSDT", "1m", T0 + 3 * MIN)
    assert [k.open_time_ms for k in klines] == [T0 + i * MIN for i in range(4)]
    flat = klines[1].summary
    assert (flat.open, flat.close, flat.volume, flat.count, flat.first_id) == (100, 100, 0, 0, -1)


def test_klines_page_by_start_end_and_limit() -> None:
    stats = stats_with(*(trade(i, T0 + i * MIN, str(100 + i)) for i in range(10)))
    now = T0 + 9 * MIN
    assert len(stats.klines("BTCUSDT", "1m", now)) == 10
    recent = stats.klines("BTCUSDT", "1m", now, limit=3)
    assert [k.summary.open for k in recent] == [107, 108, 109]
    page = stats.klines("BTCUSDT", "1m", now, start_ms=T0 + 2 * MIN + 1, limit=2)
    assert [k.open_time_ms for k in page] == [T0 + 3 * MIN, T0 + 4 * MIN]
    until = stats.klines("BTCUSDT", "1m", now, end_ms=T0 + 4 * MIN, limit=2)
    assert [k.open_time_ms for k in until] == [T0 + 3 * MIN, T0 + 4 * MIN]
    assert stats.klines("BTCUSDT", "1m", now, start_ms=0, limit=1)[0].open_time_ms == T0


def test_a_day_kline_in_another_time_zone_counts_that_zone_s_day() -> None:
    stats = stats_with(trade(1, T0 + 14 * HOUR, "100"), trade(2, T0 + 16 * HOUR, "120"))
    utc = stats.klines("BTCUSDT", "1d", T0 + 18 * HOUR)
    assert [k.summary.count for k in utc] == [2]
    tokyo = stats.klines("BTCUSDT", "1d", T0 + 18 * HOUR, tz_ms=9 * HOUR)
    assert [(k.open_time_ms, k.summary.close) for k in tokyo] == [
        (T0 - 9 * HOUR, 100),
        (T0 + 15 * HOUR, 120),
    ]


def test_memory_is_bounded_by_the_retention_and_windows_use_a_tier_that_holds_them() -> None:
    retention = StatsRetention(trades=5, agg_trades=5, seconds=10, minutes=10, quarters=10, days=10)
    stats = stats_with(
        *(trade(i, T0 + i * 1000, "100") for i in range(1, 200)), retention=retention
    )
    assert [t.trade_id for t in stats.recent_trades("BTCUSDT", 1000)] == [195, 196, 197, 198, 199]
    assert len(stats.agg_trades("BTCUSDT", limit=1000)) == 5
    assert len(stats.klines("BTCUSDT", "1s", T0 + 199_999, limit=1000)) == 10
    # the last minute is still whole in the minute tier; the whole run in the quarter tier
    now = T0 + 199_000
    assert stats.window("BTCUSDT", T0, now).summary.count == 199
    assert stats.rolling("BTCUSDT", MIN, now).summary.count == 80  # from the minute


def test_the_24hr_window_and_the_average_price() -> None:
    stats = stats_with(
        trade(1, T0, "90", "1"),
        trade(2, T0 + DAY - 5 * MIN + 1, "100", "1"),
        trade(3, T0 + DAY, "110", "3"),
    )
    day = stats.day_24h("BTCUSDT", T0 + DAY + 1000)
    assert (day.summary.open, day.summary.count, day.prev_close) == (100, 2, 90)
    price, last = stats.avg_price("BTCUSDT", T0 + DAY + 1)
    assert (price, last) == (Decimal(430) / 4, T0 + DAY)
    later, _ = stats.avg_price("BTCUSDT", T0 + 2 * DAY)
    assert later == 110  # no trade in the last 5 minutes: the last price


def test_aggregate_trades_join_one_taker_s_trades_at_one_price() -> None:
    stats = MarketStats(["BTCUSDT"])
    made = stats.record(
        [
            trade(1, T0, "100", "1", maker=False),
            trade(2, T0, "100", "2", maker=False),
            trade(3, T0, "101", "1", maker=False),
            trade(4, T0, "101", "1", maker=True),
        ]
    )
    assert [(a.agg_id, a.first_id, a.last_id, a.qty) for a in made] == [
        (0, 1, 2, 3),
        (1, 3, 3, 1),
        (2, 4, 4, 1),
    ]
    assert [a.agg_id for a in stats.agg_trades("BTCUSDT", from_id=1)] == [1, 2]
    assert [a.agg_id for a in stats.agg_trades("BTCUSDT", start_ms=T0, end_ms=T0, limit=2)] == [
        0,
        1,
    ]
    assert stats.agg_trades("BTCUSDT", start_ms=T0 + 1) == []


def test_the_exchange_s_feed_and_dialect_share_statistics_bounded_by_its_config() -> None:
    from mmbot.sim.exchange import Exchange, ExchangeConfig

    retention = StatsRetention(trades=3)
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",), stats_retention=retention))
    assert exchange.feed.stats is exchange.dialect.market_stats
    assert exchange.feed.stats.retention == retention
    exchange.feed.on_events([trade(i, T0 + i, "100") for i in range(1, 6)], T0 + 10)
    assert [t.trade_id for t in exchange.dialect.market_stats.recent_trades("BTCUSDT", 10)] == [
        3,
        4,
        5,
    ]
