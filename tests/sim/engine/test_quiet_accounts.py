"""Quiet accounts: their orders trade as any other, their private events are never built."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st
from matching_kit import BTC, FEES, START, SYM, limit, market

from mmbot.model import Side, TimeInForce
from mmbot.sim.engine import (
    AccountPosition,
    BalanceUpdate,
    BookDelta,
    EngineEvent,
    Execution,
    MatchingEngine,
    OrderView,
    PlaceResult,
    TradePrint,
)

QUIET = "market-maker"
LOUD = "alice"


def engine(*, quiet: bool) -> MatchingEngine:
    e = MatchingEngine([BTC], FEES, quiet_accounts=(QUIET,) if quiet else ())
    for account in (QUIET, LOUD):
        e.open_account(account, dict(START))
    return e


# A command: (account, kind, side, price offset in ticks, quantity in lots)
Command = tuple[str, str, Side, int, int]

commands = st.lists(
    st.tuples(
        st.sampled_from([QUIET, LOUD]),
        st.sampled_from(["rest", "ioc", "market", "cancel", "credit"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(-3, 3),
        st.integers(1, 5),
    ),
    max_size=40,
)


def run(e: MatchingEngine, script: list[Command]) -> tuple[list[object], list[EngineEvent]]:
    """Apply ``script``; the results of every command and every event, in order."""
    results: list[object] = []
    for now, (account, kind, side, offset, lots) in enumerate(script, start=1):
        price = str(D("30000") + offset * D("0.01"))
        qty = str(lots * D("0.001") * 400)
        cid = f"c{now}"
        if kind == "rest":
            results.append(e.place(limit(account, side, qty, price, cid), now))
        elif kind == "ioc":
            results.append(e.place(limit(account, side, qty, price, cid, TimeInForce.IOC), now))
        elif kind == "market":
            results.append(e.place(market(account, side, cid, qty=qty), now))
        elif kind == "cancel":
            results.append(e.cancel_all(account, SYM, now))
        else:
            e.adjust_balance(account, "USDT", D(lots), now)
    return results, e.drain_events()


def _mine(event: EngineEvent) -> bool:
    return event.account == QUIET


@given(commands)
def test_quiet_accounts_change_nothing_but_their_own_private_events(script: list[Command]) -> None:
    loud_results, loud_events = run(engine(quiet=False), script)
    quiet_results, quiet_events = run(engine(quiet=True), script)
    assert quiet_results == loud_results  # the same trades, fills and answers
    assert quiet_events == [e for e in loud_events if not _mine(e)]
    assert not any(_mine(e) for e in quiet_events)


def test_a_quiet_accounts_trades_still_reach_the_public_book_and_tape() -> None:
    e = engine(quiet=True)
    e.place(limit(QUIET, Side.SELL, "1", "30000", "ask"), 1)
    taken = e.place(limit(LOUD, Side.BUY, "0.4", "30000", "buy"), 2)
    e.adjust_balance(QUIET, "USDT", D(5), 3)
    events = e.drain_events()
    assert isinstance(taken, PlaceResult) and [f.qty for f in taken.fills] == [D("0.4")]
    assert [type(ev) for ev in events if ev.account is None] == [
        BookDelta,  # the quiet account's ask rests
        TradePrint,  # alice takes part of it
        BookDelta,
    ]
    assert {type(ev) for ev in events if ev.account == LOUD} == {
        Execution,
        AccountPosition,
    }
    assert not any(isinstance(ev, BalanceUpdate) for ev in events)
    (view,) = e.open_orders(QUIET)
    assert isinstance(view, OrderView) and view.executed_qty == D("0.4")
