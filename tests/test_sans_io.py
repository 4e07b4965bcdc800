"""The sans-IO rule (DESIGN.md §2), by package and by declaration, with nothing unclassified.

Every module of ``mmbot`` is one of two kinds, and this test knows which without a list:

- a **core**: it sits in a core package (one whose ``__init__`` docstring's first line says
  ``sans-IO``: every module below it, at any depth, is a core), or its own docstring's first
  line says ``sans-IO``. A core imports no I/O, clock or RNG (``FORBIDDEN``); imports under
  ``if TYPE_CHECKING:`` are allowed (they do not run).
- a **shell**: it imports something of ``FORBIDDEN`` itself (trio, httpx, time, ...), or
  it awaits (an ``async def`` outside a ``Protocol``: an ASGI app, a step of a trio task),
  or it is one of the few :data:`OTHER_IO` modules whose I/O is neither.

A module that is neither (it does no I/O but does not say it is sans-IO) fails: it must say
what it is, so a new core cannot drift out of the rule unnoticed. Package ``__init__``
modules of shell packages only re-export, so they are exempt from that last check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent / "mmbot"
MARKER = "sans-IO"

FORBIDDEN = {
    "trio",
    "anyio",
    "httpx",
    "httpcore",
    "trio_websocket",
    "wsproto",
    "websockets",
    "socket",
    "time",
    "random",
    "asyncio",
    "hypercorn",
    "starlette",
    "uuid",
    "prometheus_client",
    "rich",
    "mmbot.clock",
}


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*base, node.module] if node.module else base)


def runtime_imports(source: str, package: str = "mmbot") -> set[str]:
    """Module names imported at run time (TYPE_CHECKING blocks excluded).

    ``package`` is the importing module's package, to resolve relative imports.
    """
    tree = ast.parse(source)
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            found.add(module)
            # ``from mmbot import clock`` imports the module mmbot.clock
            found.update(f"{module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _violations(imported: set[str]) -> set[str]:
    bad = set()
    for name in imported:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in FORBIDDEN:
                bad.add(name)
    return bad


def declares_sans_io(source: str) -> bool:
    """Whether the first line of the module's docstring says it is sans-IO."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return MARKER in first


@attrs.frozen
class Module:
    path: Path  # relative to ROOT
    package: str  # the dotted package the module lives in (for relative imports)
    source: str
    is_init: bool

    @property
    def name(self) -> str:
        return str(self.path)


def _modules() -> list[Module]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        package = ".".join(["mmbot", *rel.parent.parts])
        found.append(Module(rel, package, path.read_text(), path.name == "__init__.py"))
    return found


MODULES = _modules()


def _core_packages() -> set[Path]:
    """Folders whose ``__init__`` declares the whole package sans-IO."""
    return {m.path.parent for m in MODULES if m.is_init and declares_sans_io(m.source)}


CORE_PACKAGES = _core_packages()


def is_core(module: Module) -> bool:
    in_core_package = any(
        module.path.parent == pkg or pkg in module.path.parents for pkg in CORE_PACKAGES
    )
    return in_core_package or declares_sans_io(module.source)


#: Shells whose I/O is not an import the checker sees, and why.
OTHER_IO = {
    "__main__.py": "the process entry point",
    "cli.py": "the command line: reads argv, prints, exits",
    "bot/logs.py": "writes log lines to a stream",
    "chaos/picture.py": "draws a chaos run's timeline into a PNG or SVG file (matplotlib)",
    "edge/halving_picture.py": "draws a calibration's curves into a PNG or SVG file (matplotlib)",
    "parallel.py": "starts worker processes (a process pool) or a Dask client, and waits on them",
    # benchmark presets: they run mmbot.bench.loopback's scenario (its own process, sockets
    # and trio loop) and print its figures
    "bench/audit.py": "runs a loopback scenario and prints its figures",
    "bench/scaling.py": "runs loopback scenarios and prints their figures",
    "bench/reaction.py": "runs a loopback scenario and prints its figures",
    "bench/throughput.py": "runs a loopback scenario and prints its figures",
}


def awaits(source: str) -> bool:
    """Whether the module defines a coroutine function outside a ``Protocol`` class."""
    tree = ast.parse(source)
    protocols = {
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(getattr(base, "id", getattr(base, "attr", "")) == "Protocol" for base in node.bases)
    }
    inside = {id(n) for cls in protocols for n in ast.walk(cls)}
    return any(
        isinstance(node, ast.AsyncFunctionDef) and id(node) not in inside for node in ast.walk(tree)
    )


CORES = [m for m in MODULES if is_core(m)]
OTHERS = [m for m in MODULES if not is_core(m)]


@pytest.mark.parametrize("module", CORES, ids=lambda m: m.name)
def test_core_module_imports_no_io(module: Module) -> None:
    bad = _violations(runtime_imports(module.source, module.package))
    assert not bad, f"sans-IO core {module.name} imports {sorted(bad)}"


@pytest.mark.parametrize("module", [m for m in OTHERS if not m.is_init], ids=lambda m: m.name)
def test_every_other_module_is_really_a_shell(module: Module) -> None:
    """A module that does no I/O must say it is sans-IO (so the rule covers it)."""
    imports_io = bool(_violations(runtime_imports(module.source, module.package)))
    assert imports_io or awaits(module.source) or module.name in OTHER_IO, (
        f"{module.name} imports no I/O, clock or RNG but does not say '{MARKER}' in the first "
        "line of its docstring: declare it a core (or put it in a core package)"
    )


def test_the_core_packages_are_the_ones_the_architecture_names() -> None:
    names = {".".join(p.parts) for p in CORE_PACKAGES}
    assert {"quoting", "sim.engine", "sim.dialect", "venue.binance.codec"} <= names, names


def test_checker_catches_forbidden_imports() -> None:
    source = "import trio\nfrom time import monotonic\nimport random as r\nimport decimal\n"
    assert _violations(runtime_imports(source)) == {"trio", "time", "time.monotonic", "random"}


def test_checker_allows_type_checking_imports() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import random\n"
    assert _violations(runtime_imports(source)) == set()


def test_checker_sees_nested_imports() -> None:
    source = "def f():\n    import socket\n    return socket\n"
    assert _violations(runtime_imports(source)) == {"socket"}


def test_checker_resolves_relative_imports() -> None:
    source = "from ..clock import derive_rng\nfrom . import model\nfrom .. import clock\n"
    assert _violations(runtime_imports(source, "mmbot.sim")) == {
        "mmbot.clock",
        "mmbot.clock.derive_rng",
    }


def test_a_module_that_awaits_is_a_shell_but_a_protocol_is_not() -> None:
    assert awaits("async def serve(scope, receive, send):\n    pass\n")
    protocol = "class Venue(Protocol):\n    async def place(self) -> None: ...\n"
    assert not awaits(protocol)


def test_the_other_io_modules_exist() -> None:
    assert {m.name for m in MODULES} >= set(OTHER_IO)


def test_marker_is_read_from_the_docstring_first_line_only() -> None:
    assert declares_sans_io('"""The book (sans-IO).\n\nMore."""\n')
    assert not declares_sans_io('"""The shell.\n\nIts core is sans-IO."""\n')
    assert not declares_sans_io("x = 1\n")
