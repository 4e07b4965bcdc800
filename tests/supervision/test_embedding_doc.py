"""docs/embedding.md's example runs, and prints what the doc says it prints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)


def test_the_embedding_example_escalates_to_the_host_as_the_doc_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = blocks("python")[-1]  # the supervisor's (the bot's comes first)
    expected = blocks("text")[-1]
    namespace: dict[str, Any] = {"__name__": "embedding_example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    trio.run(namespace["main"], clock=trio.testing.MockClock(autojump_threshold=0))
    assert capsys.readouterr().out == expected


def test_the_example_is_a_host_app_that_catches_the_escalation_with_except_star() -> None:
    code = blocks("python")[-1]
    assert "await nursery.start(supervisor.run)" in code
    assert "except* SupervisorEscalation" in code
    assert 'if __name__ == "__main__":\n    trio.run(main)' in code
