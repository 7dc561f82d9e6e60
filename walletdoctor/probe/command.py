"""``walletdoctor probe URL``: the command-line face of the probe (options, output, exit status)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson
from rich.console import Console

from walletdoctor.probe.display import LiveStatus, render_report
from walletdoctor.probe.recording import DEFAULT_DEADLINE_S, DEFAULT_IDLE_TIMEOUT_S
from walletdoctor.probe.report import (
    DEFAULT_GAP_THRESHOLD_S,
    DEFAULT_LAG_THRESHOLD_S,
    Thresholds,
)
from walletdoctor.probe.runner import ProbeOptions, run_probe

__all__ = ["EXIT_FIT", "EXIT_NOT_FIT", "PROBE_DESCRIPTION", "add_probe_arguments", "run_probe_command"]

EXIT_FIT = 0
EXIT_NOT_FIT = 1
#: argparse's own status for bad usage.
_EXIT_USAGE = 2

#: The ``probe`` subcommand's description (``walletdoctor probe --help``).
PROBE_DESCRIPTION = """\
Tell whether Server-Sent Events survive the path to a WalletDoctor stream
(proxies, load balancers, CDNs): opens the stream(s), records when each event
arrives, and judges gaps, buffering and heartbeats. Exit status 0 when the
path is fit for streaming, 1 when it is not."""


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the probe's arguments to ``parser`` (the ``probe`` subcommand's)."""
    parser.add_argument("url", help="a stream URL, e.g. https://host/v4/wallet/ADDRESS/stream")
    parser.add_argument("-c", "--concurrency", type=int, default=1, help="streams opened at once (default 1)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_GAP_THRESHOLD_S,
        metavar="SECONDS",
        help=f"longest acceptable gap between events (default {DEFAULT_GAP_THRESHOLD_S:g}; proxies often cut at 30)",
    )
    parser.add_argument(
        "--lag-threshold",
        type=float,
        default=DEFAULT_LAG_THRESHOLD_S,
        metavar="SECONDS",
        help=f"delay beyond the fastest delivery that counts as buffering (default {DEFAULT_LAG_THRESHOLD_S:g})",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        metavar="SECONDS",
        help=f"give up on a stream after this long without data (default {DEFAULT_IDLE_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=DEFAULT_DEADLINE_S,
        metavar="SECONDS",
        help=f"longest a stream is recorded (default {DEFAULT_DEADLINE_S:g})",
    )
    parser.add_argument("--api-key", help="API key, sent as X-API-Key (never printed)")
    parser.add_argument(
        "-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="extra request header (repeatable)"
    )
    parser.add_argument("--json", metavar="FILE", help="write the full report as JSON to FILE ('-' for stdout)")


def run_probe_command(args: argparse.Namespace) -> int:
    """Run the probe for parsed ``args``; returns the exit status (0 fit, 1 not fit, 2 bad usage)."""
    headers: dict[str, str] = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            print(f"walletdoctor probe: --header wants 'NAME: VALUE', got {header!r}", file=sys.stderr)
            return _EXIT_USAGE
        headers[name.strip()] = value.strip()
    if args.api_key:
        headers["X-API-Key"] = args.api_key
    try:
        options = ProbeOptions(
            concurrency=args.concurrency,
            thresholds=Thresholds(gap_s=args.threshold, lag_s=args.lag_threshold),
            idle_timeout_s=args.idle_timeout,
            deadline_s=args.max_duration,
            headers=headers,
        )
        # JSON on stdout keeps the human report off it.
        console = Console(stderr=args.json == "-")
        with LiveStatus(Console(stderr=True), options.concurrency) as live:
            report = asyncio.run(run_probe(args.url, options, on_event=live.update))
    except ValueError as exc:
        print(f"walletdoctor probe: {exc}", file=sys.stderr)
        return _EXIT_USAGE
    render_report(console, report)
    if args.json:
        document = orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2)
        if args.json == "-":
            sys.stdout.buffer.write(document + b"\n")
            sys.stdout.flush()
        else:
            Path(args.json).write_bytes(document + b"\n")
    return EXIT_FIT if report.fit else EXIT_NOT_FIT
