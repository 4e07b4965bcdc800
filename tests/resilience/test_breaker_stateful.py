"""The breaker core against a simple model (hypothesis RuleBasedStateMachine).

Checked after every step: no call admitted while OPEN before its time, at most N probes in
HALF_OPEN, transitions only along the table and chained from the state we last saw, the
sliding window equal to the model's, and the statistics consistent with what we did.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from mmbot.resilience.breaker_config import BreakerConfig, WindowType
from mmbot.resilience.breaker_core import (
    TRANSITIONS,
    BreakerCore,
    BreakerState,
    Permit,
    Trigger,
)
from mmbot.resilience.outcomes import CallOutcome

S = BreakerState


class BreakerMachine(RuleBasedStateMachine):
    core: BreakerCore
    config: BreakerConfig

    @initialize(
        window_type=st.sampled_from(WindowType),
        window_size=st.integers(1, 8),
        window_duration=st.sampled_from([1.0, 5.0, 20.0]),
        minimum_calls=st.integers(1, 8),
        failure_rate=st.sampled_from([0.25, 0.5, 1.0]),
        slow_rate=st.sampled_from([0.5, 1.0]),
        probes=st.integers(1, 3),
        hard=st.integers(1, 3),
        jitter=st.sampled_from([0.0, 0.5]),
        seed=st.integers(0, 1000),
    )
    def setup(
        self,
        window_type: WindowType,
        window_size: int,
        window_duration: float,
        minimum_calls: int,
        failure_rate: float,
        slow_rate: float,
        probes: int,
        hard: int,
        jitter: float,
        seed: int,
    ) -> None:
        self.config = BreakerConfig(
            window_type=window_type,
            window_size=window_size,
            window_duration=window_duration,
            minimum_calls=minimum_calls,
            failure_rate_threshold=failure_rate,
            slow_call_rate_threshold=slow_rate,
            slow_call_duration=1.0,
            consecutive_hard_failures=hard,
            half_open_probes=probes,
            half_open_max_wait=3.0,
            open_base=2.0,
            open_max=10.0,
            open_jitter=jitter,
        )
        self.core = BreakerCore("model", self.config, random.Random(seed))
        self.now = 100.0
        self.held: list[tuple[Permit, int]] = []  # (permit, model generation when admitted)
        self.seen = S.CLOSED
        self.generation = 0
        self.refuse_until = 0.0  # the model's earliest possible end of the current OPEN
        self.window: list[tuple[float, bool, bool]] = []
        self.totals = dict.fromkeys(CallOutcome, 0)
        self.rejected = 0
        self.probes_used = 0  # probe slots taken in this HALF_OPEN (in flight or judged)

    # -- helpers --------------------------------------------------------------------

    def observe(self) -> None:
        """Drain transitions: each must be in the table and chained from what we saw."""
        for t in self.core.take_transitions():
            assert t.from_state is self.seen, (t, self.seen)
            assert TRANSITIONS[(t.from_state, t.trigger)] is t.to_state
            assert t.from_state is not t.to_state
            self.seen = t.to_state
            self.new_generation()
            if t.to_state is S.OPEN:
                smallest = min(self.config.open_base, self.config.open_max)
                if t.trigger is Trigger.HINT:
                    assert self.core.open_until_time() is not None
                    self.refuse_until = self.core.open_until_time() or 0.0
                else:
                    self.refuse_until = t.at + smallest
        assert self.core.state is self.seen

    def new_generation(self) -> None:
        self.generation += 1
        self.window.clear()
        self.probes_used = 0

    def evict(self) -> None:
        if self.config.window_type is WindowType.COUNT:
            del self.window[: max(0, len(self.window) - self.config.window_size)]
        else:
            horizon = self.now - self.config.window_duration
            self.window = [r for r in self.window if r[0] > horizon]

    # -- rules ----------------------------------------------------------------------

    @rule(dt=st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5, 7.0, 30.0]))
    def advance(self, dt: float) -> None:
        self.now += dt
        self.core.state_at(self.now)
        self.observe()

    @rule()
    def acquire(self) -> None:
        before = self.core.state_at(self.now)
        self.observe()
        must_refuse = before is S.FORCED_OPEN or (before is S.OPEN and self.now < self.refuse_until)
        permit = self.core.acquire(self.now)
        self.observe()
        if permit is None:
            self.rejected += 1
            assert before in (S.OPEN, S.FORCED_OPEN, S.HALF_OPEN)
            if before is S.HALF_OPEN:
                assert self.probes_used >= self.config.half_open_probes
        else:
            assert not must_refuse, "admitted a call while OPEN before its time"
            assert permit.probe == (before is S.HALF_OPEN)
            self.held.append((permit, self.generation))
            self.probes_used += permit.probe

    @precondition(lambda self: bool(self.held))
    @rule(
        index=st.integers(0, 100),
        outcome=st.sampled_from([CallOutcome.SUCCESS] * 5 + list(CallOutcome)),
    )
    def complete(self, index: int, outcome: CallOutcome) -> None:
        permit, generation = self.held.pop(index % len(self.held))
        state = self.core.state_at(self.now)
        self.observe()
        self.core.record(permit, outcome, self.now)
        self.totals[outcome] += 1
        current = generation == self.generation
        if current and permit.probe and not outcome.counts:
            self.probes_used -= 1  # an ignored or cancelled probe gives its slot back
        if current and outcome.counts and state in (S.CLOSED, S.METRICS_ONLY):
            slow = outcome is CallOutcome.TIMEOUT or (
                self.now - permit.started_at >= self.config.slow_call_duration
            )
            self.window.append((self.now, outcome.is_failure, slow))
            self.evict()
        self.observe()
        if self.seen is S.CLOSED:
            self.assert_window_does_not_call_for_a_trip()

    def assert_window_does_not_call_for_a_trip(self) -> None:
        """Right after a record, CLOSED means the rule did not call for a trip."""
        config, n = self.config, len(self.window)
        minimum = config.minimum_calls
        if config.window_type is WindowType.COUNT:
            minimum = min(minimum, config.window_size)
        if n >= minimum:
            assert sum(f for _, f, _ in self.window) < config.failure_rate_threshold * n
            assert sum(s for _, _, s in self.window) < config.slow_call_rate_threshold * n
        assert self.core.statistics(self.now).consecutive_hard_failures < (
            config.consecutive_hard_failures
        )
        self.observe()

    @rule(hint=st.sampled_from([0.5, 4.0, 15.0]))
    def exchange_hint(self, hint: float) -> None:
        self.core.state_at(self.now)
        self.observe()
        was_open = self.seen is S.OPEN
        self.core.open_until(self.now + hint, self.now)
        self.observe()
        if was_open:
            self.refuse_until = max(self.refuse_until, self.now + hint)

    @rule(command=st.sampled_from(["force_open", "disable", "metrics_only", "reset"]))
    def operator(self, command: str) -> None:
        self.core.state_at(self.now)
        self.observe()
        before = self.seen
        getattr(self.core, command)(self.now)
        transitions = self.core.take_transitions()
        if command == "reset" and before is S.CLOSED:
            assert transitions == []
            self.new_generation()
        for t in transitions:  # replay through the same checks
            assert t.from_state is self.seen
            assert TRANSITIONS[(t.from_state, t.trigger)] is t.to_state
            self.seen = t.to_state
            self.new_generation()
        assert self.core.state is self.seen

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def statistics_are_consistent(self) -> None:
        stats = self.core.statistics(self.now)
        self.observe()
        self.evict()
        assert stats.in_flight == len(self.held)
        assert stats.admitted == (
            stats.successes
            + stats.failures
            + stats.timeouts
            + stats.ignored
            + stats.cancelled
            + stats.in_flight
        )
        assert stats.rejected == self.rejected
        assert stats.successes == self.totals[CallOutcome.SUCCESS]
        assert stats.timeouts == self.totals[CallOutcome.TIMEOUT]
        assert stats.cancelled == self.totals[CallOutcome.CANCELLED]
        assert stats.failures == (
            self.totals[CallOutcome.FAILURE] + self.totals[CallOutcome.HARD_FAILURE]
        )
        assert stats.calls_in_window == len(self.window)
        assert stats.failures_in_window == sum(f for _, f, _ in self.window)
        assert stats.slow_in_window == sum(s for _, _, s in self.window)
        assert 0.0 <= stats.failure_rate <= 1.0
        assert 0.0 <= stats.slow_call_rate <= 1.0
        assert stats.retry_after >= 0.0

    @invariant()
    def at_most_n_probes_in_half_open(self) -> None:
        if self.seen is S.HALF_OPEN:
            assert self.probes_used <= self.config.half_open_probes
            stats = self.core.statistics(self.now)
            self.observe()
            assert stats.half_open_probes_in_flight <= self.config.half_open_probes


TestBreakerAgainstModel = BreakerMachine.TestCase
