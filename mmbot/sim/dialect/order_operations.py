"""The dialect's order history, test order, amendment and account-limit operations (sans-IO).

What it is for: :class:`OrderOperations`, the operations beyond placing, cancelling and
querying one order (``operations.py``): ``allOrders``, ``order.test`` (with
``computeCommissionRates``), ``order.amend.keepPriority`` (reduce an order's quantity in
place, keeping its queue priority: the engine's ``amend_keep_priority``),
``account.commission`` and ``account.rateLimits.orders``; and the one Wallet API endpoint
ccxt's ``fetchTradingFees`` reads, ``GET /sapi/v1/asset/tradeFee`` (REST only). Each is an
:data:`~mmbot.sim.dialect.operations.Operation`, routed (with its weight) by ``routes.py``
for REST and the WebSocket API alike; parameters are read with ``params.py``'s exact
errors.

What it must never do: I/O, read a clock or draw randomness (generated client order ids
come from ``Operations.generate_client_id``'s counter); raise anything but
:class:`DialectFailure` for a bad request; change an order from ``order.test``.
"""

from __future__ import annotations

from decimal import Decimal

from mmbot.model import format_decimal
from mmbot.sim.dialect import bodies
from mmbot.sim.dialect.limits import VenueLimits
from mmbot.sim.dialect.operations import Answer, Operations
from mmbot.sim.dialect.params import DialectFailure, Params, fail
from mmbot.sim.engine import AmendResult, EngineProtocol, Fees, OrderView
from mmbot.venue.binance.errors import Code, DialectError, illegal_param

#: ``allOrders``: default and largest ``limit``; longest ``startTime``..``endTime``.
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
MAX_WINDOW_MS = 24 * 3_600_000
#: -1127 MORE_THAN_XX_HOURS (errors.md).
MORE_THAN_XX_HOURS = -1127
#: ``order.test`` refusals that come from the matching engine (-2010: balance, LIMIT_MAKER
#: crossing, duplicate id); a test order never reaches it, so it never gets them.
_ENGINE_ONLY = (Code.NEW_ORDER_REJECTED,)
_ZERO = Decimal(0)


class OrderOperations:
    """The operations of the module docstring over one engine, its limits and fees."""

    def __init__(
        self, ops: Operations, engine: EngineProtocol, limits: VenueLimits, fees: Fees
    ) -> None:
        self._ops = ops
        self._engine = engine
        self._limits = limits
        self._fees = fees

    # ---- allOrders -------------------------------------------------------------------------

    def all_orders(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``GET /api/v3/allOrders``: the account's orders on a symbol, open and closed
        (as the engine keeps them), as ``order.status`` shows each."""
        assert account is not None
        instrument = self._ops.instrument(params)
        order_id = params.integer("orderId")
        start = params.integer("startTime")
        end = params.integer("endTime")
        limit = params.integer("limit", low=1, high=2**31) or DEFAULT_LIMIT
        if limit > MAX_LIMIT:
            raise DialectFailure(illegal_param("limit"))
        if start is not None and end is not None and end - start > MAX_WINDOW_MS:
            raise fail(MORE_THAN_XX_HOURS, "More than 24 hours between startTime and endTime.")
        orders = self._engine.all_orders(
            account, instrument.symbol, from_id=order_id, start_ms=start, end_ms=end, limit=limit
        )
        return Answer([bodies.queried_order(o) for o in orders])

    # ---- order.test ------------------------------------------------------------------------

    def test_order(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``POST /api/v3/order/test``: the new order's parameters and filters checked, the
        order not placed; ``{}``, or the commission rates it would pay."""
        assert account is not None
        instrument = self._ops.instrument(params)
        compute = params.choice("computeCommissionRates", ("true", "false")) == "true"
        request, _ = self._ops.order_request(params, account, instrument)
        refused = self._engine.check_order(request)
        if refused is not None and refused.code not in _ENGINE_ONLY:
            raise DialectFailure(refused)
        if not compute:
            return Answer({})
        fees = self._fees
        return Answer(
            {
                "standardCommissionForOrder": _rates(maker=fees.maker_rate, taker=fees.taker_rate),
                "specialCommissionForOrder": _rates(maker=_ZERO, taker=_ZERO),
                "taxCommissionForOrder": _rates(maker=_ZERO, taker=_ZERO),
                "discount": _discount(),
            }
        )

    # ---- order.amend.keepPriority ----------------------------------------------------------

    def amend_keep_priority(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``PUT /api/v3/order/amend/keepPriority``: reduce an open order's quantity in
        place. Free (weight 0) when the amendment expires the order (the docs' CHANGELOG of
        2026-04-02)."""
        assert account is not None
        instrument = self._ops.instrument(params)
        order_id, client_id = self._ops.order_ref(params, "orderId", "origClientOrderId")
        new_client_id = params.client_order_id("newClientOrderId")
        new_qty = params.decimal("newQty", required=True)
        assert new_qty is not None
        if new_qty <= 0:
            raise fail(Code.INVALID_MESSAGE, "Invalid quantity.")
        result = self._engine.amend_keep_priority(
            account,
            instrument.symbol,
            new_qty,
            new_client_id or self._ops.generate_client_id(),
            now_ms,
            order_id=order_id,
            client_order_id=client_id,
        )
        if isinstance(result, DialectError):
            raise DialectFailure(result)
        assert isinstance(result, AmendResult)
        body = {
            "transactTime": now_ms,
            "executionId": result.execution_id,
            "amendedOrder": amended_order(result.order, result.previous_client_order_id),
        }
        return Answer(body, client_order_id=result.order.client_order_id, free=result.expired)

    # ---- account ---------------------------------------------------------------------------

    def commission(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``GET /api/v3/account/commission``: the account's rates on one symbol."""
        assert account is not None
        instrument = self._ops.instrument(params)
        fees = self._fees
        return Answer(
            {
                "symbol": instrument.symbol,
                "standardCommission": _rates(
                    maker=fees.maker_rate, taker=fees.taker_rate, buyer=_ZERO, seller=_ZERO
                ),
                "specialCommission": _rates(maker=_ZERO, taker=_ZERO, buyer=_ZERO, seller=_ZERO),
                "taxCommission": _rates(maker=_ZERO, taker=_ZERO, buyer=_ZERO, seller=_ZERO),
                "discount": _discount(),
            }
        )

    def trade_fee(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``GET /sapi/v1/asset/tradeFee`` (the Wallet API, REST only): maker and taker
        rates by symbol, of one ``symbol`` or of all; what ccxt's ``fetchTradingFees``
        reads."""
        assert account is not None
        if params.raw("symbol") is not None:
            instruments = [self._ops.instrument(params)]
        else:
            instruments = list(self._engine.instruments)
        maker, taker = format_decimal(self._fees.maker_rate), format_decimal(self._fees.taker_rate)
        return Answer(
            [
                {"symbol": i.symbol, "makerCommission": maker, "takerCommission": taker}
                for i in instruments
            ]
        )

    def order_rate_limits(self, params: Params, account: str | None, now_ms: int) -> Answer:
        """``GET /api/v3/rateLimit/order``: the account's unfilled order counts."""
        assert account is not None
        return Answer(self._limits.order_rate_limits(account, now_ms))


def amended_order(order: OrderView, previous_client_id: str) -> dict[str, object]:
    """``amendedOrder`` of an amendment's answer (rest-api.md's example, key for key)."""
    body: dict[str, object] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "origClientOrderId": previous_client_id,
        "clientOrderId": order.client_order_id,
        "price": bodies.num(order.price),
        "qty": bodies.num(order.orig_qty),
        "executedQty": bodies.num(order.executed_qty),
        "preventedQty": bodies.num(_ZERO),
        "quoteOrderQty": bodies.num(_ZERO),
        "cumulativeQuoteQty": bodies.num(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "workingTime": bodies.working_time(order),
        "selfTradePreventionMode": "NONE",
    }
    return body


def _rates(**rates: Decimal) -> dict[str, str]:
    return {name: bodies.num(rate) for name, rate in rates.items()}


def _discount() -> dict[str, object]:
    """No BNB discount here: fees are paid in the asset received."""
    return {
        "enabledForAccount": False,
        "enabledForSymbol": False,
        "discountAsset": "BNB",
        "discount": bodies.num(_ZERO),
    }
