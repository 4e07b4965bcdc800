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


#: Private modules and names of other libraries we import on purpose, and why.
ALLOWED_CROSSINGS = {
    ("bot/run.py", "os._exit"): "os._exit is the documented way to exit at once",
    ("clock.py", "trio._core"): "trio's scheduler hook (decision 0001)",
    ("clock.py", "trio._core._run"): "trio's scheduler hook (decision 0001)",
    ("clock.py", "_run._ALLOW_DETERMINISTIC_SCHEDULING"): "decision 0001",
    ("clock.py", "_run._r"): "decision 0001, tests/test_trio_determinism.py",
}


@pytest.mark.parametrize("path", _modules(), ids=_id)
def test_no_private_name_crosses_a_module(path: Path) -> None:
    crossing = [
        c for c in private_crossings(path.read_text()) if (_id(path), c) not in ALLOWED_CROSSINGS
    ]
    assert not crossing, f"{_id(path)} uses private names of other modules: {crossing}"


#: Private members of other code we rely on, each with its reason (a decision record where
#: the reliance is on another library's internals).
ALLOWED_PRIVATE = {
    ("bot/run.py", "_exit"): "os._exit is the documented way to exit at once",
    ("clock.py", "_ALLOW_DETERMINISTIC_SCHEDULING"): "trio's scheduler hook (decision 0001)",
    ("clock.py", "_r"): "trio's scheduler RNG (decision 0001, tests/test_trio_determinism.py)",
    ("resilience/retry.py", "_run_retry"): "tenacity's loop we override (decision 0006)",
    ("sim/ws_app.py", "_handle_ping_event"): "trio-websocket (decision 0005)",
    ("sim/ws_app.py", "_handle_message_event"): "trio-websocket (decision 0005)",
    ("sim/ws_app.py", "_reader_task"): "trio-websocket (decision 0005)",
    ("sim/ws_app.py", "_get_request"): "trio-websocket (decision 0005)",
    ("sim/ws_app.py", "_open_handshake"): "trio-websocket (decision 0005)",
    ("sim/history/digest.py", "_value_"): "the documented _sunder_ name of an enum's value",
}


def own_private_names(source: str) -> set[str]:
    """Private names a module defines: methods, classes, functions, and ``self._x`` slots."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("self", "cls") and isinstance(node.ctx, ast.Store):
                found.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)  # attrs fields
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)  # __slots__ entries
    return {name for name in found if _is_private(name)}


def foreign_private_members(source: str) -> list[tuple[int, str]]:
    """``obj._x`` reads where ``_x`` is not defined in this module (another module's private
    member), except on ``self`` and ``cls``."""
    own = own_private_names(source)
    reached = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not _is_private(node.attr) or node.attr in own:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        reached.append((node.lineno, node.attr))
    return reached


@pytest.mark.parametrize("path", _modules(), ids=_id)
def test_no_module_reaches_into_another_modules_private_members(path: Path) -> None:
    where = _id(path)
    reached = [
        f"{where}:{line} reaches into .{attr}"
        for line, attr in foreign_private_members(path.read_text())
        if (where, attr) not in ALLOWED_PRIVATE
    ]
    assert not reached, "\n".join(reached)


@pytest.mark.parametrize("path", [p for p in _modules() if p.name != "__init__.py"], ids=_id)
def test_every_module_says_what_it_is_for_and_what_it_must_never_do(path: Path) -> None:
    if path.name == "__main__.py":
        return
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "What it is for" in doc and "must never" in doc, _id(path)


def test_the_checkers_catch_what_they_look_for() -> None:
    source = (
        "from x import Name as Name\nfrom x import _y, z\nfrom x._impl import w\n"
        "import p._q\nfrom pkg import base\nv = base._hidden\nu = z._attr\n"
    )
    assert sibling_re_exports(source) == ["Name"]
    reach = (
        "class A:\n    def f(self, b):\n        self._mine = 1\n        return b._theirs, b._mine\n"
    )
    assert foreign_private_members(reach) == [(4, "_theirs")]
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
