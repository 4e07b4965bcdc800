"""LoopHistogram: the same exposition as prometheus-client's Histogram, without its locks."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from mmbot.bot.histograms import LoopHistogram

BUCKETS = (1e-6, 5e-5, 1e-3, 0.25, 1.0)


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text format's lines, the ``_created`` values (wall-clock times) blanked."""
    lines = generate_latest(registry).decode().splitlines()
    created = re.compile(r"^\w+_created[{ ]")
    return [line.rsplit(" ", 1)[0] if created.match(line) else line for line in lines]


amounts = st.lists(
    st.tuples(
        st.sampled_from(["BTCUSDT", "ETHUSDT"]),
        st.one_of(
            st.sampled_from(BUCKETS),  # exactly on a bound: counted in that bucket (le)
            st.floats(min_value=0, max_value=5, allow_nan=False),
        ),
    ),
    max_size=60,
)


@given(amounts)
def test_the_exposition_is_prometheus_clients(observations: list[tuple[str, float]]) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("x_seconds", "Doc.", ["symbol"], buckets=BUCKETS, registry=theirs)
    loop = LoopHistogram("x_seconds", "Doc.", ["symbol"], buckets=BUCKETS, registry=ours)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        reference.labels(symbol)
        loop.labels(symbol)
    for symbol, amount in observations:
        reference.labels(symbol).observe(amount)
        loop.labels(symbol).observe(amount)
    assert exposition(ours) == exposition(theirs)


def test_counts_are_cumulative_and_the_sum_exact() -> None:
    registry = CollectorRegistry()
    h = LoopHistogram("t_seconds", "Doc.", ["stage"], buckets=(0.1, 1.0), registry=registry)
    child = h.labels("rounding")
    for amount in (0.05, 0.1, 0.5, 2.0):
        child.observe(amount)

    def value(suffix: str, **labels: str) -> float | None:
        return registry.get_sample_value(f"t_seconds{suffix}", {"stage": "rounding", **labels})

    assert value("_bucket", le="0.1") == 2  # 0.1 itself is in the le="0.1" bucket
    assert value("_bucket", le="1.0") == 3
    assert value("_bucket", le="+Inf") == 4
    assert value("_count") == 4
    assert value("_sum") is not None and math.isclose(value("_sum") or 0, 2.65)


def test_wrong_label_count_and_bad_buckets_are_refused() -> None:
    h = LoopHistogram("a_seconds", "Doc.", ["symbol"], buckets=(1.0,), registry=CollectorRegistry())
    with pytest.raises(ValueError, match="expected labels"):
        h.labels("BTCUSDT", "extra")
    with pytest.raises(ValueError, match="distinct"):
        LoopHistogram("b_seconds", "Doc.", [], buckets=(1.0, 1.0), registry=CollectorRegistry())


def test_a_nan_joins_the_sum_and_no_bucket_as_in_prometheus_client() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("n_seconds", "Doc.", [], buckets=BUCKETS, registry=theirs)
    loop = LoopHistogram("n_seconds", "Doc.", [], buckets=BUCKETS, registry=ours)
    for amount in (0.5, math.nan):
        reference.observe(amount)
        loop.labels().observe(amount)
    assert exposition(ours) == exposition(theirs)
