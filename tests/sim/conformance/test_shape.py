"""The shape comparison the conformance tests rely on finds what it must (``shape.py``)."""

from __future__ import annotations

from shape import example, json_type, shape_differences


def test_optional_keys_may_be_absent_but_not_of_another_type() -> None:
    assert shape_differences({"a": 1}, {"a": 1, "v": 3}, optional=("v",)) == []
    assert shape_differences({"a": 1, "v": "3"}, {"a": 1, "v": 3}, optional=("v",)) == [
        "$.v: string, the example has int"
    ]
    assert shape_differences({"a": 1}, {"a": 1, "v": 3}) == ["$: missing keys ['v']"]


def test_null_in_the_docs_admits_any_type_and_a_bool_is_not_an_integer() -> None:
    assert shape_differences({"N": "BTC"}, {"N": None}) == []
    assert json_type(True) == "bool" and json_type(1) == "int"
    assert shape_differences({"w": 1}, {"w": True}) == ["$.w: int, the example has bool"]


def test_every_fixture_names_its_docs_section() -> None:
    report = example("user_execution_report")
    assert report["event"]["e"] == "executionReport" and "I" in report["event"]
