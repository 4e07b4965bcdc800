"""Fixtures for the observability tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from mmbot.bot.logs import CHATTY_LOGGERS


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger (and the loggers configure_logging quiets) back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in chatty.items():
        logging.getLogger(name).setLevel(old)
