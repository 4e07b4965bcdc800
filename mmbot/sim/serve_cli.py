"""Argument parsing for ``mmbot exchange serve`` (kept beside the exchange it configures)."""

from __future__ import annotations

import argparse


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the fake exchange on loopback")
    serve.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from mmbot.sim import serve

    return serve.main(args)
