"""``Supervisor``: Erlang/OTP supervision for trio tasks (the trio shell of ``policy.py``).

What it is for: ``handle = await nursery.start(supervisor.run)`` starts the children in
order, each ready before the next, and returns once all are; from then on one control loop
(like OTP's supervisor process) serialises everything: children's exits, restarts when their
backoff is due, dynamic child requests from the handle, and stop requests. It asks the
policy what to do and does it: start a child (a ``child.ChildWorker`` task in the
supervisor's nursery, reused across restarts), stop one (ask, then cancel at its budget),
stop all in reverse order, raise ``SupervisorEscalation``.

What it must never do: decide a restart itself (the policy does), count a ``Cancelled`` as
a failure, swallow ``Cancelled``/``KeyboardInterrupt``/``SystemExit`` (the tree is stopped
and they are re-raised), read any clock but ``trio.current_time()``, or draw randomness from
anything but the supervisor's injected ``random.Random``.

Stopping: a supervisor stops on ``handle.stop()``, on ``auto_shutdown``, after escalating, or
when it is cancelled from outside. A stop request does not wait its turn behind a start: the
child being started is asked to stop (its budget; not a failure) and the orderly stop goes
on. A top-level supervisor treats an outside cancellation as a request for an orderly stop
(shielded: every child is asked and gets its budget, in reverse order) and then re-raises
the ``Cancelled``; a supervisor running inside a supervised child follows that child's stop
request instead, and treats a ``Cancelled`` as its parent's hard stop (every child is
cancelled at once).
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import trio

from mmbot.clock import derive_rng
from mmbot.errors import ChildStartError, ConfigError, SupervisorEscalation
from mmbot.resilience.outcomes import PASS_THROUGH, leaves
from mmbot.supervision.child import (
    ChildContext,
    ChildRun,
    ChildSpec,
    ChildWorker,
    current_child_or_none,
)
from mmbot.supervision.events import EventHub, EventKind, EventStream, SupervisionEvent
from mmbot.supervision.policy import (
    ACTIVE,
    AutoShutdown,
    Backoff,
    ChildState,
    Plan,
    PlanAction,
    Strategy,
    SupervisorPolicy,
    SupervisorState,
    SupervisorStatus,
    check_child,
    check_flags,
)

log = logging.getLogger("mmbot.supervision")

_OTP = Backoff()  # no backoff: restart at once, as OTP does

#: Events a reader may fall behind by before the oldest are dropped (per reader).
DEFAULT_EVENTS_CAPACITY = 1000


@attrs.frozen
class ChildInfo:
    """One row of ``which_children()``: ``value`` is what the child passed to
    ``task_status.started`` (a child supervisor's is its handle), ``None`` if not running."""

    id: str
    state: ChildState
    value: object
    is_supervisor: bool


@attrs.frozen
class ChildCounts:
    """``count_children()``, as OTP's: specs, active (with a task), supervisors, workers."""

    specs: int
    active: int
    supervisors: int
    workers: int


class Supervisor:
    """An Erlang/OTP supervisor for trio tasks. Build it once; run it with
    ``await nursery.start(supervisor.run)`` (returns a :class:`SupervisorHandle` once every
    child is ready) or ``await supervisor.run()`` (returns when the tree has stopped).

    ``strategy`` ("one_for_one", "one_for_all", "rest_for_one"), ``intensity`` restarts
    within ``period`` seconds (OTP's defaults: 1 in 5 s, counted per supervisor),
    ``auto_shutdown`` ("never", "any_significant", "all_significant"), ``backoff`` between
    restarts (none by default, as OTP). Backoff jitter comes from ``rng``, by default
    derived from ``seed`` and ``name`` (``mmbot.clock.derive_rng``), so a seed fixes every
    restart time. A run that ends after escalating raises :class:`SupervisorEscalation`;
    a first start that fails raises :class:`~mmbot.errors.ChildStartError`.

    One ``Supervisor`` runs at most once at a time; a parent may run it again after it
    ended (a restart starts from ``children``, as OTP's ``init/1``: dynamic children are
    not kept).
    """

    def __init__(
        self,
        children: Iterable[ChildSpec] = (),
        *,
        strategy: Strategy | str = Strategy.ONE_FOR_ONE,
        intensity: int = 1,
        period: float = 5.0,
        auto_shutdown: AutoShutdown | str = AutoShutdown.NEVER,
        backoff: Backoff = _OTP,
        name: str = "supervisor",
        rng: random.Random | None = None,
        seed: int = 0,
        events_capacity: int = DEFAULT_EVENTS_CAPACITY,
    ) -> None:
        self.children = tuple(children)
        problems = []
        try:
            self.strategy = Strategy(strategy)
        except ValueError:
            problems.append(f"strategy: unknown {strategy!r}")
            self.strategy = Strategy.ONE_FOR_ONE
        try:
            self.auto_shutdown = AutoShutdown(auto_shutdown)
        except ValueError:
            problems.append(f"auto_shutdown: unknown {auto_shutdown!r}")
            self.auto_shutdown = AutoShutdown.NEVER
        if not name or "/" in name:
            problems.append("name: must be a non-empty string without '/'")
        if events_capacity < 1:
            problems.append("events_capacity: must be >= 1")
        problems.extend(check_flags(intensity, period, backoff))
        seen: set[str] = set()
        for spec in self.children:
            if not isinstance(spec, ChildSpec):  # untyped callers
                problems.append(f"children: {spec!r} is not a ChildSpec")  # type: ignore[unreachable]
                continue
            if spec.id in seen:
                problems.append(f"children[{spec.id!r}]: duplicate id")
            seen.add(spec.id)
            problems.extend(
                check_child(spec.id, spec.restart, spec.significant, self.auto_shutdown)
            )
        if problems:
            raise ConfigError(problems)
        self.intensity = intensity
        self.period = period
        self.backoff = backoff
        self.name = name
        self.events_capacity = events_capacity
        self._rng = rng if rng is not None else derive_rng(seed, f"supervisor:{name}")
        self._hub = EventHub()
        self._running: _Running | None = None

    def __repr__(self) -> str:
        state = "running" if self._running is not None else "idle"
        shape = f"{self.strategy.value}, {len(self.children)} children"
        return f"<Supervisor {self.name!r} {shape} {state}>"

    def _new_policy(self) -> SupervisorPolicy:
        return SupervisorPolicy(
            strategy=self.strategy,
            intensity=self.intensity,
            period=self.period,
            auto_shutdown=self.auto_shutdown,
            backoff=self.backoff,
            rng=self._rng,
        )

    @property
    def handle(self) -> SupervisorHandle:
        """The handle of the current run (``RuntimeError`` when not running)."""
        if self._running is None:
            raise RuntimeError(f"supervisor {self.name!r} is not running")
        return self._running.handle

    def events(self, capacity: int | None = None) -> EventStream:
        """A bounded stream of this supervisor's events and its subtrees' (see
        :class:`~mmbot.supervision.events.EventStream`). Opened before ``run`` it sees the
        first start too; it ends when the current (or next) run ends."""
        return self._hub.open(capacity or self.events_capacity)

    async def run(
        self, *, task_status: trio.TaskStatus[SupervisorHandle] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the children, supervise them until the tree stops, then return.

        Raises :class:`SupervisorEscalation` after the intensity was exceeded (every child
        stopped first), :class:`~mmbot.errors.ChildStartError` if a first start failed, and
        re-raises ``Cancelled``, ``KeyboardInterrupt`` and ``SystemExit`` after stopping.
        """
        if self._running is not None:
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        parent = current_child_or_none()
        running = _Running(self, parent)
        self._running = running
        if parent is not None:
            parent.attach_subtree(running)
        try:
            await running.run(task_status)
        finally:
            if parent is not None:
                parent.detach_subtree(running)
            self._running = None


class SupervisorHandle:
    """What ``nursery.start(supervisor.run)`` returns: introspection and dynamic children.

    The ``async`` methods are requests served by the supervisor's control loop in order
    (like calls to an OTP supervisor); if the caller is cancelled while waiting, the request
    still completes. They raise ``RuntimeError`` once the supervisor is not running, and at
    once when it is cancelled from outside (or interrupted) while serving the request.
    """

    def __init__(self, running: _Running) -> None:
        self._running = running

    def __repr__(self) -> str:
        return f"<SupervisorHandle {self._running.path!r} {self._running.state.value}>"

    @property
    def path(self) -> str:
        """This supervisor's path in the tree (``"root"``, ``"root/feeds"``)."""
        return self._running.path

    def status(self) -> SupervisorStatus:
        """A frozen snapshot of this supervisor and its whole subtree."""
        return self._running.status()

    def events(self, capacity: int | None = None) -> EventStream:
        """The supervisor's bounded event stream (same as ``Supervisor.events``)."""
        return self._running.supervisor.events(capacity)

    def which_children(self) -> tuple[ChildInfo, ...]:
        return self._running.which_children()

    def count_children(self) -> ChildCounts:
        return self._running.count_children()

    async def start_child(self, spec: ChildSpec) -> object:
        """Add ``spec`` at the end of the start order and start it; returns its started value.

        ``ValueError`` if the id is taken, ``ConfigError`` for a bad spec,
        :class:`~mmbot.errors.ChildStartError` if it fails to start (it is not kept).
        """
        return await self._running.call(self._running.start_child, spec)

    async def terminate_child(self, id: str) -> None:
        """Stop child ``id`` (ask, then cancel at its budget); its spec is kept (a temporary
        child's is removed). A pending restart is dropped. ``LookupError`` if unknown."""
        await self._running.call(self._running.terminate_child, id)

    async def restart_child(self, id: str) -> object:
        """Start a stopped child again; returns its started value. ``ValueError`` if it is
        running or backing off, ``ChildStartError`` if the start fails."""
        return await self._running.call(self._running.restart_child, id)

    async def delete_child(self, id: str) -> None:
        """Forget a stopped child's spec. ``ValueError`` if it is running or backing off."""
        await self._running.call(self._running.delete_child, id)

    def stop_nowait(self) -> None:
        """Ask the supervisor to stop (children in reverse order, budgets honoured)."""
        self._running.stop_nowait()

    async def stop(self) -> None:
        """Ask the supervisor to stop and wait until it has (its ``run`` then returns)."""
        self._running.stop_nowait()
        await self._running.finished.wait()


class _StartFailure(Exception):
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _StartAborted(Exception):
    """A stop was asked before the starting child was ready: it has been stopped (not a
    failure: nothing is counted or restarted)."""


class _Stop:
    """The control loop's sentinel: stop normally (stop request, auto_shutdown)."""


_STOP = _Stop()
_Outcome = _Stop | SupervisorEscalation | None


class _Reply:
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.value: object = None
        self.error: BaseException | None = None


class _Request:
    __slots__ = ("args", "fn", "reply")

    def __init__(self, fn: Callable[..., Awaitable[object]], args: tuple[object, ...]) -> None:
        self.fn = fn
        self.args = args
        self.reply = _Reply()


class _Running:
    """One run of a supervisor: its nursery, policy, children and control loop."""

    def __init__(self, supervisor: Supervisor, parent: ChildContext | None) -> None:
        self.supervisor = supervisor
        self.readers = supervisor._hub.readers  # empty: nobody reads our events
        self.parent = parent
        self.path = parent.path if parent is not None else supervisor.name
        self.policy = policy = supervisor._new_policy()
        self.specs: dict[str, ChildSpec] = {}
        for spec in supervisor.children:
            policy.add(spec.id, spec.restart, spec.significant)
            self.specs[spec.id] = spec
        self.runs: dict[str, ChildRun] = {}  # Invariant: the children that have a task
        # workers whose incarnation ended, with it: reused by a restart in the same step
        self.parked: dict[str, tuple[ChildWorker, ChildRun]] = {}
        self.closing = False  # stopping for good: no worker will be reused
        self.mail: deque[ChildRun | _Request | _Stop] = deque()
        self.waiter: trio.Event | None = None
        self.state = SupervisorState.STARTING
        self.stop_asked = False
        self.starting: ChildRun | None = None  # the start the control loop waits for
        self.finished = trio.Event()
        self.handle = SupervisorHandle(self)
        self.nursery: trio.Nursery | None = None

    # -- the run -----------------------------------------------------------------------

    async def run(self, task_status: trio.TaskStatus[SupervisorHandle]) -> None:
        outcome: _Outcome = None
        error: BaseException | None = None
        try:
            try:
                async with trio.open_nursery() as nursery:
                    self.nursery = nursery
                    try:
                        outcome = await self._supervise(task_status)
                    except BaseException as exc:
                        error = exc  # re-raised below, once the nursery is closed
                        await self._stop_after(exc)
                    finally:
                        self.closing = True
                        self._release_parked()  # no worker may outlive the run, parked or not
            except* PASS_THROUGH as group:
                # a child's KeyboardInterrupt / SystemExit: the tree is down; let it go on up
                passing = list(leaves(group))
                if len(passing) == 1:
                    raise passing[0] from None
                raise
        finally:
            self._finish(outcome if isinstance(outcome, SupervisorEscalation) else None)
        if error is not None:
            raise error
        if isinstance(outcome, SupervisorEscalation):
            raise outcome

    async def _supervise(self, task_status: trio.TaskStatus[SupervisorHandle]) -> _Outcome:
        for id in self.policy.ids():
            if self.stop_asked:
                break
            try:
                await self._start(id)
            except _StartAborted:
                break  # stopped while starting; the stop below takes the rest
            except _StartFailure as failure:
                self._release_parked()
                self.policy.start_failed(id, failure.error, trio.current_time(), fatal=True)
                log.error("%s: child %r failed to start: %r", self.path, id, failure.error)
                self.state = SupervisorState.STOPPING
                await self._stop_all()
                raise ChildStartError(self.path, id, failure.error) from failure.error
        if self.stop_asked:
            outcome: _Outcome = _STOP
        else:
            self.state = SupervisorState.RUNNING
            task_status.started(self.handle)
            if self.listening():
                self.publish(SupervisionEvent(EventKind.STARTED, self.path, trio.current_time()))
            outcome = await self._loop()
        self.state = SupervisorState.STOPPING
        await self._stop_all()
        return outcome

    async def _stop_after(self, exc: BaseException) -> None:
        """The control loop was interrupted (outside cancellation, KeyboardInterrupt, ...)."""
        self.state = SupervisorState.STOPPING
        if self.parent is not None and isinstance(exc, trio.Cancelled):
            self._cancel_all()  # our parent's hard stop: it already asked, or never meant to
            return
        try:
            with trio.CancelScope(shield=True):
                await self._stop_all()
        finally:
            self._cancel_all()  # whatever is left (a second KeyboardInterrupt...) is cancelled

    def _finish(self, escalation: SupervisorEscalation | None) -> None:
        self.state = SupervisorState.ESCALATED if escalation else SupervisorState.STOPPED
        for item in self.mail:
            if isinstance(item, _Request):
                self._fail_request(item)
        self.mail.clear()
        self.finished.set()
        kind = EventKind.ESCALATED if escalation else EventKind.STOPPED
        event = SupervisionEvent(kind, self.path, trio.current_time(), exception=escalation)
        self.supervisor._hub.finish(event)
        if self.parent is not None and self.parent.sink.listening():
            self.parent.sink.publish(event)

    def _fail_request(self, request: _Request) -> None:
        request.reply.error = RuntimeError(f"supervisor {self.path!r} is not running")
        request.reply.done.set()

    # -- the control loop --------------------------------------------------------------

    async def _loop(self) -> _Outcome:
        while True:
            item = await self._next()
            if item is None:
                outcome = await self._restart_due()
            elif isinstance(item, ChildRun):
                outcome = await self._on_exit(item)
            elif isinstance(item, _Request):
                await self._serve(item)
                outcome = None
            else:
                return _STOP
            if self.parked:
                self._release_dealt_with()
            if outcome is not None:
                return outcome

    async def _next(self) -> ChildRun | _Request | _Stop | None:
        """The next message, or ``None`` when a restart is due."""
        mail = self.mail
        while not mail:
            deadline = self.policy.next_due()
            waiter = self.waiter = trio.Event()
            if deadline == math.inf:
                await waiter.wait()
            elif deadline <= trio.current_time():
                return None
            else:
                with trio.move_on_at(deadline):
                    await waiter.wait()
        return mail.popleft()

    def _child_ended(self, run: ChildRun, worker: ChildWorker) -> None:
        """A worker's incarnation ended: park the worker, tell the control loop."""
        if self.closing:
            worker.hand_over(None)
        else:
            self.parked[run.spec.id] = (worker, run)
        self.post(run)

    def _release_parked(self) -> None:
        """End the parked workers (all of them once closing)."""
        parked, self.parked = self.parked, {}
        for worker, _ in parked.values():
            worker.hand_over(None)

    def _release_dealt_with(self) -> None:
        """End the parked workers whose end this step dealt with and did not restart; one
        whose end is still in the mailbox waits for it (a restart may reuse it)."""
        for id, (worker, run) in tuple(self.parked.items()):
            if run.handled or run.stopping:
                del self.parked[id]
                worker.hand_over(None)

    def post(self, item: ChildRun | _Request | _Stop) -> None:
        self.mail.append(item)
        waiter, self.waiter = self.waiter, None
        if waiter is not None:
            waiter.set()

    def stop_nowait(self) -> None:
        if not self.stop_asked and not self.finished.is_set():
            self.stop_asked = True
            self.post(_STOP)
            starting = self.starting
            if starting is not None:
                starting.start_wake.set()  # a stop does not wait for a start: see _start

    async def call(self, fn: Callable[..., Awaitable[object]], *args: object) -> Any:
        request = _Request(fn, args)
        if self.finished.is_set() or self.nursery is None:
            self._fail_request(request)
        else:
            self.post(request)
        await request.reply.done.wait()
        if request.reply.error is not None:
            raise request.reply.error
        return request.reply.value

    async def _serve(self, request: _Request) -> None:
        """Serve one handle request. Whatever ends it, the caller is answered: a request cut
        short (outside cancellation, KeyboardInterrupt...) has left the mailbox, so nothing
        else would answer it; its caller gets a ``RuntimeError`` and the cause goes on."""
        reply = request.reply
        try:
            reply.value = await request.fn(*request.args)
        except Exception as exc:
            reply.error = exc
        except BaseException as exc:
            reply.error = RuntimeError(
                f"supervisor {self.path!r} stopped before answering ({type(exc).__name__})"
            )
            raise
        finally:
            reply.done.set()

    # -- exits and restarts ------------------------------------------------------------

    async def _on_exit(self, run: ChildRun) -> _Outcome:
        id = run.spec.id
        if run.handled or run.stopping or self.runs.get(id) is not run:
            return None  # already dealt with (a stop, a failed start)
        run.handled = True
        del self.runs[id]
        now = trio.current_time()
        exception = run.exception
        if exception is None:
            log.info("%s: child %r returned", self.path, id)
        else:
            log.warning("%s: child %r failed: %r", self.path, id, exception, exc_info=exception)
        if self.listening():
            self.publish(SupervisionEvent(EventKind.EXITED, self.path, now, id, exception))
        plan = self.policy.exited(id, exception, now)
        if plan.action is PlanAction.RESTART and not plan.stop:  # the common case, directly
            self._announce(plan, now)
            return await self._restart_due(now) if plan.at <= now else None
        return await self._apply(plan, now, restart_now=True)

    async def _apply(self, plan: Plan, now: float, *, restart_now: bool) -> _Outcome:
        action = plan.action
        if action is PlanAction.NONE:
            return None
        if action is PlanAction.SHUT_DOWN:
            log.info("%s: a significant child ended; shutting down (auto_shutdown)", self.path)
            return _STOP
        if action is PlanAction.ESCALATE:
            escalation = SupervisorEscalation(self.path, plan.history)
            escalation.__cause__ = plan.history[-1].exception
            log.error("%s: restart intensity exceeded; escalating: %s", self.path, escalation)
            return escalation
        if plan.stop:
            for id in plan.stop:
                await self._stop_run(id)
            now = trio.current_time()
        self._announce(plan, now)
        if restart_now and plan.at <= now:
            return await self._restart_due(now)
        return None

    def _announce(self, plan: Plan, now: float) -> None:
        """Log and publish a restart plan."""
        if log.isEnabledFor(logging.INFO):
            log.info("%s: restarting %s at t=%g", self.path, ", ".join(plan.restart), plan.at)
        if self.listening():
            for id in plan.restart:
                self.publish(
                    SupervisionEvent(EventKind.RESTARTING, self.path, now, id, restart_at=plan.at)
                )

    async def _restart_due(self, now: float | None = None) -> _Outcome:
        """Start every child whose restart is due, in start order; a failed restart attempt
        is one more exit for the policy."""
        policy = self.policy
        while not self.stop_asked:
            if now is None:
                if policy.next_due() == math.inf:
                    return None  # nothing is backing off
                now = trio.current_time()
            id = policy.due(now)
            if id is None:
                return None
            try:
                await self._start(id, now)
            except _StartAborted:
                return None  # the stop request is in the mailbox
            except _StartFailure as failure:
                log.warning("%s: child %r failed to restart: %r", self.path, id, failure.error)
                now = trio.current_time()
                plan = policy.exited(id, failure.error, now)
                outcome = await self._apply(plan, now, restart_now=False)
                if outcome is not None:
                    return outcome
            now = None
        return None

    # -- starting and stopping one child ----------------------------------------------

    async def _start(self, id: str, now: float | None = None) -> object:
        """Start ``id`` and wait until it is ready; ``_StartFailure`` if it is not.

        A stop asked meanwhile (``stop_nowait``) does not wait for the start: the child is
        asked to stop and gets its shutdown budget (``_stop_run``), then ``_StartAborted``
        (the child is STOPPED, nothing counted); the caller goes on to the orderly stop."""
        policy = self.policy
        spec = self.specs[id]
        context = ChildContext(id, self.path, policy.starting(id), self)
        run = ChildRun(spec, context, trio.current_time() if now is None else now)
        self.runs[id] = run
        parked = self.parked.pop(id, None)
        if parked is not None:
            parked[0].hand_over(run)  # a restart reuses the task of the last incarnation
        else:
            assert self.nursery is not None
            self.nursery.start_soon(ChildWorker().main, run, self._child_ended, name=context.path)
        self.starting = run
        try:
            if not self.stop_asked:
                await run.start_wake.wait()
        finally:
            self.starting = None
        if run.ready:
            now = trio.current_time()
            policy.started(id, now)
            log.debug("%s: child %r started", self.path, id)
            if self.listening():
                self.publish(SupervisionEvent(EventKind.STARTED, self.path, now, id))
            return run.value
        if not run.finished:  # woken by a stop request before the child was ready
            policy.stopping(id)
            await self._stop_run(id)
            if id not in policy:
                del self.specs[id]  # a temporary child is forgotten once stopped
            raise _StartAborted
        run.handled = True
        del self.runs[id]
        error = run.exception
        assert error is not None
        if self.listening():
            self.publish(
                SupervisionEvent(EventKind.START_FAILED, self.path, trio.current_time(), id, error)
            )
        raise _StartFailure(error)

    async def _stop_run(self, id: str) -> None:
        """Ask ``id`` to stop, cancel it when its budget runs out, wait for its end. The
        policy has already moved it to STOPPING."""
        run = self.runs[id]
        run.stopping = True
        overran = False
        if not run.finished:
            budget = run.spec.shutdown
            if not run.ready:
                run.scope.deadline = math.inf  # asked to stop: its budget, not its start timeout
            run.context.request_stop()
            if budget is None:
                await run.wait_finished()
            else:
                if budget > 0:
                    with trio.move_on_after(budget):
                        await run.wait_finished()
                if not run.finished:
                    overran = budget > 0
                    if overran:
                        log.warning(
                            "%s: child %r did not stop within its %gs shutdown budget; "
                            "cancelling it",
                            self.path,
                            id,
                            budget,
                        )
                    run.scope.cancel()
                    await run.wait_finished()
        del self.runs[id]
        exception = run.exception
        if exception is not None and not isinstance(exception, trio.Cancelled):
            log.warning("%s: child %r raised while stopping: %r", self.path, id, exception)
        self.policy.stopped(id, trio.current_time(), overran=overran)
        log.debug("%s: child %r stopped", self.path, id)
        if self.listening():
            self.publish(
                SupervisionEvent(
                    EventKind.STOPPED,
                    self.path,
                    trio.current_time(),
                    id,
                    exception,
                    overran=overran,
                )
            )

    async def _stop_all(self) -> None:
        """Stop every child that has a task, in reverse start order; end every worker."""
        self.closing = True
        policy = self.policy
        for id in policy.stop_all():
            if id not in self.runs:
                continue
            if policy.state(id) is not ChildState.STOPPING:
                policy.stopping(id)
            await self._stop_run(id)
        self._release_parked()

    def _cancel_all(self) -> None:
        """Cancel every child still running (no waiting: the nursery waits for them)."""
        self.closing = True
        for run in self.runs.values():
            run.stopping = True
            run.context.request_stop()
            run.scope.cancel()
        self._release_parked()

    # -- dynamic children (served by the control loop) ---------------------------------

    async def start_child(self, spec: ChildSpec) -> object:
        if not isinstance(spec, ChildSpec):
            raise TypeError(f"start_child takes a ChildSpec, not {spec!r}")
        self._refuse_if_stopping()
        self.policy.add(spec.id, spec.restart, spec.significant)
        self.specs[spec.id] = spec
        try:
            return await self._start(spec.id)
        except _StartAborted:
            raise self._aborted(spec.id) from None
        except _StartFailure as failure:
            self.policy.start_failed(spec.id, failure.error, trio.current_time(), fatal=False)
            if spec.id in self.policy:
                self.policy.remove(spec.id)
            del self.specs[spec.id]
            raise ChildStartError(self.path, spec.id, failure.error) from failure.error

    async def terminate_child(self, id: str) -> None:
        policy = self.policy
        state = policy.state(id)
        if state is ChildState.BACKING_OFF:
            policy.drop_restart(id)
        elif state in ACTIVE:
            if state is not ChildState.STOPPING:
                policy.stopping(id)
            await self._stop_run(id)
        if id not in policy:
            del self.specs[id]  # a temporary child is forgotten once stopped

    async def restart_child(self, id: str) -> object:
        state = self.policy.state(id)
        if state not in (ChildState.STOPPED, ChildState.FAILED):
            raise ValueError(f"child {id!r} is {state.value}; only a stopped child restarts")
        self._refuse_if_stopping()
        try:
            return await self._start(id)
        except _StartAborted:
            raise self._aborted(id) from None
        except _StartFailure as failure:
            self.policy.start_failed(id, failure.error, trio.current_time(), fatal=False)
            if id not in self.policy:
                del self.specs[id]
            raise ChildStartError(self.path, id, failure.error) from failure.error

    def _refuse_if_stopping(self) -> None:
        """A start requested before a stop but served after it is not begun."""
        if self.stop_asked:
            raise RuntimeError(f"supervisor {self.path!r} is stopping")

    def _aborted(self, id: str) -> RuntimeError:
        return RuntimeError(
            f"supervisor {self.path!r} was asked to stop before child {id!r} was ready; "
            "the child was stopped"
        )

    async def delete_child(self, id: str) -> None:
        self.policy.remove(id)
        del self.specs[id]
        await trio.lowlevel.checkpoint()

    # -- introspection and events ------------------------------------------------------

    def status(self) -> SupervisorStatus:
        now = trio.current_time()
        policy = self.policy
        children = []
        for status in policy.children_status():
            run = self.runs.get(status.id)
            subtree = run.context.subtree_status() if run is not None else None
            children.append(status if subtree is None else attrs.evolve(status, subtree=subtree))
        in_window = policy.restarts_in_window(now)
        return SupervisorStatus(
            name=self.path,
            state=self.state,
            strategy=policy.strategy,
            intensity=policy.intensity,
            period=policy.period,
            restarts_in_window=in_window,
            intensity_headroom=policy.intensity - in_window,
            children=tuple(children),
            at=now,
        )

    def which_children(self) -> tuple[ChildInfo, ...]:
        infos = []
        for id in self.policy.ids():
            run = self.runs.get(id)
            infos.append(
                ChildInfo(
                    id=id,
                    state=self.policy.state(id),
                    value=run.value if run is not None and run.ready else None,
                    is_supervisor=self.specs[id].is_supervisor,
                )
            )
        return tuple(infos)

    def count_children(self) -> ChildCounts:
        supervisors = sum(1 for spec in self.specs.values() if spec.is_supervisor)
        return ChildCounts(
            specs=len(self.specs),
            active=len(self.runs),
            supervisors=supervisors,
            workers=len(self.specs) - supervisors,
        )

    def listening(self) -> bool:
        """True if anyone reads this supervisor's events (here or up the tree)."""
        return bool(self.readers) or (self.parent is not None and self.parent.sink.listening())

    def publish(self, event: SupervisionEvent) -> None:
        self.supervisor._hub.publish(event)
        if self.parent is not None:
            sink = self.parent.sink
            if sink.listening():
                sink.publish(event)
