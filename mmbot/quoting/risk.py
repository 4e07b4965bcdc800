"""Risk limits and the drawdown kill switch, per symbol and in total (sans-IO).

What it is for: deciding, before each quote decision, what a symbol may do: quote at all,
buy, sell, place new orders. Every restriction carries a human-readable reason, shown on the
dashboard and in metrics. The quoter feeds it exposures (from the ledger and the order
tracker) and the orders it sends; it reads back a frozen :class:`RiskDecision`.

What it must never do: I/O, read a clock, or un-halt by itself. Time enters as ``now``.

Limits (``None`` disables one):
- ``max_position`` (base) and ``max_notional`` (``|position| * mid``, quote), per symbol;
  ``max_total_notional`` across symbols. At a limit, only the side that reduces ``|position|``
  may quote (at the total limit, a flat symbol may not quote either side).
- ``max_open_orders`` per symbol and ``max_total_open_orders``: at the limit, no new orders.
- ``max_orders_per_window`` per symbol over a sliding ``rate_window`` of ``now``: orders sent
  within ``(now - rate_window, now]`` are counted; at the limit, no new orders until it slides.
- ``max_drawdown`` per symbol and ``max_total_drawdown``: drawdown is the net PnL (marked
  to mid, net of fees) below its highest value since start (PnL 0) or the last reset.
  Reaching the limit **halts** (``RiskDecision.halted``): no quoting, and the shell cancels
  every order of the symbol.

Halts latch: a halt (drawdown, or :meth:`RiskEngine.halt` by an operator) stays until
:meth:`RiskEngine.reset` is called explicitly; a reset also restarts the drawdown peak at
the current PnL, so an old drawdown does not trip again at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

import attrs

from mmbot.model import ZERO, QuoteSet


@attrs.frozen
class SymbolLimits:
    max_position: Decimal | None = None
    max_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_orders_per_window: int | None = None
    rate_window: float = 10.0
    max_drawdown: Decimal | None = None


@attrs.frozen
class RiskLimits:
    """``default`` applies to every symbol not named in ``symbols``."""

    default: SymbolLimits = SymbolLimits()
    symbols: Mapping[str, SymbolLimits] = attrs.field(factory=dict)
    max_total_notional: Decimal | None = None
    max_total_open_orders: int | None = None
    max_total_drawdown: Decimal | None = None

    def for_symbol(self, symbol: str) -> SymbolLimits:
        return self.symbols.get(symbol, self.default)


@attrs.frozen
class Exposure:
    """A symbol's exposure now: position (base), mid, open orders and net PnL (quote)."""

    position: Decimal = ZERO
    mid: Decimal | None = None
    open_orders: int = 0
    pnl: Decimal = ZERO

    @property
    def notional(self) -> Decimal:
        return abs(self.position) * self.mid if self.mid is not None else ZERO


@attrs.frozen
class RiskDecision:
    """What one symbol may do now, and why not.

    ``halted`` is one fact: no quoting, and the shell cancels every order of the symbol
    (``halt_reason`` says why: a drawdown kill switch or an operator's halt).
    """

    symbol: str
    halt_reason: str | None  # latched: symbol or global halt
    buy_allowed: bool
    sell_allowed: bool
    place_allowed: bool
    reasons: tuple[str, ...]  # every active restriction, halt first

    @property
    def halted(self) -> bool:
        """Halted: quote nothing and cancel all of the symbol's orders."""
        return self.halt_reason is not None

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None


@attrs.frozen
class RiskState:
    decisions: Mapping[str, RiskDecision]
    global_halt: str | None
    total_notional: Decimal
    total_pnl: Decimal


@attrs.define(eq=False)
class _SymbolRisk:
    exposure: Exposure = Exposure()
    peak: Decimal = ZERO  # the run's PnL starts at zero
    halt: str | None = None
    sent: deque[float] = attrs.field(factory=deque)


@attrs.define(eq=False)
class RiskEngine:
    limits: RiskLimits = RiskLimits()
    _symbols: dict[str, _SymbolRisk] = attrs.field(factory=dict, init=False)
    _total_peak: Decimal = attrs.field(default=ZERO, init=False)
    _global_halt: str | None = attrs.field(default=None, init=False)

    # -- inputs ----------------------------------------------------------------------------

    def update(self, symbol: str, exposure: Exposure, now: float) -> None:
        """The symbol's exposure at ``now``; trips the drawdown kill switches."""
        risk = self._risk(symbol)
        risk.exposure = exposure
        risk.peak = max(risk.peak, exposure.pnl)
        limit = self.limits.for_symbol(symbol).max_drawdown
        drawdown = risk.peak - exposure.pnl
        if risk.halt is None and limit is not None and drawdown >= limit:
            risk.halt = f"drawdown {drawdown} from peak {risk.peak} reached max_drawdown {limit}"
        total_limit = self.limits.max_total_drawdown
        if total_limit is None:  # the total's peak is read by that limit only
            return
        total = self.total_pnl()
        self._total_peak = max(self._total_peak, total)
        total_drawdown = self._total_peak - total
        if self._global_halt is None and total_drawdown >= total_limit:
            self._global_halt = (
                f"total drawdown {total_drawdown} from peak {self._total_peak}"
                f" reached max_total_drawdown {total_limit}"
            )

    def on_order_sent(self, symbol: str, now: float) -> None:
        """Count one new order (a place or a cancel-replace) for the rate limit.

        Kept only while a rate limit is configured for the symbol, and pruned to the
        window here too, so the record never grows with the number of orders sent.
        """
        limits = self.limits.for_symbol(symbol)
        if limits.max_orders_per_window is None:
            return
        sent = self._risk(symbol).sent
        sent.append(now)
        horizon = now - limits.rate_window
        while sent and sent[0] <= horizon:
            sent.popleft()

    def halt(self, reason: str, symbol: str | None = None) -> None:
        """Halt one symbol (or everything) by hand; latches until :meth:`reset`."""
        if symbol is None:
            self._global_halt = self._global_halt or reason
        else:
            risk = self._risk(symbol)
            risk.halt = risk.halt or reason

    def reset(self, symbol: str | None = None) -> None:
        """Clear a symbol's halt (or, with None, every halt) and restart its drawdown peak."""
        targets = self._symbols.values() if symbol is None else [self._risk(symbol)]
        for risk in targets:
            risk.halt = None
            risk.peak = risk.exposure.pnl
        if symbol is None:
            self._global_halt = None
            self._total_peak = self.total_pnl()

    # -- decisions -------------------------------------------------------------------------

    def total_pnl(self) -> Decimal:
        return sum((r.exposure.pnl for r in self._symbols.values()), ZERO)

    def total_notional(self) -> Decimal:
        return sum((r.exposure.notional for r in self._symbols.values()), ZERO)

    def check(self, symbol: str, now: float) -> RiskDecision:
        """What ``symbol`` may do at ``now`` (the totals over every symbol are summed only
        when a limit reads them: a decision per book must not cost one sum per symbol)."""
        limits = self.limits
        notional = ZERO if limits.max_total_notional is None else self.total_notional()
        open_orders = 0 if limits.max_total_open_orders is None else self._total_open_orders()
        return self._decide(symbol, now, notional, open_orders)

    def evaluate(self, now: float) -> RiskState:
        """Every known symbol's decision, plus the totals."""
        notional = self.total_notional()
        open_orders = self._total_open_orders()
        return RiskState(
            decisions={s: self._decide(s, now, notional, open_orders) for s in self._symbols},
            global_halt=self._global_halt,
            total_notional=notional,
            total_pnl=self.total_pnl(),
        )

    def _decide(
        self, symbol: str, now: float, total_notional: Decimal, total_open: int
    ) -> RiskDecision:
        risk = self._risk(symbol)
        limits = self.limits.for_symbol(symbol)
        exposure = risk.exposure
        halt = risk.halt or self._global_halt
        reasons: list[str] = [halt] if halt else []
        buy = sell = place = halt is None
        position = exposure.position
        if limits.max_position is not None and abs(position) >= limits.max_position:
            reasons.append(f"position {position} at max_position {limits.max_position}")
            buy, sell = buy and position < 0, sell and position > 0
        if limits.max_notional is not None and exposure.notional >= limits.max_notional:
            reasons.append(f"notional {exposure.notional} at max_notional {limits.max_notional}")
            buy, sell = buy and position < 0, sell and position > 0
        total_limit = self.limits.max_total_notional
        if total_limit is not None and total_notional >= total_limit:
            reasons.append(f"total notional {total_notional} at max_total_notional {total_limit}")
            buy, sell = buy and position < 0, sell and position > 0
        if limits.max_open_orders is not None and exposure.open_orders >= limits.max_open_orders:
            reasons.append(
                f"{exposure.open_orders} open orders at max_open_orders {limits.max_open_orders}"
            )
            place = False
        total_open_limit = self.limits.max_total_open_orders
        if total_open_limit is not None and total_open >= total_open_limit:
            reasons.append(f"{total_open} open orders at max_total_open_orders {total_open_limit}")
            place = False
        if limits.max_orders_per_window is not None:
            sent = risk.sent
            while sent and sent[0] <= now - limits.rate_window:
                sent.popleft()
            if len(sent) >= limits.max_orders_per_window:
                reasons.append(
                    f"{len(sent)} orders in {limits.rate_window:g}s at"
                    f" max_orders_per_window {limits.max_orders_per_window}"
                )
                place = False
        return RiskDecision(symbol, halt, buy, sell, place, tuple(reasons))

    def _total_open_orders(self) -> int:
        return sum(r.exposure.open_orders for r in self._symbols.values())

    def _risk(self, symbol: str) -> _SymbolRisk:
        risk = self._symbols.get(symbol)
        if risk is None:
            risk = self._symbols[symbol] = _SymbolRisk()
        return risk


def restrict(quotes: QuoteSet, decision: RiskDecision) -> QuoteSet:
    """``quotes`` within what ``decision`` allows: none while halted, no bids when buying is
    not allowed, no asks when selling is not (a pulled set is returned as it is)."""
    if quotes.reason is not None:
        return quotes
    if decision.halt_reason is not None:
        return QuoteSet(quotes.symbol, reason=decision.halt_reason)
    if decision.buy_allowed and decision.sell_allowed:
        return quotes
    return QuoteSet(
        quotes.symbol,
        bids=quotes.bids if decision.buy_allowed else (),
        asks=quotes.asks if decision.sell_allowed else (),
    )
