"""nox sessions. They run in the environment nox itself runs in (the project's venv made by
the README's quickstart), so nothing is installed twice: ``.venv/bin/nox -s tests``.

Sessions: lint, typecheck, tests (the default, in that order); bench and chaos come later.
"""

from __future__ import annotations

import sys

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.default_venv_backend = "none"

PY = sys.executable


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
