"""The supervision policy against a small model (hypothesis RuleBasedStateMachine).

Random crashes, normal exits, failed restarts, dynamic starts, terminations, starts stopped
before the child was ready, and whole-tree stops of children of every restart type, under
every strategy, with and without backoff. Checked at every step: the plan equals the
model's (which children stop, in reverse start order, and which restart, in start order);
intensity is counted per supervisor (never more than ``intensity`` restarts granted within
any ``period``); a temporary child is never restarted; the supervisor escalates exactly when
the window overflows; the child states equal the model's.
"""

from __future__ import annotations

import random

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mmbot.supervision.policy import (
    Backoff,
    ChildState,
    Plan,
    PlanAction,
    Restart,
    Strategy,
    SupervisorPolicy,
)

RESTARTS = st.sampled_from(list(Restart))


@attrs.define
class Kid:
    id: str
    restart: Restart
    state: ChildState = ChildState.RUNNING
    at: float = 0.0  # restart time while BACKING_OFF


class PolicyMachine(RuleBasedStateMachine):
    core: SupervisorPolicy

    @initialize(
        strategy=st.sampled_from(list(Strategy)),
        intensity=st.integers(0, 3),
        period=st.sampled_from([1.0, 2.5, 5.0]),
        base=st.sampled_from([0.0, 0.5]),
        jitter=st.sampled_from([0.0, 0.5]),
        seed=st.integers(0, 1000),
        restarts=st.lists(RESTARTS, min_size=1, max_size=5),
    )
    def setup(
        self,
        strategy: Strategy,
        intensity: int,
        period: float,
        base: float,
        jitter: float,
        seed: int,
        restarts: list[Restart],
    ) -> None:
        self.backoff = Backoff(base=base, cap=2.0, jitter=jitter, reset_after=3.0)
        self.core = SupervisorPolicy(
            strategy=strategy,
            intensity=intensity,
            period=period,
            backoff=self.backoff,
            rng=random.Random(seed),
        )
        self.now = 0.0
        self.kids: list[Kid] = []
        self.window: list[float] = []  # the model's intensity window
        self.granted: list[float] = []  # times of every RESTART decision
        self.escalated = False
        self.serial = 0
        for restart in restarts:
            self.add_child(restart)

    # -- helpers ---------------------------------------------------------------------

    def kid(self, id: str) -> Kid:
        return next(k for k in self.kids if k.id == id)

    def running(self) -> list[Kid]:
        return [k for k in self.kids if k.state is ChildState.RUNNING]

    def group(self, kid: Kid) -> list[Kid]:
        strategy = self.core.strategy
        if strategy is Strategy.ONE_FOR_ONE:
            return [kid]
        if strategy is Strategy.ONE_FOR_ALL:
            return list(self.kids)
        return self.kids[self.kids.index(kid) :]

    def exit(self, kid: Kid, exception: BaseException | None) -> None:
        """Report an exit and check the plan against the model, then carry it out."""
        plan = self.core.exited(kid.id, exception, self.now)
        if kid.restart is Restart.TEMPORARY or (kid.restart is Restart.TRANSIENT and not exception):
            assert plan.action is PlanAction.NONE
            if kid.restart is Restart.TEMPORARY:
                self.kids.remove(kid)
            else:
                kid.state = ChildState.STOPPED
            return
        self.window = [t for t in self.window if t >= self.now - self.core.period] + [self.now]
        if len(self.window) > self.core.intensity:
            assert plan.action is PlanAction.ESCALATE
            assert [f.at for f in plan.history] == self.window
            assert plan.history[-1].child == kid.id
            kid.state = ChildState.FAILED
            self.escalated = True
            return
        assert plan.action is PlanAction.RESTART, plan
        self.granted.append(self.now)
        group = self.group(kid)
        expected_stop = [
            k.id for k in reversed(group) if k is not kid and k.state is ChildState.RUNNING
        ]
        expected_restart = [k.id for k in group if k is kid or k.restart is not Restart.TEMPORARY]
        assert list(plan.stop) == expected_stop
        assert list(plan.restart) == expected_restart
        assert self.now <= plan.at <= self.now + self.backoff.cap
        self.carry_out(plan)

    def carry_out(self, plan: Plan) -> None:
        for id in plan.stop:
            self.core.stopped(id, self.now)
            stopped = self.kid(id)
            if stopped.restart is Restart.TEMPORARY:
                self.kids.remove(stopped)
        for id in plan.restart:
            restarted = self.kid(id)
            restarted.state = ChildState.BACKING_OFF
            restarted.at = plan.at

    # -- rules -----------------------------------------------------------------------

    @precondition(lambda self: not self.escalated)
    @rule(restart=RESTARTS)
    def add_child(self, restart: Restart) -> None:
        self.serial += 1
        id = f"c{self.serial}"
        self.core.add(id, restart)
        self.core.starting(id)
        self.core.started(id, self.now)
        self.kids.append(Kid(id, restart))

    @precondition(lambda self: not self.escalated and bool(self.running()))
    @rule(index=st.integers(0, 50), normal=st.booleans())
    def child_exits(self, index: int, normal: bool) -> None:
        running = self.running()
        kid = running[index % len(running)]
        self.exit(kid, None if normal else ValueError(kid.id))

    @rule(dt=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 5.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt

    @precondition(lambda self: not self.escalated)
    @rule()
    def due_restarts_start(self) -> None:
        while (id := self.core.due(self.now)) is not None:
            kid = self.kid(id)
            assert kid.state is ChildState.BACKING_OFF and kid.at <= self.now
            self.core.starting(id)
            self.core.started(id, self.now)
            kid.state = ChildState.RUNNING
        assert not [k for k in self.kids if k.state is ChildState.BACKING_OFF and k.at <= self.now]

    @precondition(lambda self: not self.escalated)
    @rule()
    def a_due_restart_fails_to_start(self) -> None:
        id = self.core.due(self.now)
        if id is None:
            return
        self.core.starting(id)
        kid = self.kid(id)
        kid.state = ChildState.STARTING
        self.exit(kid, RuntimeError("start failed"))

    @precondition(lambda self: not self.escalated)
    @rule()
    def a_due_restart_is_stopped_before_it_is_ready(self) -> None:
        """The supervisor is asked to stop during a restart: the start is not a failure."""
        id = self.core.due(self.now)
        if id is None:
            return
        self.core.starting(id)
        self.core.stopping(id)
        self.core.stopped(id, self.now)
        self.kid(id).state = ChildState.STOPPED  # nothing counted, nothing planned

    @precondition(lambda self: not self.escalated)
    @rule(restart=RESTARTS)
    def a_dynamic_child_is_stopped_before_it_is_ready(self, restart: Restart) -> None:
        self.serial += 1
        id = f"c{self.serial}"
        self.core.add(id, restart)
        self.core.starting(id)
        assert self.core.state(id) is ChildState.STARTING
        self.core.stopping(id)
        self.core.stopped(id, self.now)
        if restart is Restart.TEMPORARY:
            assert id not in self.core
        else:
            self.kids.append(Kid(id, restart, ChildState.STOPPED))

    @precondition(lambda self: not self.escalated and bool(self.running()))
    @rule(index=st.integers(0, 50))
    def terminate_child(self, index: int) -> None:
        running = self.running()
        kid = running[index % len(running)]
        self.core.stopping(kid.id)
        self.core.stopped(kid.id, self.now)
        if kid.restart is Restart.TEMPORARY:
            self.kids.remove(kid)
        else:
            kid.state = ChildState.STOPPED

    @precondition(lambda self: not self.escalated)
    @rule()
    def stop_everything_then_start_again(self) -> None:
        order = self.core.stop_all()
        expected = [k.id for k in reversed(self.kids) if k.state is ChildState.RUNNING]
        assert list(order) == expected  # reverse start order
        for id in order:
            self.core.stopping(id)
            self.core.stopped(id, self.now)
        self.kids = [
            k for k in self.kids if k.id not in order or k.restart is not Restart.TEMPORARY
        ]
        for kid in self.kids:
            kid.state = ChildState.STOPPED
            self.core.starting(kid.id)
            self.core.started(kid.id, self.now)
            kid.state = ChildState.RUNNING

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def states_match_the_model(self) -> None:
        assert list(self.core.ids()) == [k.id for k in self.kids]
        for kid in self.kids:
            assert self.core.state(kid.id) is kid.state, kid

    @invariant()
    def temporary_children_are_never_restarted(self) -> None:
        for status in self.core.children_status():
            if status.restart is Restart.TEMPORARY:
                assert status.state is not ChildState.BACKING_OFF
                assert status.restarts == 0

    @invariant()
    def intensity_is_counted_per_supervisor(self) -> None:
        for t in self.granted:
            in_period = [u for u in self.granted if t - self.core.period <= u <= t]
            assert len(in_period) <= self.core.intensity

    @invariant()
    def next_due_is_the_earliest_pending_restart(self) -> None:
        pending = [k.at for k in self.kids if k.state is ChildState.BACKING_OFF]
        assert self.core.next_due() == (min(pending) if pending else float("inf"))


TestPolicyMachine = PolicyMachine.TestCase
