"""nox sessions. They run in the environment nox itself runs in (the project's venv made by
the README's quickstart), so nothing is installed twice: ``.venv/bin/nox -s tests``.

Sessions: lint, typecheck, tests, chaos, edge_ci (the default, in that order); bench (every
benchmark, prints figures; run it on a quiet machine); chaos (every suite in ``chaos/``,
simulated, fixed seeds, then a bounded ``mmbot chaos fuzz`` run; ``-- --mode live`` runs the live
ones as processes); fuzz (the fuzz run alone, bounded, its size adjustable); edge (the edge
regression suite ``edge/suite.toml`` against its committed baseline; ``-- --update-baseline``
rewrites it); edge_ci (the short suite ``edge/short.toml``, what CI runs).
"""

from __future__ import annotations

import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "chaos", "edge_ci"]
nox.options.default_venv_backend = "none"

PY = sys.executable
#: The bounded fuzz run of ``nox -s chaos`` (and ``nox -s fuzz`` without arguments).
FUZZ_BOUNDED = ["--examples", "20", "--seed", "0"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite (pytest, pytest-trio, hypothesis with the CI profile)."""
    session.run(PY, "-m", "pytest", "-q", *session.posargs, env={"HYPOTHESIS_PROFILE": "ci"})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and import order."""
    session.run(PY, "-m", "ruff", "check", "mmbot", "tests", "noxfile.py")
    session.run(PY, "-m", "ruff", "format", "--check", "mmbot", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on mmbot/."""
    session.run(PY, "-m", "mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark behind ``mmbot bench`` (figures only, no pass/fail on time).

    ``nox -s bench`` runs them all; ``nox -s bench -- pipeline matching`` runs some.
    """
    names = session.posargs or _bench_names()
    for name in names:
        session.run(PY, "-m", "mmbot", "bench", name)


@nox.session
def chaos(session: nox.Session) -> None:
    """Every chaos suite in ``chaos/`` in simulated mode with its fixed seed, then a bounded
    fuzz run (20 random schedules, seed 0); fails if any invariant is violated
    (``nox -s chaos -- chaos/one.toml`` runs some suites and no fuzz). ``nox -s chaos --
    --mode live`` runs the suites whose ``modes`` include ``live`` instead (no fuzz): the
    fake exchange and the bot as processes, in real time (minutes); each mode skips the
    other's suites."""
    from pathlib import Path

    suites = [a for a in session.posargs if a.endswith(".toml")]
    options = [a for a in session.posargs if not a.endswith(".toml")]
    session.run(
        PY, "-m", "mmbot", "chaos", "run",
        *(suites or sorted(str(p) for p in Path("chaos").glob("*.toml"))), *options,
    )  # fmt: skip
    if not session.posargs:
        session.run(PY, "-m", "mmbot", "chaos", "fuzz", *FUZZ_BOUNDED)


@nox.session
def fuzz(session: nox.Session) -> None:
    """A fuzz run alone: by default the bounded one ``nox -s chaos`` ends with (``nox -s fuzz --
    --examples 200 --seed 7`` for more)."""
    args = session.posargs or FUZZ_BOUNDED
    session.run(PY, "-m", "mmbot", "chaos", "fuzz", *args)


@nox.session
def edge(session: nox.Session) -> None:
    """The edge regression suite: fixed seeds and configs, deterministic, compared with the
    committed baseline (``edge/baseline.json``); fails on a drop beyond a figure's tolerance.
    ``nox -s edge -- --update-baseline`` rewrites the baseline deliberately."""
    session.run(PY, "-m", "mmbot", "backtest", "--suite", "edge/suite.toml", *session.posargs)


@nox.session
def edge_ci(session: nox.Session) -> None:
    """The short edge suite CI runs (``edge/short.toml``: one symbol, two seeds, 5 minutes)."""
    session.run(PY, "-m", "mmbot", "backtest", "--suite", "edge/short.toml", *session.posargs)


def _bench_names() -> list[str]:
    import pkgutil
    from pathlib import Path

    folder = Path(__file__).parent / "mmbot" / "bench"
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_"))
