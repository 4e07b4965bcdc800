"""A cheaper constructor for plain frozen, slotted attrs classes (hot paths).

What it is for: :func:`fast_constructor` returns a function that builds an instance of an
``@attrs.frozen`` class straight into its slots (``object.__new__`` and each slot's own
descriptor), with the same positional parameters and defaults as the class's ``__init__``.
It is equal (``==``, ``hash``, ``repr``) to what the class itself would build, and about a
fifth cheaper than the generated ``__init__``. It is only used when that is safe: when the
class has validators, converters, factories, keyword-only or ``init=False`` fields,
``__attrs_pre_init__``/``__attrs_post_init__``, slots beyond its fields (``cache_hash``,
inherited ones) or no slots, the class itself is returned instead.

What it must never do: build an instance the class's own ``__init__`` would not (skip a
check, a conversion or a hidden slot), or be used for classes whose constructor has
side effects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")


def plain_slots(cls: type) -> bool:
    """True if ``cls`` is an attrs class whose ``__init__`` only stores its arguments."""
    if not attrs.has(cls):
        return False
    fields = attrs.fields(cls)
    names = tuple(field.name for field in fields)
    own_slots = tuple(name for name in cls.__dict__.get("__slots__", ()) if name != "__weakref__")
    if sorted(own_slots) != sorted(names):
        return False
    for base in cls.__mro__[1:]:
        if base is not object and any(
            name != "__weakref__" for name in base.__dict__.get("__slots__", ())
        ):
            return False
    for field in fields:
        if field.validator is not None or field.converter is not None:
            return False
        if not field.init or field.kw_only or field.alias != field.name:
            return False
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            return False
    return not hasattr(cls, "__attrs_pre_init__") and not hasattr(cls, "__attrs_post_init__")


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """A function ``(*fields) -> cls`` filling the slots directly, or ``cls`` if unsafe."""
    if not plain_slots(cls):
        return cls
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params = []
    body = []
    for index, field in enumerate(fields):
        name = field.name
        if field.default is attrs.NOTHING:
            params.append(f"{name}")
        else:
            namespace[f"_d{index}"] = field.default
            params.append(f"{name}=_d{index}")
        namespace[f"_s{index}"] = cls.__dict__[name].__set__
        body.append(f"    _s{index}(self, {name})")
    header = f"def make_{cls.__name__}({', '.join(params)}):"
    source = "\n".join([header, "    self = _new(_cls)", *body, "    return self"])
    exec(source, namespace)  # generated from the class's own field names
    make: Callable[..., T] = namespace[f"make_{cls.__name__}"]
    make.__doc__ = f"Build a {cls.__qualname__} straight into its slots."
    return make
