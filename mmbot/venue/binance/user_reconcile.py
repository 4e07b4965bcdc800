"""What the user stream missed, asked of REST after a gap (the reconcile half of ``user.py``).

What it is for: :func:`missed_events` asks the REST client, for one symbol, for the open
orders, the account's trades not delivered yet and the final state of orders that are no
longer open, and turns the answers into events through
:class:`~mmbot.venue.binance.user_core.UserStreamState` (exactly once, in order).

Trades are paged forward with ``fromId`` from the last trade delivered. When nothing was
delivered yet on the symbol, the first trade since the stream started is found first: the
newest page, and if it is full and all of it is newer than the start, a search back with
one-trade probes (``fromId``, limit 1; trade ids grow with time), then bisection. At most
``max_trade_pages`` pages are read per call; past that the answer says it is incomplete (the
fills read so far are still reported, terminal states are held back), and the caller ends
the session so the next one carries on from the last trade delivered.

An order believed open that the venue answers -2013 for (order does not exist) is gone: one
:class:`~mmbot.venue.events.OrderGone`, and it is never asked about again. If the answers
show the venue's ids went backwards (a restarted venue: an open or queried order has the id
of a tracked order under another client order id, or the account's newest trade id is below
the last one delivered), the symbol is resynchronised
(:meth:`~mmbot.venue.binance.user_core.UserStreamState.resync`: the orders believed open are
gone, the rest forgotten) and reconciled again from scratch against what the venue has now.

What it must never do: report a fill twice or skip one; hide a failed REST call (it raises
:class:`ReconcileFailed`, which holds no credential); read a clock (``now_ms`` is passed in);
ask the venue again about an order it said does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn, Protocol

from mmbot.venue.base import OrderInfo, OrderRef, VenueResult

if TYPE_CHECKING:
    from mmbot.model import Fill
    from mmbot.venue.binance.user_core import UserStreamState
    from mmbot.venue.events import UserEvent

#: -2013: no such order. For an order believed open: it is gone (``OrderGone``).
NO_SUCH_ORDER = -2013
#: The reason of the ``OrderGone`` events and the gap of a resynchronised symbol.
WENT_BACKWARDS = "venue order ids went backwards (restarted venue): resynchronising"


class UserRest(Protocol):
    """What the user stream needs from the REST client: to reconcile after a gap, to read
    the server time again after its subscription was refused -1021, and room in its rate
    limiter for the subscription (it counts against the IP's weight)."""

    async def resync_time(self) -> None: ...

    async def admit_stream_request(self, operation: str) -> None: ...

    def stream_throttled(self, status: int, retry_after: float | None) -> None: ...

    async def open_orders(
        self, symbol: str | None = None
    ) -> VenueResult[tuple[OrderInfo, ...]]: ...

    async def trades(
        self,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> VenueResult[tuple[Fill, ...]]: ...

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]: ...


class ReconcileFailed(Exception):
    """A REST call of the reconcile failed; ``retry_after`` (s) is its hint, if any."""

    def __init__(self, what: str, result: VenueResult[object]) -> None:
        super().__init__(f"reconcile failed ({what}): {result.outcome.name} {result.reason}")
        self.retry_after = result.retry_after


def _fail(what: str, result: VenueResult[object]) -> NoReturn:
    raise ReconcileFailed(what, result)


async def missed_events(
    rest: UserRest,
    state: UserStreamState,
    symbol: str,
    *,
    now_ms: int,
    started_ms: int,
    trades_page: int,
    max_trade_pages: int,
) -> tuple[list[UserEvent], bool]:
    """The events missed on ``symbol`` (already recorded in ``state`` as delivered: emit
    them all), and whether that is everything (False: more trades than ``max_trade_pages``
    pages; call again). Raises :class:`ReconcileFailed` when a REST call fails."""
    opened = await rest.open_orders(symbol)
    if not opened.is_ok or opened.value is None:
        _fail(f"open orders of {symbol}", opened)
    pager = _TradePager(rest, symbol, trades_page)
    last = state.last_trade_id(symbol)
    fills, complete = await pager.missed(last, started_ms, max_trade_pages)
    finals: dict[int, OrderInfo] = {}
    gone: list[int] = []
    live = set(state.live_order_ids(symbol))
    for order_id in state.orders_to_query(symbol, opened.value, fills):
        answer = await rest.query_order(OrderRef(symbol, order_id=order_id))
        if answer.is_ok and answer.value is not None:
            finals[order_id] = answer.value
        elif answer.code == NO_SUCH_ORDER:
            if order_id in live:  # believed open, unknown to the venue: gone
                gone.append(order_id)
        else:
            _fail(f"order {order_id} of {symbol}", answer)
    if pager.went_backwards or state.went_backwards_in(symbol, opened.value, finals):
        resynced = state.resync(symbol, now_ms, WENT_BACKWARDS)
        # Once only: with the symbol forgotten, nothing can look backwards again.
        more, complete = await missed_events(
            rest, state, symbol, now_ms=now_ms, started_ms=started_ms,
            trades_page=trades_page, max_trade_pages=max_trade_pages,
        )  # fmt: skip
        return resynced + more, complete
    # Incomplete: no terminal states yet (an order's later fills may still be unread).
    events = state.reconcile(
        symbol, opened.value, fills, finals, now_ms, terminals=complete, gone=gone
    )
    return events, complete


class _TradePager:
    def __init__(self, rest: UserRest, symbol: str, page: int) -> None:
        self.rest = rest
        self.symbol = symbol
        self.page = page
        #: The account's newest trade id is below the last one delivered: the venue's
        #: trade ids went backwards (a restarted venue).
        self.went_backwards = False

    async def missed(
        self, last: int | None, started_ms: int, max_pages: int
    ) -> tuple[list[Fill], bool]:
        """The trades after ``last`` (None: since ``started_ms``), oldest first, and whether
        they are all."""
        since = -1
        if last is not None:
            from_id = last + 1
        else:  # nothing delivered yet: every trade since the stream started
            since = started_ms
            newest = sorted(await self._trades(None, self.page), key=_trade_id)
            if len(newest) < self.page or newest[0].time_ms < since:
                return [f for f in newest if f.time_ms >= since], True
            from_id = await self._first_trade_since(newest[0].trade_id, since)
        fills: list[Fill] = []
        for _ in range(max_pages):
            page = await self._trades(from_id, self.page)
            if not page and not fills and last is not None:
                # Nothing after the last trade delivered: is there a newest trade below it?
                top = await self._trades(None, 1)
                self.went_backwards = bool(top) and max(f.trade_id for f in top) < last
                return [], True
            fills.extend(f for f in page if f.time_ms >= since)
            if len(page) < self.page:
                return fills, True
            from_id = max(f.trade_id for f in page) + 1
        return fills, False

    async def _first_trade_since(self, known: int, since: int) -> int:
        """The smallest trade id from which the account's trades all happened at or after
        ``since`` (``known``: one that did): probe further and further back, then bisect."""
        hi, lo, step = known, -1, self.page  # invariant: is_since(hi), not is_since(lo)
        while lo < 0:
            probe = max(0, hi - step)
            after, first = await self._is_since(probe, since)
            if not after:
                lo = first  # a trade before ``since``: the answer lies in (lo, hi]
            elif probe == 0:
                return 0
            else:
                hi, step = probe, step * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            after, first = await self._is_since(mid, since)
            if after:
                hi = mid
            else:
                lo = max(mid, first)
        return hi

    async def _is_since(self, from_id: int, since: int) -> tuple[bool, int]:
        """Whether the first trade at or after ``from_id`` is at or after ``since``; its id."""
        page = await self._trades(from_id, 1)
        if not page:
            return True, from_id
        return page[0].time_ms >= since, page[0].trade_id

    async def _trades(self, from_id: int | None, limit: int) -> tuple[Fill, ...]:
        page = await self.rest.trades(self.symbol, from_id=from_id, limit=limit)
        if not page.is_ok or page.value is None:
            _fail(f"trades of {self.symbol}", page)
        return page.value


def _trade_id(fill: Fill) -> int:
    return fill.trade_id
