"""Random operations from three accounts never break the matching engine's invariants."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mmbot.model import Instrument, OrderType, Side, SymbolStatus, TimeInForce
from mmbot.sim.engine import (
    FEE_ACCOUNT,
    BookDelta,
    Execution,
    Fees,
    MatchingEngine,
    OrderRequest,
    PlaceResult,
    ReplaceMode,
)

SYM = "BTCUSDT"
INSTRUMENT = Instrument(
    SYM,
    "BTC",
    "USDT",
    tick_size=D("0.01"),
    step_size=D("0.001"),
    min_price=D("0.01"),
    min_qty=D("0.001"),
    max_qty=D("50"),
    min_notional=D("0.5"),
)
ACCOUNTS = ("a", "b", "c")
START = {"BTC": D("5"), "USDT": D("600")}

accounts = st.sampled_from(ACCOUNTS)
sides = st.sampled_from(Side)
prices = st.integers(9_990, 10_010).map(lambda t: D(t).scaleb(-2))  # 99.90 .. 100.10
qtys = st.integers(1, 3_000).map(lambda n: D(n).scaleb(-3))  # 0.001 .. 3
client_ids = st.sampled_from([f"c{i}" for i in range(6)])
tifs = st.sampled_from(TimeInForce)
modes = st.sampled_from([ReplaceMode.STOP_ON_FAILURE, ReplaceMode.ALLOW_FAILURE])


def new_order(
    kind: str, account: str, side: Side, qty: D, price: D, tif: TimeInForce, cid: str
) -> OrderRequest:
    if kind == "limit":
        return OrderRequest(account, SYM, side, OrderType.LIMIT, cid, qty, price, tif)
    if kind == "maker":
        return OrderRequest(account, SYM, side, OrderType.LIMIT_MAKER, cid, qty, price)
    if kind == "market":
        return OrderRequest(account, SYM, side, OrderType.MARKET, cid, quantity=qty)
    return OrderRequest(account, SYM, side, OrderType.MARKET, cid, quote_order_qty=qty * 10)


kinds = st.sampled_from(["limit", "limit", "limit", "maker", "market", "quote"])


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = MatchingEngine([INSTRUMENT], Fees(D("0.001"), D("0.0015")))
        for account in ACCOUNTS:
            self.engine.open_account(account, dict(START))
        self.totals = {asset: amount * len(ACCOUNTS) for asset, amount in START.items()}
        self.replica: dict[Side, dict[D, D]] = {Side.BUY: {}, Side.SELL: {}}
        self.last_update_id = 0
        self.cumulative: dict[int, D] = {}
        self.now = 0

    def tick(self) -> int:
        self.now += 1
        return self.now

    def check_result(self, result: object) -> None:
        if isinstance(result, PlaceResult):
            assert 0 <= result.order.executed_qty <= result.order.orig_qty
            assert sum((f.qty for f in result.fills), D(0)) == result.order.executed_qty

    @rule(
        kind=kinds, account=accounts, side=sides, qty=qtys, price=prices, tif=tifs, cid=client_ids
    )
    def place(
        self, kind: str, account: str, side: Side, qty: D, price: D, tif: TimeInForce, cid: str
    ) -> None:
        request = new_order(kind, account, side, qty, price, tif, cid)
        self.check_result(self.engine.place(request, self.tick()))

    @rule(account=accounts, order_id=st.integers(1, 60))
    def cancel(self, account: str, order_id: int) -> None:
        self.engine.cancel(account, SYM, self.tick(), order_id=order_id)

    @rule(account=accounts, cid=client_ids)
    def cancel_by_client_id(self, account: str, cid: str) -> None:
        self.engine.cancel(account, SYM, self.tick(), client_order_id=cid)

    @rule(account=accounts)
    def cancel_all(self, account: str) -> None:
        self.engine.cancel_all(account, SYM, self.tick())

    @rule(
        mode=modes,
        kind=kinds,
        account=accounts,
        victim=client_ids,
        side=sides,
        qty=qtys,
        price=prices,
        tif=tifs,
        cid=client_ids,
    )
    def cancel_replace(
        self,
        mode: str,
        kind: str,
        account: str,
        victim: str,
        side: Side,
        qty: D,
        price: D,
        tif: TimeInForce,
        cid: str,
    ) -> None:
        request = new_order(kind, account, side, qty, price, tif, cid)
        result = self.engine.cancel_replace(
            mode, request, self.tick(), cancel_client_order_id=victim
        )
        self.check_result(result.new)

    @rule(status=st.sampled_from(SymbolStatus))
    def set_status(self, status: SymbolStatus) -> None:
        self.engine.set_symbol_status(SYM, status, self.tick())

    @rule(account=accounts, asset=st.sampled_from(["BTC", "USDT"]), amount=qtys)
    def deposit(self, account: str, asset: str, amount: D) -> None:
        self.engine.adjust_balance(account, asset, amount, self.tick())
        self.totals[asset] += amount

    # ---- invariants -----------------------------------------------------------------------

    @invariant()
    def events_replay_the_book(self) -> None:
        for event in self.engine.drain_events():
            if isinstance(event, BookDelta):
                assert event.update_id == self.last_update_id + 1
                self.last_update_id = event.update_id
                side = self.replica[event.side]
                if event.quantity:
                    side[event.price] = event.quantity
                else:
                    side.pop(event.price, None)
            elif isinstance(event, Execution) and event.order_id > 0:
                before = self.cumulative.get(event.order_id, D(0))
                assert event.cumulative_qty >= before  # z only grows
                assert event.cumulative_qty <= event.quantity
                self.cumulative[event.order_id] = event.cumulative_qty
        depth = self.engine.depth(SYM, 10_000)
        assert depth.last_update_id == self.last_update_id
        assert self.replica[Side.BUY] == dict(depth.bids)
        assert self.replica[Side.SELL] == dict(depth.asks)

    @invariant()
    def book_is_never_crossed(self) -> None:
        bid, ask = self.engine.best_bid_ask(SYM)
        assert bid is None or ask is None or bid < ask

    @invariant()
    def balances_are_never_negative_and_assets_are_conserved(self) -> None:
        held = dict.fromkeys(self.totals, D(0))
        for account in (*ACCOUNTS, FEE_ACCOUNT):
            for balance in self.engine.balances(account):
                assert balance.free >= 0 and balance.locked >= 0
                held[balance.asset] += balance.free + balance.locked
        assert held == self.totals

    @invariant()
    def locked_funds_are_exactly_what_open_orders_need(self) -> None:
        for account in ACCOUNTS:
            need = {"BTC": D(0), "USDT": D(0)}
            for order in self.engine.open_orders(account):
                assert 0 <= order.executed_qty < order.orig_qty
                remaining = order.orig_qty - order.executed_qty
                if order.side is Side.BUY:
                    need["USDT"] += order.price * remaining
                else:
                    need["BTC"] += remaining
            locked = {b.asset: b.locked for b in self.engine.balances(account)}
            assert {asset: locked.get(asset, D(0)) for asset in need} == need


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(stateful_step_count=40)
