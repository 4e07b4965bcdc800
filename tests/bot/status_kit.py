"""Sample statuses for the observability tests: every figure set, and every figure missing."""

from __future__ import annotations

from decimal import Decimal

from mmbot.bot.status import BotStatus, SymbolState, SymbolStatus
from mmbot.model import Quote, QuoteSet, Side
from mmbot.quoting.ledger_views import LedgerView, Markout
from mmbot.quoting.pipeline import IntensityFit

D = Decimal


def quotes(symbol: str = "BTCUSDT") -> QuoteSet:
    return QuoteSet(
        symbol=symbol,
        bids=(
            Quote(Side.BUY, 0, D("64999.50"), D("0.010")),
            Quote(Side.BUY, 1, D("64998.00"), D("0.020")),
        ),
        asks=(
            Quote(Side.SELL, 0, D("65000.50"), D("0.010")),
            Quote(Side.SELL, 1, D("65002.00"), D("0.020")),
        ),
    )


def markouts(one: str | None, ten: str | None, sixty: str | None) -> tuple[Markout, ...]:
    return tuple(
        Markout(h, 0 if bps is None else 7, None if bps is None else D(bps))
        for h, bps in ((1.0, one), (10.0, ten), (60.0, sixty))
    )


def quoting_symbol() -> SymbolStatus:
    """BTCUSDT, quoting, with every figure known."""
    return SymbolStatus(
        symbol="BTCUSDT",
        state=SymbolState.QUOTING,
        best_bid=D("64999.90"),
        best_ask=D("65000.10"),
        book_age_s=0.042,
        quotes=quotes(),
        orders={"OPEN": 3, "UNRESOLVED": 1},
        position=D("0.125"),
        pnl=D("12.34"),
        net_bps=1.75,
        slippage_bps=-0.8,
        taker_share=0.05,
        markouts=markouts("0.5", "-1.25", "2"),
        fills=7,
        volume=D("70512.55"),
        decisions=1234,
        actions=88,
        quote_uptime_ratio=0.97,
        decision_p95_us=41.5,
        restarts=1,
        calibration=IntensityFit(a=1.8, k=0.45, r2=0.93, trades=412.5, adverse_bps=0.3),
    )


def halted_symbol() -> SymbolStatus:
    """ETHUSDT, halted for restart intensity, nothing traded: every ratio unknown."""
    return SymbolStatus(
        symbol="ETHUSDT",
        state=SymbolState.HALTED,
        halt_reason="restart_intensity",
        restarts=3,
        budget_short=True,
    )


def pulled_symbol() -> SymbolStatus:
    return SymbolStatus(
        symbol="SOLUSDT",
        state=SymbolState.PULLED,
        pull_reason="stale_book",
        best_bid=D("150.01"),
        best_ask=D("150.03"),
        book_age_s=7.5,
        orders={"PENDING_CANCEL": 2},
        position=D("-3"),
        pnl=D("-0.66"),
        net_bps=-2.5,
        fills=2,
        volume=D("2640.00"),
        calibration=IntensityFit(None, None, None, 12.0, "too_few_trades: 12.0 < 30"),
    )


def total_view() -> LedgerView:
    return LedgerView(
        symbol="*",
        position=D("0"),
        average_cost=None,
        cash=D("0"),
        fees=D("1.5"),
        realized_pnl=D("10"),
        unrealized_pnl=D("3.18"),
        net_pnl=D("11.68"),
        mid=None,
        volume=D("73152.55"),
        base_volume=D("3.2"),
        fill_count=9,
        net_bps=D("1.5966"),
        slippage_bps=D("-0.75"),
        slippage_fills=9,
        taker_share=D("0.048"),
        markouts=markouts("0.4", "-1.1", None),
        other_fees={},
    )


def sample_status(**changes: object) -> BotStatus:
    """A bot with three symbols (quoting, halted, pulled), three breakers, two supervisors."""
    values: dict[str, object] = dict(
        run_id="r7f3a",
        mode="live",
        venue="sim",
        config_hash="a1b2c3d4e5f6",
        config_version=1,
        now=3725.0,
        started_at=5.0,
        symbols=(quoting_symbol(), halted_symbol(), pulled_symbol()),
        breakers={"orders": "closed", "market_data": "half_open", "account": "open"},
        restarts=4,
        intensity_headroom={"root": 3, "symbols/ETHUSDT": 0},
        child_restarts={"symbols/BTCUSDT/quoter": 1, "symbols/ETHUSDT/quoter": 3},
        startup_orphans_cancelled=2,
        foreign_orders=1,
        total=total_view(),
    )
    values.update(changes)
    return BotStatus(**values)  # type: ignore[arg-type]
