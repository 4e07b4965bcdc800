"""The contract of the fake exchange's matching engine (sans-IO).

What it is for: the commands the engine takes, the results it returns and the events it
emits, as frozen values; and :class:`EngineProtocol`, the interface the dialect, the market
simulator, the streams and the history code against. ``sim/engine/matching.py`` implements
it.

What it must never do: I/O, read a clock or draw randomness. Time enters as ``now_ms``
(exchange epoch milliseconds) on every call that changes state.

Conventions:
- Results are values, not exceptions: a refused command returns a ``DialectError`` (from
  ``venue/binance/errors.py``) carrying the dialect's error code and message.
- Every state change appends events to an internal queue; ``drain_events()`` hands them over
  in the order they happened. Each event names the ``account`` it concerns (public events:
  ``None``).
- Order ids and trade ids are per symbol, start at 1 and only grow. ``update_id`` is per
  symbol and grows by one for every change to a price level of the public book.
- Every value is a frozen attrs class. The three the engine builds on nearly every
  operation, :class:`Execution`, :class:`OrderView` and :class:`TradeView` (16 to 25
  fields each), are dict-based (``slots=False``): attrs sets a frozen slotted class's fields
  one by one through ``object.__setattr__`` (about a tenth of a microsecond each), a
  dict-based one's through its ``__dict__``, in well under half the time, for ~120 bytes
  more per value. The others keep their slots: they are small, or held in bulk by the
  history (book deltas, public trades), where memory counts more.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from mmbot.model import (
    ExecutionType,
    Instrument,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    TimeInForce,
)
from mmbot.venue.binance.errors import DialectError

#: A refused command: the dialect's code, message and HTTP status.


class ReplaceMode:
    STOP_ON_FAILURE = "STOP_ON_FAILURE"
    ALLOW_FAILURE = "ALLOW_FAILURE"


@attrs.frozen
class OrderRequest:
    """A new order, already parsed and typed by the dialect layer."""

    account: str
    symbol: str
    side: Side
    type: OrderType
    client_order_id: str
    quantity: Decimal | None = None
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None  # required for LIMIT, absent otherwise
    quote_order_qty: Decimal | None = None  # MARKET only, instead of quantity


@attrs.frozen(slots=False)
class OrderView:
    """A snapshot of one exchange order (what GET /order and the responses show).

    Dict-based: built on every place and cancel (see the module docstring).
    """

    account: str
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal  # 0 for MARKET
    orig_qty: Decimal
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    status: OrderStatus
    time_ms: int  # creation
    update_time_ms: int
    working_time_ms: int  # -1 if it never rested
    orig_client_order_id: str | None = None  # set on a cancelled order's view


@attrs.frozen(slots=False)
class TradeView:
    """One side of one trade, as the account that owns the order sees it (myTrades).

    Dict-based: built on every fill (see the module docstring).
    """

    account: str
    symbol: str
    trade_id: int
    order_id: int
    client_order_id: str
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_buyer: bool
    is_maker: bool


@attrs.frozen
class PlaceResult:
    """An accepted new order: its state after matching and the trades it took part in."""

    order: OrderView
    fills: tuple[TradeView, ...] = ()


@attrs.frozen
class ReplaceResult:
    """Outcome of cancel-replace; ``new`` is ``None`` when it was not attempted.

    The dialect answers 200 when both succeed, otherwise 409 with -2021 (one failed)
    or -2022 (both failed) and these parts in its ``data`` block.
    """

    cancel: OrderView | DialectError
    new: PlaceResult | DialectError | None


@attrs.frozen
class AmendResult:
    """An accepted ``order.amend.keepPriority``: the order after it and the execution's id.

    ``expired``: the new quantity was at or below what had already filled, so the order
    left the book (EXPIRED) instead of resting with less.
    """

    order: OrderView
    execution_id: int
    previous_client_order_id: str
    expired: bool = False


@attrs.frozen
class AssetBalance:
    asset: str
    free: Decimal
    locked: Decimal


# ---- events ---------------------------------------------------------------------------


@attrs.frozen(slots=False)
class Execution:
    """Every field of the dialect's ``executionReport`` (VENUE_DIALECT.md, user data).

    Dict-based: built on nearly every engine operation (see the module docstring).
    """

    account: str
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
    cumulative_qty: Decimal  # z
    last_price: Decimal  # L
    commission: Decimal  # n
    commission_asset: str | None  # N
    transaction_time_ms: int  # T
    trade_id: int  # t (-1 if none)
    is_maker: bool  # m
    orig_client_order_id: str  # C ("" unless cancelled)
    cumulative_quote_qty: Decimal  # Z
    is_working: bool = False  # w: on the book
    order_creation_time_ms: int = 0  # O
    execution_id: int = 0  # I: per symbol, grows by one for every execution report


@attrs.frozen
class AccountPosition:
    """``outboundAccountPosition``: balances of the assets that changed."""

    account: str
    event_time_ms: int
    balances: tuple[AssetBalance, ...]


@attrs.frozen
class BalanceUpdate:
    """``balanceUpdate``: a deposit or withdrawal (admin credit/debit), not a trade."""

    account: str
    event_time_ms: int
    asset: str
    delta: Decimal


@attrs.frozen
class TradePrint:
    """A trade on the public tape (``<symbol>@trade``)."""

    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    time_ms: int
    buyer_is_maker: bool
    account: None = None


@attrs.frozen
class BookDelta:
    """A price level of the public book changed to ``quantity`` (0: level removed)."""

    symbol: str
    update_id: int
    side: Side
    price: Decimal
    quantity: Decimal
    time_ms: int
    account: None = None


@attrs.frozen
class SymbolStatusChanged:
    symbol: str
    status: SymbolStatus
    time_ms: int
    account: None = None


EngineEvent = (
    Execution | AccountPosition | BalanceUpdate | TradePrint | BookDelta | SymbolStatusChanged
)


@attrs.frozen
class Depth:
    """A snapshot of the public book (GET /depth)."""

    symbol: str
    last_update_id: int
    bids: tuple[tuple[Decimal, Decimal], ...]  # best first
    asks: tuple[tuple[Decimal, Decimal], ...]  # best first


@attrs.frozen
class Fees:
    maker_rate: Decimal = Decimal("0.001")
    taker_rate: Decimal = Decimal("0.001")


class EngineProtocol(Protocol):
    """What the dialect layer and the market simulator need from the matching engine."""

    @property
    def instruments(self) -> Sequence[Instrument]: ...

    def instrument(self, symbol: str) -> Instrument | None: ...

    def open_account(self, account: str, balances: dict[str, Decimal]) -> None: ...

    def adjust_balance(self, account: str, asset: str, delta: Decimal, now_ms: int) -> None:
        """Credit (or debit) free balance; emits ``BalanceUpdate`` and ``AccountPosition``."""

    def place(self, request: OrderRequest, now_ms: int) -> PlaceResult | DialectError: ...

    def cancel(
        self,
        account: str,
        symbol: str,
        now_ms: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView | DialectError: ...

    def cancel_all(
        self, account: str, symbol: str, now_ms: int
    ) -> list[OrderView] | DialectError: ...

    def cancel_replace(
        self,
        mode: str,
        new: OrderRequest,
        now_ms: int,
        *,
        cancel_order_id: int | None = None,
        cancel_client_order_id: str | None = None,
    ) -> ReplaceResult: ...

    def query(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView | DialectError: ...

    def check_order(self, request: OrderRequest) -> DialectError | None:
        """What ``place`` would refuse ``request`` with now, without placing it."""

    def amend_keep_priority(
        self,
        account: str,
        symbol: str,
        new_qty: Decimal,
        new_client_order_id: str,
        now_ms: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> AmendResult | DialectError:
        """Reduce an open order's quantity in place, keeping its queue priority."""

    def all_orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[OrderView]:
        """allOrders: the account's open and kept closed orders, ascending ids."""

    def open_orders(self, account: str, symbol: str | None = None) -> list[OrderView]: ...

    def balances(self, account: str) -> list[AssetBalance]: ...

    def trades(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[TradeView]: ...

    def depth(self, symbol: str, limit: int) -> Depth: ...

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]: ...

    def set_symbol_status(self, symbol: str, status: SymbolStatus, now_ms: int) -> None:
        """HALT/BREAK/END_OF_DAY: new orders refused; BREAK also expires open orders."""

    def drain_events(self) -> list[EngineEvent]: ...
