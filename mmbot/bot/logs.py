"""The bot's structured logs: one event per line, as readable text or JSON, secrets redacted.

What it is for: :func:`configure_logging` installs one handler on the root logger that
writes each record as one line: JSON (``--log-format json``: ``ts``, ``level``, ``logger``,
``event`` and every extra given with ``extra={"symbol": ..., "client_order_id": ...}``) or
text (``INFO mmbot.bot: order placed symbol=BTCUSDT client_order_id=mm-...``). Code logs
an event as a short fixed message with the details as extras, never formatted into it::

    log.info("order placed", extra={"symbol": "BTCUSDT", "client_order_id": cid})

:func:`register_secret` names a string that must never be written: a filter on the handler
replaces it with ``***`` wherever it appears in a record (message, arguments, extras,
traceback), and each line is redacted once more as it is written.

What it must never do: write a registered secret (this is defence in depth: mmbot never
logs one on purpose); read the wall clock itself (``ts`` comes from the injected epoch-ms
clock, e.g. ``EpochClock.now_ms``, or from the record's own creation time); raise into
the code that logs (a record that cannot be written goes to ``logging``'s error path).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from mmbot.config import LogFormat

#: What replaces a registered secret.
MASK = "***"

_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None

#: Attributes every LogRecord has; anything else on a record is an extra.
_RECORD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)

#: Libraries that log every request at INFO: quiet unless the bot logs at DEBUG.
CHATTY_LOGGERS = ("httpx", "httpcore")


def register_secret(value: str) -> None:
    """Never write ``value`` in a log line from now on (an API key, a secret, a token).

    Secrets are process-wide (a key is a key, whichever bot holds it); the empty string
    is ignored.
    """
    global _secret_pattern
    if not value or value in _secrets:
        return
    _secrets.add(value)
    # Longest first, so a secret that contains another is masked whole.
    alternatives = sorted(_secrets, key=len, reverse=True)
    _secret_pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by :data:`MASK`."""
    if _secret_pattern is None:
        return text
    return _secret_pattern.sub(MASK, text)


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The extras a record was logged with (``extra={...}``), in the order given."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


class RedactingFilter(logging.Filter):
    """Replaces registered secrets in a record: its message (args merged in), its extras,
    its traceback and stack. Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secret_pattern is None:
            return True
        try:
            record.msg = redact(record.getMessage())
            record.args = None
            for key, value in extras(record).items():
                if isinstance(value, str):
                    setattr(record, key, redact(value))
                elif not isinstance(value, bool | int | float | None):
                    text = str(value)
                    if redact(text) != text:
                        setattr(record, key, redact(text))
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        except Exception:
            # A record whose message cannot be built (bad args) is left to the formatter,
            # which reports it through logging's error path; the line is still redacted.
            pass
        return True


EpochMsClock = Callable[[], int]


def _iso_ms(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class _EventFormatter(logging.Formatter):
    def __init__(self, clock: EpochMsClock | None) -> None:
        super().__init__()
        self._clock = clock

    def epoch_ms(self, record: logging.LogRecord) -> int:
        if self._clock is not None:
            try:
                return self._clock()
            except Exception:  # e.g. a trio clock asked outside trio.run
                pass
        return int(record.created * 1000)

    def traceback(self, record: logging.LogRecord) -> str | None:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        parts = [p for p in (record.exc_text, record.stack_info) if p]
        return "\n".join(parts) if parts else None


class JsonFormatter(_EventFormatter):
    """``{"ts": "2026-01-01T00:00:00.000Z", "level": "info", "logger": ..., "event": ...,
    <extras>, "exc": <traceback>}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": _iso_ms(self.epoch_ms(record)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in extras(record).items():
            event[f"{key}_" if key in event else key] = value  # an extra never hides a field
        trace = self.traceback(record)
        if trace is not None:
            event["exc"] = trace
        return json.dumps(event, default=str, ensure_ascii=False)


_PLAIN = re.compile(r"^[^\s\"=]+$")


def _text_value(value: Any) -> str:
    text = str(value)
    return text if _PLAIN.match(text) else json.dumps(text, ensure_ascii=False)


class TextFormatter(_EventFormatter):
    """``INFO logger: event key=value ...``; a traceback follows on indented lines, so a
    line that starts at column 0 is always a new event."""

    def format(self, record: logging.LogRecord) -> str:
        fields = "".join(f" {k}={_text_value(v)}" for k, v in extras(record).items())
        message = record.getMessage().replace("\n", "\\n")
        line = f"{record.levelname} {record.name}: {message}{fields}"
        trace = self.traceback(record)
        if trace is not None:
            line += "".join(f"\n  {t}" for t in trace.splitlines())
        return line


class LineHandler(logging.Handler):
    """Writes each record as a line to ``stream`` (None: whatever ``sys.stderr`` is at the
    time of writing, so a live dashboard that redirects stderr shows the lines above it)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = redact(self.format(record))
            stream = self.stream if self.stream is not None else sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def configure_logging(
    format: LogFormat,
    level: str,
    stream: TextIO | None = None,
    *,
    clock: EpochMsClock | None = None,
) -> LineHandler:
    """Send every log record to ``stream`` (default: stderr) as one line in ``format``.

    Replaces the handler an earlier call installed (so calling it twice is safe) and
    leaves any other handler of the root logger alone. ``level`` is ``debug``, ``info``,
    ``warning`` or ``error``. ``clock`` gives epoch milliseconds for ``ts`` (the bot
    passes its ``EpochClock.now_ms``, so simulated runs log simulated time); without it,
    or when it cannot answer, ``ts`` is the record's creation time.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"not a log level: {level!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LineHandler)]:
        root.removeHandler(old)
    handler = LineHandler(stream)
    formatter = JsonFormatter(clock) if format is LogFormat.JSON else TextFormatter(clock)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    return handler
