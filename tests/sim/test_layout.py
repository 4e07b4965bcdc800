"""The fake exchange's layout: packages that show the architecture, each name in one place.

In the manner of trio's ``_tests/test_exports.py``: every sub-package of ``mmbot.sim``
exports its public names once, from its ``__init__``; no module re-exports a sibling's
names; no private name crosses a module; every module of a core package is sans-IO (by
package, not by a hand-kept list) and says so in the first line of its docstring.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "mmbot" / "sim"
#: The sans-IO core packages of the fake exchange (DESIGN.md §2); the shell is sim/*.py.
CORE_PACKAGES = ("engine", "market", "dialect", "streams", "history")
#: Private members of other libraries we rely on, each with its decision record.
ALLOWED_PRIVATE = {
    # docs/decisions/0005-trio-websocket-private-members.md
    ("ws_app.py", "_handle_ping_event"),
    ("ws_app.py", "_handle_message_event"),
    ("ws_app.py", "_reader_task"),
    ("ws_app.py", "_get_request"),
    ("ws_app.py", "_open_handshake"),
    # the documented ``_sunder_`` name of a member's value (Python's enum docs)
    ("history/digest.py", "_value_"),
}


def _modules() -> list[Path]:
    return sorted(SIM.rglob("*.py"))


def _name(path: Path) -> str:
    return ".".join(["mmbot", "sim", *path.relative_to(SIM).with_suffix("").parts]).removesuffix(
        ".__init__"
    )


def _load_sans_io_rule() -> types.ModuleType:
    path = Path(__file__).resolve().parents[1] / "test_sans_io.py"
    spec = importlib.util.spec_from_file_location("sans_io_rule", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
            # contract's Rejection for the dialect's DialectError, is an alias)
            assert home is not None and home.startswith(f"mmbot.sim.{package}."), (name, home)


def test_each_public_name_is_exported_from_exactly_one_package() -> None:
    exported: dict[int, list[str]] = {}
    for package in CORE_PACKAGES:
        module = importlib.import_module(f"mmbot.sim.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type | types.FunctionType):
                exported.setdefault(id(value), []).append(f"{package}.{name}")
    twice = [places for places in exported.values() if len(places) > 1]
    assert not twice


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SIM)))
def test_no_module_re_exports_or_imports_a_private_name(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("mmbot"):
            continue
        for alias in node.names:
            assert not alias.name.startswith("_"), f"{path.name} imports private {alias.name}"
            if path.name != "__init__.py":
                assert alias.asname != alias.name, f"{path.name} re-exports {alias.name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SIM)))
def test_no_module_reaches_into_anothers_private_members(path: Path) -> None:
    where = str(path.relative_to(SIM))
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (where, node.attr) in ALLOWED_PRIVATE:
            continue
        owner = node.value
        assert isinstance(owner, ast.Name) and owner.id in ("self", "cls"), (
            f"{where}:{node.lineno} reaches into .{node.attr}"
        )


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_every_module_of_a_core_package_is_sans_io(package: str) -> None:
    rule = _load_sans_io_rule()
    for path in sorted((SIM / package).rglob("*.py")):
        imported = rule.runtime_imports(path.read_text(), _name(path.parent))
        bad = {
            name
            for name in imported
            for i in range(1, len(name.split(".")) + 1)
            if ".".join(name.split(".")[:i]) in rule.FORBIDDEN
        }
        assert not bad, f"sans-IO core {path.relative_to(SIM)} imports {sorted(bad)}"


@pytest.mark.parametrize("package", CORE_PACKAGES)
def test_every_core_module_says_what_it_is_for_and_must_never_do(package: str) -> None:
    for path in sorted((SIM / package).rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        where = path.relative_to(SIM)
        assert "(sans-IO)" in doc.splitlines()[0], f"{where}: first line lacks (sans-IO)"
        assert "What it is for" in doc and "must never" in doc, where


def test_importing_the_core_packages_loads_no_io_library() -> None:
    """``mmbot/sim/__init__.py`` imports no shell: the cores stay usable without trio."""
    packages = ", ".join(f"mmbot.sim.{p}" for p in CORE_PACKAGES)
    io = ("trio", "anyio", "httpx", "httpcore", "trio_websocket", "wsproto", "prometheus_client")
    code = f"import sys, {packages}; print(sorted(set({io!r}) & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
