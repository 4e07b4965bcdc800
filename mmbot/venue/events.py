"""Typed, frozen values that venue streams deliver: market data and user events (sans-IO).

What it is for: the values a venue's market-data streams (:class:`DepthUpdate`,
:class:`DepthSnapshot`, :class:`BookTicker`, :class:`PublicTrade`) and its user stream
(:data:`UserEvent`: order events built on :class:`ExecutionReport`, balance events,
:class:`StreamGap` / :class:`Resynced`, and what the adapter concludes itself:
:class:`OrderGone`, :class:`VenueReset`) carry across the venue seam. Users import them from
``mmbot.venue``.

What it must never do: do I/O, import trio or a transport library, or know which venue
produced a value (sans-IO cores such as ``venue/book.py`` import these values).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Side, TimeInForce

#: A price level on the wire: (price, quantity); quantity 0 removes the level.
Level = tuple[Decimal, Decimal]


# ---- balances -------------------------------------------------------------------------


@attrs.frozen
class Balance:
    asset: str
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


# ---- market data ----------------------------------------------------------------------


@attrs.frozen
class DepthUpdate:
    """A diff of the public book covering update ids ``first_update_id..final_update_id``.

    Levels carry the new absolute quantity; quantity 0 removes the level.
    """

    symbol: str
    first_update_id: int  # U
    final_update_id: int  # u
    event_time_ms: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@attrs.frozen
class DepthSnapshot:
    """The public book at ``last_update_id`` (REST ``/depth``), best levels first."""

    symbol: str
    last_update_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@attrs.frozen
class BookTicker:
    symbol: str
    update_id: int
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal


@attrs.frozen
class PublicTrade:
    symbol: str
    trade_id: int
    price: Decimal
    quantity: Decimal
    trade_time_ms: int
    event_time_ms: int
    buyer_is_maker: bool


# ---- user events ----------------------------------------------------------------------


@attrs.frozen
class ExecutionReport:
    """Every field of the dialect's ``executionReport`` that mmbot reads."""

    event_time_ms: int  # E
    symbol: str  # s
    client_order_id: str  # c
    side: Side  # S
    order_type: OrderType  # o
    time_in_force: TimeInForce  # f
    quantity: Decimal  # q
    price: Decimal  # p
    execution_type: ExecutionType  # x
    status: OrderStatus  # X
    reject_reason: str  # r ("NONE" unless rejected)
    order_id: int  # i
    last_qty: Decimal  # l
    cumulative_qty: Decimal  # z (only grows)
    last_price: Decimal  # L
    commission: Decimal  # n
    commission_asset: str | None  # N
    transaction_time_ms: int  # T
    trade_id: int  # t (-1 if none)
    is_maker: bool  # m
    orig_client_order_id: str  # C ("" unless cancelled)
    cumulative_quote_qty: Decimal  # Z
    is_working: bool = False  # w
    order_creation_time_ms: int | None = None  # O
    working_time_ms: int | None = None  # W
    last_quote_qty: Decimal | None = None  # Y
    quote_order_qty: Decimal | None = None  # Q


@attrs.frozen
class _OrderEvent:
    """Common face of the order events: the full report plus its identifying fields."""

    report: ExecutionReport

    @property
    def symbol(self) -> str:
        return self.report.symbol

    @property
    def order_id(self) -> int:
        return self.report.order_id

    @property
    def client_order_id(self) -> str:
        """The order's own client id (on a cancel, ``c`` names the cancel and ``C`` the order)."""
        return self.report.orig_client_order_id or self.report.client_order_id

    @property
    def status(self) -> OrderStatus:
        return self.report.status

    @property
    def cumulative_qty(self) -> Decimal:
        return self.report.cumulative_qty


@attrs.frozen
class OrderAccepted(_OrderEvent):
    """The order is on the book (execution type NEW; also REPLACED)."""


@attrs.frozen
class OrderFilled(_OrderEvent):
    """A trade of the order; de-duplicate by ``fill.key`` (symbol, order id, trade id)."""

    fill: Fill


@attrs.frozen
class OrderCancelled(_OrderEvent):
    """Cancelled; ``report.orig_client_order_id`` names the order when cancelled by id."""


@attrs.frozen
class OrderRejected(_OrderEvent):
    reason: str


@attrs.frozen
class OrderExpired(_OrderEvent):
    """Expired by time in force, by the venue (maintenance), or by self-trade prevention."""


@attrs.frozen
class OrderGone(_OrderEvent):
    """The venue no longer knows an order the stream believed open: it has left the book
    with no further fills, and nothing will ever be reported about it again. Terminal.

    Found two ways: the venue answers a query for it with -2013 (order does not exist), or
    its order ids went backwards (a restarted venue: every order believed open before the
    restart is gone, ``venue_reset`` True). ``report`` is the stream's last knowledge of the
    order (execution type and status EXPIRED, the cumulative quantity delivered so far);
    ``reason`` says how it was found gone.
    """

    reason: str
    venue_reset: bool = False


@attrs.frozen
class BalanceChanged:
    """``outboundAccountPosition``: the new balances of the assets that changed."""

    event_time_ms: int
    balances: tuple[Balance, ...]
    last_update_ms: int | None = None


@attrs.frozen
class BalanceDelta:
    """``balanceUpdate``: a deposit, withdrawal or transfer (not a trade)."""

    event_time_ms: int
    asset: str
    delta: Decimal
    clear_time_ms: int | None = None


@attrs.frozen
class StreamGap:
    """Events may have been lost since the last one delivered: reconcile over REST."""

    reason: str
    event_time_ms: int | None = None


@attrs.frozen
class VenueReset:
    """The venue's order ids went backwards on ``symbol`` (a restarted venue): the stream
    resynchronised it. Orders and fills from before may share (order id, trade id) with
    later ones, so de-duplication keyed on them starts afresh for the symbol; the orders
    believed open there follow as :class:`OrderGone` (``venue_reset`` True)."""

    symbol: str
    reason: str
    event_time_ms: int | None = None


@attrs.frozen
class Resynced:
    """The stream is live again after a :class:`StreamGap`; events from here on are complete."""

    reason: str = ""


OrderEvent = OrderAccepted | OrderFilled | OrderCancelled | OrderRejected | OrderExpired | OrderGone
UserEvent = OrderEvent | BalanceChanged | BalanceDelta | StreamGap | Resynced | VenueReset
