"""The ``walletdoctor`` command: ``serve`` (the streaming server) and ``emulator`` (the Helius emulator)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="walletdoctor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the SSE server (settings from the environment)")
    serve.add_argument("--host", help="interface to bind (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT or 8080)")

    emulator = commands.add_parser("emulator", help="run the Helius emulator on its own")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8899)
    emulator.add_argument("--rpc-latency", type=float, help="base latency of RPC calls, seconds (default 0.150)")
    emulator.add_argument("--enhanced-latency", type=float, help="base latency of enhanced calls, seconds (default 0.600)")
    emulator.add_argument("--rpc-rps", type=int, help="RPC requests per second before 429 (0: unlimited)")
    emulator.add_argument("--enhanced-rps", type=int, help="enhanced + DAS requests per second before 429 (0: unlimited)")
    emulator.add_argument(
        "--synthetic",
        action="append",
        default=[],
        metavar="ADDRESS=N",
        help="serve a synthetic wallet of N transactions at ADDRESS (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``walletdoctor`` console script and ``python -m walletdoctor``."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        _serve(args)
    else:
        _emulator(args)


def _serve(args: argparse.Namespace) -> None:
    import uvloop
    from aiohttp import web
    from pydantic import ValidationError

    from walletdoctor.app import create_app
    from walletdoctor.config import Settings

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        sys.exit(f"walletdoctor: invalid setting {'.'.join(map(str, first['loc'])).upper()}: {first['msg']}")
    if (unsafe := settings.unsafe_setting()) is not None:
        variable, reason = unsafe
        sys.exit(f"walletdoctor: refusing to start: {variable}: {reason}")
    from walletdoctor.observability import configure_logging

    configure_logging(settings.log_level)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop=uvloop.new_event_loop(),
        handler_cancellation=True,
        shutdown_timeout=settings.shutdown_timeout_s,
        access_log=None,
        max_line_size=settings.max_header_bytes,
        max_field_size=settings.max_header_bytes,
        print=lambda line: logging.getLogger("walletdoctor").info(line),
    )


def _emulator(args: argparse.Namespace) -> None:
    from walletdoctor.helius.emulator.server import run_emulator
    from walletdoctor.helius.emulator.settings import EmulatorSettings

    tunables: dict[str, object] = {}
    for option, field in (
        ("rpc_latency", "rpc_latency_s"),
        ("enhanced_latency", "enhanced_latency_s"),
        ("rpc_rps", "rpc_rps"),
        ("enhanced_rps", "enhanced_rps"),
    ):
        if getattr(args, option) is not None:
            tunables[field] = getattr(args, option)
    if args.rpc_latency is not None:
        tunables["das_latency_s"] = args.rpc_latency
    synthetic: dict[str, int] = {}
    for spec in args.synthetic:
        address, _, size = spec.partition("=")
        if not size.isdigit():
            sys.exit(f"walletdoctor: --synthetic wants ADDRESS=N, got {spec!r}")
        synthetic[address] = int(size)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_emulator(args.host, args.port, EmulatorSettings(synthetic_wallets=synthetic, **tunables))  # type: ignore[arg-type]
