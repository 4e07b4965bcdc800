"""The shape comparison the conformance tests rely on finds what it must."""

from __future__ import annotations

from order_shape import json_type, load_example, shape_mismatches


def test_the_same_shape_with_other_values_matches() -> None:
    assert shape_mismatches({"a": "1", "b": [1, 2]}, {"a": "x", "b": [9]}) == []


def test_a_missing_key_an_extra_key_and_a_wrong_type_are_each_reported() -> None:
    problems = shape_mismatches(
        {"a": 1, "c": True, "d": [{"e": "1"}]}, {"a": "1", "b": 2, "d": [{"e": 1}]}
    )
    assert sorted(problems) == [
        "$.a: integer, the docs show string",
        "$.b: missing",
        "$.c: not in the docs",
        "$.d[0].e: string, the docs show integer",
    ]


def test_optional_keys_may_be_absent_but_not_of_another_type() -> None:
    assert shape_mismatches({"a": 1}, {"a": 1, "v": 3}, optional=("v",)) == []
    assert shape_mismatches({"a": 1, "v": "3"}, {"a": 1, "v": 3}, optional=("v",)) != []


def test_null_in_the_docs_admits_any_type_and_a_bool_is_not_an_integer() -> None:
    assert shape_mismatches({"N": "BTC"}, {"N": None}) == []
    assert json_type(True) == "boolean" and json_type(1) == "integer"
    assert shape_mismatches({"w": 1}, {"w": True}) == ["$.w: integer, the docs show boolean"]


def test_every_fixture_names_its_docs_section() -> None:
    # load_example checks source, section and example are there
    report = load_example("user_execution_report")
    assert report["event"]["e"] == "executionReport" and "I" in report["event"]
