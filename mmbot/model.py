"""Frozen domain values shared by every part of mmbot (sans-IO).

What it is for: the vocabulary of the system (instruments, sides, orders, fills, book
levels, quotes) as immutable attrs values with exact money (``Decimal``).

What it must never do: I/O, read a clock, or hold mutable state. Floats never reach a
price or quantity held here (DESIGN.md §4.1).
"""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

ZERO = Decimal(0)


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy (position grows), -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.Enum):
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    MARKET = "MARKET"


class TimeInForce(enum.Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(enum.Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ExecutionType(enum.Enum):
    NEW = "NEW"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    TRADE = "TRADE"
    EXPIRED = "EXPIRED"
    TRADE_PREVENTION = "TRADE_PREVENTION"


class SymbolStatus(enum.Enum):
    TRADING = "TRADING"
    HALT = "HALT"
    BREAK = "BREAK"
    END_OF_DAY = "END_OF_DAY"


class Outcome(enum.Enum):
    """The three-valued outcome of a request to a venue (DESIGN.md §4.2)."""

    OK = "ok"
    FAILED = "failed"  # known not to have happened
    UNKNOWN = "unknown"  # may or may not have happened: resolve, never blindly resend


def to_decimal(value: Decimal | str | int) -> Decimal:
    """Exact conversion; floats are refused on purpose (they are not exact)."""
    if isinstance(value, float):  # pragma: no cover - guarded by the type too
        raise TypeError("money is exact: pass a str, int or Decimal, not a float")
    return value if isinstance(value, Decimal) else Decimal(value)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` that is <= value (``step`` 0 disables the rule)."""
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of ``step`` that is >= value (``step`` 0 disables the rule)."""
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or value % step == 0


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros ("0.001", "25000", "0")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


@attrs.frozen
class Instrument:
    """A tradable symbol with the venue's filters (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO  # 0: no maximum
    min_qty: Decimal = ZERO
    max_qty: Decimal = ZERO  # 0: no maximum
    min_notional: Decimal = ZERO
    max_notional: Decimal = ZERO  # 0: no maximum
    status: SymbolStatus = SymbolStatus.TRADING

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round to tick away from the market: bids down, asks up (DESIGN.md §4.1)."""
        if side is Side.BUY:
            return floor_to_step(price, self.tick_size)
        return ceil_to_step(price, self.tick_size)

    def round_qty(self, qty: Decimal) -> Decimal:
        """Round a quantity down to the step size (never more than asked)."""
        return floor_to_step(qty, self.step_size)

    def price_filter_ok(self, price: Decimal) -> bool:
        if price < self.min_price or (self.max_price and price > self.max_price):
            return False
        return is_multiple(price - self.min_price, self.tick_size)

    def lot_size_ok(self, qty: Decimal) -> bool:
        if qty < self.min_qty or (self.max_qty and qty > self.max_qty):
            return False
        return is_multiple(qty - self.min_qty, self.step_size)

    def notional_ok(self, price: Decimal, qty: Decimal) -> bool:
        notional = price * qty
        if notional < self.min_notional:
            return False
        return not (self.max_notional and notional > self.max_notional)


@attrs.frozen
class BookLevel:
    price: Decimal
    quantity: Decimal


@attrs.frozen
class Fill:
    """One trade of one of our orders; identified exactly by (order_id, trade_id)."""

    symbol: str
    order_id: int
    client_order_id: str
    trade_id: int
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    time_ms: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.symbol, self.order_id, self.trade_id)

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity


@attrs.frozen
class Quote:
    """One desired resting order: a (side, level) slot with a price and size."""

    side: Side
    level: int
    price: Decimal
    quantity: Decimal


@attrs.frozen
class QuoteSet:
    """The desired quotes for one symbol; empty with a ``reason`` when quotes are pulled."""

    symbol: str
    bids: tuple[Quote, ...] = ()
    asks: tuple[Quote, ...] = ()
    reason: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.bids and not self.asks

    def all(self) -> tuple[Quote, ...]:
        return self.bids + self.asks


@attrs.frozen
class Order:
    """The bot's view of one of its orders at a point in time."""

    symbol: str
    client_order_id: str
    side: Side
    type: OrderType
    price: Decimal | None
    quantity: Decimal
    status: OrderStatus = OrderStatus.NEW
    order_id: int | None = None
    filled_qty: Decimal = ZERO
    time_in_force: TimeInForce | None = None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_qty


@attrs.frozen
class BookSnapshot:
    """A read-only view of a local order book, as the quoting pipeline sees it.

    ``received_at`` is the trio time (seconds) the last update was applied; ``is_valid`` is
    False while the book is unsynced or gapped (the quoter must never quote on it).
    """

    symbol: str
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first
    last_update_id: int
    received_at: float
    is_valid: bool

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2

    def age(self, now: float) -> float:
        """Seconds since the last applied update."""
        return now - self.received_at
