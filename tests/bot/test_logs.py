"""Structured logs: one event per line (JSON or text), extras kept, secrets never written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from mmbot.bot.logs import MASK, EpochMsClock, configure_logging, redact, register_secret
from mmbot.clock import SIM_EPOCH_MS
from mmbot.config import LogFormat

SECRET = "s3cr3t-Qx7vKp2LmN9"
log = logging.getLogger("mmbot.test")


pytestmark = pytest.mark.usefixtures("restore_logging")


def configured(
    format: LogFormat, level: str = "info", clock: EpochMsClock | None = None
) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(format, level, stream, clock=clock)
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_event_is_one_line_with_ts_level_logger_event_and_extras() -> None:
    stream = configured(LogFormat.JSON, clock=lambda: SIM_EPOCH_MS + 1_234)
    log.info(
        "order placed",
        extra={"symbol": "BTCUSDT", "client_order_id": "mm-r1-B0-7", "reason": "new quote"},
    )
    assert json_lines(stream) == [
        {
            "ts": "2026-01-01T00:00:01.234Z",
            "level": "info",
            "logger": "mmbot.test",
            "event": "order placed",
            "symbol": "BTCUSDT",
            "client_order_id": "mm-r1-B0-7",
            "reason": "new quote",
        }
    ]


def test_without_a_clock_ts_is_the_records_own_time() -> None:
    stream = configured(LogFormat.JSON)
    record = log.makeRecord("mmbot.test", logging.INFO, __file__, 1, "tick", (), None)
    record.created = 0.5
    logging.getLogger().handle(record)
    assert json_lines(stream)[0]["ts"] == "1970-01-01T00:00:00.500Z"


def test_a_clock_that_cannot_answer_falls_back_to_the_records_time() -> None:
    def outside_trio() -> int:
        raise RuntimeError("must be called from async context")

    stream = configured(LogFormat.JSON, clock=outside_trio)
    log.warning("still logged")
    assert json_lines(stream)[0]["event"] == "still logged"


def test_an_extra_named_like_a_field_does_not_hide_the_field() -> None:
    stream = configured(LogFormat.JSON)
    log.info("x", extra={"event": "shadow"})
    line = json_lines(stream)[0]
    assert (line["event"], line["event_"]) == ("x", "shadow")


def test_an_exception_stays_inside_its_one_json_line() -> None:
    stream = configured(LogFormat.JSON)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("quoter crashed", extra={"symbol": "ETHUSDT"})
    (line,) = json_lines(stream)
    assert line["level"] == "error" and line["symbol"] == "ETHUSDT"
    assert "ValueError: boom" in str(line["exc"])


def test_text_is_level_logger_event_then_key_values() -> None:
    stream = configured(LogFormat.TEXT)
    log.info("quotes pulled", extra={"symbol": "BTCUSDT", "reason": "stale book", "age_s": 7.5})
    assert stream.getvalue() == (
        'INFO mmbot.test: quotes pulled symbol=BTCUSDT reason="stale book" age_s=7.5\n'
    )


def test_text_keeps_one_event_per_line() -> None:
    stream = configured(LogFormat.TEXT)
    log.info("two\nlines", extra={"note": "a\nb"})
    try:
        raise KeyError("gone")
    except KeyError:
        log.error("failed", exc_info=True)
    lines = stream.getvalue().splitlines()
    events = [line for line in lines if not line.startswith("  ")]
    assert events == ['INFO mmbot.test: two\\nlines note="a\\nb"', "ERROR mmbot.test: failed"]
    assert any("KeyError: 'gone'" in line for line in lines)  # the traceback, indented


def test_records_below_the_level_are_not_written() -> None:
    stream = configured(LogFormat.TEXT, "warning")
    log.info("quiet")
    log.warning("loud")
    assert stream.getvalue() == "WARNING mmbot.test: loud\n"


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a log level"):
        configure_logging(LogFormat.TEXT, "chatty")


def test_configuring_twice_replaces_the_handler() -> None:
    first = configured(LogFormat.TEXT)
    second = configured(LogFormat.JSON)
    log.info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


def test_per_request_logs_of_http_libraries_are_quiet_unless_debugging() -> None:
    configured(LogFormat.TEXT, "info")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    configured(LogFormat.TEXT, "debug")
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)


def test_without_a_stream_lines_go_to_stderr_as_it_is_when_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging(LogFormat.TEXT, "info")
    redirected = io.StringIO()
    monkeypatch.setattr("sys.stderr", redirected)  # what rich's Live does while it runs
    log.info("above the dashboard")
    assert redirected.getvalue() == "INFO mmbot.test: above the dashboard\n"


# -- secrets ------------------------------------------------------------------------------


class Holder:
    def __repr__(self) -> str:
        return f"Holder(key={SECRET})"

    __str__ = __repr__


def log_the_secret_everywhere() -> None:
    log.info(f"key is {SECRET}")
    log.info("key is %s", SECRET)
    log.info("ok", extra={"api_key": SECRET, "params": {"signature": SECRET}, "obj": Holder()})
    try:
        raise RuntimeError(f"request failed with {SECRET}")
    except RuntimeError:
        log.exception("request failed")
    log.info("stack", stack_info=True, extra={"note": f"..{SECRET}.."})


@pytest.mark.parametrize("format", list(LogFormat))
def test_a_registered_secret_never_appears_in_either_format(format: LogFormat) -> None:
    register_secret(SECRET)
    stream = configured(format)
    log_the_secret_everywhere()
    written = stream.getvalue()
    assert SECRET not in written
    assert written.count(MASK) >= 7


def test_redact_masks_the_longest_secret_whole() -> None:
    register_secret("abcd1234")
    register_secret("abcd1234-long-tail")
    assert redact("x abcd1234-long-tail y abcd1234") == f"x {MASK} y {MASK}"


def test_the_empty_string_is_never_a_secret() -> None:
    register_secret("")
    assert redact("nothing to hide") == "nothing to hide"
