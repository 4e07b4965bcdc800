"""Starting a supervisor: ordered, each child ready before the next, with a start timeout."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
from supervision_kit import Journal, worker

from mmbot.errors import ChildStartError, ConfigError
from mmbot.supervision import ChildSpec, ChildState, Supervisor, SupervisorHandle, current_child


async def test_nursery_start_returns_only_once_every_child_is_ready(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal, ready_after=1.0)),
            ChildSpec("b", worker(journal, ready_after=2.0)),
        ]
    )
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        assert trio.current_time() == 3.0  # a, then b: each ready before the next starts
        assert journal.of("ready") == ["a", "b"]
        assert {c.state for c in handle.status().children} == {ChildState.RUNNING}
        await handle.stop()


async def test_a_callable_without_task_status_is_ready_at_once(autojump_clock) -> None:
    async def plain() -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        handle = await nursery.start(Supervisor([ChildSpec("plain", plain, shutdown=0)]).run)
        assert trio.current_time() == 0.0
        assert handle.status().child("plain").state is ChildState.RUNNING
        await handle.stop()


async def test_started_values_are_reported_by_which_children(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("a", worker(journal, value="conn"))])
    async with trio.open_nursery() as nursery:
        handle: SupervisorHandle = await nursery.start(supervisor.run)
        [info] = handle.which_children()
        assert (info.id, info.value, info.state, info.is_supervisor) == (
            "a",
            "conn",
            ChildState.RUNNING,
            False,
        )
        await handle.stop()


async def test_args_are_passed_to_the_child(autojump_clock) -> None:
    seen = []

    async def child(symbol: str, size: int) -> None:
        seen.append((symbol, size))
        await current_child().stop_requested.wait()

    async with trio.open_nursery() as nursery:
        handle = await nursery.start(Supervisor([ChildSpec("q", child, args=("BTCUSDT", 3))]).run)
        await handle.stop()
    assert seen == [("BTCUSDT", 3)]


async def test_a_child_not_ready_within_its_start_timeout_fails_the_start(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor(
        [
            ChildSpec("a", worker(journal)),
            ChildSpec("slow", worker(journal, ready_after=10.0), start_timeout=2.0),
            ChildSpec("c", worker(journal)),
        ]
    )
    async with trio.open_nursery() as nursery:
        with pytest.raises(ChildStartError) as info:
            await nursery.start(supervisor.run)
    assert info.value.child == "slow"
    assert isinstance(info.value.__cause__, trio.TooSlowError)
    assert trio.current_time() == 2.0
    assert journal.of("stop") == ["a"]  # the started children are stopped; c never started
    assert journal.of("ready") == ["a"]


async def test_a_child_that_raises_before_ready_fails_the_start(autojump_clock) -> None:
    async def broken(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        raise OSError("no route")

    with pytest.raises(ChildStartError) as info:
        await Supervisor([ChildSpec("broken", broken)]).run()
    assert isinstance(info.value.reason, OSError)
    assert info.value.__cause__ is info.value.reason


async def test_a_child_that_returns_before_ready_fails_the_start(autojump_clock) -> None:
    async def quits(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.lowlevel.checkpoint()

    with pytest.raises(ChildStartError, match=r"before calling task_status\.started"):
        await Supervisor([ChildSpec("quits", quits)]).run()


async def test_run_on_its_own_returns_when_the_tree_is_stopped(autojump_clock) -> None:
    journal = Journal()
    supervisor = Supervisor([ChildSpec("a", worker(journal))])

    async def stop_later() -> None:
        await trio.sleep(5)
        supervisor.handle.stop_nowait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(stop_later)
        await supervisor.run()
        assert trio.current_time() == 5.0
    assert journal.of("stop") == ["a"]


async def test_a_supervisor_runs_once_at_a_time(autojump_clock) -> None:
    supervisor = Supervisor([ChildSpec("a", worker(Journal()))])
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(supervisor.run)
        with pytest.raises(RuntimeError, match="already running"):
            await supervisor.run()
        await handle.stop()
    with pytest.raises(RuntimeError, match="not running"):
        supervisor.handle  # noqa: B018


def test_bad_configurations_are_refused_at_construction_with_every_problem() -> None:
    async def child() -> None:
        pass

    with pytest.raises(ConfigError) as info:
        Supervisor(
            [
                ChildSpec("a", child),
                ChildSpec("a", child),
                ChildSpec("b", child, restart="transient", significant=True),
            ],
            strategy="one_for_some",
            intensity=-1,
        )
    problems = "\n".join(info.value.problems)
    assert "duplicate id" in problems
    assert "strategy: unknown 'one_for_some'" in problems
    assert "significant: needs auto_shutdown" in problems
    assert "intensity" in problems


def test_child_specs_check_their_budgets_and_take_strings_or_enum_members() -> None:
    async def child() -> None:
        pass

    with pytest.raises(ConfigError, match="shutdown"):
        ChildSpec("a", child, shutdown=-1)
    with pytest.raises(ConfigError, match="id"):
        ChildSpec("a/b", child)
    spec = ChildSpec("a", child, restart="temporary")
    assert spec.restart.value == "temporary"
    assert (spec.shutdown, spec.start_timeout) == (5.0, 5.0)


def test_a_supervisor_child_waits_for_ever_by_default() -> None:
    spec = ChildSpec("sub", Supervisor([], name="sub"))
    assert (spec.shutdown, spec.start_timeout, spec.is_supervisor) == (None, None, True)


async def test_a_child_and_the_tasks_it_starts_see_its_context(autojump_clock) -> None:
    seen = []

    async def child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async def helper() -> None:
            seen.append(current_child().path)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(helper)
            task_status.started()
            await current_child().stop_requested.wait()

    async with trio.open_nursery() as nursery:
        handle = await nursery.start(Supervisor([ChildSpec("c", child)], name="root").run)
        await handle.stop()
    assert seen == ["root/c"]
    with pytest.raises(RuntimeError, match="not running inside a supervised child"):
        current_child()


def test_a_target_that_is_neither_callable_nor_a_tree_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be an async callable"):
        ChildSpec("x", 42)  # type: ignore[arg-type]
