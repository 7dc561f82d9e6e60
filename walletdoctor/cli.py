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
    serve.add_argument(
        "--workers", type=int, help="server processes sharing the port with SO_REUSEPORT (default: WEB_CONCURRENCY or 1)"
    )

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

    keys = commands.add_parser("keys", help="manage API keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser(
        "create",
        help="make an API key: prints the key (shown this once) and the hash line to put in API_KEYS or API_KEYS_FILE",
    )

    from walletdoctor.probe.command import PROBE_DESCRIPTION, add_probe_arguments

    probe = commands.add_parser(
        "probe", help="tell whether SSE survives the path to a stream URL", description=PROBE_DESCRIPTION
    )
    add_probe_arguments(probe)

    from walletdoctor.client.console import STREAM_DESCRIPTION, add_stream_arguments

    stream = commands.add_parser(
        "stream", help="print a wallet's trades as they stream, then its summary", description=STREAM_DESCRIPTION
    )
    add_stream_arguments(stream)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``walletdoctor`` console script and ``python -m walletdoctor``."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        _serve(args)
    elif args.command == "keys":
        _create_key()
    elif args.command == "probe":
        from walletdoctor.probe.command import run_probe_command

        sys.exit(run_probe_command(args))
    elif args.command == "stream":
        import os

        from walletdoctor.client.console import API_KEY_VARIABLE, run_stream_args

        # The client's one setting from the environment, read here in the CLI layer only.
        sys.exit(run_stream_args(args, environ_api_key=os.environ.get(API_KEY_VARIABLE)))
    else:
        _emulator(args)


def _serve(args: argparse.Namespace) -> None:
    from pydantic import ValidationError

    from walletdoctor.config import Settings

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        sys.exit(f"walletdoctor: invalid setting {'.'.join(map(str, first['loc'])).upper()}: {first['msg']}")
    if (unsafe := settings.unsafe_setting()) is not None:
        variable, reason = unsafe
        sys.exit(f"walletdoctor: refusing to start: {variable}: {reason}")
    if settings.workers > 1:
        from walletdoctor.workers import run_workers

        run_workers(settings, overrides, settings.workers)
    else:
        from walletdoctor.server import run_server

        run_server(settings)


def _create_key() -> None:
    """Print a new key on stdout's first line and its hash line on the second; only the hash is kept."""
    from walletdoctor.security.keys import create_key

    key, hash_line = create_key()
    print(key)
    print(hash_line)
    print(
        "walletdoctor: the key (first line) is shown only this once: give it to its owner. "
        "Add the hash line (second) to API_KEYS (comma-separated) or to the API_KEYS_FILE, then restart.",
        file=sys.stderr,
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
