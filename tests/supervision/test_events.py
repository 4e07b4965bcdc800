"""Supervision events: what a reader sees, and the bound on a slow reader's buffer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from supervision_kit import Journal, crash_once, crasher, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import (
    Backoff,
    ChildSpec,
    EventKind,
    EventStream,
    SupervisionEvent,
    Supervisor,
)


async def test_a_reader_sees_started_exited_restarting_and_stopped_in_order(
    autojump_clock,
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("a", crash_once(journal, after=1.0))], backoff=Backoff(base=0.5, cap=0.5)
    )
    events = supervisor.events()
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(2)
        await handle.stop()
    seen = [e async for e in events]
    assert [(e.kind, e.child, e.at) for e in seen] == [
        (EventKind.STARTED, "a", 0.0),
        (EventKind.STARTED, None, 0.0),
        (EventKind.EXITED, "a", 1.0),
        (EventKind.RESTARTING, "a", 1.0),
        (EventKind.STARTED, "a", 1.5),
        (EventKind.STOPPED, "a", 2.0),
        (EventKind.STOPPED, None, 2.0),
    ]
    assert isinstance(seen[2].exception, ValueError)
    assert seen[3].restart_at == 1.5
    assert all(e.supervisor == "supervisor" for e in seen)


async def test_the_last_event_of_an_escalation_carries_it(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("c", crasher(journal, after=1.0))], intensity=0)
    events = supervisor.events()
    with pytest.raises(SupervisorEscalation) as info:
        await supervisor.run()
    last = [e async for e in events][-1]
    assert (last.kind, last.child, last.exception) == (EventKind.ESCALATED, None, info.value)


async def test_a_reader_that_falls_behind_loses_the_oldest_events_and_is_told(
    autojump_clock,
) -> None:
    journal = Journal()
    children = [ChildSpec(f"w{i}", worker(journal)) for i in range(10)]
    supervisor = Supervisor(children)
    events = supervisor.events(capacity=4)
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)  # 11 events while nobody reads
        assert len(events._events) == 4  # the bound holds without a reader
        first = await events.__anext__()
        assert (first.kind, first.dropped) == (EventKind.DROPPED, 7)
        assert [(e.kind, e.child) async for e in _take(events, 4)] == [
            (EventKind.STARTED, "w7"),
            (EventKind.STARTED, "w8"),
            (EventKind.STARTED, "w9"),
            (EventKind.STARTED, None),
        ]
        await handle.stop()


async def test_a_stream_ends_when_the_supervisor_stops(autojump_clock) -> None:
    supervisor = Supervisor([ChildSpec("a", worker(Journal()))])
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        events = handle.events()
        nursery.start_soon(handle.stop)
        kinds = [e.kind async for e in events]
    assert kinds == [EventKind.STOPPED, EventKind.STOPPED]


async def _take(stream: EventStream, n: int) -> AsyncIterator[SupervisionEvent]:
    for _ in range(n):
        yield await stream.__anext__()
