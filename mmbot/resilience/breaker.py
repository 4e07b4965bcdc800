"""``CircuitBreaker``: the trio shell around the breaker core (``breaker_core.py``).

What it is for: ``await breaker.call(fn, *args)`` asks the core for a permit at
``trio.current_time()``, runs the call under the per-call timeout, classifies how it ended
(``outcomes.classify``) and hands the permit back; listeners hear every state change, and
``wait_until_closed_or_half_open()`` lets a quoter sleep through an outage.

What it must never do: swallow or convert ``trio.Cancelled`` (outer cancellation releases the
permit and records nothing), touch ``KeyboardInterrupt``/``SystemExit``, read the wall clock,
or draw jitter from the module-level RNG.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple

import trio

from mmbot.clock import derive_rng
from mmbot.errors import CircuitOpen
from mmbot.resilience.breaker_config import BreakerConfig
from mmbot.resilience.breaker_core import (
    BreakerCore,
    BreakerState,
    BreakerStatistics,
    BreakerTransition,
    Permit,
)
from mmbot.resilience.outcomes import CallOutcome, classify, contains, is_cancellation

if TYPE_CHECKING:
    import random

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: A transition listener; called synchronously, in order, and must not raise.
BreakerListener = Callable[[BreakerTransition], None]

CANCEL_TYPES: tuple[type[BaseException], ...] = (trio.Cancelled,)


class CircuitBreaker:
    """A circuit breaker for one (venue, endpoint class), driven by trio's clock.

    ``rng`` draws the open-duration jitter; by default it is derived from ``seed`` and the
    breaker's name, so two runs with the same seed open for the same durations.
    """

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        rng: random.Random | None = None,
        seed: int = 0,
        listeners: Iterable[BreakerListener] = (),
    ) -> None:
        self.name = name
        self.config = config if config is not None else BreakerConfig()
        self._core = BreakerCore(name, self.config, rng or derive_rng(seed, f"breaker:{name}"))
        self._listeners: list[BreakerListener] = list(listeners)
        self._changed = trio.Event()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._core.state.value}>"

    # -- queries -----------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state now (advances time-driven transitions; needs a running trio)."""
        state = self._core.state_at(trio.current_time())
        self._flush()
        return state

    def refuses_calls(self) -> bool:
        """Whether a call now would be refused unsent: OPEN, FORCED_OPEN, or HALF_OPEN with
        every probe slot taken (advances time-driven transitions; needs a running trio)."""
        wait = self._core.retry_after(trio.current_time())
        self._flush()
        return wait > 0.0

    def statistics(self) -> BreakerStatistics:
        stats = self._core.statistics(trio.current_time())
        self._flush()
        return stats

    # -- the call ----------------------------------------------------------------------

    async def call(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """Run ``await fn(*args)`` through the breaker.

        Raises :class:`~mmbot.errors.CircuitOpen` (with ``retry_after``) when refused, and
        ``trio.TooSlowError`` when the call exceeds ``config.call_timeout`` (a failure and a
        slow call). A ``trio.TooSlowError`` raised by the call itself (its own per-attempt
        deadline, the layering DESIGN.md §4.7 draws) counts the same way. Every other
        exception propagates unchanged.
        """
        core = self._core
        now = trio.current_time()
        permit = core.acquire(now)
        if core.has_transitions:
            self._flush()
        if permit is None:
            # a refusal is a checkpoint, so a caller looping on CircuitOpen cannot starve trio
            await trio.lowlevel.checkpoint()
            raise CircuitOpen(self.name, core.retry_after(now))
        timeout = self.config.call_timeout
        scope: trio.CancelScope | None = None
        try:
            if timeout is None:
                result = await fn(*args)
            else:
                scope = trio.CancelScope(deadline=now + timeout)
                with scope:
                    result = await fn(*args)
        except BaseException as exc:
            if is_cancellation(exc, CANCEL_TYPES):
                # a Cancelled that leaves our scope belongs to an outer one (ours would have
                # caught its own): outer cancellation, even when our deadline fired with it
                self._record(permit, CallOutcome.CANCELLED)
            elif (scope is not None and scope.cancel_called) or contains(exc, (trio.TooSlowError,)):
                # our own deadline fired and the callee turned it into an error, or the
                # call's own per-attempt deadline fired inside it (trio.fail_after)
                self._record(permit, CallOutcome.TIMEOUT)
            else:
                self._record(permit, classify(exc, self.config, CANCEL_TYPES))
            raise
        if scope is not None and scope.cancelled_caught:
            # our scope caught its own deadline; an outer cancellation pending now wins
            try:
                await trio.lowlevel.checkpoint_if_cancelled()
            except BaseException:
                self._record(permit, CallOutcome.CANCELLED)
                raise
            self._record(permit, CallOutcome.TIMEOUT)
            raise trio.TooSlowError(f"{self.name}: call took longer than {timeout}s")
        self._record(permit, CallOutcome.SUCCESS)
        return result

    def _record(self, permit: Permit, outcome: CallOutcome) -> None:
        self._core.record(permit, outcome, trio.current_time())
        if self._core.has_transitions:
            self._flush()
        elif permit.probe:
            self._wake()  # a probe slot may have come back without a state change

    # -- waiting -----------------------------------------------------------------------

    async def wait_until_closed_or_half_open(self) -> None:
        """Block until the breaker could admit a call (CLOSED, HALF_OPEN, DISABLED, ...).

        Returns at once (after a checkpoint) if it already could. While OPEN, FORCED_OPEN,
        or HALF_OPEN with every probe slot taken, it sleeps until the state changes, a probe
        slot comes back, or ``retry_after`` has passed, then looks again. A call may still
        be refused (another task took the slot first): callers loop on ``CircuitOpen``::

            while True:
                await breaker.wait_until_closed_or_half_open()
                try:
                    return await breaker.call(fn)
                except CircuitOpen:
                    continue
        """
        while True:
            now = trio.current_time()
            wait = self._core.retry_after(now)
            self._flush()
            if wait <= 0.0:
                await trio.lowlevel.checkpoint()
                return
            with trio.move_on_at(now + wait if not math.isinf(wait) else math.inf):
                await self._changed.wait()

    # -- commands ----------------------------------------------------------------------

    def open_until(self, until: float) -> None:
        """Refuse calls until trio time ``until`` (an exchange's Retry-After or maintenance)."""
        self._core.open_until(until, trio.current_time())
        self._flush()

    def open_for(self, seconds: float) -> None:
        self.open_until(trio.current_time() + seconds)

    def cut_backoff(self) -> None:
        """The venue answered another endpoint class normally: cut a grown OPEN back to its
        base time (``BreakerCore.cut_backoff``); waiters look again."""
        cut = self._core.cut_backoff(trio.current_time())
        self._flush()  # a time-driven transition it found on the way is told too
        if cut:
            self._wake()

    def force_open(self) -> None:
        self._core.force_open(trio.current_time())
        self._flush()

    def disable(self) -> None:
        self._core.disable(trio.current_time())
        self._flush()

    def metrics_only(self) -> None:
        self._core.metrics_only(trio.current_time())
        self._flush()

    def reset(self) -> None:
        self._core.reset(trio.current_time())
        self._flush()

    # -- listeners ---------------------------------------------------------------------

    def add_listener(self, listener: BreakerListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: BreakerListener) -> None:
        self._listeners.remove(listener)

    def _flush(self) -> None:
        transitions = self._core.take_transitions()
        if not transitions:
            return
        for transition in transitions:
            for listener in self._listeners:
                listener(transition)
        self._wake()

    def _wake(self) -> None:
        """Wake every ``wait_until_closed_or_half_open`` to look again."""
        changed, self._changed = self._changed, trio.Event()
        changed.set()
