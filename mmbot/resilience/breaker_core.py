"""The circuit breaker as a pure state machine (sans-IO core of ``breaker.CircuitBreaker``).

What it is for: deciding, from the outcomes of past calls and a ``now`` passed in, whether a
call may go to the venue. Everything that affects the state lives in this file; the trio
shell (``breaker.py``) only reads the clock, runs the call and reports the outcome.

What it must never do: import trio, time or random, read a clock, sleep, or draw from the
module-level RNG (the open-duration jitter comes from the ``random.Random`` passed in).

Theory of operation
-------------------
``acquire(now)`` returns a :class:`Permit` or ``None`` (refused; ``retry_after(now)`` says for
how long). Every permit must be handed back once with ``record(permit, outcome, now)``.
Counted outcomes enter a sliding window (the last ``window_size`` calls, or the calls of the
last ``window_duration`` seconds). Once the window holds ``minimum_calls``, a failure rate or
slow-call rate at or above its threshold trips the breaker; ``consecutive_hard_failures``
hard failures in a row trip it at once. OPEN lasts an exponentially growing, jittered,
capped time (or until an exchange hint), then HALF_OPEN admits ``half_open_probes`` probes
and judges them as a rate: CLOSED if they pass, OPEN again if not. A probe that never
answers cannot wedge HALF_OPEN: ``half_open_max_wait`` after the first probe went out it
reopens. Each state change bumps a generation; outcomes of permits from an older
generation are counted in the totals but never judged ("stale").

Time-driven transitions happen lazily, whenever the core is asked something with a ``now``.
State changes are queued as :class:`BreakerTransition` values for the shell's listeners.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from mmbot.resilience.backoff import proportional_jitter
from mmbot.resilience.breaker_config import BreakerConfig, SlidingWindow, WindowType
from mmbot.resilience.outcomes import CallOutcome

if TYPE_CHECKING:
    import random


class BreakerState(enum.Enum):
    CLOSED = "closed"  # calls flow; outcomes are judged
    OPEN = "open"  # calls refused until open_until
    HALF_OPEN = "half_open"  # a few probes decide between CLOSED and OPEN
    FORCED_OPEN = "forced_open"  # refused until an operator resets it
    DISABLED = "disabled"  # always admits, records nothing
    METRICS_ONLY = "metrics_only"  # always admits, records, never opens

    @property
    def admits_calls(self) -> bool:
        """True if the state can admit a call (HALF_OPEN only while probe slots remain)."""
        return self not in (BreakerState.OPEN, BreakerState.FORCED_OPEN)


class Trigger(enum.Enum):
    TRIP = "trip"  # failure rate, slow-call rate or consecutive hard failures
    OPEN_ELAPSED = "open_elapsed"
    PROBES_PASSED = "probes_passed"
    PROBES_FAILED = "probes_failed"
    HALF_OPEN_EXPIRED = "half_open_expired"  # a probe never answered
    HINT = "hint"  # open_until(t): Retry-After, maintenance end
    FORCE_OPEN = "force_open"
    DISABLE = "disable"
    METRICS_ONLY = "metrics_only"
    RESET = "reset"


_S, _T = BreakerState, Trigger
_MANUAL = {
    _T.FORCE_OPEN: _S.FORCED_OPEN,
    _T.DISABLE: _S.DISABLED,
    _T.METRICS_ONLY: _S.METRICS_ONLY,
    _T.RESET: _S.CLOSED,
}

#: The whole transition table: (state, trigger) → next state. Anything else is a bug.
TRANSITIONS: Mapping[tuple[BreakerState, Trigger], BreakerState] = {
    (_S.CLOSED, _T.TRIP): _S.OPEN,
    (_S.CLOSED, _T.HINT): _S.OPEN,
    (_S.OPEN, _T.OPEN_ELAPSED): _S.HALF_OPEN,
    (_S.OPEN, _T.HINT): _S.OPEN,
    (_S.HALF_OPEN, _T.PROBES_PASSED): _S.CLOSED,
    (_S.HALF_OPEN, _T.PROBES_FAILED): _S.OPEN,
    (_S.HALF_OPEN, _T.HALF_OPEN_EXPIRED): _S.OPEN,
    (_S.HALF_OPEN, _T.HINT): _S.OPEN,
    **{(state, trig): to for state in _S for trig, to in _MANUAL.items()},
}


class Permit:
    """Leave to make one call; hand it back to ``record`` exactly once.

    A plain slotted class rather than an attrs value: it is made on every call (hot path).
    """

    __slots__ = ("generation", "id", "probe", "started_at")

    def __init__(self, id: int, generation: int, probe: bool, started_at: float) -> None:
        self.id = id
        self.generation = generation
        self.probe = probe
        self.started_at = started_at

    def __repr__(self) -> str:
        return f"Permit(id={self.id}, generation={self.generation}, probe={self.probe})"


@attrs.frozen
class BreakerTransition:
    """A state change, for listeners (metrics: ``mmbot_breaker_transitions_total``)."""

    breaker: str
    from_state: BreakerState
    to_state: BreakerState
    trigger: Trigger
    at: float


@attrs.frozen
class BreakerStatistics:
    """A frozen snapshot. Invariant: ``admitted == successes + failures + timeouts + ignored
    + cancelled + in_flight`` (``failures`` includes hard failures)."""

    name: str
    state: BreakerState
    calls_in_window: int
    failures_in_window: int
    slow_in_window: int
    failure_rate: float
    slow_call_rate: float
    consecutive_hard_failures: int
    consecutive_openings: int
    retry_after: float
    half_open_probes_in_flight: int
    in_flight: int
    admitted: int
    rejected: int
    successes: int
    failures: int
    timeouts: int
    slow_calls: int
    ignored: int
    cancelled: int
    stale: int
    would_trip: int


class BreakerCore:
    """The breaker's state machine; see the module docstring for the theory of operation."""

    def __init__(self, name: str, config: BreakerConfig, rng: random.Random) -> None:
        self.name = name
        self.config = config
        self._rng = rng
        self._min_calls = (
            min(config.minimum_calls, config.window_size)
            if config.window_type is WindowType.COUNT
            else config.minimum_calls
        )
        self._state = BreakerState.CLOSED
        self._slow_duration = config.slow_call_duration
        self._generation = 0
        self._window = SlidingWindow(config)
        self._consecutive_hard = 0
        self._consecutive_openings = 0
        self._open_until = 0.0  # meaningful in OPEN
        self._opened_at = 0.0  # when the current OPEN began
        self._hinted_until = 0.0  # the latest exchange hint honoured (never cut short)
        # HALF_OPEN bookkeeping. Invariant: len(_probe_results) <= _probes_admitted <= N.
        self._probes_admitted = 0
        self._probe_results: list[tuple[bool, bool]] = []
        self._probe_deadline: float | None = None  # first probe out + half_open_max_wait
        self._next_id = 0
        self._outstanding: set[int] = set()
        self._pending: list[BreakerTransition] = []
        self._counts = dict.fromkeys(_COUNTERS, 0)

    # -- queries -----------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state as of the last ``now`` seen (use ``state_at`` to advance time first)."""
        return self._state

    @property
    def has_transitions(self) -> bool:
        return bool(self._pending)

    def state_at(self, now: float) -> BreakerState:
        self._advance(now)
        return self._state

    def open_until_time(self) -> float | None:
        """When OPEN ends (None if not OPEN)."""
        return self._open_until if self._state is BreakerState.OPEN else None

    def retry_after(self, now: float) -> float:
        """Seconds until a call may be admitted again (0 if one would be now)."""
        self._advance(now)
        state = self._state
        if state is BreakerState.OPEN:
            return max(0.0, self._open_until - now)
        if state is BreakerState.FORCED_OPEN:
            return math.inf
        if (
            state is BreakerState.HALF_OPEN
            and self._probes_admitted >= self.config.half_open_probes
        ):
            wait = self.config.call_timeout or self.config.slow_call_duration
            if self._probe_deadline is not None:
                wait = min(wait, max(0.0, self._probe_deadline - now))
            return wait
        return 0.0

    def take_transitions(self) -> list[BreakerTransition]:
        """The transitions since the last call, oldest first."""
        pending, self._pending = self._pending, []
        return pending

    def statistics(self, now: float) -> BreakerStatistics:
        self._advance(now)
        self._window.evict(now)
        window, c = self._window, self._counts
        calls = len(window.records)
        return BreakerStatistics(
            name=self.name,
            state=self._state,
            calls_in_window=calls,
            failures_in_window=window.failures,
            slow_in_window=window.slow,
            failure_rate=window.failures / calls if calls else 0.0,
            slow_call_rate=window.slow / calls if calls else 0.0,
            consecutive_hard_failures=self._consecutive_hard,
            consecutive_openings=self._consecutive_openings,
            retry_after=self.retry_after(now),
            half_open_probes_in_flight=self._probes_admitted - len(self._probe_results)
            if self._state is BreakerState.HALF_OPEN
            else 0,
            in_flight=len(self._outstanding),
            **c,
        )

    # -- calls -------------------------------------------------------------------------

    def acquire(self, now: float) -> Permit | None:
        """A permit for one call, or None if the breaker refuses it now."""
        state = self._state
        if state is _OPEN or state is _HALF_OPEN:
            self._advance(now)
            state = self._state
        probe = False
        if state is _HALF_OPEN:
            if self._probes_admitted >= self.config.half_open_probes:
                self._counts["rejected"] += 1
                return None
            if self._probes_admitted == len(self._probe_results):
                # no probe in flight: the stuck-probe clock starts now
                self._probe_deadline = now + self.config.half_open_max_wait
            self._probes_admitted += 1
            probe = True
        elif state is _OPEN or state is _FORCED_OPEN:
            self._counts["rejected"] += 1
            return None
        self._next_id = permit_id = self._next_id + 1
        self._outstanding.add(permit_id)
        self._counts["admitted"] += 1
        return Permit(permit_id, self._generation, probe, now)

    def record(self, permit: Permit, outcome: CallOutcome, now: float) -> None:
        """Hand back ``permit`` with the outcome of its call (finished at ``now``)."""
        try:
            self._outstanding.remove(permit.id)
        except KeyError:
            raise ValueError(f"permit {permit.id} is not outstanding") from None
        state = self._state
        if state is _OPEN or state is _HALF_OPEN:
            self._advance(now)
            state = self._state
        c = self._counts
        if outcome is _SUCCESS:  # the hot path: plain comparisons only
            c["successes"] += 1
            counts = True
            failed = False
            slow = now - permit.started_at >= self._slow_duration
        else:
            c[_TOTAL_KEY[outcome]] += 1
            counts = outcome in _COUNTED
            failed = outcome in _FAILED
            slow = outcome is _TIMEOUT or (
                counts and now - permit.started_at >= self._slow_duration
            )
        if slow:
            c["slow_calls"] += 1
        if permit.generation != self._generation:
            c["stale"] += 1
            return
        if not counts:
            if permit.probe:  # give the probe slot back: another call may probe
                self._probes_admitted -= 1
                if self._probes_admitted == len(self._probe_results):
                    self._probe_deadline = None
            return
        if state is _DISABLED:
            return
        if outcome is _HARD:
            self._consecutive_hard += 1
        else:
            self._consecutive_hard = 0
        if state is _HALF_OPEN:
            self._judge_probe(failed, slow, now)
            return
        self._window.add(now, failed, slow)
        if self._should_trip():
            if state is _CLOSED:
                self._open(now, Trigger.TRIP)
            else:
                c["would_trip"] += 1

    def _should_trip(self) -> bool:
        config, window = self.config, self._window
        if self._consecutive_hard >= config.consecutive_hard_failures:
            return True
        calls = len(window.records)
        if calls < self._min_calls:
            return False
        return (
            window.failures >= config.failure_rate_threshold * calls
            or window.slow >= config.slow_call_rate_threshold * calls
        )

    def _judge_probe(self, failed: bool, slow: bool, now: float) -> None:
        config, results = self.config, self._probe_results
        results.append((failed, slow))
        probes = config.half_open_probes
        failures = sum(f for f, _ in results)
        if self._consecutive_hard >= config.consecutive_hard_failures or (
            failures >= config.failure_rate_threshold * probes
        ):
            self._open(now, Trigger.PROBES_FAILED)  # the verdict cannot improve: open now
        elif len(results) >= probes:
            slows = sum(s for _, s in results)
            if slows >= config.slow_call_rate_threshold * probes:
                self._open(now, Trigger.PROBES_FAILED)
            else:
                self._consecutive_openings = 0
                self._transition(Trigger.PROBES_PASSED, now)
        elif self._probes_admitted == len(results):
            self._probe_deadline = None  # nothing in flight: no probe can be stuck

    # -- commands ----------------------------------------------------------------------

    def open_until(self, until: float, now: float) -> None:
        """Honour an exchange hint: refuse calls until ``until`` (never shortens OPEN)."""
        self._advance(now)
        if until <= now or (self._state, Trigger.HINT) not in TRANSITIONS:
            return
        self._hinted_until = max(self._hinted_until, until)
        if self._state is BreakerState.OPEN:
            self._open_until = max(self._open_until, until)
            return
        self._open_until = until
        self._opened_at = now
        self._transition(Trigger.HINT, now)

    def cut_backoff(self, now: float) -> bool:
        """The venue answered another endpoint class normally: an OPEN whose backoff grew past
        the base open time now ends ``open_base`` after it began (or now, if that has passed),
        never before an exchange hint. Whether it was cut. The backoff grew while the venue
        as a whole failed; once it answers again, waiting the grown time out only delays the
        probe that tells (a failed probe opens again, with the backoff grown further)."""
        self._advance(now)
        if self._state is not BreakerState.OPEN or self._consecutive_openings < 2:
            return False  # not open, or a first opening: its jittered base time stands
        until = max(now, self._opened_at + self.config.open_base, self._hinted_until)
        if until >= self._open_until:
            return False
        self._open_until = until
        self._advance(now)
        return True

    def force_open(self, now: float) -> None:
        self._command(Trigger.FORCE_OPEN, now)

    def disable(self, now: float) -> None:
        self._command(Trigger.DISABLE, now)

    def metrics_only(self, now: float) -> None:
        self._command(Trigger.METRICS_ONLY, now)

    def reset(self, now: float) -> None:
        """Back to CLOSED with an empty window and no backoff history."""
        self._consecutive_openings = 0
        self._command(Trigger.RESET, now)

    def _command(self, trigger: Trigger, now: float) -> None:
        self._advance(now)
        if TRANSITIONS[(self._state, trigger)] is not self._state or trigger is Trigger.RESET:
            self._transition(trigger, now)

    # -- the one place where state changes ---------------------------------------------

    def _advance(self, now: float) -> None:
        """Apply the time-driven transitions due at ``now``."""
        while True:
            state = self._state
            if state is BreakerState.OPEN and now >= self._open_until:
                self._transition(Trigger.OPEN_ELAPSED, self._open_until)
            elif (
                state is BreakerState.HALF_OPEN
                and self._probe_deadline is not None
                and now >= self._probe_deadline
            ):
                self._open(self._probe_deadline, Trigger.HALF_OPEN_EXPIRED)
            else:
                return

    def _open(self, at: float, trigger: Trigger) -> None:
        config = self.config
        self._consecutive_openings += 1
        duration = proportional_jitter(
            self._consecutive_openings,
            base=config.open_base,
            multiplier=config.open_multiplier,
            cap=config.open_max,
            jitter=config.open_jitter,
            rng=self._rng,
        )
        self._open_until = at + duration
        self._opened_at = at
        self._transition(trigger, at)

    def _transition(self, trigger: Trigger, at: float) -> None:
        before = self._state
        after = TRANSITIONS[(before, trigger)]  # KeyError here is a bug in this file
        self._state = after
        self._generation += 1
        self._window.clear()
        self._probes_admitted = 0
        self._probe_results = []
        self._probe_deadline = None
        if after is BreakerState.CLOSED:
            self._consecutive_hard = 0
        if after is not before:
            self._pending.append(BreakerTransition(self.name, before, after, trigger, at))


_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
_FORCED_OPEN, _DISABLED = BreakerState.FORCED_OPEN, BreakerState.DISABLED
_SUCCESS, _TIMEOUT, _HARD = CallOutcome.SUCCESS, CallOutcome.TIMEOUT, CallOutcome.HARD_FAILURE
_COUNTED = frozenset(o for o in CallOutcome if o.counts)
_FAILED = frozenset(o for o in CallOutcome if o.is_failure)
_COUNTERS = (
    "admitted",
    "rejected",
    "successes",
    "failures",
    "timeouts",
    "slow_calls",
    "ignored",
    "cancelled",
    "stale",
    "would_trip",
)
_TOTAL_KEY = {
    CallOutcome.SUCCESS: "successes",
    CallOutcome.FAILURE: "failures",
    CallOutcome.HARD_FAILURE: "failures",
    CallOutcome.TIMEOUT: "timeouts",
    CallOutcome.IGNORED: "ignored",
    CallOutcome.CANCELLED: "cancelled",
}
