"""Runs a chaos scenario in live mode: the fake exchange and the bot as processes (trio shell).

What it is for: ``mmbot chaos run --mode live``. One run, in real time on 127.0.0.1:

1. ``mmbot exchange serve`` starts as a process (the scenario's symbols and seed, free
   ports, fresh credentials in its environment, the history unbounded enough to hold the
   run); the runner reads its ports from the banner, and its clock (seconds since the
   exchange started: the scenario's time 0) from ``/_sim/stats``.
2. The scenario's exchange faults are set through the admin API (``PUT /_sim/faults``, the
   ``[[faults]]`` tables as written, each given its duration): the exchange strikes them on
   its own clock, exactly as in simulated mode.
3. ``mmbot run`` starts as a process against it (``venue.kind = "loopback"``, the
   scenario's bot sections, ``--summary-json``). Each ``kill_bot`` sends it a real SIGKILL
   at its ``start``, and ``restart_after`` later a fresh ``mmbot run`` (a seed derived for
   the incarnation: a new run id) starts on the same account.
4. At the end of the safety phase every fault is healed (``DELETE /_sim/faults``); after
   the liveness phase the bot is stopped as an operator would, with SIGINT, and its exit
   code and summary file (run id, fills, positions, orders its stop saw remain) are read.
5. The exchange's history is read through ``/_sim/history`` and its digest through
   ``/_sim/stats``; the exchange is stopped (SIGTERM); the invariants are checked as in
   simulated mode. ``deterministic_replay`` does not apply (real time, two processes): it is
   reported skipped.

What it must never do: bind or contact anything but 127.0.0.1; wait without a bound (every
wait has a deadline); leave a process behind (both are killed at the end, whatever
happened); put a credential on a command line, in a file or in the output (they travel in
the children's environment only).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs
import httpx
import trio

from mmbot.chaos.bot_side import BOT_SIDE, BREAKERS_OPEN
from mmbot.chaos.invariants import check
from mmbot.chaos.record import BotEnd, RunRecord
from mmbot.chaos.runner import (
    ChaosResult,
    bot_config,
    bot_config_table,
    check_mode,
    fault_windows,
    symbol_limits,
)
from mmbot.chaos.scenario import Scenario, ScenarioError, fault_plan_from_tables
from mmbot.clock import derive_seed
from mmbot.config import dumps_toml
from mmbot.sim.history import (
    Entry,
    EntryKind,
    History,
    RequestRecord,
    from_jsonable,
    to_jsonable,
)

HOST = "127.0.0.1"
#: The history kinds the checkers and the picture read (messages and book deltas are not).
HISTORY_KINDS = (
    EntryKind.REQUEST,
    EntryKind.EXECUTION,
    EntryKind.FAULT,
    EntryKind.PUBLIC_TRADE,
    EntryKind.SYMBOL_STATUS,
    EntryKind.ACCOUNT_POSITION,
    EntryKind.BALANCE_UPDATE,
)
#: What the exchange keeps of its history's records (requests, execution reports, faults:
#: what the checkers read): all of a run of hours.
HISTORY_RECORDS = 2_000_000
#: ... and of its bulk (frames sent, book deltas, public trades: only the picture reads the
#: trades): the newest 200,000..400,000, some minutes of a busy market, ~100 MB at most.
HISTORY_BULK = 200_000
_BANNER_END = "Ctrl-C or SIGTERM stops it."
_PORTS = re.compile(
    r"REST base:\s+http://127\.0\.0\.1:(\d+).*?Streams base:\s+ws://127\.0\.0\.1:(\d+)", re.S
)


class LiveRunError(Exception):
    """The live run could not be carried out (a process would not start, the exchange did
    not answer): a harness failure, not a verdict."""


@attrs.frozen
class LiveSettings:
    """The bounds of a live run's waits (seconds)."""

    start_timeout: float = 60.0  # the exchange's banner
    stop_timeout: float = 60.0  # the bot's graceful stop (its cancel deadline is 15 s)
    kill_timeout: float = 10.0  # a process after SIGKILL or SIGTERM
    request_timeout: float = 30.0  # one admin request


@attrs.define
class _Incarnation:
    number: int
    seed: int
    process: trio.Process
    summary: Path
    started_ms: int
    killed: bool = False


def fault_tables(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's exchange ``[[faults]]`` tables as the admin API takes them: as
    written, each given the duration the scenario gave it (to the end of the safety phase
    when it named none). ScenarioError if they no longer read as the scenario's plan."""
    faults = scenario.faults.faults
    if len(scenario.fault_tables) != len(faults):
        raise ScenarioError(
            f"{scenario.path or scenario.name}: live mode sends the faults as written, and "
            "this scenario's plan was changed after it was read"
        )
    tables: list[dict[str, Any]] = []
    for table, fault in zip(scenario.fault_tables, faults, strict=True):
        duration = getattr(fault, "duration", None)
        tables.append({**table, "duration": duration} if duration is not None else dict(table))
    if fault_plan_from_tables(tables, source=f"{scenario.path or scenario.name}: faults") != (
        scenario.faults
    ):
        raise ScenarioError(
            f"{scenario.path or scenario.name}: live mode sends the faults as written, and "
            "they no longer read as this scenario's plan"
        )
    return tables


def run_live(
    scenario: Scenario,
    *,
    seed: int | None = None,
    workdir: Path | None = None,
    settings: LiveSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> ChaosResult:
    """Run ``scenario`` in live mode (with ``seed``, else its own) and check its invariants.
    The processes' output and the bot's config and summaries are kept in ``workdir``
    (default: a temporary folder, removed). ScenarioError before anything starts for a
    scenario that cannot run live; LiveRunError if the run could not be carried out."""
    seed = scenario.seed if seed is None else seed
    check_mode(scenario, "live")
    tables = fault_tables(scenario)
    bot_config(scenario)  # a bad bot config fails here, before anything starts
    say = progress or (lambda _text: None)
    settings = settings or LiveSettings()
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return trio.run(_run, scenario, seed, tables, workdir, settings, say)
    with tempfile.TemporaryDirectory(prefix="mmbot-chaos-live-") as folder:
        return trio.run(_run, scenario, seed, tables, Path(folder), settings, say)


async def _run(
    scenario: Scenario,
    seed: int,
    tables: list[dict[str, Any]],
    workdir: Path,
    settings: LiveSettings,
    say: Callable[[str], None],
) -> ChaosResult:
    key, secret = "chaos-" + secrets.token_hex(8), secrets.token_hex(32)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MMBOT_SIM_API_KEY": key,
        "MMBOT_SIM_API_SECRET": secret,
        "MMBOT_API_KEY": key,
        "MMBOT_API_SECRET": secret,
    }
    processes: list[trio.Process] = []
    files: list[IO[bytes]] = []
    try:
        exchange = await _start_process(
            [sys.executable, "-m", "mmbot", "exchange", "serve", "--seed", str(seed),
             "--rest-port", "0", "--ws-port", "0", "--symbols", ",".join(scenario.symbols),
             "--history-max-bulk", str(HISTORY_BULK),
             "--history-max-records", str(HISTORY_RECORDS)],
            workdir / "exchange", env, processes, files,
        )  # fmt: skip
        rest_port, ws_port = await _read_ports(exchange, workdir / "exchange.out", settings)
        base = f"http://{HOST}:{rest_port}"
        async with httpx.AsyncClient(base_url=base, timeout=settings.request_timeout) as admin:
            stats = await _get(admin, "/_sim/stats")
            origin = trio.current_time() - float(stats["clock_s"])
            start_ms = int(stats["started_ms"])
            say(f"exchange up on 127.0.0.1:{rest_port} (REST) and :{ws_port} (WebSocket)")
            if tables:
                await _send(admin, "PUT", "/_sim/faults", {"faults": tables})
            info = await _get(admin, "/api/v3/exchangeInfo")
            base_assets = {s["symbol"]: s["baseAsset"] for s in info["symbols"]}
            config_path = workdir / "bot.toml"
            table = bot_config_table(scenario)
            table["venue"] = {
                **table.get("venue", {}),
                "kind": "loopback",
                "host": HOST,
                "rest_port": rest_port,
                "ws_port": ws_port,
            }
            table["metrics"] = {**table.get("metrics", {}), "listen": ""}
            bot_config(scenario, table)
            _write(config_path, dumps_toml(table))

            async def start_bot(number: int) -> _Incarnation:
                own = seed if number == 0 else derive_seed(seed, f"incarnation-{number}")
                summary = workdir / f"bot-{number}.json"
                now_ms = int((await _get(admin, "/_sim/stats"))["time_ms"])
                process = await _start_process(
                    [sys.executable, "-m", "mmbot", "run", "--config", str(config_path),
                     "--mode", "live", "--seed", str(own), "--no-dashboard",
                     "--metrics-listen", "", "--summary-json", str(summary)],
                    workdir / f"bot-{number}", env, processes, files,
                )  # fmt: skip
                say(f"bot {number} started (pid {process.pid}, seed {own})")
                return _Incarnation(number, own, process, summary, now_ms)

            incarnations = [await start_bot(0)]
            for number, kill in enumerate(scenario.kills, start=1):
                await trio.sleep_until(origin + kill.start)
                victim = incarnations[-1]
                victim.killed = victim.process.returncode is None
                if victim.killed:
                    victim.process.kill()  # SIGKILL: no shutdown path
                    say(f"kill_bot: SIGKILL to bot {victim.number} at {kill.start:g} s")
                    run_id = _run_id(workdir / f"bot-{victim.number}.err")
                    note = {"name": "kill_bot", "target": "bot", "detail": f"run {run_id} killed"}
                    await _send(admin, "POST", "/_sim/faults/record", note)
                await _wait(victim.process, settings.kill_timeout)
                await trio.sleep(kill.restart_after)
                incarnations.append(await start_bot(number))
            await trio.sleep_until(origin + scenario.duration)  # the safety phase
            healed = await _send(admin, "DELETE", "/_sim/faults", None)
            heal_seq, heal_ms = int(healed["seq"]), int(healed["time_ms"])
            say(f"faults healed at {scenario.duration:g} s; liveness phase {scenario.heal:g} s")
            await trio.sleep(scenario.heal)  # the liveness phase
            healed_seq = int((await _get(admin, "/_sim/stats"))["last_seq"])
            final = incarnations[-1]
            stopped = await _stop_bot(final, settings, say)
            # what the exchange held when the graceful stop returned (cancel_all_complete)
            stopped_seq = int((await _get(admin, "/_sim/stats"))["last_seq"]) if stopped == 0 else 0
            history = await _read_history(admin)
            _write(
                workdir / "history.jsonl",
                "".join(json.dumps(to_jsonable(e)) + "\n" for e in history.entries()),
            )
            stats = await _get(admin, "/_sim/stats")
        await _stop(exchange, settings)
    finally:
        with trio.CancelScope(shield=True):
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    with trio.move_on_after(settings.kill_timeout):
                        await process.wait()
        for file in files:
            file.close()
    summary = _summary(final.summary)
    error = _error(incarnations, stopped, workdir)
    symbols = summary.get("symbols", {})
    record = RunRecord(
        history,
        BotEnd(
            prefix=table.get("bot", {}).get("client_id_prefix", "mm"),
            account="user",
            start_ms=start_ms,
            error=error,
            orders_left=tuple(summary.get("orders_left", ())),
            fills={s: int(v.get("fills", 0)) for s, v in symbols.items()},
            positions={s: Decimal(v.get("position", "0")) for s, v in symbols.items()},
            healed_seq=healed_seq,
            heal_seq=heal_seq,
            heal_ms=heal_ms,
            resumes_within_s=scenario.resumes_within,
            symbols=scenario.symbols,
            base_assets=base_assets,
            ledger_since_ms=first_subscription_ms(history, "user", final.started_ms),
            run_id=str(summary.get("run_id", "")),
            stopped_seq=stopped_seq,
            limits=symbol_limits(bot_config(scenario), scenario.symbols),
            faults=fault_windows(scenario, start_ms),
        ),
    )
    violations = check(record, scenario.invariants)
    skipped = {}
    if "deterministic_replay" in scenario.invariants:
        skipped["deterministic_replay"] = (
            "live mode runs in real time across processes: a seed does not replay it bit for "
            "bit (simulated mode does)"
        )
    if scenario.breakers_open:
        skipped[BREAKERS_OPEN] = (
            "live mode does not hear the bot's breakers (the bot is another process); "
            "simulated mode does"
        )
    for name in BOT_SIDE:
        if name in scenario.invariants:
            skipped[name] = (
                "live mode does not record the bot's side (its requests and the book data it "
                "received: the bot is another process); simulated mode does"
            )
    return ChaosResult(
        scenario=scenario,
        seed=seed,
        violations={n: violations.get(n, []) for n in scenario.invariants if n not in skipped},
        digest=str(stats["digest"]),
        replay_digest=None,
        history_entries=int(stats["last_seq"]),
        fills=sum(int(v.get("fills", 0)) for v in symbols.values()),
        orders=sum(int(v.get("actions", 0)) for v in symbols.values()),
        record=record,
        mode="live",
        skipped=skipped,
    )


#: The WebSocket API / REST operations that subscribe an account's user data stream.
_SUBSCRIBE = ("userDataStream.subscribe", "userDataStream.subscribe.signature")


def first_subscription_ms(history: History, account: str, since_ms: int) -> int:
    """When a bot process started at ``since_ms`` first heard its account's events: its first
    user-data subscription the exchange accepted (``since_ms`` if none). A fresh process
    answers for the fills from then on: what filled while it was still starting up (an
    earlier run's orders, after a kill) reached no one's stream, and its ledger starts
    from the balances it reads after subscribing (``mmbot/bot/session.py``)."""
    for entry in history.entries(EntryKind.REQUEST):
        request = entry.payload
        if (
            entry.time_ms >= since_ms
            and isinstance(request, RequestRecord)
            and request.method in _SUBSCRIBE
            and request.account == account
            and request.status == 200
        ):
            return entry.time_ms
    return since_ms


async def _start_process(
    args: Sequence[str],
    stem: Path,
    env: Mapping[str, str],
    processes: list[trio.Process],
    files: list[IO[bytes]],
) -> trio.Process:
    """Start ``args`` with its output in ``<stem>.out`` and ``<stem>.err``."""
    out, err = _open_output(stem)
    files += (out, err)
    try:
        process = await trio.lowlevel.open_process(list(args), stdout=out, stderr=err, env=env)
    except OSError as exc:
        raise LiveRunError(f"cannot start {args[3]!r}: {exc}") from None
    processes.append(process)
    return process


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _open_output(stem: Path) -> tuple[IO[bytes], IO[bytes]]:
    """``<stem>.out`` and ``<stem>.err``, for a child's stdout and stderr (closed at the
    run's end)."""
    out = open(stem.with_suffix(".out"), "wb")  # noqa: SIM115
    try:
        return out, open(stem.with_suffix(".err"), "wb")
    except OSError:
        out.close()
        raise


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


_RUN_ID = re.compile(r"starting run_id=(\w+)")


def _run_id(log: Path) -> str:
    """The run id a bot process logged at its start ("?" if it had not yet)."""
    match = _RUN_ID.search(_text(log))
    return "?" if match is None else match.group(1)


def _tail(path: Path, lines: int = 5) -> str:
    return " | ".join(_text(path).strip().splitlines()[-lines:])


async def _read_ports(
    process: trio.Process, banner: Path, settings: LiveSettings
) -> tuple[int, int]:
    """The exchange's REST and WebSocket ports, from its banner."""
    with trio.move_on_after(settings.start_timeout):
        while True:
            text = _text(banner)
            if _BANNER_END in text:
                match = _PORTS.search(text)
                if match is None:
                    raise LiveRunError(f"the exchange's banner names no ports: {text[-500:]!r}")
                return int(match.group(1)), int(match.group(2))
            if process.returncode is not None or process.poll() is not None:
                raise LiveRunError(
                    f"the exchange exited ({process.returncode}) before serving: "
                    f"{_tail(banner.with_suffix('.err'))}"
                )
            await trio.sleep(0.05)
    raise LiveRunError(f"the exchange did not serve within {settings.start_timeout:g} s")


async def _request(
    admin: httpx.AsyncClient, method: str, path: str, body: object | None = None
) -> Any:
    try:
        content = None if body is None else json.dumps(body)
        answer = await admin.request(method, path, content=content)
    except httpx.HTTPError as exc:
        raise LiveRunError(f"{method} {path}: the exchange did not answer: {exc!r}") from None
    if answer.status_code != 200:
        raise LiveRunError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
    return answer.json()


async def _get(admin: httpx.AsyncClient, path: str) -> Any:
    return await _request(admin, "GET", path)


async def _send(admin: httpx.AsyncClient, method: str, path: str, body: object | None) -> Any:
    return await _request(admin, method, path, body)


async def _read_history(admin: httpx.AsyncClient) -> History:
    """The kinds of entries the checkers read, paged through ``/_sim/history``."""
    entries: list[Entry] = []
    for kind in HISTORY_KINDS:
        since = 0
        for _page in range(10_000):  # 10,000 entries a page: 100 million at most
            page = await _get(admin, f"/_sim/history?kind={kind.value}&since={since}")
            found = page["entries"]
            if not found:
                break
            try:
                entries.extend(from_jsonable(e) for e in found)
            except ValueError as exc:
                raise LiveRunError(f"the exchange's history: {exc}") from None
            since = int(found[-1]["seq"])
    return History.from_entries(entries)


async def _wait(process: trio.Process, within: float) -> int | None:
    """``process``'s exit code once it exited ``within`` seconds (None: still running)."""
    with trio.move_on_after(within):
        return await process.wait()
    return None


async def _stop_bot(
    bot: _Incarnation, settings: LiveSettings, say: Callable[[str], None]
) -> int | None:
    """Stop the bot as an operator does (SIGINT, its graceful stop); its exit code, or None
    when it did not exit in time (then it is killed)."""
    if bot.process.returncode is None:
        say(f"stopping bot {bot.number} (SIGINT: it cancels its orders)")
        bot.process.send_signal(signal.SIGINT)
    code = await _wait(bot.process, settings.stop_timeout)
    if code is None:
        bot.process.kill()
        await _wait(bot.process, settings.kill_timeout)
    return code


async def _stop(process: trio.Process, settings: LiveSettings) -> None:
    if process.returncode is None:
        process.terminate()
    if await _wait(process, settings.kill_timeout) is None:
        process.kill()
        await _wait(process, settings.kill_timeout)


def _summary(path: Path) -> dict[str, Any]:
    """What ``mmbot run --summary-json`` wrote ({} when it wrote nothing readable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _error(incarnations: Sequence[_Incarnation], code: int | None, workdir: Path) -> str | None:
    """What went wrong with the bot's processes (None: each ended as the run asked)."""
    problems: list[str] = []
    for bot in incarnations[:-1]:
        if not bot.killed:
            problems.append(
                f"bot {bot.number} exited by itself (code {bot.process.returncode}) before its "
                f"kill_bot: {_tail(workdir / f'bot-{bot.number}.err', 3)}"
            )
    final = incarnations[-1]
    if code is None:
        problems.append(f"bot {final.number} did not stop after SIGINT: killed")
    elif code not in (0, 3):  # 3: orders remained, which clean_exit reads from the summary
        problems.append(
            f"bot {final.number} exited {code}: {_tail(workdir / f'bot-{final.number}.err', 3)}"
        )
    elif not _summary(final.summary):
        problems.append(f"bot {final.number} wrote no summary")
    return "; ".join(problems) or None
