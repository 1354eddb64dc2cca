"""The command line every fake server shares: where to listen, whether to log, then serve."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .http import FakeServer, serve_until_interrupted


def fake_parser(module: str) -> argparse.ArgumentParser:
    """A parser for `python -m module`, with the options every fake takes."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="don't log requests")
    return parser


def serve(args: argparse.Namespace, make: Callable[..., FakeServer[Any]], **fields: Any) -> int:
    """Build the fake from its own `fields` and the shared options; serve it until Ctrl-C."""
    fake = make(**fields, host=args.host, port=args.port, log_requests=not args.quiet)
    return serve_until_interrupted(fake)
