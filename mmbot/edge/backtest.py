"""One backtest run: the bot in sim mode on the seeded market, measured from the venue (shell).

What it is for: :func:`run_task` runs one :class:`BacktestTask` — a bot config (plain data),
a seed, a simulated duration — as one ``trio.run`` under ``MockClock`` with the scheduler
seeded: the embedded exchange (the config's symbols and fee tier, its market seeded with
the task's seed) and the bot (``mode="sim"``, the same seed) in one process, as
``mmbot run --mode sim`` runs them. A sampler task reads every symbol's book mid on a fixed
grid (``sample_ms``); after ``duration`` simulated seconds the bot stops gracefully (every
order cancelled). The bot's fills and placements are then read from the exchange's truth
log and turned into :mod:`mmbot.edge.metrics`' figures. Same task, same figures, bit for
bit: the result carries a digest of the exchange's history to show it.

``run_task`` is a top-level function of plain values in and out (a JSON-able dict), so
:func:`mmbot.parallel.map_unordered` can ship it to a spawned process or a Dask worker.

What it must never do: read the wall clock inside the run (only around it, to report the
wall time), create randomness (everything derives from the seed), or touch a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import trio
import trio.testing

from mmbot.bot.bot import Bot, embedded_exchange_config
from mmbot.clock import SEEDED_RUNS, perf_counter_ns, seed_trio_scheduler
from mmbot.config import BotConfig, config_from_dict, config_hash
from mmbot.edge.metrics import SymbolTape, TapeFill, mid_at, run_metrics, symbol_metrics
from mmbot.model import ExecutionType
from mmbot.sim.exchange import Exchange

#: The mid-sampling grid, ms (the market's own time step).
SAMPLE_MS = 100


@attrs.frozen
class BacktestTask:
    """One run to make: plain values only (it travels to worker processes)."""

    index: int
    label: str  # which config, for people (a file's stem)
    config: Mapping[str, Any]  # a normalized bot config (``mmbot.config.normalized``)
    seed: int  # the market's and the bot's
    duration: float  # simulated seconds of quoting
    sample_ms: int = SAMPLE_MS

    def describe(self) -> str:
        return f"{self.label} seed {self.seed}"


@attrs.define
class RunTape:
    """What a run's sampler and its end recorded, beside the exchange's history."""

    start_ms: int = 0
    end_ms: int = 0
    mids: dict[str, list[tuple[int, Decimal]]] = attrs.Factory(dict)
    #: Grid times sampled before a symbol's book had both sides (filled by its first mid).
    waiting: dict[str, list[int]] = attrs.Factory(dict)
    uptime: dict[str, float | None] = attrs.Factory(dict)
    decisions: int = 0
    orders_left: tuple[str, ...] = ()


def run_task(task: BacktestTask) -> dict[str, Any]:
    """Run ``task``; its figures per symbol and in total, as JSON-able data."""
    config = config_from_dict(task.config)
    config = attrs.evolve(config, sim=attrs.evolve(config.sim, seed=task.seed))
    started = perf_counter_ns()
    exchange = Exchange.simulated(embedded_exchange_config(config))
    tape = RunTape(mids={symbol: [] for symbol in config.bot.symbols})
    with SEEDED_RUNS:  # trio's scheduler RNG is process-wide: one seeded run at a time
        seed_trio_scheduler(task.seed)
        clock = trio.testing.MockClock(autojump_threshold=0)
        trio.run(_run, task, config, exchange, tape, clock=clock)
    tapes = symbol_tapes(exchange, config, tape)
    figures = {t.symbol: symbol_metrics(t).figures() for t in tapes}
    return {
        "index": task.index,
        "label": task.label,
        "seed": task.seed,
        "duration_s": task.duration,
        "config_hash": config_hash(config),
        "digest": exchange.history.digest(),
        "wall_s": (perf_counter_ns() - started) / 1e9,
        "decisions": tape.decisions,
        "orders_left": list(tape.orders_left),
        "symbols": figures,
        "total": run_metrics(tapes).figures(),
    }


async def _run(task: BacktestTask, config: BotConfig, exchange: Exchange, tape: RunTape) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        bot = Bot(config, mode="sim", seed=task.seed, exchange=exchange)
        async with trio.open_nursery() as bot_nursery:
            handle = await bot_nursery.start(bot.run)
            tape.start_ms = exchange.now_ms()
            sampling = trio.CancelScope()
            bot_nursery.start_soon(_sample, exchange, tape, task.sample_ms, sampling)
            await trio.sleep(task.duration)
            await handle.stop()
            sampling.cancel()
        tape.end_ms = exchange.now_ms()
        nursery.cancel_scope.cancel()
    status = bot.last_status
    if status is not None:
        tape.decisions = sum(s.decisions for s in status.symbols)
        tape.uptime = {s.symbol: s.quote_uptime_ratio for s in status.symbols}
    report = bot.stop_report
    if report is not None:
        tape.orders_left = tuple(c for cids in report.remaining.values() for c in cids)


async def _sample(
    exchange: Exchange, tape: RunTape, every_ms: int, scope: trio.CancelScope
) -> None:
    """Every symbol's book mid each ``every_ms``, on one grid for all (a side empty: the
    last mid stands; none yet: the first one to come is back-filled)."""
    with scope:
        while True:
            now = exchange.now_ms()
            for symbol, mids in tape.mids.items():
                bid, ask = exchange.engine.best_bid_ask(symbol)
                if bid is not None and ask is not None:
                    mid = (bid + ask) / 2
                    if not mids and tape.waiting.get(symbol):
                        mids.extend((t, mid) for t in tape.waiting.pop(symbol))
                    mids.append((now, mid))
                elif mids:
                    mids.append((now, mids[-1][1]))
                else:
                    tape.waiting.setdefault(symbol, []).append(now)
            await trio.sleep(every_ms / 1000)


def symbol_tapes(exchange: Exchange, config: BotConfig, tape: RunTape) -> list[SymbolTape]:
    """What the exchange recorded of the bot's account, per symbol, with the sampled mids."""
    account = exchange.config.account
    instruments = {i.symbol: i for i in exchange.engine.instruments}
    out = []
    for symbol in config.bot.symbols:
        mids = tuple(tape.mids[symbol])
        times = [t for t, _ in mids]
        placed_at: dict[int, int] = {}
        for report in exchange.history.executions(account, symbol):
            if report.execution_type is ExecutionType.NEW:
                placed_at.setdefault(report.order_id, report.transaction_time_ms)
        base = instruments[symbol].base_asset
        fills = []
        for fill in exchange.history.fills(account, symbol):
            fee = fill.fee * fill.price if fill.fee_asset == base else fill.fee
            at = placed_at.get(fill.order_id)
            placed_mid = mid_at(mids, times, at) if at is not None and mids else None
            fills.append(
                TapeFill(
                    time_ms=fill.time_ms,
                    side=fill.side,
                    price=fill.price,
                    qty=fill.quantity,
                    fee_quote=fee,
                    is_maker=fill.is_maker,
                    placed_mid=placed_mid,
                )
            )
        fills.sort(key=lambda f: f.time_ms)
        out.append(
            SymbolTape(
                symbol=symbol,
                quote_asset=instruments[symbol].quote_asset,
                start_ms=tape.start_ms,
                end_ms=tape.end_ms,
                mids=mids,
                fills=tuple(fills),
                orders_placed=len(placed_at),
                quote_uptime=tape.uptime.get(symbol),
            )
        )
    return out
