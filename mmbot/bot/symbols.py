"""One symbol's subtree: its quoter under its own supervisor, and the halt past its intensity.

What it is for: isolation between symbols. Each symbol runs its quoter under a supervisor
of its own (one_for_one, ``supervision.intensity`` restarts within ``supervision.period``,
jittered backoff between restarts), so a quoter that raises is restarted without touching
the other symbols. Past its intensity that supervisor escalates; here the escalation
becomes a *halt of that symbol* with the reason ``restart_intensity``: its orders are
cancelled, the other symbols carry on, and the symbol waits for ``BotHandle.resume`` to
start its quoter again. A quoter that cannot become ready (no valid book within its start
timeout) halts its symbol the same way, with ``start_failed``. The subtree reports itself
started at once, so the symbols start side by side (the bot waits for each symbol's
``started`` event: its first decision on a valid book, or a halt).

What it must never do: let one symbol's failure escalate past this subtree, swallow
``Cancelled``, or wait on the resume while asked to stop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from mmbot.bot.actions import OrderActions
from mmbot.bot.state import BotState
from mmbot.bot.status import SymbolState
from mmbot.errors import ChildStartError, SupervisorEscalation
from mmbot.supervision import Backoff, ChildSpec, Supervisor, current_child

log = logging.getLogger("mmbot.symbols")

#: How long a quoter may take to become ready (its first decision on a valid book).
QUOTER_START_TIMEOUT = 60.0

#: Restart backoff grows by up to this fraction, from the run's seeded RNG.
BACKOFF_JITTER = 0.2

RESTART_INTENSITY = "restart_intensity"
START_FAILED = "start_failed"


class SymbolTree:
    """A symbol's quoter under its own supervisor, halted past its intensity (a child)."""

    def __init__(
        self,
        state: BotState,
        symbol: str,
        make_quoter: Callable[[], Callable[..., Awaitable[object]]],
        actions: Callable[[], OrderActions],
        *,
        seed: int = 0,
    ) -> None:
        self.state = state
        self.seed = seed
        self.symbol = symbol
        self.make_quoter = make_quoter
        self.actions = actions
        self.supervisor: Supervisor | None = None

    def _supervisor(self) -> Supervisor:
        cfg = self.state.config
        sup = cfg.supervision
        shutdown = cfg.shutdown.in_flight_wait + cfg.orders.action_timeout + 1.0
        spec = ChildSpec(
            "quoter",
            self.make_quoter(),
            shutdown=shutdown,
            start_timeout=QUOTER_START_TIMEOUT,
        )
        return Supervisor(
            [spec],
            strategy="one_for_one",
            intensity=sup.intensity,
            period=sup.period,
            backoff=Backoff(
                base=sup.backoff_base,
                cap=sup.backoff_cap,
                jitter=BACKOFF_JITTER,
                reset_after=sup.period,
            ),
            name=self.symbol,
            seed=self.seed,
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        stop = current_child().stop_requested
        runtime = self.state.runtime(self.symbol)
        ready = False
        while not stop.is_set():
            reason: str | None = None
            self.supervisor = supervisor = self._supervisor()
            if not ready:  # the symbols start side by side; the bot waits for each
                ready = True
                task_status.started()
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(supervisor.run)
            except* SupervisorEscalation as group:
                reason = RESTART_INTENSITY
                log.error(
                    "symbol halted",
                    extra={"symbol": self.symbol, "reason": reason, "error": repr(group)},
                )
            except* ChildStartError as group:
                reason = START_FAILED
                log.error(
                    "symbol halted",
                    extra={"symbol": self.symbol, "reason": reason, "error": repr(group)},
                )
            finally:
                self.supervisor = None
            if reason is None:
                return  # stopped on request
            resumed = runtime.resumed  # a resume while the orders are cancelled sets this one
            runtime.halt_reason = reason
            runtime.state = SymbolState.HALTED
            runtime.started.set()
            await self._cancel_orders()
            await _first_of(stop, resumed)

    async def _cancel_orders(self) -> None:
        timeout = self.state.config.shutdown.cancel_deadline
        with trio.move_on_after(timeout, shield=True):
            await self.actions().cancel_all_of(self.symbol)


async def _first_of(*events: trio.Event) -> None:
    """Wait until any of ``events`` is set."""
    async with trio.open_nursery() as nursery:

        async def wait_then_stop(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        for event in events:
            nursery.start_soon(wait_then_stop, event)
