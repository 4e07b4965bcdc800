"""Packages show their public face once, and modules do not reach into each other.

In trio's manner (``trio/_tests/test_exports.py``): a package's public names are
re-exported once, from its ``__init__.py``; a module never re-exports a sibling's name
(``from .x import Name as Name`` outside an ``__init__``) and never imports another module's
private name (``from x import _y``) or reads one off it (``x._y``). Checked by reading the
source of every module of mmbot, and by importing every package that curates its names
(``__all__``): each name is exported by one package only (the top level ``mmbot`` curates
the public API from all of them, so it is not counted).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mmbot"


def _curated() -> list[str]:
    """Every package below ``mmbot`` whose ``__init__`` lists its public names."""
    found = []
    for init in sorted(ROOT.rglob("__init__.py")):
        package = ".".join(["mmbot", *init.parent.relative_to(ROOT).parts])
        if package != "mmbot" and "__all__" in init.read_text():
            found.append(package)
    return found


#: Packages with a curated ``__init__`` (``__all__``): each name is exported once, from one.
CURATED = _curated()

#: Names a curated package re-exports from outside itself on purpose (its documented API).
FOREIGN = {
    "mmbot.resilience": {"CircuitOpen", "RateLimited", "RetryBudgetExhausted"},
    "mmbot.supervision": {"ChildStartError", "SupervisorEscalation"},
}


def _modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sibling_re_exports(source: str) -> list[str]:
    """Names a module re-exports with ``from x import Name as Name``."""
    return [
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    ]


def private_crossings(source: str) -> list[str]:
    """Private names of other modules a module imports (``from x import _y``, ``from x._y
    import z``, ``import x._y``) or reads off an imported module (``x._y``)."""
    tree = ast.parse(source)
    crossing: list[str] = []
    modules: set[str] = set()  # local names bound to imported modules (or lower-case names)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            path = (node.module or "").split(".")
            if any(_is_private(part) for part in path):
                crossing.append(node.module or "")
            crossing += [f"{node.module}.{a.name}" for a in node.names if _is_private(a.name)]
            modules.update(a.asname or a.name for a in node.names if a.name.islower())
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(_is_private(part) for part in alias.name.split(".")):
                    crossing.append(alias.name)
                modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and _is_private(node.attr)
        ):
            crossing.append(f"{node.value.id}.{node.attr}")
    return crossing


@pytest.mark.parametrize("path", _modules(), ids=_id)
def test_no_module_re_exports_a_siblings_name(path: Path) -> None:
    if path.name == "__init__.py":
        return
    aliased = sibling_re_exports(path.read_text())
    assert not aliased, f"{_id(path)} re-exports {aliased}: import them from where they live"


@pytest.mark.parametrize("path", _modules(), ids=_id)
def test_no_private_name_crosses_a_module(path: Path) -> None:
    crossing = private_crossings(path.read_text())
    assert not crossing, f"{_id(path)} uses private names of other modules: {crossing}"


def test_the_checkers_catch_what_they_look_for() -> None:
    source = (
        "from x import Name as Name\nfrom x import _y, z\nfrom x._impl import w\n"
        "import p._q\nfrom pkg import base\nv = base._hidden\nu = z._attr\n"
    )
    assert sibling_re_exports(source) == ["Name"]
    assert sorted(private_crossings(source)) == [
        "base._hidden",
        "p._q",
        "x._impl",
        "x._y",
        "z._attr",
    ]


@pytest.mark.parametrize("package", CURATED)
def test_exported_names_exist_and_live_inside_their_package(package: str) -> None:
    module = importlib.import_module(package)
    foreign = FOREIGN.get(package, set())
    for name in module.__all__:
        obj = getattr(module, name)  # AttributeError: listed but not there
        if name in foreign or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        assert obj.__module__.startswith(package + "."), f"{package}.{name} is {obj.__module__}'s"


def test_the_curated_packages_include_every_layer() -> None:
    assert {
        "mmbot.venue", "mmbot.venue.binance", "mmbot.resilience", "mmbot.quoting",
        "mmbot.quoting.orders", "mmbot.sim.engine", "mmbot.sim.dialect", "mmbot.supervision",
    } <= set(CURATED)  # fmt: skip


def test_each_public_name_is_exported_by_one_package_only() -> None:
    seen: dict[str, str] = {}
    for package in CURATED:
        for name in importlib.import_module(package).__all__:
            assert name not in seen, f"{name} is exported by {seen.get(name)} and {package}"
            seen[name] = package
