"""What a supervised child is (``ChildSpec``), what it knows (``ChildContext``), and how its
incarnations run (``ChildRun`` in a ``ChildWorker`` task), each in its own cancel scope.

What it is for: the per-child half of the trio shell. A ``ChildRun`` is the ``task_status``
the child's callable receives (``started(value)`` says it is ready), owns that incarnation's
cancel scope (the start timeout is that scope's deadline until the child is ready; a stop
past its budget cancels it), and records how it ended for the supervisor's control loop.

What it must never do: decide anything (restart or not is the policy's business), swallow
``KeyboardInterrupt``/``SystemExit`` (they are re-raised after the end is recorded), or let
a cancellation from outside reach a child (the worker's scope is shielded: only the
supervisor cancels a child, after asking it to stop).
"""

from __future__ import annotations

import contextvars
import inspect
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs
import trio

from mmbot.resilience.outcomes import PASS_THROUGH, contains
from mmbot.supervision.policy import Restart

if TYPE_CHECKING:
    from mmbot.supervision.events import SupervisionEvent
    from mmbot.supervision.policy import SupervisorStatus

#: Default budgets of a child that is not a supervisor (OTP's worker default is 5 s).
DEFAULT_SHUTDOWN = 5.0
DEFAULT_START_TIMEOUT = 5.0


class Supervisable(Protocol):
    """Anything with ``run(*, task_status)``: a :class:`~mmbot.supervision.Supervisor`, or
    another tree of its own. As a child target it gets infinite budgets by default."""

    async def run(self, *, task_status: trio.TaskStatus[Any] = ...) -> None: ...


ChildTarget = Callable[..., Awaitable[object]] | Supervisable


def _restart(value: Restart | str) -> Restart:
    return Restart(value)


def is_supervisable(target: object) -> bool:
    """True for a tree (an object with ``run``) rather than a task function. Cheaper than
    ``isinstance(target, Supervisable)``, which inspects the protocol on every call."""
    return not callable(target) and callable(getattr(target, "run", None))


def _default_budget(spec: ChildSpec) -> float | None:
    return None if is_supervisable(spec.target) else DEFAULT_SHUTDOWN


def _default_start_timeout(spec: ChildSpec) -> float | None:
    return None if is_supervisable(spec.target) else DEFAULT_START_TIMEOUT


def takes_task_status(fn: Callable[..., object]) -> bool:
    """True if ``fn`` has a parameter named ``task_status`` (then it says when it is ready)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    parameter = parameters.get("task_status")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )


@attrs.frozen
class ChildSpec:
    """How to run one child: ``ChildSpec("feed", run_feed, restart="transient")``.

    - ``target``: an async callable, called as ``target(*args)`` plus ``task_status=`` if it
      has that parameter (it then calls ``task_status.started(value)`` when ready; otherwise
      it is ready at once); or a ``Supervisor`` (a subtree).
    - ``restart``: ``"permanent"`` (default), ``"transient"`` or ``"temporary"``.
    - ``shutdown``: seconds the child gets to finish after it is asked to stop (it may watch
      ``current_child().stop_requested``) before it is cancelled; ``0`` cancels at once;
      ``None`` waits for ever. Default 5 s, or ``None`` for a supervisor.
    - ``start_timeout``: seconds it may take to become ready. Default 5 s, or ``None``
      for a supervisor (its own children's timeouts bound it).
    - ``significant``: its ending for good may stop the supervisor (``auto_shutdown``).
    """

    id: str
    target: ChildTarget
    restart: Restart = attrs.field(default=Restart.PERMANENT, converter=_restart, kw_only=True)
    shutdown: float | None = attrs.field(
        default=attrs.Factory(_default_budget, takes_self=True), kw_only=True
    )
    start_timeout: float | None = attrs.field(
        default=attrs.Factory(_default_start_timeout, takes_self=True), kw_only=True
    )
    significant: bool = attrs.field(default=False, kw_only=True)
    args: tuple[object, ...] = attrs.field(default=(), converter=tuple, kw_only=True)
    _takes_task_status: bool = attrs.field(init=False, repr=False, eq=False)
    _is_supervisor: bool = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = []
        if not isinstance(self.id, str) or not self.id or "/" in self.id:
            problems.append(f"children[{self.id!r}].id: must be a non-empty string without '/'")
        is_supervisor = is_supervisable(self.target)
        if not (is_supervisor or callable(self.target)):
            problems.append(f"children[{self.id!r}].target: must be an async callable")
        if self.shutdown is not None and not self.shutdown >= 0:
            problems.append(f"children[{self.id!r}].shutdown: must be >= 0 or None")
        if self.start_timeout is not None and not self.start_timeout > 0:
            problems.append(f"children[{self.id!r}].start_timeout: must be > 0 or None")
        if problems:
            from mmbot.errors import ConfigError

            raise ConfigError(problems)
        takes = is_supervisor or takes_task_status(cast("Callable[..., object]", self.target))
        object.__setattr__(self, "_is_supervisor", is_supervisor)
        object.__setattr__(self, "_takes_task_status", takes)

    @property
    def is_supervisor(self) -> bool:
        """True if the target is a supervisor (a subtree), not a task function."""
        return self._is_supervisor


class _Subtree(Protocol):
    """What a supervisor running inside a child shows its parent."""

    def status(self) -> SupervisorStatus: ...

    def stop_nowait(self) -> None: ...


class EventSink(Protocol):
    """Where a child's subtree sends its events: the parent supervisor (and up the tree)."""

    def listening(self) -> bool: ...

    def publish(self, event: SupervisionEvent) -> None: ...


_current: contextvars.ContextVar[ChildContext] = contextvars.ContextVar("mmbot_child")


def current_child() -> ChildContext:
    """The :class:`ChildContext` of the supervised child this code runs in.

    Tasks a child starts inherit it. ``RuntimeError`` outside any supervised child.
    """
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("not running inside a supervised child") from None


def current_child_or_none() -> ChildContext | None:
    return _current.get(None)


class ChildContext:
    """What one incarnation of a supervised child knows about itself.

    ``stop_requested`` is set when the supervisor asks the child to stop; the child may
    watch it to finish cleanly (cancel its orders, close a connection) within its shutdown
    budget. After the budget the child's cancel scope is cancelled.
    """

    __slots__ = ("_subtrees", "id", "restarts", "sink", "stop_requested", "supervisor")

    def __init__(self, id: str, supervisor: str, restarts: int, sink: EventSink) -> None:
        self.id = id
        self.supervisor = supervisor  # the path of the supervisor that runs this child
        self.restarts = restarts  # how many times this child was started again before
        self.stop_requested = trio.Event()
        self.sink = sink  # the supervisor running this child
        self._subtrees: list[_Subtree] = []

    def __repr__(self) -> str:
        return f"<ChildContext {self.path!r} restarts={self.restarts}>"

    @property
    def path(self) -> str:
        return f"{self.supervisor}/{self.id}"

    # -- the supervisor side -----------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_requested.set()
        for subtree in tuple(self._subtrees):
            subtree.stop_nowait()

    def attach_subtree(self, subtree: _Subtree) -> None:
        """A supervisor running inside this child: it follows the stop request."""
        self._subtrees.append(subtree)
        if self.stop_requested.is_set():
            subtree.stop_nowait()

    def detach_subtree(self, subtree: _Subtree) -> None:
        self._subtrees.remove(subtree)

    def subtree_status(self) -> SupervisorStatus | None:
        return self._subtrees[0].status() if self._subtrees else None


class ChildRun:
    """One incarnation of a child: its task status, cancel scope and how it ended."""

    __slots__ = (
        "_done",
        "context",
        "exception",
        "finished",
        "handled",
        "ready",
        "scope",
        "spec",
        "start_wake",
        "stopping",
        "value",
    )

    def __init__(self, spec: ChildSpec, context: ChildContext, now: float) -> None:
        self.spec = spec
        self.context = context
        timeout = spec.start_timeout
        self.scope = trio.CancelScope(deadline=math.inf if timeout is None else now + timeout)
        self.ready = False
        self.value: object = None
        # set when whoever waits for the start must look again: the child is ready, it has
        # ended, or its supervisor was asked to stop meanwhile (it then stops the child)
        self.start_wake = trio.Event()
        self.finished = False  # the task has ended
        self._done: trio.Event | None = None  # made only if someone waits for the end
        self.exception: BaseException | None = None
        self.stopping = False  # the supervisor asked it to stop
        self.handled = False  # the control loop has dealt with its end

    def __repr__(self) -> str:
        return f"<ChildRun {self.context.path!r} ready={self.ready} finished={self.finished}>"

    async def wait_finished(self) -> None:
        """Block until the child's task has ended (a checkpoint even if it already has)."""
        if self.finished:
            await trio.lowlevel.checkpoint()
            return
        if self._done is None:
            self._done = trio.Event()
        await self._done.wait()

    def started(self, value: object = None) -> None:
        """``task_status.started(value)``: the child is ready; ``value`` goes to whoever
        started it (``start_child`` returns it)."""
        if self.ready:
            raise RuntimeError("called 'started' twice on the same task status")
        if self.scope.cancel_called or self.stopping or self.finished:
            return  # too late: the start timed out, or the supervisor is stopping it
        if self.spec.start_timeout is not None:
            self.scope.deadline = math.inf
        self.ready = True
        self.value = value
        self.start_wake.set()


class ChildWorker:
    """The task that runs a child's incarnations, one after another.

    A restart hands the parked worker its next :class:`ChildRun` instead of spawning a task:
    a task's birth and death are most of what a restart costs in trio. The worker runs
    inside one shielded scope for its whole life (only the supervisor ends it); each
    incarnation runs in its own cancel scope inside it.
    """

    __slots__ = ("_next", "_wake")

    def __init__(self) -> None:
        self._next: ChildRun | None = None
        self._wake: trio.Event | None = None

    def hand_over(self, run: ChildRun | None) -> None:
        """Give the parked worker its next incarnation, or ``None``: end the task."""
        wake = self._wake
        assert wake is not None, "only a parked worker takes a hand-over"
        self._next, self._wake = run, None
        wake.set()

    async def main(self, run: ChildRun, on_end: Callable[[ChildRun, ChildWorker], None]) -> None:
        """Run incarnations until handed ``None``. ``on_end`` (the control loop's mailbox)
        hears about each end; the worker is parked from then until the next hand-over.
        ``KeyboardInterrupt`` and ``SystemExit`` (also inside a group) are recorded and then
        re-raised: the worker ends with them."""
        next_run: ChildRun | None = run
        with trio.CancelScope(shield=True):
            while next_run is not None:
                await _incarnation(next_run)
                self._wake = wake = trio.Event()
                on_end(next_run, self)
                await wake.wait()
                next_run = self._next
                self._next = None


async def _incarnation(run: ChildRun) -> None:
    """Run one incarnation in its own cancel scope and record how it ended."""
    _current.set(run.context)
    spec = run.spec
    target = spec.target
    scope = run.scope
    passing: BaseException | None = None
    try:
        with scope:
            if spec._takes_task_status:
                if spec._is_supervisor:
                    await target.run(task_status=run)  # type: ignore[union-attr]
                else:
                    await target(*spec.args, task_status=run)  # type: ignore[operator]
            else:
                run.started()
                await target(*spec.args)  # type: ignore[operator]
    except BaseException as exc:
        if contains(exc, PASS_THROUGH):
            passing = exc
        run.exception = exc
    if not run.ready and not run.stopping:
        if scope.cancel_called:  # only the start timeout cancels a child that is not stopping
            timeout = trio.TooSlowError(
                f"child {run.context.path!r} not ready within {spec.start_timeout}s"
            )
            timeout.__context__ = run.exception
            run.exception = timeout
        elif run.exception is None:
            run.exception = RuntimeError(
                f"child {run.context.path!r} returned before calling task_status.started()"
            )
    run.finished = True
    if run._done is not None:
        run._done.set()
    run.start_wake.set()
    if passing is not None:
        run.handled = True  # not an exit to supervise: the whole tree is coming down
        raise passing
