"""The exception tree of mmbot, mapped once where exceptions enter (sans-IO).

What it is for: one place that names every error mmbot raises on purpose, so callers can
catch by meaning (``VenueUnknown``: the outcome is unknown) instead of by library
(``httpx.ReadTimeout``).

What it must never do: carry secrets. No exception message may contain an API key, a
secret or a signature.

::

    MmbotError
    ├── ConfigError                 bad configuration: names the field and the reason
    ├── VenueError                  a request to a venue did not succeed
    │   ├── VenueRejected           outcome FAILED: known not to have happened (code, msg)
    │   │   └── RateLimited         429/418 from the venue; carries retry_after (seconds)
    │   ├── VenueUnknown            outcome UNKNOWN: timeout, reset, 5xx, -1007 (code, http_status)
    │   └── VenueUnavailable        could not even send (connect refused, DNS): FAILED
    ├── CircuitOpen                 a breaker refused the call; carries retry_after (seconds)
    ├── RetryBudgetExhausted        the shared retry budget is empty; the last error is chained
    ├── SupervisorEscalation        a supervisor exceeded its restart intensity; carries the
    │                               failure history (child, exception, time per restart)
    ├── ChildStartError             a supervised child failed to start (or to be ready in time)
    └── ListenError                 a server of ours could not listen on its address (host, port)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmbot.supervision.policy import ChildFailure


class MmbotError(Exception):
    """Base of every error mmbot raises on purpose."""


class ConfigError(MmbotError):
    """A configuration problem; ``problems`` lists "path: reason" lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in self.problems))


class VenueError(MmbotError):
    """A request to a venue did not succeed."""


class VenueRejected(VenueError):
    """The venue refused the request: it is known not to have happened."""

    def __init__(self, code: int, msg: str, *, http_status: int | None = None) -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        super().__init__(f"venue rejected the request: {code} {msg}")


class RateLimited(VenueRejected):
    """The venue answered 429 or 418; wait ``retry_after`` seconds before asking again."""

    def __init__(
        self, code: int, msg: str, *, retry_after: float, http_status: int | None = None
    ) -> None:
        super().__init__(code, msg, http_status=http_status)
        self.retry_after = retry_after


class VenueUnknown(VenueError):
    """The request may or may not have taken effect (timeout, reset, 5xx, -1007).

    ``code`` and ``http_status`` are the venue's when it answered (a 5xx, a -1007); None
    when it did not (a timeout, a reset).
    """

    def __init__(
        self, reason: str = "", *, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.http_status = http_status


class VenueUnavailable(VenueError):
    """The request could not be sent at all (it did not take effect)."""


class CircuitOpen(MmbotError):
    """A circuit breaker refused the call; try again after ``retry_after`` seconds."""

    def __init__(self, breaker: str, retry_after: float) -> None:
        self.breaker = breaker
        self.retry_after = retry_after
        super().__init__(f"circuit {breaker!r} is open; retry after {retry_after:.3f}s")


class RetryBudgetExhausted(MmbotError):
    """The shared retry budget has no tokens left; the failed attempt's error is chained."""


class SupervisorEscalation(MmbotError):
    """A supervisor exceeded its restart intensity, stopped every child and gave up.

    ``supervisor`` is its path in the tree (``"root/feeds"``); ``history`` is its intensity
    window, oldest first: one ``ChildFailure`` (child id, exception or ``None`` for a
    permanent child's normal return, trio time) per restart in the period, the overflowing
    one last. The last failure's exception is chained as ``__cause__``.
    """

    def __init__(self, supervisor: str, history: Sequence[ChildFailure]) -> None:
        self.supervisor = supervisor
        self.history = tuple(history)
        lines = "; ".join(f"{f.child}: {f.reason} at t={f.at:g}" for f in self.history)
        super().__init__(
            f"supervisor {supervisor!r} exceeded its restart intensity with "
            f"{len(self.history)} exits in its period ({lines})"
        )

    def __repr__(self) -> str:
        # short, so the messages of escalations nested in each other's history stay readable
        return f"SupervisorEscalation({self.supervisor!r}, {len(self.history)} exits)"


class ChildStartError(MmbotError):
    """A supervised child failed to start; the reason is chained as ``__cause__``.

    Raised by ``Supervisor.run`` when a child of the first start fails (the children already
    started are stopped first), and by ``start_child`` / ``restart_child``. A start that
    takes longer than the child's ``start_timeout`` fails with ``trio.TooSlowError``.
    """

    def __init__(self, supervisor: str, child: str, reason: BaseException) -> None:
        self.supervisor = supervisor
        self.child = child
        self.reason = reason
        super().__init__(f"supervisor {supervisor!r}: child {child!r} failed to start: {reason!r}")


class ListenError(MmbotError):
    """A server of ours (``/metrics``, ...) could not listen on ``host:port``.

    The message names the address and the reason ("address already in use"); the CLI adds
    the flag that chose the address.
    """

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        super().__init__(f"cannot listen on {address}: {reason}")
