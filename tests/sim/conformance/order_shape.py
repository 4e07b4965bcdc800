"""Compare the shape of a fake-exchange answer with a Binance docs example (no tests here).

What it is for: :func:`shape_mismatches`, the key sets and JSON types of an answer against
an example from binance-spot-api-docs, recursively: every key of the example present (but
those named ``optional``: the docs' "conditional fields"), no key the example lacks, and
each value of the same JSON type (``null`` in an example stands for "any type": the docs
write ``"N": null`` for a commission asset that is a string once there is one). Lists are
compared element by element against the example's first element. :func:`load_example`
reads the fixtures in ``examples/`` (each names its source file and section).

What it must never do: compare values (the fake's ids, prices and times are its own), or
pass an answer of another shape silently: every difference is listed with its path.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).parent / "examples"


def load_example(name: str) -> Any:
    """The ``example`` of ``examples/<name>.json``."""
    fixture = json.loads((EXAMPLES / f"{name}.json").read_text())
    assert {"source", "section", "example"} <= set(fixture), name
    return fixture["example"]


def json_type(value: object) -> str:
    """The JSON type of a decoded value (a bool is not an integer here)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_mismatches(
    actual: object,
    example: object,
    *,
    optional: Collection[str] = (),
    path: str = "$",
) -> list[str]:
    """Every way ``actual`` differs in shape from ``example`` (empty: the same shape).

    ``optional``: keys (at any depth) the example shows but an answer may leave out.
    """
    if example is None:
        return []
    expected, got = json_type(example), json_type(actual)
    if expected != got:
        return [f"{path}: {got}, the docs show {expected}"]
    problems: list[str] = []
    if isinstance(example, dict):
        assert isinstance(actual, dict)
        for key in example.keys() - actual.keys():
            if key not in optional:
                problems.append(f"{path}.{key}: missing")
        for key in actual.keys() - example.keys():
            problems.append(f"{path}.{key}: not in the docs")
        for key in example.keys() & actual.keys():
            problems += shape_mismatches(
                actual[key], example[key], optional=optional, path=f"{path}.{key}"
            )
    elif isinstance(example, list):
        assert isinstance(actual, list)
        if example:
            for index, item in enumerate(actual):
                problems += shape_mismatches(
                    item, example[0], optional=optional, path=f"{path}[{index}]"
                )
    return problems
