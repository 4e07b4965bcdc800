"""``mmbot.parallel``: a function over tasks on a local pool of spawned processes (and, in
``tests/chaos/test_swarm.py``, on a Dask ``LocalCluster``): every result comes back once,
named by its task; a task that raises is a failed result, not the end of the run; closing
early or Ctrl-C cancels what has not started."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mmbot.parallel import ParallelError, TaskResult, call_task, map_unordered


# The functions the workers run are top-level here: a spawned worker imports this module
# by name (it inherits the parent's sys.path, where pytest put this folder).
def square_or_fail(n: int) -> int:
    if n == 3:
        raise ValueError(f"boom on {n}")
    return n * n


def mark_and_return(task: tuple[str, int]) -> int:
    folder, n = task
    Path(folder, f"ran-{n}").write_text(str(os.getpid()))
    return n


def test_results_come_back_once_each_and_a_raising_task_is_a_failed_result() -> None:
    seen: list[tuple[int, int, int]] = []

    def progress(result: TaskResult[int, int], done: int, total: int) -> None:
        seen.append((result.index, done, total))

    results = list(map_unordered(square_or_fail, range(6), workers=2, progress=progress))
    assert sorted(r.index for r in results) == list(range(6))
    by_index = {r.index: r for r in results}
    assert [by_index[i].value for i in (0, 1, 2, 4, 5)] == [0, 1, 4, 16, 25]
    failed = by_index[3]
    assert not failed.ok and failed.value is None and failed.task == 3
    assert "ValueError: boom on 3" in (failed.error or "")
    assert "square_or_fail" in (failed.error or "")  # the worker's traceback, as text
    assert failed.describe_error() == "ValueError: boom on 3"
    assert [(done, total) for _i, done, total in seen] == [(d, 6) for d in range(1, 7)]
    assert sorted(i for i, _d, _t in seen) == list(range(6))


def test_the_workers_are_other_processes(tmp_path: Path) -> None:
    tasks = [(str(tmp_path), n) for n in range(4)]
    results = list(map_unordered(mark_and_return, tasks, workers=2))
    assert sorted(r.value for r in results if r.value is not None) == [0, 1, 2, 3]
    pids = {int(p.read_text()) for p in tmp_path.glob("ran-*")}
    assert pids and os.getpid() not in pids


def test_closing_early_cancels_the_tasks_not_started(tmp_path: Path) -> None:
    tasks = [(str(tmp_path), n) for n in range(40)]
    results = map_unordered(mark_and_return, tasks, workers=1)
    first = next(results)
    results.close()  # the pool is shut down, what had not started is cancelled
    assert first.ok
    assert len(list(tmp_path.glob("ran-*"))) < 40


def test_ctrl_c_while_waiting_cancels_the_rest_and_goes_on_to_the_caller(
    tmp_path: Path,
) -> None:
    def interrupted(_result: TaskResult[tuple[str, int], int], done: int, _total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # as Ctrl-C would, in this (the main) thread

    tasks = [(str(tmp_path), n) for n in range(40)]
    with pytest.raises(KeyboardInterrupt):
        for _result in map_unordered(mark_and_return, tasks, workers=1, progress=interrupted):
            pass
    assert len(list(tmp_path.glob("ran-*"))) < 40


def test_call_task_turns_an_exception_into_text_and_lets_a_value_through() -> None:
    assert call_task(square_or_fail, 2) == (True, 4)
    ok, text = call_task(square_or_fail, 3)
    assert not ok and isinstance(text, str) and text.strip().endswith("ValueError: boom on 3")


def test_workers_and_a_scheduler_together_or_no_worker_is_refused() -> None:
    with pytest.raises(ParallelError, match="not both"):
        map_unordered(square_or_fail, [1], workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ParallelError, match="at least 1"):
        map_unordered(square_or_fail, [1], workers=0)


def test_a_scheduler_without_dask_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    with pytest.raises(ParallelError, match=r"pip install 'mmbot\[distributed\]'"):
        map_unordered(square_or_fail, [1], scheduler="tcp://127.0.0.1:8786")


def test_no_task_is_no_result() -> None:
    assert list(map_unordered(square_or_fail, [], workers=2)) == []


def exit_on_3(n: int) -> int:
    if n == 3:
        os._exit(1)  # a worker that dies outright, not an exception
    return n


def test_a_worker_that_dies_breaks_the_pool_and_every_unfinished_task_says_so() -> None:
    results = list(map_unordered(exit_on_3, range(6), workers=1))
    assert sorted(r.index for r in results) == list(range(6))  # still one result per task
    dead = [r for r in results if not r.ok]
    assert 3 in {r.index for r in dead}
    assert all("BrokenProcessPool" in (r.error or "") for r in dead)
    assert all(r.value == r.index for r in results if r.ok)
