"""The venue seam: the ``Venue`` protocol and the typed, frozen values that cross it (sans-IO).

What it is for: the one interface through which the bot talks to an exchange (DESIGN.md
§3-4). Requests are values (:class:`PlaceRequest`, :class:`OrderRef`, ...); every call
returns a :class:`VenueResult` whose ``outcome`` is ``OK``, ``FAILED`` (with the venue's
code and reason) or ``UNKNOWN`` (with the cause), so the adapter and the quoter handle all
calls alike. Streams deliver :class:`~mmbot.model.BookSnapshot` values per symbol and
:data:`UserEvent` values for the account.

What it must never do: raise a transport exception (httpx, wsproto, trio-websocket) out of a
call, know which implementation is behind it, or do I/O. It imports trio only for type
checking, so sans-IO cores (``venue/book.py``) may import these values.

Streams are trio receive channels opened as async context managers::

    async with venue.book_stream("BTCUSDT") as books:
        async for book in books: ...   # BookSnapshot; conflated (newest wins)
    async with venue.book_stream("BTCUSDT", on_update=wake) as books:
        book = books.receive_nowait()  # after each wake(): the newest, or trio.WouldBlock
    async with venue.user_stream() as events:
        async for event in events: ...  # UserEvent; never conflated, never reordered

Leaving the ``async with`` unsubscribes. A book channel may skip intermediate snapshots when
the consumer is slow, but a snapshot with ``is_valid=False`` is never skipped in favour of an
older valid one. The user channel never drops silently: after a reconnect (or an overflow,
or an undecodable event) it delivers :class:`StreamGap`, and once the subscription is live
again :class:`Resynced`; the consumer then reconciles open orders and trades over REST.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, NoReturn, Protocol, TypeVar

import attrs

from mmbot.errors import (
    CircuitOpen,
    MmbotError,
    RateLimited,
    RetryBudgetExhausted,
    VenueError,
    VenueRejected,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import (
    Fill,
    Instrument,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
    TimeInForce,
)
from mmbot.resilience.outcomes import outcome_of
from mmbot.venue.events import Balance, PublicTrade, UserEvent

if TYPE_CHECKING:
    import trio

    from mmbot.model import BookSnapshot

T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")

# ---- results --------------------------------------------------------------------------


@attrs.frozen
class VenueResult(Generic[T_co]):
    """The three-valued outcome of one venue call (DESIGN.md §4.2).

    Invariant: ``value`` is set if and only if ``outcome`` is OK. ``code`` is the venue's
    error code when it gave one (FAILED, or UNKNOWN from -1007); ``reason`` says why in
    words (the venue's message, or the cause of an unknown outcome). ``retry_after`` (s) is
    the venue's or breaker's hint before asking again.
    """

    outcome: Outcome
    value: T_co | None = None
    code: int | None = None
    reason: str = ""
    http_status: int | None = None
    retry_after: float | None = None

    @property
    def is_ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def is_failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    @property
    def is_unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN

    def unwrap(self) -> T_co:
        """The value, or the matching ``mmbot.errors`` exception (never a library one)."""
        if self.outcome is Outcome.OK and self.value is not None:
            return self.value
        raise self.to_exception()

    def to_exception(self) -> MmbotError:
        """The exception this outcome stands for (OK has none: a ``ValueError``)."""
        if self.outcome is Outcome.UNKNOWN:
            return VenueUnknown(self.reason, code=self.code, http_status=self.http_status)
        if self.outcome is Outcome.FAILED:
            if self.code is None:  # never sent (connect refused, breaker open)
                return VenueUnavailable(self.reason)
            if self.retry_after is not None:
                return RateLimited(
                    self.code, self.reason, retry_after=self.retry_after,
                    http_status=self.http_status,
                )  # fmt: skip
            return VenueRejected(self.code, self.reason, http_status=self.http_status)
        raise ValueError("an OK result stands for no exception")

    def map(self, fn: Callable[[T_co], U]) -> VenueResult[U]:
        """Apply ``fn`` to an OK value; FAILED and UNKNOWN pass through unchanged."""
        if self.outcome is Outcome.OK and self.value is not None:
            return VenueResult(Outcome.OK, fn(self.value))
        return VenueResult(
            self.outcome,
            None,
            code=self.code,
            reason=self.reason,
            http_status=self.http_status,
            retry_after=self.retry_after,
        )


def ok(value: U) -> VenueResult[U]:
    return VenueResult(Outcome.OK, value)


def failed(
    code: int | None,
    reason: str,
    *,
    http_status: int | None = None,
    retry_after: float | None = None,
) -> VenueResult[NoReturn]:
    """Known not to have happened: the venue refused (code) or it could not be sent (None)."""
    return VenueResult(
        Outcome.FAILED, None, code=code, reason=reason, http_status=http_status,
        retry_after=retry_after,
    )  # fmt: skip


def unknown(
    reason: str, *, code: int | None = None, http_status: int | None = None
) -> VenueResult[NoReturn]:
    """May or may not have happened (timeout, reset, 5xx, -1007): resolve, never resend."""
    return VenueResult(Outcome.UNKNOWN, None, code=code, reason=reason, http_status=http_status)


def from_exception(exc: MmbotError) -> VenueResult[NoReturn]:
    """The result of a call that ended with one of mmbot's own errors: the one mapping from
    errors to results (:meth:`VenueResult.to_exception` is its inverse).

    Whether it is FAILED or UNKNOWN is decided by
    :func:`mmbot.resilience.outcomes.outcome_of`, the one place that decides what an
    exception means; this keeps the venue's code, message, HTTP status and ``retry_after``.
    A breaker refusal was never sent: FAILED with ``retry_after``. An exhausted retry budget
    stands for the error it stopped on. Anything else that is not a venue error is a bug and
    is re-raised.
    """
    if isinstance(exc, RetryBudgetExhausted) and isinstance(exc.__cause__, MmbotError):
        return from_exception(exc.__cause__)
    if not isinstance(exc, VenueError | CircuitOpen):
        raise exc
    if outcome_of(exc) is Outcome.UNKNOWN:
        if isinstance(exc, VenueUnknown):
            return unknown(str(exc), code=exc.code, http_status=exc.http_status)
        return unknown(str(exc))
    if isinstance(exc, RateLimited):
        return failed(exc.code, exc.msg, http_status=exc.http_status, retry_after=exc.retry_after)
    if isinstance(exc, VenueRejected):
        return failed(exc.code, exc.msg, http_status=exc.http_status)
    if isinstance(exc, CircuitOpen):
        return failed(None, str(exc), retry_after=exc.retry_after)
    return failed(None, str(exc))  # VenueUnavailable: never sent


# ---- requests -------------------------------------------------------------------------


@attrs.frozen
class PlaceRequest:
    """A new order. LIMIT needs ``price`` and ``time_in_force``; LIMIT_MAKER needs ``price``."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    client_order_id: str
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None


@attrs.frozen
class OrderRef:
    """Names one order by exchange id, client order id, or both (at least one)."""

    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


class CancelReplaceMode(enum.Enum):
    STOP_ON_FAILURE = "STOP_ON_FAILURE"  # the new order is not tried if the cancel fails
    ALLOW_FAILURE = "ALLOW_FAILURE"  # the new order is tried either way


@attrs.frozen
class CancelReplaceRequest:
    cancel: OrderRef
    new: PlaceRequest
    mode: CancelReplaceMode = CancelReplaceMode.STOP_ON_FAILURE


# ---- answers --------------------------------------------------------------------------


@attrs.frozen
class OrderInfo:
    """One order as the venue reports it (query, cancel, open orders, placement RESULT)."""

    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce | None
    price: Decimal
    orig_qty: Decimal
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    status: OrderStatus
    time_ms: int | None = None  # creation (query/open orders) or transaction time
    update_time_ms: int | None = None
    # On a cancel answer the venue names the cancel request too (its "clientOrderId");
    # ``client_order_id`` above is always the order's own id ("origClientOrderId" there).
    cancel_client_order_id: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@attrs.frozen
class PlaceAck:
    """An accepted order. ``order`` is None for an ACK-type answer; ``fills`` are FULL's."""

    symbol: str
    order_id: int
    client_order_id: str
    transact_time_ms: int
    order: OrderInfo | None = None
    fills: tuple[Fill, ...] = ()


@attrs.frozen
class CancelReplaceResult:
    """Per-part results of a cancel-replace the venue answered (HTTP 200 or 409).

    ``new`` is None when the new order was not attempted (STOP_ON_FAILURE after a failed
    cancel). The call's own outcome is OK whenever the venue answered with these parts.
    """

    cancel: VenueResult[OrderInfo]
    new: VenueResult[PlaceAck] | None

    @property
    def fully_ok(self) -> bool:
        return self.cancel.is_ok and self.new is not None and self.new.is_ok


PlaceOutcome = VenueResult[PlaceAck]
CancelOutcome = VenueResult[OrderInfo]
CancelReplaceOutcome = VenueResult[CancelReplaceResult]


# ---- the protocol ---------------------------------------------------------------------


class BookStream(Protocol):
    """A conflated channel of one symbol's books (what ``Venue.book_stream`` opens):
    ``receive`` waits for a snapshot newer than the last one returned; ``receive_nowait``
    returns it at once or raises ``trio.WouldBlock`` (``trio.EndOfChannel`` once the
    stream has stopped)."""

    async def receive(self) -> BookSnapshot: ...

    def receive_nowait(self) -> BookSnapshot: ...

    def __aiter__(self) -> BookStream: ...

    async def __anext__(self) -> BookSnapshot: ...


class Venue(Protocol):
    """What the bot needs from an exchange. Every call returns a :class:`VenueResult`.

    Calls are checkpoints and may be cancelled; cancellation propagates (it is not an
    outcome). Each call has its own deadline inside the implementation; a deadline that
    expires after the request was sent gives UNKNOWN.
    """

    async def instruments(self) -> VenueResult[tuple[Instrument, ...]]: ...

    async def server_time(self) -> VenueResult[int]:
        """The venue's clock in epoch milliseconds."""
        ...

    async def place(self, request: PlaceRequest) -> PlaceOutcome: ...

    async def cancel(self, ref: OrderRef) -> CancelOutcome: ...

    async def cancel_replace(self, request: CancelReplaceRequest) -> CancelReplaceOutcome: ...

    async def cancel_all(self, symbol: str) -> VenueResult[tuple[OrderInfo, ...]]: ...

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]: ...

    async def open_orders(
        self, symbol: str | None = None
    ) -> VenueResult[tuple[OrderInfo, ...]]: ...

    async def balances(self) -> VenueResult[tuple[Balance, ...]]: ...

    async def trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> VenueResult[tuple[Fill, ...]]:
        """The account's trades; ``Fill.client_order_id`` is "" (the venue omits it)."""
        ...

    def book_stream(
        self, symbol: str, on_update: Callable[[], None] | None = None
    ) -> AbstractAsyncContextManager[BookStream]: ...

    def public_trades(self, symbol: str, after_id: int) -> Sequence[tuple[float, PublicTrade]]:
        """The symbol's public trades received with an id above ``after_id``, oldest first,
        each with the trio time it arrived; empty unless the venue keeps them (a bounded
        number: a reader that falls far behind misses the oldest)."""
        ...

    def user_stream(self) -> AbstractAsyncContextManager[trio.abc.ReceiveChannel[UserEvent]]: ...

    async def aclose(self) -> None: ...
