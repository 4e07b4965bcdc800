"""A stop asked while a child is starting (first start, restart, group restart,
``start_child``, ``restart_child``, a parent's orderly stop) does not wait for that start:
the starting child is asked to stop, gets its shutdown budget, and the rest of the tree
stops in reverse order. The aborted start is not a failure: nothing is counted, the child
shows ``stopped`` and its last event is ``stopped``."""

from __future__ import annotations

import math

import pytest
import trio
from supervision_kit import Journal, worker

from mmbot.supervision import (
    ChildSpec,
    ChildState,
    EventKind,
    EventStream,
    Supervisor,
    SupervisorHandle,
    SupervisorState,
    current_child,
)


def waits_for_a_book(journal: Journal, *, cleanup: float = 0.0):
    """A child whose start waits for something that never comes (a book); it watches its
    stop request meanwhile and, once asked, cleans up for ``cleanup`` s."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        journal.note("starting", ctx.id)
        await ctx.stop_requested.wait()
        journal.note("asked", ctx.id)
        await trio.sleep(cleanup)
        journal.note("cleaned", ctx.id)

    return run


def stuck_ignoring_requests(journal: Journal):
    """A child whose start never ends and that ignores its stop request."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await trio.sleep_forever()
        finally:
            journal.note("cancelled", current_child().id)

    return run


def ready_once_then_stuck(journal: Journal, *, crash_after: float = math.inf):
    """First incarnation: ready at once, crashes after ``crash_after`` s (stops when asked
    before). Every later incarnation waits for a book, as ``waits_for_a_book``."""
    stuck = waits_for_a_book(journal)

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        if ctx.restarts > 0:
            await stuck(task_status=task_status)
            return
        journal.note("ready", ctx.id)
        task_status.started()
        with trio.move_on_after(crash_after) as scope:
            await ctx.stop_requested.wait()
        if scope.cancelled_caught:
            journal.note("crash", ctx.id)
            raise ValueError(f"{ctx.id} crashed")
        journal.note("stop", ctx.id)

    return run


async def kinds(events: EventStream) -> list[tuple[EventKind, str | None, float]]:
    return [(e.kind, e.child, e.at) async for e in events]


def assert_all_stopped_nothing_counted(handle: SupervisorHandle, restarts: int = 0) -> None:
    status = handle.status()
    assert status.state is SupervisorState.STOPPED
    assert status.restarts_in_window == restarts
    for child in status.children:
        assert child.state is ChildState.STOPPED, child


async def test_a_stop_during_the_first_start_does_not_wait_for_the_start(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("slow", waits_for_a_book(journal, cleanup=0.5), start_timeout=60, shutdown=2),
            ChildSpec("c", worker(journal)),
        ],
        intensity=0,  # a single counted failure would escalate
    )
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervisor.run)  # never ready: run returns once stopped
        await trio.sleep(1)
        handle = supervisor.handle
        assert handle.status().child("slow").state is ChildState.STARTING
        await handle.stop()
        assert trio.current_time() == 1.5  # the child's cleanup, within its 2 s budget
    assert journal.entries == [
        ("ready", "a", 0.0),
        ("starting", "slow", 0.0),
        ("asked", "slow", 1.0),
        ("cleaned", "slow", 1.5),
        ("stop", "a", 1.5),
    ]
    assert_all_stopped_nothing_counted(handle)
    status = handle.status()
    assert all(c.last_failure is None and not c.shutdown_overran for c in status.children)
    assert await kinds(events) == [
        (EventKind.STARTED, "a", 0.0),
        (EventKind.STOPPED, "slow", 1.5),
        (EventKind.STOPPED, "a", 1.5),
        (EventKind.STOPPED, None, 1.5),
    ]


async def test_a_starting_child_that_ignores_the_stop_is_cancelled_at_its_budget(
    autojump_clock,
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("stuck", stuck_ignoring_requests(journal), start_timeout=60, shutdown=3)],
        intensity=0,
    )
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervisor.run)
        await trio.sleep(1)
        handle = supervisor.handle
        await handle.stop()
        assert trio.current_time() == 4.0  # 1 + its 3 s budget, not its 60 s start timeout
    assert journal.entries == [("cancelled", "stuck", 4.0)]
    assert_all_stopped_nothing_counted(handle)
    stuck = handle.status().child("stuck")
    assert (stuck.last_failure, stuck.shutdown_overran) == (None, True)
    seen = [e async for e in events]
    assert [(e.kind, e.child, e.at, e.overran) for e in seen] == [
        (EventKind.STOPPED, "stuck", 4.0, True),
        (EventKind.STOPPED, None, 4.0, False),
    ]


async def test_a_starting_child_asked_to_stop_gets_its_whole_budget(autojump_clock) -> None:
    """Once asked, the shutdown budget rules, not what was left of the start timeout."""
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("slow", waits_for_a_book(journal, cleanup=2.5), start_timeout=2, shutdown=3)]
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervisor.run)
        await trio.sleep(1)
        handle = supervisor.handle
        await handle.stop()
    assert journal.times("cleaned", "slow") == [3.5]
    assert not handle.status().child("slow").shutdown_overran


async def test_a_stop_during_a_restart_does_not_wait_for_the_restart(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("quoter", ready_once_then_stuck(journal, crash_after=1), start_timeout=60)],
        intensity=1,  # the crash is one restart; an aborted restart counted would escalate
    )
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(2)  # crashed at t=1, restarting (not ready yet)
        assert handle.status().child("quoter").state is ChildState.STARTING
        await handle.stop()
        assert trio.current_time() == 2.0  # it stopped as soon as asked: no budget used
    assert journal.entries == [
        ("ready", "quoter", 0.0),
        ("crash", "quoter", 1.0),
        ("starting", "quoter", 1.0),
        ("asked", "quoter", 2.0),
        ("cleaned", "quoter", 2.0),
    ]
    assert_all_stopped_nothing_counted(handle, restarts=1)
    quoter = handle.status().child("quoter")
    assert quoter.restarts == 1
    assert quoter.last_failure is not None and quoter.last_failure.at == 1.0
    assert await kinds(events) == [
        (EventKind.STARTED, "quoter", 0.0),
        (EventKind.STARTED, None, 0.0),
        (EventKind.EXITED, "quoter", 1.0),
        (EventKind.RESTARTING, "quoter", 1.0),
        (EventKind.STOPPED, "quoter", 2.0),
        (EventKind.STOPPED, None, 2.0),
    ]


@pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
async def test_a_stop_during_a_group_restart_stops_the_group_in_reverse_order(
    autojump_clock, strategy: str
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("b", ready_once_then_stuck(journal, crash_after=1), start_timeout=60),
            ChildSpec("c", worker(journal)),
        ],
        strategy=strategy,
        intensity=1,
    )
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(2)  # b crashed at t=1; the group restarts, b is not ready yet
        status = handle.status()
        assert status.child("b").state is ChildState.STARTING
        assert status.child("c").state is ChildState.BACKING_OFF
        await handle.stop()
        assert trio.current_time() == 2.0
    assert_all_stopped_nothing_counted(handle, restarts=1)
    assert journal.times("ready", "c") == [0.0]  # c's restart was dropped
    assert journal.times("asked", "b") == [2.0]
    # one_for_all restarted a before b; rest_for_one left it running: stopped last either way
    assert journal.entries[-1] == ("stop", "a", 2.0)
    seen = await kinds(events)
    assert (EventKind.START_FAILED, "b") not in [(k, c) for k, c, _ in seen]
    assert seen[-3:] == [
        (EventKind.STOPPED, "b", 2.0),
        (EventKind.STOPPED, "a", 2.0),
        (EventKind.STOPPED, None, 2.0),
    ]


@pytest.mark.parametrize("request_", ["start_child", "restart_child"])
async def test_a_stop_during_start_child_or_restart_child_answers_the_caller(
    autojump_clock, request_: str
) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("a", worker(journal))], intensity=0)
    if request_ == "restart_child":
        supervisor = Supervisor(
            [ChildSpec("a", worker(journal)), ChildSpec("slow", ready_once_then_stuck(journal))],
            intensity=0,
        )
    answers: list[tuple[BaseException, float]] = []

    async def caller(handle: SupervisorHandle) -> None:
        try:
            if request_ == "start_child":
                await handle.start_child(
                    ChildSpec("slow", waits_for_a_book(journal), start_timeout=60)
                )
            else:
                await handle.restart_child("slow")
        except RuntimeError as exc:
            answers.append((exc, trio.current_time()))

    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        if request_ == "restart_child":
            await handle.terminate_child("slow")
        nursery.start_soon(caller, handle)
        await trio.sleep(1)
        assert handle.status().child("slow").state is ChildState.STARTING
        await handle.stop()
        assert trio.current_time() == 1.0
    [(error, at)] = answers
    assert "asked to stop before child 'slow' was ready" in str(error)
    assert at == 1.0
    assert journal.times("asked", "slow") == [1.0]
    assert journal.entries[-1] == ("stop", "a", 1.0)
    assert_all_stopped_nothing_counted(handle)
    assert [c.id for c in handle.which_children()][-1] == "slow"  # kept, as stopped


async def test_a_parents_orderly_stop_reaches_a_subtree_that_is_starting(autojump_clock) -> None:
    """The root is cancelled from outside while a subtree waits for a child slow to start:
    the root's orderly stop asks the subtree, which no longer waits for that start."""
    journal = Journal()
    sub = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("slow", waits_for_a_book(journal, cleanup=0.5), start_timeout=60),
        ],
        name="sub",
    )
    root = Supervisor([ChildSpec("sub", sub)], name="root")
    with trio.move_on_after(1) as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(root.run)
    assert scope.cancelled_caught
    assert trio.current_time() == 1.5
    assert journal.entries[-3:] == [
        ("asked", "slow", 1.0),
        ("cleaned", "slow", 1.5),
        ("stop", "a", 1.5),
    ]


async def test_a_start_requested_before_a_stop_but_served_after_it_is_not_begun(
    autojump_clock,
) -> None:
    journal = Journal()
    slow_to_stop = waits_for_a_book(journal, cleanup=2.0)

    async def busy(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await slow_to_stop()

    supervisor = Supervisor([ChildSpec("busy", busy)])
    answers: list[BaseException] = []

    async def start_late(handle: SupervisorHandle) -> None:
        try:
            await handle.start_child(ChildSpec("late", worker(journal)))
        except RuntimeError as exc:
            answers.append(exc)

    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        nursery.start_soon(handle.terminate_child, "busy")  # keeps the loop busy for 2 s
        await trio.sleep(0.5)
        nursery.start_soon(start_late, handle)  # queued behind it...
        await trio.sleep(0.5)
        handle.stop_nowait()  # ...and the stop behind that
    [error] = answers
    assert "is stopping" in str(error)
    assert "late" not in journal.of("ready")  # never started
    assert [c.id for c in handle.which_children()] == ["busy"]
