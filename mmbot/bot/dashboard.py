"""The live terminal dashboard of ``mmbot run`` (rich).

What it is for: :func:`render` turns one :class:`BotStatus` into a rich renderable (pure,
testable without trio or a terminal): a header with the run's identity, uptime, breakers
and totals, then one table with a column per symbol: its state (and why it is pulled or
halted), the market's best bid and ask, our quotes, book age, position, PnL, net_bps,
orders, restarts and the p95 decision latency (four symbols fit an 80-column terminal).
:func:`run_dashboard` redraws it every ``refresh`` seconds of trio time with
``rich.live.Live``, for as long as it runs.

What it must never do: show a secret (it shows only what ``BotStatus`` holds); start a
thread (``Live`` runs with ``auto_refresh=False``: every redraw happens in this task, on the
trio loop); block the loop beyond one render; draw on something that is not a terminal
(then it does nothing at all, see :func:`run_dashboard`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import trio
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mmbot.bot import figures
from mmbot.bot.status import BotStatus, SymbolState, SymbolStatus
from mmbot.model import QuoteSet

_STATE_STYLE = {
    SymbolState.STARTING: "cyan",
    SymbolState.QUOTING: "green",
    SymbolState.PULLED: "yellow",
    SymbolState.HALTED: "bold red",
    SymbolState.STOPPED: "dim",
}
_BREAKER_STYLE = {
    "closed": "green",
    "half_open": "yellow",
    "open": "red",
    "forced_open": "bold red",
    "disabled": "dim",
    "metrics_only": "dim",
}


def _signed(value: Decimal | float | None, text: str) -> Text:
    if value is None or value == 0:
        return Text(text)
    return Text(text, style="green" if value > 0 else "red")


def state_text(s: SymbolStatus) -> Text:
    """``quoting``, ``pulled: stale_book``, ``halted: restart_intensity``."""
    reason = s.halt_reason if s.state is SymbolState.HALTED else s.pull_reason
    if s.state is SymbolState.PULLED or s.state is SymbolState.HALTED:
        label = f"{s.state.value}: {reason or 'no reason given'}"
    else:
        label = s.state.value
    return Text(label, style=_STATE_STYLE[s.state])


def our_quotes(quotes: QuoteSet | None) -> tuple[str, str, str]:
    """Our best bid, best ask and levels (``"2x2"``) from the last decision's quotes."""
    if quotes is None or quotes.is_empty:
        return figures.MISSING, figures.MISSING, "0x0"
    bid = max((q.price for q in quotes.bids), default=None)
    ask = min((q.price for q in quotes.asks), default=None)
    return figures.price(bid), figures.price(ask), f"{len(quotes.bids)}x{len(quotes.asks)}"


def _orders_text(s: SymbolStatus) -> Text:
    unresolved = sum(n for state, n in s.orders.items() if state.lower() == "unresolved")
    text = Text(str(s.open_orders))
    if unresolved:
        text.append(f" ({unresolved} unresolved)", style="bold yellow")
    return text


#: The rows of the symbols table, in order (one column per symbol).
ROWS = (
    "state", "market", "our quotes", "levels", "book age", "position", "pnl", "net_bps",
    "open orders", "restarts", "decision p95",
)  # fmt: skip


def symbol_column(s: SymbolStatus) -> list[str | Text]:
    """One symbol's column of the table, in :data:`ROWS` order."""
    bid, ask, levels = our_quotes(s.quotes)
    stale = s.book_age_s is not None and s.book_age_s >= 1.0
    state = state_text(s)
    if s.budget_short:
        state.append(" (order budget short)", style="yellow")
    return [
        state,
        f"{figures.price(s.best_bid)} / {figures.price(s.best_ask)}",
        f"{bid} / {ask}",
        levels,
        Text(figures.age(s.book_age_s), style="yellow" if stale else ""),
        figures.price(s.position),
        _signed(s.pnl, figures.money(s.pnl)),
        _signed(s.net_bps, figures.bps(s.net_bps)),
        _orders_text(s),
        Text(str(s.restarts), style="yellow" if s.restarts else ""),
        figures.micros(s.decision_p95_us),
    ]


def symbols_table(symbols: tuple[SymbolStatus, ...]) -> Table:
    """Every symbol side by side, one column each (four fit an 80-column terminal): state
    and why, market, our quotes, book age, position, PnL, net_bps, open orders, restarts
    and the p95 decision latency."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", style="dim", no_wrap=True)
    columns = [symbol_column(s) for s in symbols]
    for s in symbols:
        table.add_column(s.symbol, justify="right", overflow="fold")
    for i, label in enumerate(ROWS):
        table.add_row(label, *(column[i] for column in columns))
    return table


def header(status: BotStatus) -> Table:
    """The run's identity, uptime, breakers, restarts, halts and total PnL."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column()
    identity = Text.assemble(
        ("mmbot ", "bold"),
        f"run {status.run_id}  mode {status.mode}  venue {status.venue}  ",
        f"config {status.config_hash} (v{status.config_version})  ",
        f"up {figures.duration(status.now - status.started_at)}",
    )
    if status.stopping:
        identity.append("  stopping", style="bold yellow")
    breakers = Text()
    for name, state in sorted(status.breakers.items()):
        breakers.append(f"{name} ")
        breakers.append(state.lower(), style=_BREAKER_STYLE.get(state.lower(), "magenta"))
        breakers.append("  ")
    pnl = sum((s.pnl for s in status.symbols), Decimal(0))
    halts = ", ".join(f"{symbol} ({reason})" for symbol, reason in status.halts) or "none"
    grid.add_row(identity, "")
    grid.add_row(Text.assemble(("breakers  ", "dim"), breakers), "")
    grid.add_row(
        Text.assemble(
            ("pnl ", "dim"),
            _signed(pnl, figures.money(pnl)),
            ("  restarts ", "dim"),
            str(status.restarts),
            ("  halts ", "dim"),
            Text(halts, style="red" if status.halts else ""),
        ),
        "",
    )
    return grid


def render(status: BotStatus) -> RenderableType:
    """The whole dashboard for one status: the header, then a table per symbol."""
    return Group(header(status), symbols_table(status.symbols))


async def run_dashboard(
    status_source: Callable[[], BotStatus],
    *,
    refresh: float = 0.5,
    console: Console | None = None,
) -> None:
    """Redraw :func:`render` of ``status_source()`` every ``refresh`` seconds until cancelled.

    When the console is not a terminal (output piped or redirected, CI) it draws nothing
    and reads no status, and it still waits for cancellation rather than returning: as a
    supervised child it then behaves like any other (a permanent child that returns is
    treated as a crash, DESIGN.md §4.6), so the bot's tree does not depend on the terminal.
    While it runs, whatever is written to stdout or stderr (log lines) is shown above the
    dashboard; when it is cancelled the last frame stays on the screen.
    """
    console = console if console is not None else Console()
    if not console.is_terminal:
        await trio.sleep_forever()
    with Live(
        render(status_source()),
        console=console,
        auto_refresh=False,  # no refresh thread: every redraw happens here, on the trio loop
        redirect_stdout=True,
        redirect_stderr=True,
    ) as live:
        while True:
            await trio.sleep(refresh)
            live.update(render(status_source()), refresh=True)
