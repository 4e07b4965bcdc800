"""``mmbot.chaos.strategies``: hypothesis's vocabulary drawn from a seeded ``random.Random``,
enough of it for fuzz.py's fault space, and ``random_schedule``: a schedule as a pure
function of its generator."""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

import pytest

from mmbot.chaos import fuzz
from mmbot.chaos import strategies as seeded
from mmbot.chaos.fuzz import KINDS, FuzzSpace, random_schedule
from mmbot.chaos.scenario import scenario_from_dict


def draws(strategy: seeded.Strategy[Any], seed: int, n: int = 50) -> list[Any]:
    rng = random.Random(seed)
    return [strategy.draw(rng) for _ in range(n)]


def test_the_same_generator_state_draws_the_same_values() -> None:
    strategy = seeded.tuples(
        seeded.integers(0, 100),
        seeded.sampled_from("abc").flatmap(lambda c: seeded.just(c * 2)),
        seeded.fixed_dictionaries({"x": seeded.floats(0, 1), "y": seeded.booleans()}),
        seeded.lists(seeded.integers(0, 9), min_size=1, max_size=4).map(sum),
    )
    assert draws(strategy, 7) == draws(strategy, 7)
    assert draws(strategy, 7) != draws(strategy, 8)


def test_each_strategy_stays_within_its_bounds() -> None:
    assert set(draws(seeded.integers(2, 4), 1, 200)) == {2, 3, 4}
    assert all(0.5 <= x <= 1.5 for x in draws(seeded.floats(0.5, 1.5), 1))
    assert set(draws(seeded.sampled_from((1, 2)), 1)) == {1, 2}
    sizes = {len(x) for x in draws(seeded.lists(seeded.none(), 2, 3), 1)}
    assert sizes == {2, 3}
    assert set(draws(seeded.one_of(seeded.just("a"), seeded.just("b")), 1)) == {"a", "b"}
    keys = draws(seeded.fixed_dictionaries({"b": seeded.just(1), "a": seeded.just(2)}), 1, 1)
    assert list(keys[0]) == ["b", "a"]


def test_a_set_of_sampled_elements_is_a_coin_flip_each_within_its_sizes() -> None:
    kinds = ("a", "b", "c", "d")
    subsets = draws(seeded.sets(seeded.sampled_from(kinds), min_size=1), 3, 400)
    assert all(1 <= len(s) <= 4 and set(s) <= set(kinds) for s in subsets)
    # every element in about half of them (swarm testing's coin flip), each size seen
    for kind in kinds:
        share = sum(kind in s for s in subsets) / len(subsets)
        assert 0.4 < share < 0.75
    assert {len(s) for s in subsets} == {1, 2, 3, 4}
    capped = draws(seeded.sets(seeded.sampled_from(kinds), min_size=2, max_size=2), 3)
    assert {len(s) for s in capped} == {2}


def test_a_filter_and_a_unique_collection_give_up_instead_of_looping() -> None:
    never = seeded.integers(0, 3).filter(lambda n: n > 3)
    with pytest.raises(seeded.Unsatisfiable):
        never.draw(random.Random(1))
    with pytest.raises(seeded.Unsatisfiable):
        seeded.sets(seeded.just(1), min_size=2).draw(random.Random(1))
    with pytest.raises(ValueError):
        seeded.integers(3, 2)


def test_fuzz_uses_no_strategy_this_module_lacks() -> None:
    """Every ``st.<name>`` fuzz.py's drawing calls exists here (a fault kind that draws with
    a new hypothesis strategy must add it here too, or swarms could not draw it)."""
    tree = ast.parse(Path(fuzz.__file__).read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "st"
    }
    used -= {"composite", "SearchStrategy"}  # hypothesis's decorator and type: not drawing
    assert used, "the check reads fuzz.py's st.<name> calls"
    assert {name for name in used if not hasattr(seeded, name)} == set()


def test_a_random_schedule_is_a_function_of_its_generator_and_always_runnable() -> None:
    space = FuzzSpace(duration=6.0, heal=5.0)
    seen_kinds: set[str] = set()
    for seed in range(200):
        table = random_schedule(random.Random(seed), space)
        assert table == random_schedule(random.Random(seed), space)
        scenario = scenario_from_dict(table, source="<swarm>")
        assert len(scenario.faults.faults) + len(scenario.crashes) == len(table["faults"])
        assert 1 <= len(table["faults"]) <= space.max_faults
        assert scenario.duration == 6.0 and scenario.heal == 5.0
        seen_kinds |= {f["kind"] for f in table["faults"]}
    assert seen_kinds == set(KINDS)
    one = random_schedule(random.Random(1), space)
    assert one != random_schedule(random.Random(2), space)


def test_a_random_schedule_draws_only_the_kinds_of_its_space() -> None:
    space = FuzzSpace(kinds=("latency", "lost_ack"))
    for seed in range(30):
        table = random_schedule(random.Random(seed), space)
        assert {f["kind"] for f in table["faults"]} <= {"latency", "lost_ack"}
