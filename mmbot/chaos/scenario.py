"""A chaos scenario: what runs, which faults strike when, which invariants must hold (sans-IO).

What it is for: reading a scenario file (``chaos/*.toml``) into a :class:`Scenario` the
runner executes. A scenario names its symbols, its seed, how long the *safety phase* runs
(faults on their timeline) and how long the *liveness phase* after it runs (every fault
healed: quoting must resume), the bot config sections it changes from the default paper
config, the faults (``[[faults]]`` tables, each naming its ``kind``), and the invariants to
check (all of :data:`~mmbot.chaos.invariants.INVARIANTS` by default). Times are seconds,
as a number or a string with a unit (``"250ms"``, ``"10s"``, ``"2m"``).

What it must never do: read a clock, touch an exchange, or accept a file it cannot run: a
bad scenario raises :class:`ScenarioError` naming the file, the field and the reason, before
anything starts.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from mmbot.chaos.invariants import INVARIANTS
from mmbot.sim.faults import (
    ENDPOINT_CLASSES,
    STREAM_CLASSES,
    Bandwidth,
    Blackhole,
    CancelFillRace,
    ClockSkew,
    Error,
    Fault,
    FaultPlan,
    FillBeforeAck,
    FlashMove,
    Latency,
    LostAck,
    Maintenance,
    PacketLoss,
    RateLimit,
    Reset,
    SeqGap,
    Slicer,
    StaleSnapshot,
    Target,
    WsDrop,
    WsDupReorder,
    WsStall,
)

#: The stream fault kinds, with their own keys (each also takes ``symbols``; their
#: ``target`` names stream classes, ``stale_snapshot``'s names requests).
STREAM_FAULT_KEYS: Mapping[str, frozenset[str]] = {
    "ws_drop": frozenset({"period", "symbols"}),
    "ws_stall": frozenset({"symbols"}),
    "seq_gap": frozenset({"symbols"}),
    "ws_dup_reorder": frozenset({"duplicate", "reorder", "window", "symbols"}),
    "packet_loss": frozenset({"burst", "symbols"}),
    "stale_snapshot": frozenset({"lag", "age", "symbols"}),
}

#: The fault kinds a scenario may name, with the keys each takes besides the common ones
#: (``kind``, ``start``, ``duration``, ``target``, ``probability``).
FAULT_KEYS: Mapping[str, frozenset[str]] = {
    "latency": frozenset({"delay", "jitter"}),
    "error": frozenset({"status", "code", "retry_after"}),
    "lost_ack": frozenset({"mode"}),
    "crash_bot": frozenset({"restart_after"}),
    "kill_bot": frozenset({"restart_after"}),
    "rate_limit": frozenset({"request_weight_per_minute", "orders_per_10s", "orders_per_day"}),
    "clock_skew": frozenset({"step", "drift"}),
    "maintenance": frozenset({"status", "symbols", "shutdown"}),
    "flash_move": frozenset({"percent", "symbols"}),
    "fill_before_ack": frozenset({"delay"}),
    "cancel_fill_race": frozenset(),
    # the transport faults (Toxiproxy's toxics, seeded; "timeout" is "blackhole"'s other name)
    "reset": frozenset({"when"}),
    "blackhole": frozenset(),
    "timeout": frozenset(),
    "bandwidth": frozenset({"rate"}),
    "slicer": frozenset({"size", "jitter", "delay"}),
    **STREAM_FAULT_KEYS,
}
#: The transport fault kinds (built by :func:`_transport_fault`).
_TRANSPORT_KINDS = frozenset({"reset", "blackhole", "timeout", "bandwidth", "slicer"})
_COMMON_KEYS = frozenset({"kind", "start", "duration", "target", "probability"})
#: The kinds that act on the whole venue (or its symbols), not on requests: no ``target``
#: nor ``probability``; a flash move is an instant (no ``duration`` either).
_VENUE_KINDS: Mapping[str, frozenset[str]] = {
    "rate_limit": frozenset({"kind", "start", "duration"}),
    "clock_skew": frozenset({"kind", "start", "duration"}),
    "maintenance": frozenset({"kind", "start", "duration"}),
    "flash_move": frozenset({"kind", "start"}),
}
_SIGNED_TIME = re.compile(r"^\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)\s*$")
_TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "symbols",
        "seed",
        "duration",
        "heal",
        "resumes_within",
        "bot",
        "faults",
        "invariants",
        "modes",
        "breakers_open",
    }
)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}
_TIME = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)\s*$")


class ScenarioError(ValueError):
    """A scenario that cannot run: says where (file and field) and why."""


@attrs.frozen
class Crash:
    """``crash_bot``: at ``start`` the bot's process is gone at once (no shutdown path: its
    links are cut, then its tree is dropped), and ``restart_after`` later a fresh bot, with
    empty memory and a new run id, starts on the same account."""

    start: float
    restart_after: float = 1.0

    kind = "crash_bot"

    def describe(self) -> str:
        return f"crash_bot at {self.start:g} s, restarted {self.restart_after:g} s later"


@attrs.frozen
class Kill(Crash):
    """``kill_bot`` (live mode only): at ``start`` the bot's process gets a real SIGKILL,
    and ``restart_after`` later a fresh ``mmbot run`` process starts on the same account.
    A :class:`Crash` to everything that orders the crashes; the simulated runner refuses
    it (its counterpart there is ``crash_bot``)."""

    kind = "kill_bot"

    def describe(self) -> str:
        return f"kill_bot (SIGKILL) at {self.start:g} s, restarted {self.restart_after:g} s later"


#: The faults the chaos runner itself strikes (the bot's), not the exchange's plan.
RUNNER_KINDS = frozenset({"crash_bot", "kill_bot"})
#: How a scenario may run: ``sim`` (one process, simulated time, deterministic) and
#: ``live`` (the exchange and the bot as processes on loopback, in real time).
MODES = ("sim", "live")


@attrs.frozen
class Scenario:
    """One chaos scenario (see the module docstring)."""

    name: str
    symbols: tuple[str, ...]
    seed: int
    duration: float  # the safety phase: faults on their timeline (simulated seconds)
    heal: float  # the liveness phase: every fault healed, quoting must resume
    #: How soon after the heal every symbol must rest an order again (default: ``heal``).
    resumes_within: float = 30.0
    faults: FaultPlan = attrs.field(factory=FaultPlan)
    #: Crashes of the bot itself (the runner's faults; the exchange's are ``faults``).
    crashes: tuple[Crash, ...] = ()
    invariants: tuple[str, ...] = INVARIANTS
    #: Bot config sections changed from the default paper config (``{"orders": {...}}``).
    bot: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    description: str = ""
    path: str | None = None
    #: The modes it runs in (``modes = ["sim", "live"]``; default: simulated only).
    modes: tuple[str, ...] = ("sim",)
    #: An expectation: the endpoint classes whose breaker must open during the run
    #: (``breakers_open = ["orders"]``): the faults must have bitten where they were meant to.
    breakers_open: tuple[str, ...] = ()
    #: The exchange's ``[[faults]]`` tables as written: live mode sends them to the fake
    #: exchange's admin API, which reads them with the same parser
    #: (:func:`fault_plan_from_tables`).
    fault_tables: tuple[Mapping[str, Any], ...] = attrs.field(default=(), eq=False, repr=False)

    @property
    def kills(self) -> tuple[Crash, ...]:
        """The ``kill_bot`` faults (live mode's real SIGKILLs)."""
        return tuple(c for c in self.crashes if isinstance(c, Kill))

    def with_seed(self, seed: int) -> Scenario:
        return attrs.evolve(self, seed=seed)

    def describe_faults(self) -> str:
        """Every fault, the exchange's and the bot's, for a banner."""
        parts = [f.describe() for f in self.faults.faults] + [c.describe() for c in self.crashes]
        return "; ".join(parts) or "none"


def seconds(value: object, where: str) -> float:
    """A time in seconds: a number, or a string with a unit (``"250ms"``, ``"10s"``, ``"2m"``)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a time (seconds, or '250ms', '10s'), got a bool")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _TIME.match(value)):
        number = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ScenarioError(f"{where}: expected a time (seconds, or '250ms', '10s'), got {value!r}")
    if not (number >= 0 and math.isfinite(number)):
        raise ScenarioError(f"{where}: must be a finite time >= 0, got {value!r}")
    return number


def load_scenario(path: str | Path) -> Scenario:
    """Read and check one scenario file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return scenario_from_dict(data, source=str(path))


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Check a scenario's table (as TOML gives it); ScenarioError names the field."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ScenarioError(f"{source}: unknown key(s) {unknown}; known: {sorted(_TOP_KEYS)}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{source}: name: expected a non-empty string")
    symbols = data.get("symbols")
    if (
        not isinstance(symbols, list)
        or not symbols
        or not all(isinstance(s, str) and s.isalnum() and s.isupper() for s in symbols)
        or len(set(symbols)) != len(symbols)
    ):
        raise ScenarioError(
            f"{source}: symbols: expected a list of distinct symbols like ['BTCUSDT'], "
            f"got {symbols!r}"
        )
    seed = data.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ScenarioError(f"{source}: seed: expected an integer >= 0, got {seed!r}")
    duration = seconds(data.get("duration", 60), f"{source}: duration")
    heal = seconds(data.get("heal", 30), f"{source}: heal")
    if duration <= 0:
        raise ScenarioError(f"{source}: duration: must be > 0")
    resumes_within = seconds(data.get("resumes_within", heal), f"{source}: resumes_within")
    if resumes_within > heal:
        raise ScenarioError(
            f"{source}: resumes_within: must be within the liveness phase ({heal:g} s)"
        )
    bot = data.get("bot", {})
    if not isinstance(bot, dict) or not all(isinstance(v, dict) for v in bot.values()):
        raise ScenarioError(f"{source}: bot: expected tables of config sections ([bot.orders])")
    invariants = data.get("invariants", list(INVARIANTS))
    if not isinstance(invariants, list) or not invariants:
        raise ScenarioError(f"{source}: invariants: expected a non-empty list of names")
    bad = [i for i in invariants if i not in INVARIANTS]
    if bad:
        raise ScenarioError(
            f"{source}: invariants: unknown {bad}; checked so far: {list(INVARIANTS)}"
        )
    faults = data.get("faults", [])
    if not isinstance(faults, list):
        raise ScenarioError(f"{source}: faults: expected [[faults]] tables")
    built = [_fault(f, f"{source}: faults[{i}]", duration) for i, f in enumerate(faults)]
    for i, fault in enumerate(built):
        named = fault.symbols if isinstance(fault, Maintenance | FlashMove) else None
        if named is not None and not named <= set(symbols):
            raise ScenarioError(
                f"{source}: faults[{i}]: symbols: {sorted(named - set(symbols))} not among "
                f"the scenario's symbols {symbols}"
            )
    plan = FaultPlan(tuple(f for f in built if not isinstance(f, Crash)))
    crashes = tuple(sorted((f for f in built if isinstance(f, Crash)), key=lambda c: c.start))
    for i, fault in enumerate(built):  # a stream fault's symbols are the scenario's
        untargeted = Crash | RateLimit | ClockSkew | Maintenance | FlashMove
        aimed = None if isinstance(fault, untargeted) else fault.target.symbols
        if aimed is not None and not aimed <= set(symbols):
            raise ScenarioError(
                f"{source}: faults[{i}]: symbols: {sorted(aimed - set(symbols))} not among "
                f"the scenario's symbols {symbols}"
            )
    for earlier, later in itertools.pairwise(crashes):
        if later.start < earlier.start + earlier.restart_after:
            raise ScenarioError(
                f"{source}: faults: a crash_bot at {later.start:g} s comes before the bot "
                f"crashed at {earlier.start:g} s has restarted"
            )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: description: expected a string")
    modes = _modes(data.get("modes", ["sim"]), source, crashes)
    breakers = data.get("breakers_open", [])
    classes = sorted(ENDPOINT_CLASSES)
    if not isinstance(breakers, list) or not all(b in ENDPOINT_CLASSES for b in breakers):
        raise ScenarioError(
            f"{source}: breakers_open: expected a list of endpoint classes ({classes}), "
            f"got {breakers!r}"
        )
    return Scenario(
        name=name,
        symbols=tuple(symbols),
        seed=seed,
        duration=duration,
        heal=heal,
        resumes_within=resumes_within,
        faults=plan,
        crashes=crashes,
        invariants=tuple(invariants),
        bot={k: dict(v) for k, v in bot.items()},
        description=description,
        path=None if source.startswith("<") else source,
        modes=modes,
        breakers_open=tuple(breakers),
        fault_tables=tuple(
            dict(t) for t, f in zip(faults, built, strict=True) if not isinstance(f, Crash)
        ),
    )


def _target(value: object, where: str) -> Target:
    if value is None or value == "all":
        return Target.all()
    if isinstance(value, str):
        if value in ENDPOINT_CLASSES:
            return Target.endpoint_class(value)
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        known = set().union(*ENDPOINT_CLASSES.values())
        unknown = sorted(set(value) - known)
        if unknown:
            raise ScenarioError(f"{where}: target: unknown operation(s) {unknown}")
        return Target.named(*value)
    raise ScenarioError(
        f"{where}: target: expected 'all', an endpoint class ({', '.join(ENDPOINT_CLASSES)}) "
        f"or a list of operations, got {value!r}"
    )


def _fault(table: object, where: str, phase: float) -> Fault | Crash:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in FAULT_KEYS:
        raise ScenarioError(f"{where}: kind: expected one of {sorted(FAULT_KEYS)}, got {kind!r}")
    allowed = {"kind", "start"} if kind in RUNNER_KINDS else _VENUE_KINDS.get(kind, _COMMON_KEYS)
    unknown = sorted(set(table) - allowed - FAULT_KEYS[kind])
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {unknown} for a {kind} fault")
    start = seconds(table.get("start", 0), f"{where}: start")
    if kind in RUNNER_KINDS:
        restart = seconds(table.get("restart_after", 1), f"{where}: restart_after")
        if not (start > 0 and start + restart < phase):
            raise ScenarioError(
                f"{where}: a {kind} must crash after the start and restart within the "
                f"safety phase (0..{phase:g} s)"
            )
        return Crash(start, restart) if kind == "crash_bot" else Kill(start, restart)
    if kind in _VENUE_KINDS:
        return _venue_fault(kind, table, where, start, phase)
    duration = seconds(table.get("duration", phase - start), f"{where}: duration")
    if duration <= 0 or start + duration > phase + 1e-9:
        raise ScenarioError(
            f"{where}: must start and end within the safety phase (0..{phase:g} s): "
            f"start {start:g} s, duration {duration:g} s"
        )
    probability = table.get("probability", 1.0)
    if not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise ScenarioError(f"{where}: probability: expected a number within 0..1")
    if kind in STREAM_FAULT_KEYS:
        return _stream_fault(kind, table, where, start, duration)
    common: dict[str, Any] = {
        "target": _target(table.get("target", "orders"), where),
        "start": start,
        "duration": duration,
        "probability": float(probability),
    }
    try:
        if kind == "latency":
            return Latency(
                delay=seconds(table.get("delay", 0), f"{where}: delay"),
                jitter=seconds(table.get("jitter", 0), f"{where}: jitter"),
                **common,
            )
        if kind == "error":
            status, code = table.get("status"), table.get("code")
            if not isinstance(status, int) or not isinstance(code, int):
                raise ScenarioError(f"{where}: an error fault needs an integer status and code")
            retry = table.get("retry_after")
            return Error(
                status,
                code,
                retry_after=None if retry is None else seconds(retry, f"{where}: retry_after"),
                **common,
            )
        if kind == "fill_before_ack":
            return FillBeforeAck(
                delay=seconds(table.get("delay", 0.5), f"{where}: delay"), **common
            )
        if kind == "cancel_fill_race":
            return CancelFillRace(**common)
        if kind in _TRANSPORT_KINDS:
            return _transport_fault(kind, table, where, common)
        return LostAck(mode=table.get("mode", "drop"), **common)
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}: {exc}") from None


def _venue_fault(
    kind: str, table: Mapping[str, Any], where: str, start: float, phase: float
) -> Fault:
    """A fault of one of :data:`_VENUE_KINDS` (its keys already checked)."""
    if kind == "flash_move":
        if not start < phase:
            raise ScenarioError(f"{where}: a flash_move must come within the safety phase")
        duration = None
    else:
        duration = seconds(table.get("duration", phase - start), f"{where}: duration")
        if duration <= 0 or start + duration > phase + 1e-9:
            raise ScenarioError(
                f"{where}: must start and end within the safety phase (0..{phase:g} s): "
                f"start {start:g} s, duration {duration:g} s"
            )
    try:
        if kind == "rate_limit":
            limits = {name: table.get(name) for name in sorted(FAULT_KEYS[kind])}
            for name, value in limits.items():
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ScenarioError(f"{where}: {name}: expected an integer >= 1, got {value!r}")
            return RateLimit(**limits, start=start, duration=duration)
        if kind == "clock_skew":
            drift = table.get("drift", 0)
            if not isinstance(drift, int | float) or isinstance(drift, bool):
                raise ScenarioError(f"{where}: drift: expected milliseconds per second (a number)")
            step = _signed_seconds(table.get("step", 0), f"{where}: step")
            return ClockSkew(step=step, drift=float(drift), start=start, duration=duration)
        symbols = _fault_symbols(table.get("symbols"), where)
        if kind == "maintenance":
            shutdown = table.get("shutdown", True)
            if not isinstance(shutdown, bool):
                raise ScenarioError(f"{where}: shutdown: expected true or false")
            status = table.get("status", "BREAK")
            if not isinstance(status, str):
                raise ScenarioError(f"{where}: status: expected 'BREAK' or 'HALT'")
            return Maintenance(status, symbols, shutdown, start=start, duration=duration)
        percent = table.get("percent")
        if not isinstance(percent, int | float) or isinstance(percent, bool):
            raise ScenarioError(f"{where}: percent: expected a number (e.g. -5 for 5% down)")
        return FlashMove(float(percent), symbols, start=start)
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}: {exc}") from None


# ---- stream faults --------------------------------------------------------------------

#: The stream classes whose messages a per-message fault can touch.
_MESSAGE_CLASSES = ("market_streams", "user_data")


def _stream_target(value: object, where: str, kind: str) -> Target:
    """A stream fault's ``target``: 'all', a stream class, or a list of stream classes."""
    classes: list[str] | None = None
    if value == "all":
        classes = list(STREAM_CLASSES)
    elif isinstance(value, str) and value in STREAM_CLASSES:
        classes = [value]
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, str) and v in STREAM_CLASSES for v in value)
    ):
        classes = list(value)
    if classes is None:
        raise ScenarioError(
            f"{where}: target: a {kind} fault aims at 'all', a stream class "
            f"({', '.join(STREAM_CLASSES)}) or a list of them, got {value!r}"
        )
    if kind == "seq_gap" and "market_streams" not in classes:
        raise ScenarioError(
            f"{where}: target: a seq_gap drops market-stream depth diffs: use "
            f"'market_streams' or 'all', got {value!r}"
        )
    if kind in ("ws_dup_reorder", "packet_loss") and not set(classes) & set(_MESSAGE_CLASSES):
        raise ScenarioError(
            f"{where}: target: a {kind} fault touches market-stream messages and user-data "
            f"events: use 'market_streams', 'user_data' or 'all', got {value!r}"
        )
    return Target.all() if value == "all" else Target.stream_class(*classes)


def _share_key(table: Mapping[str, Any], key: str, where: str) -> float:
    value = table.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(f"{where}: {key}: expected a number within 0..1, got {value!r}")
    return float(value)


def _int_key(table: Mapping[str, Any], key: str, where: str, default: int | None) -> int | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScenarioError(f"{where}: {key}: expected an integer >= 1, got {value!r}")
    return value


def _stream_fault(
    kind: str, table: Mapping[str, Any], where: str, start: float, duration: float
) -> Fault:
    """One stream fault (``ws_drop``, ``ws_stall``, ``seq_gap``, ``ws_dup_reorder``,
    ``packet_loss``, ``stale_snapshot``) from its table (the common keys checked)."""
    symbols = table.get("symbols")
    if symbols is not None and (
        not isinstance(symbols, list)
        or not symbols
        or not all(isinstance(s, str) and s.isalnum() and s.isupper() for s in symbols)
    ):
        raise ScenarioError(
            f"{where}: symbols: expected a non-empty list of symbols like ['BTCUSDT'], "
            f"got {symbols!r}"
        )
    default_probability = 0.05 if kind == "packet_loss" else 1.0
    window: dict[str, Any] = {
        "start": start,
        "duration": duration,
        "probability": float(table.get("probability", default_probability)),
    }
    try:
        if kind == "stale_snapshot":
            target = _target(table.get("target", "market_data"), where)
            if not target.matches("depth"):
                raise ScenarioError(
                    f"{where}: target: a stale_snapshot answers depth requests: use 'all', "
                    f"'market_data' or a list holding 'depth', got {table.get('target')!r}"
                )
            lag = _int_key(table, "lag", where, None)
            age = None if "age" not in table else seconds(table["age"], f"{where}: age")
            if (lag is None) == (age is None):
                raise ScenarioError(
                    f"{where}: a stale_snapshot needs exactly one of lag (book updates "
                    "behind the stream) and age (a time, '2s')"
                )
            if age is not None and age <= 0:
                raise ScenarioError(f"{where}: age: must be > 0")
            return StaleSnapshot(target.for_symbols(symbols), lag=lag, age=age, **window)
        target = _stream_target(table.get("target", "market_streams"), where, kind)
        target = target.for_symbols(symbols)
        if kind == "ws_drop":
            period = None if "period" not in table else seconds(table["period"], f"{where}: period")
            if period is not None and period <= 0:
                raise ScenarioError(f"{where}: period: must be > 0")
            return WsDrop(target, period=period, **window)
        if kind == "ws_stall":
            return WsStall(target, **window)
        if kind == "seq_gap":
            return SeqGap(target, **window)
        if kind == "ws_dup_reorder":
            duplicate = _share_key(table, "duplicate", where)
            reorder = _share_key(table, "reorder", where)
            if duplicate == 0 and reorder == 0:
                raise ScenarioError(
                    f"{where}: a ws_dup_reorder needs duplicate or reorder (a probability > 0)"
                )
            size = _int_key(table, "window", where, 1)
            assert size is not None
            return WsDupReorder(target, duplicate=duplicate, reorder=reorder, window=size, **window)
        burst = table.get("burst", 5)
        if isinstance(burst, bool) or not isinstance(burst, int | float) or not burst >= 1:
            raise ScenarioError(
                f"{where}: burst: expected the mean burst length in messages (>= 1), got {burst!r}"
            )
        return PacketLoss(target, burst=float(burst), **window)
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"{where}: {exc}") from None


def _signed_seconds(value: object, where: str) -> float:
    """A time that may be negative: a number, or a string with a unit (``"-2s"``)."""
    if isinstance(value, str) and (match := _SIGNED_TIME.match(value)):
        number = float(match.group(1)) * _UNITS[match.group(2)]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ScenarioError(f"{where}: expected a time (seconds, or '-2s', '500ms'), got {value!r}")
    if not math.isfinite(number):
        raise ScenarioError(f"{where}: must be finite, got {value!r}")
    return number


def _fault_symbols(value: object, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.isalnum() and v.isupper() for v in value)
    ):
        raise ScenarioError(f"{where}: symbols: expected a list of symbols like ['BTCUSDT']")
    return tuple(value)


def _transport_fault(
    kind: str, table: Mapping[str, Any], where: str, common: dict[str, Any]
) -> Fault:
    """A ``reset``, ``blackhole`` (or ``timeout``), ``bandwidth`` or ``slicer`` fault."""
    if kind == "reset":
        return Reset(when=table.get("when", "before"), **common)
    if kind in ("blackhole", "timeout"):
        return Blackhole(**common)
    if kind == "bandwidth":
        return Bandwidth(rate=_bytes(table.get("rate"), f"{where}: rate", minimum=1), **common)
    return Slicer(
        size=_bytes(table.get("size"), f"{where}: size", minimum=1),
        jitter=_bytes(table.get("jitter", 0), f"{where}: jitter", minimum=0),
        delay=seconds(table.get("delay", 0), f"{where}: delay"),
        **common,
    )


def _bytes(value: object, where: str, *, minimum: int) -> int:
    """A number of bytes (a bandwidth fault's ``rate`` in bytes per second)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScenarioError(
            f"{where}: expected a whole number of bytes >= {minimum}, got {value!r}"
        )
    return value


def known_scenarios(folder: Path) -> Sequence[Path]:
    """The scenario files of a suite folder (``chaos/``), sorted by name."""
    return sorted(folder.glob("*.toml"))


# ---- modes, and the admin API's faults ------------------------------------------------------


def _modes(value: object, source: str, crashes: Sequence[Crash]) -> tuple[str, ...]:
    """The ``modes`` key, checked against the runner's faults each mode can strike."""
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(m, str) and m in MODES for m in value)
        or len(set(value)) != len(value)
    ):
        raise ScenarioError(
            f"{source}: modes: expected a non-empty list of distinct modes from "
            f"{list(MODES)}, got {value!r}"
        )
    if "sim" in value and any(isinstance(c, Kill) for c in crashes):
        raise ScenarioError(
            f"{source}: faults: kill_bot sends a real SIGKILL to the bot's process, so it "
            'runs in live mode only: set modes = ["live"] (simulated mode\'s kill -9 is '
            "crash_bot)"
        )
    if "live" in value and any(not isinstance(c, Kill) for c in crashes):
        raise ScenarioError(
            f"{source}: faults: crash_bot drops an in-process bot, so it runs in simulated "
            'mode only: in live mode the bot is a process, use kind = "kill_bot"'
        )
    return tuple(value)


#: The window of a fault set through the admin API: one without a ``duration`` lasts this
#: long after its ``start`` (ten years: for good).
OPEN_ENDED_S = 10 * 365 * 86400.0


def fault_plan_from_tables(tables: object, *, source: str = "faults") -> FaultPlan:
    """The exchange's plan from ``[[faults]]`` tables, as a scenario writes them (a list of
    tables; the fake exchange's admin API reads its JSON body with this). Times count from
    the exchange's start; a fault without ``duration`` lasts for good. The runner's own
    faults (``crash_bot``, ``kill_bot``) are refused: the exchange cannot strike them.
    ScenarioError (a ValueError) says which table and why."""
    if not isinstance(tables, list):
        raise ScenarioError(f"{source}: expected a list of fault tables")
    built: list[Fault] = []
    for i, table in enumerate(tables):
        where = f"{source}[{i}]"
        if isinstance(table, dict) and table.get("kind") in RUNNER_KINDS:
            raise ScenarioError(
                f"{where}: kind: {table['kind']} is the chaos runner's fault (the bot's "
                "process), not the exchange's"
            )
        fault = _fault(table, where, OPEN_ENDED_S)
        assert not isinstance(fault, Crash | Kill)
        if isinstance(table, dict) and "duration" not in table and not isinstance(fault, FlashMove):
            fault = attrs.evolve(fault, duration=None)  # for good, as the plan says it
        built.append(fault)
    return FaultPlan(tuple(built))
