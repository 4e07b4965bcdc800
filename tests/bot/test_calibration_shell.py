"""The quoter shell and the calibration stage: the fit in the status, the fallback logged once."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from bot_kit import SYMBOLS, running

from mmbot.bot.bot import Bot
from mmbot.bot.metrics import BotMetrics
from mmbot.bot.quoter import fallback_change, trade_tick
from mmbot.config import DEFAULT_CONFIG, config_from_dict
from mmbot.model import Side
from mmbot.quoting.pipeline import IntensityFit
from mmbot.venue.events import PublicTrade

ADAPTIVE = Path(__file__).resolve().parents[2] / "configs" / "strategies" / "adaptive.toml"
USABLE = IntensityFit(2.0, 0.5, 0.9, 100.0)
FALLING_BACK = IntensityFit(None, None, None, 3.0, "too_few_trades: 3.0 < 30")


def adaptive_config() -> Any:
    data: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_CONFIG.items()}
    data["strategy"] = {"file": str(ADAPTIVE)}
    return config_from_dict(data)


def test_only_a_change_between_using_and_falling_back_is_told() -> None:
    assert fallback_change(None, FALLING_BACK) == "falls_back"
    assert fallback_change(USABLE, FALLING_BACK) == "falls_back"
    assert fallback_change(FALLING_BACK, USABLE) == "in_use"
    assert fallback_change(FALLING_BACK, FALLING_BACK) is None
    other = IntensityFit(1.0, 0.1, 0.2, 40.0, "poor_fit: r2 0.20 < 0.5")
    assert fallback_change(FALLING_BACK, other) is None  # still falling back: said already
    assert fallback_change(USABLE, USABLE) is None
    assert fallback_change(None, USABLE) is None


async def test_a_calibrating_symbol_reports_its_fit_and_logs_its_fallback_once(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = BotMetrics(symbols=SYMBOLS)
    bot = Bot(adaptive_config(), mode="sim", seed=11, metrics=metrics)
    with caplog.at_level(logging.INFO, logger="mmbot.quoter"):
        async with running(bot) as handle:
            await trio.sleep(1)
            early = handle.status()
            await trio.sleep(120)
            status = handle.status()
            scraped = metrics.scrape().decode()
    for symbol in early.symbols:  # a fresh quoter has seen too few trades for a fit
        fit = symbol.calibration
        assert fit is not None and fit.fallback_reason is not None
        assert fit.fallback_reason.startswith("too_few_trades")
    for symbol in status.symbols:  # two minutes of the trade stream later, it has one
        fit = symbol.calibration
        assert fit is not None and fit.fallback_reason is None, fit
        assert fit.trades >= 30 and fit.k is not None and fit.k > 0
        assert f'mmbot_calibration_fallback{{symbol="{symbol.symbol}"}} 0.0' in scraped
        assert f'mmbot_calibration_k{{symbol="{symbol.symbol}"}} {fit.k!r}' in scraped
    told = [r for r in caplog.records if r.getMessage().startswith("calibration falls back")]
    assert sorted(r.__dict__["symbol"] for r in told) == sorted(SYMBOLS)  # once each
    assert all(r.__dict__["reason"].startswith("too_few_trades") for r in told)
    used = [r for r in caplog.records if r.getMessage() == "calibration fit in use"]
    assert sorted(r.__dict__["symbol"] for r in used) == sorted(SYMBOLS)


def test_a_public_trade_reaches_the_pipeline_on_its_aggressors_side() -> None:
    sold = PublicTrade("BTCUSDT", 7, Decimal("100.5"), Decimal("0.2"), 1_000, 1_001, True)
    bought = PublicTrade("BTCUSDT", 8, Decimal("100.6"), Decimal("0.1"), 1_000, 1_001, False)
    assert trade_tick(3.5, sold) == (3.5, Decimal("100.5"), Decimal("0.2"), Side.SELL)
    assert trade_tick(3.5, bought).side is Side.BUY


async def _trades_counted(halt_for: float) -> float:
    bot = Bot(adaptive_config(), mode="sim", seed=5)
    async with running(bot) as handle:
        await trio.sleep(40)
        if halt_for:
            handle.halt("BTCUSDT", "operator")
            await trio.sleep(halt_for)
            handle.resume("BTCUSDT")
        await trio.sleep(60 - halt_for)
        await trio.sleep(2)  # a decision or two on a fresh book after the resume
        fit = next(s.calibration for s in handle.status().symbols if s.symbol == "BTCUSDT")
    assert fit is not None
    return fit.trades


async def test_trades_that_come_while_a_symbol_is_halted_are_counted_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # a halted symbol's decisions are pulled by the guards before the calibration stage
    # runs: its trades wait for the first decision that reads them
    quoting = await _trades_counted(0.0)
    halted = await _trades_counted(20.0)
    assert halted == pytest.approx(quoting, rel=0.15)
