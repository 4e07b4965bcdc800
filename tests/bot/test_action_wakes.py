"""When an order action ends, the quoter is woken only if deciding again could differ from
the decision that sent it (a decision per answer would double the decisions under load)."""

from __future__ import annotations

from decimal import Decimal

import trio
import trio.testing

from mmbot.bot.actions import OrderActions, QuoteCycle
from mmbot.bot.state import BotState
from mmbot.bot.status import SymbolState
from mmbot.config import BotConfig
from mmbot.model import Quote, Side
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders import ClientIdFactory, OrderTracker
from mmbot.quoting.orders.reconcile import Place
from mmbot.venue.base import PlaceAck, PlaceRequest, VenueResult, failed, ok

SYMBOL = "BTCUSDT"


class AnsweringVenue:
    """Accepts or refuses every placement (the only call these tests make)."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept

    async def place(self, request: PlaceRequest) -> VenueResult[PlaceAck]:
        await trio.lowlevel.checkpoint()
        if not self.accept:
            return failed(-2010, "Order would immediately match and take.")
        return ok(PlaceAck(request.symbol, 7, request.client_order_id, 1))


def setup(accept: bool = True) -> tuple[BotState, OrderActions]:
    state = BotState(
        config=BotConfig(), run_id="run1", config_hash="h", mode="sim",
        tracker=OrderTracker(ClientIdFactory("mm", "run1")), budget=OrderBudget([]),
        started_at=0.0,
    )  # fmt: skip
    state.symbols.setdefault(SYMBOL, state.runtime(SYMBOL))
    return state, OrderActions(state, AnsweringVenue(accept))  # type: ignore[arg-type]


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


async def test_a_refused_placement_wakes_the_quoter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    state, actions = setup(accept=False)
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
