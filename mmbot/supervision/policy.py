"""The supervision policy: Erlang/OTP's supervisor decisions as a pure state machine (sans-IO).

What it is for: everything a supervisor *decides* lives here: the child table (order, restart
type, state), the restart intensity window (counted per supervisor), the backoff between
restarts, which children a strategy restarts, ``auto_shutdown``, and the stop order. The
trio shell (``supervisor.py``) only starts and stops tasks, reads the clock and reports what
happened; every decision comes back from this module as a value.

What it must never do: import trio, time or random, read a clock, sleep, or draw from the
module-level RNG. ``now`` is a float passed in; backoff jitter comes from the
``random.Random`` passed in.

Theory of operation
-------------------
Each child is a row of the table, in start order; dynamic children are appended. A child
moves between the :class:`ChildState` values only along :data:`CHILD_TRANSITIONS`; any other
move is a bug and raises :class:`InvalidTransition`. The shell reports:

- ``starting(id)`` / ``started(id, now)``: a start began / the child said it is ready;
- ``exited(id, exception, now)``: the child ended on its own (``exception`` is ``None`` for
  a normal return) or failed to start during a restart. The answer is a :class:`Plan`:
  ``NONE`` (not restarted), ``RESTART`` (stop ``plan.stop`` in that order, then start
  ``plan.restart`` in that order once ``plan.at`` has come), ``ESCALATE`` (the intensity
  window overflowed: stop everything and raise ``plan.history``) or ``SHUT_DOWN``
  (``auto_shutdown``: stop everything and return normally);
- ``stopping(id)`` / ``stopped(id, now)``: the supervisor asked a child to stop / it has.

Restart intensity follows OTP exactly: every restart decision appends ``(child, exception,
now)`` to one window per supervisor; entries older than ``now - period`` fall out; if the
window then holds more than ``intensity`` entries, the supervisor escalates. A group restart
(``one_for_all``, ``rest_for_one``) is one restart. A failed restart attempt is one more.

Backoff (beyond OTP, zero by default): before the ``n``-th consecutive restart of a child
the group waits ``min(cap, base·2^(n-1))`` with proportional jitter
(:func:`mmbot.resilience.backoff.proportional_jitter`). A child that ran for at least
``reset_after`` seconds before exiting starts counting from zero again.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from mmbot.errors import ConfigError
from mmbot.resilience.backoff import proportional_jitter

if TYPE_CHECKING:
    import random


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them must be restarted."""

    ONE_FOR_ONE = "one_for_one"  # only that child
    ONE_FOR_ALL = "one_for_all"  # every child: the others are stopped, then all start again
    REST_FOR_ONE = "rest_for_one"  # that child and every child after it in start order


class Restart(enum.Enum):
    """When a child that ended is started again."""

    PERMANENT = "permanent"  # always (a normal return counts as an exit like a crash)
    TRANSIENT = "transient"  # only after an abnormal exit (an exception)
    TEMPORARY = "temporary"  # never, not even when a sibling's death restarts the group


class AutoShutdown(enum.Enum):
    """OTP 24's ``auto_shutdown``: stop the supervisor when significant children end."""

    NEVER = "never"
    ANY_SIGNIFICANT = "any_significant"  # as soon as one significant child ended for good
    ALL_SIGNIFICANT = "all_significant"  # once no significant child is left alive


class ChildState(enum.Enum):
    """Where a child is in its life (``ChildStatus.state``)."""

    STARTING = "starting"  # started, not ready yet
    RUNNING = "running"  # ready (called ``task_status.started``)
    BACKING_OFF = "backing_off"  # will start again at ``ChildStatus.backoff_until``
    STOPPING = "stopping"  # asked to stop; cancelled when its shutdown budget runs out
    STOPPED = "stopped"  # not running, spec kept (restart_child can start it again)
    FAILED = "failed"  # its failure stopped the supervisor (escalation, failed first start)


class SupervisorState(enum.Enum):
    """Where a supervisor is in its life (``SupervisorStatus.state``)."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ESCALATED = "escalated"


class Move(enum.Enum):
    """What happens to a child; the rows of :data:`CHILD_TRANSITIONS`."""

    START = "start"  # a start (first, restart, restart_child) begins
    READY = "ready"  # the child called task_status.started
    RESTART = "restart"  # it will start again once its backoff has passed
    END = "end"  # it ended and is not restarted (transient normal exit, failed restart_child)
    FAIL = "fail"  # its failure ends the supervisor
    STOP = "stop"  # the supervisor asks it to stop
    STOPPED = "stopped"  # it has stopped
    DROP = "drop"  # a pending restart is dropped (the supervisor stops, terminate_child)


_C, _M = ChildState, Move

#: The whole child state machine: (state, move) → next state. Anything else is a bug.
CHILD_TRANSITIONS: Mapping[tuple[ChildState, Move], ChildState] = {
    (_C.STOPPED, _M.START): _C.STARTING,
    (_C.FAILED, _M.START): _C.STARTING,
    (_C.BACKING_OFF, _M.START): _C.STARTING,
    (_C.STARTING, _M.READY): _C.RUNNING,
    (_C.STARTING, _M.RESTART): _C.BACKING_OFF,  # a restart attempt failed: try again
    (_C.STARTING, _M.END): _C.STOPPED,
    (_C.STARTING, _M.FAIL): _C.FAILED,
    (_C.STARTING, _M.STOP): _C.STOPPING,
    (_C.RUNNING, _M.RESTART): _C.BACKING_OFF,
    (_C.RUNNING, _M.END): _C.STOPPED,
    (_C.RUNNING, _M.FAIL): _C.FAILED,
    (_C.RUNNING, _M.STOP): _C.STOPPING,
    (_C.STOPPING, _M.STOPPED): _C.STOPPED,
    (_C.STOPPING, _M.RESTART): _C.BACKING_OFF,  # stopped as part of a group restart
    (_C.BACKING_OFF, _M.RESTART): _C.BACKING_OFF,  # a later group restart moves it
    (_C.BACKING_OFF, _M.DROP): _C.STOPPED,
    (_C.STOPPED, _M.RESTART): _C.BACKING_OFF,  # a stopped sibling joins a group restart (OTP)
    (_C.FAILED, _M.RESTART): _C.BACKING_OFF,
}

#: States in which a child has a task (the shell must stop it).
ACTIVE = frozenset({ChildState.STARTING, ChildState.RUNNING, ChildState.STOPPING})
#: States in which a child counts as alive for ``all_significant`` (OTP: pid or restarting).
ALIVE = ACTIVE | {ChildState.BACKING_OFF}


class InvalidTransition(RuntimeError):
    """A move the child state machine does not allow: a bug in the shell, never user error."""


@attrs.frozen
class Backoff:
    """The wait before restarting a child (beyond OTP; ``base=0``, the default, is OTP).

    Before the n-th consecutive restart of a child: ``min(cap, base·2^(n-1))`` grown by up to
    ``jitter`` (a fraction) drawn from the supervisor's RNG. A child that ran for at least
    ``reset_after`` seconds before it exited counts from n = 1 again.
    """

    base: float = 0.0
    cap: float = 30.0
    jitter: float = 0.0
    reset_after: float = 30.0

    def problems(self) -> list[str]:
        found = []
        if not (self.base >= 0 and math.isfinite(self.base)):
            found.append("backoff.base: must be a finite number >= 0")
        if not (self.cap >= self.base and math.isfinite(self.cap)):
            found.append("backoff.cap: must be finite and >= base")
        if not 0 <= self.jitter <= 1:
            found.append("backoff.jitter: must be between 0 and 1")
        if not self.reset_after >= 0:
            found.append("backoff.reset_after: must be >= 0")
        return found

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before consecutive restart number ``attempt`` (>= 1)."""
        if self.base <= 0:
            return 0.0  # OTP: restart at once, and draw nothing from the RNG
        return proportional_jitter(
            attempt, base=self.base, cap=self.cap, jitter=self.jitter, rng=rng
        )


@attrs.frozen
class ChildFailure:
    """One exit that led to a restart decision: the entries of the intensity window.

    ``exception`` is ``None`` when a permanent child returned normally (an exit like any
    other in OTP); ``at`` is trio time.
    """

    child: str
    exception: BaseException | None
    at: float

    @property
    def reason(self) -> str:
        """A short human reason: ``"returned"`` or the exception's repr."""
        return "returned" if self.exception is None else repr(self.exception)


class PlanAction(enum.Enum):
    NONE = "none"  # not restarted; nothing else to do
    RESTART = "restart"
    ESCALATE = "escalate"
    SHUT_DOWN = "shut_down"  # auto_shutdown: stop everything, end normally


@attrs.frozen
class Plan:
    """The decision after an exit. ``stop`` is in stop (reverse start) order, ``restart``
    in start order; they start at trio time ``at``. ``history`` is the intensity window
    (oldest first) when the action is ``ESCALATE``."""

    action: PlanAction
    stop: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    at: float = 0.0
    history: tuple[ChildFailure, ...] = ()


_NOTHING = Plan(PlanAction.NONE)


@attrs.frozen
class ChildStatus:
    """A frozen snapshot of one child. ``subtree`` is set when the child is a supervisor."""

    id: str
    state: ChildState
    restart: Restart
    significant: bool
    restarts: int  # times it was started again after its first start
    last_failure: ChildFailure | None  # the last exit that counted (None: never failed)
    backoff_until: float | None  # trio time of the next start while BACKING_OFF
    shutdown_overran: bool  # the last stop ran past its budget and was cancelled
    subtree: SupervisorStatus | None = None


@attrs.frozen
class SupervisorStatus:
    """A frozen snapshot of a supervisor and, through ``ChildStatus.subtree``, its tree."""

    name: str
    state: SupervisorState
    strategy: Strategy
    intensity: int
    period: float
    restarts_in_window: int
    intensity_headroom: int  # restarts left before escalation (``intensity - in window``)
    children: tuple[ChildStatus, ...]
    at: float  # trio time of the snapshot

    def child(self, id: str) -> ChildStatus:
        """The status of child ``id`` (``KeyError`` if there is none)."""
        for status in self.children:
            if status.id == id:
                return status
        raise KeyError(id)

    def walk(self) -> Iterator[tuple[str, ChildStatus]]:
        """Every child of the tree with its path (``"root/sub/leaf"``), depth first."""
        for status in self.children:
            path = f"{self.name}/{status.id}"
            yield path, status
            if status.subtree is not None:
                yield from status.subtree.walk()


class _Child:
    """One row of the child table (mutable; only this module touches it)."""

    __slots__ = (
        "consecutive",
        "id",
        "last_failure",
        "overran",
        "rejoin",
        "restart",
        "restart_at",
        "restarts",
        "significant",
        "started_at",
        "starts",
        "state",
    )

    def __init__(self, id: str, restart: Restart, significant: bool) -> None:
        self.id = id
        self.restart = restart
        self.significant = significant
        self.state = ChildState.STOPPED
        self.starts = 0  # Invariant: restarts == max(0, starts - 1)
        self.restarts = 0
        self.consecutive = 0  # consecutive restarts, for backoff; reset after a stable run
        self.started_at: float | None = None  # when it last became RUNNING
        self.restart_at = 0.0  # meaningful while BACKING_OFF
        self.rejoin = False  # Invariant: only True while STOPPING for a group restart
        self.last_failure: ChildFailure | None = None
        self.overran = False


def check_flags(intensity: int, period: float, backoff: Backoff) -> list[str]:
    """Problems with a supervisor's restart intensity, period and backoff."""
    found = []
    if not intensity >= 0:
        found.append("intensity: must be >= 0")
    if not period > 0:
        found.append("period: must be > 0")
    found.extend(backoff.problems())
    return found


def check_child(
    id: str, restart: Restart, significant: bool, auto_shutdown: AutoShutdown
) -> list[str]:
    """Problems with one child's settings (OTP rejects the same combinations)."""
    found = []
    if significant and auto_shutdown is AutoShutdown.NEVER:
        found.append(f"children[{id!r}].significant: needs auto_shutdown other than 'never'")
    if significant and restart is Restart.PERMANENT:
        found.append(f"children[{id!r}].significant: a permanent child cannot be significant")
    return found


class SupervisorPolicy:
    """The decisions of one supervisor run (the child table, intensity, backoff, strategy).

    ``rng`` draws backoff jitter (nothing is drawn while ``backoff.base`` is 0).
    """

    def __init__(
        self,
        *,
        strategy: Strategy,
        intensity: int,
        period: float,
        auto_shutdown: AutoShutdown = AutoShutdown.NEVER,
        backoff: Backoff = Backoff(),
        rng: random.Random,
    ) -> None:
        problems = check_flags(intensity, period, backoff)
        if problems:
            raise ConfigError(problems)
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.auto_shutdown = auto_shutdown
        self.backoff = backoff
        self._rng = rng
        self._children: dict[str, _Child] = {}  # insertion order is start order
        self._window: deque[ChildFailure] = deque()  # restarts within the period, oldest first
        self._backing_off = 0  # Invariant: the number of children in BACKING_OFF

    # -- the table ---------------------------------------------------------------------

    def add(self, id: str, restart: Restart, significant: bool = False) -> None:
        """Append a child (STOPPED) to the table. ``ValueError`` if the id is taken."""
        if id in self._children:
            raise ValueError(f"a child with id {id!r} is already present")
        problems = check_child(id, restart, significant, self.auto_shutdown)
        if problems:
            raise ConfigError(problems)
        self._children[id] = _Child(id, restart, significant)

    def remove(self, id: str) -> None:
        """Delete a child that is not running (STOPPED or FAILED)."""
        child = self._get(id)
        if child.state not in (ChildState.STOPPED, ChildState.FAILED):
            raise ValueError(f"child {id!r} is {child.state.value}; stop it first")
        del self._children[id]

    def __contains__(self, id: object) -> bool:
        return id in self._children

    def __len__(self) -> int:
        return len(self._children)

    def ids(self) -> tuple[str, ...]:
        """Every child id, in start order."""
        return tuple(self._children)

    def state(self, id: str) -> ChildState:
        return self._get(id).state

    def restarts(self, id: str) -> int:
        return self._get(id).restarts

    def is_significant(self, id: str) -> bool:
        return self._get(id).significant

    # -- what the shell reports ----------------------------------------------------------

    def starting(self, id: str) -> int:
        """A start of ``id`` begins (first start, restart, or ``restart_child``); returns how
        many times it was started before (its restarts so far)."""
        child = self._get(id)
        self._move(child, Move.START)
        restarts = child.starts
        child.starts += 1
        child.restarts = restarts
        return restarts

    def started(self, id: str, now: float) -> None:
        """``id`` is ready (it called ``task_status.started``)."""
        child = self._get(id)
        self._move(child, Move.READY)
        child.started_at = now
        child.overran = False

    def start_failed(self, id: str, exception: BaseException, now: float, *, fatal: bool) -> None:
        """A start that is not a restart failed (first start, ``start_child``,
        ``restart_child``): nothing is restarted. ``fatal`` marks the child FAILED (the
        supervisor's own start fails), otherwise it is STOPPED (temporary: removed)."""
        child = self._get(id)
        child.last_failure = ChildFailure(id, exception, now)
        self._move(child, Move.FAIL if fatal else Move.END)
        if not fatal and child.restart is Restart.TEMPORARY:
            del self._children[id]

    def exited(self, id: str, exception: BaseException | None, now: float) -> Plan:
        """``id`` ended on its own (or failed to start during a restart): what now?"""
        child = self._get(id)
        normal = exception is None
        if child.restart is Restart.TEMPORARY or (child.restart is Restart.TRANSIENT and normal):
            if not normal:
                child.last_failure = ChildFailure(id, exception, now)
            self._move(child, Move.END)
            if child.restart is Restart.TEMPORARY:
                del self._children[id]
            return self._after_ended_for_good(child)

        failure = ChildFailure(id, exception, now)
        child.last_failure = failure
        if self._add_restart(failure, now):
            self._move(child, Move.FAIL)
            return Plan(PlanAction.ESCALATE, history=tuple(self._window))

        if (
            child.state is ChildState.RUNNING
            and child.started_at is not None
            and now - child.started_at >= self.backoff.reset_after
        ):
            child.consecutive = 0  # a stable run: backoff starts over
        child.consecutive += 1
        at = now + self.backoff.delay(child.consecutive, self._rng)

        if self.strategy is Strategy.ONE_FOR_ONE:
            self._schedule(child, at)
            return Plan(PlanAction.RESTART, (), (id,), at)
        stop: list[str] = []
        restart: list[str] = []
        for member in self._group(id):
            if member is child:
                self._schedule(child, at)
                restart.append(child.id)
            elif member.state in ACTIVE:
                # a temporary sibling is stopped and then removed, never restarted
                self._move(member, Move.STOP)
                member.rejoin = member.restart is not Restart.TEMPORARY
                member.restart_at = at
                stop.append(member.id)
                if member.rejoin:
                    restart.append(member.id)
            elif member.restart is not Restart.TEMPORARY:
                self._schedule(member, at)
                restart.append(member.id)
        return Plan(PlanAction.RESTART, tuple(reversed(stop)), tuple(restart), at)

    def stopping(self, id: str) -> None:
        """The supervisor asks ``id`` to stop (``terminate_child`` or its own stop)."""
        child = self._get(id)
        self._move(child, Move.STOP)
        child.rejoin = False

    def stopped(self, id: str, now: float, *, overran: bool = False) -> None:
        """``id`` has stopped after being asked. ``overran``: it was cancelled at its budget.

        A child stopped for a group restart now waits for it; a temporary child is removed.
        """
        del now  # part of the reporting contract; the decision does not depend on it
        child = self._get(id)
        child.overran = overran
        if child.rejoin:
            child.rejoin = False
            self._move(child, Move.RESTART)  # restart_at was set with the plan
            return
        self._move(child, Move.STOPPED)
        if child.restart is Restart.TEMPORARY:
            del self._children[id]

    def drop_restart(self, id: str) -> None:
        """A pending restart of ``id`` (BACKING_OFF) is dropped: it is STOPPED now."""
        child = self._get(id)
        self._move(child, Move.DROP)

    # -- what the shell asks ------------------------------------------------------------

    def next_due(self) -> float:
        """The earliest trio time a pending restart is due (``inf`` if none)."""
        if not self._backing_off:
            return math.inf
        return min(c.restart_at for c in self._children.values() if c.state is _C.BACKING_OFF)

    def due(self, now: float) -> str | None:
        """The first child (in start order) whose restart is due at ``now``, if any."""
        if not self._backing_off:
            return None
        for child in self._children.values():
            if child.state is ChildState.BACKING_OFF and child.restart_at <= now:
                return child.id
        return None

    def stop_all(self) -> tuple[str, ...]:
        """The supervisor stops: pending restarts are dropped; returns the children that have
        a task, in stop order (reverse start order). The shell then stops each of them."""
        for child in self._children.values():
            child.rejoin = False
            if child.state is ChildState.BACKING_OFF:
                self._move(child, Move.DROP)
        return tuple(c.id for c in reversed(self._children.values()) if c.state in ACTIVE)

    def restarts_in_window(self, now: float) -> int:
        threshold = now - self.period
        return sum(1 for failure in self._window if failure.at >= threshold)

    def headroom(self, now: float) -> int:
        """Restarts left before the next one escalates."""
        return self.intensity - self.restarts_in_window(now)

    def history(self) -> tuple[ChildFailure, ...]:
        """The intensity window as last updated (oldest first)."""
        return tuple(self._window)

    def children_status(self) -> tuple[ChildStatus, ...]:
        return tuple(
            ChildStatus(
                id=c.id,
                state=c.state,
                restart=c.restart,
                significant=c.significant,
                restarts=c.restarts,
                last_failure=c.last_failure,
                backoff_until=c.restart_at if c.state is ChildState.BACKING_OFF else None,
                shutdown_overran=c.overran,
            )
            for c in self._children.values()
        )

    # -- inside --------------------------------------------------------------------------

    def _get(self, id: str) -> _Child:
        try:
            return self._children[id]
        except KeyError:
            raise LookupError(f"no child with id {id!r}") from None

    def _move(self, child: _Child, move: Move) -> None:
        try:
            to = CHILD_TRANSITIONS[child.state, move]
        except KeyError:
            raise InvalidTransition(
                f"child {child.id!r}: {move.value} is not allowed while {child.state.value}"
            ) from None
        if child.state is ChildState.BACKING_OFF:
            self._backing_off -= 1
        if to is ChildState.BACKING_OFF:
            self._backing_off += 1
        child.state = to

    def _schedule(self, child: _Child, at: float) -> None:
        self._move(child, Move.RESTART)
        child.restart_at = at

    def _add_restart(self, failure: ChildFailure, now: float) -> bool:
        """Count one restart; True if the window now overflows (OTP's ``add_restart``)."""
        window = self._window
        threshold = now - self.period
        while window and window[0].at < threshold:
            window.popleft()
        window.append(failure)
        return len(window) > self.intensity

    def _group(self, id: str) -> Sequence[_Child]:
        """The children one_for_all or rest_for_one restarts when ``id`` must be, in order."""
        children = list(self._children.values())
        if self.strategy is Strategy.ONE_FOR_ALL:
            return children
        index = next(i for i, c in enumerate(children) if c.id == id)
        return children[index:]

    def _after_ended_for_good(self, child: _Child) -> Plan:
        """``auto_shutdown`` after a child ended on its own and is not restarted."""
        if not child.significant or self.auto_shutdown is AutoShutdown.NEVER:
            return _NOTHING
        if self.auto_shutdown is AutoShutdown.ANY_SIGNIFICANT:
            return Plan(PlanAction.SHUT_DOWN)
        alive = any(c.significant and c.state in ALIVE for c in self._children.values())
        return _NOTHING if alive else Plan(PlanAction.SHUT_DOWN)
