"""QuotePipeline: stage order, per-stage timings with an injected timer, short-circuit on pull."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from mmbot.model import QuoteSet
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import (
    QuoteContext,
    QuotePipeline,
    RiskFlags,
    StageTimings,
    evolve,
    pull_code,
)
from mmbot.quoting.strategy import build_pipeline
from mmbot.testing import sample_book, sample_instrument


def make_ctx(**changes: object) -> QuoteContext:
    ctx = QuoteContext(
        symbol="BTCUSDT",
        instrument=sample_instrument(),
        now=10.0,
        book=sample_book(6_500_000, received_at=9.9),
        params=StrategyConfig(),
    )
    return evolve(ctx, **changes)


def fake_timer(step_ns: int = 1_000) -> Callable[[], int]:
    """A counter that advances ``step_ns`` per call (so each stage "takes" step_ns)."""
    now = [0]

    def timer() -> int:
        now[0] += step_ns
        return now[0]

    return timer


def recording(name: str, log: list[str]) -> Callable[[QuoteContext], QuoteContext]:
    def stage(ctx: QuoteContext) -> QuoteContext:
        log.append(name)
        return ctx

    stage.__name__ = name
    return stage


def test_stages_run_in_order_and_each_is_timed_with_the_injected_timer() -> None:
    log: list[str] = []
    pipeline = QuotePipeline([recording(n, log) for n in ("a", "b", "c")])
    _, timings = pipeline.run(make_ctx(), fake_timer(250))
    assert log == ["a", "b", "c"]
    assert timings == StageTimings(("a", "b", "c"), (250, 250, 250))
    assert timings.total_ns == 750
    assert timings.seconds() == {"a": 250e-9, "b": 250e-9, "c": 250e-9}


def test_timings_measure_each_stage_between_consecutive_timer_reads() -> None:
    reads = iter([100, 130, 1_130, 1_140])
    pipeline = QuotePipeline([recording(n, []) for n in ("x", "y", "z")])
    _, timings = pipeline.run(make_ctx(), lambda: next(reads))
    assert dict(timings.items()) == {"x": 30, "y": 1_000, "z": 10}


def test_a_pull_stops_the_pipeline_and_the_reason_reaches_the_quote_set() -> None:
    log: list[str] = []

    def halt(ctx: QuoteContext) -> QuoteContext:
        return ctx.pull("halted: maintenance")

    pipeline = QuotePipeline(
        [recording("first", log), halt, recording("after", log)],
        names=["first", "halt", "after"],
    )
    result, timings = pipeline.run(make_ctx(), fake_timer())
    assert log == ["first"]
    assert timings.names == ("first", "halt")
    assert result.pulled == "halted: maintenance"
    assert result.quotes == QuoteSet("BTCUSDT", reason="halted: maintenance")
    assert result.decision.is_empty
    assert pull_code(result.decision.reason or "") == "halted"


def test_the_built_in_guard_short_circuits_the_default_pipeline() -> None:
    pipeline = build_pipeline(StrategyConfig())
    ctx = make_ctx(risk=RiskFlags(kill_switch=True))
    result, timings = pipeline.run(ctx, fake_timer())
    assert timings.names == ("guards",)
    assert result.quotes is not None and result.quotes.is_empty
    assert pull_code(result.quotes.reason or "") == "kill_switch"


def test_the_default_pipeline_times_every_stage_when_it_quotes() -> None:
    pipeline = build_pipeline(StrategyConfig())
    result, timings = pipeline.run(make_ctx(), fake_timer())
    assert timings.names == StrategyConfig().stages
    assert result.pulled is None
    assert result.quotes is not None and result.quotes.bids and result.quotes.asks


def test_a_stage_that_returns_something_else_is_named_in_the_error() -> None:
    def broken(ctx: QuoteContext) -> QuoteContext:
        return None  # type: ignore[return-value]

    pipeline = QuotePipeline([broken])
    with pytest.raises(TypeError, match="'broken'"):
        pipeline.run(make_ctx(), fake_timer())


def test_stage_names_must_be_unique_and_match_the_stages() -> None:
    stage = recording("a", [])
    with pytest.raises(ValueError, match="unique"):
        QuotePipeline([stage, stage])
    with pytest.raises(ValueError, match="one name per stage"):
        QuotePipeline([stage], names=["a", "b"])


def test_evolve_gives_the_same_value_as_attrs_evolve() -> None:
    ctx = make_ctx()
    changes: dict[str, Any] = {"fair_value": 1.5, "position": Decimal("0.3"), "pulled": None}
    fast = evolve(ctx, **changes)
    assert fast == attrs.evolve(ctx, **changes)
    assert fast is not ctx and ctx.fair_value is None  # the original is untouched


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="no field"):
        evolve(make_ctx(), fair_valu=1.0)


def test_the_context_is_frozen() -> None:
    ctx = make_ctx()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ctx.fair_value = 1.0  # type: ignore[misc]
