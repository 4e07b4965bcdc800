"""The ``mmbot`` command line: parse arguments, load config, ``trio.run(...)``. No logic.

Subcommands:
  mmbot exchange serve ...   run the fake Binance-dialect exchange on loopback
  mmbot bench NAME [...]     run a benchmark that prints figures (``mmbot bench --list``)
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import mmbot
from mmbot import bench as bench_pkg


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

    exchange = sub.add_parser("exchange", help="the fake Binance-dialect exchange")
    exchange_sub = exchange.add_subparsers(dest="exchange_command", metavar="SUBCOMMAND")
    from mmbot.sim import serve_cli

    serve_cli.add_serve_parser(exchange_sub)

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
