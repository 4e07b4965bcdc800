"""Stopping: ask first, cancel at the budget, reverse order; outside cancellation and
KeyboardInterrupt stop the tree without counting a failure."""

from __future__ import annotations

import logging

import pytest
import trio
from supervision_kit import Journal, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import (
    ChildSpec,
    ChildState,
    EventKind,
    Supervisor,
    SupervisorHandle,
    SupervisorState,
    current_child,
)


def cleans_up(journal: Journal, cleanup: float):
    """A child that, asked to stop, spends ``cleanup`` seconds cancelling its orders."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ctx = current_child()
        task_status.started()
        await ctx.stop_requested.wait()
        journal.note("asked", ctx.id)
        await trio.sleep(cleanup)
        journal.note("cleaned", ctx.id)

    return run


def ignores_requests(journal: Journal):
    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            journal.note("cancelled", current_child().id)

    return run


async def test_a_child_is_asked_first_and_may_finish_within_its_budget(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("q", cleans_up(journal, 1.5), shutdown=2.0)])
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await handle.stop()
    assert journal.entries == [("asked", "q", 0.0), ("cleaned", "q", 1.5)]
    assert not handle.status().child("q").shutdown_overran


async def test_a_child_ignoring_the_request_is_cancelled_at_its_budget_and_named(
    autojump_clock, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("stubborn", ignores_requests(journal), shutdown=3.0)])
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        with caplog.at_level(logging.WARNING, logger="mmbot.supervision"):
            await handle.stop()
    assert journal.entries == [("cancelled", "stubborn", 3.0)]
    assert "'stubborn' did not stop within its 3s shutdown budget" in caplog.text
    status = handle.status().child("stubborn")
    assert (status.state, status.shutdown_overran) == (ChildState.STOPPED, True)
    stopped = [e async for e in events if e.kind is EventKind.STOPPED and e.child == "stubborn"]
    assert [e.overran for e in stopped] == [True]


async def test_a_zero_budget_cancels_at_once_without_counting_an_overrun(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("c", ignores_requests(journal), shutdown=0)])
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await handle.stop()
    assert journal.entries == [("cancelled", "c", 0.0)]
    assert not handle.status().child("c").shutdown_overran


async def test_no_budget_waits_for_ever(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("slow", cleans_up(journal, 1000.0), shutdown=None)])
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await handle.stop()
    assert journal.times("cleaned", "slow") == [1000.0]


async def test_children_stop_one_after_another_in_reverse_order(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", ignores_requests(journal), shutdown=1.0),
            ChildSpec("b", cleans_up(journal, 0.5), shutdown=1.0),
            ChildSpec("c", ignores_requests(journal), shutdown=2.0),
        ]
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await handle.stop()
    assert journal.entries == [
        ("cancelled", "c", 2.0),
        ("asked", "b", 2.0),
        ("cleaned", "b", 2.5),
        ("cancelled", "a", 3.5),
    ]
    assert handle.status().state is SupervisorState.STOPPED


async def test_outside_cancellation_stops_the_tree_in_order_without_counting_a_failure(
    autojump_clock,
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("feed", worker(journal)),
            ChildSpec("quoter", cleans_up(journal, 1.0), shutdown=2.0),
        ],
        intensity=0,  # a single counted failure would escalate
    )
    handle: SupervisorHandle | None = None
    with trio.move_on_after(5) as scope:
        async with trio.open_nursery() as nursery:
            handle = await nursery.start(supervisor.run)
            await trio.sleep_forever()
    assert scope.cancelled_caught  # the Cancelled went through the supervisor to its scope
    assert journal.entries[-3:] == [
        ("asked", "quoter", 5.0),
        ("cleaned", "quoter", 6.0),  # the quoter got its budget to cancel its orders
        ("stop", "feed", 6.0),
    ]
    assert handle is not None
    status = handle.status()
    assert status.state is SupervisorState.STOPPED
    assert status.restarts_in_window == 0
    assert all(c.last_failure is None and c.restarts == 0 for c in status.children)


async def test_outside_cancellation_during_the_start_stops_what_started(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("slow", worker(journal, ready_after=4.0)),
        ]
    )
    with trio.move_on_after(1) as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
    assert scope.cancelled_caught
    # the starting child was asked too (first: reverse order); it saw the request once ready
    assert journal.of("stop") == ["slow", "a"]
    assert trio.current_time() == 4.0


async def test_keyboard_interrupt_from_a_child_passes_through_after_the_tree_stops(
    autojump_clock,
) -> None:
    journal = Journal()

    async def interrupted(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        raise KeyboardInterrupt

    supervisor = Supervisor(
        [ChildSpec("a", worker(journal)), ChildSpec("ki", interrupted)], intensity=5
    )
    with pytest.raises(KeyboardInterrupt):
        await supervisor.run()
    assert journal.of("stop") == ["a"]
    assert journal.times("ready", "a") == [0.0]  # nothing was restarted


async def test_a_child_that_raises_while_stopping_is_not_a_failure(autojump_clock) -> None:
    async def messy(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await current_child().stop_requested.wait()
        raise RuntimeError("cleanup failed")

    supervisor = Supervisor([ChildSpec("messy", messy)], intensity=0)
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await handle.stop()  # no SupervisorEscalation
    assert handle.status().restarts_in_window == 0


async def test_after_escalating_the_supervisor_is_no_longer_running(autojump_clock) -> None:
    async def fails(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        raise ValueError("x")

    supervisor = Supervisor([ChildSpec("f", fails)], intensity=0)
    with pytest.raises(SupervisorEscalation):
        await supervisor.run()
    with pytest.raises(RuntimeError, match="not running"):
        supervisor.handle  # noqa: B018
