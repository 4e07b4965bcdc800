"""auto_shutdown (OTP 24) and failed restarts, run by the trio shell under MockClock."""

from __future__ import annotations

import pytest
import trio
from supervision_kit import Journal, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import ChildSpec, Supervisor, SupervisorState, current_child


def job(journal: Journal, seconds: float):
    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(seconds)
        journal.note("done", current_child().id)

    return run


async def test_any_significant_stops_the_supervisor_when_one_significant_child_is_done(
    autojump_clock,
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("helper", worker(journal)),
            ChildSpec("job", job(journal, 3.0), restart="transient", significant=True),
        ],
        auto_shutdown="any_significant",
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)  # the nursery waits for the run to end
    assert journal.entries == [
        ("ready", "helper", 0.0),
        ("done", "job", 3.0),
        ("stop", "helper", 3.0),
    ]
    assert handle.status().state is SupervisorState.STOPPED


async def test_all_significant_waits_for_the_last_significant_child(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", job(journal, 1.0), restart="temporary", significant=True),
            ChildSpec("b", job(journal, 4.0), restart="transient", significant=True),
            ChildSpec("helper", worker(journal)),
        ],
        auto_shutdown="all_significant",
    )
    await supervisor.run()  # returns normally
    assert trio.current_time() == 4.0
    assert journal.of("stop") == ["helper"]


async def test_a_restart_that_fails_to_start_counts_and_is_tried_again(autojump_clock) -> None:
    starts = []

    async def flaky(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        starts.append(trio.current_time())
        if current_child().restarts:
            raise OSError("cannot reconnect")  # before ready: a failed restart attempt
        task_status.started()
        await trio.sleep(1)
        raise ValueError("lost")

    supervisor = Supervisor([ChildSpec("flaky", flaky)], intensity=3, period=10)
    with pytest.raises(SupervisorEscalation) as info:
        await supervisor.run()
    assert [type(f.exception) for f in info.value.history] == [
        ValueError,
        OSError,
        OSError,
        OSError,
    ]
    assert starts == [0.0, 1.0, 1.0, 1.0]
