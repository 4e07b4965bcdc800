"""The fake exchange's stream payloads: what each message looks like on the wire (sans-IO).

What it is for: the dialect's JSON for the ``trade`` event and the user-data events
(``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``) and
``serverShutdown``; :func:`dumps` (compact JSON as the exchange sends it) and :func:`fmt`
(exact decimal strings, memoised). ``feed.py`` decides *when* a message is due; this module
only says what it contains.

What it must never do: I/O, read a clock (times enter as arguments), or put a float into a
price or quantity (every number of money is an exact decimal string).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mmbot.model import format_decimal
from mmbot.sim.engine import AccountPosition, BalanceUpdate, Execution, TradePrint

_FORMATTED: dict[Decimal, str] = {}
_FORMATTED_MAX = 20_000  # ~4 MB; beyond it values are formatted each time


def fmt(value: Decimal) -> str:
    """``format_decimal`` memoised: book prices and sizes repeat all the time (a pure cache)."""
    text = _FORMATTED.get(value)
    if text is None:
        text = format_decimal(value)
        if len(_FORMATTED) < _FORMATTED_MAX:
            _FORMATTED[value] = text
    return text


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def dumps(payload: object) -> str:
    """Compact JSON, as the exchange sends it."""
    return _ENCODE(payload)


# ---- market data ---------------------------------------------------------------------


def trade_text(trade: TradePrint, now_ms: int) -> str:
    """The ``trade`` event as compact JSON text (equal to ``dumps(trade_payload(...))``)."""
    maker = "true" if trade.buyer_is_maker else "false"
    return (
        f'{{"e":"trade","E":{now_ms},"s":"{trade.symbol}","t":{trade.trade_id},'
        f'"p":"{fmt(trade.price)}","q":"{fmt(trade.qty)}","T":{trade.time_ms},'
        f'"m":{maker},"M":true}}'
    )


def trade_payload(trade: TradePrint, now_ms: int) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": now_ms,
        "s": trade.symbol,
        "t": trade.trade_id,
        "p": fmt(trade.price),
        "q": fmt(trade.qty),
        "T": trade.time_ms,
        "m": trade.buyer_is_maker,
        "M": True,
    }


# ---- user data -------------------------------------------------------------------------


def execution_report_payload(r: Execution) -> dict[str, Any]:
    return {
        "e": "executionReport",
        "E": r.event_time_ms,
        "s": r.symbol,
        "c": r.client_order_id,
        "S": r.side.value,
        "o": r.order_type.value,
        "f": r.time_in_force.value,
        "q": fmt(r.quantity),
        "p": fmt(r.price),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": r.orig_client_order_id,
        "x": r.execution_type.value,
        "X": r.status.value,
        "r": r.reject_reason,
        "i": r.order_id,
        "l": fmt(r.last_qty),
        "z": fmt(r.cumulative_qty),
        "L": fmt(r.last_price),
        "n": fmt(r.commission),
        "N": r.commission_asset,
        "T": r.transaction_time_ms,
        "t": r.trade_id,
        "I": 0,
        "w": r.is_working,
        "m": r.is_maker,
        "M": False,
        "O": r.order_creation_time_ms,
        "Z": fmt(r.cumulative_quote_qty),
        "Y": fmt(r.last_qty * r.last_price),
        "Q": "0",
        "W": r.order_creation_time_ms if r.is_working else -1,
        "V": "NONE",
    }


def account_position_payload(p: AccountPosition) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": p.event_time_ms,
        "u": p.event_time_ms,
        "B": [{"a": b.asset, "f": fmt(b.free), "l": fmt(b.locked)} for b in p.balances],
    }


def balance_update_payload(u: BalanceUpdate) -> dict[str, Any]:
    return {
        "e": "balanceUpdate",
        "E": u.event_time_ms,
        "a": u.asset,
        "d": fmt(u.delta),
        "T": u.event_time_ms,
    }


def server_shutdown_payload(now_ms: int) -> dict[str, Any]:
    """The event sent to every stream client before a planned shutdown."""
    return {"e": "serverShutdown", "E": now_ms}
