"""Children for the supervisor tests: each records what happens to it in a shared journal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from mmbot.supervision import current_child


class Journal:
    """What happened, in order: ``(what, child id, trio time)``."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, float]] = []

    def note(self, what: str, id: str) -> None:
        self.entries.append((what, id, trio.current_time()))

    def of(self, what: str) -> list[str]:
        return [id for w, id, _ in self.entries if w == what]

    def times(self, what: str, id: str) -> list[float]:
        return [t for w, i, t in self.entries if w == what and i == id]

    def clear(self) -> None:
        self.entries.clear()


def worker(
    journal: Journal, *, ready_after: float = 0.0, value: object = None
) -> Callable[..., Any]:
    """A well-behaved child: ready after ``ready_after`` s, stops when asked."""

    async def run(*, task_status: trio.TaskStatus[object] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        await trio.sleep(ready_after)
        journal.note("ready", ctx.id)
        task_status.started(value)
        await ctx.stop_requested.wait()
        journal.note("stop", ctx.id)

    return run


def crasher(
    journal: Journal,
    *,
    after: float = 1.0,
    error: Callable[[], BaseException] = lambda: ValueError("boom"),
) -> Callable[..., Awaitable[None]]:
    """A child that is ready at once and raises ``error()`` ``after`` seconds later."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        journal.note("ready", ctx.id)
        task_status.started()
        with trio.move_on_at(trio.current_time() + after) as scope:
            await ctx.stop_requested.wait()
        if scope.cancelled_caught:
            journal.note("crash", ctx.id)
            raise error()
        journal.note("stop", ctx.id)

    return run


def crash_once(journal: Journal, *, after: float = 1.0) -> Callable[..., Awaitable[None]]:
    """A child whose first incarnation crashes after ``after`` s; later ones behave."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        journal.note("ready", ctx.id)
        task_status.started()
        if ctx.restarts == 0:
            await trio.sleep(after)
            journal.note("crash", ctx.id)
            raise ValueError(f"{ctx.id} crashed")
        await ctx.stop_requested.wait()
        journal.note("stop", ctx.id)

    return run
