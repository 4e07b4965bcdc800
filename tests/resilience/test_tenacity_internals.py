"""The retry policy relies on undocumented members of tenacity (docs/decisions/0006).

``retry._TrioRetrying`` subclasses ``AsyncRetrying`` and overrides or calls members tenacity
does not document. These tests fail if tenacity moves or reshapes them, so an upgrade
breaks here, by name, instead of somewhere inside a retry.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from tenacity import AsyncRetrying, BaseRetrying, IterState


def test_tenacity_is_the_pinned_major_version() -> None:
    assert version("tenacity").split(".")[0] == "9"  # pyproject: tenacity>=9.1,<10


def test_the_members_the_subclass_overrides_still_exist() -> None:
    for name in ("iter", "_run_retry", "_add_action_func"):
        assert name in AsyncRetrying.__dict__, name
    assert inspect.iscoroutinefunction(AsyncRetrying.iter)
    assert inspect.iscoroutinefunction(AsyncRetrying._run_retry)
    for name in ("iter_state", "statistics"):
        assert isinstance(inspect.getattr_static(BaseRetrying, name), property), name


def test_each_iteration_builds_its_actions_through_add_action_func() -> None:
    # Our override of _add_action_func sees every action only if _begin_iter adds them
    # through it, into iter_state.actions (which our iter_state property replaces).
    source = inspect.getsource(BaseRetrying._begin_iter)
    assert "self.iter_state.reset()" in source
    assert "self._add_action_func(" in source
    assert "self.iter_state.actions" not in source  # never appended to directly


def test_iter_state_keeps_the_fields_the_subclass_uses() -> None:
    state = IterState()
    state.actions.append(print)
    state.retry_run_result = True
    state.reset()
    assert state.actions == [] and state.retry_run_result is False
