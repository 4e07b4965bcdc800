"""The supervision policy (sans-IO): OTP's decisions driven with a number for ``now``."""

from __future__ import annotations

import random

import pytest

from mmbot.errors import ConfigError
from mmbot.supervision.policy import (
    CHILD_TRANSITIONS,
    AutoShutdown,
    Backoff,
    ChildState,
    InvalidTransition,
    Move,
    PlanAction,
    Restart,
    Strategy,
    SupervisorPolicy,
)

P, T, TMP = Restart.PERMANENT, Restart.TRANSIENT, Restart.TEMPORARY
BOOM = ValueError("boom")


def policy(
    *children: tuple[str, Restart] | tuple[str, Restart, bool],
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    intensity: int = 10,
    period: float = 5.0,
    auto_shutdown: AutoShutdown = AutoShutdown.NEVER,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> SupervisorPolicy:
    """A policy whose children are all running (started at t=0)."""
    core = SupervisorPolicy(
        strategy=strategy,
        intensity=intensity,
        period=period,
        auto_shutdown=auto_shutdown,
        backoff=backoff or Backoff(),
        rng=rng or random.Random(0),
    )
    for child in children:
        core.add(*child)
        core.starting(child[0])
        core.started(child[0], 0.0)
    return core


def states(core: SupervisorPolicy) -> dict[str, ChildState]:
    return {id: core.state(id) for id in core.ids()}


# -- strategies ----------------------------------------------------------------------------


def test_one_for_one_restarts_only_the_child_that_exited() -> None:
    core = policy(("a", P), ("b", P), ("c", P))
    plan = core.exited("b", BOOM, 1.0)
    assert (plan.action, plan.stop, plan.restart, plan.at) == (PlanAction.RESTART, (), ("b",), 1.0)
    assert states(core) == {
        "a": ChildState.RUNNING,
        "b": ChildState.BACKING_OFF,
        "c": ChildState.RUNNING,
    }


def test_one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_order() -> None:
    core = policy(("a", P), ("b", P), ("c", P), ("d", P), strategy=Strategy.ONE_FOR_ALL)
    plan = core.exited("b", BOOM, 1.0)
    assert plan.stop == ("d", "c", "a")
    assert plan.restart == ("a", "b", "c", "d")
    assert core.state("d") is ChildState.STOPPING


def test_rest_for_one_restarts_the_child_and_those_started_after_it() -> None:
    core = policy(("a", P), ("b", P), ("c", P), ("d", P), strategy=Strategy.REST_FOR_ONE)
    plan = core.exited("b", BOOM, 1.0)
    assert plan.stop == ("d", "c")
    assert plan.restart == ("b", "c", "d")
    assert core.state("a") is ChildState.RUNNING


def test_siblings_stopped_for_a_group_restart_back_off_then_start_in_order() -> None:
    core = policy(("a", P), ("b", P), ("c", P), strategy=Strategy.ONE_FOR_ALL)
    core.exited("a", BOOM, 1.0)
    core.stopped("c", 1.0)
    core.stopped("b", 1.0)
    assert set(states(core).values()) == {ChildState.BACKING_OFF}
    started = []
    while (due := core.due(1.0)) is not None:
        core.starting(due)
        core.started(due, 1.0)
        started.append(due)
    assert started == ["a", "b", "c"]


# -- restart types -------------------------------------------------------------------------


def test_a_temporary_child_is_never_restarted_and_is_forgotten() -> None:
    core = policy(("a", TMP), ("b", P))
    assert core.exited("a", BOOM, 1.0).action is PlanAction.NONE
    assert "a" not in core
    assert core.headroom(1.0) == 10  # not a restart: nothing counted


def test_a_temporary_sibling_is_stopped_but_not_restarted_by_one_for_all() -> None:
    core = policy(("a", P), ("tmp", TMP), ("c", P), strategy=Strategy.ONE_FOR_ALL)
    plan = core.exited("a", BOOM, 1.0)
    assert plan.stop == ("c", "tmp")
    assert "tmp" not in plan.restart
    core.stopped("c", 1.0)
    core.stopped("tmp", 1.0)
    assert "tmp" not in core


def test_a_transient_child_is_restarted_after_a_failure() -> None:
    core = policy(("a", T))
    assert core.exited("a", BOOM, 1.0).action is PlanAction.RESTART


def test_a_transient_child_that_returns_normally_stays_stopped_and_counts_nothing() -> None:
    core = policy(("a", T))
    assert core.exited("a", None, 1.0).action is PlanAction.NONE
    assert core.state("a") is ChildState.STOPPED
    assert core.headroom(1.0) == 10


def test_a_permanent_child_that_returns_normally_is_an_exit_like_a_crash() -> None:
    core = policy(("a", P), intensity=1)
    first = core.exited("a", None, 1.0)
    assert first.action is PlanAction.RESTART
    core.starting("a")
    core.started("a", 1.0)
    second = core.exited("a", None, 2.0)
    assert second.action is PlanAction.ESCALATE
    assert [f.exception for f in second.history] == [None, None]
    assert second.history[0].reason == "returned"


def test_a_stopped_sibling_joins_a_one_for_all_restart_as_in_otp() -> None:
    core = policy(("a", P), ("b", T), strategy=Strategy.ONE_FOR_ALL)
    core.exited("b", None, 0.5)  # transient, normal: stays stopped
    plan = core.exited("a", BOOM, 1.0)
    assert plan.restart == ("a", "b")
    assert core.state("b") is ChildState.BACKING_OFF


# -- intensity -----------------------------------------------------------------------------


def test_intensity_is_counted_per_supervisor_not_per_child() -> None:
    core = policy(("a", P), ("b", P), intensity=1)
    assert core.exited("a", BOOM, 1.0).action is PlanAction.RESTART
    plan = core.exited("b", BOOM, 2.0)  # a different child, same window
    assert plan.action is PlanAction.ESCALATE
    assert [(f.child, f.at) for f in plan.history] == [("a", 1.0), ("b", 2.0)]
    assert core.state("b") is ChildState.FAILED


def test_escalation_comes_exactly_when_the_window_holds_more_than_intensity() -> None:
    core = policy(("a", P), intensity=3, period=10.0)
    for at in (1.0, 2.0, 3.0):
        assert core.exited("a", BOOM, at).action is PlanAction.RESTART
        core.starting("a")
        core.started("a", at)
    assert core.headroom(3.0) == 0
    assert core.exited("a", BOOM, 4.0).action is PlanAction.ESCALATE


def test_restarts_older_than_the_period_leave_the_window() -> None:
    core = policy(("a", P), intensity=1, period=5.0)
    core.exited("a", BOOM, 1.0)
    core.starting("a")
    core.started("a", 1.0)
    assert core.headroom(6.0) == 0  # OTP keeps a restart exactly `period` old
    assert core.headroom(6.5) == 1
    assert core.exited("a", BOOM, 6.5).action is PlanAction.RESTART


def test_a_restart_exactly_period_seconds_old_still_counts() -> None:
    core = policy(("a", P), intensity=1, period=5.0)
    core.exited("a", BOOM, 1.0)
    core.starting("a")
    core.started("a", 1.0)
    assert core.exited("a", BOOM, 6.0).action is PlanAction.ESCALATE


def test_intensity_zero_escalates_on_the_first_restart() -> None:
    core = policy(("a", P), intensity=0)
    assert core.exited("a", BOOM, 1.0).action is PlanAction.ESCALATE


def test_a_group_restart_counts_once() -> None:
    core = policy(("a", P), ("b", P), ("c", P), strategy=Strategy.ONE_FOR_ALL)
    core.exited("a", BOOM, 1.0)
    assert core.restarts_in_window(1.0) == 1


def test_a_failed_restart_attempt_counts_as_one_more_restart() -> None:
    core = policy(("a", P), intensity=1)
    core.exited("a", BOOM, 1.0)
    core.starting("a")  # the restart...
    plan = core.exited("a", RuntimeError("cannot start"), 1.0)  # ...fails before ready
    assert plan.action is PlanAction.ESCALATE


# -- backoff -------------------------------------------------------------------------------


class CountingRandom(random.Random):
    draws = 0

    def random(self) -> float:
        self.draws += 1
        return super().random()


def test_no_backoff_by_default_restarts_at_once_and_draws_nothing() -> None:
    rng = CountingRandom(1)
    core = policy(("a", P), rng=rng)
    assert core.exited("a", BOOM, 3.0).at == 3.0
    assert rng.draws == 0


def test_backoff_doubles_per_consecutive_restart_up_to_the_cap() -> None:
    core = policy(("a", P), backoff=Backoff(base=0.5, cap=3.0, reset_after=100.0))
    now, delays = 0.0, []
    for _ in range(5):
        plan = core.exited("a", BOOM, now)
        delays.append(plan.at - now)
        now = plan.at
        core.starting("a")
        core.started("a", now)
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_comes_from_the_injected_rng() -> None:
    def delays(seed: int) -> list[float]:
        core = policy(
            ("a", P), backoff=Backoff(base=1.0, cap=60.0, jitter=0.5), rng=random.Random(seed)
        )
        out = []
        for at in (0.0, 10.0, 20.0):
            out.append(core.exited("a", BOOM, at).at - at)
            core.starting("a")
            core.started("a", at)
        return out

    assert delays(7) == delays(7)
    assert delays(7) != delays(8)
    assert all(base <= d <= base * 1.5 for d, base in zip(delays(7), (1.0, 2.0, 4.0), strict=True))


def test_backoff_starts_over_after_a_stable_run() -> None:
    core = policy(("a", P), backoff=Backoff(base=1.0, cap=60.0, reset_after=30.0), intensity=99)
    assert core.exited("a", BOOM, 0.0).at == 1.0
    core.starting("a")
    core.started("a", 1.0)
    assert core.exited("a", BOOM, 2.0).at == 4.0  # second in a row: 2 s
    core.starting("a")
    core.started("a", 4.0)
    assert core.exited("a", BOOM, 40.0).at == 41.0  # ran 36 s: back to 1 s


def test_bad_backoff_and_intensity_are_configuration_errors() -> None:
    with pytest.raises(ConfigError) as info:
        policy(intensity=-1, period=0.0, backoff=Backoff(base=-1.0, jitter=2.0))
    assert len(info.value.problems) == 4


# -- auto_shutdown -------------------------------------------------------------------------


def test_any_significant_shuts_down_when_a_significant_child_ends_for_good() -> None:
    core = policy(("a", P), ("job", T, True), auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    assert core.exited("job", None, 1.0).action is PlanAction.SHUT_DOWN


def test_a_significant_child_that_is_restarted_does_not_shut_down() -> None:
    core = policy(("job", T, True), auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    assert core.exited("job", BOOM, 1.0).action is PlanAction.RESTART


def test_all_significant_waits_for_the_last_significant_child() -> None:
    core = policy(
        ("x", TMP, True), ("y", T, True), ("z", P), auto_shutdown=AutoShutdown.ALL_SIGNIFICANT
    )
    assert core.exited("x", BOOM, 1.0).action is PlanAction.NONE
    assert core.exited("y", None, 2.0).action is PlanAction.SHUT_DOWN


def test_an_insignificant_child_never_shuts_down() -> None:
    core = policy(("x", TMP), auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)
    assert core.exited("x", None, 1.0).action is PlanAction.NONE


def test_significant_under_never_or_permanent_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="auto_shutdown"):
        policy(("x", T, True))
    with pytest.raises(ConfigError, match="permanent"):
        policy(("x", P, True), auto_shutdown=AutoShutdown.ANY_SIGNIFICANT)


# -- stopping, the table, the state machine ----------------------------------------------


def test_stop_all_lists_running_children_in_reverse_order_and_drops_pending_restarts() -> None:
    core = policy(("a", P), ("b", P), ("c", P), ("d", T))
    core.exited("b", BOOM, 1.0)  # backing off
    core.exited("d", None, 1.0)  # stopped
    assert core.stop_all() == ("c", "a")
    assert core.state("b") is ChildState.STOPPED
    assert core.next_due() == float("inf")


def test_a_stopped_child_records_whether_it_overran_its_budget() -> None:
    core = policy(("a", P))
    core.stopping("a")
    core.stopped("a", 1.0, overran=True)
    assert core.children_status()[0].shutdown_overran


def test_next_due_and_due_follow_the_backoff() -> None:
    core = policy(("a", P), ("b", P), backoff=Backoff(base=2.0, cap=2.0))
    core.exited("b", BOOM, 1.0)
    assert core.next_due() == 3.0
    assert core.due(2.9) is None
    assert core.due(3.0) == "b"
    assert core.children_status()[1].backoff_until == 3.0


def test_dynamic_children_are_appended_and_ids_are_unique() -> None:
    core = policy(("a", P))
    core.add("b", T)
    assert core.ids() == ("a", "b")
    with pytest.raises(ValueError, match="already present"):
        core.add("a", P)


def test_only_a_stopped_child_can_be_removed() -> None:
    core = policy(("a", P))
    with pytest.raises(ValueError, match="running"):
        core.remove("a")
    core.stopping("a")
    core.stopped("a", 1.0)
    core.remove("a")
    assert len(core) == 0
    with pytest.raises(LookupError):
        core.state("a")


def test_a_failed_first_start_marks_the_child_failed() -> None:
    core = policy()
    core.add("a", P)
    core.starting("a")
    core.start_failed("a", BOOM, 0.0, fatal=True)
    assert core.state("a") is ChildState.FAILED
    assert core.children_status()[0].last_failure is not None


def test_a_failed_dynamic_start_of_a_temporary_child_forgets_it() -> None:
    core = policy()
    core.add("a", TMP)
    core.starting("a")
    core.start_failed("a", BOOM, 0.0, fatal=False)
    assert "a" not in core


def test_restarts_count_the_starts_after_the_first() -> None:
    core = policy(("a", P))
    core.exited("a", BOOM, 1.0)
    core.starting("a")
    assert core.restarts("a") == 1


def test_a_move_outside_the_table_is_a_bug() -> None:
    core = policy(("a", P))
    with pytest.raises(InvalidTransition, match="ready is not allowed while running"):
        core.started("a", 1.0)


def test_every_state_can_be_reached_and_left() -> None:
    sources = {state for state, _ in CHILD_TRANSITIONS}
    targets = set(CHILD_TRANSITIONS.values())
    assert sources == targets == set(ChildState)
    assert all(isinstance(move, Move) for _, move in CHILD_TRANSITIONS)
