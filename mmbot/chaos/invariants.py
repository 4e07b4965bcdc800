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
- ``no_quotes_on_stale_book`` (reads the bot's side, :mod:`mmbot.chaos.history`): no order
  was sent while the book the bot had been given for that symbol was older than its
  ``stale_after``, or not in sync by the dialect's rules: before a snapshot came after the
  stream connection carrying it opened, and after a diff whose first update id did not
  follow the previous one's last (a gap) until a snapshot came after it. A send within
  ``SEND_GRACE_MS`` of the book going bad is allowed (a decision on a good book on its way
  out).
- ``symbol_isolation``: while a fault aimed at some symbols only lasts, every other symbol
  (from its first resting order on) never goes more than ``ISOLATION_GAP_S`` without an
  order of the bot's resting, in the stretches no other fault (one not aimed at symbols, or
  aimed at it too) could explain.
- ``no_request_during_retry_after`` (the bot's side): after a 429 or 418 reached the bot with
  a Retry-After, that bot sent no request (REST or WebSocket API, any endpoint: the venue's
  limits are per IP) until the Retry-After had passed (but for ``THROTTLE_GRACE_MS`` after
  it arrived: a request already on its way out).

What it must never do: I/O, read a clock, or change the history it reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

import attrs

from mmbot.chaos.history import (
    BookData,
    BotHistory,
    BreakerChange,
    Completion,
    Invoke,
    StreamEvent,
)
from mmbot.model import ExecutionType, Side
from mmbot.quoting.orders.client_ids import parse_client_order_id, parse_slot
from mmbot.sim.engine import Execution
from mmbot.sim.history.log import EntryKind, History, RequestRecord

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

#: The invariants that read the bot's side of the history (recorded in simulated mode).
BOT_SIDE: tuple[str, ...] = ("no_quotes_on_stale_book", "no_request_during_retry_after")

#: ``resumes_after_heal``: an order of the last run resting at any instant of this many
#: seconds before the deadline shows the symbol quoting (a fill at the edge empties a slot).
RESUME_WINDOW_S = 2.0

#: ``symbol_isolation``: the longest a symbol a fault was not aimed at may rest no order of
#: the bot's while the fault lasts (a fill is requoted within a decision; this is slack).
ISOLATION_GAP_S = 5.0

#: A 429 or 418 and the wait a client owes it when no Retry-After came (the dialect's
#: defaults, as the bot's REST client keeps them).
_THROTTLED: Mapping[int, float] = {429: 60.0, 418: 120.0}

#: How long after a book went stale or out of sync an order may still leave the bot: the
#: decision that sent it was made on a good book an instant before.
SEND_GRACE_MS = 100
#: How long after a 429/418 reached the bot's socket a request may still leave it: the frame
#: is read by one task and acted on by another a few scheduling steps later (in a simulated
#: run, the same instant), while a request admitted before it is on its way out.
THROTTLE_GRACE_MS = 10


@attrs.frozen
class Violation:
    """One breach of an invariant, with its witnesses in the history."""

    invariant: str
    time_s: float | None  # seconds since the run started (None: about the run as a whole)
    symbol: str | None
    detail: str
    orders: tuple[str, ...] = ()  # client order ids involved
    seqs: tuple[int, ...] = ()  # history entries that witness it

    def describe(self) -> str:
        at = "" if self.time_s is None else f" at {self.time_s:.3f} s"
        where = "" if self.symbol is None else f" [{self.symbol}]"
        orders = f" orders {', '.join(self.orders)}" if self.orders else ""
        seqs = f" (history #{', #'.join(map(str, self.seqs))})" if self.seqs else ""
        return f"{self.invariant}{at}{where}: {self.detail}{orders}{seqs}"


@attrs.frozen
class SymbolLimits:
    """What the bot's quoting allows on one symbol."""

    stale_after: float  # seconds: a book older than this is not quoted on
    max_position: Decimal  # base units
    largest_order: Decimal  # base units: its largest single order


@attrs.frozen
class FaultWindow:
    """When a fault of the run was in effect and which symbols it was aimed at (None: not
    aimed at symbols: every symbol may feel it)."""

    start_ms: int
    end_ms: int
    symbols: frozenset[str] | None = None
    describe: str = ""


@attrs.frozen
class BotEnd:
    """What the bot said of itself when it ended, and where the run's phases ended."""

    prefix: str  # its client-id prefix ("mm")
    account: str  # the exchange account its key trades for
    start_ms: int  # exchange time the run started
    error: str | None  # an unhandled error that ended it (None: it stopped as asked)
    orders_left: tuple[str, ...]  # client ids its graceful stop reported still open
    fills: Mapping[str, int]  # per symbol, the fills it booked
    positions: Mapping[str, Decimal]  # per symbol, its position (base units)
    healed_seq: int  # the last history entry before the liveness phase's end (its stop)
    heal_seq: int = 0  # the last history entry before every fault was healed
    heal_ms: int = 0  # exchange time every fault was healed
    resumes_within_s: float = math.inf  # how soon after that the bot must quote again
    #: The final bot's ledger holds the account's fills from this exchange time on (its
    #: start; an earlier incarnation's are not its to know).
    ledger_since_ms: int = 0
    run_id: str = ""  # the final bot's run id ("": any run of the prefix)
    symbols: tuple[str, ...] = ()
    base_assets: Mapping[str, str] = attrs.field(factory=dict)  # symbol -> its base asset
    #: The last history entry when the graceful stop returned (0: it never did).
    stopped_seq: int = 0
    limits: Mapping[str, SymbolLimits] = attrs.field(factory=dict)
    #: The run's faults and crashes in effect, for ``symbol_isolation`` (empty: not told).
    faults: tuple[FaultWindow, ...] = ()


@attrs.frozen
class RunRecord:
    """Everything a checker reads: the exchange's truth, the bot's end, and what crossed
    the bot's boundary (None: not recorded; the checkers that read it find nothing)."""

    history: History
    end: BotEnd
    bot: BotHistory | None = None


def _seconds(record: RunRecord, time_ms: int) -> float:
    return (time_ms - record.end.start_ms) / 1000


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
                    _seconds(record, time_ms),
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
                    _seconds(record, time_ms),
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
            _seconds(record, deadline_ms),
            symbol,
            f"no order of the bot's resting in the {min(RESUME_WINDOW_S, end.resumes_within_s):g}"
            f" s up to {end.resumes_within_s:g} s after every fault was healed at "
            f"{_seconds(record, end.heal_ms):.3f} s",
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
                    _seconds(record, entry.time_ms),
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
                        _seconds(record, fill.time_ms),
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


@attrs.define
class _Book:
    """The checker's own view of one symbol's book in one bot incarnation."""

    last_data_ms: int | None = None  # when it last received book data
    bad_since_ms: int | None = 0  # out of sync since (None: in sync)
    why: str = "no snapshot yet"
    connection: int = 0  # the stream connection its diffs come on
    last_id: int | None = None  # the last update id applied (diffs on that connection)
    chain_first: int | None = None  # the first update id after a gap (a snapshot must reach it)


def no_quotes_on_stale_book(record: RunRecord) -> list[Violation]:
    trace, end = record.bot, record.end
    if trace is None:
        return []
    books: dict[tuple[int, str], _Book] = {}
    found: list[Violation] = []
    for item in trace.records:
        if isinstance(item, BookData):
            book = books.setdefault((item.incarnation, item.symbol), _Book())
            _receive(book, item)
        elif isinstance(item, StreamEvent) and not item.opened:
            for (incarnation, _symbol), book in books.items():
                if incarnation == item.incarnation and book.connection == item.connection:
                    if book.bad_since_ms is None:
                        book.bad_since_ms, book.why = item.time_ms, "its stream connection ended"
                    book.connection, book.last_id = 0, None
        elif isinstance(item, Invoke) and item.places and item.symbol is not None:
            limits = end.limits.get(item.symbol)
            book = books.get((item.incarnation, item.symbol), _Book())
            problem = _stale(book, item.time_ms, limits)
            if problem is not None:
                found.append(
                    Violation(
                        "no_quotes_on_stale_book",
                        _seconds(record, item.time_ms),
                        item.symbol,
                        f"{item.operation} sent while {problem}",
                        (item.client_order_id,) if item.client_order_id else (),
                    )
                )
    return found


def _receive(book: _Book, data: BookData) -> None:
    """The dialect's rules, as the checker keeps them: a diff whose last update id is not
    past the last one applied is old or a duplicate (ignored: it refreshes nothing); a diff
    that skips ids is a gap (bad until a snapshot that reaches it); a snapshot below the
    first id after the gap is stale (it fixes nothing); diffs on a new connection start a
    new chain."""
    if data.snapshot:
        if book.chain_first is not None and data.last < book.chain_first - 1:
            return  # stale: older than the first diff the book is missing
        book.last_data_ms = data.time_ms
        book.bad_since_ms = None
        book.chain_first = None
        book.last_id = data.last if book.last_id is None else max(book.last_id, data.last)
        return
    if data.connection != book.connection:  # diffs on another connection: a new chain
        book.connection, book.last_id = data.connection, data.last
        book.last_data_ms = data.time_ms
        if book.bad_since_ms is not None:  # the snapshot that syncs it must reach this diff
            book.chain_first = data.first
        return
    if book.last_id is not None and data.last <= book.last_id:
        return  # old or a duplicate
    if book.last_id is not None and data.first > book.last_id + 1:
        if book.bad_since_ms is None:
            book.bad_since_ms = data.time_ms
            book.why = f"a gap in its depth diffs (update {book.last_id} then {data.first})"
        book.chain_first = data.first  # the newest gap: a snapshot must reach past it
    book.last_id = data.last
    book.last_data_ms = data.time_ms


def _stale(book: _Book, now_ms: int, limits: SymbolLimits | None) -> str | None:
    if book.bad_since_ms is not None and now_ms - book.bad_since_ms > SEND_GRACE_MS:
        return f"its book was out of sync ({book.why})"
    if limits is None or book.last_data_ms is None or math.isinf(limits.stale_after):
        return None
    age_ms = now_ms - book.last_data_ms
    if age_ms > limits.stale_after * 1000 + SEND_GRACE_MS:
        return f"its book was {age_ms / 1000:.3f} s old (stale after {limits.stale_after:g} s)"
    return None


def no_request_during_retry_after(record: RunRecord) -> list[Violation]:
    trace = record.bot
    if trace is None:
        return []
    found: list[Violation] = []
    invokes = {i.op: i for i in trace.of_kind(Invoke)}
    #: per incarnation: (throttled until ms, the completion that said so)
    throttled: dict[int, tuple[int, Completion]] = {}
    for item in trace.records:
        if isinstance(item, Completion) and item.status in _THROTTLED:
            source = invokes.get(item.op)
            if source is None:
                continue
            wait = item.retry_after_s
            if wait is None:  # none given: the client waits the dialect's default
                wait = _THROTTLED[item.status]
            until = item.time_ms + round(wait * 1000)
            previous = throttled.get(source.incarnation)
            if previous is None or previous[0] < until:
                throttled[source.incarnation] = (until, item)
        elif isinstance(item, Invoke):
            window = throttled.get(item.incarnation)
            if window is None or item.time_ms >= window[0]:
                continue
            until, cause = window
            if item.time_ms - cause.time_ms <= THROTTLE_GRACE_MS:
                continue
            found.append(
                Violation(
                    "no_request_during_retry_after",
                    _seconds(record, item.time_ms),
                    item.symbol,
                    f"{item.operation} sent {(until - item.time_ms) / 1000:.3f} s before the "
                    f"Retry-After of a {cause.status} ({(until - cause.time_ms) / 1000:g} s, at "
                    f"{_seconds(record, cause.time_ms):.3f} s) had passed",
                    (item.client_order_id,) if item.client_order_id else (),
                )
            )
            del throttled[item.incarnation]  # one violation per throttled window
    return found


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
                            _seconds(record, start),
                            symbol,
                            f"no order resting from {_seconds(record, start):.3f} s to "
                            f"{_seconds(record, stop):.3f} s, during a fault aimed at "
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


#: The name a scenario's ``breakers_open`` expectation is reported under.
BREAKERS_OPEN = "breakers_open"


def breakers_opened(record: RunRecord, expected: Sequence[str]) -> list[Violation]:
    """The scenario's expectation ``breakers_open``: each named endpoint class's breaker
    (``binance:orders``, ...) opened at least once, in any of the bot's runs (read from the
    bot's side of the history)."""
    trace = record.bot
    opened = set()
    if trace is not None:
        opened = {
            change.breaker.rsplit(":", 1)[-1]
            for change in trace.of_kind(BreakerChange)
            if change.state == "open"
        }
    return [
        Violation(
            BREAKERS_OPEN,
            None,
            None,
            f"the {name} breaker never opened, though the scenario expects it to (its faults "
            "did not bite where they were meant to)",
        )
        for name in expected
        if name not in opened
    ]


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
