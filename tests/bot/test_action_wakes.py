"""When an order action ends, the quoter is woken only if deciding again could differ from
the decision that sent it (a decision per answer would double the decisions under load)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from mmbot.bot.actions import OrderActions, QuoteCycle
from mmbot.bot.state import BotState
from mmbot.bot.status import SymbolState
from mmbot.config import BotConfig
from mmbot.model import OrderStatus, OrderType, Outcome, Quote, Side
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders import ClientIdFactory, OrderIntent, OrderTracker
from mmbot.quoting.orders.reconcile import Cancel, CancelReplace, Place
from mmbot.venue.base import (
    CancelReplaceRequest,
    CancelReplaceResult,
    OrderInfo,
    OrderRef,
    PlaceAck,
    PlaceRequest,
    VenueResult,
    failed,
    ok,
)

SYMBOL = "BTCUSDT"


def _info(ref: OrderRef, order_id: int, status: OrderStatus) -> OrderInfo:
    """The venue's view of the order ``ref`` names (a bid of 0.01 at 100)."""
    assert ref.client_order_id is not None
    return OrderInfo(
        ref.symbol, order_id, ref.client_order_id, Side.BUY, OrderType.LIMIT_MAKER, None,
        Decimal("100"), Decimal("0.01"), Decimal(0), Decimal(0), status,
    )  # fmt: skip


class AnsweringVenue:
    """Answers placements (accepted or refused), cancels (done or refused) and
    cancel-replaces (each half as told)."""

    def __init__(self, accept: bool = True, cancel: bool = True) -> None:
        self.accept = accept
        self.cancel_ok = cancel
        self.refusal: VenueResult[PlaceAck] = failed(
            -2010, "Order would immediately match and take."
        )

    async def place(self, request: PlaceRequest) -> VenueResult[PlaceAck]:
        await trio.lowlevel.checkpoint()
        if not self.accept:
            return self.refusal
        return ok(PlaceAck(request.symbol, 7, request.client_order_id, 1))

    async def cancel(self, ref: OrderRef) -> VenueResult[OrderInfo]:
        await trio.lowlevel.checkpoint()
        if not self.cancel_ok:
            return failed(-2011, "Unknown order sent.", http_status=400)
        return ok(_info(ref, 5, OrderStatus.CANCELED))

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]:
        await trio.lowlevel.checkpoint()
        return ok(_info(ref, 9, OrderStatus.NEW))

    async def cancel_replace(self, request: CancelReplaceRequest) -> VenueResult[object]:
        cancelled = await self.cancel(request.cancel)
        if not cancelled.is_ok:
            return ok(CancelReplaceResult(cancelled, None))
        return ok(CancelReplaceResult(cancelled, await self.place(request.new)))


def setup(accept: bool = True, cancel: bool = True) -> tuple[BotState, OrderActions]:
    state = BotState(
        config=BotConfig(), run_id="run1", config_hash="h", mode="sim",
        tracker=OrderTracker(ClientIdFactory("mm", "run1")), budget=OrderBudget([]),
        started_at=0.0,
    )  # fmt: skip
    state.symbols.setdefault(SYMBOL, state.runtime(SYMBOL))
    return state, OrderActions(state, AnsweringVenue(accept, cancel))  # type: ignore[arg-type]


async def place_and_settle(state: BotState, actions: OrderActions, decision: int) -> bool:
    """Start one placement of decision ``decision``; whether its end raised the wake-up."""
    runtime = state.runtime(SYMBOL)
    runtime.decisions = decision
    cycle = QuoteCycle(SYMBOL, 0.0, first_on_book=True, pending=1, decision=decision)
    action = Place((Side.BUY, 0), Quote(Side.BUY, 0, Decimal("100"), Decimal("0.01")))
    async with trio.open_nursery() as nursery:
        actions.start(nursery, SYMBOL, action, cycle)
    return runtime.wakeup.raised


async def test_an_action_that_did_what_its_decision_asked_wakes_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup()
    assert not await place_and_settle(state, actions, decision=3)


@pytest.mark.parametrize(
    "refusal",
    [
        failed(-2010, "Order would immediately match and take.", http_status=400),
        failed(-1013, "Filter failure: PRICE_FILTER", http_status=400),
    ],
    ids=["would-take", "filter"],
)
async def test_a_placement_the_venue_refused_as_it_stands_waits_for_the_next_book(
    autojump_clock: trio.testing.MockClock, refusal: VenueResult[PlaceAck]
) -> None:
    # The same book can only decide the same order again, and a refusal comes back at once
    # (in process: at the same instant), so a wake-up here re-sent it in a loop until the
    # order budget ran dry (found by three fuzzers: 24-29 refusals in a row, then no budget
    # left for 7 s). The next book, a breaker transition or a fill wakes the quoter.
    state, actions = setup(accept=False)
    actions.venue.refusal = refusal  # type: ignore[attr-defined]
    assert not await place_and_settle(state, actions, decision=3)
    [refused] = state.tracker
    assert refused.state.name == "REJECTED"


@pytest.mark.parametrize(
    "refusal",
    [
        failed(None, "circuit 'binance:orders' is open; retry after 2.000s", retry_after=2.0),
        failed(-1003, "not sent: no room in the client-side rate limiter", retry_after=1.0),
        failed(-1003, "Too many requests.", http_status=429, retry_after=1.0),
    ],
    ids=["circuit-open", "limiter-unsent", "throttled"],
)
async def test_a_placement_refused_unsent_or_throttled_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock, refusal: VenueResult[PlaceAck]
) -> None:
    # Not the order's fault: deciding again may place it (the quoter asks the breaker first,
    # and the limiter makes a new try wait), and nothing else would wake it on a quiet book.
    state, actions = setup(accept=False)
    actions.venue.refusal = refusal  # type: ignore[attr-defined]
    assert await place_and_settle(state, actions, decision=3)


async def test_a_decision_made_while_the_action_was_in_flight_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup()
    runtime = state.runtime(SYMBOL)
    cycle = QuoteCycle(SYMBOL, 0.0, first_on_book=True, pending=1, decision=3)
    runtime.decisions = 3
    action = Place((Side.BUY, 0), Quote(Side.BUY, 0, Decimal("100"), Decimal("0.01")))
    async with trio.open_nursery() as nursery:
        actions.start(nursery, SYMBOL, action, cycle)
        runtime.decisions = 4  # a new book was decided on; it left this slot alone
    assert runtime.wakeup.raised


async def test_budget_short_or_stopping_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup()
    state.runtime(SYMBOL).budget_short = True  # a slot waits for the budget: decide again
    assert await place_and_settle(state, actions, decision=3)
    state, actions = setup()
    state.runtime(SYMBOL).state = SymbolState.STOPPED  # its stop waits for in-flight ends
    assert await place_and_settle(state, actions, decision=3)


async def resting_then(
    state: BotState, actions: OrderActions, action_for: str
) -> tuple[bool, list[str]]:
    """Place one order (answered), then run ``action_for`` ("cancel" or "replace") on it as
    decision 4; whether its end raised the wake-up, and the tracker's states after."""
    assert not await place_and_settle(state, actions, decision=3)
    [resting] = state.tracker.live(SYMBOL)
    runtime = state.runtime(SYMBOL)
    runtime.decisions = 4
    cycle = QuoteCycle(SYMBOL, 0.0, first_on_book=True, pending=1, decision=4)
    quote = Quote(Side.BUY, 0, Decimal("101"), Decimal("0.01"))
    action = (
        Cancel(resting.client_order_id)
        if action_for == "cancel"
        else CancelReplace(resting.client_order_id, (Side.BUY, 0), quote)
    )
    async with trio.open_nursery() as nursery:
        actions.start(nursery, SYMBOL, action, cycle)
    return runtime.wakeup.raised, sorted(o.state.name for o in state.tracker)


async def test_a_cancel_or_a_cancel_replace_that_did_what_was_asked_wakes_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup()
    assert await resting_then(state, actions, "cancel") == (False, ["CANCELLED"])
    state, actions = setup()
    assert await resting_then(state, actions, "replace") == (False, ["CANCELLED", "OPEN"])


async def test_a_refused_half_of_a_cancel_replace_or_a_refused_cancel_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup(accept=True, cancel=False)  # the cancel half refused (-2011)
    woke, _ = await resting_then(state, actions, "replace")
    assert woke
    state, actions = setup(accept=True, cancel=False)
    woke, _ = await resting_then(state, actions, "cancel")
    assert woke


async def test_a_cancel_replace_whose_new_order_is_refused_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup()
    assert not await place_and_settle(state, actions, decision=3)
    actions.venue.accept = False  # type: ignore[attr-defined]  # the new half: -2010
    [resting] = state.tracker.live(SYMBOL)
    runtime = state.runtime(SYMBOL)
    runtime.decisions = 4
    cycle = QuoteCycle(SYMBOL, 0.0, first_on_book=True, pending=1, decision=4)
    replace = CancelReplace(
        resting.client_order_id, (Side.BUY, 0), Quote(Side.BUY, 0, Decimal("101"), Decimal("1"))
    )
    async with trio.open_nursery() as nursery:
        actions.start(nursery, SYMBOL, replace, cycle)
    assert runtime.wakeup.raised  # the slot is empty now: decide on it


async def test_an_unresolved_order_settled_by_query_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, _ = setup()
    actions = OrderActions(state, AnsweringVenue())  # type: ignore[arg-type]
    intent = OrderIntent(SYMBOL, Side.BUY, 0, Decimal("100"), Decimal("0.01"))
    cid = state.tracker.new_order(intent, 0.0)
    state.tracker.on_place_outcome(cid, Outcome.UNKNOWN, reason="deadline", now=0.0)
    assert [o.state.name for o in state.tracker.unresolved(SYMBOL)] == ["UNRESOLVED"]
    await actions.resolve(SYMBOL, cid)
    assert state.runtime(SYMBOL).wakeup.raised  # the slot is known again: decide on it
    assert [o.state.name for o in state.tracker.live(SYMBOL)] == ["OPEN"]
