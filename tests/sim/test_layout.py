"""The fake exchange's layout: packages that show the architecture, each name in one place.

The rules every package follows (one name, one place; no private reach; sans-IO by
package) are checked for all of mmbot by ``tests/test_module_boundaries.py`` and
``tests/test_sans_io.py``; what is particular to the fake exchange is checked here: its core
packages are exactly its sub-packages (the shell is ``sim/*.py``), each exports only what it
defines, and every core module says ``(sans-IO)`` in the first line of its docstring.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import types
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "mmbot" / "sim"
#: The sans-IO core packages of the fake exchange (DESIGN.md §2); the shell is sim/*.py.
CORE_PACKAGES = ("engine", "market", "dialect", "streams", "history")


def test_the_core_packages_are_the_sub_packages() -> None:
    packages = {p.parent.name for p in SIM.glob("*/__init__.py")}
    assert packages == set(CORE_PACKAGES)


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_a_package_exports_names_defined_inside_it(package: str) -> None:
    module = importlib.import_module(f"mmbot.sim.{package}")
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    for name in module.__all__:
        value = getattr(module, name)
        home = getattr(value, "__module__", None)
        if isinstance(value, type | types.FunctionType) and value.__name__ == name:
            # defined here (a name given to another module's object, such as the engine
            # contract's DialectError for the dialect's DialectError, is an alias)
            assert home is not None and home.startswith(f"mmbot.sim.{package}."), (name, home)


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_every_core_module_says_what_it_is_for_and_must_never_do(package: str) -> None:
    for path in sorted((SIM / package).rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        where = path.relative_to(SIM)
        assert "(sans-IO)" in doc.splitlines()[0], f"{where}: first line lacks (sans-IO)"
        assert "What it is for" in doc and "must never" in doc, where
