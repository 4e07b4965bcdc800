"""``mmbot chaos fuzz``: random fault schedules, swarm style, and the smallest one that fails.

What it is for: finding the fault schedules no one thought to write. Hypothesis draws each
example as a *swarm* configuration (a random subset of the fault kinds enabled, as in
"Swarm Testing", Groce et al. 2012: a schedule that never mixes some kinds finds what their
mix hides) and a schedule of up to ``max_faults`` faults of those kinds on the timeline, plus
the run's seed; each example is one deterministic simulated run (:mod:`mmbot.chaos.runner`)
checked against the invariants. The first that fails is shrunk by delta debugging over
whole faults (Zeller's ddmin: halves, then quarters, ... then each single fault tried
away), every step a replay of a deterministic run with the same seed, to a schedule that
still violates the same invariant and from which, within ``max_shrink_runs`` runs, no
single fault can be taken; it is written out as a scenario
file that ``mmbot chaos run`` replays bit for bit. Each example prints its configuration as
it starts (as TigerBeetle's VOPR does), so a long fuzz shows what it is trying. (Hypothesis
shrinks its own examples well, but a schedule drawn as a count then that many faults
defeats it: whole-fault deletion is what a fault schedule needs.)

What it must never do: report a schedule it did not run and see fail, or run unbounded:
the number of examples is given, and every run is a bounded simulated run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from mmbot.chaos import strategies as seeded
from mmbot.chaos.invariants import INVARIANTS
from mmbot.chaos.runner import ChaosResult, run_scenario
from mmbot.chaos.scenario import Scenario, ScenarioError, scenario_from_dict
from mmbot.config import dumps_toml

#: The stream kinds (``_stream_fault`` draws their targets and parameters).
STREAM_KINDS: tuple[str, ...] = (
    "ws_drop",
    "ws_stall",
    "seq_gap",
    "ws_dup_reorder",
    "packet_loss",
    "stale_snapshot",
)
#: The kinds a schedule may use.
KINDS: tuple[str, ...] = (
    "latency",
    "error",
    "lost_ack",
    "crash_bot",
    "rate_limit",
    "clock_skew",
    "maintenance",
    "flash_move",
    "fill_before_ack",
    "cancel_fill_race",
)
#: The transport faults' kinds ("timeout" is "blackhole" under another name: not drawn twice).
KINDS += ("reset", "blackhole", "bandwidth", "slicer")
#: The stream faults' kinds.
KINDS += STREAM_KINDS
_TARGETS = ("orders", "all", "market_data", "account", "order.place", "order.cancelReplace")
_ERRORS = ((500, -1000), (503, -1001), (503, -1008), (503, -1007), (429, -1003))
_RETRY_AFTER = (1, 5)  # seconds a 429 asks for (Binance always says how long)


#: Invariants a schedule with a crash does not check yet: a restarted bot does not know the
#: position its dead predecessor left (docs/chaos.md, "Noticed, not yet changed").
NOT_WITH_CRASHES = frozenset({"position_within_limit"})


@attrs.frozen
class FuzzSpace:
    """What the examples are drawn from."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    duration: float = 20.0  # the safety phase of every example (simulated seconds)
    #: The liveness phase, and how soon in it every symbol must quote again: past the bot's
    #: recovery bound (docs/chaos.md: a lost answer's timeout, a breaker's base open time
    #: with jitter, one resolve interval: 12 s with the defaults).
    heal: float = 20.0
    resumes_within: float = 15.0  # (at most the liveness phase: a shorter heal bounds it)
    kinds: tuple[str, ...] = KINDS
    min_faults: int = 1
    max_faults: int = 40
    #: Bot config sections every example runs with (a tight quote, so takers fill the bot).
    bot: Mapping[str, Mapping[str, Any]] = attrs.field(
        factory=lambda: {
            "strategy": {"spread": {"base_bps": 1.0, "maker_fee_bps": 0.0, "min_edge_bps": 0.5}}
        }
    )


def _fault(kind: str, space: FuzzSpace, st: Any = st) -> Any:
    """One fault table (as a scenario file holds it) of ``kind``, inside the safety phase,
    as a strategy of ``st``: hypothesis's strategies, or :mod:`mmbot.chaos.strategies`'."""
    tenths = int(space.duration * 10)
    window = st.tuples(st.integers(0, tenths - 2), st.integers(1, tenths)).map(
        lambda sd: (sd[0] / 10, min(sd[1], tenths - sd[0]) / 10)
    )
    common = st.fixed_dictionaries(
        {
            "target": st.sampled_from(_TARGETS),
            "probability": st.sampled_from((1.0, 0.5, 0.2)),
        }
    )
    if kind == "crash_bot":
        return st.fixed_dictionaries(
            {
                "kind": st.just("crash_bot"),
                "start": st.integers(10, tenths - 30).map(lambda t: t / 10),
                "restart_after": st.sampled_from((0.5, 1.0, 2.0)),
            }
        )
    if kind in _VENUE_KINDS:
        return _venue_fault(kind, space, window, st)
    if kind in STREAM_KINDS:
        return st.tuples(window, _stream_fault(kind, st)).map(
            lambda parts: {
                "kind": kind,
                "start": parts[0][0],
                "duration": parts[0][1],
                **parts[1],
            }
        )
    extra: Any  # a strategy of dicts, of whichever ``st``
    if kind == "latency":
        extra = st.fixed_dictionaries(
            {"delay": st.sampled_from((0.05, 0.3, 1.0, 3.0)), "jitter": st.sampled_from((0, 0.2))}
        )
    elif kind == "error":
        extra = st.tuples(st.sampled_from(_ERRORS), st.sampled_from(_RETRY_AFTER)).map(_error)
    elif kind == "fill_before_ack":
        extra = st.fixed_dictionaries({"delay": st.sampled_from((0.0, 0.2, 1.0))})
    elif kind == "cancel_fill_race":
        extra = st.just({})
    elif kind in _TRANSPORT:
        extra = _transport_fault(kind, st)
    else:
        extra = st.fixed_dictionaries({"mode": st.sampled_from(("drop", "unknown"))})
    return st.tuples(st.just(kind), window, common, extra).map(
        lambda parts: {
            "kind": parts[0],
            "start": parts[1][0],
            "duration": parts[1][1],
            **parts[2],
            **parts[3],
        }
    )


#: The kinds that act on the venue or its symbols (no ``target`` nor ``probability``).
_VENUE_KINDS = ("rate_limit", "clock_skew", "maintenance", "flash_move")


def _venue_fault(kind: str, space: FuzzSpace, window: Any, st: Any = st) -> Any:
    """A ``rate_limit``, ``clock_skew``, ``maintenance`` or ``flash_move`` table. A lowered
    order limit ends half the safety phase before the heal at the latest: its Retry-After
    (to the end of a 10 s window) must not outlast the liveness phase. The request-weight
    limit is left out: its Retry-After runs to the end of the minute window, longer than a
    fuzz example's liveness phase (``chaos/rate_limit_ban.toml`` covers it)."""
    symbols = st.sampled_from((None, *((s,) for s in space.symbols)))

    def table(start: float, duration: float | None, **keys: Any) -> dict[str, Any]:
        out = {"kind": kind, "start": start, **{k: v for k, v in keys.items() if v is not None}}
        if duration is not None:
            out["duration"] = duration
        if isinstance(out.get("symbols"), tuple):
            out["symbols"] = list(out["symbols"])
        return out

    if kind == "rate_limit":
        half = space.duration / 2
        return st.tuples(window, st.sampled_from((1, 2, 4))).map(
            lambda p: table(*_before(p[0], half), orders_per_10s=p[1])
        )
    if kind == "clock_skew":
        steps = st.sampled_from((-3.0, -1.5, 2.0, 6.0, 10.0, None))
        drifts = st.sampled_from((None, -50, 200))
        return st.tuples(window, steps, drifts).map(
            lambda p: table(*p[0], step=p[1] if p[1] or p[2] else 1.0, drift=p[2])
        )
    if kind == "maintenance":
        statuses = st.sampled_from(("BREAK", "HALT"))
        return st.tuples(window, statuses, symbols, st.booleans()).map(
            lambda p: table(*p[0], status=p[1], symbols=p[2], shutdown=p[3])
        )
    tenths = int(space.duration * 10)
    percents = st.sampled_from((-8.0, -3.0, 2.0, 5.0))
    return st.tuples(st.integers(0, tenths - 1), percents, symbols).map(
        lambda p: table(p[0] / 10, None, percent=p[1], symbols=p[2])
    )


def _before(window: tuple[float, float], end: float) -> tuple[float, float]:
    """``window`` (start, duration) moved and cut to end by ``end``."""
    start = min(window[0], end - 0.1)
    return start, min(window[1], end - start)


#: The transport faults' kinds (``timeout`` is ``blackhole`` under another name).
_TRANSPORT = ("reset", "blackhole", "bandwidth", "slicer")


def _transport_fault(kind: str, st: Any = st) -> Any:
    """A transport fault's own keys: a reset before or after the work; a pipe from a trickle
    (a depth stream's backlog, answers seconds late) to a merely slow one; pieces from four
    bytes to half a kilobyte, at once or a few milliseconds apart."""
    if kind == "reset":
        return st.fixed_dictionaries({"when": st.sampled_from(("before", "after"))})
    if kind == "blackhole":
        return st.just({})
    if kind == "bandwidth":
        return st.fixed_dictionaries({"rate": st.sampled_from((300, 2_000, 20_000))})
    return st.fixed_dictionaries(
        {
            "size": st.sampled_from((4, 16, 64, 512)),
            "jitter": st.sampled_from((0, 8)),
            "delay": st.sampled_from((0, 0.002, 0.02)),
        }
    )


#: Connection targets of ws_drop / ws_stall, message targets of ws_dup_reorder. Loss of
#: user-data events is left out: no client can see an event lost on a live connection
#: (chaos/known/packet_loss_user_data.toml), so packet_loss aims at market streams.
_CONNECTIONS = ("market_streams", "ws_api", "user_data", "all")
_MESSAGES = ("market_streams", "user_data", "all")


def _stream_fault(kind: str, st: Any = st) -> Any:
    """A stream fault's target and parameters (without its window)."""
    half = st.sampled_from((1.0, 0.5))
    if kind == "ws_drop":
        return st.fixed_dictionaries(
            {"target": st.sampled_from(_CONNECTIONS), "probability": half},
            optional={"period": st.sampled_from((1.0, 3.0, 8.0))},
        )
    if kind == "ws_stall":
        return st.fixed_dictionaries({"target": st.sampled_from(_CONNECTIONS), "probability": half})
    if kind == "seq_gap":
        return st.fixed_dictionaries({"probability": st.sampled_from((0.05, 0.2, 0.5, 1.0))})
    if kind == "ws_dup_reorder":
        shares = st.tuples(st.sampled_from((0.0, 0.1, 0.5)), st.sampled_from((0.0, 0.1, 0.3)))
        return st.fixed_dictionaries(
            {
                "target": st.sampled_from(_MESSAGES),
                "mix": shares.filter(lambda dr: dr != (0.0, 0.0)),
                "window": st.sampled_from((1, 3, 8)),
            }
        ).map(_dup_reorder)
    if kind == "packet_loss":
        return st.fixed_dictionaries(
            {
                "target": st.just("market_streams"),
                "probability": st.sampled_from((0.01, 0.05, 0.2)),
                "burst": st.sampled_from((1, 4, 20)),
            }
        )
    behind = st.one_of(
        st.fixed_dictionaries({"lag": st.sampled_from((5, 50, 500))}),
        st.fixed_dictionaries({"age": st.sampled_from((1.0, 5.0))}),
    )
    return st.tuples(behind, half).map(lambda bp: {**bp[0], "probability": bp[1]})


def _dup_reorder(table: dict[str, Any]) -> dict[str, Any]:
    duplicate, reorder = table.pop("mix")
    return {**table, "duplicate": duplicate, "reorder": reorder}


def _error(choice: tuple[tuple[int, int], int]) -> dict[str, Any]:
    (status, code), retry_after = choice
    table: dict[str, Any] = {"status": status, "code": code}
    if status == 429:
        table["retry_after"] = retry_after
    return table


@st.composite
def schedules(draw: Any, space: FuzzSpace) -> dict[str, Any]:
    """A scenario table: the swarm's enabled kinds, faults of those kinds, a run seed."""
    return _schedule(draw, st, space)


def random_schedule(rng: random.Random, space: FuzzSpace = FuzzSpace()) -> dict[str, Any]:
    """The schedule :func:`schedules` describes, drawn from ``rng`` alone (no hypothesis
    engine): a pure function of the generator's state, so ``mmbot chaos swarm`` makes
    schedule *i* from its seed on any worker. Draws nothing but ``rng``; does no I/O."""
    return _schedule(lambda strategy: strategy.draw(rng), seeded, space)


def _schedule(draw: Callable[[Any], Any], st: Any, space: FuzzSpace) -> dict[str, Any]:
    """The drawing both share: ``draw`` takes a strategy of ``st`` to its value."""
    enabled = sorted(draw(st.sets(st.sampled_from(space.kinds), min_size=1)))
    # The count first, uniformly (a swarm example may hold dozens of faults), then that many:
    # shrinking the count drops faults from the end, shrinking each fault simplifies it.
    count = draw(st.integers(space.min_faults, space.max_faults))
    faults = draw(
        st.lists(
            st.sampled_from(enabled).flatmap(lambda kind: _fault(kind, space, st)),
            min_size=count,
            max_size=count,
        )
    )
    kept: list[dict[str, Any]] = []
    restarted_by = -1.0  # crashes never overlap: a later one waits for the restart
    for fault in sorted(faults, key=lambda f: (f["kind"] != "crash_bot", f["start"])):
        if fault["kind"] == "crash_bot":
            if fault["start"] < restarted_by:
                continue
            restarted_by = fault["start"] + fault["restart_after"]
        kept.append(fault)
    return {
        "name": "fuzz",
        "symbols": list(space.symbols),
        "seed": draw(st.integers(0, 2**16)),
        "duration": space.duration,
        "heal": space.heal,
        "resumes_within": min(space.resumes_within, space.heal),
        "faults": kept,
        "bot": {k: dict(v) for k, v in space.bot.items()},
        # every invariant one run can check (the fuzzer replays the minimal one itself)
        "invariants": [
            name
            for name in INVARIANTS
            if name != "deterministic_replay"
            and not (name in NOT_WITH_CRASHES and any(f["kind"] == "crash_bot" for f in kept))
        ],
    }


@attrs.frozen
class FuzzOutcome:
    examples: int  # runs made (generation and shrinking)
    table: Mapping[str, Any] | None  # the smallest failing schedule (None: none failed)
    minimal: Scenario | None  # the same, as a scenario
    result: ChaosResult | None  # its verdict


def fuzz(
    examples: int,
    seed: int,
    space: FuzzSpace = FuzzSpace(),
    *,
    progress: Callable[[str], None] | None = None,
    max_shrink_runs: int = 300,
) -> FuzzOutcome:
    """Draw up to ``examples`` schedules; shrink the first failing one (see the module)."""
    say = progress or (lambda _text: None)
    runs = 0

    def violated(table: Mapping[str, Any], note: str = "") -> list[str]:
        """The invariants one run of ``table`` violates (none for an unrunnable table)."""
        nonlocal runs
        runs += 1
        try:
            scenario = scenario_from_dict(table, source="<fuzz>")
        except ScenarioError:
            return []  # not a schedule the harness can run: not a finding
        kinds = sorted({f["kind"] for f in table["faults"]})
        found = violated_invariants(run_scenario(scenario))
        verdict = "FAIL " + ", ".join(found) if found else "ok"
        say(
            f"run {runs}{note}: seed {scenario.seed}, {len(table['faults'])} faults of "
            f"{', '.join(kinds) or 'no kind'}: {verdict}"
        )
        return found

    def fails(table: Mapping[str, Any]) -> bool:
        return bool(violated(table))

    try:
        table = find(
            schedules(space),
            fails,
            settings=settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=(Phase.generate,),  # the shrinking is ours: whole faults (below)
                suppress_health_check=list(HealthCheck),
            ),
            random=random.Random(seed),
        )
    except NoSuchExample:
        return FuzzOutcome(runs, None, None, None)
    minimal_table = shrink_schedule(table, violated, max_shrink_runs)
    minimal = scenario_from_dict(minimal_table, source="<fuzz>")
    result = run_scenario(minimal)  # the minimal one again: its verdict, not a neighbour's
    return FuzzOutcome(runs + 1, minimal_table, minimal, result)


def shrink_schedule(
    table: Mapping[str, Any],
    violated: Callable[[Mapping[str, Any], str], list[str]],
    max_runs: int,
) -> dict[str, Any]:
    """``table`` (a failing schedule) with as few faults as :func:`shrink` finds that still
    violate the invariant it violates first, within ``max_runs`` runs (the first is
    ``table`` again, for that invariant). ``violated(table, note)`` is the caller's run of a
    table: the invariants it violates (``note`` is for its progress line)."""
    tries = 1
    first = violated(table, " (the failure to shrink)")[:1]  # the invariant it must keep

    def still_fails(subset: list[dict[str, Any]]) -> bool:
        nonlocal tries
        if tries >= max_runs:
            return False  # out of budget: what we have is the answer
        tries += 1
        return bool(first) and first[0] in violated({**table, "faults": subset}, " (shrinking)")

    return {**table, "faults": shrink(list(table["faults"]), still_fails)}


def shrink(
    faults: list[dict[str, Any]], fails: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The failing schedule with as few faults as still fail: delta debugging (Zeller's
    ddmin) over whole faults, then each single one tried away. Every try is a deterministic
    run, so what it returns fails, and removing any one of its faults does not."""
    if fails([]):
        return []  # the failure needs no fault at all
    parts = 2
    while len(faults) >= 2:
        size = -(-len(faults) // parts)
        for start in range(0, len(faults), size):
            rest = faults[:start] + faults[start + size :]
            if rest and fails(rest):
                faults, parts = rest, max(parts - 1, 2)
                break
        else:
            if parts >= len(faults):
                break
            parts = min(len(faults), parts * 2)
    return faults


def violated_invariants(result: ChaosResult) -> list[str]:
    """The names of the invariants ``result`` found violated, in its order."""
    return [name for name, found in result.violations.items() if found]


def scenario_toml(
    table: Mapping[str, Any], name: str, *, found_by: str = "mmbot chaos fuzz", shrunk: bool = True
) -> str:
    """A scenario file holding ``table`` (a scenario's table, as :func:`schedules` makes)."""
    how = "and shrunk" if shrunk else "(not shrunk)"
    what = "a minimal failing schedule" if shrunk else "a failing schedule"
    data: dict[str, Any] = {"name": name, "description": f"{what} found by {found_by}"}
    for key in ("symbols", "seed", "duration", "heal", "resumes_within", "invariants"):
        if key in table:
            data[key] = table[key]
    data["faults"] = list(table["faults"])
    if table.get("bot"):
        data["bot"] = table["bot"]
    header = f"# Found by `{found_by}` {how}: replay with `mmbot chaos run <this file>`.\n"
    return header + dumps_toml(data)


def write_found(outcome: FuzzOutcome, folder: Path) -> Path:
    """Write the minimal schedule as ``folder/fuzz-seed<N>.toml`` (named after its file)."""
    assert outcome.table is not None and outcome.minimal is not None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fuzz-seed{outcome.minimal.seed}.toml"
    path.write_text(scenario_toml(outcome.table, path.stem))
    return path
