"""The bot end to end, in-process against the embedded exchange under the mock clock."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing
from bot_kit import SYMBOLS, config, open_orders, running

from mmbot.bot.bot import Bot
from mmbot.bot.quoter import STALE_MARGIN
from mmbot.bot.status import SymbolState
from mmbot.clock import seed_trio_scheduler
from mmbot.config import default_config
from mmbot.model import OrderType, Side
from mmbot.testing import Tap
from mmbot.venue.base import PlaceRequest
from mmbot.venue.connect import VenueSpec, connect_venue


async def test_every_symbol_quotes_two_sided(autojump_clock: trio.testing.MockClock) -> None:
    bot = Bot(default_config(), mode="sim", seed=1)
    async with running(bot) as handle:
        await trio.sleep(20)
        status = handle.status()
        assert [s.symbol for s in status.symbols] == list(SYMBOLS)
        for symbol in status.symbols:
            assert symbol.state is SymbolState.QUOTING, symbol
            assert symbol.quotes is not None and symbol.quotes.bids and symbol.quotes.asks
            assert symbol.orders.get("OPEN", 0) == 2
            assert symbol.book_age_s is not None and symbol.book_age_s < 2.0


async def test_a_graceful_stop_leaves_no_order_on_the_exchange(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bot = Bot(default_config(), mode="sim", seed=2)
    async with running(bot):
        await trio.sleep(15)
        assert bot.exchange is not None
        assert len(open_orders(bot.exchange)) == 8
    assert bot.stop_report is not None and bot.stop_report.clean
    assert open_orders(bot.exchange) == []


async def test_handle_is_ready_only_once_every_symbol_quotes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bot = Bot(default_config(), mode="sim", seed=3)
    async with running(bot) as handle:
        assert all(s.state is SymbolState.QUOTING for s in handle.status().symbols)


async def test_halt_cancels_the_symbols_orders_and_resume_brings_them_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bot = Bot(default_config(), mode="sim", seed=4)
    async with running(bot) as handle:
        await trio.sleep(5)
        handle.halt("ETHUSDT", "operator test")
        await trio.sleep(2)
        eth = handle.status().symbol("ETHUSDT")
        assert eth.state is SymbolState.HALTED and eth.halt_reason == "operator test"
        assert eth.open_orders == 0
        assert bot.exchange is not None
        assert not [c for c in open_orders(bot.exchange) if c in _eth_ids(bot)]
        assert handle.status().symbol("BTCUSDT").open_orders == 2
        handle.resume("ETHUSDT")
        await trio.sleep(3)
        assert handle.status().symbol("ETHUSDT").orders.get("OPEN", 0) == 2


def _eth_ids(bot: Bot) -> set[str]:
    return {o.client_order_id for o in bot.state.tracker if o.symbol == "ETHUSDT"}


async def test_orders_of_an_earlier_run_are_cancelled_and_foreign_ones_left_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.sim.exchange import Exchange, ExchangeConfig

    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        spec = VenueSpec.in_process(("BTCUSDT",))
        async with connect_venue(spec, exchange=exchange) as venue:
            for cid in ("mm-oldrun-1", "mm-oldrun-2", "someone-else-1"):
                placed = await venue.place(
                    PlaceRequest(
                        "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal("0.001"), cid,
                        price=Decimal("50000"),
                    )
                )  # fmt: skip
                assert placed.is_ok, placed
        bot = Bot(default_config(), mode="sim", seed=5, exchange=exchange)
        async with running(bot) as handle:
            status = handle.status()
            assert status.startup_orphans_cancelled == 2
            assert status.foreign_orders == 1
            still_open = {o.client_order_id for o in exchange.engine.open_orders("user")}
            assert "someone-else-1" in still_open
            assert not {"mm-oldrun-1", "mm-oldrun-2"} & still_open
        nursery.cancel_scope.cancel()
    assert {o.client_order_id for o in exchange.engine.open_orders("user")} == {"someone-else-1"}


async def test_adopted_orders_are_managed_as_this_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.sim.exchange import Exchange, ExchangeConfig

    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        async with connect_venue(VenueSpec.in_process(("BTCUSDT",)), exchange=exchange) as venue:
            placed = await venue.place(
                PlaceRequest(
                    "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal("0.001"), "mm-oldrun-7",
                    price=Decimal("50000"),
                )
            )  # fmt: skip
            assert placed.is_ok
        bot = Bot(config(bot={"orphans": "adopt"}), mode="sim", seed=6, exchange=exchange)
        async with running(bot) as handle:
            assert handle.status().startup_orphans_adopted == 1
            await trio.sleep(5)
            # adopted, then replaced by reconcile (it is far from the desired quote)
            adopted = bot.state.tracker.get("mm-oldrun-7")
            assert adopted is not None and adopted.state.is_terminal
        nursery.cancel_scope.cancel()
    assert [o for o in exchange.engine.open_orders("user")] == []


async def test_a_quoter_that_raises_is_restarted_then_its_symbol_halts_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    import bot_stages

    stages = ["guards", "fair_value", "bot_stages:explode", "spread", "sizing", "rounding"]
    cfg = config(
        overrides={"BTCUSDT": {"stages": stages, "sizing": {"order_size": "0.001"}}},
        supervision={"intensity": 2, "period": 60.0, "backoff_base": 0.1, "backoff_cap": 0.5},
    )
    bot = Bot(cfg, mode="sim", seed=7)
    async with running(bot) as handle:
        await trio.sleep(3)
        assert handle.status().symbol("BTCUSDT").state is SymbolState.QUOTING
        bot_stages.EXPLODING.add("BTCUSDT")
        try:
            await trio.sleep(10)
            status = handle.status()
            btc = status.symbol("BTCUSDT")
            assert btc.state is SymbolState.HALTED
            assert btc.halt_reason == "restart_intensity"
            assert btc.open_orders == 0
            assert bot.exchange is not None
            assert not [c for c in open_orders(bot.exchange) if c in _ids(bot, "BTCUSDT")]
            for other in ("ETHUSDT", "SOLUSDT", "BNBUSDT"):
                assert status.symbol(other).state is SymbolState.QUOTING
                assert status.symbol(other).orders.get("OPEN", 0) == 2
            assert status.child_restarts["mmbot/symbols/BTCUSDT/quoter"] == 2
            assert btc.restarts == 2
        finally:
            bot_stages.EXPLODING.discard("BTCUSDT")
        handle.resume("BTCUSDT")
        await trio.sleep(5)
        assert handle.status().symbol("BTCUSDT").state is SymbolState.QUOTING


def _ids(bot: Bot, symbol: str) -> set[str]:
    return {o.client_order_id for o in bot.state.tracker if o.symbol == symbol}


def test_the_same_seed_gives_the_same_orders() -> None:
    """Simulated mode is deterministic: two runs of one seed send the same orders."""

    async def run_once() -> list[tuple[str, str, str]]:
        bot = Bot(default_config(), mode="sim", seed=11)
        async with running(bot):
            await trio.sleep(10)
        return sorted((o.client_order_id, str(o.price), o.state.name) for o in bot.state.tracker)

    def fresh_run() -> list[tuple[str, str, str]]:
        seed_trio_scheduler(11)
        return trio.run(run_once, clock=trio.testing.MockClock(autojump_threshold=0))

    first = fresh_run()
    assert len(first) > 8
    assert first == fresh_run()


async def test_quotes_are_pulled_just_past_the_stale_threshold_not_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The quoter's staleness timer wakes it STALE_MARGIN after its book's stale_after: the
    # first status that shows the symbol pulled has a book just that old (polled every 5 ms).
    tap = Tap()
    silent: set[str] = set()
    tap.drop = lambda resource, frame: any(
        f"{s.lower()}@" in (frame if isinstance(frame, str) else frame.decode()) for s in silent
    )
    bot = Bot(default_config(), mode="sim", seed=8, wrap_connector=tap.wrap)
    stale_after = bot.config.strategy_for("SOLUSDT").guards.stale_after
    async with running(bot) as handle:
        await trio.sleep(5)
        silent.add("SOLUSDT")
        while (sol := handle.status().symbol("SOLUSDT")).state is SymbolState.QUOTING:
            assert sol.book_age_s is not None and sol.book_age_s <= stale_after + STALE_MARGIN
            await trio.sleep(0.005)
        assert sol.state is SymbolState.PULLED and sol.book_age_s is not None
        assert stale_after < sol.book_age_s <= stale_after + STALE_MARGIN + 0.005


async def test_a_stale_book_pulls_the_symbols_quotes_and_a_fresh_one_brings_them_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tap = Tap()
    silent: set[str] = set()

    def drop(resource: str, frame: str | bytes) -> bool:
        text = frame if isinstance(frame, str) else frame.decode()
        return any(f"{s.lower()}@" in text for s in silent)

    tap.drop = drop
    bot = Bot(default_config(), mode="sim", seed=8, wrap_connector=tap.wrap)
    async with running(bot) as handle:
        await trio.sleep(5)
        silent.add("SOLUSDT")
        before = {o.client_order_id for o in bot.state.tracker if o.symbol == "SOLUSDT"}
        await trio.sleep(2.5)  # past guards.stale_after (2 s)
        sol = handle.status().symbol("SOLUSDT")
        assert sol.state is SymbolState.PULLED
        assert sol.pull_reason is not None and "stale" in sol.pull_reason
        assert sol.open_orders == 0
        assert handle.status().symbol("BTCUSDT").orders.get("OPEN", 0) == 2
        await trio.sleep(5)  # still stale: nothing new is placed on it
        placed = {o.client_order_id for o in bot.state.tracker if o.symbol == "SOLUSDT"}
        assert placed == before
        silent.clear()
        await trio.sleep(5)
        sol = handle.status().symbol("SOLUSDT")
        assert sol.state is SymbolState.QUOTING and sol.orders.get("OPEN", 0) == 2


async def test_a_symbol_whose_book_never_comes_places_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tap = Tap()
    silent = {"BNBUSDT"}
    tap.drop = lambda resource, frame: any(
        f"{s.lower()}@" in (frame if isinstance(frame, str) else frame.decode()) for s in silent
    )
    bot = Bot(default_config(), mode="sim", seed=9, wrap_connector=tap.wrap)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bot.run)
        await trio.sleep(8)
        bnb = bot.status().symbol("BNBUSDT")
        assert bnb.actions == 0 and bnb.open_orders == 0
        assert bot.status().symbol("ETHUSDT").orders.get("OPEN", 0) == 2
        nursery.cancel_scope.cancel()


async def test_a_symbol_that_never_gets_a_book_is_halted_and_the_others_quote(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tap = Tap(drop=lambda resource, frame: "bnbusdt@" in str(frame))
    bot = Bot(default_config(), mode="sim", seed=10, wrap_connector=tap.wrap)
    async with running(bot) as handle:
        status = handle.status()
        bnb = status.symbol("BNBUSDT")
        assert bnb.state is SymbolState.HALTED and bnb.halt_reason == "start_failed"
        for other in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            assert status.symbol(other).state is SymbolState.QUOTING


async def test_the_drawdown_kill_switch_trips_on_a_loss_from_the_peak_cancels_and_latches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tight = {"spread": {"base_bps": 1.0, "maker_fee_bps": 0.0, "min_edge_bps": 0.0}}
    bot = Bot(config(strategy=tight, risk={"max_total_drawdown": "0.01"}), mode="sim", seed=12)
    async with running(bot) as handle:
        assert sum(s.open_orders for s in handle.status().symbols) == 8  # quoting first
        for _ in range(600):  # simulated seconds, at most
            if handle.status().halts:
                break
            await trio.sleep(1)
        await trio.sleep(2)
        status = handle.status()
        assert sum(s.fills for s in status.symbols) > 0  # it traded, then lost from its peak
        for symbol in status.symbols:
            assert symbol.state is SymbolState.HALTED
            assert symbol.halt_reason is not None and "total drawdown" in symbol.halt_reason
            assert symbol.open_orders == 0
        assert bot.exchange is not None and open_orders(bot.exchange) == []
        await trio.sleep(30)  # latched: nothing resumes by itself
        assert all(s.state is SymbolState.HALTED for s in handle.status().symbols)
        handle.resume_all()  # what SIGUSR1 does: every halt cleared, the peak restarts now
        assert handle.status().halts == ()


async def test_an_open_orders_breaker_pulls_quotes_and_sends_nothing_until_it_lets_calls_through(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.venue.binance.rest_endpoints import EndpointClass

    bot = Bot(default_config(), mode="sim", seed=13)
    async with running(bot) as handle:
        await trio.sleep(3)
        assert bot.session is not None and bot.session.venue is not None
        breaker = bot.session.venue.rest.breakers[EndpointClass.ORDERS]
        breaker.force_open()
        await trio.sleep(0.5)
        sent = sum(s.actions for s in handle.status().symbols)
        await trio.sleep(5)
        status = handle.status()
        assert sum(s.actions for s in status.symbols) == sent  # nothing sent while open
        assert all(s.state is SymbolState.PULLED for s in status.symbols)
        assert all((s.pull_reason or "").startswith("breaker_open") for s in status.symbols)
        assert status.breakers["binance:orders"] == "forced_open"
        breaker.reset()
        await trio.sleep(3)
        status = handle.status()
        assert status.breakers["binance:orders"] == "closed"
        assert all(s.state is SymbolState.QUOTING for s in status.symbols)
        assert all(s.orders.get("OPEN", 0) == 2 for s in status.symbols)


@pytest.mark.slow
async def test_ten_minutes_with_the_defaults_earn_no_429(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.sim.history import EntryKind, RequestRecord

    bot = Bot(default_config(), mode="sim", seed=14)
    async with running(bot):
        await trio.sleep(600)
        assert bot.exchange is not None
        statuses = [
            entry.payload.status
            for entry in bot.exchange.history.entries(EntryKind.REQUEST)
            if isinstance(entry.payload, RequestRecord)
        ]
    assert len(statuses) > 500  # it did trade: hundreds of requests
    assert 429 not in statuses and 418 not in statuses


async def test_adjust_venue_sets_the_limits_the_budget_and_the_rest_limiter_obey(
    autojump_clock: trio.testing.MockClock,
) -> None:
    import attrs

    from mmbot.resilience.ratelimit_core import BINANCE_SPOT_RULES

    lifted = tuple(attrs.evolve(rule, limit=rule.limit * 1000) for rule in BINANCE_SPOT_RULES)

    def lift(spec: VenueSpec) -> VenueSpec:
        rest = attrs.evolve(spec.config.rest, rate_limits=lifted)
        return attrs.evolve(spec, config=attrs.evolve(spec.config, rest=rest))

    bot = Bot(default_config(), mode="sim", seed=7, adjust_venue=lift)
    async with running(bot):
        now = trio.current_time()
        assert bot.state.budget.available(now) > 10_000  # 40 per 10 s without the lift
        assert bot.session is not None and bot.session.venue is not None
        assert bot.session.venue.rest.limiter.config.rules == lifted


async def test_a_restarted_quoter_decides_at_once_on_a_quiet_book(
    autojump_clock: trio.testing.MockClock,
) -> None:
    import json

    import bot_stages

    from mmbot.testing import Tap

    quiet = trio.Event()

    def silence_btc(resource: str, frame: str | bytes) -> bool:
        return quiet.is_set() and resource.startswith("/stream") and '"BTCUSDT"' in str(frame)

    tap = Tap(drop=silence_btc)
    stages = ["guards", "fair_value", "bot_stages:explode", "spread", "sizing", "rounding"]
    cfg = config(
        overrides={
            "BTCUSDT": {
                "stages": stages,
                "sizing": {"order_size": "0.001"},
                "guards": {"stale_after": 60.0},
            }
        },
        supervision={"intensity": 5, "period": 60.0, "backoff_base": 0.05, "backoff_cap": 0.1},
    )
    bot = Bot(cfg, mode="sim", seed=7, wrap_connector=tap.wrap)
    async with running(bot) as handle:
        await trio.sleep(3)
        assert handle.status().symbol("BTCUSDT").state is SymbolState.QUOTING
        quiet.set()  # BTCUSDT's book stays valid and stops changing
        await trio.sleep(0.5)
        decided = handle.status().symbol("BTCUSDT").decisions
        bot_stages.EXPLODING.add("BTCUSDT")
        try:
            handle.resume("BTCUSDT")  # a wake: the decision raises, the quoter restarts
            await trio.sleep(0.02)
        finally:
            bot_stages.EXPLODING.discard("BTCUSDT")
        await trio.sleep(1.0)  # far less than stale_after: only the restart can wake it
        status = handle.status()
        assert status.child_restarts["mmbot/symbols/BTCUSDT/quoter"] == 1
        btc = status.symbol("BTCUSDT")
        assert btc.decisions > decided  # the raising decision is not counted
        assert btc.state is SymbolState.QUOTING
    assert tap.dropped and all(json.loads(f)["data"]["s"] == "BTCUSDT" for f in tap.dropped)
