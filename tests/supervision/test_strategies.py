"""Restart strategies and restart types, run by the trio shell under MockClock."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing
from supervision_kit import Journal, crash_once, crasher, worker

from mmbot.errors import SupervisorEscalation
from mmbot.supervision import (
    Backoff,
    ChildSpec,
    ChildState,
    Strategy,
    Supervisor,
    SupervisorHandle,
    SupervisorStatus,
    current_child,
)


async def run_for(supervisor: Supervisor, seconds: float) -> SupervisorStatus:
    """Run ``supervisor`` for ``seconds`` of trio time, then stop it; its status before."""
    async with trio.open_nursery() as nursery:
        handle: SupervisorHandle = await nursery.start(supervisor.run)
        await trio.sleep(seconds)
        status = handle.status()
        await handle.stop()
    return status


async def test_one_for_one_restarts_only_the_child_that_crashed(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("b", crash_once(journal, after=1.0)),
            ChildSpec("c", worker(journal)),
        ],
        strategy="one_for_one",
    )
    status = await run_for(supervisor, 5)
    assert journal.times("ready", "b") == [0.0, 1.0]
    assert journal.of("ready") == ["a", "b", "c", "b"]
    assert (status.child("a").restarts, status.child("b").restarts) == (0, 1)


async def test_one_for_all_stops_the_others_in_reverse_order_and_restarts_all(
    autojump_clock,
) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("b", crash_once(journal, after=1.0)),
            ChildSpec("c", worker(journal)),
            ChildSpec("d", worker(journal)),
        ],
        strategy=Strategy.ONE_FOR_ALL,
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        journal.clear()
        await trio.sleep(2)
        assert journal.entries == [
            ("crash", "b", 1.0),
            ("stop", "d", 1.0),
            ("stop", "c", 1.0),
            ("stop", "a", 1.0),
            ("ready", "a", 1.0),
            ("ready", "b", 1.0),
            ("ready", "c", 1.0),
            ("ready", "d", 1.0),
        ]
        await handle.stop()


async def test_rest_for_one_restarts_the_child_and_those_started_after_it(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("b", crash_once(journal, after=1.0)),
            ChildSpec("c", worker(journal)),
            ChildSpec("d", worker(journal)),
        ],
        strategy="rest_for_one",
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        journal.clear()
        await trio.sleep(2)
        assert [(w, id) for w, id, _ in journal.entries] == [
            ("crash", "b"),
            ("stop", "d"),
            ("stop", "c"),
            ("ready", "b"),
            ("ready", "c"),
            ("ready", "d"),
        ]
        await handle.stop()


async def test_a_temporary_child_is_not_restarted_even_by_one_for_all(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", crash_once(journal, after=1.0)),
            ChildSpec("tmp", worker(journal), restart="temporary"),
        ],
        strategy="one_for_all",
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(2)
        assert journal.times("ready", "tmp") == [0.0]
        assert journal.of("stop") == ["tmp"]
        assert [c.id for c in handle.which_children()] == ["a"]  # forgotten, as in OTP
        await handle.stop()


async def test_a_crashed_temporary_child_is_forgotten_and_counts_nothing(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("tmp", crasher(journal, after=1.0), restart="temporary")], intensity=0
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(2)
        status = handle.status()
        assert status.children == ()
        assert status.intensity_headroom == 0  # intensity 0 and still no escalation
        await handle.stop()


async def test_a_transient_child_is_restarted_only_after_a_failure(autojump_clock) -> None:
    journal = Journal()

    async def finishes(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        journal.note("ready", current_child().id)
        await trio.sleep(1)

    supervisor = Supervisor(
        [
            ChildSpec("done", finishes, restart="transient"),
            ChildSpec("fails", crash_once(journal, after=1.0), restart="transient"),
        ]
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(3)
        assert journal.times("ready", "done") == [0.0]
        assert journal.times("ready", "fails") == [0.0, 1.0]
        assert handle.status().child("done").state is ChildState.STOPPED
        await handle.stop()


async def test_a_permanent_child_that_keeps_returning_escalates_instead_of_stopping_silently(
    autojump_clock,
) -> None:
    async def returns(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)

    with pytest.raises(SupervisorEscalation) as info:
        await Supervisor([ChildSpec("p", returns)], intensity=2, period=10).run()
    assert [(f.child, f.exception, f.at) for f in info.value.history] == [
        ("p", None, 1.0),
        ("p", None, 2.0),
        ("p", None, 3.0),
    ]


async def test_an_exception_group_from_a_child_is_one_failure(autojump_clock) -> None:
    async def group(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        raise ExceptionGroup("two", [ValueError("x"), KeyError("y")])

    with pytest.raises(SupervisorEscalation) as info:
        await Supervisor([ChildSpec("g", group)], intensity=0).run()
    [failure] = info.value.history
    assert isinstance(failure.exception, ExceptionGroup)
    assert len(failure.exception.exceptions) == 2


async def test_backoff_spaces_restarts_out_on_the_trio_clock(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("c", crasher(journal, after=0.0))],
        intensity=10,
        period=100,
        backoff=Backoff(base=1.0, cap=4.0),
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        await trio.sleep(0.5)
        status = handle.status().child("c")
        assert (status.state, status.backoff_until) == (ChildState.BACKING_OFF, 1.0)
        await trio.sleep(11)
        await handle.stop()
    assert journal.times("ready", "c") == [0.0, 1.0, 3.0, 7.0, 11.0]


async def restart_times(seed: int) -> list[float]:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("c", crasher(journal, after=0.5))],
        intensity=50,
        period=1000,
        backoff=Backoff(base=0.5, cap=8.0, jitter=0.5),
        seed=seed,
    )
    await run_for(supervisor, 30)
    return journal.times("ready", "c")


def test_the_same_seed_gives_the_same_restart_times_run_after_run() -> None:
    def run(seed: int) -> list[float]:
        clock = trio.testing.MockClock(autojump_threshold=0)
        times: list[float] = trio.run(restart_times, seed, clock=clock)
        return times

    first = run(42)
    assert len(first) > 4
    assert run(42) == first  # exactly: every restart at the same trio time
    assert run(43) != first


async def test_an_injected_rng_draws_the_jitter(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("c", crasher(journal, after=0.0))],
        intensity=50,
        backoff=Backoff(base=1.0, cap=1.0, jitter=1.0),
        rng=random.Random(5),
    )
    await run_for(supervisor, 1.5)
    expected_delay = 1.0 * (1.0 - random.Random(5).random())  # at the cap: jitter goes below
    assert journal.times("ready", "c")[:2] == [0.0, expected_delay]
