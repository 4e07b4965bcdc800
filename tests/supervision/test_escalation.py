"""Escalation: past its intensity a supervisor stops every child, then raises one
SupervisorEscalation carrying the failure history."""

from __future__ import annotations

import pytest
import trio
from supervision_kit import Journal, crasher, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import ChildSpec, ChildState, Supervisor, SupervisorState


async def test_escalating_stops_the_other_children_in_reverse_order_first(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("bad", crasher(journal, after=1.0)),
            ChildSpec("c", worker(journal)),
        ],
        intensity=1,
        period=5,
    )
    with pytest.raises(SupervisorEscalation):
        await supervisor.run()
    assert journal.of("stop") == ["c", "a"]
    assert trio.current_time() == 2.0


async def test_the_escalation_carries_child_exception_and_time_for_each_restart_in_the_window(
    autojump_clock,
) -> None:
    lives = iter([(1.0, KeyError("1")), (3.0, OSError("2")), (0.5, ValueError("3"))])

    async def bad(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        life, error = next(lives, (0.5, RuntimeError("4")))
        await trio.sleep(life)
        raise error

    supervisor = Supervisor([ChildSpec("bad", bad)], intensity=2, period=3, name="root")
    with pytest.raises(SupervisorEscalation) as info:
        await supervisor.run()
    escalation = info.value
    assert escalation.supervisor == "root"
    # exits at t=1, 4, 4.5, 5: by t=5 the exit at t=1 had left the 3 s window
    assert [(f.child, type(f.exception), f.at) for f in escalation.history] == [
        ("bad", OSError, 4.0),
        ("bad", ValueError, 4.5),
        ("bad", RuntimeError, 5.0),
    ]
    assert escalation.__cause__ is escalation.history[-1].exception
    assert "'root'" in str(escalation) and "RuntimeError('4') at t=5" in str(escalation)


async def test_the_status_shows_the_headroom_left_and_the_failed_child(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("bad", crasher(journal, after=1.0))], intensity=2, period=10)
    statuses = []

    async def watch() -> None:
        await trio.sleep(0.5)
        for _ in range(3):
            statuses.append(supervisor.handle.status())
            await trio.sleep(1)

    with pytest.RaisesGroup(SupervisorEscalation):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await supervisor.run()
    assert [s.intensity_headroom for s in statuses] == [2, 1, 0]
    last = statuses[-1].child("bad")
    assert last.restarts == 2 and isinstance(last.last_failure.exception, ValueError)  # type: ignore[union-attr]


async def test_after_escalating_the_failed_child_is_marked_failed(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("ok", worker(journal)), ChildSpec("bad", crasher(journal, after=1.0))],
        intensity=0,
    )
    handles = []
    with pytest.RaisesGroup(SupervisorEscalation):
        async with trio.open_nursery() as nursery:
            handles.append(await nursery.start(supervisor.run))
    status = handles[0].status()  # a handle still answers after its run ended
    assert status.state is SupervisorState.ESCALATED
    assert [(c.id, c.state) for c in status.children] == [
        ("ok", ChildState.STOPPED),
        ("bad", ChildState.FAILED),
    ]
