"""The sans-IO rule (DESIGN.md §2): starred core modules import no I/O, clock or RNG.

The test reads each core module's imports from its source; imports under
``if TYPE_CHECKING:`` are allowed (they do not run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "mmbot"

# Modules that must stay sans-IO. Every listed module must exist (a typo or a move fails
# the test instead of skipping it); a new core module is added here when it is written.
CORES = [
    "model.py",
    "errors.py",
    "quoting/book.py",
    "quoting/pipeline.py",
    "quoting/stages/__init__.py",
    "quoting/stages/guards.py",
    "quoting/stages/fair_value.py",
    "quoting/stages/volatility.py",
    "quoting/stages/spread.py",
    "quoting/stages/skew.py",
    "quoting/stages/sizing.py",
    "quoting/stages/rounding.py",
    "quoting/orders.py",
    "quoting/order_values.py",
    "quoting/order_states.py",
    "quoting/client_ids.py",
    "quoting/reconcile.py",
    "quoting/ledger.py",
    "quoting/ledger_views.py",
    "quoting/risk.py",
    "resilience/breaker.py",
    "resilience/backoff.py",
    "resilience/breaker_config.py",
    "resilience/buckets.py",
    "resilience/outcomes.py",
    "venue/events.py",
    "venue/binance/signing.py",
    "venue/binance/codec.py",
    "venue/binance/codec_base.py",
    "venue/binance/codec_rest.py",
    "venue/binance/rest_endpoints.py",
    "venue/binance/errors.py",
    "venue/binance/user_state.py",
    "sim/engine/__init__.py",
    "sim/engine/contract.py",
    "sim/engine/matching.py",
    "sim/engine/symbol.py",
    "sim/engine/book.py",
    "sim/engine/admission.py",
    "sim/engine/units.py",
    "sim/engine/balances.py",
    "sim/engine/reports.py",
    "sim/market/__init__.py",
    "sim/market/simulator.py",
    "sim/market/config.py",
    "sim/history/__init__.py",
    "sim/history/log.py",
    "sim/history/digest.py",
    "sim/dialect/__init__.py",
    "sim/dialect/gateway.py",
    "sim/dialect/rest.py",
    "sim/dialect/ws_api.py",
    "sim/dialect/routes.py",
    "sim/dialect/operations.py",
    "sim/dialect/params.py",
    "sim/dialect/limits.py",
    "sim/dialect/bodies.py",
    "sim/dialect/request.py",
    "sim/dialect/admin.py",
    "sim/streams/__init__.py",
    "sim/streams/names.py",
    "sim/streams/feed.py",
    "sim/streams/depth.py",
    "sim/streams/payloads.py",
    "sim/streams/control.py",
]

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


@pytest.mark.parametrize("module", CORES)
def test_core_module_imports_no_io(module: str) -> None:
    path = ROOT / module
    assert path.exists(), f"listed sans-IO core {module} does not exist"
    package = ".".join(["mmbot", *Path(module).parent.parts])
    bad = _violations(runtime_imports(path.read_text(), package))
    assert not bad, f"sans-IO core {module} imports {sorted(bad)}"


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
