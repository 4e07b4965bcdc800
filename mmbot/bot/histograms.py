"""Prometheus histograms for one trio thread: an observation is a bisect and two additions.

What it is for: the bot's hot histograms (stage times, tick-to-order, quote cycles, request
times) are observed several times per decision and per order request. prometheus-client's
``Histogram`` is built for threads: each observation checks the metric is observable, takes
a lock for the sum and another for the bucket, found by a linear scan (about 3-4 µs a
time, a fifth of a quote decision with its seven stages). The bot runs in one trio thread,
and ``/metrics`` is served from that same thread (hypercorn's trio worker), so no
observation can race a scrape: :class:`LoopHistogram` keeps plain per-bucket counts and a
float sum per child and builds the cumulative ``_bucket``/``_count``/``_sum`` samples only
when the registry is collected. The exposition is the same as prometheus-client's
``Histogram``: the same names, labels, ``le`` values and cumulative counts, and the same
``_created`` series (the wall-clock time a label set was first used, as prometheus-client
reads it; metrics are not part of a simulated run's trace).

What it must never do: be observed from another thread (it takes no lock: a second thread
would lose counts); register itself anywhere but the registry it is given.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

#: How prometheus-client writes a bucket's ``le`` (so the exposition is its own).
_le_text: Callable[[float], str] = floatToGoString


class HistogramChild:
    """One label set's counts: ``observe`` is the hot path."""

    __slots__ = ("_bounds", "counts", "created", "sum")

    def __init__(self, bounds: Sequence[float], created: float) -> None:
        self._bounds = bounds
        self.created = created
        #: Per bucket, not cumulative; the last one is ``+Inf``.
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        """Count ``amount`` in the first bucket whose upper bound is at least it (a NaN in
        none, as prometheus-client does; it still joins the sum)."""
        self.sum += amount
        if amount == amount:  # not NaN
            self.counts[bisect_left(self._bounds, amount)] += 1


class LoopHistogram:
    """A labelled histogram collected by ``registry`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        bounds = sorted(float(b) for b in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct and at least one")
        if bounds[-1] == float("inf"):
            bounds.pop()
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._bounds = tuple(bounds)
        self._les = [_le_text(b) for b in bounds] + ["+Inf"]
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        # prometheus-client's switch for the ``_created`` series, read as it reads it
        flag = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False")
        self._created = flag.lower() not in ("true", "1", "t")
        registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        """The child for these label values (created at zero on first use)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = HistogramChild(self._bounds, time.time())
        return child

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, child in self._children.items():
            running = 0
            buckets: list[tuple[str, float]] = []
            for le, count in zip(self._les, child.counts, strict=True):
                running += count
                buckets.append((le, float(running)))
            family.add_metric(list(key), buckets, child.sum)
            if self._created:
                labels = dict(zip(self.labelnames, key, strict=True))
                family.add_sample(f"{self.name}_created", labels, child.created)
        return [family]

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]
