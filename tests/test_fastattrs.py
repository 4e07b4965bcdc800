"""fast_constructor builds instances equal to the class's own, and refuses unsafe classes."""

from __future__ import annotations

from decimal import Decimal

import attrs

from mmbot._fastattrs import fast_constructor, plain_slots
from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine import BookDelta, ExecutionReport, OrderView


@attrs.frozen
class _Plain:
    a: int
    b: str = "x"


@attrs.frozen
class _Validated:
    a: int = attrs.field(validator=attrs.validators.instance_of(int))


@attrs.frozen
class _Converted:
    a: int = attrs.field(converter=int)


@attrs.frozen
class _Factory:
    a: list[int] = attrs.field(factory=list)


@attrs.frozen
class _PostInit:
    a: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen(cache_hash=True)
class _CachedHash:
    a: int


@attrs.frozen
class _Child(_Plain):
    c: int = 0


def test_fast_instances_equal_the_class_own() -> None:
    make = fast_constructor(_Plain)
    assert make is not _Plain
    built = make(1, "y")
    assert type(built) is _Plain
    assert built == _Plain(1, "y")
    assert hash(built) == hash(_Plain(1, "y"))
    assert repr(built) == repr(_Plain(1, "y"))


def test_fast_constructor_applies_defaults() -> None:
    assert fast_constructor(_Plain)(3) == _Plain(3)


def test_fast_instances_stay_frozen() -> None:
    built = fast_constructor(_Plain)(1)
    try:
        built.a = 2  # type: ignore[misc]
    except attrs.exceptions.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a fast-built instance accepted an assignment")


def test_unsafe_classes_fall_back_to_the_class() -> None:
    for cls in (_Validated, _Converted, _Factory, _PostInit, _CachedHash, _Child):
        assert not plain_slots(cls), cls
        assert fast_constructor(cls) is cls


def test_contract_classes_get_the_fast_path_and_equal_values() -> None:
    make = fast_constructor(ExecutionReport)
    assert make is not ExecutionReport
    d = Decimal("1.5")
    args = (
        "a", 1, "BTCUSDT", "c1", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, d, d,
        ExecutionType.NEW, OrderStatus.NEW, "NONE", 7, d, d, d, d, None, 1, -1, False, "", d,
    )  # fmt: skip
    assert make(*args) == ExecutionReport(*args)
    assert make(*args, True, 5) == ExecutionReport(*args, True, 5)
    delta = fast_constructor(BookDelta)("BTCUSDT", 1, Side.SELL, d, d, 9)
    assert delta == BookDelta("BTCUSDT", 1, Side.SELL, d, d, 9)
    assert delta.account is None
    assert plain_slots(OrderView)
