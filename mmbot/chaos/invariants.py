"""The invariants a chaos run must keep, checked over what the run recorded (sans-IO).

What it is for: after a run, each checker reads the fake exchange's truth log (``History``:
every request, execution report and fault, in order) and what the bot said of itself at its
end (:class:`BotEnd`), and returns the :class:`Violation` values it found: the invariant's
name (DESIGN.md §6), the time (seconds since the run started), the symbol, the client order
ids involved, and the history sequence numbers that witness it. Checked so far:

- ``no_orphan_orders``: after the bot stopped, the exchange has no open order with its
  client-id prefix.
- ``no_duplicate_orders``: never two open exchange orders for one client intent: one client
  order id, or one (symbol, side, level) slot (read from the id, where the bot writes it).
- ``quotes_never_cross``: the bot's own resting bid always below its own resting ask.
- ``ledger_matches_exchange``: per symbol, the bot's count of fills and its position equal
  the exchange's fills for the account since the bot started (each trade once; a fee in the
  base asset comes out of the position, as the exchange's balance does; after a crash, the
  restarted bot answers for the fills from its own start on).
- ``resumes_after_heal``: ``resumes_within`` after every fault was healed, each symbol
  rests an order of the last bot's own run at the exchange, at the deadline or at some
  instant of the ``RESUME_WINDOW_S`` before it (one side is enough: a symbol at its
  position limit quotes one side; an order of a dead run does not count; a fill at the
  deadline's edge leaves a slot empty for a decision or two).
- ``no_ban``: the exchange never answered 418 of its own (one an ``error`` fault answered
  is the harness's doing, not a ban).
- ``clean_exit``: the bot ended without an error, and its graceful stop left no order.
- ``deterministic_replay``: a second run with the same seed gave the same trace digest
  (the runner runs it; :func:`check_replay` compares).
- ``position_within_limit``: per the exchange's fills, the account's position in each symbol
  (net of every bot run's fills since the run started) never passed the bot's
  ``max_position`` plus its largest single order.
- ``cancel_all_complete``: when the bot's graceful stop returned, the exchange held no open
  order of the bot's prefix (``no_orphan_orders`` looks at the very end, after a crashed
  run's leftovers could also have been swept).
- ``symbol_isolation``: while a fault aimed at some symbols only lasts, every other symbol
  (from its first resting order on) never goes more than ``ISOLATION_GAP_S`` without an
  order of the bot's resting, in the stretches no other fault (one not aimed at symbols, or
  aimed at it too) could explain.

The two that read the bot's side of the history (``no_quotes_on_stale_book``,
``no_request_during_retry_after``) are in :mod:`mmbot.chaos.bot_side`; the records all of
them read in :mod:`mmbot.chaos.record`.

What it must never do: I/O, read a clock, or change the history it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from mmbot.chaos.bot_side import no_quotes_on_stale_book, no_request_during_retry_after
from mmbot.chaos.record import RunRecord, Violation, seconds_in
from mmbot.model import ExecutionType, Side
from mmbot.quoting.orders.client_ids import parse_client_order_id, parse_slot
from mmbot.sim.engine import Execution
from mmbot.sim.history.log import EntryKind, RequestRecord

#: Every invariant this module checks, in report order.
INVARIANTS: tuple[str, ...] = (
    "no_orphan_orders",
    "no_duplicate_orders",
    "quotes_never_cross",
    "ledger_matches_exchange",
    "resumes_after_heal",
    "no_ban",
    "clean_exit",
    "position_within_limit",
    "cancel_all_complete",
    "no_quotes_on_stale_book",
    "no_request_during_retry_after",
    "symbol_isolation",
    "deterministic_replay",
)

#: ``resumes_after_heal``: an order of the last run resting at any instant of this many
#: seconds before the deadline shows the symbol quoting (a fill at the edge empties a slot).
RESUME_WINDOW_S = 2.0

#: ``symbol_isolation``: the longest a symbol a fault was not aimed at may rest no order of
#: the bot's while the fault lasts (a fill is requoted within a decision; this is slack).
ISOLATION_GAP_S = 5.0


def _ours(record: RunRecord, cid: str) -> bool:
    return parse_client_order_id(cid, record.end.prefix) is not None


def order_client_id(report: Execution) -> str:
    """The client order id of the order a report is about: a cancellation's report carries
    the cancel request's own id in ``c`` and the order's in ``C`` (as Binance's do)."""
    return report.orig_client_order_id or report.client_order_id


def _executions(record: RunRecord) -> list[tuple[int, int, Execution]]:
    """(seq, time_ms, report) of the bot account's execution reports, in order."""
    account = record.end.account
    out: list[tuple[int, int, Execution]] = []
    for entry in record.history.entries(EntryKind.EXECUTION):
        payload = entry.payload
        if isinstance(payload, Execution) and payload.account == account:
            out.append((entry.seq, entry.time_ms, payload))
    return out


def no_orphan_orders(record: RunRecord) -> list[Violation]:
    left = [
        o
        for o in record.history.open_orders(record.end.account)
        if _ours(record, o.client_order_id)
    ]
    return [
        Violation(
            "no_orphan_orders",
            None,
            o.symbol,
            f"order {o.order_id} ({o.side.value} {o.quantity} @ {o.price}) still open after "
            "the bot stopped",
            (o.client_order_id,),
        )
        for o in left
    ]


#: An order at the exchange: order ids are numbered per symbol, as Binance numbers them.
OrderKey = tuple[str, int]


def _walk_open(
    record: RunRecord,
    on_change: Callable[[int, int, Execution, dict[OrderKey, Execution]], None] | None = None,
    *,
    ours: Callable[[str], bool] | None = None,
    stop: Callable[[int, int], bool] | None = None,
) -> dict[OrderKey, Execution]:
    """Replay the bot's open orders (by symbol and order id) through its execution reports,
    calling ``on_change(seq, time_ms, report, open_orders)`` after each one, until
    ``stop(seq, time_ms)``; the orders open then. ``ours`` picks the orders by client id
    (default: any with the bot's prefix)."""
    mine = ours or (lambda cid: _ours(record, cid))
    open_orders: dict[OrderKey, Execution] = {}
    for seq, time_ms, report in _executions(record):
        if stop is not None and stop(seq, time_ms):
            break
        if not mine(order_client_id(report)):
            continue
        key = (report.symbol, report.order_id)
        if report.status.is_open:
            open_orders[key] = report
        else:
            open_orders.pop(key, None)
        if on_change is not None:
            on_change(seq, time_ms, report, open_orders)
    return open_orders


def no_duplicate_orders(record: RunRecord) -> list[Violation]:
    found: list[Violation] = []
    prefix = record.end.prefix

    def check(
        seq: int, time_ms: int, report: Execution, open_orders: dict[OrderKey, Execution]
    ) -> None:
        if report.execution_type is not ExecutionType.NEW:
            return
        for other in open_orders.values():
            if other.order_id == report.order_id or other.symbol != report.symbol:
                continue
            slot = parse_slot(report.client_order_id, prefix)
            if other.client_order_id == report.client_order_id:
                why = "client order id"
            elif slot is not None and slot == parse_slot(other.client_order_id, prefix):
                why = f"slot {slot[0].value} {slot[1]}"
            else:
                continue
            found.append(
                Violation(
                    "no_duplicate_orders",
                    seconds_in(record, time_ms),
                    report.symbol,
                    f"two open orders for one {why}",
                    (other.client_order_id, report.client_order_id),
                    (seq,),
                )
            )

    _walk_open(record, check)
    return found


def quotes_never_cross(record: RunRecord) -> list[Violation]:
    found: list[Violation] = []

    def check(
        seq: int, time_ms: int, report: Execution, open_orders: dict[OrderKey, Execution]
    ) -> None:
        if not report.status.is_open:
            return
        symbol = report.symbol
        bids = [o for o in open_orders.values() if o.symbol == symbol and o.side is Side.BUY]
        asks = [o for o in open_orders.values() if o.symbol == symbol and o.side is Side.SELL]
        if not bids or not asks:
            return
        bid = max(bids, key=lambda o: o.price)
        ask = min(asks, key=lambda o: o.price)
        if bid.price >= ask.price:
            found.append(
                Violation(
                    "quotes_never_cross",
                    seconds_in(record, time_ms),
                    symbol,
                    f"own bid {bid.price} at or above own ask {ask.price}",
                    (bid.client_order_id, ask.client_order_id),
                    (seq,),
                )
            )

    _walk_open(record, check)
    return found


def ledger_matches_exchange(record: RunRecord) -> list[Violation]:
    end = record.end
    found: list[Violation] = []
    for symbol in end.symbols:
        fills = [
            f for f in record.history.fills(end.account, symbol) if f.time_ms >= end.ledger_since_ms
        ]
        base = end.base_assets.get(symbol)
        position = Decimal(0)
        for fill in fills:  # a fee in the base asset is paid out of the position
            position += fill.quantity if fill.side is Side.BUY else -fill.quantity
            if fill.fee and fill.fee_asset == base:
                position -= fill.fee
        booked = end.fills.get(symbol, 0)
        ours = end.positions.get(symbol, Decimal(0))
        if booked != len(fills) or ours != position:
            found.append(
                Violation(
                    "ledger_matches_exchange",
                    None,
                    symbol,
                    f"the bot booked {booked} fills, position {ours}; the exchange has "
                    f"{len(fills)} fills, position {position}",
                )
            )
    return found


def resumes_after_heal(record: RunRecord) -> list[Violation]:
    end = record.end
    deadline_ms = end.heal_ms + round(end.resumes_within_s * 1000)
    # An order that fills at the deadline's edge leaves its slot empty for a decision or two:
    # resting at any instant of the last RESUME_WINDOW_S before the deadline is quoting.
    window_start_ms = deadline_ms - round(min(RESUME_WINDOW_S, end.resumes_within_s) * 1000)

    def last_run(cid: str) -> bool:  # only the last bot's own orders show it resumed
        parsed = parse_client_order_id(cid, end.prefix)
        return parsed is not None and (not end.run_id or parsed[0] == end.run_id)

    rested_ms: dict[str, int] = {}  # per symbol, the last instant an order of it rested
    before: dict[str, int] = {}  # per symbol, its open orders before the change

    def watch(
        seq: int, time_ms: int, report: Execution, open_orders: dict[OrderKey, Execution]
    ) -> None:
        symbol = report.symbol
        now = sum(1 for order in open_orders.values() if order.symbol == symbol)
        if now or before.get(symbol, 0):  # resting until (or from) this instant
            rested_ms[symbol] = time_ms
        before[symbol] = now

    open_at_deadline = _walk_open(
        record,
        watch,
        ours=last_run,
        # the deadline, and never the graceful stop's own cancels
        stop=lambda seq, time_ms: time_ms > deadline_ms or seq > end.healed_seq,
    )
    for order in open_at_deadline.values():
        rested_ms[order.symbol] = deadline_ms
    return [
        Violation(
            "resumes_after_heal",
            seconds_in(record, deadline_ms),
            symbol,
            f"no order of the bot's resting in the {min(RESUME_WINDOW_S, end.resumes_within_s):g}"
            f" s up to {end.resumes_within_s:g} s after every fault was healed at "
            f"{seconds_in(record, end.heal_ms):.3f} s",
            seqs=(end.heal_seq,),
        )
        for symbol in end.symbols
        if rested_ms.get(symbol, -1) < window_start_ms
    ]


def no_ban(record: RunRecord) -> list[Violation]:
    found: list[Violation] = []
    for entry in record.history.entries(EntryKind.REQUEST):
        request = entry.payload
        if isinstance(request, RequestRecord) and request.injected:
            continue  # a 418 the chaos plan answered itself is the harness's, not a ban
        if isinstance(request, RequestRecord) and request.status == 418:
            found.append(
                Violation(
                    "no_ban",
                    seconds_in(record, entry.time_ms),
                    request.symbol,
                    f"418 (IP banned) answered to {request.method} {request.path}",
                    seqs=(entry.seq,),
                )
            )
    return found


def clean_exit(record: RunRecord) -> list[Violation]:
    end = record.end
    found: list[Violation] = []
    if end.error is not None:
        found.append(Violation("clean_exit", None, None, f"the bot failed: {end.error}"))
    if end.orders_left:
        found.append(
            Violation(
                "clean_exit",
                None,
                None,
                "the graceful stop reported orders still open",
                end.orders_left,
            )
        )
    return found


def position_within_limit(record: RunRecord) -> list[Violation]:
    end = record.end
    found: list[Violation] = []
    for symbol in end.symbols:
        limits = end.limits.get(symbol)
        if limits is None:
            continue
        bound = limits.max_position + limits.largest_order
        base = end.base_assets.get(symbol)
        position = Decimal(0)
        for fill in record.history.fills(end.account, symbol):
            position += fill.quantity if fill.side is Side.BUY else -fill.quantity
            if fill.fee and fill.fee_asset == base:
                position -= fill.fee
            if abs(position) > bound:
                found.append(
                    Violation(
                        "position_within_limit",
                        seconds_in(record, fill.time_ms),
                        symbol,
                        f"position {position} past max_position {limits.max_position} plus "
                        f"one order ({limits.largest_order})",
                        (fill.client_order_id,) if fill.client_order_id else (),
                    )
                )
                break  # the first breach says it; the rest follow from it
    return found


def cancel_all_complete(record: RunRecord) -> list[Violation]:
    end = record.end
    if not end.stopped_seq:
        if end.error is None:
            return [
                Violation("cancel_all_complete", None, None, "the graceful stop never returned")
            ]
        return []  # the bot failed: clean_exit says so
    still = _walk_open(record, stop=lambda seq, _time_ms: seq > end.stopped_seq)
    return [
        Violation(
            "cancel_all_complete",
            None,
            order.symbol,
            f"order {order.order_id} still open when the graceful stop returned",
            (order.client_order_id,),
            (end.stopped_seq,),
        )
        for order in still.values()
    ]


def symbol_isolation(record: RunRecord) -> list[Violation]:
    end = record.end
    aimed = [f for f in end.faults if f.symbols is not None]
    if not aimed:
        return []
    last = record.history.entries(since_seq=record.history.last_seq - 1)
    until_ms = end.heal_ms or (last[0].time_ms if last else end.start_ms)
    resting = _resting_intervals(record, until_ms)
    gap_ms = round(ISOLATION_GAP_S * 1000)
    found: list[Violation] = []
    for symbol in end.symbols:
        spans = resting.get(symbol, [])
        if not spans:
            continue  # it never quoted at all: resumes_after_heal and the rest say so
        first_ms = spans[0][0]
        for fault in aimed:
            assert fault.symbols is not None
            if symbol in fault.symbols:
                continue
            # the stretches of the fault where nothing else could touch this symbol
            clean = _subtract(
                [(max(fault.start_ms, first_ms), fault.end_ms)],
                [
                    (other.start_ms, other.end_ms)
                    for other in end.faults
                    if other.symbols is None or symbol in other.symbols
                ],
            )
            for start, stop in _subtract(clean, spans):
                if stop - start > gap_ms:
                    found.append(
                        Violation(
                            "symbol_isolation",
                            seconds_in(record, start),
                            symbol,
                            f"no order resting from {seconds_in(record, start):.3f} s to "
                            f"{seconds_in(record, stop):.3f} s, during a fault aimed at "
                            f"{', '.join(sorted(fault.symbols))} only"
                            + (f" ({fault.describe})" if fault.describe else ""),
                        )
                    )
                    break  # one per fault and symbol
    return found


def _resting_intervals(record: RunRecord, until_ms: int) -> dict[str, list[tuple[int, int]]]:
    """Per symbol, the stretches (start, end ms) in which an order of the bot's (any run)
    rested at the exchange, up to ``until_ms``."""
    spans: dict[str, list[tuple[int, int]]] = {}
    since: dict[str, int] = {}

    def watch(
        seq: int, time_ms: int, report: Execution, open_orders: dict[OrderKey, Execution]
    ) -> None:
        symbol = report.symbol
        busy = any(order.symbol == symbol for order in open_orders.values())
        if busy and symbol not in since:
            since[symbol] = time_ms
        elif not busy and symbol in since:
            spans.setdefault(symbol, []).append((since.pop(symbol), time_ms))

    _walk_open(record, watch, stop=lambda seq, time_ms: time_ms > until_ms)
    for symbol, start in since.items():
        spans.setdefault(symbol, []).append((start, until_ms))
    return spans


def _subtract(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with every stretch of ``holes`` taken out (each list of (start, end))."""
    out = [(a, b) for a, b in spans if b > a]
    for hole_start, hole_end in holes:
        cut: list[tuple[int, int]] = []
        for a, b in out:
            if hole_end <= a or hole_start >= b:
                cut.append((a, b))
                continue
            if a < hole_start:
                cut.append((a, hole_start))
            if hole_end < b:
                cut.append((hole_end, b))
        out = cut
    return out


def check_replay(first_digest: str, second_digest: str) -> list[Violation]:
    """``deterministic_replay``: two runs of one seed gave one digest."""
    if first_digest == second_digest:
        return []
    return [
        Violation(
            "deterministic_replay",
            None,
            None,
            f"the same seed gave two trace digests: {first_digest[:16]} and {second_digest[:16]}",
        )
    ]


#: The checkers that read one run's record (``deterministic_replay`` needs two runs).
CHECKERS: Mapping[str, Callable[[RunRecord], list[Violation]]] = {
    "no_orphan_orders": no_orphan_orders,
    "no_duplicate_orders": no_duplicate_orders,
    "quotes_never_cross": quotes_never_cross,
    "ledger_matches_exchange": ledger_matches_exchange,
    "resumes_after_heal": resumes_after_heal,
    "no_ban": no_ban,
    "clean_exit": clean_exit,
    "position_within_limit": position_within_limit,
    "cancel_all_complete": cancel_all_complete,
    "no_quotes_on_stale_book": no_quotes_on_stale_book,
    "no_request_during_retry_after": no_request_during_retry_after,
    "symbol_isolation": symbol_isolation,
}


def check(record: RunRecord, invariants: Sequence[str]) -> dict[str, list[Violation]]:
    """Each named invariant's violations (``deterministic_replay`` is left to the runner)."""
    return {name: CHECKERS[name](record) for name in invariants if name in CHECKERS}
