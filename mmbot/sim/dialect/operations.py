"""The operations of the fake exchange's dialect, shared by REST and the WebSocket API (sans-IO).

What it is for: each operation (new order, cancel, cancel-replace, query, open orders,
account, trades, depth, exchange info) reads its typed parameters, calls the matching
engine through :class:`EngineProtocol` and renders Binance's response body. Which request
reaches which operation, and at what weight, is ``routes.py``; signing and rate limits are
the gateway's steps (``gateway.py``); the body shapes are ``bodies.py``.

What it must never do: I/O, read a clock or draw randomness (client order ids that the
exchange generates come from a counter); raise anything but :class:`DialectFailure` for a
bad request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import attrs

from mmbot.model import Instrument, OrderType
from mmbot.sim.dialect import bodies
from mmbot.sim.dialect.limits import RateLimits
from mmbot.sim.dialect.params import (
    DialectFailure,
    Params,
    fail,
    lookup_symbol,
    not_required,
    one_of_required,
    parse_symbol_list,
)
from mmbot.sim.engine import (
    EngineProtocol,
    Fees,
    OrderRequest,
    OrderView,
    PlaceResult,
    ReplaceMode,
    cancel_client_order_id,
)
from mmbot.venue.binance.errors import Code, DialectError, illegal_param

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RESP_TYPES = ("ACK", "RESULT", "FULL")
MAX_DEPTH = 5000


@attrs.frozen
class Answer:
    """A successful (or 409/400 cancel-replace) answer: status, body, order id if any."""

    body: object
    status: int = 200
    client_order_id: str | None = None
    #: The request turned out free: its weight is given back (an amendment that expired
    #: the order; the free order operations are ``weights.FREE_WHEN_SUCCESSFUL``).
    free: bool = False


Operation = Callable[[Params, str | None, int], Answer]


class Operations:
    """The dialect's operations over one matching engine (each an :data:`Operation`)."""

    def __init__(self, engine: EngineProtocol, limits: RateLimits, fees: Fees) -> None:
        self._engine = engine
        self._limits = limits
        self._fees = fees
        self._generated_ids = 0
        #: How far the venue's clock is ahead of the exchange's time (a ``clock_skew``
        #: fault; the exchange sets it): what ``time`` answers is ``now_ms`` plus this.
        self.clock_offset_ms = 0

    # ---- helpers ------------------------------------------------------------------------

    def generate_client_id(self) -> str:
        """A random-looking 22-character id, derived from a counter (deterministic)."""
        self._generated_ids += 1
        digest = int.from_bytes(
            hashlib.sha256(f"mmbot-sim-{self._generated_ids}".encode()).digest(), "big"
        )
        chars = []
        for _ in range(22):
            digest, index = divmod(digest, 62)
            chars.append(_BASE62[index])
        return "".join(chars)

    def instrument(self, params: Params) -> Instrument:
        """The instrument the ``symbol`` parameter names (-1102, -1121)."""
        symbol = params.require("symbol")
        instruments = {i.symbol: i for i in self._engine.instruments}
        return lookup_symbol(instruments, symbol)

    @staticmethod
    def _ok(result: object) -> object:
        if isinstance(result, DialectError):
            raise DialectFailure(result)
        return result

    def order_request(
        self, params: Params, account: str, instrument: Instrument
    ) -> tuple[OrderRequest, str]:
        """Parse a new order's parameters (POST /order, cancel-replace's new half, the test
        order): the request and its ``newOrderRespType``."""
        side = params.side()
        kind = params.order_type()
        tif = params.time_in_force()
        quantity = params.decimal("quantity")
        quote_qty = params.decimal("quoteOrderQty")
        price = params.decimal("price")
        client_id = params.client_order_id("newClientOrderId")
        resp_type = params.choice("newOrderRespType", RESP_TYPES)
        if kind is OrderType.LIMIT:
            if tif is None:
                raise fail(
                    Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
                    "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
                )
        elif tif is not None:
            raise fail(-1114, "TimeInForce parameter sent when not required.")
        if kind is OrderType.MARKET:
            if price is not None:
                raise not_required("price")
            if quantity is None and quote_qty is None:
                raise one_of_required("quantity", "quoteOrderQty")
            if quantity is not None and quote_qty is not None:
                raise not_required("quoteOrderQty")
        else:
            if quote_qty is not None:
                raise not_required("quoteOrderQty")
            params.require("quantity")
            params.require("price")
        if quantity is not None and quantity <= 0:
            raise fail(Code.INVALID_MESSAGE, "Invalid quantity.")
        if quote_qty is not None and quote_qty <= 0:
            raise fail(Code.INVALID_MESSAGE, "Invalid quoteOrderQty.")
        if price is not None and price <= 0:
            raise fail(Code.INVALID_MESSAGE, "Invalid price.")
        if resp_type is None:
            resp_type = "FULL" if kind in (OrderType.LIMIT, OrderType.MARKET) else "ACK"
        request = OrderRequest(
            account=account,
            symbol=instrument.symbol,
            side=side,
            type=kind,
            client_order_id=client_id or self.generate_client_id(),
            quantity=quantity,
            price=price,
            time_in_force=tif,
            quote_order_qty=quote_qty,
        )
        return request, resp_type

    @staticmethod
    def order_ref(params: Params, id_name: str, client_name: str) -> tuple[int | None, str | None]:
        """The order an id parameter or a client id parameter names (one is required)."""
        order_id = params.integer(id_name)
        client_id = params.client_order_id(client_name)
        if order_id is None and client_id is None:
            raise one_of_required(client_name, id_name)
        return order_id, client_id

    # ---- market data --------------------------------------------------------------------

    def ping(self, params: Params, account: str | None, now_ms: int) -> Answer:
        return Answer({})

    def time(self, params: Params, account: str | None, now_ms: int) -> Answer:
        return Answer({"serverTime": now_ms + self.clock_offset_ms})

    def exchange_info(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instruments = list(self._engine.instruments)
        symbol = params.raw("symbol")
        symbols = params.raw("symbols")
        if symbol is not None and symbols is not None:
            raise fail(-1128, "Combination of optional parameters invalid.")
        wanted = [symbol] if symbol is not None else None
        if symbols is not None:
            wanted = parse_symbol_list(symbols)
        if wanted is not None:
            by_name = {i.symbol: i for i in instruments}
            instruments = [lookup_symbol(by_name, name) for name in wanted]
        max_num_orders = getattr(self._engine, "max_num_orders", None)
        return Answer(bodies.exchange_info(instruments, self._limits, now_ms, max_num_orders))

    def depth(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self.instrument(params)
        limit = params.integer("limit", low=1, high=2**31)
        limit = min(limit or 100, MAX_DEPTH)
        book = self._engine.depth(instrument.symbol, limit)
        return Answer(
            {
                "lastUpdateId": book.last_update_id,
                "bids": [[bodies.num(p), bodies.num(q)] for p, q in book.bids],
                "asks": [[bodies.num(p), bodies.num(q)] for p, q in book.asks],
            }
        )

    # ---- trading ------------------------------------------------------------------------

    def new_order(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        request, resp_type = self.order_request(params, account, instrument)
        result = self._ok(self._engine.place(request, now_ms))
        assert isinstance(result, PlaceResult)
        return Answer(bodies.new_order(result, resp_type), client_order_id=request.client_order_id)

    def cancel_order(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        order_id, client_id = self.order_ref(params, "orderId", "origClientOrderId")
        cancel_id = params.client_order_id("newClientOrderId")
        view = self._ok(
            self._engine.cancel(
                account, instrument.symbol, now_ms, order_id=order_id, client_order_id=client_id
            )
        )
        assert isinstance(view, OrderView)
        cancel_id = cancel_id or cancel_client_order_id(view.symbol, view.order_id)
        return Answer(
            bodies.canceled_order(view, cancel_id, now_ms), client_order_id=view.client_order_id
        )

    def cancel_all(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        result = self._ok(self._engine.cancel_all(account, instrument.symbol, now_ms))
        assert isinstance(result, list)
        return Answer(
            [
                bodies.canceled_order(v, cancel_client_order_id(v.symbol, v.order_id), now_ms)
                for v in result
            ]
        )

    def cancel_replace(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        mode = params.choice(
            "cancelReplaceMode",
            (ReplaceMode.STOP_ON_FAILURE, ReplaceMode.ALLOW_FAILURE),
            required=True,
        )
        assert mode is not None
        cancel_id, cancel_client_id = self.order_ref(
            params, "cancelOrderId", "cancelOrigClientOrderId"
        )
        cancel_new_id = params.client_order_id("cancelNewClientOrderId")
        request, resp_type = self.order_request(params, account, instrument)
        result = self._engine.cancel_replace(
            mode,
            request,
            now_ms,
            cancel_order_id=cancel_id,
            cancel_client_order_id=cancel_client_id,
        )
        cancel_ok = isinstance(result.cancel, OrderView)
        new_ok = isinstance(result.new, PlaceResult)
        cancel_body: object
        if isinstance(result.cancel, OrderView):
            cancelled = result.cancel
            cancel_new_id = cancel_new_id or cancel_client_order_id(
                cancelled.symbol, cancelled.order_id
            )
            cancel_body = bodies.canceled_order(cancelled, cancel_new_id, now_ms)
        else:
            cancel_body = result.cancel.body()
        new_body: object = None
        if isinstance(result.new, PlaceResult):
            new_body = bodies.new_order(result.new, resp_type)
        elif result.new is not None:
            new_body = result.new.body()
        data = {
            "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
            "newOrderResult": (
                "SUCCESS" if new_ok else "NOT_ATTEMPTED" if result.new is None else "FAILURE"
            ),
            "cancelResponse": cancel_body,
            "newOrderResponse": new_body,
        }
        placed = request.client_order_id if new_ok else None
        if cancel_ok and new_ok:
            return Answer(data, client_order_id=placed)
        if cancel_ok or new_ok:  # one half failed: 409 (Binance's table)
            error = DialectError(
                Code.CANCEL_REPLACE_PARTIAL, "Order cancel-replace partially failed.", 409
            )
        else:  # cancel failed and the new order failed or was not attempted: 400
            error = DialectError(Code.CANCEL_REPLACE_FAILED, "Order cancel-replace failed.", 400)
        raise DialectFailure(error, data=data)

    # ---- user data ----------------------------------------------------------------------

    def query_order(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        order_id, client_id = self.order_ref(params, "orderId", "origClientOrderId")
        view = self._ok(
            self._engine.query(
                account, instrument.symbol, order_id=order_id, client_order_id=client_id
            )
        )
        assert isinstance(view, OrderView)
        return Answer(bodies.queried_order(view), client_order_id=view.client_order_id)

    def open_orders(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        symbol = None
        if params.raw("symbol") is not None:
            symbol = self.instrument(params).symbol
        orders = self._engine.open_orders(account, symbol)
        return Answer([bodies.queried_order(o) for o in orders])

    def account(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        omit = params.choice("omitZeroBalances", ("true", "false")) == "true"
        balances = self._engine.balances(account)
        return Answer(bodies.account(account, balances, self._fees, now_ms, omit_zero=omit))

    def my_trades(self, params: Params, account: str | None, now_ms: int) -> Answer:
        assert account is not None
        instrument = self.instrument(params)
        order_id = params.integer("orderId")
        from_id = params.integer("fromId")
        start = params.integer("startTime")
        end = params.integer("endTime")
        limit = params.integer("limit", low=1, high=2**31) or 500
        if limit > 1000:
            raise DialectFailure(illegal_param("limit"))
        trades = self._engine.trades(
            account, instrument.symbol, order_id=order_id, from_id=from_id, limit=limit
        )
        shown = [
            t
            for t in trades
            if (start is None or t.time_ms >= start) and (end is None or t.time_ms <= end)
        ]
        return Answer([bodies.trade(t) for t in shown])
