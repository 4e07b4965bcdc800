"""Hand-made truth logs for the invariant checkers (no tests here)."""

from __future__ import annotations

from decimal import Decimal

from mmbot.chaos.record import BotEnd, RunRecord
from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine import Execution
from mmbot.sim.history.log import History

ACCOUNT = "user"
START_MS = 1_000_000


def report(
    cid: str,
    order_id: int,
    side: Side,
    price: str,
    kind: ExecutionType = ExecutionType.NEW,
    *,
    symbol: str = "BTCUSDT",
    orig: str = "",
    last_qty: str = "0",
    fee: str = "0",
    fee_asset: str | None = None,
    trade_id: int = -1,
    time_ms: int = START_MS,
) -> Execution:
    """One execution report of the bot's account: NEW (open), CANCELED, or TRADE (a fill
    that leaves the order open unless ``kind`` says otherwise)."""
    status = {
        ExecutionType.NEW: OrderStatus.NEW,
        ExecutionType.CANCELED: OrderStatus.CANCELED,
        ExecutionType.TRADE: OrderStatus.PARTIALLY_FILLED,
    }[kind]
    return Execution(
        account=ACCOUNT, event_time_ms=START_MS, symbol=symbol, client_order_id=cid,
        side=side, order_type=OrderType.LIMIT_MAKER, time_in_force=TimeInForce.GTC,
        quantity=Decimal("1"), price=Decimal(price), execution_type=kind, status=status,
        reject_reason="NONE", order_id=order_id, last_qty=Decimal(last_qty),
        cumulative_qty=Decimal(last_qty), last_price=Decimal(price), commission=Decimal(fee),
        commission_asset=fee_asset, transaction_time_ms=time_ms, trade_id=trade_id,
        is_maker=True, orig_client_order_id=orig, cumulative_quote_qty=Decimal(0),
        is_working=True,
    )  # fmt: skip


def record(
    *timeline: tuple[float, Execution],
    fills: dict[str, int] | None = None,
    positions: dict[str, Decimal] | None = None,
    error: str | None = None,
    orders_left: tuple[str, ...] = (),
    heal_at: float = 0.0,
    resumes_within: float = 10.0,
) -> RunRecord:
    """A run whose history holds ``timeline`` ((seconds since the start, report), ...), every
    fault healed at ``heal_at`` seconds."""
    history = History()
    heal_seq = 0
    for at, execution in timeline:
        history.append_events(START_MS + int(at * 1000), [execution])
        if at < heal_at:
            heal_seq = history.last_seq
    end = BotEnd(
        prefix="mm", account=ACCOUNT, start_ms=START_MS, error=error, orders_left=orders_left,
        fills=fills or {}, positions=positions or {}, healed_seq=history.last_seq,
        symbols=("BTCUSDT",), base_assets={"BTCUSDT": "BTC"}, heal_seq=heal_seq,
        heal_ms=START_MS + int(heal_at * 1000), resumes_within_s=resumes_within,
    )  # fmt: skip
    return RunRecord(history, end)
