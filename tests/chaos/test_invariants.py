"""The invariant checkers on hand-made truth logs: each catches what it names, and only that."""

from __future__ import annotations

from decimal import Decimal

import attrs
from history_kit import record, report

from mmbot.chaos.invariants import (
    check,
    check_replay,
    clean_exit,
    ledger_matches_exchange,
    no_ban,
    no_duplicate_orders,
    no_orphan_orders,
    quotes_never_cross,
    resumes_after_heal,
)
from mmbot.model import ExecutionType, Side

CANCELED = ExecutionType.CANCELED


def test_a_cancel_replace_is_not_a_duplicate_and_a_second_order_in_a_slot_is() -> None:
    replaced = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        # a cancellation's report carries the cancel's own id in c, the order's in C
        (2.0, report("xYz", 11, Side.BUY, "100", CANCELED, orig="mm-r-1-b0")),
        (2.0, report("mm-r-2-b0", 12, Side.BUY, "101")),
    )
    assert no_duplicate_orders(replaced) == []
    doubled = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (2.5, report("mm-r-2-b0", 12, Side.BUY, "101")),  # the first is still open
    )
    [violation] = no_duplicate_orders(doubled)
    assert violation.orders == ("mm-r-1-b0", "mm-r-2-b0") and violation.time_s == 2.5
    assert "slot BUY 0" in violation.describe() and violation.seqs == (2,)
    other_level = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (2.0, report("mm-r-2-b1", 12, Side.BUY, "99")),
    )
    assert no_duplicate_orders(other_level) == []


def test_own_quotes_that_cross_are_caught_and_foreign_orders_ignored() -> None:
    fine = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (1.0, report("mm-r-2-s0", 12, Side.SELL, "101")),
        (1.5, report("someone-else", 13, Side.BUY, "102")),  # not the bot's
    )
    assert quotes_never_cross(fine) == []
    crossed = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (1.0, report("mm-r-2-s0", 12, Side.SELL, "101")),
        (3.0, report("mm-r-3-b1", 13, Side.BUY, "101")),
    )
    [violation] = quotes_never_cross(crossed)
    assert violation.symbol == "BTCUSDT" and violation.time_s == 3.0
    assert set(violation.orders) == {"mm-r-3-b1", "mm-r-2-s0"}


def test_orders_still_open_at_the_end_are_orphans_and_a_failed_run_is_no_clean_exit() -> None:
    run = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (1.0, report("mm-r-2-s0", 12, Side.SELL, "101")),
        (2.0, report("c1", 12, Side.SELL, "101", CANCELED, orig="mm-r-2-s0")),
        (2.0, report("other-1", 13, Side.SELL, "105")),  # a foreign order: not ours
        error="RuntimeError('boom')",
        orders_left=("mm-r-1-b0",),
    )
    assert [v.orders for v in no_orphan_orders(run)] == [("mm-r-1-b0",)]
    problems = [v.detail for v in clean_exit(run)]
    assert problems == [
        "the bot failed: RuntimeError('boom')",
        "the graceful stop reported orders still open",
    ]


def test_the_ledger_must_book_each_exchange_fill_once_with_base_fees_out_of_the_position() -> None:
    trade = report(
        "mm-r-1-b0", 11, Side.BUY, "100", ExecutionType.TRADE, last_qty="0.5",
        fee="0.001", fee_asset="BTC", trade_id=7,
    )  # fmt: skip
    fills = ((1.0, report("mm-r-1-b0", 11, Side.BUY, "100")), (2.0, trade))
    booked = record(*fills, fills={"BTCUSDT": 1}, positions={"BTCUSDT": Decimal("0.499")})
    assert ledger_matches_exchange(booked) == []
    missed = record(*fills, fills={"BTCUSDT": 0}, positions={"BTCUSDT": Decimal(0)})
    [violation] = ledger_matches_exchange(missed)
    assert "booked 0 fills" in violation.detail and "1 fills, position 0.499" in violation.detail


def test_a_418_is_a_ban_and_replays_must_agree() -> None:
    run = record()
    run.history.append_request(
        1_000_500, transport="ws_api", method="order.place", path="order.place",
        account="user", status=418, error_code=-1003, symbol="BTCUSDT",
    )  # fmt: skip
    [violation] = no_ban(run)
    assert violation.time_s == 0.5 and "418" in violation.detail
    assert check_replay("abc", "abc") == []
    assert check_replay("abc", "abd")[0].invariant == "deterministic_replay"


def test_check_runs_the_named_invariants_only() -> None:
    run = record((1.0, report("mm-r-1-b0", 11, Side.BUY, "100")))
    result = check(run, ["no_orphan_orders", "no_ban"])
    assert list(result) == ["no_orphan_orders", "no_ban"]
    assert len(result["no_orphan_orders"]) == 1 and result["no_ban"] == []


def test_quoting_must_rest_again_by_the_bound_after_the_heal_one_side_is_enough() -> None:
    cancelled = (
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (5.0, report("c1", 11, Side.BUY, "100", CANCELED, orig="mm-r-1-b0")),  # pulled
    )
    soon = record(*cancelled, (22.0, report("mm-r-2-b0", 12, Side.BUY, "100")), heal_at=20.0)
    assert resumes_after_heal(soon) == []
    late = record(*cancelled, (35.0, report("mm-r-2-b0", 12, Side.BUY, "100")), heal_at=20.0)
    [violation] = resumes_after_heal(late)
    assert violation.time_s == 30.0
    assert "resting in the 2 s up to 10 s after every fault was healed at 20.000 s" in (
        violation.detail
    )
    assert resumes_after_heal(record(*cancelled, heal_at=20.0))  # never again
    still_open = record((1.0, report("mm-r-1-b0", 11, Side.BUY, "100")), heal_at=20.0)
    assert resumes_after_heal(still_open) == []  # quoting through the heal
    gone_again = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (21.0, report("c2", 11, Side.BUY, "100", CANCELED, orig="mm-r-1-b0")),
        heal_at=20.0,
    )
    assert resumes_after_heal(gone_again)  # open at the heal is not enough
    filled_at_the_edge = record(
        (22.0, report("mm-r-2-b0", 12, Side.BUY, "100")),
        (29.5, report("mm-r-2-b0", 12, Side.BUY, "100", ExecutionType.TRADE, last_qty="1")),
        (29.5, report("mm-r-2-b0", 12, Side.BUY, "100", CANCELED)),  # gone (filled) at 29.5 s
        heal_at=20.0,
    )
    assert resumes_after_heal(filled_at_the_edge) == []  # it rested within the last 2 s
    filled_earlier = record(
        (22.0, report("mm-r-2-b0", 12, Side.BUY, "100")),
        (27.5, report("mm-r-2-b0", 12, Side.BUY, "100", CANCELED)),
        heal_at=20.0,
    )
    assert resumes_after_heal(filled_earlier)  # nothing in the last 2 s


def test_only_the_last_runs_orders_show_that_quoting_resumed() -> None:
    orphan = record((1.0, report("mm-dead-1-b0", 11, Side.BUY, "100")), heal_at=20.0)
    alive = attrs.evolve(orphan, end=attrs.evolve(orphan.end, run_id="live"))
    assert resumes_after_heal(orphan) == []  # no run id given: any of the prefix
    assert resumes_after_heal(alive)  # the dead run's order does not count


def test_a_418_the_plan_answered_is_not_a_ban() -> None:
    run = record()
    run.history.append_request(
        1_000_100, transport="ws_api", method="order.place", path="order.place",
        account="user", status=418, error_code=-1003, injected=True,
    )  # fmt: skip
    assert no_ban(run) == []


def test_order_ids_are_per_symbol_so_another_symbols_cancel_closes_nothing_here() -> None:
    run = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (1.0, report("mm-r-2-s0", 11, Side.SELL, "3000", symbol="ETHUSDT")),  # same id
        (2.0, report("c1", 11, Side.SELL, "3000", CANCELED, orig="mm-r-2-s0", symbol="ETHUSDT")),
        (3.0, report("mm-r-3-b0", 12, Side.BUY, "101")),  # BTC's 11 is still open
    )
    [violation] = no_duplicate_orders(run)
    assert violation.orders == ("mm-r-1-b0", "mm-r-3-b0")
