"""QuotePipeline: stage order, per-stage timings with an injected timer, short-circuit on pull,
and how each stage's output is written into the decision."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from mmbot.model import QuoteSet
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import (
    Decision,
    EwmaState,
    FairValue,
    HalfSpread,
    Pull,
    QuoteInputs,
    QuotePipeline,
    Reservation,
    RiskFlags,
    StageOutput,
    StageTimings,
    StrategyState,
    apply_output,
    pull_code,
)
from mmbot.quoting.strategy import build_pipeline
from mmbot.testing import sample_inputs


def make_inputs(**changes: object) -> QuoteInputs:
    return sample_inputs(StrategyConfig(), **changes)


def fake_timer(step_ns: int = 1_000) -> Callable[[], int]:
    """A counter that advances ``step_ns`` per call (so each stage "takes" step_ns)."""
    now = [0]

    def timer() -> int:
        now[0] += step_ns
        return now[0]

    return timer


def recording(name: str, log: list[str]) -> Callable[[QuoteInputs, Decision], None]:
    def stage(inputs: QuoteInputs, so_far: Decision) -> None:
        log.append(name)
        return None

    stage.__name__ = name
    return stage


def test_stages_run_in_order_and_each_is_timed_with_the_injected_timer() -> None:
    log: list[str] = []
    pipeline = QuotePipeline([recording(n, log) for n in ("a", "b", "c")])
    _, timings = pipeline.run(make_inputs(), fake_timer(250))
    assert log == ["a", "b", "c"]
    assert timings == StageTimings(("a", "b", "c"), (250, 250, 250))
    assert timings.total_ns == 750
    assert timings.seconds() == {"a": 250e-9, "b": 250e-9, "c": 250e-9}


def test_timings_measure_each_stage_between_consecutive_timer_reads() -> None:
    reads = iter([100, 130, 1_130, 1_140])
    pipeline = QuotePipeline([recording(n, []) for n in ("x", "y", "z")])
    _, timings = pipeline.run(make_inputs(), lambda: next(reads))
    assert dict(timings.items()) == {"x": 30, "y": 1_000, "z": 10}


def test_a_pull_stops_the_pipeline_and_the_reason_reaches_the_quote_set() -> None:
    log: list[str] = []

    def halt(inputs: QuoteInputs, so_far: Decision) -> Pull:
        return Pull("halted: maintenance")

    pipeline = QuotePipeline(
        [recording("first", log), halt, recording("after", log)],
        names=["first", "halt", "after"],
    )
    result, timings = pipeline.run(make_inputs(), fake_timer())
    assert log == ["first"]
    assert timings.names == ("first", "halt")
    assert result.pulled == "halted: maintenance"
    assert result.quotes == QuoteSet("BTCUSDT", reason="halted: maintenance")
    assert result.quotes.is_empty
    assert pull_code(result.quotes.reason or "") == "halted"


def test_the_built_in_guard_short_circuits_the_default_pipeline() -> None:
    pipeline = build_pipeline(StrategyConfig())
    inputs = make_inputs(risk=RiskFlags(kill_switch=True))
    result, timings = pipeline.run(inputs, fake_timer())
    assert timings.names == ("guards",)
    assert result.quotes is not None and result.quotes.is_empty
    assert pull_code(result.quotes.reason or "") == "kill_switch"


def test_the_default_pipeline_times_every_stage_when_it_quotes() -> None:
    pipeline = build_pipeline(StrategyConfig())
    result, timings = pipeline.run(make_inputs(), fake_timer())
    assert timings.names == StrategyConfig().stages
    assert result.pulled is None
    assert result.quotes is not None and result.quotes.bids and result.quotes.asks


def test_a_stage_that_returns_something_else_is_named_in_the_error() -> None:
    def broken(inputs: QuoteInputs, so_far: Decision) -> StageOutput:
        return 1.5  # type: ignore[return-value]

    pipeline = QuotePipeline([broken])
    with pytest.raises(TypeError, match="'broken'"):
        pipeline.run(make_inputs(), fake_timer())


def test_stage_names_must_be_unique_and_match_the_stages() -> None:
    stage = recording("a", [])
    with pytest.raises(ValueError, match="unique"):
        QuotePipeline([stage, stage])
    with pytest.raises(ValueError, match="one name per stage"):
        QuotePipeline([stage], names=["a", "b"])


def test_each_output_sets_the_decision_fields_of_its_names() -> None:
    decision = Decision()
    apply_output(decision, FairValue(101.5), "BTCUSDT")
    apply_output(decision, HalfSpread(12.0), "BTCUSDT")
    apply_output(decision, Reservation(101.25), "BTCUSDT")  # no fair value: it stands
    changes = {"fair_value": 101.5, "half_spread_bps": 12.0, "reservation": 101.25}
    assert decision == attrs.evolve(Decision(), **changes)
    apply_output(decision, Reservation(99.0, fair_value=100.0), "BTCUSDT")
    assert (decision.fair_value, decision.reservation) == (100.0, 99.0)


def test_an_output_without_a_state_leaves_the_state_as_it_was() -> None:
    state = StrategyState(fair_value=EwmaState(1.0, 5.0))
    decision = Decision(state)
    apply_output(decision, FairValue(1.0), "BTCUSDT")
    assert decision.state == state
    moved = StrategyState(fair_value=EwmaState(2.0, 6.0))
    apply_output(decision, FairValue(2.0, moved), "BTCUSDT")
    assert decision.state == moved


def test_a_pull_empties_the_drafts_and_says_why_in_the_quotes() -> None:
    decision = Decision(fair_value=1.0)
    assert apply_output(decision, Pull("book_stale: old"), "BTCUSDT")
    assert decision.pulled == "book_stale: old" and decision.fair_value == 1.0
    assert decision.quotes == QuoteSet("BTCUSDT", reason="book_stale: old")
    assert decision.drafts == ()


def test_apply_output_refuses_what_is_not_a_stage_output() -> None:
    with pytest.raises(TypeError, match="not a stage output"):
        apply_output(Decision(), 1.0, "BTCUSDT")  # type: ignore[arg-type]


def test_a_pipeline_without_a_quoting_stage_decides_no_quotes() -> None:
    result, _ = QuotePipeline([recording("a", [])]).run(make_inputs(), fake_timer())
    assert result.quotes == QuoteSet("BTCUSDT") and result.pulled is None


def test_the_run_starts_from_the_state_it_is_given_and_returns_the_next() -> None:
    pipeline = build_pipeline(StrategyConfig())
    first, _ = pipeline.run(make_inputs(), fake_timer())
    second, _ = pipeline.run(make_inputs(now=11.0), fake_timer(), first.state)
    assert first.state.mid_variance is not None
    assert second.state.mid_variance is not None
    assert second.state.mid_variance.last_time == 11.0


def test_the_inputs_are_frozen() -> None:
    inputs = make_inputs()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        inputs.now = 1.0  # type: ignore[misc]
