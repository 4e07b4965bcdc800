"""Helpers shared by the venue conformance and scenario tests (no tests here).

``open_rig(mode)`` runs a fake exchange and a venue connected to it through
``connect_venue``: in-process (run it under ``MockClock``) or served on loopback (real
sockets, real clock). ``Tap`` interposes on the WebSocket connector (drop frames, kill or
refuse connections by resource) and ``HttpTap`` on the HTTP transport (lose an answer
the exchange did the work for, or hold a request): faults injected at the seams, the
exchange unchanged.
"""

from __future__ import annotations

from decimal import Decimal

from mmbot.model import BookSnapshot, OrderType, Side, TimeInForce
from mmbot.sim.engine import BookDelta
from mmbot.sim.exchange import Exchange
from mmbot.sim.history import EntryKind, RequestRecord
from mmbot.testing import (
    RIG_API_KEY,
    RIG_API_SECRET,
    RIG_SYMBOLS,
)
from mmbot.venue.base import PlaceRequest

API_KEY = RIG_API_KEY
API_SECRET = RIG_API_SECRET
SYMBOLS = RIG_SYMBOLS
DEPTH = 20  # MarketStreamsConfig.publish_depth


def maker_bid(coid: str, price: str = "50000", qty: str = "0.001") -> PlaceRequest:
    """A LIMIT_MAKER buy far below the market (BTCUSDT trades near 60000): it rests."""
    return PlaceRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal(qty), coid, price=Decimal(price)
    )


def taker_buy(coid: str, price: str = "70000", qty: str = "0.001") -> PlaceRequest:
    """A LIMIT IOC buy above the market: it trades at once."""
    return PlaceRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(qty), coid,
        price=Decimal(price), time_in_force=TimeInForce.IOC,
    )  # fmt: skip


# ---- the exchange's truth ---------------------------------------------------------------


def exchange_book_at(
    exchange: Exchange, symbol: str, update_id: int, depth: int = DEPTH
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """The exchange's true book after update ``update_id`` (top ``depth`` per side), rebuilt
    from its history."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for entry in exchange.history.entries(EntryKind.BOOK_DELTA):
        delta = entry.payload
        assert isinstance(delta, BookDelta)
        if delta.symbol != symbol or delta.update_id > update_id:
            continue
        side = bids if delta.side is Side.BUY else asks
        if delta.quantity:
            side[delta.price] = delta.quantity
        else:
            side.pop(delta.price, None)
    return sorted(bids.items(), reverse=True)[:depth], sorted(asks.items())[:depth]


def assert_matches_exchange(exchange: Exchange, book: BookSnapshot) -> None:
    """A valid snapshot equals the exchange's book at its update id."""
    assert book.is_valid
    bids, asks = exchange_book_at(exchange, book.symbol, book.last_update_id)
    assert [(lv.price, lv.quantity) for lv in book.bids] == bids
    assert [(lv.price, lv.quantity) for lv in book.asks] == asks


def requests_to(exchange: Exchange, path_suffix: str) -> list[tuple[int, int | None, int]]:
    """(time ms, error code, HTTP status) of the REST requests the exchange answered."""
    out = []
    for entry in exchange.history.entries(EntryKind.REQUEST):
        record = entry.payload
        assert isinstance(record, RequestRecord)
        if record.transport == "rest" and record.path.endswith(path_suffix):
            out.append((entry.time_ms, record.error_code, record.status))
    return out
