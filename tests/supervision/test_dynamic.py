"""Dynamic children through the handle: start, terminate, restart, delete, which, count."""

from __future__ import annotations

import pytest
import trio
from supervision_kit import Journal, crasher, worker

from mmbot.errors import ChildStartError, ConfigError
from mmbot.supervision import (
    Backoff,
    ChildCounts,
    ChildSpec,
    ChildState,
    Supervisor,
    SupervisorHandle,
)


async def started(nursery: trio.Nursery, supervisor: Supervisor) -> SupervisorHandle:
    handle: SupervisorHandle = await nursery.start(supervisor.run)
    return handle


async def test_start_child_returns_the_started_value_and_appends_to_the_order(
    autojump_clock,
) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal))]))
        value = await handle.start_child(ChildSpec("b", worker(journal, ready_after=1, value=7)))
        assert value == 7
        assert trio.current_time() == 1.0  # returned once b was ready
        assert [c.id for c in handle.which_children()] == ["a", "b"]
        await handle.stop()
    assert journal.of("stop") == ["b", "a"]  # a dynamic child stops first


async def test_start_child_refuses_a_duplicate_id(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal))]))
        with pytest.raises(ValueError, match="already present"):
            await handle.start_child(ChildSpec("a", worker(journal)))
        await handle.stop()


async def test_start_child_refuses_a_significant_child_under_never(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor())
        with pytest.raises(ConfigError, match="auto_shutdown"):
            await handle.start_child(
                ChildSpec("s", worker(journal), restart="transient", significant=True)
            )
        await handle.stop()


async def test_a_child_that_fails_to_start_is_reported_and_not_kept(autojump_clock) -> None:
    async def broken(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        raise OSError("refused")

    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor(intensity=0))
        with pytest.raises(ChildStartError) as info:
            await handle.start_child(ChildSpec("b", broken))
        assert isinstance(info.value.__cause__, OSError)
        assert handle.which_children() == ()
        assert handle.status().restarts_in_window == 0  # not a restart: nothing counted
        await handle.stop()


async def test_terminate_child_stops_it_and_keeps_its_spec(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal))]))
        await handle.terminate_child("a")
        assert journal.of("stop") == ["a"]
        assert handle.status().child("a").state is ChildState.STOPPED
        assert handle.count_children() == ChildCounts(specs=1, active=0, supervisors=0, workers=1)
        await handle.stop()


async def test_terminating_a_temporary_child_forgets_it(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(
            nursery, Supervisor([ChildSpec("t", worker(journal), restart="temporary")])
        )
        await handle.terminate_child("t")
        assert handle.which_children() == ()
        await handle.stop()


async def test_terminate_child_drops_a_pending_restart(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [ChildSpec("c", crasher(journal, after=0.0))], backoff=Backoff(base=5, cap=5), intensity=3
    )
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, supervisor)
        await trio.sleep(1)
        assert handle.status().child("c").state is ChildState.BACKING_OFF
        await handle.terminate_child("c")
        await trio.sleep(10)
        assert journal.times("ready", "c") == [0.0]  # never restarted
        assert handle.status().child("c").state is ChildState.STOPPED
        await handle.stop()


async def test_restart_child_starts_a_stopped_child_again(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal, value="v"))]))
        with pytest.raises(ValueError, match="running"):
            await handle.restart_child("a")
        await handle.terminate_child("a")
        assert await handle.restart_child("a") == "v"
        assert handle.status().child("a").restarts == 1
        await handle.stop()


async def test_delete_child_forgets_a_stopped_child_only(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal))]))
        with pytest.raises(ValueError, match="running"):
            await handle.delete_child("a")
        await handle.terminate_child("a")
        await handle.delete_child("a")
        assert handle.which_children() == ()
        with pytest.raises(LookupError):
            await handle.terminate_child("a")
        await handle.stop()


async def test_count_children_counts_specs_active_supervisors_and_workers(autojump_clock) -> None:
    journal = Journal()
    sub = Supervisor([ChildSpec("x", worker(journal))], name="sub")
    root = Supervisor(
        [ChildSpec("a", worker(journal)), ChildSpec("b", worker(journal)), ChildSpec("sub", sub)]
    )
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, root)
        await handle.terminate_child("b")
        assert handle.count_children() == ChildCounts(specs=3, active=2, supervisors=1, workers=2)
        await handle.stop()


async def test_requests_to_a_stopped_supervisor_fail(autojump_clock) -> None:
    journal = Journal()
    async with trio.open_nursery() as nursery:
        handle = await started(nursery, Supervisor([ChildSpec("a", worker(journal))]))
        await handle.stop()
    with pytest.raises(RuntimeError, match="not running"):
        await handle.start_child(ChildSpec("b", worker(journal)))


async def test_a_request_in_progress_fails_at_once_when_the_supervisor_is_cancelled(
    autojump_clock,
) -> None:
    """An outside cancellation while the control loop serves ``start_child`` (of a child slow
    to start) answers the caller with an error right away; the tree still stops in order."""
    journal = Journal()
    supervisor = Supervisor([ChildSpec("a", worker(journal))])
    answers: list[tuple[str, object, float]] = []

    async def caller(handle: SupervisorHandle) -> None:
        try:
            value = await handle.start_child(
                ChildSpec("slow", worker(journal, ready_after=10), start_timeout=30)
            )
        except Exception as exc:  # what the caller got is the point
            answers.append(("raised", exc, trio.current_time()))
        else:
            answers.append(("value", value, trio.current_time()))

    with trio.fail_after(60):  # before the fix the caller waited for ever
        async with trio.open_nursery() as outer:
            with trio.move_on_after(1) as scope:
                async with trio.open_nursery() as nursery:
                    handle = await started(nursery, supervisor)
                    outer.start_soon(caller, handle)
                    await trio.sleep_forever()
    assert scope.cancelled_caught
    [(kind, error, at)] = answers
    assert kind == "raised"
    assert isinstance(error, RuntimeError)
    assert "stopped before answering" in str(error)
    assert at == 1.0  # at once, not after the orderly stop
    # the orderly stop still ran: the starting child was asked first and cancelled at its
    # 5 s budget (it was busy getting ready), then "a"
    assert journal.entries[-1] == ("stop", "a", 6.0)
    assert journal.of("ready") == ["a"]
    assert handle.status().child("a").state is ChildState.STOPPED
