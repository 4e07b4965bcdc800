"""The ``mmbot`` command line: parse arguments, load config, ``trio.run(...)``. No logic.

What it is for: one entry point naming every command; each command's work lives in its own
module (``mmbot.bot.run``, ``mmbot.sim.serve``, ``mmbot.bench``, ``mmbot.config``).

What it must never do: decide anything a command's module should; print a secret; contact
a venue before the command's arguments and config are checked.

Subcommands:
  mmbot run [--config FILE] ...   run the bot (no config: paper-trade on the embedded exchange)
  mmbot config check|show FILE    check a config / print it normalised, with its hash
  mmbot exchange serve ...        run the fake Binance-dialect exchange on loopback
  mmbot backtest CONFIG... ...    strategies on the seeded market over seeds
  mmbot calibrate CONFIG --grid PATH=VALUES ...   search strategy parameters per symbol
  mmbot bench NAME [...]          run a benchmark that prints figures (``mmbot bench --list``)
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import mmbot
from mmbot import bench as bench_pkg
from mmbot.errors import ConfigError

EXIT_CONFIG = 2


def _print_problems(command: str, error: ConfigError) -> int:
    print(f"{command}: invalid configuration:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_CONFIG


def _cmd_run(args: argparse.Namespace) -> int:
    from mmbot.bot import run

    try:
        options = run.build_options(args)
    except ConfigError as error:
        return _print_problems("mmbot run", error)
    return run.main(options)


def _cmd_config(args: argparse.Namespace) -> int:
    import json

    from mmbot.config import config_hash, load_config, normalized

    try:
        config = load_config(args.file)
    except ConfigError as error:
        return _print_problems(f"mmbot config {args.config_command}", error)
    if args.config_command == "check":
        print(f"{args.file}: ok (version {config.version}, hash {config_hash(config)})")
    else:
        print(f"# {args.file}: version {config.version}, hash {config_hash(config)}")
        print(json.dumps(normalized(config), indent=2, sort_keys=False))
    return 0


def _bench_names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if not m.name.startswith("_")
    )


def _cmd_bench(args: argparse.Namespace) -> int:
    names = _bench_names()
    if args.list or not args.name:
        print("benchmarks: " + ", ".join(names))
        return 0 if args.list else 2
    if args.name not in names:
        print(
            f"mmbot bench: unknown benchmark {args.name!r}; choose from: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"mmbot.bench.{args.name}")
    result: int = module.main(list(args.bench_args))
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmbot", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mmbot {mmbot.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot", description="Run the market-making bot.")
    run.add_argument("--config", metavar="FILE", help="bot config (default: paper trading)")
    run.add_argument(
        "--mode",
        choices=("live", "sim"),
        default="live",
        help="live: real time; sim: simulated time, as fast as the CPU allows (default live)",
    )
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    run.add_argument("--seed", type=int, help="the run's seed (default: bot.seed or a fresh one)")
    run.add_argument("--no-dashboard", action="store_true", help="no live terminal dashboard")
    run.add_argument(
        "--metrics-listen", metavar="HOST:PORT", help='serve /metrics here ("" for off)'
    )
    run.add_argument("--summary-json", metavar="FILE", help="write the exit summary as JSON")
    run.add_argument("--log-format", choices=("text", "json"), help="log line format")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="log level")
    run.set_defaults(func=_cmd_run)

    config = sub.add_parser("config", help="check or show a bot config")
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    for name, text in (("check", "check a config file"), ("show", "print it normalised")):
        cmd = config_sub.add_parser(name, help=text)
        cmd.add_argument("file", metavar="FILE")
        cmd.set_defaults(func=_cmd_config)

    exchange = sub.add_parser("exchange", help="the fake Binance-dialect exchange")
    exchange_sub = exchange.add_subparsers(dest="exchange_command", metavar="SUBCOMMAND")
    from mmbot.sim import serve_cli

    serve_cli.add_serve_parser(exchange_sub)

    from mmbot.chaos import cli as chaos_cli

    chaos_cli.add_chaos_parser(sub)
    from mmbot.edge import cli as edge_cli

    edge_cli.add_parser(sub)

    from mmbot.edge import calibrate as calibrate_cli

    calibrate_cli.add_calibrate_parser(sub)

    bench = sub.add_parser("bench", help="run a benchmark that prints figures")
    bench.add_argument("name", nargs="?", help="benchmark name (see --list)")
    bench.add_argument("--list", action="store_true", help="list the benchmarks")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for the benchmark")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
