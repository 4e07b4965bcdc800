"""The live terminal dashboard: what one frame shows, and when it draws at all."""

from __future__ import annotations

import io
import itertools
import logging
import re
import threading
from functools import partial

import attrs
import trio
import trio.testing
from rich.console import Console
from status_kit import quoting_symbol, sample_status

from mmbot.bot.dashboard import ROWS, render, run_dashboard
from mmbot.bot.logs import configure_logging
from mmbot.bot.status import BotStatus
from mmbot.config import LogFormat


def frame(status: BotStatus, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(render(status))
    return console.export_text()


def card_rows(text: str) -> dict[str, list[str]]:
    """The symbols table read as {row label: [value per symbol, left to right]}."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c for c in re.split(r"\s{2,}", line.strip()) if c]
        if cells and cells[0] in ROWS:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_header_names_the_run_mode_venue_config_and_uptime() -> None:
    first = frame(sample_status()).splitlines()[0]
    for shown in ("r7f3a", "mode live", "venue sim", "config a1b2c3d4e5f6 (v1)", "up 1h02m00s"):
        assert shown in first


def test_the_header_shows_each_breakers_state_the_restarts_and_the_halts() -> None:
    text = frame(sample_status())
    assert "account open  market_data half_open  orders closed" in text
    assert "restarts 4" in text
    assert "halts ETHUSDT (restart_intensity)" in text


def test_a_quoting_symbols_card_shows_market_quotes_book_money_and_latency() -> None:
    rows = card_rows(frame(sample_status(symbols=(quoting_symbol(),))))
    assert rows["state"] == ["quoting"]
    assert rows["market"] == ["64999.9 / 65000.1"]
    assert rows["our quotes"] == ["64999.5 / 65000.5"]
    assert rows["levels"] == ["2x2"]
    assert rows["book age"] == ["42ms"]
    assert rows["position"] == ["0.125"]
    assert rows["pnl"] == ["12.34"]
    assert rows["net_bps"] == ["+1.75"]
    assert rows["open orders"] == ["4 (1 unresolved)"]
    assert rows["restarts"] == ["1"]
    assert rows["decision p95"] == ["41.5µs"]


def test_a_pulled_or_halted_symbol_shows_why() -> None:
    rows = card_rows(frame(sample_status(), width=200))
    assert rows["state"] == [
        "quoting",
        "halted: restart_intensity (order budget short)",
        "pulled: stale_book",
    ]


def test_unknown_figures_show_as_a_dash() -> None:
    rows = card_rows(frame(sample_status(), width=200))
    assert rows["net_bps"][1] == "-"
    assert rows["our quotes"][1] == "- / -"


def test_a_stopping_bot_says_so() -> None:
    assert "stopping" in frame(sample_status(stopping=True)).splitlines()[0]


def test_a_bot_without_symbols_still_renders() -> None:
    status = BotStatus("r0", "sim", "sim", "000000000000", 1, now=1.0, started_at=0.0)
    assert "halts none" in frame(status)


# -- the live loop --------------------------------------------------------------------------


async def test_off_a_terminal_it_draws_nothing_and_waits_to_be_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    out = io.StringIO()
    reads = 0

    def status() -> BotStatus:
        nonlocal reads
        reads += 1
        return sample_status()

    with trio.move_on_after(60) as scope:
        await run_dashboard(status, console=Console(file=out))  # a StringIO is no terminal
    assert scope.cancelled_caught  # still running when cancelled: it never returned
    assert (reads, out.getvalue()) == (0, "")


async def test_on_a_terminal_it_redraws_the_latest_status_every_refresh(
    autojump_clock: trio.testing.MockClock,
) -> None:
    out = io.StringIO()
    runs = (f"run{i:03d}" for i in itertools.count())
    reads = 0
    threads = {threading.active_count()}

    def status() -> BotStatus:
        nonlocal reads
        reads += 1
        threads.add(threading.active_count())
        return attrs.evolve(sample_status(), run_id=next(runs))

    console = Console(file=out, force_terminal=True, width=120)
    with trio.move_on_after(2.25):
        await run_dashboard(status, refresh=0.5, console=console)
    assert reads == 5  # the first frame, then at 0.5, 1.0, 1.5 and 2.0 s
    assert "run004" in out.getvalue()
    assert len(threads) == 1  # no refresh thread: every redraw ran in this task


async def test_log_lines_written_while_it_runs_appear_above_it(
    autojump_clock: trio.testing.MockClock, restore_logging: None
) -> None:
    configure_logging(LogFormat.TEXT, "info")  # no stream: stderr as it is when written
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(run_dashboard, sample_status, console=console))
        await trio.sleep(1)
        logging.getLogger("mmbot.test").warning("breaker opened", extra={"breaker": "orders"})
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert "WARNING mmbot.test: breaker opened breaker=orders" in out.getvalue()
