"""One function over many tasks, on a local process pool or a Dask cluster (a shell).

What it is for: the project's one way to spread independent, CPU-bound runs over cores or
machines (``mmbot chaos swarm``; backtests and calibration sweeps). :func:`map_unordered`
calls a picklable top-level function on each of a list of picklable tasks and yields a
:class:`TaskResult` per task as each completes, calling ``progress`` after each. It runs on

- a **local process pool** (``concurrent.futures.ProcessPoolExecutor``, ``workers``
  processes, the CPUs this process may use by default), started with ``spawn``: every
  worker is a fresh interpreter, so no trio state, lock or thread of the parent leaks in
  (trio and ``fork`` do not mix); workers ignore Ctrl-C, which is the parent's to handle.
  As with any spawned pool, a script that calls it guards its entry point with
  ``if __name__ == "__main__":`` (each worker imports the main module);
- or a **Dask distributed cluster** (``scheduler="tcp://host:8786"``): a
  ``distributed.Client`` submits every task to the scheduler, whose workers must have this
  package installed (the function travels by reference: its module and name). Dask is an
  optional extra, ``pip install 'mmbot[distributed]'``; without it a scheduler address is a
  :class:`ParallelError` naming the extra.

A task that raises comes back as a failed result carrying the exception and its traceback
as text (an exception need not be picklable to be reported); the others go on. A worker
process that dies outright (killed, out of memory, ``os._exit``) is not an exception: on
Dask the scheduler retries its task elsewhere, then reports it failed; a local pool is
broken by it, and every task not finished by then comes back failed, naming the cause
(the run still ends, with a result for every task).

Closing the iterator early, or Ctrl-C while it waits, cancels every task not yet started
(Dask cancels the running ones too; a pool's running tasks finish first, as a process
cannot be stopped mid-task through the executor's API), then the ``KeyboardInterrupt``
goes on to the caller. What is shipped is the caller's business and the rule is in
``docs/decisions/0011-parallel-runs.md``: plain values (dicts, seeds, paths), never live
objects.

What it must never do: know what it runs (nothing here imports the chaos harness or the
bot), let one task's exception end the others, leave a pool or a client open after the
iterator ends however it ends, or decide an order of results the caller relies on (they
come as they complete; each says its index).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")
R = TypeVar("R")

#: How long connecting to a Dask scheduler may take before it is reported unreachable.
CONNECT_TIMEOUT_S = 10.0
EXTRA_HINT = "pip install 'mmbot[distributed]'"


class ParallelError(Exception):
    """The runs cannot start: no such scheduler, Dask not installed, a bad worker count."""


@attrs.frozen
class TaskResult(Generic[T, R]):
    """One task's end: its value, or what went wrong (``error``: the exception's type,
    message and traceback, as the worker saw them)."""

    index: int  # the task's place in the list given
    task: T
    value: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_error(self) -> str:
        """The error's last line (``ValueError: boom``), for a one-line report."""
        lines = (self.error or "").strip().splitlines()
        return lines[-1] if lines else ""


Progress = Callable[[TaskResult[T, R], int, int], None]
Results = Generator[TaskResult[T, R], None, None]


def default_workers() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this OS
        return os.cpu_count() or 1


def map_unordered(
    function: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress[T, R] | None = None,
) -> Iterator[TaskResult[T, R]]:
    """``function(task)`` for every task, on ``workers`` local processes or on the Dask
    cluster whose scheduler is at ``scheduler``; results as they complete (see the module).

    ``progress(result, done, total)`` is called in this process after each result, before
    it is yielded. Raises :class:`ParallelError` (before anything runs) when the runs
    cannot start.
    """
    if scheduler is not None and workers is not None:
        raise ParallelError("give a worker count or a scheduler address, not both")
    if workers is not None and workers < 1:
        raise ParallelError(f"workers must be at least 1, got {workers}")
    if scheduler is not None:
        results = _on_dask(function, tasks, scheduler)
    else:
        results = _on_pool(function, tasks, workers or default_workers())
    return _counted(results, len(tasks), progress)


def _counted(results: Results[T, R], total: int, progress: Progress[T, R] | None) -> Results[T, R]:
    with contextlib.closing(results):  # however the loop ends, the backend's finally runs
        for done, result in enumerate(results, start=1):
            if progress is not None:
                progress(result, done, total)
            yield result


def call_task(function: Callable[[T], R], task: T) -> tuple[bool, R | str]:
    """Run one task in a worker: ``(True, value)``, or ``(False, the traceback as text)``
    (only an ``Exception``: a ``KeyboardInterrupt`` or ``SystemExit`` ends the worker)."""
    try:
        return True, function(task)
    except Exception:
        return False, traceback.format_exc()


def _ignore_sigint() -> None:
    """A pool worker's initializer: Ctrl-C at the terminal reaches the whole process group,
    and only the parent decides what it means."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _settled(index: int, task: T, future: Any) -> TaskResult[T, R]:
    """A finished future (pool or Dask) as a result; any error, the worker's or the
    transport's (a dead worker, a value that would not pickle), a failed result."""
    try:
        ok, payload = future.result()
    except BaseException as exc:  # a cancelled Dask future raises a BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return TaskResult(index, task, error=f"the task did not come back: {text}")
    if ok:
        return TaskResult(index, task, value=payload)
    return TaskResult(index, task, error=str(payload))


def _on_pool(function: Callable[[T], R], tasks: Sequence[T], workers: int) -> Results[T, R]:
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, max(len(tasks), 1)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_sigint,
    )
    try:
        futures = {pool.submit(call_task, function, task): i for i, task in enumerate(tasks)}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            yield _settled(index, tasks[index], future)
    finally:  # done, closed early, or Ctrl-C: nothing new starts; running tasks end
        pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(function: Callable[[T], R], tasks: Sequence[T], address: str) -> Results[T, R]:
    dask = _distributed(address)
    try:
        client = dask.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParallelError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return _dask_results(dask, client, function, tasks)


def _distributed(address: str) -> Any:
    """The ``distributed`` module (partly typed: used as ``Any``), or a ParallelError."""
    try:
        import distributed
    except ImportError:
        raise ParallelError(
            f"a Dask scheduler ({address}) needs the distributed extra: {EXTRA_HINT}"
        ) from None
    return distributed


def _dask_results(
    dask: Any, client: Any, function: Callable[[T], R], tasks: Sequence[T]
) -> Results[T, R]:
    futures: dict[Any, int] = {}
    try:
        for i, task in enumerate(tasks):
            futures[client.submit(call_task, function, task, pure=False)] = i
        for future in dask.as_completed(list(futures), loop=client.loop):
            index = futures.pop(future)
            yield _settled(index, tasks[index], future)
    finally:  # closed early or Ctrl-C: the rest are cancelled, queued or running
        if futures:
            client.cancel(list(futures), force=True)
        client.close()
