"""Shared instruments, order builders and readers for the matching engine's tests."""

from __future__ import annotations

from decimal import Decimal as D

from mmbot.model import Instrument, OrderType, Side, TimeInForce
from mmbot.sim.engine import (
    Execution,
    Fees,
    MatchingEngine,
    OrderRequest,
    PlaceResult,
)
from mmbot.venue.binance.errors import DialectError

SYM = "BTCUSDT"
BTC = Instrument(
    SYM,
    "BTC",
    "USDT",
    tick_size=D("0.01"),
    step_size=D("0.001"),
    min_price=D("0.01"),
    max_price=D("1000000"),
    min_qty=D("0.001"),
    max_qty=D("1000"),
    min_notional=D("10"),
)
ETH = Instrument("ETHUSDT", "ETH", "USDT", tick_size=D("0.01"), step_size=D("0.001"))
FEES = Fees(maker_rate=D("0.001"), taker_rate=D("0.002"))
START = {"USDT": D("100000"), "BTC": D("10"), "ETH": D("100")}


def limit(
    account: str,
    side: Side,
    qty: str,
    price: str,
    cid: str,
    tif: TimeInForce = TimeInForce.GTC,
    symbol: str = SYM,
) -> OrderRequest:
    return OrderRequest(account, symbol, side, OrderType.LIMIT, cid, D(qty), D(price), tif)


def maker_only(account: str, side: Side, qty: str, price: str, cid: str) -> OrderRequest:
    return OrderRequest(account, SYM, side, OrderType.LIMIT_MAKER, cid, D(qty), D(price))


def market(
    account: str, side: Side, cid: str, qty: str | None = None, quote: str | None = None
) -> OrderRequest:
    return OrderRequest(
        account,
        SYM,
        side,
        OrderType.MARKET,
        cid,
        quantity=None if qty is None else D(qty),
        quote_order_qty=None if quote is None else D(quote),
    )


def placed(result: PlaceResult | DialectError) -> PlaceResult:
    assert isinstance(result, PlaceResult), result
    return result


def bal(e: MatchingEngine, account: str, asset: str) -> tuple[D, D]:
    for b in e.balances(account):
        if b.asset == asset:
            return b.free, b.locked
    return D(0), D(0)


def reports(events: list[object], account: str | None = None) -> list[Execution]:
    return [
        ev
        for ev in events
        if isinstance(ev, Execution) and (account is None or ev.account == account)
    ]
