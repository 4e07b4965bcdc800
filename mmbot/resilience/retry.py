"""Retry policies on tenacity, made trio-native and deterministic (DESIGN.md §4.8).

What it is for: ``await policy.call(fn, *args)`` retries an idempotent call on transient
errors (matched inside exception groups too) with full-jitter exponential waits drawn from
an injected RNG, stops on the trio clock (attempts and deadline), honours ``Retry-After``
hints and spends a shared :class:`~mmbot.resilience.retry_core.RetryBudget`.
``await policy.call_non_idempotent(fn, *args)`` is the rule for order placement: it only
resends what is known not to have happened, and turns anything else transient into
``VenueUnknown`` for the order tracker to resolve (DESIGN.md §4.2).

What it must never do: retry, count or swallow ``trio.Cancelled`` (whatever predicate a user
configures), touch ``KeyboardInterrupt``/``SystemExit``, use tenacity's wall-clock stops or
waits, or draw from the module-level RNG. Every call gets its own ``AsyncRetrying`` and its
own attempt state, so tasks sharing a policy share only the budget and the RNG.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple

import attrs
import trio
from attrs import validators as v
from tenacity import AsyncRetrying, IterState, RetryCallState

from mmbot.clock import derive_rng
from mmbot.errors import (
    CircuitOpen,
    RateLimited,
    RetryBudgetExhausted,
    VenueUnavailable,
    VenueUnknown,
)
from mmbot.model import Outcome
from mmbot.resilience.backoff import full_jitter
from mmbot.resilience.outcomes import (
    all_match,
    contains,
    is_cancellation,
    outcome_of,
    retry_after_hint,
)
from mmbot.resilience.retry_core import RetryBudget

if TYPE_CHECKING:
    import random

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
ExcTypes = tuple[type[BaseException], ...]

CANCEL_TYPES: ExcTypes = (trio.Cancelled,)
#: Errors worth retrying for an idempotent call (reads, cancels, queries).
DEFAULT_TRANSIENT: ExcTypes = (
    VenueUnknown,
    VenueUnavailable,
    RateLimited,
    CircuitOpen,
    trio.TooSlowError,
)
#: Errors known not to have taken effect: the only ones a non-idempotent call may resend.
SAFE_TO_RESEND: ExcTypes = (VenueUnavailable, RateLimited, CircuitOpen)


def _positive_or_none(
    _instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 or None, not {value!r}")


@attrs.frozen
class RetryConfig:
    """Every knob of a retry policy; docs/resilience.md gives each default and its reason."""

    max_attempts: int = attrs.field(default=4, validator=v.ge(1))
    deadline: float | None = attrs.field(default=10.0, validator=_positive_or_none)
    base_delay: float = attrs.field(default=0.1, validator=v.gt(0))
    multiplier: float = attrs.field(default=2.0, validator=v.ge(1.0))
    max_delay: float = attrs.field(default=5.0, validator=v.gt(0))
    transient: ExcTypes = DEFAULT_TRANSIENT
    safe_to_resend: ExcTypes = SAFE_TO_RESEND
    honour_retry_after: bool = True


class GiveUp(enum.Enum):
    ATTEMPTS = "attempts"
    DEADLINE = "deadline"  # the policy's deadline or the caller's cancel-scope deadline
    BUDGET = "budget"


@attrs.frozen
class RetryEvent:
    """One retry about to happen (metrics: ``mmbot_retries_total{endpoint}``)."""

    policy: str
    attempt: int  # the attempt that failed, from 1
    delay: float
    error: BaseException
    at: float


RetryListener = Callable[[RetryEvent], None]
Predicate = Callable[[BaseException], bool]


def _is_coroutine_function(fn: object) -> bool:
    code = getattr(fn, "__code__", None)  # functions, lambdas and bound methods have one
    return code is not None and bool(code.co_flags & inspect.CO_COROUTINE)


class _Awaited:
    """Marks an async action in the action list, so the loop awaits only those."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[RetryCallState], Awaitable[Any]]) -> None:
        self.fn = fn

    def __call__(self, state: RetryCallState) -> Awaitable[Any]:
        return self.fn(state)


class _TrioRetrying(AsyncRetrying):
    """``AsyncRetrying`` without tenacity's per-action ``inspect`` calls and thread-locals.

    tenacity wraps every action of every iteration in a coroutine after asking
    ``inspect.iscoroutinefunction``, which costs more than the rest of a first-time success
    put together. Here sync actions (tenacity's own functions, lambdas and bound methods)
    are called directly and only async ones are awaited, which is the same loop as
    ``AsyncRetrying.iter``. One instance serves one call in one task, so plain attributes
    replace tenacity's thread-locals.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mmbot_statistics: dict[str, Any] = {}
        self._mmbot_iter_state = IterState()

    @property
    def statistics(self) -> dict[str, Any]:
        return self._mmbot_statistics

    @property
    def iter_state(self) -> IterState:
        return self._mmbot_iter_state

    def _add_action_func(self, fn: Callable[..., Any]) -> None:
        actions = self._mmbot_iter_state.actions
        code = getattr(fn, "__code__", None)  # functions, lambdas and bound methods
        if code is None:  # pragma: no cover - tenacity only adds plain functions and methods
            is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
                type(fn).__call__
            )
            actions.append(_Awaited(fn) if is_async else fn)
        elif code.co_flags & inspect.CO_COROUTINE:
            actions.append(_Awaited(fn))
        else:
            actions.append(fn)

    async def _run_retry(self, retry_state: RetryCallState) -> None:  # type: ignore[override]
        retry = self.retry
        if _is_coroutine_function(retry):  # ours always is: skip tenacity's inspect-wrapping
            self._mmbot_iter_state.retry_run_result = await retry(retry_state)  # type: ignore[misc]
        else:  # pragma: no cover
            await super()._run_retry(retry_state)

    async def iter(self, retry_state: RetryCallState) -> Any:
        self._begin_iter(retry_state)
        result = None
        for action in self._mmbot_iter_state.actions:  # actions may append more actions
            if type(action) is _Awaited:
                result = await action.fn(retry_state)
            else:
                result = action(retry_state)
        return result


class _Attempts:
    """The state of one ``call``: never shared between calls or tasks."""

    __slots__ = ("deadline_at", "gave_up", "policy", "predicate")

    def __init__(self, policy: RetryPolicy, predicate: Predicate, now: float) -> None:
        self.policy = policy
        self.predicate = predicate
        deadline = policy.config.deadline
        self.deadline_at = now + deadline if deadline is not None else None
        self.gave_up: GiveUp | None = None

    async def retry(self, state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        exc = outcome.exception()
        if exc is None or is_cancellation(exc, CANCEL_TYPES):
            return False  # checked before any predicate: Cancelled is never retried
        return self.predicate(exc)

    def wait(self, state: RetryCallState) -> float:
        policy = self.policy
        config = policy.config
        delay = full_jitter(
            state.attempt_number,
            base=config.base_delay,
            multiplier=config.multiplier,
            cap=config.max_delay,
            rng=policy.rng,
        )
        if config.honour_retry_after and state.outcome is not None:
            exc = state.outcome.exception()
            hint = retry_after_hint(exc) if exc is not None else None
            if hint is not None:
                delay = max(delay, hint)
        return delay

    def stop(self, state: RetryCallState) -> bool:
        policy = self.policy
        now = trio.current_time()
        delay = state.upcoming_sleep
        if state.attempt_number >= policy.config.max_attempts:
            self.gave_up = GiveUp.ATTEMPTS
        elif (
            self.deadline_at is not None and now + delay > self.deadline_at
        ) or now + delay >= trio.current_effective_deadline():
            self.gave_up = GiveUp.DEADLINE  # includes a Retry-After beyond the deadline
        elif policy.budget is not None and not policy.budget.try_spend(now):
            self.gave_up = GiveUp.BUDGET
        else:
            if policy.listeners:
                assert state.outcome is not None
                error = state.outcome.exception()
                assert error is not None
                event = RetryEvent(policy.name, state.attempt_number, delay, error, now)
                for listener in policy.listeners:
                    listener(event)
            return False
        return True


class RetryPolicy:
    """A retry policy built from a :class:`RetryConfig`; safe to share between tasks.

    ``retry_if`` replaces the transient whitelist for ``call`` (never for
    ``call_non_idempotent``); whatever it says, cancellation is never retried.
    """

    def __init__(
        self,
        name: str = "default",
        config: RetryConfig | None = None,
        *,
        budget: RetryBudget | None = None,
        rng: random.Random | None = None,
        seed: int = 0,
        retry_if: Predicate | None = None,
        listeners: Iterable[RetryListener] = (),
    ) -> None:
        self.name = name
        self.config = config if config is not None else RetryConfig()
        self.budget = budget
        self.rng = rng or derive_rng(seed, f"retry:{name}")
        self.listeners: list[RetryListener] = list(listeners)
        transient, safe = self.config.transient, self.config.safe_to_resend
        self._transient: Predicate = retry_if or (lambda exc: all_match(exc, transient))
        self._safe: Predicate = lambda exc: all_match(exc, safe)

    def __repr__(self) -> str:
        return f"<RetryPolicy {self.name!r}>"

    def add_listener(self, listener: RetryListener) -> None:
        self.listeners.append(listener)

    async def call(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """``await fn(*args)``, retried on transient errors (idempotent calls only).

        On giving up the last error is re-raised as it was; an empty budget raises
        ``RetryBudgetExhausted`` with the last error chained.
        """
        return await self._run(self._transient, fn, args)

    async def call_non_idempotent(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """The rule for order placement: no plain retry.

        Resends only errors known not to have happened (``config.safe_to_resend``). Any
        other transient error means the order may exist: it is raised as ``VenueUnknown``
        (cause chained) for the order tracker to resolve by client order id.
        """
        try:
            return await self._run(self._safe, fn, args)
        except Exception as exc:
            if (
                not isinstance(exc, VenueUnknown)
                and outcome_of(exc) is Outcome.UNKNOWN
                and contains(exc, self.config.transient)
            ):
                raise VenueUnknown(
                    f"{self.name}: outcome unknown after {type(exc).__name__}"
                ) from exc
            raise

    async def _run(
        self,
        predicate: Predicate,
        fn: Callable[[*Ts], Awaitable[T]],
        args: tuple[*Ts],
    ) -> T:
        attempts = _Attempts(self, predicate, trio.current_time())
        first: Exception | None = None
        try:
            # The first attempt runs bare: tenacity's machinery (a retrying object, its
            # call state, its callbacks) only for a call that failed once, which it then
            # takes over as if it had made that attempt itself.
            result: T = await fn(*args)
        except Exception as exc:
            first = exc
        if first is not None:
            result = await self._retry(attempts, first, fn, args)
        if self.budget is not None:
            self.budget.record_success(trio.current_time())
        return result

    async def _retry(
        self,
        attempts: _Attempts,
        first: Exception,
        fn: Callable[[*Ts], Awaitable[T]],
        args: tuple[*Ts],
    ) -> T:
        """Tenacity from the second attempt on; the first one's error is replayed to it."""
        replay: list[Exception] = [first]

        async def attempt(*call_args: *Ts) -> T:
            if replay:
                raise replay.pop()
            return await fn(*call_args)

        retrying = _TrioRetrying(
            sleep=trio.sleep,
            stop=attempts.stop,
            wait=attempts.wait,
            retry=attempts.retry,
            reraise=True,
        )
        try:
            result: T = await retrying(attempt, *args)
        except Exception as exc:
            if attempts.gave_up is GiveUp.BUDGET:
                raise RetryBudgetExhausted(
                    f"{self.name}: retry budget exhausted after {type(exc).__name__}"
                ) from exc
            raise
        return result
