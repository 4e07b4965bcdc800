"""``mmbot run``: one bot as a process, from a checked config to an exit code.

What it is for: running :class:`~mmbot.bot.bot.Bot` the way an operator does. The config
is loaded and checked, and the credentials the venue needs are looked up, before anything
connects (a problem exits 2 naming it). Then the bot runs — in real time (``--mode live``,
against whatever venue the config names, the embedded simulated exchange by default) or
under trio's ``MockClock`` as fast as the CPU allows, deterministic from ``--seed``
(``--mode sim``) — with ``/metrics`` served and the live dashboard on a terminal. SIGINT or
SIGTERM (or ``--duration``) stops it gracefully: quoters pull, in-flight actions settle,
every order of the bot is cancelled and the venue listed until none remains; a second
SIGINT/SIGTERM exits at once (orders may remain: it says so). At exit it prints a summary
(and writes it as JSON with ``--summary-json``, with the exit code and the client ids of
any order its stop saw remain: what ``mmbot chaos run --mode live`` reads). Operators:
SIGUSR2 halts every symbol (reason ``operator``: quotes pulled, orders cancelled), SIGUSR1
resumes every halted one (a kill switch's or the supervisor's halt included).

Exit codes: 0 a clean stop; 1 the bot failed (its tree escalated); 2 a bad config or
argument (nothing was contacted); 3 stopped, but orders of the bot remained on the venue
(named in the log); 130 a second signal.

What it must never do: print or log a credential; contact a venue before the config and
the credentials are checked; exit 0 while the venue still lists an order of the bot.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

from mmbot.bot.bot import Bot, BotHandle
from mmbot.bot.dashboard import run_dashboard
from mmbot.bot.logs import configure_logging, register_secret
from mmbot.bot.metrics import BotMetrics, parse_listen, serve_metrics
from mmbot.bot.session import venue_spec
from mmbot.bot.status import BotStatus
from mmbot.bot.summary import summary_dict, summary_text
from mmbot.clock import SIM_EPOCH_MS, EpochClock, fresh_seed, seed_trio_scheduler
from mmbot.config import BotConfig, LogFormat, VenueKind, default_config, load_config
from mmbot.errors import ChildStartError, ConfigError, ListenError, SupervisorEscalation
from mmbot.venue.connect import credentials_from_env

log = logging.getLogger("mmbot.run")

#: Simulated seconds a ``--mode sim`` run lasts when no ``--duration`` is given.
SIM_DEFAULT_DURATION = 3600.0

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_ORDERS_REMAIN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@attrs.frozen
class RunOptions:
    """What the command line asked for, beyond the config."""

    config: BotConfig
    mode: str = "live"  # "live" or "sim"
    seed: int = 0
    duration: float | None = None  # seconds (simulated seconds in sim mode)
    dashboard: bool = True
    metrics_listen: str | None = None  # overrides config.metrics.listen when given
    summary_json: Path | None = None
    log_format: LogFormat | None = None
    log_level: str | None = None


def build_options(args: Any, environ: Mapping[str, str] | None = None) -> RunOptions:
    """The options of one ``mmbot run`` (ConfigError, naming each problem, on a bad one)."""
    config = default_config() if args.config is None else load_config(args.config)
    problems: list[str] = []
    if args.duration is not None and not args.duration > 0:
        problems.append("--duration: must be > 0 seconds")
    listen = args.metrics_listen
    if listen:
        try:
            parse_listen(listen)
        except ValueError:
            problems.append('--metrics-listen: must be "HOST:PORT" (or "" for off)')
    if problems:
        raise ConfigError(problems)
    if config.venue.kind is not VenueKind.SIM:
        credentials = credentials_from_env(venue_spec(config), environ)
        if credentials is not None:
            for secret in credentials:
                register_secret(secret)
    seed = args.seed if args.seed is not None else (config.bot.seed or fresh_seed())
    duration = args.duration
    if args.mode == "sim" and duration is None:
        duration = SIM_DEFAULT_DURATION
    return RunOptions(
        config=config,
        mode=args.mode,
        seed=seed,
        duration=duration,
        dashboard=not args.no_dashboard and args.mode == "live",
        metrics_listen=listen,
        summary_json=Path(args.summary_json) if args.summary_json else None,
        log_format=LogFormat(args.log_format) if args.log_format else None,
        log_level=args.log_level,
    )


@attrs.define
class Outcome:
    code: int = EXIT_OK
    status: BotStatus | None = None
    #: Client ids of the bot's orders its graceful stop saw still open (exit code 3).
    orders_left: tuple[str, ...] = ()


def main(options: RunOptions) -> int:
    """Run one bot to its end; returns the exit code (see the module docstring)."""
    config = options.config
    outcome = Outcome()
    kwargs: dict[str, Any] = {}
    if options.mode == "sim":
        seed_trio_scheduler(options.seed)
        kwargs["clock"] = trio.testing.MockClock(autojump_threshold=0)
    print(
        f"mmbot run: {config.bot.name}, {len(config.bot.symbols)} symbols on "
        f"{config.venue.kind.value}, mode {options.mode}, seed {options.seed}",
        flush=True,
    )
    try:
        trio.run(_run, options, outcome, **kwargs)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    if outcome.status is not None:
        print(summary_text(outcome.status), flush=True)
        if options.summary_json is not None:
            data = summary_dict(outcome.status)
            data["exit_code"] = outcome.code
            data["orders_left"] = list(outcome.orders_left)
            options.summary_json.write_text(json.dumps(data, indent=2) + "\n")
    return outcome.code


async def _run(options: RunOptions, outcome: Outcome) -> None:
    config = options.config
    epoch = EpochClock(SIM_EPOCH_MS) if options.mode == "sim" else EpochClock.from_wall_clock()
    configure_logging(
        options.log_format or config.log.format,
        options.log_level or config.log.level,
        clock=epoch.now_ms,
    )
    metrics = BotMetrics(symbols=config.bot.symbols)
    listen = options.metrics_listen if options.metrics_listen is not None else config.metrics.listen
    bot = Bot(config, mode=options.mode, seed=options.seed, metrics=metrics)
    if options.dashboard:
        bot.extras = (("dashboard", _dashboard_child(bot)),)
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                started: list[BotHandle] = []  # the handle, once the bot is up
                nursery.start_soon(_stop_on_signals, signals, started, nursery.cancel_scope)
                if listen:  # bound before anything connects: a busy port fails fast
                    host, port = parse_listen(listen)
                    await nursery.start(serve_metrics, metrics, host, port)
                handle: BotHandle = await nursery.start(bot.run)
                started.append(handle)
                nursery.start_soon(_operator_signals, bot, handle)
                if options.duration is not None:
                    nursery.start_soon(_stop_after, options.duration, handle)
                await _wait_stopped(bot)
                nursery.cancel_scope.cancel()
    except* ListenError as group:
        print(f"mmbot run: --metrics-listen: {group.exceptions[0]}", file=sys.stderr)
        outcome.code = EXIT_CONFIG
    except* SupervisorEscalation as group:
        log.error("the bot failed", extra={"error": repr(group.exceptions[0])})
        outcome.code = EXIT_FAILED
    except* ChildStartError as group:
        error = group.exceptions[0]
        cause = error.reason if isinstance(error, ChildStartError) else error
        print(f"mmbot run: the bot could not start: {cause!r}", file=sys.stderr)
        log.error("the bot could not start", extra={"error": repr(cause)})
        outcome.code = EXIT_FAILED
    if outcome.code == EXIT_CONFIG:
        return
    outcome.status = bot.last_status
    report = bot.stop_report
    if report is not None:
        outcome.orders_left = tuple(c for cids in report.remaining.values() for c in cids)
    if outcome.code == EXIT_OK and report is not None and not report.clean:
        outcome.code = EXIT_ORDERS_REMAIN


async def _wait_stopped(bot: Bot) -> None:
    await bot.stopped.wait()


async def _stop_after(seconds: float, handle: BotHandle) -> None:
    await trio.sleep(seconds)
    log.info("duration reached: stopping")
    handle.stop_nowait()


async def _stop_on_signals(
    signals: Any, started: list[BotHandle], starting: trio.CancelScope
) -> None:
    """The first SIGINT/SIGTERM stops the bot gracefully (during start-up too: the start is
    cancelled and the tree stops in order); the second exits at once."""
    first = True
    async for signum in signals:
        name = signal.Signals(signum).name
        if first:
            print(f"{name}: stopping (cancelling every order; again to exit at once)", flush=True)
            if started:
                started[0].stop_nowait()
            else:
                starting.cancel()
            first = False
        else:
            print(f"{name} again: exiting at once; orders may remain on the venue", flush=True)
            sys.stdout.flush()
            os._exit(EXIT_INTERRUPTED)


async def _operator_signals(bot: Bot, handle: BotHandle) -> None:
    """SIGUSR2 halts every symbol (reason ``operator``); SIGUSR1 resumes every halted one."""
    with trio.open_signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as signals:
        async for signum in signals:
            if signum == signal.SIGUSR1:
                handle.resume_all()
                continue
            for symbol in bot.config.bot.symbols:
                handle.halt(symbol, "operator")


def _dashboard_child(bot: Bot) -> Callable[..., Any]:
    async def run() -> None:
        await run_dashboard(bot.status)

    return run
