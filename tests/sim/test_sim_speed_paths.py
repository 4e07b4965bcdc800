"""The fast paths of simulated mode behave exactly like the plain ones they replace.

Compiled canonical lines equal the reference definition, directly built stream texts equal
``dumps`` of their payloads, the market acts on its time grid at unchanged rates, the
simulator's own accounts stay out of the history (unless asked), and the in-process
WebSocket's fast ``get_message`` keeps order, cancellation and close semantics.
"""

from __future__ import annotations

import enum
import itertools
import json
import random
from decimal import Decimal
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed

from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.connections import Outbox
from mmbot.sim.engine import (
    AccountPosition,
    AssetBalance,
    BalanceUpdate,
    BookDelta,
    Execution,
    Fees,
    MatchingEngine,
    TradePrint,
)
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind, History
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.market import (
    MAKER_ACCOUNT,
    SIMULATOR_ACCOUNTS,
    MarketSimulator,
    default_market,
)
from mmbot.sim.streams import MarketFeed, StreamMessage, dumps, trade_payload, trade_text

START = 1_700_000_000_000

# ---- canonical lines -----------------------------------------------------------------------


def reference_field(value: Any) -> str:
    """The canonical form of one value, as the history's docstring defines it."""
    if value is None:
        return "~"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool | int | Decimal):
        return str(value)
    if isinstance(value, tuple):
        return "(" + ",".join(reference_field(v) for v in value) + ")"
    fields = [reference_field(getattr(value, f.name)) for f in attrs.fields(type(value))]
    return type(value).__name__ + "(" + ",".join(fields) + ")"


def reference_line(seq: int, time_ms: int, kind: str, payload: Any) -> str:
    fields = [reference_field(getattr(payload, f.name)) for f in attrs.fields(type(payload))]
    return f"{seq}\x1f{time_ms}\x1f{kind}\x1f{type(payload).__name__}\x1f" + "\x1f".join(fields)


decimals = st.decimals(min_value=-(10**9), max_value=10**9, places=8, allow_nan=False)
texts = st.text(max_size=8)


@st.composite
def execution_reports(draw: st.DrawFn) -> Execution:
    return Execution(
        account=draw(texts),
        event_time_ms=draw(st.integers(0, 2**45)),
        symbol=draw(texts),
        client_order_id=draw(texts),
        side=draw(st.sampled_from(Side)),
        order_type=draw(st.sampled_from(OrderType)),
        time_in_force=draw(st.sampled_from(TimeInForce)),
        quantity=draw(decimals),
        price=draw(decimals),
        execution_type=draw(st.sampled_from(ExecutionType)),
        status=draw(st.sampled_from(OrderStatus)),
        reject_reason=draw(texts),
        order_id=draw(st.integers(-1, 2**40)),
        last_qty=draw(decimals),
        cumulative_qty=draw(decimals),
        last_price=draw(decimals),
        commission=draw(decimals),
        commission_asset=draw(st.none() | texts),
        transaction_time_ms=draw(st.integers(0, 2**45)),
        trade_id=draw(st.integers(-1, 2**40)),
        is_maker=draw(st.booleans()),
        orig_client_order_id=draw(texts),
        cumulative_quote_qty=draw(decimals),
    )


payloads = st.one_of(
    execution_reports(),
    st.builds(
        AccountPosition,
        texts,
        st.integers(0, 2**45),
        st.lists(st.builds(AssetBalance, texts, decimals, decimals), max_size=3).map(tuple),
    ),
    st.builds(BalanceUpdate, texts, st.integers(0, 2**45), texts, decimals),
    st.builds(
        TradePrint, texts, st.integers(1, 2**40), decimals, decimals, st.integers(), st.booleans()
    ),
    st.builds(
        BookDelta,
        texts,
        st.integers(1, 2**40),
        st.sampled_from(Side),
        decimals,
        decimals,
        st.integers(0, 2**45),
    ),
)


@given(st.lists(payloads, min_size=1, max_size=6))
def test_compiled_canonical_lines_equal_the_reference_definition(events: list[Any]) -> None:
    history = History()
    history.append_events(77, events)
    history.append_message("a\x1fb{x}", 'e"t', 12, 78)
    kinds = {
        Execution: "execution",
        AccountPosition: "account_position",
        BalanceUpdate: "balance_update",
        TradePrint: "public_trade",
        BookDelta: "book_delta",
    }
    expected = [reference_line(i, 77, kinds[type(e)], e) for i, e in enumerate(events, 1)]
    expected.append(
        f"{len(events) + 1}\x1f78\x1fmessage\x1fMessageRecord\x1f'a\\x1fb{{x}}'\x1f'e\"t'\x1f12"
    )
    assert [line.rstrip("\n") for line in history.canonical_lines()] == expected


def test_a_value_that_does_not_match_its_annotation_is_still_recorded() -> None:
    odd = BookDelta("BTCUSDT", 1, None, Decimal(1), Decimal(2), 5)  # type: ignore[arg-type]
    history = History()
    history.append_events(5, [odd])
    (line,) = history.canonical_lines()
    assert line == reference_line(1, 5, "book_delta", odd) + "\n"


# ---- stream texts --------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=10**7, places=8, allow_nan=False)


@given(prices, prices, st.integers(1, 2**40), st.integers(0, 2**45), st.booleans())
def test_trade_text_is_the_compact_json_of_the_trade_payload(
    price: Decimal, qty: Decimal, trade_id: int, time_ms: int, buyer_is_maker: bool
) -> None:
    trade = TradePrint("BTCUSDT", trade_id, price, qty, time_ms, buyer_is_maker)
    assert trade_text(trade, time_ms + 3) == dumps(trade_payload(trade, time_ms + 3))


@given(st.lists(st.tuples(st.sampled_from(Side), prices, prices), min_size=1, max_size=12))
def test_depth_and_ticker_texts_are_compact_json(
    levels: list[tuple[Side, Decimal, Decimal]],
) -> None:
    feed = MarketFeed.for_symbols(["ETHUSDT"])
    deltas = [
        BookDelta("ETHUSDT", i, side, price, qty, 1_000)
        for i, (side, price, qty) in enumerate(levels, 1)
    ]
    messages = feed.on_events(deltas, 1_000) + feed.flush_due(2_000)
    assert messages
    for message in messages:
        assert isinstance(message, StreamMessage)
        assert message.text == dumps(json.loads(message.text))
        assert message.payload["s"] == "ETHUSDT"


def test_a_symbol_that_would_need_json_escaping_is_refused() -> None:
    with pytest.raises(ValueError, match="letters and digits"):
        MarketFeed.for_symbols(['BT"C'])


# ---- the market's time grid ----------------------------------------------------------------


def run_market(seconds: int, **overrides: Any) -> tuple[MatchingEngine, MarketSimulator, set[int]]:
    instruments, configs = default_market(["BTCUSDT", "ETHUSDT"])
    configs = [attrs.evolve(c, **overrides) for c in configs]
    engine = MatchingEngine(instruments, Fees())
    market = MarketSimulator(engine, configs, random.Random(5))
    market.start(START)
    times: set[int] = set()
    while market.next_event_ms() <= START + seconds * 1000:
        at = market.next_event_ms()
        market.advance(at)
        for event in engine.drain_events():
            if isinstance(event, BookDelta | TradePrint):
                times.add(event.time_ms)
            elif isinstance(event, Execution | AccountPosition):
                times.add(event.event_time_ms)
    return engine, market, times


def test_market_events_happen_on_the_time_grid_at_the_configured_rates() -> None:
    _, market, times = run_market(600)
    assert times and all(t % 100 == 0 for t in times)
    stats = market.statistics()
    assert stats.reference_updates == 2 * 600 * 4  # every 250 ms (nominal), two symbols
    assert 2 * 600 * 2 * 0.9 < stats.taker_orders < 2 * 600 * 2 * 1.1  # 2 per s per symbol


def test_a_one_millisecond_grid_keeps_millisecond_arrivals() -> None:
    _, market, times = run_market(60, time_step_ms=1)
    assert any(t % 100 for t in times)
    assert market.statistics().reference_updates == 2 * 60 * 4


def test_market_config_refuses_a_zero_time_step() -> None:
    _, configs = default_market(["BTCUSDT"])
    with pytest.raises(ValueError, match="time_step_ms"):
        attrs.evolve(configs[0], time_step_ms=0)


# ---- the exchange shell --------------------------------------------------------------------


async def run_exchange(seconds: float, **config: Any) -> Exchange:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",), seed=3, **config))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    return exchange


async def test_simulator_accounts_stay_out_of_the_history_unless_asked(
    autojump_clock: trio.testing.MockClock,
) -> None:
    quiet = await run_exchange(20)
    assert not [r for r in quiet.history.executions() if r.account in SIMULATOR_ACCOUNTS]
    assert quiet.market.statistics().taker_fills > 0
    kinds = {e.kind.value for e in quiet.history.entries()}
    assert {"public_trade", "book_delta"} <= kinds
    full = await run_exchange(20, history_simulator_accounts=True)
    assert full.history.executions(MAKER_ACCOUNT)
    assert public_tape(quiet) == public_tape(full)  # the market itself is the same


def public_tape(exchange: Exchange) -> list[dict[str, Any]]:
    """Public trades and book deltas, without their (run-dependent) times."""
    start = exchange.history.entries()[0].time_ms
    return [
        {**attrs.asdict(e.payload), "time_ms": e.time_ms - start}
        for e in exchange.history.entries({EntryKind.PUBLIC_TRADE, EntryKind.BOOK_DELTA})
    ]


async def test_outbox_hands_out_frames_in_order_then_ends_after_stop() -> None:
    outbox = Outbox("conn-1", combined=False, capacity=3)
    assert outbox.put("a") and outbox.put("b") and outbox.put("c")
    assert not outbox.put("d")  # full
    assert await outbox.take(2) == ["a", "b"]
    assert len(outbox) == 1
    outbox.stop()
    assert not outbox.put("e")  # stopped
    assert await outbox.take(10) == ["c"]
    assert await outbox.take(10) == []


async def test_outbox_take_waits_for_a_frame(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox("conn-1", combined=False, capacity=3)
    got: list[list[str]] = []

    async def taker() -> None:
        got.append(await outbox.take(10))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(taker)
        await trio.sleep(1)
        assert got == []
        outbox.put("x")
    assert got == [["x"]]


async def test_in_process_client_gets_queued_messages_in_order_and_can_be_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",), seed=2))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        await trio.sleep(5)  # several messages are queued on the client side now
        ids = []
        for _ in range(5):
            update = json.loads(await ws.get_message())
            ids.append((update["U"], update["u"]))
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ids))
        with trio.CancelScope() as scope:
            scope.cancel()
            await ws.get_message()  # a message is queued, but the scope is cancelled
        assert scope.cancelled_caught
        await ws.aclose()
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
        nursery.cancel_scope.cancel()
