"""The bot's configuration: attrs classes, the one cattrs converter, TOML, the hash (sans-IO).

What it is for: turning a TOML file (or a dict) into the frozen :class:`BotConfig` or
:class:`~mmbot.quoting.params.StrategyConfig`, reporting every problem at once as "path:
reason" lines in one :class:`~mmbot.errors.ConfigError` (unknown keys, wrong types, values
out of range), and naming a config by its hash and version so any metric or report can be
tied to the config that produced it; and writing config data back as TOML
(:func:`dumps_toml`, for the configs a tool writes: ``mmbot calibrate``). Every
configuration key is documented in ``docs/configuration.md`` (the bot) and
``docs/strategy.md`` (a strategy).

What it must never do: hold or read a secret (API keys come from the environment variables
a config *names*: ``venue.api_key_env``); connect to anything; read a file it was not
given (a strategy file named by ``[strategy] file`` is read relative to the config file).
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.v import format_exception

from mmbot.errors import ConfigError
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.risk import RiskLimits, SymbolLimits
from mmbot.quoting.strategy import strategy_problems

#: The schema version of :class:`BotConfig`; a file names the version it was written for.
CONFIG_VERSION = 1

T = TypeVar("T")

# -- the one converter ------------------------------------------------------------------


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"expected a decimal number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _structure_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _structure_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _structure_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"expected one of {choices}, got {value!r}") from None


converter = cattrs.Converter(forbid_extra_keys=True)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook_func(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _structure_enum
)
converter.register_unstructure_hook(Decimal, str)


def readable(message: str) -> str:
    """cattrs says "reason @ $.a.b"; we say "a.b: reason"."""
    reason, sep, path = message.rpartition(" @ ")
    if not sep:
        return message
    path = path.removeprefix("$").removeprefix(".") or "(top level)"
    return f"{path}: {reason}"


def _explain(exc: BaseException, type_: Any) -> str:
    """Our hooks' own words for a bad value; cattrs' words for the rest."""
    if isinstance(exc, TypeError | ValueError) and str(exc).startswith(("expected", "not a")):
        return str(exc)
    return format_exception(exc, type_)


def structure(data: Any, cls: type[T]) -> T:
    """``data`` as a ``cls``, or one ConfigError listing every structural problem."""
    try:
        return converter.structure(dict(data) if isinstance(data, Mapping) else data, cls)
    except Exception as exc:  # cattrs raises ClassValidationError / plain errors
        messages = cattrs.transform_error(exc, format_exception=_explain)
        raise ConfigError([readable(m) for m in messages]) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file's table; a ConfigError naming the file if it cannot be read or parsed."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None


# -- strategies -------------------------------------------------------------------------


def strategy_from_dict(data: Mapping[str, Any]) -> StrategyConfig:
    """Structure and check a strategy; raise ``ConfigError`` listing every problem."""
    config = structure(data, StrategyConfig)
    problems = strategy_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def load_strategy(path: str | Path) -> StrategyConfig:
    """Read a strategy TOML file (see ``configs/strategies/``)."""
    return strategy_from_dict(read_toml(path))


# -- the bot's configuration ------------------------------------------------------------


class VenueKind(enum.Enum):
    SIM = "sim"  # the embedded fake exchange, in-process
    LOOPBACK = "loopback"  # ``mmbot exchange serve`` on this machine
    TESTNET = "testnet"  # Binance Spot testnet
    LIVE = "live"  # Binance Spot


class OrderTransport(enum.Enum):
    WS_API = "ws_api"  # order requests as WebSocket API frames on a kept-open connection
    REST = "rest"  # one HTTP request per order request


class OrphanPolicy(enum.Enum):
    CANCEL = "cancel"  # orders of an earlier run (our prefix) are cancelled at start-up
    ADOPT = "adopt"  # ... or taken over and managed as this run's


class LogFormat(enum.Enum):
    TEXT = "text"
    JSON = "json"


DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")


@attrs.frozen
class BotSection:
    name: str = "mmbot"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    client_id_prefix: str = "mm"
    orphans: OrphanPolicy = OrphanPolicy.CANCEL
    seed: int | None = None  # None: a fresh seed per run (printed, so it can be replayed)


@attrs.frozen
class VenueSection:
    kind: VenueKind = VenueKind.SIM
    host: str = "127.0.0.1"  # loopback only
    rest_port: int = 8300  # loopback only: ``mmbot exchange serve``'s default
    ws_port: int = 8301
    api_key_env: str = "MMBOT_API_KEY"  # the NAMES of the variables; never the values
    api_secret_env: str = "MMBOT_API_SECRET"
    request_timeout: float = 5.0  # seconds per request; past it the outcome is unknown
    order_transport: OrderTransport = OrderTransport.WS_API  # how order requests travel


@attrs.frozen
class SimSection:
    """The embedded exchange (``venue.kind = "sim"``)."""

    seed: int = 1  # the simulated market's seed (the bot's account starts with the
    # exchange's default balances: 1,000,000 of the quote asset and some of each base)
    maker_fee_bps: Decimal = Decimal(10)  # the fee tier of the bot's account: Binance's
    taker_fee_bps: Decimal = Decimal(10)  # regular tier (0.1 %) by default


@attrs.frozen
class OrdersSection:
    price_tolerance_bps: Decimal = Decimal("2")  # keep an order this close to the quote
    size_tolerance_ratio: Decimal = Decimal("0.5")  # ... and at least this share of its size
    action_timeout: float = 10.0  # an order action's deadline; past it the outcome is unknown
    resolve_interval: float = 1.0  # how often an unresolved order is queried
    #: Share of the venue's order-rate limits the bot allows itself (shared by all symbols).
    budget_fraction: float = 0.8
    #: With less than this share of the order budget left, tolerances widen (x budget_widen).
    budget_low_water: float = 0.25
    budget_widen: float = 4.0


@attrs.frozen
class SupervisionSection:
    intensity: int = 3  # restarts of one symbol's quoter within ``period`` before it halts
    period: float = 30.0
    backoff_base: float = 0.5  # restart backoff: min(cap, base * 2**n), jittered
    backoff_cap: float = 10.0


@attrs.frozen
class ShutdownSection:
    in_flight_wait: float = 3.0  # seconds to let in-flight actions settle
    cancel_deadline: float = 15.0  # seconds to cancel everything and see it gone


@attrs.frozen
class MetricsSection:
    listen: str = "127.0.0.1:9108"  # "" turns /metrics off


@attrs.frozen
class LogSection:
    format: LogFormat = LogFormat.TEXT
    level: str = "info"


@attrs.frozen
class BotConfig:
    """A whole bot: what to trade, where, with which strategy and limits."""

    def strategy_for(self, symbol: str) -> StrategyConfig:
        """The strategy ``symbol`` quotes with (its override, or ``[strategy]``)."""
        return self.overrides.get(symbol, self.strategy)

    version: int = CONFIG_VERSION
    bot: BotSection = BotSection()
    venue: VenueSection = VenueSection()
    sim: SimSection = SimSection()
    strategy: StrategyConfig = attrs.field(factory=StrategyConfig)
    #: Per-symbol strategies: ``[overrides.SOLUSDT.sizing]`` tables merged over ``[strategy]``.
    overrides: Mapping[str, StrategyConfig] = attrs.field(factory=dict)
    risk: RiskLimits = attrs.field(factory=RiskLimits)
    orders: OrdersSection = OrdersSection()
    supervision: SupervisionSection = SupervisionSection()
    shutdown: ShutdownSection = ShutdownSection()
    metrics: MetricsSection = MetricsSection()
    log: LogSection = LogSection()


def _bot_problems(config: BotConfig) -> list[str]:
    problems: list[str] = []

    def need(ok: bool, path: str, reason: str) -> None:
        if not ok:
            problems.append(f"{path}: {reason}")

    need(config.version == CONFIG_VERSION, "version", f"this mmbot reads version {CONFIG_VERSION}")
    b, v, o, s, d = config.bot, config.venue, config.orders, config.supervision, config.shutdown
    need(len(b.symbols) >= 1, "bot.symbols", "must name at least one symbol")
    for i, symbol in enumerate(b.symbols):
        need(symbol.isalnum() and symbol.isupper(), f"bot.symbols[{i}]", "must be like BTCUSDT")
    need(len(set(b.symbols)) == len(b.symbols), "bot.symbols", "names a symbol twice")
    need(
        1 <= len(b.client_id_prefix) <= 8
        and all(c.isalnum() or c == "_" for c in b.client_id_prefix),
        "bot.client_id_prefix",
        "1 to 8 characters of [A-Za-z0-9_]",
    )
    need(1 <= v.rest_port <= 65535, "venue.rest_port", "must be a port (1..65535)")
    need(1 <= v.ws_port <= 65535, "venue.ws_port", "must be a port (1..65535)")
    need(v.request_timeout > 0, "venue.request_timeout", "must be > 0")
    need(bool(v.api_key_env), "venue.api_key_env", "must name an environment variable")
    need(bool(v.api_secret_env), "venue.api_secret_env", "must name an environment variable")
    need(o.price_tolerance_bps >= 0, "orders.price_tolerance_bps", "must be >= 0")
    need(0 <= o.size_tolerance_ratio < 1, "orders.size_tolerance_ratio", "must be in [0, 1)")
    need(o.action_timeout > 0, "orders.action_timeout", "must be > 0")
    need(o.resolve_interval > 0, "orders.resolve_interval", "must be > 0")
    need(0 < o.budget_fraction <= 1, "orders.budget_fraction", "must be in (0, 1]")
    need(0 <= o.budget_low_water < 1, "orders.budget_low_water", "must be in [0, 1)")
    need(o.budget_widen >= 1, "orders.budget_widen", "must be >= 1")
    need(s.intensity >= 0, "supervision.intensity", "must be >= 0")
    need(s.period > 0, "supervision.period", "must be > 0")
    need(s.backoff_base >= 0, "supervision.backoff_base", "must be >= 0")
    need(s.backoff_cap >= s.backoff_base, "supervision.backoff_cap", "must be >= backoff_base")
    need(d.in_flight_wait >= 0, "shutdown.in_flight_wait", "must be >= 0")
    need(d.cancel_deadline > 0, "shutdown.cancel_deadline", "must be > 0")
    for fee in ("maker_fee_bps", "taker_fee_bps"):
        need(0 <= getattr(config.sim, fee) <= 100, f"sim.{fee}", "must be within 0..100 bps")
    if config.metrics.listen:
        host, sep, port = config.metrics.listen.rpartition(":")
        need(
            bool(sep and host) and port.isdigit() and 0 <= int(port) <= 65535,
            "metrics.listen",
            'must be "HOST:PORT" (or "" for off)',
        )
    need(
        config.log.level.lower() in {"debug", "info", "warning", "error"},
        "log.level",
        "one of debug, info, warning, error",
    )
    problems.extend(_risk_problems(config.risk))
    problems.extend(f"strategy.{p}" for p in strategy_problems(config.strategy))
    for symbol, strategy in config.overrides.items():
        need(symbol in b.symbols, f"overrides.{symbol}", "is not one of bot.symbols")
        problems.extend(f"overrides.{symbol}.{p}" for p in strategy_problems(strategy))
    return problems


def _risk_problems(risk: RiskLimits) -> list[str]:
    problems: list[str] = []

    def limits(path: str, lim: SymbolLimits) -> None:
        for name in ("max_position", "max_notional", "max_drawdown"):
            value = getattr(lim, name)
            if value is not None and value < 0:
                problems.append(f"{path}.{name}: must be >= 0")
        for name in ("max_open_orders", "max_orders_per_window"):
            value = getattr(lim, name)
            if value is not None and value < 1:
                problems.append(f"{path}.{name}: must be >= 1")
        if lim.rate_window <= 0:
            problems.append(f"{path}.rate_window: must be > 0")

    limits("risk.default", risk.default)
    for symbol, lim in risk.symbols.items():
        limits(f"risk.symbols.{symbol}", lim)
    return problems


def config_from_dict(data: Mapping[str, Any], *, base_dir: Path | None = None) -> BotConfig:
    """Structure and check a bot config; one ConfigError lists every problem.

    Each section is structured on its own, so a wrong type in one section and an
    out-of-range value in another are reported together (a section with a structural
    problem is range-checked once it structures). ``[strategy] file = "..."`` (alone in its
    table) names a strategy file, read relative to ``base_dir`` (the config file's folder);
    otherwise the table is the strategy itself.
    """
    problems: list[str] = []
    sections: dict[str, Any] = {}
    fields = {f.name: f for f in attrs.fields(attrs.resolve_types(BotConfig))}
    broken: set[str] = set()
    for key in data:
        if key not in fields:
            problems.append(f"{key}: unknown key (sections: {', '.join(fields)})")
    for name, field in fields.items():
        if name not in data:
            continue
        raw, type_ = data[name], field.type or object
        if attrs.has(type_) and not isinstance(raw, Mapping):
            broken.add(name)
            problems.append(f"{name}: expected a table ([{name}]), got {raw!r}")
            continue
        try:
            if name == "strategy":
                raw = _strategy_table(raw, base_dir)
            if name == "overrides":
                sections[name] = _overrides(raw, data.get("strategy"), base_dir)
                continue
            sections[name] = structure(raw, type_)
        except ConfigError as exc:
            broken.add(name)
            problems.extend(_under(name, p) for p in exc.problems)
    checked = BotConfig(**{k: v for k, v in sections.items() if k not in broken})
    problems.extend(p for p in _bot_problems(checked) if _section_of(p) not in broken)
    if problems:
        raise ConfigError(problems)
    return checked


def _overrides(raw: Any, base: Any, base_dir: Path | None) -> dict[str, StrategyConfig]:
    """Each symbol's strategy: its table merged over the base ``[strategy]`` table."""
    try:
        base_table = _strategy_table(base, base_dir) if base is not None else {}
    except ConfigError:
        base_table = {}  # reported under "strategy"
    problems: list[str] = []
    out: dict[str, StrategyConfig] = {}
    for symbol, table in raw.items():
        if not isinstance(table, Mapping):
            problems.append(f"{symbol}: expected a table ([overrides.{symbol}]), got {table!r}")
            continue
        try:
            out[symbol] = structure(_merged(base_table, table), StrategyConfig)
        except ConfigError as exc:
            problems.extend(_under(symbol, p) for p in exc.problems)
    if problems:
        raise ConfigError(problems)
    return out


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, table by table (``over`` wins)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _strategy_table(raw: Any, base_dir: Path | None) -> Any:
    if not (isinstance(raw, Mapping) and "file" in raw):
        return raw
    if set(raw) != {"file"}:
        raise ConfigError(["(top level): give either 'file' or the strategy's keys, not both"])
    if not isinstance(raw["file"], str):
        raise ConfigError([f"file: expected a string, got {raw['file']!r}"])
    path = Path(raw["file"])
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        return read_toml(path)
    except ConfigError as exc:
        raise ConfigError([f"file: {p}" for p in exc.problems]) from None


def _under(section: str, problem: str) -> str:
    """A section's problem with the section's name in front of its path."""
    if problem.startswith("(top level): "):
        return f"{section}: " + problem.removeprefix("(top level): ")
    return f"{section}.{problem}"


def _section_of(problem: str) -> str:
    path = problem.split(":", 1)[0]
    return path.split(".", 1)[0].split("[", 1)[0]


#: What ``mmbot run`` trades with no config: ``configs/paper.toml`` says the same (a test
#: checks they agree). Sizes make each order worth about 60 USDT on the embedded exchange.
DEFAULT_CONFIG: Mapping[str, Any] = {
    "bot": {"name": "paper"},
    "strategy": {"name": "fixed"},
    "overrides": {
        "BTCUSDT": {"sizing": {"order_size": "0.001", "max_position": "0.01"}},
        "ETHUSDT": {"sizing": {"order_size": "0.02", "max_position": "0.2"}},
        "SOLUSDT": {"sizing": {"order_size": "0.4", "max_position": "4"}},
        "BNBUSDT": {"sizing": {"order_size": "0.1", "max_position": "1"}},
    },
}


def default_config() -> BotConfig:
    """The paper-trading config ``mmbot run`` uses when given none."""
    return config_from_dict(DEFAULT_CONFIG)


def load_config(path: str | Path) -> BotConfig:
    """Read and check a bot config file (see ``configs/`` and ``docs/configuration.md``)."""
    path = Path(path)
    return config_from_dict(read_toml(path), base_dir=path.parent)


def normalized(config: BotConfig) -> dict[str, Any]:
    """The config as plain data, every default filled in (``mmbot config show``)."""
    data: dict[str, Any] = converter.unstructure(config)
    return data


def config_hash(config: BotConfig) -> str:
    """A short, stable name for a config: sha256 of its normalized JSON, 12 hex digits."""
    text = json.dumps(normalized(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- writing TOML -----------------------------------------------------------------------

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def dumps_toml(data: Mapping[str, Any]) -> str:
    """``data`` as a TOML document a person can read: the top level's values, then one
    ``[table]`` section per table (nested tables as ``[a.b]``), and a list of tables as
    ``[[a.b]]`` sections, one per table (a table inside any other list is written inline).

    For config data as ``tomllib`` reads it: strings, booleans, integers, finite floats,
    lists and tables (a ``Decimal`` is written as a string, as config files give money).
    ``tomllib.loads(dumps_toml(d)) == d`` for such data. A value of another type (None
    included: TOML has no null) is a TypeError naming its key.
    """
    lines: list[str] = []
    _toml_table(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_list(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _toml_table(
    lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], *, listed: bool = False
) -> None:
    plain = [(k, v) for k, v in table.items() if not (isinstance(v, Mapping) or _is_table_list(v))]
    lists = [(k, v) for k, v in table.items() if _is_table_list(v)]
    nested = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    name = ".".join(_toml_key(k) for k in path)
    if listed:
        lines += ["", f"[[{name}]]"]
    elif path and (plain or not (nested or lists)):  # an empty table still gets its header
        lines += ["", f"[{name}]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v, (*path, k))}" for k, v in plain]
    for key, items in lists:
        for item in items:
            _toml_table(lines, (*path, key), item, listed=True)
    for key, value in nested:
        _toml_table(lines, (*path, key), value)


def _toml_key(key: str) -> str:
    return key if key and set(key) <= _BARE_KEY else _toml_string(key)


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any, path: tuple[str, ...]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Decimal) and value.is_finite():
        return _toml_string(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, path) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v, (*path, k))}" for k, v in value.items()
        )
        return "{" + inner + "}"
    raise TypeError(f"{'.'.join(path)}: cannot write {value!r} as TOML")
