"""docs/embedding.md's bot example runs in a host app and prints what the doc says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def first_block(language: str) -> str:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)[0]


def test_the_bot_embedding_example_runs_and_prints_what_the_doc_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = first_block("python")
    assert "await nursery.start(bot.run)" in code and "await handle.stop()" in code
    namespace: dict[str, Any] = {"__name__": "embedding_example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    trio.run(namespace["main"], clock=trio.testing.MockClock(autojump_threshold=0))
    assert capsys.readouterr().out == first_block("text")
