"""The quote cycle (a decision's book received -> every action of that decision answered)
and tick-to-order (a book received -> an order request of the decision on it started)."""

from __future__ import annotations

import trio
import trio.testing
from bot_kit import SYMBOLS, config, running
from prometheus_client.parser import text_string_to_metric_families

from mmbot.bot.bot import Bot
from mmbot.bot.metrics import BotMetrics
from mmbot.config import default_config
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import FaultPlan

ORDER_LATENCY = 0.2


class RecordingMetrics(BotMetrics):
    """BotMetrics that also keeps the raw quote-cycle samples."""

    def __init__(self) -> None:
        super().__init__(symbols=SYMBOLS)
        self.cycles: list[tuple[str, float]] = []
        self.ticks: list[float] = []

    def observe_quote_cycle(self, symbol: str, seconds: float) -> None:
        self.cycles.append((symbol, seconds))
        super().observe_quote_cycle(symbol, seconds)

    def observe_tick_to_order(self, symbol: str, seconds: float) -> None:
        self.ticks.append(seconds)
        super().observe_tick_to_order(symbol, seconds)


async def test_every_quote_cycle_spans_an_order_request_held_at_the_exchange(
    autojump_clock: trio.testing.MockClock,
) -> None:
    faults = FaultPlan.order_latency(ORDER_LATENCY)
    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1, faults=faults))
    metrics = RecordingMetrics()
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        bot = Bot(default_config(), mode="sim", seed=1, exchange=exchange, metrics=metrics)
        async with running(bot) as handle:
            await trio.sleep(30)
            decisions = sum(s.decisions for s in handle.status().symbols)
        nursery.cancel_scope.cancel()
    assert {symbol for symbol, _ in metrics.cycles} == set(SYMBOLS)
    assert len(metrics.cycles) <= decisions  # one per decision that sent actions, at most
    # each cycle waited for at least one order request the exchange held ORDER_LATENCY
    assert min(seconds for _, seconds in metrics.cycles) >= ORDER_LATENCY - 1e-9
    counts = {
        s.labels["symbol"]: s.value
        for family in text_string_to_metric_families(metrics.scrape().decode())
        for s in family.samples
        if s.name == "mmbot_quote_cycle_seconds_count"
    }
    assert sum(counts.values()) == len(metrics.cycles)


async def test_without_order_latency_a_quote_cycle_takes_no_simulated_time_beyond_its_book(
    autojump_clock: trio.testing.MockClock,
) -> None:
    metrics = RecordingMetrics()
    bot = Bot(default_config(), mode="sim", seed=2, metrics=metrics)
    async with running(bot) as handle:
        await trio.sleep(10)
        books = {s.symbol: s.book_age_s for s in handle.status().symbols}
    assert metrics.cycles and all(age is not None for age in books.values())
    # in-process requests take no simulated time: a cycle is only its book's age then
    assert max(seconds for _, seconds in metrics.cycles) < 1.0


async def test_tick_to_order_times_only_the_orders_of_a_decision_on_a_new_book(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # With 250 ms of order latency (answers come between the 100 ms depth windows) and a
    # tolerance of 0 (every move requotes), many orders come from a decision woken by an
    # answer, on a book received up to 200 ms earlier (its slot was in flight when the book
    # came): not a reaction to the book's arrival, so not timed. A decision on a new book
    # is made the instant the book arrives (nothing takes simulated time in between), so
    # every sample is 0.
    faults = FaultPlan.order_latency(0.25)
    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1, faults=faults))
    metrics = RecordingMetrics()
    requote_always = config(orders={"price_tolerance_bps": "0"})
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        bot = Bot(requote_always, mode="sim", seed=1, exchange=exchange, metrics=metrics)
        async with running(bot) as handle:
            await trio.sleep(30)
            actions = sum(s.actions for s in handle.status().symbols)
            ticks = list(metrics.ticks)
        nursery.cancel_scope.cancel()
    assert ticks and max(ticks) < 1e-9
    assert len(ticks) < actions
