"""Supervision trees: a child may be a Supervisor; its escalation is its parent's failure."""

from __future__ import annotations

import trio
from supervision_kit import Journal, crasher, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import (
    ChildSpec,
    ChildState,
    EventKind,
    Supervisor,
    SupervisorHandle,
    current_child,
)


async def test_an_escalation_climbs_two_levels_to_the_host(autojump_clock) -> None:
    journal = Journal()
    leaf = Supervisor([ChildSpec("worker", crasher(journal, after=1.0))], intensity=0, name="leaf")
    middle = Supervisor([ChildSpec("leaf", leaf)], intensity=1, period=10, name="middle")
    root = Supervisor([ChildSpec("middle", middle)], intensity=0, name="root")

    caught: list[SupervisorEscalation] = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(root.run)
    except* SupervisorEscalation as group:
        caught.extend(group.exceptions)  # type: ignore[arg-type]
    [root_escalation] = caught  # one SupervisorEscalation reaches the host
    assert root_escalation.supervisor == "root"
    [middle_failure] = root_escalation.history
    assert (middle_failure.child, middle_failure.at) == ("middle", 2.0)
    middle_escalation = middle_failure.exception
    assert isinstance(middle_escalation, SupervisorEscalation)
    assert middle_escalation.supervisor == "root/middle"
    assert [(f.child, f.at) for f in middle_escalation.history] == [("leaf", 1.0), ("leaf", 2.0)]
    leaf_escalation = middle_escalation.history[-1].exception
    assert isinstance(leaf_escalation, SupervisorEscalation)
    assert leaf_escalation.supervisor == "root/middle/leaf"
    assert isinstance(leaf_escalation.history[0].exception, ValueError)
    assert journal.times("crash", "worker") == [1.0, 2.0]


async def test_a_subtree_is_ready_only_when_its_children_are(autojump_clock) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("slow", worker(journal, ready_after=2.0))], name="sub")
    root = Supervisor([ChildSpec("sub", sub), ChildSpec("after", worker(journal))], name="root")
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(root.run)
        assert trio.current_time() == 2.0
        assert journal.of("ready") == ["slow", "after"]
        [sub_info, _] = handle.which_children()
        assert sub_info.is_supervisor
        assert isinstance(sub_info.value, SupervisorHandle)
        assert sub_info.value.path == "root/sub"
        await handle.stop()


async def test_the_status_is_a_snapshot_of_the_whole_tree(autojump_clock) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("w", worker(journal))], name="sub", intensity=4)
    root = Supervisor([ChildSpec("sub", sub)], name="root")
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(root.run)
        status = handle.status()
        await handle.stop()
    subtree = status.child("sub").subtree
    assert subtree is not None
    assert (subtree.name, subtree.intensity_headroom) == ("root/sub", 4)
    assert [(path, c.state) for path, c in status.walk()] == [
        ("root/sub", ChildState.RUNNING),
        ("root/sub/w", ChildState.RUNNING),
    ]


async def test_stopping_the_root_stops_the_tree_depth_first_in_reverse_order(
    autojump_clock,
) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("x", worker(journal)), ChildSpec("y", worker(journal))], name="sub")
    root = Supervisor(
        [
            ChildSpec("first", worker(journal)),
            ChildSpec("sub", sub),
            ChildSpec("last", worker(journal)),
        ],
        name="root",
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(root.run)
        await handle.stop()
    assert journal.of("stop") == ["last", "y", "x", "first"]


async def test_outside_cancellation_stops_a_tree_in_order(autojump_clock) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("x", worker(journal)), ChildSpec("y", worker(journal))], name="sub")
    root = Supervisor([ChildSpec("a", worker(journal)), ChildSpec("sub", sub)], name="root")
    with trio.move_on_after(3):
        await root.run()
    assert journal.of("stop") == ["y", "x", "a"]  # every child asked, in order


async def test_a_subtree_past_its_budget_is_cancelled_with_all_its_children(
    autojump_clock,
) -> None:
    journal = Journal()

    async def stubborn(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            journal.note("cancelled", current_child().id)

    sub = Supervisor([ChildSpec("s", stubborn, shutdown=60.0)], name="sub")
    root = Supervisor([ChildSpec("sub", sub, shutdown=1.0)], name="root")
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(root.run)
        await handle.stop()
    assert journal.entries == [("cancelled", "s", 1.0)]  # the parent's budget, not the child's
    assert handle.status().child("sub").shutdown_overran


async def test_a_reader_at_the_root_sees_the_events_of_the_whole_tree(autojump_clock) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("w", crasher(journal, after=1.0))], name="sub", intensity=5)
    root = Supervisor([ChildSpec("sub", sub)], name="root")
    events = root.events()
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(root.run)
        await trio.sleep(1.5)
        await handle.stop()
    seen = [(e.kind, e.supervisor, e.child) async for e in events]
    assert seen == [
        (EventKind.STARTED, "root/sub", "w"),
        (EventKind.STARTED, "root/sub", None),
        (EventKind.STARTED, "root", "sub"),
        (EventKind.STARTED, "root", None),
        (EventKind.EXITED, "root/sub", "w"),
        (EventKind.RESTARTING, "root/sub", "w"),
        (EventKind.STARTED, "root/sub", "w"),
        (EventKind.STOPPED, "root/sub", "w"),
        (EventKind.STOPPED, "root/sub", None),
        (EventKind.STOPPED, "root", "sub"),
        (EventKind.STOPPED, "root", None),
    ]
