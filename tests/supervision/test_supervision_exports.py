"""The public surface of ``mmbot.supervision``, and what ``mmbot`` re-exports from it."""

from __future__ import annotations

import mmbot
import mmbot.errors
import mmbot.supervision

EXPECTED = {
    "CHILD_TRANSITIONS",
    "AutoShutdown",
    "Backoff",
    "ChildContext",
    "ChildCounts",
    "ChildFailure",
    "ChildInfo",
    "ChildSpec",
    "ChildStartError",
    "ChildState",
    "ChildStatus",
    "EventKind",
    "EventStream",
    "Restart",
    "Strategy",
    "SupervisionEvent",
    "Supervisor",
    "SupervisorEscalation",
    "SupervisorHandle",
    "SupervisorPolicy",
    "SupervisorState",
    "SupervisorStatus",
    "current_child",
}


def test_all_is_the_curated_surface() -> None:
    assert set(mmbot.supervision.__all__) == EXPECTED
    assert all(hasattr(mmbot.supervision, name) for name in EXPECTED)


def test_errors_are_re_exported_not_redefined() -> None:
    assert mmbot.supervision.SupervisorEscalation is mmbot.errors.SupervisorEscalation
    assert mmbot.supervision.ChildStartError is mmbot.errors.ChildStartError


def test_mmbot_exports_the_supervisor_its_specs_errors_and_status_values() -> None:
    for name in (
        "Supervisor",
        "ChildSpec",
        "SupervisorEscalation",
        "ChildStartError",
        "ChildState",
        "ChildStatus",
        "SupervisorState",
        "SupervisorStatus",
    ):
        assert name in mmbot.__all__
        assert getattr(mmbot, name) is getattr(mmbot.supervision, name)
