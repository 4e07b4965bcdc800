"""Strategies drawn from a seeded ``random.Random``: hypothesis's vocabulary, no engine (sans-IO).

What it is for: letting one description of the fault space serve two drivers. ``mmbot chaos
fuzz`` builds its fault schedules from ``hypothesis.strategies``; ``mmbot chaos swarm``
needs the same schedules as a pure function of one seed (schedule *i* of a swarm must be the
same on any worker, in any order, with no hypothesis engine between the seed and the
schedule). So :mod:`mmbot.chaos.fuzz` writes its drawing once against the names below
(``st.integers``, ``st.sampled_from``, ``st.fixed_dictionaries``, ``.map``,
``.flatmap``, ...) and is handed either this module or hypothesis's. Each strategy here
draws from the ``random.Random`` passed to :meth:`Strategy.draw`, nothing else: the same
generator state gives the same value. Distributions are plain (integers and floats uniform,
a sampled element uniform, a set of sampled elements a coin flip per element, as swarm
testing enables each feature); hypothesis's own are biased toward edge cases, which is its
business, not this module's.

What it must never do: create randomness (the caller passes the ``random.Random``), loop
without bound (a ``filter`` or a unique collection gives up after a fixed number of
tries), or grow into a second hypothesis: it holds what the fault space uses, and
``tests/chaos/test_seeded_strategies.py`` fails when fuzz.py uses a name it lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import random

T = TypeVar("T")
U = TypeVar("U")
H = TypeVar("H", bound=Hashable)

#: How many draws ``filter`` and the unique collections try before they give up.
MAX_TRIES = 1000
#: The size bound of a collection drawn without ``max_size`` (past ``min_size``).
DEFAULT_EXTRA_SIZE = 10


class Unsatisfiable(ValueError):
    """A ``filter`` (or a unique collection) found no value within :data:`MAX_TRIES` draws."""


class Strategy(Generic[T]):
    """Draws one value of ``T`` from a ``random.Random``."""

    def __init__(self, draw: Callable[[random.Random], T], name: str) -> None:
        self._draw = draw
        self._name = name

    def draw(self, rng: random.Random) -> T:
        return self._draw(rng)

    def map(self, function: Callable[[T], U]) -> Strategy[U]:
        return Strategy(lambda rng: function(self._draw(rng)), f"{self._name}.map()")

    def flatmap(self, function: Callable[[T], Strategy[U]]) -> Strategy[U]:
        return Strategy(lambda rng: function(self._draw(rng)).draw(rng), f"{self._name}.flatmap()")

    def filter(self, condition: Callable[[T], bool]) -> Strategy[T]:
        def draw(rng: random.Random) -> T:
            for _ in range(MAX_TRIES):
                value = self._draw(rng)
                if condition(value):
                    return value
            raise Unsatisfiable(f"{self._name}.filter(): no value in {MAX_TRIES} draws")

        return Strategy(draw, f"{self._name}.filter()")

    def __repr__(self) -> str:
        return self._name


class SampledFrom(Strategy[T]):
    """One of ``elements``, each as likely (a set of these is a coin flip per element)."""

    def __init__(self, elements: Sequence[T]) -> None:
        if not elements:
            raise ValueError("sampled_from() needs at least one element")
        self.elements = tuple(elements)
        super().__init__(lambda rng: rng.choice(self.elements), f"sampled_from({elements!r})")


def integers(min_value: int, max_value: int) -> Strategy[int]:
    if min_value > max_value:
        raise ValueError(f"integers({min_value}, {max_value}): an empty range")
    return Strategy(lambda rng: rng.randint(min_value, max_value), "integers()")


def floats(min_value: float, max_value: float) -> Strategy[float]:
    if not min_value <= max_value:
        raise ValueError(f"floats({min_value}, {max_value}): an empty range")
    return Strategy(lambda rng: rng.uniform(min_value, max_value), "floats()")


def booleans() -> Strategy[bool]:
    return Strategy(lambda rng: rng.random() < 0.5, "booleans()")


def none() -> Strategy[None]:
    return just(None)


def just(value: T) -> Strategy[T]:
    return Strategy(lambda _rng: value, f"just({value!r})")


def sampled_from(elements: Sequence[T]) -> SampledFrom[T]:
    return SampledFrom(elements)


def one_of(*strategies: Strategy[Any]) -> Strategy[Any]:
    if not strategies:
        raise ValueError("one_of() needs at least one strategy")
    return Strategy(lambda rng: rng.choice(strategies).draw(rng), "one_of()")


def tuples(*strategies: Strategy[Any]) -> Strategy[tuple[Any, ...]]:
    return Strategy(lambda rng: tuple(s.draw(rng) for s in strategies), "tuples()")


def fixed_dictionaries(
    mapping: Mapping[Any, Strategy[Any]], *, optional: Mapping[Any, Strategy[Any]] | None = None
) -> Strategy[dict[Any, Any]]:
    """A dict with every key of ``mapping``, each value drawn in the mapping's key order,
    and each key of ``optional`` present or not by a coin flip (then drawn)."""

    def draw(rng: random.Random) -> dict[Any, Any]:
        out = {key: s.draw(rng) for key, s in mapping.items()}
        for key, s in (optional or {}).items():
            if rng.random() < 0.5:
                out[key] = s.draw(rng)
        return out

    return Strategy(draw, "fixed_dictionaries()")


def lists(
    elements: Strategy[T], min_size: int = 0, max_size: int | None = None
) -> Strategy[list[T]]:
    """A list of a uniformly drawn size within ``min_size..max_size`` (``max_size`` unset:
    ``min_size`` + :data:`DEFAULT_EXTRA_SIZE`)."""
    top = min_size + DEFAULT_EXTRA_SIZE if max_size is None else max_size
    if not 0 <= min_size <= top:
        raise ValueError(f"lists(min_size={min_size}, max_size={max_size}): an empty range")
    return Strategy(
        lambda rng: [elements.draw(rng) for _ in range(rng.randint(min_size, top))], "lists()"
    )


def sets(elements: Strategy[H], min_size: int = 0, max_size: int | None = None) -> Strategy[set[H]]:
    """A set within ``min_size..max_size``. Of a :func:`sampled_from`, each element is in
    with probability one half, as swarm testing enables each feature (drawn again, a bounded
    number of times, until the size fits); of any other strategy, a size drawn uniformly,
    then distinct values."""
    if isinstance(elements, SampledFrom):
        pool = list(dict.fromkeys(elements.elements))
        top = len(pool) if max_size is None else min(max_size, len(pool))
        if not 0 <= min_size <= top:
            raise ValueError(f"sets(min_size={min_size}) of {len(pool)} distinct elements")

        def coin_flips(rng: random.Random) -> set[H]:
            for _ in range(MAX_TRIES):
                chosen = {e for e in pool if rng.random() < 0.5}
                if min_size <= len(chosen) <= top:
                    return chosen
            return set(rng.sample(pool, rng.randint(min_size, top)))

        return Strategy(coin_flips, "sets(sampled_from())")
    top = min_size + DEFAULT_EXTRA_SIZE if max_size is None else max_size
    if not 0 <= min_size <= top:
        raise ValueError(f"sets(min_size={min_size}, max_size={max_size}): an empty range")

    def distinct(rng: random.Random) -> set[H]:
        size, chosen = rng.randint(min_size, top), set[H]()
        for _ in range(MAX_TRIES):
            if len(chosen) >= size:
                return chosen
            chosen.add(elements.draw(rng))
        if len(chosen) < min_size:
            raise Unsatisfiable(f"sets(): fewer than {min_size} distinct values")
        return chosen

    return Strategy(distinct, "sets()")
