"""Compare the shape of a JSON answer with an example from Binance's docs (no tests here).

What it is for: the conformance tests of the fake exchange (one per endpoint and stream)
check that an answer has exactly the keys of the docs' example, at every depth, and that
every value has the example's JSON type (``string``, ``int``, ``float``, ``bool``,
``null``, ``array``, ``object``). Values themselves are not compared. The examples are
copies of the docs' examples in ``examples/*.json``, each naming the section it came from:
``{"source": "...", "example": <the example>}``; :func:`example` loads one.

Arrays: when the example's elements all have one shape (a list of trades), every element
of the answer is compared with the example's first; when they differ (a kline, a
``[price, qty]`` pair is a tuple of fixed places), the answer must have as many elements
and each is compared with the example's element at its place. An empty array on either
side has nothing to compare.

What it must never do: compare values (they differ from the docs' made-up ones), or pass
an answer whose key set or types differ from the example's.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "examples"


def example(name: str) -> Any:
    """The docs' example saved as ``examples/<name>.json``."""
    document = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert isinstance(document, dict) and document.get("source"), name
    return document["example"]


def json_type(value: object) -> str:
    """The JSON type of a decoded value (``bool`` is not an ``int`` here)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _signature(value: object) -> object:
    if isinstance(value, dict):
        return ("object", tuple(sorted(value)))
    return json_type(value)


def shape_differences(
    actual: object, expected: object, path: str = "$", *, optional: Collection[str] = ()
) -> list[str]:
    """Every place where ``actual``'s keys or JSON types differ from ``expected``'s.

    ``optional``: keys (at any depth) the example shows but an answer may leave out (the
    docs' conditional fields). A ``null`` in the example admits any type (the docs show
    ``null`` for a field whose type depends on the case).
    """
    if expected is None:
        return []
    kind, want = json_type(actual), json_type(expected)
    if kind != want:
        return [f"{path}: {kind}, the example has {want}"]
    out: list[str] = []
    if isinstance(actual, dict) and isinstance(expected, dict):
        missing = sorted(k for k in set(expected) - set(actual) if k not in optional)
        extra = sorted(set(actual) - set(expected))
        if missing:
            out.append(f"{path}: missing keys {missing}")
        if extra:
            out.append(f"{path}: keys the example lacks {extra}")
        for key in expected:
            if key in actual:
                out += shape_differences(
                    actual[key], expected[key], f"{path}.{key}", optional=optional
                )
    elif isinstance(actual, list) and isinstance(expected, list):
        if not actual or not expected:
            return out
        if len({repr(_signature(v)) for v in expected}) == 1:
            for i, item in enumerate(actual):
                out += shape_differences(item, expected[0], f"{path}[{i}]", optional=optional)
        elif len(actual) != len(expected):
            out.append(f"{path}: {len(actual)} elements, the example has {len(expected)}")
        else:
            for i, (item, want_item) in enumerate(zip(actual, expected, strict=True)):
                out += shape_differences(item, want_item, f"{path}[{i}]", optional=optional)
    return out


def assert_same_shape(actual: object, expected: object, *, optional: Collection[str] = ()) -> None:
    """Fail with every difference when ``actual``'s shape is not ``expected``'s."""
    differences = shape_differences(actual, expected, optional=optional)
    assert not differences, "shape differs from the docs' example:\n" + "\n".join(differences)
