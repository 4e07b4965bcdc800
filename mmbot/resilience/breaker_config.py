"""The breaker's knobs and its sliding window: what is counted, and for how long (sans-IO).

What it is for: :class:`BreakerConfig` (every knob, validated; docs/resilience.md gives each
default and its reason) and :class:`SlidingWindow`, the count- or time-based window of
call outcomes that ``breaker.BreakerCore`` judges. The state machine itself lives in
``breaker.py``.

What it must never do: import trio, time or random, or read a clock (``now`` is passed in).
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Any

import attrs
from attrs import validators as v

from mmbot.errors import VenueRejected, VenueUnavailable


class WindowType(enum.Enum):
    COUNT = "count"  # the last window_size calls
    TIME = "time"  # the calls of the last window_duration seconds


ExcTypes = tuple[type[BaseException], ...]
_rate = v.and_(v.gt(0.0), v.le(1.0))


def _positive_or_none(
    _instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 or None, not {value!r}")


@attrs.frozen
class BreakerConfig:
    """Every knob of a breaker; docs/resilience.md gives each default and its reason."""

    window_type: WindowType = WindowType.COUNT
    window_size: int = attrs.field(default=20, validator=v.gt(0))
    window_duration: float = attrs.field(default=60.0, validator=v.gt(0.0))
    minimum_calls: int = attrs.field(default=10, validator=v.gt(0))
    failure_rate_threshold: float = attrs.field(default=0.5, validator=_rate)
    slow_call_rate_threshold: float = attrs.field(default=0.8, validator=_rate)
    slow_call_duration: float = attrs.field(default=2.0, validator=v.gt(0.0))
    call_timeout: float | None = attrs.field(default=None, validator=_positive_or_none)
    hard_failures: ExcTypes = (VenueUnavailable,)
    consecutive_hard_failures: int = attrs.field(default=3, validator=v.gt(0))
    record_exceptions: ExcTypes = (Exception,)
    ignore_exceptions: ExcTypes = (VenueRejected,)
    open_base: float = attrs.field(default=5.0, validator=v.gt(0.0))
    open_multiplier: float = attrs.field(default=2.0, validator=v.ge(1.0))
    open_max: float = attrs.field(default=300.0, validator=v.gt(0.0))
    open_jitter: float = attrs.field(default=0.2, validator=v.ge(0.0))
    half_open_probes: int = attrs.field(default=3, validator=v.gt(0))
    half_open_max_wait: float = attrs.field(default=30.0, validator=v.gt(0.0))


class SlidingWindow:
    """The sliding window of counted outcomes: (at, failed, slow) records."""

    def __init__(self, config: BreakerConfig) -> None:
        self._by_count = config.window_type is WindowType.COUNT
        self._size = config.window_size
        self._duration = config.window_duration
        self.records: deque[tuple[float, bool, bool]] = deque()
        # Invariant: failures/slow count the failed/slow records in ``records``.
        self.failures = 0
        self.slow = 0

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Add a record finished at ``at`` (the latest time seen) and evict what fell out."""
        records = self.records
        records.append((at, failed, slow))
        if failed:
            self.failures += 1
        if slow:
            self.slow += 1
        if self._by_count:
            if len(records) > self._size:
                self._drop()
        else:
            self.evict(at)

    def evict(self, now: float) -> None:
        if not self._by_count:
            horizon = now - self._duration
            while self.records and self.records[0][0] <= horizon:
                self._drop()

    def _drop(self) -> None:
        _, failed, slow = self.records.popleft()
        self.failures -= failed
        self.slow -= slow

    def clear(self) -> None:
        self.records.clear()
        self.failures = self.slow = 0
