"""The invariants read from the bot's side of a chaos run (sans-IO).

What it is for: the checkers that read what crossed the bot's boundary
(:mod:`mmbot.chaos.history`, recorded by :mod:`mmbot.chaos.tap` in simulated mode) rather
than the exchange's truth log:

- ``no_quotes_on_stale_book``: no order was sent while the book the bot had been given for
  that symbol was older than its ``stale_after``, or not in sync by the dialect's rules:
  before a snapshot came after the stream connection carrying it opened, and after a diff
  whose first update id did not follow the last applied one (a gap) until a snapshot that
  reaches it; old and duplicate diffs are ignored, a snapshot older than the first diff
  after a gap fixes nothing. A send within ``SEND_GRACE_MS`` of the book going bad is
  allowed (a decision on a good book on its way out).
- ``no_request_during_retry_after``: after a 429 or 418 reached the bot, that bot sent no
  request (REST or WebSocket API, any endpoint: the venue's limits are per IP) until its
  Retry-After had passed (the dialect's default when none came), but for
  ``THROTTLE_GRACE_MS`` after it arrived (a request already on its way out).
- the ``breakers_open`` expectation of a scenario (:func:`breakers_opened`).

What it must never do: I/O, read a clock, or change the history it reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from mmbot.chaos.history import BookData, BreakerChange, Completion, Invoke, StreamEvent
from mmbot.chaos.record import RunRecord, SymbolLimits, Violation, seconds_in

#: The invariants that read the bot's side of the history (recorded in simulated mode).
BOT_SIDE: tuple[str, ...] = ("no_quotes_on_stale_book", "no_request_during_retry_after")

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
                        seconds_in(record, item.time_ms),
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
                    seconds_in(record, item.time_ms),
                    item.symbol,
                    f"{item.operation} sent {(until - item.time_ms) / 1000:.3f} s before the "
                    f"Retry-After of a {cause.status} ({(until - cause.time_ms) / 1000:g} s, at "
                    f"{seconds_in(record, cause.time_ms):.3f} s) had passed",
                    (item.client_order_id,) if item.client_order_id else (),
                )
            )
            del throttled[item.incarnation]  # one violation per throttled window
    return found


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
