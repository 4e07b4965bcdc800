"""docs/supervision.md's worked example runs, and prints what the doc says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "supervision.md"


def test_the_worked_example_prints_the_timeline_the_doc_shows() -> None:
    text = DOC.read_text()
    worked = text[text.index("## A worked example") :]
    code = re.findall(r"```python\n(.*?)```", worked, re.S)[0]
    expected = re.findall(r"```text\n(.*?)```", worked, re.S)[0]
    namespace: dict[str, Any] = {"__name__": "worked_example"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), namespace)
    assert out.getvalue() == expected
